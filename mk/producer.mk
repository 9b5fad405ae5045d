# The producer's benchmark alone (`make bench` runs it with every other one).
#
#   make bench-producer   typed producer vs raw sarama vs kafka_sarama's Sender,
#                         one embedded broker, prints the ratios the README quotes

.PHONY: bench-producer
bench-producer: ## Run the producer benchmark and print its ratios.
	$(GO) test -run '^$$' -bench ProducerRatios -benchtime 1x ./pkg/producer/
