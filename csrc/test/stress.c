/*
 * stress.c - pthread stress harness for the C core. It includes ring.c as a
 * private copy (SR_API static), which also checks that that mode builds.
 *
 * Environment:
 *	SR_STRESS_N		items per main scenario (default 2000000)
 *	SR_STRESS_TIMEOUT	seconds one scenario may take before the
 *				watchdog aborts (default 60)
 *	SR_STRESS_ONLY		run only the scenarios whose name contains it
 *				("mpsc" selects the multi-producer ones)
 *
 * Every check aborts with a message; every scenario prints one "ok" line.
 */
#define SR_API static
#include "../ring.c"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

/* --- Items: a u64 counter, or 24 bytes with a checksum. --- */

struct item24 {
	uint64_t seq, mix, sum;
};

#define MIX_K UINT64_C(0x9e3779b97f4a7c15)

static void make_item(void *p, uint64_t esz, uint64_t seq)
{
	struct item24 it = { seq, seq * MIX_K, ~(seq ^ seq * MIX_K) };

	memcpy(p, esz == 8 ? (void *)&seq : (void *)&it, esz);
}

static uint64_t item_seq(const void *p, uint64_t esz)
{
	struct item24 it;

	if (esz == 8) {
		memcpy(&it.seq, p, 8);
		return it.seq;
	}
	memcpy(&it, p, sizeof(it));
	CHECK(it.mix == it.seq * MIX_K && it.sum == ~(it.seq ^ it.mix),
	      "torn item: seq %" PRIu64 " mix %" PRIx64 " sum %" PRIx64, it.seq, it.mix, it.sum);
	return it.seq;
}

/* --- Two-thread scenarios --- */

enum { OP_PUSH = 1, OP_TRY = 2, OP_EVICT = 4, OP_BULK = 8, OP_BURST = 16, PUSH_ALL = 31 };
enum { OP_POP = 1, OP_TRYPOP = 2, OP_POPBULK = 4, OP_POPBURST = 8, POP_ALL = 15 };

#define MAXK 64

struct scen {
	const char *name;
	struct sr_config cfg;
	uint64_t n;
	bool wrap;	   /* start head/tail at WRAP_START */
	unsigned push_ops; /* OP_* the producer mixes */
	unsigned pop_ops;  /* OP_POP* the consumer mixes (one non-bulk at least) */
	unsigned maxk;	   /* largest batch */
	unsigned prod_nap; /* nap every this many items (0: never) */
	unsigned cons_nap;
	bool expect_park; /* the fast side must see the slow one parked */
	unsigned pace;	   /* DropOldest: cpu pauses per item pushed */
};

#define WRAP_START (UINT64_MAX - 1000)

struct shared {
	const struct scen *s;
	struct sr_ring *r;
	uint8_t *popped_map, *evicted_map; /* DropOldest */
	uint64_t popped, evicted_out;
	uint64_t prod_parked_seen, cons_parked_seen;
	atomic_int ready; /* both threads start together */
};

static void start_together(struct shared *x)
{
	atomic_fetch_add(&x->ready, 1);
	while (atomic_load(&x->ready) < 2)
		sched_yield();
}

static unsigned pick(uint64_t *rng, unsigned ops)
{
	for (;;) {
		unsigned op = 1u << (rnd(rng) % 5);
		if (ops & op)
			return op;
	}
}

static void backoff(unsigned *fails)
{
	if (++*fails % 32)
		sr_relax();
	else
		sched_yield();
}

static void nap(uint64_t *rng)
{
	sleep_us(10 + (long)(rnd(rng) % 60));
}

static void mark(uint8_t *map, uint64_t seq, const char *what)
{
	CHECK(!(map[seq / 8] & (1u << seq % 8)), "%s item %" PRIu64 " seen twice", what, seq);
	map[seq / 8] |= (uint8_t)(1u << seq % 8);
}

static void *producer(void *arg)
{
	struct shared *x = arg;
	const struct scen *s = x->s;
	struct sr_ring *r = x->r;
	uint64_t esz = s->cfg.elem_size, cap = s->cfg.capacity;
	bool drop = s->cfg.backpressure == SR_DROP_OLDEST;
	bool reject = s->cfg.backpressure == SR_REJECT;
	unsigned char buf[MAXK * sizeof(struct item24)], ev[sizeof(struct item24)];
	uint64_t seq = 0, rng = 0x9e3779b9, last_ev = 0, next_nap = s->prod_nap;
	unsigned fails = 0;
	int rc = 0;

	start_together(x);
	while (seq < s->n) {
		unsigned op = pick(&rng, s->push_ops);
		uint64_t k = 1 + rnd(&rng) % s->maxk, done = 0;

		if (k > s->n - seq)
			k = s->n - seq;
		if (!drop && k > cap)
			k = cap;
		if (s->expect_park && atomic_load_explicit(&r->cons_wait, memory_order_relaxed))
			x->cons_parked_seen++;
		switch (op) {
		case OP_PUSH:
			make_item(buf, esz, seq);
			rc = sr_ring_push(r, buf);
			CHECK(rc == 0 || (reject && rc == -ENOBUFS), "push: %d", rc);
			done = rc == 0;
			break;
		case OP_TRY:
			make_item(buf, esz, seq);
			rc = sr_ring_try_push(r, buf);
			CHECK(rc == 0 || (!drop && rc == -EAGAIN), "try_push: %d", rc);
			done = rc == 0;
			break;
		case OP_EVICT:
			make_item(buf, esz, seq);
			rc = sr_ring_push_evict(r, buf, ev);
			CHECK(rc == 0 || (drop && rc == 1) || (reject && rc == -ENOBUFS),
			      "push_evict: %d", rc);
			if (rc == 1) {
				uint64_t e = item_seq(ev, esz);
				CHECK(e < seq && (x->evicted_out == 0 || e > last_ev),
				      "evicted %" PRIu64 " after %" PRIu64 " at %" PRIu64, e, last_ev, seq);
				mark(x->evicted_map, e, "evicted");
				last_ev = e;
				x->evicted_out++;
			}
			done = rc >= 0;
			break;
		case OP_BULK:
			for (uint64_t i = 0; i < k; i++)
				make_item(buf + i * esz, esz, seq + i);
			rc = sr_ring_push_bulk(r, buf, (unsigned)k);
			CHECK(rc == (int)k || (!drop && rc == -EAGAIN), "push_bulk(%" PRIu64 "): %d", k, rc);
			done = rc > 0 ? (uint64_t)rc : 0;
			break;
		case OP_BURST:
			for (uint64_t i = 0; i < k; i++)
				make_item(buf + i * esz, esz, seq + i);
			rc = sr_ring_push_burst(r, buf, (unsigned)k);
			CHECK(rc >= 0 && (uint64_t)rc <= k && (!drop || rc == (int)k),
			      "push_burst(%" PRIu64 "): %d", k, rc);
			done = (uint64_t)rc;
			break;
		}
		seq += done;
		for (uint64_t i = 0; i < done * s->pace; i++)
			sr_relax();
		if (done)
			fails = 0;
		else
			backoff(&fails);
		if (s->prod_nap && seq >= next_nap) {
			nap(&rng);
			next_nap = seq + s->prod_nap;
		}
	}
	CHECK(sr_ring_close(r, SR_CLOSED_PRODUCER) == 0, "close");
	CHECK(sr_ring_try_push(r, buf) == -EPIPE, "push after close");
	return NULL;
}

static void *consumer(void *arg)
{
	struct shared *x = arg;
	const struct scen *s = x->s;
	struct sr_ring *r = x->r;
	uint64_t esz = s->cfg.elem_size, cap = s->cfg.capacity;
	bool drop = s->cfg.backpressure == SR_DROP_OLDEST;
	unsigned char buf[MAXK * sizeof(struct item24)];
	uint64_t expect = 0, rng = 0x7f4a7c15, next_nap = s->cons_nap;
	unsigned fails = 0;
	int rc = 0;

	start_together(x);
	for (;;) {
		unsigned op = pick(&rng, s->pop_ops);
		uint64_t k = 1 + rnd(&rng) % s->maxk, got = 0;

		if (k > cap)
			k = cap;
		if (s->expect_park && atomic_load_explicit(&r->prod_wait, memory_order_relaxed))
			x->prod_parked_seen++;
		switch (op) {
		case OP_POP:
			rc = sr_ring_pop(r, buf);
			CHECK(rc == 0 || rc == -EPIPE, "pop: %d", rc);
			got = rc == 0;
			break;
		case OP_TRYPOP:
			rc = sr_ring_try_pop(r, buf);
			CHECK(rc == 0 || rc == -EAGAIN || rc == -EPIPE, "try_pop: %d", rc);
			got = rc == 0;
			break;
		case OP_POPBULK:
			rc = sr_ring_pop_bulk(r, buf, (unsigned)k);
			CHECK(rc == (int)k || rc == -EAGAIN || rc == -EPIPE, "pop_bulk(%" PRIu64 "): %d", k, rc);
			got = rc > 0 ? (uint64_t)rc : 0;
			break;
		case OP_POPBURST:
			rc = sr_ring_pop_burst(r, buf, (unsigned)k);
			CHECK((rc >= 0 && (uint64_t)rc <= k) || rc == -EPIPE, "pop_burst(%" PRIu64 "): %d", k, rc);
			got = rc > 0 ? (uint64_t)rc : 0;
			break;
		}
		if (rc == -EPIPE)
			break;
		for (uint64_t i = 0; i < got; i++) {
			uint64_t q = item_seq(buf + i * esz, esz);
			if (drop) {
				CHECK(q < s->n && (x->popped == 0 || q >= expect),
				      "popped %" PRIu64 ", expected > %" PRIu64, q, expect - 1);
				mark(x->popped_map, q, "popped");
			} else {
				CHECK(q == expect, "popped %" PRIu64 ", expected %" PRIu64, q, expect);
			}
			expect = q + 1;
			x->popped++;
		}
		CHECK(sr_ring_len(r) <= cap, "len %" PRIu64, sr_ring_len(r));
		if (got)
			fails = 0;
		else
			backoff(&fails);
		if (s->cons_nap && x->popped >= next_nap) {
			nap(&rng);
			next_nap = x->popped + s->cons_nap;
		}
	}
	/* Closed and drained stays so. */
	CHECK(sr_ring_pop(r, buf) == -EPIPE && sr_ring_try_pop(r, buf) == -EPIPE &&
	      sr_ring_pop_burst(r, buf, 1) == -EPIPE && sr_ring_pop_bulk(r, buf, 1) == -EPIPE,
	      "drained ring not -EPIPE");
	CHECK(drop || x->popped == s->n, "popped %" PRIu64 " of %" PRIu64, x->popped, s->n);
	return NULL;
}

