/* SPDX-License-Identifier: MIT */
/*
 * tap: a net backend on a Linux TAP interface (Documentation/networking/tuntap.rst).
 *
 * Opens /dev/net/tun once per queue pair with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
 * plus IFF_MULTI_QUEUE when the device uses more than one pair, and attaches to
 * the interface `ifname` (created when it does not exist; the kernel picks tapN
 * when the name is empty).  The vnet header length is set with TUNSETVNETHDRSZ,
 * the offloads the guest can receive with TUNSETOFFLOAD.  A frame is one
 * writev()/readv() on the queue's fd; peek_len() reads into a bounce buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <modvmm/net.h>
#include <modvmm/plugin.h>

#include "iov.h"
#include "net_stats.h"

#define TAP_MAX_QUEUES 8
#define TUN_PATH "/dev/net/tun"
#define TAP_IOV_MAX 64               /* iovecs per frame; longer frames are dropped */
#define BOUNCE_SIZE (MODVMM_NET_HDR_LEN + MODVMM_NET_MAX_FRAME)


struct modvmm_net_queue {
	struct tap *t;
	unsigned idx;
	int fd;
	uint8_t *bounce;
	size_t bounce_len;               /* a frame read by peek_len(), 0 if none */
	struct net_queue_stats st;
};

struct tap {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
	char ifname[IFNAMSIZ];
	bool persist, up;
	int sock;                        /* AF_INET datagram socket for interface flags */
	bool attached;
	unsigned nqueues;
	unsigned hdr_len;                /* the frontend's; the tap's is never 0 */
	struct modvmm_net_queue q[TAP_MAX_QUEUES];
};

#define tap_err(t, ...) ((t)->host->log((t)->dev, MODVMM_LOG_ERROR, __VA_ARGS__))

static uint64_t tap_caps(void *be)
{
	return MODVMM_NET_CAP_PACKET_IO | MODVMM_NET_CAP_VNET_HDR | MODVMM_NET_CAP_MQ | MODVMM_NET_CAP_LINK_STATE |
	       MODVMM_NET_OFF_CSUM | MODVMM_NET_OFF_TSO4 | MODVMM_NET_OFF_TSO6 | MODVMM_NET_OFF_TSO_ECN;
}

static unsigned tap_max_queues(void *be)
{
	return TAP_MAX_QUEUES;
}

static void tap_detach(void *be)
{
	struct tap *t = be;
	for (unsigned i = 0; i < t->nqueues; i++) {
		if (t->q[i].fd >= 0)
			close(t->q[i].fd);
		free(t->q[i].bounce);
		t->q[i] = (struct modvmm_net_queue){ .fd = -1 };
	}
	t->nqueues = 0;
	t->attached = false;
}

/* Explain a failed open of /dev/net/tun or TUNSETIFF. */
static int open_error(struct tap *t, const char *what, int err, bool mq)
{
	const char *name = t->ifname[0] ? t->ifname : "NAME";
	switch (err) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		tap_err(t, "%s: %s: the TUN/TAP driver is missing; load it (modprobe tun) "
		        "or create the node (mknod %s c 10 200)", TUN_PATH, strerror(err), TUN_PATH);
		break;
	case EPERM:
	case EACCES:
		tap_err(t, "%s for tap '%s': %s: creating or attaching a tap needs CAP_NET_ADMIN; run modvmm "
		        "as root or with cap_net_admin, or create the interface for this user first: "
		        "ip tuntap add dev %s mode tap vnet_hdr%s user $USER", what, name, strerror(err), name,
		        mq ? " multi_queue" : "");
		break;
	case EINVAL:
		tap_err(t, "%s for '%s': %s: an interface of that name exists but is not a tap%s",
		        what, name, strerror(err), mq ? " created with multi_queue" : " created without multi_queue");
		break;
	case EBUSY:
		tap_err(t, "%s for tap '%s': %s: another process holds it", what, name, strerror(err));
		break;
	default:
		tap_err(t, "%s for tap '%s': %s", what, name, strerror(err));
	}
	return -err;
}

