/* SPDX-License-Identifier: MIT */
/*
 * virtio-net with a virtqueue-offloading backend (MODVMM_NET_CAP_VQ_OFFLOAD,
 * e.g. vhost-user): on DRIVER_OK the RX/TX virtqueues are handed to the backend
 * (the guest memory table, ring addresses, the notify ioeventfds as kick fds and
 * the MSI-X irqfds as call fds) and no worker thread runs; on reset they are
 * taken back.  The control queue and the device configuration stay here.
 *
 * Features (virtio 1.2 §5.1.3): the data-path features offered to the guest are
 * the intersection of the device's and the backend's; device-level features
 * (MAC, STATUS, MTU, CTRL_*, MQ) are the device's own.
 */
#include <errno.h>
#include <string.h>

#include "vnet.h"

#define MAX_REGIONS 8

/* Features the backend implements on the rings. */
static const uint64_t ring_features =
	VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
	VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
static const uint64_t offload_bits =
	VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
	VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO) |
	VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) |
	VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO);

bool vnet_offloaded(const struct vnet *n)
{
	return n->be_caps & MODVMM_NET_CAP_VQ_OFFLOAD;
}

/* Does the backend fill every entry the offload needs? */
bool vnet_offload_ok(const struct vnet *n)
{
	return vnet_offloaded(n) && modvmm_net_vq_offload_ok(&n->be);
}

uint64_t vnet_offload_features(const struct vnet *n, uint64_t f)
{
	if (!vnet_offloaded(n))
		return f;
	uint64_t peer = modvmm_net_vq_features(&n->be);
	f &= ~(ring_features & ~peer);
	if (n->offer_offloads)
		f |= peer & offload_bits;
	return f;
}

/* The irqfd of queue q's MSI-X vector, or -1 (INTx, or no vector). */
static int call_fd(const struct vnet *n, unsigned q)
{
	uint16_t vec = atomic_load(&n->pci.q[q].vector);
	return vec < n->pci.nvec && n->pci.vec_fd ? n->pci.vec_fd[vec] : -1;
}

static int start_queue(struct vnet *n, unsigned q)
{
	const struct vq *vq = &n->vqs[q];
	struct modvmm_net_vring vr = { .size = sizeof(vr), .num = vq->num, .desc_gpa = vq->desc_gpa,
	                               .avail_gpa = vq->avail_gpa, .used_gpa = vq->used_gpa,
	                               .next_avail = vq->last_avail, .kick_fd = n->pci.q[q].kick_fd,
	                               .call_fd = call_fd(n, q) };
	if (vr.call_fd < 0 && !n->offload_vqs) /* once per driver session is enough */
		vnet_log(n, MODVMM_LOG_INFO, "%s has no MSI-X vector: the backend cannot interrupt the guest on it "
		         "(polling driver?)", vq->name);
	int ret = modvmm_net_vq_start(&n->be, q, &vr);
	if (ret)
		return ret;
	n->offload_vqs |= 1u << q;
	return 0;
}

/* Start the enabled data queues not yet handed over. */
static int start_queues(struct vnet *n)
{
	for (unsigned q = 0; q < 2 * n->max_pairs; q++) {
		if (!(n->offload_vqs & (1u << q)) && n->pci.q[q].enabled && n->vqs[q].ready) {
			int ret = start_queue(n, q);
			if (ret) {
				vnet_log(n, MODVMM_LOG_ERROR, "backend %s refused %s: %s", n->be.name, n->vqs[q].name,
				         strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}

int vnet_offload_start(struct vnet *n)
{
	struct modvmm_mem_region r[MAX_REGIONS];
	int nr = n->host->mem_regions(n->dev, r, MAX_REGIONS);
	if (nr < 0 || nr > MAX_REGIONS) {
		vnet_log(n, MODVMM_LOG_ERROR, "guest memory has %d regions; the backend takes at most %u", nr,
		         MAX_REGIONS);
		return -E2BIG;
	}
	int ret = modvmm_net_vq_set_features(&n->be, n->pci.features);
	if (!ret)
		ret = modvmm_net_vq_set_mem(&n->be, r, (unsigned)nr);
	if (ret) {
		vnet_log(n, MODVMM_LOG_ERROR, "backend %s refused the features or memory table: %s", n->be.name,
		         strerror(-ret));
		return ret;
	}
	n->active_pairs = 1; /* §5.1.6.5.5: one pair until VQ_PAIRS_SET */
	ret = start_queues(n);
	if (!ret)
		vnet_apply_pairs(n);
	return ret;
}

/* A queue enabled after DRIVER_OK. */
void vnet_offload_resume(struct vnet *n)
{
	if ((atomic_load(&n->pci.status) & VIRTIO_STATUS_DRIVER_OK) && start_queues(n))
		vpci_needs_reset(&n->pci);
}

void vnet_offload_stop(struct vnet *n)
{
	for (unsigned q = 0; q < 2 * n->max_pairs; q++) {
		if (!(n->offload_vqs & (1u << q)))
			continue;
		uint16_t next = 0;
		(void)modvmm_net_vq_stop(&n->be, q, &next);
		n->vqs[q].last_avail = next;
	}
	n->offload_vqs = 0;
}
