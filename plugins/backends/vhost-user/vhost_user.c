/* SPDX-License-Identifier: MIT */
/*
 * vhost-user: a net backend with the virtqueue-offload capability.  The
 * device's virtqueues are served by another process (DPDK, OVS-DPDK, VPP, ...)
 * that maps the guest memory from our memfds, waits on the KVM ioeventfds of
 * the notify registers and interrupts the guest through the irqfds of the
 * MSI-X vectors: the data path never enters modvmm.
 *
 * Connection: client (connect to `socket`) or server (listen on it and wait for
 * the peer).  create() waits up to `connect_timeout` for the first peer, whose
 * features the device offers to the guest.  A monitor thread watches the
 * socket: when the peer goes away or breaks the protocol the link goes down
 * (logged), modvmm keeps running, and the thread reconnects (client: every
 * `reconnect_ms`; server: the next peer that connects) and replays the state
 * (features, memory table, running rings with the ring position taken from the
 * used index in guest memory).
 *
 * Locking: `lock` guards the socket and the replayable state; config ops and
 * the monitor take it, so a request and its reply are never interleaved.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <modvmm/net.h>
#include <modvmm/plugin.h>

#include "vu_proto.h"

#define VU_MAX_PAIRS 8
#define VU_MAX_VQS (2 * VU_MAX_PAIRS)       /* RX/TX rings (the control queue stays in the device) */
#define USED_IDX_OFF 2                      /* struct virtq_used: flags, idx (virtio 1.2 §2.7.8) */
#define MS_NS 1000000ll

struct ring {
	bool started;
	struct modvmm_net_vring vr;
};

struct modvmm_net_queue {
	struct vu *u;
	unsigned idx;
	bool enabled;                       /* the driver uses this pair (VQ_PAIRS_SET) */
};

struct vu {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool server;
	unsigned queues;
	uint64_t connect_timeout_ms, reconnect_ms;

	pthread_mutex_t lock;
	struct vu_conn c;                   /* c.fd < 0: disconnected */
	int listen_fd;
	int stop_efd;
	atomic_bool link;
	int link_efd;                       /* the frontend's (ops link_fd): written on each change */
	uint64_t peer_features;             /* of the first peer: what the device offered */
	uint64_t peer_pfeatures;
	unsigned peer_queues;
	bool features_set;
	uint64_t features;                  /* the driver's, as given to vq_set_features */
	struct modvmm_mem_region mem[VU_MAX_REGIONS];
	unsigned nmem;
	struct ring ring[VU_MAX_VQS];
	bool attached;
	unsigned nqueues;
	struct modvmm_net_queue q[VU_MAX_PAIRS];
	_Atomic uint64_t connects;
};

#define vlog(u, lvl, ...) ((u)->host->log((u)->dev, (lvl), __VA_ARGS__))

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / MS_NS;
}

/* ---- addresses ------------------------------------------------------------------ */

static void *gpa_hva(struct vu *u, uint64_t gpa, uint64_t len);

/* The used index of ring i in guest memory: how far the last peer got (split
 * rings without inflight tracking; buffers it held but never used are lost). */
static uint16_t used_idx(struct vu *u, unsigned i)
{
	const _Atomic uint16_t *ui = gpa_hva(u, u->ring[i].vr.used_gpa + USED_IDX_OFF, sizeof(uint16_t));
	return ui ? atomic_load_explicit(ui, memory_order_acquire) : u->ring[i].vr.next_avail;
}

static void *gpa_hva(struct vu *u, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < u->nmem; i++) {
		const struct modvmm_mem_region *r = &u->mem[i];
		if (gpa >= r->gpa && len <= r->size && gpa - r->gpa <= r->size - len)
			return (char *)r->hva + (gpa - r->gpa);
	}
	return NULL;
}

/* ---- the connection -------------------------------------------------------------- */

/* Publish a link state; the frontend's eventfd is written only on a change. */
static void set_link(struct vu *u, bool up)
{
	if (atomic_exchange(&u->link, up) != up && u->link_efd >= 0)
		eventfd_write(u->link_efd, 1);
}

/* Drop the peer (under lock): link down, rings to be replayed on reconnect. */
static void drop(struct vu *u, const char *why)
{
	if (u->c.fd < 0)
		return;
	vlog(u, MODVMM_LOG_WARN, "%s: %s; link down", u->path, why);
	/* shutdown first: the peer sees the hang-up at once, and a thread polling
	 * this fd wakes */
	shutdown(u->c.fd, SHUT_RDWR);
	close(u->c.fd);
	u->c.fd = -1;
	u->c.reply_ack = false;
	set_link(u, false);
}