static int open_queue(struct tap *t, struct modvmm_net_queue *q, bool mq)
{
	q->fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (q->fd < 0)
		return open_error(t, "open " TUN_PATH, errno, mq);
	unsigned features = 0;
	if (ioctl(q->fd, TUNGETFEATURES, &features) == 0 && !(features & IFF_VNET_HDR)) {
		tap_err(t, "this kernel's TUN/TAP driver lacks IFF_VNET_HDR");
		return -ENOTSUP;
	}
	struct ifreq ifr = { 0 };
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (mq ? IFF_MULTI_QUEUE : 0);
	memcpy(ifr.ifr_name, t->ifname, sizeof(ifr.ifr_name));
	if (ioctl(q->fd, TUNSETIFF, &ifr))
		return open_error(t, "TUNSETIFF", errno, mq);
	memcpy(t->ifname, ifr.ifr_name, IFNAMSIZ);
	t->ifname[IFNAMSIZ - 1] = 0;
	int hdr = MODVMM_NET_HDR_LEN_LEGACY;
	if (ioctl(q->fd, TUNSETVNETHDRSZ, &hdr))
		return open_error(t, "TUNSETVNETHDRSZ", errno, mq);
	q->bounce = malloc(BOUNCE_SIZE);
	return q->bounce ? 0 : -ENOMEM;
}

static int set_flags(struct tap *t, short set)
{
	struct ifreq ifr = { 0 };
	memcpy(ifr.ifr_name, t->ifname, IFNAMSIZ);
	if (t->sock < 0 || ioctl(t->sock, SIOCGIFFLAGS, &ifr))
		return -errno;
	ifr.ifr_flags |= set;
	return ioctl(t->sock, SIOCSIFFLAGS, &ifr) ? -errno : 0;
}

static int tap_attach(void *be, const struct modvmm_net_attach *a)
{
	struct tap *t = be;
	if (t->attached) {
		tap_err(t, "already used by another device; %s cannot attach", a->frontend ? a->frontend : "a device");
		return -EBUSY;
	}
	if (a->nqueues < 1 || a->nqueues > TAP_MAX_QUEUES) {
		tap_err(t, "%u queue pairs requested; tap has 1-%u", a->nqueues, TAP_MAX_QUEUES);
		return -EINVAL;
	}
	t->attached = true;
	t->hdr_len = 0;
	bool mq = a->nqueues > 1;
	for (unsigned i = 0; i < a->nqueues; i++) {
		struct modvmm_net_queue *q = &t->q[i];
		*q = (struct modvmm_net_queue){ .t = t, .idx = i, .fd = -1 };
		t->nqueues = i + 1;
		int ret = open_queue(t, q, mq);
		if (ret) {
			tap_detach(t);
			return ret;
		}
	}
	if (t->persist && ioctl(t->q[0].fd, TUNSETPERSIST, 1))
		tap_err(t, "TUNSETPERSIST on %s: %s (continuing)", t->ifname, strerror(errno));
	if (t->up) {
		int ret = set_flags(t, IFF_UP);
		if (ret)
			tap_err(t, "cannot bring %s up: %s (continuing)", t->ifname, strerror(-ret));
	}
	t->host->log(t->dev, MODVMM_LOG_INFO, "tap %s: %u queue%s", t->ifname, a->nqueues, mq ? "s" : "");
	return 0;
}

static struct modvmm_net_queue *tap_queue(void *be, unsigned idx)
{
	struct tap *t = be;
	return idx < t->nqueues ? &t->q[idx] : NULL;
}

static int tap_set_vnet_hdr_len(void *be, unsigned len)
{
	struct tap *t = be;
	if (len != 0 && len != MODVMM_NET_HDR_LEN_LEGACY && len != MODVMM_NET_HDR_LEN)
		return -EINVAL;
	int sz = len ? (int)len : MODVMM_NET_HDR_LEN_LEGACY; /* 0: a header is stripped/added here */
	for (unsigned i = 0; i < t->nqueues; i++)
		if (ioctl(t->q[i].fd, TUNSETVNETHDRSZ, &sz))
			return -errno;
	t->hdr_len = len;
	return 0;
}

