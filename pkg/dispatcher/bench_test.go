package dispatcher_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	ceclient "github.com/cloudevents/sdk-go/v2/client"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/protocol"
	"github.com/rs/zerolog"
	funcgo "knative.dev/func-go/kafka"

	"function/pkg/delivery"
	"function/pkg/dispatcher"
	"function/pkg/kafka"
	"function/pkg/kafka/kafkatest"
)

// Benchmark sizes, as issue 4 sets them.
const (
	benchPartitions = 6
	benchEvents     = 100_000
	benchUsers      = 1_000
	// benchTimeout bounds one consumer's run over the events.
	benchTimeout = 5 * time.Minute
)

// BenchmarkThroughput compares, in one process against one broker, how fast
// consumers take the same pre-produced binary CloudEvents to a no-op
// in-process handler: the dispatcher in ordered mode, knative func-go's
// Kafka transport, and the CloudEvents kafka_sarama receiver with a blocking
// callback and one poller (the only receiver options that keep order). A
// bare sarama consumer group that only marks each record shows the ceiling
// any sarama-based consumer has here. Each run starts a fresh consumer group
// at the first offset and ends when the handler has seen every event, group
// join included; rounds rotate the order, so load drifting on a shared
// machine favours no consumer.
func BenchmarkThroughput(b *testing.B) {
	zerolog.SetGlobalLevel(zerolog.WarnLevel)
	kc := kafkatest.Config(b)
	topic := kafkatest.NewTopic(b, kc, benchPartitions)
	produceEvents(b, kc, topic)

	consumers := []consumer{
		{name: "dispatcher", run: func(ctx context.Context, group string, seen func()) error {
			return runDispatcher(ctx, kc, topic, group, seen)
		}},
		{name: "funcgo", run: func(ctx context.Context, group string, seen func()) error {
			return runFuncGo(ctx, b, kc, topic, group, seen)
		}},
		{name: "receiver", run: func(ctx context.Context, group string, seen func()) error {
			return runReceiver(ctx, kc, topic, group, seen)
		}},
		{name: "sarama", run: func(ctx context.Context, group string, seen func()) error {
			return runSarama(ctx, kc, topic, group, seen)
		}},
	}

	for round := 0; b.Loop(); round++ {
		for i := range consumers {
			c := &consumers[(round+i)%len(consumers)]
			wall, cpu := measure(b, c.run, fmt.Sprintf("bench-%s-%d-%d", c.name, round,
				time.Now().UnixNano()))
			c.wall += wall
			c.cpu += cpu
			c.events += benchEvents
		}
	}
	report(b, consumers)
}

// consumer is one contender of [BenchmarkThroughput] and its totals.
type consumer struct {
	name string
	run  func(ctx context.Context, group string, seen func()) error

	wall, cpu time.Duration
	events    int
}

// rate returns the consumer's events per wall-clock second.
func (c consumer) rate() float64 { return float64(c.events) / c.wall.Seconds() }

// cpuPerEvent returns the process CPU time per event, in microseconds.
func (c consumer) cpuPerEvent() float64 {
	return float64(c.cpu.Microseconds()) / float64(c.events)
}

// report prints each consumer's throughput and the dispatcher's ratios.
// Besides wall-clock events/s it gives the process's CPU time per event,
// which other load on a shared machine distorts far less; the embedded
// broker's share is in every consumer's.
func report(b *testing.B, cs []consumer) {
	for _, c := range cs {
		b.ReportMetric(c.rate(), c.name+"-events/s")
		b.ReportMetric(c.cpuPerEvent(), c.name+"-cpu-µs/event")
	}
	d, f, r, s := cs[0], cs[1], cs[2], cs[3]
	b.ReportMetric(d.rate()/f.rate(), "dispatcher/funcgo")
	b.ReportMetric(d.rate()/r.rate(), "dispatcher/receiver")

	b.Logf("events/s: dispatcher %.0f, func-go %.0f, receiver %.0f, bare sarama %.0f",
		d.rate(), f.rate(), r.rate(), s.rate())
	b.Logf("dispatcher/funcgo %.2fx, dispatcher/receiver %.2fx (bare sarama/funcgo %.2fx)",
		d.rate()/f.rate(), d.rate()/r.rate(), s.rate()/f.rate())
	b.Logf("cpu µs/event: dispatcher %.1f, func-go %.1f, receiver %.1f, bare sarama %.1f",
		d.cpuPerEvent(), f.cpuPerEvent(), r.cpuPerEvent(), s.cpuPerEvent())
}

