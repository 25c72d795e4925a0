/* SPDX-License-Identifier: MIT */
/* vfio-pci: the device's configuration space, the guest's view of it (MSI, PCIe FLR, bus master) and interrupts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vfio.h"

/* ---- the device's configuration space --------------------------------------- */

uint32_t vfio_hw_cfg_read(struct vfio_pci *v, unsigned off, unsigned size)
{
	uint32_t val = 0;
	if (pread(v->device, &val, size, (off_t)(v->cfg_offset + off)) != (ssize_t)size)
		return UINT32_MAX;
	return val;
}

void vfio_hw_cfg_write(struct vfio_pci *v, unsigned off, unsigned size, uint32_t val)
{
	if (pwrite(v->device, &val, size, (off_t)(v->cfg_offset + off)) != (ssize_t)size)
		vfio_fail(v, -errno, "configuration write at 0x%x: %s", off, strerror(errno));
}

/* Offset of the device's capability `id`, 0 if none (§6.7). */
unsigned vfio_hw_find_cap(struct vfio_pci *v, uint8_t id)
{
	if (!(vfio_hw_cfg_read(v, CFG_STATUS, 2) & STATUS_CAPS))
		return 0;
	unsigned off = vfio_hw_cfg_read(v, CFG_CAP_PTR, 1) & ~3u;
	for (int n = 0; n < CAP_MAX_WALK && off >= CFG_HEADER_END && off < CFG_SIZE; n++) {
		if (vfio_hw_cfg_read(v, off, 1) == id)
			return off;
		off = vfio_hw_cfg_read(v, off + 1, 1) & ~3u;
	}
	return 0;
}

/* ---- interrupts ---------------------------------------------------------------- */

/* VFIO_DEVICE_SET_IRQS with `count` eventfds (count 0: disable the index). */
int vfio_set_irqs(struct vfio_pci *v, unsigned index, unsigned action, const int *fds, unsigned count)
{
	size_t sz = sizeof(struct vfio_irq_set) + count * sizeof(int);
	struct vfio_irq_set *s = calloc(1, sz);
	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)sz;
	s->flags = (count ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE) | action;
	s->index = index;
	s->count = count;
	if (count)
		memcpy(s->data, fds, count * sizeof(int));
	int ret = ioctl(v->device, VFIO_DEVICE_SET_IRQS, s) ? -errno : 0;
	free(s);
	return ret;
}

void vfio_intx_enable(struct vfio_pci *v, bool on)
{
	if (!v->irq_pin || v->intx_on == on)
		return;
	int ret = 0;
	if (on) {
		ret = vfio_set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, &v->intx_trigger, 1);
		if (!ret)
			ret = vfio_set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, &v->intx_resample, 1);
	} else {
		ret = vfio_set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
	}
	if (ret && !v->warned_irq)
		vfio_fail(v, ret, "INTx %s: %s", on ? "enable" : "disable", strerror(-ret));
	v->warned_irq |= ret != 0;
	v->intx_on = on && !ret;
}

/* The guest wrote the MSI capability: route the vectors and enable, resize or
 * disable MSI in VFIO (INTx is off while MSI is on, as on real hardware). */
static void msi_update(struct vfio_pci *v)
{
	const struct modvmm_host *h = v->host;
	unsigned cap = v->msi_cap;
	uint16_t ctl = (uint16_t)h->pci_config_read(v->pci, cap + MSI_CONTROL, 2);
	uint64_t addr = h->pci_config_read(v->pci, cap + MSI_ADDR_LO, 4) |
	                (uint64_t)h->pci_config_read(v->pci, cap + MSI_ADDR_HI, 4) << 32;
	uint32_t data = h->pci_config_read(v->pci, cap + MSI_DATA, 2);
	bool on = ctl & MSI_CTL_ENABLE;
	unsigned mme = (ctl >> MSI_CTL_MME_SHIFT) & MSI_CTL_MM_MASK;
	unsigned nvec = on ? 1u << (mme > v->msi_log2 ? v->msi_log2 : mme) : 0;
	int fds[1u << MSI_MAX_LOG2];
	for (unsigned i = 0; i < (1u << v->msi_log2); i++) {
		/* §6.8.1.6: vector i sends the data with its low bits replaced by i */
		uint32_t d = i < nvec ? (data & ~(nvec - 1)) | i : data;
		fds[i] = h->pci_msi_vector(v->pci, i, addr, d, i < nvec);
		if (fds[i] < 0 && i < nvec)
			nvec = i;   /* routed what we could; the core warned */
	}
	if (nvec == v->msi_on)
		return;
	int ret = 0;
	if (v->msi_on)
		ret = vfio_set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
	v->msi_on = 0;
	if (nvec) {
		vfio_intx_enable(v, false);
		ret = vfio_set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, fds, nvec);
		v->msi_on = ret ? 0 : nvec;
	} else {
		vfio_intx_enable(v, true);
	}
	if (ret && !v->warned_irq)
		vfio_fail(v, ret, "MSI with %u vectors: %s", nvec, strerror(-ret));
	v->warned_irq |= ret != 0;
}

