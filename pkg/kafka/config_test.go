package kafka_test

import (
	"os"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/kafka"
)

// TestLoadConfig_Defaults pins the defaults a user relies on without
// setting anything.
func TestLoadConfig_Defaults(t *testing.T) {
	for _, v := range []string{"KAFKA_BROKERS", "KAFKA_CLIENT_ID", "KAFKA_VERSION",
		"KAFKA_DIAL_TIMEOUT", "KAFKA_REQUEST_TIMEOUT"} {
		t.Setenv(v, "") // restored when the test ends
		require.NoError(t, os.Unsetenv(v))
	}

	c, err := kafka.LoadConfig()
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:9092"}, c.Brokers)
	assert.Equal(t, "3.9.0", c.Version)
	assert.Equal(t, 5*time.Second, c.DialTimeout)
}

// TestLoadConfig_Invalid pins that each invalid setting fails with an error
// naming its variable.
func TestLoadConfig_Invalid(t *testing.T) {
	cases := []struct{ variable, value, want string }{
		{"KAFKA_BROKERS", "localhost", `KAFKA_BROKERS: "localhost" is not host:port`},
		{"KAFKA_VERSION", "banana", `KAFKA_VERSION: "banana" is not a Kafka version`},
		{"KAFKA_VERSION", "2.0.0", "KAFKA_VERSION: 2.0.0 is older than 2.1.0"},
		{"KAFKA_DIAL_TIMEOUT", "-1s", "KAFKA_DIAL_TIMEOUT: -1s is not positive"},
		{"KAFKA_REQUEST_TIMEOUT", "soon", "KAFKA_REQUEST_TIMEOUT"},
	}
	for _, tc := range cases {
		t.Run(tc.variable+"="+tc.value, func(t *testing.T) {
			t.Setenv(tc.variable, tc.value)
			_, err := kafka.LoadConfig()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// TestConfig_Sarama pins that the sarama configuration carries the
// explicit protocol version and the timeouts, never sarama's defaults.
func TestConfig_Sarama(t *testing.T) {
	c := kafka.Config{Brokers: []string{"127.0.0.1:1"}, ClientID: "x", Version: "4.0.0",
		DialTimeout: time.Second, RequestTimeout: 2 * time.Second}

	sc, err := c.Sarama()
	require.NoError(t, err)
	assert.Equal(t, sarama.V4_0_0_0, sc.Version)
	assert.Equal(t, "x", sc.ClientID)
	assert.Equal(t, time.Second, sc.Net.DialTimeout)
	assert.Equal(t, 2*time.Second, sc.Net.ReadTimeout)
}
