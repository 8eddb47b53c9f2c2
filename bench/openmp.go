package bench

/*
#cgo CFLAGS: -std=c11 -D_GNU_SOURCE -O2 -fopenmp
#cgo LDFLAGS: -fopenmp

// The openmp reference of the pool-round scenarios: gcc's OpenMP runtime
// (libgomp) with its defaults. Its threads are not pinned (no
// OMP_PROC_BIND), and between regions they wait as OMP_WAIT_POLICY says;
// unset, libgomp spins for a while (GOMP_SPINCOUNT) before it sleeps on a
// futex, much as the pool's Adaptive wait does. But libgomp counts only
// its own team against the CPUs: on 2 CPUs a 2-thread team spins, where a
// 2-worker pool (plus its dispatcher) sleeps at once. The default is kept:
// it is what an OpenMP program gets. The threads spin after the last round
// too, into the first moments of the pair measured next; they are asleep
// long before the idle section. A separate file, so that -fopenmp touches
// only this code.
#include <omp.h>
#include <stdint.h>

enum { OMP_MAX_THREADS = 64 };

// One slot per thread, each on its own cache line: what a worker's ring is
// to the pool, minus the ring.
static struct { _Alignas(64) volatile uint64_t v; } omp_slots[OMP_MAX_THREADS];

// Runs n rounds: a parallel region of `threads` threads in which thread t
// writes seq + r + t<<40 (the value a pool worker pushes), then, after the
// region's closing barrier, the calling thread sums the slots (the
// collect). Returns the sum over all rounds.
//
// At threads == 1 the region runs on the calling thread alone: OpenMP's
// master is one of the team, so there is no hand-off at all, while a pool
// always hands the work to its worker thread and the dispatcher only
// waits for it.
static uint64_t omp_rounds(int threads, long n, uint64_t seq)
{
	uint64_t sum = 0;

	for (long r = 0; r < n; r++) {
		uint64_t v = seq + (uint64_t)r;
#pragma omp parallel num_threads(threads)
		{
			int t = omp_get_thread_num();
			omp_slots[t].v = v + ((uint64_t)t << 40);
		}
		for (int t = 0; t < threads; t++) {
			sum += omp_slots[t].v;
			omp_slots[t].v = 0; // a thread that did not run leaves a 0: caught by the sum
		}
	}
	return sum;
}
*/
import "C"

// openOpenMP: pool-round only, at most OMP_MAX_THREADS workers. Its rounds
// run in C, b.N of them per cgo call (ops.rounds): a cgo call per round
// (~25-30 ns) would be Go's overhead in the reference's figure.
func openOpenMP(sc PoolScenario) (poolOps, error) {
	if sc.Stream || sc.Workers > C.OMP_MAX_THREADS {
		return poolOps{}, ErrUnsupported
	}
	return poolOps{
		rounds: func(seq uint64, n int, sink *countSink) error {
			// The slots' sum stands for the items: the caller checks it
			// like any sink's.
			sink.n += uint64(n * sc.Workers)
			sink.sum += uint64(C.omp_rounds(C.int(sc.Workers), C.long(n), C.uint64_t(seq)))
			return nil
		},
		close: func() {},
	}, nil
}
