// Package producer writes typed events to Kafka as binary-mode CloudEvents.
//
// A [Producer] is bound at construction to one event type parameter, one
// topic and one CloudEvents source, so a producer of user events can write
// nothing else and nowhere else. Every record it writes carries a fresh
// CloudEvents id, the time of the send in RFC 3339 UTC, and the entity id
// ([events.Event.GetId]) three times: as the Kafka key, as the CloudEvents
// subject and as the partitionkey extension. Records are partitioned with the
// Java client's murmur2 hash and written by an idempotent producer, so every
// event of one entity lands on one partition in the order it was sent.
//
// [Producer.Send] returns only once the broker has acknowledged the record,
// or with an error: a record is never reported sent when it was not.
package producer

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"function/pkg/events"
	"function/pkg/topology"
)

// Receipt says where the broker stored an acknowledged event.
type Receipt struct {
	// ID is the CloudEvents id of the event, fresh for every send.
	ID string
	// Subject is the entity id: the record key, CloudEvents subject and
	// partitionkey.
	Subject string
	// Topic is the topic the record was written to.
	Topic string
	// Partition is the partition the record was written to.
	Partition int32
	// Offset is the record's offset in its partition.
	Offset int64
}

// Result is the outcome of one event of [Producer.SendAll]: a receipt when Err
// is nil, else the error [Producer.Send] would have returned.
type Result struct {
	Receipt
	// Err is nil when the broker acknowledged the event.
	Err error
}

// Producer writes events of type T to one topic. It is safe for concurrent
// use: sends from many goroutines share one sarama AsyncProducer and are
// batched together, each waiting only for its own acknowledgement.
type Producer[T events.Event] struct {
	topic   string
	limit   int
	timeout time.Duration
	enc     encoder[T]
	async   sarama.AsyncProducer
	log     *slog.Logger

	// mu orders enqueueing against Close: sarama panics on a send to the
	// input of a producer being closed, so Close takes the write lock
	// before it closes sarama's producer, and enqueuers hold the read lock.
	mu      sync.RWMutex
	closed  bool
	closing chan struct{}

	// Close first waits for idle (nothing in flight once closed), and only
	// then closes sarama's producer: sarama fails the records it is still
	// retrying when it shuts down, so closing it early would lose flushes.
	stopOnce  sync.Once
	stopped   atomic.Bool
	inFlight  atomic.Int64
	idle      chan struct{}
	idleOnce  sync.Once
	closeOnce sync.Once
	drained   chan struct{}
}

// UserProducer is the producer of user events, bound to
// [topology.UsersTopic].
type UserProducer = Producer[events.UserEvent]

// Option changes how [New] builds a producer.
type Option func(*options)

type options struct {
	log   *slog.Logger
	types []string
}

// WithLogger sets the logger of the producer's delivery loop. Without it, or
// with nil, nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithEventTypes restricts the CloudEvents types [Producer.Send] accepts.
// Without it any non-empty type is accepted.
func WithEventTypes(types ...string) Option {
	return func(o *options) { o.types = append(o.types, types...) }
}

// NewUserProducer returns a producer of user events bound to
// [topology.UsersTopic] that accepts only the types of [events.UserTypes].
// cfg.Topic may be empty or name the users topic; any other topic is refused.
func NewUserProducer(cfg Config, opts ...Option) (*UserProducer, error) {
	if cfg.Topic != "" && cfg.Topic != topology.UsersTopic {
		return nil, fmt.Errorf("producer: invalid configuration: PRODUCER_TOPIC: user events "+
			"go to topic %q, not %q", topology.UsersTopic, cfg.Topic)
	}
	cfg.Topic = topology.UsersTopic
	opts = append([]Option{WithEventTypes(events.UserTypes...)}, opts...)
	return New[events.UserEvent](cfg, opts...)
}

