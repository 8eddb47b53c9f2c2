/*
 * pool.h - the thread-per-core worker pool: N worker threads, each pinned to
 * one CPU, each filling a spill ring (spill.h) with a work function, and a
 * handoff slot per worker through which one collector takes the filled
 * rings ("batches") while the workers go on. Go's WorkerPool (pool.go) is
 * this pool; C programs use it directly (csrc/example/pool_quickstart.c).
 *
 * Usage:
 *	static int work(struct sr_spill *out, unsigned worker, const void *args, void *ctx)
 *	{
 *		uint64_t v = worker;
 *		return sr_spill_push(out, &v) < 0;   // nonzero: the round failed
 *	}
 *	struct sr_pool_config cfg = { .workers = 2, .ring_capacity = 1024,
 *	                              .elem_size = sizeof(uint64_t), .work = work,
 *	                              .spin_ns = 20000 };
 *	int err;
 *	struct sr_pool *p = sr_pool_new(&cfg, &err);   // starts the threads
 *	sr_pool_dispatch(p, NULL);                     // a round: every worker runs work once
 *	sr_pool_join(p);                               // waits for it
 *	for (unsigned i = 0; i < 2; i++) {             // collect (may also run during a round)
 *		uint64_t seq;
 *		struct sr_spill *b = sr_pool_take(p, i, &seq);
 *		if (b) { ...sr_spill_pop_burst(b, ...)...; sr_pool_recycle(p, i, b); }
 *	}
 *	sr_pool_free(p);                               // stops and joins the threads
 *
 * Threads. sr_pool_new starts one pthread per worker, pinned to cfg->cpus[i]
 * (pthread_attr_setaffinity_np: it starts there), or unpinned when cpus is
 * NULL. A worker waits for a round by polling for spin_ns nanoseconds and
 * then sleeping on a futex; while sleeping it uses no CPU. When workers + 1
 * exceed the CPUs (the dispatcher needs one too), workers sleep at once
 * (a futex wake-up preempts whoever holds the CPU, where a poller would
 * wait for its time slice), and the joiner polls with sched_yield, which
 * keeps the CPU only if no worker wants it. One thread at a time is the
 * "dispatcher": it calls
 * sr_pool_dispatch and sr_pool_join, alternately (a second dispatch before
 * the join is refused with -EBUSY).
 * One thread at a time is the "collector": it calls sr_pool_take and
 * sr_pool_recycle, at any moment, also while a round runs. They may be the
 * same thread.
 *
 * Rings. Each worker owns SR_POOL_RINGS spill rings, allocated at
 * sr_pool_new and never again. At any moment each ring is in exactly one
 * place: the worker's active ring (its work function pushes into it), the
 * worker's spare, the handoff slot's `batch` (published, waiting for the
 * collector), in the collector's hands (taken, being drained), or the slot's
 * `recycle` (drained, handed back). A round ends with a publish:
 *   - batch holds an uncollected ring: the worker takes it back and merges
 *     its active ring into it (the batch's items are older: FIFO holds),
 *     then the active ring's spill area into the batch's; what does not
 *     fit spills into the batch's spill area, and what the area cannot
 *     take stays in the active ring for the next publish (the work
 *     function's own pushes then fail with -ENOBUFS too: the spill area is
 *     too small for the collector's pace). The batch goes back into the
 *     slot with the new sequence. This is the backpressure chain's middle
 *     link: a slow collector makes workers merge, rings fill, and the
 *     overflow spills.
 *   - otherwise the active ring is published and the spare (or the ring
 *     found in `recycle`) becomes active. With three rings there always is
 *     one: the collector holds at most one ring of a worker at a time.
 * So every round ends with everything the worker pushed so far published
 * or spilled (H3 below): nothing waits for a later round, unless a merge
 * found the batch's spill area full (above).
 *
 * Sequences. A round's sequence number is the count of dispatches so far
 * (1 for the first). A batch carries the sequence of the round that
 * published it, stamped at publish, not at dispatch: the items of a merged
 * batch, or of a round before, are older than its sequence says, never
 * newer. Every worker of a round stamps the same number.
 *
 * Ordering. A pool made with order_window > 0 is ordered: its collector
 * hands on each worker's items round by round (sr_pool_round), so that it
 * can emit every round's items, of all workers, before the next round's,
 * whatever order the workers finish in. A merged batch holds several
 * rounds; what tells them apart is a per-worker window of counts: the
 * publish of round s writes counts[s & order_mask], the items it put into
 * the handoff slot (0 for a round that published nothing), before its H1
 * store. A batch's items are the last ones of its rounds' counts: spills
 * only ever take a ring's oldest items, so the collector that takes a
 * batch of rounds e .. s (e its next round to emit) knows that the first
 * (sum of their counts - the batch's length) of them are gone. An item a
 * publish could not move (the batch's spill area full: above) counts with
 * the publish that moves it. The window bounds the rounds in flight: a
 * dispatch that would start round emit + order_window of some worker
 * fails with -ENOSPC (O3), so counts are never overwritten before the
 * collector has read them. An ordered pool is collected with sr_pool_round
 * and sr_pool_round_release only, never sr_pool_take.
 *
 * Ordering labels (pairs), in the style of spillring.h:
 *   G1 dispatcher: writes the round's args, then a seq_cst store of each
 *      worker's `go` = the round's number (low 32 bits)
 *      -> worker: acquire load of `go` seeing the new number, then reads
 *      the args and the round's sequence. The dispatcher loads `parked`
 *      (seq_cst) after the store and wakes the worker (FUTEX_WAKE on go)
 *      only if it is 1. The worker stores parked = 1 (seq_cst), re-loads
 *      `go` (seq_cst), and futex-waits while go is unchanged: store->load
 *      on both sides, no lost wake-up (W1's argument), and no syscall when
 *      nobody sleeps.
 *   H1 worker: writes its active ring (in the merge case, the batch it
 *      took back by H3), then a release store of `batch` =
 *      seq << 8 | ring + 1
 *      -> collector: acquire exchange of `batch` with 0, then reads the
 *      ring. Sequence and ring are one word so a collector never pairs a
 *      ring with the sequence of a later publish.
 *   H2 collector: drains the ring k, then sets bit k of `recycle` with a
 *      release fetch_or -> worker: acquire exchange of `recycle` with 0,
 *      then writes the rings whose bits it got. A mask, not a ring number:
 *      two recycles may land before the worker picks either up. The
 *      collector takes (H1) a worker's batch only after recycling the last
 *      one it took from that worker.
 *   H3 worker: at publish it first exchanges `batch` with 0 (acq_rel). If
 *      that returns a ring, the collector had not taken it: merge (above).
 *      If it returns 0, the collector took the last batch, and the worker
 *      needs a spare: its own, or `recycle` (acquire exchange). By H2 a
 *      collector that took the last batch had recycled the one before,
 *      and the worker's acq_rel exchange of `batch` comes after the
 *      collector's (acq_rel) take in batch's modification order, so it
 *      sees that recycle. So with three rings the worker always finds a
 *      ring to publish into or a spare, and never waits for the collector.
 *   D1 worker: after its publish, writes `status` and `done` (release) and
 *      decrements the pool's `pending` (seq_cst fetch_sub)
 *      -> dispatcher: acquire load of `pending` showing no worker left
 *      (count 0) in sr_pool_join, then reads every worker's status and
 *      counters. A joiner that goes to sleep first sets SR_POOL_JOINER in
 *      pending with a CAS on the value it read, then futex-waits on the
 *      value it wrote; the worker whose decrement leaves no worker wakes it
 *      if the old value its RMW returned had the bit. The flag lives in the
 *      counted word, which each dispatch resets, so a worker delayed after
 *      its decrement of an earlier round can never clear the flag of a
 *      later round's joiner: a separate flag word that workers cleared
 *      lost wake-ups that way.
 *   O1 worker: writes counts[s & order_mask], then H1 (or, for a round
 *      with nothing to publish, only D1's release store of `done`)
 *      -> collector: acquire load of `done`, then the H1 exchange: a batch
 *      stamped s' >= s, or done >= s, shows round s ended, and its count
 *      (and those before it) is visible. A round found ended (done read
 *      before the exchange) with no batch in the slot had nothing to
 *      publish if its count is 0; if not, a later round's publish has
 *      taken the batch back to merge into it (H3) and will put it back:
 *      the collector tries again later.
 *   O2 collector: hands on a round's items, then a release store of its
 *      worker's `emit` = the round + 1 -> dispatcher (O3).
 *   O3 dispatcher: before round R it checks R < emit + order_window for
 *      every worker: from order_floor, a minimum it read before, and only
 *      when that fails, by re-reading every emit (acquire). The collector
 *      read round R - order_window's count before it stored emit past it
 *      (O2), and the worker writes round R's count after G1: the slot is
 *      free.
 *   S1 sr_pool_free: stores `shutdown` = 1, then bumps every worker's `go`
 *      as a dispatch does (G1); a worker that sees go change checks
 *      shutdown (relaxed: G1's acquire orders it) before it runs a round.
 *      A round already running finishes first (work functions are not
 *      interrupted): sr_pool_free joins the round, then the threads.
 *
 * Spilling. A worker's ring spills as spill.h says: into its spill area
 * (spill_capacity items), and when that is full too, sr_spill_push returns
 * -ENOBUFS and takes nothing; the work function decides what to do. The
 * collector empties the area of every batch it takes (sr_spill_take_spilled)
 * and hands the items on (Go: to the pool's overflow spout). With
 * SR_POOL_DISCARD the rings drop instead (SR_SPILL_DISCARD in spill.h): a
 * push never fails, and the drops are counted.
 *
 * Counters: a worker counts what its work pushed, what spilled (from its
 * active ring during work, and from the batch during a merge), and what it
 * merged back; it writes them with relaxed stores, any thread may read them
 * (exact once the round is joined). Items are conserved:
 *   pushed == taken by the collector + spilled + still in rings.
 *
 * Return codes are 0, a count, or a negative errno: -EINVAL (bad argument),
 * -EBUSY (a dispatch while a round runs), -ENOMEM, -EAGAIN (from
 * pthread_create, or sr_pool_round on a ring whose spill area waits to be
 * drained), -EPERM (sr_pool_join with no round dispatched), -ENOSPC (a
 * dispatch beyond the order window).
 *
 * The functions are extern by default; SR_API as in spillring.h.
 */
