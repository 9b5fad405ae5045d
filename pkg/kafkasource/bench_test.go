package kafkasource

import (
	"testing"
)

// BenchmarkToEvent measures the conversion of a plain JSON record, the
// common case of the users topic.
func BenchmarkToEvent(b *testing.B) {
	msg := record([]byte("u-1"), []byte(`{"id":"u-1","name":"Ada","email":"ada@example.com"}`),
		"content-type", "application/json", "ce_type", "com.example.users.user.created")
	o := vectorOptions
	o.Extensions = map[string]string{"handler": "welcome"}
	b.ReportAllocs()
	for b.Loop() {
		_ = ToEvent(msg, o)
	}
}

// BenchmarkToEvent_Binary measures the pass-through of a binary CloudEvent.
func BenchmarkToEvent_Binary(b *testing.B) {
	msg := record([]byte("u-1"), []byte(`{"id":"u-1"}`), validBinary(
		"content-type", "application/json", "ce_time", "2018-04-05T17:31:00Z")...)
	b.ReportAllocs()
	for b.Loop() {
		_ = ToEvent(msg, vectorOptions)
	}
}
