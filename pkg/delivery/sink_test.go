package delivery

import (
	"context"
	"sync"

	"github.com/cloudevents/sdk-go/v2/event"
)

// result is one scripted answer of a fakeSink.
type result struct {
	status int
	err    error
}

// fakeSink answers attempts from a script, repeating its last entry, and
// records the events it got.
type fakeSink struct {
	mu     sync.Mutex
	script []result
	events []event.Event
	// before runs at the start of each attempt when set.
	before func(ctx context.Context, attempt int)
}

func (s *fakeSink) Send(ctx context.Context, ev event.Event) (Response, error) {
	s.mu.Lock()
	s.events = append(s.events, ev)
	n := len(s.events)
	r := s.script[min(n, len(s.script))-1]
	before := s.before
	s.mu.Unlock()

	if before != nil {
		before(ctx, n)
	}
	if r.err != nil {
		return Response{}, r.err
	}
	return Response{Status: r.status, Body: []byte("body")}, nil
}

func (s *fakeSink) Target() string { return "fake://sink" }

func (s *fakeSink) attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.events)
}

// testEvent returns a valid event with an id.
func testEvent(id string) event.Event {
	ev := event.New()
	ev.SetID(id)
	ev.SetSource("/test")
	ev.SetType("com.example.test")
	return ev
}
