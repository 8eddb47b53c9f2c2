/*
 * spillring.h - the shared ring: its memory layout and its acquire/release
 * protocol, defined once for C threads, Go code and (later) other processes.
 *
 * Usage (whole programs: csrc/example/c_pingpong.c, cpp_pingpong.cpp):
 *	struct sr_config cfg = { .capacity = 1024, .elem_size = sizeof(uint64_t),
 *	                         .backpressure = SR_BLOCK, .wait = SR_WAIT_ADAPTIVE,
 *	                         .spins = 20000 };   // 20 us spin, then futex sleep
 *	int err;
 *	struct sr_ring *r = sr_ring_new(&cfg, &err); // NULL, err < 0 on failure
 *	// producer thread:
 *	sr_ring_push(r, &v);                 // 0, or -EPIPE once closed
 *	sr_ring_close(r, SR_CLOSED_PRODUCER); // after its last push
 *	// consumer thread:
 *	while (sr_ring_pop(r, &v) == 0)      // -EPIPE: closed and drained
 *		use(v);
 *	sr_ring_close(r, SR_CLOSED_CONSUMER);
 *	// once both threads are done:
 *	sr_ring_release(r);                  // frees it with the last reference
 * Build and link: `make lib` or `make install PREFIX=...`, then
 *	cc app.c $(pkg-config --cflags --libs spillring)
 * (that -I makes it <spillring.h>; without it, <spillring/spillring.h>).
 * C++11 and later include the same header: the atomic fields are then
 * std::atomic<T>, asserted to have the size of T and to be lock-free, so the
 * layout is the C one. Rings are made by sr_ring_new or sr_ring_init, never
 * constructed in C++. The core itself (ring.c, spill.c) is C11.
 *
 * A ring is one contiguous block: a header of six 128-byte lines, then the
 * slot array, then one 64-bit stamp per slot. Sequences are
 * free-running uint64_t, masked on access, so all `capacity` slots are usable
 * and wrap-around is not a concern (2^64 items).
 *
 * Threading contract: one consumer thread, and one producer thread until the
 * ring is upgraded to multi-producer (MPSC) mode by sr_ring_add_producer;
 * from then on any number of producer threads may push at once ("side" =
 * producer or consumer). sr_ring_close, sr_ring_len, sr_ring_evicted and
 * sr_ring_closed may be called from any thread. Go code that touches the
 * same words (spillring's spsc.go, mpsc.go and drain.go) follows the
 * protocol below to the letter and quotes its labels.
 *
 * Ordering labels (pairs):
 *   R1 producer: release store of `tail` after writing slots
 *      -> A1 consumer: acquire load of `tail` before reading slots.
 *   R2 consumer: release store of `head` after reading slots (Block/Reject)
 *      -> A2 producer: acquire load of `head` before overwriting slots.
 *   C1 DropOldest: `head` is moved with an acq_rel CAS by the consumer (to
 *      pop) and by the producer (to evict). Whoever wins owns the slot.
 *   R3 DropOldest: the owner of a won slot frees it with a release store
 *      of stamp = SR_STAMP_FREE(seq + capacity)
 *      -> A3 producer: acquire load of the stamp before writing that slot.
 *   W1 Park: the waiter stores its wait word = 1 (seq_cst), re-checks the
 *      index and `state` (seq_cst loads), then futex-waits on the word
 *      while it is still 1. The waker publishes its index with a seq_cst
 *      store, loads the wait word (seq_cst) and, only if it is 1, exchanges
 *      it to 0 and calls FUTEX_WAKE. Store->load on both sides in one total
 *      order means either the waiter sees the new index or the waker sees
 *      the flag: no lost wake-up, and no syscall when nobody sleeps.
 *      Under Spin nobody sleeps, and R2 stays release-only (R1 and M2 are
 *      seq_cst for F1 below). SpinYield sleeps after its yields, Adaptive
 *      after a spin of `spins` nanoseconds, both as Park does. Go publishes
 *      with sequentially consistent stores: the two sides interoperate
 *      under any strategy.
 *      In MPSC mode the producer's published index is a stamp (M2) and the
 *      consumer re-checks the stamp of `head` after setting cons_wait.
 *      Several producers may sleep on prod_wait; the waker wakes them all.
 *      So in MPSC mode a producer never resets prod_wait to 0 itself (that
 *      could hide another sleeper's flag from the waker: a lost wake-up);
 *      only a waker's exchange, or a close, resets it.
 *
 * Multi-producer (MPSC) mode:
 *   U1 upgrade: the ring's sole producer, with no push of its own in flight,
 *      stores mp_start = tail (everything below it was published by R1),
 *      then sets SR_MULTI in `state` (seq_cst RMW). The bit is never
 *      cleared. Every push checks `state` first and takes the MPSC path
 *      once it sees the bit.
 *   U2 consumer: a tail read by A1 may already count MPSC claims. So the
 *      consumer loads `state` (acquire) AFTER every A1 load; if SR_MULTI is
 *      set it trusts that tail only up to mp_start, and reads sequences from
 *      mp_start on by M3. (SR_MULTI seen => mp_start seen, by U1's order.)
 *   M1 claim: in MPSC mode `tail` is the next sequence to claim, not to
 *      publish. Block/Reject: a producer acquires `head` (A2), checks room
 *      (tail - head < capacity) and claims [t, t+n) with an acq_rel CAS on
 *      tail. DropOldest: it claims with fetch_add (no room check) and makes
 *      each slot free as in C1/A3 (below).
 *   M2 publish: Block/Reject: after writing the slots of its claimed run
 *      [t, t+k), one release store of stamp(t) = SR_STAMP_FULL(t+k-1): one
 *      store per batch, and the other stamps of the run are not written.
 *      DropOldest: per item, stamp(seq) = SR_STAMP_FULL(seq) (the SPSC
 *      producer does the same before R1, so every item there is stamped).
 *   M3 consumer: Block/Reject: tail_cache is the end of what it knows is
 *      ready (mp_start at first), always a run's start. From there it
 *      acquires stamp(tail_cache); reading SR_STAMP_FULL(x) with
 *      x - tail_cache < capacity (modulo 2^63, the stamp's range) makes
 *      tail_cache..x ready. Any other value, including a stale stamp of an
 *      earlier lap (x below tail_cache: runs are at most capacity long),
 *      means the run is not published yet. DropOldest: the item h is ready
 *      iff stamp(h) equals SR_STAMP_FULL(h). Stamps are never reset after a
 *      Block/Reject pop. Items are read in claim order: a slow producer
 *      holds back the runs claimed after its own.
 *   DropOldest in MPSC mode: the producer of seq t may evict seq t-capacity
 *      (C1 CAS of head from t-capacity) only after it has read the stamp
 *      SR_STAMP_FULL(t-capacity) (acquire): the item it evicts must have
 *      been written by its own producer. The consumer wins by C1 only
 *      sequences whose stamps it read as full (M3), then frees them (R3).
 *      Each sequence is thus popped once or evicted once, never both.
 *   Producer count: `producers` starts at 1; sr_ring_add_producer adds one
 *      (upgrading on first use); closing the producer side drops one, and
 *      only the last sets SR_CLOSED_PRODUCER.
 *
 * Closing without losing an item. A close may land while a push runs (it
 * may come from another thread than the pushing one), so a check of
 * `state` before the push cannot tell whether the consumer will see it.
 * The promise: a push that returns success has put its items in the ring,
 * and the consumer pops each (or DropOldest evicts and counts it) exactly
 * once; a push that fails did not take them. "Closed and drained" (-EPIPE
 * from a pop) comes only after every such item was popped.
 *   F1 publish, then check: every producer publishes (R1, M2) with a
 *      seq_cst store and only then loads `state` (seq_cst). If
 *      SR_CLOSED_PRODUCER is clear, the push succeeded: a consumer that
 *      sees the bit later (seq_cst load) and then loads tail or the stamps
 *      sees the items (store->load on both sides in one total order, as W1).
 *      So R1 and M2 are seq_cst under every wait strategy.
 *   F2 settle: a producer that saw the bit after publishing [start, end)
 *      settles on `drain` = end << 1 | SR_DRAIN_SEALED (63 bits of end,
 *      compared by distance). Unsealed, end is the highest end promised by
 *      such producers: the producer raises it to its own end with a CAS, and
 *      then its push succeeded. The consumer, once it has seen the bit and
 *      found nothing ready at head h, seals the word at h with a CAS, unless
 *      a promise reaches past h or (MPSC) a sequence claimed past h is
 *      published (a push that succeeded, held back by an earlier claim still
 *      in flight: the consumer waits for it). Sealed, every item below h was
 *      popped or evicted and none at or past h ever will be: a producer that
 *      finds the word sealed took only its items below h and fails for the
 *      rest. The consumer reports closed-and-drained only once sealed, and
 *      never pops past the seal.
 *   F3 DropOldest: a producer that wins C1 for seq x and then sees the bit
 *      (seq_cst load after the CAS) settles [x, x+1) before it counts x:
 *      evicted if the word was not sealed at or below x; otherwise x was
 *      not taken (its own push fails) and it is neither counted nor handed
 *      out. A producer that waits for a slot the consumer must free gives up
 *      once SR_CLOSED_CONSUMER is set (the rest of its push fails).
 * A consumer's close discards what is in the ring: a push that races it may
 * still succeed, and its item is discarded with the rest.
 *
 * Claim and commit: items written and read in place (struct sr_claim).
 * A claim hands out at most two spans of slots (the second when the run
 * wraps around the end of the slot array); nothing is copied.
 *   K1 producer claim, SPSC: [t, t+k) with t = tail and room as a push
 *      finds it (head_cache, A2); nothing is published: claim_len = k
 *      turns away the producer's pushes and second claims (-EBUSY) until
 *      the commit. DropOldest: the claim makes each slot free as a push does
 *      (A3, or C1 and an eviction that stands even if the claim is
 *      aborted), so a claim never waits for the consumer, but may spin while
 *      it copies an item out (or while a read claim holds the slot, K5).
 *      C keeps the check of claim_len off its pushes' fast paths: while
 *      the claim is pending, Block/Reject's head_cache is t - capacity (no
 *      room: the push reads claim_len where it would refresh head_cache;
 *      the commit sets head_cache = t + k - capacity, still a lower bound
 *      of head), and DropOldest's stamp(t) is SR_STAMP_FULL(t - capacity)
 *      (not free: the push reads claim_len where it would evict; in SPSC
 *      mode stamps are the producer's to read, and the commit overwrites
 *      it).
 *   K2 commit of k' <= k, SPSC: R1 of t+k' (DropOldest: the per-item stamps
 *      first, as a push), then F1. The rest is simply not published: the
 *      next claim or push reuses it. DropOldest: the rest's slots, which
 *      the claim made the producer's, get SR_STAMP_FREE(seq) back (A3 for
 *      the next claim). k' = 0 is an abort.
 *   K3 MPSC: the claim is M1 (Block/Reject: CAS with the room check;
 *      DropOldest: fetch_add, then each slot freed as by a push). A commit
 *      of k' < k first tries to give the rest back with a CAS of tail from
 *      t+k to t+k', which only succeeds while no later claim exists (a
 *      stamp past t+k' was never written in this lap, so the next claimer
 *      finds the stamps as M3 expects). Failing that, the rest becomes
 *      padding: Block/Reject, one release store stamp(t+k') =
 *      SR_STAMP_PAD(t+k-1); DropOldest, SR_STAMP_PAD(seq) per sequence.
 *      `padded` counts them. Then M2 for [t, t+k') and F1. A claim that is
 *      never committed holds back every run claimed after it, as a slow
 *      push does: the pending claim is the caller's to end (every handle
 *      has at most one), and Go's Stats reports pending claims and the
 *      oldest one's age.
 *   K4 consumer, padding: M3 that finds SR_STAMP_PAD(x) at a run start s,
 *      x - s < capacity, knows s..x hold no items. At head it releases them
 *      (R2 of x+1, `skipped` += x-s+1) and goes on; past head it first
 *      hands out what lies before them. DropOldest: at head, SR_STAMP_PAD(h)
 *      is won by C1 and freed by R3 like an item, and counted as skipped;
 *      a producer that needs the slot of seq old = t-capacity may win a
 *      padded old by C1 without counting an eviction (it counts it as
 *      skipped instead). For F2 a pad at head counts as ready (the
 *      consumer steps over it before it seals), and a pad past head as
 *      nothing published.
 *   K5 read claim: the consumer reads [h, h+k) in place. Block/Reject: the
 *      items are ready (A1 or M3); a release of k' publishes head = h+k' by
 *      R2, and the rest stays in the ring for the next pop. DropOldest: the
 *      read claim wins [h, h+k) by C1 first, so no producer evicts an item
 *      being read; a release of k' frees the first k' by R3, and the rest,
 *      won and unread, becomes [read_start, read_end), which the next pop
 *      or read claim hands out before anything else (a producer that laps
 *      the ring waits for those slots meanwhile). read_len = k while the
 *      claim is pending turns away pops and second read claims (-EBUSY).
 *      C checks read_len and the held range off its pops' fast path: a read
 *      claim made in SPSC mode leaves tail_cache at head (Block/Reject,
 *      also after the release) or below it (DropOldest, while items are
 *      held), so the next pop reads them where it would refresh tail_cache.
 *   K6 close: a claim after either side closed, or blocked when a close
 *      lands, returns -EPIPE as a push does. A commit (or abort) that finds
 *      either side closed is a push after a close: it takes nothing, the
 *      claim ends as an abort, and it returns -EPIPE. A close that lands
 *      while the commit publishes is settled as for any push (F1, F2: it
 *      may take all, part or none of the items). A read claim after the
 *      producer side closed hands out what is left, then -EPIPE.
 *
 * Return codes are 0 or a negative errno: -EAGAIN (would block: full on push,
 * empty on pop), -ENOBUFS (Reject: full), -EPIPE (closed: a push after either
 * side closed, or that a close kept out (F2); a pop after the producer side
 * closed and the ring drained, or after the consumer closed), -EINVAL (bad
 * argument), -ENOMEM, -EBUSY (a claim is pending, K1-K5), -ENOENT (no claim
 * is pending).
 */
