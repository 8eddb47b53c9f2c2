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
type Merger[T, A any] struct {
	pool    *WorkerPool[T, A]
	id      int
	workers []int
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
		ms[j] = &Merger[T, A]{pool: p, id: j}
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
	if sink == nil {
		return 0, ErrNilSpout
	}
	p := m.pool
	p.life.RLock()
	defer p.life.RUnlock()
	if p.closed.Load() {
		return 0, ErrClosed
	}
	total := 0
	for _, i := range m.workers {
		n, err := p.collectLocked(i, sink)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
