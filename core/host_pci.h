/* SPDX-License-Identifier: MIT */
/* PCI and devmem entries of the host-services table (pci*.c, msix.c,
 * ioeventfd.c, devmem.c); expanded inside the initializer of host_services. */
#ifndef MODVMM_HOST_PCI_H
#define MODVMM_HOST_PCI_H

#include "devmem.h"
#include "pci.h"
#include "pci_vm.h"

#define HOST_PCI_SERVICES                       \
	.pci_register = pci_register,           \
	.pci_bar = pci_bar_add,                 \
	.pci_cap_add = pci_cap_add,             \
	.pci_config_read = pci_config_read,     \
	.pci_config_write = pci_config_write,   \
	.pci_bar_addr = pci_bar_addr,           \
	.pci_doorbell = pci_doorbell_add,       \
	.pci_msix_init = pci_msix_init,         \
	.pci_msix_fd = pci_msix_fd,             \
	.pci_msix_notify = pci_msix_notify,     \
	.pci_intx = pci_intx,                   \
	.pci_intx_fds = pci_intx_fds,           \
	.devmem_create = devmem_create,
#endif
