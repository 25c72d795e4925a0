/* SPDX-License-Identifier: MIT */
#include "netcsum.h"

#include <errno.h>
#include <string.h>

uint32_t netcsum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t s = sum;
	for (; len >= 2; p += 2, len -= 2)
		s += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		s += (uint32_t)p[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t netcsum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

int netcsum_complete(uint8_t *frame, size_t len, uint16_t csum_start, uint16_t csum_offset)
{
	size_t field = (size_t)csum_start + csum_offset;
	if (csum_start >= len || field + 2 > len)
		return -EINVAL;
	uint16_t c = netcsum_fold(netcsum_add(0, frame + csum_start, len - csum_start));
	frame[field] = (uint8_t)(c >> 8);     /* network byte order */
	frame[field + 1] = (uint8_t)c;
	return 0;
}
