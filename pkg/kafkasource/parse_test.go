package kafkasource

import (
	"net/url"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validBinary are the headers of a minimal valid binary-mode CloudEvent.
func validBinary(extra ...string) []string {
	return append([]string{
		"ce_specversion", "1.0", "ce_id", "1", "ce_source", "/s", "ce_type", "t",
	}, extra...)
}

// TestParse_Rejects pins each reason a record is not a CloudEvent and so is
// wrapped, with the reason the error names.
func TestParse_Rejects(t *testing.T) {
	tests := []struct {
		name    string
		msg     *sarama.ConsumerMessage
		wantErr string
	}{
		{"no ce headers", record(nil, []byte("x"), "trace", "1"), "no ce_specversion"},
		{"missing id", record(nil, nil, "ce_specversion", "1.0", "ce_source", "/s",
			"ce_type", "t"), "id"},
		{"blank type", record(nil, nil, validBinary("ce_type", " ")...), "type"},
		{"bad time", record(nil, nil, validBinary("ce_time", "yesterday")...), "time"},
		{"bad extension name", record(nil, nil, validBinary("ce_bad-name", "v")...),
			`"bad-name"`},
		{"unknown specversion", record(nil, nil, "ce_specversion", "2.0", "ce_id", "1",
			"ce_source", "/s", "ce_type", "t"), `"2.0"`},
		{"upper-case specversion header", record(nil, nil, "CE_SPECVERSION", "1.0",
			"ce_id", "1", "ce_source", "/s", "ce_type", "t"), "no ce_specversion"},
		{"relative dataschema", record(nil, nil, validBinary("ce_dataschema", "x")...),
			"dataschema"},
		{"content type not a media type", record(nil, nil,
			validBinary("content-type", "json;;")...), "datacontenttype"},
		{"structured not json", record(nil, []byte("{"),
			"content-type", structuredType), "structured envelope"},
		{"structured null value", record(nil, nil, "content-type", structuredType),
			"structured envelope"},
		{"structured json null", record(nil, []byte("null"),
			"content-type", structuredType), "specversion: missing"},
		{"structured array", record(nil, []byte("[]"), "content-type", structuredType),
			"structured envelope"},
		{"structured missing source", structuredRecord(`"id":"1","type":"t"`), "source"},
		{"structured id not a string", structuredRecord(`"id":1,"source":"/s","type":"t"`),
			"attribute id"},
		{"structured upper-case extension", structuredRecord(
			`"id":"1","source":"/s","type":"t","Ext":"v"`), `"Ext"`},
		{"structured both data members", structuredRecord(
			`"id":"1","source":"/s","type":"t","data":1,"data_base64":"AA=="`), "both"},
		{"structured bad base64", structuredRecord(
			`"id":"1","source":"/s","type":"t","data_base64":"!"`), "data_base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.msg)
			require.ErrorIs(t, err, ErrNotCloudEvent)
			assert.Contains(t, err.Error(), tt.wantErr)

			ev := ToEvent(tt.msg, vectorOptions)
			require.NoError(t, ev.Validate())
			assert.Equal(t, WrapType, ev.Type())
			assert.Equal(t, tt.msg.Value, ev.Data(), "the wrapped data is the raw value")
		})
	}
}

// structuredRecord builds a structured-mode record from envelope members
// after specversion 1.0.
func structuredRecord(members string) *sarama.ConsumerMessage {
	return record(nil, []byte(`{"specversion":"1.0",`+members+`}`),
		"content-type", structuredType)
}

