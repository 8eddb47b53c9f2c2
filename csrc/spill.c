/*
 * spill.c - the spill ring of spill.h.
 *
 * No atomics on the data path: a spill ring has one owner at a time and the
 * handover between owners carries the ordering (spill.h). Only `refs` is
 * atomic, because any thread may retain or release the memory.
 *
 * A translation unit may take a private copy with
 *	#define SR_API static
 *	#include "spill.c"
 * placed before any system header. spill.c may share a translation unit with
 * ring.c (the Go package compiles both into one), so its static helpers are
 * prefixed sp_ where ring.c's are sr_.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

/* A private (static) copy may use only part of the API, and spillring.h then
 * declares static sr_ring_* functions this file does not define. gcc reports
 * those at the end of the translation unit, under the diagnostic state in
 * force there, so this stays in force (no push/pop): a file that includes
 * spill.c gets -Wunused-function silenced from here on. */
#pragma GCC diagnostic ignored "-Wunused-function"

#include "spill.h"
#include "block.h"
#include "copy.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>


static inline uint64_t sp_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Items in and out of the ring's slots (copy.h). */
static void sp_copy_in(struct sr_spill *s, uint64_t seq, const char *src, uint64_t n)
{
	sr_slots_copy_in(sr_spill_slot(s, 0), s->capacity, s->elem_size, seq, src, n);
}

static void sp_copy_out(const struct sr_spill *s, uint64_t seq, char *dst, uint64_t n)
{
	sr_slots_copy_out(sr_spill_slot(s, 0), s->capacity, s->elem_size, seq, dst, n);
}

/* Make room for n more pending items at the end of the pending run, which
 * the caller has checked fit in the area: the run moves down to index 0 when
 * it would cross the end. Returns the area index the next item goes to. */
static uint64_t sp_area_reserve(struct sr_spill *s, uint64_t n)
{
	if (s->spill_head + s->spill_len + n > s->spill_capacity) {
		/* The ranges may overlap: memmove. */
		memmove(sr_spill_area(s, 0), sr_spill_area(s, s->spill_head),
			s->spill_len * s->elem_size);
		s->spill_head = 0;
	}
	return s->spill_head + s->spill_len;
}

/* Drops a Go owner made by overwriting (spill.h): head moves up to
 * tail - capacity, and spilled counts them. */
static inline void sp_settle(struct sr_spill *s)
{
	uint64_t n = s->tail - s->head;

	if (n > s->capacity) {
		s->head += n - s->capacity;
		s->spilled += n - s->capacity;
	}
}

/* --- Lifecycle --- */

SR_API size_t sr_spill_size(const struct sr_spill_config *cfg)
{
	uint64_t spill, total;

	if (!cfg || !sr_blk_geometry_ok(cfg->capacity, cfg->elem_size) || cfg->spill_capacity > SR_MAX_CAPACITY ||
	    (cfg->flags & ~SR_SPILL_DISCARD))
		return 0;
	spill = cfg->spill_capacity ? cfg->spill_capacity : cfg->capacity;
	/* Every factor is bounded (2^30 * 2^20), so none of this overflows. */
	total = sizeof(struct sr_spill) + sr_round_line(cfg->capacity * cfg->elem_size) +
		sr_round_line(spill * cfg->elem_size);
	return sr_blk_total_ok(total);
}

SR_API int sr_spill_init(void *mem, size_t size, const struct sr_spill_config *cfg)
{
	struct sr_spill *s = mem;
	size_t need = sr_spill_size(cfg);

	if (!need || !mem || (uintptr_t)mem % SR_LINE || size < need)
		return -EINVAL;
	memset(s, 0, sizeof(*s)); /* sequences, counters, an empty spill area */
	s->magic = SR_SPILL_MAGIC;
	s->version = SR_SPILL_VERSION;
	atomic_init(&s->refs, 1);
	s->capacity = cfg->capacity;
	s->mask = cfg->capacity - 1;
	s->elem_size = cfg->elem_size;
	s->slots_offset = sizeof(*s);
	s->spill_offset = s->slots_offset + sr_round_line(cfg->capacity * cfg->elem_size);
	s->spill_capacity = cfg->spill_capacity ? cfg->spill_capacity : cfg->capacity;
	s->total_size = need;
	s->flags = cfg->flags;
	return 0;
}

SR_API struct sr_spill *sr_spill_new(const struct sr_spill_config *cfg, int *err)
{
	size_t size = sr_spill_size(cfg);
	struct sr_spill *s = NULL;
	int rc = -EINVAL;

	if (size) {
		/* A mapping of its own if large (block.h): the last release
		 * then hands it back to the OS at once. */
		bool mapped;

		s = sr_blk_alloc(size, &mapped);
		rc = s ? sr_spill_init(s, size, cfg) : -ENOMEM;
		if (rc) {
			sr_blk_free(s, size, mapped);
			s = NULL;
		} else if (mapped) {
			s->flags |= SR_SPILL_MAPPED; /* before anyone else sees it */
		}
	}
	if (err)
		*err = rc;
	return s;
}

SR_API void sr_spill_retain(struct sr_spill *s)
{
	sr_blk_ref(&s->refs);
}

