package producer

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/IBM/sarama"
	"github.com/kelseyhightower/envconfig"

	"function/pkg/kafka"
)

// DefaultMaxMessageBytes is the default of [Config.MaxMessageBytes]. It stays
// below Kafka's default message.max.bytes (1048588) with room for the record
// batch header, so a record that passes the check is one the broker accepts.
const DefaultMaxMessageBytes = 1000000

// maxTopicLength is Kafka's limit on a topic name.
const maxTopicLength = 249

// Config holds a producer's settings. The connection settings are the shared
// [kafka.Config] (KAFKA_* variables); the rest are read from PRODUCER_*.
type Config struct {
	kafka.Config

	// Topic is the topic every record is written to. Required by [New];
	// [NewUserProducer] fixes it to the users topic.
	Topic string `envconfig:"PRODUCER_TOPIC"`

	// Source is the CloudEvents source attribute of every event, a non-empty
	// URI reference naming the producing system.
	Source string `envconfig:"PRODUCER_SOURCE" default:"/user-handlers/producer"`

	// MaxMessageBytes is the largest record [Producer.Send] accepts, counted
	// as sarama counts it (see [TooLargeError]). Keep it at least 61 bytes
	// (the record batch header) below the topic's max.message.bytes.
	MaxMessageBytes int `envconfig:"PRODUCER_MAX_MESSAGE_BYTES" default:"1000000"`

	// SendTimeout bounds one [Producer.Send] or [Producer.SendAll], from the
	// call to the broker's acknowledgement, when the caller's context has no
	// earlier deadline.
	SendTimeout time.Duration `envconfig:"PRODUCER_SEND_TIMEOUT" default:"30s"`
}

// LoadConfig reads a [Config] from the environment. Its errors name the
// variable that could not be parsed; [New] validates the values, so an
// invalid configuration still fails at start.
func LoadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return Config{}, fmt.Errorf("producer: %w", err)
	}
	return c, nil
}

// Validate reports every invalid setting, each naming its variable.
func (c Config) Validate() error {
	errs := []error{c.Config.Validate()}
	if err := validateTopic(c.Topic); err != nil {
		errs = append(errs, err)
	}
	if err := validateSource(c.Source); err != nil {
		errs = append(errs, err)
	}
	if c.MaxMessageBytes <= 0 || c.MaxMessageBytes >= int(sarama.MaxRequestSize) {
		errs = append(errs, fmt.Errorf("PRODUCER_MAX_MESSAGE_BYTES: %d is not between 1 and %d",
			c.MaxMessageBytes, sarama.MaxRequestSize-1))
	}
	if c.SendTimeout <= 0 {
		errs = append(errs, fmt.Errorf("PRODUCER_SEND_TIMEOUT: %v is not positive",
			c.SendTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("producer: invalid configuration: %w", err)
	}
	return nil
}

// validateTopic applies Kafka's rules for topic names: 1 to 249 characters
// from [a-zA-Z0-9._-], and neither "." nor "..".
func validateTopic(topic string) error {
	switch {
	case topic == "":
		return errors.New("PRODUCER_TOPIC: no topic given")
	case len(topic) > maxTopicLength:
		return fmt.Errorf("PRODUCER_TOPIC: %q is longer than %d characters", topic,
			maxTopicLength)
	case topic == "." || topic == "..":
		return fmt.Errorf("PRODUCER_TOPIC: %q is not a topic name", topic)
	}
	for _, r := range topic {
		if !isTopicRune(r) {
			return fmt.Errorf("PRODUCER_TOPIC: %q holds %q; only [a-zA-Z0-9._-] are allowed",
				topic, r)
		}
	}
	return nil
}

func isTopicRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '.' || r == '_' || r == '-'
}

// validateSource checks the CloudEvents rule for source: a non-empty URI
// reference.
func validateSource(source string) error {
	if source == "" {
		return errors.New("PRODUCER_SOURCE: no source given")
	}
	if _, err := url.Parse(source); err != nil {
		return fmt.Errorf("PRODUCER_SOURCE: %q is not a URI reference: %w", source, err)
	}
	return nil
}

// saramaConfig builds the sarama settings of a producer: an idempotent
// producer (acks=all, one open request per broker, sequence numbers), so a
// retry can neither duplicate nor reorder one key's records, and the Java
// client's murmur2 partitioner, so Go and Java producers agree on where a key
// goes.
func (c Config) saramaConfig() (*sarama.Config, error) {
	sc, err := c.Sarama()
	if err != nil {
		return nil, err
	}
	sc.Producer.Idempotent = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Partitioner = sarama.NewMurmur2Partitioner
	sc.Producer.MaxMessageBytes = c.MaxMessageBytes
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.Timeout = min(c.SendTimeout, c.RequestTimeout)
	// A leader election (a new topic, a broker restart) answers
	// NOT_LEADER_FOR_PARTITION for a few seconds; sarama's default of three
	// retries 100 ms apart gives up long before SendTimeout. The idempotent
	// producer keeps a key's order across retries, so retry with backoff
	// (0.1 s doubling to 2 s, about 13 s in all); Send's own timer still
	// bounds the caller's wait.
	sc.Producer.Retry.Max = 10
	sc.Producer.Retry.BackoffFunc = retryBackoff
	// Room for a SendAll batch of a thousand events in each of sarama's
	// pipeline stages, so the caller rarely waits to enqueue.
	sc.ChannelBufferSize = 1024
	return sc, nil
}

// retryBackoff is the wait before sarama's retry n (1-based) of a record:
// 100 ms doubling per retry, at most 2 s.
func retryBackoff(retries, _ int) time.Duration {
	return min(100*time.Millisecond<<max(retries-1, 0), 2*time.Second)
}
