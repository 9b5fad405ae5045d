package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/sethvargo/go-retry"
)

// Outcome is the final result of [Deliver].
type Outcome struct {
	// Status is the HTTP status of the last attempt; 0 when it had none.
	Status int
	// Body is the start of the last attempt's response body.
	Body []byte
	// Err is the last attempt's error (a connection error or an
	// [ErrTimeout]), or the context's error when the caller's context
	// ended before a final outcome.
	Err error
	// Attempts counts the attempts made.
	Attempts int
}

// OK reports whether the event was delivered: a 2xx status and no error.
func (o Outcome) OK() bool {
	return o.Err == nil && o.Status >= 200 && o.Status < 300
}

// Sentinels that stop the retry loop; the outcome itself is in Outcome.
var (
	errRetry = errors.New("delivery: retryable failure")
	errFinal = errors.New("delivery: final failure")
)

// Deliver sends ev to s under p (its zero fields defaulted, see
// [Policy.WithDefaults]): attempt 1 and then up to p.Retry retries, each
// bounded by p.Timeout and preceded by [Policy.Backoff] of its number. It
// stops early on success, on a status [Retryable] rejects, or when ctx
// ends, in which case Outcome.Err is ctx's error and the outcome is not
// final: the caller must neither dead-letter the event nor commit it.
//
// The loop is sethvargo/go-retry's; the waits are exactly KafkaSource's,
// without jitter or cap.
func Deliver(ctx context.Context, s Sink, ev event.Event, p Policy) Outcome {
	p = p.WithDefaults()
	if err := context.Cause(ctx); err != nil {
		return Outcome{Err: err}
	}

	// The first attempt runs without the retry loop, so a delivery that
	// succeeds or fails for good at once builds no backoff state.
	out := attempt(ctx, s, ev, p, 1)
	if err := verdict(ctx, out); p.Retry == 0 || !errors.Is(err, errRetry) {
		return finish(out, err)
	}

	return retryDelivery(ctx, s, ev, p, out)
}

// retryDelivery runs the retry loop after a first attempt that gave out and
// is to be retried. Its first call of the loop's function reports that
// attempt, so the loop's waits and ctx checks come before each retry.
func retryDelivery(ctx context.Context, s Sink, ev event.Event, p Policy, out Outcome) Outcome {
	b := backoffs(p, func() int { return out.Attempts })
	first := true
	err := retry.Do(ctx, b, func(ctx context.Context) error {
		if !first {
			out = attempt(ctx, s, ev, p, out.Attempts+1)
		}
		first = false
		return verdict(ctx, out)
	})
	return finish(out, err)
}

// verdict tells the retry loop what to do after the attempt that gave out:
// nil on success, the cause when ctx ended, a retryable errRetry or errFinal.
func verdict(ctx context.Context, out Outcome) error {
	switch {
	case out.OK():
		return nil
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case Retryable(out.Status, out.Err):
		return retry.RetryableError(errRetry)
	default:
		return errFinal
	}
}

// finish sets the end of ctx, the loop's only error other than the
// verdicts, as the outcome's error.
func finish(out Outcome, err error) Outcome {
	if err != nil && !errors.Is(err, errRetry) && !errors.Is(err, errFinal) {
		out.Err = err
	}
	return out
}

// backoffs yields p.Backoff(n) after the n-th failed attempt, as told by
// attempts, and stops after p.Retry retries.
func backoffs(p Policy, attempts func() int) retry.Backoff {
	return retry.WithMaxRetries(uint64(p.Retry),
		retry.BackoffFunc(func() (time.Duration, bool) {
			return p.Backoff(attempts()), false
		}))
}

// attempt makes attempt number n under the per-attempt timeout.
func attempt(ctx context.Context, s Sink, ev event.Event, p Policy, n int) Outcome {
	actx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()

	r, err := s.Send(actx, ev)
	if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%w after %s: %w", ErrTimeout, p.Timeout, err)
	}
	return Outcome{Status: r.Status, Body: r.Body, Err: err, Attempts: n}
}
