package handler_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/events"
	"function/pkg/handler"
	"function/pkg/kafkasource"
)

const validUser = `{"id":"u-1","name":"Ada","email":"ada@example.com","version":2,` +
	`"created_at":"2024-05-01T10:00:00Z","updated_at":"2024-05-02T10:00:00Z"}`

// newEvent returns a user-created event with data given as raw bytes.
func newEvent(t *testing.T, contentType string, data []byte) event.Event {
	t.Helper()

	e := event.New()
	e.SetID("e-1")
	e.SetSource("/users/test")
	e.SetType(events.TypeUserCreated)
	e.SetSubject("u-1")
	e.SetTime(time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC))
	if contentType != "" {
		e.SetDataContentType(contentType)
	}
	e.DataEncoded = data
	return e
}

// recorder is a typed handler that records its calls and returns err.
type recorder struct {
	calls []events.UserEvent
	metas []handler.Meta
	err   error
}

func (r *recorder) handle(_ context.Context, m handler.Meta, u events.UserEvent) error {
	r.calls = append(r.calls, u)
	r.metas = append(r.metas, m)
	return r.err
}

// newTyped returns a handler of user-created events backed by r.
func newTyped(t *testing.T, r *recorder) *handler.Typed[events.UserEvent] {
	t.Helper()

	h, err := handler.New("welcome", []string{events.TypeUserCreated}, r.handle, nil)
	require.NoError(t, err)
	return h
}

// TestTyped_InputClasses pins the status and message of every input class.
func TestTyped_InputClasses(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		data        string
		status      int
		why         string
	}{
		{"no content type", "", validUser, 200, ""},
		{"application/json", "application/json", validUser, 200, ""},
		{"mixed case with parameters", "Application/JSON; charset=UTF-8", validUser, 200, ""},
		{"text/json", "text/json", validUser, 200, ""},
		{"vendor +json", "application/vnd.example.user+JSON", validUser, 200, ""},
		{"bad parameter ignored", "application/json; charset", validUser, 200, ""},
		{"unknown fields tolerated", "application/json",
			`{"id":"u-1","email":"a@b.c","plan":"pro","tags":["x"]}`, 200, ""},
		{"text/plain", "text/plain", validUser, 415, "is not JSON"},
		{"xml", "application/xml", validUser, 415, "is not JSON"},
		{"json-seq", "application/json-seq", validUser, 415, "is not JSON"},
		{"malformed content type", "/json", validUser, 415, "datacontenttype"},
		{"missing data", "application/json", "", 400, "has no data"},
		{"blank data", "application/json", " \n", 400, "has no data"},
		{"null data", "application/json", "null", 400, "has no data"},
		{"JSON string holding JSON", "application/json",
			`"{\"id\":\"u-1\"}"`, 400, "encoded twice"},
		{"JSON string", "application/json", `"u-1"`, 400, "JSON string, not an object"},
		{"JSON array", "application/json", `[` + validUser + `]`, 400,
			"array where an object is expected"},
		{"JSON number", "application/json", `42`, 400, "number where an object"},
		{"not JSON", "application/json", `id=u-1`, 400, "not a JSON object"},
		{"trailing garbage", "application/json", validUser + `}`, 400, "not a JSON object"},
		{"CloudEvents envelope", "application/json", `{"specversion":"1.0","id":"e-1",` +
			`"source":"/s","type":"t","data":` + validUser + `}`, 400, "CloudEvents envelope"},
		{"empty object", "application/json", `{}`, 400, "empty JSON object"},
		{"wrong field type", "application/json", `{"id":"u-1","version":"2"}`, 400,
			`field "version": JSON string where int64 is expected`},
		{"id of wrong type", "application/json", `{"id":7}`, 400,
			`field "id": JSON number where string is expected`},
		{"bad time", "application/json", `{"id":"u-1","created_at":"yesterday"}`, 400,
			`field "created_at": parsing time "yesterday"`},
		{"time as number", "application/json", `{"id":"u-1","updated_at":5}`, 400,
			`field "updated_at"`},
		{"empty id", "application/json", `{"id":"","name":"Ada"}`, 400, "empty entity id"},
		{"no id", "application/json", `{"name":"Ada"}`, 400, "empty entity id"},
		{"invalid UTF-8", "application/json",
			"{\"id\":\"u-1\",\"email\":\"a\xff@example.com\"}", 400, "not valid UTF-8"},
		{"negative version", "application/json", `{"id":"u-1","version":-1}`, 400,
			"negative version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			e := newEvent(t, tt.contentType, []byte(tt.data))

			err := newTyped(t, r).Handle(context.Background(), e)

			assert.Equal(t, tt.status, handler.StatusOf(err), "status of %v", err)
			if tt.status == http.StatusOK {
				assert.Len(t, r.calls, 1, "handler calls")
				return
			}
			assert.Empty(t, r.calls, "the handler must not run on bad input")
			assert.Contains(t, err.Error(), tt.why)
			assert.Contains(t, err.Error(),
				`welcome: event "e-1" from "/users/test" (type "`+events.TypeUserCreated+`")`)
		})
	}
}

