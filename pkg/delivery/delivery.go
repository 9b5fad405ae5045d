// Package delivery sends CloudEvents to a sink with KafkaSource's retry,
// backoff and dead-letter rules.
package delivery

import (
	"context"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Sink is where events are delivered.
type Sink interface {
	// Send delivers one event once.
	Send(ctx context.Context, ev event.Event) (Response, error)
	// Target names the sink for knativeerrordest.
	Target() string
}

// Response is a sink's answer.
type Response struct {
	Status int
	Body   []byte
}

type handlerSink struct {
	name string
	h    func(context.Context, event.Event) (*event.Event, error)
}

// NewHandlerSink returns a Sink calling h in process.
func NewHandlerSink(
	name string,
	h func(context.Context, event.Event) (*event.Event, error),
) Sink {
	return &handlerSink{name: name, h: h}
}

func (s *handlerSink) Send(ctx context.Context, ev event.Event) (Response, error) {
	if _, err := s.h(ctx, ev); err != nil {
		return Response{Status: http.StatusInternalServerError}, nil
	}
	return Response{Status: http.StatusOK}, nil
}

func (s *handlerSink) Target() string { return "inprocess://" + s.name }

// NewHTTPSink returns a Sink posting binary-mode CloudEvents to url.
func NewHTTPSink(url string, client *http.Client) (Sink, error) {
	return nil, nil
}

// BackoffPolicy is linear or exponential.
type BackoffPolicy string

// Backoff policies.
const (
	BackoffLinear      BackoffPolicy = "linear"
	BackoffExponential BackoffPolicy = "exponential"
)

// Policy is a KafkaSource delivery spec.
type Policy struct {
	Retry         int
	BackoffPolicy BackoffPolicy
	BackoffDelay  time.Duration
	Timeout       time.Duration
}

// Validate reports a policy that cannot be used.
func (p Policy) Validate() error { return nil }

// Backoff returns the wait before retry n.
func (p Policy) Backoff(attempt int) time.Duration { return p.BackoffDelay }

// Retryable reports whether a status or error is retried.
func Retryable(status int, err error) bool { return err != nil || status >= 500 }

// Outcome is the final result of Deliver.
type Outcome struct {
	Status   int
	Body     []byte
	Err      error
	Attempts int
}

// OK reports success.
func (o Outcome) OK() bool { return o.Err == nil && o.Status >= 200 && o.Status < 300 }

// Deliver sends ev to s under p.
func Deliver(ctx context.Context, s Sink, ev event.Event, p Policy) Outcome {
	r, err := s.Send(ctx, ev)
	return Outcome{Status: r.Status, Body: r.Body, Err: err, Attempts: 1}
}

// DeadLetter returns ev annotated for the dead-letter sink.
func DeadLetter(ev event.Event, target string, o Outcome) event.Event {
	return ev.Clone()
}
