/* SPDX-License-Identifier: MIT */
/*
 * virtio-net on the control socket (plugin ABI 2.1): its counters, and `swap`,
 * which moves a running NIC to a new backend.
 *
 * Swap, on the main thread: the new backend is created first (a refusal
 * leaves everything as it was); the link goes down with a configuration
 * interrupt (virtio 1.2 §5.1.4.2) and the driver gets a moment to read it; the
 * workers park between frames (a frame the old backend refused stays in the
 * TX stash and goes to the new one whole); the old backend is detached, the
 * new one attached with the negotiated vnet header and offloads; the workers
 * resume; the link comes up with another configuration interrupt; the old
 * backend is destroyed.  If the new backend refuses the attach, the old one is
 * attached again and destroyed is the new one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vnet.h"

/* How long the link stays down at most, waiting for the driver to read STATUS
 * after the configuration interrupt; the swap goes on without it after that. */
#define SWAP_DOWN_WAIT_MS 2000

/* ---- counters ------------------------------------------------------------------- */

#define EMIT(field) emit_pair(emit, ctx, i, #field, atomic_load(&s->field))

static void emit_pair(modvmm_stat_fn emit, void *ctx, unsigned pair, const char *name, uint64_t v)
{
	char key[48];
	snprintf(key, sizeof(key), "pair%u.%s", pair, name);
	emit(ctx, key, v);
}

void vnet_stats(void *priv, modvmm_stat_fn emit, void *ctx)
{
	struct vnet *n = priv;
	for (unsigned i = 0; i < n->max_pairs; i++) {
		struct vnet_stats *s = &n->pairs[i].st;
		EMIT(tx_packets);
		EMIT(tx_dropped);
		EMIT(tx_kicks);
		EMIT(tx_irqs);
		EMIT(rx_packets);
		EMIT(rx_dropped);
		EMIT(rx_filtered);
		EMIT(rx_kicks);
		EMIT(rx_irqs);
		EMIT(wakeups);
	}
	emit(ctx, "link_up", !atomic_load(&n->link_forced_down) && modvmm_net_link_up(&n->be));
	emit(ctx, "link_irqs", atomic_load(&n->link_irqs));
	emit(ctx, "swaps", atomic_load(&n->swaps));
	emit(ctx, "swap_failures", atomic_load(&n->swap_failures));
	struct modvmm_net_stats b = { .size = sizeof(b) };
	modvmm_net_stats(&n->be, MODVMM_NET_ALL_QUEUES, &b);
	emit(ctx, "backend.tx_packets", b.tx_packets);
	emit(ctx, "backend.tx_bytes", b.tx_bytes);
	emit(ctx, "backend.tx_dropped", b.tx_dropped);
	emit(ctx, "backend.tx_full", b.tx_full);
	emit(ctx, "backend.rx_packets", b.rx_packets);
	emit(ctx, "backend.rx_bytes", b.rx_bytes);
	emit(ctx, "backend.rx_dropped", b.rx_dropped);
}

/* ---- swap --------------------------------------------------------------------------- */

static bool driver_ok(const struct vnet *n)
{
	return atomic_load(&n->pci.status) & VIRTIO_STATUS_DRIVER_OK;
}

/* MODVMM_NET_OFF_* the driver may send: its HOST_* features. */
static uint64_t tx_offloads(const struct vpci *v)
{
	return (vpci_has(v, VIRTIO_NET_F_CSUM) ? MODVMM_NET_OFF_CSUM : 0) |
	       (vpci_has(v, VIRTIO_NET_F_HOST_TSO4) ? MODVMM_NET_OFF_TSO4 : 0) |
	       (vpci_has(v, VIRTIO_NET_F_HOST_TSO6) ? MODVMM_NET_OFF_TSO6 : 0) |
	       (vpci_has(v, VIRTIO_NET_F_HOST_ECN) ? MODVMM_NET_OFF_TSO_ECN : 0) |
	       (vpci_has(v, VIRTIO_NET_F_HOST_UFO) ? MODVMM_NET_OFF_UFO : 0);
}

