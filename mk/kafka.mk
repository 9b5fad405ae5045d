# Real Apache Kafka broker for the real-broker test suite (issue 5). The broker
# is Apache Kafka 4 from Maven Central, run by scripts/kafka/kafka.sh on
# 127.0.0.1:$(KAFKA_PORT); it needs Java 17+ and Maven (kafka-deps installs
# kcat and, when missing, both).
KAFKA_SH := scripts/kafka/kafka.sh
KAFKA_PORT ?= 19092
export KAFKA_PORT

.PHONY: kafka-deps kafka-start kafka-stop kafka-status test-real

kafka-deps: ## Install kcat (apt-get) and resolve the Kafka broker's jars (mvn).
	@$(KAFKA_SH) deps

kafka-start: ## Start a real Kafka 4 broker on 127.0.0.1 (KAFKA_PORT, 19092).
	@$(KAFKA_SH) start

kafka-stop: ## Stop the real Kafka broker.
	@$(KAFKA_SH) stop

kafka-status: ## Say whether the real Kafka broker runs and answers.
	@$(KAFKA_SH) status

# test-real keeps the exit status of `make test` and stops the broker in an
# EXIT trap, so a failing or interrupted run never leaves a broker behind.
test-real: ## Run `make test` against a real Kafka broker started (and stopped) here.
	@brokers=$$($(KAFKA_SH) start) || exit 1; \
		trap '$(KAFKA_SH) stop' EXIT; \
		echo "$$brokers KAFKA_CTL=$(CURDIR)/$(KAFKA_SH) $(MAKE) test"; \
		env "$$brokers" KAFKA_CTL="$(CURDIR)/$(KAFKA_SH)" $(MAKE) test
