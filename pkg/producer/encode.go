package producer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/google/uuid"

	"function/pkg/events"
)

// recordBatchVersion is the Kafka record format every supported broker
// (>= 2.1) takes, the one sarama sizes records by.
const recordBatchVersion = 2

// partitionKeyExtension is the CloudEvents extension Kafka bindings read the
// record key from.
const partitionKeyExtension = "partitionkey"

// skipKeyMapping stops kafka_sarama from deriving the key from partitionkey:
// the encoder sets the key itself, from the same id, so there is one source
// of truth.
var skipKeyMapping = kafka_sarama.WithSkipKeyMapping(context.Background())

// validator is an event that can check its own fields.
type validator interface {
	Validate() error
}

// encoder turns an event of T into a binary-mode CloudEvent record.
type encoder[T events.Event] struct {
	topic string
	// source is boxed once: every record carries the same value.
	source  any
	types   []string
	nilable bool
	now     func() time.Time
}

func newEncoder[T events.Event](cfg Config, eventTypes []string) (encoder[T], error) {
	if slices.Contains(eventTypes, "") {
		return encoder[T]{}, errors.New("producer: WithEventTypes: empty event type")
	}
	source := types.ParseURIRef(cfg.Source)
	if source == nil {
		return encoder[T]{}, fmt.Errorf("producer: invalid configuration: PRODUCER_SOURCE: "+
			"%q is not a URI reference", cfg.Source)
	}
	var kind reflect.Kind
	if t := reflect.TypeFor[T](); t != nil {
		kind = t.Kind()
	}
	return encoder[T]{
		topic:   cfg.Topic,
		source:  any(source.String()),
		types:   slices.Clone(eventTypes),
		nilable: kind != reflect.Struct && kind != reflect.String,
		now:     time.Now,
	}, nil
}

// encode checks ev and returns its record, with pend as the record's
// Metadata and pend's receipt filled with the event and entity ids.
func (e encoder[T]) encode(
	eventType string,
	ev T,
	pend *pending,
) (*sarama.ProducerMessage, error) {
	subject, err := e.check(eventType, ev)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return nil, e.invalid(subject, fmt.Errorf("marshal data: %w", err))
	}

	ce := &cloudEvent{
		id:        uuid.NewString(),
		source:    e.source,
		eventType: eventType,
		subject:   subject,
		time:      types.Timestamp{Time: e.now()},
		data:      data,
	}
	msg := &sarama.ProducerMessage{
		Topic:    e.topic,
		Key:      sarama.StringEncoder(subject),
		Metadata: pend,
	}
	if err := kafka_sarama.WriteProducerMessage(skipKeyMapping, ce, msg); err != nil {
		return nil, e.invalid(subject, fmt.Errorf("encode cloudevent: %w", err))
	}
	pend.receipt = Receipt{ID: ce.id, Subject: subject, Topic: e.topic}
	return msg, nil
}

// check validates the type and event and returns the entity id.
func (e encoder[T]) check(eventType string, ev T) (string, error) {
	switch {
	case eventType == "":
		return "", e.invalid("", errors.New("empty event type"))
	case e.types != nil && !slices.Contains(e.types, eventType):
		return "", e.invalid("", fmt.Errorf("event type %q is not one of %q", eventType,
			e.types))
	case e.nilable && isNil(ev):
		return "", e.invalid("", errors.New("nil event"))
	}

	subject := ev.GetId()
	switch {
	case strings.TrimSpace(subject) == "":
		return "", e.invalid("", errors.New("empty entity id"))
	case !utf8.ValidString(subject):
		// The key would keep the raw bytes while the JSON data and the
		// CloudEvents subject carry U+FFFD: consumers would disagree.
		return "", e.invalid(shorten(subject), errors.New("entity id is not valid UTF-8"))
	}
	if v, ok := any(ev).(validator); ok {
		if err := v.Validate(); err != nil {
			return "", e.invalid(shorten(subject), err)
		}
	}
	return subject, nil
}

// shorten cuts an entity id for an error message, so an oversized id does
// not fill the logs.
func shorten(id string) string {
	const max = 64
	if len(id) <= max {
		return id
	}
	return id[:max] + fmt.Sprintf("...(%d bytes)", len(id))
}

func (e encoder[T]) invalid(subject string, err error) error {
	if subject == "" {
		return fmt.Errorf("%w: topic %s: %w", ErrInvalidEvent, e.topic, err)
	}
	return fmt.Errorf("%w: topic %s: subject %q: %w", ErrInvalidEvent, e.topic, subject, err)
}

// isNil reports whether v is a nil interface, pointer, map, slice, channel
// or function, whose GetId would panic.
func isNil(v any) bool {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Invalid:
		return true
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func:
		return rv.IsNil()
	default:
		return false
	}
}
