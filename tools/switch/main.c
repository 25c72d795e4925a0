/* SPDX-License-Identifier: MIT */
/*
 * modvmm-switch: a VALE-style learning L2 switch between pipe ends.
 *
 *   modvmm-switch [--stay] [--age S] [--hold MS] [-q|-v] NAME   run switch NAME
 *   modvmm-switch list | ports NAME | macs NAME           introspection
 *
 * A port of switch NAME is pipe NAME.PORT (RUNDIR/pipe/NAME.PORT.sock): an
 * endpoint (a VM's pipe backend with `switch = NAME`, modvmm-pktgen -p
 * NAME.PORT, any nmport program) creates the pipe as usual, and the switch,
 * watching RUNDIR/pipe with inotify, joins it as the other end.  At start
 * the switch joins every live NAME.* pipe, so a restarted switch gets its
 * ports back.  A port whose endpoint goes away is closed (its slots and
 * buffers freed, its MACs forgotten); when the last port has gone the switch
 * exits, unless --stay.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "fwd.h"
#include "wakeup.h"

#define TAG_CTL    0u
#define TAG_NOTIFY 1u
#define TAG_SIGNAL 2u
#define TAG_PORT   16u /* + port index */
#define SW_DEFAULT_AGE_S 300 /* as a Linux bridge's ageing time */
#define IDLE_SPINS 64u /* empty passes before arming wake-ups and sleeping */
#define RESCAN_MS  1000 /* a failed join is tried again after this long */
#define FAILED_MAX 16   /* pipes whose join failed, remembered */
#define FAILED_TRIES 3  /* joins tried by rescans before waiting for a new pipe */

struct swd {
	struct sw s;
	char name[SW_NAME_MAX];
	char pipedir[PATH_MAX];
	int epfd, ctl_fd, notify_fd, sig_fd;
	bool stay, quiet, had_port;
	bool rescan;          /* a join failed midway (a slow endpoint): look again */
	struct { char pipe[NMPORT_NAME_MAX]; unsigned tries; } failed[FAILED_MAX];
	const char *tap;      /* --tap IFNAME: the host port */
	uint64_t tap_mask;
};

static void say(const struct swd *d, const char *fmt, const char *arg)
{
	if (d->quiet)
		return;
	printf("switch %s: ", d->name);
	printf(fmt, arg);
	printf("\n");
	fflush(stdout);
}

/* "NAME.PORT.sock" of this switch: the pipe name (without .sock) into out. */
static bool port_pipe(const struct swd *d, const char *file, char *out, size_t len)
{
	size_t n = strlen(file), k = strlen(d->name);

	if (n <= k + 1 + 5 || strncmp(file, d->name, k) != 0 || file[k] != '.' ||
	    strcmp(file + n - 5, ".sock") != 0 || n - 5 >= len)
		return false;
	snprintf(out, len, "%.*s", (int)(n - 5), file);
	return nmport_name_ok(out);
}

/* The entry of a pipe whose join failed (made when `add`), or -1.  An
 * endpoint that never completes the handshake costs the switch up to
 * NMPORT_RDV_HANDSHAKE_MS per try: rescans try it FAILED_TRIES times, then
 * only a new pipe of that name (inotify) does. */
static int failed(struct swd *d, const char *pipe, bool add)
{
	int fresh = -1;

	for (int k = 0; k < FAILED_MAX; k++) {
		if (d->failed[k].pipe[0] && strcmp(d->failed[k].pipe, pipe) == 0)
			return k;
		if (!d->failed[k].pipe[0] && fresh < 0)
			fresh = k;
	}
	if (!add)
		return -1;
	fresh = fresh < 0 ? 0 : fresh; /* full: forget the first */
	snprintf(d->failed[fresh].pipe, sizeof(d->failed[fresh].pipe), "%s", pipe);
	d->failed[fresh].tries = 0;
	return fresh;
}

/* Join pipe `pipe` if an endpoint holds it and it is not a port yet (`fresh`:
 * the pipe was just created, whatever its earlier tries). */
