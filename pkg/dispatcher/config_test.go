package dispatcher

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/delivery"
	"function/pkg/kafkasource"
)

// setRequired sets the variables without a default, under prefix.
func setRequired(t *testing.T, prefix string) {
	t.Setenv(prefix+"SOURCE_NAME", "users-welcome")
	t.Setenv(prefix+"TOPICS", "users")
	t.Setenv(prefix+"CONSUMER_GROUP", "users-welcome")
}

// TestLoadConfig_Defaults pins the defaults to those of a KafkaSource whose
// spec.delivery is omitted.
func TestLoadConfig_Defaults(t *testing.T) {
	setRequired(t, "")

	c, err := LoadConfig("")
	require.NoError(t, err)

	assert.Equal(t, "default", c.SourceNamespace)
	assert.Equal(t, []string{"users"}, c.Topics)
	assert.Equal(t, Latest, c.InitialOffset)
	assert.Equal(t, Ordered, c.Ordering)
	assert.Equal(t, delivery.Policy{
		Retry:         10,
		BackoffPolicy: delivery.BackoffExponential,
		BackoffDelay:  300 * time.Millisecond,
		Timeout:       600 * time.Second,
	}, c.Policy())
	assert.Equal(t, kafkasource.KeyString, c.KeyType)
	assert.Empty(t, c.CEOverrides)
	assert.Empty(t, c.DeadLetterTopic)
	assert.Equal(t, 50, c.MaxInFlight)
	assert.Equal(t, Duration(10*time.Second), c.StopTimeout)
	assert.Equal(t, Duration(time.Second), c.CommitInterval)
}

// TestLoadConfig_Prefix pins that prefixed variables win and unprefixed
// ones are the shared fallback.
func TestLoadConfig_Prefix(t *testing.T) {
	setRequired(t, "WELCOME_")
	t.Setenv("DELIVERY_RETRY", "5")
	t.Setenv("WELCOME_DELIVERY_RETRY", "3")
	t.Setenv("DEAD_LETTER_TOPIC", "users-dead-letter")
	t.Setenv("WELCOME_CE_OVERRIDES", "handler:welcome,env:dev")

	c, err := LoadConfig("WELCOME")
	require.NoError(t, err)

	assert.Equal(t, "users-welcome", c.ConsumerGroup)
	assert.Equal(t, 3, c.DeliveryRetry, "prefixed variable wins")
	assert.Equal(t, "users-dead-letter", c.DeadLetterTopic, "shared variable applies")
	assert.Equal(t, map[string]string{"handler": "welcome", "env": "dev"}, c.CEOverrides)
}

// TestLoadConfig_PrefixRequiresIdentity pins that a dispatcher's consumer
// group and source name are never taken from the shared variables.
func TestLoadConfig_PrefixRequiresIdentity(t *testing.T) {
	setRequired(t, "")
	t.Setenv("WELCOME_SOURCE_NAME", "users-welcome")

	_, err := LoadConfig("WELCOME")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "WELCOME_CONSUMER_GROUP")
}

// TestLoadConfig_Durations pins that durations take the spec's ISO 8601
// form and Go's form, and name the variable when they take neither.
func TestLoadConfig_Durations(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"PT0.3S", 300 * time.Millisecond},
		{"PT0.2S", 200 * time.Millisecond},
		{"PT600S", 10 * time.Minute},
		{"PT1M30S", 90 * time.Second},
		{"PT1.50S", 1500 * time.Millisecond},
		{"P1D", 24 * time.Hour},
		{"300ms", 300 * time.Millisecond},
		{"1m30s", 90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			setRequired(t, "")
			t.Setenv("DELIVERY_BACKOFF_DELAY", tt.value)

			c, err := LoadConfig("")
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.Policy().BackoffDelay)
		})
	}

	for _, bad := range []string{"0.3", "PT", "soon", "PT0.3X", "PT0.25S", "PT0.05S"} {
		t.Run("bad "+bad, func(t *testing.T) {
			setRequired(t, "")
			t.Setenv("DELIVERY_TIMEOUT", bad)

			_, err := LoadConfig("")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "DELIVERY_TIMEOUT")
			assert.Contains(t, err.Error(), bad)
		})
	}
}

// TestConfig_Validate pins that each invalid setting is reported under
// its variable's name, with the prefix the config was loaded with.
func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		variable string
		value    string
	}{
		{"SOURCE_NAME", ""},
		{"TOPICS", "bad topic!"},
		{"INITIAL_OFFSET", "oldest"},
		{"ORDERING", "random"},
		{"DELIVERY_RETRY", "-1"},
		{"DELIVERY_BACKOFF_POLICY", "fibonacci"},
		{"DELIVERY_BACKOFF_DELAY", "-1s"},
		{"DELIVERY_TIMEOUT", "0s"},
		{"KEY_TYPE", "uuid"},
		{"CE_OVERRIDES", "Handler:welcome"},
		{"CE_OVERRIDES", "user_id:1"},
		{"DEAD_LETTER_TOPIC", "dead letters"},
		{"MAX_IN_FLIGHT", "0"},
		{"STOP_TIMEOUT", "0s"},
		{"STOP_TIMEOUT", "1h"},
		{"COMMIT_INTERVAL", "0s"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s=%s", tt.variable, tt.value), func(t *testing.T) {
			setRequired(t, "DIR_")
			t.Setenv("DIR_"+tt.variable, tt.value)

			_, err := LoadConfig("DIR")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "DIR_"+tt.variable)
		})
	}
}

// TestConfig_ValidateAll pins that one error lists every invalid setting.
func TestConfig_ValidateAll(t *testing.T) {
	err := Config{}.Validate()

	require.Error(t, err)
	for _, v := range []string{"SOURCE_NAME", "TOPICS", "CONSUMER_GROUP", "INITIAL_OFFSET",
		"ORDERING", "DELIVERY_BACKOFF_POLICY", "DELIVERY_TIMEOUT", "KEY_TYPE",
		"MAX_IN_FLIGHT", "STOP_TIMEOUT", "COMMIT_INTERVAL"} {
		assert.Contains(t, err.Error(), v)
	}
}

// ExampleLoadConfig configures the dispatcher of one handler with a
// prefix, sharing the dead-letter topic with the others.
func ExampleLoadConfig() {
	env := map[string]string{
		"WELCOME_SOURCE_NAME":    "users-welcome",
		"WELCOME_CONSUMER_GROUP": "users-welcome",
		"WELCOME_CE_OVERRIDES":   "handler:welcome",
		"TOPICS":                 "users",
		"DELIVERY_BACKOFF_DELAY": "PT0.5S",
		"DEAD_LETTER_TOPIC":      "users-dead-letter",
	}
	for k, v := range env {
		os.Setenv(k, v)
		defer os.Unsetenv(k)
	}

	c, err := LoadConfig("WELCOME")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.ConsumerGroup, c.Topics, c.Ordering, c.CEOverrides)
	fmt.Println(c.Policy().Retry, c.Policy().BackoffDelay, c.DeadLetterTopic)
	// Output:
	// users-welcome [users] ordered map[handler:welcome]
	// 10 500ms users-dead-letter
}
