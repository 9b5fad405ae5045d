package producer

import (
	"sync"
	"sync/atomic"
)

// States of a pending send. A record is handed to sarama waiting; exactly
// one of the delivery loop (delivered) and the sender giving up (abandoned)
// moves it on, so an outcome is either received or logged, never both.
const (
	waiting int32 = iota
	delivered
	abandoned
)

// delivery is sarama's verdict on one record.
type delivery struct {
	partition int32
	offset    int64
	err       error
}

// pending correlates a record handed to sarama (as its Metadata) with the
// send waiting for it.
type pending struct {
	state   atomic.Int32
	done    chan delivery
	receipt Receipt
}

var pendingPool = sync.Pool{
	New: func() any { return &pending{done: make(chan delivery, 1)} },
}

// newPending returns a pending send in the waiting state.
func newPending() *pending {
	p := pendingPool.Get().(*pending)
	p.state.Store(waiting)
	p.receipt = Receipt{}
	return p
}

// deliver passes d to the waiting sender and reports whether one was still
// waiting. done is buffered, so deliver never blocks.
func (p *pending) deliver(d delivery) bool {
	if !p.state.CompareAndSwap(waiting, delivered) {
		return false
	}
	p.done <- d
	return true
}

// abandon marks the sender as gone and reports whether it left before an
// outcome was delivered.
func (p *pending) abandon() bool {
	return p.state.CompareAndSwap(waiting, abandoned)
}

// release returns p to the pool once its outcome has been received, or when
// it was never handed to sarama.
func (p *pending) release() {
	pendingPool.Put(p)
}
