/*
 * pool_test.c - pthread tests of the worker pool's C core (pool.h) with C
 * work functions, no Go. It includes ring.c, spill.c and pool.c into one
 * translation unit with extern functions, as the Go package's csrc.c does,
 * so a clash between them shows up here first.
 *
 * Environment:
 *	SR_POOL_N	rounds per main scenario (default 4000; the slow and
 *			refusing collectors get a quarter)
 *	SR_POOL_TIMEOUT	seconds one test may take before the watchdog
 *			aborts (default 60)
 *	SR_POOL_ONLY	run only the tests whose name contains it
 *
 * The main scenarios run W workers (1 to 3) for R rounds while a collector
 * thread takes, drains and recycles their batches concurrently. Each worker
 * pushes its own increasing sequence (worker id in the high bits), 0 to 3
 * ring capacities a round, so the collector can tell a lost, duplicated or
 * reordered item from the rest; at the end the items taken, spilled (or
 * dropped) and left in the rings must add up to the pool's counters, and
 * a round that pushes nothing must leave nothing behind. Collectors: fast,
 * slow (the workers merge into untaken batches), refusing (keeps a batch
 * half drained for a while); rings that spill or discard.
 *
 * The small tests: bad configurations, -EBUSY / -EPERM / recycle errors,
 * status and sequence numbers round by round, a merge with spilled items,
 * each round's args (a copy), pinning (sched_getcpu), sr_pool_free of a
 * parked, spinning, mid-round or never-used pool (threads counted in
 * /proc/self/task; ASan's leak check sees the memory), and a two-stage
 * pipeline of C pools chained by a C collector (no Go on the item path).
 *
 * Every check aborts with a message; every test prints one "ok" line.
 *
 *	gcc -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=thread -Wall -Wextra \
 *	    -Werror -pthread csrc/test/pool_test.c -o /tmp/pool_test && \
 *	    setarch -R /tmp/pool_test
 */
#include "../ring.c"
#include "../spill.c"
#include "../pool.c"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* --- Threads of this process, from /proc/self/task --- */

static int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	CHECK(d, "opendir /proc/self/task");
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* pthread_join returns when the kernel clears the thread's tid, which comes
 * a moment before the task leaves /proc: wait for the count a little. */
static void expect_tasks(int want, const char *what)
{
	int n = count_tasks();

	for (int i = 0; n != want && i < 2000; i++) {
		sleep_us(1000);
		n = count_tasks();
	}
	CHECK(n == want, "%s: %d threads, want %d (a worker thread left behind)", what, n, want);
}

/* CPUs this process may run on: the pool's oversubscription rule counts
 * the same set. */
static unsigned allowed_cpus(int *first, int *second)
{
	cpu_set_t set;
	unsigned n = 0;

	*first = *second = -1;
	CHECK(sched_getaffinity(0, sizeof(set), &set) == 0, "sched_getaffinity");
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (n == 0)
			*first = c;
		else if (n == 1)
			*second = c;
		n++;
	}
	return n;
}

static struct sr_pool *mkpool(const struct sr_pool_config *cfg)
{
	int err = 1;
	struct sr_pool *p = sr_pool_new(cfg, &err);

	CHECK(p && err == 0, "sr_pool_new: %d", err);
	return p;
}

static void round_ok(struct sr_pool *p, const void *args)
{
	int rc = sr_pool_dispatch(p, args);

	CHECK(rc == 0, "dispatch: %d", rc);
	rc = sr_pool_join(p);
	CHECK(rc == 0, "join: %d", rc);
}

/* Empties a batch the caller took (ring and spill area) and hands it back. */
static uint64_t drain_all(struct sr_pool *p, unsigned i, struct sr_spill *b)
{
	uint64_t buf[64], n = 0;
	int k;

	while ((k = sr_spill_take_spilled(b, buf, 64)) > 0)
		n += (uint64_t)k;
	while ((k = sr_spill_pop_burst(b, buf, 64)) > 0)
		n += (uint64_t)k;
	CHECK(sr_pool_recycle(p, i, b) == 0, "recycle of an emptied batch");
	return n;
}

/* ===================================================================== */
/* Main scenarios: conservation, per-worker order, sequences, counters.  */
/* ===================================================================== */

#define MAXW 3
#define WSHIFT 48 /* item = worker << WSHIFT | index */

enum coll_mode {
	COLL_FAST,   /* takes as fast as it can */
	COLL_SLOW,   /* sleeps between passes: the workers merge (H3) */
	COLL_REFUSE, /* keeps every other batch half drained for a few passes */
};

struct scen {
	const char *name;
	unsigned workers;
	uint64_t cap, spill_cap;
	uint32_t flags, spin_ns;
	enum coll_mode mode;
	unsigned rounds_div; /* rounds = SR_POOL_N / rounds_div */
	unsigned pace_us;    /* the dispatcher's pause between rounds */
};

struct rargs {
	uint64_t round; /* 1-based: the pool's sequence of the round */
	uint64_t seed;  /* 0: push nothing (the flush round) */
};

/* The worker's side, written only by work_main on worker i's thread; the
 * main thread reads it after a join (D1), the collector reads cum[s] only
 * after taking a batch of sequence s (H1: written before that publish). */
struct wstate {
	uint64_t next;      /* items pushed (taken by the ring) so far */
	uint64_t *cum;      /* cum[r]: next at the end of round r */
	uint64_t last_round;
	uint64_t enobufs;   /* rounds that ended on a refused push */
	int last_status;
	uint64_t *scratch;  /* 3 * cap items for the bursts */
	char pad[64];
};

/* The collector's side: the collector thread, then (after pthread_join) the
 * main thread. */
struct cstate {
	uint8_t *seen;      /* per index: 0, 1 popped from a ring, 2 spilled */
	uint64_t ring_got, spill_got, takes;
	uint64_t last_seq;
	uint64_t last_ring; /* index of the last ring item + 1, 0 = none yet */
	uint64_t last_spill; /* index of the last spilled item + 1, 0 = none yet */
	struct sr_spill *held; /* COLL_REFUSE: a batch kept half drained */
	uint64_t held_seq;
	unsigned held_passes;
	uint64_t rng;
	char pad[64];
};

struct run {
	const struct scen *s;
	struct sr_pool *p;
	uint64_t rounds, max_items;
	_Atomic uint64_t dispatched; /* bumped before each dispatch */
	_Atomic int stop;
	struct wstate w[MAXW];
	struct cstate c[MAXW];
};

