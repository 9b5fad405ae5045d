package kafkasource

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/event"
)

// ErrNotCloudEvent is returned by [Parse] for a record that is not a valid
// CloudEvent in the Kafka protocol binding; [ToEvent] wraps such records.
var ErrNotCloudEvent = errors.New("kafkasource: not a cloudevent")

const (
	contentTypeHeader = "content-type"
	specVersionHeader = "ce_specversion"
	cePrefix          = "ce_"
	structuredType    = "application/cloudevents+json"
)

// Parse reads msg as a CloudEvent the way the CloudEvents Java SDK's Kafka
// binding does for KafkaSource. The last header named exactly content-type
// selects structured mode when its media type is
// application/cloudevents+json; otherwise the last ce_specversion header
// selects binary mode, where every header named ce_<name> (prefix in lower
// case) sets the attribute or extension <name> in lower case, in header
// order, and the content-type header sets datacontenttype. A null or empty
// value in binary mode is an event without data.
//
// The error wraps [ErrNotCloudEvent] and says why. Parse is stricter than the
// Java SDK in one way: an event that event.Validate rejects (an empty id,
// source or type, a relative dataschema, a datacontenttype that is not a
// media type) is not a CloudEvent here, so that every event [ToEvent]
// returns is valid.
func Parse(msg *sarama.ConsumerMessage) (event.Event, error) {
	var (
		ev  event.Event
		err error
	)
	ct, hasCT := lastHeader(msg.Headers, contentTypeHeader)
	sv, hasSV := lastHeader(msg.Headers, specVersionHeader)
	switch {
	case hasCT && isStructured(ct):
		ev, err = parseStructured(msg.Value)
	case hasSV:
		ev, err = parseBinary(msg, sv)
	default:
		err = errors.New("no structured content-type and no ce_specversion header")
	}
	if err == nil && !plainlyValid(ev) {
		err = ev.Validate()
	}
	if err != nil {
		return event.Event{}, fmt.Errorf("%w: partition %d offset %d: %w",
			ErrNotCloudEvent, msg.Partition, msg.Offset, err)
	}
	return ev, nil
}

// lastHeader returns the value of the last header named exactly name, as the
// Java client's Headers.lastHeader does.
func lastHeader(headers []*sarama.RecordHeader, name string) ([]byte, bool) {
	for i := len(headers) - 1; i >= 0; i-- {
		if h := headers[i]; h != nil && string(h.Key) == name {
			return h.Value, true
		}
	}
	return nil, false
}

