package function

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/events"
	"function/pkg/handler"
	"function/pkg/store"
	"function/pkg/topology"
)

// env is where a started test function keeps its state.
type env struct {
	db     string
	outbox string
	log    *syncBuffer
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// setEnv points the configuration at a temporary folder and returns it.
func setEnv(t *testing.T) env {
	t.Helper()

	dir := t.TempDir()
	e := env{
		db:     filepath.Join(dir, "users.db"),
		outbox: filepath.Join(dir, "outbox"),
		log:    &syncBuffer{},
	}
	t.Setenv("DATABASE_PATH", e.db)
	t.Setenv("MAIL_MAILER", "outbox")
	t.Setenv("MAIL_OUTBOX_DIR", e.outbox)
	t.Setenv("WELCOME_FROM", "Example <welcome@example.com>")
	t.Setenv("LOG_LEVEL", "debug")
	return e
}

// started returns a started function, stopped when the test ends.
func started(t *testing.T) (*Function, env) {
	t.Helper()

	e := setEnv(t)
	f := New()
	f.logOut = e.log
	require.NoError(t, f.Start(context.Background(), nil))
	t.Cleanup(func() { require.NoError(t, f.Stop(context.Background())) })
	return f, e
}

// userEvent returns a user event for the given route; an empty route sets
// no route extension.
func userEvent(t *testing.T, route, typ, data string) event.Event {
	t.Helper()

	e := event.New()
	e.SetID("e-1")
	e.SetSource("/users/api")
	e.SetType(typ)
	e.SetTime(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC))
	if route != "" {
		e.SetExtension(topology.RouteExtension, route)
	}
	require.NoError(t, e.SetData(event.ApplicationJSON, []byte(data)))
	return e
}

const adaJSON = `{"id":"u-1","name":"Ada","email":"ada@example.com","version":1,` +
	`"created_at":"2024-05-01T10:00:00Z","updated_at":"2024-05-01T10:00:00Z"}`

// outboxFiles lists the .eml files of the outbox.
func outboxFiles(t *testing.T, e env) []string {
	t.Helper()

	files, err := filepath.Glob(filepath.Join(e.outbox, "*.eml"))
	require.NoError(t, err)
	return files
}

// storedUser reads user id from the test database.
func storedUser(t *testing.T, e env, id string) (events.UserEvent, error) {
	t.Helper()

	s, err := store.OpenSQLite(context.Background(), e.db)
	require.NoError(t, err)
	defer func() { _ = s.Close() }()
	return s.User(context.Background(), id)
}

// TestHandle_RoutesToOneHandler pins that an event runs only the handler its
// route extension names.
func TestHandle_RoutesToOneHandler(t *testing.T) {
	f, e := started(t)
	ctx := context.Background()

	reply, err := f.Handle(ctx, userEvent(t, topology.WelcomeHandler,
		events.TypeUserCreated, adaJSON))
	require.NoError(t, err)
	assert.Nil(t, reply, "no reply event")
	assert.Len(t, outboxFiles(t, e), 1)
	_, err = storedUser(t, e, "u-1")
	assert.ErrorIs(t, err, store.ErrNotFound, "the directory handler must not run")

	_, err = f.Handle(ctx, userEvent(t, topology.DirectoryHandler,
		events.TypeUserCreated, adaJSON))
	require.NoError(t, err)
	u, err := storedUser(t, e, "u-1")
	require.NoError(t, err)
	assert.Equal(t, "ada@example.com", u.Email)
	assert.Len(t, outboxFiles(t, e), 1, "the welcome handler must not run again")
}