// TestParse_Binary pins binary-mode details: header order, null value, other
// headers dropped, spec version 0.3.
func TestParse_Binary(t *testing.T) {
	t.Run("last header wins", func(t *testing.T) {
		ev, err := Parse(record(nil, nil, validBinary("ce_id", "2", "ce_ext", "a",
			"ce_ext", "b")...))
		require.NoError(t, err)
		assert.Equal(t, "2", ev.ID())
		assert.Equal(t, "b", ev.Extensions()["ext"])
	})
	t.Run("ce_data is an extension as in the Java SDK", func(t *testing.T) {
		ev, err := Parse(record(nil, nil, validBinary("ce_data", "v")...))
		require.NoError(t, err)
		assert.Equal(t, "v", ev.Extensions()["data"])
	})
	t.Run("null value has no data", func(t *testing.T) {
		ev, err := Parse(record(nil, nil, validBinary()...))
		require.NoError(t, err)
		assert.Nil(t, ev.Data())
	})
	t.Run("other headers and mixed-case prefixes are dropped", func(t *testing.T) {
		ev, err := Parse(record([]byte("k"), []byte("v"),
			validBinary("trace", "x", "CE_OTHER", "y", "Content-Type", "text/plain")...))
		require.NoError(t, err)
		assert.Empty(t, ev.Extensions())
		assert.Empty(t, ev.DataContentType())
	})
	t.Run("attribute names are lowercased", func(t *testing.T) {
		ev, err := Parse(record(nil, nil, validBinary("ce_Subject", "s", "ce_EXT", "v")...))
		require.NoError(t, err)
		assert.Equal(t, "s", ev.Subject())
		assert.Equal(t, "v", ev.Extensions()["ext"])
	})
	t.Run("spec version 0.3", func(t *testing.T) {
		ev, err := Parse(record(nil, []byte("d"), "ce_specversion", "0.3", "ce_id", "1",
			"ce_source", "/s", "ce_type", "t", "ce_schemaurl", "https://x/s"))
		require.NoError(t, err)
		assert.Equal(t, "0.3", ev.SpecVersion())
		assert.Equal(t, "https://x/s", ev.DataSchema())
	})
	t.Run("non-UTF-8 attribute bytes are replaced", func(t *testing.T) {
		msg := record(nil, nil, validBinary()...)
		msg.Headers = append(msg.Headers, &sarama.RecordHeader{
			Key: []byte("ce_ext"), Value: []byte{'a', 0xFF, 0xFE, 'b'},
		})
		ev, err := Parse(msg)
		require.NoError(t, err)
		assert.Equal(t, "a\uFFFDb", ev.Extensions()["ext"])
	})
	t.Run("null header value is empty", func(t *testing.T) {
		msg := record(nil, nil, validBinary()...)
		msg.Headers = append(msg.Headers, &sarama.RecordHeader{Key: []byte("ce_ext")}, nil)
		ev, err := Parse(msg)
		require.NoError(t, err)
		assert.Equal(t, "", ev.Extensions()["ext"])
	})
}

// TestParse_Structured pins structured-mode details: data forms and the
// string form of extension values.
func TestParse_Structured(t *testing.T) {
	const base = `"id":"1","source":"/s","type":"t",`
	tests := []struct {
		name    string
		members string
		data    string
		ext     map[string]any
	}{
		{"json data kept compact", `"data": { "a" : [1, 2] }`, `{"a":[1,2]}`, nil},
		{"json string data stays json", `"data":"hi"`, `"hi"`, nil},
		{"text data is the string", `"datacontenttype":"text/plain","data":"hi"`, "hi", nil},
		{"+json data stays json", `"datacontenttype":"application/ld+json","data":"hi"`,
			`"hi"`, nil},
		{"base64 data", `"data_base64":"AQI="`, "\x01\x02", nil},
		{"null data", `"data":null`, "", nil},
		{"extension values become strings",
			`"e1":5.5,"e2":true,"e3":{"a": 1},"e4":null,"e5":"s","data":1`, "1",
			map[string]any{"e1": "5.5", "e2": "true", "e3": `{"a":1}`, "e5": "s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := Parse(structuredRecord(base + tt.members))
			require.NoError(t, err)
			assert.Equal(t, tt.data, string(ev.Data()))
			if tt.ext != nil {
				assert.Equal(t, tt.ext, ev.Extensions())
			}
		})
	}
}

