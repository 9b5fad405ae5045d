package realbroker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/require"

	"function/pkg/events"
	"function/pkg/kafka/kafkatest"
	"function/pkg/producer"
)

// TestDispatcher_BrokerRestartLosesNothingAcknowledged pins that every event
// our producer had acknowledged reaches the handler when the broker stops
// and starts again in the middle of a run: with deliveries in flight, with
// offsets not yet committed, and with the producer sending throughout. Sends
// that fail around the restart are not acknowledged and not counted; the
// producer must be acknowledging again after it.
func TestDispatcher_BrokerRestartLosesNothingAcknowledged(t *testing.T) {
	b := startPrivateBroker(t, realConfig(t))
	cfg := b.cfg
	topic := kafkatest.NewTopic(t, cfg, 3)
	p := newProducer(t, cfg, topic, producer.DefaultMaxMessageBytes)
	acked := &idSet{}

	// The handler takes the first 30 events, then holds the next ones until
	// the broker is down, so deliveries are in flight when it stops.
	gate := make(chan struct{})
	var handled atomic.Int64
	rec := newRecorder(func(ctx context.Context, _ event.Event) error {
		if handled.Add(1) <= 30 {
			return nil
		}
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	runDispatcher(t, cfg, dispatcherConfig(topic), rec.sink("welcome"))
	sendAll(t, p, acked, "before", 100)
	rec.waitUntil(t, "30 deliveries", func() bool { return handled.Load() > 30 },
		func() string { return fmt.Sprintf("%d handled", handled.Load()) })

	s := sendInBackground(p, acked)
	b.do(t, "stop")
	close(gate)
	b.do(t, "resume")
	base := s.acked.Load()
	require.Eventually(t, func() bool { return s.acked.Load() >= base+100 }, waitFor,
		10*time.Millisecond, "the producer did not get 100 events acknowledged after the "+
			"restart (%d sends failed)", s.failed.Load())
	s.stop()
	t.Logf("%d events acknowledged, %d sends failed around the restart", acked.len(),
		s.failed.Load())

	want := acked.ids()
	rec.waitUntil(t, "every acknowledged event", func() bool {
		return len(rec.missing(want)) == 0
	}, func() string {
		m := rec.missing(want)
		return fmt.Sprintf("%d of %d acknowledged events never delivered, the first: %v",
			len(m), len(want), m[:min(len(m), 10)])
	})
}

// idSet is a set of event ids, safe for concurrent use.
type idSet struct {
	mu  sync.Mutex
	set []string
}

func (s *idSet) add(id string) {
	s.mu.Lock()
	s.set = append(s.set, id)
	s.mu.Unlock()
}

func (s *idSet) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.set...)
}

func (s *idSet) len() int { return len(s.ids()) }

// sendAll sends n user events over 10 keys, and requires every one to be
// acknowledged.
func sendAll(
	t *testing.T,
	p *producer.Producer[events.UserEvent],
	acked *idSet,
	phase string,
	n int,
) {
	t.Helper()

	evs := make([]events.UserEvent, n)
	for i := range evs {
		evs[i] = user(fmt.Sprintf("%s-%d", phase, i%10))
	}
	for i, res := range p.SendAll(t.Context(), events.TypeUserUpdated, evs) {
		require.NoError(t, res.Err, "%s: event %d", phase, i)
		acked.add(res.ID)
	}
}

// sender sends events one at a time in the background.
type sender struct {
	acked  atomic.Int64 // sends acknowledged
	failed atomic.Int64 // sends that returned an error
	cancel context.CancelFunc
	done   chan struct{}
}

// sendInBackground starts a sender that adds the ids of acknowledged events
// to ids until its stop is called.
func sendInBackground(p *producer.Producer[events.UserEvent], ids *idSet) *sender {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sender{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for i := 0; ctx.Err() == nil; i++ {
			r, err := p.Send(ctx, events.TypeUserUpdated, user(fmt.Sprintf("during-%d", i%10)))
			if err == nil {
				ids.add(r.ID)
				s.acked.Add(1)
				continue
			}
			// The broker is down: pace the retries rather than spin.
			s.failed.Add(1)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return s
}

// stop stops the sender and waits for its last send to end.
func (s *sender) stop() {
	s.cancel()
	<-s.done
}