// text decodes header bytes as UTF-8, replacing invalid sequences with
// U+FFFD as a Java String constructor does. A null header value is empty.
func text(b []byte) string {
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// isStructured reports whether a content-type header's media type, without
// its parameters and in its own case as the Java SDK's format lookup takes
// it, is the structured JSON format's. The bytes are compared as they are:
// invalid UTF-8, which [text] would replace, cannot match anyway.
func isStructured(ct []byte) bool {
	mt, _, _ := bytes.Cut(ct, []byte(";"))
	return string(bytes.TrimSpace(mt)) == structuredType
}

// specVersion returns the context of a known spec version.
func specVersion(sv string) (spec.Version, error) {
	v := spec.VS.Version(sv)
	if v == nil {
		return nil, fmt.Errorf("unknown specversion %q", sv)
	}
	return v, nil
}

// binaryVersion is [specVersion] for a ce_specversion header value,
// converted to a string only for the error.
func binaryVersion(sv []byte) (spec.Version, error) {
	for _, v := range spec.VS.Versions() {
		if string(sv) == v.String() {
			return v, nil
		}
	}
	return specVersion(text(sv))
}

func parseBinary(msg *sarama.ConsumerMessage, sv []byte) (event.Event, error) {
	v, err := binaryVersion(sv)
	if err != nil {
		return event.Event{}, err
	}

	ev := event.Event{Context: newContext(v)}
	for _, h := range msg.Headers {
		if h == nil {
			continue
		}
		if err := setHeader(&ev, v, h.Key, h.Value); err != nil {
			return event.Event{}, err
		}
	}

	// Like the Java binding, an empty value is an event without data.
	if len(msg.Value) > 0 {
		ev.DataEncoded = msg.Value
	}
	return ev, nil
}

// newContext returns an empty context of version v. A 1.0 context, the
// common case, is built directly: the SDK's NewContext deep-clones a
// prototype, which costs several allocations per record.
func newContext(v spec.Version) event.EventContext {
	if v.String() == event.CloudEventsVersionV1 {
		return &event.EventContextV1{}
	}
	return v.NewContext()
}

// setHeader applies one binary-mode header. Headers other than content-type
// and ce_* are ignored, so they are not delivered, and their bytes are never
// converted to strings.
func setHeader(ev *event.Event, v spec.Version, key, value []byte) error {
	if string(key) == contentTypeHeader {
		return ev.Context.SetDataContentType(text(value))
	}
	if len(key) <= len(cePrefix) || string(key[:len(cePrefix)]) != cePrefix {
		return nil
	}

	name := lowerName(key[len(cePrefix):])
	if name == "specversion" {
		return nil
	}
	return setAttribute(ev, v, name, text(value))
}

// lowerName returns name in lower case as strings.ToLower does, without
// allocating for the lower-case names of the CloudEvents attributes.
func lowerName(name []byte) string {
	switch string(name) {
	case "id":
		return "id"
	case "source":
		return "source"
	case "type":
		return "type"
	case "subject":
		return "subject"
	case "time":
		return "time"
	case "datacontenttype":
		return "datacontenttype"
	case "dataschema":
		return "dataschema"
	case "specversion":
		return "specversion"
	}
	return strings.ToLower(string(name))
}

// setAttribute sets a context attribute of version v, or else an extension,
// from its string form.
func setAttribute(ev *event.Event, v spec.Version, name, value string) error {
	if attr := v.Attribute(name); attr != nil {
		if err := setKind(ev.Context, attr, value); err != nil {
			return fmt.Errorf("attribute %s: %w", name, err)
		}
		return nil
	}
	if !validName(name) {
		return fmt.Errorf("extension name %q is not [a-z0-9]+", name)
	}
	return ev.Context.SetExtension(name, value)
}

// setKind sets attr from its string form. String attributes are set
// through the context's setter, as attr.Set does after boxing the value,
// which costs an allocation; the others go through attr.Set.
func setKind(c event.EventContextWriter, attr spec.Attribute, value string) error {
	switch attr.Kind() {
	case spec.ID:
		return c.SetID(value)
	case spec.Source:
		return c.SetSource(value)
	case spec.Type:
		return c.SetType(value)
	case spec.DataContentType:
		return c.SetDataContentType(value)
	case spec.DataSchema:
		return c.SetDataSchema(value)
	case spec.Subject:
		return c.SetSubject(value)
	}
	return attr.Set(c, value)
}

// parseStructured decodes a JSON event format envelope as the Java SDK's
// Jackson format does: attributes must be JSON strings, other members are
// extensions whose names must be [a-z0-9]+ and whose values become strings
// (numbers and booleans as written, objects and arrays as compact JSON, null
// as absent), and data is JSON when datacontenttype is absent or a JSON
// type, else the content of a JSON string.
func parseStructured(value []byte) (event.Event, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(value, &members); err != nil {
		return event.Event{}, fmt.Errorf("structured envelope: %w", err)
	}

	var sv string
	if err := jsonString(members["specversion"], &sv); err != nil {
		return event.Event{}, fmt.Errorf("specversion: %w", err)
	}
	v, err := specVersion(sv)
	if err != nil {
		return event.Event{}, err
	}

	ev := event.Event{Context: newContext(v)}
	for name, raw := range members {
		if err := setMember(&ev, v, name, raw); err != nil {
			return event.Event{}, err
		}
	}
	return ev, setJSONData(&ev, members)
}

// setMember applies one envelope member other than specversion and data.
func setMember(ev *event.Event, v spec.Version, name string, raw json.RawMessage) error {
	switch name {
	case "specversion", "data", "data_base64":
		return nil
	}
	if v.Attribute(name) != nil && name == strings.ToLower(name) {
		var s string
		if err := jsonString(raw, &s); err != nil {
			return fmt.Errorf("attribute %s: %w", name, err)
		}
		return setAttribute(ev, v, name, s)
	}
	if !validName(name) {
		return fmt.Errorf("extension name %q is not [a-z0-9]+", name)
	}

	s, ok, err := jsonText(raw)
	if err != nil || !ok {
		return err
	}
	return ev.Context.SetExtension(name, s)
}

// jsonString decodes a JSON string member; a missing member is an error.
func jsonString(raw json.RawMessage, s *string) error {
	if raw == nil {
		return errors.New("missing")
	}
	if err := json.Unmarshal(raw, s); err != nil || raw[0] != '"' {
		return fmt.Errorf("not a JSON string: %s", raw)
	}
	return nil
}

// jsonText returns the string form of an extension member; ok is false for
// null.
func jsonText(raw json.RawMessage) (string, bool, error) {
	switch raw[0] {
	case 'n':
		return "", false, nil
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err == nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", false, err
	}
	return buf.String(), true, nil
}

// setJSONData sets the event data from data or data_base64, which must not
// both be present.
func setJSONData(ev *event.Event, members map[string]json.RawMessage) error {
	data, b64 := nonNull(members["data"]), nonNull(members["data_base64"])
	switch {
	case data != nil && b64 != nil:
		return errors.New("both data and data_base64 are present")
	case b64 != nil:
		var s string
		if err := jsonString(b64, &s); err != nil {
			return fmt.Errorf("data_base64: %w", err)
		}
		decoded, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("data_base64: %w", err)
		}
		ev.DataEncoded = decoded
	case data != nil:
		return setDataMember(ev, data)
	}
	return nil
}