#ifndef SPILLRING_POOL_H
#define SPILLRING_POOL_H

#include "spill.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_POOL_MAGIC UINT64_C(0x314c4f4f504c5053) /* "SPLPOOL1", little-endian */
#define SR_POOL_VERSION 1u

/* The bit of `pending` that says the joiner sleeps on it (D1). */
#define SR_POOL_JOINER UINT32_C(0x80000000)

/* Rings per worker: active, published, and one in the collector's hands. */
#define SR_POOL_RINGS 3
#define SR_POOL_MAX_WORKERS 1024
/* Bytes of args a round carries, at most (sr_pool_dispatch copies them). */
#define SR_POOL_MAX_ARGS (UINT64_C(1) << 20)
/* The largest order window, in rounds: 8 bytes a round per worker. */
#define SR_POOL_MAX_WINDOW (UINT32_C(1) << 16)
/* The longest wait spin, in nanoseconds. */
#define SR_POOL_MAX_SPIN_NS UINT32_C(1000000000)

/* Bits of sr_pool_config.flags. */
#define SR_POOL_DISCARD 1u /* rings drop on overflow instead of using the spill area */
#define SR_POOL_SPIN_OVERSUBSCRIBED 2u /* spin even when workers + 1 exceed the CPUs */
#define SR_POOL_YIELDS 0x80000000u /* not a config flag: set by sr_pool_new
				       * when workers + 1 exceed the CPUs: workers
				       * sleep at once, and the joiner yields the
				       * CPU at each poll (sched_yield) instead of
				       * spinning */
