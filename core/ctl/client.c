/* SPDX-License-Identifier: MIT */
/* The control socket's client (client.h): one request per connection. */
#include "ctl/client.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl/proto.h"
#include "ctl/vmctl.h"
#include "exitcode.h"
#include "mem/devmem.h"

#define REPLY_WAIT_MS 30000   /* a reply: the VM answers from its event loop at once */

struct conn {
	int fd;
	char name[256];           /* as the user gave it */
	char buf[CTL_MAX_LINE * 4];
	size_t n;
};

static const char *const commands[] = { "list", "status", "stats", "pause", "resume", "stop", "events", "swap",
	                                "command" };

bool client_is_command(const char *cmd)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i]))
			return true;
	return false;
}

static int sock_path(const char *vm, char *buf, size_t len)
{
	if (strchr(vm, '/'))
		return (size_t)snprintf(buf, len, "%s", vm) < len ? 0 : -ENAMETOOLONG;
	return vmctl_default_path(vm, buf, len);
}

/* One line of JSON, or NULL at EOF / after wait_ms (*eof says which). */
static json_t *read_msg(struct conn *c, int wait_ms, bool *eof)
{
	*eof = false;
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->n);
		if (nl) {
			json_error_t je;
			json_t *o = json_loadb(c->buf, (size_t)(nl - c->buf), 0, &je);
			c->n -= (size_t)(nl + 1 - c->buf);
			memmove(c->buf, nl + 1, c->n);
			if (!o)
				fprintf(stderr, "modvmm: %s: a line that is not JSON: %s\n", c->name, je.text);
			return o;
		}
		if (c->n == sizeof(c->buf)) {
			fprintf(stderr, "modvmm: %s: a line too long\n", c->name);
			return NULL;
		}
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int r = poll(&p, 1, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return NULL;
		ssize_t got = read(c->fd, c->buf + c->n, sizeof(c->buf) - c->n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			*eof = true;
			return NULL;
		}
		c->n += (size_t)got;
	}
}

/* Connect and read the greeting; quiet: no message when nobody answers. */
static int conn_open(struct conn *c, const char *vm, bool quiet)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	*c = (struct conn){ .fd = -1 };
	snprintf(c->name, sizeof(c->name), "%s", vm);
	if (sock_path(vm, a.sun_path, sizeof(a.sun_path))) {
		fprintf(stderr, "modvmm: %s: socket path too long\n", vm);
		return -1;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a))) {
		if (!quiet)
			fprintf(stderr, "modvmm: no VM answers at %s: %s%s\n", a.sun_path, strerror(errno),
			        errno == ENOENT ? " (see 'modvmm list')" : "");
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		return -1;
	}
	bool eof;
	json_t *g = read_msg(c, REPLY_WAIT_MS, &eof);
	json_t *gr = json_object_get(g, "greeting");
	json_int_t proto = json_integer_value(json_object_get(gr, "protocol"));
	if (!gr || proto != CTL_PROTOCOL) {
		json_t *err = json_object_get(g, "error");
		fprintf(stderr, "modvmm: %s: %s%s\n", vm, err ? "refused: " : "",
		        err ? json_string_value(err) : gr ? "speaks another protocol version" : "no greeting");
		json_decref(g);
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	json_decref(g);
	return 0;
}

static int send_req(struct conn *c, json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!s)
		return -1;
	size_t n = strlen(s);
	s[n] = '\n'; /* the terminating NUL becomes the newline; n + 1 bytes go */
	int ret = 0;
	for (size_t off = 0; off <= n && !ret;) {
		ssize_t w = send(c->fd, s + off, n + 1 - off, MSG_NOSIGNAL);
		if (w < 0 && errno != EINTR)
			ret = -1;
		else if (w > 0)
			off += (size_t)w;
	}
	free(s);
	if (ret)
		fprintf(stderr, "modvmm: %s: cannot send: %s\n", c->name, strerror(errno));
	return ret;
}

/* Send a request and wait for its reply (events before it are skipped).
 * Returns the result object (owned), or NULL after printing the error. */
static json_t *call(struct conn *c, json_t *req)
{
	if (send_req(c, req))
		return NULL;
	for (;;) {
		bool eof;
		json_t *m = read_msg(c, REPLY_WAIT_MS, &eof);
		if (!m) {
			fprintf(stderr, "modvmm: %s: %s\n", c->name, eof ? "the VM closed the connection" : "no reply");
			return NULL;
		}
		json_t *ok = json_object_get(m, "ok");
		if (!ok) {
			json_decref(m);
			continue;
		}
		if (!json_is_true(ok)) {
			fprintf(stderr, "modvmm: %s: %s\n", c->name, json_string_value(json_object_get(m, "error")));
			json_decref(m);
			return NULL;
		}
		json_t *r = json_incref(json_object_get(m, "result"));
		json_decref(m);
		return r;
	}
}

