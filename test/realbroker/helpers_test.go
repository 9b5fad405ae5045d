package realbroker

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/delivery"
	"function/pkg/dispatcher"
	"function/pkg/events"
	"function/pkg/kafka"
	"function/pkg/kafka/kafkatest"
	"function/pkg/producer"
)

// waitFor bounds every wait for records: a real broker on a busy 2-core
// machine can take seconds for a group join or a metadata update.
const waitFor = 90 * time.Second

// realConfig returns the connection settings of the broker KAFKA_BROKERS
// names, and skips t when it is unset.
func realConfig(t *testing.T) kafka.Config {
	t.Helper()
	if !kafkatest.Real() {
		t.Skip("real-broker test: set KAFKA_BROKERS to a real Apache Kafka " +
			"(`make test-real` starts one and sets it)")
	}
	return kafkatest.Config(t)
}

// need skips t when a tool it drives is missing, or fails it when CI is set,
// where every real-broker test must run.
func need(t *testing.T, ok bool, what, hint string) {
	t.Helper()
	if ok {
		return
	}
	msg := fmt.Sprintf("real-broker test needs %s: %s", what, hint)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// kafkaCtl returns the path of scripts/kafka/kafka.sh from KAFKA_CTL.
func kafkaCtl(t *testing.T) string {
	t.Helper()
	p := os.Getenv("KAFKA_CTL")
	need(t, p != "", "KAFKA_CTL", "set it to the path of scripts/kafka/kafka.sh "+
		"(`make test-real` does)")
	return p
}

// kcatPath returns the path of kcat.
func kcatPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	need(t, err == nil, "kcat", "install it with `scripts/kafka/kafka.sh deps` "+
		"(Debian package kcat)")
	return p
}

// command runs name with args, env added to the environment and stdin as
// its input, and returns its standard output. Its error includes the
// command's standard error.
func command(
	ctx context.Context,
	env []string,
	stdin string,
	name string,
	args ...string,
) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\nstderr:\n%s", name,
			strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// mustCommand is [command] that fails t on error.
func mustCommand(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	out, err := command(t.Context(), nil, stdin, name, args...)
	require.NoError(t, err)
	return out
}

// record is one Kafka record read back.
type record struct {
	Key       string
	Partition int32
	Offset    int64
	Headers   map[string]string
	Value     []byte
}

// readRecords reads topic from the start until it has n records or waitFor
// passes, and returns them.
func readRecords(t *testing.T, cfg kafka.Config, topic string, n int) []record {
	t.Helper()

	sc, err := cfg.Sarama()
	require.NoError(t, err)
	consumer, err := sarama.NewConsumer(cfg.Brokers, sc)
	require.NoError(t, err, "connect consumer")
	defer func() { assert.NoError(t, consumer.Close()) }()
	parts, err := consumer.Partitions(topic)
	require.NoError(t, err, "partitions of %s", topic)

	msgs := make(chan *sarama.ConsumerMessage)
	stop := make(chan struct{})
	defer close(stop)
	for _, p := range parts {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		require.NoError(t, err, "consume %s/%d", topic, p)
		defer pc.AsyncClose()
		go forward(pc.Messages(), msgs, stop)
	}
	return collect(t, msgs, topic, n)
}

// forward passes messages from in to out until stop is closed.
func forward(
	in <-chan *sarama.ConsumerMessage,
	out chan<- *sarama.ConsumerMessage,
	stop <-chan struct{},
) {
	for m := range in {
		select {
		case out <- m:
		case <-stop:
			return
		}
	}
}

// collect receives n messages or fails t after waitFor.
func collect(t *testing.T, msgs <-chan *sarama.ConsumerMessage, topic string, n int) []record {
	t.Helper()

	var got []record
	deadline := time.After(waitFor)
	for len(got) < n {
		select {
		case m := <-msgs:
			got = append(got, toRecord(m))
		case <-deadline:
			require.FailNowf(t, "records missing", "topic %s: read %d records, want %d",
				topic, len(got), n)
		}
	}
	return got
}

func toRecord(m *sarama.ConsumerMessage) record {
	r := record{Key: string(m.Key), Partition: m.Partition, Offset: m.Offset,
		Headers: map[string]string{}, Value: m.Value}
	for _, h := range m.Headers {
		r.Headers[string(h.Key)] = string(h.Value)
	}
	return r
}

// endOffsets returns the sum of topic's end offsets: how many records were
// ever written to it.
func endOffsets(t *testing.T, cfg kafka.Config, topic string) int64 {
	t.Helper()

	sc, err := cfg.Sarama()
	require.NoError(t, err)
	client, err := sarama.NewClient(cfg.Brokers, sc)
	require.NoError(t, err)
	defer func() { assert.NoError(t, client.Close()) }()
	parts, err := client.Partitions(topic)
	require.NoError(t, err)

	var sum int64
	for _, p := range parts {
		off, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		require.NoError(t, err, "end offset of %s/%d", topic, p)
		sum += off
	}
	return sum
}

// newProducer returns a producer of user events to topic with the given
// record size limit, closed when t ends.
func newProducer(
	t *testing.T,
	cfg kafka.Config,
	topic string,
	maxBytes int,
) *producer.Producer[events.UserEvent] {
	t.Helper()

	p, err := producer.New[events.UserEvent](producer.Config{
		Config:          cfg,
		Topic:           topic,
		Source:          "/realbroker/test",
		MaxMessageBytes: maxBytes,
		SendTimeout:     60 * time.Second,
	})
	require.NoError(t, err, "new producer for %s", topic)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, p.Close(ctx), "close producer")
	})
	return p
}