#define SR_POOL_SELF_PUBLISH 4u /* the work function ends the round itself:
				 * counts, and publishes (H3) as the worker
				 * would. Go work functions do, so that their
				 * merges spill through Go, never into a
				 * bounded spill area. */

/* A work function: fills `out` (the worker's active ring; the calling
 * worker owns it until it returns) for one round. args points at the
 * round's copy of the dispatcher's args (args_size bytes, NULL if 0), valid
 * until the function returns; ctx is sr_pool_config.ctx. It returns 0, or
 * nonzero to report a failure: sr_pool_status gives it back. */
typedef int (*sr_work_fn)(struct sr_spill *out, unsigned worker, const void *args, void *ctx);

struct sr_pool_config {
	uint32_t workers;        /* 1 .. SR_POOL_MAX_WORKERS */
	uint32_t flags;          /* SR_POOL_* */
	uint64_t ring_capacity;  /* per ring: power of two, 1 .. SR_MAX_CAPACITY */
	uint64_t elem_size;      /* bytes per item, 1 .. SR_MAX_ELEM_SIZE */
	uint64_t spill_capacity; /* per ring, as in sr_spill_config (0 = ring_capacity) */
	uint64_t args_size;      /* bytes sr_pool_dispatch copies for each round, 0 .. SR_POOL_MAX_ARGS */
	uint32_t spin_ns;        /* how long a waiting worker or joiner polls
				  * before it sleeps, at most SR_POOL_MAX_SPIN_NS;
				  * when workers + 1 exceed the CPUs this process
				  * may use, workers sleep at once and the joiner
				  * yields the CPU at each poll (SR_POOL_YIELDS),
				  * unless SR_POOL_SPIN_OVERSUBSCRIBED */
	uint32_t order_window;   /* rounds: 0 unordered; 1 .. SR_POOL_MAX_WINDOW
				  * makes the pool ordered (Ordering, below) */
	const int32_t *cpus;     /* cpus[i]: the CPU worker i is pinned to; NULL: unpinned */
	sr_work_fn work;         /* required */
	void *ctx;               /* passed to work */
};

