package mail

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// The mailers [Config.Mailer] selects.
const (
	// MailerOutbox selects [Outbox].
	MailerOutbox = "outbox"
	// MailerSMTP selects [SMTP].
	MailerSMTP = "smtp"
)

// Config selects and configures the mailer.
type Config struct {
	// Mailer is "outbox" (write .eml files into OutboxDir) or "smtp" (send
	// through SMTPHost).
	Mailer string `envconfig:"MAIL_MAILER" default:"outbox"`

	// OutboxDir is the outbox folder, created when missing.
	OutboxDir string `envconfig:"MAIL_OUTBOX_DIR" default:"./.local/outbox"`

	// SMTPHost is the SMTP server's host name; required for "smtp".
	SMTPHost string `envconfig:"SMTP_HOST"`

	// SMTPPort is the SMTP server's port: 587 (submission with STARTTLS) by
	// default, 465 with SMTP_TLS=implicit, 25 for a relay.
	SMTPPort int `envconfig:"SMTP_PORT" default:"587"`

	// SMTPUsername enables SMTP authentication (the strongest mechanism the
	// server offers) when set; empty sends without authenticating.
	SMTPUsername string `envconfig:"SMTP_USERNAME"`

	// SMTPPassword is the password for SMTPUsername.
	SMTPPassword string `envconfig:"SMTP_PASSWORD"`

	// SMTPTLS is "mandatory" (STARTTLS or fail), "implicit" (TLS from the
	// start, port 465), "opportunistic" (STARTTLS when offered) or "none"
	// (plain text, for a local test server).
	SMTPTLS string `envconfig:"SMTP_TLS" default:"mandatory"`

	// SMTPTimeout bounds connecting and each SMTP command.
	SMTPTimeout time.Duration `envconfig:"SMTP_TIMEOUT" default:"15s"`
}

// LoadConfig reads a [Config] from the environment and validates it. Its
// errors name the variable that was wrong.
func LoadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return Config{}, fmt.Errorf("mail: %w", err)
	}
	return c, c.Validate()
}

// Validate reports every invalid setting, naming its variable.
func (c Config) Validate() error {
	var errs []error
	switch c.Mailer {
	case MailerOutbox:
		if c.OutboxDir == "" {
			errs = append(errs, errors.New("MAIL_OUTBOX_DIR: empty"))
		}
	case MailerSMTP:
		errs = append(errs, c.validateSMTP()...)
	default:
		errs = append(errs, fmt.Errorf("MAIL_MAILER: %q is neither %q nor %q",
			c.Mailer, MailerOutbox, MailerSMTP))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mail: invalid configuration: %w", err)
	}
	return nil
}

// validateSMTP checks the SMTP settings.
func (c Config) validateSMTP() []error {
	var errs []error
	if c.SMTPHost == "" {
		errs = append(errs, errors.New("SMTP_HOST: required when MAIL_MAILER is smtp"))
	}
	if c.SMTPPort < 1 || c.SMTPPort > 65535 {
		errs = append(errs, fmt.Errorf("SMTP_PORT: %d is not a port", c.SMTPPort))
	}
	if _, ok := tlsPolicies[c.SMTPTLS]; !ok {
		names := slices.Sorted(maps.Keys(tlsPolicies))
		errs = append(errs, fmt.Errorf("SMTP_TLS: %q is not one of %v", c.SMTPTLS, names))
	}
	if c.SMTPTimeout <= 0 {
		errs = append(errs, fmt.Errorf("SMTP_TIMEOUT: %v is not positive", c.SMTPTimeout))
	}
	return errs
}

// New returns the mailer c selects.
func New(c Config) (Mailer, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Mailer == MailerSMTP {
		return NewSMTP(c)
	}
	return NewOutbox(c.OutboxDir)
}
