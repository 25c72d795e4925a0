/* SPDX-License-Identifier: MIT */
/*
 * virtio-net: the plugin.  Configuration keys, the features offered (virtio 1.2
 * §5.1.3: offloads only when the backend can carry them), the device
 * configuration (§5.1.4), feature dependencies (§5.1.3.1), and the life cycle.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "vnet.h"

#define QSIZE_MAX 1024
#define MTU_MIN 68                /* RFC 791 minimum IPv4 MTU */
#define MTU_MAX 65535
#define POLL_US_MAX 1000000
#define FNV_OFFSET 2166136261u    /* FNV-1a, for the default MAC */
#define FNV_PRIME 16777619u
#define MAC_OUI_0 0x52            /* 52:54:00: the locally administered prefix QEMU made familiar */
#define MAC_OUI_1 0x54
#define MAC_OUI_2 0x00

/* ---- features -------------------------------------------------------------------- */

static uint64_t offload_features(uint64_t caps)
{
	uint64_t f = 0;
	if (!(caps & MODVMM_NET_CAP_VNET_HDR) || !(caps & MODVMM_NET_OFF_CSUM))
		return 0;
	f |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
	if (caps & MODVMM_NET_OFF_TSO4)
		f |= VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);
	if (caps & MODVMM_NET_OFF_TSO6)
		f |= VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6);
	if ((caps & MODVMM_NET_OFF_TSO_ECN) && (caps & (MODVMM_NET_OFF_TSO4 | MODVMM_NET_OFF_TSO6)))
		f |= VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN);
	if (caps & MODVMM_NET_OFF_UFO)
		f |= VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO);
	return f;
}

/* §5.1.3.1: a feature may require another, for the device that offers it and
 * for the driver that accepts it. */
static const struct { uint8_t bit; uint64_t needs_any; } deps[] = {
	{ VIRTIO_NET_F_GUEST_TSO4, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) },
	{ VIRTIO_NET_F_GUEST_TSO6, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) },
	{ VIRTIO_NET_F_GUEST_UFO, VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) },
	{ VIRTIO_NET_F_GUEST_ECN, VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) },
	{ VIRTIO_NET_F_HOST_TSO4, VIRTIO_BIT(VIRTIO_NET_F_CSUM) },
	{ VIRTIO_NET_F_HOST_TSO6, VIRTIO_BIT(VIRTIO_NET_F_CSUM) },
	{ VIRTIO_NET_F_HOST_UFO, VIRTIO_BIT(VIRTIO_NET_F_CSUM) },
	{ VIRTIO_NET_F_HOST_ECN, VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) },
	{ VIRTIO_NET_F_CTRL_RX, VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) },
	{ VIRTIO_NET_F_CTRL_MAC_ADDR, VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) },
	{ VIRTIO_NET_F_MQ, VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) },
};

/* The features of f whose requirements f meets (§5.1.3.1: the device MUST NOT
 * offer a feature without one it requires).  A vhost-user peer's offloads
 * pass through as the peer offers them, and DPDK's vhost library offers
 * HOST_ECN and GUEST_ECN with TSO turned off. */
static uint64_t vnet_drop_orphans(uint64_t f)
{
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++) {
			if ((f & VIRTIO_BIT(deps[i].bit)) && !(f & deps[i].needs_any)) {
				f &= ~VIRTIO_BIT(deps[i].bit);
				again = true;
			}
		}
	}
	return f;
}

static uint64_t vnet_features(void *opaque)
{
	struct vnet *n = opaque;
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS) |
	             VIRTIO_BIT(VIRTIO_NET_F_MTU) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |
	             VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR);
	if (n->offer_indirect)
		f |= VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	if (n->offer_event_idx)
		f |= VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	if (n->offer_mrg)
		f |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (n->max_pairs > 1)
		f |= VIRTIO_BIT(VIRTIO_NET_F_MQ);
	if (n->offer_offloads)
		f |= offload_features(n->be_caps);
	return vnet_drop_orphans(vnet_offload_features(n, f));
}

