package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"function/pkg/events"
	"function/pkg/kafka"
	"function/pkg/kafka/kafkatest"
	"function/pkg/producer"
)

// TestStack_EndToEnd starts the stack as `local run` does, publishes 1,000
// events for 100 users through the typed producer, and checks that every
// user got one welcome mail and that the users table holds each user's
// newest version, with nothing dead-lettered.
func TestStack_EndToEnd(t *testing.T) {
	const users, count = 100, 1000

	s, kc := newTestStack(t)
	stop := startStack(t, s)

	p, err := producer.New[events.UserEvent](producer.Config{
		Config:          kc,
		Topic:           s.topic,
		Source:          "/test/e2e",
		MaxMessageBytes: 1_000_000,
		SendTimeout:     30 * time.Second,
	})
	require.NoError(t, err)
	defer p.Close(context.Background())
	burst := publishOptions{kind: "created", count: count, users: users}
	require.NoError(t, burst.burst(t.Context(), p, io.Discard))

	outbox := filepath.Join(s.cfg.StateDir, "outbox")
	require.Eventually(t, func() bool { return countFiles(t, outbox) == users },
		90*time.Second, 100*time.Millisecond, "want %d mails in %s", users, outbox)
	db := openUsers(t, filepath.Join(s.cfg.StateDir, "users.db"))
	require.Eventually(t, func() bool { return countAtVersion(t, db, count/users) == users },
		90*time.Second, 500*time.Millisecond, "users never all reached version %d", count/users)
	assert.Equal(t, users, countRows(t, db), "users table")

	stop()
	assert.Equal(t, users, countFiles(t, outbox), "a mail was sent twice")
	assert.Zero(t, topicSize(t, kc, s.deadLetter), "events were dead-lettered")
}

// TestStack_BadInputDeadLettered pins down what the stack does with a record
// no handler can use: each handler's dispatcher dead-letters it (one dead
// letter per KafkaSource), and the next user event is still handled.
func TestStack_BadInputDeadLettered(t *testing.T) {
	s, kc := newTestStack(t)
	stop := startStack(t, s)

	sc, err := kc.Sarama()
	require.NoError(t, err)
	sc.Producer.Return.Successes = true
	sp, err := sarama.NewSyncProducer(kc.Brokers, sc)
	require.NoError(t, err)
	defer sp.Close()
	_, _, err = sp.SendMessage(&sarama.ProducerMessage{
		Topic: s.topic, Key: sarama.StringEncoder("u-1"),
		Value: sarama.StringEncoder("not json at all"),
	})
	require.NoError(t, err)

	p, err := producer.New[events.UserEvent](producer.Config{
		Config: kc, Topic: s.topic, Source: "/test/e2e",
		MaxMessageBytes: 1_000_000, SendTimeout: 30 * time.Second,
	})
	require.NoError(t, err)
	defer p.Close(context.Background())
	_, err = p.Send(t.Context(), events.TypeUserCreated, events.UserEvent{
		ID: "u-1", Name: "Ada", Email: "ada@example.com", Version: 1,
	})
	require.NoError(t, err)

	db := openUsers(t, filepath.Join(s.cfg.StateDir, "users.db"))
	require.Eventually(t, func() bool { return countAtVersion(t, db, 1) == 1 },
		60*time.Second, 100*time.Millisecond, "the event after the bad record was not handled")
	require.Eventually(t, func() bool { return topicSize(t, kc, s.deadLetter) == 2 },
		60*time.Second, 100*time.Millisecond, "want one dead letter per handler")
	stop()
}

// TestStack_FunctionAddressInUse pins that a taken FUNCTION_ADDRESS fails
// the start at once, naming the variable, instead of delivering to whatever
// else listens there.
func TestStack_FunctionAddressInUse(t *testing.T) {
	s, _ := newTestStack(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	s.cfg.FunctionAddress = l.Addr().String()

	err = s.run(t.Context(), func() { t.Error("stack reported ready") })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "FUNCTION_ADDRESS")
	assert.Contains(t, err.Error(), "address already in use")
}

var warnOnly = &slog.HandlerOptions{Level: slog.LevelInfo}

// newTestStack returns a stack on the test's Kafka (embedded or
// KAFKA_BROKERS) with topics, consumer groups and state of its own.
func newTestStack(t *testing.T) (*stack, kafka.Config) {
	t.Helper()

	kc := kafkatest.Config(t)
	state := t.TempDir()
	for k, v := range map[string]string{
		"DATABASE_PATH":   filepath.Join(state, "users.db"),
		"MAIL_OUTBOX_DIR": filepath.Join(state, "outbox"),
		"LOG_LEVEL":       "warn",
	} {
		t.Setenv(k, v)
	}
	t.Setenv("LISTEN_ADDRESS", "")
	return &stack{
		cfg: stackConfig{
			StateDir:        state,
			FunctionAddress: freeAddress(t),
			LogLevel:        "warn",
		},
		kafka:       kc,
		log:         slog.New(slog.NewTextHandler(os.Stderr, warnOnly)),
		topic:       kafkatest.NewTopic(t, kc, 6),
		deadLetter:  kafkatest.NewTopic(t, kc, 1),
		groupPrefix: fmt.Sprintf("e2e-%d-", time.Now().UnixNano()),
	}, kc
}

// startStack runs s until the returned stop is called (or the test ends),
// after waiting until the stack is ready.
func startStack(t *testing.T, s *stack) (stop func()) {
	t.Helper()

	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- s.run(ctx, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		require.FailNow(t, "stack stopped before it was ready", "%v", err)
	case <-time.After(60 * time.Second):
		cancel()
		require.FailNow(t, "stack not ready within a minute")
	}

	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "stack stop")
		case <-time.After(60 * time.Second):
			assert.Fail(t, "stack did not stop within a minute")
		}
	}
	t.Cleanup(stop)
	return stop
}

func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0
	}
	require.NoError(t, err)
	return len(entries)
}

// openUsers opens the stack's database read-only, as a user would inspect it
// with the sqlite3 shell while the function writes to it.
func openUsers(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func countAtVersion(t *testing.T, db *sql.DB, version int64) int {
	t.Helper()
	var n int
	err := db.QueryRow(`SELECT COUNT(*) FROM users WHERE version = ?`, version).Scan(&n)
	if err != nil {
		return -1 // the function has not created the table yet
	}
	return n
}

func countRows(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&n))
	return n
}

// topicSize returns the number of records in a topic: the sum over its
// partitions of the newest offset.
func topicSize(t *testing.T, kc kafka.Config, topic string) int64 {
	t.Helper()
	sc, err := kc.Sarama()
	require.NoError(t, err)
	c, err := sarama.NewClient(kc.Brokers, sc)
	require.NoError(t, err)
	defer c.Close()
	parts, err := c.Partitions(topic)
	require.NoError(t, err)
	var n int64
	for _, p := range parts {
		off, err := c.GetOffset(topic, p, sarama.OffsetNewest)
		require.NoError(t, err)
		n += off
	}
	return n
}
