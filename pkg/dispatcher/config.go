package dispatcher

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/kelseyhightower/envconfig"

	"function/pkg/delivery"
	"function/pkg/kafkasource"
)

// Ordering says how many records of one partition are in flight at once,
// like the KafkaSource's spec.ordering.
type Ordering string

const (
	// Ordered delivers one record per partition at a time, in offset order;
	// partitions run in parallel.
	Ordered Ordering = "ordered"
	// Unordered delivers up to [Config.MaxInFlight] records per dispatcher at
	// once, from any partition.
	Unordered Ordering = "unordered"
)

// InitialOffset says where a consumer group without a committed offset
// starts, like the KafkaSource's spec.initialOffset.
type InitialOffset string

const (
	// Earliest starts at the oldest record still in the partition.
	Earliest InitialOffset = "earliest"
	// Latest starts after the newest record, the KafkaSource default.
	Latest InitialOffset = "latest"
)

// Config describes one dispatcher: what a KafkaSource's spec says, with
// variable names that mirror the spec's fields. Durations take the spec's ISO
// 8601 form (PT0.3S) or a Go duration (300ms), see [Duration].
//
// The defaults are those of a KafkaSource whose spec.delivery is omitted.
// A KafkaSource whose spec.delivery is given uses it as written (no retry
// means 0 retries, backoffDelay defaults to PT0.2S): set every DELIVERY_*
// variable to mirror one.
type Config struct {
	// SourceName is the KafkaSource's name; a wrapped record's source is
	// /apis/v1/namespaces/<SourceNamespace>/kafkasources/<SourceName>#<topic>.
	SourceName string `envconfig:"SOURCE_NAME" required:"true"`

	// SourceNamespace is the KafkaSource's namespace.
	SourceNamespace string `envconfig:"SOURCE_NAMESPACE" default:"default"`

	// Topics are the topics read (spec.topics), separated by commas.
	Topics []string `envconfig:"TOPICS" required:"true"`

	// ConsumerGroup is the Kafka consumer group (spec.consumerGroup). Two
	// dispatchers with the same group share the partitions.
	ConsumerGroup string `envconfig:"CONSUMER_GROUP" required:"true"`

	// InitialOffset is where a group without a committed offset starts
	// (spec.initialOffset): earliest or latest.
	InitialOffset InitialOffset `envconfig:"INITIAL_OFFSET" default:"latest"`

	// Ordering is ordered or unordered (spec.ordering).
	Ordering Ordering `envconfig:"ORDERING" default:"ordered"`

	// DeliveryRetry is the number of retries after the first attempt
	// (spec.delivery.retry).
	DeliveryRetry int `envconfig:"DELIVERY_RETRY" default:"10"`

	// DeliveryBackoffPolicy is linear or exponential
	// (spec.delivery.backoffPolicy).
	DeliveryBackoffPolicy delivery.BackoffPolicy `envconfig:"DELIVERY_BACKOFF_POLICY" default:"exponential"`

	// DeliveryBackoffDelay is the backoff unit (spec.delivery.backoffDelay).
	DeliveryBackoffDelay Duration `envconfig:"DELIVERY_BACKOFF_DELAY" default:"PT0.3S"`

	// DeliveryTimeout bounds one attempt (spec.delivery.timeout).
	DeliveryTimeout Duration `envconfig:"DELIVERY_TIMEOUT" default:"PT600S"`

	// KeyType decodes record keys: string, int, float or byte-array (the
	// kafkasources.sources.knative.dev/key-type label).
	KeyType kafkasource.KeyType `envconfig:"KEY_TYPE" default:"string"`

	// CEOverrides are extensions set on every event, written name:value and
	// separated by commas (spec.ceOverrides.extensions).
	CEOverrides map[string]string `envconfig:"CE_OVERRIDES"`

	// DeadLetterTopic receives, as binary CloudEvents, the events whose last
	// attempt failed (the KafkaSource's deadLetterSink). Empty means such
	// events are logged and dropped, as a KafkaSource without one does. The
	// topic must exist: the dispatcher never creates it.
	DeadLetterTopic string `envconfig:"DEAD_LETTER_TOPIC"`

	// MaxInFlight bounds the records delivered at once in unordered mode.
	MaxInFlight int `envconfig:"MAX_IN_FLIGHT" default:"50"`

	// StopTimeout is how long in-flight deliveries may go on once a stop or
	// a rebalance begins; those still running then are abandoned and their
	// records delivered again later.
	StopTimeout Duration `envconfig:"STOP_TIMEOUT" default:"PT10S"`

	// CommitInterval is how often finished offsets are committed. Offsets
	// are also committed when partitions are revoked and on stop.
	CommitInterval Duration `envconfig:"COMMIT_INTERVAL" default:"PT1S"`

	// prefix is the variable prefix the config was loaded with, so errors
	// name the variable the user set.
	prefix string
}

// maxStopTimeout keeps a stop within the group's rebalance timeout, which is
// derived from StopTimeout and must stay within brokers' limits.
const maxStopTimeout = 5 * time.Minute

// extensionName is the CloudEvents rule for attribute names.
var extensionName = regexp.MustCompile(`^[a-z0-9]{1,20}$`)