static bool vnet_features_ok(void *opaque, uint64_t f)
{
	struct vnet *n = opaque;
	for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++) {
		if ((f & VIRTIO_BIT(deps[i].bit)) && !(f & deps[i].needs_any)) {
			vnet_log(n, MODVMM_LOG_WARN, "driver accepted feature %u without what it depends on", deps[i].bit);
			return false;
		}
	}
	return true;
}

/* ---- device configuration (§5.1.4) ---------------------------------------------- */

static void vnet_cfg_read(void *opaque, unsigned off, void *buf, unsigned len)
{
	struct vnet *n = opaque;
	uint8_t cfg[VPCI_DEVCFG_LEN] = { 0 };
	bool swapping = atomic_load(&n->link_forced_down);
	uint16_t status = !swapping && modvmm_net_link_up(&n->be) ? VIRTIO_NET_S_LINK_UP : 0;
	uint16_t pairs = (uint16_t)n->max_pairs, mtu = n->mtu;
	pthread_mutex_lock(&n->flock);
	memcpy(cfg + VIRTIO_NET_CFG_MAC, n->mac, ETH_ALEN);
	pthread_mutex_unlock(&n->flock);
	memcpy(cfg + VIRTIO_NET_CFG_STATUS, &status, sizeof(status));
	memcpy(cfg + VIRTIO_NET_CFG_MAX_PAIRS, &pairs, sizeof(pairs));
	memcpy(cfg + VIRTIO_NET_CFG_MTU, &mtu, sizeof(mtu));
	if (off < sizeof(cfg) && len <= sizeof(cfg) - off)
		memcpy(buf, cfg + off, len);
	if (swapping && off < VIRTIO_NET_CFG_STATUS + sizeof(status) && off + len > VIRTIO_NET_CFG_STATUS)
		vnet_swap_link_seen(n);
}

static void vnet_cfg_write(void *opaque, unsigned off, const void *buf, unsigned len)
{
	/* read-only for a VERSION_1 driver (§5.1.4.2: the MAC is set through the
	 * control queue) */
}

/* ---- life cycle ----------------------------------------------------------------- */

uint64_t vnet_guest_offloads(const struct vpci *v)
{
	return (vpci_has(v, VIRTIO_NET_F_GUEST_CSUM) ? MODVMM_NET_OFF_CSUM : 0) |
	       (vpci_has(v, VIRTIO_NET_F_GUEST_TSO4) ? MODVMM_NET_OFF_TSO4 : 0) |
	       (vpci_has(v, VIRTIO_NET_F_GUEST_TSO6) ? MODVMM_NET_OFF_TSO6 : 0) |
	       (vpci_has(v, VIRTIO_NET_F_GUEST_ECN) ? MODVMM_NET_OFF_TSO_ECN : 0) |
	       (vpci_has(v, VIRTIO_NET_F_GUEST_UFO) ? MODVMM_NET_OFF_UFO : 0);
}

static int vnet_driver_ok(void *opaque)
{
	struct vnet *n = opaque;
	if (vnet_offloaded(n))
		return vnet_offload_start(n);
	int ret = modvmm_net_set_vnet_hdr_len(&n->be, VNET_HDR_LEN);
	if (!ret)
		ret = modvmm_net_set_offloads(&n->be, vnet_guest_offloads(&n->pci));
	if (ret) {
		vnet_log(n, MODVMM_LOG_ERROR, "backend %s refused the negotiated header or offloads: %s", n->be.name,
		         strerror(-ret));
		return ret;
	}
	n->active_pairs = 1; /* §5.1.6.5.5: one pair until VQ_PAIRS_SET */
	vnet_apply_pairs(n);
	pthread_mutex_lock(&n->wlock);
	n->epoch++;
	pthread_mutex_unlock(&n->wlock);
	vnet_resume(n);
	return 0;
}

/* Reset: park the workers; the transport then resets the queues. */
static void vnet_quiesce_op(void *opaque)
{
	struct vnet *n = opaque;
	vnet_quiesce(n);
	vnet_offload_stop(n);
	memcpy(n->mac, n->mac_default, ETH_ALEN);
	vnet_filter_reset(n);
}

