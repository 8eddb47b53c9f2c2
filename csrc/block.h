/*
 * block.h - internal to the C core (not part of the public API): how
 * sr_ring_new and sr_spill_new get their memory, and how its pages go back
 * to the operating system.
 *
 * A block of at least SR_MAP_MIN_PAGES pages is an anonymous private mapping
 * of its own (mmap), page-aligned and rounded up to whole pages, so that
 * whole pages of it can be returned with madvise(MADV_DONTNEED) while it
 * stays mapped (sr_ring_reclaim), and freeing it (munmap) hands everything
 * back at once instead of leaving it in the C allocator's free lists. A
 * fresh mapping reads as zeros and costs no memory until it is touched. A
 * smaller block comes from aligned_alloc: a mapping of its own would waste
 * up to a page and cost a VMA, and there is little to return. If mmap fails
 * (e.g. at the process's VMA limit, vm.max_map_count), the block comes from
 * aligned_alloc too, and systems without mmap use aligned_alloc for every
 * block. The caller records which it got (SR_FLAG_MAPPED, SR_SPILL_MAPPED)
 * and frees accordingly.
 *
 * Included by ring.c and spill.c, which may share a translation unit (the Go
 * package compiles both into one): hence the include guard and the sr_blk_
 * prefix, distinct from ring.c's sr_ and spill.c's sp_ helpers.
 */
#ifndef SPILLRING_BLOCK_H
#define SPILLRING_BLOCK_H

#include "spillring.h" /* SR_LINE */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__unix__) || defined(__APPLE__)
#define SR_BLK_MMAP 1
#include <sys/mman.h>
#include <unistd.h>
#else
#define SR_BLK_MMAP 0
#endif

/* Blocks of at least this many pages are mapped (16 KiB with 4 KiB pages:
 * a mapping wastes at most a quarter of it). A build may raise it: the
 * AddressSanitizer stress build does, so that its rings keep the redzones
 * of aligned_alloc, which a mapping does not have. */
#ifndef SR_MAP_MIN_PAGES
#define SR_MAP_MIN_PAGES 4
#endif

static inline size_t sr_blk_page(void)
{
#if SR_BLK_MMAP
	long p = sysconf(_SC_PAGESIZE);

	if (p > 0)
		return (size_t)p;
#endif
	return 4096;
}

/* size rounded up to a multiple of `to`, a power of two. The sizes here are
 * at most SR_MAX_TOTAL_SIZE-ish (checked by the callers), far from
 * overflowing. */
static inline size_t sr_blk_round(size_t size, size_t to)
{
	return (size + to - 1) & ~(to - 1);
}

/* A block of `size` bytes, SR_LINE-aligned, not necessarily zeroed, or NULL
 * if there is no memory. *mapped tells whether it is a mapping of its own
 * (page-aligned, and zeroed), which sr_blk_free and sr_blk_discard need. */
static inline void *sr_blk_alloc(size_t size, bool *mapped)
{
#if SR_BLK_MMAP
	size_t page = sr_blk_page();

	if (size >= SR_MAP_MIN_PAGES * page) {
		void *p = mmap(NULL, sr_blk_round(size, page), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p != MAP_FAILED) {
			*mapped = true;
			return p;
		}
	}
#endif
	*mapped = false;
	/* aligned_alloc wants a multiple of the alignment. */
	return aligned_alloc(SR_LINE, sr_blk_round(size, SR_LINE));
}

/* Frees a block sr_blk_alloc returned for the same size and `mapped`. */
static inline void sr_blk_free(void *p, size_t size, bool mapped)
{
	if (!p)
		return;
#if SR_BLK_MMAP
	if (mapped) {
		munmap(p, sr_blk_round(size, sr_blk_page()));
		return;
	}
#else
	(void)size;
	(void)mapped;
#endif
	free(p);
}

/* n bytes rounded up to whole SR_LINEs: the parts of a block start on one. */
static inline uint64_t sr_round_line(uint64_t n)
{
	return (n + SR_LINE - 1) & ~(uint64_t)(SR_LINE - 1);
}

/* The size checks every ring shares: a power-of-two capacity of 1 ..
 * SR_MAX_CAPACITY items of 1 .. SR_MAX_ELEM_SIZE bytes. */
static inline bool sr_blk_geometry_ok(uint64_t capacity, uint64_t elem_size)
{
	return capacity != 0 && (capacity & (capacity - 1)) == 0 && capacity <= SR_MAX_CAPACITY &&
	       elem_size != 0 && elem_size <= SR_MAX_ELEM_SIZE;
}

/* A block's total size in bytes as a size_t, or 0 if it exceeds
 * SR_MAX_TOTAL_SIZE or (on 32-bit) what size_t holds with room to align. */
static inline size_t sr_blk_total_ok(uint64_t total)
{
	if (total > SR_MAX_TOTAL_SIZE)
		return 0;
#if SIZE_MAX < UINT64_MAX
	if (total > SIZE_MAX - SR_LINE)
		return 0;
#endif
	return (size_t)total;
}

/* A block's owners: `refs` counts them (the creator is the first). A new
 * owner is added by one that already is, so relaxed suffices; acq_rel on
 * the drop makes every owner's last use happen before the free by the last
 * one, for which sr_blk_unref returns true. */
static inline void sr_blk_ref(_Atomic uint32_t *refs)
{
	atomic_fetch_add_explicit(refs, 1, memory_order_relaxed);
}

static inline bool sr_blk_unref(_Atomic uint32_t *refs)
{
	return atomic_fetch_sub_explicit(refs, 1, memory_order_acq_rel) == 1;
}

/* Returns to the OS the pages of the mapped block p (of `size` bytes) that
 * lie wholly at or after byte `from`, up to the end of the mapping, with
 * madvise(MADV_DONTNEED): they stay mapped, and the next access to one
 * reads zeros (a write faults in a fresh zeroed page). Only for a block that
 * sr_blk_alloc mapped. Returns the number of bytes advised. */
static inline size_t sr_blk_discard(void *p, size_t size, size_t from)
{
#if SR_BLK_MMAP
	size_t page = sr_blk_page();
	size_t start = sr_blk_round(from, page); /* p is page-aligned */
	size_t end = sr_blk_round(size, page);   /* the mapping's end */

	if (p && start < end && madvise((char *)p + start, end - start, MADV_DONTNEED) == 0)
		return end - start;
#else
	(void)p;
	(void)size;
	(void)from;
#endif
	return 0;
}

#endif /* SPILLRING_BLOCK_H */