static int tap_set_offloads(void *be, uint64_t off)
{
	struct tap *t = be;
	if (off & ~(tap_caps(t) & MODVMM_NET_OFF_MASK))
		return -ENOTSUP;
	unsigned flags = (off & MODVMM_NET_OFF_CSUM ? TUN_F_CSUM : 0u) | (off & MODVMM_NET_OFF_TSO4 ? TUN_F_TSO4 : 0u) |
	                 (off & MODVMM_NET_OFF_TSO6 ? TUN_F_TSO6 : 0u) |
	                 (off & MODVMM_NET_OFF_TSO_ECN ? TUN_F_TSO_ECN : 0u);
	if ((flags & ~TUN_F_CSUM) && !(flags & TUN_F_CSUM))
		return -EINVAL; /* the kernel ties segmentation offloads to checksum offload */
	/* one setting per interface: the first queue's fd applies it */
	return t->nqueues && ioctl(t->q[0].fd, TUNSETOFFLOAD, flags) ? -errno : 0;
}

static int tap_queue_enable(struct modvmm_net_queue *q, bool enable)
{
	if (q->t->nqueues < 2)
		return 0;
	struct ifreq ifr = { 0 };
	ifr.ifr_flags = enable ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	if (ioctl(q->fd, TUNSETQUEUE, &ifr) && errno != EINVAL) /* EINVAL: already in that state */
		return -errno;
	return 0;
}

static int tap_send(struct modvmm_net_queue *q, const struct modvmm_net_pkt *pkts, unsigned n)
{
	static const struct modvmm_net_hdr zero_hdr;
	struct iovec v[TAP_IOV_MAX + 1];
	unsigned done = 0;
	uint64_t bytes = 0, dropped = 0;
	for (; done < n; done++) {
		const struct modvmm_net_pkt *p = &pkts[done];
		const struct iovec *iov = p->iov;
		unsigned cnt = p->iovcnt;
		if (cnt > TAP_IOV_MAX) {
			dropped++;
			continue;
		}
		if (!q->t->hdr_len) {
			v[0] = (struct iovec){ .iov_base = (void *)&zero_hdr, .iov_len = MODVMM_NET_HDR_LEN_LEGACY };
			memcpy(v + 1, p->iov, cnt * sizeof(*v));
			iov = v;
			cnt++;
		}
		ssize_t r = writev(q->fd, iov, (int)cnt);
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS))
			break;
		if (r < 0)
			dropped++; /* EIO: interface down; EINVAL: a bad header */
		else
			bytes += p->len;
	}
	STAT_ADD(&q->st.tx_packets, done - dropped);
	STAT_ADD(&q->st.tx_bytes, bytes);
	STAT_ADD(&q->st.tx_dropped, dropped);
	if (done)
		return (int)done;
	STAT_ADD(&q->st.tx_full, 1);
	return -EAGAIN;
}

static int tap_tx_fd(struct modvmm_net_queue *q, short *events)
{
	*events = POLLOUT;
	return q->fd;
}

/* Bytes of tap header to skip on receive: the frontend asked for none. */
static size_t strip(const struct modvmm_net_queue *q)
{
	return q->t->hdr_len ? 0 : MODVMM_NET_HDR_LEN_LEGACY;
}

static ssize_t tap_peek_len(struct modvmm_net_queue *q)
{
	if (!q->bounce_len) {
		ssize_t r = read(q->fd, q->bounce, BOUNCE_SIZE);
		if (r < 0)
			return errno == EAGAIN ? -EAGAIN : -errno;
		if ((size_t)r <= strip(q))
			return -EAGAIN;
		q->bounce_len = (size_t)r;
	}
	return (ssize_t)(q->bounce_len - strip(q));
}

static void rx_count(struct modvmm_net_queue *q, size_t len)
{
	STAT_ADD(&q->st.rx_packets, 1);
	STAT_ADD(&q->st.rx_bytes, len);
}

static ssize_t tap_recv(struct modvmm_net_queue *q, const struct iovec *iov, unsigned iovcnt)
{
	size_t room = iov_size(iov, iovcnt), skip = strip(q);
	if (!q->bounce_len && room >= BOUNCE_SIZE - skip && iovcnt <= TAP_IOV_MAX) {
		/* big enough for any frame: read straight into the caller's buffers */
		uint8_t scratch[MODVMM_NET_HDR_LEN_LEGACY];
		struct iovec v[TAP_IOV_MAX + 1];
		const struct iovec *dst = iov;
		unsigned cnt = iovcnt;
		if (skip) {
			v[0] = (struct iovec){ .iov_base = scratch, .iov_len = skip };
			memcpy(v + 1, iov, iovcnt * sizeof(*v));
			dst = v;
			cnt++;
		}
		ssize_t r = readv(q->fd, dst, (int)cnt);
		if (r < 0)
			return errno == EAGAIN ? -EAGAIN : -errno;
		if ((size_t)r <= skip)
			return -EAGAIN;
		rx_count(q, (size_t)r - skip);
		return r - (ssize_t)skip;
	}
	ssize_t len = tap_peek_len(q);
	if (len < 0)
		return len;
	q->bounce_len = 0;
	if ((size_t)len > room) {
		STAT_ADD(&q->st.rx_dropped, 1);
		return -EMSGSIZE;
	}
	iov_from_buf(iov, iovcnt, 0, q->bounce + skip, (size_t)len);
	rx_count(q, (size_t)len);
	return len;
}

