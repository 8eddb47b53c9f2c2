/*
 * spill.h - the spill ring: a single-owner ring that, when a push finds it
 * full, moves its oldest item into a bounded spill area instead of losing
 * it. spillring's Go type SpillRing keeps the same layout in C memory, so a
 * C thread can take the ring over, push into it, and hand it back; Go then
 * passes the spill area on to its spout in one batch.
 *
 * A spill ring is one contiguous block: a header of two SR_LINE lines, then
 * the slot array (`capacity` items, a power of two), then the spill area
 * (`spill_capacity` items). Both arrays start on an SR_LINE boundary.
 *
 * Ownership: ONE owner at a time, and no atomics. Every function below except
 * retain/release is for the owner only, and the owner reads and writes the
 * state line with plain loads and stores. Handing the ring to another thread
 * (Go to a C thread and back, or C to C) is the caller's synchronisation: the
 * old owner's last access must happen before the new owner's first, e.g.
 * through pthread_create/pthread_join, a mutex, or a release store of a flag
 * that the new owner reads with acquire. While a C thread owns a ring that
 * came from Go, Go code must not touch the ring at all, not even its length.
 *
 * Sequences are free-running uint64_t, masked on access, so all `capacity`
 * slots are usable. The ring holds the items head .. tail-1, oldest first:
 *	tail    counts every item ever pushed;
 *	head    counts every item that left the ring, popped or spilled;
 *	spilled counts the items that left by eviction (into the spill area,
 *	        or, on the Go side, straight to the spout);
 * so pushed == tail, popped == head - spilled, and
 * pushed == popped + spilled + (tail - head) holds between any two calls.
 *
 * One exception, from Go: a Go owner whose spout discards (the default) does
 * not stop at a full ring. It overwrites the oldest item, which is the drop,
 * and lets tail run ahead of head + capacity. So tail - head > capacity
 * means the oldest tail - head - capacity items are gone; every owner
 * function below first "settles" that, moving head up to tail - capacity and
 * adding the difference to spilled. A C owner never leaves that state.
 *
 * Spill area: the pending (spilled but not yet delivered) items are
 * spill_head .. spill_head + spill_len - 1 of the area, oldest first. A push
 * into a full ring appends the ring's oldest item to them. When the area is
 * full, the push takes nothing and returns -ENOBUFS: no item is ever
 * overwritten. (A ring made with SR_SPILL_DISCARD never uses its area: its
 * pushes drop the oldest item and count it in spilled, as a Go owner with
 * the default spout does, and never fail.) The owner empties the area with sr_spill_take_spilled (C), or
 * hands the ring back to Go, whose next push, batch, Flush or Forward sends
 * the pending items to its spout, oldest first, before anything it spills
 * itself. An empty area always has spill_head == 0.
 *
 * Return codes are 0, a count, or a negative errno: -ENOBUFS (ring and spill
 * area both full: nothing taken), -EAGAIN (pop on an empty ring), -EINVAL
 * (bad argument), -ENOMEM.
 *
 * The functions are extern by default; define SR_API as static before
 * including spill.c to take a private copy (spillring.h defines SR_API).
 */
#ifndef SPILLRING_SPILL_H
#define SPILLRING_SPILL_H

#include "spillring.h" /* SR_API, SR_LINE, SR_MAX_*, SR_ATOMIC and the
			  * includes for C or C++ */

