package spillring

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// poolGo is the Go backend of a WorkerPool: goroutines locked to their OS
// threads and pinned, running the protocol of csrc/pool.h on a layout in Go
// memory. Its functions are the twins of pool.c's (see the table there).
type poolGo[T, A any] struct {
	p       *WorkerPool[T, A]
	layout  []poolWorkerLayout
	wake    []chan struct{} // per worker: a sleeping worker's wake-up (G1)
	spin    time.Duration
	threads sync.WaitGroup

	// The round (struct sr_pool's line 1).
	round      atomic.Uint64
	pending    atomic.Uint32
	joinParked atomic.Uint32
	joinWake   chan struct{}
	shutdown   atomic.Bool
}

func newPoolGo[T, A any](p *WorkerPool[T, A], s poolStart) error {
	g := &poolGo[T, A]{
		p:        p,
		layout:   make([]poolWorkerLayout, p.workers),
		wake:     make([]chan struct{}, p.workers),
		spin:     s.spin,
		joinWake: make(chan struct{}, 1),
	}
	if p.workers+1 > runtime.NumCPU() {
		g.spin = 0 // a spinner would take the CPU a worker needs
	}
	spout := p.overflow()
	for i := range p.workers {
		for k := range poolRings {
			r, err := NewSpillRing(SpillConfig[T]{Capacity: s.capacity, Spout: spout, Backend: BackendGo})
			if err != nil {
				return err
			}
			r.pooled = true
			p.rings[i][k] = r
		}
		w := &g.layout[i]
		w.active = 0
		w.spare = 6 // rings 1 and 2
		p.w[i] = w
		g.wake[i] = make(chan struct{}, 1)
	}
	p.backend = g
	started := make(chan error, p.workers)
	for i := range p.workers {
		cpu := -1
		if s.cpus != nil {
			cpu = s.cpus[i]
		}
		g.threads.Add(1)
		go g.loop(i, cpu, started)
	}
	var first error
	for range p.workers {
		if err := <-started; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		g.stop()
		return first
	}
	return nil
}

// loop is a worker: sr_pool_thread's twin.
func (g *poolGo[T, A]) loop(i, cpu int, started chan<- error) {
	defer g.threads.Done()
	// Never unlocked: the thread exits with the goroutine, so a pinned
	// thread never goes back to the scheduler.
	runtime.LockOSThread()
	if cpu >= 0 {
		if err := pinThread(cpu); err != nil {
			started <- err
			return
		}
	}
	started <- nil
	w := &g.layout[i]
	var seen uint32
	var spun, slept time.Duration
	for {
		seen = g.await(&w.goWord, seen, &w.parked, g.wake[i], &spun, &slept)
		w.spinNs.Store(uint64(spun))
		w.parkNs.Store(uint64(slept))
		if g.shutdown.Load() {
			return
		}
		code := g.p.round(i, g.round.Load())
		w.rounds.Add(1)
		w.status.Store(code)
		w.done.Store(seen)
		// D1
		if g.pending.Add(^uint32(0)) == 0 && g.joinParked.Load() == 1 {
			g.joinParked.Store(0)
			poke(g.joinWake)
		}
	}
}

// await waits until *word != old, spinning for up to g.spin, then asleep on
// ch with the W1 handshake on flag: sr_pool_await's twin.
func (g *poolGo[T, A]) await(word *atomic.Uint32, old uint32, flag *atomic.Uint32, ch chan struct{}, spun, slept *time.Duration) uint32 {
	if v := word.Load(); v != old {
		return v
	}
	t0 := time.Now()
	t1 := t0
	if g.spin > 0 {
		for n := 1; ; n++ {
			if v := word.Load(); v != old {
				*spun += time.Since(t0)
				return v
			}
			if n%64 == 0 {
				if t1 = time.Now(); t1.Sub(t0) >= g.spin {
					break
				}
			}
		}
	}
	*spun += t1.Sub(t0)
	var v uint32
	for {
		flag.Store(1)
		if v = word.Load(); v != old {
			break
		}
		<-ch
		if v = word.Load(); v != old {
			break
		}
	}
	flag.Store(0)
	*slept += time.Since(t1)
	return v
}

// poke wakes a sleeper on ch; a wake-up already pending is enough.
func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (g *poolGo[T, A]) dispatch() error {
	g.round.Add(1)
	g.pending.Store(uint32(len(g.layout)))
	gw := uint32(g.round.Load())
	for i := range g.layout {
		w := &g.layout[i]
		w.goWord.Store(gw) // G1
		if w.parked.Load() == 1 {
			poke(g.wake[i])
		}
	}
	return nil
}

func (g *poolGo[T, A]) join() error {
	var spun, slept time.Duration
	for {
		v := g.pending.Load()
		if v == 0 {
			return nil
		}
		g.await(&g.pending, v, &g.joinParked, g.joinWake, &spun, &slept)
	}
}

func (g *poolGo[T, A]) status(i int) int32 { return g.layout[i].status.Load() }

// stop is S1: shutdown, then a dispatch-like bump of every go word.
func (g *poolGo[T, A]) stop() {
	g.shutdown.Store(true)
	for i := range g.layout {
		w := &g.layout[i]
		w.goWord.Add(1)
		if w.parked.Load() == 1 {
			poke(g.wake[i])
		}
	}
	g.threads.Wait()
}