#ifndef SPILLRING_H
#define SPILLRING_H

/* One layout for C and C++: SR_ATOMIC(T) is `_Atomic T` in C and
 * std::atomic<T> in C++, SR_ALIGNAS and SR_STATIC_ASSERT likewise. GCC and
 * Clang give both the same representation for lock-free integers (and C++23
 * defines _Atomic(T) as std::atomic<T>); the asserts below check what the
 * layout relies on, and the offsets after struct sr_ring hold in both. */
#ifdef __cplusplus
#include <atomic>
#include <cstddef>
#include <cstdint>
#define SR_ATOMIC(T) std::atomic<T>
#define SR_ALIGNAS(n) alignas(n)
#define SR_STATIC_ASSERT(e, msg) static_assert(e, msg)
#else
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#define SR_ATOMIC(T) _Atomic T
#define SR_ALIGNAS(n) _Alignas(n)
#define SR_STATIC_ASSERT(e, msg) _Static_assert(e, msg)
#endif

#ifdef __cplusplus
/* The atomic words must be the plain integers C sees, and never a lock. */
static_assert(sizeof(std::atomic<uint64_t>) == sizeof(uint64_t), "std::atomic<uint64_t> is a uint64_t");
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "std::atomic<uint32_t> is a uint32_t");
static_assert(alignof(std::atomic<uint64_t>) == 8, "std::atomic<uint64_t> is 8-aligned, as C's _Atomic uint64_t");
static_assert(alignof(std::atomic<uint32_t>) == 4, "std::atomic<uint32_t> is 4-aligned");
static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics are always lock-free");
static_assert(ATOMIC_LONG_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics are always lock-free");
#if __cplusplus >= 201703L
static_assert(std::atomic<uint64_t>::is_always_lock_free, "std::atomic<uint64_t> is always lock-free");
static_assert(std::atomic<uint32_t>::is_always_lock_free, "std::atomic<uint32_t> is always lock-free");
#endif

extern "C" {
#endif

/* SR_API lets a translation unit take a private (static) copy of the core by
 * defining it before including ring.c; by default functions are extern. */
#ifndef SR_API
#define SR_API
#endif

#define SR_MAGIC UINT64_C(0x31474e49524c5053) /* "SPLRING1", little-endian */
#define SR_VERSION 4u /* 2: stamps for every ring, producers and mp_start (MPSC); 3: drain (F2);
			   * 4: claim and commit (K1-K6): pad stamps, padded, skipped, claim_len,
			   * read_len, read_start, read_end */

/* Independently written words are kept 128 bytes apart: two 64-byte lines,
 * because the adjacent-line prefetcher pulls lines in pairs. */
#define SR_LINE 128

#define SR_MAX_CAPACITY (UINT64_C(1) << 30)
#define SR_MAX_ELEM_SIZE (UINT64_C(1) << 20)
#define SR_MAX_TOTAL_SIZE (UINT64_C(1) << 40)

/* Backpressure: what a push does when the ring is full. */
enum sr_backpressure {
	SR_BLOCK = 0,       /* wait for space (per the wait strategy) */
	SR_DROP_OLDEST = 1, /* evict the oldest unread item, count it */
	SR_REJECT = 2,      /* fail with -ENOBUFS */
};

/* Wait strategy: how a side waits for space or data. All but SPIN may
 * sleep, so under them every publisher runs the waker's half of W1. */
enum sr_wait {
	SR_WAIT_SPIN = 0,       /* busy spin */
	SR_WAIT_SPIN_YIELD = 1, /* spin `spins` times, then sched_yield; after
				 * 16 yields, or one that took over 50 us (the
				 * CPU is busy), futex sleep (W1) */
	SR_WAIT_PARK = 2,       /* spin `spins` times, then futex sleep (W1) */
	SR_WAIT_ADAPTIVE = 3,   /* spin `spins` nanoseconds, then futex sleep (W1) */
};

/* The longest spin SR_WAIT_ADAPTIVE takes, in nanoseconds. */
#define SR_MAX_SPIN_NS UINT32_C(1000000000)

/* Bits of `state`. */
#define SR_CLOSED_PRODUCER 1u
#define SR_CLOSED_CONSUMER 2u
#define SR_MULTI 4u /* not a close: the ring is in MPSC mode (U1) */
#define SR_CLOSED_MASK (SR_CLOSED_PRODUCER | SR_CLOSED_CONSUMER)

/* The sealed bit of `drain` (F2). */
#define SR_DRAIN_SEALED UINT64_C(1)

/* Bits of `flags`. */
#define SR_FLAG_SHARED 1u /* memory shared across processes: non-private futex */
/* Not a config flag (sr_ring_size refuses it): set by sr_ring_new when the
 * ring is a page-aligned anonymous mapping of its own, whose slot and stamp
 * pages sr_ring_reclaim can return to the OS. */
#define SR_FLAG_MAPPED 0x80000000u

struct sr_config {
	uint64_t capacity;  /* power of two, 1 .. SR_MAX_CAPACITY */
	uint64_t elem_size; /* bytes per item, 1 .. SR_MAX_ELEM_SIZE */
	uint32_t backpressure;
	uint32_t wait;
	uint32_t spins; /* spin iterations before yield/park; SR_WAIT_ADAPTIVE:
			 * nanoseconds, at most SR_MAX_SPIN_NS */
	uint32_t flags;
};

struct sr_ring {
	/* Line 0: immutable after init, read by both sides; only the lifecycle
	 * atomics refs and reclaimed change later. */
	uint64_t magic;
	uint32_t version;
	uint32_t backpressure;
	uint32_t wait;
	uint32_t spins;
	uint64_t capacity;
	uint64_t mask;
	uint64_t elem_size;
	uint64_t slots_offset;  /* from the start of the ring, multiple of SR_LINE */
	uint64_t stamps_offset; /* from the start of the ring, multiple of 8 */
	uint64_t total_size;    /* bytes, header + slots + stamps */
	uint32_t flags;
	SR_ATOMIC(uint32_t) refs; /* owners of a heap ring; see sr_ring_release */
	SR_ATOMIC(uint32_t) reclaimed; /* 1 once sr_ring_reclaim ran; see there */

	/* Line 1: next sequence to publish, written by the producer only (R1);
	 * in MPSC mode the next sequence to claim (M1). */
	SR_ALIGNAS(SR_LINE) SR_ATOMIC(uint64_t) tail;

	/* Line 2: producer-private. head_cache is the last `head` the producer
	 * saw (refreshed only when the ring looks full); evicted counts items
	 * DropOldest threw away (written by the producer, read by anyone);
	 * padded counts claimed sequences given back as padding (K3; any
	 * producer adds, anyone reads); claim_len is the length of the SPSC
	 * producer's pending claim, 0 if none (K1). */
	SR_ALIGNAS(SR_LINE) uint64_t head_cache;
	SR_ATOMIC(uint64_t) evicted;
	SR_ATOMIC(uint64_t) padded;
	uint64_t claim_len;

	/* Line 3: next sequence to consume. Written by the consumer (R2); in
	 * DropOldest also won by the producer's CAS (C1). */
	SR_ALIGNAS(SR_LINE) SR_ATOMIC(uint64_t) head;

	/* Line 4: consumer-private. tail_cache is the last `tail` the consumer
	 * saw (refreshed only when the ring looks empty); in MPSC mode the end
	 * of the runs it knows are published (M3). skipped counts padding
	 * sequences released: stepped over by the consumer (K4), or under
	 * DropOldest also won by a producer that needed the slot, so both
	 * add with an RMW there (read by anyone; padded - skipped is the
	 * padding still in [head, tail)). read_len is the length of the
	 * consumer's pending read claim, 0 if none (K5); [read_start,
	 * read_end) are DropOldest items the consumer won (C1) and has not
	 * handed out yet: the rest of a partly released read claim, set at
	 * the release and handed out first by the next pop or read claim
	 * (K5). sr_ring_len reads the pair from any thread, so the consumer
	 * writes them with relaxed atomic stores (read_start first). */
	SR_ALIGNAS(SR_LINE) uint64_t tail_cache;
	SR_ATOMIC(uint64_t) skipped;
	uint64_t read_len;
	uint64_t read_start;
	uint64_t read_end;

	/* Line 5: rarely written control words. state holds the close bits
	 * (SR_CLOSED_*) and the mode bit (SR_MULTI: the ring is MPSC); prod_wait / cons_wait are the futex words of W1 (producers
	 * waiting for space / the consumer waiting for data); producers counts
	 * open producer handles; mp_start is the first sequence published by
	 * stamps (valid once SR_MULTI is set, U1); drain settles a close with
	 * the pushes in flight (F2). */
	SR_ALIGNAS(SR_LINE) SR_ATOMIC(uint32_t) state;
	SR_ATOMIC(uint32_t) prod_wait;
	SR_ATOMIC(uint32_t) cons_wait;
	SR_ATOMIC(uint32_t) producers;
	SR_ATOMIC(uint64_t) mp_start;
	SR_ATOMIC(uint64_t) drain;
};

SR_STATIC_ASSERT(offsetof(struct sr_ring, reclaimed) == 80, "reclaimed after refs, in line 0's padding");
SR_STATIC_ASSERT(offsetof(struct sr_ring, tail) == 1 * SR_LINE, "tail line");
SR_STATIC_ASSERT(offsetof(struct sr_ring, head_cache) == 2 * SR_LINE, "producer line");
SR_STATIC_ASSERT(offsetof(struct sr_ring, head) == 3 * SR_LINE, "head line");
SR_STATIC_ASSERT(offsetof(struct sr_ring, tail_cache) == 4 * SR_LINE, "consumer line");
SR_STATIC_ASSERT(offsetof(struct sr_ring, state) == 5 * SR_LINE, "control line");
SR_STATIC_ASSERT(sizeof(struct sr_ring) == 6 * SR_LINE, "header is six lines");

/* Slot of sequence `seq`. */
static inline void *sr_ring_slot(const struct sr_ring *r, uint64_t seq)
{
	return (char *)r + r->slots_offset + (seq & r->mask) * r->elem_size;
}

/* Stamp of sequence `seq` (DropOldest, and MPSC mode). SR_STAMP_FREE(seq)
 * means the slot is free for seq; SR_STAMP_FULL(seq) means it holds seq;
 * under DropOldest, once seq is consumed it becomes SR_STAMP_FREE(seq +
 * capacity). A zeroed stamp is full for no sequence. Free and full values
 * have different parity, so even with capacity 1 "holds seq" can never be
 * read as "free for seq + 1". The doubling drops the top bit of seq, which
 * is harmless: a slot's stamps only move by capacity <= 2^30 at a time. */
#define SR_STAMP_FREE(seq) ((uint64_t)(seq) << 1)
#define SR_STAMP_FULL(seq) (((uint64_t)(seq) << 1) | 1u)
/* A run of padding ending at seq (K3): SR_STAMP_FULL(seq + 2^62), the full
 * stamp with its top bit flipped. Decoded as a run (M3) it names a sequence
 * 2^62 away, which the range check refuses, so a reader that does not look
 * for padding waits, never misreads; decoded as padding it names seq. A
 * stale stamp of either kind is at most a few laps (far below 2^62) old, so
 * it passes neither check. */
#define SR_STAMP_PAD(seq) (SR_STAMP_FULL(seq) ^ (UINT64_C(1) << 63))

static inline SR_ATOMIC(uint64_t) *sr_ring_stamp(const struct sr_ring *r, uint64_t seq)
{
	return (SR_ATOMIC(uint64_t) *)((char *)r + r->stamps_offset) + (seq & r->mask);
}

/* Lifecycle. sr_ring_size returns the bytes a ring with this configuration
 * needs, or 0 if the configuration is invalid. sr_ring_init lays a ring out
 * in caller-provided memory (SR_LINE-aligned, zeroed or not). sr_ring_new
 * allocates and initialises one with refs = 1: a ring of at least 4 pages
 * (16 KiB) is an anonymous private mapping of its own (mmap; SR_FLAG_MAPPED
 * in `flags`), a smaller one comes from aligned_alloc. sr_ring_retain adds an
 * owner and sr_ring_release drops one, freeing the ring (munmap or free)
 * with the last. */
SR_API size_t sr_ring_size(const struct sr_config *cfg);
SR_API int sr_ring_init(void *mem, size_t size, const struct sr_config *cfg);
SR_API struct sr_ring *sr_ring_new(const struct sr_config *cfg, int *err);
SR_API void sr_ring_retain(struct sr_ring *r);
SR_API void sr_ring_release(struct sr_ring *r);

/* sr_ring_reclaim returns the memory of a closed ring's items to the OS
 * before the ring is freed: once both sides have closed, nobody needs the
 * slots or stamps any more, but the ring is freed only with its last
 * reference (sr_ring_release; from Go, when the handles are collected),
 * and a handle's owner may still call into the ring meanwhile, so it must
 * not be unmapped. It returns, with madvise(MADV_DONTNEED), every page
 * that lies wholly inside the slot and stamp area (up to the end of the
 * mapping); the header's page, which holds every index, `state`, the wait
 * words and `refs`, is never touched. It returns 0, or does nothing and
 * returns -EINVAL if sr_ring_new did not map r (a ring laid out by
 * sr_ring_init in caller memory is never advised), -EBUSY if a side is
 * still open, or -EALREADY if it ran before (an atomic exchange of
 * `reclaimed`: of concurrent callers, exactly one does the work). Any
 * thread may call it; spillring's Go Close calls it when its close sets
 * the second close bit.
 *
 * Safety: the memory stays mapped until the last sr_ring_release, so a late
 * access can never crash: a read of a returned page reads zeros, a write
 * faults in a fresh zeroed page (memory that is freed with the ring). What
 * it can do is read zeros where an item or a stamp was. Both close bits
 * are set before the pages go (the seq_cst RMW that set the second one
 * precedes the madvise, which completes its TLB shootdown on every CPU
 * before it returns), so a reader that finds zeros finds the ring closed
 * too, if it looks after its read. Hence, after sr_ring_reclaim may run:
 *   - a side that copies items out of slots (a pop, or a DropOldest
 *     eviction) must re-load `state` AFTER its last read of the slots,
 *     ordered after that read (on x86 every load is; elsewhere the
 *     seq_cst/release publish of head or the stamp that follows the copy,
 *     then a seq_cst load, or an acquire fence, gives the order), and
 *     discard what it read if both close bits are set (a pop may simply
 *     discard when its own side is closed): the items are gone anyway,
 *     since a consumer that closed discards what it did not pop;
 *   - every loop that waits for a stamp or a slot to change must also
 *     watch `state`: a zeroed stamp means "free for sequence 0" and
 *     "full for no sequence", and may never change again;
 *   - a write (a push in flight) needs nothing: it lands in a page that
 *     is dropped or freed with the ring. */
SR_API int sr_ring_reclaim(struct sr_ring *r);

/* Checks magic, version and sizes of a ring found in memory of `size` bytes
 * (e.g. a shared mapping): 0 or -EINVAL. */
SR_API int sr_ring_validate(const struct sr_ring *r, size_t size);

/* Producer side. Safe for one producer thread; once the ring is in MPSC
 * mode (sr_ring_add_producer), for any number of them at once.
 * sr_ring_try_push never waits: 0, -EAGAIN (full; under DropOldest it evicts
 * instead), -EPIPE. sr_ring_push follows the ring's backpressure: Block waits
 * per the wait strategy; DropOldest evicts the oldest item and counts it (if
 * `evicted_out` is non-NULL the evicted item is copied there and 1 is
 * returned); Reject returns -ENOBUFS when full. */
SR_API int sr_ring_try_push(struct sr_ring *r, const void *elem);
SR_API int sr_ring_push(struct sr_ring *r, const void *elem);
SR_API int sr_ring_push_evict(struct sr_ring *r, const void *elem, void *evicted_out);

/* Batches publish once (one R1 store) per call. bulk: all n or nothing
 * (n, or -EAGAIN/-EPIPE; -EINVAL if n exceeds the capacity, except under
 * DropOldest). burst: as many as fit now (0..n, or -EPIPE if closed before
 * anything was pushed). Neither waits; under DropOldest both evict as needed
 * and take all n, unless a close lands meanwhile and the consumer has
 * sealed (F2): then the items taken are the first k, and k is returned
 * (-EPIPE if none). Order is kept. */
SR_API int sr_ring_push_bulk(struct sr_ring *r, const void *elems, unsigned n);
SR_API int sr_ring_push_burst(struct sr_ring *r, const void *elems, unsigned n);

/* Consumer side. NOT safe for more than one consumer thread.
 * sr_ring_try_pop: 0, -EAGAIN (empty), -EPIPE (closed and drained).
 * sr_ring_pop waits per the wait strategy until an item or -EPIPE. */
SR_API int sr_ring_try_pop(struct sr_ring *r, void *out);
SR_API int sr_ring_pop(struct sr_ring *r, void *out);

/* bulk: n or nothing (n, -EAGAIN, -EPIPE; -EINVAL if n exceeds the
 * capacity). burst: 0..n available now, or -EPIPE when closed and drained.
 * One R2 store per call. */
SR_API int sr_ring_pop_bulk(struct sr_ring *r, void *out, unsigned n);
SR_API int sr_ring_pop_burst(struct sr_ring *r, void *out, unsigned n);

/* Claim and commit (K1-K6). A struct sr_claim, zeroed (SR_CLAIM_INIT),
 * is one handle's claim: span[0] and span[1] point at len[0] and len[1]
 * slots (len[1] is 0 unless the run wraps), n = len[0] + len[1] is the
 * number claimed, and 0 when no claim is pending; seq (the first sequence
 * claimed) and flags (the side and mode of the claim) are the API's.
 *
 * sr_ring_claim claims up to n slots (at least 1, at most the capacity),
 * waiting per the wait strategy while none is free under Block: the count,
 * or -ENOBUFS (Reject, full), -EPIPE (closed), -EBUSY (a claim is pending
 * on c, or SPSC: on the ring's producer), -EINVAL (n is 0 or c is NULL).
 * sr_ring_try_claim never waits: -EAGAIN when full. Write the items into the spans, then
 * sr_ring_commit publishes the first k of them (k <= c->n; k = 0 aborts):
 * the count taken (k, or fewer if a close kept the rest out, F2), -EPIPE if
 * a close kept all out, -ENOENT if no claim is pending on c (a commit
 * without a claim, or a second commit), -EINVAL if k > c->n (the claim
 * stays pending). Either way the claim is over unless -EINVAL or -ENOENT.
 *
 * sr_ring_read_claim claims up to n ready items (at least 1) for reading
 * in place, waiting per the wait strategy: the count, or -EPIPE (closed and
 * drained), -EBUSY, -EINVAL. sr_ring_try_read_claim: -EAGAIN when empty.
 * sr_ring_read_release gives the first k back to the producers (k <= c->n):
 * 0, -ENOENT, -EINVAL, as commit. While a producer's claim is pending its
 * pushes and sr_ring_add_producer return -EBUSY in SPSC mode; while a read
 * claim is pending, pops return -EBUSY. */
struct sr_claim {
	void *span[2];
	uint32_t len[2];
	uint32_t n;
	uint32_t flags; /* the API's */
	uint64_t seq;   /* the API's: the first sequence claimed */
	uint64_t known; /* the API's: SPSC, the other side's index the ring's
			 * cache held before the claim hid it (K1, K5) */
};
#define SR_CLAIM_INIT { { NULL, NULL }, { 0, 0 }, 0, 0, 0, 0 }

SR_API int sr_ring_claim(struct sr_ring *r, struct sr_claim *c, unsigned n);
SR_API int sr_ring_try_claim(struct sr_ring *r, struct sr_claim *c, unsigned n);
SR_API int sr_ring_commit(struct sr_ring *r, struct sr_claim *c, unsigned k);
SR_API int sr_ring_read_claim(struct sr_ring *r, struct sr_claim *c, unsigned n);
SR_API int sr_ring_try_read_claim(struct sr_ring *r, struct sr_claim *c, unsigned n);
SR_API int sr_ring_read_release(struct sr_ring *r, struct sr_claim *c, unsigned k);

/* MPSC. sr_ring_add_producer registers one more producer and upgrades the
 * ring to MPSC mode on first use (U1). Call it from a thread that holds a
 * producer reference while none of that producer's pushes is in flight
 * (before the upgrade, the sole producer's thread): 0, or -EPIPE if the
 * producer side (every producer) or the consumer has closed.
 * sr_ring_is_multi reports whether the ring is in MPSC mode. */
SR_API int sr_ring_add_producer(struct sr_ring *r);
SR_API int sr_ring_is_multi(const struct sr_ring *r);

/* Any thread. sr_ring_close closes `side` (SR_CLOSED_PRODUCER or
 * SR_CLOSED_CONSUMER) and wakes every sleeper: 0, or -EPIPE if that side was
 * already closed. For the producer side it releases one producer reference
 * (each producer closes once, after its last push); the side closes with
 * the last. sr_ring_closed returns the SR_CLOSED_* bits (SR_MULTI masked
 * out). */
SR_API int sr_ring_close(struct sr_ring *r, uint32_t side);
SR_API uint32_t sr_ring_closed(const struct sr_ring *r);
SR_API uint64_t sr_ring_len(const struct sr_ring *r);
SR_API uint64_t sr_ring_evicted(const struct sr_ring *r);

#ifdef __cplusplus
}
#endif

#endif /* SPILLRING_H */