func setDataMember(ev *event.Event, data json.RawMessage) error {
	if data[0] == '"' && !isJSON(ev.DataContentType()) {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("data: %w", err)
		}
		ev.DataEncoded = []byte(s)
		return nil
	}

	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	ev.DataEncoded = buf.Bytes()
	return nil
}

func nonNull(raw json.RawMessage) json.RawMessage {
	if raw == nil || string(raw) == "null" {
		return nil
	}
	return raw
}

// isJSON reports whether data of content type ct is JSON in the JSON event
// format: no content type, application/json, text/json or a +json type.
func isJSON(ct string) bool {
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	major, _, _ := strings.Cut(mt, "/")
	return mt == "application/json" || mt == "text/json" ||
		((major == "application" || major == "text") && strings.HasSuffix(mt, "+json"))
}

// plainlyValid reports whether ev, a 1.0 event, passes event.Validate by
// checks that allocate nothing: a non-blank id and type, a source with a
// scheme, host or path, a datacontenttype that is a bare type/subtype of
// token characters, an absolute dataschema and a non-blank subject. When it
// reports false, event.Validate decides and gives the error.
func plainlyValid(ev event.Event) bool {
	ec, ok := ev.Context.(*event.EventContextV1)
	if !ok || len(ev.FieldErrors) > 0 {
		return false
	}
	src := ec.Source.URL
	return !blank(ec.ID) && !blank(ec.Type) &&
		(src.Scheme != "" || src.Host != "" || src.Path != "") &&
		(ec.DataContentType == nil || bareMediaType(strings.TrimSpace(*ec.DataContentType))) &&
		(ec.DataSchema == nil || ec.DataSchema.IsAbs()) &&
		(ec.Subject == nil || !blank(*ec.Subject))
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

// bareMediaType reports whether ct is type/subtype of RFC 2045 token
// characters without parameters, which mime.ParseMediaType accepts.
func bareMediaType(ct string) bool {
	typ, sub, ok := strings.Cut(ct, "/")
	return ok && isToken(typ) && isToken(sub)
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}
