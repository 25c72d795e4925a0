/* SPDX-License-Identifier: MIT */
/*
 * MSI vectors for functions whose plugin emulates the MSI capability itself
 * (PCI Local Bus 3.0 §6.8.1), e.g. a passed-through host function: each vector
 * gets an eventfd and a GSI on first use; pci_msi_vector() routes the GSI to
 * the guest's message and binds the eventfd as an irqfd while the guest lets
 * the vector deliver.  While unbound, writes stay counted in the eventfd and
 * KVM delivers them when the irqfd is bound again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pci/pci.h"

struct pci_msi {
	struct {
		int fd;
		unsigned gsi;
		bool bound;
	} v[PCI_MSI_MAX_VECTORS];
};

static int msi_alloc(struct modvmm_pci *pci)
{
	if (pci->msi)
		return 0;
	struct pci_msi *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (unsigned i = 0; i < PCI_MSI_MAX_VECTORS; i++)
		m->v[i].fd = -1;
	pci->msi = m;
	return 0;
}

int pci_msi_vector(struct modvmm_pci *pci, unsigned vec, uint64_t addr, uint32_t data, bool deliver)
{
	if (!pci || vec >= PCI_MSI_MAX_VECTORS)
		return -EINVAL;
	struct irq_router *irq = &pci->bus->irq;
	pthread_mutex_lock(&pci->lock);
	int ret = msi_alloc(pci);
	if (!ret && pci->msi->v[vec].fd < 0) {
		unsigned gsi;
		ret = irq_gsi_alloc(irq, 1, &gsi);
		int fd = ret ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (!ret && fd < 0)
			ret = -errno;
		if (!ret) {
			pci->msi->v[vec].fd = fd;
			pci->msi->v[vec].gsi = gsi;
		}
	}
	if (ret) {
		pthread_mutex_unlock(&pci->lock);
		return ret;
	}
	typeof(pci->msi->v[0]) *v = &pci->msi->v[vec];
	if (!deliver && v->bound) {
		ret = irq_irqfd(irq, v->fd, v->gsi, -1, false);
		v->bound = false;
	} else if (deliver) {
		ret = irq_msi_route(irq, v->gsi, addr, data);
		if (!ret && !v->bound) {
			ret = irq_irqfd(irq, v->fd, v->gsi, -1, true);
			v->bound = ret == 0;
		}
		if (ret)
			pci_guest_warn(pci, "MSI vector %u (GSI %u): %s", vec, v->gsi, strerror(-ret));
	}
	int fd = v->fd;
	pthread_mutex_unlock(&pci->lock);
	return ret ? ret : fd;
}

void msi_free(struct modvmm_pci *pci)
{
	struct pci_msi *m = pci->msi;
	if (!m)
		return;
	for (unsigned i = 0; i < PCI_MSI_MAX_VECTORS; i++) {
		if (m->v[i].bound)
			irq_irqfd(&pci->bus->irq, m->v[i].fd, m->v[i].gsi, -1, false);
		if (m->v[i].fd >= 0)
			close(m->v[i].fd);
	}
	free(m);
	pci->msi = NULL;
}
