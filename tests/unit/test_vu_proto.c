/* SPDX-License-Identifier: MIT */
/* The vhost-user message layer against a hand-driven peer on a socketpair:
 * requests as sent (header, payload, SCM_RIGHTS fds), replies checked field by
 * field, REPLY_ACK, and every kind of bad reply refused with its reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "vu_proto.h"

struct fix {
	struct vu_conn c;
	int peer;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->c = (struct vu_conn){ .fd = sv[0], .timeout_ms = 2000 };
	f->peer = sv[1];
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	close(f->c.fd);
	if (f->peer >= 0)
		close(f->peer);
	free(f);
	return 0;
}

/* The peer's reply, written before the request is sent (the socket holds it). */
static void reply(struct fix *f, uint32_t req, uint32_t flags, const void *p, uint32_t len)
{
	struct vu_hdr h = { .request = req, .flags = flags, .size = len };
	assert_int_equal(write(f->peer, &h, sizeof(h)), sizeof(h));
	if (len)
		assert_int_equal(write(f->peer, p, len), (ssize_t)len);
}

/* Read one request as the peer; returns how many fds came with it (closed). */
static unsigned request(struct fix *f, struct vu_hdr *h, void *payload, size_t max)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { h, sizeof(*h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	assert_int_equal(recvmsg(f->peer, &m, 0), sizeof(*h));
	unsigned nfds = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		nfds = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (unsigned i = 0; i < nfds; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			close(fd);
		}
	}
	assert_true(h->size <= max);
	if (h->size)
		assert_int_equal(read(f->peer, payload, h->size), (ssize_t)h->size);
	return nfds;
}

static void test_get(void **state)
{
	struct fix *f = *state;
	uint64_t feat = 0x140000000ull, out = 0;
	reply(f, VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, &feat, sizeof(feat));
	assert_int_equal(vu_get(&f->c, VU_GET_FEATURES, NULL, 0, &out, sizeof(out)), 0);
	assert_int_equal(out, feat);
	struct vu_hdr h;
	assert_int_equal(request(f, &h, NULL, 0), 0);
	assert_int_equal(h.request, VU_GET_FEATURES);
	assert_int_equal(h.flags, VU_VERSION);
	assert_int_equal(h.size, 0);
}

static void test_set_fds_and_ack(void **state)
{
	struct fix *f = *state;
	int efd[2] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };
	uint64_t idx = 1, ok = 0, refused = 1;
	f->c.reply_ack = true;
	reply(f, VU_SET_VRING_KICK, VU_VERSION | VU_FLAG_REPLY, &ok, sizeof(ok));
	assert_int_equal(vu_set(&f->c, VU_SET_VRING_KICK, &idx, sizeof(idx), efd, 2), 0);
	struct vu_hdr h;
	uint64_t got;
	assert_int_equal(request(f, &h, &got, sizeof(got)), 2);
	assert_int_equal(h.flags, VU_VERSION | VU_FLAG_NEED_REPLY);
	assert_int_equal(got, 1);
	reply(f, VU_SET_MEM_TABLE, VU_VERSION | VU_FLAG_REPLY, &refused, sizeof(refused));
	assert_int_equal(vu_set(&f->c, VU_SET_MEM_TABLE, &idx, sizeof(idx), NULL, 0), -EIO);
	assert_non_null(strstr(f->c.err, "peer refused SET_MEM_TABLE (status 1)"));
	int many[VU_MAX_FDS + 1] = { 0 };
	assert_int_equal(vu_set(&f->c, VU_SET_MEM_TABLE, NULL, 0, many, VU_MAX_FDS + 1), -EINVAL);
	close(efd[0]);
	close(efd[1]);
}

/* One bad reply per connection: after a refused reply the stream is out of
 * step and the backend drops the connection. */
static void test_bad_replies(void **state)
{
	static const struct {
		uint32_t req, flags, size;
		const char *why;
	} bad[] = {
		{ VU_GET_FEATURES, VU_VERSION | VU_FLAG_REPLY, 4, "reply to GET_FEATURES has 4 payload bytes, expected 8" },
		{ VU_SET_FEATURES, VU_VERSION | VU_FLAG_REPLY, 8,
		  "reply names request 2 (SET_FEATURES), expected GET_FEATURES" },
		{ VU_GET_FEATURES, VU_VERSION, 8, "reply to GET_FEATURES has bad flags 0x1" },
		{ VU_GET_FEATURES, 2 | VU_FLAG_REPLY, 8, "reply to GET_FEATURES has bad flags 0x6" },
	};
	uint64_t v = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (i) {
			teardown(state);
			setup(state);
		}
		struct fix *f = *state;
		reply(f, bad[i].req, bad[i].flags, &v, bad[i].size);
		assert_int_equal(vu_get(&f->c, VU_GET_FEATURES, NULL, 0, &v, sizeof(v)), -EPROTO);
		assert_non_null(strstr(f->c.err, bad[i].why));
	}
	assert_string_equal(vu_request_name(4242), "unknown request");
}

static void test_timeout(void **state)
{
	struct fix *f = *state;
	uint64_t v;
	f->c.timeout_ms = 50;
	assert_int_equal(vu_get(&f->c, VU_GET_FEATURES, NULL, 0, &v, sizeof(v)), -ETIMEDOUT);
	assert_non_null(strstr(f->c.err, "no reply to GET_FEATURES within 50 ms"));
}

static void test_closed(void **state)
{
	struct fix *f = *state;
	uint64_t v;
	struct vu_hdr h = { .request = VU_GET_FEATURES, .flags = VU_VERSION | VU_FLAG_REPLY, .size = 8 };
	assert_int_equal(write(f->peer, &h, 6), 6); /* half a header, then gone */
	shutdown(f->peer, SHUT_WR);
	assert_int_equal(vu_get(&f->c, VU_GET_FEATURES, NULL, 0, &v, sizeof(v)), -EPROTO);
	assert_non_null(strstr(f->c.err, "in the middle of the reply to GET_FEATURES (6 of 12 header bytes)"));
	assert_int_equal(vu_get(&f->c, VU_GET_FEATURES, NULL, 0, &v, sizeof(v)), -ECONNRESET);
	assert_non_null(strstr(f->c.err, "peer closed the socket while GET_FEATURES waited for its reply"));
	close(f->peer);
	f->peer = -1;
	assert_int_equal(vu_get(&f->c, VU_GET_FEATURES, NULL, 0, &v, sizeof(v)), -EPIPE); /* no SIGPIPE */
}

static void test_truncated_payload(void **state)
{
	struct fix *f = *state;
	uint64_t v;
	struct vu_hdr h = { .request = VU_GET_FEATURES, .flags = VU_VERSION | VU_FLAG_REPLY, .size = 8 };
	assert_int_equal(write(f->peer, &h, sizeof(h)), sizeof(h));
	assert_int_equal(write(f->peer, "abc", 3), 3);
	shutdown(f->peer, SHUT_WR);
	assert_int_equal(vu_get(&f->c, VU_GET_FEATURES, NULL, 0, &v, sizeof(v)), -EPROTO);
	assert_non_null(strstr(f->c.err, "reply to GET_FEATURES cut short (3 of 8 payload bytes)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_fds_and_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_payload, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
