/* SPDX-License-Identifier: MIT */
/* vfio-pci: BARs mapped directly, split around the MSI-X table and PBA, or trapped; the expansion ROM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfio.h"

/* ---- BARs ------------------------------------------------------------------------- */

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct vbar *b = opaque;
	uint64_t val = 0;
	__atomic_fetch_add(&b->reads, 1, __ATOMIC_RELAXED);
	if (off + size > b->size || pread(b->v->device, &val, size, (off_t)(b->offset + off)) != (ssize_t)size)
		return UINT64_MAX;
	return val;
}

static void bar_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct vbar *b = opaque;
	__atomic_fetch_add(&b->writes, 1, __ATOMIC_RELAXED);
	if (off + size <= b->size)
		(void)!pwrite(b->v->device, &val, size, (off_t)(b->offset + off));
}

static const struct modvmm_io_ops bar_ops = { .read = bar_read, .write = bar_write };

/* The parts of BAR region `ri` the kernel lets us mmap: the areas of its
 * VFIO_REGION_INFO_CAP_SPARSE_MMAP, else all of it (with MSIX_MAPPABLE, or no
 * MSI-X here).  Page-aligned areas only; returns how many (<= max). */
static unsigned mmap_areas(struct vfio_pci *v, const struct vfio_region_info *ri, struct modvmm_bar_area *out,
                           unsigned max)
{
	out[0] = (struct modvmm_bar_area){ 0, ri->size };
	if (!(ri->flags & VFIO_REGION_INFO_FLAG_CAPS) || ri->argsz <= sizeof(*ri))
		return 1;
	struct vfio_region_info *full = calloc(1, ri->argsz);
	if (!full)
		return 0;
	full->argsz = ri->argsz;
	full->index = ri->index;
	unsigned n = 1;
	if (!ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, full) && full->argsz <= ri->argsz) {
		/* the chain: offsets from the start of the info, each header inside it */
		for (uint32_t at = full->cap_offset, hops = 0; at && hops < 16 &&
		     at + sizeof(struct vfio_info_cap_header) <= full->argsz; hops++) {
			const struct vfio_info_cap_header *h = (const void *)((const char *)full + at);
			if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP &&
			    at + sizeof(struct vfio_region_info_cap_sparse_mmap) <= full->argsz) {
				const struct vfio_region_info_cap_sparse_mmap *sp = (const void *)h;
				n = 0;
				for (uint32_t i = 0; i < sp->nr_areas && n < max &&
				     at + sizeof(*sp) + (i + 1) * sizeof(sp->areas[0]) <= full->argsz; i++) {
					const struct vfio_region_sparse_mmap_area *a = &sp->areas[i];
					if (a->size && !((a->offset | a->size) & (PAGE_SIZE_4K - 1)) && a->offset < ri->size &&
					    a->size <= ri->size - a->offset)
						out[n++] = (struct modvmm_bar_area){ a->offset, a->size };
				}
				break;
			}
			at = h->next;
		}
	}
	free(full);
	return n;
}

/* Maps the areas into one reservation of the BAR's size (the rest PROT_NONE,
 * never touched: the core traps it).  NULL if any mmap fails. */
static void *map_areas(struct vfio_pci *v, const struct vbar *b, const struct modvmm_bar_area *areas, unsigned n)
{
	void *base = mmap(NULL, b->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		void *p = mmap((char *)base + areas[i].offset, areas[i].size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		               v->device, (off_t)(b->offset + areas[i].offset));
		if (p == MAP_FAILED) {
			munmap(base, b->size);
			return NULL;
		}
	}
	return base;
}

