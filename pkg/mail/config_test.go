package mail_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/mail"
)

// TestLoadConfig_Defaults pins the defaults: an outbox under ./.local.
func TestLoadConfig_Defaults(t *testing.T) {
	for _, v := range []string{"MAIL_MAILER", "MAIL_OUTBOX_DIR", "SMTP_HOST", "SMTP_PORT",
		"SMTP_TLS", "SMTP_TIMEOUT"} {
		t.Setenv(v, "") // restores the variable after the test
		require.NoError(t, os.Unsetenv(v))
	}

	c, err := mail.LoadConfig()

	require.NoError(t, err)
	assert.Equal(t, "outbox", c.Mailer)
	assert.Equal(t, "./.local/outbox", c.OutboxDir)
	assert.Equal(t, 587, c.SMTPPort)
	assert.Equal(t, "mandatory", c.SMTPTLS)
}

// TestLoadConfig_Errors pins that each wrong setting is reported with its
// variable's name.
func TestLoadConfig_Errors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"unknown mailer", map[string]string{"MAIL_MAILER": "sendmail"},
			[]string{`MAIL_MAILER: "sendmail"`}},
		{"smtp without host", map[string]string{"MAIL_MAILER": "smtp", "SMTP_HOST": ""},
			[]string{"SMTP_HOST: required"}},
		{"smtp bad settings", map[string]string{"MAIL_MAILER": "smtp", "SMTP_HOST": "mx",
			"SMTP_PORT": "0", "SMTP_TLS": "maybe", "SMTP_TIMEOUT": "-1s"},
			[]string{"SMTP_PORT: 0", `SMTP_TLS: "maybe"`, "SMTP_TIMEOUT: -1s"}},
		{"port not a number", map[string]string{"SMTP_PORT": "smtp"}, []string{"SMTP_PORT"}},
		{"empty outbox", map[string]string{"MAIL_MAILER": "outbox", "MAIL_OUTBOX_DIR": ""},
			[]string{"MAIL_OUTBOX_DIR: empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}

			_, err := mail.LoadConfig()

			require.Error(t, err)
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

// TestNew_SelectsMailer pins that the configuration picks the mailer.
func TestNew_SelectsMailer(t *testing.T) {
	m, err := mail.New(mail.Config{Mailer: "outbox", OutboxDir: t.TempDir()})
	require.NoError(t, err)
	assert.IsType(t, &mail.Outbox{}, m)

	m, err = mail.New(mail.Config{Mailer: "smtp", SMTPHost: "mx.example.com", SMTPPort: 587,
		SMTPTLS: "implicit", SMTPTimeout: 1})
	require.NoError(t, err)
	assert.IsType(t, &mail.SMTP{}, m)

	_, err = mail.New(mail.Config{Mailer: "smtp"})
	assert.ErrorContains(t, err, "SMTP_HOST")
}
