package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/sethvargo/go-retry"
)

// deadLetterWriter writes dead letters to a topic as binary CloudEvents.
// It wraps an async producer so a write can be given up when its context
// ends, which sarama's sync producer cannot do.
type deadLetterWriter struct {
	topic    string
	producer sarama.AsyncProducer
	routed   chan struct{} // closed when route has returned

	// mu keeps writes off a closed producer: a write holds it shared while
	// it hands a message over, close holds it to mark the writer closed.
	mu     sync.RWMutex
	closed bool
}

// errWriterClosed is returned by a write that comes after close, which
// only an abandoned delivery can do.
var errWriterClosed = errors.New("dispatcher: dead-letter writer closed")

// openDeadLetter connects the dead-letter producer; without a dead-letter
// topic it returns nil, and a nil writer's close does nothing.
func (d *Dispatcher) openDeadLetter() (*deadLetterWriter, error) {
	if d.producerConfig == nil {
		return nil, nil
	}
	p, err := sarama.NewAsyncProducer(d.brokers, d.producerConfig)
	if err != nil {
		return nil, fmt.Errorf("dispatcher: connect dead-letter producer for %s: %w",
			d.cfg.DeadLetterTopic, err)
	}

	w := &deadLetterWriter{topic: d.cfg.DeadLetterTopic, producer: p,
		routed: make(chan struct{})}
	go w.route()
	return w, nil
}

// route hands each acknowledgement or failure to the write waiting for it,
// through the result channel carried in the message's Metadata.
func (w *deadLetterWriter) route() {
	defer close(w.routed)
	successes, failures := w.producer.Successes(), w.producer.Errors()
	for successes != nil || failures != nil {
		select {
		case m, ok := <-successes:
			if !ok {
				successes = nil
				continue
			}
			m.Metadata.(chan error) <- nil
		case pe, ok := <-failures:
			if !ok {
				failures = nil
				continue
			}
			pe.Msg.Metadata.(chan error) <- pe.Err
		}
	}
}

// close flushes and closes the producer. Every write has returned by then:
// writes happen inside group sessions, which have all ended.
func (w *deadLetterWriter) close() {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()

	w.producer.AsyncClose()
	<-w.routed
}

// write writes ev with the record key key, retrying with backoff until it
// is acknowledged or ctx ends, and calling onRetry before each retry. It
// returns nil once written, else the context's error.
//
// A dead letter larger than the producer accepts (a record near the
// broker's size limit, plus the failure's extensions) can never be written:
// it is written without its data instead, and the knativekafkapartition and
// knativekafkaoffset extensions still locate the original record. write
// then reports trimmed.
func (w *deadLetterWriter) write(
	ctx context.Context,
	ev event.Event,
	key []byte,
	onRetry func(error),
) (trimmed bool, err error) {
	backoff := retry.WithCappedDuration(5*time.Second,
		retry.NewExponential(50*time.Millisecond))
	err = retry.Do(ctx, backoff, func(ctx context.Context) error {
		err := w.writeOnce(ctx, ev, key)
		if isTooLarge(err) && !trimmed {
			ev, trimmed = withoutData(ev), true
			err = w.writeOnce(ctx, ev, key)
		}
		if err == nil || ctx.Err() != nil {
			return err
		}
		onRetry(err)
		return retry.RetryableError(err)
	})
	return trimmed, err
}

// writeOnce makes one attempt at writing ev.
func (w *deadLetterWriter) writeOnce(ctx context.Context, ev event.Event, key []byte) error {
	result := make(chan error, 1)
	pm := &sarama.ProducerMessage{Topic: w.topic, Metadata: result}
	if key != nil {
		pm.Key = sarama.ByteEncoder(key)
	}
	// The record key is kept as is: the partitionkey extension must not
	// replace it, and the event goes out in binary mode whatever it came in.
	encodeCtx := kafka_sarama.WithSkipKeyMapping(binding.WithForceBinary(ctx))
	if err := kafka_sarama.WriteProducerMessage(encodeCtx, (*binding.EventMessage)(&ev),
		pm); err != nil {
		return fmt.Errorf("dispatcher: encode dead letter %s: %w", ev.ID(), err)
	}

	if err := w.send(ctx, pm); err != nil {
		return err
	}
	select {
	case err := <-result:
		if err != nil {
			return fmt.Errorf("dispatcher: write dead letter %s to %s: %w", ev.ID(), w.topic, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send hands pm to the producer unless the writer is closed or ctx ends.
func (w *deadLetterWriter) send(ctx context.Context, pm *sarama.ProducerMessage) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return errWriterClosed
	}

	select {
	case w.producer.Input() <- pm:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// isTooLarge reports a write refused for its size, by the producer's own
// limit (a configuration error) or by the broker.
func isTooLarge(err error) bool {
	var ce sarama.ConfigurationError
	return errors.Is(err, sarama.ErrMessageSizeTooLarge) || errors.As(err, &ce)
}

// withoutData returns a copy of ev without its data and data content type.
func withoutData(ev event.Event) event.Event {
	c := ev.Clone()
	c.DataEncoded = nil
	c.SetDataContentType("")
	return c
}
