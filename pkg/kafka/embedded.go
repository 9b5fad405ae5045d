package kafka

import (
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is an in-process Kafka broker (kfake) for development and tests.
// It speaks the real Kafka protocol but keeps everything in memory; it is not
// a production broker.
type Embedded struct {
	cluster *kfake.Cluster
}

// EmbeddedOptions configures [StartEmbedded].
type EmbeddedOptions struct {
	// Port is the port to listen on; 0 picks a free one.
	Port int
	// Topics maps each topic to seed to its partition count. Other topics
	// are created on first use with one partition.
	Topics map[string]int32
	// MaxMessageBytes is the broker's message.max.bytes; 0 keeps kfake's
	// default of 1048588, which is Kafka's.
	MaxMessageBytes int
}

// StartEmbedded starts a single-node broker on 127.0.0.1.
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(o.Port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(1),
	}
	for topic, n := range o.Topics {
		opts = append(opts, kfake.SeedTopics(n, topic))
	}
	if o.MaxMessageBytes > 0 {
		opts = append(opts, kfake.BrokerConfigs(map[string]string{
			"message.max.bytes": strconv.Itoa(o.MaxMessageBytes),
		}))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: start embedded broker on port %d: %w", o.Port, err)
	}
	return &Embedded{cluster: c}, nil
}

// Addrs returns the broker's host:port addresses.
func (e *Embedded) Addrs() []string { return e.cluster.ListenAddrs() }

// Cluster returns the underlying kfake cluster, for tests that inject faults.
func (e *Embedded) Cluster() *kfake.Cluster { return e.cluster }

// Close stops the broker and drops its data.
func (e *Embedded) Close() { e.cluster.Close() }