static int work_main(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	struct run *x = ctx;
	const struct rargs *ra = args;
	struct wstate *ws = &x->w[worker];
	uint64_t cap = x->s->cap, n, done = 0;
	uint64_t rng;
	bool full = false;

	CHECK(worker < x->s->workers && ra, "worker %u, args %p", worker, args);
	rng = (ra->seed * UINT64_C(0x9e3779b97f4a7c15) + worker) | 1;
	CHECK(ra->round == ws->last_round + 1, "worker %u ran round %" PRIu64 " after %" PRIu64, worker,
	      ra->round, ws->last_round);
	ws->last_round = ra->round;
	/* 0 .. 3 * capacity: rings overflow into the spill area, and the
	 * area fills too (-ENOBUFS) when the ring started non-empty. */
	n = ra->seed ? rnd(&rng) % (3 * cap + 1) : 0;
	while (done < n && !full) {
		uint64_t k = n - done;

		if (rnd(&rng) & 1) {
			k = min64(k, 1 + rnd(&rng) % 8);
			for (uint64_t j = 0; j < k; j++) {
				uint64_t v = (uint64_t)worker << WSHIFT | ws->next;
				int rc = sr_spill_push(out, &v);

				if (rc == -ENOBUFS) {
					full = true;
					break;
				}
				CHECK(rc == 0 || rc == 1, "push: %d", rc);
				ws->next++;
				done++;
			}
		} else {
			int took;

			k = min64(k, 1 + rnd(&rng) % (2 * cap));
			for (uint64_t j = 0; j < k; j++)
				ws->scratch[j] = (uint64_t)worker << WSHIFT | (ws->next + j);
			took = sr_spill_push_burst(out, ws->scratch, (unsigned)k);
			CHECK(took >= 0 && (uint64_t)took <= k, "push_burst(%" PRIu64 "): %d", k, took);
			ws->next += (uint64_t)took;
			done += (uint64_t)took;
			full = (uint64_t)took < k;
		}
	}
	if (full) {
		CHECK(!(x->s->flags & SR_POOL_DISCARD), "a discarding ring refused a push");
		ws->enobufs++;
	}
	ws->cum[ra->round] = ws->next;
	ws->last_status = full;
	return full; /* sr_pool_status must give it back */
}

/* One item out of worker i's batch of sequence seq. */
static void note(struct run *x, unsigned i, uint64_t v, uint64_t seq, bool spilled)
{
	struct cstate *cs = &x->c[i];
	uint64_t idx = v & ((UINT64_C(1) << WSHIFT) - 1);

	CHECK(v >> WSHIFT == i, "worker %u's batch holds item %" PRIx64 " of another worker", i, v);
	CHECK(idx < x->max_items, "worker %u: item index %" PRIu64 " out of range", i, idx);
	/* A batch's items are never newer than its sequence says. */
	CHECK(idx < x->w[i].cum[seq], "worker %u: item %" PRIu64 " in a batch of round %" PRIu64
	      " that had pushed only %" PRIu64, i, idx, seq, x->w[i].cum[seq]);
	CHECK(!cs->seen[idx], "worker %u: item %" PRIu64 " seen twice (%s, then %s)", i, idx,
	      cs->seen[idx] == 2 ? "spilled" : "ring", spilled ? "spilled" : "ring");
	cs->seen[idx] = spilled ? 2 : 1;
	if (spilled) {
		/* Spilled items come out in push order too: a merge moves the
		 * active ring's spill area after the batch's (pool.h), and
		 * what does not fit waits for a later batch. */
		CHECK(idx + 1 > cs->last_spill, "worker %u: spilled item %" PRIu64 " after %" PRIu64, i, idx,
		      cs->last_spill - 1);
		cs->last_spill = idx + 1;
		cs->spill_got++;
	} else {
		/* Ring items come out in push order, across batches too; the
		 * spilled ones left early and are not ordered against them. */
		CHECK(idx + 1 > cs->last_ring, "worker %u: ring item %" PRIu64 " after %" PRIu64, i, idx,
		      cs->last_ring - 1);
		cs->last_ring = idx + 1;
		cs->ring_got++;
	}
}

/* Drains up to max_spill pending and max_ring ring items of batch b, in
 * chunks of random size. */
static void drain(struct run *x, unsigned i, struct sr_spill *b, uint64_t seq, uint64_t max_spill,
		  uint64_t max_ring)
{
	struct cstate *cs = &x->c[i];
	uint64_t buf[16];
	int k;

	while (max_spill) {
		k = sr_spill_take_spilled(b, buf, (unsigned)min64(max_spill, 1 + rnd(&cs->rng) % 16));
		CHECK(k >= 0, "take_spilled: %d", k);
		if (k == 0)
			break;
		for (int j = 0; j < k; j++)
			note(x, i, buf[j], seq, true);
		max_spill -= (uint64_t)k;
	}
	while (max_ring) {
		k = sr_spill_pop_burst(b, buf, (unsigned)min64(max_ring, 1 + rnd(&cs->rng) % 16));
		CHECK(k >= 0, "pop_burst: %d", k);
		if (k == 0)
			break;
		for (int j = 0; j < k; j++)
			note(x, i, buf[j], seq, false);
		max_ring -= (uint64_t)k;
	}
}

static void finish(struct run *x, unsigned i, struct sr_spill *b, uint64_t seq)
{
	unsigned nw = x->s->workers;

	drain(x, i, b, seq, UINT64_MAX, UINT64_MAX);
	CHECK(sr_spill_len(b) == 0 && sr_spill_pending(b) == 0, "drained batch not empty");
	if (nw > 1) /* an empty ring, but not that worker's */
		CHECK(sr_pool_recycle(x->p, (i + 1) % nw, b) == -EINVAL, "recycle to the wrong worker");
	CHECK(sr_pool_recycle(x->p, i, b) == 0, "recycle");
}

/* One pass over the workers; final: finish held batches, refuse nothing.
 * Returns whether it took a batch. */
static bool collect_pass(struct run *x, bool final)
{
	bool got = false;

	for (unsigned i = 0; i < x->s->workers; i++) {
		struct cstate *cs = &x->c[i];
		struct sr_spill *b;
		uint64_t seq = 0;

		if (cs->held) {
			/* H2: the worker's next batch only after this one. */
			if (!final && ++cs->held_passes < 4)
				continue;
			finish(x, i, cs->held, cs->held_seq);
			cs->held = NULL;
		}
		b = sr_pool_take(x->p, i, &seq);
		if (!b)
			continue;
		got = true;
		cs->takes++;
		/* Strictly increasing: a round publishes at most once, and a
		 * batch is taken once. */
		CHECK(seq > cs->last_seq, "worker %u: batch seq %" PRIu64 " after %" PRIu64, i, seq, cs->last_seq);
		CHECK(seq <= atomic_load(&x->dispatched), "worker %u: batch seq %" PRIu64 " > %" PRIu64
		      " rounds dispatched", i, seq, atomic_load(&x->dispatched));
		cs->last_seq = seq;
		if (x->s->mode == COLL_REFUSE && !final && cs->takes % 2) {
			/* A sink that says "not now": half of it, the rest
			 * later, and meanwhile no take from this worker. */
			drain(x, i, b, seq, sr_spill_pending(b) / 2, sr_spill_len(b) / 2);
			if (sr_spill_len(b) || sr_spill_pending(b))
				CHECK(sr_pool_recycle(x->p, i, b) == -EINVAL, "recycle of a non-empty ring");
			cs->held = b;
			cs->held_seq = seq;
			cs->held_passes = 0;
			continue;
		}
		finish(x, i, b, seq);
	}
	return got;
}

static void *collector(void *arg)
{
	struct run *x = arg;

	while (!atomic_load(&x->stop)) {
		bool got = collect_pass(x, false);

		if (x->s->mode == COLL_SLOW)
			sleep_us(300);
		else if (x->s->mode == COLL_REFUSE)
			sleep_us(50);
		else if (!got)
			sched_yield();
	}
	return NULL;
}

/* What worker i's active ring still holds (the dispatcher may look between
 * rounds): ring items, pending spilled items. */
static void active_left(struct sr_pool *p, unsigned i, uint64_t *len, uint64_t *pending)
{
	struct sr_pool_worker *w = &p->w[i];
	struct sr_spill *a = w->rings[w->active];

	*len = sr_spill_len(a);
	*pending = sr_spill_pending(a);
}

