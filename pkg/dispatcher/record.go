package dispatcher

import (
	"context"
	"log/slog"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/v2/event"

	"function/pkg/delivery"
	"function/pkg/kafkasource"
)

// dispatch takes one record to its final outcome: delivered, or failed on
// its last attempt and then dead-lettered (or dropped without a dead-letter
// topic). It reports whether the record's offset may move; it may not when
// the session's work was cancelled first, and the record is then delivered
// again by the partition's next owner. The caller lends the sink wrapper,
// so a partition dispatching in order reuses one for all its records.
func (h *groupHandler) dispatch(msg *sarama.ConsumerMessage, sink *retryLogger) bool {
	ctx := h.work
	ev := kafkasource.ToEvent(msg, h.d.opts)

	*sink = retryLogger{Sink: h.d.sink, log: h.d.log, msg: msg, ev: ev,
		retries: h.d.policy.Retry}
	out := delivery.Deliver(ctx, sink, ev, h.d.policy)
	if out.OK() {
		if h.d.log.Enabled(ctx, slog.LevelDebug) {
			h.d.log.LogAttrs(ctx, slog.LevelDebug, "event delivered",
				recordAttrs(msg, &ev, slog.Int("attempts", out.Attempts))...)
		}
		return true
	}
	if ctx.Err() != nil {
		h.d.log.LogAttrs(ctx, slog.LevelWarn, "delivery abandoned on stop, will be redelivered",
			recordAttrs(msg, &ev, slog.Int("attempts", out.Attempts))...)
		return false
	}
	if h.dl == nil {
		h.d.log.LogAttrs(ctx, slog.LevelError, "event dropped after its last attempt",
			outcomeAttrs(msg, &ev, out)...)
		return true
	}
	return h.deadLetter(ctx, msg, ev, out)
}

// deadLetter writes ev, annotated with the failure, to the dead-letter
// topic, retrying until it is written or ctx ends. It reports whether it was
// written.
func (h *groupHandler) deadLetter(
	ctx context.Context,
	msg *sarama.ConsumerMessage,
	ev event.Event,
	out delivery.Outcome,
) bool {
	dl := delivery.DeadLetter(ev, h.d.sink.Target(), out)
	withoutData, err := h.dl.write(ctx, dl, msg.Key, func(err error) {
		h.d.log.LogAttrs(ctx, slog.LevelWarn, "dead letter not written, retrying",
			recordAttrs(msg, &ev, slog.String("dead_letter_topic", h.dl.topic),
				slog.Any("err", err))...)
	})
	if err != nil {
		h.d.log.LogAttrs(ctx, slog.LevelWarn,
			"dead letter not written on stop, record will be redelivered",
			recordAttrs(msg, &ev, slog.Any("err", err))...)
		return false
	}

	h.d.log.LogAttrs(ctx, slog.LevelError, "event dead-lettered",
		outcomeAttrs(msg, &ev, out, slog.String("dead_letter_topic", h.dl.topic),
			slog.Bool("without_data", withoutData))...)
	return true
}

// retryLogger wraps a sink to log each failed attempt that will be retried.
// It is set up for one record at a time: [delivery.Deliver] calls it once
// per attempt.
type retryLogger struct {
	delivery.Sink
	log      *slog.Logger
	msg      *sarama.ConsumerMessage
	ev       event.Event
	retries  int
	attempts int
}

// Send implements [delivery.Sink].
func (s *retryLogger) Send(ctx context.Context, ev event.Event) (delivery.Response, error) {
	r, err := s.Sink.Send(ctx, ev)
	s.attempts++

	failed := err != nil || r.Status < 200 || r.Status > 299
	if failed && s.attempts <= s.retries && ctx.Err() == nil && delivery.Retryable(r.Status, err) {
		attrs := recordAttrs(s.msg, &s.ev, slog.Int("attempt", s.attempts),
			slog.Int("status", r.Status))
		if err != nil {
			attrs = append(attrs, slog.Any("err", err))
		}
		s.log.LogAttrs(ctx, slog.LevelWarn, "delivery failed, retrying", attrs...)
	}
	return r, err
}

// recordAttrs are the log attributes naming a record and its event.
func recordAttrs(msg *sarama.ConsumerMessage, ev *event.Event, extra ...slog.Attr) []slog.Attr {
	return append([]slog.Attr{
		slog.String("topic", msg.Topic),
		slog.Int("partition", int(msg.Partition)),
		slog.Int64("offset", msg.Offset),
		slog.String("event_id", ev.ID()),
		slog.String("event_type", ev.Type()),
	}, extra...)
}

// outcomeAttrs adds the final outcome of a failed delivery to recordAttrs.
func outcomeAttrs(
	msg *sarama.ConsumerMessage,
	ev *event.Event,
	out delivery.Outcome,
	extra ...slog.Attr,
) []slog.Attr {
	attrs := recordAttrs(msg, ev, slog.Int("attempts", out.Attempts),
		slog.Int("status", out.Status))
	if out.Err != nil {
		attrs = append(attrs, slog.Any("err", out.Err))
	}
	return append(attrs, extra...)
}
