// Package handler turns a typed handler, a function of one decoded event, into
// a CloudEvents handler, and classifies every failure into the HTTP status its
// delivery is answered with. A handler author writes only the business step;
// decoding and classification live here.
//
// # Decoding
//
// The data is decoded as JSON when datacontenttype is absent, or when its media
// type, case-insensitive and without parameters, is */json or */*+json; any
// other type is refused with 415. The data must then be a JSON object that
// decodes into the event type and passes its Validate method (or, without one,
// has an entity id). These are refused with 400, each with its own message:
// missing or null data, a JSON string (a JSON object encoded twice included),
// a whole CloudEvents envelope pasted as data, an empty object, a field of the
// wrong JSON type, an empty id. Fields the event type does not know are
// ignored, so producers may add fields.
//
// # Event types
//
// A [Typed] handler names the CloudEvents types it handles. An event of any
// other type is acknowledged (200) without decoding it, and logged at debug
// level: several handlers read one topic, and each cares about some of its
// types only.
//
// The exception is [kafkasource.WrapType], the type a KafkaSource gives a record
// that is not a CloudEvent (no ce_ headers, or a required one missing). Its
// real type is unknown, so guessing could send a wrong mail or resurrect a
// deleted user; it is refused with 400 and goes to the dead-letter sink, with a
// message telling how to produce it, so nothing is lost silently.
//
// # Failures
//
// Every error [Typed.Handle] returns is a [StatusError] whose message names the
// handler and the event (id, source, type) and says why. Bad input is 4xx and
// not retried; a failing dependency is 5xx and retried; a panic in the handler
// is recovered as a [PanicError], a 500. Handler authors mark their own errors
// with [Permanent] (422) or [Transient] (503); a plain error is a 500.
// [StatusOf] computes a delivery's status from an error the way the CloudEvents
// HTTP receiver does, so an in-process caller answers like the HTTP runtime.
//
// No handler replies: a KafkaSource discards reply events.
package handler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

	"function/pkg/events"
	"function/pkg/kafkasource"
)

var (
	// ErrContentType is returned (as a 415) for a datacontenttype that is
	// not JSON.
	ErrContentType = errors.New("handler: unsupported datacontenttype")

	// ErrBadData is returned (as a 400) for data that is not a valid event.
	ErrBadData = errors.New("handler: bad event data")

	// ErrBadExtension is returned (as a 400) for a Kafka position extension
	// that is not a number.
	ErrBadExtension = errors.New("handler: bad kafka position extension")

	// ErrNotCloudEvent is returned (as a 400) for a record a KafkaSource
	// wrapped as [kafkasource.WrapType].
	ErrNotCloudEvent = errors.New("handler: kafka record is not a CloudEvent")
)

// PanicError is a panic recovered from a handler. It is answered with 500,
// so the event is retried.
type PanicError struct {
	// Value is what the handler panicked with.
	Value any
	// Stack is the goroutine's stack at the panic.
	Stack []byte
}

// Error returns the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("handler: panic: %v", e.Value) }

// Func is a typed handler: the business step for one event of type T, given
// the delivery's metadata. Its error decides the delivery's status (see
// [StatusOf]).
type Func[T events.Event] func(ctx context.Context, m Meta, data T) error

// Typed adapts a [Func] to CloudEvents. Its Handle method has the shape of a
// knative func-go handler without a reply.
type Typed[T events.Event] struct {
	name  string
	types []string
	fn    Func[T]
	log   *slog.Logger
}

// New returns a [Typed] handler named name (used in messages and logs) that
// decodes the events of the given CloudEvents types into T and calls fn. It
// logs ignored event types at debug level to log (nil discards). It fails
// when name, types or fn is missing.
func New[T events.Event](
	name string,
	types []string,
	fn Func[T],
	log *slog.Logger,
) (*Typed[T], error) {
	if name == "" || fn == nil || len(types) == 0 || slices.Contains(types, "") {
		return nil, fmt.Errorf("handler: new %q: a name, a function and non-empty "+
			"event types are required", name)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Typed[T]{
		name:  name,
		types: slices.Clone(types),
		fn:    fn,
		log:   log.With("handler", name),
	}, nil
}

// Name returns the handler's name.
func (t *Typed[T]) Name() string { return t.name }

// Handle decodes e and calls the typed function, or acknowledges e when its
// type is not one t handles. See the package documentation for the statuses
// its errors carry.
func (t *Typed[T]) Handle(ctx context.Context, e event.Event) error {
	m, err := MetaOf(e)
	if err != nil {
		return t.fail(StatusBadInput, m, err)
	}
	if m.Type == kafkasource.WrapType {
		return t.fail(StatusBadInput, m, notCloudEvent(e.Extensions()))
	}
	if !slices.Contains(t.types, m.Type) {
		t.log.DebugContext(ctx, "event type ignored", "event_id", m.ID, "event_type", m.Type)
		return nil
	}

	if err := checkContentType(e.DataContentType()); err != nil {
		return t.fail(StatusUnsupportedType, m, err)
	}
	data, err := decode[T](e.Data())
	if err != nil {
		return t.fail(StatusBadInput, m, err)
	}

	if err := t.call(ctx, m, data); err != nil {
		return t.fail(StatusOf(err), m, err)
	}
	return nil
}

// call runs the typed function, turning a panic into a [PanicError].
func (t *Typed[T]) call(ctx context.Context, m Meta, data T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return t.fn(ctx, m, data)
}

// fail wraps err with the handler's name and the event, as a [StatusError].
func (t *Typed[T]) fail(status int, m Meta, err error) error {
	return &StatusError{Status: status, Err: fmt.Errorf("%s: %s: %w", t.name, m, err)}
}

// notCloudEvent explains a [kafkasource.WrapType] event. A record whose ce_
// headers were incomplete carries them as kafkaheaderce* extensions, which
// tells a broken CloudEvents producer from a plain one.
func notCloudEvent(ext map[string]any) error {
	var ce []string
	for name := range ext {
		if strings.HasPrefix(name, "kafkaheaderce") {
			ce = append(ce, name)
		}
	}
	if len(ce) == 0 {
		return fmt.Errorf("%w: the record has no ce_ headers, so its event type is "+
			"unknown; produce it as a CloudEvent (binary mode: ce_specversion, ce_id, "+
			"ce_source and ce_type headers)", ErrNotCloudEvent)
	}
	slices.Sort(ce)
	return fmt.Errorf("%w: its ce_ headers (delivered as %s) do not form a valid "+
		"event: one of ce_specversion, ce_id, ce_source, ce_type is missing or malformed",
		ErrNotCloudEvent, strings.Join(ce, ", "))
}