static void run(const struct scen *s, uint64_t n)
{
	struct run *x = calloc(1, sizeof(*x));
	struct sr_pool_config cfg = {
		.workers = s->workers,
		.flags = s->flags,
		.ring_capacity = s->cap,
		.elem_size = sizeof(uint64_t),
		.spill_capacity = s->spill_cap,
		.args_size = sizeof(struct rargs),
		.spin_ns = s->spin_ns,
		.work = work_main,
	};
	bool discard = s->flags & SR_POOL_DISCARD;
	uint64_t seed = 0x5eed, sum_pushed = 0, sum_spilled = 0, sum_merged = 0, sum_enobufs = 0, sum_takes = 0;
	pthread_t ct;
	double t0 = now();

	CHECK(x, "calloc");
	wd_arm(s->name);
	x->s = s;
	x->rounds = n / s->rounds_div;
	if (x->rounds < 50)
		x->rounds = 50;
	x->max_items = (x->rounds + 1) * 3 * s->cap;
	for (unsigned i = 0; i < s->workers; i++) {
		x->w[i].cum = calloc(x->rounds + 2, sizeof(uint64_t));
		x->w[i].scratch = calloc(3 * s->cap, sizeof(uint64_t));
		x->c[i].seen = calloc(x->max_items, 1);
		x->c[i].rng = rnd(&seed) | 1;
		CHECK(x->w[i].cum && x->w[i].scratch && x->c[i].seen, "calloc");
	}
	cfg.ctx = x;
	x->p = mkpool(&cfg);
	CHECK(pthread_create(&ct, NULL, collector, x) == 0, "pthread_create");

	for (uint64_t r = 1; r <= x->rounds; r++) {
		struct rargs ra = { .round = r, .seed = rnd(&seed) | 1 };

		atomic_store(&x->dispatched, r);
		round_ok(x->p, &ra);
		if (s->pace_us)
			sleep_us(s->pace_us);
		for (unsigned i = 0; i < s->workers; i++) {
			int st = sr_pool_status(x->p, i);

			CHECK(st == x->w[i].last_status, "worker %u round %" PRIu64 ": status %d, work returned %d",
			      i, r, st, x->w[i].last_status);
			CHECK(atomic_load(&x->p->w[i].done) == (uint32_t)r, "worker %u: done %u after round %" PRIu64,
			      i, atomic_load(&x->p->w[i].done), r);
		}
	}
	atomic_store(&x->stop, 1);
	CHECK(pthread_join(ct, NULL) == 0, "pthread_join");

	/* The main thread is the collector now. Everything it can take. */
	while (collect_pass(x, true))
		;
	for (unsigned i = 0; i < s->workers; i++) {
		struct sr_pool_worker *w = &x->p->w[i];
		struct cstate *cs = &x->c[i];
		uint64_t pushed = atomic_load(&w->pushed), spilled = atomic_load(&w->spilled), len, pend;

		/* pushed == taken + spilled + still in rings (pool.h): what
		 * a merge could not move, and the active ring's own spill
		 * area, wait in the active ring for its publish. */
		active_left(x->p, i, &len, &pend);
		CHECK(sr_pool_take(x->p, i, NULL) == NULL, "a batch after the final collect");
		if (discard) {
			CHECK(pend == 0 && cs->spill_got == 0, "discarding rings used their spill area");
			CHECK(pushed == cs->ring_got + spilled + len,
			      "worker %u: pushed %" PRIu64 " != popped %" PRIu64 " + dropped %" PRIu64
			      " + in ring %" PRIu64, i, pushed, cs->ring_got, spilled, len);
		} else {
			CHECK(pushed == cs->ring_got + cs->spill_got + len + pend,
			      "worker %u: pushed %" PRIu64 " != popped %" PRIu64 " + spilled %" PRIu64
			      " + in ring %" PRIu64 " + pending %" PRIu64, i, pushed, cs->ring_got,
			      cs->spill_got, len, pend);
			CHECK(spilled == cs->spill_got + pend, "worker %u: spilled %" PRIu64 " != taken %" PRIu64
			      " + pending %" PRIu64, i, spilled, cs->spill_got, pend);
		}
	}
	/* A round that pushes nothing publishes what the active rings held
	 * (H3: the collector took the last batches), and the last collect
	 * leaves nothing anywhere. */
	{
		struct rargs ra = { .round = x->rounds + 1, .seed = 0 };

		atomic_store(&x->dispatched, x->rounds + 1);
		round_ok(x->p, &ra);
		while (collect_pass(x, true))
			;
	}
	for (unsigned i = 0; i < s->workers; i++) {
		struct sr_pool_worker *w = &x->p->w[i];
		struct wstate *ws = &x->w[i];
		struct cstate *cs = &x->c[i];
		uint64_t pushed = atomic_load(&w->pushed), spilled = atomic_load(&w->spilled);
		uint64_t merged = atomic_load(&w->merged), rounds = atomic_load(&w->rounds), len, pend, seen = 0;

		active_left(x->p, i, &len, &pend);
		CHECK(len == 0 && pend == 0, "worker %u: %" PRIu64 " + %" PRIu64 " items left after the flush round",
		      i, len, pend);
		CHECK(sr_pool_take(x->p, i, NULL) == NULL, "a batch after the final collect");
		CHECK(rounds == x->rounds + 1, "worker %u ran %" PRIu64 " rounds of %" PRIu64, i, rounds,
		      x->rounds + 1);
		CHECK(pushed == ws->next, "worker %u: pushed %" PRIu64 ", the work pushed %" PRIu64, i, pushed,
		      ws->next);
		if (discard)
			CHECK(pushed == cs->ring_got + spilled && cs->spill_got == 0,
			      "worker %u: pushed %" PRIu64 " != popped %" PRIu64 " + dropped %" PRIu64, i, pushed,
			      cs->ring_got, spilled);
		else
			CHECK(pushed == cs->ring_got + cs->spill_got && spilled == cs->spill_got,
			      "worker %u: pushed %" PRIu64 " != popped %" PRIu64 " + spilled %" PRIu64
			      " (counter %" PRIu64 ")", i, pushed, cs->ring_got, cs->spill_got, spilled);
		CHECK(merged <= pushed, "worker %u: merged %" PRIu64 " > pushed %" PRIu64, i, merged, pushed);
		CHECK(cs->takes <= atomic_load(&w->published), "worker %u: %" PRIu64 " takes of %" PRIu64
		      " publishes", i, cs->takes, atomic_load(&w->published));
		/* The union is exact: every index below next seen once (no
		 * duplicates: note() refuses a second), or dropped. */
		for (uint64_t k = 0; k < ws->next; k++)
			seen += cs->seen[k] != 0;
		for (uint64_t k = ws->next; k < x->max_items; k++)
			CHECK(!cs->seen[k], "worker %u: item %" PRIu64 " seen, never pushed", i, k);
		CHECK(seen == (discard ? pushed - spilled : pushed), "worker %u: %" PRIu64 " distinct items of %"
		      PRIu64 " pushed", i, seen, pushed);
		if (s->mode == COLL_SLOW)
			CHECK(merged > 0, "worker %u: a slow collector, and no merge", i);
		if (discard)
			CHECK(ws->enobufs == 0, "discard: refused pushes");
		sum_pushed += pushed;
		sum_spilled += spilled;
		sum_merged += merged;
		sum_enobufs += ws->enobufs;
		sum_takes += cs->takes;
	}
	sr_pool_free(x->p);
	for (unsigned i = 0; i < s->workers; i++) {
		free(x->w[i].cum);
		free(x->w[i].scratch);
		free(x->c[i].seen);
	}
	printf("ok %-18s rounds %5" PRIu64 " pushed %7" PRIu64 " spilled %6" PRIu64 " merged %6" PRIu64
	       " full %4" PRIu64 " takes %5" PRIu64 " %.2fs\n",
	       s->name, x->rounds, sum_pushed, sum_spilled, sum_merged, sum_enobufs, sum_takes, now() - t0);
	free(x);
}

