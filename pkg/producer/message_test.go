package producer

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/events"
)

// TestCloudEvent_EncodesLikeSDKEvent pins down that the producer's record is
// byte for byte what kafka_sarama writes for an SDK event with the same
// attributes, and that the SDK reads it back as that event.
func TestCloudEvent_EncodesLikeSDKEvent(t *testing.T) {
	enc, err := newEncoder[events.UserEvent](validConfig(), nil)
	require.NoError(t, err)
	enc.now = fixedClock
	ev := user("user-00", 7)
	pend := newPending()
	got, err := enc.encode(events.TypeUserCreated, ev, pend)
	require.NoError(t, err)

	want := sdkRecord(t, pend.receipt.ID, ev)
	assert.Equal(t, want.Headers, got.Headers)
	assert.Equal(t, want.Key, got.Key)
	assert.Equal(t, want.Value, got.Value)

	back, err := binding.ToEvent(context.Background(), kafka_sarama.NewMessageFromConsumerMessage(
		&sarama.ConsumerMessage{Headers: consumerHeaders(got), Value: encoded(t, got.Value)}))
	require.NoError(t, err)
	require.NoError(t, back.Validate())
	assert.Equal(t, pend.receipt.ID, back.ID())
	assert.Equal(t, fixedClock(), back.Time())
	assert.Equal(t, "user-00", back.Extensions()[partitionKeyExtension])
	var data events.UserEvent
	require.NoError(t, back.DataAs(&data))
	assert.Equal(t, ev, data)
}

// sdkRecord encodes ev the way kafka_sarama's documentation does: an SDK
// event, the key mapped from partitionkey.
func sdkRecord(t *testing.T, id string, ev events.UserEvent) *sarama.ProducerMessage {
	t.Helper()

	ce := event.New()
	ce.SetID(id)
	ce.SetSource(testSource)
	ce.SetType(events.TypeUserCreated)
	ce.SetSubject(ev.ID)
	ce.SetTime(fixedClock())
	ce.SetExtension(partitionKeyExtension, ev.ID)
	require.NoError(t, ce.SetData(event.ApplicationJSON, ev))

	msg := &sarama.ProducerMessage{Topic: "users"}
	require.NoError(t, kafka_sarama.WriteProducerMessage(context.Background(),
		binding.ToMessage(&ce), msg))
	return msg
}

func consumerHeaders(msg *sarama.ProducerMessage) []*sarama.RecordHeader {
	out := make([]*sarama.RecordHeader, len(msg.Headers))
	for i := range msg.Headers {
		out[i] = &msg.Headers[i]
	}
	return out
}

func encoded(t *testing.T, e sarama.Encoder) []byte {
	t.Helper()

	b, err := e.Encode()
	require.NoError(t, err)
	return b
}

// TestEncode_RecordsKeepTheirOwnData pins down that a record's value does not
// share the reused JSON buffer: encoding the next event leaves it unchanged.
func TestEncode_RecordsKeepTheirOwnData(t *testing.T) {
	enc, err := newEncoder[events.UserEvent](validConfig(), nil)
	require.NoError(t, err)
	first, second := user("user-00", 1), user("user-01", 2)
	want, err := json.Marshal(first)
	require.NoError(t, err)

	msg, err := enc.encode(events.TypeUserCreated, first, newPending())
	require.NoError(t, err)
	for range 3 {
		_, err = enc.encode(events.TypeUserUpdated, second, newPending())
		require.NoError(t, err)
	}

	assert.Equal(t, want, encoded(t, msg.Value))
}
