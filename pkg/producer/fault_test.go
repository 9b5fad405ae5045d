package producer

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"function/pkg/events"
	"function/pkg/kafka"
)

// The tests in this file stop or stall the broker, so they always run
// against an embedded one: a real cluster cannot be made to fail on cue.

// eventIDPattern matches the event id an error must name.
var eventIDPattern = regexp.MustCompile(`event [0-9a-f]{8}-[0-9a-f-]{27} \(subject "user-00"\)`)

// TestNew_BrokerUnreachable pins down that a producer for a cluster nobody
// listens on fails at start, naming the topic and the brokers, within a
// bound derived from the configured dial timeout.
func TestNew_BrokerUnreachable(t *testing.T) {
	cfg := validConfig()
	cfg.Brokers = []string{closedAddr(t)}
	cfg.DialTimeout = time.Second

	start := time.Now()
	_, err := New[events.UserEvent](cfg)
	elapsed := time.Since(start)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "topic users")
	assert.Contains(t, err.Error(), cfg.Brokers[0])
	assert.Less(t, elapsed, 10*cfg.DialTimeout, "New took %v", elapsed)
}

// TestSend_BrokerGone pins down that a send to a broker that went away
// fails within a bound derived from the send timeout, with an error naming
// the topic and the event.
func TestSend_BrokerGone(t *testing.T) {
	e, cfg := embeddedConfig(t)
	cfg.SendTimeout = 3 * time.Second
	p := newTestProducer(t, cfg)
	_, err := p.Send(t.Context(), events.TypeUserCreated, user("user-00", 1))
	require.NoError(t, err)

	e.Close()
	start := time.Now()
	_, err = p.Send(t.Context(), events.TypeUserUpdated, user("user-00", 2))
	elapsed := time.Since(start)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "topic "+cfg.Topic)
	assert.Regexp(t, eventIDPattern, err.Error())
	assert.Less(t, elapsed, 3*cfg.SendTimeout, "Send took %v", elapsed)
}

// TestSend_TimeoutWhileBrokerStalls pins down that a send the broker does
// not acknowledge in time returns an error saying the outcome is unknown,
// and that its late outcome is logged, not lost.
func TestSend_TimeoutWhileBrokerStalls(t *testing.T) {
	e, cfg := embeddedConfig(t)
	cfg.SendTimeout = 300 * time.Millisecond
	var logs syncBuffer
	p, err := New[events.UserEvent](cfg, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(context.Background())) })
	release := stallProduce(t, e)

	_, err = p.Send(t.Context(), events.TypeUserCreated, user("user-00", 1))

	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "outcome unknown")
	assert.Contains(t, err.Error(), "topic "+cfg.Topic)
	assert.Regexp(t, eventIDPattern, err.Error())
	close(release)
	require.Eventually(t, func() bool {
		return strings.Contains(logs.String(), "event written after its sender gave up")
	}, 30*time.Second, 10*time.Millisecond, "logs: %s", logs.String())
}

// TestClose_DeadlineWhileBrokerStalls pins down that Close gives up at its
// context's deadline, saying how many records are still in flight, and that
// those records still complete and a later Close waits for them.
func TestClose_DeadlineWhileBrokerStalls(t *testing.T) {
	e, cfg := embeddedConfig(t)
	p, err := New[events.UserEvent](cfg)
	require.NoError(t, err)
	release := stallProduce(t, e)
	pend, err := p.submit(t.Context(), events.TypeUserCreated, user("user-00", 1))
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err = p.Close(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "1 records still in flight")

	close(release)
	require.NoError(t, p.Close(t.Context()))
	select {
	case d := <-pend.done:
		assert.NoError(t, d.err)
	default:
		require.FailNow(t, "no outcome after Close")
	}
}

// embeddedConfig starts an embedded broker of its own with a one-partition
// topic and returns it with a producer configuration for that topic.
func embeddedConfig(t *testing.T) (*kafka.Embedded, Config) {
	t.Helper()

	e, err := kafka.StartEmbedded(kafka.EmbeddedOptions{Topics: map[string]int32{"t": 1}})
	require.NoError(t, err)
	t.Cleanup(e.Close)
	cfg := validConfig()
	cfg.Brokers = e.Addrs()
	cfg.Topic = "t"
	cfg.SendTimeout = 30 * time.Second
	return e, cfg
}

// stallProduce makes the broker hold the next produce request until the
// returned channel is closed.
func stallProduce(t *testing.T, e *kafka.Embedded) chan struct{} {
	t.Helper()

	release := make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	c := e.Cluster()
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.SleepControl(func() { <-release })
		return nil, nil, false
	})
	return release
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