/* Per worker: the handoff slot, the signal, and the worker's own words, each
 * on its own line. */
struct sr_pool_worker {
	/* Line 0: the handoff slot (worker <-> collector). batch is 0 or
	 * seq << 8 | ring + 1 (H1, H3); recycle has bit k set for each ring k
	 * recycled and not yet picked up by the worker (H2). */
	SR_ATOMIC(uint64_t) batch;
	SR_ATOMIC(uint32_t) recycle;
	uint32_t _pad;
	/* Ordered pools (O1-O3), the collector's: emit is the worker's next
	 * round to emit (the dispatcher reads it: O3); held is the batch word
	 * of the ring the collector holds (0: none); drop counts items at
	 * the front of held that its rounds' counts include but that are
	 * gone (spilled); part counts items of round emit already handed
	 * on or dropped. */
	SR_ATOMIC(uint64_t) emit;
	uint64_t held;
	uint64_t drop;
	uint64_t part;

	/* Line 1: the signal (dispatcher <-> worker). go is the number of the
	 * last round dispatched, low 32 bits (G1, S1: a futex word); parked
	 * is 1 while the worker sleeps on it; done is the number of the last
	 * round the worker finished, and status its work's result (D1). */
	SR_ALIGNAS(SR_LINE) SR_ATOMIC(uint32_t) go;
	SR_ATOMIC(uint32_t) parked;
	SR_ATOMIC(uint32_t) done;
	SR_ATOMIC(int32_t) status;

