package realbroker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/functions/welcome"
	"function/pkg/events"
	"function/pkg/handler"
	"function/pkg/kafka/kafkatest"
	"function/pkg/mail"
	"function/pkg/producer"
	"function/pkg/store"
)

// TestKcat_RecordsReachHandlersAsDocumented pins what the welcome handler
// gets for records kcat writes: a binary CloudEvent passes through with its
// attributes, extensions and Kafka position, is decoded into a UserEvent and
// mailed; a plain JSON record (keyed or not) arrives wrapped as a
// dev.knative.kafka.event with its key, and the typed handler refuses it
// with 400 to the dead-letter topic.
func TestKcat_RecordsReachHandlersAsDocumented(t *testing.T) {
	cfg := realConfig(t)
	kcat := kcatPath(t)
	topic := kafkatest.NewTopic(t, cfg, 3)
	dlt := kafkatest.NewTopic(t, cfg, 1)
	brokers := strings.Join(cfg.Brokers, ",")

	u := user("u-kcat-1")
	data, err := json.Marshal(u)
	require.NoError(t, err)
	mustCommand(t, "u-kcat-1\t"+string(data)+"\n", kcat, "-P", "-b", brokers, "-t", topic,
		"-K", "\t", "-X", "partitioner=murmur2_random",
		"-H", "ce_specversion=1.0", "-H", "ce_id=kcat-1", "-H", "ce_source=/kcat",
		"-H", "ce_type="+events.TypeUserCreated, "-H", "ce_subject=u-kcat-1",
		"-H", "ce_time=2026-01-02T03:04:05Z", "-H", "ce_comexampleext=v",
		"-H", "content-type=application/json", "-H", "trace=x")
	plain := `{"id":"u-plain-2","name":"Plain"}`
	mustCommand(t, "u-plain-2\t"+plain+"\n", kcat, "-P", "-b", brokers, "-t", topic,
		"-K", "\t", "-H", "content-type=application/json")
	mustCommand(t, `{"value":5}`+"\n", kcat, "-P", "-b", brokers, "-t", topic)

	wh, outbox, ledger := newWelcome(t)
	typed := &typedRecorder{next: wh.Handle}
	h, err := handler.New[events.UserEvent](welcome.Name, welcome.Types, typed.handle, nil)
	require.NoError(t, err)
	rec := newRecorder(h.Handle)
	dc := dispatcherConfig(topic)
	dc.DeadLetterTopic = dlt
	runDispatcher(t, cfg, dc, rec.sink())
	// The CloudEvent is done when the handler returned; the plain records
	// are done when their dead letters are written, which readRecords waits
	// for below.
	rec.waitUntil(t, "3 events, kcat-1 handled", func() bool {
		return len(rec.events()) >= 3 && len(rec.missing([]string{"kcat-1"})) == 0
	}, func() string { return fmt.Sprintf("%d events", len(rec.events())) })

	evs := rec.events()
	ce := findEvent(t, evs, func(e event.Event) bool { return e.ID() == "kcat-1" })
	assertPassedThrough(t, ce, data)
	assertDecoded(t, typed, ce, u)
	assertWelcomed(t, outbox, ledger, ce, u)

	keyed := findEvent(t, evs, func(e event.Event) bool { return ext(e, "key") == "u-plain-2" })
	assertWrapped(t, keyed, topic, "application/json", []byte(plain))
	bare := findEvent(t, evs, func(e event.Event) bool { return string(e.Data()) == `{"value":5}` })
	assertWrapped(t, bare, topic, "", []byte(`{"value":5}`))
	assert.NotContains(t, bare.Extensions(), "key", "a record without a key has no key extension")

	assertDeadLettered(t, readRecords(t, cfg, dlt, 2), keyed, bare)
}

