package kafka_test

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/kafka"
)

// TestStartEmbedded_SeedsTopics pins that the embedded broker speaks the
// Kafka protocol to sarama and starts with the seeded topics and partition
// counts.
func TestStartEmbedded_SeedsTopics(t *testing.T) {
	e, err := kafka.StartEmbedded(kafka.EmbeddedOptions{
		Topics: map[string]int32{"users": 6, "users-dead-letter": 1},
	})
	require.NoError(t, err)
	defer e.Close()

	c := kafka.Config{Brokers: e.Addrs(), ClientID: "t", Version: "3.9.0",
		DialTimeout: time.Second, RequestTimeout: 5 * time.Second}
	sc, err := c.Sarama()
	require.NoError(t, err)
	client, err := sarama.NewClient(c.Brokers, sc)
	require.NoError(t, err)
	defer client.Close()

	for topic, want := range map[string]int{"users": 6, "users-dead-letter": 1} {
		parts, err := client.Partitions(topic)
		require.NoError(t, err)
		assert.Len(t, parts, want, topic)
	}
}

// TestStartEmbedded_PortInUse pins that a taken port is a clear error naming
// the port, not a broker on another port.
func TestStartEmbedded_PortInUse(t *testing.T) {
	first, err := kafka.StartEmbedded(kafka.EmbeddedOptions{})
	require.NoError(t, err)
	defer first.Close()
	_, port, _ := splitHostPort(first.Addrs()[0])

	_, err = kafka.StartEmbedded(kafka.EmbeddedOptions{Port: port})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "start embedded broker on port")
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	return host, port, err
}