// New validates cfg and returns a producer of T bound to cfg.Topic and
// cfg.Source. It connects to the brokers to obtain an idempotent producer id,
// so an unreachable cluster fails here, within the dial timeout.
func New[T events.Event](cfg Config, opts ...Option) (*Producer[T], error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	enc, err := newEncoder[T](cfg, o.types)
	if err != nil {
		return nil, err
	}
	sc, err := cfg.saramaConfig()
	if err != nil {
		return nil, err
	}

	async, err := sarama.NewAsyncProducer(cfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("producer: topic %s: connect to %v: %w", cfg.Topic, cfg.Brokers,
			err)
	}
	p := &Producer[T]{
		topic:   cfg.Topic,
		limit:   cfg.MaxMessageBytes,
		timeout: cfg.SendTimeout,
		enc:     enc,
		async:   async,
		log:     logger(o.log),
		closing: make(chan struct{}),
		idle:    make(chan struct{}),
		drained: make(chan struct{}),
	}
	p.start()
	p.log.Info("producer started", "topic", p.topic)
	return p, nil
}

// Topic returns the topic p writes to.
func (p *Producer[T]) Topic() string { return p.topic }

// Send writes ev as one CloudEvent of the given type and returns once the
// broker has acknowledged it, with the record's partition and offset and the
// event's CloudEvents id.
//
// Errors: [ErrInvalidEvent] and [TooLargeError] before anything is written,
// [ErrClosed] after [Producer.Close], and broker or timeout errors naming the
// topic and event id. Send gives up when ctx ends or after
// [Config.SendTimeout]; an error that says the outcome is unknown means the
// record was handed to the broker and may still be written.
func (p *Producer[T]) Send(ctx context.Context, eventType string, ev T) (Receipt, error) {
	exp := p.expiry(ctx)
	defer exp.release()

	msg, pend, err := p.prepare(eventType, ev)
	if err != nil {
		return Receipt{}, err
	}
	if err := p.enqueue(ctx, exp.C(), msg, pend); err != nil {
		pend.release()
		return Receipt{}, err
	}
	return p.wait(ctx, exp.C(), pend)
}

// SendAll writes every event of evs as one CloudEvent of the given type and
// returns one [Result] per event, in the order of evs. The events are encoded
// on every CPU and queued back to back, in order, before any acknowledgement
// is awaited, so they travel in batches; events of one entity keep their
// order. An event refused before sending does not stop the others.
// [Config.SendTimeout] bounds the whole call, so a very large batch is better
// split.
func (p *Producer[T]) SendAll(ctx context.Context, eventType string, evs []T) []Result {
	ctx, cancel := p.bound(ctx)
	defer cancel()

	slots, chunks := p.encodeAll(eventType, evs)
	for i := range slots {
		if i%encodeChunk == 0 {
			<-chunks[i/encodeChunk]
		}
		p.enqueueSlot(ctx, &slots[i])
	}

	results := make([]Result, len(evs))
	for i, s := range slots {
		results[i].Err = s.err
		if s.pend != nil {
			results[i].Receipt, results[i].Err = p.wait(ctx, nil, s.pend)
		}
	}
	return results
}

// encodeChunk is how many events of a SendAll batch one worker encodes at a
// time.
const encodeChunk = 32

// slot is one event of a SendAll batch: its record, or why it has none.
type slot struct {
	msg  *sarama.ProducerMessage
	pend *pending
	err  error
}

// encodeAll encodes evs into slots with one worker per CPU, chunk by chunk;
// chunk k's channel is closed once its slots are filled. Encoding is the
// producer's main cost, and it would otherwise run on the caller's goroutine
// alone while sarama sends small batches.
func (p *Producer[T]) encodeAll(eventType string, evs []T) ([]slot, []chan struct{}) {
	slots := make([]slot, len(evs))
	chunks := make([]chan struct{}, (len(evs)+encodeChunk-1)/encodeChunk)
	for k := range chunks {
		chunks[k] = make(chan struct{})
	}

	workers := min(runtime.GOMAXPROCS(0), len(chunks))
	for w := range workers {
		go func() {
			for k := w; k < len(chunks); k += workers {
				for i := k * encodeChunk; i < min((k+1)*encodeChunk, len(evs)); i++ {
					slots[i].msg, slots[i].pend, slots[i].err = p.prepare(eventType, evs[i])
				}
				close(chunks[k])
			}
		}()
	}
	return slots, chunks
}

// enqueueSlot hands an encoded slot to sarama, or records why it could not.
func (p *Producer[T]) enqueueSlot(ctx context.Context, s *slot) {
	if s.err != nil {
		return
	}
	if s.err = p.enqueue(ctx, nil, s.msg, s.pend); s.err != nil {
		s.pend.release()
		s.pend = nil
	}
}

