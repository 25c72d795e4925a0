/* SPDX-License-Identifier: MIT */
/* The control socket's server (server.h): non-blocking, on the event loop. */
#include "ctl/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/proto.h"
#include "log.h"
#include "vm/evloop.h"

#define READ_CHUNK 65536      /* bytes read per wake-up: one client cannot hog the loop */
#define SOCKET_MODE 0600

struct ctl_client {
	struct ctl_client *next;
	struct ctl_server *srv;
	int fd;
	bool events;             /* subscribed */
	bool want_out;           /* EPOLLOUT watched */
	char *in;                /* CTL_MAX_LINE + 1 bytes */
	size_t nin;
	char *out;
	size_t nout, out_cap;
};

struct ctl_server {
	struct evloop *loop;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *greeting;
	ctl_line_fn fn;
	void *opaque;
	struct ctl_client *clients;
	unsigned nclients;
	struct ctl_client *current;   /* whose line fn() is handling */
	bool current_gone;            /* ... and it was dropped meanwhile */
};

static void drop(struct ctl_client *c)
{
	struct ctl_server *s = c->srv;
	for (struct ctl_client **pp = &s->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	s->nclients--;
	if (s->current == c)
		s->current_gone = true;
	evloop_unwatch(s->loop, c->fd);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Write what the socket takes now; 0, or -1 when the client was dropped. */
static int flush(struct ctl_client *c)
{
	size_t done = 0;
	while (done < c->nout) {
		ssize_t w = send(c->fd, c->out + done, c->nout - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0) {
			drop(c);
			return -1;
		}
		done += (size_t)w;
	}
	memmove(c->out, c->out + done, c->nout - done);
	c->nout -= done;
	bool want = c->nout > 0;
	if (want != c->want_out) {
		uint32_t ev = EPOLLIN | (want ? EPOLLOUT : 0);
		if (evloop_rewatch(c->srv->loop, c->fd, ev)) {
			drop(c);
			return -1;
		}
		c->want_out = want;
	}
	return 0;
}

void ctl_client_send(struct ctl_client *c, char *line)
{
	size_t n = line ? strlen(line) : 0;
	if (!line || c->nout + n > CTL_MAX_OUT) {
		if (line)
			pr_warn("control socket: a client does not read its replies (%zu bytes waiting); dropped", c->nout);
		free(line);
		drop(c);
		return;
	}
	if (c->nout + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->nout + n)
			cap *= 2;
		char *o = realloc(c->out, cap);
		if (!o) {
			free(line);
			drop(c);
			return;
		}
		c->out = o;
		c->out_cap = cap;
	}
	memcpy(c->out + c->nout, line, n);
	c->nout += n;
	free(line);
	flush(c);
}

void ctl_client_subscribe(struct ctl_client *c)
{
	c->events = true;
}

void ctl_server_broadcast(struct ctl_server *s, const char *line)
{
	struct ctl_client *next;
	for (struct ctl_client *c = s->clients; c; c = next) {
		next = c->next;
		if (c->events)
			ctl_client_send(c, strdup(line));
	}
}

/* Hand every complete line to fn().  Returns -1 when the client went away. */
static int lines(struct ctl_client *c)
{
	struct ctl_server *s = c->srv;
	size_t start = 0;
	for (;;) {
		char *nl = memchr(c->in + start, '\n', c->nin - start);
		if (!nl)
			break;
		*nl = 0;
		size_t len = (size_t)(nl - (c->in + start));
		if (len && c->in[start + len - 1] == '\r')
			c->in[start + --len] = 0;
		s->current = c;
		s->current_gone = false;
		s->fn(s->opaque, c, c->in + start, len);
		s->current = NULL;
		if (s->current_gone)
			return -1;
		start = (size_t)(nl - c->in) + 1;
	}
	memmove(c->in, c->in + start, c->nin - start);
	c->nin -= start;
	if (c->nin >= CTL_MAX_LINE) {
		char *e = ctl_reply_err(NULL, "request longer than %d bytes; closing", CTL_MAX_LINE);
		if (e) {
			ssize_t w = send(c->fd, e, strlen(e), MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)w;
		}
		free(e);
		drop(c);
		return -1;
	}
	return 0;
}

static void client_ready(void *opaque, int fd, uint32_t events)
{
	struct ctl_client *c = opaque;
	if ((events & EPOLLOUT) && flush(c))
		return;
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	size_t got = 0;
	while (got < READ_CHUNK) {
		ssize_t r = recv(fd, c->in + c->nin, CTL_MAX_LINE + 1 - c->nin, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) { /* EOF or error: what was complete was handled */
			drop(c);
			return;
		}
		c->nin += (size_t)r;
		got += (size_t)r;
		if (lines(c))
			return;
	}
}

static void refuse(int fd, const char *why)
{
	char *e = ctl_reply_err(NULL, "%s", why);
	if (e) {
		ssize_t w = send(fd, e, strlen(e), MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)w;
	}
	free(e);
	close(fd);
}

static void accept_ready(void *opaque, int lfd, uint32_t events)
{
	struct ctl_server *s = opaque;
	(void)events;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				pr_warn("control socket: accept: %s", strerror(errno));
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (s->nclients >= CTL_MAX_CLIENTS) {
			refuse(fd, "too many clients");
			continue;
		}
		struct ctl_client *c = calloc(1, sizeof(*c));
		char *in = malloc(CTL_MAX_LINE + 1);
		if (!c || !in || evloop_watch(s->loop, fd, EPOLLIN, client_ready, c, s)) {
			free(c);
			free(in);
			refuse(fd, "out of resources");
			continue;
		}
		*c = (struct ctl_client){ .next = s->clients, .srv = s, .fd = fd, .in = in };
		s->clients = c;
		s->nclients++;
		ctl_client_send(c, strdup(s->greeting));
	}
}

