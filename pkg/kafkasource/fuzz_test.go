package kafkasource

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// Fuzz input separators: headers are split on headerSep, and each header's
// name from its value on valueSep; a header without valueSep has a null
// value.
const (
	headerSep = "\x1e"
	valueSep  = "\x1f"
)

// fuzzHeaders encodes name/value pairs for a seed.
func fuzzHeaders(kv ...string) []byte {
	var b bytes.Buffer
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteString(headerSep)
		}
		b.WriteString(kv[i] + valueSep + kv[i+1])
	}
	return b.Bytes()
}

// decodeHeaders is the inverse of fuzzHeaders for any bytes.
func decodeHeaders(raw []byte) []*sarama.RecordHeader {
	if len(raw) == 0 {
		return nil
	}
	var headers []*sarama.RecordHeader
	for _, h := range bytes.Split(raw, []byte(headerSep)) {
		name, value, found := bytes.Cut(h, []byte(valueSep))
		if !found {
			value = nil
		}
		headers = append(headers, &sarama.RecordHeader{Key: name, Value: value})
	}
	return headers
}

var keyTypes = []KeyType{KeyString, KeyInt, KeyFloat, KeyByteArray, "", "bogus"}

// FuzzToEvent checks that no record bytes make ToEvent panic or return an
// event that is invalid, undeliverable over binary HTTP, or missing the
// record's coordinates, and that a wrapped event's data is the raw value.
func FuzzToEvent(f *testing.F) {
	structured := `{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":1}}`
	seeds := []struct {
		key, value, headers []byte
		null                bool
	}{
		{[]byte("u-1"), []byte(`{"userId":"u-1"}`),
			fuzzHeaders("content-type", "application/json"), false},
		{nil, nil, nil, true},
		{[]byte("u-1"), []byte("x"), fuzzHeaders("Content-Type", "Application/JSON",
			"X-User_Id.v2", "abc"), false},
		{[]byte{0xFF, 0, 0x17, 0x17}, []byte("x"), nil, false},
		{[]byte("k"), []byte(`{}`), fuzzHeaders("ce_specversion", "1.0", "ce_id", "A",
			"ce_source", "https://example.com/pull", "ce_type", "t", "ce_time",
			"2018-04-05T17:31:00Z", "ce_ext", "v", "content-type", "application/json",
			"trace", "x"), false},
		{nil, []byte(structured), fuzzHeaders("content-type",
			"application/cloudevents+json; charset=UTF-8"), false},
		{nil, []byte(`{"specversion":"1.0","data_base64":"AA=="`), fuzzHeaders("content-type",
			"application/cloudevents+json"), false},
		{nil, nil, fuzzHeaders("ce_specversion", "1.0", "ce_id", "x", "ce_type", "t"), true},
		{nil, []byte{0xFF, 0xFE}, fuzzHeaders("h\xff", "\xc3\x28\n", "content-type",
			"json;;"), false},
		{nil, nil, []byte("ce_specversion" + valueSep + "0.3" + headerSep + "ce_id"), false},
	}
	for i, s := range seeds {
		f.Add("user-events", s.key, s.value, s.headers, s.null, uint8(i), int32(3), int64(42))
	}

	f.Fuzz(func(t *testing.T, topic string, key, value, headers []byte, null bool,
		keyType uint8, partition int32, offset int64) {
		if null {
			value = nil
		}
		msg := &sarama.ConsumerMessage{
			Topic: topic, Partition: partition, Offset: offset, Key: key, Value: value,
			Timestamp: time.UnixMilli(offset), Headers: decodeHeaders(headers),
		}
		o := Options{Namespace: "functions", Name: "user-events",
			KeyType: keyTypes[int(keyType)%len(keyTypes)]}

		ev := ToEvent(msg, o)
		if err := ev.Validate(); err != nil {
			t.Fatalf("invalid event: %v\n%s", err, ev)
		}
		if got := ev.Extensions()[ExtOffset]; got != strconv.FormatInt(offset, 10) {
			t.Fatalf("knativekafkaoffset = %v, want %d", got, offset)
		}
		if _, err := Parse(msg); err != nil && !bytes.Equal(ev.Data(), value) {
			t.Fatalf("wrapped data = %q, want the raw value %q", ev.Data(), value)
		}

		req, _ := http.NewRequest(http.MethodPost, "http://sink.invalid", nil)
		err := cehttp.WriteRequest(context.Background(), binding.ToMessage(&ev), req)
		if err != nil {
			t.Fatalf("write binary request: %v", err)
		}
	})
}
