/* SPDX-License-Identifier: MIT */
/* PCI and devmem entries of the host-services table (implemented in pci*.c once
 * the PCI bus lands; until then they report -ENOSYS). */
#ifndef MODVMM_HOST_PCI_H
#define MODVMM_HOST_PCI_H

#define HOST_PCI_SERVICES
#endif
