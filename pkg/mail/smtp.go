package mail

import (
	"context"
	"errors"
	"fmt"

	gomail "github.com/wneessen/go-mail"
)

// SMTP is a [Mailer] that hands each message to an SMTP server, on a
// connection of its own. It is safe for concurrent use.
type SMTP struct {
	client *gomail.Client
	addr   string
}

// NewSMTP returns a mailer for the server c names. It does not connect:
// each Send does.
func NewSMTP(c Config) (*SMTP, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}

	opts := []gomail.Option{
		gomail.WithPort(c.SMTPPort),
		gomail.WithTimeout(c.SMTPTimeout),
	}
	if c.SMTPTLS == "implicit" {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(tlsPolicies[c.SMTPTLS]))
	}
	if c.SMTPUsername != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(c.SMTPUsername), gomail.WithPassword(c.SMTPPassword))
	}
	client, err := gomail.NewClient(c.SMTPHost, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: smtp %s: %w", c.SMTPHost, err)
	}
	return &SMTP{client: client, addr: fmt.Sprintf("%s:%d", c.SMTPHost, c.SMTPPort)}, nil
}

// tlsPolicies maps SMTP_TLS values to go-mail's policies; "implicit" is TLS
// from the first byte instead of STARTTLS.
var tlsPolicies = map[string]gomail.TLSPolicy{
	"implicit":      gomail.TLSMandatory,
	"mandatory":     gomail.TLSMandatory,
	"opportunistic": gomail.TLSOpportunistic,
	"none":          gomail.NoTLS,
}

// Send connects to the server, sends m and disconnects. A permanent refusal
// of the recipient is [ErrRejected]; any other failure may pass on a retry.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := build(m)
	if err != nil {
		return err
	}

	err = s.client.DialAndSendWithContext(ctx, msg)
	var se *gomail.SendError
	if errors.As(err, &se) && se.Reason == gomail.ErrSMTPRcptTo && !se.IsTemp() {
		return fmt.Errorf("%w: smtp %s: %w", ErrRejected, s.addr, err)
	}
	if err != nil {
		return fmt.Errorf("mail: smtp %s: %w", s.addr, err)
	}
	return nil
}

// Close does nothing: connections last one Send.
func (s *SMTP) Close() error { return nil }
