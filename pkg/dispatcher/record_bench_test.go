package dispatcher

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/v2/event"

	"function/pkg/delivery"
	"function/pkg/kafka"
	"function/pkg/kafkasource"
)

// benchRecord returns a binary CloudEvent record like those of
// BenchmarkThroughput.
func benchRecord() *sarama.ConsumerMessage {
	h := func(k, v string) *sarama.RecordHeader {
		return &sarama.RecordHeader{Key: []byte(k), Value: []byte(v)}
	}
	return &sarama.ConsumerMessage{
		Topic: "users", Partition: 3, Offset: 42, Timestamp: time.Now(),
		Key: []byte("user-0001"),
		Headers: []*sarama.RecordHeader{
			h("ce_specversion", "1.0"), h("ce_id", "evt-000001"),
			h("ce_source", "/bench/users"), h("ce_type", "com.example.users.user.updated"),
			h("ce_time", "2026-01-02T03:04:05Z"), h("content-type", "application/json"),
		},
		Value: []byte(`{"id":"user-0001","name":"User 1","email":"user1@example.com",` +
			`"version":1,"created_at":"2026-01-02T03:04:05Z",` +
			`"updated_at":"2026-01-02T03:04:05Z"}`),
	}
}

// BenchmarkDispatch_Record measures the per-record work of a dispatcher
// without Kafka: the conversion, the delivery to a no-op in-process
// handler, and the whole dispatch path, which adds nothing to the two.
func BenchmarkDispatch_Record(b *testing.B) {
	noop := func(context.Context, event.Event) (*event.Event, error) { return nil, nil }
	cfg := testConfig("users", "bench")
	msg := benchRecord()

	b.Run("convert", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = kafkasource.ToEvent(msg, cfg.Options())
		}
	})
	b.Run("deliver", func(b *testing.B) {
		ev := kafkasource.ToEvent(msg, cfg.Options())
		sink := delivery.NewHandlerSink("bench", noop)
		b.ReportAllocs()
		for b.Loop() {
			_ = delivery.Deliver(context.Background(), sink, ev, cfg.Policy())
		}
	})
	b.Run("dispatch", func(b *testing.B) {
		kc := kafka.Config{Brokers: []string{"127.0.0.1:9092"}, Version: "3.9.0",
			DialTimeout: time.Second, RequestTimeout: time.Second}
		d, err := New(cfg, kc, delivery.NewHandlerSink("bench", noop), nil)
		if err != nil {
			b.Fatal(err)
		}
		h := &groupHandler{d: d, work: context.Background()}
		var sink retryLogger
		b.ReportAllocs()
		for b.Loop() {
			h.dispatch(msg, &sink)
		}
	})
}