/* A socket at `path` that accepts a connection belongs to a live server. */
static bool answered(const struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool live = connect(fd, (const struct sockaddr *)a, sizeof(*a)) == 0;
	close(fd);
	return live;
}

int ctl_server_open(struct ctl_server **out, struct evloop *loop, const char *path, const char *greeting,
                    ctl_line_fn fn, void *opaque)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	struct ctl_server *s = calloc(1, sizeof(*s));
	char *g = strdup(greeting);
	if (!s || !g) {
		free(s);
		free(g);
		return -ENOMEM;
	}
	*s = (struct ctl_server){ .loop = loop, .fd = -1, .greeting = g, .fn = fn, .opaque = opaque };
	strcpy(s->path, path);
	int ret = 0;
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			ret = -EEXIST;
		else if (answered(&a))
			ret = -EADDRINUSE;
		else
			unlink(path); /* left by a VM that did not exit cleanly */
	}
	if (!ret && (s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		ret = -errno;
	if (!ret && bind(s->fd, (struct sockaddr *)&a, sizeof(a)))
		ret = -errno;
	if (!ret && (chmod(path, SOCKET_MODE) || listen(s->fd, CTL_MAX_CLIENTS)))
		ret = -errno;
	if (!ret && (ret = evloop_watch(loop, s->fd, EPOLLIN, accept_ready, s, s)) == 0) {
		*out = s;
		return 0;
	}
	if (s->fd >= 0) {
		close(s->fd);
		if (ret != -EADDRINUSE && ret != -EEXIST)
			unlink(path);
	}
	free(s->greeting);
	free(s);
	return ret;
}

void ctl_server_close(struct ctl_server *s)
{
	if (!s)
		return;
	while (s->clients) {
		struct ctl_client *c = s->clients;
		if (c->nout) /* best effort: the last events and replies */
			flush(c);
		if (s->clients == c)
			drop(c);
	}
	evloop_unwatch_owner(s->loop, s);
	close(s->fd);
	unlink(s->path);
	free(s->greeting);
	free(s);
}

const char *ctl_server_path(const struct ctl_server *s)
{
	return s->path;
}

unsigned ctl_server_clients(const struct ctl_server *s)
{
	return s->nclients;
}
