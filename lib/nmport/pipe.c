/* SPDX-License-Identifier: MIT */
/*
 * Rendezvous of the two ends of a pipe through a unix SOCK_SEQPACKET socket
 * in the runtime folder.
 *
 * The first end creates the region and listens.  The listening socket itself
 * is handed to the other end in the HELLO message, so whichever end survives
 * keeps accepting: a restarted peer always finds the live region.  Only when
 * no end is alive does connect() fail (ECONNREFUSED on a stale socket file);
 * the starter then creates a new region under the NAME.lock flock, so two
 * ends starting together cannot both create one.
 *
 *   joiner -> holder: connect()
 *   holder -> joiner: HELLO {end, size, name, offer/want pull} +
 *                     [memfd, listen fd, rx_irq[nr], rx_kick[nr], (tx_kick, tx_irq) per offered ring]
 *   joiner:           checks and maps the region, resets its end
 *   joiner -> holder: ACK {offer/want pull} + [rx_irq[nr], rx_kick[nr], (tx_kick, tx_irq) per offered ring]
 * The connection stays open; EOF means the peer is gone (link down).  A third
 * end gets BUSY and no fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <modvmm-netmap/nmport.h>
#include "sendfds.h"

#define MSG_MAGIC   0x6e6d7264u /* "nmrd" */
#define MSG_VERSION 2u
#define MSG_HELLO   1u
#define MSG_ACK     2u
#define MSG_BUSY    3u
#define MAX_FDS     ((int)(2 + 4 * NMPORT_MAX_RINGS))
#define LISTEN_BACKLOG 4

struct msg {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t end;       /* HELLO: the end the joiner takes */
	uint32_t nr_rings;  /* per-ring fds that follow */
	uint32_t offer_pull, want_pull; /* the sender's (struct nmport_rdv_fds) */
	uint64_t size;      /* HELLO: region bytes */
	char name[NMPORT_NAME_MAX];
};

struct nmport_rdv {
	char name[NMPORT_NAME_MAX];
	struct sockaddr_un addr;
	struct nmport_region reg;
	unsigned end;
	int listen_fd;
	int conn_fd;        /* -1 while the link is down */
	int epfd;
	bool up;
	struct nmport_rdv_fds mine;
	struct nmport_rdv_fds peer;
};

/* ---- helpers ---------------------------------------------------------------- */

int nmport_rundir(char *buf, size_t len)
{
	const char *env = getenv("MODVMM_RUNDIR");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if ((env = getenv("XDG_RUNTIME_DIR")) && *env)
		n = snprintf(buf, len, "%s/modvmm", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/modvmm");
	else
		n = snprintf(buf, len, "/tmp/modvmm-%u", (unsigned)geteuid());
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int mkdir_p(const char *path)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void peer_reset(struct nmport_rdv *rdv)
{
	for (unsigned i = 0; i < NMPORT_MAX_RINGS; i++)
		rdv->peer.rx_irq[i] = rdv->peer.rx_kick[i] = rdv->peer.tx_kick[i] = rdv->peer.tx_irq[i] = -1;
	rdv->peer.offer_pull = rdv->peer.want_pull = 0;
}

static uint32_t ring_mask(unsigned nr)
{
	return nr >= 32 ? UINT32_MAX : (1u << nr) - 1;
}

/* The rings I offer: asked for, existing, and with both fds. */
static uint32_t my_offer(const struct nmport_rdv *rdv)
{
	uint32_t offer = rdv->mine.offer_pull & ring_mask(rdv->reg.mem.geom.nr_rings);

	for (unsigned i = 0; i < NMPORT_MAX_RINGS; i++)
		if (rdv->mine.tx_kick[i] < 0 || rdv->mine.tx_irq[i] < 0)
			offer &= ~(1u << i);
	return offer;
}

/* Per-ring fds in a message: rx_irq[nr], rx_kick[nr], (tx_kick, tx_irq) per offered ring. */
static unsigned wire_fds(unsigned nr, uint32_t offer)
{
	return 2 * nr + 2 * (unsigned)__builtin_popcount(offer);
}

static int send_msg(int fd, const struct msg *m, const int *fds, unsigned nfds)
{
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	ssize_t n = sendmsg_fds(fd, &iov, 1, fds, nfds);

	if (n < 0)
		return (int)n;
	return n == (ssize_t)sizeof(*m) ? 0 : -EPROTO;
}

/* Receive one message with up to MAX_FDS fds, waiting up to timeout_ms.
 * Returns the number of fds received (all owned by the caller), -errno, or
 * -ECONNRESET on EOF. */
static int recv_msg(int fd, struct msg *m, int *fds, int timeout_ms)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int nfds = 0, r;

	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (nfds + k > MAX_FDS) { /* cannot happen with our buffer size */
			close_fds((int *)CMSG_DATA(c), (unsigned)k);
			continue;
		}
		memcpy(fds + nfds, CMSG_DATA(c), sizeof(int) * (size_t)k);
		nfds += k;
	}
	if (n == 0) {
		close_fds(fds, (unsigned)nfds);
		return -ECONNRESET;
	}
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || n != (ssize_t)sizeof(*m) ||
	    m->magic != MSG_MAGIC || m->version != MSG_VERSION) {
		close_fds(fds, (unsigned)nfds);
		return -EPROTO;
	}
	return nfds;
}

