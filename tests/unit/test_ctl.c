/* SPDX-License-Identifier: MIT */
/*
 * The control socket without a VM: the request parser (core/ctl/proto.c) and
 * the server (core/ctl/server.c) on a real Unix socket and event loop, against
 * hostile clients: garbage, a 1 MiB line, half a request then silence, a client
 * that never reads, 100 clients at once and more than the server takes.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl/proto.h"
#include "ctl/server.h"
#include "vm/evloop.h"

/* ---- the parser ---------------------------------------------------------------------- */

static int parse(const char *s, struct ctl_req *r, char *err)
{
	return ctl_req_parse(s, strlen(s), r, err, 256);
}

static void test_parse_ok(void **state)
{
	struct ctl_req r;
	char err[256];
	assert_int_equal(parse("{\"cmd\":\"status\",\"id\":7}", &r, err), 0);
	assert_int_equal(r.cmd, CTL_STATUS);
	assert_int_equal(json_integer_value(r.id), 7);
	ctl_req_free(&r);
	assert_int_equal(parse("{\"id\":\"a\",\"cmd\":\"command\",\"device\":\"nic0\",\"name\":\"swap\","
	                       "\"args\":[\"plugin=sink\",\"rx_rate=5\"]}", &r, err), 0);
	assert_int_equal(r.cmd, CTL_COMMAND);
	assert_string_equal(r.device, "nic0");
	assert_string_equal(r.name, "swap");
	assert_int_equal(r.argc, 2);
	assert_string_equal(r.argv[1], "rx_rate=5");
	ctl_req_free(&r);
	assert_int_equal(parse("{\"cmd\":\"hello\",\"protocol\":1}", &r, err), 0);
	assert_int_equal(r.protocol, 1);
	ctl_req_free(&r);
	assert_int_equal(parse("{\"cmd\":\"stats\",\"device\":\"nic0\"}", &r, err), 0);
	assert_string_equal(r.device, "nic0");
	ctl_req_free(&r);
	assert_int_equal(parse("{\"cmd\":\"stop\"}", &r, err), 0);
	assert_false(r.force);
	assert_int_equal(r.grace, -1);
	ctl_req_free(&r);
	assert_int_equal(parse("{\"cmd\":\"stop\",\"force\":true,\"grace\":5}", &r, err), 0);
	assert_true(r.force);
	assert_int_equal(r.grace, 5);
	ctl_req_free(&r);
}

static void refused(const char *req, const char *why)
{
	struct ctl_req r;
	char err[256] = "";
	assert_int_equal(ctl_req_parse(req, strlen(req), &r, err, sizeof(err)), -EINVAL);
	if (!strstr(err, why))
		fail_msg("'%s': '%s' does not say '%s'", req, err, why);
	ctl_req_free(&r);
}

