//go:build race

package spillring

import (
	"fmt"
	"sync/atomic"
)

// raceShadow gives the race detector the happens-before edges of the ring
// protocol. The detector does not see atomics on C memory (they run inside
// an ignore-sync region), so a user who writes Go memory, pushes an index and reads that memory after the pop
// would get a false report. Each release is mirrored by an atomic on Go
// memory done *before* the real store, and each acquire by one done *after*
// the real load, so the shadow edge exists whenever the real one does.
// The Go backend does not need it; it costs nothing outside race builds.
type raceShadow struct {
	tail uint64 // producer -> consumer (R1/A1)
	head uint64 // consumer -> producer (R2/A2, R3/A3)
}

func (s *raceShadow) releaseTail() { atomic.AddUint64(&s.tail, 1) }
func (s *raceShadow) acquireTail() { atomic.LoadUint64(&s.tail) }
func (s *raceShadow) releaseHead() { atomic.AddUint64(&s.head, 1) }
func (s *raceShadow) acquireHead() { atomic.LoadUint64(&s.head) }

// raceEnabled turns on the checks that only race builds make.
const raceEnabled = true

// owner detects overlapping calls on one handle, which the handles' one-owner
// rule forbids: in race builds every owner-only method of a Producer or
// Consumer marks the handle busy for its duration, and a second call that
// finds it busy panics with ErrConcurrentUse. (The race detector itself does
// not see this misuse on the C backend: the handle's words are C memory.)
type owner struct{ busy atomic.Int32 }

func (o *owner) enter(what string) {
	if !o.busy.CompareAndSwap(0, 1) {
		panic(fmt.Errorf("%w: two goroutines in %s methods at once", ErrConcurrentUse, what))
	}
}

func (o *owner) leave() { o.busy.Store(0) }