#ifdef __cplusplus
extern "C" {
#endif

#define SR_SPILL_MAGIC UINT64_C(0x314c4950534c5053) /* "SPLSPIL1", little-endian */
#define SR_SPILL_VERSION 1u

/* Bits of `flags`. */
#define SR_SPILL_MAPPED 1u /* sr_spill_new mapped the block (mmap): munmap frees it */
#define SR_SPILL_DISCARD 2u /* a push into a full ring drops the oldest item
			     * (counted in spilled) instead of moving it into
			     * the spill area: pushes never fail */

struct sr_spill_config {
	uint64_t capacity;       /* power of two, 1 .. SR_MAX_CAPACITY */
	uint64_t elem_size;      /* bytes per item, 1 .. SR_MAX_ELEM_SIZE */
	uint64_t spill_capacity; /* items the spill area holds, 0 = capacity, at most SR_MAX_CAPACITY */
	uint32_t flags;          /* 0 or SR_SPILL_DISCARD */
	uint32_t _pad;
};

struct sr_spill {
	/* Line 0: immutable after init, except refs. */
	uint64_t magic;
	uint32_t version;
	SR_ATOMIC(uint32_t) refs; /* owners of a heap spill ring; see sr_spill_release */
	uint64_t capacity;
	uint64_t mask;
	uint64_t elem_size;
	uint64_t slots_offset;   /* from the start of the block, multiple of SR_LINE */
	uint64_t spill_offset;   /* likewise */
	uint64_t spill_capacity; /* items */
	uint64_t total_size;     /* bytes, header + slots + spill area */
	uint32_t flags;          /* SR_SPILL_DISCARD from the config; SR_SPILL_MAPPED, set by sr_spill_new */

	/* Line 1: the owner's state. Plain words: only the owner touches
	 * them, and a handover carries its own ordering (see above). */
	SR_ALIGNAS(SR_LINE) uint64_t head;
	uint64_t tail;
	uint64_t spilled;
	uint64_t spill_head; /* index of the oldest pending item in the area */
	uint64_t spill_len;  /* pending items */
};

SR_STATIC_ASSERT(offsetof(struct sr_spill, refs) == 12, "refs after version");
SR_STATIC_ASSERT(offsetof(struct sr_spill, total_size) == 64, "total_size after the counts");
SR_STATIC_ASSERT(offsetof(struct sr_spill, flags) == 72, "immutable words fill 76 bytes");
SR_STATIC_ASSERT(offsetof(struct sr_spill, head) == 1 * SR_LINE, "state line");
SR_STATIC_ASSERT(offsetof(struct sr_spill, spill_len) == 1 * SR_LINE + 32, "state words are packed");
SR_STATIC_ASSERT(sizeof(struct sr_spill) == 2 * SR_LINE, "header is two lines");

/* Slot of sequence `seq`. */
static inline void *sr_spill_slot(const struct sr_spill *s, uint64_t seq)
{
	return (char *)s + s->slots_offset + (seq & s->mask) * s->elem_size;
}

/* Item `i` of the spill area (0 .. spill_capacity-1, not a sequence). */
static inline void *sr_spill_area(const struct sr_spill *s, uint64_t i)
{
	return (char *)s + s->spill_offset + i * s->elem_size;
}

/* Lifecycle. sr_spill_size returns the bytes a spill ring with this
 * configuration needs, or 0 if the configuration is invalid. sr_spill_init
 * lays one out in caller-provided memory (SR_LINE-aligned) with refs = 1.
 * sr_spill_new allocates and initialises one (refs = 1): a block of at
 * least 4 pages (16 KiB) is an anonymous private mapping of its own (mmap;
 * SR_SPILL_MAPPED in `flags`), a smaller one comes from aligned_alloc. sr_spill_retain adds an owner of the memory
 * and sr_spill_release drops one, freeing the block (munmap or free) with
 * the last. Any thread may retain and release; a reference keeps the memory
 * valid but does not make the holder the ring's owner. (spillring's Go
 * SpillRing.Close drops Go's reference at once.) */
SR_API size_t sr_spill_size(const struct sr_spill_config *cfg);
SR_API int sr_spill_init(void *mem, size_t size, const struct sr_spill_config *cfg);
SR_API struct sr_spill *sr_spill_new(const struct sr_spill_config *cfg, int *err);
SR_API void sr_spill_retain(struct sr_spill *s);
SR_API void sr_spill_release(struct sr_spill *s);

/* Owner only. sr_spill_push stores *elem: 0 if there was room, 1 if it first
 * spilled the oldest item into the spill area, -ENOBUFS (nothing taken) if
 * the ring is full and the spill area too. */
SR_API int sr_spill_push(struct sr_spill *s, const void *elem);

/* Pushes elems[0 .. n-1] in order, spilling as needed (also its own first
 * items when n exceeds the capacity), and returns how many it took: n, or
 * fewer once the spill area is full (elems[count ..] were not taken).
 * -EINVAL if n > INT_MAX. The slots and the spill area are each written with
 * at most two copies. */
SR_API int sr_spill_push_burst(struct sr_spill *s, const void *elems, unsigned n);

/* Owner only. sr_spill_pop moves the oldest item into *out: 0 or -EAGAIN
 * (empty). sr_spill_pop_burst moves up to n (0 .. n, or -EINVAL if
 * n > INT_MAX). Spilled items are not in the ring: pops never see them. */
SR_API int sr_spill_pop(struct sr_spill *s, void *out);
SR_API int sr_spill_pop_burst(struct sr_spill *s, void *out, unsigned n);

/* Owner only. Moves up to n pending items out of the spill area into out,
 * oldest first: 0 .. n, or -EINVAL if n > INT_MAX. A C owner that is its own
 * spout empties the area with it. */
SR_API int sr_spill_take_spilled(struct sr_spill *s, void *out, unsigned n);

/* Owner of both. Moves from's pending items, oldest first, to the end of
 * into's (as many as into's area has room for) and returns how many: 0 ..
 * from's pending count, or -EINVAL if the item sizes differ. Those left stay
 * pending in from. Counters do not change: the items were already spilled.
 * The worker pool uses it to merge a ring into an older one (pool.h). */
SR_API int sr_spill_move_spilled(struct sr_spill *into, struct sr_spill *from);

/* Owner only. Items in the ring, and items pending in the spill area. */
SR_API uint64_t sr_spill_len(const struct sr_spill *s);
SR_API uint64_t sr_spill_pending(const struct sr_spill *s);

#ifdef __cplusplus
}
#endif

#endif /* SPILLRING_SPILL_H */