static void test_parse_refused(void **state)
{
	refused("", "not JSON");
	refused("garbage", "not JSON");
	refused("{\"cmd\":\"status\"} trailing", "not JSON");
	refused("[1,2]", "a request is a JSON object");
	refused("{\"id\":1}", "no \"cmd\"");
	refused("{\"cmd\":\"reboot\"}", "unknown command \"reboot\"");
	refused("{\"cmd\":\"stop\",\"force\":1}", "\"force\" wants true or false");
	refused("{\"cmd\":\"stop\",\"grace\":3601}", "\"grace\" wants an integer from 0 to 3600");
	refused("{\"cmd\":\"status\",\"force\":true}", "unknown field \"force\" for \"status\"");
	refused("{\"cmd\":\"status\",\"cmd\":\"stop\"}", "not JSON"); /* duplicate key */
	refused("{\"cmd\":\"status\",\"device\":\"x\"}", "unknown field \"device\"");
	refused("{\"cmd\":\"status\",\"id\":{}}", "\"id\" wants");
	refused("{\"cmd\":\"hello\"}", "needs \"protocol\"");
	refused("{\"cmd\":\"hello\",\"protocol\":-1}", "\"protocol\" wants");
	refused("{\"cmd\":\"command\",\"device\":\"nic0\"}", "needs \"device\" and \"name\"");
	refused("{\"cmd\":\"stats\",\"device\":\"\"}", "wants a name");
	refused("{\"cmd\":\"stats\",\"device\":\"a\\u0000b\"}", "not JSON"); /* NUL refused */
	refused("{\"cmd\":\"command\",\"device\":\"d\",\"name\":\"n\",\"args\":[1]}", "not a string");
	refused("{\"cmd\":\"command\",\"device\":\"d\",\"name\":\"n\",\"args\":\"x\"}", "wants an array");
	char many[4096] = "{\"cmd\":\"command\",\"device\":\"d\",\"name\":\"n\",\"args\":[\"a\"";
	for (int i = 0; i < CTL_MAX_ARGS; i++)
		strcat(many, ",\"a\"");
	strcat(many, "]}");
	refused(many, "at most 32");
	static char long_arg[CTL_MAX_ARG + 128];
	int n = snprintf(long_arg, sizeof(long_arg), "{\"cmd\":\"command\",\"device\":\"d\",\"name\":\"n\",\"args\":[\"");
	memset(long_arg + n, 'x', CTL_MAX_ARG + 1);
	strcpy(long_arg + n + CTL_MAX_ARG + 1, "\"]}");
	refused(long_arg, "at most 1024 bytes");
	static char deep[8192];
	memset(deep, '[', sizeof(deep) - 1);
	refused(deep, "not JSON");
}

static void test_replies(void **state)
{
	json_t *id = json_string("q\n1");
	char *ok = ctl_reply_ok(id, json_pack("{s:i}", "x", 1));
	assert_string_equal(ok, "{\"id\":\"q\\n1\",\"ok\":true,\"result\":{\"x\":1}}\n");
	char *err = ctl_reply_err(NULL, "bad %s", "thing");
	assert_string_equal(err, "{\"id\":null,\"ok\":false,\"error\":\"bad thing\"}\n");
	/* a message quoting bytes that are not UTF-8 (or cut inside a character)
	 * still gives a reply, those bytes as '?'; valid characters stay */
	char *err2 = ctl_reply_err(NULL, "key \"%s\"", "a\xcd\xae\x02\xff\xc3(\xe2\x82\xac\xed\xa0\x80\xf0\x9f\x98");
	assert_non_null(err2);
	assert_string_equal(err2, "{\"id\":null,\"ok\":false,\"error\":\"key \\\"a\\u036E\\u0002??" "(\\u20AC??????\\\"\"}\n");
	free(err2);
	char *ev = ctl_event_line("paused", NULL);
	assert_non_null(strstr(ev, "\"event\":\"paused\""));
	char *g = ctl_greeting("vm1");
	assert_non_null(strstr(g, "\"protocol\":1"));
	assert_non_null(strstr(g, "\"vm\":\"vm1\""));
	free(ok);
	free(err);
	free(ev);
	free(g);
	json_decref(id);
}

/* ---- the server ---------------------------------------------------------------------- */

struct rig {
	struct evloop loop;
	struct ctl_server *srv;
	pthread_t thread;
	char dir[64], path[128];
};

#define BIG_REPLY 65536

/* The real parser behind a server: "big" asks for a 64 KiB reply. */
static void on_line(void *opaque, struct ctl_client *c, const char *line, size_t len)
{
	if (!strcmp(line, "big")) {
		char *b = malloc(BIG_REPLY + 1);
		memset(b, 'x', BIG_REPLY - 1);
		b[BIG_REPLY - 1] = '\n';
		b[BIG_REPLY] = 0;
		ctl_client_send(c, b);
		return;
	}
	struct ctl_req r;
	char err[256];
	if (ctl_req_parse(line, len, &r, err, sizeof(err)))
		ctl_client_send(c, ctl_reply_err(r.id, "%s", err));
	else
		ctl_client_send(c, ctl_reply_ok(r.id, json_pack("{s:s}", "cmd", ctl_cmd_name(r.cmd))));
	if (r.cmd == CTL_EVENTS)
		ctl_client_subscribe(c);
	ctl_req_free(&r);
}

