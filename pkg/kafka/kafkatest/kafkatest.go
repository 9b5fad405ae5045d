// Package kafkatest gives tests a Kafka to run against: the embedded broker
// by default, or the cluster named by KAFKA_BROKERS, so one test suite runs
// unchanged against both. Every test gets topics of its own, so tests never
// see each other's records on a shared real broker.
package kafkatest

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"function/pkg/kafka"
)

// Real reports whether KAFKA_BROKERS names a real cluster for the tests.
func Real() bool { return os.Getenv("KAFKA_BROKERS") != "" }

// Config returns connection settings for tb: KAFKA_BROKERS when it is set,
// else a fresh embedded broker stopped when tb ends.
func Config(tb testing.TB) kafka.Config {
	tb.Helper()

	// The KAFKA_* settings apply as they do to any client of the project.
	c, err := kafka.LoadConfig()
	require.NoError(tb, err, "kafka settings")
	c.ClientID = "kafkatest"
	if Real() {
		return c
	}

	e, err := kafka.StartEmbedded(kafka.EmbeddedOptions{})
	require.NoError(tb, err, "start embedded broker")
	tb.Cleanup(e.Close)
	c.Brokers = e.Addrs()
	return c
}

var topicSeq atomic.Int64

// NewTopic creates a topic with a name unique to this process and returns
// the name. The topic is deleted when tb ends.
func NewTopic(tb testing.TB, c kafka.Config, partitions int32) string {
	tb.Helper()

	name := fmt.Sprintf("t-%s-%d-%d", sanitize(tb.Name()), time.Now().UnixNano(),
		topicSeq.Add(1))
	admin := Admin(tb, c)
	err := admin.CreateTopic(name, &sarama.TopicDetail{
		NumPartitions:     partitions,
		ReplicationFactor: 1,
	}, false)
	require.NoError(tb, err, "create topic %s", name)
	waitForTopic(tb, admin, name, partitions)
	tb.Cleanup(func() { _ = admin.DeleteTopic(name) })
	return name
}

// Admin returns a cluster admin closed when tb ends.
func Admin(tb testing.TB, c kafka.Config) sarama.ClusterAdmin {
	tb.Helper()

	sc, err := c.Sarama()
	require.NoError(tb, err)
	admin, err := sarama.NewClusterAdmin(c.Brokers, sc)
	require.NoError(tb, err, "connect admin to %v", c.Brokers)
	tb.Cleanup(func() { _ = admin.Close() })
	return admin
}

// waitForTopic waits until every partition of a new topic has a leader: a
// real broker answers CreateTopics before its metadata is everywhere.
func waitForTopic(tb testing.TB, admin sarama.ClusterAdmin, name string, partitions int32) {
	tb.Helper()

	require.Eventually(tb, func() bool {
		md, err := admin.DescribeTopics([]string{name})
		if err != nil || len(md) != 1 || md[0].Err != sarama.ErrNoError {
			return false
		}
		if int32(len(md[0].Partitions)) != partitions {
			return false
		}
		for _, p := range md[0].Partitions {
			if p.Leader < 0 {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "topic %s never became ready", name)
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() > 80 {
		return b.String()[:80]
	}
	return b.String()
}