// LoadConfig reads a [Config] from the environment and validates it. With a
// prefix such as WELCOME, each variable is read as WELCOME_<NAME> and, when
// that is unset, as <NAME>, so shared settings need setting once; the
// identity of a dispatcher (SOURCE_NAME, CONSUMER_GROUP) must be prefixed,
// because two dispatchers sharing a group would share its records.
func LoadConfig(prefix string) (Config, error) {
	c := Config{prefix: prefix}
	if prefix != "" {
		for _, name := range []string{"SOURCE_NAME", "CONSUMER_GROUP"} {
			if _, ok := os.LookupEnv(prefix + "_" + name); !ok {
				return Config{}, fmt.Errorf("dispatcher: %s_%s: required", prefix, name)
			}
		}
	}
	if err := envconfig.Process(prefix, &c); err != nil {
		return Config{}, fmt.Errorf("dispatcher: %w", err)
	}
	return c, c.Validate()
}

// Validate reports every invalid setting, naming its variable.
func (c Config) Validate() error {
	errs := c.validateSource()
	errs = append(errs, c.validateDelivery()...)
	errs = append(errs, c.validateRuntime()...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dispatcher: invalid configuration: %w", err)
	}
	return nil
}

func (c Config) validateSource() []error {
	var errs []error
	if c.SourceName == "" {
		errs = append(errs, c.errorf("SOURCE_NAME", "required"))
	}
	if c.SourceNamespace == "" {
		errs = append(errs, c.errorf("SOURCE_NAMESPACE", "required"))
	}
	if len(c.Topics) == 0 {
		errs = append(errs, c.errorf("TOPICS", "no topic given"))
	}
	for _, t := range c.Topics {
		if !validTopic(t) {
			errs = append(errs, c.errorf("TOPICS", "%q is not a Kafka topic name", t))
		}
	}
	if c.ConsumerGroup == "" {
		errs = append(errs, c.errorf("CONSUMER_GROUP", "required"))
	}
	if c.InitialOffset != Earliest && c.InitialOffset != Latest {
		errs = append(errs, c.errorf("INITIAL_OFFSET", "%q is not earliest or latest",
			c.InitialOffset))
	}
	switch c.KeyType {
	case kafkasource.KeyString, kafkasource.KeyInt, kafkasource.KeyFloat,
		kafkasource.KeyByteArray:
	default:
		errs = append(errs, c.errorf("KEY_TYPE", "%q is not string, int, float or byte-array",
			c.KeyType))
	}
	for name := range c.CEOverrides {
		if !extensionName.MatchString(name) {
			errs = append(errs, c.errorf("CE_OVERRIDES",
				"%q is not a CloudEvents extension name (1-20 of a-z, 0-9)", name))
		}
	}
	return errs
}

func (c Config) validateDelivery() []error {
	var errs []error
	if c.DeliveryRetry < 0 {
		errs = append(errs, c.errorf("DELIVERY_RETRY", "%d is negative", c.DeliveryRetry))
	}
	if c.DeliveryBackoffPolicy != delivery.BackoffLinear &&
		c.DeliveryBackoffPolicy != delivery.BackoffExponential {
		errs = append(errs, c.errorf("DELIVERY_BACKOFF_POLICY",
			"%q is not linear or exponential", c.DeliveryBackoffPolicy))
	}
	if c.DeliveryBackoffDelay < 0 {
		errs = append(errs, c.errorf("DELIVERY_BACKOFF_DELAY", "%v is negative",
			c.DeliveryBackoffDelay))
	}
	if c.DeliveryTimeout <= 0 {
		errs = append(errs, c.errorf("DELIVERY_TIMEOUT", "%v is not positive",
			c.DeliveryTimeout))
	}
	if c.DeadLetterTopic != "" && !validTopic(c.DeadLetterTopic) {
		errs = append(errs, c.errorf("DEAD_LETTER_TOPIC", "%q is not a Kafka topic name",
			c.DeadLetterTopic))
	}
	return errs
}

func (c Config) validateRuntime() []error {
	var errs []error
	if c.Ordering != Ordered && c.Ordering != Unordered {
		errs = append(errs, c.errorf("ORDERING", "%q is not ordered or unordered", c.Ordering))
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, c.errorf("MAX_IN_FLIGHT", "%d is not positive", c.MaxInFlight))
	}
	if c.StopTimeout <= 0 || time.Duration(c.StopTimeout) > maxStopTimeout {
		errs = append(errs, c.errorf("STOP_TIMEOUT", "%v is not within (0, %v]",
			c.StopTimeout, maxStopTimeout))
	}
	if c.CommitInterval <= 0 {
		errs = append(errs, c.errorf("COMMIT_INTERVAL", "%v is not positive",
			c.CommitInterval))
	}
	return errs
}

// Policy returns the delivery policy the DELIVERY_* settings describe.
func (c Config) Policy() delivery.Policy {
	return delivery.Policy{
		Retry:         c.DeliveryRetry,
		BackoffPolicy: c.DeliveryBackoffPolicy,
		BackoffDelay:  time.Duration(c.DeliveryBackoffDelay),
		Timeout:       time.Duration(c.DeliveryTimeout),
	}
}

// Options returns the conversion options for records read under c.
func (c Config) Options() kafkasource.Options {
	return kafkasource.Options{
		Namespace:  c.SourceNamespace,
		Name:       c.SourceName,
		KeyType:    c.KeyType,
		Extensions: c.CEOverrides,
	}
}

// errorf returns an error naming the variable as the user spelled it.
func (c Config) errorf(name, format string, args ...any) error {
	if c.prefix != "" {
		name = c.prefix + "_" + name
	}
	return fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...))
}

// topicName is Kafka's rule for topic names.
var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// validTopic reports whether Kafka accepts t as a topic name.
func validTopic(t string) bool {
	return topicName.MatchString(t) && t != "." && t != ".."
}