/* A peer's fds are written and polled by us: they must be eventfds (a pipe or
 * socket could block a kick).  Without /proc nothing can be checked. */
static bool is_eventfd(int fd)
{
	char path[64], link[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return errno == ENOENT && access("/proc/self", F_OK) != 0;
	link[n] = '\0';
	return strcmp(link, "anon_inode:[eventfd]") == 0;
}

static bool all_eventfds(const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!is_eventfd(fds[i]))
			return false;
	return true;
}

static bool is_listening_unix(int fd)
{
	int v = 0, d = 0;
	socklen_t l = sizeof(v), ld = sizeof(d);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v == 1 &&
	       getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &d, &ld) == 0 && d == AF_UNIX;
}

static void fill_msg(struct msg *m, const struct nmport_rdv *rdv, uint16_t type)
{
	memset(m, 0, sizeof(*m));
	m->magic = MSG_MAGIC;
	m->version = MSG_VERSION;
	m->type = type;
	m->end = rdv->end ^ 1u;
	m->nr_rings = rdv->reg.mem.geom.nr_rings;
	m->offer_pull = my_offer(rdv);
	m->want_pull = rdv->mine.want_pull & ring_mask(m->nr_rings);
	m->size = rdv->reg.mem.size;
	snprintf(m->name, sizeof(m->name), "%s", rdv->name);
}

/* My per-ring fds in wire order (wire_fds()). */
static unsigned pack_mine(const struct nmport_rdv *rdv, int *fds)
{
	unsigned nr = rdv->reg.mem.geom.nr_rings, n = 2 * nr;
	uint32_t offer = my_offer(rdv);

	for (unsigned i = 0; i < nr; i++) {
		fds[i] = rdv->mine.rx_irq[i];
		fds[nr + i] = rdv->mine.rx_kick[i];
		if (offer & (1u << i)) {
			fds[n++] = rdv->mine.tx_kick[i];
			fds[n++] = rdv->mine.tx_irq[i];
		}
	}
	return n;
}

/* A peer's message announces its pull bitmaps and so how many per-ring fds
 * follow; all of them must be eventfds. */
static bool peer_msg_ok(const struct msg *m, unsigned nr, const int *fds, int nfds)
{
	return m->nr_rings == nr && (m->offer_pull & ~ring_mask(nr)) == 0 &&
	       (m->want_pull & ~ring_mask(nr)) == 0 && nfds == (int)wire_fds(nr, m->offer_pull) &&
	       all_eventfds(fds, (unsigned)nfds);
}

static void unpack_peer(struct nmport_rdv *rdv, const struct msg *m, const int *fds)
{
	unsigned nr = rdv->reg.mem.geom.nr_rings, n = 2 * nr;

	rdv->peer.offer_pull = m->offer_pull;
	rdv->peer.want_pull = m->want_pull;
	for (unsigned i = 0; i < nr; i++) {
		rdv->peer.rx_irq[i] = fds[i];
		rdv->peer.rx_kick[i] = fds[nr + i];
		if (m->offer_pull & (1u << i)) {
			rdv->peer.tx_kick[i] = fds[n++];
			rdv->peer.tx_irq[i] = fds[n++];
		}
	}
}

static int ep_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* ---- joining a live end ---------------------------------------------------- */

