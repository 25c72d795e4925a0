/* SPDX-License-Identifier: MIT */
/* Guest-physical ranges for the boot loaders: overlap tests and placement. */
#ifndef MODVMM_RANGE_H
#define MODVMM_RANGE_H

#include <stdbool.h>
#include <stdint.h>

/* [a, a + alen) and [b, b + blen) intersect; both ranges are known not to wrap. */
static inline bool range_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* The highest `align`-aligned start (align a power of two) for `size` bytes
 * ending at or below `top`, or 0 if there is none at or above `floor`. */
static inline uint64_t range_fit_below(uint64_t top, uint64_t size, uint64_t floor, uint64_t align)
{
	if (size > top)
		return 0;
	uint64_t at = (top - size) & ~(align - 1);
	return at >= floor ? at : 0;
}

#endif
