package mail_test

import (
	"context"
	"io"
	"mime"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/mail"
)

// welcomeMessage returns a valid message with the given key.
func welcomeMessage(key string) mail.Message {
	return mail.Message{
		Key:     key,
		From:    "Example <welcome@example.com>",
		To:      "zoe@example.com",
		ToName:  "Zoë",
		Subject: "Welcome, Zoë!",
		Text:    "Hello Zoë,\nwelcome aboard.\n",
		Date:    time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
	}
}

// newOutbox returns an outbox in a temporary folder.
func newOutbox(t *testing.T) *mail.Outbox {
	t.Helper()

	o, err := mail.NewOutbox(filepath.Join(t.TempDir(), "outbox"))
	require.NoError(t, err)
	return o
}

// emlFiles lists the files of dir.
func emlFiles(t *testing.T, dir string) []string {
	t.Helper()

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestOutbox_WritesRFC5322Message pins that a sent message is a file any
// mail reader parses, with the headers and body it was given.
func TestOutbox_WritesRFC5322Message(t *testing.T) {
	o := newOutbox(t)

	require.NoError(t, o.Send(context.Background(), welcomeMessage("/s e-1")))

	f, err := os.Open(o.Path("/s e-1"))
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	info, err := f.Stat()
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), info.Mode().Perm(), "readable by a mail client")
	msg, err := netmail.ReadMessage(f)
	require.NoError(t, err)

	from, err := msg.Header.AddressList("From")
	require.NoError(t, err)
	assert.Equal(t, "welcome@example.com", from[0].Address)
	to, err := msg.Header.AddressList("To")
	require.NoError(t, err)
	assert.Equal(t, &netmail.Address{Name: "Zoë", Address: "zoe@example.com"}, to[0])
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	assert.Equal(t, "Welcome, Zoë!", subject)
	date, err := msg.Header.Date()
	require.NoError(t, err)
	assert.True(t, date.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)), "date %v", date)
	assert.Regexp(t, `^<[0-9a-f]{32}@example\.com>$`, msg.Header.Get("Message-ID"))
	assert.Contains(t, msg.Header.Get("Content-Type"), "text/plain")
	body, err := io.ReadAll(msg.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), "welcome aboard.")
}

// TestOutbox_SameKeyOneFile pins that sending a message twice leaves one
// identical file, and that another key gives another file.
func TestOutbox_SameKeyOneFile(t *testing.T) {
	o := newOutbox(t)
	ctx := context.Background()

	require.NoError(t, o.Send(ctx, welcomeMessage("/s e-1")))
	first, err := os.ReadFile(o.Path("/s e-1"))
	require.NoError(t, err)
	require.NoError(t, o.Send(ctx, welcomeMessage("/s e-1")))
	second, err := os.ReadFile(o.Path("/s e-1"))
	require.NoError(t, err)

	assert.Equal(t, string(first), string(second))
	assert.Len(t, emlFiles(t, o.Dir()), 1, "no temporary file is left")

	require.NoError(t, o.Send(ctx, welcomeMessage("/s e-2")))
	assert.Len(t, emlFiles(t, o.Dir()), 2)
}

// TestOutbox_InvalidMessages pins that a message that can never be sent is
// refused with ErrInvalidMessage and writes nothing.
func TestOutbox_InvalidMessages(t *testing.T) {
	tests := map[string]func(*mail.Message){
		"no key":            func(m *mail.Message) { m.Key = "" },
		"no sender":         func(m *mail.Message) { m.From = "" },
		"bad sender":        func(m *mail.Message) { m.From = "welcome at example.com" },
		"no recipient":      func(m *mail.Message) { m.To = "" },
		"bad recipient":     func(m *mail.Message) { m.To = "not-an-address" },
		"two recipients":    func(m *mail.Message) { m.To = "a@example.com, b@example.com" },
		"recipient w/ name": func(m *mail.Message) { m.To = "Eve <eve@example.com>" },
		"angle brackets":    func(m *mail.Message) { m.To = "<eve@example.com>" },
		"blanks around":     func(m *mail.Message) { m.To = "  eve@example.com  " },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			o := newOutbox(t)
			m := welcomeMessage("k")
			mutate(&m)

			err := o.Send(context.Background(), m)

			assert.ErrorIs(t, err, mail.ErrInvalidMessage)
			if strings.HasPrefix(name, "recipient") || name == "blanks around" {
				assert.ErrorContains(t, err, "is not an e-mail address")
			}
			assert.Empty(t, emlFiles(t, o.Dir()))
		})
	}
}

// TestOutbox_Failures pins that a canceled send and a vanished folder fail
// with a retryable error rather than an invalid-message one.
func TestOutbox_Failures(t *testing.T) {
	o := newOutbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := o.Send(ctx, welcomeMessage("k"))
	assert.ErrorIs(t, err, context.Canceled)

	require.NoError(t, os.RemoveAll(o.Dir()))
	require.NoError(t, os.WriteFile(o.Dir(), nil, 0o600))
	err = o.Send(context.Background(), welcomeMessage("k"))
	require.Error(t, err)
	assert.NotErrorIs(t, err, mail.ErrInvalidMessage)
	assert.ErrorContains(t, err, "mail: outbox")
}

// TestNewOutbox_BadFolders pins the refusals of folders that cannot be one.
func TestNewOutbox_BadFolders(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))

	_, err := mail.NewOutbox("")
	assert.ErrorContains(t, err, "empty folder name")
	_, err = mail.NewOutbox(filepath.Join(file, "outbox"))
	assert.ErrorContains(t, err, file)
}

// TestOutbox_HeaderValuesStayOneLine pins that line breaks in the subject
// and the recipient's name can neither add headers nor fail the message.
func TestOutbox_HeaderValuesStayOneLine(t *testing.T) {
	o := newOutbox(t)
	m := welcomeMessage("k")
	m.ToName = "Eve\r\nBcc: victim@example.com"
	m.Subject = "Hi\nBcc: victim@example.com"

	require.NoError(t, o.Send(context.Background(), m))

	f, err := os.Open(o.Path("k"))
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	msg, err := netmail.ReadMessage(f)
	require.NoError(t, err)
	assert.Empty(t, msg.Header.Get("Bcc"))
	to, err := msg.Header.AddressList("To")
	require.NoError(t, err)
	assert.Equal(t, "Eve  Bcc: victim@example.com", to[0].Name)
}
