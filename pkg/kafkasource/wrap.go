package kafkasource

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// Extension names of a wrapped event.
const (
	// ExtKey is the decoded record key.
	ExtKey = "key"
	// ExtPartitionKey is the decoded record key too, for the CloudEvents
	// partitioning extension.
	ExtPartitionKey = "partitionkey"
	// ExtHeaderPrefix starts the name of the extension each record header
	// other than content-type becomes.
	ExtHeaderPrefix = "kafkaheader"
)

// wrap builds the dev.knative.kafka.event KafkaSource delivers for a record
// that is not a CloudEvent.
//
// It departs from KafkaSource in one way, so that the event stays valid: a
// content-type header that is not a media type becomes the extension
// kafkaheadercontenttype instead of datacontenttype.
func wrap(msg *sarama.ConsumerMessage, o Options) event.Event {
	ev := event.New(event.CloudEventsVersionV1)
	ev.SetID(fmt.Sprintf("partition:%d/offset:%d", msg.Partition, msg.Offset))
	ev.SetType(WrapType)
	ev.SetSubject(fmt.Sprintf("partition:%d#%d", msg.Partition, msg.Offset))
	ev.SetTime(msg.Timestamp.UTC())
	setSource(&ev, o, msg.Topic)

	if key, ok := decodeKey(msg.Key, o.KeyType); ok {
		setString(&ev, ExtKey, key)
		setString(&ev, ExtPartitionKey, key)
	}

	var contentType *sarama.RecordHeader
	for _, h := range msg.Headers {
		if h == nil {
			continue
		}
		if strings.EqualFold(string(h.Key), contentTypeHeader) {
			contentType = h
			continue
		}
		setString(&ev, ExtHeaderPrefix+headerName(string(h.Key)), text(h.Value))
	}
	if contentType != nil {
		setContentType(&ev, text(contentType.Value))
	}

	if msg.Value != nil {
		ev.DataEncoded = msg.Value
	}
	return ev
}

// setSource sets /apis/v1/namespaces/<ns>/kafkasources/<name>#<topic>,
// escaping what a URI reference cannot hold so the source stays valid
// whatever the options and topic.
func setSource(ev *event.Event, o Options, topic string) {
	u := url.URL{
		Path:     "/apis/v1/namespaces/" + o.Namespace + "/kafkasources/" + o.Name,
		Fragment: topic,
	}
	ev.Context.(*event.EventContextV1).Source = types.URIRef{URL: u}
}

// setContentType sets datacontenttype from a content-type header, lowercased
// as KafkaSource does.
func setContentType(ev *event.Event, value string) {
	ct := strings.TrimSpace(strings.ToLower(value))
	if ct == "" {
		return
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		setString(ev, ExtHeaderPrefix+"contenttype", value)
		return
	}
	ev.SetDataContentType(ct)
}

// headerName lowercases a header name and keeps only [a-z0-9], as
// KafkaSource does to make it part of an extension name.
func headerName(key string) string {
	var b strings.Builder
	for _, r := range key {
		r = unicode.ToLower(r)
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// decodeKey decodes a record key per key type; ok is false for a null or
// empty key, which KafkaSource leaves out.
func decodeKey(key []byte, t KeyType) (string, bool) {
	if len(key) == 0 {
		return "", false
	}
	switch {
	case t == KeyInt && len(key) == 4:
		return strconv.Itoa(int(int32(binary.BigEndian.Uint32(key)))), true
	case t == KeyFloat && len(key) == 4:
		return javaFloat(float64(math.Float32frombits(binary.BigEndian.Uint32(key))), 32), true
	case t == KeyFloat && len(key) == 8:
		return javaFloat(math.Float64frombits(binary.BigEndian.Uint64(key)), 64), true
	case t == KeyByteArray:
		return base64.StdEncoding.EncodeToString(key), true
	}
	return text(key), true
}

// javaFloat prints f as Java's Float.toString (bits 32) or Double.toString
// (bits 64) does, which is how KafkaSource writes a float key: the shortest
// digits that read back as f, as a decimal with at least one fraction digit
// when 1e-3 <= |f| < 1e7, else as d.dddE<exp>.
func javaFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}

	sign, abs := "", math.Abs(f)
	if math.Signbit(f) {
		sign = "-"
	}
	if abs == 0 || (abs >= 1e-3 && abs < 1e7) {
		s := strconv.FormatFloat(abs, 'f', -1, bits)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return sign + s
	}

	mant, exp, _ := strings.Cut(strconv.FormatFloat(abs, 'E', -1, bits), "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return sign + mant + "E" + strconv.Itoa(e)
}
