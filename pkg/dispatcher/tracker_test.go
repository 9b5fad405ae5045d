package dispatcher

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTracker_SkipsOffsetGaps pins that gaps left by compaction or
// transaction markers neither stall the finished prefix nor are skipped
// past an unfinished record.
func TestTracker_SkipsOffsetGaps(t *testing.T) {
	var tr tracker
	seqs := []uint64{tr.add(5), tr.add(8), tr.add(9), tr.add(12)}

	_, moved := tr.finish(seqs[1])
	assert.False(t, moved, "offset 8 finished before 5")

	next, moved := tr.finish(seqs[0])
	assert.True(t, moved)
	assert.Equal(t, int64(9), next, "5 and 8 finished: commit up to 9")

	_, moved = tr.finish(seqs[3])
	assert.False(t, moved, "offset 12 finished before 9")

	next, moved = tr.finish(seqs[2])
	assert.True(t, moved)
	assert.Equal(t, int64(13), next, "all finished: commit after 12")
}

// TestTracker_RandomFinishOrder pins, for random completion orders, that
// the offset to commit never passes an unfinished record and ends after
// the last one.
func TestTracker_RandomFinishOrder(t *testing.T) {
	for round := range 50 {
		var tr tracker
		offsets := make([]int64, 40)
		seqs := make([]uint64, len(offsets))
		next := int64(100)
		for i := range offsets {
			next += 1 + rand.Int64N(3)
			offsets[i] = next
			seqs[i] = tr.add(next)
		}

		finished := make([]bool, len(offsets))
		var last int64
		for _, i := range rand.Perm(len(offsets)) {
			finished[i] = true
			got, moved := tr.finish(seqs[i])
			if !moved {
				continue
			}
			require.Greater(t, got, last, "round %d: commit went backwards", round)
			last = got
			for j, o := range offsets {
				if o < got {
					require.True(t, finished[j], "round %d: commit %d passes unfinished %d",
						round, got, o)
				}
			}
		}
		assert.Equal(t, offsets[len(offsets)-1]+1, last, "round %d: final commit", round)
	}
}
