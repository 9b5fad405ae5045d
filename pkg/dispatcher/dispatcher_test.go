package dispatcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"function/pkg/delivery"
	"function/pkg/kafka"
	"function/pkg/kafka/kafkatest"
)

// errBoom is what failing test handlers return.
var errBoom = errors.New("boom")

// headerMap returns a record's headers by name.
func headerMap(m *sarama.ConsumerMessage) map[string]string {
	h := make(map[string]string, len(m.Headers))
	for _, rh := range m.Headers {
		h[string(rh.Key)] = string(rh.Value)
	}
	return h
}

// offsetOf returns the record offset a delivered event came from.
func offsetOf(ev event.Event) (int64, error) {
	v, ok := ev.Extensions()["knativekafkaoffset"]
	if !ok {
		return 0, fmt.Errorf("event %s has no knativekafkaoffset", ev.ID())
	}
	return strconv.ParseInt(fmt.Sprint(v), 10, 64)
}

// TestNew_RejectsBadArguments pins that New refuses what Run could not use.
func TestNew_RejectsBadArguments(t *testing.T) {
	kc := kafka.Config{Brokers: []string{"127.0.0.1:9092"}, Version: "3.9.0",
		DialTimeout: time.Second, RequestTimeout: time.Second}
	sink := delivery.NewHandlerSink("test", newRecorder().handle)

	_, err := New(testConfig("users", "g"), kc, nil, nil)
	assert.ErrorIs(t, err, ErrNoSink)

	cfg := testConfig("users", "g")
	cfg.Ordering = "random"
	_, err = New(cfg, kc, sink, nil)
	assert.ErrorContains(t, err, "ORDERING")

	bad := kc
	bad.Version = "0.10.0"
	_, err = New(testConfig("users", "g"), bad, sink, nil)
	assert.ErrorContains(t, err, "KAFKA_VERSION")
}

// TestDispatcher_FailingRecordIsRetriedThenDeadLettered pins KafkaSource's
// rule: a record whose handler keeps failing is retried per policy, written
// to the dead-letter topic with the failure's extensions and its key, and
// the records after it are still delivered and committed.
func TestDispatcher_FailingRecordIsRetriedThenDeadLettered(t *testing.T) {
	kc := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, kc, 1)
	dlt := kafkatest.NewTopic(t, kc, 1)
	const n, bad = 6, 2
	produce(t, kc, topic, jsonRecords(0, n)...)

	rec := newRecorder()
	rec.fail = func(ev event.Event) error {
		if ev.ID() == recordID(0, bad) {
			return errBoom
		}
		return nil
	}
	cfg := testConfig(topic, groupName(t))
	cfg.DeadLetterTopic = dlt
	logger, logs := captureLogs(t)
	start(t, newLoggingDispatcher(t, cfg, kc, rec.handle, logger))

	waitCommitted(t, kafkatest.Admin(t, kc), cfg.ConsumerGroup, topic, map[int32]int64{0: n})

	attempts := rec.attempts()
	assert.Equal(t, 1+cfg.DeliveryRetry, attempts[recordID(0, bad)], "attempts of the bad record")
	for i := range int64(n) {
		if i != bad {
			assert.Equal(t, 1, attempts[recordID(0, i)], "attempts of record %d", i)
		}
	}
	retried, level := logs.count("delivery failed, retrying")
	assert.Equal(t, cfg.DeliveryRetry, retried, "one Warn per retried failure")
	assert.Equal(t, slog.LevelWarn, level)
	dead, level := logs.count("event dead-lettered")
	assert.Equal(t, 1, dead)
	assert.Equal(t, slog.LevelError, level)
	delivered, level := logs.count("event delivered")
	assert.Equal(t, n-1, delivered, "one Debug per delivered event")
	assert.Equal(t, slog.LevelDebug, level)

	dl := readTopic(t, kc, dlt, 1)[0]
	h := headerMap(dl)
	assert.Equal(t, "k-2", string(dl.Key), "the record key is kept")
	assert.Equal(t, `{"n":2}`, string(dl.Value))
	assert.Equal(t, "1.0", h["ce_specversion"], "a binary CloudEvent")
	assert.Equal(t, recordID(0, bad), h["ce_id"])
	assert.Equal(t, "inprocess://test", h["ce_knativeerrordest"])
	assert.Equal(t, "500", h["ce_knativeerrorcode"])
	assert.Contains(t, h, "ce_knativeerrordata")
	assert.Equal(t, "2", h["ce_knativekafkaoffset"])
}

// TestDispatcher_NoDeadLetterTopicMovesOn pins that without a dead-letter
// topic a record failing for good is dropped with an Error log and the
// offset moves on, as a KafkaSource without a dead-letter sink does.
func TestDispatcher_NoDeadLetterTopicMovesOn(t *testing.T) {
	kc := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, kc, 1)
	produce(t, kc, topic, jsonRecords(0, 3)...)

	rec := newRecorder()
	rec.fail = func(ev event.Event) error {
		if ev.ID() == recordID(0, 1) {
			return errBoom
		}
		return nil
	}
	cfg := testConfig(topic, groupName(t))
	cfg.DeliveryRetry = 0
	logger, logs := captureLogs(t)
	start(t, newLoggingDispatcher(t, cfg, kc, rec.handle, logger))

	waitCommitted(t, kafkatest.Admin(t, kc), cfg.ConsumerGroup, topic, map[int32]int64{0: 3})
	dropped, level := logs.count("event dropped after its last attempt")
	assert.Equal(t, 1, dropped)
	assert.Equal(t, slog.LevelError, level)
	assert.Equal(t, 1, rec.attempts()[recordID(0, 2)], "the record after it is delivered")
}

// TestDispatcher_CommitNeverPassesUnfinishedRecord pins, in both modes,
// that while a handler blocks on a record the committed offset reaches that
// record and never passes it, and moves on once it finishes.
func TestDispatcher_CommitNeverPassesUnfinishedRecord(t *testing.T) {
	for _, ordering := range []Ordering{Ordered, Unordered} {
		t.Run(string(ordering), func(t *testing.T) {
			kc := kafkatest.Config(t)
			topic := kafkatest.NewTopic(t, kc, 1)
			const n, blocked = 10, 3
			produce(t, kc, topic, jsonRecords(0, n)...)

			release := make(chan struct{})
			var others atomic.Int32
			h := func(ctx context.Context, ev event.Event) (*event.Event, error) {
				if ev.ID() == recordID(0, blocked) {
					<-release
					return nil, nil
				}
				others.Add(1)
				return nil, nil
			}
			cfg := testConfig(topic, groupName(t))
			cfg.Ordering = ordering
			cfg.MaxInFlight = n
			start(t, newDispatcher(t, cfg, kc, h))
			admin := kafkatest.Admin(t, kc)

			// In unordered mode the records after the blocked one finish;
			// in ordered mode they wait for it.
			finishers := int32(blocked)
			if ordering == Unordered {
				finishers = n - 1
			}
			require.Eventually(t, func() bool { return others.Load() == finishers },
				waitFor, time.Millisecond)
			waitCommitted(t, admin, cfg.ConsumerGroup, topic, map[int32]int64{0: blocked})
			for range 5 {
				got, err := committed(admin, cfg.ConsumerGroup, topic, 1)
				require.NoError(t, err)
				require.Equal(t, int64(blocked), got[0], "committed offset passed record %d",
					blocked)
			}

			close(release)
			waitCommitted(t, admin, cfg.ConsumerGroup, topic, map[int32]int64{0: n})
		})
	}
}

// TestDispatcher_OrderedKeepsPerKeyOrder pins ordered mode over six
// partitions with random handler latency: each key's events arrive in the
// order produced, and a partition never has two events in flight.
func TestDispatcher_OrderedKeepsPerKeyOrder(t *testing.T) {
	kc := kafkatest.Config(t)
	const partitions, keys, versions = 6, 18, 8
	topic := kafkatest.NewTopic(t, kc, partitions)

	var records []record
	for v := range versions {
		for k := range keys {
			records = append(records, record{
				partition: int32(k % partitions),
				key:       fmt.Appendf(nil, "u-%d", k),
				value:     fmt.Appendf(nil, `{"key":"u-%d","version":%d}`, k, v),
			})
		}
	}
	produce(t, kc, topic, records...)

	var mu sync.Mutex
	seen := map[string][]int{}
	var inFlight [partitions]atomic.Int32
	var overlap atomic.Bool
	h := func(ctx context.Context, ev event.Event) (*event.Event, error) {
		var body struct {
			Key     string `json:"key"`
			Version int    `json:"version"`
		}
		if err := json.Unmarshal(ev.Data(), &body); err != nil {
			return nil, err
		}
		p := keyPartition(body.Key, partitions)
		if inFlight[p].Add(1) > 1 {
			overlap.Store(true)
		}
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)
		mu.Lock()
		seen[body.Key] = append(seen[body.Key], body.Version)
		mu.Unlock()
		inFlight[p].Add(-1)
		return nil, nil
	}
	cfg := testConfig(topic, groupName(t))
	start(t, newDispatcher(t, cfg, kc, h))

	want := map[int32]int64{}
	for p := range int32(partitions) {
		want[p] = keys / partitions * versions
	}
	waitCommitted(t, kafkatest.Admin(t, kc), cfg.ConsumerGroup, topic, want)

	assert.False(t, overlap.Load(), "two events of one partition were in flight at once")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, keys)
	for k, got := range seen {
		assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7}, got, "versions of key %s", k)
	}
}

// keyPartition returns the partition TestDispatcher_OrderedKeepsPerKeyOrder
// produced key u-<k> to.
func keyPartition(key string, partitions int) int {
	k, _ := strconv.Atoi(key[len("u-"):])
	return k % partitions
}

// TestDispatcher_OrderedRunsPartitionsInParallel pins that ordered mode
// orders within a partition only: a handler blocked on one partition does
// not hold up another.
func TestDispatcher_OrderedRunsPartitionsInParallel(t *testing.T) {
	kc := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, kc, 2)
	produce(t, kc, topic, append(jsonRecords(0, 1), jsonRecords(1, 1)...)...)

	// Each partition's record waits for the other's: serial dispatch would
	// never finish.
	started := map[string]chan struct{}{
		recordID(0, 0): make(chan struct{}),
		recordID(1, 0): make(chan struct{}),
	}
	other := map[string]string{recordID(0, 0): recordID(1, 0), recordID(1, 0): recordID(0, 0)}
	h := func(ctx context.Context, ev event.Event) (*event.Event, error) {
		close(started[ev.ID()])
		select {
		case <-started[other[ev.ID()]]:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	cfg := testConfig(topic, groupName(t))
	start(t, newDispatcher(t, cfg, kc, h))

	waitCommitted(t, kafkatest.Admin(t, kc), cfg.ConsumerGroup, topic,
		map[int32]int64{0: 1, 1: 1})
}

// TestDispatcher_UnorderedCommitsContiguousPrefix pins unordered mode:
// records finish out of order, concurrently, and every committed offset
// sampled meanwhile is at or before the first unfinished record.
func TestDispatcher_UnorderedCommitsContiguousPrefix(t *testing.T) {
	kc := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, kc, 1)
	const n, inFlight = 60, 8
	produce(t, kc, topic, jsonRecords(0, n)...)

	var mu sync.Mutex
	finished := make([]bool, n)
	firstUnfinished := func() int64 {
		mu.Lock()
		defer mu.Unlock()
		for i, f := range finished {
			if !f {
				return int64(i)
			}
		}
		return n
	}
	// Record 0 is held until the records in flight beside it have finished
	// and several commits have had the chance to pass it.
	release := make(chan struct{})
	h := func(ctx context.Context, ev event.Event) (*event.Event, error) {
		o, err := offsetOf(ev)
		if err != nil {
			return nil, err
		}
		if o == 0 {
			<-release
		}
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		mu.Lock()
		finished[o] = true
		mu.Unlock()
		return nil, nil
	}
	cfg := testConfig(topic, groupName(t))
	cfg.Ordering = Unordered
	cfg.MaxInFlight = inFlight
	start(t, newDispatcher(t, cfg, kc, h))

	admin := kafkatest.Admin(t, kc)
	var othersDone time.Time
	for {
		got, err := committed(admin, cfg.ConsumerGroup, topic, 1)
		require.NoError(t, err)
		// Read the unfinished record after the commit: finished records
		// only accumulate, so a correct commit is never beyond it.
		first := firstUnfinished()
		require.LessOrEqual(t, got[0], first, "committed offset passed an unfinished record")
		if got[0] == n {
			break
		}

		if othersDone.IsZero() && heldRecordsDone(&mu, finished[1:inFlight]) {
			othersDone = time.Now()
		}
		if !othersDone.IsZero() && time.Since(othersDone) > 5*time.Duration(cfg.CommitInterval) {
			closeOnce(release)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// heldRecordsDone reports whether every flag in fs is set.
func heldRecordsDone(mu *sync.Mutex, fs []bool) bool {
	mu.Lock()
	defer mu.Unlock()
	for _, f := range fs {
		if !f {
			return false
		}
	}
	return true
}

// closeOnce closes c unless it is closed.
func closeOnce(c chan struct{}) {
	select {
	case <-c:
	default:
		close(c)
	}
}

// TestDispatcher_CommitsAcrossTransactionMarkers pins that offsets taken
// by transaction markers (gaps between records) neither stall nor skip the
// committed prefix, in both modes.
func TestDispatcher_CommitsAcrossTransactionMarkers(t *testing.T) {
	for _, ordering := range []Ordering{Ordered, Unordered} {
		t.Run(string(ordering), func(t *testing.T) {
			kc := kafkatest.Config(t)
			topic := kafkatest.NewTopic(t, kc, 1)
			last := produceTransactions(t, kc, topic, 3, 2)

			rec := newRecorder()
			cfg := testConfig(topic, groupName(t))
			cfg.Ordering = ordering
			start(t, newDispatcher(t, cfg, kc, rec.handle))

			waitCommitted(t, kafkatest.Admin(t, kc), cfg.ConsumerGroup, topic,
				map[int32]int64{0: last + 1})
			assert.Equal(t, 6, rec.count())
		})
	}
}

// produceTransactions writes txns transactions of size records each to
// partition 0 of topic and returns the last record's offset. Each commit
// marker takes an offset, so the records' offsets have gaps.
func produceTransactions(t *testing.T, kc kafka.Config, topic string, txns, size int) int64 {
	t.Helper()
	sc, err := kc.Sarama()
	require.NoError(t, err)
	sc.Producer.Idempotent = true
	sc.Producer.Transaction.ID = topic
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Return.Successes = true
	sc.Producer.Partitioner = sarama.NewManualPartitioner
	sc.Net.MaxOpenRequests = 1
	p, err := sarama.NewSyncProducer(kc.Brokers, sc)
	require.NoError(t, err)
	defer p.Close()

	var last int64
	for i := range txns {
		require.NoError(t, p.BeginTxn())
		for j := range size {
			_, o, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic,
				Value: sarama.StringEncoder(fmt.Sprintf(`{"txn":%d,"n":%d}`, i, j))})
			require.NoError(t, err)
			last = o
		}
		require.NoError(t, p.CommitTxn())
	}
	require.Greater(t, last, int64(txns*size-1), "markers should leave gaps")
	return last
}

// TestDispatcher_PoisonRecordsNeverStopAPartition pins that records a
// handler cannot use, or that are not CloudEvents at all, reach a final
// outcome (delivered or dead-lettered) and never hold up the partition.
func TestDispatcher_PoisonRecordsNeverStopAPartition(t *testing.T) {
	kc := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, kc, 1)
	dlt := kafkatest.NewTopic(t, kc, 1)

	ct := func(v string) sarama.RecordHeader {
		return sarama.RecordHeader{Key: []byte("content-type"), Value: []byte(v)}
	}
	hdr := func(k, v string) sarama.RecordHeader {
		return sarama.RecordHeader{Key: []byte(k), Value: []byte(v)}
	}
	// Kafka's and kfake's default message.max.bytes is 1048588; the huge
	// record fits, its dead letter (the record plus the failure) does not.
	const brokerLimit = 1048588
	huge := make([]byte, brokerLimit-512)
	for i := range huge {
		huge[i] = 'x'
	}
	poison := []record{
		{value: []byte("not json {"), headers: []sarama.RecordHeader{ct("application/json")}},
		{value: []byte{0x89, 'P', 'N', 'G'}, headers: []sarama.RecordHeader{ct("image/png")}},
		{value: []byte(`{"n":2}`), headers: []sarama.RecordHeader{
			hdr("ce_specversion", "1.0"), hdr("ce_id", "x"), hdr("ce_type", "t"),
			hdr("ce_time", "yesterday"), ct("application/json")}},
		{key: []byte("u-1")},
		{value: []byte(`{"n":4}`), headers: []sarama.RecordHeader{
			{Key: []byte("x-\xff\xfe"), Value: []byte("\xff\xfe\xfd")}}},
		{value: []byte(`{"n":5}`), headers: []sarama.RecordHeader{
			hdr("ce_specversion", "9.9"), hdr("ce_id", "x"), hdr("ce_source", "s"),
			hdr("ce_type", "t")}},
		{value: []byte("{"), headers: []sarama.RecordHeader{
			ct("application/cloudevents+json; charset=utf-8")}},
	}
	produce(t, kc, topic, poison...)
	// Alone, so no batch carries it past the broker's limit.
	produce(t, kc, topic, record{value: huge})
	produce(t, kc, topic, record{value: []byte(`{"n":8}`)})
	const n = 9

	// The handler accepts JSON data only; everything else fails for good.
	var mu sync.Mutex
	failed := map[int64]bool{}
	delivered := map[int64]int{}
	h := func(ctx context.Context, ev event.Event) (*event.Event, error) {
		o, err := offsetOf(ev)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		defer mu.Unlock()
		if !json.Valid(ev.Data()) {
			failed[o] = true
			return nil, errBoom
		}
		delivered[o] = len(ev.Data())
		return nil, nil
	}
	cfg := testConfig(topic, groupName(t))
	cfg.DeliveryRetry = 1
	cfg.DeadLetterTopic = dlt
	start(t, newDispatcher(t, cfg, kc, h))

	waitCommitted(t, kafkatest.Admin(t, kc), cfg.ConsumerGroup, topic, map[int32]int64{0: n})

	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, delivered, int64(8), "the record after the poison is delivered")
	assert.Len(t, failed, n-len(delivered), "every record failed or was delivered")
	for o := range failed {
		assert.NotContains(t, delivered, o)
	}

	dead := map[string]*sarama.ConsumerMessage{}
	for _, m := range readTopic(t, kc, dlt, len(failed)) {
		dead[headerMap(m)["ce_knativekafkaoffset"]] = m
	}
	for o := range failed {
		assert.Contains(t, dead, strconv.FormatInt(o, 10), "record %d dead-lettered", o)
	}
	if m, ok := dead["7"]; assert.True(t, ok, "the huge record is dead-lettered") {
		assert.Empty(t, m.Value, "a dead letter over the limit goes without its data")
		assert.Equal(t, "500", headerMap(m)["ce_knativeerrorcode"])
	}
}

// TestDispatcher_UnwritableDeadLetterHoldsOffset pins that a dead letter
// that cannot be written holds its record's offset (and, in ordered mode,
// the records after it) and is retried until it is written.
func TestDispatcher_UnwritableDeadLetterHoldsOffset(t *testing.T) {
	kc := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, kc, 1)
	// The dead-letter topic does not exist yet, and the dispatcher never
	// creates one.
	dlt := fmt.Sprintf("dlt-%d", time.Now().UnixNano())
	produce(t, kc, topic, jsonRecords(0, 3)...)

	rec := newRecorder()
	rec.fail = func(ev event.Event) error {
		if ev.ID() == recordID(0, 1) {
			return errBoom
		}
		return nil
	}
	cfg := testConfig(topic, groupName(t))
	cfg.DeliveryRetry = 0
	cfg.DeadLetterTopic = dlt
	logger, logs := captureLogs(t)
	start(t, newLoggingDispatcher(t, cfg, kc, rec.handle, logger))

	admin := kafkatest.Admin(t, kc)
	require.Eventually(t, func() bool {
		n, _ := logs.count("dead letter not written, retrying")
		return n >= 2
	}, waitFor, 5*time.Millisecond)
	got, err := committed(admin, cfg.ConsumerGroup, topic, 1)
	require.NoError(t, err)
	assert.Equal(t, int64(1), got[0], "the offset stops at the record being dead-lettered")
	assert.NotContains(t, rec.attempts(), recordID(0, 2), "ordered: the next record waits")

	require.NoError(t, admin.CreateTopic(dlt, &sarama.TopicDetail{NumPartitions: 1,
		ReplicationFactor: 1}, false))
	t.Cleanup(func() { _ = admin.DeleteTopic(dlt) })
	waitCommitted(t, admin, cfg.ConsumerGroup, topic, map[int32]int64{0: 3})
	assert.Equal(t, recordID(0, 1), headerMap(readTopic(t, kc, dlt, 1)[0])["ce_id"])
}

// TestDispatcher_StopLosesNothing pins a clean stop in both modes: work
// that finishes within STOP_TIMEOUT is committed, work still running then
// is abandoned uncommitted, no goroutine is left behind, and a restarted
// dispatcher in the same group redelivers what was not committed.
func TestDispatcher_StopLosesNothing(t *testing.T) {
	// Partition 0's record 1 outlives the stop timeout; partition 1's
	// record 1 finishes during the stop.
	stuck, finishing := recordID(0, 1), recordID(1, 1)
	tests := []struct {
		ordering Ordering
		// before are delivered before the stop begins.
		before    []string
		committed map[int32]int64
		// redelivered are delivered after the restart.
		redelivered []string
	}{{
		ordering:    Ordered,
		before:      []string{recordID(0, 0), recordID(1, 0)},
		committed:   map[int32]int64{0: 1, 1: 2},
		redelivered: []string{stuck, recordID(0, 2), recordID(1, 2)},
	}, {
		ordering:  Unordered,
		before:    []string{recordID(0, 0), recordID(0, 2), recordID(1, 0), recordID(1, 2)},
		committed: map[int32]int64{0: 1, 1: 3},
		// Record 0/2 finished, but after the abandoned 0/1: at least once.
		redelivered: []string{stuck, recordID(0, 2)},
	}}
	for _, tt := range tests {
		t.Run(string(tt.ordering), func(t *testing.T) {
			kc := kafkatest.Config(t)
			topic := kafkatest.NewTopic(t, kc, 2)
			produce(t, kc, topic, append(jsonRecords(0, 3), jsonRecords(1, 3)...)...)
			group := groupName(t)
			leaks := goleak.IgnoreCurrent()

			inFlight := make(chan string, 2)
			stopping := make(chan struct{})
			first := newRecorder()
			h := func(ctx context.Context, ev event.Event) (*event.Event, error) {
				switch ev.ID() {
				case stuck:
					inFlight <- ev.ID()
					<-ctx.Done()
					return nil, ctx.Err()
				case finishing:
					inFlight <- ev.ID()
					<-stopping
				}
				return first.handle(ctx, ev)
			}
			cfg := testConfig(topic, group)
			cfg.Ordering = tt.ordering
			cfg.StopTimeout = Duration(300 * time.Millisecond)
			r := start(t, newDispatcher(t, cfg, kc, h))

			<-inFlight
			<-inFlight
			require.Eventually(t, func() bool { return first.count() == len(tt.before) },
				waitFor, time.Millisecond)
			r.cancel()
			close(stopping)
			require.NoError(t, r.stop(t))
			goleak.VerifyNone(t, leaks)

			got, err := committed(kafkatest.Admin(t, kc), group, topic, 2)
			require.NoError(t, err)
			assert.Equal(t, tt.committed, got)
			assert.ElementsMatch(t, append(tt.before, finishing), keysOf(first.attempts()))

			second := newRecorder()
			cfg.StopTimeout = Duration(5 * time.Second)
			start(t, newDispatcher(t, cfg, kc, second.handle))
			waitCommitted(t, kafkatest.Admin(t, kc), group, topic, map[int32]int64{0: 3, 1: 3})
			assert.ElementsMatch(t, tt.redelivered, keysOf(second.attempts()))
		})
	}
}

// keysOf returns the keys of m.
func keysOf(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestDispatcher_TwoDispatchersSplitPartitions pins that a second
// dispatcher joining the group takes over some partitions and that no
// record is lost across the rebalance.
func TestDispatcher_TwoDispatchersSplitPartitions(t *testing.T) {
	kc := kafkatest.Config(t)
	const partitions, perPartition = 6, 40
	topic := kafkatest.NewTopic(t, kc, partitions)
	var records []record
	for p := range int32(partitions) {
		records = append(records, jsonRecords(p, perPartition)...)
	}
	produce(t, kc, topic, records...)

	type delivery struct {
		who string
		id  string
	}
	var mu sync.Mutex
	var log []delivery
	handler := func(who string) func(context.Context, event.Event) (*event.Event, error) {
		return func(ctx context.Context, ev event.Event) (*event.Event, error) {
			// Slow enough that the second dispatcher joins mid-stream.
			time.Sleep(5 * time.Millisecond)
			mu.Lock()
			log = append(log, delivery{who, ev.ID()})
			mu.Unlock()
			return nil, nil
		}
	}
	delivered := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(log)
	}

	cfg := testConfig(topic, groupName(t))
	loggerA, logsA := captureLogs(t)
	start(t, newLoggingDispatcher(t, cfg, kc, handler("a"), loggerA))
	require.Eventually(t, func() bool { return delivered() >= 10 }, waitFor, time.Millisecond)
	loggerB, logsB := captureLogs(t)
	start(t, newLoggingDispatcher(t, cfg, kc, handler("b"), loggerB))

	admin := kafkatest.Admin(t, kc)
	want := map[int32]int64{}
	for p := range int32(partitions) {
		want[p] = perPartition
	}
	waitCommitted(t, admin, cfg.ConsumerGroup, topic, want)
	mu.Lock()
	ids := map[string]bool{}
	byB := 0
	for _, d := range log {
		ids[d.id] = true
		if d.who == "b" {
			byB++
		}
	}
	assert.Len(t, ids, partitions*perPartition, "every record delivered")
	t.Logf("%d deliveries of %d records, %d by the second dispatcher", len(log), len(ids), byB)
	mu.Unlock()

	// Once both have their partitions, new records show the split.
	require.Eventually(t, func() bool {
		a, _ := logsA.count("partitions assigned")
		b, _ := logsB.count("partitions assigned")
		return a >= 2 && b >= 1
	}, waitFor, time.Millisecond)
	mu.Lock()
	log = nil
	mu.Unlock()
	records = records[:0]
	for p := range int32(partitions) {
		records = append(records, jsonRecords(p, perPartition+3)[perPartition:]...)
		want[p] = perPartition + 3
	}
	produce(t, kc, topic, records...)
	waitCommitted(t, admin, cfg.ConsumerGroup, topic, want)

	mu.Lock()
	defer mu.Unlock()
	owner := map[string]string{}
	for _, d := range log {
		p := d.id[:len("partition:0")]
		assert.Contains(t, []string{"", d.who}, owner[p], "%s delivered by both", p)
		owner[p] = d.who
	}
	assert.Len(t, owner, partitions)
	assert.Contains(t, owner, "partition:0")
	whos := map[string]bool{}
	for _, w := range owner {
		whos[w] = true
	}
	assert.Len(t, whos, 2, "both dispatchers own partitions: %v", owner)
}