static void vnet_resume_op(void *opaque)
{
	vnet_offload_resume(opaque);
	vnet_resume(opaque);
}

/* A late queue enable parks workers too, but must not lose the filter. */
static void vnet_pause_op(void *opaque)
{
	vnet_quiesce(opaque);
}

static const struct vpci_ops vnet_pci_ops = {
	.features = vnet_features,
	.features_ok = vnet_features_ok,
	.cfg_read = vnet_cfg_read,
	.cfg_write = vnet_cfg_write,
	.driver_ok = vnet_driver_ok,
	.reset = vnet_quiesce_op,
	.quiesce = vnet_pause_op,
	.resume = vnet_resume_op,
};

/* ---- configuration ------------------------------------------------------------------ */

static int parse_mac(const char *s, uint8_t mac[ETH_ALEN])
{
	unsigned b[ETH_ALEN];
	char end;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != ETH_ALEN)
		return -EINVAL;
	for (unsigned i = 0; i < ETH_ALEN; i++)
		mac[i] = (uint8_t)b[i];
	return (mac[0] & 1) ? -EINVAL : 0; /* a multicast address cannot be a station's */
}

/* 52:54:00 and three bytes hashed from the VM and instance names: stable across runs. */
static void default_mac(struct vnet *n, uint8_t mac[ETH_ALEN])
{
	uint32_t h = FNV_OFFSET;
	const char *parts[2] = { n->host->vm_name(n->dev), n->host->instance_name(n->dev) };
	for (unsigned i = 0; i < 2; i++)
		for (const char *c = parts[i] ? parts[i] : ""; *c; c++)
			h = (h ^ (uint8_t)*c) * FNV_PRIME;
	mac[0] = MAC_OUI_0;
	mac[1] = MAC_OUI_1;
	mac[2] = MAC_OUI_2;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

/* "0,1" or "2-3": worker k runs on the k-th CPU listed (cyclically). */
/* A CPU list "0,2-3" into cpus[] (at most max entries kept); returns how many, or -EINVAL. */
static int parse_cpu_list(const char *s, int *cpus, unsigned max)
{
	unsigned nc = 0;
	const char *c = s;
	while (*c) {
		char *end;
		if (*c < '0' || *c > '9')
			return -EINVAL;
		long a = strtol(c, &end, 10), b = a;
		if (end == c || a < 0 || a >= CPU_SETSIZE)
			return -EINVAL;
		if (*end == '-') {
			c = end + 1;
			if (*c < '0' || *c > '9')
				return -EINVAL;
			b = strtol(c, &end, 10);
			if (end == c || b < a || b >= CPU_SETSIZE)
				return -EINVAL;
		}
		for (long x = a; x <= b && nc < max; x++)
			cpus[nc++] = (int)x;
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			return -EINVAL;
		c = end;
	}
	return (int)nc;
}

static int parse_cpus(struct vnet *n, const char *s)
{
	int cpus[VNET_MAX_PAIRS * 4];
	int nc = parse_cpu_list(s, cpus, sizeof(cpus) / sizeof(cpus[0]));
	if (nc < 0)
		return nc;
	for (unsigned i = 0; i < n->max_pairs; i++)
		n->pairs[i].cpu = nc ? cpus[i % nc] : -1;
	return 0;
}

static int bad(struct vnet *n, const char *fmt, const char *key, unsigned long long v)
{
	n->host->log(n->dev, MODVMM_LOG_ERROR, fmt, key, v);
	return -EINVAL;
}

static int read_config(struct vnet *n)
{
	const struct modvmm_host *h = n->host;
	uint64_t queues, qsize, mtu, poll_us;
	int ret = h->config_u64(n->dev, "queues", &queues);
	if (!ret)
		ret = h->config_u64(n->dev, "queue_size", &qsize);
	if (!ret)
		ret = h->config_u64(n->dev, "mtu", &mtu);
	if (!ret)
		ret = h->config_u64(n->dev, "poll_us", &poll_us);
	if (!ret)
		ret = h->config_bool(n->dev, "mrg_rxbuf", &n->offer_mrg);
	if (!ret)
		ret = h->config_bool(n->dev, "event_idx", &n->offer_event_idx);
	if (!ret)
		ret = h->config_bool(n->dev, "indirect", &n->offer_indirect);
	if (!ret)
		ret = h->config_bool(n->dev, "offloads", &n->offer_offloads);
	if (ret)
		return ret;
	if (queues < 1 || queues > VNET_MAX_PAIRS)
		return bad(n, "%s = %llu: 1 to 8 queue pairs", "queues", queues);
	if (qsize < 2 || qsize > QSIZE_MAX || (qsize & (qsize - 1)))
		return bad(n, "%s = %llu: a power of two from 2 to 1024", "queue_size", qsize);
	if (mtu < MTU_MIN || mtu > MTU_MAX)
		return bad(n, "%s = %llu: 68 to 65535", "mtu", mtu);
	if (poll_us > POLL_US_MAX)
		return bad(n, "%s = %llu: at most 1000000", "poll_us", poll_us);
	n->max_pairs = (unsigned)queues;
	n->qsize = (uint16_t)qsize;
	n->mtu = (uint16_t)mtu;
	n->poll_us = (unsigned)poll_us;
	const char *mac = h->config_str(n->dev, "mac");
	if (mac && *mac) {
		if (parse_mac(mac, n->mac_default)) {
			vnet_log(n, MODVMM_LOG_ERROR, "mac = %s: not a unicast MAC address", mac);
			return -EINVAL;
		}
	} else {
		default_mac(n, n->mac_default);
	}
	memcpy(n->mac, n->mac_default, ETH_ALEN);
	const char *cpus = h->config_str(n->dev, "worker_cpus");
	if (parse_cpus(n, cpus ? cpus : "")) {
		vnet_log(n, MODVMM_LOG_ERROR, "worker_cpus = %s: not a CPU list such as 0,1 or 2-3", cpus);
		return -EINVAL;
	}
	return 0;
}

static int vnet_attach_backend(struct vnet *n)
{
	int ret = modvmm_net_backend_get(n->host, n->dev, "backend", &n->be);
	if (ret) {
		vnet_log(n, MODVMM_LOG_ERROR, "backend = %s: %s", n->host->config_str(n->dev, "backend"),
		         ret == -ENOENT ? "no such backend instance" : "not a network backend of this ABI");
		return ret;
	}
	n->be_caps = modvmm_net_caps(&n->be);
	if (!modvmm_net_packet_io_ok(&n->be) && !vnet_offload_ok(n)) {
		vnet_log(n, MODVMM_LOG_ERROR, "backend %s does not offer packet I/O (or virtqueue offload)", n->be.name);
		return -ENOTSUP;
	}
	if (n->max_pairs > modvmm_net_max_queues(&n->be)) {
		vnet_log(n, MODVMM_LOG_ERROR, "queues = %u: backend %s has at most %u", n->max_pairs, n->be.name,
		         modvmm_net_max_queues(&n->be));
		return -EINVAL;
	}
	return modvmm_net_attach(&n->be, n->max_pairs, n->host->instance_name(n->dev));
}

static void *translate(void *opaque, uint64_t gpa, uint64_t len)
{
	struct vnet *n = opaque;
	return n->host->gpa_to_hva(n->dev, gpa, len);
}

static void vq_log(void *opaque, const char *msg)
{
	struct vnet *n = opaque;
	vnet_log(n, MODVMM_LOG_WARN, "%s", msg);
}

static const char *const vq_names[VNET_MAX_QUEUES] = {
	"rx0", "tx0", "rx1", "tx1", "rx2", "tx2", "rx3", "tx3", "rx4", "tx4", "rx5", "tx5", "rx6", "tx6", "rx7", "tx7",
	"ctrl",
};

static int vnet_create(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv)
{
	struct vnet *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->host = host;
	n->dev = dev;
	n->link_fd = -1;
	pthread_mutex_init(&n->flock, NULL);
	pthread_mutex_init(&n->wlock, NULL);
	pthread_cond_init(&n->wcond, NULL);
	for (unsigned i = 0; i < VNET_MAX_PAIRS; i++)
		n->pairs[i].wake_efd = -1;
	*priv = n;
	int ret = read_config(n);
	if (!ret)
		ret = vnet_attach_backend(n);
	if (ret)
		return ret;
	n->attached = true;
	n->nqueues = 2 * n->max_pairs + 1;
	for (unsigned i = 0; i < n->nqueues; i++) {
		const char *name = i == n->nqueues - 1 ? vq_names[VNET_MAX_QUEUES - 1] : vq_names[i];
		vq_init(&n->vqs[i], name, n->qsize, translate, vq_log, n);
		n->vqp[i] = &n->vqs[i];
	}
	vnet_filter_reset(n);
	if ((ret = vnet_workers_init(n)))
		return ret;
	struct vpci_params p = { .device_id = VIRTIO_ID_NET, .class_code = PCI_CLASS_NETWORK,
	                         .subclass = PCI_SUBCLASS_ETHERNET, .nqueues = n->nqueues, .vqs = n->vqp,
	                         .devcfg_len = VIRTIO_NET_CFG_SIZE };
	ret = vpci_init(&n->pci, host, dev, &p, &vnet_pci_ops, n);
	n->pci_ok = true;
	if (ret)
		return ret;
	n->offered = n->pci.offered;
	ret = host->fd_watch(dev, n->pci.q[n->nqueues - 1].kick_fd, EPOLLIN, vnet_ctrl_kick, n);
	if (!ret)
		ret = vnet_link_watch(n);
	if (ret)
		return ret;
	host->log(dev, MODVMM_LOG_INFO, "virtio-net %02x:%02x:%02x:%02x:%02x:%02x, %u queue pair%s of %u, backend %s",
	          n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5], n->max_pairs,
	          n->max_pairs > 1 ? "s" : "", n->qsize, n->be.name);
	return 0;
}

