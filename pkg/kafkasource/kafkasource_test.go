package kafkasource

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// vectorOptions is the KafkaSource of the contract's vectors.
var vectorOptions = Options{Namespace: "functions", Name: "user-events"}

// record builds a record on the vectors' topic, partition, offset and time.
func record(key, value []byte, headers ...string) *sarama.ConsumerMessage {
	msg := &sarama.ConsumerMessage{
		Topic:     "user-events",
		Partition: 3,
		Offset:    42,
		Timestamp: time.UnixMilli(1700000000100),
		Key:       key,
		Value:     value,
	}
	for i := 0; i+1 < len(headers); i += 2 {
		msg.Headers = append(msg.Headers, &sarama.RecordHeader{
			Key: []byte(headers[i]), Value: []byte(headers[i+1]),
		})
	}
	return msg
}

// vectorSource is the source of every wrapped vector.
const vectorSource = "/apis/v1/namespaces/functions/kafkasources/user-events#user-events"

// plainDefaults are the headers every wrapped vector is delivered with.
func plainDefaults(extra ...string) map[string]string {
	h := map[string]string{
		"ce-specversion":           "1.0",
		"ce-id":                    "partition:3/offset:42",
		"ce-subject":               "partition:3#42",
		"ce-type":                  "dev.knative.kafka.event",
		"ce-source":                vectorSource,
		"ce-time":                  "2023-11-14T22:13:20.1Z",
		"ce-knativekafkapartition": "3",
		"ce-knativekafkaoffset":    "42",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

// delivered writes ev as the binary-mode HTTP request a sink receives and
// returns its ce-* and content-type headers (lowercased names) and body.
func delivered(t *testing.T, ev event.Event) (map[string]string, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://sink.invalid", nil)
	require.NoError(t, err)
	msg := binding.ToMessage(&ev)
	require.NoError(t, cehttp.WriteRequest(context.Background(), msg, req))

	headers := map[string]string{}
	for k, v := range req.Header {
		k = strings.ToLower(k)
		if strings.HasPrefix(k, "ce-") || k == "content-type" {
			require.Len(t, v, 1, "header %s", k)
			headers[k] = v[0]
		}
	}
	var body bytes.Buffer
	if req.Body != nil {
		_, err = body.ReadFrom(req.Body)
		require.NoError(t, err)
	}
	return headers, body.Bytes()
}

// TestToEvent_Vectors pins every record -> CloudEvent vector of the
// KafkaSource contract, as delivered over binary-mode HTTP.
func TestToEvent_Vectors(t *testing.T) {
	binaryCE := []string{
		"ce_specversion", "1.0",
		"ce_id", "A234-1234-1234",
		"ce_source", "https://example.com/pull",
		"ce_type", "com.example.pull.create",
		"ce_subject", "123",
		"ce_time", "2018-04-05T17:31:00Z",
		"ce_comexampleextension1", "value",
		"content-type", "application/json",
		"trace", "x",
	}
	structured := `{"specversion":"1.0","id":"A234-1234-1234",` +
		`"source":"https://example.com/pull","type":"com.example.pull.create",` +
		`"datacontenttype":"application/json","comexampleothervalue":5,` +
		`"data": {"hello":"x"}}`

	tests := []struct {
		name    string
		msg     *sarama.ConsumerMessage
		opts    Options
		headers map[string]string
		body    []byte
	}{{
		name: "1 plain json with string key",
		msg: record([]byte("u-1"), []byte(`{"userId":"u-1"}`),
			"content-type", "application/json"),
		headers: plainDefaults("content-type", "application/json",
			"ce-key", "u-1", "ce-partitionkey", "u-1"),
		body: []byte(`{"userId":"u-1"}`),
	}, {
		name:    "2 no key no headers",
		msg:     record(nil, []byte(`{"value":5}`)),
		headers: plainDefaults(),
		body:    []byte(`{"value":5}`),
	}, {
		name: "3 header names case and punctuation",
		msg: record([]byte("u-1"), []byte("x"),
			"Content-Type", "Application/JSON", "X-User_Id.v2", "abc"),
		headers: plainDefaults("content-type", "application/json",
			"ce-key", "u-1", "ce-partitionkey", "u-1", "ce-kafkaheaderxuseridv2", "abc"),
		body: []byte("x"),
	}, {
		name:    "4 int key",
		msg:     record([]byte{0xFF, 0x00, 0x17, 0x17}, []byte("x")),
		opts:    Options{KeyType: KeyInt},
		headers: plainDefaults("ce-key", "-16771305", "ce-partitionkey", "-16771305"),
		body:    []byte("x"),
	}, {
		name:    "5 byte-array key",
		msg:     record([]byte{0x01, 0x0A, 0x17, 0x17}, []byte("x")),
		opts:    Options{KeyType: KeyByteArray},
		headers: plainDefaults("ce-key", "AQoXFw==", "ce-partitionkey", "AQoXFw=="),
		body:    []byte("x"),
	}, {
		name: "6 binary cloudevent passes through",
		msg:  record([]byte("k"), []byte(`{"a":1}`), binaryCE...),
		headers: map[string]string{
			"ce-specversion":           "1.0",
			"ce-id":                    "A234-1234-1234",
			"ce-source":                "https://example.com/pull",
			"ce-type":                  "com.example.pull.create",
			"ce-subject":               "123",
			"ce-time":                  "2018-04-05T17:31:00Z",
			"ce-comexampleextension1":  "value",
			"content-type":             "application/json",
			"ce-knativekafkapartition": "3",
			"ce-knativekafkaoffset":    "42",
		},
		body: []byte(`{"a":1}`),
	}, {
		name: "7 structured cloudevent is delivered in binary mode",
		msg: record([]byte("k"), []byte(structured),
			"content-type", "application/cloudevents+json; charset=UTF-8"),
		headers: map[string]string{
			"ce-specversion":           "1.0",
			"ce-id":                    "A234-1234-1234",
			"ce-source":                "https://example.com/pull",
			"ce-type":                  "com.example.pull.create",
			"ce-comexampleothervalue":  "5",
			"content-type":             "application/json",
			"ce-knativekafkapartition": "3",
			"ce-knativekafkaoffset":    "42",
		},
		body: []byte(`{"hello":"x"}`),
	}, {
		name: "8 binary cloudevent without source is wrapped",
		msg: record(nil, []byte(`{}`),
			"ce_specversion", "1.0", "ce_id", "x", "ce_type", "t",
			"content-type", "application/json"),
		headers: plainDefaults("content-type", "application/json",
			"ce-kafkaheadercespecversion", "1.0", "ce-kafkaheaderceid", "x",
			"ce-kafkaheadercetype", "t"),
		body: []byte(`{}`),
	}, {
		name:    "9 null value",
		msg:     record([]byte("u-1"), nil),
		headers: plainDefaults("ce-key", "u-1", "ce-partitionkey", "u-1"),
	}, {
		name:    "10 ceOverrides extensions",
		msg:     record(nil, []byte("x")),
		opts:    Options{Extensions: map[string]string{"env": "dev"}},
		headers: plainDefaults("ce-env", "dev"),
		body:    []byte("x"),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Namespace, opts.Name = vectorOptions.Namespace, vectorOptions.Name

			ev := ToEvent(tt.msg, opts)
			require.NoError(t, ev.Validate())

			headers, body := delivered(t, ev)
			assert.Equal(t, tt.headers, headers)
			assert.Equal(t, string(tt.body), string(body))
		})
	}
}

// TestToEvent_MaxExtensionNameLength pins that an extension name the SDK's
// MaxExtensionNameLength forbids is left out, as SetExtension leaves it out.
func TestToEvent_MaxExtensionNameLength(t *testing.T) {
	defer func(n int) { event.MaxExtensionNameLength = n }(event.MaxExtensionNameLength)
	event.MaxExtensionNameLength = 20

	ev := ToEvent(record(nil, []byte("v"), validBinary()...), vectorOptions)

	assert.Equal(t, "42", ev.Extensions()[ExtOffset])
	assert.NotContains(t, ev.Extensions(), ExtPartition)
}