static void try_join(struct swd *d, const char *pipe, bool fresh)
{
	int f = failed(d, pipe, false), i, err;
	struct nmport *np;

	if (sw_port_find(&d->s, pipe) >= 0)
		return;
	if (f >= 0 && fresh)
		d->failed[f].tries = 0;
	if (f >= 0 && d->failed[f].tries >= FAILED_TRIES)
		return;
	err = nmport_open_ex(NULL, pipe, NULL, 0, 0, &np);
	if (err < 0) {
		if (err != -ENOENT && err != -ECONNREFUSED) {
			f = failed(d, pipe, true);
			if (++d->failed[f].tries < FAILED_TRIES)
				d->rescan = true; /* e.g. its end did not answer the handshake yet */
			if (!d->quiet)
				printf("switch %s: %s: %s (try %u)\n", d->name, pipe, strerror(-err),
				       d->failed[f].tries);
		}
		return;
	}
	if (f >= 0) /* joined: forget the failures */
		d->failed[f].pipe[0] = '\0';
	i = sw_port_add(&d->s, np, pipe);
	if (i == -EPROTO) {
		/* its rings do not change until it is made again: no rescans */
		f = failed(d, pipe, true);
		d->failed[f].tries = FAILED_TRIES;
		fprintf(stderr, "switch %s: %s: refused: %u ring pairs; a port has %u (frames are "
			"delivered on ring 0 only; make the pipe with rings = %u)\n", d->name, pipe,
			nmport_nrings(np), SW_PORT_RINGS, SW_PORT_RINGS);
		nmport_close(np);
		return;
	}
	if (i < 0 || ep_add(d->epfd, nmport_fd(np), TAG_PORT + (unsigned)i) < 0) {
		say(d, "%s: refused (no room for another port)", pipe);
		if (i >= 0)
			sw_port_del(&d->s, (unsigned)i);
		else
			nmport_close(np);
		return;
	}
	d->had_port = true;
	say(d, "port %s joined", pipe);
}

static void scan(struct swd *d)
{
	DIR *dir = opendir(d->pipedir);
	struct dirent *de;
	char pipe[NMPORT_NAME_MAX];

	if (!dir)
		return;
	while ((de = readdir(dir)))
		if (port_pipe(d, de->d_name, pipe, sizeof(pipe)))
			try_join(d, pipe, false);
	closedir(dir);
}

static void notified(struct swd *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	char pipe[NMPORT_NAME_MAX];
	ssize_t n;

	while ((n = read(d->notify_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (ev->len && port_pipe(d, ev->name, pipe, sizeof(pipe)))
				try_join(d, pipe, true);
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* Close ports whose endpoint went away. */
static void reap(struct swd *d)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		struct sw_port *p = &d->s.port[i];
		if (!(d->s.used & (1ull << i)) || !p->np)
			continue; /* (the tap port stays) */
		bool up = nmport_link_up(p->np);
		if (up) {
			p->was_up = true;
			continue;
		}
		if (!p->was_up)
			continue;
		/* what the endpoint sent before it left still goes: while its
		 * frames wait for a full port (until that port drains or stalls),
		 * the port stays */
		for (unsigned k = 0; k < 64 && sw_forward_port(&d->s, i, now_ns()); k++)
			;
		if (p->held)
			continue;
		if (!d->quiet)
			printf("switch %s: port %s left (rx %" PRIu64 " tx %" PRIu64 " drop_full %" PRIu64
			       " bad %" PRIu64 ")\n", d->name, p->name, p->rx, p->tx, p->drop_full, p->bad);
		fflush(stdout);
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, nmport_fd(p->np), NULL);
		sw_port_del(&d->s, i);
	}
}

static bool held(const struct swd *d)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if ((d->s.used & (1ull << i)) && d->s.port[i].held)
			return true;
	return false;
}

