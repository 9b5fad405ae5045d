package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/kelseyhightower/envconfig"

	"function/functions/directory"
	"function/functions/welcome"
	"function/pkg/handler"
	"function/pkg/mail"
	"function/pkg/store"
)

// Config is the function's own configuration; the mailer and the welcome
// handler read theirs (see the package documentation).
type Config struct {
	// DatabasePath is the SQLite database file, created with its folder when
	// missing.
	DatabasePath string `envconfig:"DATABASE_PATH" default:"./.local/users.db"`

	// LogLevel is the lowest level logged: debug, info, warn or error.
	LogLevel slog.Level `envconfig:"LOG_LEVEL" default:"info"`

	// HandleTimeout bounds one handler run. It replaces the request's own
	// deadline, which the runtime does not pass reliably (see
	// [Function.Handle]); keep it at least the KafkaSource's delivery timeout.
	HandleTimeout time.Duration `envconfig:"HANDLE_TIMEOUT" default:"30s"`
}

// config is every configuration Start reads.
type config struct {
	Config
	mail    mail.Config
	welcome welcome.Config
}

// loadConfig reads every configuration from the environment, reporting all
// invalid settings at once.
func loadConfig() (config, error) {
	var c config
	var errs []error
	if err := envconfig.Process("", &c.Config); err != nil {
		errs = append(errs, fmt.Errorf("function: %w", err))
	} else if c.DatabasePath == "" {
		errs = append(errs, errors.New("function: invalid configuration: DATABASE_PATH: empty"))
	} else if c.HandleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("function: invalid configuration: HANDLE_TIMEOUT: "+
			"%v is not positive", c.HandleTimeout))
	}

	var err error
	if c.mail, err = mail.LoadConfig(); err != nil {
		errs = append(errs, err)
	}
	if c.welcome, err = welcome.LoadConfig(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// Start reads the configuration from the environment, opens the database
// and the mailer, and builds the handlers. Until it returns, Ready reports
// false and Handle answers 503. The cfg map is not read (see the package
// documentation).
func (f *Function) Start(ctx context.Context, _ map[string]string) error {
	if f.state.Load() != nil {
		return errors.New("function: already started")
	}
	c, err := loadConfig()
	if err != nil {
		return err
	}
	r, err := f.open(ctx, c)
	if err != nil {
		return err
	}

	if !f.state.CompareAndSwap(nil, r) {
		_ = r.close()
		return errors.New("function: already started")
	}
	r.log.InfoContext(ctx, "function started", "database", c.DatabasePath,
		"mailer", c.mail.Mailer, "handlers", r.names())
	return nil
}

// open opens what the handlers need and builds their routes.
func (f *Function) open(ctx context.Context, c config) (*running, error) {
	out := f.logOut
	if out == nil {
		out = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: c.LogLevel}))

	st, err := store.OpenSQLite(ctx, c.DatabasePath)
	if err != nil {
		return nil, fmt.Errorf("function: %w", err)
	}
	mailer, err := mail.New(c.mail)
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("function: %w", err)
	}

	r := &running{store: st, closer: mailer, log: log, timeout: c.HandleTimeout}
	if r.routes, err = routes(c, st, mailer, log); err != nil {
		_ = r.close()
		return nil, err
	}
	return r, nil
}

// routes builds every handler, keyed by its route.
func routes(
	c config,
	st *store.SQLite,
	mailer mail.Mailer,
	log *slog.Logger,
) (map[string]route, error) {
	wh, err := welcome.New(c.welcome, mailer, st, log)
	if err != nil {
		return nil, fmt.Errorf("function: %w", err)
	}
	w, err := handler.New(welcome.Name, welcome.Types, wh.Handle, log)
	if err != nil {
		return nil, fmt.Errorf("function: %w", err)
	}

	dh, err := directory.New(st, log)
	if err != nil {
		return nil, fmt.Errorf("function: %w", err)
	}
	d, err := handler.New(directory.Name, directory.Types, dh.Handle, log)
	if err != nil {
		return nil, fmt.Errorf("function: %w", err)
	}
	return map[string]route{w.Name(): w, d.Name(): d}, nil
}

// close closes the mailer and the database.
func (r *running) close() error {
	return errors.Join(r.closer.Close(), r.store.Close())
}

// Stop closes the mailer and the database. Events delivered afterwards get
// a 503. Stopping a function that is not started does nothing.
func (f *Function) Stop(ctx context.Context) error {
	r := f.state.Swap(nil)
	if r == nil {
		return nil
	}
	err := r.close()
	r.log.InfoContext(ctx, "function stopped", "err", err)
	if err != nil {
		return fmt.Errorf("function: stop: %w", err)
	}
	return nil
}

// Ready reports whether the function can handle events: it is started and
// its database answers. A failing database is reported as the error.
func (f *Function) Ready(ctx context.Context) (bool, error) {
	r := f.state.Load()
	if r == nil {
		return false, nil
	}
	if err := r.store.Ping(ctx); err != nil {
		return false, fmt.Errorf("function: %w", err)
	}
	return true, nil
}

// Alive reports whether the process is worth keeping: always, since every
// failure it can have is either reported by Ready or ends the process. A
// liveness probe that failed on a database outage would restart the pod
// without curing the database.
func (f *Function) Alive(context.Context) (bool, error) {
	return true, nil
}
