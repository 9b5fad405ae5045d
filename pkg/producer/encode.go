package producer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
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
	source any
	types  []string
	// boxed holds each of types as an any, boxed once.
	boxed   []any
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
		boxed:   boxAll(eventTypes),
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
	jb := jsonBufs.Get().(*jsonBuffer)
	defer jb.release()
	data, err := jb.marshal(ev)
	if err != nil {
		return nil, e.invalid(subject, fmt.Errorf("marshal data: %w", err))
	}

	// One allocation for the record and the event it is written from.
	rec := &struct {
		msg sarama.ProducerMessage
		ce  cloudEvent
	}{msg: sarama.ProducerMessage{
		Topic:    e.topic,
		Key:      sarama.StringEncoder(subject),
		Metadata: pend,
	}}
	id := uuid.NewString()
	rec.ce.init(id, e.source, e.boxedType(eventType), subject, e.now(), data)
	msg := &rec.msg
	if err := kafka_sarama.WriteProducerMessage(skipKeyMapping, &rec.ce, msg); err != nil {
		return nil, e.invalid(subject, fmt.Errorf("encode cloudevent: %w", err))
	}
	// The writer copied the data out of the pooled buffer: drop it.
	rec.ce.data = nil
	rec.ce.reader.Reset(nil)
	pend.receipt = Receipt{ID: id, Subject: subject, Topic: e.topic}
	return msg, nil
}

// boxedType returns eventType as an any, without allocating when it is one
// of the accepted types.
func (e encoder[T]) boxedType(eventType string) any {
	if i := slices.Index(e.types, eventType); i >= 0 {
		return e.boxed[i]
	}
	return eventType
}

func boxAll(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// maxPooledJSON is the largest JSON buffer kept for reuse, so one huge event
// does not pin its buffer.
const maxPooledJSON = 64 << 10

// jsonBuffer marshals events into a reused buffer. The writer copies the
// data into the record, so the JSON itself need not be allocated per send.
type jsonBuffer struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonBufs = sync.Pool{New: func() any {
	jb := &jsonBuffer{}
	jb.enc = json.NewEncoder(&jb.buf)
	return jb
}}

// marshal returns v's JSON as [json.Marshal] writes it, valid until release.
func (jb *jsonBuffer) marshal(v any) ([]byte, error) {
	jb.buf.Reset()
	if err := jb.enc.Encode(v); err != nil {
		return nil, err
	}
	data := jb.buf.Bytes()
	return data[:len(data)-1], nil // Encode ends the value with a newline.
}

func (jb *jsonBuffer) release() {
	if jb.buf.Cap() <= maxPooledJSON {
		jsonBufs.Put(jb)
	}
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
