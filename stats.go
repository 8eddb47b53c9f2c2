package spillring

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
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

	// Padded counts claimed slots that multi-producer commits gave back
	// as padding (Producer.Commit of fewer than claimed, or Abort, while a
	// later claim existed): sequences the consumer steps over. They are
	// in neither Pushed nor Popped.
	Padded uint64 `json:"padded"`
	// Claims is the number of claims of Go producers pending now in
	// multi-producer mode, where a claim holds back every item claimed
	// after it until it is committed or aborted, and OldestClaim how long
	// the oldest of them has been pending, timed from the first Stats call
	// (of any handle) that saw it: a claim reads no clock. A consumer that
	// waits while OldestClaim grows from one Stats call to the next is
	// waiting for the owner of a claim (a goroutine that died holding
	// one, say). A single producer's claim holds back no other producer
	// and is not counted: keeping it out keeps that claim's path free of
	// atomic stores.
	Claims      int           `json:"claims"`
	OldestClaim time.Duration `json:"oldest_claim_ns"`
}

// String formats s on one line, as key=value pairs with the JSON names:
//
//	pushed=10 popped=8 evicted=0 rejected=0 push_waits=1 pop_waits=3 len=2 cap=1024 producers=1 upgraded=false padded=0 claims=0 oldest_claim_ns=0
func (s Stats) String() string {
	return fmt.Sprintf("pushed=%d popped=%d evicted=%d rejected=%d push_waits=%d pop_waits=%d len=%d cap=%d producers=%d upgraded=%t padded=%d claims=%d oldest_claim_ns=%d",
		s.Pushed, s.Popped, s.Evicted, s.Rejected, s.PushWaits, s.PopWaits, s.Len, s.Cap, s.Producers, s.Upgraded,
		s.Padded, s.Claims, int64(s.OldestClaim))
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

	// The pending claim (owner only): [claimSeq, claimSeq+claimN), none
	// if claimN is 0. claims counts the handle's claims, and pending is
	// the number of the pending one (0: none), for Stats, which times it
	// from the first snapshot that saw it (seen, seenAt; under chanStats.mu):
	// reading the clock on every claim would cost as much as the claim.
	claimSeq  uint64
	claimN    uint64
	claimErr  error  // the evict spout's, from a DropOldest claim: Commit returns it
	knownHead uint64 // single producer: headCache while the claim hides it (K1)
	claims    uint64
	pending   atomic.Uint64
	seen      uint64
	seenAt    time.Time
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
	skipped := atomic.LoadUint64(&l.skipped) // before padded: never ahead of it
	padded := atomic.LoadUint64(&l.padded)
	held := r.held()
	head, tail := r.bounds()
	st := Stats{
		Pushed:    tail - padded, // sequences start at 0
		Popped:    head - evicted - skipped - held,
		Padded:    padded,
		Evicted:   evicted,
		PopWaits:  r.stats.popWaits.Load(),
		Len:       r.length(),
		Cap:       int(r.cap),
		Producers: int(atomic.LoadUint32(&l.producers)),
		Upgraded:  r.multi(),
	}
	r.stats.mu.Lock()
	now := time.Now()
	for _, h := range r.stats.handles {
		st.Rejected += h.rejected.Load()
		st.PushWaits += h.waits.Load()
		if n := h.pending.Load(); n != 0 {
			st.Claims++
			if n != h.seen {
				h.seen, h.seenAt = n, now
			}
			st.OldestClaim = max(st.OldestClaim, now.Sub(h.seenAt))
		}
	}
	r.stats.mu.Unlock()
	runtime.KeepAlive(r) // see ring.close
	return st
}
