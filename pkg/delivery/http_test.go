package delivery

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/kafkasource"
)

// received is what a test server saw of one request.
type received struct {
	method string
	header http.Header
	body   string
}

// server starts an httptest server answering status and body, and sends
// each request it receives on the returned channel.
func server(t *testing.T, status int, body string) (*httptest.Server, <-chan received) {
	t.Helper()
	got := make(chan received, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- received{method: r.Method, header: r.Header.Clone(), body: string(b)}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func newHTTPSink(t *testing.T, url string) Sink {
	t.Helper()
	s, err := NewHTTPSink(url, nil)
	require.NoError(t, err)
	return s
}

// TestHTTPSink_BinaryMode pins the request a KafkaSource-converted record
// becomes: a binary-mode POST with Prefer: reply and string extensions.
func TestHTTPSink_BinaryMode(t *testing.T) {
	srv, got := server(t, http.StatusAccepted, `{"reply":true}`)
	s := newHTTPSink(t, srv.URL+"/events")
	msg := &sarama.ConsumerMessage{
		Topic: "user-events", Partition: 3, Offset: 42, Key: []byte("u-1"),
		Timestamp: time.UnixMilli(1700000000100), Value: []byte(`{"userId":"u-1"}`),
		Headers: []*sarama.RecordHeader{
			{Key: []byte("content-type"), Value: []byte("application/json")},
		},
	}
	ev := kafkasource.ToEvent(msg, kafkasource.Options{Namespace: "functions",
		Name: "user-events", Extensions: map[string]string{"handler": "welcome"}})

	r, err := s.Send(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, Response{Status: 202, Body: []byte(`{"reply":true}`)}, r)

	req := <-got
	assert.Equal(t, http.MethodPost, req.method)
	assert.Equal(t, `{"userId":"u-1"}`, req.body)
	source := "/apis/v1/namespaces/functions/kafkasources/user-events#user-events"
	want := map[string]string{
		"Ce-Specversion":           "1.0",
		"Ce-Id":                    "partition:3/offset:42",
		"Ce-Source":                source,
		"Ce-Type":                  "dev.knative.kafka.event",
		"Ce-Subject":               "partition:3#42",
		"Ce-Time":                  "2023-11-14T22:13:20.1Z",
		"Ce-Key":                   "u-1",
		"Ce-Partitionkey":          "u-1",
		"Ce-Knativekafkapartition": "3",
		"Ce-Knativekafkaoffset":    "42",
		"Ce-Handler":               "welcome",
		"Content-Type":             "application/json",
		"Prefer":                   "reply",
	}
	for k, v := range want {
		assert.Equal(t, []string{v}, req.header.Values(k), "header %s", k)
	}
	for k := range req.header {
		if strings.HasPrefix(k, "Ce-") {
			assert.Contains(t, want, k, "unexpected header")
		}
	}
}

// TestHTTPSink_Statuses pins that every status, redirects included, is a
// Response whose retryability follows KafkaSource.
func TestHTTPSink_Statuses(t *testing.T) {
	tests := []struct {
		status    int
		retryable bool
	}{
		{200, false}, {204, false}, {302, false}, {307, false}, {400, false}, {401, false},
		{404, true}, {408, true}, {409, true}, {410, false}, {422, false}, {429, true},
		{500, true}, {502, true}, {503, true},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			h := func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "/elsewhere")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, "why")
			}
			srv := httptest.NewServer(http.HandlerFunc(h))
			defer srv.Close()

			r, err := newHTTPSink(t, srv.URL).Send(context.Background(), testEvent("e1"))
			require.NoError(t, err)
			assert.Equal(t, tt.status, r.Status)
			assert.Equal(t, tt.retryable, Retryable(r.Status, nil))
			if tt.status != http.StatusNoContent {
				assert.Equal(t, "why", string(r.Body))
			}
		})
	}
}

// TestHTTPSink_ConnectionRefused pins that an unreachable sink is a
// retryable error, retried per policy.
func TestHTTPSink_ConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	s := newHTTPSink(t, "http://"+addr+"/")

	out := Deliver(context.Background(), s, testEvent("e1"), fast(2, BackoffExponential))
	require.Error(t, out.Err)
	assert.Contains(t, out.Err.Error(), "connection refused")
	assert.Equal(t, 3, out.Attempts)
	assert.Zero(t, out.Status)
	assert.True(t, Retryable(out.Status, out.Err))
}

// TestHTTPSink_Timeout pins that a sink slower than the attempt timeout is
// a retryable ErrTimeout.
func TestHTTPSink_Timeout(t *testing.T) {
	calls := make(chan struct{}, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls <- struct{}{}
		<-r.Context().Done()
	}))
	defer srv.Close()
	p := Policy{Retry: 1, BackoffDelay: time.Microsecond, Timeout: 20 * time.Millisecond}

	out := Deliver(context.Background(), newHTTPSink(t, srv.URL), testEvent("e1"), p)
	require.ErrorIs(t, out.Err, ErrTimeout)
	assert.Equal(t, 2, out.Attempts)
	assert.Len(t, calls, 2)
}

// TestHTTPSink_UnsendableHeaderValues pins that values HTTP cannot carry
// are percent-encoded while ordinary values are sent raw.
func TestHTTPSink_UnsendableHeaderValues(t *testing.T) {
	srv, got := server(t, http.StatusOK, "")
	ev := testEvent("e1")
	ev.SetExtension("multiline", "a\nb 100%")
	ev.SetExtension("plain", `x y "100%" é`)

	r, err := newHTTPSink(t, srv.URL).Send(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, 200, r.Status)

	req := <-got
	assert.Equal(t, "a%0Ab%20100%25", req.header.Get("Ce-Multiline"))
	assert.Equal(t, `x y "100%" é`, req.header.Get("Ce-Plain"))
}

// TestHTTPSink_LargeBody pins that only the start of a large response body
// is kept.
func TestHTTPSink_LargeBody(t *testing.T) {
	srv, _ := server(t, http.StatusInternalServerError, strings.Repeat("x", 1<<20))

	r, err := newHTTPSink(t, srv.URL).Send(context.Background(), testEvent("e1"))
	require.NoError(t, err)
	assert.Equal(t, 500, r.Status)
	assert.Len(t, r.Body, maxBody)
}

// TestNewHTTPSink_InvalidURL pins the URLs a sink refuses.
func TestNewHTTPSink_InvalidURL(t *testing.T) {
	for _, u := range []string{"", "localhost:8080", "ftp://host/x", "http://", "http://a b/"} {
		t.Run(u, func(t *testing.T) {
			_, err := NewHTTPSink(u, nil)
			require.ErrorIs(t, err, ErrInvalidURL)
			assert.Contains(t, err.Error(), u)
		})
	}
	s, err := NewHTTPSink("https://sink.example:8443/path", http.DefaultClient)
	require.NoError(t, err)
	assert.Equal(t, "https://sink.example:8443/path", s.Target())
}
