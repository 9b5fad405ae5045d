package delivery

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeadLetter pins the knativeerror* extensions and the 1024-byte cut of
// the response body.
func TestDeadLetter(t *testing.T) {
	body := func(n int) []byte { return bytes.Repeat([]byte{0xAB}, n) }
	tests := []struct {
		name     string
		outcome  Outcome
		wantCode any
		wantData []byte
	}{
		{"status and short body", Outcome{Status: 500, Body: []byte("db down")}, "500",
			[]byte("db down")},
		{"body of exactly 1024", Outcome{Status: 422, Body: body(1024)}, "422", body(1024)},
		{"body over 1024 is cut", Outcome{Status: 503, Body: body(4000)}, "503", body(1024)},
		{"status without body", Outcome{Status: 400}, "400", nil},
		{"connection error", Outcome{Err: errors.New("refused")}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := testEvent("e1")
			ev.SetExtension("knativeerrorcode", "stale")
			ev.SetExtension("knativeerrordata", "stale")
			ev.SetExtension("handler", "welcome")

			dl := DeadLetter(ev, "http://sink/", tt.outcome)
			require.NoError(t, dl.Validate())

			ext := dl.Extensions()
			assert.Equal(t, "http://sink/", ext[ExtErrorDest])
			assert.Equal(t, tt.wantCode, ext[ExtErrorCode])
			assert.Equal(t, "welcome", ext["handler"])
			if tt.wantData == nil {
				assert.NotContains(t, ext, ExtErrorData)
			} else {
				data, err := base64.StdEncoding.DecodeString(ext[ExtErrorData].(string))
				require.NoError(t, err)
				assert.Equal(t, tt.wantData, data)
			}
			assert.Equal(t, "stale", ev.Extensions()[ExtErrorCode], "the original is unchanged")
		})
	}
}
