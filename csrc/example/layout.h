/*
 * layout.h - the offset of every field and the size and alignment of every
 * struct of spillring.h and spill.h, as one table, so that a C translation
 * unit (layout_c.c) and a C++ one (cpp_pingpong.cpp) can compare their
 * views of the layout at run time. The headers' static asserts check the
 * line boundaries; this checks every field.
 */
#ifndef SPILLRING_EXAMPLE_LAYOUT_H
#define SPILLRING_EXAMPLE_LAYOUT_H

#include <spillring.h>
#include <spill.h>

#ifdef __cplusplus
#define SR_L_ALIGNOF(T) alignof(T)
extern "C" {
#else
#define SR_L_ALIGNOF(T) _Alignof(T)
#endif

#define SR_L_RING(f) offsetof(struct sr_ring, f),
#define SR_L_SPILL(f) offsetof(struct sr_spill, f),

/* SR_C_LAYOUT_TABLE(name) defines `const size_t *name(size_t *n)`. */
#define SR_C_LAYOUT_TABLE(name)                                                                    \
	const size_t *name(size_t *n)                                                              \
	{                                                                                          \
		static const size_t t[] = {                                                        \
			SR_L_RING(magic) SR_L_RING(version) SR_L_RING(backpressure)                \
			SR_L_RING(wait) SR_L_RING(spins) SR_L_RING(capacity) SR_L_RING(mask)       \
			SR_L_RING(elem_size) SR_L_RING(slots_offset) SR_L_RING(stamps_offset)      \
			SR_L_RING(total_size) SR_L_RING(flags) SR_L_RING(refs)                     \
			SR_L_RING(reclaimed) SR_L_RING(tail) SR_L_RING(head_cache)                 \
			SR_L_RING(evicted) SR_L_RING(head) SR_L_RING(tail_cache)                   \
			SR_L_RING(state) SR_L_RING(prod_wait) SR_L_RING(cons_wait)                \
			SR_L_RING(producers) SR_L_RING(mp_start) SR_L_RING(drain)                  \
			sizeof(struct sr_ring), SR_L_ALIGNOF(struct sr_ring),                      \
			SR_L_SPILL(magic) SR_L_SPILL(version) SR_L_SPILL(refs)                     \
			SR_L_SPILL(capacity) SR_L_SPILL(mask) SR_L_SPILL(elem_size)                \
			SR_L_SPILL(slots_offset) SR_L_SPILL(spill_offset)                          \
			SR_L_SPILL(spill_capacity) SR_L_SPILL(total_size) SR_L_SPILL(flags)        \
			SR_L_SPILL(head) SR_L_SPILL(tail) SR_L_SPILL(spilled)                      \
			SR_L_SPILL(spill_head) SR_L_SPILL(spill_len)                               \
			sizeof(struct sr_spill), SR_L_ALIGNOF(struct sr_spill),                    \
			offsetof(struct sr_config, capacity), offsetof(struct sr_config, elem_size), \
			offsetof(struct sr_config, backpressure), offsetof(struct sr_config, wait), \
			offsetof(struct sr_config, spins), offsetof(struct sr_config, flags),      \
			sizeof(struct sr_config),                                                  \
			offsetof(struct sr_spill_config, capacity),                                \
			offsetof(struct sr_spill_config, elem_size),                               \
			offsetof(struct sr_spill_config, spill_capacity),                          \
			sizeof(struct sr_spill_config),                                            \
		};                                                                                 \
		*n = sizeof t / sizeof t[0];                                                       \
		return t;                                                                          \
	}

/* The C view, from layout_c.c. */
const size_t *sr_layout_c(size_t *n);

#ifdef __cplusplus
}
#endif

#endif
