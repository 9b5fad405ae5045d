package producer

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidEvent is returned by [Producer.Send] for an event that cannot
	// be produced: an empty entity id, an empty event type, data that does
	// not marshal to JSON, or data whose own Validate method fails. Nothing
	// is written.
	ErrInvalidEvent = errors.New("producer: invalid event")

	// ErrTooLarge is matched (with [errors.Is]) by every [TooLargeError].
	ErrTooLarge = errors.New("producer: event too large")

	// ErrClosed is returned by [Producer.Send] and [Producer.SendAll] after
	// [Producer.Close] has begun. Nothing is written.
	ErrClosed = errors.New("producer: closed")
)

// TooLargeError is returned by [Producer.Send] for a record larger than
// [Config.MaxMessageBytes]. Nothing is written.
//
// Size is the record's size as sarama counts it against its own
// Producer.MaxMessageBytes (sarama's ProducerMessage.ByteSize for the v2
// record format): key, value, header keys and values, plus sarama's upper
// bound of the varint framing. The check is therefore exactly sarama's, made
// before the record is queued, and the broker, which counts the encoded
// batch, sees at most Size plus the 61-byte batch header.
type TooLargeError struct {
	// Topic is the producer's topic.
	Topic string
	// Subject is the entity id of the refused event.
	Subject string
	// Size is the record's size in bytes.
	Size int
	// Limit is the configured maximum.
	Limit int
}

// Error describes the refused record.
func (e *TooLargeError) Error() string {
	return fmt.Sprintf("producer: topic %s: event for subject %q is %d bytes, over the %d-byte "+
		"limit (PRODUCER_MAX_MESSAGE_BYTES)", e.Topic, shorten(e.Subject), e.Size, e.Limit)
}

// Is reports whether target is [ErrTooLarge].
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }
