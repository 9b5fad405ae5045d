package producer

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/events"
)

// TestSend_RecordHeadersAndKey pins down the record of one send: a
// binary-mode CloudEvent whose key, subject and partitionkey are the entity
// id and whose value is the event's JSON.
func TestSend_RecordHeadersAndKey(t *testing.T) {
	cfg := testConfig(t, 3)
	p := newTestProducer(t, cfg)
	ev := user("user-00", 3)

	before := time.Now()
	r, err := p.Send(t.Context(), events.TypeUserUpdated, ev)
	require.NoError(t, err)
	after := time.Now()

	recs := readTopic(t, cfg)
	require.Len(t, recs, 1)
	rec := recs[0]
	assert.Equal(t, r, Receipt{ID: r.ID, Subject: "user-00", Topic: cfg.Topic,
		Partition: rec.Partition, Offset: rec.Offset})
	assert.Equal(t, "user-00", string(rec.Key))

	h := headers(t, rec)
	assert.Equal(t, map[string]string{
		"ce_specversion":  "1.0",
		"ce_id":           r.ID,
		"ce_source":       testSource,
		"ce_type":         events.TypeUserUpdated,
		"ce_subject":      "user-00",
		"ce_time":         h["ce_time"],
		"ce_partitionkey": "user-00",
		"content-type":    "application/json",
	}, h)
	_, err = uuid.Parse(r.ID)
	assert.NoError(t, err, "ce_id %q is not a uuid", r.ID)

	at, err := time.Parse(time.RFC3339Nano, h["ce_time"])
	require.NoError(t, err, "ce_time %q is not RFC 3339", h["ce_time"])
	assert.Equal(t, byte('Z'), h["ce_time"][len(h["ce_time"])-1], "ce_time %q is not UTC",
		h["ce_time"])
	assert.False(t, at.Before(before.Truncate(time.Microsecond)) || at.After(after),
		"ce_time %v outside the send [%v, %v]", at, before, after)

	var got events.UserEvent
	require.NoError(t, json.Unmarshal(rec.Value, &got))
	assert.Equal(t, ev, got)
}

// TestSend_FreshIDPerSend pins down that every send, even of the same event,
// gets its own CloudEvents id, never the entity id.
func TestSend_FreshIDPerSend(t *testing.T) {
	cfg := testConfig(t, 1)
	p := newTestProducer(t, cfg)
	ev := user("user-01", 1)

	ids := map[string]bool{}
	for range 20 {
		r, err := p.Send(t.Context(), events.TypeUserUpdated, ev)
		require.NoError(t, err)
		ids[r.ID] = true
	}
	for _, res := range p.SendAll(t.Context(), events.TypeUserUpdated, make5(ev)) {
		require.NoError(t, res.Err)
		ids[res.ID] = true
	}
	assert.Len(t, ids, 25)
	assert.NotContains(t, ids, ev.ID)

	recs := readTopic(t, cfg)
	require.Len(t, recs, 25)
	for _, rec := range recs {
		id := headers(t, rec)["ce_id"]
		assert.True(t, ids[id], "record ce_id %q was not returned by a send", id)
		delete(ids, id)
	}
}

func make5(ev events.UserEvent) []events.UserEvent {
	return []events.UserEvent{ev, ev, ev, ev, ev}
}

// murmur2Vectors are the Java client's partitions for these keys (see
// shared/notes/kafka-clients.md).
var murmur2Vectors = []struct {
	key     string
	p3, p12 int32
}{
	{"abc", 0, 3},
	{"a-little-bit-long-string", 2, 8},
	{"user-00", 1, 7},
	{"user-01", 1, 4},
	{"3f2a9c1e-7b4d-4e8a-9c1f-2d5e6f7a8b9c", 0, 6},
}

// TestSaramaConfig_Murmur2Vectors pins down that the producer's partitioner
// computes the Java client's partitions.
func TestSaramaConfig_Murmur2Vectors(t *testing.T) {
	sc, err := validConfig().saramaConfig()
	require.NoError(t, err)
	part := sc.Producer.Partitioner("users")

	for _, v := range murmur2Vectors {
		msg := &sarama.ProducerMessage{Key: sarama.StringEncoder(v.key)}
		p3, err := part.Partition(msg, 3)
		require.NoError(t, err)
		p12, err := part.Partition(msg, 12)
		require.NoError(t, err)
		assert.Equal(t, [2]int32{v.p3, v.p12}, [2]int32{p3, p12}, "key %q", v.key)
	}
	assert.True(t, part.RequiresConsistency(), "partitioner must be deterministic")
}

// TestSend_LandsOnMurmur2Partition pins down that records really land on the
// Java client's partition for their key, on 3 and 12 partitions.
func TestSend_LandsOnMurmur2Partition(t *testing.T) {
	for _, n := range []int32{3, 12} {
		t.Run(fmt.Sprintf("partitions=%d", n), func(t *testing.T) {
			cfg := testConfig(t, n)
			p := newTestProducer(t, cfg)

			want := map[string]int32{}
			for _, v := range murmur2Vectors {
				want[v.key] = map[int32]int32{3: v.p3, 12: v.p12}[n]
				r, err := p.Send(t.Context(), events.TypeUserCreated, user(v.key, 1))
				require.NoError(t, err)
				assert.Equal(t, want[v.key], r.Partition, "receipt partition of %q", v.key)
			}

			recs := readTopic(t, cfg)
			require.Len(t, recs, len(murmur2Vectors))
			for _, rec := range recs {
				assert.Equal(t, want[string(rec.Key)], rec.Partition, "record %q", rec.Key)
			}
		})
	}
}

// TestSend_KeyOrderUnderConcurrentSenders pins down that 32 senders sharing
// one producer keep each entity's events in order, through Send and through
// the pipelined SendAll.
func TestSend_KeyOrderUnderConcurrentSenders(t *testing.T) {
	const senders, perKey = 32, 40
	cfg := testConfig(t, 6)
	p := newTestProducer(t, cfg)

	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() { sendVersions(t, p, fmt.Sprintf("user-%02d", s), perKey, s%2 == 0) })
	}
	wg.Wait()

	seen := map[string][]int64{}
	for _, rec := range readTopic(t, cfg) {
		var ev events.UserEvent
		require.NoError(t, json.Unmarshal(rec.Value, &ev))
		seen[ev.ID] = append(seen[ev.ID], ev.Version)
	}
	want := make([]int64, perKey)
	for i := range want {
		want[i] = int64(i + 1)
	}
	require.Len(t, seen, senders)
	for id, versions := range seen {
		assert.Equal(t, want, versions, "versions of %s in partition order", id)
	}
}

// sendVersions sends versions 1..n of one user, one by one or as one batch.
func sendVersions(t *testing.T, p *UserProducer, id string, n int, batch bool) {
	evs := make([]events.UserEvent, n)
	for i := range evs {
		evs[i] = user(id, int64(i+1))
	}
	if batch {
		for i, r := range p.SendAll(context.Background(), events.TypeUserUpdated, evs) {
			assert.NoError(t, r.Err, "%s version %d", id, i+1)
		}
		return
	}
	for _, ev := range evs {
		_, err := p.Send(context.Background(), events.TypeUserUpdated, ev)
		assert.NoError(t, err, "%s version %d", id, ev.Version)
	}
}

// TestSend_EmptyIDRejectedBeforeWrite pins down that an event without an
// entity id is refused with ErrInvalidEvent and nothing reaches the topic.
func TestSend_EmptyIDRejectedBeforeWrite(t *testing.T) {
	cfg := testConfig(t, 3)
	p := newTestProducer(t, cfg)
	_, err := p.Send(t.Context(), events.TypeUserCreated, user("user-00", 1))
	require.NoError(t, err)
	before := endOffsets(t, cfg)

	_, err = p.Send(t.Context(), events.TypeUserCreated, user("", 1))
	require.ErrorIs(t, err, ErrInvalidEvent)
	assert.Contains(t, err.Error(), "empty entity id")
	assert.Contains(t, err.Error(), cfg.Topic)
	res := p.SendAll(t.Context(), events.TypeUserCreated, []events.UserEvent{user("", 2)})
	require.ErrorIs(t, res[0].Err, ErrInvalidEvent)
	assert.Equal(t, before, endOffsets(t, cfg), "offsets moved")

	// A later valid send is the only new record: nothing was queued behind.
	_, err = p.Send(t.Context(), events.TypeUserCreated, user("user-01", 1))
	require.NoError(t, err)
	recs := readTopic(t, cfg)
	require.Len(t, recs, 2)
	for _, rec := range recs {
		assert.NotEmpty(t, rec.Key)
	}
}

// nanEvent is an event whose data cannot be marshalled to JSON.
type nanEvent struct {
	ID    string  `json:"id"`
	Score float64 `json:"score"`
}

func (e nanEvent) GetId() string { return e.ID } //nolint:revive // the contract's name.

// ptrEvent is an event type used through a pointer.
type ptrEvent struct{ ID string }

func (e *ptrEvent) GetId() string { return e.ID } //nolint:revive // the contract's name.

// TestSend_InvalidEventRejected pins down every way an event is refused
// before sending, each with ErrInvalidEvent and the reason, and that none of
// them writes anything.
func TestSend_InvalidEventRejected(t *testing.T) {
	cfg := testConfig(t, 1)
	users := newTestProducer(t, cfg)
	nans := newProducerOf[nanEvent](t, cfg)
	ptrs := newProducerOf[*ptrEvent](t, cfg)

	cases := []struct {
		name, reason string
		send         func() error
	}{
		{"empty type", "empty event type", func() error {
			_, err := users.Send(t.Context(), "", user("user-00", 1))
			return err
		}},
		{"type not allowed", `"com.example.other"`, func() error {
			_, err := users.Send(t.Context(), "com.example.other", user("user-00", 1))
			return err
		}},
		{"event validation fails", "negative version", func() error {
			_, err := users.Send(t.Context(), events.TypeUserCreated, user("user-00", -1))
			return err
		}},
		{"data does not marshal", "unsupported value: NaN", func() error {
			_, err := nans.Send(t.Context(), "t", nanEvent{ID: "n-1", Score: math.NaN()})
			return err
		}},
		{"nil event", "nil event", func() error {
			_, err := ptrs.Send(t.Context(), "t", nil)
			return err
		}},
		{"blank id", "empty entity id", func() error {
			_, err := users.Send(t.Context(), events.TypeUserCreated, user("  ", 1))
			return err
		}},
		{"id not UTF-8", "entity id is not valid UTF-8", func() error {
			_, err := users.Send(t.Context(), events.TypeUserCreated, user("u-\xff", 1))
			return err
		}},
		{"empty id through a pointer", "empty entity id", func() error {
			_, err := ptrs.Send(t.Context(), "t", &ptrEvent{})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.send()
			require.ErrorIs(t, err, ErrInvalidEvent)
			assert.Contains(t, err.Error(), c.reason)
		})
	}
	assert.Equal(t, map[int32]int64{0: 0}, endOffsets(t, cfg), "invalid events were written")
}

// newProducerOf returns a producer of T for cfg, closed when t ends.
func newProducerOf[T events.Event](t *testing.T, cfg Config) *Producer[T] {
	t.Helper()

	p, err := New[T](cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(context.Background())) })
	return p
}

// TestSendAll_ResultPerEvent pins down that SendAll reports one result per
// event, in order, and that a refused event does not stop the others.
func TestSendAll_ResultPerEvent(t *testing.T) {
	cfg := testConfig(t, 3)
	p := newTestProducer(t, cfg)
	// user-00 and abc land on different partitions of 3.
	evs := []events.UserEvent{user("user-00", 1), user("", 1), user("abc", 1),
		user("user-00", 2)}

	res := p.SendAll(t.Context(), events.TypeUserUpdated, evs)

	require.Len(t, res, len(evs))
	assert.ErrorIs(t, res[1].Err, ErrInvalidEvent)
	for _, i := range []int{0, 2, 3} {
		require.NoError(t, res[i].Err, "event %d", i)
		assert.Equal(t, evs[i].ID, res[i].Subject, "event %d", i)
	}
	assert.Equal(t, res[0].Partition, res[3].Partition, "one key, one partition")
	assert.Equal(t, res[0].Offset+1, res[3].Offset, "one key, in order")
	assert.Len(t, readTopic(t, cfg), 3)
	assert.Empty(t, p.SendAll(t.Context(), events.TypeUserUpdated, nil))
}

// TestSend_SizeBoundary pins down the size check at limit-1, limit and
// limit+1 bytes: the first two are written, the last refused with a
// TooLargeError before anything is written; and that the size checked is the
// one sarama enforces, so the check is neither stricter nor looser than the
// client's own.
func TestSend_SizeBoundary(t *testing.T) {
	for _, limit := range []int{4096, DefaultMaxMessageBytes} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			cfg := testConfig(t, 1)
			cfg.MaxMessageBytes = limit
			p := newTestProducer(t, cfg)
			p.enc.now = fixedClock

			for _, size := range []int{limit - 1, limit} {
				r, err := p.Send(t.Context(), events.TypeUserCreated, sizedUser(t, p, size))
				require.NoError(t, err, "%d-byte event", size)
				assert.Equal(t, int64(size-limit+1), r.Offset)
			}
			_, err := p.Send(t.Context(), events.TypeUserCreated, sizedUser(t, p, limit+1))
			require.ErrorIs(t, err, ErrTooLarge)
			var tl *TooLargeError
			require.ErrorAs(t, err, &tl)
			assert.Equal(t, TooLargeError{Topic: cfg.Topic, Subject: "user-00",
				Size: limit + 1, Limit: limit}, *tl)
			assert.Contains(t, err.Error(), "PRODUCER_MAX_MESSAGE_BYTES")
			assert.Equal(t, map[int32]int64{0: 2}, endOffsets(t, cfg))
		})
	}
	t.Run("sarama agrees", saramaAgreesOnSize)
}

// saramaAgreesOnSize sends the limit and limit+1 records through a raw
// sarama producer with the same limit: sarama takes the first and refuses
// the second, so the producer's size is exactly sarama's.
func saramaAgreesOnSize(t *testing.T) {
	const limit = 4096
	cfg := testConfig(t, 1)
	cfg.MaxMessageBytes = limit
	p := newTestProducer(t, cfg)
	p.enc.now = fixedClock
	sc, err := cfg.saramaConfig()
	require.NoError(t, err)
	sp, err := sarama.NewSyncProducer(cfg.Brokers, sc)
	require.NoError(t, err)
	defer func() { _ = sp.Close() }()

	for _, size := range []int{limit, limit + 1} {
		msg, err := p.enc.encode(events.TypeUserCreated, sizedUser(t, p, size), newPending())
		require.NoError(t, err)
		msg.Metadata = nil
		_, _, err = sp.SendMessage(msg)
		if size == limit {
			assert.NoError(t, err, "sarama refused the %d-byte record", size)
		} else {
			assert.ErrorContains(t, err, "larger than configured Producer.MaxMessageBytes")
		}
	}
}

func fixedClock() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC) }

// sizedUser returns an event of user-00 whose record is size bytes as the
// producer counts it: the name pads the JSON one byte per character, and
// with a fixed clock and fixed-length ids nothing else varies.
func sizedUser(t *testing.T, p *UserProducer, size int) events.UserEvent {
	t.Helper()

	ev := user("user-00", 1)
	ev.Name = ""
	msg, err := p.enc.encode(events.TypeUserCreated, ev, newPending())
	require.NoError(t, err)
	base := msg.ByteSize(recordBatchVersion)
	require.Less(t, base, size, "limit below the empty event")

	ev.Name = strings.Repeat("x", size-base)
	msg, err = p.enc.encode(events.TypeUserCreated, ev, newPending())
	require.NoError(t, err)
	require.Equal(t, size, msg.ByteSize(recordBatchVersion))
	return ev
}

// TestSend_AfterClose pins down that sends after Close fail with ErrClosed,
// never panic and never report success, and that Close is idempotent.
func TestSend_AfterClose(t *testing.T) {
	cfg := testConfig(t, 1)
	p, err := New[events.UserEvent](cfg)
	require.NoError(t, err)
	require.NoError(t, p.Close(t.Context()))

	_, err = p.Send(t.Context(), events.TypeUserCreated, user("user-00", 1))
	assert.ErrorIs(t, err, ErrClosed)
	assert.Contains(t, err.Error(), cfg.Topic)
	for _, r := range p.SendAll(t.Context(), events.TypeUserCreated, make5(user("u", 1))) {
		assert.ErrorIs(t, r.Err, ErrClosed)
	}
	assert.NoError(t, p.Close(t.Context()), "second Close")
	assert.Equal(t, map[int32]int64{0: 0}, endOffsets(t, cfg))
}

// TestSend_RacingClose pins down that sends racing Close either succeed, and
// their record is in the topic, or fail with ErrClosed: none is lost or
// falsely reported.
func TestSend_RacingClose(t *testing.T) {
	cfg := testConfig(t, 3)
	p, err := New[events.UserEvent](cfg)
	require.NoError(t, err)

	var mu sync.Mutex
	sent := map[string]bool{}
	var wg sync.WaitGroup
	for s := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				r, err := p.Send(context.Background(), events.TypeUserCreated,
					user(fmt.Sprintf("user-%d-%d", s, i), 1))
				if err != nil {
					assert.ErrorIs(t, err, ErrClosed)
					return
				}
				mu.Lock()
				sent[r.ID] = true
				mu.Unlock()
			}
		})
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sent) > 50 },
		30*time.Second, time.Millisecond)
	require.NoError(t, p.Close(t.Context()))
	wg.Wait()

	recs := readTopic(t, cfg)
	assert.Len(t, recs, len(sent))
	for _, rec := range recs {
		assert.True(t, sent[headers(t, rec)["ce_id"]], "record not reported as sent")
	}
}

// TestClose_FlushesInFlight pins down that Close returns only after every
// record already handed to the broker is acknowledged, and that each waiting
// sender gets its receipt.
func TestClose_FlushesInFlight(t *testing.T) {
	const n = 300
	cfg := testConfig(t, 3)
	p, err := New[events.UserEvent](cfg)
	require.NoError(t, err)

	pends := make([]*pending, n)
	for i := range pends {
		pends[i], err = p.submit(t.Context(), events.TypeUserCreated,
			user(fmt.Sprintf("user-%d", i), 1))
		require.NoError(t, err)
	}
	require.NoError(t, p.Close(t.Context()))

	assert.Zero(t, p.inFlight.Load(), "records in flight after Close")
	for i, pend := range pends {
		select {
		case d := <-pend.done:
			assert.NoError(t, d.err, "record %d", i)
		default:
			require.FailNow(t, "no outcome after Close", "record %d", i)
		}
	}
	assert.Len(t, readTopic(t, cfg), n)
}
