/* SPDX-License-Identifier: MIT */
/* Scatter-gather helpers shared by the network plugins (not part of the ABI). */
#ifndef MODVMM_PLUGIN_IOV_H
#define MODVMM_PLUGIN_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Total bytes in iov[0..n). */
size_t iov_size(const struct iovec *iov, unsigned n);
/* Copy up to len bytes starting at byte `off` of the iovecs into buf; returns
 * how many were copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);
/* Copy up to len bytes of buf into the iovecs starting at byte `off`; returns
 * how many were copied. */
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len);
/* Describe bytes [off, off + len) of iov[0..n) in out[0..max); returns the
 * number of entries used (the range is cut short when max is reached). */
unsigned iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len, struct iovec *out,
                   unsigned max);

#endif
