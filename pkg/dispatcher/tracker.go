package dispatcher

import "sync"

// tracker follows one partition's in-flight records in the order they were
// fetched and reports how far the contiguous prefix of finished records
// reaches. Offsets are taken as fetched, never computed, so gaps left by
// compaction or transaction markers neither stall nor skip anything. The
// zero value is ready to use.
type tracker struct {
	mu sync.Mutex
	// records holds the records from the oldest unfinished one on, in fetch
	// order; records[i] has sequence number base+i.
	records []trackedRecord
	base    uint64
}

type trackedRecord struct {
	offset   int64
	finished bool
}

// add registers a fetched record and returns its sequence number.
func (t *tracker) add(offset int64) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()

	t.records = append(t.records, trackedRecord{offset: offset})
	return t.base + uint64(len(t.records)-1)
}

// finish records that the record with sequence number seq reached its final
// outcome. When that extends the finished prefix, it returns the offset to
// commit (the one after the prefix's last record) and true.
func (t *tracker) finish(seq uint64) (next int64, moved bool) {
	t.mu.Lock()
	defer t.mu.Unlock()

	t.records[seq-t.base].finished = true
	n := 0
	for n < len(t.records) && t.records[n].finished {
		n++
	}
	if n == 0 {
		return 0, false
	}

	next = t.records[n-1].offset + 1
	// Shift rather than reslice, so the backing array is reused and the
	// tracker's memory stays bounded by the records in flight.
	t.records = t.records[:copy(t.records, t.records[n:])]
	t.base += uint64(n)
	return next, true
}
