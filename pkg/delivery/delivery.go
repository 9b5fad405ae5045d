// Package delivery sends CloudEvents to a sink with the rules of Knative's
// KafkaSource: one attempt plus a number of retries with linear or
// exponential backoff and a per-attempt timeout, retrying only the statuses
// and errors KafkaSource retries, and a dead-letter copy of the event that
// carries the knativeerror* extensions once retries run out.
//
// A [Sink] is either the function's handler called in process
// ([NewHandlerSink]) or an HTTP URL receiving binary-mode CloudEvents
// ([NewHTTPSink]).
package delivery

import (
	"context"
	"errors"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Sink is where events are delivered.
type Sink interface {
	// Send delivers ev once. The Response holds the HTTP status (in
	// process: 200 for a nil error, the status of an error carrying a
	// cloudevents http.Result, else 500, and 500 for a panic). The error is
	// non-nil, with a zero Response, when no status was had: a connection
	// error, a timeout or the end of ctx.
	Send(ctx context.Context, ev event.Event) (Response, error)
	// Target names the sink in knativeerrordest: its URL, or
	// inprocess://<name> for a handler.
	Target() string
}

// Response is a sink's answer to one attempt.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Body is the start of the response body, for the dead letter's
	// knativeerrordata.
	Body []byte
}

// Errors of a delivery attempt.
var (
	// ErrTimeout is wrapped by the error of an attempt that outlived the
	// policy's per-attempt timeout; it is retryable.
	ErrTimeout = errors.New("delivery: attempt timed out")
	// ErrUnsendable is wrapped by the error of an attempt that failed before
	// reaching the sink because the event cannot be encoded; it is not
	// retryable.
	ErrUnsendable = errors.New("delivery: event cannot be sent")
)
