// Package realbroker holds the tests that only a real Apache Kafka broker can
// answer: that our murmur2 partitioning agrees with the Java client and
// kcat, that the broker's max.message.bytes and our producer's limit check
// agree, that the dispatcher loses nothing acknowledged across a broker
// restart, and that kcat interoperates with our producer and dispatcher both
// ways.
//
// Every test skips when KAFKA_BROKERS is unset. `make test-real` starts a
// broker with scripts/kafka/kafka.sh and sets KAFKA_BROKERS and KAFKA_CTL
// (the script, which the tests use to run Kafka's Java tools and a private
// broker they restart). The tests also need kcat. When CI is set, a missing
// KAFKA_CTL or kcat fails the test instead of skipping it, so CI never
// counts a skipped real-broker test as a pass.
package realbroker