/* ===================================================================== */
/* Error cases, status, sequences.                                       */
/* ===================================================================== */

struct rec_args {
	uint64_t a, b;
};

struct basic_ctx {
	_Atomic uint64_t push[MAXW]; /* items worker i pushes next round */
	_Atomic int ret_plus7;       /* nonzero: the work returns worker + 7 */
};

static int work_basic(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	struct basic_ctx *c = ctx;
	uint64_t n = atomic_load(&c->push[worker]);

	CHECK(args == NULL, "args_size 0 and args %p", args);
	for (uint64_t j = 0; j < n; j++) {
		uint64_t v = (uint64_t)worker << WSHIFT | j;

		CHECK(sr_spill_push(out, &v) >= 0, "push");
	}
	return atomic_load(&c->ret_plus7) ? (int)worker + 7 : 0;
}

static void expect_einval(const struct sr_pool_config *cfg, const char *what)
{
	int err = 0;
	struct sr_pool *p = sr_pool_new(cfg, &err);

	CHECK(!p && err == -EINVAL, "sr_pool_new with %s: %p, %d", what, (void *)p, err);
}

static void test_errors(void)
{
	struct basic_ctx c = { 0 };
	const struct sr_pool_config good = {
		.workers = 2, .ring_capacity = 8, .elem_size = 8, .work = work_basic, .ctx = &c,
	};
	struct sr_pool_config cfg;
	int32_t cpus_bad[2] = { 0, -1 }, cpus_big[2] = { 0, CPU_SETSIZE };
	int tasks = count_tasks(), err = 0, rc;
	struct sr_pool *p;
	struct sr_spill *b, *foreign;
	struct sr_spill_config sc = { .capacity = 8, .elem_size = 8 };
	uint64_t seq = 0, v, buf[16];

	wd_arm("errors");
	CHECK(sr_pool_new(NULL, &err) == NULL && err == -EINVAL, "NULL config: %d", err);
	cfg = good, cfg.workers = 0;
	expect_einval(&cfg, "0 workers");
	cfg = good, cfg.workers = SR_POOL_MAX_WORKERS + 1;
	expect_einval(&cfg, "too many workers");
	cfg = good, cfg.ring_capacity = 6;
	expect_einval(&cfg, "capacity 6");
	cfg = good, cfg.ring_capacity = 0;
	expect_einval(&cfg, "capacity 0");
	cfg = good, cfg.elem_size = 0;
	expect_einval(&cfg, "elem_size 0");
	cfg = good, cfg.work = NULL;
	expect_einval(&cfg, "NULL work");
	cfg = good, cfg.cpus = cpus_bad;
	expect_einval(&cfg, "cpu -1");
	cfg = good, cfg.cpus = cpus_big;
	expect_einval(&cfg, "cpu CPU_SETSIZE");
	cfg = good, cfg.flags = 1u << 31;
	expect_einval(&cfg, "flags 1 << 31");
	cfg = good, cfg.flags = ~0u;
	expect_einval(&cfg, "flags ~0");
	cfg = good, cfg.spin_ns = SR_POOL_MAX_SPIN_NS + 1;
	expect_einval(&cfg, "spin_ns too long");
	cfg = good, cfg.args_size = SR_POOL_MAX_ARGS + 1;
	expect_einval(&cfg, "args_size too big");
	expect_tasks(tasks, "failed sr_pool_new");
	{
		/* A CPU that passes the check but that this process may not
		 * use: pthread_create fails for worker 1 after worker 0 has
		 * started, and sr_pool_new must stop and join that one. */
		int c0, c1, bad = -1;
		cpu_set_t set;
		int32_t cpus_off[2];

		allowed_cpus(&c0, &c1);
		CHECK(sched_getaffinity(0, sizeof(set), &set) == 0, "sched_getaffinity");
		for (int k = CPU_SETSIZE - 1; k >= 0 && bad < 0; k--)
			if (!CPU_ISSET(k, &set))
				bad = k;
		if (bad >= 0) {
			cpus_off[0] = c0;
			cpus_off[1] = bad;
			cfg = good, cfg.cpus = cpus_off;
			err = 0;
			p = sr_pool_new(&cfg, &err);
			CHECK(!p && err < 0, "worker 1 pinned to CPU %d outside the affinity mask: %p, %d", bad,
			      (void *)p, err);
			expect_tasks(tasks, "sr_pool_new failing on its second thread");
		}
	}
	sr_pool_free(NULL);

	p = mkpool(&good);
	CHECK(sr_pool_join(p) == -EPERM, "join before any dispatch");
	atomic_store(&c.push[0], 3);
	atomic_store(&c.push[1], 3);
	CHECK(sr_pool_dispatch(p, NULL) == 0, "dispatch");
	rc = sr_pool_dispatch(p, NULL);
	CHECK(rc == -EBUSY, "second dispatch before the join: %d", rc);
	CHECK(sr_pool_join(p) == 0, "join");
	CHECK(sr_pool_join(p) == -EPERM, "second join");
	CHECK(sr_pool_status(p, 2) == -EINVAL, "status of worker 2 of 2");
	CHECK(sr_pool_take(p, 2, &seq) == NULL, "take from worker 2 of 2");
	/* The refused dispatch changed nothing: this was round 1. */
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 1 && sr_spill_len(b) == 3, "take: seq %" PRIu64, seq);

	/* Recycle: only an empty ring, only to its worker. */
	CHECK(sr_pool_recycle(p, 0, b) == -EINVAL, "recycle of a ring with 3 items");
	CHECK(sr_spill_pop(b, &v) == 0 && v == 0, "pop");
	CHECK(sr_pool_recycle(p, 0, b) == -EINVAL, "recycle of a ring with 2 items");
	CHECK(sr_spill_pop_burst(b, buf, 16) == 2, "pop_burst");
	CHECK(sr_pool_recycle(p, 1, b) == -EINVAL, "recycle to the other worker");
	CHECK(sr_pool_recycle(p, 2, b) == -EINVAL, "recycle to worker 2 of 2");
	CHECK(sr_pool_recycle(p, 0, NULL) == -EINVAL, "recycle of NULL");
	foreign = sr_spill_new(&sc, &err);
	CHECK(foreign, "sr_spill_new");
	CHECK(sr_pool_recycle(p, 0, foreign) == -EINVAL, "recycle of a ring not the pool's");
	sr_spill_release(foreign);
	CHECK(sr_pool_recycle(p, 0, b) == 0, "recycle");

	/* A batch whose spill area is not empty is not empty either. */
	atomic_store(&c.push[0], 12); /* capacity 8: 4 spill */
	round_ok(p, NULL);
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 2 && sr_spill_len(b) == 8 && sr_spill_pending(b) == 4, "take: seq %" PRIu64, seq);
	CHECK(sr_spill_pop_burst(b, buf, 16) == 8, "pop_burst");
	CHECK(sr_pool_recycle(p, 0, b) == -EINVAL, "recycle with 4 spilled items pending");
	CHECK(sr_spill_take_spilled(b, buf, 16) == 4 && buf[0] == 0 && buf[3] == 3, "take_spilled");
	CHECK(sr_pool_recycle(p, 0, b) == 0, "recycle");
	sr_pool_free(p);
	expect_tasks(tasks, "sr_pool_free");
	printf("ok errors\n");
}