static int join(struct nmport_rdv *rdv, int sock)
{
	int mine[4 * NMPORT_MAX_RINGS];
	struct msg m, ack;
	int fds[MAX_FDS];
	int nfds = recv_msg(sock, &m, fds, NMPORT_RDV_HANDSHAKE_MS), err;

	if (nfds < 0)
		return nfds == -ECONNRESET ? -EPIPE : nfds;
	err = -EPROTO;
	if (m.type == MSG_BUSY) {
		err = -EBUSY;
		goto fail_fds;
	}
	if (m.type != MSG_HELLO || m.end >= NMPORT_ENDS || m.nr_rings < 1 ||
	    m.nr_rings > NMPORT_MAX_RINGS || nfds < 2 ||
	    strncmp(m.name, rdv->name, sizeof(m.name)) != 0 || !is_listening_unix(fds[1]) ||
	    !peer_msg_ok(&m, m.nr_rings, fds + 2, nfds - 2))
		goto fail_fds;
	err = nmport_region_open(fds[0], &rdv->reg);
	fds[0] = -1;
	if (err < 0)
		goto fail_fds;
	err = -EPROTO;
	if (rdv->reg.mem.geom.nr_rings != m.nr_rings || rdv->reg.mem.size != m.size ||
	    strcmp(rdv->reg.mem.name, rdv->name) != 0)
		goto fail_reg;
	rdv->end = m.end;
	rdv->listen_fd = fds[1];
	fds[1] = -1;
	nmport_end_format(&rdv->reg, rdv->end, false);

	fill_msg(&ack, rdv, MSG_ACK);
	err = send_msg(sock, &ack, mine, pack_mine(rdv, mine));
	if (err < 0)
		goto fail_listen;
	unpack_peer(rdv, &m, fds + 2);
	rdv->conn_fd = sock;
	rdv->up = true;
	if ((err = ep_add(rdv->epfd, rdv->listen_fd)) < 0 || (err = ep_add(rdv->epfd, sock)) < 0)
		return err; /* the caller's close() releases everything */
	return 0;

fail_listen:
	close(rdv->listen_fd);
	rdv->listen_fd = -1;
fail_reg:
	nmport_region_close(&rdv->reg);
fail_fds:
	close_fds(fds, (unsigned)nfds);
	return err;
}

static int try_connect(const struct nmport_rdv *rdv, int *out)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&rdv->addr, sizeof(rdv->addr)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

static int create(struct nmport_rdv *rdv, const struct nmport_geom *g)
{
	int err = nmport_region_create(rdv->name, g, &rdv->reg);

	if (err < 0)
		return err;
	rdv->end = 0;
	rdv->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (rdv->listen_fd < 0)
		return -errno;
	unlink(rdv->addr.sun_path); /* stale: nobody answered under the lock */
	if (bind(rdv->listen_fd, (const struct sockaddr *)&rdv->addr, sizeof(rdv->addr)) < 0 ||
	    listen(rdv->listen_fd, LISTEN_BACKLOG) < 0)
		return -errno;
	return ep_add(rdv->epfd, rdv->listen_fd);
}

int nmport_rdv_open(const char *rundir, const char *name, const struct nmport_geom *g,
		    const struct nmport_rdv_fds *mine, struct nmport_rdv **out)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char lock_path[sizeof(dir) + NMPORT_NAME_MAX + 16];
	struct nmport_rdv *rdv;
	int err, sock, lock;

	if (!nmport_name_ok(name) || (g && !nmport_geom_ok(g)))
		return -EINVAL;
	if (rundir)
		err = snprintf(dir, sizeof(dir), "%s", rundir) >= (int)sizeof(dir) ? -ENAMETOOLONG : 0;
	else
		err = nmport_rundir(dir, sizeof(dir));
	if (err < 0)
		return err;
	if (strlen(dir) + strlen("/pipe") < sizeof(dir))
		strcat(dir, "/pipe");
	else
		return -ENAMETOOLONG;
	if ((err = mkdir_p(dir)) < 0)
		return err;

	rdv = calloc(1, sizeof(*rdv));
	if (!rdv)
		return -ENOMEM;
	snprintf(rdv->name, sizeof(rdv->name), "%s", name);
	rdv->mine = *mine;
	rdv->reg.fd = rdv->listen_fd = rdv->conn_fd = -1;
	peer_reset(rdv);
	rdv->addr.sun_family = AF_UNIX;
	if (snprintf(rdv->addr.sun_path, sizeof(rdv->addr.sun_path), "%s/%s.sock", dir, name) >=
	    (int)sizeof(rdv->addr.sun_path)) {
		free(rdv);
		return -ENAMETOOLONG;
	}
	snprintf(lock_path, sizeof(lock_path), "%s/%s.lock", dir, name);
	rdv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (rdv->epfd < 0) {
		err = -errno;
		free(rdv);
		return err;
	}

	err = try_connect(rdv, &sock);
	if (err == -ENOENT || err == -ECONNREFUSED) {
		lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (lock < 0 || flock(lock, LOCK_EX) < 0) {
			err = -errno;
		} else {
			err = try_connect(rdv, &sock);
			if ((err == -ENOENT || err == -ECONNREFUSED) && g) {
				err = create(rdv, g);
				if (err == 0)
					err = 1; /* created: nobody to join */
			}
		}
		if (lock >= 0)
			close(lock); /* releases the flock */
	}
	if (err == 0) {
		err = join(rdv, sock);
		if (err < 0 && rdv->conn_fd != sock)
			close(sock);
	}
	if (err < 0) {
		nmport_rdv_close(rdv);
		return err;
	}
	*out = rdv;
	return 0;
}

