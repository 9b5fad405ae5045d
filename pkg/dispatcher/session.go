package dispatcher

import (
	"context"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// abandonGrace is how long a claim still waits, once in-flight work is
// cancelled at the stop timeout, for handlers to notice: one that ignores
// its context is left running and its record is delivered again later.
const abandonGrace = time.Second

// groupHandler runs one consumer group session after another (sarama's
// eager protocol ends a session at every rebalance). Sessions never overlap,
// so the per-session fields are set in Setup and read by the claims.
type groupHandler struct {
	d  *Dispatcher
	dl *deadLetterWriter

	// work is the context of the session's deliveries: it outlives the
	// session by StopTimeout, so in-flight work can finish.
	work     context.Context
	stopWork func()
}

// Setup starts the session's work context.
func (h *groupHandler) Setup(s sarama.ConsumerGroupSession) error {
	h.work, h.stopWork = workContext(s.Context(), time.Duration(h.d.cfg.StopTimeout))
	h.d.log.Info("partitions assigned", "claims", s.Claims(), "member", s.MemberID(),
		"generation", s.GenerationID())
	return nil
}

// Cleanup runs once every claim has returned: it commits the finished
// offsets synchronously, so the partitions' next owner starts right after
// them.
func (h *groupHandler) Cleanup(s sarama.ConsumerGroupSession) error {
	s.Commit()
	h.stopWork()
	h.d.log.Info("partitions revoked", "claims", s.Claims(), "generation", s.GenerationID())
	return nil
}

// ConsumeClaim dispatches one partition's records until the session ends,
// then waits for its in-flight work to finish or be abandoned.
func (h *groupHandler) ConsumeClaim(
	s sarama.ConsumerGroupSession,
	c sarama.ConsumerGroupClaim,
) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if h.d.cfg.Ordering == Ordered {
			h.dispatchOrdered(s, c)
		} else {
			h.dispatchUnordered(s, c)
		}
	}()

	select {
	case <-done:
		return nil
	case <-h.work.Done():
	}

	grace := time.NewTimer(abandonGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		h.d.log.Warn("handler ignored cancellation, abandoning its delivery",
			"topic", c.Topic(), "partition", c.Partition())
	}
	return nil
}

// dispatchOrdered delivers one record at a time: the next starts only
// after the previous one's final outcome, all retries and the dead letter
// included. Each finished record's offset is marked at once, so the marked
// offset is always the contiguous finished prefix, gaps included.
func (h *groupHandler) dispatchOrdered(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) {
	ctx := s.Context()
	var sink retryLogger
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-c.Messages():
			// A record fetched while the session ends is left to the
			// partition's next owner.
			if !ok || ctx.Err() != nil {
				return
			}
			if !h.dispatch(msg, &sink) {
				return
			}
			s.MarkOffset(msg.Topic, msg.Partition, msg.Offset+1, "")
		}
	}
}

// dispatchUnordered delivers up to MaxInFlight records of the dispatcher
// at once, from any of its partitions, and marks the contiguous prefix of
// finished records as each one finishes. A slot is taken only once a record
// is at hand, so idle partitions never hold slots busy ones need.
func (h *groupHandler) dispatchUnordered(
	s sarama.ConsumerGroupSession,
	c sarama.ConsumerGroupClaim,
) {
	ctx := s.Context()
	var pending tracker
	var wg sync.WaitGroup
	defer wg.Wait()

	for {
		msg, ok := h.next(ctx, c)
		if !ok || !h.acquire(ctx) {
			return
		}

		seq := pending.add(msg.Offset)
		wg.Go(func() {
			defer h.release()
			var sink retryLogger
			if !h.dispatch(msg, &sink) {
				return
			}
			if next, moved := pending.finish(seq); moved {
				s.MarkOffset(msg.Topic, msg.Partition, next, "")
			}
		})
	}
}

// next returns the claim's next record, or false once the session ends.
func (h *groupHandler) next(
	ctx context.Context,
	c sarama.ConsumerGroupClaim,
) (*sarama.ConsumerMessage, bool) {
	select {
	case <-ctx.Done():
		return nil, false
	case msg, ok := <-c.Messages():
		return msg, ok && ctx.Err() == nil
	}
}

// acquire takes an in-flight slot, or returns false once ctx ends.
func (h *groupHandler) acquire(ctx context.Context) bool {
	select {
	case h.d.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (h *groupHandler) release() { <-h.d.slots }

// workContext returns a context that ends stop after session does, and a
// function that ends it at once and releases its timer.
func workContext(session context.Context, stop time.Duration) (context.Context, func()) {
	work, cancel := context.WithCancel(context.WithoutCancel(session))

	var (
		mu      sync.Mutex
		timer   *time.Timer
		stopped bool
	)
	context.AfterFunc(session, func() {
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			timer = time.AfterFunc(stop, cancel)
		}
	})

	return work, func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		if timer != nil {
			timer.Stop()
		}
		cancel()
	}
}
