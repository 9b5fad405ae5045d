// Package dispatcher reads Kafka topics with a consumer group and delivers
// each record to a sink as the CloudEvent a Knative KafkaSource would
// deliver, under the KafkaSource's rules: its retries and backoff, its dead
// letters, and its ordered or unordered dispatch. It runs where no cluster
// does: on a laptop, in tests, beside `func run`.
//
// Every record reaches a final outcome before its offset is committed: it
// was delivered, or its last attempt failed and it was written to the
// dead-letter topic (or, without one, logged and dropped, as a KafkaSource
// without a dead-letter sink does). Only a contiguous prefix of finished
// records is ever committed, so a stop, a crash or a rebalance redelivers
// what was not finished and loses nothing: delivery is at least once.
package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	"github.com/sethvargo/go-retry"

	"function/pkg/delivery"
	"function/pkg/kafka"
	"function/pkg/kafkasource"
	"function/pkg/topology"
)

// ErrNoSink is returned by [New] when it is given no sink.
var ErrNoSink = errors.New("dispatcher: no sink")

// Dispatcher delivers the records of a KafkaSource's topics to one sink. Its
// methods may be called from any goroutine, but only one [Dispatcher.Run]
// at a time.
type Dispatcher struct {
	cfg     Config
	brokers []string
	sink    delivery.Sink
	policy  delivery.Policy
	opts    kafkasource.Options
	log     *slog.Logger

	consumerConfig *sarama.Config
	producerConfig *sarama.Config // nil without a dead-letter topic

	// slots bounds the records in flight in unordered mode.
	slots chan struct{}
}

// New validates its arguments and returns a dispatcher that is not yet
// connected; [Dispatcher.Run] connects. A nil logger discards the logs.
func New(
	cfg Config,
	kc kafka.Config,
	sink delivery.Sink,
	logger *slog.Logger,
) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if sink == nil {
		return nil, ErrNoSink
	}
	if err := cfg.Policy().Validate(); err != nil {
		return nil, fmt.Errorf("dispatcher: delivery policy: %w", err)
	}
	if err := cfg.Options().Validate(); err != nil {
		return nil, fmt.Errorf("dispatcher: conversion options: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	d := &Dispatcher{
		cfg:     cfg,
		brokers: kc.Brokers,
		sink:    sink,
		policy:  cfg.Policy(),
		opts:    cfg.Options(),
		log:     logger.With("handler", handlerName(cfg)),
		slots:   make(chan struct{}, cfg.MaxInFlight),
	}
	var err error
	if d.consumerConfig, err = consumerConfig(cfg, kc); err != nil {
		return nil, err
	}
	if cfg.DeadLetterTopic != "" {
		if d.producerConfig, err = producerConfig(kc); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// handlerName is what the logs call this dispatcher's handler: the route
// its ceOverrides give ([topology.RouteExtension]), else the source's name.
func handlerName(cfg Config) string {
	if h := cfg.CEOverrides[topology.RouteExtension]; h != "" {
		return h
	}
	return cfg.SourceName
}

// consumerConfig applies the source's settings to the shared Kafka ones.
func consumerConfig(cfg Config, kc kafka.Config) (*sarama.Config, error) {
	sc, err := kc.Sarama()
	if err != nil {
		return nil, fmt.Errorf("dispatcher: %w", err)
	}

	sc.Consumer.Offsets.Initial = sarama.OffsetNewest
	if cfg.InitialOffset == Earliest {
		sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	}
	sc.Consumer.Offsets.AutoCommit.Enable = true
	sc.Consumer.Offsets.AutoCommit.Interval = time.Duration(cfg.CommitInterval)
	sc.Consumer.Return.Errors = true
	// Source topics must exist, as a KafkaSource requires: a typo should
	// not create an empty topic and wait on it.
	sc.Metadata.AllowAutoTopicCreation = false

	// Revoked partitions are held until in-flight work ends, which takes up
	// to StopTimeout: the group must wait at least that long for us.
	floor := time.Duration(cfg.StopTimeout) + 10*time.Second
	if sc.Consumer.Group.Rebalance.Timeout < floor {
		sc.Consumer.Group.Rebalance.Timeout = floor
	}
	tuneFetching(sc)

	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("dispatcher: consumer configuration: %w", err)
	}
	return sc, nil
}

// tuneFetching sizes sarama's fetches and buffers. A fetch takes up to 1 MiB
// per partition (the Java consumer's default); the channel between a fetch
// and a partition's dispatcher holds 1024 records, so in ordered mode the
// dispatcher stays busy while the next fetch is in flight.
func tuneFetching(sc *sarama.Config) {
	sc.Consumer.Fetch.Default = 1 << 20
	sc.Consumer.Fetch.Min = 1
	sc.ChannelBufferSize = 1024
	// A partition whose dispatcher is busy for longer is left out of fetches
	// until it drains, so one slow handler does not stall the others.
	sc.Consumer.MaxProcessingTime = time.Second
}

// producerConfig configures the dead-letter producer: every write is
// acknowledged by all in-sync replicas before its record's offset moves.
func producerConfig(kc kafka.Config) (*sarama.Config, error) {
	sc, err := kc.Sarama()
	if err != nil {
		return nil, fmt.Errorf("dispatcher: %w", err)
	}

	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.Partitioner = sarama.NewMurmur2Partitioner
	// The dead-letter topic must exist: writes to a missing one fail and are
	// retried, holding the offset, until someone creates it.
	sc.Metadata.AllowAutoTopicCreation = false

	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("dispatcher: producer configuration: %w", err)
	}
	return sc, nil
}