static int proto_err(struct vu *u, int r, const char *what)
{
	char msg[256];
	if (u->c.err[0])
		snprintf(msg, sizeof(msg), "%s%s", r == -EPROTO || r == -EIO ? "protocol error: " : "", u->c.err);
	else
		snprintf(msg, sizeof(msg), "%s: %s", what, strerror(-r));
	drop(u, msg);
	return r;
}

static int set_u64(struct vu *u, enum vu_request req, uint64_t v, const int *fds, unsigned nfds)
{
	u->c.err[0] = 0;
	int r = vu_set(&u->c, req, &v, sizeof(v), fds, nfds);
	return r ? proto_err(u, r, vu_request_name(req)) : 0;
}

static int set_state(struct vu *u, enum vu_request req, unsigned idx, unsigned num)
{
	struct vu_vring_state s = { .index = idx, .num = num };
	u->c.err[0] = 0;
	int r = vu_set(&u->c, req, &s, sizeof(s), NULL, 0);
	return r ? proto_err(u, r, vu_request_name(req)) : 0;
}

static int get_u64(struct vu *u, enum vu_request req, uint64_t *out)
{
	u->c.err[0] = 0;
	int r = vu_get(&u->c, req, NULL, 0, out, sizeof(*out));
	return r ? proto_err(u, r, vu_request_name(req)) : 0;
}

/* SET_OWNER, features and protocol features, queue count (under lock). */
static int handshake(struct vu *u)
{
	uint64_t f, pf = 0, nq = 1;
	u->c.err[0] = 0;
	int r = vu_set(&u->c, VU_SET_OWNER, NULL, 0, NULL, 0);
	if (r)
		return proto_err(u, r, "SET_OWNER");
	if (!r)
		r = get_u64(u, VU_GET_FEATURES, &f);
	if (r)
		return r;
	if (f & (1ull << VU_F_PROTOCOL_FEATURES)) {
		r = get_u64(u, VU_GET_PROTOCOL_FEATURES, &pf);
		pf &= (1ull << VU_PROTOCOL_F_MQ) | (1ull << VU_PROTOCOL_F_REPLY_ACK) | (1ull << VU_PROTOCOL_F_CONFIG);
		if (!r)
			r = set_u64(u, VU_SET_PROTOCOL_FEATURES, pf, NULL, 0);
		if (!r && (pf & (1ull << VU_PROTOCOL_F_MQ)))
			r = get_u64(u, VU_GET_QUEUE_NUM, &nq);
		if (r)
			return r;
		u->c.reply_ack = pf & (1ull << VU_PROTOCOL_F_REPLY_ACK);
	}
	if (!atomic_load(&u->connects)) {
		u->peer_features = f;
		u->peer_pfeatures = pf;
		u->peer_queues = nq ? (unsigned)(nq < VU_MAX_PAIRS ? nq : VU_MAX_PAIRS) : 1;
	} else if (u->features_set && (u->features & ~f)) {
		drop(u, "the new peer lacks features the driver negotiated");
		return -ENOTSUP;
	}
	vlog(u, MODVMM_LOG_INFO, "%s: connected; features 0x%llx, protocol features 0x%llx, %llu queue pairs",
	     u->path, (unsigned long long)f, (unsigned long long)pf, (unsigned long long)nq);
	return 0;
}

static int send_features(struct vu *u)
{
	uint64_t f = u->features;
	if (u->peer_features & (1ull << VU_F_PROTOCOL_FEATURES))
		f |= 1ull << VU_F_PROTOCOL_FEATURES;
	return set_u64(u, VU_SET_FEATURES, f, NULL, 0);
}

static int send_mem(struct vu *u)
{
	struct vu_mem_table t = { .nregions = u->nmem };
	int fds[VU_MAX_REGIONS];
	for (unsigned i = 0; i < u->nmem; i++) {
		t.r[i] = (struct vu_region){ .gpa = u->mem[i].gpa, .size = u->mem[i].size,
		                             .uaddr = (uint64_t)(uintptr_t)u->mem[i].hva,
		                             .mmap_offset = u->mem[i].fd_offset };
		fds[i] = u->mem[i].fd;
	}
	u->c.err[0] = 0;
	/* the payload is the used part of the table: header and nregions entries */
	uint32_t len = (uint32_t)(offsetof(struct vu_mem_table, r) + u->nmem * sizeof(t.r[0]));
	int r = vu_set(&u->c, VU_SET_MEM_TABLE, &t, len, fds, u->nmem);
	return r ? proto_err(u, r, "SET_MEM_TABLE") : 0;
}

