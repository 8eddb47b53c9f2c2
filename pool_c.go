//go:build cgo && linux && !purego

package spillring

/*
#include <errno.h>
#include <stdlib.h>
#include "csrc/pool.h"

// sr_go_work (pool_callback.c) runs a Go work function: ctx is the pool's
// index in poolTable.
extern int sr_go_work(struct sr_spill *out, unsigned worker, const void *args, void *ctx);

static void *sr_go_ctx(uintptr_t i) { return (void *)i; }
static void sr_set_cpu(int32_t *cpus, int i, int32_t cpu) { cpus[i] = cpu; }
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// The Go mirror must match struct sr_pool_worker byte for byte.
const (
	_ = uint(unsafe.Sizeof(C.struct_sr_pool_worker{}) - unsafe.Sizeof(poolWorkerLayout{}))
	_ = uint(unsafe.Sizeof(poolWorkerLayout{}) - unsafe.Sizeof(C.struct_sr_pool_worker{}))
	_ = uint(C.SR_POOL_RINGS - poolRings)
	_ = uint(poolRings - C.SR_POOL_RINGS)
	_ = uint(C.SR_POOL_MAX_WORKERS - MaxPoolWorkers)
	_ = uint(MaxPoolWorkers - C.SR_POOL_MAX_WORKERS)
	_ = uint(C.SR_POOL_MAX_WINDOW - MaxOrderWindow)
	_ = uint(MaxOrderWindow - C.SR_POOL_MAX_WINDOW)
)

var (
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.batch)-unsafe.Offsetof(poolWorkerLayout{}.batch)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.recycle)-unsafe.Offsetof(poolWorkerLayout{}.recycle)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.emit)-unsafe.Offsetof(poolWorkerLayout{}.emit)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.held)-unsafe.Offsetof(poolWorkerLayout{}.held)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.drop)-unsafe.Offsetof(poolWorkerLayout{}.drop)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.part)-unsafe.Offsetof(poolWorkerLayout{}.part)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}._go)-unsafe.Offsetof(poolWorkerLayout{}.goWord)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.parked)-unsafe.Offsetof(poolWorkerLayout{}.parked)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.done)-unsafe.Offsetof(poolWorkerLayout{}.done)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.status)-unsafe.Offsetof(poolWorkerLayout{}.status)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.rings)-unsafe.Offsetof(poolWorkerLayout{}.rings)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.active)-unsafe.Offsetof(poolWorkerLayout{}.active)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.spare)-unsafe.Offsetof(poolWorkerLayout{}.spare)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.rounds)-unsafe.Offsetof(poolWorkerLayout{}.rounds)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.pushed)-unsafe.Offsetof(poolWorkerLayout{}.pushed)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.spilled)-unsafe.Offsetof(poolWorkerLayout{}.spilled)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.merged)-unsafe.Offsetof(poolWorkerLayout{}.merged)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.published)-unsafe.Offsetof(poolWorkerLayout{}.published)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.spin_ns)-unsafe.Offsetof(poolWorkerLayout{}.spinNs)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.park_ns)-unsafe.Offsetof(poolWorkerLayout{}.parkNs)]
	_ = [1]struct{}{}[unsafe.Offsetof(C.struct_sr_pool_worker{}.counts)-unsafe.Offsetof(poolWorkerLayout{}.counts)]
	_ = [1]struct{}{}[unsafe.Offsetof(poolWorkerLayout{}.counts)-unsafe.Offsetof(C.struct_sr_pool_worker{}.counts)]
)

// poolC is the C backend of a WorkerPool: struct sr_pool (csrc/pool.h).
type poolC struct {
	c *C.struct_sr_pool
	w []*poolWorkerLayout // the workers' entries in c
	// joinSpin is how long join spins: the pool's spin, but 0 for Go work
	// when GOMAXPROCS leaves no P for every worker beside the joiner (a
	// spinning joiner would hold the P a callback waits for).
	joinSpin time.Duration
}

func newPoolC[T, A any](p *WorkerPool[T, A], s poolStart) error {
	cfg := C.struct_sr_pool_config{
		workers:        C.uint32_t(p.workers),
		ring_capacity:  C.uint64_t(s.capacity),
		elem_size:      C.uint64_t(unsafe.Sizeof(*new(T))),
		spill_capacity: C.uint64_t(s.spill),
		spin_ns:        C.uint32_t(s.spin),
		order_window:   C.uint32_t(p.window),
	}
	if p.spout == nil {
		cfg.flags |= C.SR_POOL_DISCARD
	}
	if s.cpus != nil {
		cpus := (*C.int32_t)(C.malloc(C.size_t(4 * len(s.cpus))))
		defer C.free(unsafe.Pointer(cpus))
		for i, c := range s.cpus {
			C.sr_set_cpu(cpus, C.int(i), C.int32_t(c))
		}
		cfg.cpus = cpus
	}
	var cp *C.struct_sr_pool // set below, before any round
	if p.cwork {
		cfg.work = C.sr_work_fn(s.cwork.Fn)
		cfg.ctx = s.cwork.Ctx
		cfg.args_size = C.uint64_t(unsafe.Sizeof(*new(A)))
	} else {
		idx, err := poolTableAdd(&poolEntry{run: func(i int) int32 {
			// cp.round was written before the round's G1 store,
			// which this worker thread has acquired.
			return p.round(i, uint64(cp.round))
		}})
		if err != nil {
			return err
		}
		p.table = idx
		cfg.work = C.sr_work_fn(C.sr_go_work)
		cfg.ctx = C.sr_go_ctx(C.uintptr_t(idx))
		cfg.flags |= C.SR_POOL_SELF_PUBLISH
	}
	var cerr C.int
	cp = C.sr_pool_new(&cfg, &cerr)
	if cp == nil {
		poolTableFree(p.table)
		if cerr == -C.ENOMEM || cerr == -C.EAGAIN {
			return fmt.Errorf("spillring: sr_pool_new: %w", syscall.Errno(-cerr))
		}
		return fmt.Errorf("%w: sr_pool_new: %w", ErrInvalidConfig, syscall.Errno(-cerr))
	}
	spout := p.overflow()
	base := unsafe.Pointer(cp.w)
	for i := range p.workers {
		// In bounds: cp.w holds `workers` entries (csrc/pool.h).
		w := (*poolWorkerLayout)(unsafe.Add(base, uintptr(i)*unsafe.Sizeof(poolWorkerLayout{})))
		p.w[i] = w
		for k := range poolRings {
			p.rings[i][k] = viewSpill[T](w.rings[k], spout)
		}
		if p.window != 0 {
			// In bounds: sr_pool_new allocated order_mask + 1 counts
			// for each worker of an ordered pool, freed by
			// sr_pool_free (stop), after which nothing reads them.
			p.counts = append(p.counts, unsafe.Slice((*atomic.Uint64)(w.counts), p.mask+1))
		}
	}
	p.cargs = cp.args
	b := &poolC{c: cp, w: p.w, joinSpin: time.Duration(cp.spin_ns)}
	if !p.cwork && p.workers+1 > runtime.GOMAXPROCS(0) {
		b.joinSpin = 0
	}
	p.backend = b
	return nil
}

// dispatch is sr_pool_dispatch in Go (its args NULL: the pool wrote the
// C work's args into p->args already), so that a round makes no cgo call
// of its own: it marks the round unjoined for C, then G1.
func (b *poolC) dispatch() {
	b.c.joined = 0
	b.c.round++
	// In bounds and aligned: a uint32_t atomic of struct sr_pool.
	pending := (*atomic.Uint32)(unsafe.Pointer(&b.c.pending))
	poolDispatch(b.w, pending, uint64(b.c.round), func(w *poolWorkerLayout, _ int) {
		futexWake(&w.goWord)
	})
}

// join is sr_pool_join in Go, so that a context can end the wait: the same
// spin, then futex sleep on struct sr_pool's pending word with
// SR_POOL_JOINER (D1); then it marks the round joined for C, as
// sr_pool_join does. Cancelling ctx wakes the futex.
func (b *poolC) join(ctx context.Context) error {
	// In bounds and aligned: a uint32_t atomic of struct sr_pool, which
	// lives until stop.
	pending := (*atomic.Uint32)(unsafe.Pointer(&b.c.pending))
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { futexWake(pending) })
		defer stop()
	}
	var pause func()
	if b.c.flags&C.SR_POOL_YIELDS != 0 {
		pause = futexParker{}.yield // sched_yield: the workers need the CPUs
	}
	err := poolJoinWait(ctx, pending, b.joinSpin, pause, func(v uint32) { futexWaitValue(pending, v) })
	if err == nil {
		b.c.joined = 1
	}
	return err
}

func (b *poolC) stop() {
	C.sr_pool_free(b.c)
	b.c = nil
}
