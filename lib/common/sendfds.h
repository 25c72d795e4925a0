/* SPDX-License-Identifier: MIT */
/*
 * Internal (not installed): send one message with file descriptors attached
 * (SCM_RIGHTS) on a unix socket, for the pipe rendezvous (lib/nmport), the
 * vhost-user backend and their tests.
 */
#ifndef MODVMM_SENDFDS_H
#define MODVMM_SENDFDS_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define SENDFDS_MAX 128u /* fds one message may carry */

/*
 * sendmsg(MSG_NOSIGNAL) of iov[0..iovcnt) with nfds fds (none if 0),
 * retried on EINTR.  Returns the bytes sent or -errno (-EINVAL for more than
 * SENDFDS_MAX fds).  The fds stay open here: the kernel passes duplicates.
 */
static inline ssize_t sendmsg_fds(int sock, const struct iovec *iov, int iovcnt, const int *fds,
				  unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * SENDFDS_MAX)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	ssize_t n;

	if (nfds > SENDFDS_MAX)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

#endif /* MODVMM_SENDFDS_H */
