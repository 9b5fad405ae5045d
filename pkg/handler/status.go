package handler

import (
	"net/http"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"function/pkg/delivery"
)

// The statuses this package gives failures. A KafkaSource (and the local
// dispatcher, which copies it) retries 5xx, 404, 408, 409 and 429 and sends
// every other 4xx straight to the dead-letter sink.
const (
	// StatusBadInput is the status of an event whose attributes or data are
	// not what the handler accepts: it can never succeed, so it is not retried.
	StatusBadInput = http.StatusBadRequest

	// StatusUnsupportedType is the status of an event whose datacontenttype
	// is not JSON. It is not retried.
	StatusUnsupportedType = http.StatusUnsupportedMediaType

	// StatusPermanent is the status [Permanent] gives: the event decoded
	// fine but the handler refuses it for good (a business rule). It is not
	// retried.
	StatusPermanent = http.StatusUnprocessableEntity

	// StatusTransient is the status [Transient] gives: a dependency failed
	// and a later attempt may succeed, so the event is retried.
	StatusTransient = http.StatusServiceUnavailable

	// StatusFailed is the status of any other error, a panic included. It
	// is retried.
	StatusFailed = http.StatusInternalServerError
)

// StatusError is a handling failure with the HTTP status its delivery is
// answered with. It carries a CloudEvents HTTP result, so the CloudEvents
// receiver of knative func-go (and anything using [StatusOf]) answers
// Status even when e is wrapped, with Err's message as the response body. The
// body is the message of the outermost StatusError in the chain, which is why
// [Typed.Handle] returns one that names the event.
type StatusError struct {
	// Status is the HTTP status, 400 to 599.
	Status int
	// Err is the cause; its message is the response body.
	Err error
}

// Error returns the cause's message.
func (e *StatusError) Error() string { return e.Err.Error() }

// Unwrap returns the cause, so errors.Is and errors.As see through e.
func (e *StatusError) Unwrap() error { return e.Err }

// As sets target to a CloudEvents HTTP result with e's status and message
// when target is a **cehttp.Result; that is how the CloudEvents receiver
// finds the status to answer.
func (e *StatusError) As(target any) bool {
	r, ok := target.(**cehttp.Result)
	if !ok {
		return false
	}
	*r = &cehttp.Result{StatusCode: e.Status, Format: "%w", Args: []any{e.Err}}
	return true
}

// WithStatus returns err as a [StatusError] with the given status, or nil
// when err is nil.
func WithStatus(status int, err error) error {
	if err == nil {
		return nil
	}
	return &StatusError{Status: status, Err: err}
}

// Permanent marks err as a failure that no retry can fix, answered with
// [StatusPermanent] (422). Use it when the event is well formed but the
// handler refuses it for good; the event then goes to the dead-letter sink.
// Permanent returns nil when err is nil.
func Permanent(err error) error { return WithStatus(StatusPermanent, err) }

// Transient marks err as a failure a later attempt may not have, answered
// with [StatusTransient] (503), so the event is retried. A plain error is
// retried too (as a 500); Transient says so explicitly. Transient returns
// nil when err is nil.
func Transient(err error) error { return WithStatus(StatusTransient, err) }

// StatusOf returns the HTTP status a handler's error is answered with, the
// way the CloudEvents HTTP receiver computes it (see [delivery.StatusOf]).
func StatusOf(err error) int { return delivery.StatusOf(err) }

// IsPermanent reports whether err is answered with a 4xx that a KafkaSource
// does not retry (see [delivery.Retryable]), so its event goes to the
// dead-letter sink. It is false for nil.
func IsPermanent(err error) bool {
	s := StatusOf(err)
	return s >= 400 && !delivery.Retryable(s, nil)
}
