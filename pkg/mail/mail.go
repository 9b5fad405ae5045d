// Package mail sends e-mail. [Outbox], the default, writes each message as an
// .eml file into a folder, for development and tests; [SMTP] hands it to a
// mail server. Both build the message with github.com/wneessen/go-mail, so an
// outbox file is the RFC 5322 message the server would have received.
//
// A [Message] carries a key that identifies it: the same key gives the same
// Message-ID and the same outbox file name, so sending a message twice leaves
// one file in an outbox, and gives a receiving mail system what it needs to
// spot the duplicate when SMTP delivers it twice.
package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"
	"unicode"

	gomail "github.com/wneessen/go-mail"
)

var (
	// ErrInvalidMessage is returned for a message that can never be sent:
	// no key, or a sender or recipient that is not an e-mail address.
	ErrInvalidMessage = errors.New("mail: invalid message")

	// ErrRejected is returned when the SMTP server refuses the recipient for
	// good (a 5xx reply to RCPT TO). Retrying will not help.
	ErrRejected = errors.New("mail: recipient rejected")
)

// Message is one e-mail with a plain-text body.
type Message struct {
	// Key identifies the message: the same key gives the same Message-ID and
	// outbox file name. Required.
	Key string
	// From is the sender, an RFC 5322 address ("Name <addr@host>" or
	// "addr@host"). Required.
	From string
	// To is the recipient's e-mail address. Required.
	To string
	// ToName is the recipient's display name; empty for none.
	ToName string
	// Subject is the subject line.
	Subject string
	// Text is the plain-text body.
	Text string
	// Date is the Date header; zero means the time of sending.
	Date time.Time
}

// Mailer sends messages.
type Mailer interface {
	// Send delivers m, or fails with [ErrInvalidMessage] or [ErrRejected]
	// when no retry can succeed, or with another error when one may.
	Send(ctx context.Context, m Message) error
	// Close releases what the mailer holds.
	Close() error
}

// build turns m into a go-mail message with a Message-ID derived from its key.
func build(m Message) (*gomail.Msg, error) {
	if m.Key == "" {
		return nil, fmt.Errorf("%w: empty key", ErrInvalidMessage)
	}
	from, err := netmail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("%w: sender %q: %w", ErrInvalidMessage, m.From, err)
	}
	// The recipient is a bare address: no display name, no angle brackets,
	// no surrounding blanks (go-mail refuses those with a confusing error).
	if to, err := netmail.ParseAddress(m.To); err != nil || to.Address != m.To {
		return nil, fmt.Errorf("%w: recipient %q is not an e-mail address", ErrInvalidMessage,
			m.To)
	}

	msg := gomail.NewMsg()
	msg.FromMailAddress(from)
	if err := msg.AddToFormat(oneLine(m.ToName), m.To); err != nil {
		return nil, fmt.Errorf("%w: recipient %q: %w", ErrInvalidMessage, m.To, err)
	}
	msg.Subject(oneLine(m.Subject))
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)

	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	msg.SetDateWithValue(date)
	msg.SetMessageIDWithValue(keyHash(m.Key) + "@" + domainOf(from.Address))
	return msg, nil
}

// oneLine replaces control characters, line breaks included, with spaces: a
// header value taken from user data must neither fail the message nor add
// headers to it.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// keyHash returns a stable file-name-safe digest of a message key.
func keyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// domainOf returns the domain of an e-mail address, the right side of a
// Message-ID.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
		return addr[i+1:]
	}
	return "localhost"
}
