package delivery

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"
)

// BackoffPolicy is how the wait between attempts grows.
type BackoffPolicy string

// Backoff policies, as in Knative's delivery spec.
const (
	// BackoffLinear waits delay*n before retry n.
	BackoffLinear BackoffPolicy = "linear"
	// BackoffExponential waits delay*2^n before retry n.
	BackoffExponential BackoffPolicy = "exponential"
)

// Defaults of a KafkaSource's delivery spec.
const (
	// DefaultRetry is the retry count when spec.delivery is omitted.
	DefaultRetry = 10
	// DefaultOmittedDelay is the backoff delay when spec.delivery is
	// omitted.
	DefaultOmittedDelay = 300 * time.Millisecond
	// DefaultBackoffDelay is the backoff delay when spec.delivery is given
	// without backoffDelay.
	DefaultBackoffDelay = 200 * time.Millisecond
	// DefaultTimeout is the per-attempt timeout when none is given.
	DefaultTimeout = 600 * time.Second
)

// ErrInvalidPolicy is returned by [Policy.Validate] for a policy no
// KafkaSource could have.
var ErrInvalidPolicy = errors.New("delivery: invalid policy")

// Policy is a KafkaSource's spec.delivery. Its zero value is a spec.delivery
// given with nothing set: no retry, exponential backoff from
// [DefaultBackoffDelay], attempts timing out after [DefaultTimeout]. When
// spec.delivery is omitted use [DefaultPolicy]. KafkaSource's retryAfterMax
// is ignored, as KafkaSource ignores it.
type Policy struct {
	// Retry is how many times a failed attempt is retried; 0 means one
	// attempt only.
	Retry int
	// BackoffPolicy is linear or exponential; empty means exponential.
	BackoffPolicy BackoffPolicy
	// BackoffDelay is the unit of the backoff; 0 means
	// [DefaultBackoffDelay].
	BackoffDelay time.Duration
	// Timeout bounds each attempt; 0 means [DefaultTimeout].
	Timeout time.Duration
}

// DefaultPolicy returns the policy of a KafkaSource without spec.delivery:
// 10 retries, exponential from 300 ms, 600 s per attempt.
func DefaultPolicy() Policy {
	return Policy{
		Retry:         DefaultRetry,
		BackoffPolicy: BackoffExponential,
		BackoffDelay:  DefaultOmittedDelay,
		Timeout:       DefaultTimeout,
	}
}

// WithDefaults returns p with its unset fields set to their defaults. So
// that a policy [Policy.Validate] would reject cannot loop for ever or time
// out at once, a negative Retry counts as 0, a negative delay or timeout as
// unset, and an unknown backoff policy as exponential.
func (p Policy) WithDefaults() Policy {
	p.Retry = max(p.Retry, 0)
	if p.BackoffPolicy != BackoffLinear {
		p.BackoffPolicy = BackoffExponential
	}
	if p.BackoffDelay <= 0 {
		p.BackoffDelay = DefaultBackoffDelay
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	return p
}

// Validate reports every field no KafkaSource could have: a negative retry
// count, delay or timeout, or an unknown backoff policy.
func (p Policy) Validate() error {
	var errs []error
	if p.Retry < 0 {
		errs = append(errs, fmt.Errorf("retry %d is negative", p.Retry))
	}
	switch p.BackoffPolicy {
	case "", BackoffLinear, BackoffExponential:
	default:
		errs = append(errs, fmt.Errorf("backoff policy %q is not linear or exponential",
			p.BackoffPolicy))
	}
	if p.BackoffDelay < 0 {
		errs = append(errs, fmt.Errorf("backoff delay %s is negative", p.BackoffDelay))
	}
	if p.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", p.Timeout))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidPolicy, errors.Join(errs...))
	}
	return nil
}

// Backoff returns the wait before retry n (n >= 1), with defaults applied:
// delay*n when linear, delay*2^n when exponential, saturating at the
// largest time.Duration instead of overflowing. It is 0 for n < 1.
func (p Policy) Backoff(n int) time.Duration {
	if n < 1 {
		return 0
	}
	p = p.WithDefaults()
	d := p.BackoffDelay

	if p.BackoffPolicy == BackoffLinear {
		if d > math.MaxInt64/time.Duration(n) {
			return math.MaxInt64
		}
		return d * time.Duration(n)
	}
	if n >= 63 || d > math.MaxInt64>>n {
		return math.MaxInt64
	}
	return d << n
}

// Retryable reports whether KafkaSource retries an attempt that ended with
// status or err: every error but the end of the caller's context and
// [ErrUnsendable] (connection errors and timeouts), 5xx, 404, 408, 409 and
// 429. Every other status is final: 2xx as a success, 1xx, 3xx and the
// other 4xx as a failure.
func Retryable(status int, err error) bool {
	if err != nil {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, ErrUnsendable)
	}
	switch status {
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusConflict,
		http.StatusTooManyRequests:
		return true
	}
	return status >= 500
}
