package realbroker

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/events"
	"function/pkg/kafka"
	"function/pkg/kafka/kafkatest"
	"function/pkg/producer"
)

// topicMaxBytes is the max.message.bytes of the topics these tests create,
// small so that records near it are cheap.
const topicMaxBytes = 4096

// batchHeader is what the broker counts on top of the records of a batch:
// the v2 record batch header.
const batchHeader = 61

// TestProducerLimit_BelowTopicLimitIsAcceptedByBroker pins the documented
// setting PRODUCER_MAX_MESSAGE_BYTES = max.message.bytes - 61: every event
// the producer's check lets through, up to the limit itself and in batches,
// is accepted by the broker, and every other is refused before sending with
// an error naming the limit.
func TestProducerLimit_BelowTopicLimitIsAcceptedByBroker(t *testing.T) {
	cfg := realConfig(t)
	topic := limitedTopic(t, cfg)
	limit := topicMaxBytes - batchHeader
	p := newProducer(t, cfg, topic, limit)

	// Names around the length that makes a record exactly the limit: the
	// record's size also moves with the width of ce_time, a few bytes.
	n0 := nameLengthAtLimit(t, p, limit)
	accepted := 0
	for n := n0 - 16; n <= n0+16; n++ {
		_, err := p.Send(t.Context(), events.TypeUserCreated, namedUser("edge", n))
		if tl, ok := errors.AsType[*producer.TooLargeError](err); ok {
			assert.Greater(t, tl.Size, limit, "refused at %d bytes, within the limit", tl.Size)
			assert.Contains(t, err.Error(), strconv.Itoa(limit)+"-byte limit")
			continue
		}
		require.NoError(t, err, "name of %d bytes passed our check: the broker must take it", n)
		accepted++
	}
	require.NotZero(t, accepted, "no event near the limit passed the check")

	largest := 0
	for _, r := range readRecords(t, cfg, topic, accepted) {
		largest = max(largest, recordSize(r))
	}
	assert.GreaterOrEqual(t, largest, limit-12, "the largest accepted record should be at "+
		"the limit, so that the boundary was tested")
	assert.LessOrEqual(t, largest, limit)

	// A third of the limit each: sarama batches them, and a batch must
	// never outgrow the topic's limit either.
	evs := make([]events.UserEvent, 12)
	for i := range evs {
		evs[i] = namedUser("batch", limit/3-400)
	}
	for i, res := range p.SendAll(t.Context(), events.TypeUserUpdated, evs) {
		require.NoError(t, res.Err, "batched event %d", i)
	}
}

// TestProducerLimit_AboveTopicLimitIsRefusedByBroker pins what a
// misconfigured producer (limit above the topic's max.message.bytes) gets
// for an event between the two: the broker's MESSAGE_TOO_LARGE, in an error
// naming the topic, nothing written, and a producer that still works.
func TestProducerLimit_AboveTopicLimitIsRefusedByBroker(t *testing.T) {
	cfg := realConfig(t)
	topic := limitedTopic(t, cfg)
	p := newProducer(t, cfg, topic, producer.DefaultMaxMessageBytes)

	_, err := p.Send(t.Context(), events.TypeUserCreated, namedUser("too-big", 2*topicMaxBytes))
	require.Error(t, err, "an event twice the topic's max.message.bytes was accepted")
	assert.ErrorIs(t, err, sarama.ErrMessageSizeTooLarge)
	assert.NotErrorIs(t, err, producer.ErrTooLarge, "the broker, not our check, refused it")
	assert.Contains(t, err.Error(), "topic "+topic)
	assert.Zero(t, endOffsets(t, cfg, topic), "records written to %s", topic)

	_, err = p.Send(t.Context(), events.TypeUserCreated, user("small-after-refusal"))
	require.NoError(t, err, "a small event after the broker refused a large one")
}

// limitedTopic creates a one-partition topic whose max.message.bytes is
// topicMaxBytes, and waits until the broker applies it.
func limitedTopic(t *testing.T, cfg kafka.Config) string {
	t.Helper()

	topic := kafkatest.NewTopic(t, cfg, 1)
	admin := kafkatest.Admin(t, cfg)
	v := strconv.Itoa(topicMaxBytes)
	err := admin.AlterConfig(sarama.TopicResource, topic,
		map[string]*string{"max.message.bytes": &v}, false)
	require.NoError(t, err, "set max.message.bytes of %s", topic)

	require.Eventually(t, func() bool {
		entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource,
			Name: topic, ConfigNames: []string{"max.message.bytes"}})
		return err == nil && len(entries) == 1 && entries[0].Value == v
	}, waitFor, 50*time.Millisecond, "max.message.bytes of %s never became %s", topic, v)
	return topic
}

// nameLengthAtLimit returns the name length that makes an event's record
// about limit bytes, from the size the producer reports for a larger one.
func nameLengthAtLimit(
	t *testing.T,
	p *producer.Producer[events.UserEvent],
	limit int,
) int {
	t.Helper()

	_, err := p.Send(t.Context(), events.TypeUserCreated, namedUser("probe", limit))
	tl, ok := errors.AsType[*producer.TooLargeError](err)
	require.True(t, ok, "a %d-byte name should be too large, got %v", limit, err)
	return limit - (tl.Size - limit)
}

// namedUser returns a user event whose name is n bytes long.
func namedUser(id string, n int) events.UserEvent {
	u := user(id)
	u.Name = strings.Repeat("n", n)
	return u
}

// recordSize is a record's size as sarama counts it for its own limit and
// for our producer's check.
func recordSize(r record) int {
	msg := &sarama.ProducerMessage{Key: sarama.StringEncoder(r.Key),
		Value: sarama.ByteEncoder(r.Value)}
	for k, v := range r.Headers {
		msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
	}
	return msg.ByteSize(2)
}
