package function

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	ce "knative.dev/func-go/cloudevents"

	"function/pkg/events"
	"function/pkg/topology"
)

// serve runs f behind the knative func-go CloudEvents runtime, the HTTP
// service the deployed image runs.
func serve(t *testing.T, f *Function) *httptest.Server {
	t.Helper()

	ce.SetLogLevel(ce.LogWarn)
	srv := httptest.NewServer(ce.New(f).Handler)
	t.Cleanup(srv.Close)
	return srv
}

// delivery is one HTTP request carrying a CloudEvent.
type delivery struct {
	structured  bool
	route       string
	typ         string
	contentType string
	data        string
}

// post sends d to srv in binary or structured mode and returns the status
// and body of the answer.
func post(t *testing.T, srv *httptest.Server, d delivery) (int, string) {
	t.Helper()

	req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(d.body()))
	require.NoError(t, err)
	if d.structured {
		req.Header.Set("Content-Type", "application/cloudevents+json")
	} else {
		d.setHeaders(req.Header)
	}

	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(body)
}

// setHeaders writes d's attributes as binary-mode headers.
func (d delivery) setHeaders(h http.Header) {
	h.Set("ce-specversion", "1.0")
	h.Set("ce-id", "e-1")
	h.Set("ce-source", "/users/api")
	h.Set("ce-type", d.typ)
	h.Set("ce-knativekafkapartition", "3")
	h.Set("ce-knativekafkaoffset", "42")
	if d.route != "" {
		h.Set("ce-"+topology.RouteExtension, d.route)
	}
	if d.contentType != "" {
		h.Set("Content-Type", d.contentType)
	}
}

// body returns the request body: the data, or the whole structured event.
func (d delivery) body() string {
	if !d.structured {
		return d.data
	}
	route := ""
	if d.route != "" {
		route = `,"` + topology.RouteExtension + `":"` + d.route + `"`
	}
	return `{"specversion":"1.0","id":"e-1","source":"/users/api","type":"` + d.typ +
		`","datacontenttype":"application/json"` + route + `,"data":` + d.data + `}`
}

// get returns the status of a GET on path.
func get(t *testing.T, srv *httptest.Server, path string) int {
	t.Helper()

	res, err := srv.Client().Get(srv.URL + path)
	require.NoError(t, err)
	_ = res.Body.Close()
	return res.StatusCode
}

// TestRuntime_Health pins the health endpoints: not ready until Start
// finished, ready after, not ready when the database fails; alive always.
func TestRuntime_Health(t *testing.T) {
	setEnv(t)
	f := New()
	srv := serve(t, f)

	assert.Equal(t, http.StatusServiceUnavailable, get(t, srv, "/health/readiness"))
	assert.Equal(t, http.StatusOK, get(t, srv, "/health/liveness"))
	status, _ := post(t, srv, delivery{route: topology.WelcomeHandler,
		typ: events.TypeUserCreated, data: adaJSON})
	assert.Equal(t, http.StatusServiceUnavailable, status, "an event before Start")

	require.NoError(t, f.Start(context.Background(), nil))
	t.Cleanup(func() { _ = f.Stop(context.Background()) })
	assert.Equal(t, http.StatusOK, get(t, srv, "/health/readiness"))

	require.NoError(t, f.state.Load().store.Close())
	assert.Equal(t, http.StatusInternalServerError, get(t, srv, "/health/readiness"))
	assert.Equal(t, http.StatusOK, get(t, srv, "/health/liveness"))
}

