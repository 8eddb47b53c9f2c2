package spillring

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Stats is a snapshot of a channel's counters. It is exact once the channel
// is quiet (no push or pop in progress); while items move, each field is
// exact for some recent moment, but the fields may be from different
// moments.
//
// Pushed, Popped and Evicted are derived from the ring's sequences, so
// keeping them costs the item path nothing: Pushed == Popped + Evicted +
// Len once quiet. Rejected and the wait counts are kept per handle, on the
// paths that reject or wait, never on the path that moves an item.
//
// Stats prints as one line (String) and marshals to JSON with snake_case
// keys, the names String prints: "pushed", "push_waits", and so on.
// snake_case because counters mostly end up beside other metrics (expvar,
// Prometheus, logs), whose names are snake_case by convention.
type Stats struct {
	Pushed   uint64 `json:"pushed"`   // items taken by pushes, from every producer
	Popped   uint64 `json:"popped"`   // items handed to the consumer
	Evicted  uint64 `json:"evicted"`  // items DropOldest evicted
	Rejected uint64 `json:"rejected"` // items Reject refused because the channel was full (Go producers)

	PushWaits uint64 `json:"push_waits"` // pushes that found the channel full and waited (Go producers)
	PopWaits  uint64 `json:"pop_waits"`  // pops that found the channel empty and waited

	Len       int  `json:"len"`       // items in the channel
	Cap       int  `json:"cap"`       // capacity
	Producers int  `json:"producers"` // open producer handles, Go and C
	Upgraded  bool `json:"upgraded"`  // MPSC mode: the Producer was cloned (or a C producer added)
}

// String formats s on one line, as key=value pairs with the JSON names:
//
//	pushed=10 popped=8 evicted=0 rejected=0 push_waits=1 pop_waits=3 len=2 cap=1024 producers=1 upgraded=false
func (s Stats) String() string {
	return fmt.Sprintf("pushed=%d popped=%d evicted=%d rejected=%d push_waits=%d pop_waits=%d len=%d cap=%d producers=%d upgraded=%t",
		s.Pushed, s.Popped, s.Evicted, s.Rejected, s.PushWaits, s.PopWaits, s.Len, s.Cap, s.Producers, s.Upgraded)
}

// chanStats is the part of Stats that is not in the ring's words: the
// counters of every producer handle ever made (a closed handle's counts
// still count), and the consumer's wait count.
type chanStats struct {
	mu       sync.Mutex
	handles  []*prodHandle
	popWaits atomic.Uint64
}

// prodHandle is one Producer handle's own state. Its counters are written
// only by the handle's owner, on slow paths, and read by Stats; each handle
// has its own, so no two producers share a counter.
type prodHandle struct {
	closed    atomic.Uint32
	headCache uint64 // MPSC mode: this handle's last view of head (owner only)
	rejected  atomic.Uint64
	waits     atomic.Uint64
}

func (s *chanStats) newHandle() *prodHandle {
	h := new(prodHandle)
	s.mu.Lock()
	s.handles = append(s.handles, h)
	s.mu.Unlock()
	return h
}

// snapshot fills Stats from the ring's words and the handles' counters.
func (r *ring[T]) snapshot() Stats {
	l := r.l
	evicted := atomic.LoadUint64(&l.evicted)
	head, tail := r.bounds()
	st := Stats{
		Pushed:    tail, // sequences start at 0
		Popped:    head - evicted,
		Evicted:   evicted,
		PopWaits:  r.stats.popWaits.Load(),
		Len:       r.length(),
		Cap:       int(r.cap),
		Producers: int(atomic.LoadUint32(&l.producers)),
		Upgraded:  r.multi(),
	}
	r.stats.mu.Lock()
	for _, h := range r.stats.handles {
		st.Rejected += h.rejected.Load()
		st.PushWaits += h.waits.Load()
	}
	r.stats.mu.Unlock()
	runtime.KeepAlive(r) // see ring.close
	return st
}
