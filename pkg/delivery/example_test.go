package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"function/pkg/delivery"
)

// ExampleDeliver delivers an event to an in-process handler that fails
// twice, under a policy of three linear retries.
func ExampleDeliver() {
	calls := 0
	sink := delivery.NewHandlerSink("welcome",
		func(ctx context.Context, ev event.Event) (*event.Event, error) {
			calls++
			if calls < 3 {
				return nil, errors.New("mail server down")
			}
			return nil, nil
		})
	ev := event.New()
	ev.SetID("partition:0/offset:7")
	ev.SetSource("/example")
	ev.SetType("com.example.users.user.created")

	p := delivery.Policy{Retry: 3, BackoffPolicy: delivery.BackoffLinear,
		BackoffDelay: time.Millisecond}
	out := delivery.Deliver(context.Background(), sink, ev, p)

	fmt.Println(out.OK(), out.Status, out.Attempts)
	// Output: true 200 3
}

// ExampleDeadLetter shows the extensions a dead-lettered event carries
// after a handler rejected it for good.
func ExampleDeadLetter() {
	sink := delivery.NewHandlerSink("welcome",
		func(ctx context.Context, ev event.Event) (*event.Event, error) {
			return nil, cehttp.NewResult(http.StatusUnprocessableEntity, "no email")
		})
	ev := event.New()
	ev.SetID("partition:0/offset:8")
	ev.SetSource("/example")
	ev.SetType("com.example.users.user.created")

	out := delivery.Deliver(context.Background(), sink, ev, delivery.DefaultPolicy())
	dl := delivery.DeadLetter(ev, sink.Target(), out)

	fmt.Println(out.Attempts, dl.Extensions()[delivery.ExtErrorDest],
		dl.Extensions()[delivery.ExtErrorCode], dl.Extensions()[delivery.ExtErrorData])
	// Output: 1 inprocess://welcome 422 NDIyOiBubyBlbWFpbA==
}

// ExamplePolicy_Backoff prints the waits of a KafkaSource without
// spec.delivery.
func ExamplePolicy_Backoff() {
	p := delivery.DefaultPolicy()
	for n := 1; n <= 4; n++ {
		fmt.Print(p.Backoff(n), " ")
	}
	fmt.Println()
	// Output: 600ms 1.2s 2.4s 4.8s
}
