package bench

/*
#cgo CFLAGS: -std=c11 -D_GNU_SOURCE -O2 -I${SRCDIR}/../csrc

// A private static copy of the C core (SR_API static): no symbol clash with
// the root package, which links its own extern copy. ring.c must come before
// any system header. The include path is ../csrc, so this is ../csrc/ring.c.
#define SR_API static
#include "ring.c"

#include <pthread.h>

enum { C11_BATCH = 256, C11_CHUNK = 16 };

// batch: 0 single items, 1 bursts of C11_BATCH, C11_CLAIM claims of
// C11_CHUNK (the claim scenarios: sr_ring_try_claim, items written in place,
// sr_ring_commit; sr_ring_try_read_claim, checked in place, release).
#define C11_CLAIM 2

// One c11-loop benchmark: a ring and, for cross-thread scenarios, a producer
// pthread that sleeps on a condition variable between rounds (as the Go
// producers sleep on a channel receive). The consumer is the calling thread,
// which Go has already pinned like every other consumer.
struct c11 {
	struct sr_ring *r;
	int batch, has_thread, stop;
	uint64_t gen, seq, k; // the round requested last
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
};

static void c11_push(struct sr_ring *r, uint64_t seq, uint64_t k, int batch)
{
	uint64_t buf[C11_BATCH];

	if (batch == C11_CLAIM) {
		struct sr_claim c = SR_CLAIM_INIT;

		for (uint64_t off = 0; off < k;) {
			int n = sr_ring_try_claim(r, &c, k - off < C11_CHUNK ? (unsigned)(k - off) : C11_CHUNK);

			if (n == -EAGAIN) {
				sr_relax();
				continue;
			}
			if (n < 0)
				return; // closed
			for (uint32_t j = 0; j < c.len[0]; j++)
				((uint64_t *)c.span[0])[j] = seq + off + j;
			for (uint32_t j = 0; j < c.len[1]; j++)
				((uint64_t *)c.span[1])[j] = seq + off + c.len[0] + j;
			if (sr_ring_commit(r, &c, (unsigned)n) != n)
				return;
			off += (uint64_t)n;
		}
		return;
	}

	for (uint64_t off = 0; off < k;) {
		unsigned n = batch ? (k - off < C11_BATCH ? (unsigned)(k - off) : C11_BATCH) : 1;
		for (unsigned j = 0; j < n; j++)
			buf[j] = seq + off + j;
		for (unsigned done = 0; done < n;) {
			int rc;
			if (batch)
				rc = sr_ring_push_burst(r, buf + done, n - done);
			else if ((rc = sr_ring_try_push(r, buf)) == 0)
				rc = 1;
			if (rc < 0 && rc != -EAGAIN)
				return; // closed
			if (rc > 0)
				done += (unsigned)rc;
			else
				sr_relax();
		}
		off += n;
	}
}

// Pops k items and checks each against the sequence: the number of wrong
// items, or a negative errno.
static int64_t c11_pop(struct sr_ring *r, uint64_t seq, uint64_t k, int batch)
{
	uint64_t buf[C11_BATCH];
	int64_t bad = 0;

	if (batch == C11_CLAIM) {
		struct sr_claim c = SR_CLAIM_INIT;

		for (uint64_t got = 0; got < k;) {
			int n = sr_ring_try_read_claim(r, &c, k - got < C11_CHUNK ? (unsigned)(k - got) : C11_CHUNK);

			if (n == -EAGAIN) {
				sr_relax();
				continue;
			}
			if (n < 0)
				return n;
			for (uint32_t j = 0; j < c.len[0]; j++)
				bad += ((uint64_t *)c.span[0])[j] != seq + got + j;
			for (uint32_t j = 0; j < c.len[1]; j++)
				bad += ((uint64_t *)c.span[1])[j] != seq + got + c.len[0] + j;
			if (sr_ring_read_release(r, &c, (unsigned)n) < 0)
				return -EIO;
			got += (uint64_t)n;
		}
		return bad;
	}
	for (uint64_t got = 0; got < k;) {
		int n;
		if (batch) {
			n = sr_ring_pop_burst(r, buf, k - got < C11_BATCH ? (unsigned)(k - got) : C11_BATCH);
		} else {
			n = sr_ring_try_pop(r, buf);
			n = n == 0 ? 1 : n == -EAGAIN ? 0 : n;
		}
		if (n < 0)
			return n;
		if (n == 0) {
			sr_relax();
			continue;
		}
		for (int j = 0; j < n; j++)
			bad += buf[j] != seq + got + (uint64_t)j;
		got += (uint64_t)n;
	}
	return bad;
}

// Starts fn(arg) on a pthread pinned to cpu (cpu < 0: not pinned). The
// affinity is set before the start, so the thread never runs elsewhere.
// 0 or a negative errno.
static int c11_start_pinned(pthread_t *th, int cpu, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	int err = 0;

	pthread_attr_init(&attr);
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		err = pthread_attr_setaffinity_np(&attr, sizeof set, &set);
	}
	if (!err)
		err = pthread_create(th, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return -err;
}

static void *c11_producer(void *arg)
{
	struct c11 *b = arg;
	uint64_t seen = 0;

	pthread_mutex_lock(&b->mu);
	for (;;) {
		while (b->gen == seen && !b->stop)
			pthread_cond_wait(&b->cv, &b->mu);
		if (b->stop)
			break;
		seen = b->gen;
		uint64_t seq = b->seq, k = b->k;
		pthread_mutex_unlock(&b->mu);
		c11_push(b->r, seq, k, b->batch);
		pthread_mutex_lock(&b->mu);
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

static void c11_close(struct c11 *b)
{
	if (b->has_thread) {
		pthread_mutex_lock(&b->mu);
		b->stop = 1;
		pthread_cond_signal(&b->cv);
		pthread_mutex_unlock(&b->mu);
		pthread_join(b->th, NULL);
	}
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	sr_ring_release(b->r);
	free(b);
}

// prod_cpu < 0: no producer thread (single-thread) or no pinning.
static struct c11 *c11_open(int batch, int cross, int prod_cpu, int *err)
{
	struct sr_config cfg = {.capacity = 65536, .elem_size = 8, .backpressure = SR_BLOCK, .wait = SR_WAIT_SPIN};
	struct c11 *b = calloc(1, sizeof *b);

	if (!b) {
		*err = -ENOMEM;
		return NULL;
	}
	b->batch = batch;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	if (!(b->r = sr_ring_new(&cfg, err))) {
		c11_close(b);
		return NULL;
	}
	if (cross) {
		*err = c11_start_pinned(&b->th, prod_cpu, c11_producer, b);
		if (*err) {
			c11_close(b);
			return NULL;
		}
		b->has_thread = 1;
	}
	return b;
}

static int64_t c11_single(struct c11 *b, uint64_t seq, uint64_t k)
{
	int64_t bad = 0;

	for (uint64_t i = 0; i < k; i++) {
		uint64_t v = seq + i, out = 0;
		int rc = sr_ring_try_push(b->r, &v);
		if (rc == 0)
			rc = sr_ring_try_pop(b->r, &out);
		if (rc < 0)
			return rc;
		bad += out != v;
	}
	return bad;
}

// The producer starts at seq+skew; skew is 0 except in the test of checks.
static int64_t c11_round(struct c11 *b, uint64_t seq, uint64_t k, uint64_t skew)
{
	pthread_mutex_lock(&b->mu);
	b->seq = seq + skew;
	b->k = k;
	b->gen++;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	return c11_pop(b->r, seq, k, b->batch);
}

// rtt's c11-loop (latency.go): round trips between the calling thread and
// an echo pthread over two spinning rings of this copy of the core.
#include <time.h>

static uint64_t lat_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// c11-loop's rtt: the echo side, a pthread pinned to its CPU, pops each
// item from ping and pushes it to pong; both spin.
struct lat_echo {
	struct sr_ring *ping, *pong;
	_Atomic int stop; // the pinging side sets it once, after its last round trip
};

static void *lat_echo_main(void *arg)
{
	struct lat_echo *e = arg;
	uint64_t v;

	while (!atomic_load_explicit(&e->stop, memory_order_relaxed)) {
		if (sr_ring_try_pop(e->ping, &v) != 0) {
			sr_relax();
			continue;
		}
		while (sr_ring_try_push(e->pong, &v) != 0)
			sr_relax();
	}
	return NULL;
}

// lat_c11_rtt times round trips from the calling thread (pinned by Go) to
// an echo pthread on echo_cpu and back, for ns nanoseconds or max samples,
// into out; it returns the number of samples, or a negative errno (a
// wrong item: -EPROTO).
int64_t lat_c11_rtt(int echo_cpu, uint64_t ns, uint64_t *out, int64_t max)
{
	struct sr_config cfg = {.capacity = 16, .elem_size = 8, .backpressure = SR_BLOCK, .wait = SR_WAIT_SPIN};
	struct lat_echo e = {0};
	pthread_t th;
	int err = 0;
	int64_t n = 0;

	e.ping = sr_ring_new(&cfg, &err);
	e.pong = e.ping ? sr_ring_new(&cfg, &err) : NULL;
	if (!e.pong) {
		if (e.ping)
			sr_ring_release(e.ping);
		return err ? err : -ENOMEM;
	}
	if ((err = c11_start_pinned(&th, echo_cpu, lat_echo_main, &e))) {
		sr_ring_release(e.ping);
		sr_ring_release(e.pong);
		return err;
	}
	uint64_t end = lat_now() + ns;
	for (uint64_t i = 0; n < max; i++) {
		uint64_t t0 = lat_now(), v;
		if (t0 >= end)
			break;
		while (sr_ring_try_push(e.ping, &i) != 0)
			sr_relax();
		while (sr_ring_try_pop(e.pong, &v) != 0)
			sr_relax();
		out[n++] = lat_now() - t0;
		if (v != i) {
			n = -EPROTO;
			break;
		}
	}
	atomic_store_explicit(&e.stop, 1, memory_order_relaxed);
	pthread_join(th, NULL);
	sr_ring_release(e.ping);
	sr_ring_release(e.pong);
	return n;
}

// latency-loaded's c11-loop (latency.go): a producer pthread pinned to its
// CPU pushes clock_gettime timestamps, one per interval ns (0: flat out),
// for ns; the calling thread pops them and stores each one's age in out
// (up to max). Returns the items popped, or a negative
// errno (-EPROTO: a timestamp went back).
struct lat_prod {
	struct sr_ring *r;
	uint64_t ns, interval;
};

static void *lat_prod_main(void *arg)
{
	struct lat_prod *lp = arg;
	uint64_t end = lat_now() + lp->ns, next = lat_now();

	for (;;) {
		uint64_t now = lat_now();
		if (now >= end)
			break;
		if (lp->interval) {
			if (now < next)
				continue;
			next = next + lp->interval > now ? next + lp->interval : now;
		}
		while (sr_ring_try_push(lp->r, &now) != 0)
			sr_relax();
	}
	sr_ring_close(lp->r, SR_CLOSED_PRODUCER);
	return NULL;
}

int64_t lat_c11_loaded(int prod_cpu, uint64_t ns, uint64_t interval, uint64_t *out, int64_t max)
{
	struct sr_config cfg = {.capacity = 65536, .elem_size = 8, .backpressure = SR_BLOCK, .wait = SR_WAIT_SPIN};
	struct lat_prod lp = {.ns = ns, .interval = interval};
	pthread_t th;
	int err = 0;
	int64_t n = 0;
	uint64_t v, last = 0;

	if (!(lp.r = sr_ring_new(&cfg, &err)))
		return err ? err : -ENOMEM;
	if ((err = c11_start_pinned(&th, prod_cpu, lat_prod_main, &lp))) {
		sr_ring_release(lp.r);
		return err;
	}
	for (;;) {
		int rc = sr_ring_try_pop(lp.r, &v);
		if (rc == -EAGAIN) {
			sr_relax();
			continue;
		}
		if (rc != 0)
			break; // closed and drained
		if (v < last) {
			n = -EPROTO;
			break;
		}
		last = v;
		if (n < max)
			out[n] = lat_now() - v; // the calibration stores too: the same consumer cost
		n++;
	}
	pthread_join(th, NULL);
	sr_ring_release(lp.r);
	return n;
}
*/
import "C"

