package kafkasource

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestToEvent_Wrap pins the wrap of records that are not CloudEvents beyond
// the contract's vectors: poison bytes, odd headers and a huge value.
func TestToEvent_Wrap(t *testing.T) {
	huge := bytes.Repeat([]byte{0xFF}, 8<<20)
	tests := []struct {
		name string
		msg  *sarama.ConsumerMessage
		ext  map[string]any
		ct   string
	}{{
		name: "non-UTF-8 header bytes are replaced",
		msg: &sarama.ConsumerMessage{Headers: []*sarama.RecordHeader{
			{Key: []byte("X-Bin"), Value: []byte{'o', 'k', 0xC3, 0x28}},
			{Key: []byte{'a', 0xFF, 'B'}, Value: []byte("v")},
		}},
		ext: map[string]any{"kafkaheaderxbin": "ok\uFFFD(", "kafkaheaderab": "v"},
	}, {
		name: "null header value and nil header",
		msg: &sarama.ConsumerMessage{Headers: []*sarama.RecordHeader{
			{Key: []byte("empty")}, nil,
		}},
		ext: map[string]any{"kafkaheaderempty": ""},
	}, {
		name: "header name of punctuation only",
		msg: &sarama.ConsumerMessage{Headers: []*sarama.RecordHeader{
			{Key: []byte("__"), Value: []byte("v")},
		}},
		ext: map[string]any{"kafkaheader": "v"},
	}, {
		name: "unicode header name is lowercased then stripped",
		msg: &sarama.ConsumerMessage{Headers: []*sarama.RecordHeader{
			{Key: []byte("Trace-İD-Ä"), Value: []byte("v")},
		}},
		ext: map[string]any{"kafkaheadertraceid": "v"},
	}, {
		name: "last content-type header of any case",
		msg: &sarama.ConsumerMessage{Headers: []*sarama.RecordHeader{
			{Key: []byte("content-type"), Value: []byte("text/plain")},
			{Key: []byte("CONTENT-TYPE"), Value: []byte("Text/CSV; Charset=UTF-8")},
		}},
		ct: "text/csv; charset=utf-8",
	}, {
		name: "content-type that is not a media type is kept as a header",
		msg: &sarama.ConsumerMessage{Headers: []*sarama.RecordHeader{
			{Key: []byte("Content-Type"), Value: []byte("json;;\n")},
		}},
		ext: map[string]any{"kafkaheadercontenttype": "json;;\n"},
	}, {
		name: "empty content-type is absent",
		msg: &sarama.ConsumerMessage{Headers: []*sarama.RecordHeader{
			{Key: []byte("content-type"), Value: []byte(" ")},
		}},
	}, {
		name: "huge value",
		msg:  &sarama.ConsumerMessage{Value: huge},
	}, {
		name: "empty key is absent",
		msg:  &sarama.ConsumerMessage{Key: []byte{}, Value: []byte{}},
	}, {
		name: "non-UTF-8 string key",
		msg:  &sarama.ConsumerMessage{Key: []byte{0xFF, 'k'}},
		ext:  map[string]any{"key": "\uFFFDk", "partitionkey": "\uFFFDk"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := ToEvent(tt.msg, vectorOptions)
			require.NoError(t, ev.Validate())
			assert.Equal(t, WrapType, ev.Type())
			assert.Equal(t, tt.ct, ev.DataContentType())
			assert.True(t, bytes.Equal(tt.msg.Value, ev.Data()), "data is the raw value")

			want := map[string]any{ExtPartition: "0", ExtOffset: "0"}
			for k, v := range tt.ext {
				want[k] = v
			}
			assert.Equal(t, want, ev.Extensions())
		})
	}
}

// TestToEvent_WrapAttributes pins the wrapped attributes derived from the
// record's coordinates, in process (not only over HTTP).
func TestToEvent_WrapAttributes(t *testing.T) {
	msg := &sarama.ConsumerMessage{
		Topic: "users", Partition: 5, Offset: 1 << 40,
		Timestamp: time.UnixMilli(1700000000123).In(time.FixedZone("x", 3600)),
	}
	ev := ToEvent(msg, Options{Namespace: "functions", Name: "users-welcome"})

	assert.Equal(t, "partition:5/offset:1099511627776", ev.ID())
	assert.Equal(t, "partition:5#1099511627776", ev.Subject())
	assert.Equal(t, "/apis/v1/namespaces/functions/kafkasources/users-welcome#users", ev.Source())
	assert.Equal(t, time.UnixMilli(1700000000123).UTC(), ev.Time())
	assert.Equal(t, time.UTC, ev.Time().Location())
	assert.Equal(t, "1099511627776", ev.Extensions()[ExtOffset])
	assert.Equal(t, "5", ev.Extensions()[ExtPartition])
	assert.Nil(t, ev.Data())
}

// TestToEvent_NilMessage pins that a nil record still gives a valid event.
func TestToEvent_NilMessage(t *testing.T) {
	ev := ToEvent(nil, vectorOptions)
	require.NoError(t, ev.Validate())
	assert.Equal(t, WrapType, ev.Type())
}