// TestKcat_ReadsOurProducersEvents pins what kcat shows of an event our
// producer wrote: the entity id as key, the ce_ headers of a binary-mode
// CloudEvent and the JSON of the event as value, where the receipt says.
func TestKcat_ReadsOurProducersEvents(t *testing.T) {
	cfg := realConfig(t)
	kcat := kcatPath(t)
	topic := kafkatest.NewTopic(t, cfg, 3)
	p := newProducer(t, cfg, topic, producer.DefaultMaxMessageBytes)

	u := user("u-ours-1")
	receipt, err := p.Send(t.Context(), events.TypeUserUpdated, u)
	require.NoError(t, err)

	out := mustCommand(t, "", kcat, "-C", "-b", strings.Join(cfg.Brokers, ","), "-t", topic,
		"-o", "beginning", "-e", "-q", "-J")
	var got kcatRecord
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out)), &got),
		"kcat -J should print one JSON record, got:\n%s", out)

	assert.Equal(t, "u-ours-1", got.Key)
	assert.Equal(t, receipt.Partition, got.Partition)
	assert.Equal(t, receipt.Offset, got.Offset)
	h := got.headers(t)
	assert.Equal(t, map[string]string{
		"ce_specversion":  "1.0",
		"ce_id":           receipt.ID,
		"ce_source":       "/realbroker/test",
		"ce_type":         events.TypeUserUpdated,
		"ce_subject":      "u-ours-1",
		"ce_partitionkey": "u-ours-1",
		"ce_time":         h["ce_time"],
		"content-type":    "application/json",
	}, h)
	_, err = time.Parse(time.RFC3339Nano, h["ce_time"])
	assert.NoError(t, err, "ce_time is RFC 3339")

	var value events.UserEvent
	require.NoError(t, json.Unmarshal([]byte(got.Payload), &value), "value: %s", got.Payload)
	assert.Equal(t, u, value)
}

// kcatRecord is one record as `kcat -C -J` prints it.
type kcatRecord struct {
	Partition int32    `json:"partition"`
	Offset    int64    `json:"offset"`
	Headers   []string `json:"headers"`
	Key       string   `json:"key"`
	Payload   string   `json:"payload"`
}

// headers returns the record's headers; kcat prints them as a flat list of
// names and values.
func (r kcatRecord) headers(t *testing.T) map[string]string {
	t.Helper()
	require.Zero(t, len(r.Headers)%2, "headers come in name, value pairs: %v", r.Headers)
	h := map[string]string{}
	for i := 0; i < len(r.Headers); i += 2 {
		h[r.Headers[i]] = r.Headers[i+1]
	}
	return h
}

// newWelcome returns the welcome handler with an outbox mailer and a SQLite
// ledger in a temporary folder.
func newWelcome(t *testing.T) (*welcome.Handler, *mail.Outbox, *store.SQLite) {
	t.Helper()

	dir := t.TempDir()
	outbox, err := mail.NewOutbox(filepath.Join(dir, "outbox"))
	require.NoError(t, err)
	ledger, err := store.OpenSQLite(t.Context(), filepath.Join(dir, "users.db"))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, ledger.Close()) })
	wh, err := welcome.New(welcome.Config{From: "Example <welcome@example.com>"}, outbox,
		ledger, nil)
	require.NoError(t, err)
	return wh, outbox, ledger
}

// typedRecorder records what the typed welcome handler is called with, then
// calls next, the welcome handler.
type typedRecorder struct {
	next handler.Func[events.UserEvent]

	mu    sync.Mutex
	calls map[string]typedCall // by event id
}

type typedCall struct {
	meta handler.Meta
	user events.UserEvent
}

func (r *typedRecorder) handle(ctx context.Context, m handler.Meta, u events.UserEvent) error {
	r.mu.Lock()
	if r.calls == nil {
		r.calls = map[string]typedCall{}
	}
	r.calls[m.ID] = typedCall{meta: m, user: u}
	r.mu.Unlock()
	return r.next(ctx, m, u)
}

func (r *typedRecorder) call(id string) (typedCall, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.calls[id]
	return c, ok
}

func findEvent(t *testing.T, evs []event.Event, match func(event.Event) bool) event.Event {
	t.Helper()
	for _, e := range evs {
		if match(e) {
			return e
		}
	}
	require.FailNowf(t, "event not delivered", "none of the %d events matches", len(evs))
	return event.Event{}
}

// ext returns an extension's value as a string, "" when absent.
func ext(e event.Event, name string) string {
	v, ok := e.Extensions()[name]
	if !ok {
		return ""
	}
	return fmt.Sprint(v)
}