/* ---- the holder's side ------------------------------------------------------ */

static void link_down(struct nmport_rdv *rdv)
{
	epoll_ctl(rdv->epfd, EPOLL_CTL_DEL, rdv->conn_fd, NULL);
	close(rdv->conn_fd);
	rdv->conn_fd = -1;
	close_fds(rdv->peer.rx_irq, NMPORT_MAX_RINGS);
	close_fds(rdv->peer.rx_kick, NMPORT_MAX_RINGS);
	close_fds(rdv->peer.tx_kick, NMPORT_MAX_RINGS);
	close_fds(rdv->peer.tx_irq, NMPORT_MAX_RINGS);
	peer_reset(rdv);
	rdv->up = false;
}

/* Hand the region to a joiner and wait for its ACK. */
static int welcome(struct nmport_rdv *rdv, int sock)
{
	unsigned nr = rdv->reg.mem.geom.nr_rings;
	int fds[MAX_FDS], n, err;
	struct msg m;

	fds[0] = rdv->reg.fd;
	fds[1] = rdv->listen_fd;
	fill_msg(&m, rdv, MSG_HELLO);
	err = send_msg(sock, &m, fds, 2 + pack_mine(rdv, fds + 2));
	if (err < 0)
		return err;
	n = recv_msg(sock, &m, fds, NMPORT_RDV_HANDSHAKE_MS);
	if (n < 0)
		return n;
	if (m.type != MSG_ACK || !peer_msg_ok(&m, nr, fds, n)) {
		close_fds(fds, (unsigned)n);
		return -EPROTO;
	}
	unpack_peer(rdv, &m, fds);
	return 0;
}

int nmport_rdv_process(struct nmport_rdv *rdv)
{
	if (rdv->conn_fd >= 0) {
		char c;
		ssize_t n = recv(rdv->conn_fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ||
		    n > 0 /* nothing is ever sent after the handshake */) {
			link_down(rdv);
			return NMPORT_RDV_LINK_DOWN;
		}
	}
	int sock = accept4(rdv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (sock < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
		       errno == ECONNABORTED ? NMPORT_RDV_NONE : -errno;
	if (rdv->up) {
		struct msg m;
		fill_msg(&m, rdv, MSG_BUSY);
		(void)send_msg(sock, &m, NULL, 0);
		close(sock);
		return NMPORT_RDV_NONE;
	}
	if (welcome(rdv, sock) < 0) {
		close(sock);
		return NMPORT_RDV_NONE; /* a joiner that fails its handshake is ignored */
	}
	rdv->conn_fd = sock;
	rdv->up = true;
	int err = ep_add(rdv->epfd, sock);
	if (err < 0) {
		link_down(rdv);
		return err;
	}
	return NMPORT_RDV_LINK_UP;
}

void nmport_rdv_close(struct nmport_rdv *rdv)
{
	if (!rdv)
		return;
	if (rdv->conn_fd >= 0)
		link_down(rdv);
	if (rdv->listen_fd >= 0)
		close(rdv->listen_fd);
	if (rdv->epfd >= 0)
		close(rdv->epfd);
	nmport_region_close(&rdv->reg);
	free(rdv);
}

struct nmport_region *nmport_rdv_region(struct nmport_rdv *rdv)
{
	return &rdv->reg;
}

unsigned nmport_rdv_end(const struct nmport_rdv *rdv)
{
	return rdv->end;
}

bool nmport_rdv_link_up(const struct nmport_rdv *rdv)
{
	return rdv->up;
}

const struct nmport_rdv_fds *nmport_rdv_peer_fds(const struct nmport_rdv *rdv)
{
	return &rdv->peer;
}

uint32_t nmport_rdv_pulled(const struct nmport_rdv *rdv)
{
	return rdv->up ? my_offer(rdv) & rdv->peer.want_pull : 0;
}

uint32_t nmport_rdv_pulling(const struct nmport_rdv *rdv)
{
	return rdv->up ? rdv->peer.offer_pull & rdv->mine.want_pull : 0; /* offer checked by peer_msg_ok() */
}

int nmport_rdv_fd(const struct nmport_rdv *rdv)
{
	return rdv->epfd;
}