// expiry is the timer of one Send: it fires after [Config.SendTimeout].
// A nil expiry never fires: the caller's context ends first.
type expiry struct{ t *time.Timer }

// timers are reused across sends: a context with a timeout per send costs
// allocations and a registration with the caller's context.
var timers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// expiry starts the timer of one Send, unless ctx already ends sooner.
func (p *Producer[T]) expiry(ctx context.Context) expiry {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= p.timeout {
		return expiry{}
	}
	t := timers.Get().(*time.Timer)
	t.Reset(p.timeout)
	return expiry{t}
}

// C returns the channel the timer fires on, nil for a nil expiry.
func (e expiry) C() <-chan time.Time {
	if e.t == nil {
		return nil
	}
	return e.t.C
}

// release stops the timer and returns it for reuse. Since Go 1.23 a stopped
// timer delivers no stale value after its next Reset.
func (e expiry) release() {
	if e.t != nil {
		e.t.Stop()
		timers.Put(e.t)
	}
}

// bound applies [Config.SendTimeout] to ctx, unless ctx already ends sooner.
func (p *Producer[T]) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= p.timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, p.timeout)
}

// submit encodes ev and hands the record to sarama unless ctx ends first.
func (p *Producer[T]) submit(ctx context.Context, eventType string, ev T) (*pending, error) {
	msg, pend, err := p.prepare(eventType, ev)
	if err != nil {
		return nil, err
	}
	if err := p.enqueue(ctx, nil, msg, pend); err != nil {
		pend.release()
		return nil, err
	}
	return pend, nil
}

// prepare checks and encodes ev into a record whose Metadata is its pending
// send.
func (p *Producer[T]) prepare(
	eventType string,
	ev T,
) (*sarama.ProducerMessage, *pending, error) {
	if p.isClosed() {
		return nil, nil, fmt.Errorf("producer: topic %s: %w", p.topic, ErrClosed)
	}
	pend := newPending()
	msg, err := p.enc.encode(eventType, ev, pend)
	if err == nil {
		err = p.checkSize(msg, pend)
	}
	if err != nil {
		pend.release()
		return nil, nil, err
	}
	return msg, pend, nil
}

// checkSize refuses a record over the limit, counted as sarama counts it.
func (p *Producer[T]) checkSize(msg *sarama.ProducerMessage, pend *pending) error {
	if size := msg.ByteSize(recordBatchVersion); size > p.limit {
		return &TooLargeError{Topic: p.topic, Subject: pend.receipt.Subject, Size: size,
			Limit: p.limit}
	}
	return nil
}