/* Can `b` carry what this NIC offered (the driver may accept any of it)? */
static int usable(struct vnet *n, const struct modvmm_net_backend *b, const struct modvmm_cmd_args *a)
{
	if (!b->ops || !modvmm_net_packet_io_ok(b)) {
		a->reply(a, "plugin %s offers no packet I/O: it cannot serve virtio-net's queues here", b->name);
		return -ENOTSUP;
	}
	uint64_t caps = modvmm_net_caps(b);
	if (modvmm_net_max_queues(b) < n->max_pairs) {
		a->reply(a, "plugin %s serves %u queue pair(s), this NIC has %u", b->name, modvmm_net_max_queues(b),
		         n->max_pairs);
		return -EINVAL;
	}
	pthread_mutex_lock(&n->pci.lock);
	uint64_t need = tx_offloads(&n->pci) | vnet_guest_offloads(&n->pci);
	pthread_mutex_unlock(&n->pci.lock);
	if (!(caps & MODVMM_NET_CAP_VNET_HDR) || (need & ~caps)) {
		a->reply(a, "plugin %s cannot carry %s the driver negotiated (offloads 0x%llx, it has 0x%llx)", b->name,
		         caps & MODVMM_NET_CAP_VNET_HDR ? "the offloads" : "the virtio-net header",
		         (unsigned long long)(need >> 16), (unsigned long long)((caps & MODVMM_NET_OFF_MASK) >> 16));
		return -ENOTSUP;
	}
	return 0;
}

/* Attach b as n's backend, with what the driver negotiated.  Under pci.lock,
 * the workers parked.  On failure b is detached again and n unchanged. */
static int take(struct vnet *n, const struct modvmm_net_backend *b, const struct modvmm_cmd_args *a)
{
	struct modvmm_net_queue *q[VNET_MAX_PAIRS];
	int ret = modvmm_net_attach(b, n->max_pairs, n->host->instance_name(n->dev));
	if (ret) {
		a->reply(a, "backend %s refused the attach: %s", b->name, strerror(-ret));
		return ret;
	}
	for (unsigned i = 0; i < n->max_pairs && !ret; i++)
		if (!(q[i] = modvmm_net_queue(b, i)))
			ret = -EINVAL;
	if (!ret && driver_ok(n)) {
		ret = modvmm_net_set_vnet_hdr_len(b, VNET_HDR_LEN);
		if (!ret)
			ret = modvmm_net_set_offloads(b, vnet_guest_offloads(&n->pci));
	}
	if (ret) {
		a->reply(a, "backend %s refused the queues, header or offloads: %s", b->name, strerror(-ret));
		modvmm_net_detach(b);
		return ret;
	}
	n->be = *b;
	n->be_caps = modvmm_net_caps(b);
	for (unsigned i = 0; i < n->max_pairs; i++) {
		n->pairs[i].bq = q[i];
		n->pairs[i].tx_blocked = false; /* the new backend has room */
	}
	if (driver_ok(n))
		vnet_apply_pairs(n);
	return 0;
}

void vnet_swap_link_seen(struct vnet *n)
{
	pthread_mutex_lock(&n->wlock);
	n->link_down_seen = true;
	pthread_cond_broadcast(&n->wcond);
	pthread_mutex_unlock(&n->wlock);
}

/* Tell the driver the link changed (§5.1.4.2: STATUS and a configuration interrupt). */
static void link_changed(struct vnet *n, bool up)
{
	pthread_mutex_lock(&n->pci.lock);
	bool status = vpci_has(&n->pci, VIRTIO_NET_F_STATUS);
	pthread_mutex_unlock(&n->pci.lock);
	bool irq = status && driver_ok(n);
	if (irq)
		atomic_fetch_add(&n->link_irqs, 1);
	vpci_config_changed(&n->pci, status);
	if (MODVMM_HOST_HAS(n->host, event))
		n->host->event(n->dev, "link", "%s (backend swap)", up ? "up" : "down");
}