/* Status per worker and round; sequences stamped at publish (pool.h):
 * exactly the round that published, kept by an untaken batch through a
 * round with nothing to merge, renewed by a merge. */
static void test_status_seq(void)
{
	struct basic_ctx c = { 0 };
	const struct sr_pool_config cfg = {
		.workers = 3, .ring_capacity = 8, .elem_size = 8, .work = work_basic, .ctx = &c,
	};
	struct sr_pool *p;
	struct sr_spill *b;
	uint64_t seq, buf[16];

	wd_arm("status-seq");
	p = mkpool(&cfg);
	for (unsigned r = 1; r <= 6; r++) {
		atomic_store(&c.ret_plus7, r % 2);
		round_ok(p, NULL);
		for (unsigned i = 0; i < 3; i++) {
			int st = sr_pool_status(p, i);

			CHECK(st == (r % 2 ? (int)i + 7 : 0), "round %u worker %u: status %d", r, i, st);
		}
	}
	atomic_store(&c.ret_plus7, 0);

	/* Rounds 1-6 pushed nothing: nothing published. */
	for (unsigned i = 0; i < 3; i++)
		CHECK(sr_pool_take(p, i, &seq) == NULL, "a batch of nothing");
	/* Round 7: 3 items each; take worker 0's only. */
	for (unsigned i = 0; i < 3; i++)
		atomic_store(&c.push[i], 3);
	round_ok(p, NULL);
	seq = 0;
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 7, "round 7's batch: seq %" PRIu64, seq);
	CHECK(drain_all(p, 0, b) == 3, "3 items");
	/* Round 8: worker 1 pushes 2 more (merged into its round-7 batch),
	 * worker 2 nothing (its batch stays as it was). */
	atomic_store(&c.push[0], 1);
	atomic_store(&c.push[1], 2);
	atomic_store(&c.push[2], 0);
	round_ok(p, NULL);
	CHECK(atomic_load(&p->w[1].merged) == 2 && atomic_load(&p->w[2].merged) == 0, "merged counters");
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 8 && drain_all(p, 0, b) == 1, "worker 0, round 8: seq %" PRIu64, seq);
	b = sr_pool_take(p, 1, &seq);
	CHECK(b && seq == 8 && sr_spill_len(b) == 5, "worker 1 merged: seq %" PRIu64, seq);
	/* FIFO through the merge: round 7's items, then round 8's. */
	CHECK(sr_spill_pop_burst(b, buf, 16) == 5 && buf[0] == (UINT64_C(1) << WSHIFT | 0) &&
	      buf[2] == (UINT64_C(1) << WSHIFT | 2) && buf[3] == (UINT64_C(1) << WSHIFT | 0) &&
	      buf[4] == (UINT64_C(1) << WSHIFT | 1), "merge order");
	CHECK(sr_pool_recycle(p, 1, b) == 0, "recycle");
	b = sr_pool_take(p, 2, &seq);
	CHECK(b && seq == 7 && drain_all(p, 2, b) == 3, "worker 2 untouched: seq %" PRIu64, seq);
	/* Round 9 pushes nothing: nothing new. Round 10 pushes: seq 10. */
	atomic_store(&c.push[0], 0);
	atomic_store(&c.push[1], 0);
	round_ok(p, NULL);
	for (unsigned i = 0; i < 3; i++)
		CHECK(sr_pool_take(p, i, &seq) == NULL, "round 9 published");
	atomic_store(&c.push[2], 1);
	round_ok(p, NULL);
	b = sr_pool_take(p, 2, &seq);
	CHECK(b && seq == 10 && drain_all(p, 2, b) == 1, "round 10: seq %" PRIu64, seq);
	CHECK(sr_pool_take(p, 0, &seq) == NULL && sr_pool_take(p, 1, &seq) == NULL, "empty rounds published");
	sr_pool_free(p);
	printf("ok status-seq\n");
}

/* A merge moves the active ring's items into the untaken batch, then its
 * spill area into the batch's, as far as that has room (pool.h); what is
 * left waits in the active ring, and the next publish sends the ring even
 * if it holds only spilled items. */
static void test_merge_spill(void)
{
	struct basic_ctx c = { 0 };
	const struct sr_pool_config cfg = {
		.workers = 1, .ring_capacity = 8, .elem_size = 8, .spill_capacity = 2, .work = work_basic,
		.ctx = &c,
	};
	struct sr_pool *p;
	struct sr_spill *b;
	uint64_t seq, buf[16], len, pend;

	wd_arm("merge-spill");
	p = mkpool(&cfg);
	atomic_store(&c.push[0], 1); /* round 1: item 0, left untaken */
	round_ok(p, NULL);
	/* Round 2: items 0..9 into an empty ring of 8: 0 and 1 spill and
	 * fill the active ring's area of 2; 2..9 merge into the batch, whose
	 * round-1 item spills to make room; then round 2's 0 moves into the
	 * batch's area, which is full then, and 1 stays behind. */
	atomic_store(&c.push[0], 10);
	round_ok(p, NULL);
	CHECK(atomic_load(&p->w[0].merged) == 8 && atomic_load(&p->w[0].spilled) == 3, "merged %" PRIu64
	      " spilled %" PRIu64, atomic_load(&p->w[0].merged), atomic_load(&p->w[0].spilled));
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 2 && sr_spill_len(b) == 8 && sr_spill_pending(b) == 2, "merged batch: seq %" PRIu64
	      " len %" PRIu64 " pending %" PRIu64, seq, b ? sr_spill_len(b) : 0, b ? sr_spill_pending(b) : 0);
	/* Oldest first: round 1's 0, then round 2's 0. */
	CHECK(sr_spill_take_spilled(b, buf, 16) == 2 && buf[0] == 0 && buf[1] == 0, "spilled");
	CHECK(sr_spill_pop_burst(b, buf, 16) == 8 && buf[0] == 2 && buf[7] == 9, "round 2's 2..9");
	CHECK(sr_pool_recycle(p, 0, b) == 0, "recycle");
	/* Round 3 pushes nothing; the active ring holds only item 1 in its
	 * spill area, and it goes out now (H3). */
	atomic_store(&c.push[0], 0);
	round_ok(p, NULL);
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 3, "a ring with only spilled items was not published");
	CHECK(sr_spill_len(b) == 0 && sr_spill_take_spilled(b, buf, 16) == 1 && buf[0] == 1, "round 2's item 1");
	CHECK(sr_pool_recycle(p, 0, b) == 0, "recycle");
	CHECK(atomic_load(&p->w[0].pushed) == 11, "pushed %" PRIu64, atomic_load(&p->w[0].pushed));

	/* Round 4: 0..9 again, published (the collector took the last
	 * batch): 0 and 1 in its area, 2..9 in its ring. Round 5 pushes 0
	 * and 1, untaken: the batch's ring and area are full, nothing
	 * merges, and the two wait in the active ring; the batch still takes
	 * round 5's sequence (its items are older than it says, never newer). */
	atomic_store(&c.push[0], 10);
	round_ok(p, NULL);
	atomic_store(&c.push[0], 2);
	round_ok(p, NULL);
	CHECK(atomic_load(&p->w[0].merged) == 8, "merged %" PRIu64, atomic_load(&p->w[0].merged));
	active_left(p, 0, &len, &pend);
	CHECK(len == 2 && pend == 0, "active ring: %" PRIu64 " + %" PRIu64, len, pend);
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 5 && sr_spill_len(b) == 8 && sr_spill_pending(b) == 2, "round 5: seq %" PRIu64
	      " len %" PRIu64 " pending %" PRIu64, seq, b ? sr_spill_len(b) : 0, b ? sr_spill_pending(b) : 0);
	CHECK(sr_spill_take_spilled(b, buf, 16) == 2 && buf[0] == 0 && buf[1] == 1, "round 4's spilled 0, 1");
	CHECK(sr_spill_pop_burst(b, buf, 16) == 8 && buf[0] == 2 && buf[7] == 9, "round 4's 2..9");
	CHECK(sr_pool_recycle(p, 0, b) == 0, "recycle");
	/* Round 6 pushes nothing and publishes round 5's two. */
	atomic_store(&c.push[0], 0);
	round_ok(p, NULL);
	b = sr_pool_take(p, 0, &seq);
	CHECK(b && seq == 6 && sr_spill_len(b) == 2 && sr_spill_pending(b) == 0, "round 6");
	CHECK(sr_spill_pop_burst(b, buf, 16) == 2 && buf[0] == 0 && buf[1] == 1, "round 5's 0, 1");
	CHECK(atomic_load(&p->w[0].pushed) == 23, "pushed %" PRIu64, atomic_load(&p->w[0].pushed));
	sr_pool_free(p); /* with a batch in the collector's hands */
	printf("ok merge-spill\n");
}