static void *loop_thread(void *arg)
{
	evloop_run(&((struct rig *)arg)->loop);
	return NULL;
}

static int rig_up(void **state)
{
	struct rig *g = calloc(1, sizeof(*g));
	strcpy(g->dir, "/tmp/modvmm-ctl-XXXXXX");
	assert_non_null(mkdtemp(g->dir));
	snprintf(g->path, sizeof(g->path), "%s/control.sock", g->dir);
	assert_int_equal(evloop_init(&g->loop), 0);
	assert_int_equal(ctl_server_open(&g->srv, &g->loop, g->path, "{\"greeting\":{}}\n", on_line, g), 0);
	assert_int_equal(pthread_create(&g->thread, NULL, loop_thread, g), 0);
	*state = g;
	return 0;
}

static int rig_down(void **state)
{
	struct rig *g = *state;
	evloop_stop(&g->loop);
	pthread_join(g->thread, NULL);
	ctl_server_close(g->srv);
	assert_int_equal(access(g->path, F_OK), -1); /* the socket is removed */
	evloop_destroy(&g->loop);
	rmdir(g->dir);
	free(g);
	return 0;
}

#define WAIT_MS 10000   /* a bound, never reached when the server works */

static int client(const struct rig *g)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	strcpy(a.sun_path, g->path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Read one line (at most len - 1 bytes); returns its length, -1 at EOF. */
static int get_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	while (n < len - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, WAIT_MS) != 1)
			fail_msg("no reply within %d ms", WAIT_MS);
		ssize_t r = read(fd, buf + n, 1);
		if (r <= 0)
			return n ? (int)n : -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return (int)n;
}

