package realbroker

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"function/pkg/events"
	"function/pkg/kafka"
	"function/pkg/kafka/kafkatest"
	"function/pkg/producer"
)

// parityKeys is how many keys each client writes.
const parityKeys = 1000

// parityPartitions is the partition count of the topics compared, that of
// the users topic.
const parityPartitions = 6

// TestPartitioner_MatchesJavaClientAndKcat pins that the same 1,000 keys land
// on the same partitions whether our producer, Kafka's Java console producer
// or kcat (partitioner=murmur2_random) writes them.
func TestPartitioner_MatchesJavaClientAndKcat(t *testing.T) {
	cfg := realConfig(t)
	ctl := kafkaCtl(t)
	kcat := kcatPath(t)
	keys := mixedKeys(parityKeys)
	lines := keyedLines(keys)

	ours := kafkatest.NewTopic(t, cfg, parityPartitions)
	java := kafkatest.NewTopic(t, cfg, parityPartitions)
	librdkafka := kafkatest.NewTopic(t, cfg, parityPartitions)

	produceOurs(t, cfg, ours, keys)
	mustCommand(t, lines, ctl, "run", "org.apache.kafka.tools.ConsoleProducer",
		"--bootstrap-server", strings.Join(cfg.Brokers, ","), "--topic", java,
		"--reader-property", "parse.key=true", "--reader-property", "key.separator=\t",
		"--command-property", "acks=all")
	mustCommand(t, lines, kcat, "-P", "-b", strings.Join(cfg.Brokers, ","), "-t", librdkafka,
		"-K", "\t", "-X", "partitioner=murmur2_random")

	want := partitionOf(t, cfg, ours)
	require.Len(t, want, parityKeys, "distinct keys read back from our producer's topic")
	assert.Len(t, partitionsUsed(want), parityPartitions,
		"1,000 keys should reach every partition")
	for name, topic := range map[string]string{"java": java, "kcat": librdkafka} {
		bad := mismatches(want, partitionOf(t, cfg, topic))
		assert.Empty(t, bad, "%s put %d of %d keys elsewhere than ours (key: ours, theirs); "+
			"the first: %v", name, len(bad), parityKeys, bad[:min(len(bad), 10)])
	}
}

// mixedKeys returns n distinct keys: the murmur2 vectors of the notes, then
// user-NNNN names, UUIDs and non-ASCII names, so the hash sees short, long
// and multi-byte UTF-8 keys.
func mixedKeys(n int) []string {
	keys := []string{"abc", "a-little-bit-long-string", "user-00", "user-01",
		"3f2a9c1e-7b4d-4e8a-9c1f-2d5e6f7a8b9c"}
	for i := 0; len(keys) < n; i++ {
		switch i % 3 {
		case 0:
			keys = append(keys, fmt.Sprintf("user-%04d", i))
		case 1:
			keys = append(keys, uuid.NewSHA1(uuid.NameSpaceURL, fmt.Appendf(nil, "%d", i)).String())
		default:
			keys = append(keys, fmt.Sprintf("usér-%d-日本", i))
		}
	}
	return keys
}

// keyedLines renders keys as console-producer input: key, tab, value.
func keyedLines(keys []string) string {
	var b strings.Builder
	for i, k := range keys {
		fmt.Fprintf(&b, "%s\t{\"n\":%d}\n", k, i)
	}
	return b.String()
}

// produceOurs writes one user event per key with our producer.
func produceOurs(t *testing.T, cfg kafka.Config, topic string, keys []string) {
	t.Helper()

	p := newProducer(t, cfg, topic, producer.DefaultMaxMessageBytes)
	evs := make([]events.UserEvent, len(keys))
	for i, k := range keys {
		evs[i] = user(k)
	}
	for i, res := range p.SendAll(t.Context(), events.TypeUserCreated, evs) {
		require.NoError(t, res.Err, "send key %q", keys[i])
	}
}

// partitionOf reads topic back and maps each key to its partition.
func partitionOf(t *testing.T, cfg kafka.Config, topic string) map[string]int32 {
	t.Helper()

	m := map[string]int32{}
	for _, r := range readRecords(t, cfg, topic, parityKeys) {
		m[r.Key] = r.Partition
	}
	return m
}

func partitionsUsed(m map[string]int32) map[int32]bool {
	used := map[int32]bool{}
	for _, p := range m {
		used[p] = true
	}
	return used
}

// mismatches lists, sorted, the keys of want that got misses or places
// elsewhere.
func mismatches(want, got map[string]int32) []string {
	var out []string
	for k, p := range want {
		q, ok := got[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: %d, missing", k, p))
		case q != p:
			out = append(out, fmt.Sprintf("%s: %d, %d", k, p, q))
		}
	}
	slices.Sort(out)
	return out
}