SR_API void sr_spill_release(struct sr_spill *s)
{
	if (s && sr_blk_unref(&s->refs))
		sr_blk_free(s, s->total_size, s->flags & SR_SPILL_MAPPED);
}

/* --- Owner --- */

SR_API int sr_spill_push(struct sr_spill *s, const void *elem)
{
	uint64_t t = s->tail;
	int spilled = 0;

	sp_settle(s);
	if (t - s->head == s->capacity && (s->flags & SR_SPILL_DISCARD)) {
		s->head++; /* the drop: its slot takes the new item */
		s->spilled++;
		spilled = 1;
	} else if (t - s->head == s->capacity) {
		if (s->spill_len == s->spill_capacity)
			return -ENOBUFS;
		sr_copy1(sr_spill_area(s, sp_area_reserve(s, 1)), sr_spill_slot(s, s->head),
			 s->elem_size);
		s->spill_len++;
		s->head++;
		s->spilled++;
		spilled = 1;
	}
	sr_copy1(sr_spill_slot(s, t), elem, s->elem_size);
	s->tail = t + 1;
	return spilled;
}

SR_API int sr_spill_push_burst(struct sr_spill *s, const void *elems, unsigned n)
{
	const char *src = elems;
	uint64_t len, room, take = n, need, from_ring, direct, at;

	if (n > INT_MAX)
		return -EINVAL;
	sp_settle(s);
	len = s->tail - s->head;
	room = s->capacity - len;
	if (take > room && (s->flags & SR_SPILL_DISCARD)) {
		/* Drops: the ring's oldest items, then, if the batch is longer
		 * than the ring, the batch's own first ones. */
		need = take - room;
		from_ring = sp_min(need, len);
		direct = need - from_ring;
		s->head += need;
		s->tail += direct;
		s->spilled += need;
		sp_copy_in(s, s->tail, src + direct * s->elem_size, take - direct);
		s->tail += take - direct;
		return (int)take;
	}
	if (take > room) {
		/* Evictions: as many as the area has room for. */
		take = sp_min(take, room + (s->spill_capacity - s->spill_len));
		need = take - room;
		at = sp_area_reserve(s, need);
		/* The ring's own items go first, oldest first... */
		from_ring = sp_min(need, len);
		if (from_ring) {
			sp_copy_out(s, s->head, sr_spill_area(s, at), from_ring);
			s->head += from_ring;
		}
		/* ...then, if the batch is longer than the ring, its own first
		 * items, which never enter the ring (it is empty by now). */
		direct = need - from_ring;
		if (direct) {
			memcpy(sr_spill_area(s, at + from_ring), src, direct * s->elem_size);
			src += direct * s->elem_size;
			s->head += direct;
			s->tail += direct;
		}
		s->spill_len += need;
		s->spilled += need;
		take -= direct;
		/* What is left of the batch now fits. */
		sp_copy_in(s, s->tail, src, take);
		s->tail += take;
		return (int)(take + direct);
	}
	sp_copy_in(s, s->tail, src, take);
	s->tail += take;
	return (int)take;
}

SR_API int sr_spill_pop(struct sr_spill *s, void *out)
{
	sp_settle(s);
	if (s->head == s->tail)
		return -EAGAIN;
	sr_copy1(out, sr_spill_slot(s, s->head), s->elem_size);
	s->head++;
	return 0;
}

SR_API int sr_spill_pop_burst(struct sr_spill *s, void *out, unsigned n)
{
	uint64_t k;

	if (n > INT_MAX)
		return -EINVAL;
	sp_settle(s);
	k = sp_min(n, s->tail - s->head);
	if (k) {
		sp_copy_out(s, s->head, out, k);
		s->head += k;
	}
	return (int)k;
}

SR_API int sr_spill_take_spilled(struct sr_spill *s, void *out, unsigned n)
{
	uint64_t k;

	if (n > INT_MAX)
		return -EINVAL;
	k = sp_min(n, s->spill_len);
	if (k) {
		memcpy(out, sr_spill_area(s, s->spill_head), k * s->elem_size);
		s->spill_head += k;
		s->spill_len -= k;
	}
	if (s->spill_len == 0)
		s->spill_head = 0;
	return (int)k;
}

SR_API int sr_spill_move_spilled(struct sr_spill *into, struct sr_spill *from)
{
	uint64_t k;

	if (into->elem_size != from->elem_size)
		return -EINVAL;
	k = sp_min(from->spill_len, into->spill_capacity - into->spill_len);
	if (k > INT_MAX)
		k = INT_MAX;
	if (k) {
		/* Both runs are contiguous (sp_area_reserve). */
		uint64_t at = sp_area_reserve(into, k);

		memcpy(sr_spill_area(into, at), sr_spill_area(from, from->spill_head), k * from->elem_size);
		into->spill_len += k;
		from->spill_head += k;
		from->spill_len -= k;
	}
	if (from->spill_len == 0)
		from->spill_head = 0;
	return (int)k;
}

SR_API uint64_t sr_spill_len(const struct sr_spill *s)
{
	/* What sp_settle would leave, without writing: the function is const. */
	return sp_min(s->tail - s->head, s->capacity);
}

SR_API uint64_t sr_spill_pending(const struct sr_spill *s)
{
	return s->spill_len;
}