/* Guest-writable bits of the virtual MSI capability, by byte. */
static uint8_t msi_wmask(unsigned off)
{
	switch (off) {
	case MSI_CONTROL:
		return (uint8_t)(MSI_CTL_ENABLE | MSI_CTL_MM_MASK << MSI_CTL_MME_SHIFT);
	case MSI_ADDR_LO:
		return 0xfc;           /* the message address is dword aligned */
	case MSI_ADDR_LO + 1: case MSI_ADDR_LO + 2: case MSI_ADDR_LO + 3:
	case MSI_ADDR_HI: case MSI_ADDR_HI + 1: case MSI_ADDR_HI + 2: case MSI_ADDR_HI + 3:
	case MSI_DATA: case MSI_DATA + 1:
		return 0xff;
	default:
		return 0;
	}
}

static int cfg_read(void *opaque, unsigned offset, unsigned size, uint32_t *value)
{
	(void)opaque, (void)offset, (void)size, (void)value;
	return -ENOENT;    /* the core's store: the virtual capability, zeros elsewhere */
}

/* FLR of the guest's MSI capability: every guest-writable bit 0 (enable,
 * Multiple Message Enable, address, data), so its vectors stop and INTx
 * takes over as on a function fresh from reset. */
static void msi_reset(struct vfio_pci *v)
{
	for (unsigned i = 0; v->msi_cap && i < MSI_LEN; i++) {
		uint8_t old = (uint8_t)v->host->pci_config_read(v->pci, v->msi_cap + i, 1);
		v->host->pci_config_write(v->pci, v->msi_cap + i, 1, old & ~msi_wmask(i));
	}
	if (v->msi_cap)
		msi_update(v);
}

/* The guest set Initiate FLR: reset the physical function through VFIO (FLR,
 * or the best reset the host has), which restores the function's saved
 * configuration (MSI-X included: VFIO's MSI-X stays enabled, msix_on with it,
 * and the core's emulation decides delivery).  Then the guest's view as an
 * FLR leaves it (PCIe Base 4.0 §6.6.2; host->pci_reset: COMMAND 0, BARs and
 * ROM 0, MSI-X off), the MSI emulated here off, bus mastering off in the
 * physical function (the guest's COMMAND now says so) and decode on as
 * always.  Linux saves the configuration before an FLR and restores it after. */
static void guest_reset(struct vfio_pci *v)
{
	if (ioctl(v->device, VFIO_DEVICE_RESET)) {
		if (!v->warned_reset)
			vfio_fail(v, -errno, "guest-initiated reset: VFIO_DEVICE_RESET: %s", strerror(errno));
		v->warned_reset = true;
		return;
	}
	__atomic_fetch_add(&v->resets, 1, __ATOMIC_RELAXED);
	v->host->pci_reset(v->pci);
	msi_reset(v);
	uint32_t cmd = vfio_hw_cfg_read(v, CFG_COMMAND, 2);
	if (cmd != UINT32_MAX)
		vfio_hw_cfg_write(v, CFG_COMMAND, 2, cmd | CMD_IO | CMD_MEM);
	vfio_set_master(v, v->host->pci_config_read(v->pci, CFG_COMMAND, 2) & CMD_MASTER);
	v->host->log(v->dev, MODVMM_LOG_DEBUG, "host %s: function level reset by the guest", v->addr);
}