/* Move a fresh ring's sequences to `start`. stamp[i] is the first seq >= start
 * that maps to slot i: the slot is free for it. */
static void set_start(struct sr_ring *r, uint64_t start)
{
	atomic_store_explicit(&r->tail, start, memory_order_relaxed);
	atomic_store_explicit(&r->head, start, memory_order_relaxed);
	atomic_store_explicit(&r->drain, start << 1, memory_order_relaxed); /* F2: nothing promised */
	r->head_cache = start;
	r->tail_cache = start;
	if (r->stamps_offset)
		for (uint64_t i = 0; i < r->capacity; i++)
			atomic_store_explicit(sr_ring_stamp(r, i),
					      SR_STAMP_FREE(start + ((i - start) & r->mask)),
					      memory_order_relaxed);
}

static const char *const bp_name[] = { "block", "drop", "reject" };
static const char *const wait_name[] = { "spin", "yield", "park", "adapt" };

static void run(const struct scen *s)
{
	struct shared x = { .s = s };
	bool drop = s->cfg.backpressure == SR_DROP_OLDEST;
	uint64_t start = s->wrap ? WRAP_START : 0, evicted;
	pthread_t p, c;
	double t0;
	int err;

	wd_arm(s->name);
	x.r = sr_ring_new(&s->cfg, &err);
	CHECK(x.r && err == 0, "%s: sr_ring_new: %d", s->name, err);
	CHECK(sr_ring_validate(x.r, x.r->total_size) == 0, "%s: validate", s->name);
	if (s->wrap)
		set_start(x.r, start);
	if (drop) {
		x.popped_map = calloc(s->n / 8 + 1, 1);
		x.evicted_map = calloc(s->n / 8 + 1, 1);
		CHECK(x.popped_map && x.evicted_map, "calloc");
	}
	t0 = now();
	CHECK(pthread_create(&c, NULL, consumer, &x) == 0, "pthread_create");
	CHECK(pthread_create(&p, NULL, producer, &x) == 0, "pthread_create");
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	t0 = now() - t0;

	evicted = sr_ring_evicted(x.r);
	CHECK(atomic_load(&x.r->tail) == start + s->n, "%s: tail", s->name);
	CHECK(sr_ring_len(x.r) == 0, "%s: len %" PRIu64 " after drain", s->name, sr_ring_len(x.r));
	CHECK(x.popped + evicted == s->n, "%s: popped %" PRIu64 " + evicted %" PRIu64 " != pushed %" PRIu64,
	      s->name, x.popped, evicted, s->n);
	CHECK(x.evicted_out <= evicted, "%s: evicted_out", s->name);
	if (drop)
		for (uint64_t i = 0; i <= s->n / 8; i++)
			CHECK(!(x.popped_map[i] & x.evicted_map[i]), "%s: item both popped and evicted near %" PRIu64,
			      s->name, i * 8);
	if (s->expect_park)
		CHECK(x.prod_parked_seen + x.cons_parked_seen > 0, "%s: nobody ever parked", s->name);
	printf("ok  %-28s %-6s %-5s cap=%-4" PRIu64 " esz=%-2" PRIu64 " pushed=%-8" PRIu64
	       " popped=%-8" PRIu64 " evicted=%-7" PRIu64 " (out %" PRIu64 ") parked-seen=%" PRIu64
	       " %.2fs\n",
	       s->name, bp_name[s->cfg.backpressure], wait_name[s->cfg.wait], s->cfg.capacity,
	       s->cfg.elem_size, s->n, x.popped, evicted, x.evicted_out,
	       x.prod_parked_seen + x.cons_parked_seen, t0);
	fflush(stdout);
	free(x.popped_map);
	free(x.evicted_map);
	sr_ring_release(x.r);
}

/* --- (e) close semantics --- */

struct blocked {
	struct sr_ring *r;
	int rc;
	atomic_int done;
	unsigned char buf[sizeof(struct item24)];
};

static void *blocked_pop(void *arg)
{
	struct blocked *b = arg;

	b->rc = sr_ring_pop(b->r, b->buf);
	atomic_store(&b->done, 1);
	return NULL;
}

static void *blocked_push(void *arg)
{
	struct blocked *b = arg;

	make_item(b->buf, 8, 999);
	b->rc = sr_ring_push(b->r, b->buf);
	atomic_store(&b->done, 1);
	return NULL;
}

/* Start fn on r, let it block (under Park: until it sleeps on `word`), close
 * `side` from here, and expect -EPIPE from it. */
static void close_blocked(struct sr_ring *r, void *(*fn)(void *), _Atomic uint32_t *word, uint32_t side)
{
	struct blocked b = { .r = r };
	pthread_t t;

	CHECK(pthread_create(&t, NULL, fn, &b) == 0, "pthread_create");
	sleep_us(20000);
	if (r->wait != SR_WAIT_SPIN) /* every other strategy ends up asleep */
		for (int i = 0; !atomic_load(word); i++) {
			CHECK(i < 5000, "waiter never parked");
			sleep_us(1000);
		}
	CHECK(!atomic_load(&b.done), "did not block (rc %d)", b.rc);
	CHECK(sr_ring_close(r, side) == 0, "close");
	pthread_join(t, NULL);
	CHECK(b.rc == -EPIPE, "blocked call returned %d, want -EPIPE", b.rc);
}

static void expect_push_epipe(struct sr_ring *r)
{
	uint64_t v[4] = { 0 };

	CHECK(sr_ring_push(r, v) == -EPIPE && sr_ring_try_push(r, v) == -EPIPE &&
	      sr_ring_push_evict(r, v, v + 1) == -EPIPE && sr_ring_push_bulk(r, v, 2) == -EPIPE &&
	      sr_ring_push_burst(r, v, 2) == -EPIPE,
	      "push after close not -EPIPE");
}

static struct sr_ring *mk(uint64_t cap, uint32_t bp, uint32_t wait)
{
	struct sr_config c = { .capacity = cap, .elem_size = 8, .backpressure = bp, .wait = wait, .spins = 50 };
	int err;
	struct sr_ring *r = sr_ring_new(&c, &err);

	CHECK(r && err == 0, "sr_ring_new: %d", err);
	return r;
}

