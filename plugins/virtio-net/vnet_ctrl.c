/* SPDX-License-Identifier: MIT */
/*
 * The control virtqueue (virtio 1.2 §5.1.6.5), served on the core's event loop
 * under the transport lock: RX mode (promiscuous, all-multicast), the MAC filter
 * table, the MAC address and the number of active queue pairs.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "iov.h"
#include "vnet.h"

#define MAC_TABLE_COUNT 4       /* le32 entries, before each of the two tables */

void vnet_filter_reset(struct vnet *n)
{
	pthread_mutex_lock(&n->flock);
	n->filter = (struct vnet_filter){ .promisc = true };
	memcpy(n->filter.mac, n->mac, ETH_ALEN);
	atomic_fetch_add_explicit(&n->filter_gen, 1, memory_order_release);
	pthread_mutex_unlock(&n->flock);
}

void vnet_apply_pairs(struct vnet *n)
{
	for (unsigned i = 0; i < n->max_pairs; i++) {
		int ret = modvmm_net_queue_enable(&n->be, n->pairs[i].bq, i < n->active_pairs);
		if (ret)
			vnet_log(n, MODVMM_LOG_WARN, "backend queue %u: %s", i, strerror(-ret));
	}
}

static uint8_t rx_mode(struct vnet *n, uint8_t cmd, const uint8_t *d, size_t len)
{
	if (!vpci_has(&n->pci, VIRTIO_NET_F_CTRL_RX) || len != 1 ||
	    (cmd != VIRTIO_NET_CTRL_RX_PROMISC && cmd != VIRTIO_NET_CTRL_RX_ALLMULTI))
		return VIRTIO_NET_ERR;
	pthread_mutex_lock(&n->flock);
	if (cmd == VIRTIO_NET_CTRL_RX_PROMISC)
		n->filter.promisc = d[0] != 0;
	else
		n->filter.allmulti = d[0] != 0;
	atomic_fetch_add_explicit(&n->filter_gen, 1, memory_order_release);
	pthread_mutex_unlock(&n->flock);
	return VIRTIO_NET_OK;
}

/* Two tables, each a le32 count and that many addresses (§5.1.6.5.2). */
static uint8_t mac_table(struct vnet *n, const uint8_t *d, size_t len)
{
	uint32_t cnt[2];
	const uint8_t *tab[2];
	size_t off = 0;
	for (unsigned t = 0; t < 2; t++) {
		if (len - off < MAC_TABLE_COUNT)
			return VIRTIO_NET_ERR;
		memcpy(&cnt[t], d + off, MAC_TABLE_COUNT);
		off += MAC_TABLE_COUNT;
		if (cnt[t] > (len - off) / ETH_ALEN)
			return VIRTIO_NET_ERR;
		tab[t] = d + off;
		off += (size_t)cnt[t] * ETH_ALEN;
	}
	if (off != len)
		return VIRTIO_NET_ERR;
	pthread_mutex_lock(&n->flock);
	struct vnet_filter *f = &n->filter;
	f->n_uni = f->n_multi = 0;
	f->alluni = cnt[0] > VNET_MAC_TABLE;          /* too many: accept the whole class */
	f->multi_overflow = cnt[1] > VNET_MAC_TABLE - (f->alluni ? 0 : cnt[0]);
	if (!f->alluni) {
		memcpy(f->table, tab[0], cnt[0] * ETH_ALEN);
		f->n_uni = cnt[0];
	}
	if (!f->multi_overflow) {
		memcpy(f->table[f->n_uni], tab[1], cnt[1] * ETH_ALEN);
		f->n_multi = cnt[1];
	}
	atomic_fetch_add_explicit(&n->filter_gen, 1, memory_order_release);
	pthread_mutex_unlock(&n->flock);
	return VIRTIO_NET_OK;
}

static uint8_t mac_cmd(struct vnet *n, uint8_t cmd, const uint8_t *d, size_t len)
{
	if (cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET && vpci_has(&n->pci, VIRTIO_NET_F_CTRL_RX))
		return mac_table(n, d, len);
	if (cmd != VIRTIO_NET_CTRL_MAC_ADDR_SET || !vpci_has(&n->pci, VIRTIO_NET_F_CTRL_MAC_ADDR) || len != ETH_ALEN)
		return VIRTIO_NET_ERR;
	pthread_mutex_lock(&n->flock);
	memcpy(n->mac, d, ETH_ALEN);
	memcpy(n->filter.mac, d, ETH_ALEN);
	atomic_fetch_add_explicit(&n->filter_gen, 1, memory_order_release);
	pthread_mutex_unlock(&n->flock);
	vpci_config_changed(&n->pci, false); /* the driver asked: no interrupt */
	return VIRTIO_NET_OK;
}