static void print_json(const json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	if (s)
		printf("%s\n", s);
	free(s);
	fflush(stdout);
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "?";
}

static long long num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void print_status(const json_t *s)
{
	printf("VM %s: %s (pid %lld, up %.1f s)\n", str(s, "vm"), str(s, "state"), num(s, "pid"),
	       json_real_value(json_object_get(s, "uptime_s")));
	printf("  %lld vCPU%s, %lld MiB, kernel %s\n", num(s, "vcpus"), num(s, "vcpus") == 1 ? "" : "s",
	       num(s, "memory") >> 20, str(s, "kernel"));
	printf("  socket %s\n", str(s, "socket"));
	size_t i, j;
	json_t *d, *c;
	json_array_foreach(json_object_get(s, "devices"), i, d) {
		printf("  %-8s %-12s %-14s", str(d, "kind"), str(d, "name"), str(d, "plugin"));
		json_array_foreach(json_object_get(d, "commands"), j, c)
			printf("%s%s %s", j ? "; " : "commands: ", str(c, "name"), str(c, "usage"));
		printf("\n");
	}
}

static void print_stats(const json_t *s)
{
	size_t i;
	json_t *v, *d;
	json_array_foreach(json_object_get(s, "vcpus"), i, v)
		printf("vcpu%lld: %lld exits (%lld I/O port, %lld MMIO)\n", num(v, "id"), num(v, "exits"),
		       num(v, "exits_io"), num(v, "exits_mmio"));
	json_array_foreach(json_object_get(s, "devices"), i, d) {
		json_t *cs = json_object_get(d, "counters");
		if (!json_object_size(cs))
			continue;
		printf("%s (%s)\n", str(d, "name"), str(d, "plugin"));
		const char *k;
		json_t *x;
		json_object_foreach(cs, k, x)
			printf("  %-28s %lld\n", k, (long long)json_integer_value(x));
	}
}

#define STOP_SLACK_S 10   /* stop: the hard stop's own time after the grace */

static json_t *req(const char *cmd)
{
	return json_pack("{s:s}", "cmd", cmd);
}

static int simple(struct conn *c, const char *cmd, json_t *rq, const struct client_opts *o)
{
	json_t *r = call(c, rq);
	if (!r)
		return CLIENT_FAILED;
	if (o->json)
		print_json(r);
	else if (!strcmp(cmd, "status"))
		print_status(r);
	else if (!strcmp(cmd, "stats"))
		print_stats(r);
	else if (json_object_get(r, "message"))
		printf("%s\n", str(r, "message"));
	else if (json_object_get(r, "state"))
		printf("%s: %s\n", c->name, str(r, "state"));
	json_decref(r);
	return 0;
}

static int cmd_list(const struct client_opts *o)
{
	const char *root = devmem_root();
	DIR *d = opendir(root);
	unsigned n = 0;
	if (!o->json)
		printf("%-20s %-8s %6s %6s %8s  %s\n", "NAME", "STATE", "VCPUS", "MiB", "PID", "SOCKET");
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char path[DEVMEM_PATH_MAX];
		if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s", root, e->d_name, VMCTL_SOCKET_NAME) >= sizeof(path) ||
		    access(path, F_OK))
			continue;
		struct conn c;
		if (conn_open(&c, path, true))
			continue; /* a socket left by a VM that was killed */
		json_t *s = call(&c, req("status"));
		close(c.fd);
		if (!s)
			continue;
		n++;
		if (o->json)
			print_json(s);
		else
			printf("%-20s %-8s %6lld %6lld %8lld  %s\n", str(s, "vm"), str(s, "state"), num(s, "vcpus"),
			       num(s, "memory") >> 20, num(s, "pid"), path);
		json_decref(s);
	}
	if (d)
		closedir(d);
	if (!n && !o->json)
		printf("(no VM answers under %s)\n", root);
	return 0;
}

static int cmd_events(struct conn *c, const struct client_opts *o)
{
	json_t *r = call(c, req("events"));
	if (!r)
		return CLIENT_FAILED;
	json_decref(r);
	if (!o->json) {
		printf("events of %s (until it exits):\n", c->name);
		fflush(stdout);
	}
	for (;;) {
		bool eof;
		json_t *m = read_msg(c, -1, &eof);
		if (!m)
			return eof ? 0 : CLIENT_FAILED; /* the VM exited */
		if (o->json) {
			print_json(m);
		} else {
			time_t t = (time_t)json_real_value(json_object_get(m, "time"));
			struct tm tm;
			char when[32];
			strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&t, &tm));
			printf("%s %s", when, str(m, "event"));
			const char *k;
			json_t *v;
			json_object_foreach(m, k, v) {
				if (!strcmp(k, "event") || !strcmp(k, "time"))
					continue;
				char *s = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
				printf(" %s=%s", k, s ? s : "?");
				free(s);
			}
			printf("\n");
			fflush(stdout);
		}
		json_decref(m);
	}
}

