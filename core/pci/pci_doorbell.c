/* SPDX-License-Identifier: MIT */
/*
 * Doorbells: a guest write to a BAR offset caught by KVM (KVM_IOEVENTFD) that
 * signals an eventfd without a userspace exit.  A doorbell lives on a trapped
 * BAR and follows it: deassigned at the old address when the BAR unmaps or
 * moves, assigned at the new one when it maps.  Writes that do not match (other
 * width, other data with datamatch) still reach the BAR's handlers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "pci/pci.h"

static int kvm_assign(struct pci_bar_state *b, struct pci_doorbell *d, uint64_t addr, bool assign)
{
	struct kvm_ioeventfd req = {
		.datamatch = d->match ? d->data : 0,
		.addr = addr,
		.len = d->len,
		.fd = d->fd,
		.flags = (b->desc.type == MODVMM_BAR_IO ? KVM_IOEVENTFD_FLAG_PIO : 0) |
		         (d->match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};
	struct pci_bus *bus = b->fn->bus;
	return bus->ops->ioeventfd(bus->ctx, &req);
}

static int attach_one(struct pci_bar_state *b, struct pci_doorbell *d)
{
	uint64_t addr = b->map_addr + d->offset;
	int ret = kvm_assign(b, d, addr, true);
	if (!ret) {
		d->assigned = true;
		d->addr = addr;
	} else if (d->failed_addr != addr) {
		pci_guest_warn(b->fn, "doorbell at BAR%u+0x%llx (0x%llx): KVM_IOEVENTFD: %s", b->idx,
		        (unsigned long long)d->offset, (unsigned long long)addr, strerror(-ret));
		d->failed_addr = addr;
	}
	return ret;
}

void pci_doorbells_attach(struct pci_bar_state *b)
{
	for (struct pci_doorbell *d = b->doorbells; d; d = d->next)
		if (!d->assigned)
			attach_one(b, d);
}

void pci_doorbells_detach(struct pci_bar_state *b)
{
	for (struct pci_doorbell *d = b->doorbells; d; d = d->next) {
		if (d->assigned)
			kvm_assign(b, d, d->addr, false);
		d->assigned = false;
	}
}

void pci_doorbells_free(struct pci_bar_state *b)
{
	pci_doorbells_detach(b);
	while (b->doorbells) {
		struct pci_doorbell *d = b->doorbells;
		b->doorbells = d->next;
		if (d->cb && b->fn->bus->loop)
			evloop_unwatch(b->fn->bus->loop, d->fd);
		close(d->fd);
		free(d);
	}
}

/* Event loop: one or more guest writes since the last wakeup. */
static void doorbell_ready(void *opaque, int fd, uint32_t events)
{
	struct pci_doorbell *d = opaque;
	uint64_t n;
	(void)events;
	if (read(fd, &n, sizeof(n)) == sizeof(n))
		d->cb(d->opaque, d->offset);
}

int pci_doorbell_add(struct modvmm_pci *pci, unsigned bar, uint64_t offset, unsigned len, bool match,
                     uint64_t data, modvmm_doorbell_cb cb, void *opaque, int *fd)
{
	if (!pci || bar >= PCI_NUM_BARS || (!cb && !fd))
		return -EINVAL;
	struct pci_bus *bus = pci->bus;
	struct pci_bar_state *b = &pci->bar[bar];
	if (!b->present || b->upper || b->desc.backing != MODVMM_BAR_TRAPPED)
		return -EINVAL;    /* writes to a direct-mapped BAR never exit: no doorbell possible */
	if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	if ((len == 8 && b->desc.type == MODVMM_BAR_IO) || offset >= b->desc.size || len > b->desc.size - offset)
		return -EINVAL;
	if (len == 0 && (match || !bus->any_length))
		return match ? -EINVAL : -ENOTSUP;
	if (match && len < 8 && data >> (8 * len))
		return -EINVAL;
	if (cb && !bus->loop)
		return -ENOTSUP;

	struct pci_doorbell *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	*d = (struct pci_doorbell){ .offset = offset, .len = len, .match = match, .data = data,
	                            .cb = cb, .opaque = opaque, .failed_addr = UINT64_MAX };
	d->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->fd < 0) {
		int e = -errno;
		free(d);
		return e;
	}
	int ret = cb ? evloop_watch(bus->loop, d->fd, EPOLLIN, doorbell_ready, d, pci->dev) : 0;
	pthread_mutex_lock(&pci->lock);
	pthread_mutex_lock(&bus->map_lock);
	if (!ret && b->mapped)
		ret = attach_one(b, d);
	if (!ret) {
		d->next = b->doorbells;
		b->doorbells = d;
	}
	pthread_mutex_unlock(&bus->map_lock);
	pthread_mutex_unlock(&pci->lock);
	if (ret) {
		if (cb)
			evloop_unwatch(bus->loop, d->fd);
		close(d->fd);
		free(d);
		return ret;
	}
	if (fd)
		*fd = d->fd;
	return 0;
}
