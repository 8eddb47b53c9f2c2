package spillring

import "fmt"

// Merger collects a share of a pool's workers: Mergers(m) gives merger j
// the workers j, j+m, j+2m, ..., so that m goroutines (or threads) collect
// at once, each into its own sink, with no coordination among them or with
// the workers: a worker's handoff slot does not know who reads it. Each
// merger collects its workers as WorkerPool.Collect does (in per-worker
// order, refused batches kept for next time); its calls serialize. A
// Merger's Collect and the pool's Collect may overlap: each worker is
// collected by one of them at a time.
//
// On an ordered pool (PoolConfig.OrderWindow) a merger hands on its
// workers' items round by round, as the pool's Collect does for all
// workers, and CollectSequenced submits each round as one part of a
// SequencedSpout shared by all the mergers: a merge tree whose root is in
// dispatch order. Collect each worker with one collector only then (the
// pool's or its merger's): two collectors each keep their own place in
// the rounds, and a round one of them handed on is skipped by the other.
type Merger[T, A any] struct {
	pool    *WorkerPool[T, A]
	id      int
	workers []int
	cursor  orderCursor // ordered pools: the merger's place in the rounds
	scratch []T         // CollectSequenced's round, reused
}

// Mergers partitions the pool's workers among m mergers, 1 <= m <=
// Workers(): merger j gets the workers i with i % m == j. It returns an
// error wrapping ErrInvalidConfig for another m, ErrClosed after Close.
func (p *WorkerPool[T, A]) Mergers(m int) ([]*Merger[T, A], error) {
	if p.closed.Load() {
		return nil, ErrClosed
	}
	if m < 1 || m > p.workers {
		return nil, fmt.Errorf("%w: %d mergers for %d workers, want 1 to %d", ErrInvalidConfig, m, p.workers, p.workers)
	}
	ms := make([]*Merger[T, A], m)
	for j := range ms {
		ms[j] = &Merger[T, A]{pool: p, id: j, cursor: orderCursor{round: 1}}
	}
	for i := range p.workers {
		ms[i%m].workers = append(ms[i%m].workers, i)
	}
	return ms, nil
}

// ID is the merger's index among its pool's mergers.
func (m *Merger[T, A]) ID() int { return m.id }

// Workers returns the workers the merger collects, in the order it does.
func (m *Merger[T, A]) Workers() []int { return append([]int(nil), m.workers...) }

// Collect takes the batches its workers have published and hands their
// items to sink, as WorkerPool.Collect does for all workers, and returns
// how many items sink took. A nil sink returns ErrNilSpout; after the
// pool's Close, ErrClosed.
func (m *Merger[T, A]) Collect(sink Spout[T]) (int, error) {
	return m.pool.collectWorkers(&m.cursor, m.workers, sink)
}

// CollectSequenced submits its workers' rounds, in dispatch order, to seq:
// each round that all of them have ended becomes one batch (their items of
// the round, worker after worker; an empty batch for a round with none)
// submitted with the round's number. With seq shared by the pool's
// mergers and made with
//
//	spillring.Sequenced(inner, spillring.SequencedConfig{First: 1, Parts: len(mergers)})
//
// (rounds are numbered from 1), inner gets the whole pool's items round
// after round while the mergers collect at once, each on a goroutine of
// its own. A round seq refuses (ErrSequenceBufferFull) stays in the rings
// and is submitted again next time; the call returns the error. It returns
// how many items seq took. It needs an ordered pool (ErrInvalidConfig
// otherwise); a nil seq returns ErrNilSpout; after the pool's Close,
// ErrClosed.
func (m *Merger[T, A]) CollectSequenced(seq *SequencedSpout[T]) (int, error) {
	if seq == nil {
		return 0, ErrNilSpout
	}
	p := m.pool
	p.life.RLock()
	defer p.life.RUnlock()
	if p.closed.Load() {
		return 0, ErrClosed
	}
	if p.window == 0 {
		return 0, fmt.Errorf("%w: CollectSequenced needs an ordered pool (PoolConfig.OrderWindow)", ErrInvalidConfig)
	}
	m.cursor.mu.Lock()
	defer m.cursor.mu.Unlock()
	for _, i := range m.workers {
		p.slot[i].Lock()
		defer p.slot[i].Unlock()
	}
	total := 0
	for ; ; m.cursor.round++ {
		r := m.cursor.round
		// Gather the round without taking it: seq may refuse it.
		m.scratch = m.scratch[:0]
		for _, i := range m.workers {
			if e := p.w[i].emit.Load(); e != r {
				if seqBefore(r, e) {
					continue // handed on by another collector
				}
				return total, nil
			}
			ring, left, ok, err := p.orderedRound(i, r)
			if !ok || err != nil {
				return total, err
			}
			ring.peekOldest(left, func(vs []T) { m.scratch = append(m.scratch, vs...) })
		}
		err := seq.Submit(r, m.scratch)
		clear(m.scratch) // seq copied what it keeps: hold no references
		if err != nil {
			return total, err
		}
		for _, i := range m.workers {
			if p.w[i].emit.Load() != r {
				continue
			}
			ring, left, _, _ := p.orderedRound(i, r) // as gathered: nothing changed since
			if left > 0 {
				ring.sendOldest(left, func(vs []T) (uint64, error) { return uint64(len(vs)), nil })
				p.collected.Add(left)
				total += int(left)
			}
			p.orderedRelease(i, r)
		}
	}
}