/* Link down; returns whether the driver read STATUS before SWAP_DOWN_WAIT_MS. */
static bool link_down(struct vnet *n)
{
	pthread_mutex_lock(&n->wlock);
	n->link_down_seen = false;
	pthread_mutex_unlock(&n->wlock);
	atomic_store(&n->link_forced_down, true);
	link_changed(n, false);
	if (!driver_ok(n) || !vpci_has(&n->pci, VIRTIO_NET_F_STATUS))
		return false;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (SWAP_DOWN_WAIT_MS % 1000) * 1000000L;
	until.tv_sec += SWAP_DOWN_WAIT_MS / 1000 + until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&n->wlock);
	int r = 0;
	while (!n->link_down_seen && r == 0)
		r = pthread_cond_timedwait(&n->wcond, &n->wlock, &until);
	bool seen = n->link_down_seen;
	pthread_mutex_unlock(&n->wlock);
	return seen;
}

static int vnet_swap(void *priv, const struct modvmm_cmd_args *a)
{
	struct vnet *n = priv;
	const struct modvmm_host *h = n->host;
	if (!MODVMM_HOST_HAS(h, backend_new) || !MODVMM_HOST_HAS(h, backend_free)) {
		a->reply(a, "this modvmm cannot create backends at run time");
		return -ENOTSUP;
	}
	if (vnet_offloaded(n)) {
		a->reply(a, "backend %s runs the queues itself (virtqueue offload): not swappable", n->be.name);
		return -ENOTSUP;
	}
	void *be;
	const struct modvmm_plugin *p;
	char err[512];
	int ret = h->backend_new(n->dev, a->argv, a->argc, &be, &p, err, sizeof(err));
	if (ret) {
		a->reply(a, "%s", err);
		atomic_fetch_add(&n->swap_failures, 1);
		return ret;
	}
	struct modvmm_net_backend nb = { .ops = modvmm_net_plugin_ops(p), .be = be, .name = p->name };
	if ((ret = usable(n, &nb, a))) {
		h->backend_free(n->dev, be);
		atomic_fetch_add(&n->swap_failures, 1);
		return ret;
	}
	bool seen = link_down(n);
	pthread_mutex_lock(&n->pci.lock);
	struct modvmm_net_backend old = n->be;
	vnet_quiesce(n);
	vnet_link_unwatch(n);
	modvmm_net_detach(&old);
	ret = take(n, &nb, a);
	if (ret && take(n, &old, a)) {
		vnet_log(n, MODVMM_LOG_ERROR, "the old backend %s refused to come back: the device needs a reset", old.name);
		vpci_needs_reset(&n->pci);
	}
	if (vnet_link_watch(n))
		vnet_log(n, MODVMM_LOG_WARN, "cannot watch backend %s's link changes", n->be.name);
	vnet_resume(n);
	pthread_mutex_unlock(&n->pci.lock);
	atomic_store(&n->link_forced_down, false);
	link_changed(n, true);
	h->backend_free(n->dev, ret ? nb.be : old.be);
	if (ret) {
		atomic_fetch_add(&n->swap_failures, 1);
		a->reply(a, "kept backend %s", n->be.name);
		return ret;
	}
	atomic_fetch_add(&n->swaps, 1);
	a->reply(a, "%s: backend %s replaced %s%s", h->instance_name(n->dev), nb.name, old.name,
	         driver_ok(n) ? (seen ? "; the driver saw the link go down" : "; the driver did not look at the link")
	                      : "; no driver yet");
	vnet_log(n, MODVMM_LOG_INFO, "backend %s replaced %s", nb.name, old.name);
	return 0;
}

const struct modvmm_command vnet_commands[] = {
	{ .name = "swap", .usage = "plugin=NAME [KEY=VALUE ...]",
	  .help = "move the NIC to a new backend (link down, queues parked, old backend removed, link up)",
	  .run = vnet_swap },
	{ 0 },
};