// TestToEvent_InvalidOptions pins that options Validate rejects still give
// a valid event: the source is escaped and bad override names are skipped.
func TestToEvent_InvalidOptions(t *testing.T) {
	o := Options{
		Namespace: "a b", Name: "\x00", KeyType: "nope",
		Extensions: map[string]string{"Bad-Name": "x", "id": "y", "ok": "z"},
	}
	ev := ToEvent(&sarama.ConsumerMessage{Topic: "t\n#?", Key: []byte("k")}, o)
	require.NoError(t, ev.Validate())
	assert.Equal(t, "k", ev.Extensions()[ExtKey], "an unknown key type reads as string")
	assert.Equal(t, "z", ev.Extensions()["ok"])
	assert.NotContains(t, ev.Extensions(), "Bad-Name")
	assert.NotContains(t, ev.Extensions(), "bad-name")
	assert.NotEqual(t, "y", ev.ID())
}

// TestToEvent_OverridesReplace pins that ceOverrides are applied last, on
// passed-through events too.
func TestToEvent_OverridesReplace(t *testing.T) {
	o := vectorOptions
	o.Extensions = map[string]string{"ext": "override", ExtOffset: "7"}
	ev := ToEvent(record(nil, nil, validBinary("ce_ext", "original")...), o)
	assert.Equal(t, "1", ev.ID())
	assert.Equal(t, "override", ev.Extensions()["ext"])
	assert.Equal(t, "7", ev.Extensions()[ExtOffset])
}

// TestDecodeKey pins each key type, including the fall-backs to string.
func TestDecodeKey(t *testing.T) {
	f32 := func(f float32) []byte {
		return binary.BigEndian.AppendUint32(nil, math.Float32bits(f))
	}
	f64 := func(f float64) []byte {
		return binary.BigEndian.AppendUint64(nil, math.Float64bits(f))
	}
	tests := []struct {
		name string
		key  []byte
		typ  KeyType
		want string
		ok   bool
	}{
		{"null", nil, KeyString, "", false},
		{"empty", []byte{}, KeyInt, "", false},
		{"default is string", []byte("u-1"), "", "u-1", true},
		{"int", []byte{0, 0, 1, 0}, KeyInt, "256", true},
		{"int of 8 bytes falls back", []byte("12345678"), KeyInt, "12345678", true},
		{"float32", f32(1.5), KeyFloat, "1.5", true},
		{"float32 integral", f32(2), KeyFloat, "2.0", true},
		{"float64", f64(0.1), KeyFloat, "0.1", true},
		{"float64 large", f64(1e10), KeyFloat, "1.0E10", true},
		{"float of 3 bytes falls back", []byte("abc"), KeyFloat, "abc", true},
		{"byte-array", []byte{0}, KeyByteArray, "AA==", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := decodeKey(tt.key, tt.typ)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestJavaFloat pins the Java Float/Double.toString forms a float key takes.
func TestJavaFloat(t *testing.T) {
	tests := []struct {
		f    float64
		bits int
		want string
	}{
		{0, 64, "0.0"},
		{math.Copysign(0, -1), 64, "-0.0"},
		{1, 64, "1.0"},
		{-2.5, 64, "-2.5"},
		{0.001, 64, "0.001"},
		{0.0001, 64, "1.0E-4"},
		{1234567.5, 64, "1234567.5"},
		{1e7, 64, "1.0E7"},
		{1.25e-7, 64, "1.25E-7"},
		{math.MaxFloat64, 64, "1.7976931348623157E308"},
		{float64(float32(0.1)), 32, "0.1"},
		{float64(float32(3.4e38)), 32, "3.4E38"},
		{math.NaN(), 64, "NaN"},
		{math.Inf(1), 32, "Infinity"},
		{math.Inf(-1), 64, "-Infinity"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, javaFloat(tt.f, tt.bits))
		})
	}
}

// TestOptions_Validate pins which KafkaSource options are rejected.
func TestOptions_Validate(t *testing.T) {
	good := Options{Namespace: "functions", Name: "users.welcome-1", KeyType: KeyFloat,
		Extensions: map[string]string{"handler": "welcome", "env2": ""}}
	require.NoError(t, good.Validate())

	tests := []struct {
		name    string
		mutate  func(*Options)
		wantErr string
	}{
		{"empty namespace", func(o *Options) { o.Namespace = "" }, "namespace"},
		{"namespace with dot", func(o *Options) { o.Namespace = "a.b" }, "namespace"},
		{"upper-case name", func(o *Options) { o.Name = "Users" }, "name"},
		{"unknown key type", func(o *Options) { o.KeyType = "long" }, "key type"},
		{"bad extension name", func(o *Options) {
			o.Extensions = map[string]string{"my-ext": "x"}
		}, `"my-ext"`},
		{"attribute as extension", func(o *Options) {
			o.Extensions = map[string]string{"source": "x"}
		}, "attribute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.mutate(&o)
			err := o.Validate()
			require.ErrorIs(t, err, ErrInvalidOptions)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}
