// Package function is the Knative function that serves every user-event
// handler of this project from one image: `kn func deploy` builds it, and a
// KafkaSource per handler delivers the users topic to it.
//
// # Routing
//
// Each KafkaSource sets the CloudEvents extension named
// [topology.RouteExtension] ("handler") through its ceOverrides, and the
// local dispatchers set it the same way; [Function.Handle] hands the event to
// the handler it names: [topology.WelcomeHandler] (functions/welcome) or
// [topology.DirectoryHandler] (functions/directory). Each handler having its
// own source gives it its own consumer group, retries and dead-letter sink,
// so a failing handler never re-runs another. An event that names no known
// handler is refused with 400, which a KafkaSource does not retry.
//
// # Statuses
//
// 200 means handled, or ignored because the handler does not act on the
// event's type. 4xx means the event can never succeed and goes to the
// dead-letter sink: 400 for bad input (unknown route, bad data, a Kafka record
// that is not a CloudEvent), 415 for data that is not JSON, 422 for an event
// the handler refuses (a user without an e-mail address). 5xx means a failure
// that a retry may fix: 503 for a failing dependency or a function not
// started yet, 500 for anything else, a panic included. The response body
// names the handler and the event (id, source, type) and says why. See
// function/pkg/handler for the decoding rules.
//
// # Configuration
//
// [Function.Start] reads the environment (the cfg map knative func-go passes
// is that environment plus its optional cfg file, which is not read):
// DATABASE_PATH (default ./.local/users.db), LOG_LEVEL (debug, info, warn,
// error; default info), WELCOME_FROM, and the mailer settings of
// function/pkg/mail: MAIL_MAILER (outbox or smtp), MAIL_OUTBOX_DIR (default
// ./.local/outbox), SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD,
// SMTP_TLS, SMTP_TIMEOUT.
package function

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"function/pkg/handler"
	"function/pkg/store"
	"function/pkg/topology"
)

var (
	// ErrNotStarted is returned (as a 503, retried) for an event delivered
	// before [Function.Start] finished or after [Function.Stop].
	ErrNotStarted = errors.New("function: not started")

	// ErrNoRoute is returned (as a 400) for an event without the
	// [topology.RouteExtension] extension.
	ErrNoRoute = errors.New("function: event names no handler")

	// ErrUnknownRoute is returned (as a 400) for an event whose
	// [topology.RouteExtension] names no known handler.
	ErrUnknownRoute = errors.New("function: unknown handler")
)

// Function serves the handlers. Create it with [New]; the knative func-go
// runtime calls Start, then Handle for each event, and Stop at shutdown.
type Function struct {
	state atomic.Pointer[running]
	// logOut is where the log goes; tests replace stderr.
	logOut io.Writer
}

// running is what Start opened: the handlers and what they need.
type running struct {
	store  *store.SQLite
	closer io.Closer
	routes map[string]route
	log    *slog.Logger
	// timeout bounds one handler run (HANDLE_TIMEOUT).
	timeout time.Duration
}

// route is a handler the function routes to.
type route interface {
	Handle(ctx context.Context, e event.Event) error
}

// New returns the function, not started.
func New() *Function {
	return &Function{}
}

// Handle routes e to the handler its [topology.RouteExtension] extension
// names. It never replies: a KafkaSource discards replies. Its error carries
// the HTTP status of the delivery (see the package documentation).
//
// The handler runs on ctx's values but not its cancellation, bounded by
// HANDLE_TIMEOUT instead: the func-go runtime (through cloudevents sdk-go
// v2.16's HTTP receive handler, issue cloudevents/sdk-go#1224) may pair an
// event with the context of another request served at the same time, which
// is canceled when that other request ends. Honouring it would fail healthy
// deliveries with 503 whenever a faster one finishes first.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	r := f.state.Load()
	if r == nil {
		return nil, handler.Transient(fmt.Errorf("%w: event %q from %q", ErrNotStarted,
			e.ID(), e.Source()))
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
	defer cancel()
	name, err := r.dispatch(ctx, e)
	r.logResult(ctx, name, e, err)
	return nil, err
}

// dispatch finds e's handler and runs it, returning the route name it read.
func (r *running) dispatch(ctx context.Context, e event.Event) (string, error) {
	v, ok := e.Extensions()[topology.RouteExtension]
	if !ok {
		return "", handler.WithStatus(handler.StatusBadInput, fmt.Errorf(
			"%w: event %q from %q (type %q) has no %q extension; known handlers: %s",
			ErrNoRoute, e.ID(), e.Source(), e.Type(), topology.RouteExtension, r.names()))
	}

	name, _ := types.Format(v)
	h, ok := r.routes[name]
	if !ok {
		return name, handler.WithStatus(handler.StatusBadInput, fmt.Errorf(
			"%w %q in the %q extension of event %q from %q (type %q); known handlers: %s",
			ErrUnknownRoute, name, topology.RouteExtension, e.ID(), e.Source(), e.Type(),
			r.names()))
	}
	return name, h.Handle(ctx, e)
}

// names lists the known routes, sorted.
func (r *running) names() string {
	names := make([]string, 0, len(r.routes))
	for n := range r.routes {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// logResult logs one delivery's outcome at the level of its consequence:
// debug when handled, warn when it will be retried, error when it goes to the
// dead-letter sink.
func (r *running) logResult(ctx context.Context, name string, e event.Event, err error) {
	attrs := []any{"handler", name, "event_id", e.ID(), "event_type", e.Type()}
	if err == nil {
		r.log.DebugContext(ctx, "event handled", attrs...)
		return
	}

	attrs = append(attrs, "status", handler.StatusOf(err), "err", err)
	var pe *handler.PanicError
	if errors.As(err, &pe) {
		attrs = append(attrs, "stack", string(pe.Stack))
	}
	if handler.IsPermanent(err) {
		r.log.ErrorContext(ctx, "event rejected", attrs...)
		return
	}
	r.log.WarnContext(ctx, "event failed, will be retried", attrs...)
}
