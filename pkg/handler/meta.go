package handler

import (
	"fmt"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"function/pkg/kafkasource"
)

// Meta is what a handler may need of a delivery besides its data.
type Meta struct {
	// ID is the CloudEvents id; with Source it identifies the event, so a
	// handler that must act once dedupes on the pair.
	ID string
	// Source is the CloudEvents source.
	Source string
	// Type is the CloudEvents type, such as events.TypeUserCreated.
	Type string
	// Subject is the CloudEvents subject, empty when absent. The project's
	// producer sets it to the entity id.
	Subject string
	// Time is the CloudEvents time, zero when absent.
	Time time.Time
	// Kafka is where the record was read, nil when the delivery carries no
	// knativekafkapartition and knativekafkaoffset extensions (an event sent
	// straight over HTTP).
	Kafka *Position
}

// Position is a record's place in Kafka.
type Position struct {
	// Partition is the partition of the topic the record was read from.
	Partition int32
	// Offset is the record's offset in Partition.
	Offset int64
}

// String names the event for error messages: its id, source and type.
func (m Meta) String() string {
	return fmt.Sprintf("event %q from %q (type %q)", m.ID, m.Source, m.Type)
}

// MetaOf returns the metadata of e. It fails only when e carries a Kafka
// position extension that is not a number, or only one of the two.
func MetaOf(e event.Event) (Meta, error) {
	m := Meta{
		ID:      e.ID(),
		Source:  e.Source(),
		Type:    e.Type(),
		Subject: e.Subject(),
		Time:    e.Time(),
	}

	pos, err := positionOf(e.Extensions())
	if err != nil {
		return m, err
	}
	m.Kafka = pos
	return m, nil
}

// positionOf reads the Kafka position extensions. Over HTTP their values are
// strings ("42"); an event built in-process may hold numbers instead.
func positionOf(ext map[string]any) (*Position, error) {
	p, hasP := ext[kafkasource.ExtPartition]
	o, hasO := ext[kafkasource.ExtOffset]
	if !hasP && !hasO {
		return nil, nil
	}
	if hasP != hasO {
		return nil, fmt.Errorf("%w: %s and %s come together, got only one",
			ErrBadExtension, kafkasource.ExtPartition, kafkasource.ExtOffset)
	}

	partition, err := extensionInt(kafkasource.ExtPartition, p, 32)
	if err != nil {
		return nil, err
	}
	offset, err := extensionInt(kafkasource.ExtOffset, o, 64)
	if err != nil {
		return nil, err
	}
	if partition < 0 || offset < 0 {
		return nil, fmt.Errorf("%w: negative kafka position %d/%d",
			ErrBadExtension, partition, offset)
	}
	return &Position{Partition: int32(partition), Offset: offset}, nil
}

// extensionInt parses one extension value as a base-10 integer of bits size.
func extensionInt(name string, v any, bits int) (int64, error) {
	s, err := types.Format(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", ErrBadExtension, name, err)
	}
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %q is not an integer", ErrBadExtension, name, s)
	}
	return n, nil
}