static int cmd_stop(struct conn *c, const struct client_opts *o)
{
	json_t *rq = req("stop");
	unsigned grace = o->timeout < CTL_STOP_GRACE_MAX ? o->timeout : CTL_STOP_GRACE_MAX;
	json_object_set_new(rq, "force", json_boolean(o->force));
	json_object_set_new(rq, "grace", json_integer(grace));
	json_t *r = call(c, rq);
	if (!r)
		return CLIENT_FAILED;
	const char *how = json_string_value(json_object_get(r, "how"));
	char said[32];
	snprintf(said, sizeof(said), "%s", how ? how : "at once");
	json_decref(r);
	/* the VM closes every connection as it exits: after the guest powered off,
	 * or after its hard stop at the end of the grace (a little later) */
	unsigned wait_s = grace + STOP_SLACK_S;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		long left = (long)wait_s * 1000 - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			fprintf(stderr, "modvmm: %s: still running %u s after stop\n", c->name, wait_s);
			return CLIENT_FAILED;
		}
		bool eof;
		json_t *m = read_msg(c, (int)left, &eof);
		json_decref(m);
		if (eof)
			break;
	}
	if (!o->json)
		printf("%s: stopped (%s)\n", c->name, said);
	return 0;
}

static int cmd_stats(struct conn *c, int argc, char **argv, const struct client_opts *o)
{
	for (;;) {
		json_t *rq = req("stats");
		if (argc > 1)
			json_object_set_new(rq, "device", json_string(argv[1]));
		if (o->watch && !o->json) {
			time_t now = time(NULL);
			struct tm tm;
			char when[32];
			strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&now, &tm));
			printf("--- %s %s\n", c->name, when);
		}
		int ret = simple(c, "stats", rq, o);
		if (ret || !o->watch)
			return ret;
		fflush(stdout);
		struct timespec ts = { .tv_sec = o->interval };
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "modvmm: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "; see 'modvmm --help'\n");
	return EXIT_USAGE;
}

/* argv[0] is the VM; the rest depends on the command. */
int client_main(const char *cmd, int argc, char **argv, const struct client_opts *o)
{
	if (!strcmp(cmd, "list"))
		return argc ? usage_error("'list' takes no argument, got '%s'", argv[0]) : cmd_list(o);
	if (argc < 1)
		return usage_error("'%s' needs a VM (its [vm] name or its control socket's path)", cmd);
	bool dev_cmd = !strcmp(cmd, "swap") || !strcmp(cmd, "command");
	int max = !strcmp(cmd, "stats") ? 2 : dev_cmd ? 2 + CTL_MAX_ARGS : 1;
	if (argc > max)
		return usage_error("too many arguments for '%s'", cmd);
	if (!strcmp(cmd, "swap") && (argc < 2 || !o->backend))
		return usage_error("'%s' needs VM DEVICE --backend PLUGIN [KEY=VALUE ...]", cmd);
	if (!strcmp(cmd, "command") && argc < 3)
		return usage_error("'%s' needs VM DEVICE NAME [ARG ...]", cmd);
	if (o->backend && strcmp(cmd, "swap"))
		return usage_error("--backend goes with 'swap', not '%s'", cmd);
	if (o->watch && strcmp(cmd, "stats"))
		return usage_error("--watch goes with 'stats', not '%s'", cmd);
	struct conn *c = malloc(sizeof(*c));
	if (!c || conn_open(c, argv[0], false)) {
		free(c);
		return CLIENT_FAILED;
	}
	int ret;
	if (!strcmp(cmd, "stats")) {
		ret = cmd_stats(c, argc, argv, o);
	} else if (!strcmp(cmd, "events")) {
		ret = cmd_events(c, o);
	} else if (!strcmp(cmd, "stop")) {
		ret = cmd_stop(c, o);
	} else if (dev_cmd) {
		bool swap = !strcmp(cmd, "swap");
		json_t *args = json_array();
		if (swap) {
			char kv[CTL_MAX_ARG];
			snprintf(kv, sizeof(kv), "plugin=%s", o->backend);
			json_array_append_new(args, json_string(kv));
		}
		for (int i = swap ? 2 : 3; i < argc; i++)
			json_array_append_new(args, json_string(argv[i]));
		ret = simple(c, cmd, json_pack("{s:s, s:s, s:s, s:o}", "cmd", "command", "device", argv[1], "name",
		                               swap ? "swap" : argv[2], "args", args), o);
	} else {
		ret = simple(c, cmd, req(cmd), o);
	}
	close(c->fd);
	free(c);
	return ret;
}