import (
	"fmt"
	"syscall"
)

// openC11 is the reference limit: C11 loops over the same core (a spinning
// ring, no Go in the hot path), one cgo call per round.
func openC11(sc Scenario) (ops, error) {
	if sc.Producers > 0 || sc.Spill || sc.Wide {
		return ops{}, ErrUnsupported
	}
	batch := cbool(sc.Batch)
	if sc.Chunk > 0 {
		if sc.Chunk != C.C11_CHUNK {
			return ops{}, ErrUnsupported
		}
		batch = C.C11_CLAIM
	}
	var cerr C.int
	cpu := -1
	if sc.Cross {
		cpu = prodCPU
	}
	b := C.c11_open(batch, cbool(sc.Cross), C.int(cpu), &cerr)
	if b == nil {
		return ops{}, fmt.Errorf("c11 open: %w", syscall.Errno(-cerr))
	}
	result := func(n C.int64_t) error {
		switch {
		case n < 0:
			return fmt.Errorf("c11 ring: %w", syscall.Errno(-n))
		case n > 0:
			return fmt.Errorf("%d wrong items", int64(n))
		}
		return nil
	}
	return ops{
		single: func(seq uint64, k int) error {
			return result(C.c11_single(b, C.uint64_t(seq), C.uint64_t(k)))
		},
		consume: func(seq uint64, k int) error {
			return result(C.c11_round(b, C.uint64_t(seq), C.uint64_t(k), C.uint64_t(testSkew)))
		},
		close: func() { C.c11_close(b) },
	}, nil
}

func cbool(v bool) C.int {
	if v {
		return 1
	}
	return 0
}