// TestParse_StructuredContentType pins which content-type header selects
// structured mode: the last one named exactly content-type, its media type
// matched as written.
func TestParse_StructuredContentType(t *testing.T) {
	body := []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t"}`)
	tests := []struct {
		name       string
		headers    []string
		structured bool
	}{
		{"with parameters", []string{"content-type", structuredType + " ; charset=utf-8"}, true},
		{"last header wins", []string{"content-type", structuredType,
			"content-type", "application/json"}, false},
		{"header name case matters", []string{"Content-Type", structuredType}, false},
		{"media type case matters", []string{"content-type", "Application/CloudEvents+JSON"},
			false},
		{"batch is not structured", []string{"content-type",
			"application/cloudevents-batch+json"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(record(nil, body, tt.headers...))
			assert.Equal(t, tt.structured, err == nil, "err: %v", err)
		})
	}
}

// TestParse_BinaryOverStructuredFallback pins that a content type that is
// not the structured format leaves binary mode to ce_specversion.
func TestParse_BinaryOverStructuredFallback(t *testing.T) {
	ev, err := Parse(record(nil, []byte("x"), validBinary("content-type", "text/plain")...))
	require.NoError(t, err)
	assert.Equal(t, "text/plain", ev.DataContentType())
	assert.Equal(t, "x", strings.TrimSpace(string(ev.Data())))
}

// TestPlainlyValid_ImpliesValidate pins that every event the allocation-free
// check accepts also passes event.Validate, and that it accepts the common
// binary event.
func TestPlainlyValid_ImpliesValidate(t *testing.T) {
	contentTypes := []string{"application/json", " text/plain ", "a/b/c", "/json", "json/",
		"application/json; charset=utf-8", "x", "ä/b", "a b/c", "a/b\t", "a/\"b\"", ""}
	sources := []string{"/s", "https://h", "urn:x", "#frag", "?q", " "}
	var accepted int
	for _, ct := range contentTypes {
		for _, src := range sources {
			ev := event.New()
			ev.SetID("1")
			ev.SetType("t")
			ev.SetSource(src)
			ev.Context.(*event.EventContextV1).DataContentType = &ct
			if plainlyValid(ev) {
				accepted++
				assert.NoError(t, ev.Validate(), "content type %q, source %q", ct, src)
			}
		}
	}
	assert.Positive(t, accepted)

	msg := record(nil, []byte("{}"), validBinary("content-type", "application/json",
		"ce_subject", "s", "ce_dataschema", "https://example.com/s")...)
	ev, err := Parse(msg)
	require.NoError(t, err)
	assert.True(t, plainlyValid(ev))
}

// TestPlainlyValid_Rejects pins that the check leaves to event.Validate the
// events it cannot vouch for.
func TestPlainlyValid_Rejects(t *testing.T) {
	base := func() event.Event {
		ev := event.New()
		ev.SetID("1")
		ev.SetType("t")
		ev.SetSource("/s")
		return ev
	}
	v1 := func(ev *event.Event) *event.EventContextV1 { return ev.Context.(*event.EventContextV1) }
	blankSubject, relSchema := " ", &types.URI{URL: url.URL{Path: "rel"}}
	tests := map[string]func(ev *event.Event){
		"blank id":        func(ev *event.Event) { ev.SetID(" ") },
		"blank type":      func(ev *event.Event) { ev.SetType("\t") },
		"empty source":    func(ev *event.Event) { ev.SetSource("") },
		"blank subject":   func(ev *event.Event) { v1(ev).Subject = &blankSubject },
		"relative schema": func(ev *event.Event) { v1(ev).DataSchema = relSchema },
		"content type with params": func(ev *event.Event) {
			ev.SetDataContentType("text/plain; charset=utf-8")
		},
		"field errors": func(ev *event.Event) { ev.FieldErrors = map[string]error{"x": assert.AnError} },
		"0.3 context":  func(ev *event.Event) { ev.Context = ev.Context.AsV03() },
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			ev := base()
			require.True(t, plainlyValid(ev))
			change(&ev)
			assert.False(t, plainlyValid(ev))
		})
	}
}