// user returns a user event for id.
func user(id string) events.UserEvent {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return events.UserEvent{ID: id, Name: "User " + id, Email: id + "@example.com",
		Version: 1, CreatedAt: at, UpdatedAt: at}
}

// dispatcherConfig returns a dispatcher configuration reading topic from
// the earliest offset with a group of its own, no retries and fast commits.
func dispatcherConfig(topic string) dispatcher.Config {
	return dispatcher.Config{
		SourceName:            "users-welcome",
		SourceNamespace:       "functions",
		Topics:                []string{topic},
		ConsumerGroup:         "g-" + topic,
		InitialOffset:         dispatcher.Earliest,
		Ordering:              dispatcher.Ordered,
		DeliveryBackoffPolicy: delivery.BackoffLinear,
		DeliveryBackoffDelay:  dispatcher.Duration(10 * time.Millisecond),
		DeliveryTimeout:       dispatcher.Duration(10 * time.Second),
		KeyType:               "string",
		CEOverrides:           map[string]string{"handler": "welcome"},
		MaxInFlight:           8,
		StopTimeout:           dispatcher.Duration(5 * time.Second),
		CommitInterval:        dispatcher.Duration(100 * time.Millisecond),
	}
}

// runDispatcher runs a dispatcher until t ends, and checks then that it
// stopped cleanly.
func runDispatcher(t *testing.T, cfg kafka.Config, dc dispatcher.Config, sink delivery.Sink) {
	t.Helper()

	d, err := dispatcher.New(dc, cfg, sink, nil)
	require.NoError(t, err, "new dispatcher")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "dispatcher run")
		case <-time.After(waitFor):
			t.Error("dispatcher did not stop")
		}
	})
}

// recorder is a handler that records every event it is given, then answers
// with the error of next (nil: success).
type recorder struct {
	next func(ctx context.Context, ev event.Event) error

	mu        sync.Mutex
	seen      []event.Event
	delivered map[string]bool // ids of the events next returned nil for
	changed   chan struct{}
}

func newRecorder(next func(ctx context.Context, ev event.Event) error) *recorder {
	if next == nil {
		next = func(context.Context, event.Event) error { return nil }
	}
	return &recorder{next: next, delivered: map[string]bool{},
		changed: make(chan struct{}, 1)}
}

// sink returns the recorder as an in-process sink named name.
func (r *recorder) sink(name string) delivery.Sink {
	return delivery.NewHandlerSink(name,
		func(ctx context.Context, ev event.Event) (*event.Event, error) {
			r.record(func() { r.seen = append(r.seen, ev.Clone()) })
			err := r.next(ctx, ev)
			if err == nil {
				r.record(func() { r.delivered[ev.ID()] = true })
			}
			return nil, err
		})
}

// record applies change under the lock and wakes waitUntil.
func (r *recorder) record(change func()) {
	r.mu.Lock()
	change()
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// events returns the events handed to the handler so far.
func (r *recorder) events() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event.Event(nil), r.seen...)
}

// missing returns the ids of want not delivered yet, sorted.
func (r *recorder) missing(want []string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, id := range want {
		if !r.delivered[id] {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// waitUntil waits until done holds, or fails t after waitFor, saying what
// it waited for with the detail describe gives.
func (r *recorder) waitUntil(t *testing.T, what string, done func() bool, describe func() string) {
	t.Helper()

	deadline := time.After(waitFor)
	for !done() {
		select {
		case <-r.changed:
		case <-deadline:
			require.FailNowf(t, "events missing", "waiting for %s: %s", what, describe())
		}
	}
}

// freePorts returns n TCP ports free on 127.0.0.1 a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()

	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// privateBroker is a broker of the test's own, started with KAFKA_CTL on
// free ports with its data in a temporary folder, so the test may stop it
// without disturbing the tests that share the KAFKA_BROKERS one.
type privateBroker struct {
	ctl string
	env []string
	cfg kafka.Config
}

// startPrivateBroker starts a private broker with no topics; it is stopped
// when t ends.
func startPrivateBroker(t *testing.T, shared kafka.Config) *privateBroker {
	t.Helper()

	ports := freePorts(t, 2)
	b := &privateBroker{
		ctl: kafkaCtl(t),
		env: []string{
			"KAFKA_PORT=" + strconv.Itoa(ports[0]),
			"KAFKA_CONTROLLER_PORT=" + strconv.Itoa(ports[1]),
			"KAFKA_STATE_DIR=" + t.TempDir() + "/kafka",
			"KAFKA_TOPICS=",
		},
		cfg: shared,
	}
	b.cfg.Brokers = []string{"127.0.0.1:" + strconv.Itoa(ports[0])}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, err := command(ctx, b.env, "", b.ctl, "stop")
		assert.NoError(t, err, "stop the private broker")
	})
	b.do(t, "start")
	return b
}

// do runs a kafka.sh verb on the private broker.
func (b *privateBroker) do(t *testing.T, verb string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	out, err := command(ctx, b.env, "", b.ctl, verb)
	require.NoError(t, err, "kafka.sh %s", verb)
	if verb != "stop" {
		require.Contains(t, out, "KAFKA_BROKERS="+b.cfg.Brokers[0], "kafka.sh %s", verb)
	}
}