// Run joins the consumer group and delivers records until ctx ends, then
// stops cleanly: it stops fetching, lets in-flight deliveries finish for up
// to StopTimeout (abandoning the rest, which are delivered again after a
// restart), commits the finished offsets, leaves the group and closes its
// connections. It returns nil after a clean stop, or the error that kept it
// from starting.
//
// Errors after the start (a broker that went away, a coordinator moving) are
// logged at Warn and retried with backoff until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	dl, err := d.openDeadLetter()
	if err != nil {
		return err
	}
	defer dl.close()

	group, err := sarama.NewConsumerGroup(d.brokers, d.cfg.ConsumerGroup, d.consumerConfig)
	if err != nil {
		return fmt.Errorf("dispatcher: join group %s: %w", d.cfg.ConsumerGroup, err)
	}
	errorsDone := make(chan struct{})
	go d.logErrors(group.Errors(), errorsDone)

	d.log.Info("dispatcher started", "topics", d.cfg.Topics, "group", d.cfg.ConsumerGroup,
		"ordering", d.cfg.Ordering, "dead_letter_topic", d.cfg.DeadLetterTopic)
	d.consume(ctx, group, &groupHandler{d: d, dl: dl})

	err = group.Close()
	<-errorsDone
	d.log.Info("dispatcher stopped", "group", d.cfg.ConsumerGroup)
	if err != nil {
		return fmt.Errorf("dispatcher: leave group %s: %w", d.cfg.ConsumerGroup, err)
	}
	return nil
}

// consume runs one group session after another, each ending with a
// rebalance, until ctx ends. Failed sessions are retried with backoff.
func (d *Dispatcher) consume(ctx context.Context, group sarama.ConsumerGroup, h *groupHandler) {
	backoff := newSessionBackoff()
	for ctx.Err() == nil {
		err := group.Consume(ctx, d.cfg.Topics, h)
		if err == nil || ctx.Err() != nil {
			backoff = newSessionBackoff()
			continue
		}

		wait, _ := backoff.Next()
		d.log.Warn("consumer group session failed, retrying", "group", d.cfg.ConsumerGroup,
			"retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

func newSessionBackoff() retry.Backoff {
	return retry.WithCappedDuration(5*time.Second, retry.NewExponential(100*time.Millisecond))
}

// logErrors logs what the consumer group reports outside a delivery, such
// as a failed commit or fetch; sarama retries those itself.
func (d *Dispatcher) logErrors(errs <-chan error, done chan<- struct{}) {
	defer close(done)
	for err := range errs {
		if ce, ok := errors.AsType[*sarama.ConsumerError](err); ok {
			d.log.Warn("kafka consumer error", "topic", ce.Topic, "partition", ce.Partition,
				"err", ce.Err)
			continue
		}
		d.log.Warn("kafka consumer error", "err", err)
	}
}
