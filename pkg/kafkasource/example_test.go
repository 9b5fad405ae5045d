package kafkasource_test

import (
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"function/pkg/kafkasource"
)

// ExampleToEvent wraps a plain JSON record, as KafkaSource does for records
// that are not CloudEvents.
func ExampleToEvent() {
	msg := &sarama.ConsumerMessage{
		Topic: "users", Partition: 2, Offset: 17, Key: []byte("u-1"),
		Timestamp: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		Headers: []*sarama.RecordHeader{
			{Key: []byte("Content-Type"), Value: []byte("application/json")},
			{Key: []byte("X-Trace"), Value: []byte("abc")},
		},
		Value: []byte(`{"id":"u-1"}`),
	}
	o := kafkasource.Options{Namespace: "functions", Name: "users-welcome",
		Extensions: map[string]string{"handler": "welcome"}}

	ev := kafkasource.ToEvent(msg, o)

	fmt.Println(ev.ID())
	fmt.Println(ev.Source())
	fmt.Println(ev.Type(), ev.DataContentType(), string(ev.Data()))
	ext := ev.Extensions()
	fmt.Println(ext["key"], ext["kafkaheaderxtrace"], ext["knativekafkaoffset"], ext["handler"])
	// Output:
	// partition:2/offset:17
	// /apis/v1/namespaces/functions/kafkasources/users-welcome#users
	// dev.knative.kafka.event application/json {"id":"u-1"}
	// u-1 abc 17 welcome
}

// ExampleToEvent_binary passes a binary-mode CloudEvent through: its
// attributes are kept and its key and other headers are dropped.
func ExampleToEvent_binary() {
	msg := &sarama.ConsumerMessage{
		Topic: "users", Partition: 0, Offset: 5, Key: []byte("u-1"),
		Headers: []*sarama.RecordHeader{
			{Key: []byte("ce_specversion"), Value: []byte("1.0")},
			{Key: []byte("ce_id"), Value: []byte("evt-1")},
			{Key: []byte("ce_source"), Value: []byte("/users")},
			{Key: []byte("ce_type"), Value: []byte("com.example.users.user.created")},
			{Key: []byte("content-type"), Value: []byte("application/json")},
			{Key: []byte("trace"), Value: []byte("x")},
		},
		Value: []byte(`{"id":"u-1"}`),
	}

	ev := kafkasource.ToEvent(msg, kafkasource.Options{Namespace: "functions", Name: "s"})

	fmt.Println(ev.ID(), ev.Type(), len(ev.Extensions()))
	// Output: evt-1 com.example.users.user.created 2
}