static int cfg_write(void *opaque, unsigned offset, unsigned size, uint32_t value)
{
	struct vfio_pci *v = opaque;
	if (v->exp_cap && offset < v->exp_cap + EXP_LEN && v->exp_cap < offset + size) {
		/* read-only but for Initiate FLR, bit 15 of Device Control */
		unsigned flr_byte = v->exp_cap + EXP_DEVCTL + 1;
		if (offset <= flr_byte && flr_byte < offset + size && ((value >> (8 * (flr_byte - offset))) & 0x80))
			guest_reset(v);
		return 0;
	}
	if (!v->msi_cap || offset + size <= v->msi_cap || offset >= v->msi_cap + MSI_LEN)
		return -ENOENT;   /* dropped: other registers are not the guest's to write */
	for (unsigned i = 0; i < size; i++) {
		unsigned off = offset + i;
		if (off < v->msi_cap || off >= v->msi_cap + MSI_LEN)
			continue;
		uint8_t m = msi_wmask(off - v->msi_cap);
		uint8_t old = (uint8_t)v->host->pci_config_read(v->pci, off, 1);
		uint8_t b = (uint8_t)(value >> (8 * i));
		v->host->pci_config_write(v->pci, off, 1, (old & ~m) | (b & m));
	}
	msi_update(v);
	return 0;
}

/* The guest's PCIe capability: FLR only, when the device has FLR and VFIO
 * can reset it. */
int vfio_add_exp_cap(struct vfio_pci *v)
{
	unsigned hw = v->can_reset ? vfio_hw_find_cap(v, CAP_ID_EXP) : 0;
	if (!hw || vfio_hw_cfg_read(v, hw + EXP_DEVCAP, 4) == UINT32_MAX || !(vfio_hw_cfg_read(v, hw + EXP_DEVCAP, 4) & EXP_DEVCAP_FLR))
		return 0;
	uint8_t body[EXP_LEN - 2] = { 0 };
	uint16_t flags = EXP_FLAGS_VERS2 | EXP_TYPE_RC_END;
	uint32_t devcap = EXP_DEVCAP_FLR;
	memcpy(body + EXP_FLAGS - 2, &flags, sizeof(flags));   /* x86: little endian, like PCI */
	memcpy(body + EXP_DEVCAP - 2, &devcap, sizeof(devcap));
	int ret = v->host->pci_cap_add(v->pci, CAP_ID_EXP, body, sizeof(body), &v->exp_cap);
	return ret ? vfio_fail(v, ret, "cannot add the PCI Express capability: %s", strerror(-ret)) : 0;
}

/* The physical function masters the bus only while the guest's COMMAND says
 * so (§6.2.2): a guest that turns bus mastering off stops the device's DMA and
 * its MSI/MSI-X writes.  Memory and I/O decode stay on in the physical
 * function (the guest's own decode bits act on its view: the core removes the
 * memslots and trapped ranges), and INTx disable is VFIO's own (it masks the
 * line with it). */
void vfio_set_master(struct vfio_pci *v, bool on)
{
	uint32_t cmd = vfio_hw_cfg_read(v, CFG_COMMAND, 2);
	uint32_t want = on ? cmd | CMD_MASTER : cmd & ~CMD_MASTER;
	if (cmd != UINT32_MAX && want != cmd)
		vfio_hw_cfg_write(v, CFG_COMMAND, 2, want);
}

static void cfg_header_written(void *opaque, unsigned offset, unsigned size, uint32_t value)
{
	struct vfio_pci *v = opaque;
	(void)value;
	if (offset <= CFG_COMMAND && CFG_COMMAND < offset + size)
		vfio_set_master(v, v->host->pci_config_read(v->pci, CFG_COMMAND, 2) & CMD_MASTER);
}

const struct modvmm_pci_cfg_ops vfio_cfg_ops = { .read = cfg_read, .write = cfg_write,
                                                   .header_written = cfg_header_written };

/* The guest's view of the device's MSI capability: the same vector count and a
 * 64-bit address, no per-vector masking. */
int vfio_add_msi_cap(struct vfio_pci *v)
{
	unsigned hw = vfio_hw_find_cap(v, CAP_ID_MSI);
	if (!hw)
		return 0;
	uint16_t hw_ctl = (uint16_t)vfio_hw_cfg_read(v, hw + MSI_CONTROL, 2);
	v->msi_log2 = (hw_ctl >> MSI_CTL_MMC_SHIFT) & MSI_CTL_MM_MASK;
	if (v->msi_log2 > MSI_MAX_LOG2)
		v->msi_log2 = MSI_MAX_LOG2;
	uint8_t body[MSI_LEN - 2] = { 0 };
	uint16_t ctl = (uint16_t)(MSI_CTL_64BIT | v->msi_log2 << MSI_CTL_MMC_SHIFT);
	memcpy(body, &ctl, sizeof(ctl));  /* x86: little endian, like PCI */
	int ret = v->host->pci_cap_add(v->pci, CAP_ID_MSI, body, sizeof(body), &v->msi_cap);
	return ret ? vfio_fail(v, ret, "cannot add the MSI capability: %s", strerror(-ret)) : 0;
}
