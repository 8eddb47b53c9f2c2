//go:build race

package spillring

import "sync/atomic"

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
