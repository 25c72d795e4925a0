/* SPDX-License-Identifier: MIT */
#include "pci/pci_cfg.h"

#include <errno.h>
#include <string.h>

void pci_cfg_init(struct pci_cfg *c, const struct modvmm_pci_id *id)
{
	memset(c, 0, sizeof(*c));
	pci_cfg_set(c, PCI_CFG_VENDOR_ID, 2, id->vendor);
	pci_cfg_set(c, PCI_CFG_DEVICE_ID, 2, id->device);
	pci_cfg_set(c, PCI_CFG_REVISION, 1, id->revision);
	pci_cfg_set(c, PCI_CFG_PROG_IF, 1, id->prog_if);
	pci_cfg_set(c, PCI_CFG_SUBCLASS, 1, id->subclass);
	pci_cfg_set(c, PCI_CFG_CLASS, 1, id->class_code);
	pci_cfg_set(c, PCI_CFG_SUBSYS_VENDOR, 2, id->subsys_vendor);
	pci_cfg_set(c, PCI_CFG_SUBSYS_ID, 2, id->subsys_id);
	pci_cfg_set(c, PCI_CFG_INT_PIN, 1, id->irq_pin);

	pci_cfg_set_wmask(c, PCI_CFG_COMMAND, 2, PCI_CMD_WRITABLE);
	c->w1c[PCI_CFG_STATUS] = PCI_STATUS_W1C & 0xff;
	c->w1c[PCI_CFG_STATUS + 1] = PCI_STATUS_W1C >> 8;
	pci_cfg_set_wmask(c, PCI_CFG_CACHE_LINE, 1, 0xff);
	pci_cfg_set_wmask(c, PCI_CFG_LATENCY, 1, 0xff);
	pci_cfg_set_wmask(c, PCI_CFG_INT_LINE, 1, 0xff);
	c->cap_end = PCI_CFG_HEADER_END;
}

bool pci_cfg_access_ok(unsigned off, unsigned size)
{
	if (size != 1 && size != 2 && size != 4)
		return false;
	return off < PCI_CFG_SIZE && (off & 3) + size <= 4;
}

uint32_t pci_cfg_get(const struct pci_cfg *c, unsigned off, unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size && off + i < PCI_CFG_SIZE; i++)
		v |= (uint32_t)c->data[off + i] << (8 * i);
	return v;
}

void pci_cfg_set(struct pci_cfg *c, unsigned off, unsigned size, uint32_t v)
{
	for (unsigned i = 0; i < size && off + i < PCI_CFG_SIZE; i++)
		c->data[off + i] = (uint8_t)(v >> (8 * i));
}

void pci_cfg_guest_write(struct pci_cfg *c, unsigned off, unsigned size, uint32_t v)
{
	for (unsigned i = 0; i < size && off + i < PCI_CFG_SIZE; i++) {
		uint8_t b = (uint8_t)(v >> (8 * i)), m = c->wmask[off + i];
		uint8_t n = (uint8_t)((c->data[off + i] & ~m) | (b & m));
		c->data[off + i] = (uint8_t)(n & ~(b & c->w1c[off + i]));
	}
}

void pci_cfg_set_wmask(struct pci_cfg *c, unsigned off, unsigned size, uint32_t mask)
{
	for (unsigned i = 0; i < size && off + i < PCI_CFG_SIZE; i++)
		c->wmask[off + i] = (uint8_t)(mask >> (8 * i));
}

int pci_cfg_cap_add(struct pci_cfg *c, uint8_t id, const void *body, unsigned len, unsigned *off)
{
	if (len && !body)
		return -EINVAL;
	unsigned at = (c->cap_end + PCI_CAP_ALIGN - 1) & ~(PCI_CAP_ALIGN - 1u);
	if (at + PCI_CAP_HDR_LEN + len > PCI_CFG_SIZE)
		return -ENOSPC;
	c->data[at + PCI_CAP_ID] = id;
	c->data[at + PCI_CAP_NEXT] = 0;
	if (len)
		memcpy(&c->data[at + PCI_CAP_HDR_LEN], body, len);
	if (c->last_cap)
		c->data[c->last_cap + PCI_CAP_NEXT] = (uint8_t)at;
	else
		c->data[PCI_CFG_CAP_PTR] = (uint8_t)at;
	c->data[PCI_CFG_STATUS] |= PCI_STATUS_CAP_LIST;
	c->last_cap = at;
	c->cap_end = at + PCI_CAP_HDR_LEN + len;
	if (off)
		*off = at;
	return 0;
}

unsigned pci_cfg_cap_find(const struct pci_cfg *c, uint8_t id)
{
	unsigned at = c->data[PCI_CFG_CAP_PTR] & ~(PCI_CAP_ALIGN - 1u);
	/* at most one capability per dword of the device-specific area: no loops */
	for (unsigned n = 0; at >= PCI_CFG_HEADER_END && n < (PCI_CFG_SIZE - PCI_CFG_HEADER_END) / PCI_CAP_ALIGN; n++) {
		if (c->data[at + PCI_CAP_ID] == id)
			return at;
		at = c->data[at + PCI_CAP_NEXT] & ~(PCI_CAP_ALIGN - 1u);
	}
	return 0;
}
