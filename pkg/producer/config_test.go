package producer

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/events"
	"function/pkg/kafka"
	"function/pkg/topology"
)

// validConfig returns a configuration that passes Validate.
func validConfig() Config {
	return Config{
		Config: kafka.Config{Brokers: []string{"127.0.0.1:9092"}, ClientID: "test",
			Version: "3.9.0", DialTimeout: time.Second, RequestTimeout: time.Second},
		Topic:           "users",
		Source:          testSource,
		MaxMessageBytes: DefaultMaxMessageBytes,
		SendTimeout:     time.Second,
	}
}

// TestConfigValidate_NamesVariable pins down that each invalid setting is
// refused with a message naming its environment variable.
func TestConfigValidate_NamesVariable(t *testing.T) {
	cases := []struct {
		name, variable, detail string
		change                 func(*Config)
	}{
		{"no topic", "PRODUCER_TOPIC", "no topic", func(c *Config) { c.Topic = "" }},
		{"topic with a space", "PRODUCER_TOPIC", `' '`, func(c *Config) { c.Topic = "a b" }},
		{"topic dot", "PRODUCER_TOPIC", `"."`, func(c *Config) { c.Topic = "." }},
		{"topic too long", "PRODUCER_TOPIC", "longer than 249",
			func(c *Config) { c.Topic = strings.Repeat("t", 250) }},
		{"no source", "PRODUCER_SOURCE", "no source", func(c *Config) { c.Source = "" }},
		{"source not a URI", "PRODUCER_SOURCE", "not a URI",
			func(c *Config) { c.Source = "http://[::1" }},
		{"zero max bytes", "PRODUCER_MAX_MESSAGE_BYTES", "0 is not between",
			func(c *Config) { c.MaxMessageBytes = 0 }},
		{"max bytes over a request", "PRODUCER_MAX_MESSAGE_BYTES", "is not between",
			func(c *Config) { c.MaxMessageBytes = int(sarama.MaxRequestSize) }},
		{"zero send timeout", "PRODUCER_SEND_TIMEOUT", "not positive",
			func(c *Config) { c.SendTimeout = 0 }},
		{"no broker", "KAFKA_BROKERS", "no broker", func(c *Config) { c.Brokers = nil }},
		{"old protocol", "KAFKA_VERSION", "older than",
			func(c *Config) { c.Version = "2.0.0" }},
	}
	require.NoError(t, validConfig().Validate())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := validConfig()
			c.change(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.variable+": ")
			assert.Contains(t, err.Error(), c.detail)
		})
	}
}

// TestLoadConfig_Defaults pins down the variable names and defaults.
func TestLoadConfig_Defaults(t *testing.T) {
	t.Setenv("PRODUCER_TOPIC", "orders")
	t.Setenv("KAFKA_BROKERS", "k1:9092,k2:9092")

	cfg, err := LoadConfig()
	require.NoError(t, err)
	assert.Equal(t, "orders", cfg.Topic)
	assert.Equal(t, []string{"k1:9092", "k2:9092"}, cfg.Brokers)
	assert.Equal(t, "/user-handlers/producer", cfg.Source)
	assert.Equal(t, DefaultMaxMessageBytes, cfg.MaxMessageBytes)
	assert.Equal(t, 30*time.Second, cfg.SendTimeout)
	assert.NoError(t, cfg.Validate())

	t.Setenv("PRODUCER_SOURCE", "/elsewhere")
	t.Setenv("PRODUCER_MAX_MESSAGE_BYTES", "2048")
	t.Setenv("PRODUCER_SEND_TIMEOUT", "3s")
	cfg, err = LoadConfig()
	require.NoError(t, err)
	assert.Equal(t, "/elsewhere", cfg.Source)
	assert.Equal(t, 2048, cfg.MaxMessageBytes)
	assert.Equal(t, 3*time.Second, cfg.SendTimeout)
}

// TestLoadConfig_UnparsableNamesVariable pins down that a value that does
// not parse is reported with its variable.
func TestLoadConfig_UnparsableNamesVariable(t *testing.T) {
	for variable, value := range map[string]string{
		"PRODUCER_MAX_MESSAGE_BYTES": "1MB",
		"PRODUCER_SEND_TIMEOUT":      "soon",
	} {
		t.Run(variable, func(t *testing.T) {
			t.Setenv(variable, value)
			_, err := LoadConfig()
			require.Error(t, err)
			assert.Contains(t, err.Error(), variable)
		})
	}
}

// TestNew_InvalidConfigFailsBeforeConnecting pins down that New refuses an
// invalid configuration by name without dialling anything.
func TestNew_InvalidConfigFailsBeforeConnecting(t *testing.T) {
	cfg := validConfig()
	cfg.Brokers = []string{closedAddr(t)}
	cfg.SendTimeout = -time.Second

	_, err := New[events.UserEvent](cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PRODUCER_SEND_TIMEOUT")
	assert.NotContains(t, err.Error(), "connect")
}

// TestNewUserProducer_BoundToUsersTopic pins down that the user producer
// writes only to the users topic and refuses to be pointed elsewhere.
func TestNewUserProducer_BoundToUsersTopic(t *testing.T) {
	cfg := validConfig()
	cfg.Topic = "orders"
	_, err := NewUserProducer(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PRODUCER_TOPIC")

	e, err := kafka.StartEmbedded(kafka.EmbeddedOptions{
		Topics: map[string]int32{topology.UsersTopic: topology.UsersPartitions},
	})
	require.NoError(t, err)
	t.Cleanup(e.Close)
	cfg.Brokers = e.Addrs()
	cfg.Topic = ""
	p, err := NewUserProducer(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(context.Background())) })
	assert.Equal(t, topology.UsersTopic, p.Topic())

	r, err := p.Send(t.Context(), events.TypeUserDeleted, user("user-00", 2))
	require.NoError(t, err)
	assert.Equal(t, topology.UsersTopic, r.Topic)
	_, err = p.Send(t.Context(), "com.example.users.user.renamed", user("user-00", 3))
	assert.ErrorIs(t, err, ErrInvalidEvent)
}

// TestSaramaConfig_Idempotent pins down the delivery settings: an idempotent
// producer with acks=all and one open request, sized by the configured limit.
func TestSaramaConfig_Idempotent(t *testing.T) {
	cfg := validConfig()
	cfg.MaxMessageBytes = 12345
	sc, err := cfg.saramaConfig()
	require.NoError(t, err)

	assert.True(t, sc.Producer.Idempotent)
	assert.Equal(t, sarama.WaitForAll, sc.Producer.RequiredAcks)
	assert.Equal(t, 1, sc.Net.MaxOpenRequests)
	assert.Equal(t, 12345, sc.Producer.MaxMessageBytes)
	assert.True(t, sc.Version.IsAtLeast(kafka.MinVersion))
	assert.NoError(t, sc.Validate())
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// TestRetryBackoff pins the wait between sarama's retries of a record: it
// doubles from 100 ms and stops growing at 2 s, so ten retries ride out a
// leader election of about 13 s.
func TestRetryBackoff(t *testing.T) {
	want := []time.Duration{100, 200, 400, 800, 1600, 2000, 2000}
	var total time.Duration
	for i, w := range want {
		assert.Equal(t, w*time.Millisecond, retryBackoff(i+1, 10), "retry %d", i+1)
	}
	for n := 1; n <= 10; n++ {
		total += retryBackoff(n, 10)
	}
	assert.Equal(t, 13100*time.Millisecond, total)
}