static int vnet_start(void *priv)
{
	struct vnet *n = priv;
	n->started = true;
	return vnet_offloaded(n) ? 0 : vnet_workers_start(n); /* offloaded: the backend runs the queues */
}

static void vnet_stop(void *priv)
{
	struct vnet *n = priv;
	vnet_link_unwatch(n);
	vnet_workers_stop(n);
}

static void log_stats(struct vnet *n)
{
	for (unsigned i = 0; i < n->max_pairs; i++) {
		struct vnet_stats *s = &n->pairs[i].st;
		if (!atomic_load(&s->tx_packets) && !atomic_load(&s->rx_packets) && !atomic_load(&s->tx_dropped))
			continue;
		vnet_log(n, MODVMM_LOG_INFO,
		         "queue pair %u: tx %llu packets (%llu dropped), %llu kicks, %llu irqs; rx %llu packets "
		         "(%llu dropped, %llu filtered), %llu kicks, %llu irqs; %llu wakeups", i,
		         (unsigned long long)atomic_load(&s->tx_packets), (unsigned long long)atomic_load(&s->tx_dropped),
		         (unsigned long long)atomic_load(&s->tx_kicks), (unsigned long long)atomic_load(&s->tx_irqs),
		         (unsigned long long)atomic_load(&s->rx_packets), (unsigned long long)atomic_load(&s->rx_dropped),
		         (unsigned long long)atomic_load(&s->rx_filtered), (unsigned long long)atomic_load(&s->rx_kicks),
		         (unsigned long long)atomic_load(&s->rx_irqs), (unsigned long long)atomic_load(&s->wakeups));
	}
}

