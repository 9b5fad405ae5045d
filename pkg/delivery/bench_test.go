package delivery

import (
	"context"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
)

// BenchmarkDeliver_Handler measures one successful in-process delivery, the
// dispatcher's per-event cost beyond the conversion.
func BenchmarkDeliver_Handler(b *testing.B) {
	s := NewHandlerSink("noop", func(context.Context, event.Event) (*event.Event, error) {
		return nil, nil
	})
	ev := testEvent("e1")
	ctx := context.Background()
	p := DefaultPolicy()
	b.ReportAllocs()
	for b.Loop() {
		if out := Deliver(ctx, s, ev, p); !out.OK() {
			b.Fatal(out)
		}
	}
}
