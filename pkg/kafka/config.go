// Package kafka holds what every Kafka client of this project shares: the
// connection settings read from the environment, the sarama configuration
// built from them, and the embedded broker used for development and tests.
package kafka

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/kelseyhightower/envconfig"
)

// MinVersion is the oldest Kafka protocol version accepted: Kafka 4 brokers
// refuse requests older than Kafka 2.1 (KIP-896).
var MinVersion = sarama.V2_1_0_0

// Config holds the connection settings shared by producers and dispatchers.
type Config struct {
	// Brokers is the bootstrap list, host:port separated by commas.
	Brokers []string `envconfig:"KAFKA_BROKERS" default:"127.0.0.1:9092"`

	// ClientID names this process in the broker's logs and quotas.
	ClientID string `envconfig:"KAFKA_CLIENT_ID" default:"user-handlers"`

	// Version is the Kafka protocol version sarama speaks, at least 2.1.0
	// (see [MinVersion]). Sarama never negotiates it, so it is explicit.
	Version string `envconfig:"KAFKA_VERSION" default:"3.9.0"`

	// DialTimeout bounds opening one connection to a broker.
	DialTimeout time.Duration `envconfig:"KAFKA_DIAL_TIMEOUT" default:"5s"`

	// RequestTimeout bounds one request/response round trip on a connection.
	RequestTimeout time.Duration `envconfig:"KAFKA_REQUEST_TIMEOUT" default:"10s"`
}

// LoadConfig reads a [Config] from the environment and validates it. Its
// errors name the variable that was wrong.
func LoadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return Config{}, fmt.Errorf("kafka: %w", err)
	}
	return c, c.Validate()
}

// Validate reports the first invalid setting, naming its variable.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("KAFKA_BROKERS: no broker given"))
	}
	for _, b := range c.Brokers {
		if !strings.Contains(b, ":") || strings.TrimSpace(b) != b {
			errs = append(errs, fmt.Errorf("KAFKA_BROKERS: %q is not host:port", b))
		}
	}
	if _, err := c.KafkaVersion(); err != nil {
		errs = append(errs, err)
	}
	if c.DialTimeout <= 0 {
		errs = append(errs, fmt.Errorf("KAFKA_DIAL_TIMEOUT: %v is not positive", c.DialTimeout))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("KAFKA_REQUEST_TIMEOUT: %v is not positive",
			c.RequestTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kafka: invalid configuration: %w", err)
	}
	return nil
}

// KafkaVersion parses [Config.Version] and checks it against [MinVersion].
func (c Config) KafkaVersion() (sarama.KafkaVersion, error) {
	v, err := sarama.ParseKafkaVersion(c.Version)
	if err != nil {
		return v, fmt.Errorf("KAFKA_VERSION: %q is not a Kafka version such as 3.9.0", c.Version)
	}
	if !v.IsAtLeast(MinVersion) {
		return v, fmt.Errorf("KAFKA_VERSION: %s is older than %s, which Kafka 4 refuses",
			c.Version, MinVersion)
	}
	return v, nil
}

// Sarama returns a sarama configuration with the connection settings of c
// applied and everything else at sarama's defaults. Callers add their own
// producer or consumer settings.
func (c Config) Sarama() (*sarama.Config, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	v, _ := c.KafkaVersion()

	sc := sarama.NewConfig()
	sc.Version = v
	sc.ClientID = c.ClientID
	sc.Net.DialTimeout = c.DialTimeout
	sc.Net.ReadTimeout = c.RequestTimeout
	sc.Net.WriteTimeout = c.RequestTimeout
	// A broker that is down should fail a call within the configured
	// timeouts, not after sarama's default of three metadata retries.
	sc.Metadata.Retry.Max = 1
	sc.Metadata.Retry.Backoff = 100 * time.Millisecond
	return sc, nil
}