int vfio_add_bar(struct vfio_pci *v, unsigned idx, unsigned *used)
{
	struct vbar *b = &v->bar[idx];
	*b = (struct vbar){ .v = v, .idx = idx };
	*used = 1;
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_BAR0_REGION_INDEX + idx };
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return vfio_fail(v, -errno, "BAR%u: VFIO_DEVICE_GET_REGION_INFO: %s", idx, strerror(errno));
	if (!ri.size)
		return 0;
	uint32_t reg = vfio_hw_cfg_read(v, CFG_BAR0 + 4 * idx, 4);
	b->io = reg & BAR_IO;
	bool mem64 = !b->io && (reg & BAR_MEM_TYPE_MASK) == BAR_MEM_TYPE_64;
	if (mem64)
		*used = 2;
	if (ri.size & (ri.size - 1))
		return vfio_fail(v, -EINVAL, "BAR%u: size 0x%llx is not a power of two", idx, (unsigned long long)ri.size);
	b->size = ri.size;
	b->offset = ri.offset;
	struct modvmm_bar desc = {
		.type = b->io ? MODVMM_BAR_IO : mem64 ? MODVMM_BAR_MEM64 : MODVMM_BAR_MEM32,
		.flags = !b->io && (reg & BAR_PREFETCH) ? MODVMM_BAR_F_PREFETCH : 0,
		.size = ri.size, .backing = MODVMM_BAR_TRAPPED, .ops = &bar_ops, .opaque = b,
	};
	bool msix = v->msix_nvec && (idx == v->msix_table_bar || idx == v->msix_pba_bar);
	struct modvmm_bar_area areas[MODVMM_BAR_MAX_AREAS + 1] = { { 0, 0 } };
	if (!b->io && !msix && (ri.flags & VFIO_REGION_INFO_FLAG_MMAP) && ri.size >= PAGE_SIZE_4K) {
		void *p = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, v->device, (off_t)ri.offset);
		if (p != MAP_FAILED) {
			b->map = p;
			desc.backing = MODVMM_BAR_HOSTBUF;
			desc.hostbuf = p;
		}
	} else if (!b->io && msix && (ri.flags & VFIO_REGION_INFO_FLAG_MMAP) && ri.size >= PAGE_SIZE_4K) {
		/* split: the mmappable areas direct, the core traps the MSI-X pages
		 * (and whatever the kernel would not let us map) */
		unsigned n = mmap_areas(v, &ri, areas, MODVMM_BAR_MAX_AREAS);
		void *p = n ? map_areas(v, b, areas, n) : NULL;
		if (p) {
			b->map = p;
			b->nareas = n;
			desc.hostbuf = p;
			desc.areas = areas;
		}
	}
	int ret = v->host->pci_bar(v->pci, idx, &desc);
	if (ret == -ENOSPC)
		return vfio_fail(v, ret, "BAR%u (%s, 0x%llx bytes) does not fit the guest's %s window", idx,
		            b->io ? "I/O" : mem64 ? "64-bit memory" : "32-bit memory", (unsigned long long)ri.size,
		            b->io ? "I/O" : mem64 ? "MMIO64" : "MMIO32");
	if (ret)
		return vfio_fail(v, ret, "BAR%u: %s", idx, strerror(-ret));
	return 0;
}

/* ---- expansion ROM (rom = on) ------------------------------------------------------ */

static uint64_t rom_read(void *opaque, uint64_t off, unsigned size)
{
	struct vfio_pci *v = opaque;
	uint64_t val = 0;
	if (off + size > v->rom_size)
		return UINT64_MAX;
	memcpy(&val, v->rom + off, size);   /* x86: little endian, like PCI */
	return val;
}

/* No write: the core drops guest writes to a ROM. */
static const struct modvmm_io_ops rom_ops = { .read = rom_read };

/* The guest's ROM BAR (PCI Local Bus 3.0 §6.2.5.2) with the device's ROM,
 * read once through VFIO's ROM region: a ROM does not change, and the
 * guest's reads then cost no system call (nor the host enabling its ROM BAR
 * for each).  Bytes past the ROM image read as VFIO gives them (0xff). */
int vfio_add_rom(struct vfio_pci *v)
{
	bool on = false;
	if (v->host->config_bool(v->dev, "rom", &on) || !on)
		return 0;
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_ROM_REGION_INDEX };
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return vfio_fail(v, -errno, "rom = on: VFIO_DEVICE_GET_REGION_INFO of the ROM: %s", strerror(errno));
	if (!ri.size)
		return vfio_fail(v, -ENODEV, "rom = on, but the function has no expansion ROM (set rom = off)");
	if (ri.size & (ri.size - 1))
		return vfio_fail(v, -EINVAL, "expansion ROM: size 0x%llx is not a power of two", (unsigned long long)ri.size);
	v->rom = malloc(ri.size);
	if (!v->rom)
		return -ENOMEM;
	for (uint64_t at = 0; at < ri.size;) {
		ssize_t n = pread(v->device, v->rom + at, ri.size - at, (off_t)(ri.offset + at));
		if (n <= 0)
			return vfio_fail(v, n ? -errno : -EIO, "reading the expansion ROM at 0x%llx: %s", (unsigned long long)at,
			            n ? strerror(errno) : "end of region");
		at += (uint64_t)n;
	}
	v->rom_size = ri.size;
	struct modvmm_bar desc = { .type = MODVMM_BAR_MEM32, .size = ri.size, .backing = MODVMM_BAR_TRAPPED,
	                           .ops = &rom_ops, .opaque = v };
	int ret = v->host->pci_bar(v->pci, MODVMM_PCI_ROM_BAR, &desc);
	return ret ? vfio_fail(v, ret, "expansion ROM (0x%llx bytes): %s", (unsigned long long)ri.size, strerror(-ret)) : 0;
}