/* ===================================================================== */
/* args: each round's copy, not the caller's struct.                     */
/* ===================================================================== */

#define ARGS_ROUNDS 200

struct args_ctx {
	_Atomic uint64_t mutated; /* the round whose args the caller has overwritten */
	struct rec_args seen[MAXW][ARGS_ROUNDS + 2];
};

static int work_args(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	struct args_ctx *c = ctx;
	const struct rec_args *a = args;
	uint64_t r;

	(void)out;
	CHECK(a, "args_size 16 and args NULL");
	/* The round is in b's low bits; wait until the caller has clobbered
	 * its struct, so reading the args now tells copy from pointer. */
	r = a->b & 0xffff;
	CHECK(r >= 1 && r <= ARGS_ROUNDS + 1, "round %" PRIu64 " in args", r);
	while (atomic_load(&c->mutated) != r)
		sched_yield();
	c->seen[worker][r] = *a;
	return 0;
}

static void test_args(void)
{
	struct args_ctx *c = calloc(1, sizeof(*c));
	const struct sr_pool_config cfg = {
		.workers = 3, .ring_capacity = 4, .elem_size = 8, .args_size = sizeof(struct rec_args),
		.work = work_args, .ctx = c, .spin_ns = 10000,
	};
	struct sr_pool *p;
	struct rec_args a;

	CHECK(c, "calloc");
	wd_arm("args");
	p = mkpool(&cfg);
	for (uint64_t r = 1; r <= ARGS_ROUNDS; r++) {
		a.a = r * UINT64_C(0x9e3779b97f4a7c15);
		a.b = ~r << 16 | r;
		CHECK(sr_pool_dispatch(p, &a) == 0, "dispatch");
		a.a = a.b = UINT64_C(0xdeadbeefdeadbeef);
		atomic_store(&c->mutated, r);
		CHECK(sr_pool_join(p) == 0, "join");
		for (unsigned i = 0; i < 3; i++)
			CHECK(c->seen[i][r].a == r * UINT64_C(0x9e3779b97f4a7c15) && c->seen[i][r].b == (~r << 16 | r),
			      "worker %u round %" PRIu64 ": args %" PRIx64 " %" PRIx64, i, r, c->seen[i][r].a,
			      c->seen[i][r].b);
	}
	/* args NULL: the round sees p->args as it is, the last round's... */
	memset(c->seen, 0, sizeof(c->seen));
	round_ok(p, NULL);
	for (unsigned i = 0; i < 3; i++)
		CHECK(c->seen[i][ARGS_ROUNDS].a == ARGS_ROUNDS * UINT64_C(0x9e3779b97f4a7c15) &&
		      c->seen[i][ARGS_ROUNDS].b == (~(uint64_t)ARGS_ROUNDS << 16 | ARGS_ROUNDS),
		      "worker %u, args NULL: %" PRIx64 " %" PRIx64, i, c->seen[i][ARGS_ROUNDS].a,
		      c->seen[i][ARGS_ROUNDS].b);
	/* ...or what the dispatcher wrote there since the join. */
	a.a = 42;
	a.b = ARGS_ROUNDS + 1;
	memcpy(p->args, &a, sizeof(a));
	atomic_store(&c->mutated, ARGS_ROUNDS + 1);
	round_ok(p, NULL);
	for (unsigned i = 0; i < 3; i++)
		CHECK(c->seen[i][ARGS_ROUNDS + 1].a == 42 && c->seen[i][ARGS_ROUNDS + 1].b == ARGS_ROUNDS + 1,
		      "worker %u, p->args written: %" PRIx64 " %" PRIx64, i, c->seen[i][ARGS_ROUNDS + 1].a,
		      c->seen[i][ARGS_ROUNDS + 1].b);
	sr_pool_free(p);
	free(c);
	printf("ok args\n");
}

/* ===================================================================== */
/* Pinning: each worker runs on its CPU.                                 */
/* ===================================================================== */

#define PIN_ROUNDS 20

struct pin_ctx {
	const int32_t *cpus;
	int cpu[2][PIN_ROUNDS];
	int round; /* the dispatcher's, read by workers after G1 */
};

static int work_pin(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	struct pin_ctx *c = ctx;
	int *rec = &c->cpu[worker][c->round];

	(void)out, (void)args;
	/* A few times, yielding between: a migration would show up on a
	 * later call. The first CPU other than the pinned one sticks. */
	*rec = sched_getcpu();
	for (int k = 0; k < 3 && *rec == c->cpus[worker]; k++) {
		sched_yield();
		*rec = sched_getcpu();
	}
	return 0;
}

static void pin_run(const int32_t *cpus, unsigned workers)
{
	struct pin_ctx c = { .cpus = cpus };
	const struct sr_pool_config cfg = {
		.workers = workers, .ring_capacity = 4, .elem_size = 8, .cpus = cpus,
		.work = work_pin, .ctx = &c,
	};
	struct sr_pool *p = mkpool(&cfg);

	for (int r = 0; r < PIN_ROUNDS; r++) {
		c.round = r;
		round_ok(p, NULL);
		for (unsigned i = 0; i < workers; i++)
			CHECK(c.cpu[i][r] == cpus[i], "worker %u pinned to CPU %d ran on %d", i, cpus[i], c.cpu[i][r]);
	}
	sr_pool_free(p);
}

static void test_pin(void)
{
	int c0, c1;
	unsigned n = allowed_cpus(&c0, &c1);
	int32_t one[1] = { c0 }, two[2] = { c0, c1 };

	wd_arm("pin");
	CHECK(n >= 1 && c0 >= 0, "no CPU allowed");
	pin_run(one, 1);
	if (n >= 2) {
		pin_run(two, 2);
		two[0] = c1, two[1] = c0;
		pin_run(two, 2);
	}
	printf("ok pin (CPU %d%s%d)\n", c0, n >= 2 ? " and " : "", n >= 2 ? c1 : c0);
}