static void test_close(void)
{
	double t0 = now();
	uint64_t v, out[8];

	wd_arm("close");
	for (uint32_t wait = SR_WAIT_SPIN; wait <= SR_WAIT_ADAPTIVE; wait++) {
		for (uint32_t bp = SR_BLOCK; bp <= SR_REJECT; bp++) {
			/* A consumer blocked on an empty ring; the producer closes. */
			struct sr_ring *r = mk(8, bp, wait);
			close_blocked(r, blocked_pop, &r->cons_wait, SR_CLOSED_PRODUCER);
			CHECK(sr_ring_close(r, SR_CLOSED_PRODUCER) == -EPIPE, "double close");
			expect_push_epipe(r);
			CHECK(sr_ring_close(r, SR_CLOSED_CONSUMER) == 0, "close consumer");
			CHECK(sr_ring_close(r, SR_CLOSED_CONSUMER) == -EPIPE, "double close");
			CHECK(sr_ring_close(r, 0) == -EINVAL && sr_ring_close(r, 3) == -EINVAL, "bad side");
			CHECK(sr_ring_closed(r) == (SR_CLOSED_PRODUCER | SR_CLOSED_CONSUMER), "closed bits");
			sr_ring_release(r);

			/* Items pushed before close drain, in order, then -EPIPE.
			 * DropOldest: 12 into 8 leaves 4..11. */
			r = mk(8, bp, wait);
			uint64_t pushed = bp == SR_DROP_OLDEST ? 12 : 5, first = pushed > 8 ? pushed - 8 : 0;
			for (v = 0; v < pushed; v++)
				CHECK(sr_ring_try_push(r, &v) == 0, "try_push");
			CHECK(sr_ring_close(r, SR_CLOSED_PRODUCER) == 0, "close");
			expect_push_epipe(r);
			if (pushed < 8)
				CHECK(sr_ring_pop_bulk(r, out, 8) == -EAGAIN, "bulk past the end of a closed ring");
			CHECK(sr_ring_pop_burst(r, out, 2) == 2 && out[0] == first && out[1] == first + 1, "burst");
			for (v = first + 2; v < pushed; v++)
				CHECK(sr_ring_pop(r, out) == 0 && out[0] == v, "drain %" PRIu64, v);
			CHECK(sr_ring_pop(r, out) == -EPIPE && sr_ring_try_pop(r, out) == -EPIPE &&
			      sr_ring_pop_burst(r, out, 4) == -EPIPE && sr_ring_pop_bulk(r, out, 4) == -EPIPE,
			      "drained");
			sr_ring_release(r);

			/* A consumer that closed gets -EPIPE though items remain. */
			r = mk(8, bp, wait);
			CHECK(sr_ring_try_push(r, &v) == 0, "try_push");
			CHECK(sr_ring_close(r, SR_CLOSED_CONSUMER) == 0, "close");
			CHECK(sr_ring_try_pop(r, out) == -EPIPE && sr_ring_pop(r, out) == -EPIPE, "pop after consumer close");
			expect_push_epipe(r);
			sr_ring_release(r);
		}

		/* A producer blocked on a full Block ring; the consumer closes. */
		struct sr_ring *r = mk(8, SR_BLOCK, wait);
		for (v = 0; v < 8; v++)
			CHECK(sr_ring_try_push(r, &v) == 0, "fill");
		CHECK(sr_ring_try_push(r, &v) == -EAGAIN, "full");
		close_blocked(r, blocked_push, &r->prod_wait, SR_CLOSED_CONSUMER);
		expect_push_epipe(r);
		sr_ring_release(r);

		/* A blocked consumer gets data, then -EPIPE after close. */
		r = mk(8, SR_BLOCK, wait);
		struct blocked b = { .r = r };
		pthread_t t;
		for (v = 0; v < 3; v++) {
			CHECK(pthread_create(&t, NULL, blocked_pop, &b) == 0, "pthread_create");
			sleep_us(5000);
			CHECK(sr_ring_try_push(r, &v) == 0, "push");
			pthread_join(t, NULL);
			CHECK(b.rc == 0 && memcmp(b.buf, &v, 8) == 0, "woken pop: %d", b.rc);
		}
		close_blocked(r, blocked_pop, &r->cons_wait, SR_CLOSED_PRODUCER);
		sr_ring_release(r);
	}
	printf("ok  close: blocked pop/push -> -EPIPE (spin, yield, park, adaptive), drain, double close  %.2fs\n",
	       now() - t0);
}

/* --- (f) configuration, init, validate, batches --- */

static void test_config(void)
{
	const struct sr_config good = { .capacity = 4, .elem_size = 24, .wait = SR_WAIT_PARK, .spins = 10 };
	struct sr_config bad[] = {
		{ .capacity = 0, .elem_size = 8 },
		{ .capacity = 3, .elem_size = 8 },
		{ .capacity = 6, .elem_size = 8 },
		{ .capacity = SR_MAX_CAPACITY * 2, .elem_size = 1 },
		{ .capacity = UINT64_C(1) << 63, .elem_size = 1 },
		{ .capacity = 4, .elem_size = 0 },
		{ .capacity = 4, .elem_size = SR_MAX_ELEM_SIZE + 1 },
		{ .capacity = 4, .elem_size = UINT64_MAX },
		{ .capacity = 4, .elem_size = 8, .backpressure = 3 },
		{ .capacity = 4, .elem_size = 8, .wait = 4 },
		{ .capacity = 4, .elem_size = 8, .wait = SR_WAIT_ADAPTIVE, .spins = SR_MAX_SPIN_NS + 1 },
		{ .capacity = 4, .elem_size = 8, .flags = 2 },
		{ .capacity = SR_MAX_CAPACITY, .elem_size = SR_MAX_ELEM_SIZE },
		{ .capacity = SR_MAX_CAPACITY, .elem_size = 1024 }, /* 2^40 + header */
	};
	struct sr_config c;
	struct sr_ring *r;
	double t0 = now();
	uint64_t v[16];
	int err;

	wd_arm("config");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(sr_ring_size(&bad[i]) == 0, "bad config %zu has a size", i);
		err = 0;
		CHECK(sr_ring_new(&bad[i], &err) == NULL && err == -EINVAL, "bad config %zu: new, err %d", i, err);
		CHECK(sr_ring_new(&bad[i], NULL) == NULL, "bad config %zu: new", i);
	}
	CHECK(sr_ring_size(NULL) == 0, "NULL config");

	c = good;
	CHECK(sr_ring_size(&c) == 768 + 128 + 32, "size %zu", sr_ring_size(&c));
	c.backpressure = SR_DROP_OLDEST;
	CHECK(sr_ring_size(&c) == 768 + 128 + 32, "size %zu", sr_ring_size(&c));
	c = (struct sr_config){ .capacity = 1024, .elem_size = 8, .backpressure = SR_REJECT };
	CHECK(sr_ring_size(&c) == 768 + 8192 + 8192, "size %zu", sr_ring_size(&c));
	c = (struct sr_config){ .capacity = 1, .elem_size = 1, .flags = SR_FLAG_SHARED };
	CHECK(sr_ring_size(&c) == 768 + 128 + 8, "size %zu", sr_ring_size(&c));
	c = (struct sr_config){ .capacity = SR_MAX_CAPACITY, .elem_size = 512, .backpressure = SR_DROP_OLDEST };
	CHECK(sr_ring_size(&c) == 768 + (UINT64_C(1) << 39) + (UINT64_C(1) << 33), "size %zu", sr_ring_size(&c));

	/* validate: a good ring, then one corruption at a time. */
	c = good;
	c.backpressure = SR_DROP_OLDEST;
	r = sr_ring_new(&c, &err);
	CHECK(r && err == 0, "new: %d", err);
	CHECK(sr_ring_validate(r, r->total_size) == 0, "validate");
	CHECK(sr_ring_validate(r, r->total_size - 1) == -EINVAL, "validate short size");
	CHECK(sr_ring_validate(r, 64) == -EINVAL && sr_ring_validate(NULL, 4096) == -EINVAL, "validate tiny");
	CHECK(sr_ring_validate((void *)((char *)r + 8), 4096) == -EINVAL, "validate misaligned");
