package bench

import (
	"fmt"
	"runtime"

	"github.com/Workiva/go-datastructures/queue"
	"github.com/puzpuzpuz/xsync/v4"
	"github.com/spillring/spillring"
)

// mpCheck checks one MPSC round: producer i pushed seq+i, seq+i+P, ... so
// every item belongs to one producer, and each producer's items must arrive
// in increasing order, once each, k in all.
type mpCheck struct {
	seq  uint64
	k, p int
	last []uint64 // per producer: the last item seen, +1 (0: none yet)
	n    int
	bad  error
}

func newMPCheck(seq uint64, k, p int) *mpCheck {
	if p&(p-1) != 0 {
		panic("bench: producer count must be a power of two")
	}
	return &mpCheck{seq: seq, k: k, p: p, last: make([]uint64, p)}
}

func (c *mpCheck) see(v uint64) {
	c.n++
	d := v - c.seq
	if d >= uint64(c.k) {
		c.fail(fmt.Errorf("item %d is not from this round [%d, %d)", v, c.seq, c.seq+uint64(c.k)))
		return
	}
	id := d & uint64(c.p-1) // p is a power of two: no division per item
	if v+1 <= c.last[id] {
		c.fail(fmt.Errorf("producer %d: item %d after %d (duplicate or reordered)", id, v, c.last[id]-1))
	}
	c.last[id] = v + 1
}

func (c *mpCheck) fail(err error) {
	if c.bad == nil {
		c.bad = err
	}
}

func (c *mpCheck) err() error {
	if c.bad == nil && c.n != c.k {
		return fmt.Errorf("%d items, want %d", c.n, c.k)
	}
	return c.bad
}

// strided yields the items of one producer's share of a round.
func strided(start uint64, n, stride int, f func(uint64) bool) {
	for i := range n {
		if !f(start + uint64(i*stride)) {
			return
		}
	}
}

// mpChan: many goroutines send on one buffered channel.
func mpChan(sc Scenario) ops {
	ch := make(chan uint64, Capacity)
	o := ops{close: func() {}}
	for range sc.Producers {
		o.producers = append(o.producers, func(start uint64, n, stride int) {
			strided(start, n, stride, func(v uint64) bool { ch <- v; return true })
		})
	}
	o.consumeMP = func(k int, see func(uint64)) error {
		for range k {
			see(<-ch)
		}
		return nil
	}
	return o
}

// mpXsync: xsync's MPMCQueue, with the same retry policy as openXsync.
func mpXsync(sc Scenario) ops {
	q := xsync.NewMPMCQueue[uint64](Capacity)
	o := ops{close: func() {}}
	for range sc.Producers {
		o.producers = append(o.producers, func(start uint64, n, stride int) {
			strided(start, n, stride, func(v uint64) bool {
				for i := 1; !q.TryEnqueue(v); i++ {
					if i%xsyncSpins == 0 {
						runtime.Gosched()
					}
				}
				return true
			})
		})
	}
	o.consumeMP = func(k int, see func(uint64)) error {
		for range k {
			for i := 1; ; i++ {
				if v, ok := q.TryDequeue(); ok {
					see(v)
					break
				}
				if i%xsyncSpins == 0 {
					runtime.Gosched()
				}
			}
		}
		return nil
	}
	return o
}

// openWorkiva: Workiva's RingBuffer, whose blocking Put and Get take
// interface values (so each item is boxed). MPSC scenarios only.
func openWorkiva(sc Scenario) (ops, error) {
	if sc.Producers == 0 || sc.Spill {
		return ops{}, ErrUnsupported
	}
	q := queue.NewRingBuffer(Capacity)
	o := ops{close: q.Dispose}
	for range sc.Producers {
		o.producers = append(o.producers, func(start uint64, n, stride int) {
			strided(start, n, stride, func(v uint64) bool { return q.Put(v) == nil })
		})
	}
	o.consumeMP = func(k int, see func(uint64)) error {
		for range k {
			v, err := q.Get()
			if err != nil {
				return err
			}
			see(v.(uint64))
		}
		return nil
	}
	return o, nil
}

// mpSpillring clones the Producer once per extra producer (the channel
// upgrades to MPSC on the first clone); each producer goroutine pushes
// through its own handle. Batch scenarios use PushBatch and PopBatch.
// cloneHandles returns p and sc.Producers-1 clones of it (at least p), and
// sets o.close to close the consumer first, which releases every producer,
// blocked or not, then every handle.
func cloneHandles(sc Scenario, p *spillring.Producer[uint64], c *spillring.Consumer[uint64], o *ops) ([]*spillring.Producer[uint64], error) {
	handles := []*spillring.Producer[uint64]{p}
	for range sc.Producers - 1 {
		q, err := p.Clone()
		if err != nil {
			return nil, err
		}
		handles = append(handles, q)
	}
	o.close = func() {
		c.Close()
		for _, h := range handles {
			h.Close()
		}
	}
	return handles, nil
}

func mpSpillring(sc Scenario, p *spillring.Producer[uint64], c *spillring.Consumer[uint64], o ops) (ops, error) {
	handles, err := cloneHandles(sc, p, c, &o)
	if err != nil {
		return ops{}, err
	}
	for _, h := range handles {
		if !sc.Batch {
			o.producers = append(o.producers, func(start uint64, n, stride int) {
				strided(start, n, stride, func(v uint64) bool { return h.Push(v) == nil })
			})
			continue
		}
		in := make([]uint64, 0, Batch)
		o.producers = append(o.producers, func(start uint64, n, stride int) {
			in = in[:0]
			ok := true
			strided(start, n, stride, func(v uint64) bool {
				if in = append(in, v); len(in) == Batch {
					_, err := h.PushBatch(in)
					ok, in = err == nil, in[:0]
				}
				return ok
			})
			if ok && len(in) > 0 {
				h.PushBatch(in)
			}
		})
	}
	out := make([]uint64, Batch)
	o.consumeMP = func(k int, see func(uint64)) error {
		for got := 0; got < k; {
			if !sc.Batch {
				v, err := c.Pop()
				if err != nil {
					return err
				}
				see(v)
				got++
				continue
			}
			n, err := c.PopBatch(out[:min(Batch, k-got)])
			if err != nil {
				return err
			}
			for _, v := range out[:n] {
				see(v)
			}
			got += n
		}
		return nil
	}
	return o, nil
}