// assertPassedThrough checks a binary CloudEvent kcat wrote, as delivered.
func assertPassedThrough(t *testing.T, ce event.Event, data []byte) {
	t.Helper()
	assert.Equal(t, "/kcat", ce.Source())
	assert.Equal(t, events.TypeUserCreated, ce.Type())
	assert.Equal(t, "u-kcat-1", ce.Subject())
	assert.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ce.Time().UTC())
	assert.Equal(t, "application/json", ce.DataContentType())
	assert.JSONEq(t, string(data), string(ce.Data()))
	assert.Equal(t, "v", ext(ce, "comexampleext"))
	assert.Equal(t, "welcome", ext(ce, "handler"), "the ceOverrides extension")
	assert.NotEmpty(t, ext(ce, handler.PartitionExtension))
	assert.NotEmpty(t, ext(ce, handler.OffsetExtension))
	for _, name := range []string{"key", "partitionkey", "kafkaheadertrace"} {
		assert.NotContains(t, ce.Extensions(), name, "a CloudEvent passes through unchanged")
	}
}

// assertDecoded checks that the typed handler got the CloudEvent's data as
// a UserEvent, with the record's position.
func assertDecoded(t *testing.T, typed *typedRecorder, ce event.Event, want events.UserEvent) {
	t.Helper()
	call, ok := typed.call(ce.ID())
	require.True(t, ok, "the typed handler was not called for %s", ce.ID())
	assert.Equal(t, want, call.user)
	assert.Equal(t, "u-kcat-1", call.meta.Subject)
	require.NotNil(t, call.meta.Kafka, "the handler's metadata has the Kafka position")
	assert.Equal(t, ext(ce, handler.PartitionExtension), fmt.Sprint(call.meta.Kafka.Partition))
	assert.Equal(t, ext(ce, handler.OffsetExtension), fmt.Sprint(call.meta.Kafka.Offset))
}

// assertWelcomed checks that the welcome handler mailed the created user
// once and recorded the event in its ledger.
func assertWelcomed(
	t *testing.T,
	outbox *mail.Outbox,
	ledger *store.SQLite,
	ce event.Event,
	u events.UserEvent,
) {
	t.Helper()
	mails, err := filepath.Glob(filepath.Join(outbox.Dir(), "*.eml"))
	require.NoError(t, err)
	require.Len(t, mails, 1, "one welcome mail, for the one created event")
	body, err := os.ReadFile(mails[0])
	require.NoError(t, err)
	assert.Contains(t, string(body), u.Email)
	assert.Contains(t, string(body), "Welcome, "+u.Name+"!")

	done, err := ledger.Processed(t.Context(), welcome.Name, ce.Source(), ce.ID())
	require.NoError(t, err)
	assert.True(t, done, "the ledger records event %s", ce.ID())
}

// assertWrapped checks a plain record as a KafkaSource wraps it.
func assertWrapped(t *testing.T, e event.Event, topic, contentType string, value []byte) {
	t.Helper()
	p, o := ext(e, handler.PartitionExtension), ext(e, handler.OffsetExtension)
	assert.Equal(t, handler.KafkaRecordType, e.Type())
	assert.Equal(t, fmt.Sprintf("partition:%s/offset:%s", p, o), e.ID())
	assert.Equal(t, "/apis/v1/namespaces/functions/kafkasources/users-welcome#"+topic,
		e.Source())
	assert.Equal(t, fmt.Sprintf("partition:%s#%s", p, o), e.Subject())
	assert.Equal(t, contentType, e.DataContentType())
	assert.Equal(t, value, e.Data())
	assert.Equal(t, ext(e, "key"), ext(e, "partitionkey"))
	assert.Equal(t, "welcome", ext(e, "handler"))
}

// assertDeadLettered checks the dead letters of the two plain records: the
// typed handler refused each with 400, and the dead letter keeps the event,
// its key and the failure.
func assertDeadLettered(t *testing.T, dls []record, keyed, bare event.Event) {
	t.Helper()
	byID := map[string]record{}
	for _, r := range dls {
		byID[r.Headers["ce_id"]] = r
	}
	for _, e := range []event.Event{keyed, bare} {
		r, ok := byID[e.ID()]
		if !assert.True(t, ok, "no dead letter for %s", e.ID()) {
			continue
		}
		assert.Equal(t, "400", r.Headers["ce_knativeerrorcode"], "dead letter of %s", e.ID())
		assert.Equal(t, "inprocess://welcome", r.Headers["ce_knativeerrordest"])
		assert.Equal(t, handler.KafkaRecordType, r.Headers["ce_type"])
		assert.Equal(t, e.Data(), r.Value)
		assert.Equal(t, ext(e, "key"), r.Key)
	}
	assert.NotEmpty(t, byID[keyed.ID()].Headers["ce_knativeerrordata"],
		"the dead letter carries the handler's message")
}
