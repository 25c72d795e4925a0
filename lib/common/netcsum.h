/* SPDX-License-Identifier: MIT */
/* Internet checksum helpers for the network plugins (RFC 1071; not part of the ABI). */
#ifndef MODVMM_PLUGIN_NETCSUM_H
#define MODVMM_PLUGIN_NETCSUM_H

#include <stddef.h>
#include <stdint.h>

/* One's-complement sum of buf[0..len) added to `sum` (not folded). */
uint32_t netcsum_add(uint32_t sum, const void *buf, size_t len);
/* Fold a sum to 16 bits and complement it. */
uint16_t netcsum_fold(uint32_t sum);
/*
 * Complete a partial checksum (virtio-net VIRTIO_NET_HDR_F_NEEDS_CSUM, virtio 1.2
 * §5.1.6.2): the sum of frame[csum_start..len), whose 16-bit field at
 * csum_start + csum_offset already holds the pseudo-header sum, is folded and
 * stored there.  Returns 0, or -EINVAL when the offsets lie outside the frame.
 */
int netcsum_complete(uint8_t *frame, size_t len, uint16_t csum_start, uint16_t csum_offset);

#endif
