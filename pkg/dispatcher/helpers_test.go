package dispatcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/delivery"
	"function/pkg/kafka"
)

// waitFor bounds every wait of these tests; it is generous because a real
// broker's first group join can take seconds.
const waitFor = 30 * time.Second

// testConfig returns a dispatcher configuration for topic with fast retries
// and commits, reading from the earliest offset.
func testConfig(topic, group string) Config {
	return Config{
		SourceName:            "users-test",
		SourceNamespace:       "functions",
		Topics:                []string{topic},
		ConsumerGroup:         group,
		InitialOffset:         Earliest,
		Ordering:              Ordered,
		DeliveryRetry:         2,
		DeliveryBackoffPolicy: delivery.BackoffLinear,
		DeliveryBackoffDelay:  Duration(time.Millisecond),
		DeliveryTimeout:       Duration(5 * time.Second),
		KeyType:               "string",
		MaxInFlight:           8,
		StopTimeout:           Duration(5 * time.Second),
		CommitInterval:        Duration(20 * time.Millisecond),
	}
}

// groupName returns a consumer group name unique to the test.
func groupName(t *testing.T) string {
	return fmt.Sprintf("g-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
}

// testLogger logs to the test's output at level, shown when a test fails.
func testLogger(t *testing.T, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: level}))
}

// running is a dispatcher started by start.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

// stop cancels the dispatcher and returns Run's result.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(waitFor):
		require.FailNow(t, "dispatcher did not stop")
		return nil
	}
}

// start runs a dispatcher until the test ends or stop is called.
func start(t *testing.T, d *Dispatcher) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() { _ = r.stop(t) })
	return r
}

// newDispatcher builds a dispatcher delivering to h in process.
func newDispatcher(
	t *testing.T,
	cfg Config,
	kc kafka.Config,
	h func(context.Context, event.Event) (*event.Event, error),
) *Dispatcher {
	t.Helper()
	return newLoggingDispatcher(t, cfg, kc, h, testLogger(t, slog.LevelInfo))
}

// newLoggingDispatcher is newDispatcher logging to logger.
func newLoggingDispatcher(
	t *testing.T,
	cfg Config,
	kc kafka.Config,
	h func(context.Context, event.Event) (*event.Event, error),
	logger *slog.Logger,
) *Dispatcher {
	t.Helper()
	d, err := New(cfg, kc, delivery.NewHandlerSink("test", h), logger)
	require.NoError(t, err)
	quicken(d)
	return d
}

// quicken shortens the waits that only cost time in tests: commits and
// heartbeats queue behind a long-polling fetch on the coordinator's
// connection, and a rebalance is noticed at the next heartbeat.
func quicken(d *Dispatcher) {
	d.consumerConfig.Consumer.MaxWaitTime = 20 * time.Millisecond
	d.consumerConfig.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
}

// record describes a record to produce.
type record struct {
	partition int32
	key       []byte
	value     []byte
	headers   []sarama.RecordHeader
}

// produce writes records to topic, each to its partition, in order.
func produce(t *testing.T, kc kafka.Config, topic string, records ...record) {
	t.Helper()
	sc, err := kc.Sarama()
	require.NoError(t, err)
	sc.Producer.Return.Successes = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Partitioner = sarama.NewManualPartitioner
	sc.Producer.MaxMessageBytes = 4 << 20
	p, err := sarama.NewSyncProducer(kc.Brokers, sc)
	require.NoError(t, err)
	defer p.Close()

	msgs := make([]*sarama.ProducerMessage, len(records))
	for i, r := range records {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Partition: r.partition,
			Headers: r.headers}
		if r.key != nil {
			msgs[i].Key = sarama.ByteEncoder(r.key)
		}
		if r.value != nil {
			msgs[i].Value = sarama.ByteEncoder(r.value)
		}
	}
	require.NoError(t, p.SendMessages(msgs), "produce %d records to %s", len(msgs), topic)
}

// jsonRecords returns n JSON records for partition p, values {"n":<i>}.
func jsonRecords(p int32, n int) []record {
	rs := make([]record, n)
	for i := range rs {
		rs[i] = record{
			partition: p,
			key:       fmt.Appendf(nil, "k-%d", i),
			value:     fmt.Appendf(nil, `{"n":%d}`, i),
			headers: []sarama.RecordHeader{
				{Key: []byte("content-type"), Value: []byte("application/json")},
			},
		}
	}
	return rs
}

