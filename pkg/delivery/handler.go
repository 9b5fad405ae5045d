package delivery

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
)

// HandlerFunc is the signature of a Knative function's Handle method for
// CloudEvents.
type HandlerFunc func(ctx context.Context, ev event.Event) (*event.Event, error)

type handlerSink struct {
	name string
	h    HandlerFunc
}

// NewHandlerSink returns a [Sink] that calls h in process, as the function's
// runtime would for an HTTP request: a nil error is 200, an error carrying a
// cloudevents http.Result (see cehttp.NewResult) gives its status, any other
// error or a panic is 500, with the error or panic text as the body. The
// reply event is discarded, as KafkaSource discards replies.
//
// Each call gets its own copy of the event. When ctx ends before h returns,
// Send returns at once with ctx's error and h is left running, as an HTTP
// handler keeps running after its client timed out; a retry can then run
// beside it, so handlers must be idempotent, as under KafkaSource.
func NewHandlerSink(name string, h HandlerFunc) Sink {
	return &handlerSink{name: name, h: h}
}

// Target returns inprocess://<name>.
func (s *handlerSink) Target() string { return "inprocess://" + s.name }

// Send calls the handler once; see [NewHandlerSink].
func (s *handlerSink) Send(ctx context.Context, ev event.Event) (Response, error) {
	c := &handlerCall{ctx: ctx, ev: clone(ev), done: make(chan struct{})}
	go s.call(c)

	select {
	case <-c.done:
		return c.r, nil
	case <-ctx.Done():
	}

	// A handler that finished as ctx ended still counts.
	select {
	case <-c.done:
		return c.r, nil
	default:
		return Response{}, fmt.Errorf("delivery: handler %s, event %s: %w",
			s.name, ev.ID(), context.Cause(ctx))
	}
}

// handlerCall is one call of the handler: its arguments, and its response,
// which may be read once done is closed.
type handlerCall struct {
	ctx  context.Context
	ev   event.Event
	r    Response
	done chan struct{}
}

// clone returns a copy of ev that the handler may change without changing
// ev. A 1.0 context, the common case, is copied field by field: the SDK's
// Clone boxes and re-asserts every attribute and extension value, which
// costs more than the handler call itself. SetExtension stores only
// immutable values (strings, numbers, booleans, URI and timestamp values);
// pointers put in the map directly are cloned as the SDK clones them.
func clone(ev event.Event) event.Event {
	ec, ok := ev.Context.(*event.EventContextV1)
	if !ok || len(ev.FieldErrors) > 0 {
		return ev.Clone()
	}
	c := *ec
	if ec.Time != nil {
		t := *ec.Time
		c.Time = &t
	}
	if ec.DataSchema != nil {
		u := *ec.DataSchema
		c.DataSchema = &u
	}
	c.Extensions = cloneExtensions(ec.Extensions)
	return event.Event{
		Context:     &c,
		DataEncoded: bytes.Clone(ev.DataEncoded),
		DataBase64:  ev.DataBase64,
	}
}

// cloneExtensions copies an extension map, cloning the pointer values
// SetExtension never stores but a caller may have put there.
func cloneExtensions(ext map[string]any) map[string]any {
	c := maps.Clone(ext)
	for name, v := range c {
		switch v.(type) {
		case *types.URI, *types.URIRef, *types.Timestamp, *url.URL, *time.Time:
			c[name] = types.Clone(v)
		}
	}
	return c
}

// call runs the handler and always sets c.r and closes c.done, even when
// the handler panics or calls runtime.Goexit.
func (s *handlerSink) call(c *handlerCall) {
	returned := false
	defer close(c.done)
	defer func() {
		if v := recover(); v != nil {
			c.r = Response{Status: http.StatusInternalServerError,
				Body: fmt.Appendf(nil, "panic: %v", v)}
		} else if !returned {
			c.r = Response{Status: http.StatusInternalServerError,
				Body: []byte("handler exited without returning")}
		}
	}()

	_, err := s.h(c.ctx, c.ev)
	c.r, returned = responseFor(err), true
}

// responseFor maps a handler's error to the response the CloudEvents SDK's
// HTTP protocol would give: its status, and the error text as the body.
func responseFor(err error) Response {
	status := StatusOf(err)
	if status == http.StatusOK {
		return Response{Status: status}
	}
	return Response{Status: status, Body: []byte(err.Error())}
}

// StatusOf returns the HTTP status the CloudEvents HTTP receiver (and so the
// knative func-go runtime) answers a handler's error with: 200 for nil or an
// ACK receipt, the status of the CloudEvents HTTP result in err's chain when
// it holds one between 101 and 599, and 500 for any other error.
func StatusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}

	var r *cehttp.Result
	if protocol.ResultAs(err, &r) && r.StatusCode > 100 && r.StatusCode < 600 {
		return r.StatusCode
	}
	if protocol.IsACK(err) {
		return http.StatusOK
	}
	return http.StatusInternalServerError
}