// TestRuntime_Deliveries pins the status of each kind of delivery in both
// HTTP modes, and the message for refused ones.
func TestRuntime_Deliveries(t *testing.T) {
	created := events.TypeUserCreated
	tests := []struct {
		name   string
		d      delivery
		status int
		body   string
	}{
		{"welcome", delivery{route: "welcome", typ: created, data: adaJSON}, 200, ""},
		{"directory", delivery{route: "directory", typ: created, data: adaJSON}, 200, ""},
		{"ignored type", delivery{route: "welcome", typ: events.TypeUserDeleted,
			data: adaJSON}, 200, ""},
		{"no route", delivery{typ: created, data: adaJSON}, 400,
			`has no "handler" extension`},
		{"unknown route", delivery{route: "audit", typ: created, data: adaJSON}, 400,
			`unknown handler "audit"`},
		{"JSON encoded twice", delivery{route: "directory", typ: created,
			data: `"{\"id\":\"u-1\"}"`}, 400, "encoded twice"},
		{"empty object", delivery{route: "directory", typ: created, data: `{}`}, 400,
			"empty JSON object"},
		{"plain kafka record", delivery{route: "directory", typ: "dev.knative.kafka.event",
			data: adaJSON}, 400, "no ce_ headers"},
		{"no e-mail address", delivery{route: "welcome", typ: created,
			data: `{"id":"u-2","version":1}`}, 422, "no e-mail address"},
	}
	for _, mode := range []string{"binary", "structured"} {
		for _, tt := range tests {
			t.Run(mode+"/"+tt.name, func(t *testing.T) {
				f, _ := started(t)
				srv := serve(t, f)
				tt.d.structured = mode == "structured"

				status, body := post(t, srv, tt.d)

				assert.Equal(t, tt.status, status, "body: %s", body)
				assert.Contains(t, body, tt.body)
			})
		}
	}
}

// TestRuntime_BinaryOnly pins what only binary mode can carry: a data
// content type that is not JSON, refused with 415, and a missing body.
func TestRuntime_BinaryOnly(t *testing.T) {
	f, _ := started(t)
	srv := serve(t, f)

	status, body := post(t, srv, delivery{route: "directory", typ: events.TypeUserCreated,
		contentType: "text/plain", data: adaJSON})
	assert.Equal(t, http.StatusUnsupportedMediaType, status)
	assert.Contains(t, body, `datacontenttype "text/plain" is not JSON`)

	status, body = post(t, srv, delivery{route: "directory", typ: events.TypeUserCreated,
		contentType: "application/json"})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "has no data")
}

// TestRuntime_Effects pins the side effects of binary and structured
// deliveries: a mail in the outbox, a row in the database.
func TestRuntime_Effects(t *testing.T) {
	f, e := started(t)
	srv := serve(t, f)

	for _, d := range []delivery{
		{route: "welcome", typ: events.TypeUserCreated, contentType: "application/json",
			data: adaJSON},
		{structured: true, route: "directory", typ: events.TypeUserCreated, data: adaJSON},
	} {
		status, body := post(t, srv, d)
		require.Equal(t, http.StatusOK, status, body)
	}

	files := outboxFiles(t, e)
	require.Len(t, files, 1)
	eml, err := os.ReadFile(files[0])
	require.NoError(t, err)
	assert.Contains(t, string(eml), `To: "Ada" <ada@example.com>`)
	u, err := storedUser(t, e, "u-1")
	require.NoError(t, err)
	assert.Equal(t, "Ada", u.Name)
}

// TestRuntime_FailingDependency pins that a failing mailer or database gets
// a retried 5xx, not a 4xx that would dead-letter the event.
func TestRuntime_FailingDependency(t *testing.T) {
	f, e := started(t)
	srv := serve(t, f)

	require.NoError(t, os.RemoveAll(e.outbox))
	require.NoError(t, os.WriteFile(e.outbox, nil, 0o600))
	status, body := post(t, srv, delivery{route: "welcome", typ: events.TypeUserCreated,
		data: adaJSON})
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, body, "mail: outbox")

	require.NoError(t, f.state.Load().store.Close())
	status, body = post(t, srv, delivery{route: "directory", typ: events.TypeUserCreated,
		data: adaJSON})
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, body, "directory: store: user")
}

// TestRuntime_InvalidCloudEvent pins that a request that is not a valid
// CloudEvent is refused by the runtime with 400 before any handler runs.
func TestRuntime_InvalidCloudEvent(t *testing.T) {
	f, e := started(t)
	srv := serve(t, f)

	req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(adaJSON))
	require.NoError(t, err)
	d := delivery{route: "welcome", typ: events.TypeUserCreated}
	d.setHeaders(req.Header)
	req.Header.Del("ce-source")
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()

	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Empty(t, outboxFiles(t, e))
}