	/* Line 2: the worker's own. rings never change after sr_pool_new;
	 * active (a ring) and spare (bit k for each spare ring k) are the
	 * worker's private state
	 * between rounds (the dispatcher reads them only when no round runs).
	 * The counters are written by the worker only (relaxed); spin_ns and
	 * park_ns are time spent waiting for a round. */
	SR_ALIGNAS(SR_LINE) struct sr_spill *rings[SR_POOL_RINGS];
	uint32_t active;
	uint32_t spare;
	SR_ATOMIC(uint64_t) rounds;
	SR_ATOMIC(uint64_t) pushed;
	SR_ATOMIC(uint64_t) spilled;
	SR_ATOMIC(uint64_t) merged;
	SR_ATOMIC(uint64_t) published;
	SR_ATOMIC(uint64_t) spin_ns;
	SR_ATOMIC(uint64_t) park_ns;
	/* Ordered pools: counts[seq & order_mask] is how many items the
	 * publish of round seq put into the handoff slot (O1); NULL when
	 * unordered. */
	SR_ATOMIC(uint64_t) *counts;
};

SR_STATIC_ASSERT(offsetof(struct sr_pool_worker, recycle) == 8, "slot line");
SR_STATIC_ASSERT(offsetof(struct sr_pool_worker, part) == 40, "ordered words after the slot");
SR_STATIC_ASSERT(offsetof(struct sr_pool_worker, go) == 1 * SR_LINE, "signal line");
SR_STATIC_ASSERT(offsetof(struct sr_pool_worker, status) == 1 * SR_LINE + 12, "signal words are packed");
SR_STATIC_ASSERT(offsetof(struct sr_pool_worker, rings) == 2 * SR_LINE, "worker line");
SR_STATIC_ASSERT(offsetof(struct sr_pool_worker, active) == 2 * SR_LINE + 8 * SR_POOL_RINGS, "active after rings");
SR_STATIC_ASSERT(offsetof(struct sr_pool_worker, park_ns) == 2 * SR_LINE + 80, "counters after active and spare");
SR_STATIC_ASSERT(offsetof(struct sr_pool_worker, counts) == 2 * SR_LINE + 88, "counts after the counters");
SR_STATIC_ASSERT(sizeof(struct sr_pool_worker) == 3 * SR_LINE, "three lines a worker");

struct sr_pool {
	/* Line 0: immutable after sr_pool_new. */
	uint64_t magic;
	uint32_t version;
	uint32_t workers;
	uint64_t ring_capacity;
	uint64_t elem_size;
	uint64_t args_size;
	uint32_t spin_ns; /* after the oversubscription rule */
	uint32_t flags;
	struct sr_pool_worker *w; /* workers entries, SR_LINE-aligned */
	void *args;               /* args_size bytes: the running round's copy */
	sr_work_fn work;
	void *ctx;
	void *threads; /* private: the pthread handles */
	uint32_t order_window; /* rounds, 0: unordered */
	uint32_t order_mask;   /* counts' size - 1: a power of two >= order_window */

	/* Line 1: the round (dispatcher <-> workers). round is the number of
	 * the last round dispatched (the dispatcher's; workers read it after
	 * G1); pending counts the workers still in it, plus SR_POOL_JOINER
	 * while the joiner sleeps on it (a futex word, D1); shutdown (S1). */
	SR_ALIGNAS(SR_LINE) uint64_t round;
	SR_ATOMIC(uint32_t) pending;
	SR_ATOMIC(uint32_t) shutdown;
	uint32_t joined; /* the dispatcher's: 1 once `round` was joined */
	uint64_t order_floor; /* the dispatcher's: a past minimum of the workers' emit (O3) */
};

