package producer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestTooLargeError_ShortensSubject pins that an oversized entity id is cut
// in the message, so one refused event cannot put a megabyte into the logs,
// while the error keeps the whole id for callers.
func TestTooLargeError_ShortensSubject(t *testing.T) {
	id := strings.Repeat("x", 1<<20)
	err := &TooLargeError{Topic: "users", Subject: id, Size: 1<<20 + 300, Limit: 1000000}

	msg := err.Error()
	assert.Less(t, len(msg), 300, "message: %.300s", msg)
	assert.Contains(t, msg, "(1048576 bytes)")
	assert.Equal(t, id, err.Subject)
}
