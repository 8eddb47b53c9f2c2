package spillring

import (
	"fmt"
	"sync"
)

// Ordered completion: an ordered pool (PoolConfig.OrderWindow) hands its
// items on round by round, in dispatch order, whatever order the workers
// finish in. The protocol is csrc/pool.h's (Ordering, O1-O3); the
// functions here are the twins of sr_pool_round and sr_pool_round_release,
// on the same words (poolWorkerLayout's line 0 and the counts).

// orderCursor is a collector's place in the rounds: the round it hands on
// and the index, in its list of workers, of the next worker of that round.
type orderCursor struct {
	mu    sync.Mutex
	round uint64
	next  int
}

// countRound is O1: what round seq's publish put into worker i's handoff
// slot, written before the H1 store (or D1's, when it published nothing).
func (p *WorkerPool[T, A]) countRound(i int, seq, n uint64) {
	if p.counts != nil {
		p.counts[i][seq&p.mask].Store(n)
	}
}

// checkWindow is O3, the dispatcher's: the next round may start only if no
// worker's oldest round not yet handed on is OrderWindow rounds behind it.
// It re-reads the workers' emit only when the minimum it read before says
// no.
func (p *WorkerPool[T, A]) checkWindow() error {
	if p.window == 0 {
		return nil
	}
	r := p.rounds.Load() + 1 // the round's number (p.rounds counts dispatches)
	if r-p.floor < p.window {
		return nil
	}
	floor, worker := p.w[0].emit.Load(), 0
	for i, w := range p.w[1:] {
		if e := w.emit.Load(); seqBefore(e, floor) {
			floor, worker = e, i+1
		}
	}
	p.floor = floor
	if r-floor < p.window {
		return nil
	}
	return fmt.Errorf("%w: round %d would be %d rounds ahead of worker %d's round %d (window %d)",
		ErrOrderWindow, r, r-floor, worker, floor, p.window)
}

// orderedRound readies worker i's round e (its emit) for the collector:
// sr_pool_round's twin. It returns the ring the round's items are in and
// how many of them are left, at the ring's front; ok false while the
// worker has not ended the round (O1). A ring all of whose rounds were
// handed on goes back to the worker first (H2), after what its C spill
// area holds goes to the pool's Overflow; err is Overflow's refusal. The
// caller holds worker i's collector lock.
func (p *WorkerPool[T, A]) orderedRound(i int, e uint64) (ring *SpillRing[T], left uint64, ok bool, err error) {
	w := p.w[i]
	counts := p.counts[i]
	for {
		if w.held != 0 {
			ring = p.rings[i][w.held&0xff-1]
			if err := ring.Forward(); err != nil {
				return nil, 0, false, err // what spilled goes before the round's items
			}
			if seqBefore(w.held>>8, e) {
				p.unhold(i) // its rounds are all handed on
				continue
			}
			// Round e is in the held ring: what its count leaves, less
			// what spilled from the ring's front. Settled: a discarding
			// ring's merges may have overwritten its oldest items.
			ring.settle()
			left = counts[e&p.mask].Load() - w.part
			d := min(w.drop, left)
			w.drop -= d
			w.part += d
			left = min(left-d, uint64(ring.Len())) // the min cannot bite: the counts say so
			return ring, left, true, nil
		}
		done := w.done.Load() // O1: before the exchange
		if b := w.batch.Swap(0); b != 0 {
			p.shad[i].acquire() // H1, for the race detector
			var c uint64
			for s := e; !seqBefore(b>>8, s); s++ {
				c += counts[s&p.mask].Load()
			}
			n := uint64(p.rings[i][b&0xff-1].Len())
			w.held, w.drop = b, 0
			if c > n {
				w.drop = c - n
			}
			continue
		}
		// Ended, and published nothing (O1). Ended with a count means
		// a later round's merge has the batch in hand: it puts it back
		// soon.
		return nil, 0, int32(done-uint32(e)) >= 0 && counts[e&p.mask].Load() == 0, nil
	}
}

// orderedRelease ends the collector's work on worker i's round e, all of
// whose items were handed on or dropped: sr_pool_round_release's tail. The
// worker's next round is e+1 (O2), and a held ring all of whose rounds are
// handed on goes back to the worker at once, unless its spill area still
// holds items (then at the next orderedRound).
func (p *WorkerPool[T, A]) orderedRelease(i int, e uint64) {
	w := p.w[i]
	w.part = 0
	w.emit.Store(e + 1) // O2
	if w.held != 0 && !seqBefore(e, w.held>>8) && p.rings[i][w.held&0xff-1].Pending() == 0 {
		p.unhold(i)
	}
}

// unhold hands worker i's held ring back (H2). Its rounds are all handed
// on, so it is empty: an item left would mean the counts were wrong, and
// dropping it beats handing it on as another round's.
func (p *WorkerPool[T, A]) unhold(i int) {
	w := p.w[i]
	k := w.held&0xff - 1
	r := p.rings[i][k]
	if n := r.settle(); n.tail != n.head {
		r.zero(n.head, n.tail-n.head)
		n.head = n.tail
	}
	w.held, w.drop = 0, 0
	w.recycle.Or(1 << k) // H2
}

// emitRound hands worker i's round r to sink, if the worker ended it,
// under the worker's collector lock. ok reports that round r of worker i
// is behind the collector: handed on now or before (by another collector).
func (p *WorkerPool[T, A]) emitRound(i int, r uint64, sink Spout[T]) (n int, ok bool, err error) {
	p.slot[i].Lock()
	defer p.slot[i].Unlock()
	if e := p.w[i].emit.Load(); e != r {
		return 0, seqBefore(r, e), nil
	}
	ring, left, ok, err := p.orderedRound(i, r)
	if !ok || err != nil {
		return 0, false, err
	}
	if left > 0 {
		k, err := ring.sendOldest(left, func(vs []T) (uint64, error) { return sendBatchTo(sink, vs) })
		p.w[i].part += k
		p.collected.Add(k)
		if k < left {
			return int(k), false, err
		}
		n = int(k)
	}
	p.orderedRelease(i, r)
	return n, true, nil
}

// collectOrdered is an ordered pool's Collect over workers, from cur's
// place: each round's items, worker after worker, then the next round's,
// until a worker has not ended the round at hand (it returns then, and
// the next call goes on from there) or sink refuses. The window (O3)
// bounds how many rounds one call can go through.
func (p *WorkerPool[T, A]) collectOrdered(cur *orderCursor, workers []int, sink Spout[T]) (int, error) {
	cur.mu.Lock()
	defer cur.mu.Unlock()
	total := 0
	for {
		for ; cur.next < len(workers); cur.next++ {
			n, ok, err := p.emitRound(workers[cur.next], cur.round, sink)
			total += n
			if err != nil || !ok {
				return total, err
			}
		}
		cur.next = 0
		cur.round++
	}
}
