/* SPDX-License-Identifier: MIT */
/* The switch's control socket and its client (ctl.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

#define CTL_TIMEOUT_MS 1000 /* a client gets this long to send its request */

int sw_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= SW_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int sw_dir(char *buf, size_t len, int create)
{
	int err = nmport_rundir(buf, len);

	if (err < 0)
		return err;
	if (create && mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (strlen(buf) + sizeof("/switch") > len)
		return -ENAMETOOLONG;
	strcat(buf, "/switch");
	if (create && mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int sock_addr(const char *name, struct sockaddr_un *a, int create)
{
	char dir[sizeof(a->sun_path)];
	int err = sw_dir(dir, sizeof(dir), create);

	if (err < 0)
		return err;
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s.sock", dir, name) >=
	    (int)sizeof(a->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int ctl_listen(const char *name, int *lock_fd)
{
	struct sockaddr_un a;
	char lock[sizeof(a.sun_path) + 8];
	int err = sock_addr(name, &a, 1), fd;

	if (err < 0)
		return err;
	snprintf(lock, sizeof(lock), "%.*s.lock", (int)(strlen(a.sun_path) - 5), a.sun_path);
	*lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*lock_fd < 0)
		return -errno;
	if (flock(*lock_fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EADDRINUSE : -errno;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(a.sun_path); /* stale: we hold the lock */
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 8) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void answer_ports(FILE *f, const struct sw *s)
{
	fprintf(f, "%-3s %-24s %-4s %12s %12s %10s %8s %8s\n", "id", "pipe", "link", "rx", "tx",
		"drop_full", "bad", "refused");
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		const struct sw_port *p = &s->port[i];
		struct nmport_stats st;
		if (!(s->used & (1ull << i)))
			continue;
		memset(&st, 0, sizeof(st));
		if (p->np)
			nmport_get_stats(p->np, &st);
		fprintf(f, "%-3u %-24s %-4s %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %8" PRIu64
			" %8" PRIu64 "\n", i, p->name, !p->np || nmport_link_up(p->np) ? "up" : "down", p->rx,
			p->tx, p->drop_full, p->bad, st.bad);
	}
	fprintf(f, "floods %" PRIu64 " learned %" PRIu64 " moved %" PRIu64 " table-full %" PRIu64 "\n",
		s->floods, s->fdb.learned, s->fdb.moved, s->fdb.full);
}

static void answer_macs(FILE *f, const struct sw *s, uint64_t now_ns)
{
	fprintf(f, "%-17s %-3s %-24s %s\n", "mac", "id", "pipe", "age_s");
	for (unsigned i = 0; i < FDB_SIZE; i++) {
		const struct fdb_entry *e = &s->fdb.e[i];
		if (!e->mac || now_ns - e->seen_ns > s->fdb.age_ns)
			continue;
		fprintf(f, "%02x:%02x:%02x:%02x:%02x:%02x %-3u %-24s %.1f\n",
			(unsigned)(e->mac >> 40) & 0xff, (unsigned)(e->mac >> 32) & 0xff,
			(unsigned)(e->mac >> 24) & 0xff, (unsigned)(e->mac >> 16) & 0xff,
			(unsigned)(e->mac >> 8) & 0xff, (unsigned)e->mac & 0xff, e->port,
			s->port[e->port].name, (double)(now_ns - e->seen_ns) / 1e9);
	}
}

void ctl_serve(int listen_fd, const struct sw *s, uint64_t now_ns)
{
	int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	struct pollfd pfd = { .fd = c, .events = POLLIN };
	char req[64] = "";
	FILE *f;

	if (c < 0)
		return;
	if (poll(&pfd, 1, CTL_TIMEOUT_MS) == 1) {
		ssize_t n = read(c, req, sizeof(req) - 1);
		req[n > 0 ? n : 0] = '\0';
	}
	req[strcspn(req, "\r\n")] = '\0';
	f = fdopen(c, "w");
	if (!f) {
		close(c);
		return;
	}
	if (strcmp(req, "ports") == 0)
		answer_ports(f, s);
	else if (strcmp(req, "macs") == 0)
		answer_macs(f, s, now_ns);
	else
		fprintf(f, "error: unknown request '%s' (ports, macs)\n", req);
	fclose(f);
}

static int ctl_connect(const char *name)
{
	struct sockaddr_un a;
	int err = sock_addr(name, &a, 0), fd;

	if (err < 0)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int ctl_request(const char *name, const char *req)
{
	char buf[4096];
	ssize_t n;
	int fd = ctl_connect(name), len = snprintf(buf, sizeof(buf), "%s\n", req);

	if (fd < 0)
		return fd;
	/* one write: the switch answers and closes after the first read */
	if (send(fd, buf, (size_t)len, MSG_NOSIGNAL) != len) {
		close(fd);
		return -EIO;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	return 0;
}

int ctl_list(void)
{
	char dir[108];
	struct dirent *de;
	DIR *d;
	int err = sw_dir(dir, sizeof(dir), 0);

	if (err < 0)
		return err;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char name[SW_NAME_MAX];
		if (n < 6 || n - 5 >= sizeof(name) || strcmp(de->d_name + n - 5, ".sock") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 5), de->d_name);
		int fd = ctl_connect(name);
		if (fd >= 0) { /* a live switch answers; a stale file does not */
			close(fd);
			printf("%s\n", name);
		}
	}
	closedir(d);
	return 0;
}
