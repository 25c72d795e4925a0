/* SPDX-License-Identifier: MIT */
/*
 * vhost-user messages: send with SCM_RIGHTS, read replies with a timeout and
 * check them field by field.
 */
#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sendfds.h"
#include "vu_proto.h"

#define MAX_PAYLOAD sizeof(struct vu_mem_table)

const char *vu_request_name(uint32_t req)
{
	static const char *const names[] = {
		[VU_GET_FEATURES] = "GET_FEATURES", [VU_SET_FEATURES] = "SET_FEATURES",
		[VU_SET_OWNER] = "SET_OWNER", [VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
		[VU_SET_VRING_NUM] = "SET_VRING_NUM", [VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
		[VU_SET_VRING_BASE] = "SET_VRING_BASE", [VU_GET_VRING_BASE] = "GET_VRING_BASE",
		[VU_SET_VRING_KICK] = "SET_VRING_KICK", [VU_SET_VRING_CALL] = "SET_VRING_CALL",
		[VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
		[VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES", [VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
		[VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	};
	return req < sizeof(names) / sizeof(names[0]) && names[req] ? names[req] : "unknown request";
}

static int fail(struct vu_conn *c, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct vu_conn *c, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

static int send_msg(struct vu_conn *c, uint32_t req, uint32_t flags, const void *payload, uint32_t len,
                    const int *fds, unsigned nfds)
{
	struct vu_hdr h = { .request = req, .flags = VU_VERSION | flags, .size = len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)payload, len } };
	ssize_t n;

	if (nfds > VU_MAX_FDS)
		return -EINVAL;
	n = sendmsg_fds(c->fd, iov, len ? 2 : 1, fds, nfds);
	if (n < 0)
		return fail(c, (int)n, "cannot send %s: %s", vu_request_name(req), strerror((int)-n));
	if ((size_t)n != sizeof(h) + len) /* a unix stream socket takes small messages whole */
		return fail(c, -EPROTO, "short send of %s (%zd bytes)", vu_request_name(req), n);
	return 0;
}

/* Read exactly len bytes within the timeout; *got: how many arrived. */
static int read_full(struct vu_conn *c, void *buf, size_t len, size_t *got_out)
{
	size_t got = 0;
	*got_out = 0;
	while (got < len) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int r = poll(&p, 1, c->timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return -ETIMEDOUT;
		ssize_t n = recv(c->fd, (char *)buf + got, len - got, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
		*got_out = got;
	}
	return got < len ? -ECONNRESET : 0;
}

static int read_reply(struct vu_conn *c, uint32_t req, void *reply, uint32_t rlen)
{
	const char *name = vu_request_name(req);
	struct vu_hdr h;
	size_t got;
	int r = read_full(c, &h, sizeof(h), &got);
	if (r == -ETIMEDOUT)
		return fail(c, r, "no reply to %s within %d ms", name, c->timeout_ms);
	if (r == -ECONNRESET && got)
		return fail(c, -EPROTO, "peer closed the socket in the middle of the reply to %s (%zu of %zu header bytes)",
		            name, got, sizeof(h));
	if (r == -ECONNRESET)
		return fail(c, r, "peer closed the socket while %s waited for its reply", name);
	if (r)
		return fail(c, r, "reading the reply to %s: %s", name, strerror(-r));
	if (h.request != req)
		return fail(c, -EPROTO, "reply names request %u (%s), expected %s", h.request, vu_request_name(h.request),
		            name);
	if ((h.flags & VU_VERSION_MASK) != VU_VERSION || !(h.flags & VU_FLAG_REPLY))
		return fail(c, -EPROTO, "reply to %s has bad flags 0x%x (version 1 and the reply flag expected)", name,
		            h.flags);
	if (h.size != rlen)
		return fail(c, -EPROTO, "reply to %s has %u payload bytes, expected %u", name, h.size, rlen);
	r = read_full(c, reply, rlen, &got);
	if (r)
		return fail(c, r == -ETIMEDOUT ? r : -EPROTO, "reply to %s cut short (%zu of %u payload bytes)", name, got,
		            rlen);
	return 0;
}

int vu_get(struct vu_conn *c, enum vu_request req, const void *payload, uint32_t len, void *reply,
           uint32_t rlen)
{
	int r = send_msg(c, req, 0, payload, len, NULL, 0);
	return r ? r : read_reply(c, req, reply, rlen);
}

int vu_set(struct vu_conn *c, enum vu_request req, const void *payload, uint32_t len, const int *fds,
           unsigned nfds)
{
	if (len > MAX_PAYLOAD)
		return -EINVAL;
	int r = send_msg(c, req, c->reply_ack ? VU_FLAG_NEED_REPLY : 0, payload, len, fds, nfds);
	if (r || !c->reply_ack)
		return r;
	uint64_t ack;
	r = read_reply(c, req, &ack, sizeof(ack));
	if (!r && ack)
		return fail(c, -EIO, "peer refused %s (status %llu)", vu_request_name(req), (unsigned long long)ack);
	return r;
}
