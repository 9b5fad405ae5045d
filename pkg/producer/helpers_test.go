package producer

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"function/pkg/events"
	"function/pkg/kafka/kafkatest"
)

// testSource is the CloudEvents source of every test producer.
const testSource = "/tests/producer"

// testConfig returns a producer configuration for a new topic of the given
// partition count on the test broker (embedded, or KAFKA_BROKERS).
func testConfig(t *testing.T, partitions int32) Config {
	t.Helper()

	kc := kafkatest.Config(t)
	return Config{
		Config:          kc,
		Topic:           kafkatest.NewTopic(t, kc, partitions),
		Source:          testSource,
		MaxMessageBytes: DefaultMaxMessageBytes,
		SendTimeout:     30 * time.Second,
	}
}

// newTestProducer returns a user event producer for cfg, closed when t ends.
func newTestProducer(t *testing.T, cfg Config) *UserProducer {
	t.Helper()

	p, err := New[events.UserEvent](cfg, WithEventTypes(events.UserTypes...))
	require.NoError(t, err, "new producer for topic %s", cfg.Topic)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, p.Close(ctx))
	})
	return p
}

// user returns a user event for id at version v.
func user(id string, v int64) events.UserEvent {
	at := time.Date(2025, 6, 1, 12, 0, 0, int(v), time.UTC)
	return events.UserEvent{ID: id, Name: "Ada " + id, Email: id + "@example.com", Version: v,
		CreatedAt: at, UpdatedAt: at}
}

// readTopic returns every record of cfg.Topic, partition by partition in
// offset order.
func readTopic(t *testing.T, cfg Config) []*sarama.ConsumerMessage {
	t.Helper()

	client := newClient(t, cfg)
	consumer, err := sarama.NewConsumerFromClient(client)
	require.NoError(t, err)
	defer func() { _ = consumer.Close() }()

	parts, err := client.Partitions(cfg.Topic)
	require.NoError(t, err)
	var out []*sarama.ConsumerMessage
	for _, p := range parts {
		out = append(out, readPartition(t, client, consumer, cfg.Topic, p)...)
	}
	return out
}

func readPartition(
	t *testing.T,
	client sarama.Client,
	consumer sarama.Consumer,
	topic string,
	partition int32,
) []*sarama.ConsumerMessage {
	t.Helper()

	oldest, err := client.GetOffset(topic, partition, sarama.OffsetOldest)
	require.NoError(t, err)
	newest, err := client.GetOffset(topic, partition, sarama.OffsetNewest)
	require.NoError(t, err)
	if newest <= oldest {
		return nil
	}

	pc, err := consumer.ConsumePartition(topic, partition, oldest)
	require.NoError(t, err)
	defer func() { _ = pc.Close() }()
	var out []*sarama.ConsumerMessage
	timeout := time.After(30 * time.Second)
	for int64(len(out)) < newest-oldest {
		select {
		case msg := <-pc.Messages():
			out = append(out, msg)
		case err := <-pc.Errors():
			require.NoError(t, err, "read %s/%d", topic, partition)
		case <-timeout:
			require.FailNow(t, "read timed out", "%s/%d: got %d of %d records", topic,
				partition, len(out), newest-oldest)
		}
	}
	return out
}

// endOffsets returns the next offset of every partition of cfg.Topic.
func endOffsets(t *testing.T, cfg Config) map[int32]int64 {
	t.Helper()

	client := newClient(t, cfg)
	parts, err := client.Partitions(cfg.Topic)
	require.NoError(t, err)
	out := map[int32]int64{}
	for _, p := range parts {
		out[p], err = client.GetOffset(cfg.Topic, p, sarama.OffsetNewest)
		require.NoError(t, err)
	}
	return out
}

func newClient(t *testing.T, cfg Config) sarama.Client {
	t.Helper()

	sc, err := cfg.Sarama()
	require.NoError(t, err)
	client, err := sarama.NewClient(cfg.Brokers, sc)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// headers returns a record's headers as a map, failing on a repeated key.
func headers(t *testing.T, msg *sarama.ConsumerMessage) map[string]string {
	t.Helper()

	out := map[string]string{}
	for _, h := range msg.Headers {
		_, dup := out[string(h.Key)]
		require.False(t, dup, "header %q repeated", h.Key)
		out[string(h.Key)] = string(h.Value)
	}
	return out
}
