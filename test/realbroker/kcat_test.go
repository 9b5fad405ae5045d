package realbroker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	function "function"
	"function/pkg/dispatcher"
	"function/pkg/events"
	"function/pkg/kafka/kafkatest"
	"function/pkg/producer"
	"function/pkg/store"
	"function/pkg/topology"
)

// TestKcat_RecordsReachHandlersAsDocumented pins what the function's
// handlers get for records kcat writes, through one dispatcher per
// KafkaSource of the topology: a binary CloudEvent passes through with its
// attributes, extensions and Kafka position, and the welcome handler mails
// the user while the directory handler stores it; a plain JSON record (keyed
// or not) arrives wrapped as a dev.knative.kafka.event with its key, and
// each handler refuses it with 400 to the dead-letter topic.
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

	fn, dir := startFunction(t)
	recs := map[string]*recorder{}
	for _, src := range topology.Sources {
		recs[src.Handler] = newRecorder(func(ctx context.Context, ev event.Event) error {
			_, err := fn.Handle(ctx, ev)
			return err
		})
		runDispatcher(t, cfg, sourceConfig(src, topic, dlt), recs[src.Handler].sink(src.Handler))
	}
	for name, rec := range recs {
		// The CloudEvent is done when the handler returned; the plain
		// records are done when their dead letters are written, which
		// readRecords waits for below.
		rec.waitUntil(t, name+": 3 events, kcat-1 handled", func() bool {
			return len(rec.events()) >= 3 && len(rec.missing([]string{"kcat-1"})) == 0
		}, func() string { return fmt.Sprintf("%d events", len(rec.events())) })
	}

	for name, rec := range recs {
		evs := rec.events()
		ce := findEvent(t, evs, func(e event.Event) bool { return e.ID() == "kcat-1" })
		assertPassedThrough(t, ce, name, data)
		keyed := findEvent(t, evs, func(e event.Event) bool { return ext(e, "key") == "u-plain-2" })
		assertWrapped(t, keyed, topic, name, "application/json", []byte(plain))
		bare := findEvent(t, evs, func(e event.Event) bool {
			return string(e.Data()) == `{"value":5}`
		})
		assertWrapped(t, bare, topic, name, "", []byte(`{"value":5}`))
		assert.NotContains(t, bare.Extensions(), "key", "a record without a key has no key")
	}
	assertWelcomed(t, filepath.Join(dir, "outbox"), u)
	assertStored(t, filepath.Join(dir, "users.db"), u)
	assertDeadLettered(t, readRecords(t, cfg, dlt, 4), recs)
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

// startFunction starts the function with its database and outbox in a
// temporary folder, returned; it is stopped when t ends.
func startFunction(t *testing.T) (*function.Function, string) {
	t.Helper()

	dir := t.TempDir()
	t.Setenv("DATABASE_PATH", filepath.Join(dir, "users.db"))
	t.Setenv("MAIL_MAILER", "outbox")
	t.Setenv("MAIL_OUTBOX_DIR", filepath.Join(dir, "outbox"))
	t.Setenv("LOG_LEVEL", "error")
	fn := function.New()
	require.NoError(t, fn.Start(t.Context(), nil), "start the function")
	t.Cleanup(func() { assert.NoError(t, fn.Stop(context.Background()), "stop the function") })
	return fn, dir
}

// sourceConfig returns the dispatcher configuration of KafkaSource src
// reading topic, with a consumer group of its own and dead letters to dlt.
func sourceConfig(src topology.Source, topic, dlt string) dispatcher.Config {
	dc := dispatcherConfig(topic)
	dc.SourceName = src.Name
	dc.ConsumerGroup = "g-" + topic + "-" + src.Handler
	dc.CEOverrides = map[string]string{topology.RouteExtension: src.Handler}
	dc.DeadLetterTopic = dlt
	return dc
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

// assertPassedThrough checks a binary CloudEvent kcat wrote, as delivered to
// handler.
func assertPassedThrough(t *testing.T, ce event.Event, handler string, data []byte) {
	t.Helper()
	assert.Equal(t, "/kcat", ce.Source())
	assert.Equal(t, events.TypeUserCreated, ce.Type())
	assert.Equal(t, "u-kcat-1", ce.Subject())
	assert.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ce.Time().UTC())
	assert.Equal(t, "application/json", ce.DataContentType())
	assert.JSONEq(t, string(data), string(ce.Data()))
	assert.Equal(t, "v", ext(ce, "comexampleext"))
	assert.Equal(t, handler, ext(ce, topology.RouteExtension), "the ceOverrides extension")
	assert.NotEmpty(t, ext(ce, "knativekafkapartition"))
	assert.NotEmpty(t, ext(ce, "knativekafkaoffset"))
	for _, name := range []string{"key", "partitionkey", "kafkaheadertrace"} {
		assert.NotContains(t, ce.Extensions(), name, "a CloudEvent passes through unchanged")
	}
}