static int tap_rx_fd(struct modvmm_net_queue *q)
{
	return q->fd;
}

static int tap_link_up(void *be)
{
	struct tap *t = be;
	struct ifreq ifr = { 0 };
	memcpy(ifr.ifr_name, t->ifname, IFNAMSIZ);
	if (t->sock < 0 || ioctl(t->sock, SIOCGIFFLAGS, &ifr))
		return 1; /* unknown (e.g. moved to another namespace): say up */
	return (ifr.ifr_flags & IFF_UP) != 0;
}

static void tap_stats(void *be, int qi, struct modvmm_net_stats *out)
{
	struct tap *t = be;
	struct modvmm_net_stats s = { 0 };
	for (unsigned i = 0; i < t->nqueues; i++)
		if (net_stats_wanted(qi, i))
			net_stats_add(&s, &t->q[i].st);
	net_stats_out(out, &s);
}

static const struct modvmm_net_backend_ops tap_ops = {
	.size = sizeof(struct modvmm_net_backend_ops),
	.version = MODVMM_NET_OPS_VERSION,
	.caps = tap_caps,
	.max_queues = tap_max_queues,
	.attach = tap_attach,
	.detach = tap_detach,
	.queue = tap_queue,
	.set_vnet_hdr_len = tap_set_vnet_hdr_len,
	.set_offloads = tap_set_offloads,
	.queue_enable = tap_queue_enable,
	.send = tap_send,
	.tx_fd = tap_tx_fd,
	.peek_len = tap_peek_len,
	.recv = tap_recv,
	.rx_fd = tap_rx_fd,
	.link_up = tap_link_up,
	.stats = tap_stats,
};

static void tap_destroy(void *priv)
{
	struct tap *t = priv;
	if (!t)
		return;
	tap_detach(t);
	if (t->sock >= 0)
		close(t->sock);
	free(t);
}

static int tap_create(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv)
{
	struct tap *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	*t = (struct tap){ .host = host, .dev = dev, .sock = -1 };
	*priv = t;
	const char *name = host->config_str(dev, "ifname");
	if (name && strlen(name) >= IFNAMSIZ) {
		tap_err(t, "ifname = %s: at most %d characters", name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", name ? name : "");
	int ret = host->config_bool(dev, "persist", &t->persist);
	if (!ret)
		ret = host->config_bool(dev, "up", &t->up);
	if (ret)
		return ret;
	t->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return 0;
}

static int tap_validate(const struct modvmm_check_ops *chk, struct modvmm_check *c)
{
	const char *name = chk->config_str(c, "ifname");
	if (name && strlen(name) >= IFNAMSIZ) {
		chk->error(c, "ifname", "at most %d characters", IFNAMSIZ - 1);
		return -EINVAL;
	}
	return 0;
}

static const struct modvmm_key keys[] = {
	{ .name = "ifname", .type = MODVMM_KEY_STRING, .def = "",
	  .help = "interface to attach to or create (empty: the kernel picks tapN)" },
	{ .name = "persist", .type = MODVMM_KEY_BOOL, .def = "false",
	  .help = "keep a created interface after modvmm exits (TUNSETPERSIST)" },
	{ .name = "up", .type = MODVMM_KEY_BOOL, .def = "false", .help = "bring the interface up once attached" },
	{ 0 },
};

MODVMM_PLUGIN_DEFINE = {
	MODVMM_PLUGIN_ABI,
	.kind = MODVMM_KIND_NET_BACKEND,
	.name = "tap",
	.description = "Linux TAP interface (vnet header, offloads, multiqueue)",
	.keys = keys,
	.create = tap_create,
	.destroy = tap_destroy,
	.validate = tap_validate,
	.ops = &tap_ops,
};