// TestHandle_BadRoutes pins that an event naming no known handler is refused
// for good, with a message naming the value and the known handlers.
func TestHandle_BadRoutes(t *testing.T) {
	f, e := started(t)
	tests := []struct {
		name  string
		route string
		is    error
		want  string
	}{
		{"missing", "", ErrNoRoute, `has no "handler" extension; known handlers: ` +
			"directory, welcome"},
		{"unknown", "audit", ErrUnknownRoute, `unknown handler "audit" in the "handler" ` +
			`extension of event "e-1" from "/users/api"`},
		{"wrong case", "Welcome", ErrUnknownRoute, `"Welcome"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Handle(context.Background(),
				userEvent(t, tt.route, events.TypeUserCreated, adaJSON))

			assert.Equal(t, http.StatusBadRequest, handler.StatusOf(err))
			assert.ErrorIs(t, err, tt.is)
			assert.ErrorContains(t, err, tt.want)
			assert.Empty(t, outboxFiles(t, e))
		})
	}
	assert.Contains(t, f.state.Load().names(), "directory, welcome")
}

// TestHandle_NotStarted pins that events before Start and after Stop are
// retried rather than lost.
func TestHandle_NotStarted(t *testing.T) {
	setEnv(t)
	f := New()
	ev := userEvent(t, topology.WelcomeHandler, events.TypeUserCreated, adaJSON)

	_, err := f.Handle(context.Background(), ev)
	assert.Equal(t, http.StatusServiceUnavailable, handler.StatusOf(err))
	assert.ErrorIs(t, err, ErrNotStarted)

	require.NoError(t, f.Start(context.Background(), nil))
	require.NoError(t, f.Stop(context.Background()))
	_, err = f.Handle(context.Background(), ev)
	assert.ErrorIs(t, err, ErrNotStarted)
	require.NoError(t, f.Stop(context.Background()), "stopping twice")
}

// TestHandle_LogsOutcome pins the level of each outcome: debug when handled,
// error when dead-lettered, warn when retried.
func TestHandle_LogsOutcome(t *testing.T) {
	f, e := started(t)
	ctx := context.Background()

	_, err := f.Handle(ctx, userEvent(t, topology.DirectoryHandler,
		events.TypeUserCreated, adaJSON))
	require.NoError(t, err)
	_, err = f.Handle(ctx, userEvent(t, topology.DirectoryHandler,
		events.TypeUserCreated, `{}`))
	require.Error(t, err)
	require.NoError(t, os.RemoveAll(e.outbox))
	require.NoError(t, os.WriteFile(e.outbox, nil, 0o600))
	_, err = f.Handle(ctx, userEvent(t, topology.WelcomeHandler,
		events.TypeUserCreated, adaJSON))
	require.Error(t, err)

	log := e.log.String()
	assert.Contains(t, log, `level=DEBUG msg="event handled" handler=directory event_id=e-1`)
	assert.Contains(t, log, `level=ERROR msg="event rejected" handler=directory`)
	assert.Contains(t, log, "status=400")
	assert.Contains(t, log, `level=WARN msg="event failed, will be retried" handler=welcome`)
	assert.Contains(t, log, "status=503")
}

// TestStart_BadConfiguration pins that Start reports every invalid setting
// at once, each by its variable's name.
func TestStart_BadConfiguration(t *testing.T) {
	setEnv(t)
	t.Setenv("DATABASE_PATH", "")
	t.Setenv("MAIL_MAILER", "pigeon")
	t.Setenv("WELCOME_FROM", "nobody")
	t.Setenv("LOG_LEVEL", "loud")

	err := New().Start(context.Background(), nil)

	for _, v := range []string{"MAIL_MAILER", "WELCOME_FROM", "LOG_LEVEL"} {
		assert.ErrorContains(t, err, v)
	}

	t.Setenv("LOG_LEVEL", "info")
	err = New().Start(context.Background(), nil)
	assert.ErrorContains(t, err, "DATABASE_PATH: empty")
}

// TestStart_Twice pins that a second Start fails instead of leaking the
// first one's database.
func TestStart_Twice(t *testing.T) {
	f, _ := started(t)

	assert.ErrorContains(t, f.Start(context.Background(), nil), "already started")
}

// TestStart_UnusableDatabase pins that Start fails when the database cannot
// be opened, naming its path.
func TestStart_UnusableDatabase(t *testing.T) {
	e := setEnv(t)
	require.NoError(t, os.MkdirAll(e.db, 0o755))

	err := New().Start(context.Background(), nil)

	assert.ErrorContains(t, err, e.db)
}

// TestReady_Lifecycle pins readiness: false until started, false with the cause when
// the database fails, false after Stop; liveness stays true.
func TestReady_Lifecycle(t *testing.T) {
	setEnv(t)
	f := New()
	ctx := context.Background()

	ready, err := f.Ready(ctx)
	assert.False(t, ready)
	assert.NoError(t, err)

	require.NoError(t, f.Start(ctx, nil))
	ready, err = f.Ready(ctx)
	assert.True(t, ready)
	assert.NoError(t, err)

	require.NoError(t, f.state.Load().store.Close())
	ready, err = f.Ready(ctx)
	assert.False(t, ready)
	assert.ErrorContains(t, err, "store: ping")

	_ = f.Stop(ctx)
	ready, _ = f.Ready(ctx)
	assert.False(t, ready)
	alive, err := f.Alive(ctx)
	assert.True(t, alive)
	assert.NoError(t, err)
}

// TestHandle_NoDataRace pins that concurrent deliveries and readiness probes
// overlap safely (run with -race).
func TestHandle_NoDataRace(t *testing.T) {
	f, _ := started(t)
	ctx := context.Background()

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ev := userEvent(t, topology.DirectoryHandler, events.TypeUserCreated,
				strings.Replace(adaJSON, `"u-1"`, fmt.Sprintf(`"u-%d"`, i), 1))
			_, err := f.Handle(ctx, ev)
			assert.NoError(t, err)
		})
		wg.Go(func() { _, _ = f.Ready(ctx) })
	}
	wg.Wait()
}

// TestHandle_IgnoresRequestCancellation pins that a handler does not run on
// the caller's cancellation: the func-go runtime can pass the context of
// another request that has already ended (cloudevents/sdk-go#1224), and the
// event must still be handled, within HANDLE_TIMEOUT.
func TestHandle_IgnoresRequestCancellation(t *testing.T) {
	f, e := started(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := f.Handle(ctx, userEvent(t, "directory", events.TypeUserCreated, adaJSON))
	require.NoError(t, err)
	u, err := storedUser(t, e, "u-1")
	require.NoError(t, err)
	assert.Equal(t, "Ada", u.Name)
}

// TestStart_BadHandleTimeout pins that HANDLE_TIMEOUT must be positive and
// that the error names the variable.
func TestStart_BadHandleTimeout(t *testing.T) {
	setEnv(t)
	t.Setenv("HANDLE_TIMEOUT", "0s")

	err := New().Start(context.Background(), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "HANDLE_TIMEOUT")
}