// assertWelcomed checks that the welcome handler mailed the created user,
// once.
func assertWelcomed(t *testing.T, outbox string, u events.UserEvent) {
	t.Helper()
	mails, err := filepath.Glob(filepath.Join(outbox, "*.eml"))
	require.NoError(t, err)
	require.Len(t, mails, 1, "one welcome mail, for the one created event")
	body, err := os.ReadFile(mails[0])
	require.NoError(t, err)
	assert.Contains(t, string(body), u.Email)
	assert.Contains(t, string(body), "Welcome, "+u.Name+"!")
}

// assertStored checks that the directory handler stored the created user.
func assertStored(t *testing.T, path string, want events.UserEvent) {
	t.Helper()
	db, err := store.OpenSQLite(t.Context(), path)
	require.NoError(t, err)
	defer func() { assert.NoError(t, db.Close()) }()
	got, err := db.User(t.Context(), want.ID)
	require.NoError(t, err, "the directory has user %s", want.ID)
	assert.Equal(t, want.Name, got.Name)
	assert.Equal(t, want.Email, got.Email)
	assert.Equal(t, want.Version, got.Version)
}

// assertWrapped checks a plain record as a KafkaSource wraps it for handler.
func assertWrapped(
	t *testing.T,
	e event.Event,
	topic, handler, contentType string,
	value []byte,
) {
	t.Helper()
	p, o := ext(e, "knativekafkapartition"), ext(e, "knativekafkaoffset")
	assert.Equal(t, "dev.knative.kafka.event", e.Type())
	assert.Equal(t, fmt.Sprintf("partition:%s/offset:%s", p, o), e.ID())
	assert.Equal(t, "/apis/v1/namespaces/functions/kafkasources/users-"+handler+"#"+topic,
		e.Source())
	assert.Equal(t, fmt.Sprintf("partition:%s#%s", p, o), e.Subject())
	assert.Equal(t, contentType, e.DataContentType())
	assert.Equal(t, value, e.Data())
	assert.Equal(t, ext(e, "key"), ext(e, "partitionkey"))
	assert.Equal(t, handler, ext(e, topology.RouteExtension))
}

// assertDeadLettered checks the dead letters of the two plain records, one
// per handler: each handler refused each record with 400, and the dead
// letter keeps the event, its key and the failure.
func assertDeadLettered(t *testing.T, dls []record, recs map[string]*recorder) {
	t.Helper()
	byRoute := map[string]record{}
	for _, r := range dls {
		byRoute[r.Headers["ce_handler"]+" "+r.Headers["ce_id"]] = r
	}
	for name, rec := range recs {
		for _, e := range rec.events() {
			if e.ID() == "kcat-1" {
				continue
			}
			r, ok := byRoute[name+" "+e.ID()]
			if !assert.True(t, ok, "no dead letter of %s for %s", name, e.ID()) {
				continue
			}
			assert.Equal(t, "400", r.Headers["ce_knativeerrorcode"], "%s: %s", name, e.ID())
			assert.Equal(t, "inprocess://"+name, r.Headers["ce_knativeerrordest"])
			assert.NotEmpty(t, r.Headers["ce_knativeerrordata"], "the handler's message")
			assert.Equal(t, "dev.knative.kafka.event", r.Headers["ce_type"])
			assert.Equal(t, e.Data(), r.Value)
			assert.Equal(t, ext(e, "key"), r.Key)
		}
	}
}
