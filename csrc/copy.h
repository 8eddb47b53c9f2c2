/*
 * copy.h - private to the C core (ring.c, spill.c): copying items into and
 * out of a slot array of power-of-two capacity, split where it wraps. Not
 * part of the public API; include it after the public header.
 */
#ifndef SPILLRING_COPY_H
#define SPILLRING_COPY_H

#include <stdint.h>
#include <string.h>

/* One item: constant sizes let the compiler turn the copy into a move
 * instead of a call, the bulk of a single push or pop. */
static inline void sr_copy1(void *dst, const void *src, uint64_t size)
{
	switch (size) {
	case 4:
		memcpy(dst, src, 4);
		break;
	case 8:
		memcpy(dst, src, 8);
		break;
	default:
		memcpy(dst, src, size);
	}
}

/* n items from src into the slots of seq .. seq+n-1 (n <= capacity) of
 * `slots`, `capacity` items of `size` bytes: one move for one item, else at
 * most two copies. src may be NULL when n is 0. */
static inline void sr_slots_copy_in(void *slots, uint64_t capacity, uint64_t size, uint64_t seq,
				    const void *src, uint64_t n)
{
	uint64_t i = seq & (capacity - 1), first = capacity - i;

	if (n == 0)
		return;
	if (n == 1) {
		sr_copy1((char *)slots + i * size, src, size);
		return;
	}
	if (first > n)
		first = n;
	memcpy((char *)slots + i * size, src, first * size);
	if (n > first)
		memcpy(slots, (const char *)src + first * size, (n - first) * size);
}

/* The items of seq .. seq+n-1 (n <= capacity) of `slots` to dst, likewise. */
static inline void sr_slots_copy_out(const void *slots, uint64_t capacity, uint64_t size, uint64_t seq,
				     void *dst, uint64_t n)
{
	uint64_t i = seq & (capacity - 1), first = capacity - i;

	if (n == 0)
		return;
	if (n == 1) {
		sr_copy1(dst, (const char *)slots + i * size, size);
		return;
	}
	if (first > n)
		first = n;
	memcpy(dst, (const char *)slots + i * size, first * size);
	if (n > first)
		memcpy((char *)dst + first * size, slots, (n - first) * size);
}

#endif /* SPILLRING_COPY_H */