#define CORRUPT(field, val)                                                                  \
	do {                                                                                 \
		__typeof__(r->field) saved = r->field;                                       \
		r->field = (val);                                                            \
		CHECK(sr_ring_validate(r, 1 << 20) == -EINVAL, "validate took bad " #field); \
		r->field = saved;                                                            \
		CHECK(sr_ring_validate(r, 1 << 20) == 0, "validate after " #field);          \
	} while (0)
	CORRUPT(magic, SR_MAGIC ^ 1);
	CORRUPT(version, SR_VERSION + 1);
	CORRUPT(backpressure, 3);
	CORRUPT(wait, 4);
	CORRUPT(capacity, 3);
	CORRUPT(capacity, 8);
	CORRUPT(mask, 7);
	CORRUPT(elem_size, 0);
	CORRUPT(elem_size, 200);
	CORRUPT(slots_offset, 896);
	CORRUPT(stamps_offset, 0);
	CORRUPT(total_size, r->total_size + 8);
	CORRUPT(flags, 4);
	for (uint64_t i = 0; i < 4; i++)
		CHECK(atomic_load(sr_ring_stamp(r, i)) == SR_STAMP_FREE(i), "stamp %" PRIu64, i);
	sr_ring_retain(r);
	sr_ring_release(r);
	sr_ring_release(r); /* freed here; ASan would see a leak or a double free */

	/* init in caller memory. */
	void *mem = aligned_alloc(SR_LINE, 4096);
	CHECK(mem, "aligned_alloc");
	c = good;
	CHECK(sr_ring_init((char *)mem + 64, 2048, &c) == -EINVAL, "init misaligned");
	CHECK(sr_ring_init(mem, sr_ring_size(&c) - 1, &c) == -EINVAL, "init short");
	CHECK(sr_ring_init(NULL, 4096, &c) == -EINVAL, "init NULL");
	CHECK(sr_ring_init(mem, 4096, &bad[1]) == -EINVAL, "init bad config");
	memset(mem, 0xa5, 4096); /* init must not rely on zeroed memory */
	CHECK(sr_ring_init(mem, 4096, &c) == 0 && sr_ring_validate(mem, 4096) == 0, "init");
	r = mem;
	CHECK(sr_ring_len(r) == 0 && sr_ring_closed(r) == 0 && sr_ring_evicted(r) == 0, "init state");
	free(mem);

	/* Batches larger than the ring. */
	r = mk(4, SR_BLOCK, SR_WAIT_SPIN);
	CHECK(sr_ring_push_bulk(r, v, 5) == -EINVAL && sr_ring_pop_bulk(r, v, 5) == -EINVAL, "bulk > capacity");
	CHECK(sr_ring_push_bulk(r, v, 0) == 0 && sr_ring_pop_bulk(r, v, 0) == 0 &&
	      sr_ring_push_burst(r, v, 0) == 0 && sr_ring_pop_burst(r, v, 0) == 0, "empty batches");
	for (int i = 0; i < 6; i++)
		v[i] = (uint64_t)i;
	CHECK(sr_ring_push_burst(r, v, 6) == 4 && sr_ring_push_burst(r, v, 6) == 0, "burst into full");
	CHECK(sr_ring_push_bulk(r, v, 1) == -EAGAIN && sr_ring_try_push(r, v) == -EAGAIN, "bulk into full");
	CHECK(sr_ring_len(r) == 4 && sr_ring_pop_bulk(r, v + 8, 4) == 4 && v[11] == 3, "pop_bulk");
	CHECK(sr_ring_pop_bulk(r, v, 1) == -EAGAIN && sr_ring_pop_burst(r, v, 4) == 0, "empty");
	sr_ring_release(r);
	r = mk(4, SR_REJECT, SR_WAIT_SPIN);
	for (v[0] = 0; v[0] < 4; v[0]++)
		CHECK(sr_ring_push(r, v) == 0, "push");
	CHECK(sr_ring_push(r, v) == -ENOBUFS && sr_ring_push_evict(r, v, v + 1) == -ENOBUFS &&
	      sr_ring_try_push(r, v) == -EAGAIN, "reject full");
	sr_ring_release(r);
	r = mk(4, SR_DROP_OLDEST, SR_WAIT_SPIN);
	for (int i = 0; i < 10; i++)
		v[i] = (uint64_t)i;
	CHECK(sr_ring_push_bulk(r, v, 10) == 10, "drop bulk > capacity");
	CHECK(sr_ring_evicted(r) == 6 && sr_ring_len(r) == 4, "evicted %" PRIu64, sr_ring_evicted(r));
	v[0] = 10;
	CHECK(sr_ring_push_evict(r, v, v + 1) == 1 && v[1] == 6, "push_evict returns the oldest");
	CHECK(sr_ring_push_evict(r, v, NULL) == 0 && sr_ring_evicted(r) == 8, "push_evict, no out");
	CHECK(sr_ring_pop_burst(r, v, 8) == 4 && v[0] == 8 && v[1] == 9 && v[2] == 10 && v[3] == 10, "drop pop");
	sr_ring_release(r);
	printf("ok  config: bad configs, size, init, validate, batch edges  %.2fs\n", now() - t0);
}

/* --- (g) MPSC: several producer threads, upgraded under load --- */

/* Item value: producer id << 40 | that producer's sequence. */
#define MP_SHIFT 40
#define MP_SEQ(v) ((v) & ((UINT64_C(1) << MP_SHIFT) - 1))
#define MP_ID(v) ((v) >> MP_SHIFT)
#define MAXP 8

struct mscen {
	const char *name;
	struct sr_config cfg;
	unsigned k;	   /* producer threads */
	uint64_t n;	   /* items per producer */
	bool wrap;	   /* sequences cross 2^64 after the upgrade */
	unsigned push_ops; /* OP_* the producers mix */
	unsigned pop_ops;  /* OP_POP* the consumer mixes */
	unsigned maxk;	   /* largest batch */
	unsigned pace;	   /* DropOldest: cpu pauses per item pushed */
	unsigned cons_nap; /* consumer naps every this many items (0: never) */
	bool expect_park;  /* the consumer must see producers parked */
};

struct mshared;

struct mprod {
	struct mshared *x;
	unsigned id;
	uint64_t evicted_out; /* items push_evict handed back */
};

struct mshared {
	const struct mscen *s;
	struct sr_ring *r;
	uint64_t start;
	struct mprod prod[MAXP];
	pthread_t th[MAXP]; /* th[1..k-1] are written by producer 0 */
	uint8_t *popped_map;		/* DropOldest, the consumer's */
	_Atomic uint8_t *evicted_map;	/* DropOldest, every producer's */
	uint64_t popped, prod_parked_seen;
	uint64_t mp_start_seen;		/* mp_start, read after the run */
	atomic_uint_fast64_t cons_popped; /* progress, for producer 0 */
	atomic_int ready;
};

static void *mproducer(void *arg);

static void mmark_evicted(struct mshared *x, uint64_t v)
{
	uint64_t i = MP_ID(v) * x->s->n + MP_SEQ(v);
	uint8_t bit = (uint8_t)(1u << i % 8);

	CHECK(MP_ID(v) < x->s->k && MP_SEQ(v) < x->s->n, "evicted a stranger %" PRIx64, v);
	CHECK(!(atomic_fetch_or(&x->evicted_map[i / 8], bit) & bit), "evicted %" PRIx64 " twice", v);
}

/* Producer 0 is the ring's first producer: it pushes alone (SPSC) until
 * the consumer is busy, then, having just pushed, upgrades the ring with
 * sr_ring_add_producer and starts the others one by one. */
static void *mproducer(void *arg)
{
	struct mprod *me = arg;
	struct mshared *x = me->x;
	const struct mscen *s = x->s;
	struct sr_ring *r = x->r;
	uint64_t esz = s->cfg.elem_size, cap = s->cfg.capacity, tag = (uint64_t)me->id << MP_SHIFT;
	bool drop = s->cfg.backpressure == SR_DROP_OLDEST;
	bool reject = s->cfg.backpressure == SR_REJECT;
	unsigned char buf[MAXK * sizeof(struct item24)], ev[sizeof(struct item24)];
	uint64_t seq = 0, rng = 0x9e3779b9 + me->id, last_ev[MAXP] = { 0 }, split = s->n / 4;
	unsigned fails = 0, started = me->id ? s->k : 1;
	int rc = 0;

	if (me->id == 0) {
		atomic_fetch_add(&x->ready, 1);
		while (atomic_load(&x->ready) < 2)
			sched_yield();
	}
	while (seq < s->n || started < s->k) {
		if (started < s->k && seq >= split && atomic_load(&x->cons_popped) > 0) {
			/* Upgrade (first time) under load; no push of ours is
			 * in flight. The new producer counts before it runs. */
			CHECK(sr_ring_add_producer(r) == 0, "add_producer");
			CHECK(sr_ring_is_multi(r), "not multi after add_producer");
			x->prod[started] = (struct mprod){ .x = x, .id = started };
			CHECK(pthread_create(&x->th[started], NULL, mproducer, &x->prod[started]) == 0,
			      "pthread_create");
			started++;
			continue;
		}
		if (seq == s->n) { /* done before the consumer got going */
			sched_yield();
			continue;
		}
		unsigned op = pick(&rng, s->push_ops);
		uint64_t k = 1 + rnd(&rng) % s->maxk, done = 0;

		if (k > s->n - seq)
			k = s->n - seq;
		if (!drop && k > cap)
			k = cap;
		switch (op) {
		case OP_PUSH:
			make_item(buf, esz, tag | seq);
			rc = sr_ring_push(r, buf);
			CHECK(rc == 0 || (reject && rc == -ENOBUFS), "push: %d", rc);
			done = rc == 0;
			break;
		case OP_TRY:
			make_item(buf, esz, tag | seq);
			rc = sr_ring_try_push(r, buf);
			CHECK(rc == 0 || (!drop && rc == -EAGAIN), "try_push: %d", rc);
			done = rc == 0;
			break;
		case OP_EVICT:
			make_item(buf, esz, tag | seq);
			rc = sr_ring_push_evict(r, buf, ev);
			CHECK(rc == 0 || (drop && rc == 1) || (reject && rc == -ENOBUFS), "push_evict: %d", rc);
			if (rc == 1) {
				uint64_t e = item_seq(ev, esz);

				mmark_evicted(x, e);
				/* One producer evicts in claim order, so per
				 * origin in its sequence order. */
				CHECK(e != (tag | seq) && (last_ev[MP_ID(e)] == 0 || MP_SEQ(e) >= last_ev[MP_ID(e)]),
				      "evicted %" PRIx64 " out of order", e);
				last_ev[MP_ID(e)] = MP_SEQ(e) + 1;
				me->evicted_out++;
			}
			done = rc >= 0;
			break;
		case OP_BULK:
			for (uint64_t i = 0; i < k; i++)
				make_item(buf + i * esz, esz, tag | (seq + i));
			rc = sr_ring_push_bulk(r, buf, (unsigned)k);
			CHECK(rc == (int)k || (!drop && rc == -EAGAIN), "push_bulk(%" PRIu64 "): %d", k, rc);
			done = rc > 0 ? (uint64_t)rc : 0;
			break;
		case OP_BURST:
			for (uint64_t i = 0; i < k; i++)
				make_item(buf + i * esz, esz, tag | (seq + i));
			rc = sr_ring_push_burst(r, buf, (unsigned)k);
			CHECK(rc >= 0 && (uint64_t)rc <= k && (!drop || rc == (int)k), "push_burst(%" PRIu64 "): %d",
			      k, rc);
			done = (uint64_t)rc;
			break;
		}
		seq += done;
		for (uint64_t i = 0; i < done * s->pace; i++)
			sr_relax();
		if (done)
			fails = 0;
		else
			backoff(&fails);
	}
	/* Each producer closes once; only the last closes the side. */
	CHECK(sr_ring_close(r, SR_CLOSED_PRODUCER) == 0, "close");
	return NULL;
}

static void *mconsumer(void *arg)
{
	struct mshared *x = arg;
	const struct mscen *s = x->s;
	struct sr_ring *r = x->r;
	uint64_t esz = s->cfg.elem_size, cap = s->cfg.capacity;
	bool drop = s->cfg.backpressure == SR_DROP_OLDEST;
	unsigned char buf[MAXK * sizeof(struct item24)];
	uint64_t expect[MAXP] = { 0 }, rng = 0x7f4a7c15, next_nap = s->cons_nap;
	unsigned fails = 0;
	int rc = 0;

	atomic_fetch_add(&x->ready, 1);
	while (atomic_load(&x->ready) < 2)
		sched_yield();
	for (;;) {
		unsigned op = pick(&rng, s->pop_ops);
		uint64_t k = 1 + rnd(&rng) % s->maxk, got = 0;

		if (k > cap)
			k = cap;
		if (s->expect_park && atomic_load_explicit(&r->prod_wait, memory_order_relaxed))
			x->prod_parked_seen++;
		switch (op) {
		case OP_POP:
			rc = sr_ring_pop(r, buf);
			CHECK(rc == 0 || rc == -EPIPE, "pop: %d", rc);
			got = rc == 0;
			break;
		case OP_TRYPOP:
			rc = sr_ring_try_pop(r, buf);
			CHECK(rc == 0 || rc == -EAGAIN || rc == -EPIPE, "try_pop: %d", rc);
			got = rc == 0;
			break;
		case OP_POPBULK:
			rc = sr_ring_pop_bulk(r, buf, (unsigned)k);
			CHECK(rc == (int)k || rc == -EAGAIN || rc == -EPIPE, "pop_bulk(%" PRIu64 "): %d", k, rc);
			got = rc > 0 ? (uint64_t)rc : 0;
			break;
		case OP_POPBURST:
			rc = sr_ring_pop_burst(r, buf, (unsigned)k);
			CHECK((rc >= 0 && (uint64_t)rc <= k) || rc == -EPIPE, "pop_burst(%" PRIu64 "): %d", k, rc);
			got = rc > 0 ? (uint64_t)rc : 0;
			break;
		}
		if (rc == -EPIPE)
			break;
		for (uint64_t i = 0; i < got; i++) {
			uint64_t v = item_seq(buf + i * esz, esz), id = MP_ID(v), q = MP_SEQ(v);

			CHECK(id < s->k && q < s->n, "popped a stranger %" PRIx64, v);
			if (drop) {
				/* Per producer FIFO, gaps allowed (evicted). */
				CHECK(q >= expect[id], "producer %" PRIu64 ": popped %" PRIu64 ", expected >= %" PRIu64,
				      id, q, expect[id]);
				mark(x->popped_map, id * s->n + q, "popped");
			} else {
				CHECK(q == expect[id], "producer %" PRIu64 ": popped %" PRIu64 ", expected %" PRIu64, id,
				      q, expect[id]);
			}
			expect[id] = q + 1;
			x->popped++;
		}
		if (got)
			atomic_store_explicit(&x->cons_popped, x->popped, memory_order_relaxed);
		if (got)
			fails = 0;
		else
			backoff(&fails);
		if (s->cons_nap && x->popped >= next_nap) {
			nap(&rng);
			next_nap = x->popped + s->cons_nap;
		}
	}
	/* -EPIPE only after every item of every producer. */
	if (!drop)
		for (unsigned i = 0; i < s->k; i++)
			CHECK(expect[i] == s->n, "-EPIPE with producer %u at %" PRIu64 " of %" PRIu64, i, expect[i],
			      s->n);
	CHECK(sr_ring_pop(r, buf) == -EPIPE && sr_ring_try_pop(r, buf) == -EPIPE &&
	      sr_ring_pop_burst(r, buf, 1) == -EPIPE && sr_ring_pop_bulk(r, buf, 1) == -EPIPE,
	      "drained ring not -EPIPE");
	return NULL;
}

static void mrun(const struct mscen *s)
{
	struct mshared x = { .s = s };
	bool drop = s->cfg.backpressure == SR_DROP_OLDEST;
	uint64_t total = s->n * s->k, evicted, evicted_out = 0;
	pthread_t c;
	double t0;
	int err;

	CHECK(s->k >= 2 && s->k <= MAXP && s->n >= 16, "%s: bad scenario", s->name);
	wd_arm(s->name);
	x.r = sr_ring_new(&s->cfg, &err);
	CHECK(x.r && err == 0, "%s: sr_ring_new: %d", s->name, err);
	/* Wrap: the SPSC part (n/4 items of producer 0, and whatever the
	 * consumer's start adds) stays below 2^64, the MPSC part crosses. */
	x.start = s->wrap ? UINT64_MAX - s->n / 4 - 2 * s->cfg.capacity - 500 : 0;
	if (s->wrap)
		set_start(x.r, x.start);
	if (drop) {
		x.popped_map = calloc(total / 8 + 1, 1);
		x.evicted_map = calloc(total / 8 + 1, 1);
		CHECK(x.popped_map && x.evicted_map, "calloc");
	}
	x.prod[0] = (struct mprod){ .x = &x, .id = 0 };
	t0 = now();
	CHECK(pthread_create(&c, NULL, mconsumer, &x) == 0, "pthread_create");
	CHECK(pthread_create(&x.th[0], NULL, mproducer, &x.prod[0]) == 0, "pthread_create");
	/* Producer 0 wrote th[1..] before it ended: joining it first orders
	 * those writes before our reads. */
	for (unsigned i = 0; i < s->k; i++)
		pthread_join(x.th[i], NULL);
	pthread_join(c, NULL);
	t0 = now() - t0;

	for (unsigned i = 0; i < s->k; i++)
		evicted_out += x.prod[i].evicted_out;
	evicted = sr_ring_evicted(x.r);
	x.mp_start_seen = atomic_load(&x.r->mp_start) - x.start;
	CHECK(sr_ring_is_multi(x.r), "%s: not multi", s->name);
	CHECK(sr_ring_closed(x.r) == SR_CLOSED_PRODUCER, "%s: closed %u", s->name, sr_ring_closed(x.r));
	CHECK(atomic_load(&x.r->producers) == 0, "%s: producers", s->name);
	CHECK(sr_ring_close(x.r, SR_CLOSED_PRODUCER) == -EPIPE, "%s: close after the last", s->name);
	CHECK(sr_ring_add_producer(x.r) == -EPIPE, "%s: add_producer after close", s->name);
	expect_push_epipe(x.r);
	CHECK(atomic_load(&x.r->tail) == x.start + total, "%s: tail", s->name);
	CHECK(sr_ring_len(x.r) == 0, "%s: len %" PRIu64 " after drain", s->name, sr_ring_len(x.r));
	CHECK(x.popped + evicted == total,
	      "%s: popped %" PRIu64 " + evicted %" PRIu64 " != pushed %" PRIu64, s->name, x.popped, evicted, total);
	CHECK(drop || evicted == 0, "%s: evicted without DropOldest", s->name);
	CHECK(evicted_out <= evicted, "%s: evicted_out", s->name);
	CHECK(x.mp_start_seen >= s->n / 4 && x.mp_start_seen <= s->n, "%s: upgraded at %" PRIu64, s->name,
	      x.mp_start_seen);
	if (drop)
		for (uint64_t i = 0; i <= total / 8; i++)
			CHECK(!(x.popped_map[i] & atomic_load(&x.evicted_map[i])),
			      "%s: item both popped and evicted near %" PRIu64, s->name, i * 8);
	if (s->expect_park)
		CHECK(x.prod_parked_seen > 0, "%s: no producer ever parked", s->name);
	printf("ok  %-28s %-6s %-5s cap=%-4" PRIu64 " esz=%-2" PRIu64 " k=%u pushed=%-7" PRIu64 " popped=%-7" PRIu64
	       " evicted=%-7" PRIu64 " (out %" PRIu64 ") upgraded@%" PRIu64 " parked-seen=%" PRIu64 " %.2fs\n",
	       s->name, bp_name[s->cfg.backpressure], wait_name[s->cfg.wait], s->cfg.capacity, s->cfg.elem_size,
	       s->k, total, x.popped, evicted, evicted_out, x.mp_start_seen, x.prod_parked_seen, t0);
	fflush(stdout);
	free(x.popped_map);
	free((void *)x.evicted_map);
	sr_ring_release(x.r);
}

/* Single-threaded MPSC semantics: counting, close, upgrade order, results. */
static void test_mpsc_basic(void)
{
	double t0 = now();
	uint64_t v[16], out[16];

	wd_arm("mpsc-basic");
	for (uint32_t bp = SR_BLOCK; bp <= SR_REJECT; bp++) {
		struct sr_ring *r = mk(4, bp, SR_WAIT_PARK);
		bool drop = bp == SR_DROP_OLDEST;

		CHECK(atomic_load(&r->producers) == 1 && !sr_ring_is_multi(r), "fresh ring");
		for (uint64_t i = 0; i < 4; i++)
			CHECK(atomic_load(sr_ring_stamp(r, i)) == SR_STAMP_FREE(i), "stamp %" PRIu64, i);
		/* Two SPSC items, the upgrade, then MPSC items: one order. */
		for (v[0] = 0; v[0] < 2; v[0]++)
			CHECK(sr_ring_push(r, v) == 0, "push");
		CHECK(sr_ring_pop(r, out) == 0 && out[0] == 0, "pop before upgrade");
		CHECK(sr_ring_add_producer(r) == 0 && sr_ring_is_multi(r), "upgrade");
		CHECK(atomic_load(&r->mp_start) == 2 && atomic_load(&r->producers) == 2, "mp_start");
		CHECK(sr_ring_closed(r) == 0, "SR_MULTI is not a close: %u", sr_ring_closed(r));
		CHECK(sr_ring_add_producer(r) == 0 && atomic_load(&r->producers) == 3, "third producer");
		for (v[0] = 2; v[0] < 5; v[0]++)
			CHECK(sr_ring_try_push(r, v) == 0, "push after upgrade");
		CHECK(sr_ring_len(r) == 4, "len %" PRIu64, sr_ring_len(r));
		v[0] = 5;
		if (drop) {
			CHECK(sr_ring_push_evict(r, v, out) == 1 && out[0] == 1 && sr_ring_evicted(r) == 1,
			      "evict across the upgrade");
		} else {
			CHECK(sr_ring_try_push(r, v) == -EAGAIN && sr_ring_push_bulk(r, v, 1) == -EAGAIN &&
			      sr_ring_push_burst(r, v, 3) == 0, "full");
			CHECK(bp != SR_REJECT || sr_ring_push(r, v) == -ENOBUFS, "reject full");
			CHECK(sr_ring_pop(r, out) == 0 && out[0] == 1, "pop below mp_start");
			CHECK(sr_ring_push_burst(r, v, 1) == 1, "burst");
		}
		/* 2, 3, 4, 5 now. */
		CHECK(sr_ring_pop_bulk(r, out, 3) == 3 && out[0] == 2 && out[2] == 4, "pop_bulk");
		for (int i = 0; i < 6; i++)
			v[i] = 6 + (uint64_t)i;
		if (drop) {
			/* 5, 6..11 into 4: 5..7 go. */
			CHECK(sr_ring_push_bulk(r, v, 6) == 6 && sr_ring_evicted(r) == 4, "drop bulk > capacity");
			CHECK(sr_ring_pop_burst(r, out, 8) == 4 && out[0] == 8 && out[3] == 11, "drop pop");
		} else {
			CHECK(sr_ring_push_bulk(r, v, 5) == -EINVAL, "bulk > capacity");
			CHECK(sr_ring_push_burst(r, v, 6) == 3, "burst partial");
			CHECK(sr_ring_pop_burst(r, out, 8) == 4 && out[0] == 5 && out[3] == 8, "burst pop");
		}
		CHECK(sr_ring_try_pop(r, out) == -EAGAIN && sr_ring_pop_burst(r, out, 2) == 0, "empty");
		/* Three producers close; the side closes with the last. */
		v[0] = 42;
		CHECK(sr_ring_close(r, SR_CLOSED_PRODUCER) == 0 && sr_ring_closed(r) == 0, "first close");
		CHECK(sr_ring_try_push(r, v) == 0, "others still push");
		CHECK(sr_ring_close(r, SR_CLOSED_PRODUCER) == 0 && sr_ring_closed(r) == 0, "second close");
		CHECK(sr_ring_try_pop(r, out) == 0 && out[0] == 42, "pop");
		CHECK(sr_ring_try_push(r, v) == 0, "last still pushes");
		CHECK(sr_ring_close(r, SR_CLOSED_PRODUCER) == 0 && sr_ring_closed(r) == SR_CLOSED_PRODUCER,
		      "last close");
		CHECK(sr_ring_close(r, SR_CLOSED_PRODUCER) == -EPIPE, "close past the last");
		CHECK(sr_ring_add_producer(r) == -EPIPE, "add after the side closed");
		expect_push_epipe(r);
		CHECK(sr_ring_pop_bulk(r, out, 2) == -EAGAIN, "bulk past the end");
		CHECK(sr_ring_pop(r, out) == 0 && out[0] == 42, "drain");
		CHECK(sr_ring_pop(r, out) == -EPIPE && sr_ring_try_pop(r, out) == -EPIPE &&
		      sr_ring_pop_burst(r, out, 2) == -EPIPE && sr_ring_pop_bulk(r, out, 2) == -EPIPE, "drained");
		CHECK(sr_ring_is_multi(r) && sr_ring_closed(r) == SR_CLOSED_PRODUCER, "bits");
		sr_ring_release(r);

		/* A closed consumer refuses new producers. */
		r = mk(4, bp, SR_WAIT_SPIN);
		CHECK(sr_ring_close(r, SR_CLOSED_CONSUMER) == 0, "close consumer");
		CHECK(sr_ring_add_producer(r) == -EPIPE && !sr_ring_is_multi(r), "add after consumer close");
		sr_ring_release(r);
	}
	printf("ok  mpsc-basic: upgrade order, counting, close, batches  %.2fs\n", now() - t0);
}

/* Producers blocked on a full Block ring in MPSC mode: the consumer's close
 * releases them all with -EPIPE; a pop releases one of them. */
static void test_mpsc_close(void)
{
	double t0 = now();

	wd_arm("mpsc-close");
	for (uint32_t wait = SR_WAIT_SPIN; wait <= SR_WAIT_ADAPTIVE; wait++) {
		struct sr_ring *r = mk(4, SR_BLOCK, wait);
		struct blocked b[4] = { 0 };
		pthread_t t[4];
		uint64_t v = 7, out;
		int woken = -1;

		for (int i = 0; i < 4; i++) {
			CHECK(sr_ring_try_push(r, &v) == 0, "fill");
			CHECK(sr_ring_add_producer(r) == 0, "add_producer");
		}
		for (int i = 0; i < 4; i++) {
			b[i].r = r;
			CHECK(pthread_create(&t[i], NULL, blocked_push, &b[i]) == 0, "pthread_create");
		}
		sleep_us(20000);
		if (wait != SR_WAIT_SPIN)
			for (int i = 0; !atomic_load(&r->prod_wait); i++) {
				CHECK(i < 5000, "producers never parked");
				sleep_us(1000);
			}
		for (int i = 0; i < 4; i++)
			CHECK(!atomic_load(&b[i].done), "producer %d did not block (rc %d)", i, b[i].rc);
		/* One pop makes room for exactly one of them. */
		CHECK(sr_ring_pop(r, &out) == 0 && out == 7, "pop");
		for (int n = 0; woken < 0; n++) {
			CHECK(n < 5000, "no producer took the free slot");
			sleep_us(1000);
			for (int i = 0; i < 4; i++)
				if (atomic_load(&b[i].done))
					woken = i;
		}
		CHECK(b[woken].rc == 0, "woken push: %d", b[woken].rc);
		sleep_us(5000);
		for (int i = 0; i < 4; i++)
			CHECK(i == woken || !atomic_load(&b[i].done), "two producers took one slot");
		CHECK(sr_ring_close(r, SR_CLOSED_CONSUMER) == 0, "close");
		for (int i = 0; i < 4; i++) {
			pthread_join(t[i], NULL);
			CHECK(i == woken || b[i].rc == -EPIPE, "blocked push %d returned %d, want -EPIPE", i, b[i].rc);
		}
		expect_push_epipe(r);
		CHECK(sr_ring_pop(r, &out) == -EPIPE, "pop after consumer close");
		sr_ring_release(r);

		/* A consumer blocked on an empty MPSC ring: woken by a push of
		 * an added producer, then -EPIPE once every producer closed. */
		r = mk(4, SR_BLOCK, wait);
		struct blocked c = { .r = r };
		pthread_t ct;
		CHECK(sr_ring_add_producer(r) == 0, "add_producer");
		CHECK(pthread_create(&ct, NULL, blocked_pop, &c) == 0, "pthread_create");
		sleep_us(5000);
		CHECK(sr_ring_try_push(r, &v) == 0, "push");
		pthread_join(ct, NULL);
		CHECK(c.rc == 0 && memcmp(c.buf, &v, 8) == 0, "woken pop: %d", c.rc);
		CHECK(sr_ring_close(r, SR_CLOSED_PRODUCER) == 0, "first close");
		c = (struct blocked){ .r = r };
		CHECK(pthread_create(&ct, NULL, blocked_pop, &c) == 0, "pthread_create");
		sleep_us(5000);
		CHECK(!atomic_load(&c.done), "pop did not wait for the second producer");
		CHECK(sr_ring_close(r, SR_CLOSED_PRODUCER) == 0, "last close");
		pthread_join(ct, NULL);
		CHECK(c.rc == -EPIPE, "blocked pop returned %d, want -EPIPE", c.rc);
		sr_ring_release(r);
	}
	printf("ok  mpsc-close: blocked producers released by close, consumer by the last producer  %.2fs\n",
	       now() - t0);
}

/* --- Close racing pushes (F1-F3) --- */

#define CR_MAXP 3
#define CR_LIMIT (1u << 16) /* items per producer and round */

struct crace {
	struct sr_ring *r;
	int g;			/* producer index, the item's top bits */
	uint64_t acked, failed; /* counts */
	uint8_t *acked_map;	/* bit per item: its push succeeded */
	uint64_t rng;
};

struct cpop {
	struct sr_ring *r;
	uint8_t *seen[CR_MAXP];
	uint64_t popped;
	uint64_t last[CR_MAXP];
};

static void cr_mark(struct crace *x, uint64_t i, bool ok)
{
	if (ok) {
		x->acked_map[i / 8] |= (uint8_t)(1u << i % 8);
		x->acked++;
	} else {
		x->failed++;
	}
}

/* Pushes items g<<32 | i with every push form until a push reports the
 * close; records which succeeded. */
static void *cr_producer(void *arg)
{
	struct crace *x = arg;
	struct sr_ring *r = x->r;
	uint64_t buf[8], ev, i = 0;
	int rc = 0;

	while (i + 8 < CR_LIMIT) {
		unsigned op = (unsigned)(rnd(&x->rng) % 5), k = 1 + (unsigned)(rnd(&x->rng) % 8);

		if (k > r->capacity && op == 3 && r->backpressure != SR_DROP_OLDEST)
			k = (unsigned)r->capacity;
		for (unsigned j = 0; j < k; j++)
			buf[j] = (uint64_t)x->g << 32 | (i + j);
		switch (op) {
		case 0:
			rc = sr_ring_push(r, buf);
			k = 1;
			break;
		case 1:
			rc = sr_ring_try_push(r, buf);
			k = 1;
			break;
		case 2:
			rc = sr_ring_push_evict(r, buf, &ev);
			if (rc > 0)
				rc = 0;
			k = 1;
			break;
		case 3:
			rc = sr_ring_push_bulk(r, buf, k);
			break;
		default:
			rc = sr_ring_push_burst(r, buf, k);
		}
		if (op <= 2) {
			cr_mark(x, i, rc == 0);
		} else {
			unsigned took = rc > 0 ? (unsigned)rc : 0;

			CHECK(rc != 0 || op == 4 || k == 0, "bulk returned 0");
			for (unsigned j = 0; j < k; j++)
				cr_mark(x, i + j, j < took);
			if (rc > 0 && (unsigned)rc < k && op == 3)
				CHECK(r->backpressure == SR_DROP_OLDEST, "partial bulk %d of %u", rc, k);
		}
		i += k;
		if (rc == -EPIPE)
			return NULL;
		CHECK(rc >= 0 || rc == -EAGAIN || rc == -ENOBUFS, "push: %d", rc);
		if (rc == -EAGAIN || rc == -ENOBUFS)
			sr_relax();
	}
	/* Out of items before the close: wait for it. */
	while (!(sr_ring_closed(r) & SR_CLOSED_PRODUCER))
		sched_yield();
	return NULL;
}

static void *cr_consumer(void *arg)
{
	struct cpop *x = arg;
	uint64_t buf[4], rng = 77;
	int rc;

	for (;;) {
		switch (rnd(&rng) % 3) {
		case 0:
			rc = sr_ring_pop(x->r, buf);
			rc = rc == 0 ? 1 : rc;
			break;
		case 1:
			rc = sr_ring_try_pop(x->r, buf);
			rc = rc == 0 ? 1 : rc;
			break;
		default:
			rc = sr_ring_pop_burst(x->r, buf, 1 + (unsigned)(rnd(&rng) % 4));
		}
		if (rc == -EPIPE)
			return NULL;
		CHECK(rc >= 0 || rc == -EAGAIN, "pop: %d", rc);
		for (int j = 0; j < rc; j++) {
			uint64_t g = buf[j] >> 32, i = buf[j] & 0xffffffffu;

			CHECK(g < CR_MAXP && i < CR_LIMIT, "bad item %" PRIx64, buf[j]);
			CHECK(!(x->seen[g][i / 8] & (1u << i % 8)), "item %" PRIx64 " popped twice", buf[j]);
			x->seen[g][i / 8] |= (uint8_t)(1u << i % 8);
			CHECK(x->last[g] == UINT64_MAX || x->last[g] < i, "producer %" PRIu64 " out of order", g);
			x->last[g] = i;
			x->popped++;
		}
	}
}

/* Producers push with every form while another thread closes the producer
 * side (every producer reference) at a random moment: each item is popped
 * (or evicted and counted) exactly when its push succeeded. */
static void test_close_race(void)
{
	static const uint64_t caps[] = { 1, 4, 64 };
	uint64_t rng = 12345;
	double t0 = now();
	unsigned rounds = 0;

	wd_arm("close-race");
	for (uint32_t bp = SR_BLOCK; bp <= SR_REJECT; bp++)
		for (uint32_t wait = SR_WAIT_SPIN; wait <= SR_WAIT_ADAPTIVE; wait++)
			for (int np = 1; np <= CR_MAXP; np += CR_MAXP - 1)
				for (size_t ci = 0; ci < sizeof(caps) / sizeof(caps[0]); ci++)
					for (int round = 0; round < 4; round++, rounds++) {
						struct sr_ring *r = mk(caps[ci], bp, wait);
						struct crace xs[CR_MAXP];
						struct cpop cp = { .r = r };
						pthread_t pt[CR_MAXP], ct;
						uint64_t acked = 0;

						for (int g = 1; g < np; g++)
							CHECK(sr_ring_add_producer(r) == 0, "add_producer");
						for (int g = 0; g < CR_MAXP; g++) {
							cp.seen[g] = calloc(CR_LIMIT / 8, 1);
							cp.last[g] = UINT64_MAX;
						}
						CHECK(pthread_create(&ct, NULL, cr_consumer, &cp) == 0, "pthread_create");
						for (int g = 0; g < np; g++) {
							xs[g] = (struct crace){ .r = r, .g = g, .rng = rnd(&rng) | 1,
										.acked_map = calloc(CR_LIMIT / 8, 1) };
							CHECK(pthread_create(&pt[g], NULL, cr_producer, &xs[g]) == 0,
							      "pthread_create");
						}
						sleep_us((long)(rnd(&rng) % 300));
						for (int g = 0; g < np; g++)
							CHECK(sr_ring_close(r, SR_CLOSED_PRODUCER) == 0, "close");
						for (int g = 0; g < np; g++)
							pthread_join(pt[g], NULL);
						pthread_join(ct, NULL);
						for (int g = 0; g < np; g++) {
							acked += xs[g].acked;
							for (uint64_t i = 0; i < CR_LIMIT / 8; i++)
								CHECK(!(cp.seen[g][i] & ~xs[g].acked_map[i]),
								      "producer %d: an item whose push failed was popped "
								      "(byte %" PRIu64 ")",
								      g, i);
							free(xs[g].acked_map);
						}
						for (int g = 0; g < CR_MAXP; g++)
							free(cp.seen[g]);
						CHECK(acked == cp.popped + sr_ring_evicted(r),
						      "%s/%s/p%d/cap %" PRIu64 ": acked %" PRIu64 " != popped %" PRIu64
						      " + evicted %" PRIu64,
						      bp_name[bp], wait_name[wait], np, caps[ci], acked, cp.popped,
						      sr_ring_evicted(r));
						CHECK(bp == SR_DROP_OLDEST || sr_ring_evicted(r) == 0, "evicted");
						sr_ring_release(r);
					}
	printf("ok  close-race: %u rounds, every acknowledged push popped or evicted once  %.2fs\n", rounds,
	       now() - t0);
}

int main(void)
{
	const char *e, *only;
	uint64_t n = 2000000;
	pthread_t wd;
	double t0 = now();

	if ((e = getenv("SR_STRESS_N")) && *e)
		n = strtoull(e, NULL, 0);
	if ((e = getenv("SR_STRESS_TIMEOUT")) && *e)
		wd_timeout = atoi(e);
	CHECK(n >= 2000, "SR_STRESS_N too small");
	wd_arm("start");
	CHECK(pthread_create(&wd, NULL, watchdog, NULL) == 0, "pthread_create");
	pthread_detach(wd);

#define CFG(cap, esz, bp, w, sp) \
	{ .capacity = cap, .elem_size = esz, .backpressure = bp, .wait = w, .spins = sp }
#define ALL .push_ops = PUSH_ALL, .pop_ops = POP_ALL
	const struct scen scens[] = {
		/* (a) SPSC Block */
		{ "a block/1024/u64", CFG(1024, 8, SR_BLOCK, SR_WAIT_SPIN, 0), n / 4, ALL, .maxk = 32 },
		{ "a block/1024/s24", CFG(1024, 24, SR_BLOCK, SR_WAIT_PARK, 256), n, ALL, .maxk = 32 },
		{ "a block/4/u64", CFG(4, 8, SR_BLOCK, SR_WAIT_SPIN_YIELD, 64), n / 4, ALL, .maxk = 4 },
		{ "a block/4/s24", CFG(4, 24, SR_BLOCK, SR_WAIT_PARK, 64), n / 8, ALL, .maxk = 4 },
		/* (b) Reject: the producer retries on -ENOBUFS */
		{ "b reject/64/u64", CFG(64, 8, SR_REJECT, SR_WAIT_PARK, 128), n / 4, ALL, .maxk = 16 },
		{ "b reject/4/s24", CFG(4, 24, SR_REJECT, SR_WAIT_SPIN_YIELD, 64), n / 4, ALL, .maxk = 4 },
		/* (c) DropOldest: the producer never waits; paced ones keep
		 * the consumer in the race for head (C1) */
		{ "c drop/1024/u64", CFG(1024, 8, SR_DROP_OLDEST, SR_WAIT_PARK, 128), n, .push_ops = PUSH_ALL,
		  .pop_ops = OP_POP | OP_POPBURST, .maxk = 32, .pace = 8 },
		{ "c drop/4/s24", CFG(4, 24, SR_DROP_OLDEST, SR_WAIT_SPIN_YIELD, 64), n, ALL, .maxk = 8, .pace = 16 },
		{ "c drop/2/s24", CFG(2, 24, SR_DROP_OLDEST, SR_WAIT_SPIN, 0), n / 2, .push_ops = OP_PUSH | OP_EVICT,
		  .pop_ops = OP_POP | OP_POPBURST, .maxk = 2 },
		/* capacity 1: "holds seq" and "free for seq+1" must not alias */
		{ "c drop/1/s24", CFG(1, 24, SR_DROP_OLDEST, SR_WAIT_SPIN, 0), n / 2, .push_ops = OP_PUSH | OP_EVICT,
		  .pop_ops = OP_POP | OP_POPBURST, .maxk = 1 },
		/* (d) Park both ways; the watchdog catches a lost wake-up */
		{ "d park/slow-consumer", CFG(16, 24, SR_BLOCK, SR_WAIT_PARK, 16), n / 50, .push_ops = OP_PUSH,
		  .pop_ops = OP_POP | OP_POPBURST, .maxk = 8, .cons_nap = 8, .expect_park = true },
		{ "d park/slow-producer", CFG(16, 24, SR_BLOCK, SR_WAIT_PARK, 16), n / 50,
		  .push_ops = OP_PUSH | OP_BURST, .pop_ops = OP_POP, .maxk = 8, .prod_nap = 8, .expect_park = true },
		{ "d park/ping-pong/1", CFG(1, 8, SR_BLOCK, SR_WAIT_PARK, 0), n / 100, .push_ops = OP_PUSH,
		  .pop_ops = OP_POP, .maxk = 1 },
		{ "d park/drop-slow-producer", CFG(2, 24, SR_DROP_OLDEST, SR_WAIT_PARK, 0), n / 50,
		  .push_ops = OP_PUSH | OP_EVICT, .pop_ops = OP_POP, .maxk = 2, .prod_nap = 4, .expect_park = true },
		/* Adaptive (spins in nanoseconds): spins, then parks as Park */
		{ "d adapt/slow-consumer", CFG(16, 24, SR_BLOCK, SR_WAIT_ADAPTIVE, 2000), n / 50, .push_ops = OP_PUSH,
		  .pop_ops = OP_POP | OP_POPBURST, .maxk = 8, .cons_nap = 8, .expect_park = true },
		{ "d adapt/slow-producer", CFG(16, 24, SR_BLOCK, SR_WAIT_ADAPTIVE, 2000), n / 50,
		  .push_ops = OP_PUSH | OP_BURST, .pop_ops = OP_POP, .maxk = 8, .prod_nap = 8, .expect_park = true },
		{ "d adapt/ping-pong/1", CFG(1, 8, SR_BLOCK, SR_WAIT_ADAPTIVE, 0), n / 100, .push_ops = OP_PUSH,
		  .pop_ops = OP_POP, .maxk = 1 },
		{ "d adapt/block/4/u64", CFG(4, 8, SR_BLOCK, SR_WAIT_ADAPTIVE, 20000), n / 4, ALL, .maxk = 4 },
		/* SpinYield sleeps after its yields */
		{ "d yield/slow-consumer", CFG(16, 24, SR_BLOCK, SR_WAIT_SPIN_YIELD, 16), n / 50, .push_ops = OP_PUSH,
		  .pop_ops = OP_POP | OP_POPBURST, .maxk = 8, .cons_nap = 8, .expect_park = true },
		{ "d yield/slow-producer", CFG(16, 24, SR_BLOCK, SR_WAIT_SPIN_YIELD, 16), n / 50,
		  .push_ops = OP_PUSH | OP_BURST, .pop_ops = OP_POP, .maxk = 8, .prod_nap = 8, .expect_park = true },
		/* Across the 2^64 wrap */
		{ "wrap block/4/s24", CFG(4, 24, SR_BLOCK, SR_WAIT_PARK, 64), n / 8, .wrap = true, ALL, .maxk = 4 },
		{ "wrap block/1024/u64", CFG(1024, 8, SR_BLOCK, SR_WAIT_SPIN_YIELD, 64), n / 4, .wrap = true, ALL,
		  .maxk = 32 },
		{ "wrap drop/4/s24", CFG(4, 24, SR_DROP_OLDEST, SR_WAIT_PARK, 64), n / 4, .wrap = true, ALL, .maxk = 8,
		  .pace = 16 },
		{ "wrap drop/1024/u64", CFG(1024, 8, SR_DROP_OLDEST, SR_WAIT_SPIN, 0), n / 4, .wrap = true, ALL,
		  .maxk = 32, .pace = 8 },
	};
	/* MPSC: n items in all, shared by k producers; producer 0 upgrades
	 * the ring after a quarter of its own, under load. Spin only with two
	 * producers: more spinners than the two CPUs stall on time slices. */
#define MP(np) .k = np, .n = n / 20 / np + 16
#define MPS(np) .k = np, .n = n / 40 / np + 16 /* the slow ones: tiny rings, many sleeps */
	const struct mscen mscens[] = {
		{ "mpsc block/2/1024/u64", CFG(1024, 8, SR_BLOCK, SR_WAIT_SPIN, 0), MP(2), .push_ops = PUSH_ALL,
		  .pop_ops = POP_ALL, .maxk = 32 },
		{ "mpsc block/4/16/s24", CFG(16, 24, SR_BLOCK, SR_WAIT_PARK, 64), MP(4), .push_ops = PUSH_ALL,
		  .pop_ops = POP_ALL, .maxk = 8 },
		{ "mpsc block/8/64/u64", CFG(64, 8, SR_BLOCK, SR_WAIT_SPIN_YIELD, 64), MP(8), .push_ops = PUSH_ALL,
		  .pop_ops = POP_ALL, .maxk = 16 },
		{ "mpsc block/8/4/s24", CFG(4, 24, SR_BLOCK, SR_WAIT_PARK, 32), MPS(8), .push_ops = PUSH_ALL,
		  .pop_ops = POP_ALL, .maxk = 4 },
		{ "mpsc reject/2/64/u64", CFG(64, 8, SR_REJECT, SR_WAIT_PARK, 128), MP(2), .push_ops = PUSH_ALL,
		  .pop_ops = POP_ALL, .maxk = 16 },
		{ "mpsc reject/4/4/s24", CFG(4, 24, SR_REJECT, SR_WAIT_SPIN_YIELD, 64), MPS(4), .push_ops = PUSH_ALL,
		  .pop_ops = POP_ALL, .maxk = 4 },
		{ "mpsc reject/8/16/u64", CFG(16, 8, SR_REJECT, SR_WAIT_PARK, 64), MP(8), .push_ops = PUSH_ALL,
		  .pop_ops = POP_ALL, .maxk = 8 },
		{ "mpsc drop/2/1024/u64", CFG(1024, 8, SR_DROP_OLDEST, SR_WAIT_SPIN, 0), MP(2), .push_ops = PUSH_ALL,
		  .pop_ops = POP_ALL, .maxk = 32, .pace = 8 },
		{ "mpsc drop/4/4/s24", CFG(4, 24, SR_DROP_OLDEST, SR_WAIT_SPIN_YIELD, 64), MP(4),
		  .push_ops = PUSH_ALL, .pop_ops = POP_ALL, .maxk = 8, .pace = 16 },
		{ "mpsc drop/8/16/u64", CFG(16, 8, SR_DROP_OLDEST, SR_WAIT_PARK, 64), MP(8), .push_ops = PUSH_ALL,
		  .pop_ops = POP_ALL, .maxk = 8, .pace = 8 },
		/* capacity 1: every push evicts the other producers' items */
		{ "mpsc drop/4/1/s24", CFG(1, 24, SR_DROP_OLDEST, SR_WAIT_PARK, 16), MPS(4),
		  .push_ops = OP_PUSH | OP_EVICT | OP_BURST, .pop_ops = OP_POP | OP_POPBURST, .maxk = 2, .pace = 16 },
		/* Park both ways: a slow consumer keeps producers asleep */
		{ "mpsc park/slow-consumer/4", CFG(8, 24, SR_BLOCK, SR_WAIT_PARK, 16), .k = 4, .n = n / 400 + 16,
		  .push_ops = OP_PUSH | OP_BULK, .pop_ops = OP_POP | OP_POPBURST, .maxk = 4, .cons_nap = 8,
		  .expect_park = true },
		{ "mpsc adapt/slow-consumer/4", CFG(8, 24, SR_BLOCK, SR_WAIT_ADAPTIVE, 2000), .k = 4,
		  .n = n / 400 + 16, .push_ops = OP_PUSH | OP_BULK, .pop_ops = OP_POP | OP_POPBURST, .maxk = 4,
		  .cons_nap = 8, .expect_park = true },
		{ "mpsc adapt/4/16/s24", CFG(16, 24, SR_BLOCK, SR_WAIT_ADAPTIVE, 20000), MPS(4), .push_ops = PUSH_ALL,
		  .pop_ops = POP_ALL, .maxk = 8 },
		/* Across the 2^64 wrap, after the upgrade */
		{ "mpsc wrap block/4/4/s24", CFG(4, 24, SR_BLOCK, SR_WAIT_PARK, 64), MPS(4), .wrap = true,
		  .push_ops = PUSH_ALL, .pop_ops = POP_ALL, .maxk = 4 },
		{ "mpsc wrap drop/4/16/u64", CFG(16, 8, SR_DROP_OLDEST, SR_WAIT_SPIN_YIELD, 64), MPS(4), .wrap = true,
		  .push_ops = PUSH_ALL, .pop_ops = POP_ALL, .maxk = 8, .pace = 8 },
	};
#undef MP
#undef MPS

	only = getenv("SR_STRESS_ONLY");
	if (!only || strstr("config", only))
		test_config();
	if (!only || strstr("close", only))
		test_close();
	if (!only || strstr("close-race", only))
		test_close_race();
	for (size_t i = 0; i < sizeof(scens) / sizeof(scens[0]); i++)
		if (!only || strstr(scens[i].name, only))
			run(&scens[i]);
	if (!only || strstr("mpsc-basic", only))
		test_mpsc_basic();
	if (!only || strstr("mpsc-close", only))
		test_mpsc_close();
	for (size_t i = 0; i < sizeof(mscens) / sizeof(mscens[0]); i++)
		if (!only || strstr(mscens[i].name, only))
			mrun(&mscens[i]);
	printf("all ok (N=%" PRIu64 ") in %.2fs\n", n, now() - t0);
	return 0;
}