static int send_ring(struct vu *u, unsigned i)
{
	const struct modvmm_net_vring *vr = &u->ring[i].vr;
	void *desc = gpa_hva(u, vr->desc_gpa, 1), *avail = gpa_hva(u, vr->avail_gpa, 1),
	     *used = gpa_hva(u, vr->used_gpa, 1);
	if (!desc || !avail || !used) {
		vlog(u, MODVMM_LOG_ERROR, "ring %u lies outside guest memory", i);
		return -EFAULT;
	}
	struct vu_vring_addr a = { .index = i, .desc = (uint64_t)(uintptr_t)desc,
	                           .used = (uint64_t)(uintptr_t)used, .avail = (uint64_t)(uintptr_t)avail };
	int r = set_state(u, VU_SET_VRING_NUM, i, vr->num);
	if (!r)
		r = set_state(u, VU_SET_VRING_BASE, i, vr->next_avail);
	if (!r) {
		u->c.err[0] = 0;
		r = vu_set(&u->c, VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
		if (r)
			return proto_err(u, r, "SET_VRING_ADDR");
	}
	if (!r)
		r = set_u64(u, VU_SET_VRING_KICK, i, &vr->kick_fd, 1);
	if (!r)
		r = vr->call_fd >= 0 ? set_u64(u, VU_SET_VRING_CALL, i, &vr->call_fd, 1)
		                     : set_u64(u, VU_SET_VRING_CALL, i | VU_VRING_NOFD, NULL, 0);
	if (!r && (u->peer_features & (1ull << VU_F_PROTOCOL_FEATURES)))
		r = set_state(u, VU_SET_VRING_ENABLE, i, u->q[i / 2].enabled);
	return r;
}

/* After a (re)connect: give the peer everything the device set up (under lock). */
static int replay(struct vu *u)
{
	int r = handshake(u);
	if (!r && u->features_set)
		r = send_features(u);
	if (!r && u->nmem)
		r = send_mem(u);
	for (unsigned i = 0; !r && i < VU_MAX_VQS; i++) {
		if (!u->ring[i].started)
			continue;
		if (atomic_load(&u->connects))
			u->ring[i].vr.next_avail = used_idx(u, i); /* where the last peer stopped */
		r = send_ring(u, i);
	}
	if (!r) {
		if (atomic_fetch_add(&u->connects, 1))
			vlog(u, MODVMM_LOG_INFO, "%s: reconnected, state restored; link up", u->path);
		set_link(u, true);
	}
	return r;
}

static int try_connect(struct vu *u)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	memcpy(a.sun_path, u->path, sizeof(a.sun_path));
	int fd;
	if (u->server) {
		fd = accept4(u->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	} else {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a))) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0)
		return -errno;
	u->c.fd = fd;
	int r = replay(u);
	if (r)
		drop(u, "setup failed");
	return r;
}

/* Wait until connected, `timeout_ms` at most (create()). */
static int connect_wait(struct vu *u, int64_t timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	for (;;) {
		if (u->server) {
			struct pollfd p = { .fd = u->listen_fd, .events = POLLIN };
			int64_t left = end - now_ms();
			if (left <= 0 || poll(&p, 1, (int)left) <= 0)
				return -ETIMEDOUT;
		}
		pthread_mutex_lock(&u->lock);
		int r = try_connect(u);
		pthread_mutex_unlock(&u->lock);
		if (!r)
			return 0;
		if (r == -ENOTSUP || now_ms() >= end)
			return r;
		if (!u->server)
			poll(NULL, 0, (int)u->reconnect_ms);
	}
}

/* Anything the peer sends unasked, or its hang-up, ends the connection. */
static void check_peer(struct vu *u)
{
	pthread_mutex_lock(&u->lock);
	if (u->c.fd >= 0) {
		struct vu_hdr h;
		ssize_t n = recv(u->c.fd, &h, sizeof(h), MSG_PEEK | MSG_DONTWAIT);
		char msg[160];
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			drop(u, "peer closed the connection");
		} else if (n == (ssize_t)sizeof(h)) {
			snprintf(msg, sizeof(msg), "protocol error: unexpected message from the peer (request %u, %s, %u bytes)",
			         h.request, vu_request_name(h.request), h.size);
			drop(u, msg);
		} else if (n > 0) {
			drop(u, "protocol error: unexpected bytes from the peer");
		}
	}
	pthread_mutex_unlock(&u->lock);
}