/* ===================================================================== */
/* sr_pool_free: parked, spinning, mid-round, never dispatched.          */
/* ===================================================================== */

struct free_ctx {
	unsigned sleep_ms;
	_Atomic unsigned started, finished;
	_Atomic unsigned exited; /* worker threads past their TLS destructors */
};

/* A thread-specific value's destructor runs as its thread exits, before a
 * pthread_join of it returns: a free that joins its workers returns only
 * after every worker that ran a round has counted itself here. */
static pthread_key_t exit_key;

static void count_exit(void *v)
{
	atomic_fetch_add((_Atomic unsigned *)v, 1);
}

static void expect_exited(struct free_ctx *c, unsigned workers, const char *what)
{
	CHECK(atomic_load(&c->exited) == workers, "%s: sr_pool_free returned, %u of %u workers exited", what,
	      atomic_load(&c->exited), workers);
	atomic_store(&c->exited, 0);
}

static int work_free(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
{
	struct free_ctx *c = ctx;
	uint64_t v = worker;

	(void)args;
	if (!pthread_getspecific(exit_key))
		CHECK(pthread_setspecific(exit_key, (void *)&c->exited) == 0, "pthread_setspecific");
	atomic_fetch_add(&c->started, 1);
	if (c->sleep_ms)
		sleep_us((long)c->sleep_ms * 1000);
	CHECK(sr_spill_push(out, &v) >= 0, "push");
	atomic_fetch_add(&c->finished, 1);
	return 0;
}

static void wait_parked(struct sr_pool *p)
{
	for (int k = 0; k < 2000; k++) {
		bool all = true;

		for (unsigned i = 0; i < p->workers; i++)
			all &= atomic_load(&p->w[i].parked) == 1;
		if (all)
			return;
		sleep_us(1000);
	}
	for (unsigned i = 0; i < p->workers; i++)
		CHECK(atomic_load(&p->w[i].parked) == 1, "worker %u not parked after 2 s", i);
}

static void test_free(void)
{
	int c0, c1;
	unsigned ncpu = allowed_cpus(&c0, &c1);
	struct free_ctx c = { 0 };
	struct sr_pool_config cfg = {
		.workers = 2, .ring_capacity = 8, .elem_size = 8, .work = work_free, .ctx = &c,
	};
	int tasks = count_tasks();
	struct sr_pool *p;
	uint64_t seq;
	double t0, t_spin;

	wd_arm("free");
	CHECK(pthread_key_create(&exit_key, count_exit) == 0, "pthread_key_create");
	/* Never dispatched, freed at once: the threads may not even wait yet. */
	for (unsigned k = 0; k < 20; k++) {
		cfg.workers = 1 + k % 3;
		p = mkpool(&cfg);
		CHECK(count_tasks() >= tasks + (int)cfg.workers, "threads of a new pool");
		sr_pool_free(p);
		expect_tasks(tasks, "free of a new pool");
	}

	/* Parked: a short spin, a long pause; free wakes the sleepers (S1).
	 * Worker 0's batch is still in the collector's hands: the pool frees
	 * that ring too (ASan's leak check). */
	cfg.workers = 3;
	cfg.spin_ns = 1000;
	p = mkpool(&cfg);
	for (int r = 1; r <= 2; r++) {
		wait_parked(p);
		round_ok(p, NULL);
	}
	/* Round 2's wait was a sleep, counted before the work ran. */
	for (unsigned i = 0; i < cfg.workers; i++)
		CHECK(atomic_load(&p->w[i].park_ns) > 0, "worker %u slept 0 ns", i);
	CHECK(sr_pool_take(p, 0, &seq) != NULL && seq == 2, "take");
	wait_parked(p);
	sr_pool_free(p);
	expect_exited(&c, cfg.workers, "parked");
	expect_tasks(tasks, "free of a parked pool");

	/* Spinning: 50 ms spins (oversubscribed or not), freed right after
	 * a join, while the workers spin for the next round. */
	cfg.workers = 2;
	cfg.spin_ns = 50000000;
	cfg.flags = SR_POOL_SPIN_OVERSUBSCRIBED;
	p = mkpool(&cfg);
	CHECK(p->spin_ns == 50000000 && !(p->flags & SR_POOL_YIELDS), "spin_ns %u with SR_POOL_SPIN_OVERSUBSCRIBED", p->spin_ns);
	round_ok(p, NULL);
	round_ok(p, NULL);
	t0 = now();
	sr_pool_free(p);
	t_spin = now() - t0;
	expect_exited(&c, cfg.workers, "spinning");
	expect_tasks(tasks, "free of a spinning pool");
	/* Without the flag, spin only if a CPU is left for the dispatcher;
	 * otherwise the waits yield at each poll (SR_POOL_YIELDS). */
	cfg.flags = 0;
	cfg.workers = ncpu;
	p = mkpool(&cfg);
	CHECK(p->flags & SR_POOL_YIELDS, "%u workers on %u CPUs: waits do not yield", cfg.workers, ncpu);
	round_ok(p, NULL);
	sr_pool_free(p);
	expect_exited(&c, cfg.workers, "yield rule");
	if (ncpu >= 2) {
		cfg.workers = ncpu - 1;
		p = mkpool(&cfg);
		CHECK(p->spin_ns == 50000000 && !(p->flags & SR_POOL_YIELDS), "%u workers on %u CPUs: spin_ns %u, flags %#x",
		      cfg.workers, ncpu, p->spin_ns, p->flags);
		round_ok(p, NULL);
		sr_pool_free(p);
		expect_exited(&c, cfg.workers, "spin rule");
	}
	expect_tasks(tasks, "free after the spin rule");

	/* Mid-round: the work sleeps 20 ms; free right after the dispatch,
	 * and once more after every worker has started. The round finishes
	 * first (S1), every work function returns. */
	cfg.workers = 3;
	cfg.spin_ns = 0;
	c.sleep_ms = 20;
	for (int k = 0; k < 2; k++) {
		atomic_store(&c.started, 0);
		atomic_store(&c.finished, 0);
		p = mkpool(&cfg);
		CHECK(sr_pool_dispatch(p, NULL) == 0, "dispatch");
		while (k == 1 && atomic_load(&c.started) < cfg.workers)
			sched_yield();
		sr_pool_free(p);
		CHECK(atomic_load(&c.finished) == cfg.workers, "free returned with %u of %u work functions done",
		      atomic_load(&c.finished), cfg.workers);
		expect_exited(&c, cfg.workers, "mid-round");
		expect_tasks(tasks, "free mid-round");
	}
	CHECK(pthread_key_delete(exit_key) == 0, "pthread_key_delete");
	printf("ok free (spinning pool freed in %.1f ms)\n", t_spin * 1e3);
}

/* ===================================================================== */

/* ===================================================================== */
/* C all the way: two pools chained by a C collector, no Go anywhere.    */
/* ===================================================================== */

#define PIPE_ITEMS 40 /* per stage-1 worker per round */
#define PIPE_MAX (2 * PIPE_ITEMS * 2)

/* Stage 1: worker w of round r makes the records r << 32 | w << 16 | i. */
static int pipe_parse(struct sr_spill *out, unsigned w, const void *args, void *ctx)
{
	uint64_t r = *(const uint64_t *)args;

	(void)ctx;
	for (uint64_t i = 0; i < PIPE_ITEMS; i++)
		if (sr_spill_push(out, &(uint64_t){ r << 32 | (uint64_t)w << 16 | i }) < 0)
			return 1;
	return 0;
}

/* Stage 2's input: what the collector took from stage 1, written before the
 * dispatch that hands it over (G1 orders it). */
struct pipe_in {
	uint64_t n;
	uint64_t v[PIPE_MAX];
};

/* Stage 2: worker w transforms the records at w, w + 3, ... */
static int pipe_transform(struct sr_spill *out, unsigned w, const void *args, void *ctx)
{
	const struct pipe_in *in = ctx;

	(void)args;
	for (uint64_t j = w; j < in->n; j += 3)
		if (sr_spill_push(out, &(uint64_t){ in->v[j] * 2 + 1 }) < 0)
			return 1;
	return 0;
}

/* Takes every batch of p into v (at most max items); returns the count. */
static uint64_t pipe_collect(struct sr_pool *p, unsigned workers, uint64_t *v, uint64_t max)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < workers; i++) {
		struct sr_spill *b = sr_pool_take(p, i, NULL);
		int k;

		if (!b)
			continue;
		CHECK(sr_spill_pending(b) == 0, "pipeline: stage rings never spill here");
		while ((k = sr_spill_pop_burst(b, v + n, (unsigned)(max - n))) > 0)
			n += (uint64_t)k;
		CHECK(sr_spill_len(b) == 0, "pipeline: more than %" PRIu64 " items", max);
		CHECK(sr_pool_recycle(p, i, b) == 0, "pipeline: recycle");
	}
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_pipeline(uint64_t rounds)
{
	static struct pipe_in in;
	uint64_t out[PIPE_MAX], want[PIPE_MAX];
	struct sr_pool_config c1 = { .workers = 2, .ring_capacity = 64, .elem_size = 8,
				     .args_size = sizeof(uint64_t), .spin_ns = 20000, .work = pipe_parse };
	struct sr_pool_config c2 = { .workers = 3, .ring_capacity = 64, .elem_size = 8,
				     .spin_ns = 20000, .work = pipe_transform, .ctx = &in };
	struct sr_pool *p1, *p2;

	wd_arm("pipeline");
	p1 = mkpool(&c1);
	p2 = mkpool(&c2);
	for (uint64_t r = 1; r <= rounds; r++) {
		uint64_t n;

		round_ok(p1, &r);
		in.n = pipe_collect(p1, c1.workers, in.v, PIPE_MAX);
		CHECK(in.n == 2 * PIPE_ITEMS, "pipeline round %" PRIu64 ": stage 1 gave %" PRIu64, r, in.n);
		round_ok(p2, NULL);
		n = pipe_collect(p2, c2.workers, out, PIPE_MAX);
		CHECK(n == in.n, "pipeline round %" PRIu64 ": stage 2 gave %" PRIu64 " of %" PRIu64, r, n, in.n);
		/* Every record of the round, transformed, exactly once. */
		for (uint64_t j = 0; j < n; j++)
			want[j] = (r << 32 | (j / PIPE_ITEMS) << 16 | (j % PIPE_ITEMS)) * 2 + 1;
		qsort(out, n, sizeof(out[0]), cmp_u64);
		for (uint64_t j = 0; j < n; j++)
			CHECK(out[j] == want[j], "pipeline round %" PRIu64 ": item %" PRIu64 " is %#" PRIx64 ", want %#" PRIx64,
			      r, j, out[j], want[j]);
	}
	for (unsigned i = 0; i < c1.workers; i++)
		CHECK(sr_pool_status(p1, i) == 0, "stage 1 worker %u failed", i);
	for (unsigned i = 0; i < c2.workers; i++)
		CHECK(sr_pool_status(p2, i) == 0, "stage 2 worker %u failed", i);
	sr_pool_free(p2);
	sr_pool_free(p1);
	printf("ok pipeline (%" PRIu64 " rounds, 2 + 3 workers, C only)\n", rounds);
}