static void put(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* The next line from fd holds `want`. */
static void expect_line(int fd, const char *want)
{
	char line[512];
	assert_true(get_line(fd, line, sizeof(line)) > 0);
	if (!strstr(line, want))
		fail_msg("'%s' does not hold '%s'", line, want);
}

/* A new client, its greeting read. */
static int greeted(const struct rig *g)
{
	int fd = client(g);
	expect_line(fd, "{\"greeting\":{}}");
	return fd;
}

/* A new client that gets its greeting and an answer to "status". */
static void served(const struct rig *g)
{
	char line[512];
	int fd = greeted(g);
	put(fd, "{\"cmd\":\"status\",\"id\":3}\n");
	assert_true(get_line(fd, line, sizeof(line)) > 0);
	assert_string_equal(line, "{\"id\":3,\"ok\":true,\"result\":{\"cmd\":\"status\"}}");
	close(fd);
}

static void test_request_in_pieces(void **state)
{
	struct rig *g = *state;
	int fd = greeted(g);
	put(fd, "{\"cmd\":\"pa");
	served(g); /* another client meanwhile */
	put(fd, "use\"}\r\n{\"cmd\":\"resume\"}\n");
	expect_line(fd, "\"cmd\":\"pause\"");
	expect_line(fd, "\"cmd\":\"resume\"");
	close(fd);
}

static void test_garbage(void **state)
{
	struct rig *g = *state;
	int fd = greeted(g);
	static const char junk[] = "\x00\xff\x01{{{]]\n\n}\"\\\n{\"cmd\":1}\n";
	assert_int_equal(send(fd, junk, sizeof(junk) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(junk) - 1);
	for (int i = 0; i < 4; i++) { /* one error per line, the empty one included */
		expect_line(fd, "\"ok\":false");
	}
	put(fd, "{\"cmd\":\"stats\"}\n"); /* and the connection still works */
	expect_line(fd, "\"ok\":true");
	close(fd);
	served(g);
}

static void test_huge_line(void **state)
{
	struct rig *g = *state;
	int fd = greeted(g);
	static char mib[1 << 20];
	memset(mib, 'a', sizeof(mib));
	size_t sent = 0;
	while (sent < sizeof(mib)) { /* the server hangs up after 64 KiB */
		ssize_t w = send(fd, mib + sent, sizeof(mib) - sent, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		sent += (size_t)w;
	}
	expect_line(fd, "request longer than 65536 bytes");
	char rest[4096];
	while (get_line(fd, rest, sizeof(rest)) >= 0) /* then EOF, whatever was in flight */
		;
	close(fd);
	served(g);
}

static void test_silent_and_deaf_clients(void **state)
{
	struct rig *g = *state;
	char line[512];
	int half = client(g); /* half a request, then nothing */
	put(half, "{\"cmd\":\"sta");
	int deaf = client(g); /* asks for 64 KiB replies and never reads */
	for (int i = 0; i < 64; i++) {
		if (send(deaf, "big\n", 4, MSG_NOSIGNAL) != 4)
			break; /* dropped already */
	}
	served(g);
	/* the deaf one was dropped once 1 MiB waited for it: its socket reads the
	 * replies that made it out, then EOF */
	static char buf[1 << 16];
	size_t got = 0;
	for (;;) {
		struct pollfd p = { .fd = deaf, .events = POLLIN };
		assert_int_equal(poll(&p, 1, WAIT_MS), 1);
		ssize_t r = read(deaf, buf, sizeof(buf));
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	assert_true(got <= CTL_MAX_OUT + 64 * BIG_REPLY);
	assert_true(got < 64u * BIG_REPLY + 16); /* not everything: dropped */
	put(half, "tus\"}\n"); /* the silent one is still there */
	assert_true(get_line(half, line, sizeof(line)) > 0); /* greeting */
	expect_line(half, "\"cmd\":\"status\"");
	close(half);
	close(deaf);
}

#define CROWD 100

static void test_crowd(void **state)
{
	struct rig *g = *state;
	int fds[CTL_MAX_CLIENTS + 2];
	char line[512];
	for (int i = 0; i < CROWD; i++)
		fds[i] = client(g);
	for (int i = 0; i < CROWD; i++)
		put(fds[i], "{\"cmd\":\"events\"}\n");
	for (int i = 0; i < CROWD; i++) {
		assert_true(get_line(fds[i], line, sizeof(line)) > 0); /* greeting */
		assert_true(get_line(fds[i], line, sizeof(line)) > 0);
		assert_non_null(strstr(line, "\"cmd\":\"events\""));
	}
	assert_int_equal(ctl_server_clients(g->srv), CROWD);
	/* past CTL_MAX_CLIENTS a newcomer is told and closed */
	for (int i = CROWD; i < CTL_MAX_CLIENTS + 2; i++)
		fds[i] = client(g);
	for (int i = CROWD; i < CTL_MAX_CLIENTS; i++)
		assert_true(get_line(fds[i], line, sizeof(line)) > 0);
	for (int i = CTL_MAX_CLIENTS; i < CTL_MAX_CLIENTS + 2; i++) {
		assert_true(get_line(fds[i], line, sizeof(line)) > 0);
		assert_non_null(strstr(line, "too many clients"));
		assert_int_equal(get_line(fds[i], line, sizeof(line)), -1);
	}
	for (int i = 0; i < CTL_MAX_CLIENTS + 2; i++)
		close(fds[i]);
	/* the server's loop sees the hang-ups in its own time: a newcomer before
	 * that would still find it full */
	for (int ms = 0; ms < WAIT_MS && ctl_server_clients(g->srv); ms++)
		poll(NULL, 0, 1);
	assert_int_equal(ctl_server_clients(g->srv), 0);
	served(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_replies),
		cmocka_unit_test_setup_teardown(test_request_in_pieces, rig_up, rig_down),
		cmocka_unit_test_setup_teardown(test_garbage, rig_up, rig_down),
		cmocka_unit_test_setup_teardown(test_huge_line, rig_up, rig_down),
		cmocka_unit_test_setup_teardown(test_silent_and_deaf_clients, rig_up, rig_down),
		cmocka_unit_test_setup_teardown(test_crowd, rig_up, rig_down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