static void *monitor(void *arg)
{
	struct vu *u = arg;
	for (;;) {
		pthread_mutex_lock(&u->lock);
		int fd = u->c.fd;
		pthread_mutex_unlock(&u->lock);
		struct pollfd p[2] = { { .fd = u->stop_efd, .events = POLLIN } };
		int timeout = -1;
		if (fd >= 0)
			p[1] = (struct pollfd){ .fd = fd, .events = POLLIN | POLLRDHUP };
		else if (u->server)
			p[1] = (struct pollfd){ .fd = u->listen_fd, .events = POLLIN };
		else
			p[1] = (struct pollfd){ .fd = -1 }, timeout = (int)u->reconnect_ms;
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (fd >= 0) {
			if (p[1].revents)
				check_peer(u);
			continue;
		}
		if (u->server && !p[1].revents)
			continue;
		pthread_mutex_lock(&u->lock);
		if (u->c.fd < 0)
			(void)try_connect(u);
		pthread_mutex_unlock(&u->lock);
	}
	return NULL;
}

/* ---- ops --------------------------------------------------------------------------- */

static uint64_t vu_caps(void *be)
{
	return MODVMM_NET_CAP_VQ_OFFLOAD | MODVMM_NET_CAP_MQ | MODVMM_NET_CAP_LINK_STATE;
}

static unsigned vu_max_queues(void *be)
{
	struct vu *u = be;
	return u->queues < u->peer_queues ? u->queues : u->peer_queues;
}

static int vu_attach(void *be, const struct modvmm_net_attach *a)
{
	struct vu *u = be;
	if (u->attached) {
		vlog(u, MODVMM_LOG_ERROR, "already used by another device; %s cannot attach",
		     a->frontend ? a->frontend : "a device");
		return -EBUSY;
	}
	if (a->nqueues < 1 || a->nqueues > vu_max_queues(u)) {
		vlog(u, MODVMM_LOG_ERROR, "%u queue pairs requested; the peer and queues = allow 1-%u", a->nqueues,
		     vu_max_queues(u));
		return -EINVAL;
	}
	u->attached = true;
	u->nqueues = a->nqueues;
	for (unsigned i = 0; i < a->nqueues; i++)
		u->q[i] = (struct modvmm_net_queue){ .u = u, .idx = i, .enabled = true };
	return 0;
}

static void vu_detach(void *be)
{
	struct vu *u = be;
	u->attached = false;
	u->nqueues = 0;
}

static struct modvmm_net_queue *vu_queue(void *be, unsigned idx)
{
	struct vu *u = be;
	return idx < u->nqueues ? &u->q[idx] : NULL;
}

/* Multiqueue: the driver uses this pair or not; started rings follow at once. */
static int vu_queue_enable(struct modvmm_net_queue *q, bool enable)
{
	struct vu *u = q->u;
	int r = 0;
	pthread_mutex_lock(&u->lock);
	if (q->enabled == enable) {
		pthread_mutex_unlock(&u->lock);
		return 0;
	}
	q->enabled = enable;
	bool pf = u->peer_features & (1ull << VU_F_PROTOCOL_FEATURES);
	for (unsigned i = 2 * q->idx; pf && !r && u->c.fd >= 0 && i < 2 * q->idx + 2; i++)
		if (u->ring[i].started)
			r = set_state(u, VU_SET_VRING_ENABLE, i, enable);
	pthread_mutex_unlock(&u->lock);
	return 0; /* a failure dropped the link; the state is replayed on reconnect */
}

static int vu_link_up(void *be)
{
	struct vu *u = be;
	return atomic_load(&u->link);
}

static int vu_link_fd(void *be)
{
	return ((struct vu *)be)->link_efd;
}

static uint64_t vu_vq_features(void *be)
{
	struct vu *u = be;
	return u->peer_features & ~(1ull << VU_F_PROTOCOL_FEATURES);
}