// enqueue hands msg to sarama unless p is closing, ctx ends or expired
// fires first.
func (p *Producer[T]) enqueue(
	ctx context.Context,
	expired <-chan time.Time,
	msg *sarama.ProducerMessage,
	pend *pending,
) error {
	p.mu.RLock()
	defer p.mu.RUnlock()

	if p.closed {
		return p.sendError(pend, "not sent", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return p.sendError(pend, "not sent", err)
	}
	p.inFlight.Add(1)
	select {
	case p.async.Input() <- msg: // The common case, without locking four channels.
		return nil
	default:
	}
	select {
	case p.async.Input() <- msg:
		return nil
	case <-p.closing:
		p.settled()
		return p.sendError(pend, "not sent", ErrClosed)
	case <-ctx.Done():
		p.settled()
		return p.sendError(pend, "not sent", ctx.Err())
	case <-expired:
		p.settled()
		return p.sendError(pend, "not sent", context.DeadlineExceeded)
	}
}

// wait returns pend's outcome, or gives up when ctx ends or expired fires.
// Giving up leaves pend to the delivery loop, which logs its late outcome.
func (p *Producer[T]) wait(
	ctx context.Context,
	expired <-chan time.Time,
	pend *pending,
) (Receipt, error) {
	select {
	case d := <-pend.done: // Already delivered, as most of a SendAll batch are.
		return p.outcome(pend, d)
	default:
	}
	var d delivery
	select {
	case d = <-pend.done:
	case <-ctx.Done():
		return p.giveUp(pend, ctx.Err())
	case <-expired:
		return p.giveUp(pend, context.DeadlineExceeded)
	}
	return p.outcome(pend, d)
}

// giveUp abandons pend because of err, unless its outcome came first.
func (p *Producer[T]) giveUp(pend *pending, err error) (Receipt, error) {
	if pend.abandon() {
		return Receipt{}, p.sendError(pend, "outcome unknown, it may still be written", err)
	}
	return p.outcome(pend, <-pend.done)
}

// outcome turns the delivery of pend into a receipt or an error, and
// releases pend.
func (p *Producer[T]) outcome(pend *pending, d delivery) (Receipt, error) {
	r := pend.receipt
	pend.release()
	if d.err != nil {
		return Receipt{}, fmt.Errorf("producer: send event %s (subject %q) to topic %s: %w",
			r.ID, r.Subject, p.topic, d.err)
	}
	r.Partition, r.Offset = d.partition, d.offset
	return r, nil
}

func (p *Producer[T]) sendError(pend *pending, outcome string, err error) error {
	return fmt.Errorf("producer: send event %s (subject %q) to topic %s: %s: %w",
		pend.receipt.ID, pend.receipt.Subject, p.topic, outcome, err)
}

func (p *Producer[T]) isClosed() bool {
	select {
	case <-p.closing:
		return true
	default:
		return false
	}
}

// Close stops accepting events, then waits until every record already handed
// to the broker is acknowledged or failed (each waiting [Producer.Send]
// receives its outcome) and closes the connection, or until ctx ends,
// whichever comes first. If ctx ends first, Close says how many records were
// still in flight; they keep going in the background, except that sarama
// fails (and reports to their senders) those it was retrying. Close may be
// called more than once; every call waits the same way.
func (p *Producer[T]) Close(ctx context.Context) error {
	p.stopOnce.Do(p.stopAccepting)

	select {
	case <-p.idle:
	case <-ctx.Done():
	}
	p.closeOnce.Do(p.async.AsyncClose)

	select {
	case <-p.drained:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("producer: close topic %s: %d records still in flight: %w", p.topic,
			p.inFlight.Load(), ctx.Err())
	}
}

// stopAccepting refuses new sends and waits for enqueuers to leave, so that
// nothing is handed to sarama from then on.
func (p *Producer[T]) stopAccepting() {
	close(p.closing)

	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()

	p.stopped.Store(true)
	if p.inFlight.Load() == 0 {
		p.idleOnce.Do(func() { close(p.idle) })
	}
}

// settled counts one record out of flight, and signals idle when it was the
// last one after Close.
func (p *Producer[T]) settled() {
	if p.inFlight.Add(-1) == 0 && p.stopped.Load() {
		p.idleOnce.Do(func() { close(p.idle) })
	}
}

// start runs the delivery loop: one goroutine per sarama result channel,
// until sarama closes both after a flush.
func (p *Producer[T]) start() {
	var wg sync.WaitGroup
	wg.Go(func() {
		for msg := range p.async.Successes() {
			p.deliver(msg, nil)
		}
	})
	wg.Go(func() {
		for perr := range p.async.Errors() {
			p.deliver(perr.Msg, perr.Err)
		}
	})
	go func() {
		wg.Wait()
		p.log.Info("producer closed", "topic", p.topic)
		close(p.drained)
	}()
}

// deliver hands a record's outcome to the Send waiting for it.
func (p *Producer[T]) deliver(msg *sarama.ProducerMessage, err error) {
	defer p.settled()
	pend, ok := msg.Metadata.(*pending)
	if !ok {
		p.log.Error("record without sender", "topic", p.topic, "partition", msg.Partition)
		return
	}
	if pend.deliver(delivery{partition: msg.Partition, offset: msg.Offset, err: err}) {
		return
	}

	// The sender gave up: log what it was never told.
	if err != nil {
		p.log.Error("event failed after its sender gave up", "topic", p.topic,
			"event_id", pend.receipt.ID, "err", err)
		return
	}
	p.log.Warn("event written after its sender gave up", "topic", p.topic,
		"event_id", pend.receipt.ID, "partition", msg.Partition, "offset", msg.Offset)
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
