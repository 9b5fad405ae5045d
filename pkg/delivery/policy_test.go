package delivery

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRetryable pins KafkaSource's retryable set for every status class and
// error kind.
func TestRetryable(t *testing.T) {
	retryable := map[int]bool{404: true, 408: true, 409: true, 429: true}
	for status := 100; status < 600; status++ {
		want := status >= 500 || retryable[status]
		assert.Equal(t, want, Retryable(status, nil), "status %d", status)
	}

	errs := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("refused")}, true},
		{"attempt timeout", fmt.Errorf("%w: %w", ErrTimeout, context.DeadlineExceeded), true},
		{"deadline", context.DeadlineExceeded, true},
		{"caller cancelled", fmt.Errorf("post: %w", context.Canceled), false},
		{"unsendable", fmt.Errorf("%w: bad", ErrUnsendable), false},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Retryable(0, tt.err))
		})
	}
}

// TestPolicy_Backoff pins the wait before each retry for both policies.
func TestPolicy_Backoff(t *testing.T) {
	ms := time.Millisecond
	linear := Policy{BackoffPolicy: BackoffLinear, BackoffDelay: 10 * ms}
	exponential := Policy{BackoffPolicy: BackoffExponential, BackoffDelay: 10 * ms}
	tests := []struct {
		name string
		p    Policy
		n    int
		want time.Duration
	}{
		{"linear before first attempt", linear, 0, 0},
		{"linear retry 1", linear, 1, 10 * ms},
		{"linear retry 2", linear, 2, 20 * ms},
		{"linear retry 10", linear, 10, 100 * ms},
		{"exponential retry 1", exponential, 1, 20 * ms},
		{"exponential retry 2", exponential, 2, 40 * ms},
		{"exponential retry 10", exponential, 10, 10240 * ms},
		{"exponential saturates", exponential, 62, math.MaxInt64},
		{"exponential huge n", exponential, 1000, math.MaxInt64},
		{"linear saturates", linear, math.MaxInt, math.MaxInt64},
		{"zero policy is exponential from 200ms", Policy{}, 1, 400 * ms},
		{"omitted delivery", DefaultPolicy(), 3, 2400 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.p.Backoff(tt.n))
		})
	}
}

// TestPolicy_Defaults pins the policies of an omitted and an empty
// spec.delivery.
func TestPolicy_Defaults(t *testing.T) {
	assert.Equal(t, Policy{Retry: 10, BackoffPolicy: BackoffExponential,
		BackoffDelay: 300 * time.Millisecond, Timeout: 600 * time.Second}, DefaultPolicy())
	assert.Equal(t, Policy{BackoffPolicy: BackoffExponential,
		BackoffDelay: 200 * time.Millisecond, Timeout: 600 * time.Second}, Policy{}.WithDefaults())

	given := Policy{Retry: 2, BackoffPolicy: BackoffLinear, BackoffDelay: 1, Timeout: 2}
	assert.Equal(t, given, given.WithDefaults(), "set fields are kept")

	invalid := Policy{Retry: -3, BackoffPolicy: "fibonacci", BackoffDelay: -1, Timeout: -1}
	assert.Equal(t, Policy{}.WithDefaults(), invalid.WithDefaults(), "invalid fields are unset")
}

// TestDeliver_InvalidPolicy pins that a policy Validate rejects still makes
// one attempt instead of looping or timing out at once.
func TestDeliver_InvalidPolicy(t *testing.T) {
	sink := &fakeSink{script: []result{{status: 500}}}
	out := Deliver(context.Background(), sink, testEvent("e1"), Policy{Retry: -1, Timeout: -1})
	assert.Equal(t, 1, out.Attempts)
	assert.Equal(t, 500, out.Status)
	assert.NoError(t, out.Err)
}

// TestPolicy_Validate pins which policies are rejected and that the error
// names every bad field.
func TestPolicy_Validate(t *testing.T) {
	require.NoError(t, Policy{}.Validate())
	require.NoError(t, DefaultPolicy().Validate())

	err := Policy{Retry: -1, BackoffPolicy: "fibonacci", BackoffDelay: -1, Timeout: -1}.Validate()
	require.ErrorIs(t, err, ErrInvalidPolicy)
	for _, want := range []string{"retry -1", `"fibonacci"`, "backoff delay -1ns", "timeout -1ns"} {
		assert.Contains(t, err.Error(), want)
	}
}

// TestOutcome_OK pins that only a 2xx without error is a success.
func TestOutcome_OK(t *testing.T) {
	assert.True(t, Outcome{Status: http.StatusAccepted}.OK())
	assert.False(t, Outcome{Status: http.StatusOK, Err: context.Canceled}.OK())
	assert.False(t, Outcome{Status: http.StatusMultipleChoices}.OK())
	assert.False(t, Outcome{}.OK())
}
