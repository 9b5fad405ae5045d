package mail_test

import (
	"context"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/mail"
)

// fakeSMTP is an SMTP server on loopback that accepts every command but
// answers RCPT TO with rcptReply, and keeps what it received.
type fakeSMTP struct {
	ln        net.Listener
	rcptReply string

	mu    sync.Mutex
	rcpts []string
	data  []string
}

// startFakeSMTP serves until the test ends.
func startFakeSMTP(t *testing.T, rcptReply string) *fakeSMTP {
	t.Helper()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &fakeSMTP{ln: ln, rcptReply: rcptReply}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { f.serve(conn) })
		}
	})
	return f
}

// config returns a mailer configuration for f.
func (f *fakeSMTP) config() mail.Config {
	host, port, _ := net.SplitHostPort(f.ln.Addr().String())
	p, _ := strconv.Atoi(port)
	return mail.Config{Mailer: mail.MailerSMTP, SMTPHost: host, SMTPPort: p, SMTPTLS: "none",
		SMTPTimeout: 5 * time.Second}
}

// serve speaks just enough SMTP for one session.
func (f *fakeSMTP) serve(conn net.Conn) {
	c := textproto.NewConn(conn)
	defer func() { _ = c.Close() }()
	_ = c.PrintfLine("220 fake ESMTP")
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			_ = c.PrintfLine("250-fake")
			_ = c.PrintfLine("250 8BITMIME")
		case "RCPT":
			f.record(&f.rcpts, arg)
			_ = c.PrintfLine("%s", f.rcptReply)
		case "DATA":
			_ = c.PrintfLine("354 go ahead")
			b, err := c.ReadDotBytes()
			if err != nil {
				return
			}
			f.record(&f.data, string(b))
			_ = c.PrintfLine("250 queued")
		case "QUIT":
			_ = c.PrintfLine("221 bye")
			return
		default:
			_ = c.PrintfLine("250 ok")
		}
	}
}

func (f *fakeSMTP) record(to *[]string, s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*to = append(*to, s)
}

func (f *fakeSMTP) received() (rcpts, data []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.rcpts...), append([]string(nil), f.data...)
}

// TestSMTP_Sends pins that a message reaches the server whole, to its
// recipient.
func TestSMTP_Sends(t *testing.T) {
	srv := startFakeSMTP(t, "250 ok")
	s, err := mail.NewSMTP(srv.config())
	require.NoError(t, err)

	require.NoError(t, s.Send(context.Background(), welcomeMessage("/s e-1")))

	rcpts, data := srv.received()
	assert.Equal(t, []string{"TO:<zoe@example.com>"}, rcpts)
	require.Len(t, data, 1)
	assert.Contains(t, data[0], "From: \"Example\" <welcome@example.com>")
	assert.Regexp(t, `Message-ID: <[0-9a-f]{32}@example\.com>`, data[0])
	assert.Contains(t, data[0], "welcome aboard.")
}

// TestSMTP_Failures pins how server answers are classified: a permanent
// refusal of the recipient is ErrRejected, anything else may be retried.
func TestSMTP_Failures(t *testing.T) {
	t.Run("rejected", func(t *testing.T) {
		srv := startFakeSMTP(t, "550 5.1.1 no such user")
		s, err := mail.NewSMTP(srv.config())
		require.NoError(t, err)

		err = s.Send(context.Background(), welcomeMessage("k"))

		assert.ErrorIs(t, err, mail.ErrRejected)
		assert.ErrorContains(t, err, "no such user")
	})
	t.Run("temporary", func(t *testing.T) {
		srv := startFakeSMTP(t, "450 4.2.1 mailbox busy")
		s, err := mail.NewSMTP(srv.config())
		require.NoError(t, err)

		err = s.Send(context.Background(), welcomeMessage("k"))

		require.Error(t, err)
		assert.NotErrorIs(t, err, mail.ErrRejected)
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := startFakeSMTP(t, "250 ok")
		cfg := srv.config()
		require.NoError(t, srv.ln.Close())
		s, err := mail.NewSMTP(cfg)
		require.NoError(t, err)

		err = s.Send(context.Background(), welcomeMessage("k"))

		require.Error(t, err)
		assert.NotErrorIs(t, err, mail.ErrRejected)
		assert.NotErrorIs(t, err, mail.ErrInvalidMessage)
		assert.ErrorContains(t, err, "mail: smtp 127.0.0.1:")
	})
	t.Run("invalid message", func(t *testing.T) {
		srv := startFakeSMTP(t, "250 ok")
		s, err := mail.NewSMTP(srv.config())
		require.NoError(t, err)
		m := welcomeMessage("k")
		m.To = "nobody"

		assert.ErrorIs(t, s.Send(context.Background(), m), mail.ErrInvalidMessage)
		_, data := srv.received()
		assert.Empty(t, data)
	})
}
