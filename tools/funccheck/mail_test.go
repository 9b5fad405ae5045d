package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeFile writes content to name in dir.
func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
}

// message returns a minimal RFC 5322 message to addr.
func message(addr string) string {
	return "From: Welcome <welcome@example.com>\r\nTo: " + addr +
		"\r\nSubject: =?UTF-8?q?Welcome,_J=C3=BCrgen?=\r\n\r\nHello\r\n"
}

// TestCheckMail_CountsMessagesToAddress counts only the messages to the
// address asked for, and skips files that are still being written.
func TestCheckMail_CountsMessagesToAddress(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.eml", message("Ada <ada@example.com>"))
	writeFile(t, dir, "b.eml", message("bob@example.com"))
	writeFile(t, dir, ".sending-1.eml", "half a mess")

	var out bytes.Buffer
	require.NoError(t, checkMail(&out, dir, "ADA@example.com", 1))
	assert.Equal(t, "mail a.eml to=ada@example.com subject=\"Welcome, Jürgen\"\n", out.String())

	err := checkMail(&out, dir, "ada@example.com", 2)
	require.ErrorIs(t, err, ErrMailCount)
	assert.Contains(t, err.Error(), "got 1, want 2")
}

// TestCheckMail_RejectsInvalidMessage fails on an .eml file that does not
// parse, naming it.
func TestCheckMail_RejectsInvalidMessage(t *testing.T) {
	cases := map[string]string{
		"not a message": "this is not a mail\r\n",
		"bad To":        "To: <<not an address\r\n\r\nbody",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "broken.eml", content)

			err := checkMail(&bytes.Buffer{}, dir, "ada@example.com", 0)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "broken.eml")
		})
	}
}

// TestCheckMail_MissingOutbox accepts a missing outbox only when no mail is
// expected.
func TestCheckMail_MissingOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")

	require.NoError(t, checkMail(&bytes.Buffer{}, dir, "ada@example.com", 0))
	err := checkMail(&bytes.Buffer{}, dir, "ada@example.com", 1)
	require.ErrorIs(t, err, os.ErrNotExist)
}