int main(void)
{
	uint64_t n = 4000;
	const char *e, *only;
	pthread_t wd;
	double t0 = now();
	const struct scen scens[] = {
		/* Conservation and order, a collector as fast as it goes.
		 * One worker spinning and a spinning joiner fill two CPUs:
		 * a pause per round lets the collector in. */
		{ "order w1", 1, 16, 0, 0, 20000, COLL_FAST, 1, 10 },
		{ "order w2 spill/4", 2, 64, 16, 0, 20000, COLL_FAST, 1, 0 },
		{ "order w3 spill*2", 3, 16, 32, 0, 0, COLL_FAST, 1, 0 },
		{ "order w3 spin", 3, 8, 0, SR_POOL_SPIN_OVERSUBSCRIBED, 20000, COLL_FAST, 2, 0 },
		/* Rings of 16 KiB and more: mapped (block.h), except under
		 * ASan (SR_MAP_MIN_PAGES). */
		{ "order w2 big", 2, 2048, 1024, 0, 0, COLL_FAST, 16, 0 },
		/* Merge-back: a collector slower than the rounds (a pass
		 * every 300 us, a round every 100 us and more), but not so
		 * slow that every ring and spill area stays full. */
		{ "slow w1", 1, 16, 0, 0, 20000, COLL_SLOW, 4, 100 },
		{ "slow w2 spill/2", 2, 32, 16, 0, 0, COLL_SLOW, 4, 100 },
		{ "slow w3", 3, 8, 0, 0, 0, COLL_SLOW, 4, 100 },
		/* Rings that drop instead of spilling. */
		{ "discard w1", 1, 16, 0, SR_POOL_DISCARD, 20000, COLL_FAST, 2, 10 },
		{ "discard w3", 3, 16, 0, SR_POOL_DISCARD, 0, COLL_FAST, 2, 0 },
		{ "discard slow w2", 2, 8, 0, SR_POOL_DISCARD, 0, COLL_SLOW, 4, 100 },
		/* A collector that keeps batches half drained for a few
		 * passes (50 us apart). */
		{ "refuse w1", 1, 16, 0, 0, 20000, COLL_REFUSE, 4, 20 },
		{ "refuse w3", 3, 16, 8, 0, 0, COLL_REFUSE, 4, 20 },
		{ "refuse discard w2", 2, 16, 0, SR_POOL_DISCARD, 0, COLL_REFUSE, 4, 20 },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((e = getenv("SR_POOL_N")) && *e)
		n = strtoull(e, NULL, 10);
	if ((e = getenv("SR_POOL_TIMEOUT")) && *e)
		wd_timeout = atoi(e);
	CHECK(n >= 50, "SR_POOL_N too small");
	wd_arm("start");
	CHECK(pthread_create(&wd, NULL, watchdog, NULL) == 0, "pthread_create");

	only = getenv("SR_POOL_ONLY");
	if (!only || strstr("errors", only))
		test_errors();
	if (!only || strstr("status-seq", only))
		test_status_seq();
	if (!only || strstr("merge-spill", only))
		test_merge_spill();
	if (!only || strstr("args", only))
		test_args();
	if (!only || strstr("pin", only))
		test_pin();
	if (!only || strstr("free", only))
		test_free();
	if (!only || strstr("pipeline", only))
		test_pipeline(n / 10);
	for (size_t i = 0; i < sizeof(scens) / sizeof(scens[0]); i++)
		if (!only || strstr(scens[i].name, only))
			run(&scens[i], n);
	printf("all ok (N=%" PRIu64 ") in %.2fs\n", n, now() - t0);
	return 0;
}
