package bench

import (
	"fmt"

	"github.com/spillring/spillring"
)

// The SpillRing scenarios: one goroutine pushes into a full ring, so every
// push spills the oldest item.
//   - spill-push: into the default spout, which drops what it is given.
//   - spout-batch: PushSlice of Batch items at a time, spilling through two
//     combinators, Counting then BatchBorrowed(64), into a Drop spout; the
//     per-item cost of forwarding batches as batches.
//
// go-slice is the baseline: a plain Go slice ring that evicts by hand.

// spillBatch is the size of the batches the spout-batch chain forms.
const spillBatch = 64

func openSpillRing(sc Scenario, backend spillring.Backend) (ops, error) {
	cfg := spillring.SpillConfig[uint64]{Capacity: Capacity, Backend: backend}
	var counting *spillring.CountingSpout[uint64]
	if sc.SpoutChain {
		batch, err := spillring.BatchBorrowed[uint64](spillBatch, spillring.Drop[[]uint64]())
		if err != nil {
			return ops{}, err
		}
		if counting, err = spillring.Counting[uint64](batch); err != nil {
			return ops{}, err
		}
		cfg.Spout = counting
	}
	r, err := spillring.NewSpillRing(cfg)
	if err != nil {
		return ops{}, err
	}
	for i := range uint64(Capacity) { // full from the start
		if err := r.Push(i); err != nil {
			return ops{}, err
		}
	}
	in := make([]uint64, Batch)
	o := ops{close: func() {}}
	o.single = func(seq uint64, k int) error {
		before := r.Spilled()
		if !sc.SpoutChain {
			for v := seq; v < seq+uint64(k); v++ {
				if err := r.Push(v); err != nil {
					return err
				}
			}
		} else {
			for off := 0; off < k; off += Batch {
				vs := in[:min(Batch, k-off)]
				for j := range vs {
					vs[j] = seq + uint64(off+j)
				}
				if _, err := r.PushSlice(vs); err != nil {
					return err
				}
			}
		}
		return spillCheck(r.Spilled()-before, k, r.PeekBack, seq)
	}
	if counting != nil {
		o.close = func() { _ = r.Flush() } // into a Drop spout: cannot fail
		inner := o.single
		o.single = func(seq uint64, k int) error {
			items := counting.Stats().Items
			if err := inner(seq, k); err != nil {
				return err
			}
			if got := counting.Stats().Items - items; got != uint64(k) {
				return fmt.Errorf("the spout chain took %d items, want %d", got, k)
			}
			return nil
		}
	}
	return o, nil
}

// spillCheck checks a round of k pushes into a full ring: k items spilled,
// and the newest item is the round's last.
func spillCheck(spilled uint64, k int, back func() (uint64, bool), seq uint64) error {
	if spilled != uint64(k) {
		return fmt.Errorf("%d items spilled, want %d", spilled, k)
	}
	if v, ok := back(); !ok || v != seq+uint64(k)-1 {
		return fmt.Errorf("newest item %d, want %d", v, seq+uint64(k)-1)
	}
	return nil
}

// sliceRing is the go-slice baseline: a power-of-two slice with free-running
// indexes; a push into a full ring hands the oldest item to evict first.
type sliceRing struct {
	buf        []uint64
	mask       uint64
	head, tail uint64
	evicted    uint64
}

func (s *sliceRing) push(v uint64, evict func(uint64)) {
	if s.tail-s.head == uint64(len(s.buf)) {
		evict(s.buf[s.head&s.mask])
		s.head++
		s.evicted++
	}
	s.buf[s.tail&s.mask] = v
	s.tail++
}

func (s *sliceRing) back() (uint64, bool) {
	return s.buf[(s.tail-1)&s.mask], s.tail != s.head
}

func openGoSlice(sc Scenario) (ops, error) {
	if !sc.Spill {
		return ops{}, ErrUnsupported
	}
	s := &sliceRing{buf: make([]uint64, Capacity), mask: Capacity - 1}
	drop := func(uint64) {}
	for i := range uint64(Capacity) {
		s.push(i, drop)
	}
	// spout-batch: evicted items gathered into batches of spillBatch for a
	// sink, as the spout chain does, with a count of the items forwarded.
	batch := make([]uint64, 0, spillBatch)
	var forwarded uint64
	sink := func(b []uint64) { forwarded += uint64(len(b)) }
	gather := func(v uint64) {
		if batch = append(batch, v); len(batch) == spillBatch {
			sink(batch)
			batch = batch[:0]
		}
	}
	return ops{
		single: func(seq uint64, k int) error {
			before := s.evicted
			gathered := forwarded + uint64(len(batch))
			evict := drop
			if sc.SpoutChain {
				evict = gather
			}
			for v := seq; v < seq+uint64(k); v++ {
				s.push(v, evict)
			}
			if got := forwarded + uint64(len(batch)) - gathered; sc.SpoutChain && got != uint64(k) {
				return fmt.Errorf("the batch sink got %d items, want %d", got, k)
			}
			return spillCheck(s.evicted-before, k, s.back, seq)
		},
		close: func() { sink(batch) },
	}, nil
}