// TestDispatcher_WaitsForMissingTopic pins that a dispatcher started before
// its topic exists neither creates it nor gives up: it retries and delivers
// once the topic is there.
func TestDispatcher_WaitsForMissingTopic(t *testing.T) {
	kc := kafkatest.Config(t)
	topic := fmt.Sprintf("late-%d", time.Now().UnixNano())
	rec := newRecorder()
	cfg := testConfig(topic, groupName(t))
	logger, logs := captureLogs(t)
	start(t, newLoggingDispatcher(t, cfg, kc, rec.handle, logger))

	require.Eventually(t, func() bool {
		n, _ := logs.count("consumer group session failed, retrying")
		return n >= 1
	}, waitFor, 5*time.Millisecond)
	admin := kafkatest.Admin(t, kc)
	require.NoError(t, admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1,
		ReplicationFactor: 1}, false))
	t.Cleanup(func() { _ = admin.DeleteTopic(topic) })
	produce(t, kc, topic, jsonRecords(0, 2)...)

	waitCommitted(t, admin, cfg.ConsumerGroup, topic, map[int32]int64{0: 2})
	assert.Equal(t, 2, rec.count())
}

// TestDispatcher_LatestSkipsExistingRecords pins KafkaSource's default
// initial offset: a new group starts after the records already there.
func TestDispatcher_LatestSkipsExistingRecords(t *testing.T) {
	kc := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, kc, 1)
	produce(t, kc, topic, jsonRecords(0, 2)...)

	rec := newRecorder()
	cfg := testConfig(topic, groupName(t))
	cfg.InitialOffset = Latest
	start(t, newDispatcher(t, cfg, kc, rec.handle))

	// The group's start offset is fixed when its claim starts, which the
	// test cannot see: probe until a record produced after it arrives.
	probe := record{value: []byte(`{"probe":true}`)}
	deadline := time.Now().Add(waitFor)
	for rec.count() == 0 {
		require.True(t, time.Now().Before(deadline), "no probe delivered in %v", waitFor)
		produce(t, kc, topic, probe)
		select {
		case <-rec.seen:
		case <-time.After(50 * time.Millisecond):
		}
	}
	for id := range rec.attempts() {
		assert.NotContains(t, []string{recordID(0, 0), recordID(0, 1)}, id)
	}
}

// TestDispatcher_UnorderedIdlePartitionsHoldNoSlots pins that in unordered
// mode partitions without records do not take the in-flight slots that a
// busy partition needs.
func TestDispatcher_UnorderedIdlePartitionsHoldNoSlots(t *testing.T) {
	kc := kafkatest.Config(t)
	topic := kafkatest.NewTopic(t, kc, 3)
	produce(t, kc, topic, jsonRecords(2, 5)...)

	rec := newRecorder()
	cfg := testConfig(topic, groupName(t))
	cfg.Ordering = Unordered
	cfg.MaxInFlight = 1
	start(t, newDispatcher(t, cfg, kc, rec.handle))

	waitCommitted(t, kafkatest.Admin(t, kc), cfg.ConsumerGroup, topic,
		map[int32]int64{0: -1, 1: -1, 2: 5})
	assert.Equal(t, 5, rec.count())
}