// TestTyped_DecodesData pins the decoded value and the metadata the handler
// receives, Kafka position included.
func TestTyped_DecodesData(t *testing.T) {
	r := &recorder{}
	e := newEvent(t, "application/json", []byte(validUser))
	e.SetExtension(kafkasource.ExtPartition, "3")
	e.SetExtension(kafkasource.ExtOffset, "8589934592")

	require.NoError(t, newTyped(t, r).Handle(context.Background(), e))

	require.Len(t, r.calls, 1)
	assert.Equal(t, events.UserEvent{
		ID: "u-1", Name: "Ada", Email: "ada@example.com", Version: 2,
		CreatedAt: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		UpdatedAt: time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC),
	}, r.calls[0])
	assert.Equal(t, handler.Meta{
		ID: "e-1", Source: "/users/test", Type: events.TypeUserCreated, Subject: "u-1",
		Time:  time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC),
		Kafka: &handler.Position{Partition: 3, Offset: 8589934592},
	}, r.metas[0])
}

// TestTyped_KafkaPosition pins how the position extensions are read.
func TestTyped_KafkaPosition(t *testing.T) {
	tests := []struct {
		name      string
		ext       map[string]any
		want      *handler.Position
		wantError string
	}{
		{"absent", nil, nil, ""},
		{"strings", map[string]any{"knativekafkapartition": "0", "knativekafkaoffset": "0"},
			&handler.Position{}, ""},
		{"integers", map[string]any{"knativekafkapartition": 5, "knativekafkaoffset": 9},
			&handler.Position{Partition: 5, Offset: 9}, ""},
		{"partition only", map[string]any{"knativekafkapartition": "1"}, nil,
			"got only one"},
		{"not a number", map[string]any{"knativekafkapartition": "one",
			"knativekafkaoffset": "2"}, nil, `knativekafkapartition: "one" is not an integer`},
		{"partition overflows int32", map[string]any{"knativekafkapartition": "2147483648",
			"knativekafkaoffset": "2"}, nil, "is not an integer"},
		{"negative", map[string]any{"knativekafkapartition": "1",
			"knativekafkaoffset": "-2"}, nil, "negative kafka position"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			e := newEvent(t, "", []byte(validUser))
			for k, v := range tt.ext {
				require.NoError(t, e.Context.SetExtension(k, v))
			}

			err := newTyped(t, r).Handle(context.Background(), e)

			if tt.wantError != "" {
				assert.Equal(t, http.StatusBadRequest, handler.StatusOf(err))
				assert.ErrorIs(t, err, handler.ErrBadExtension)
				assert.ErrorContains(t, err, tt.wantError)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, r.metas[0].Kafka)
		})
	}
}

