// Package welcome sends a welcome e-mail to every new user.
//
// It consumes [events.TypeUserCreated] and ignores every other type. Each
// created event is mailed once: the handler records the event's CloudEvents
// source and id in a [Ledger] after sending, and skips an event it finds
// there, so a redelivered event sends no second mail.
//
// Delivery is at least once. A crash, or a failing ledger write, between
// sending and recording leaves the event unrecorded; its retry sends the mail
// again. The message keeps the same key (source and id), so the outbox mailer
// rewrites the same file and an SMTP duplicate carries the same Message-ID,
// which lets the receiving side spot it. Two deliveries of one event running
// at the same time can both send, for the same reason.
package welcome

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	netmail "net/mail"

	"github.com/kelseyhightower/envconfig"

	"function/pkg/events"
	"function/pkg/handler"
	"function/pkg/mail"
	"function/pkg/topology"
)

// Name is the handler's route and its name in the ledger.
const Name = topology.WelcomeHandler

// Types lists the event types the handler acts on.
var Types = []string{events.TypeUserCreated}

// ErrNoEmail is returned (as a permanent failure) for a created user without
// an e-mail address.
var ErrNoEmail = errors.New("welcome: user has no e-mail address")

// Mailer sends a message; see [mail.Mailer] for its errors.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Ledger remembers which events a handler has processed.
type Ledger interface {
	// Processed reports whether handler marked the event source/id.
	Processed(ctx context.Context, handler, source, id string) (bool, error)
	// MarkProcessed marks the event source/id as processed by handler.
	MarkProcessed(ctx context.Context, handler, source, id string) error
}

// Config is the handler's configuration.
type Config struct {
	// From is the sender of welcome mails, an RFC 5322 address.
	From string `envconfig:"WELCOME_FROM" default:"Example <welcome@example.com>"`
}

// LoadConfig reads a [Config] from the environment and validates it.
func LoadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return Config{}, fmt.Errorf("welcome: %w", err)
	}
	return c, c.Validate()
}

// Validate reports an invalid setting, naming its variable.
func (c Config) Validate() error {
	if _, err := netmail.ParseAddress(c.From); err != nil {
		return fmt.Errorf("welcome: invalid configuration: WELCOME_FROM: %q: %w", c.From, err)
	}
	return nil
}

// Handler sends welcome mails.
type Handler struct {
	from   string
	mailer Mailer
	ledger Ledger
	log    *slog.Logger
}

// New returns a handler sending through m and recording in l, logging
// skipped duplicate events at debug level to log (nil discards).
func New(c Config, m Mailer, l Ledger, log *slog.Logger) (*Handler, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if m == nil || l == nil {
		return nil, errors.New("welcome: a mailer and a ledger are required")
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Handler{from: c.From, mailer: m, ledger: l, log: log.With("handler", Name)}, nil
}

// Handle sends the welcome mail for a created user, once per event. A user
// without an e-mail address, or whose address the mail server refuses, is a
// permanent failure; a failing mailer or ledger is transient.
func (h *Handler) Handle(ctx context.Context, m handler.Meta, u events.UserEvent) error {
	if m.Type != events.TypeUserCreated {
		return nil
	}
	if u.Email == "" {
		return handler.Permanent(fmt.Errorf("%w: user %q", ErrNoEmail, u.ID))
	}

	done, err := h.ledger.Processed(ctx, Name, m.Source, m.ID)
	if err != nil {
		return handler.Transient(fmt.Errorf("welcome: %w", err))
	}
	if done {
		h.log.DebugContext(ctx, "duplicate event skipped", "event_id", m.ID)
		return nil
	}

	err = h.mailer.Send(ctx, h.message(m, u))
	if errors.Is(err, mail.ErrInvalidMessage) || errors.Is(err, mail.ErrRejected) {
		return handler.Permanent(fmt.Errorf("welcome: user %q: %w", u.ID, err))
	}
	if err != nil {
		return handler.Transient(fmt.Errorf("welcome: user %q: %w", u.ID, err))
	}

	if err := h.ledger.MarkProcessed(ctx, Name, m.Source, m.ID); err != nil {
		return handler.Transient(fmt.Errorf("welcome: mail sent, not recorded: %w", err))
	}
	return nil
}

// message writes the welcome mail. Its key is the event's source and id, and
// its date the event's time, so a resent mail is the same message.
func (h *Handler) message(m handler.Meta, u events.UserEvent) mail.Message {
	greeting, subject := "Hello,", "Welcome!"
	if u.Name != "" {
		greeting, subject = "Hello "+u.Name+",", "Welcome, "+u.Name+"!"
	}
	return mail.Message{
		Key:     m.Source + "\x00" + m.ID,
		From:    h.from,
		To:      u.Email,
		ToName:  u.Name,
		Subject: subject,
		Text: greeting + "\n\nwelcome aboard! Your account " + u.Email +
			" is ready.\n\nThe Example team\n",
		Date: m.Time,
	}
}