/* Ask every port for a wake-up; false if one has work already. */
static bool arm(struct swd *d)
{
	bool sleep = true;

	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		struct nmport *np = d->s.port[i].np;
		if (!(d->s.used & (1ull << i)) || !np)
			continue; /* the tap port's fd wakes us by itself */
		/* a port whose frames wait for a full destination needs no wake-up:
		 * the destination's (POLLDRAIN) or the hold timeout brings us back */
		unsigned ev = (d->s.port[i].held ? 0 : NMPORT_POLLIN) |
			      (nmport_tx_pending(np, 0) ? NMPORT_POLLDRAIN : 0);
		if (nmport_poll(np, ev, 0) != 0)
			sleep = false;
	}
	reap(d);
	return sleep;
}

/* --tap IFNAME: attach to (or create) a tap as the host port. */
static int add_tap(struct swd *d)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC), i, err;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", d->tap);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		close(fd);
		fprintf(stderr, "modvmm-switch: tap %s: %s\n", d->tap, strerror(-err));
		return err;
	}
	i = sw_port_add_tap(&d->s, fd, d->tap);
	if (i < 0) {
		close(fd);
		return i;
	}
	d->tap_mask = 1ull << i;
	say(d, "host port: tap %s", d->tap);
	return ep_add(d->epfd, fd, TAG_PORT + (unsigned)i);
}

static int setup(struct swd *d)
{
	char dir[PATH_MAX];
	sigset_t sigs;
	int lock, err;

	if ((err = nmport_rundir(dir, sizeof(dir))) < 0)
		return err;
	mkdir(dir, 0700);
	if (snprintf(d->pipedir, sizeof(d->pipedir), "%.*s/pipe", PATH_MAX - 8, dir) >=
	    (int)sizeof(d->pipedir))
		return -ENAMETOOLONG;
	if (mkdir(d->pipedir, 0700) < 0 && errno != EEXIST)
		return -errno;
	d->ctl_fd = ctl_listen(d->name, &lock); /* the lock stays held until exit */
	if (d->ctl_fd < 0)
		return d->ctl_fd;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	d->notify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sig_fd < 0 || d->notify_fd < 0 || d->epfd < 0)
		return -errno;
	if (inotify_add_watch(d->notify_fd, d->pipedir, IN_CREATE | IN_MOVED_TO) < 0)
		return -errno;
	if ((err = ep_add(d->epfd, d->ctl_fd, TAG_CTL)) < 0 ||
	    (err = ep_add(d->epfd, d->notify_fd, TAG_NOTIFY)) < 0 ||
	    (err = ep_add(d->epfd, d->sig_fd, TAG_SIGNAL)) < 0)
		return err;
	if (d->tap && (err = add_tap(d)) < 0)
		return err;
	scan(d); /* after the watch: a pipe created meanwhile is seen either way */
	return 0;
}

static int run(struct swd *d)
{
	unsigned idle = 0;

	say(d, "%s", "running");
	for (;;) {
		if (sw_forward(&d->s, now_ns())) {
			idle = 0;
			continue;
		}
		reap(d);
		if (d->had_port && !(d->s.used & ~d->tap_mask) && !d->stay) {
			say(d, "%s", "last port left: exiting");
			return 0;
		}
		if (++idle < IDLE_SPINS || !arm(d))
			continue;
		idle = 0;
		struct epoll_event evs[16];
		int wait = held(d) ? (int)(d->s.hold_ns / 1000000 + 1) : -1;
		if (d->rescan && (wait < 0 || wait > RESCAN_MS))
			wait = RESCAN_MS;
		int n = epoll_wait(d->epfd, evs, 16, wait);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n == 0 && d->rescan) {
			d->rescan = false;
			scan(d);
		}
		for (int e = 0; e < n; e++) {
			if (evs[e].data.u64 == TAG_CTL) {
				ctl_serve(d->ctl_fd, &d->s, now_ns());
			} else if (evs[e].data.u64 == TAG_NOTIFY) {
				notified(d);
			} else if (evs[e].data.u64 == TAG_SIGNAL) {
				say(d, "%s", "signalled: exiting");
				return 0;
			}
		}
	}
}

