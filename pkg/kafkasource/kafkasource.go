// Package kafkasource turns Kafka records into CloudEvents exactly as
// Knative's KafkaSource does (eventing-kafka-broker's dispatcher with the
// CloudEvents Kafka protocol binding):
//
//   - a record in structured mode (content-type application/cloudevents+json)
//     or binary mode (a ce_specversion header) that is a valid CloudEvent is
//     passed through unchanged; its other headers and its key are dropped;
//   - any other record is wrapped as a dev.knative.kafka.event whose data is
//     the raw value and whose extensions carry the key and the headers;
//   - every event then gets knativekafkapartition, knativekafkaoffset and the
//     KafkaSource's ceOverrides extensions.
//
// Every extension value is a string, so a handler called in process sees the
// same values as one reached over HTTP.
package kafkasource

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/v2/event"
)

// KeyType says how a record key is decoded into the key and partitionkey
// extensions of a wrapped event, like KafkaSource's
// kafkasources.sources.knative.dev/key-type label. It never changes
// partitioning.
type KeyType string

// Key types.
const (
	// KeyString decodes the key as UTF-8 text; it is the default.
	KeyString KeyType = "string"
	// KeyInt decodes a 4-byte key as a big-endian int32; other lengths fall
	// back to [KeyString].
	KeyInt KeyType = "int"
	// KeyFloat decodes a 4-byte key as a float32 and an 8-byte key as a
	// float64, printed as Java prints them (1.0, 1.5E10); other lengths fall
	// back to [KeyString].
	KeyFloat KeyType = "float"
	// KeyByteArray encodes the key bytes as standard padded base64.
	KeyByteArray KeyType = "byte-array"
)

// Extensions every delivered event carries.
const (
	// ExtPartition is the record's partition, as a decimal string.
	ExtPartition = "knativekafkapartition"
	// ExtOffset is the record's offset, as a decimal string.
	ExtOffset = "knativekafkaoffset"
)

// WrapType is the CloudEvents type of a record that is not a CloudEvent.
const WrapType = "dev.knative.kafka.event"

// ErrInvalidOptions is returned by [Options.Validate] for options no
// KafkaSource could have.
var ErrInvalidOptions = errors.New("kafkasource: invalid options")

// Options describe the KafkaSource a record is converted for.
type Options struct {
	// Namespace is the KafkaSource's namespace (a DNS label), used in a
	// wrapped event's source. Required.
	Namespace string
	// Name is the KafkaSource's name (a DNS subdomain), used in a wrapped
	// event's source. Required.
	Name string
	// KeyType decodes the record key of a wrapped event; empty means
	// [KeyString].
	KeyType KeyType
	// Extensions are the ceOverrides extensions, set on every event last, so
	// they replace an extension of the same name. Nil means none.
	Extensions map[string]string
}

var (
	dnsLabel     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsSubdomain = regexp.MustCompile(
		`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// Validate reports every option a KafkaSource could not have: a namespace or
// name that is not a Kubernetes name, an unknown key type, or a ceOverrides
// extension whose name is not [a-z0-9]+ or is a CloudEvents attribute.
func (o Options) Validate() error {
	var errs []error
	if len(o.Namespace) > 63 || !dnsLabel.MatchString(o.Namespace) {
		errs = append(errs, fmt.Errorf("namespace %q is not a DNS label", o.Namespace))
	}
	if len(o.Name) > 253 || !dnsSubdomain.MatchString(o.Name) {
		errs = append(errs, fmt.Errorf("name %q is not a DNS subdomain", o.Name))
	}
	switch o.KeyType {
	case "", KeyString, KeyInt, KeyFloat, KeyByteArray:
	default:
		errs = append(errs, fmt.Errorf("key type %q is not string, int, float or byte-array",
			o.KeyType))
	}
	for name := range o.Extensions {
		if err := checkOverride(name); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, errors.Join(errs...))
	}
	return nil
}

func checkOverride(name string) error {
	if !validName(name) {
		return fmt.Errorf("extension name %q is not [a-z0-9]+", name)
	}
	if _, ok := reserved[name]; ok {
		return fmt.Errorf("extension name %q is a CloudEvents attribute", name)
	}
	return nil
}

// reserved are the names an extension cannot take: the attributes of every
// spec version and the structured-mode data members.
var reserved = map[string]struct{}{
	"specversion": {}, "id": {}, "source": {}, "type": {}, "subject": {}, "time": {},
	"datacontenttype": {}, "dataschema": {}, "schemaurl": {}, "datacontentencoding": {},
	"data": {},
}

// validName reports whether name is a CloudEvents attribute name: one or
// more of a-z and 0-9.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// ToEvent converts msg into the CloudEvent a KafkaSource configured by o
// would deliver. It never fails and never panics, whatever the record's
// bytes: a record that [Parse] rejects is wrapped as a [WrapType] event, and
// the result always passes event.Validate. A nil msg is treated as an empty
// record. Extensions of o that [Options.Validate] rejects are skipped.
//
// Header values, keys and CloudEvents attributes are read as UTF-8 like the
// Java data plane reads them; each run of invalid bytes becomes U+FFFD (Java
// may emit one U+FFFD per malformed sequence instead). The value bytes are
// never altered.
func ToEvent(msg *sarama.ConsumerMessage, o Options) event.Event {
	if msg == nil {
		msg = &sarama.ConsumerMessage{}
	}

	ev, err := Parse(msg)
	if err != nil {
		ev = wrap(msg, o)
	}

	setString(&ev, ExtPartition, strconv.FormatInt(int64(msg.Partition), 10))
	setString(&ev, ExtOffset, strconv.FormatInt(msg.Offset, 10))
	for name, value := range o.Extensions {
		if checkOverride(name) == nil {
			setString(&ev, name, value)
		}
	}
	return ev
}

// setString sets an extension whose name is known to be [a-z0-9]+ and not
// an attribute. On a 1.0 context whose name the SDK's
// MaxExtensionNameLength allows it writes the map directly, which is what
// SetExtension does for such a name and a string after checks that cannot
// fail; otherwise SetExtension decides.
func setString(ev *event.Event, name, value string) {
	ec, ok := ev.Context.(*event.EventContextV1)
	if !ok || (event.MaxExtensionNameLength > 0 && len(name) > event.MaxExtensionNameLength) {
		_ = ev.Context.SetExtension(name, value)
		return
	}
	if ec.Extensions == nil {
		ec.Extensions = make(map[string]any, 4)
	}
	ec.Extensions[name] = value
}