// measure runs one consumer in group until its handler has seen every
// event, and returns the wall-clock and process CPU time that took.
func measure(
	b *testing.B,
	run func(ctx context.Context, group string, seen func()) error,
	group string,
) (wall, cpu time.Duration) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var n atomic.Int64
	done := make(chan struct{})
	seen := func() {
		if n.Add(1) == benchEvents {
			close(done)
		}
	}
	errc := make(chan error, 1)
	startCPU, startAt := processCPU(b), time.Now()
	go func() { errc <- run(ctx, group, seen) }()

	select {
	case <-done:
	case err := <-errc:
		b.Fatalf("%s stopped after %d events: %v", group, n.Load(), err)
	case <-time.After(benchTimeout):
		b.Fatalf("%s saw %d of %d events in %v", group, n.Load(), benchEvents, benchTimeout)
	}
	wall, cpu = time.Since(startAt), processCPU(b)-startCPU

	cancel()
	if err := <-errc; err != nil {
		b.Fatalf("%s: stop: %v", group, err)
	}
	return wall, cpu
}

// processCPU returns the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runDispatcher runs the dispatcher in ordered mode with KafkaSource's
// default delivery policy.
func runDispatcher(
	ctx context.Context,
	kc kafka.Config,
	topic, group string,
	seen func(),
) error {
	cfg := dispatcher.Config{
		SourceName:            "bench",
		SourceNamespace:       "bench",
		Topics:                []string{topic},
		ConsumerGroup:         group,
		InitialOffset:         dispatcher.Earliest,
		Ordering:              dispatcher.Ordered,
		DeliveryRetry:         10,
		DeliveryBackoffPolicy: delivery.BackoffExponential,
		DeliveryBackoffDelay:  dispatcher.Duration(300 * time.Millisecond),
		DeliveryTimeout:       dispatcher.Duration(600 * time.Second),
		KeyType:               "string",
		MaxInFlight:           50,
		StopTimeout:           dispatcher.Duration(10 * time.Second),
		CommitInterval:        dispatcher.Duration(time.Second),
	}
	sink := delivery.NewHandlerSink("bench",
		func(context.Context, event.Event) (*event.Event, error) {
			seen()
			return nil, nil
		})
	d, err := dispatcher.New(cfg, kc, sink, nil)
	if err != nil {
		return err
	}
	return d.Run(ctx)
}

// funcGoHandler is a func-go CloudEvents function.
type funcGoHandler struct{ seen func() }

// Handle counts the event.
func (h funcGoHandler) Handle(context.Context, event.Event) (*event.Event, error) {
	h.seen()
	return nil, nil
}

// runFuncGo runs func-go's Kafka transport, configured as func-go reads
// its configuration: from the environment. It always starts at the newest
// offset, so the group's offsets are first committed at 0.
func runFuncGo(
	ctx context.Context,
	b *testing.B,
	kc kafka.Config,
	topic, group string,
	seen func(),
) error {
	if err := commitStart(kc, topic, group); err != nil {
		return err
	}
	b.Setenv("KAFKA_BROKERS", kc.Brokers[0])
	b.Setenv("KAFKA_TOPIC", topic)
	b.Setenv("KAFKA_CONSUMER_GROUP", group)
	b.Setenv("LISTEN_ADDRESS", freeAddr(b))
	return funcgo.New(funcGoHandler{seen: seen}).Start(ctx)
}

// runReceiver runs the CloudEvents SDK's Kafka receiver in its only
// order-keeping configuration, with sarama's defaults otherwise.
func runReceiver(
	ctx context.Context,
	kc kafka.Config,
	topic, group string,
	seen func(),
) error {
	sc, err := kc.Sarama()
	if err != nil {
		return err
	}
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	consumer, err := kafka_sarama.NewConsumer(kc.Brokers, sc, group, topic)
	if err != nil {
		return err
	}
	defer consumer.Close(context.Background())

	c, err := ceclient.New(consumer, ceclient.WithBlockingCallback(),
		ceclient.WithPollGoroutines(1))
	if err != nil {
		return err
	}
	return c.StartReceiver(ctx, func(context.Context, event.Event) protocol.Result {
		seen()
		return nil
	})
}