static int vu_vq_set_features(void *be, uint64_t features)
{
	struct vu *u = be;
	pthread_mutex_lock(&u->lock);
	u->features = features & vu_vq_features(u);
	u->features_set = true;
	if (u->c.fd >= 0)
		(void)send_features(u); /* a failure drops the link; replayed on reconnect */
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static int vu_vq_set_mem(void *be, const struct modvmm_mem_region *r, unsigned n)
{
	struct vu *u = be;
	if (n > VU_MAX_REGIONS) {
		vlog(u, MODVMM_LOG_ERROR, "%u memory regions; vhost-user takes at most %u", n, VU_MAX_REGIONS);
		return -E2BIG;
	}
	for (unsigned i = 0; i < n; i++) {
		if (r[i].fd < 0) {
			vlog(u, MODVMM_LOG_ERROR, "guest RAM region %u has no memfd to share", i);
			return -EINVAL;
		}
	}
	pthread_mutex_lock(&u->lock);
	memcpy(u->mem, r, n * sizeof(*r));
	u->nmem = n;
	if (u->c.fd >= 0)
		(void)send_mem(u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static int vu_vq_start(void *be, unsigned vq, const struct modvmm_net_vring *vr)
{
	struct vu *u = be;
	if (vq >= 2 * u->nqueues)
		return -EINVAL;
	pthread_mutex_lock(&u->lock);
	u->ring[vq].vr = *vr;
	u->ring[vq].started = true;
	int r = u->c.fd >= 0 ? send_ring(u, vq) : 0;
	if (r == -EFAULT)
		u->ring[vq].started = false;
	pthread_mutex_unlock(&u->lock);
	return r == -EFAULT ? r : 0;
}

static int vu_vq_stop(void *be, unsigned vq, uint16_t *next_avail)
{
	struct vu *u = be;
	if (vq >= VU_MAX_VQS)
		return -EINVAL;
	pthread_mutex_lock(&u->lock);
	struct ring *rg = &u->ring[vq];
	uint16_t base = rg->started ? used_idx(u, vq) : rg->vr.next_avail;
	if (rg->started && u->c.fd >= 0) {
		struct vu_vring_state s = { .index = vq }, out;
		u->c.err[0] = 0;
		int r = vu_get(&u->c, VU_GET_VRING_BASE, &s, sizeof(s), &out, sizeof(out));
		if (r)
			proto_err(u, r, "GET_VRING_BASE");
		else if (out.index != vq)
			drop(u, "protocol error: GET_VRING_BASE reply for another ring");
		else
			base = (uint16_t)out.num;
	}
	rg->started = false;
	rg->vr.next_avail = base;
	pthread_mutex_unlock(&u->lock);
	if (next_avail)
		*next_avail = base;
	return 0;
}

static void vu_stats(void *be, int q, struct modvmm_net_stats *out)
{
	/* the data path is the peer's: no counters here */
	uint32_t size = out->size;
	memset(out, 0, size < sizeof(*out) ? size : sizeof(*out));
	out->size = size;
}

static const struct modvmm_net_backend_ops vu_ops = {
	.size = sizeof(struct modvmm_net_backend_ops),
	.version = MODVMM_NET_OPS_VERSION,
	.caps = vu_caps,
	.max_queues = vu_max_queues,
	.attach = vu_attach,
	.detach = vu_detach,
	.queue = vu_queue,
	.queue_enable = vu_queue_enable,
	.link_up = vu_link_up,
	.link_fd = vu_link_fd,
	.stats = vu_stats,
	.vq_features = vu_vq_features,
	.vq_set_features = vu_vq_set_features,
	.vq_set_mem = vu_vq_set_mem,
	.vq_start = vu_vq_start,
	.vq_stop = vu_vq_stop,
};

/* ---- life cycle ---------------------------------------------------------------------- */

static int listen_on(struct vu *u)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	memcpy(a.sun_path, u->path, sizeof(a.sun_path));
	unlink(u->path);
	u->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (u->listen_fd < 0 || bind(u->listen_fd, (struct sockaddr *)&a, sizeof(a)) || listen(u->listen_fd, 1)) {
		int e = errno;
		vlog(u, MODVMM_LOG_ERROR, "cannot listen on %s: %s", u->path, strerror(e));
		return -e;
	}
	return 0;
}

static int vu_create(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv)
{
	struct vu *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	*u = (struct vu){ .host = host, .dev = dev, .c = { .fd = -1 },
	                  .listen_fd = -1, .link_efd = -1, .peer_queues = 1 };
	pthread_mutex_init(&u->lock, NULL);
	*priv = u;
	uint64_t queues, reply_ms;
	const char *path = host->config_str(dev, "socket"), *mode = host->config_str(dev, "mode");
	int ret = host->config_u64(dev, "queues", &queues);
	if (!ret)
		ret = host->config_u64(dev, "reply_timeout_ms", &reply_ms);
	if (!ret)
		ret = host->config_u64(dev, "connect_timeout_ms", &u->connect_timeout_ms);
	if (!ret)
		ret = host->config_u64(dev, "reconnect_ms", &u->reconnect_ms);
	if (ret)
		return ret;
	if (!path || !*path || strlen(path) >= sizeof(u->path)) {
		host->log(dev, MODVMM_LOG_ERROR, "socket: a unix socket path of 1-%zu bytes", sizeof(u->path) - 1);
		return -EINVAL;
	}
	if (queues < 1 || queues > VU_MAX_PAIRS || u->reconnect_ms < 1 || u->reconnect_ms > INT32_MAX ||
	    u->connect_timeout_ms > INT32_MAX || reply_ms < 1 || reply_ms > INT32_MAX) {
		host->log(dev, MODVMM_LOG_ERROR, "queues: 1-%u; reconnect_ms, reply_timeout_ms: at least 1", VU_MAX_PAIRS);
		return -EINVAL;
	}
	u->c.timeout_ms = (int)reply_ms;
	strcpy(u->path, path);
	u->queues = (unsigned)queues;
	u->server = mode && !strcmp(mode, "server");
	u->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	u->link_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->stop_efd < 0 || u->link_efd < 0)
		return -errno;
	if (u->server && (ret = listen_on(u)))
		return ret;
	if (u->server)
		host->log(dev, MODVMM_LOG_INFO, "waiting for a vhost-user peer on %s", u->path);
	ret = connect_wait(u, (int64_t)u->connect_timeout_ms);
	if (ret) {
		host->log(dev, MODVMM_LOG_ERROR, "no vhost-user peer on %s within %llu ms (%s)", u->path,
		          (unsigned long long)u->connect_timeout_ms, strerror(-ret));
		return ret;
	}
	return 0;
}

static int vu_start(void *priv)
{
	struct vu *u = priv;
	return u->host->thread_start(u->dev, "vhost-user", monitor, u);
}

static void vu_stop(void *priv)
{
	struct vu *u = priv;
	eventfd_write(u->stop_efd, 1);
}

static void vu_destroy(void *priv)
{
	struct vu *u = priv;
	if (!u)
		return;
	if (u->c.fd >= 0)
		close(u->c.fd);
	if (u->listen_fd >= 0) {
		close(u->listen_fd);
		unlink(u->path);
	}
	if (u->stop_efd > 0)
		close(u->stop_efd);
	if (u->link_efd >= 0)
		close(u->link_efd);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

_Static_assert(VU_MAX_PAIRS == 8, "the queues range below");

static int vu_validate(const struct modvmm_check_ops *chk, struct modvmm_check *c)
{
	const char *path = chk->config_str(c, "socket");
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	if (path && (!*path || strlen(path) > max)) {
		chk->error(c, "socket", "a unix socket path of 1-%zu bytes", max);
		return -EINVAL;
	}
	return 0;
}

static const struct modvmm_key keys[] = {
	{ .name = "socket", .type = MODVMM_KEY_STRING, .flags = MODVMM_KEY_F_REQUIRED,
	  .help = "path of the vhost-user unix socket" },
	{ .name = "mode", .type = MODVMM_KEY_ENUM, .def = "client", .choices = "client|server",
	  .help = "client: connect to the peer's socket; server: listen and wait for the peer" },
	{ .name = "queues", .type = MODVMM_KEY_U64, .def = "8",
	  .help = "most queue pairs offered (also limited by the peer's GET_QUEUE_NUM)", .range = "1-8" },
	{ .name = "connect_timeout_ms", .type = MODVMM_KEY_U64, .def = "10000",
	  .help = "how long startup waits for the first peer", .range = "0-2147483647" },
	{ .name = "reconnect_ms", .type = MODVMM_KEY_U64, .def = "200",
	  .help = "client mode: retry interval after the peer went away", .range = "1-2147483647" },
	{ .name = "reply_timeout_ms", .type = MODVMM_KEY_U64, .def = "5000",
	  .help = "how long a reply of the peer may take before the link is dropped", .range = "1-2147483647" },
	{ 0 },
};

MODVMM_PLUGIN_DEFINE = {
	MODVMM_PLUGIN_ABI,
	.kind = MODVMM_KIND_NET_BACKEND,
	.name = "vhost-user",
	.description = "virtqueues served by a vhost-user peer (DPDK, OVS-DPDK, VPP)",
	.keys = keys,
	.create = vu_create,
	.start = vu_start,
	.stop = vu_stop,
	.destroy = vu_destroy,
	.validate = vu_validate,
	.ops = &vu_ops,
};