/* --daemon: go on in a child of a new session; the parent returns 1 (and
 * exits 0: whoever started us knows the switch listens), the child 0. */
static int detach(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0)
		return 1;
	setsid();
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: modvmm-switch [--stay] [--age S] [--hold MS] [--tap IFNAME] [-q|-v] [--daemon] NAME\n"
		   "       modvmm-switch list | ports NAME | macs NAME\n"
		   "Runs learning L2 switch NAME; its ports are the pipes NAME.PORT that endpoints\n"
		   "create (RUNDIR/pipe/NAME.PORT.sock).  Without --stay it exits when its last\n"
		   "port has left.  list: the running switches; ports: their ports and counters;\n"
		   "macs: the learned MAC table.  --age: seconds a MAC stays learned (default 300);\n"
		   "--hold: milliseconds frames wait for a full port before they are dropped for it\n"
		   "(default 200; 0: drop at once, as VALE); --verbose: print each MAC learned or moved;\n"
		   "--daemon: return once the switch listens, leaving it running (the pipe backend's\n"
		   "`switch = NAME` starts it so); --tap: a port to the host's network stack through\n"
		   "tap IFNAME (created if missing; needs CAP_NET_ADMIN).\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "stay", no_argument, 0, 's' }, { "age", required_argument, 0, 'a' },
		{ "hold", required_argument, 0, 'H' }, { "tap", required_argument, 0, 'T' }, { "daemon", no_argument, 0, 'D' },
		{ "quiet", no_argument, 0, 'q' }, { "verbose", no_argument, 0, 'v' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	static struct swd d; /* the batch is large: not on the stack */
	double age = SW_DEFAULT_AGE_S;
	double hold_ms = (double)SW_HOLD_NS / 1e6;
	bool verbose = false, daemon = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "sa:H:T:Dqvh", lo, NULL)) != -1) {
		switch (c) {
		case 's': d.stay = true; break;
		case 'a': age = strtod(optarg, NULL); break;
		case 'H': hold_ms = strtod(optarg, NULL); break;
		case 'q': d.quiet = true; break;
		case 'v': verbose = true; break;
		case 'D': daemon = true; break;
		case 'T': d.tap = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc && strcmp(argv[optind], "list") == 0 && optind + 1 == argc)
		return ctl_list() < 0 ? 1 : 0;
	if (optind + 2 == argc && (strcmp(argv[optind], "ports") == 0 ||
				   strcmp(argv[optind], "macs") == 0)) {
		if (!sw_name_ok(argv[optind + 1]) ||
		    (err = ctl_request(argv[optind + 1], argv[optind])) < 0) {
			fprintf(stderr, "modvmm-switch: no switch %s running\n", argv[optind + 1]);
			return 1;
		}
		return 0;
	}
	if (optind + 1 != argc || !(age > 0) || !(hold_ms >= 0) || hold_ms > 60000) {
		usage(stderr);
		return 2;
	}
	if (!sw_name_ok(argv[optind])) {
		fprintf(stderr, "modvmm-switch: %s: a name is 1-31 characters from [A-Za-z0-9_-]\n",
			argv[optind]);
		return 2;
	}
	snprintf(d.name, sizeof(d.name), "%s", argv[optind]);
	sw_init(&d.s, (uint64_t)(age * 1e9));
	d.s.verbose = verbose;
	d.s.hold_ns = (uint64_t)(hold_ms * 1e6);
	if ((err = setup(&d)) < 0) {
		fprintf(stderr, "modvmm-switch: %s: %s\n", d.name,
			err == -EADDRINUSE ? "already running" : strerror(-err));
		return err == -EADDRINUSE ? 3 : 1;
	}
	if (daemon && (err = detach()) != 0)
		return err < 0 ? 1 : 0; /* the parent: the switch listens */
	err = run(&d);
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		sw_port_del(&d.s, i);
	return err < 0 ? 1 : 0;
}
