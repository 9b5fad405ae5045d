package producer

import (
	"bytes"
	"context"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// cloudEvent is one event to produce, as a binary-mode [binding.Message]:
// the attribute set every record of this package carries, handed straight to
// kafka_sarama's writer. It encodes exactly as an [event.Event] with the same
// attributes would (the tests compare the two), without building the
// general-purpose event and its maps on every send.
//
// The string attributes are boxed once per event (the subject serves as both
// subject and partitionkey), and the time is formatted once, exactly as the
// SDK formats a [types.Timestamp], so the SDK's writer does not box or format
// them again for every header.
type cloudEvent struct {
	id        any
	source    any
	eventType any
	subject   any
	time      types.Timestamp
	timeText  any
	data      []byte
	// reader hands data to the writer without allocating a reader per send.
	reader bytes.Reader
}

// init sets the event's attributes, boxed for the writer, and its data.
func (c *cloudEvent) init(id string, source, eventType any, subject string, at time.Time,
	data []byte) {
	*c = cloudEvent{id: id, source: source, eventType: eventType, subject: subject,
		time: types.Timestamp{Time: at}, timeText: types.FormatTime(at), data: data}
}

var (
	_ binding.Message               = (*cloudEvent)(nil)
	_ binding.MessageMetadataReader = (*cloudEvent)(nil)
)

// ReadEncoding reports binary mode.
func (*cloudEvent) ReadEncoding() binding.Encoding { return binding.EncodingBinary }

// ReadStructured refuses: the event is only ever written in binary mode.
func (*cloudEvent) ReadStructured(context.Context, binding.StructuredWriter) error {
	return binding.ErrNotStructured
}

// ReadBinary writes the attributes in the CloudEvents 1.0 order, the
// partitionkey extension (the entity id), then the JSON data.
func (c *cloudEvent) ReadBinary(_ context.Context, w binding.BinaryWriter) error {
	for _, a := range spec.V1.Attributes() {
		if v := c.binaryAttribute(a.Kind()); v != nil {
			if err := w.SetAttribute(a, v); err != nil {
				return err
			}
		}
	}
	if err := w.SetExtension(partitionKeyExtension, c.subject); err != nil {
		return err
	}
	c.reader.Reset(c.data)
	return w.SetData(&c.reader)
}

// GetAttribute returns the attribute of kind k and its value, nil when unset.
func (c *cloudEvent) GetAttribute(k spec.Kind) (spec.Attribute, any) {
	return spec.V1.AttributeFromKind(k), c.attribute(k)
}

// GetExtension returns the partitionkey extension; there is no other.
func (c *cloudEvent) GetExtension(name string) any {
	if name == partitionKeyExtension {
		return c.subject
	}
	return nil
}

// Finish does nothing: the event holds no resources.
func (*cloudEvent) Finish(error) error { return nil }

// binaryAttribute is the value ReadBinary writes: the attribute, with the
// time already in its canonical text.
func (c *cloudEvent) binaryAttribute(k spec.Kind) any {
	if k == spec.Time {
		return c.timeText
	}
	return c.attribute(k)
}

func (c *cloudEvent) attribute(k spec.Kind) any {
	switch k {
	case spec.ID:
		return c.id
	case spec.Source:
		return c.source
	case spec.SpecVersion:
		return event.CloudEventsVersionV1
	case spec.Type:
		return c.eventType
	case spec.DataContentType:
		return event.ApplicationJSON
	case spec.Subject:
		return c.subject
	case spec.Time:
		return c.time
	default:
		return nil
	}
}
