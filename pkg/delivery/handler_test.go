package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHandlerSink_Status pins the status each handler result maps to.
func TestHandlerSink_Status(t *testing.T) {
	reply := testEvent("reply")
	tests := []struct {
		name   string
		h      HandlerFunc
		status int
		body   string
	}{
		{"nil error", func(context.Context, event.Event) (*event.Event, error) {
			return nil, nil
		}, 200, ""},
		{"reply is discarded", func(context.Context, event.Event) (*event.Event, error) {
			return &reply, nil
		}, 200, ""},
		{"ack receipt", func(context.Context, event.Event) (*event.Event, error) {
			return nil, protocol.ResultACK
		}, 200, ""},
		{"plain error", func(context.Context, event.Event) (*event.Event, error) {
			return nil, errors.New("db down")
		}, 500, "db down"},
		{"nack receipt", func(context.Context, event.Event) (*event.Event, error) {
			return nil, protocol.ResultNACK
		}, 500, ""},
		{"http result", func(context.Context, event.Event) (*event.Event, error) {
			return nil, cehttp.NewResult(http.StatusUnprocessableEntity, "bad email %q", "x")
		}, 422, `422: bad email "x"`},
		{"wrapped http result", func(context.Context, event.Event) (*event.Event, error) {
			return nil, fmt.Errorf("welcome: %w", cehttp.NewResult(http.StatusNotFound, "no user"))
		}, 404, "welcome: 404: no user"},
		{"http result without a status", func(context.Context, event.Event) (*event.Event, error) {
			return nil, cehttp.NewResult(0, "odd")
		}, 500, "0: odd"},
		{"panic", func(context.Context, event.Event) (*event.Event, error) {
			panic("boom")
		}, 500, "panic: boom"},
		{"goexit", func(context.Context, event.Event) (*event.Event, error) {
			runtime.Goexit()
			return nil, nil
		}, 500, "handler exited without returning"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewHandlerSink("welcome", tt.h)

			r, err := s.Send(context.Background(), testEvent("e1"))
			require.NoError(t, err)
			assert.Equal(t, tt.status, r.Status)
			assert.Contains(t, string(r.Body), tt.body)
		})
	}
}

// TestHandlerSink_PanicIsRetried pins that a panicking handler is a 500,
// retried and then reported, without crashing the process.
func TestHandlerSink_PanicIsRetried(t *testing.T) {
	calls := 0
	s := NewHandlerSink("welcome", func(context.Context, event.Event) (*event.Event, error) {
		calls++
		panic(fmt.Sprintf("call %d", calls))
	})

	out := Deliver(context.Background(), s, testEvent("e1"), fast(2, BackoffLinear))
	assert.Equal(t, 3, calls)
	assert.Equal(t, 500, out.Status)
	assert.Equal(t, "panic: call 3", string(out.Body))
}

// TestHandlerSink_Copy pins that each call gets its own copy of the event.
func TestHandlerSink_Copy(t *testing.T) {
	s := NewHandlerSink("h", func(_ context.Context, ev event.Event) (*event.Event, error) {
		ev.SetID("changed")
		ev.SetExtension("added", "x")
		return nil, nil
	})
	ev := testEvent("e1")

	_, err := s.Send(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, "e1", ev.ID())
	assert.Empty(t, ev.Extensions())
	assert.Equal(t, "inprocess://h", s.Target())
}

// TestHandlerSink_Slow pins that a handler outliving the attempt timeout
// gives a retryable timeout while the handler is left to finish.
func TestHandlerSink_Slow(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	s := NewHandlerSink("slow", func(context.Context, event.Event) (*event.Event, error) {
		<-release
		return nil, nil
	})
	p := Policy{Retry: 1, BackoffDelay: time.Microsecond, Timeout: 10 * time.Millisecond}

	out := Deliver(context.Background(), s, testEvent("e1"), p)
	require.ErrorIs(t, out.Err, ErrTimeout)
	assert.ErrorIs(t, out.Err, context.DeadlineExceeded)
	assert.Contains(t, out.Err.Error(), "handler slow, event e1")
	assert.Equal(t, 2, out.Attempts)
}

// TestHandlerSink_DeepCopy pins that changes to the time, data, schema and
// extensions of the handler's copy leave the caller's event unchanged.
func TestHandlerSink_DeepCopy(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ev := testEvent("e1")
	ev.SetTime(at)
	ev.SetDataSchema("https://example.com/schema")
	require.NoError(t, ev.SetData("application/json", map[string]string{"a": "b"}))
	ev.SetExtension("handler", "welcome")
	ev.Context.(*event.EventContextV1).Extensions["ptr"] = &types.URI{URL: url.URL{Path: "/p"}}
	s := NewHandlerSink("h", func(_ context.Context, got event.Event) (*event.Event, error) {
		ec := got.Context.(*event.EventContextV1)
		ec.Time.Time = time.Time{}
		ec.DataSchema.Host = "changed"
		ec.Extensions["ptr"].(*types.URI).Path = "/changed"
		ec.Extensions["handler"] = "changed"
		got.DataEncoded[0] = 'X'
		return nil, nil
	})

	_, err := s.Send(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, at, ev.Time())
	assert.Equal(t, "https://example.com/schema", ev.DataSchema())
	assert.Equal(t, "welcome", ev.Extensions()["handler"])
	assert.Equal(t, "/p", ev.Extensions()["ptr"].(*types.URI).Path)
	assert.JSONEq(t, `{"a":"b"}`, string(ev.Data()))
}