// markOnly is a consumer group handler that marks each record and does
// nothing else: the least work a consumer can do per record.
type markOnly struct{ seen func() }

// Setup implements sarama.ConsumerGroupHandler.
func (markOnly) Setup(sarama.ConsumerGroupSession) error { return nil }

// Cleanup implements sarama.ConsumerGroupHandler.
func (markOnly) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim marks every record of the claim.
func (h markOnly) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.seen()
		s.MarkMessage(m, "")
	}
	return nil
}

// runSarama runs a bare sarama consumer group with sarama's defaults.
func runSarama(ctx context.Context, kc kafka.Config, topic, group string, seen func()) error {
	sc, err := kc.Sarama()
	if err != nil {
		return err
	}
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	g, err := sarama.NewConsumerGroup(kc.Brokers, group, sc)
	if err != nil {
		return err
	}
	defer g.Close()

	for ctx.Err() == nil {
		if err := g.Consume(ctx, []string{topic}, markOnly{seen}); err != nil {
			return err
		}
	}
	return nil
}

// produceEvents writes the benchmark's binary CloudEvents, keyed by user
// so each user's events share a partition.
func produceEvents(b *testing.B, kc kafka.Config, topic string) {
	b.Helper()
	sc, err := kc.Sarama()
	if err != nil {
		b.Fatal(err)
	}
	sc.Producer.Partitioner = sarama.NewMurmur2Partitioner
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Return.Successes = true
	sc.Producer.Flush.Messages = 1000
	sc.Producer.Flush.Frequency = 5 * time.Millisecond
	p, err := sarama.NewAsyncProducer(kc.Brokers, sc)
	if err != nil {
		b.Fatal(err)
	}

	go func() {
		for i := range benchEvents {
			p.Input() <- benchMessage(topic, i)
		}
	}()
	for i := range benchEvents {
		select {
		case <-p.Successes():
		case pe := <-p.Errors():
			b.Fatalf("produce event %d: %v", i, pe.Err)
		}
	}
	if err := p.Close(); err != nil {
		b.Fatal(err)
	}
}

// benchMessage returns event i: a user update as a binary CloudEvent.
func benchMessage(topic string, i int) *sarama.ProducerMessage {
	user := fmt.Sprintf("user-%04d", i%benchUsers)
	h := func(k, v string) sarama.RecordHeader {
		return sarama.RecordHeader{Key: []byte(k), Value: []byte(v)}
	}
	return &sarama.ProducerMessage{
		Topic: topic,
		Key:   sarama.StringEncoder(user),
		Headers: []sarama.RecordHeader{
			h("ce_specversion", "1.0"),
			h("ce_id", fmt.Sprintf("evt-%06d", i)),
			h("ce_source", "/bench/users"),
			h("ce_type", "com.example.users.user.updated"),
			h("ce_time", "2026-01-02T03:04:05Z"),
			h("content-type", "application/json"),
		},
		Value: sarama.StringEncoder(fmt.Sprintf(
			`{"id":%q,"name":"User %d","email":"user%d@example.com","version":%d,`+
				`"created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z"}`,
			user, i%benchUsers, i%benchUsers, i/benchUsers+1)),
	}
}

// commitStart commits offset 0 for every partition of topic in group, as
// a group without members may.
func commitStart(kc kafka.Config, topic, group string) error {
	sc, err := kc.Sarama()
	if err != nil {
		return err
	}
	client, err := sarama.NewClient(kc.Brokers, sc)
	if err != nil {
		return err
	}
	defer client.Close()
	coordinator, err := client.Coordinator(group)
	if err != nil {
		return err
	}

	req := &sarama.OffsetCommitRequest{ConsumerGroup: group, ConsumerGroupGeneration: -1,
		Version: 2}
	for p := range int32(benchPartitions) {
		req.AddBlock(topic, p, 0, 0, "")
	}
	resp, err := coordinator.CommitOffset(req)
	if err != nil {
		return err
	}
	for _, blocks := range resp.Errors {
		for p, kerr := range blocks {
			if kerr != sarama.ErrNoError {
				return fmt.Errorf("commit start of partition %d: %w", p, kerr)
			}
		}
	}
	return nil
}

// freeAddr returns a free loopback address for func-go's health server.
func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