static void vnet_destroy(void *priv)
{
	struct vnet *n = priv;
	if (!n)
		return;
	log_stats(n);
	vnet_link_unwatch(n);
	if (n->pci_ok)
		vpci_destroy(&n->pci);
	vnet_workers_free(n);
	if (n->attached)
		modvmm_net_detach(&n->be);
	pthread_mutex_destroy(&n->flock);
	pthread_mutex_destroy(&n->wlock);
	pthread_cond_destroy(&n->wcond);
	free(n);
}

/* What `modvmm check` refuses beyond the schema; read_config() and
 * vnet_attach_backend() refuse the same at create time. */
static int vnet_validate(const struct modvmm_check_ops *chk, struct modvmm_check *c)
{
	int ret = 0;
	uint8_t mac[ETH_ALEN];
	int cpus[VNET_MAX_PAIRS * 4];
	uint64_t qsize = 0;
	if (chk->config_u64(c, "queue_size", &qsize) == 0 && (qsize & (qsize - 1))) {
		chk->error(c, "queue_size", "a power of two from 2 to %u (virtio 1.2 §2.7)", QSIZE_MAX);
		ret = -EINVAL;
	}
	const char *v = chk->config_str(c, "mac");
	if (v && *v && parse_mac(v, mac)) {
		chk->error(c, "mac", "not a unicast MAC address such as 52:54:00:12:34:56");
		ret = -EINVAL;
	}
	v = chk->config_str(c, "worker_cpus");
	if (v && parse_cpu_list(v, cpus, sizeof(cpus) / sizeof(cpus[0])) < 0) {
		chk->error(c, "worker_cpus", "not a CPU list such as 0,1 or 2-3");
		ret = -EINVAL;
	}
	const struct modvmm_plugin *be = chk->backend_plugin(c, "backend");
	const struct modvmm_net_backend_ops *o = modvmm_net_plugin_ops(be);
	if (be && (!o || (!MODVMM_NET_HAS(o, send) && !MODVMM_NET_HAS(o, vq_start)))) {
		chk->error(c, "backend", "plugin %s offers neither packet I/O nor virtqueue offload", be->name);
		ret = -EINVAL;
	}
	return ret;
}

