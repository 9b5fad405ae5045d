package handler_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/handler"
)

// TestStatusOf_Errors pins the status of each kind of error, the way the CloudEvents
// HTTP receiver computes it.
func TestStatusOf_Errors(t *testing.T) {
	cause := errors.New("disk full")
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 200},
		{"ack receipt", protocol.ResultACK, 200},
		{"nack receipt", protocol.ResultNACK, 500},
		{"plain", cause, 500},
		{"permanent", handler.Permanent(cause), 422},
		{"transient", handler.Transient(cause), 503},
		{"with status", handler.WithStatus(http.StatusTooManyRequests, cause), 429},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", handler.Permanent(cause))), 422},
		{"cloudevents result", cehttp.NewResult(http.StatusNotFound, "gone"), 404},
		{"result out of range", cehttp.NewResult(42, "odd"), 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, handler.StatusOf(tt.err))
		})
	}
}

// TestIsPermanent_KafkaSourceRetryRules pins which statuses a KafkaSource would not retry.
func TestIsPermanent_KafkaSourceRetryRules(t *testing.T) {
	for status, want := range map[int]bool{
		200: false, 400: true, 404: false, 408: false, 409: false, 415: true, 422: true,
		429: false, 500: false, 503: false,
	} {
		err := handler.WithStatus(status, errors.New("x"))
		assert.Equal(t, want, handler.IsPermanent(err), "status %d", status)
	}
	assert.False(t, handler.IsPermanent(nil))
}

// TestWithStatus_Nil pins that marking no error gives no error.
func TestWithStatus_Nil(t *testing.T) {
	assert.NoError(t, handler.Permanent(nil))
	assert.NoError(t, handler.Transient(nil))
}

// TestStatusError_CloudEventsReceiver pins that the CloudEvents SDK's HTTP
// receiver, which knative func-go serves, answers a StatusError's status
// however deep it is wrapped, with the StatusError's own message as the body.
func TestStatusError_CloudEventsReceiver(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
		body string
	}{
		{"none", nil, 200, ""},
		{"permanent", handler.Permanent(errors.New("no e-mail address")), 422,
			"no e-mail address"},
		{"wrapped", fmt.Errorf("outer: %w", handler.Transient(errors.New("db down"))), 503,
			"db down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := receiver(t, func(context.Context, event.Event) error { return tt.err })

			res := postEvent(t, srv.URL)

			assert.Equal(t, tt.want, res.StatusCode)
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.body, string(body))
		})
	}
}

// receiver serves fn with the CloudEvents SDK's HTTP receiver.
func receiver(t *testing.T, fn func(context.Context, event.Event) error) *httptest.Server {
	t.Helper()

	p, err := cloudevents.NewHTTP()
	require.NoError(t, err)
	h, err := cloudevents.NewHTTPReceiveHandler(context.Background(), p, fn)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// postEvent sends a minimal binary-mode CloudEvent to url.
func postEvent(t *testing.T, url string) *http.Response {
	t.Helper()

	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"id":"u-1"}`))
	require.NoError(t, err)
	req.Header.Set("ce-specversion", "1.0")
	req.Header.Set("ce-id", "e-1")
	req.Header.Set("ce-source", "/test")
	req.Header.Set("ce-type", "com.example.test")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = res.Body.Close() })
	return res
}