// committed returns the group's committed offset for each partition of
// topic, -1 where none is committed.
func committed(
	admin sarama.ClusterAdmin,
	group, topic string,
	partitions int32,
) (map[int32]int64, error) {
	ps := make([]int32, partitions)
	for i := range ps {
		ps[i] = int32(i)
	}
	out := make(map[int32]int64, partitions)
	for _, p := range ps {
		out[p] = -1
	}
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
	if errors.Is(err, sarama.ErrGroupIDNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}

	for _, p := range ps {
		if b := resp.GetBlock(topic, p); b != nil {
			out[p] = b.Offset
		}
	}
	return out, nil
}

// waitCommitted waits until the group has committed want for every
// partition of topic.
func waitCommitted(
	t *testing.T,
	admin sarama.ClusterAdmin,
	group, topic string,
	want map[int32]int64,
) {
	t.Helper()
	var got map[int32]int64
	ok := assert.Eventually(t, func() bool {
		var err error
		got, err = committed(admin, group, topic, int32(len(want)))
		return err == nil && maps.Equal(got, want)
	}, waitFor, 10*time.Millisecond)
	require.True(t, ok, "committed offsets of %s: got %v, want %v", group, got, want)
}

// readTopic reads n records from the start of every partition of topic.
func readTopic(t *testing.T, kc kafka.Config, topic string, n int) []*sarama.ConsumerMessage {
	t.Helper()
	sc, err := kc.Sarama()
	require.NoError(t, err)
	sc.Consumer.MaxWaitTime = 20 * time.Millisecond
	c, err := sarama.NewConsumer(kc.Brokers, sc)
	require.NoError(t, err)
	defer c.Close()
	parts, err := c.Partitions(topic)
	require.NoError(t, err)

	out := make(chan *sarama.ConsumerMessage, n)
	for _, p := range parts {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		require.NoError(t, err)
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				out <- m
			}
		}()
	}

	var got []*sarama.ConsumerMessage
	deadline := time.After(waitFor)
	for len(got) < n {
		select {
		case m := <-out:
			got = append(got, m)
		case <-deadline:
			require.FailNow(t, "topic not read", "read %d of %d records of %s", len(got), n,
				topic)
		}
	}
	return got
}

// recorder is an in-process handler that records what it was given.
type recorder struct {
	mu     sync.Mutex
	events []event.Event
	// fail, when set, decides whether an attempt fails.
	fail func(ev event.Event) error
	// seen is signalled (without blocking) after each attempt.
	seen chan struct{}
}

func newRecorder() *recorder { return &recorder{seen: make(chan struct{}, 1)} }

// handle implements the in-process handler signature.
func (r *recorder) handle(_ context.Context, ev event.Event) (*event.Event, error) {
	var err error
	if r.fail != nil {
		err = r.fail(ev)
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.seen <- struct{}{}:
	default:
	}
	return nil, err
}

// attempts returns how many attempts each event id had.
func (r *recorder) attempts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := make(map[string]int)
	for _, ev := range r.events {
		n[ev.ID()]++
	}
	return n
}

// count returns the number of attempts so far.
func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// recordID is the id KafkaSource gives a wrapped record.
func recordID(p int32, offset int64) string {
	return fmt.Sprintf("partition:%d/offset:%d", p, offset)
}

// logCapture is a slog handler that counts messages by text and forwards
// every record to the test's output.
type logCapture struct {
	next   slog.Handler
	mu     *sync.Mutex
	counts map[string]int
	levels map[string]slog.Level
}

// captureLogs returns a logger whose messages can be counted, and the
// capture counting them.
func captureLogs(t *testing.T) (*slog.Logger, *logCapture) {
	c := &logCapture{
		next:   slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}),
		mu:     &sync.Mutex{},
		counts: map[string]int{},
		levels: map[string]slog.Level{},
	}
	return slog.New(c), c
}

// Enabled implements slog.Handler.
func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler.
func (c *logCapture) Handle(ctx context.Context, r slog.Record) error {
	c.mu.Lock()
	c.counts[r.Message]++
	c.levels[r.Message] = r.Level
	c.mu.Unlock()
	if r.Level < slog.LevelInfo {
		return nil
	}
	return c.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (c *logCapture) WithAttrs(as []slog.Attr) slog.Handler {
	d := *c
	d.next = c.next.WithAttrs(as)
	return &d
}

// WithGroup implements slog.Handler.
func (c *logCapture) WithGroup(name string) slog.Handler {
	d := *c
	d.next = c.next.WithGroup(name)
	return &d
}

// count returns how often msg was logged and at which level.
func (c *logCapture) count(msg string) (int, slog.Level) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[msg], c.levels[msg]
}