// TestTyped_IgnoresOtherTypes pins that an event of a type the handler does
// not handle is acknowledged without decoding it, bad data included.
func TestTyped_IgnoresOtherTypes(t *testing.T) {
	r := &recorder{}
	e := newEvent(t, "text/plain", []byte("not json"))
	e.SetType(events.TypeUserDeleted)

	err := newTyped(t, r).Handle(context.Background(), e)

	require.NoError(t, err)
	assert.Empty(t, r.calls)
}

// TestTyped_RejectsPlainKafkaRecords pins that a record from a non-CloudEvents
// producer is refused for good even when its data is a valid user, with a
// message that tells a plain producer from a broken CloudEvents one.
func TestTyped_RejectsPlainKafkaRecords(t *testing.T) {
	tests := []struct {
		name string
		ext  map[string]any
		why  string
	}{
		{"plain producer", map[string]any{"key": "u-1"}, "the record has no ce_ headers"},
		{"broken CloudEvents producer", map[string]any{
			"kafkaheadercespecversion": "1.0", "kafkaheaderceid": "e-1",
			"kafkaheadercetype": events.TypeUserCreated,
		}, "kafkaheaderceid, kafkaheadercespecversion, kafkaheadercetype"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			e := newEvent(t, "application/json", []byte(validUser))
			e.SetType(kafkasource.WrapType)
			for k, v := range tt.ext {
				e.SetExtension(k, v)
			}

			err := newTyped(t, r).Handle(context.Background(), e)

			assert.Equal(t, http.StatusBadRequest, handler.StatusOf(err))
			assert.ErrorIs(t, err, handler.ErrNotCloudEvent)
			assert.ErrorContains(t, err, tt.why)
			assert.True(t, handler.IsPermanent(err))
			assert.Empty(t, r.calls)
		})
	}
}

// TestTyped_HandlerFailures pins the status each kind of handler failure
// gets, and that the cause stays reachable through the wrapping.
func TestTyped_HandlerFailures(t *testing.T) {
	cause := errors.New("smtp: connection refused")
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"plain error", cause, 500},
		{"transient", handler.Transient(cause), 503},
		{"permanent", handler.Permanent(cause), 422},
		{"wrapped permanent", fmt.Errorf("send: %w", handler.Permanent(cause)), 422},
		{"cloudevents result", cehttp.NewResult(http.StatusConflict, "busy: %w", cause), 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{err: tt.err}
			e := newEvent(t, "", []byte(validUser))

			err := newTyped(t, r).Handle(context.Background(), e)

			assert.Equal(t, tt.status, handler.StatusOf(err))
			assert.ErrorIs(t, err, cause)
			assert.ErrorContains(t, err, `welcome: event "e-1"`)
		})
	}
}

// TestTyped_RecoversPanics pins that a panicking handler fails the delivery
// with a retried 500 instead of crashing the function.
func TestTyped_RecoversPanics(t *testing.T) {
	h, err := handler.New("welcome", []string{events.TypeUserCreated},
		func(context.Context, handler.Meta, events.UserEvent) error {
			var m map[string]int
			m["boom"]++
			return nil
		}, nil)
	require.NoError(t, err)

	err = h.Handle(context.Background(), newEvent(t, "", []byte(validUser)))

	assert.Equal(t, http.StatusInternalServerError, handler.StatusOf(err))
	var pe *handler.PanicError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, string(pe.Stack), "handler_test.go")
	assert.ErrorContains(t, err, "assignment to entry in nil map")
	assert.False(t, handler.IsPermanent(err))
}

// TestNew_RequiresEverything pins the constructor's refusals.
func TestNew_RequiresEverything(t *testing.T) {
	fn := (&recorder{}).handle
	types := []string{events.TypeUserCreated}

	_, err := handler.New("", types, fn, nil)
	assert.Error(t, err, "no name")
	_, err = handler.New[events.UserEvent]("x", types, nil, nil)
	assert.Error(t, err, "no function")
	_, err = handler.New("x", nil, fn, nil)
	assert.Error(t, err, "no types")
	_, err = handler.New("x", []string{""}, fn, nil)
	assert.Error(t, err, "empty type")
}
