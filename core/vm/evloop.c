/* SPDX-License-Identifier: MIT */
#include "vm/evloop.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"

struct watch {
	struct watch *next;
	int fd;
	bool dead;
	modvmm_fd_cb cb;
	void *opaque;
	const void *owner;
};

static struct watch stop_tag, sig_tag;

int evloop_init(struct evloop *loop)
{
	*loop = (struct evloop){ .epfd = -1, .stopfd = -1, .sigfd = -1 };
	pthread_mutex_init(&loop->lock, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	loop->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (loop->epfd < 0 || loop->stopfd < 0 || loop->sigfd < 0) {
		int e = -errno;
		evloop_destroy(loop);
		return e;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &stop_tag };
	epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stopfd, &ev);
	ev.data.ptr = &sig_tag;
	epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->sigfd, &ev);
	return 0;
}

static void free_list(struct watch *w)
{
	while (w) {
		struct watch *n = w->next;
		free(w);
		w = n;
	}
}

void evloop_destroy(struct evloop *loop)
{
	free_list(loop->watches);
	free_list(loop->dead);
	loop->watches = loop->dead = NULL;
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->stopfd >= 0)
		close(loop->stopfd);
	if (loop->sigfd >= 0)
		close(loop->sigfd);
	loop->epfd = loop->stopfd = loop->sigfd = -1;
	pthread_mutex_destroy(&loop->lock);
}

int evloop_watch(struct evloop *loop, int fd, uint32_t events, modvmm_fd_cb cb, void *opaque, const void *owner)
{
	if (fd < 0 || !cb)
		return -EINVAL;
	struct watch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct watch){ .fd = fd, .cb = cb, .opaque = opaque, .owner = owner };
	struct epoll_event ev = { .events = events, .data.ptr = w };
	pthread_mutex_lock(&loop->lock);
	int ret = epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
	if (ret == 0) {
		w->next = loop->watches;
		loop->watches = w;
	}
	pthread_mutex_unlock(&loop->lock);
	if (ret)
		free(w);
	return ret;
}

int evloop_rewatch(struct evloop *loop, int fd, uint32_t events)
{
	int ret = -ENOENT;
	pthread_mutex_lock(&loop->lock);
	for (struct watch *w = loop->watches; w; w = w->next) {
		if (w->fd == fd) {
			struct epoll_event ev = { .events = events, .data.ptr = w };
			ret = epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) ? -errno : 0;
			break;
		}
	}
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

/* Caller holds the lock. Moves matching watches to the dead list. */
static void unwatch_where(struct evloop *loop, int fd, const void *owner)
{
	for (struct watch **pp = &loop->watches; *pp;) {
		struct watch *w = *pp;
		if ((owner && w->owner == owner) || (!owner && w->fd == fd)) {
			epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
			w->dead = true;
			*pp = w->next;
			w->next = loop->dead;
			loop->dead = w;
		} else {
			pp = &w->next;
		}
	}
}

void evloop_unwatch(struct evloop *loop, int fd)
{
	pthread_mutex_lock(&loop->lock);
	unwatch_where(loop, fd, NULL);
	pthread_mutex_unlock(&loop->lock);
}

void evloop_unwatch_owner(struct evloop *loop, const void *owner)
{
	if (!owner)
		return;
	pthread_mutex_lock(&loop->lock);
	unwatch_where(loop, -1, owner);
	pthread_mutex_unlock(&loop->lock);
}

void evloop_stop(struct evloop *loop)
{
	uint64_t one = 1;
	ssize_t r = write(loop->stopfd, &one, sizeof(one));
	(void)r;
}

void evloop_run(struct evloop *loop)
{
	struct epoll_event evs[32];
	for (;;) {
		int n = epoll_wait(loop->epfd, evs, 32, -1);
		if (n < 0 && errno != EINTR) {
			pr_err("epoll_wait: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;
			if (w == &stop_tag)
				return;
			if (w == &sig_tag) {
				struct signalfd_siginfo si;
				if (read(loop->sigfd, &si, sizeof(si)) == sizeof(si)) {
					loop->signal = (int)si.ssi_signo;
					return;
				}
				continue;
			}
			pthread_mutex_lock(&loop->lock);
			bool dead = w->dead;
			pthread_mutex_unlock(&loop->lock);
			if (!dead)
				w->cb(w->opaque, w->fd, evs[i].events);
		}
		pthread_mutex_lock(&loop->lock);
		free_list(loop->dead);
		loop->dead = NULL;
		pthread_mutex_unlock(&loop->lock);
	}
}
