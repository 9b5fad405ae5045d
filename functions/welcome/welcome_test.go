package welcome_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/functions/welcome"
	"function/pkg/events"
	"function/pkg/handler"
	"function/pkg/mail"
	"function/pkg/store"
)

// fakeMailer records the messages it is given and fails with err when set.
type fakeMailer struct {
	mu   sync.Mutex
	sent []mail.Message
	err  error
}

func (f *fakeMailer) Send(_ context.Context, m mail.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.sent = append(f.sent, m)
	return nil
}

// failingLedger wraps a ledger and fails the calls named in failOn.
type failingLedger struct {
	welcome.Ledger
	failProcessed, failMark bool
}

var errLedger = errors.New("database is locked")

func (l *failingLedger) Processed(ctx context.Context, h, s, id string) (bool, error) {
	if l.failProcessed {
		return false, errLedger
	}
	return l.Ledger.Processed(ctx, h, s, id)
}

func (l *failingLedger) MarkProcessed(ctx context.Context, h, s, id string) error {
	if l.failMark {
		return errLedger
	}
	return l.Ledger.MarkProcessed(ctx, h, s, id)
}

// openStore opens a store in a temporary folder.
func openStore(t *testing.T) *store.SQLite {
	t.Helper()

	s, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "users.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newHandler returns a welcome handler over m and l.
func newHandler(t *testing.T, m welcome.Mailer, l welcome.Ledger) *welcome.Handler {
	t.Helper()

	h, err := welcome.New(welcome.Config{From: "Example <welcome@example.com>"}, m, l, nil)
	require.NoError(t, err)
	return h
}

var at = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// created returns the metadata of a user-created event with the given id.
func created(id string) handler.Meta {
	return handler.Meta{ID: id, Source: "/users/api", Type: events.TypeUserCreated, Time: at}
}

var ada = events.UserEvent{ID: "u-1", Name: "Ada", Email: "ada@example.com", Version: 1,
	CreatedAt: at, UpdatedAt: at}

// TestHandle_SendsWelcomeMail pins the mail a created user gets.
func TestHandle_SendsWelcomeMail(t *testing.T) {
	m := &fakeMailer{}
	h := newHandler(t, m, openStore(t))

	require.NoError(t, h.Handle(context.Background(), created("e-1"), ada))

	require.Len(t, m.sent, 1)
	got := m.sent[0]
	assert.Equal(t, "Example <welcome@example.com>", got.From)
	assert.Equal(t, "ada@example.com", got.To)
	assert.Equal(t, "Ada", got.ToName)
	assert.Equal(t, "Welcome, Ada!", got.Subject)
	assert.Contains(t, got.Text, "Hello Ada,")
	assert.Equal(t, at, got.Date)
	assert.Equal(t, "/users/api\x00e-1", got.Key)
}

// TestHandle_OneMailPerEvent pins that a redelivered event sends no second
// mail, while another event of the same user does.
func TestHandle_OneMailPerEvent(t *testing.T) {
	m := &fakeMailer{}
	h := newHandler(t, m, openStore(t))
	ctx := context.Background()

	require.NoError(t, h.Handle(ctx, created("e-1"), ada))
	require.NoError(t, h.Handle(ctx, created("e-1"), ada))
	assert.Len(t, m.sent, 1, "same source and id")

	other := created("e-1")
	other.Source = "/users/import"
	require.NoError(t, h.Handle(ctx, other, ada))
	require.NoError(t, h.Handle(ctx, created("e-2"), ada))
	assert.Len(t, m.sent, 3, "another source or id is another event")
}

// TestHandle_IgnoresOtherTypes pins that only created users get a mail.
func TestHandle_IgnoresOtherTypes(t *testing.T) {
	m := &fakeMailer{}
	h := newHandler(t, m, openStore(t))

	for _, typ := range []string{events.TypeUserUpdated, events.TypeUserDeleted, "x"} {
		meta := created("e-1")
		meta.Type = typ
		require.NoError(t, h.Handle(context.Background(), meta, ada), typ)
	}
	assert.Empty(t, m.sent)
}

// TestHandle_Failures pins the status of each failure and whether the mail
// went out.
func TestHandle_Failures(t *testing.T) {
	noEmail := ada
	noEmail.Email = ""
	tests := []struct {
		name    string
		user    events.UserEvent
		mailErr error
		ledger  failingLedger
		status  int
		is      error
		sent    int
	}{
		{"no e-mail address", noEmail, nil, failingLedger{}, 422, welcome.ErrNoEmail, 0},
		{"invalid address", ada, fmt.Errorf("x: %w", mail.ErrInvalidMessage), failingLedger{},
			422, mail.ErrInvalidMessage, 0},
		{"recipient rejected", ada, fmt.Errorf("x: %w", mail.ErrRejected), failingLedger{},
			422, mail.ErrRejected, 0},
		{"mailer down", ada, errors.New("dial tcp: connection refused"), failingLedger{},
			503, nil, 0},
		{"ledger read fails", ada, nil, failingLedger{failProcessed: true}, 503, errLedger, 0},
		{"ledger write fails", ada, nil, failingLedger{failMark: true}, 503, errLedger, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &fakeMailer{err: tt.mailErr}
			tt.ledger.Ledger = openStore(t)
			h := newHandler(t, m, &tt.ledger)

			err := h.Handle(context.Background(), created("e-1"), tt.user)

			assert.Equal(t, tt.status, handler.StatusOf(err), "%v", err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.Len(t, m.sent, tt.sent)
		})
	}
}

// TestHandle_RetryAfterFailedSend pins that an event whose mail failed is
// not recorded, so its retry sends the mail.
func TestHandle_RetryAfterFailedSend(t *testing.T) {
	m := &fakeMailer{err: errors.New("timeout")}
	h := newHandler(t, m, openStore(t))
	ctx := context.Background()

	require.Error(t, h.Handle(ctx, created("e-1"), ada))
	m.err = nil
	require.NoError(t, h.Handle(ctx, created("e-1"), ada))
	require.NoError(t, h.Handle(ctx, created("e-1"), ada))

	assert.Len(t, m.sent, 1)
}

// TestHandle_OutboxAfterUnrecordedSend pins the at-least-once window: when
// recording fails after sending, the retry sends again, and the outbox still
// holds one file for the event.
func TestHandle_OutboxAfterUnrecordedSend(t *testing.T) {
	outbox, err := mail.NewOutbox(filepath.Join(t.TempDir(), "outbox"))
	require.NoError(t, err)
	ledger := &failingLedger{Ledger: openStore(t), failMark: true}
	h := newHandler(t, outbox, ledger)
	ctx := context.Background()

	require.Error(t, h.Handle(ctx, created("e-1"), ada))
	ledger.failMark = false
	require.NoError(t, h.Handle(ctx, created("e-1"), ada))

	files, err := filepath.Glob(filepath.Join(outbox.Dir(), "*.eml"))
	require.NoError(t, err)
	assert.Len(t, files, 1)
}

// TestHandle_NameCannotInjectHeaders pins that a user's name cannot add mail
// headers through the subject or the recipient's display name.
func TestHandle_NameCannotInjectHeaders(t *testing.T) {
	outbox, err := mail.NewOutbox(filepath.Join(t.TempDir(), "outbox"))
	require.NoError(t, err)
	h := newHandler(t, outbox, openStore(t))
	eve := ada
	eve.Name = "Eve\r\nBcc: victim@example.com"

	require.NoError(t, h.Handle(context.Background(), created("e-1"), eve))

	files, err := filepath.Glob(filepath.Join(outbox.Dir(), "*.eml"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	eml, err := os.ReadFile(files[0])
	require.NoError(t, err)
	msg, err := netmail.ReadMessage(bytes.NewReader(eml))
	require.NoError(t, err)
	assert.Empty(t, msg.Header.Get("Bcc"), "injected header in:\n%s", eml)
	assert.Len(t, msg.Header["To"], 1)
}

// TestNew_Validates pins the constructor's refusals, naming the variable.
func TestNew_Validates(t *testing.T) {
	ok := welcome.Config{From: "a@example.com"}
	_, err := welcome.New(welcome.Config{From: "not an address"}, &fakeMailer{},
		openStore(t), nil)
	assert.ErrorContains(t, err, "WELCOME_FROM")
	_, err = welcome.New(ok, nil, openStore(t), nil)
	assert.Error(t, err)
	_, err = welcome.New(ok, &fakeMailer{}, nil, nil)
	assert.Error(t, err)
}

// TestLoadConfig_FromEnvironment pins the default sender and the variable that sets it.
func TestLoadConfig_FromEnvironment(t *testing.T) {
	t.Setenv("WELCOME_FROM", "Team <team@example.org>")
	c, err := welcome.LoadConfig()
	require.NoError(t, err)
	assert.Equal(t, "Team <team@example.org>", c.From)

	t.Setenv("WELCOME_FROM", "team")
	_, err = welcome.LoadConfig()
	assert.ErrorContains(t, err, `WELCOME_FROM: "team"`)
}
