package spillring

import (
	"context"
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
	round    atomic.Uint64
	pending  atomic.Uint32 // workers in the round, plus poolJoiner (D1)
	joinWake chan struct{}
	shutdown atomic.Bool
}

func newPoolGo[T, A any](p *WorkerPool[T, A], s poolStart) error {
	g := &poolGo[T, A]{
		p:        p,
		layout:   make([]poolWorkerLayout, p.workers),
		wake:     make([]chan struct{}, p.workers),
		spin:     s.spin,
		joinWake: make(chan struct{}, 1),
	}
	if p.workers+1 > min(runtime.NumCPU(), runtime.GOMAXPROCS(0)) {
		// A spinner would take the CPU, or the P, a worker needs.
		g.spin = 0
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
		w.emit.Store(1)
		if p.window != 0 {
			p.counts = append(p.counts, make([]atomic.Uint64, p.mask+1))
		}
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
		g.start(i, cpu, started, nil)
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

// start runs worker i on a goroutine of its own, locked to its OS thread
// and pinned to cpu (cpu < 0: neither). Never unlocked: the thread exits
// with the goroutine, so a pinned thread never goes back to the scheduler.
// But never the process's main thread, which the runtime does not let exit
// (it parks it for good instead): a goroutine that finds itself there
// starts the worker again and keeps the main thread until the new one runs
// elsewhere (closes moved), so that the new one cannot land there too.
func (g *poolGo[T, A]) start(i, cpu int, started chan<- error, moved chan<- struct{}) {
	g.threads.Add(1)
	go func() {
		defer g.threads.Done()
		if cpu < 0 {
			g.loop(i, started)
			return
		}
		runtime.LockOSThread()
		if isMainThread() {
			again := make(chan struct{})
			g.start(i, cpu, started, again)
			<-again
			runtime.UnlockOSThread()
			return
		}
		if moved != nil {
			close(moved)
		}
		if err := pinThread(cpu); err != nil {
			started <- err
			return
		}
		g.loop(i, started)
	}()
}

// loop is a worker: sr_pool_thread's twin.
func (g *poolGo[T, A]) loop(i int, started chan<- error) {
	started <- nil
	w := &g.layout[i]
	var seen uint32
	var spun, slept time.Duration
	for {
		wake := g.wake[i]
		seen = poolAwait(&w.goWord, &w.parked, seen, g.spin, func() { <-wake }, &spun, &slept)
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
		if old := g.pending.Add(^uint32(0)) + 1; old&^poolJoiner == 1 && old&poolJoiner != 0 {
			poke(g.joinWake)
		}
	}
}

// poke wakes a sleeper on ch; a wake-up already pending is enough.
func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (g *poolGo[T, A]) dispatch() {
	poolDispatch(g.p.w, &g.pending, g.round.Add(1), func(_ *poolWorkerLayout, i int) { poke(g.wake[i]) })
}

func (g *poolGo[T, A]) join(ctx context.Context) error {
	done := ctx.Done()
	return poolJoinWait(ctx, &g.pending, g.spin, nil, func(uint32) {
		select {
		case <-g.joinWake:
		case <-done:
		}
	})
}

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
