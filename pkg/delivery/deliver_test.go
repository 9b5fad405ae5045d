package delivery

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fast is a policy whose waits are negligible, so tests count attempts
// rather than time.
func fast(retry int, policy BackoffPolicy) Policy {
	return Policy{Retry: retry, BackoffPolicy: policy, BackoffDelay: time.Microsecond}
}

// TestDeliver_Attempts pins how many attempts each status sequence takes and
// the outcome it ends with.
func TestDeliver_Attempts(t *testing.T) {
	refused := &net.OpError{Op: "dial", Err: errors.New("connection refused")}
	tests := []struct {
		name     string
		policy   Policy
		script   []result
		attempts int
		status   int
		ok       bool
	}{
		{"success first", fast(3, BackoffLinear), []result{{status: 200}}, 1, 200, true},
		{"2xx other than 200", fast(3, BackoffLinear), []result{{status: 204}}, 1, 204, true},
		{"retried until success", fast(5, BackoffExponential),
			[]result{{status: 500}, {status: 503}, {status: 200}}, 3, 200, true},
		{"every retryable status", fast(10, BackoffLinear), []result{{status: 502},
			{status: 404}, {status: 408}, {status: 409}, {status: 429}, {status: 202}},
			6, 202, true},
		{"retries run out", fast(3, BackoffExponential), []result{{status: 500}}, 4, 500, false},
		{"no retry", fast(0, BackoffLinear), []result{{status: 503}}, 1, 503, false},
		{"400 is final", fast(5, BackoffLinear), []result{{status: 400}}, 1, 400, false},
		{"422 after a 500 is final", fast(5, BackoffLinear),
			[]result{{status: 500}, {status: 422}}, 2, 422, false},
		{"3xx is final", fast(5, BackoffLinear), []result{{status: 302}}, 1, 302, false},
		{"connection error retried", fast(5, BackoffLinear),
			[]result{{err: refused}, {status: 200}}, 2, 200, true},
		{"connection errors run out", fast(2, BackoffLinear), []result{{err: refused}}, 3, 0,
			false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &fakeSink{script: tt.script}

			out := Deliver(context.Background(), sink, testEvent("e1"), tt.policy)

			assert.Equal(t, tt.attempts, out.Attempts)
			assert.Equal(t, tt.attempts, sink.attempts())
			assert.Equal(t, tt.status, out.Status)
			assert.Equal(t, tt.ok, out.OK(), "outcome %+v", out)
			for _, ev := range sink.events {
				assert.Equal(t, "e1", ev.ID())
			}
		})
	}
}

// TestDeliver_BackoffSequence pins the waits the retry loop is fed: Backoff
// of each retry number, then a stop once Retry retries were made.
func TestDeliver_BackoffSequence(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		p    Policy
		want []time.Duration
	}{
		{"linear", Policy{Retry: 4, BackoffPolicy: BackoffLinear, BackoffDelay: ms},
			[]time.Duration{ms, 2 * ms, 3 * ms, 4 * ms}},
		{"exponential", Policy{Retry: 4, BackoffPolicy: BackoffExponential, BackoffDelay: ms},
			[]time.Duration{2 * ms, 4 * ms, 8 * ms, 16 * ms}},
		{"no retry", Policy{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attempts := 0
			b := backoffs(tt.p, func() int { return attempts })

			var got []time.Duration
			for {
				attempts++
				d, stop := b.Next()
				if stop {
					break
				}
				got = append(got, d)
			}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.p.Retry+1, attempts, "attempts made")
		})
	}
}

// TestDeliver_Timeout pins that an attempt outliving the per-attempt
// timeout is a retryable ErrTimeout.
func TestDeliver_Timeout(t *testing.T) {
	slow := func(ctx context.Context, attempt int) { <-ctx.Done() }

	t.Run("slow then fast", func(t *testing.T) {
		sink := &fakeSink{script: []result{{err: context.DeadlineExceeded}, {status: 200}}}
		sink.before = func(ctx context.Context, attempt int) {
			if attempt == 1 {
				slow(ctx, attempt)
			}
		}
		p := Policy{Retry: 2, BackoffDelay: time.Microsecond, Timeout: 10 * time.Millisecond}

		out := Deliver(context.Background(), sink, testEvent("e1"), p)
		assert.True(t, out.OK(), "outcome %+v", out)
		assert.Equal(t, 2, out.Attempts)
	})
	t.Run("always slow", func(t *testing.T) {
		sink := &fakeSink{script: []result{{err: context.DeadlineExceeded}}, before: slow}
		p := Policy{Retry: 1, BackoffDelay: time.Microsecond, Timeout: 10 * time.Millisecond}

		out := Deliver(context.Background(), sink, testEvent("e1"), p)
		require.ErrorIs(t, out.Err, ErrTimeout)
		assert.Equal(t, 2, out.Attempts)
		assert.True(t, Retryable(out.Status, out.Err))
	})
}

// TestDeliver_ContextEnds pins that the end of the caller's context stops
// the retries and is reported as a non-final outcome.
func TestDeliver_ContextEnds(t *testing.T) {
	hour := Policy{Retry: 5, BackoffDelay: time.Hour}

	t.Run("after a failed attempt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		sink := &fakeSink{script: []result{{status: 500}}}
		sink.before = func(context.Context, int) { cancel() }

		out := Deliver(ctx, sink, testEvent("e1"), hour)
		require.ErrorIs(t, out.Err, context.Canceled)
		assert.Equal(t, 1, out.Attempts)
		assert.Equal(t, 500, out.Status, "the last status is kept")
	})
	t.Run("while waiting to retry", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		sink := &fakeSink{script: []result{{status: 500}}}
		sink.before = func(context.Context, int) { time.AfterFunc(time.Millisecond, cancel) }

		out := Deliver(ctx, sink, testEvent("e1"), hour)
		require.ErrorIs(t, out.Err, context.Canceled)
		assert.Equal(t, 1, out.Attempts)
		assert.False(t, out.OK())
	})
	t.Run("during an attempt", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		stop := errors.New("shutting down")
		sink := &fakeSink{script: []result{{err: context.Canceled}}}
		sink.before = func(ctx context.Context, _ int) {
			cancel(stop)
			<-ctx.Done()
		}

		out := Deliver(ctx, sink, testEvent("e1"), hour)
		require.ErrorIs(t, out.Err, stop)
		assert.Equal(t, 1, out.Attempts)
	})
	t.Run("before the first attempt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		sink := &fakeSink{script: []result{{status: 200}}}

		out := Deliver(ctx, sink, testEvent("e1"), hour)
		require.ErrorIs(t, out.Err, context.Canceled)
		assert.Equal(t, 0, sink.attempts())
	})
	t.Run("a final failure stays final", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		sink := &fakeSink{script: []result{{status: 400}}}

		out := Deliver(ctx, sink, testEvent("e1"), hour)
		assert.NoError(t, out.Err)
		assert.Equal(t, 400, out.Status)
	})
}
