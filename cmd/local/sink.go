package main

import (
	"context"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"

	"function/pkg/delivery"
)

// serialSink lets one delivery at a time reach the function, whichever
// dispatcher sends it.
//
// The func-go runtime serves each request through cloudevents sdk-go
// v2.16's HTTP receive handler, which pairs requests with their handler
// goroutines through one shared channel (cloudevents/sdk-go#1224, #1332): when
// two requests overlap, one can finish before its own goroutine was
// scheduled, and from then on a request waits for a later one to be served.
// Under steady concurrent load every delivery then stalls until its
// timeout. One request at a time never overlaps; the cluster gets the same
// effect from containerConcurrency: 1 (see mk/cluster.mk).
type serialSink struct {
	delivery.Sink
	slot chan struct{}
}

func newSerialSink(s delivery.Sink) *serialSink {
	return &serialSink{Sink: s, slot: make(chan struct{}, 1)}
}

// Send waits for the slot, within ctx (the attempt's timeout), then sends.
func (s *serialSink) Send(ctx context.Context, ev event.Event) (delivery.Response, error) {
	select {
	case s.slot <- struct{}{}:
	case <-ctx.Done():
		return delivery.Response{}, fmt.Errorf("waiting for the function: %w", ctx.Err())
	}
	defer func() { <-s.slot }()
	return s.Sink.Send(ctx, ev)
}