SR_STATIC_ASSERT(offsetof(struct sr_pool, w) == 48, "immutable words first");
SR_STATIC_ASSERT(offsetof(struct sr_pool, threads) == 80, "threads after the callbacks");
SR_STATIC_ASSERT(offsetof(struct sr_pool, order_mask) == 92, "order words last of line 0");
SR_STATIC_ASSERT(offsetof(struct sr_pool, round) == 1 * SR_LINE, "round line");
SR_STATIC_ASSERT(offsetof(struct sr_pool, joined) == 1 * SR_LINE + 16, "round words are packed");
SR_STATIC_ASSERT(offsetof(struct sr_pool, order_floor) == 1 * SR_LINE + 24, "the floor after joined");
SR_STATIC_ASSERT(sizeof(struct sr_pool) == 2 * SR_LINE, "header is two lines");

/* Lifecycle. sr_pool_new validates cfg, allocates every ring and the worker
 * entries, and starts the threads; on failure it returns NULL with *err < 0
 * and nothing left behind. sr_pool_free stops the workers (after joining a
 * running round), joins their threads and frees everything; the pool and
 * its rings must not be used afterwards. */
SR_API struct sr_pool *sr_pool_new(const struct sr_pool_config *cfg, int *err);
SR_API void sr_pool_free(struct sr_pool *p);

/* Dispatcher. sr_pool_dispatch copies args_size bytes of args into p->args
 * (args NULL: it copies nothing, and the round sees what p->args holds: the
 * last round's args, or what the dispatcher wrote there since the last
 * join) and starts a round on every worker; it returns
 * at once: 0, -EBUSY if the last round was not joined, or -ENOSPC if an
 * ordered pool's window is full (O3): nothing changes then.
 * sr_pool_join waits for the round (spin, then futex sleep) and returns 0,
 * or -EPERM if no round waits to be joined. sr_pool_status gives worker i's
 * result of the last joined round (its work's return value). */
SR_API int sr_pool_dispatch(struct sr_pool *p, const void *args);
SR_API int sr_pool_join(struct sr_pool *p);
SR_API int sr_pool_status(const struct sr_pool *p, unsigned worker);

/* Collector. sr_pool_take takes worker i's published batch (H1) and stores
 * its sequence in *seq, or returns NULL if it has none. The collector owns
 * the ring until it hands it back with sr_pool_recycle (H2), which it must
 * do, empty (ring and spill area), before it takes that worker's next
 * batch; -EINVAL if the ring is not empty or not that worker's. A collector
 * that cannot drain a batch now keeps it and drains it first next time
 * (the worker merges meanwhile; it is never stranded). */
SR_API struct sr_spill *sr_pool_take(struct sr_pool *p, unsigned worker, uint64_t *seq);
SR_API int sr_pool_recycle(struct sr_pool *p, unsigned worker, struct sr_spill *ring);

/* Ordered collector (order_window > 0; see Ordering). A worker's rounds
 * come out one at a time, in order, from its `emit` (1 at first).
 * sr_pool_round describes worker i's round `emit` in *r and returns 1 once
 * the worker ended it: r->seq is the round, r->items[0..1] and r->len[0..1]
 * the round's items not yet released, oldest first, in place in r->ring
 * (NULL and 0 for a round with none). It returns 0 while the worker has
 * not ended the round, -EAGAIN when the ring it holds must first have its
 * spill area emptied (sr_spill_take_spilled on r->ring: those items
 * spilled), -EINVAL for a bad worker or an unordered pool. It changes no
 * item: call it again for the same round as often as needed.
 * sr_pool_round_release gives up the first n items of what sr_pool_round
 * described (n <= len[0] + len[1]); once none is left, the worker's
 * next round is the one after (O2), and a drained ring goes back to the
 * worker (H2). -EINVAL if n is more than the round has left. One thread
 * at a time collects a worker. */
struct sr_pool_round {
	uint64_t seq;
	struct sr_spill *ring;
	const void *items[2];
	uint64_t len[2];
};
SR_API int sr_pool_round(struct sr_pool *p, unsigned worker, struct sr_pool_round *r);
SR_API int sr_pool_round_release(struct sr_pool *p, unsigned worker, uint64_t n);

#ifdef __cplusplus
}
#endif

#endif /* SPILLRING_POOL_H */