static uint8_t mq_cmd(struct vnet *n, uint8_t cmd, const uint8_t *d, size_t len)
{
	uint16_t pairs;
	if (!vpci_has(&n->pci, VIRTIO_NET_F_MQ) || cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || len != sizeof(pairs))
		return VIRTIO_NET_ERR;
	memcpy(&pairs, d, sizeof(pairs));
	if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > n->max_pairs)
		return VIRTIO_NET_ERR;
	if (pairs != n->active_pairs) {
		vnet_quiesce(n);
		n->active_pairs = pairs;
		vnet_apply_pairs(n);
		vnet_resume(n);
	}
	return VIRTIO_NET_OK;
}

static uint8_t command(struct vnet *n, const uint8_t *c, size_t len)
{
	switch (c[0]) {
	case VIRTIO_NET_CTRL_RX: return rx_mode(n, c[1], c + 2, len - 2);
	case VIRTIO_NET_CTRL_MAC: return mac_cmd(n, c[1], c + 2, len - 2);
	case VIRTIO_NET_CTRL_MQ: return mq_cmd(n, c[1], c + 2, len - 2);
	}
	return VIRTIO_NET_ERR;
}

/* ---- link changes --------------------------------------------------------------- */

/* The backend's link_fd is readable (event loop): when the link state changed
 * since last seen, STATUS changed, and §5.1.4.2 (with §4.1.4.3/§2.5.1) has the
 * device notify the driver: a generation bump and a configuration interrupt,
 * which vpci_config_changed() raises only once DRIVER_OK is set. */
static void link_event(void *opaque, int fd, uint32_t events)
{
	struct vnet *n = opaque;
	uint64_t count;
	(void)events;
	if (read(fd, &count, sizeof(count)) < 0)
		count = 0; /* another reader emptied it: look at the state anyway */
	bool up = modvmm_net_link_up(&n->be) != 0;
	if (up == n->link_last)
		return;
	n->link_last = up;
	pthread_mutex_lock(&n->pci.lock);
	bool status = vpci_has(&n->pci, VIRTIO_NET_F_STATUS);
	pthread_mutex_unlock(&n->pci.lock);
	bool live = atomic_load(&n->pci.status) & VIRTIO_STATUS_DRIVER_OK;
	vnet_log(n, MODVMM_LOG_INFO, "backend %s link change: %s%s", n->be.name, up ? "up" : "down",
	         status && live ? "; configuration interrupt" : "");
	if (status && live)
		atomic_fetch_add(&n->link_irqs, 1);
	vpci_config_changed(&n->pci, status);
}

int vnet_link_watch(struct vnet *n)
{
	n->link_last = modvmm_net_link_up(&n->be) != 0;
	n->link_fd = modvmm_net_link_fd(&n->be);
	if (n->link_fd < 0)
		return 0;
	int ret = n->host->fd_watch(n->dev, n->link_fd, EPOLLIN, link_event, n);
	n->link_watched = ret == 0;
	return ret;
}

void vnet_link_unwatch(struct vnet *n)
{
	if (n->link_watched)
		n->host->fd_unwatch(n->dev, n->link_fd);
	n->link_watched = false;
}

void vnet_ctrl_kick(void *opaque, int fd, uint32_t events)
{
	struct vnet *n = opaque;
	unsigned q = 2 * n->max_pairs;
	struct vq *vq = &n->vqs[q];
	static __thread struct vq_elem e;
	static __thread uint8_t cmd[VNET_CTRL_MAX];
	uint64_t count;
	if (read(fd, &count, sizeof(count)) < 0)
		count = 0;
	pthread_mutex_lock(&n->pci.lock);
	int r;
	do {
		while ((r = vq_pop(vq, &e)) > 0) {
			uint8_t ack = VIRTIO_NET_ERR;
			if (e.nout && e.out_len >= 2 && e.out_len <= VNET_CTRL_MAX) {
				iov_to_buf(e.iov, e.nout, 0, cmd, e.out_len);
				ack = command(n, cmd, e.out_len);
			}
			size_t w = e.nin ? iov_from_buf(e.iov + e.nout, e.nin, 0, &ack, sizeof(ack)) : 0;
			vq_push(vq, e.head, (uint32_t)w);
		}
		/* Ask for the next kick before sleeping: with EVENT_IDX the driver
		 * kicks only when its avail index crosses avail_event (§2.7.10), so
		 * an avail_event left at 0 would make it stop after the first command
		 * and spin for the answer forever (Linux's virtnet_send_command). */
	} while (r == 0 && vq_enable_notify(vq));
	bool irq = vq_flush(vq) && vq_need_notify(vq);
	pthread_mutex_unlock(&n->pci.lock);
	if (r < 0)
		vpci_needs_reset(&n->pci);
	if (irq)
		vpci_notify_queue(&n->pci, q);
}