static const struct modvmm_key keys[] = {
	{ .name = "backend", .type = MODVMM_KEY_BACKEND, .flags = MODVMM_KEY_F_REQUIRED,
	  .help = "the [backend NAME] section carrying the frames" },
	{ .name = "mac", .type = MODVMM_KEY_STRING, .def = "",
	  .help = "MAC address (default 52:54:00 + a hash of the VM and device names)" },
	{ .name = "queues", .type = MODVMM_KEY_U64, .def = "1", .help = "queue pairs (more than 1 offers MQ)",
	  .range = "1-8" },
	{ .name = "queue_size", .type = MODVMM_KEY_U64, .def = "256", .help = "entries per virtqueue, a power of two",
	  .range = "2-1024" },
	{ .name = "mtu", .type = MODVMM_KEY_U64, .def = "1500", .help = "MTU advised to the driver", .range = "68-65535" },
	{ .name = "mrg_rxbuf", .type = MODVMM_KEY_BOOL, .def = "true", .help = "offer mergeable RX buffers" },
	{ .name = "event_idx", .type = MODVMM_KEY_BOOL, .def = "true", .help = "offer EVENT_IDX" },
	{ .name = "indirect", .type = MODVMM_KEY_BOOL, .def = "true", .help = "offer indirect descriptors" },
	{ .name = "offloads", .type = MODVMM_KEY_BOOL, .def = "true",
	  .help = "offer checksum/TSO offloads the backend can carry" },
	{ .name = "worker_cpus", .type = MODVMM_KEY_STRING, .def = "",
	  .help = "host CPUs for the queue-pair threads, e.g. 1 or 0-3 (pair k: k-th listed)" },
	{ .name = "poll_us", .type = MODVMM_KEY_U64, .def = "0",
	  .help = "busy-poll this long before a worker sleeps (fewer kicks, more CPU)", .range = "0-1000000" },
	{ .name = "slot", .type = MODVMM_KEY_PCI_SLOT, .help = "PCI slot on bus 0, \"S\" or \"S.F\" (default: the next free)" },
	{ 0 },
};

MODVMM_PLUGIN_DEFINE = {
	MODVMM_PLUGIN_ABI,
	.kind = MODVMM_KIND_DEVICE,
	.name = "virtio-net",
	.description = "virtio 1.2 network device (modern PCI)",
	.keys = keys,
	.create = vnet_create,
	.start = vnet_start,
	.stop = vnet_stop,
	.destroy = vnet_destroy,
	.validate = vnet_validate,
	.stats = vnet_stats,
	.commands = vnet_commands,
};
