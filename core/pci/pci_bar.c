/* SPDX-License-Identifier: MIT */
/*
 * BARs: registration through the plugin ABI, the sizing protocol, address
 * windows, and mapping.  A BAR is mapped when its decode bit (COMMAND I/O or
 * memory) is on and it holds a real address; trapped BARs become I/O-bus ranges,
 * devmem and host-buffer BARs become KVM memslots.  A move unmaps first (memslot
 * deleted, range removed, doorbells deassigned) and maps at the new address, so
 * the old address is never reachable afterwards.  The expansion ROM (slot
 * PCI_ROM_BAR, register 0x30) is a read-only trapped MEM32 BAR that also needs
 * its register's ROM Enable bit to decode.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mem/devmem.h"
#include "pci/pci.h"

static uint64_t ones(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

void pci_window_init(struct pci_window *w, const char *name, uint64_t base, uint64_t end)
{
	*w = (struct pci_window){ .name = name, .base = base, .end = end, .next = base };
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int pci_window_alloc(struct pci_window *w, uint64_t size, uint64_t align, uint64_t *out)
{
	if (!pow2(size) || !pow2(align))
		return -EINVAL;
	if (w->next > UINT64_MAX - (align - 1))
		return -ENOSPC;
	uint64_t a = (w->next + align - 1) & ~(align - 1);
	if (a >= w->end || size > w->end - a)
		return -ENOSPC;
	*out = a;
	w->next = a + size;
	return 0;
}

static bool is_io(const struct pci_bar_state *b)
{
	return b->desc.type == MODVMM_BAR_IO;
}

static bool is_rom(const struct pci_bar_state *b)
{
	return b->idx == PCI_ROM_BAR;
}

const char *pci_bar_name(const struct pci_bar_state *b)
{
	static const char *const names[PCI_BAR_SLOTS] = { "BAR0", "BAR1", "BAR2", "BAR3", "BAR4", "BAR5", "ROM" };
	return names[b->idx];
}

static uint32_t type_bits(const struct pci_bar_state *b)
{
	if (is_rom(b))
		return b->rom_enable ? PCI_ROM_ENABLE : 0;
	if (is_io(b))
		return PCI_BAR_IO_SPACE;
	return (b->desc.type == MODVMM_BAR_MEM64 ? PCI_BAR_MEM_TYPE_64 : 0) |
	       (b->desc.flags & MODVMM_BAR_F_PREFETCH ? PCI_BAR_MEM_PREFETCH : 0);
}

/* Address bits of the low register: everything above the size and flag bits. */
static uint32_t low_mask(const struct pci_bar_state *b)
{
	if (is_rom(b))
		return (uint32_t)~(b->desc.size - 1) & PCI_ROM_ADDR_MASK;
	return (uint32_t)~(b->desc.size - 1) & ~(is_io(b) ? PCI_BAR_IO_FLAGS : PCI_BAR_MEM_FLAGS);
}

uint32_t pci_bar_reg_read(const struct modvmm_pci *pci, unsigned reg)
{
	if (reg >= PCI_BAR_SLOTS || !pci->bar[reg].present)
		return 0;
	const struct pci_bar_state *b = &pci->bar[reg];
	if (b->upper)
		return (uint32_t)(pci->bar[reg - 1].addr >> 32);
	return ((uint32_t)b->addr & low_mask(b)) | type_bits(b);
}

/* The guest is sizing: the address bits it wrote are all ones. */
static bool sizing(const struct pci_bar_state *b)
{
	uint32_t lo = (uint32_t)b->addr, hi = (uint32_t)(b->addr >> 32), lo_pat = low_mask(b);
	if (b->desc.type != MODVMM_BAR_MEM64)
		return lo == lo_pat;
	return (lo_pat && lo == lo_pat) || hi == (uint32_t)(~(b->desc.size - 1) >> 32);
}

static struct iobus *space_bus(const struct pci_bar_state *b)
{
	return is_io(b) ? b->fn->bus->pio : b->fn->bus->mmio;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a <= b + (blen - 1) && b <= a + (alen - 1);
}

/* 0 when [addr, addr + size) may hold this BAR; else a reason in why. */
static int check_place(const struct pci_bar_state *b, uint64_t addr, char *why, size_t len)
{
	const struct pci_bus *bus = b->fn->bus;
	uint64_t size = b->desc.size, last = addr + size - 1;
	if (last < addr || (is_io(b) && last >= PCI_IO_SPACE_END)) {
		snprintf(why, len, "outside the %s space", is_io(b) ? "64 KiB port" : "address");
		return -EINVAL;
	}
	if (!is_io(b)) {
		if (last >= bus->phys_limit) {
			snprintf(why, len, "beyond the guest physical address width");
			return -EINVAL;
		}
		if (mem_overlaps_ram(bus->mem, addr, size)) {
			snprintf(why, len, "overlaps guest RAM");
			return -EINVAL;
		}
		if (ranges_overlap(addr, size, PCI_RESERVED_BASE, PCI_RESERVED_END - PCI_RESERVED_BASE)) {
			snprintf(why, len, "overlaps the IOAPIC/LAPIC/KVM TSS area 0x%llx-0x%llx",
			         (unsigned long long)PCI_RESERVED_BASE, (unsigned long long)PCI_RESERVED_END - 1);
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < PCI_SLOTS * PCI_FUNCS; i++) {
		const struct modvmm_pci *f = bus->fns[i];
		for (unsigned j = 0; f && j < PCI_BAR_SLOTS; j++) {
			const struct pci_bar_state *o = &f->bar[j];
			if (o == b || !o->mapped || is_io(o) != is_io(b) || !ranges_overlap(addr, size, o->map_addr, o->desc.size))
				continue;
			snprintf(why, len, "overlaps %s of %s at 0x%llx", pci_bar_name(o), f->name, (unsigned long long)o->map_addr);
			return -EEXIST;
		}
	}
	return 0;
}

static uint64_t wrap_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bar_state *b = opaque;
	uint64_t v;
	if (msix_bar_access(b->fn, b->idx, off, size, false, &v))
		return v;
	const struct modvmm_io_ops *o = b->desc.ops;
	return o && o->read ? o->read(b->desc.opaque, off, size) : ones(size);
}

static void wrap_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct pci_bar_state *b = opaque;
	if (msix_bar_access(b->fn, b->idx, off, size, true, &v))
		return;
	const struct modvmm_io_ops *o = b->desc.ops;
	if (o && o->write)
		o->write(b->desc.opaque, off, size, v);
}

/* The expansion ROM is read-only (§6.2.5.2): guest writes never reach the device. */
static void rom_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	(void)opaque, (void)off, (void)size, (void)v;
}

/* Dispatch of a trapped BAR that holds the MSI-X table or PBA. */
static const struct modvmm_io_ops msix_wrap_ops = { .read = wrap_read, .write = wrap_write };
/* Dispatch of the ROM: the device's reads, no writes. */
static const struct modvmm_io_ops rom_wrap_ops = { .read = wrap_read, .write = rom_write };
/* A trapped BAR without handlers: reads all ones, writes dropped. */
static const struct modvmm_io_ops null_ops = { 0 };

static void direct_backing(const struct pci_bar_state *b, void **hva, uint64_t *len)
{
	if (b->desc.backing == MODVMM_BAR_DEVMEM) {
		*hva = b->desc.devmem->hva;
		*len = b->desc.devmem->size < b->desc.size ? b->desc.devmem->size : b->desc.size;
	} else {
		*hva = b->desc.hostbuf;
		*len = b->desc.size;
	}
}

static void unmap_pieces(struct pci_bar_state *b)
{
	while (b->npieces)
		b->fn->bus->ops->unmap(b->fn->bus->ctx, b->piece[--b->npieces].slot);
}

/* A split BAR: a memslot for each area, minus the pages of the MSI-X table
 * and PBA (those stay with the trapped range beneath). */
static int map_pieces(struct pci_bar_state *b, uint64_t addr, char *why, size_t len)
{
	uint64_t hoff[2], hlen[2];
	unsigned nholes = msix_bar_pages(b->fn, b->idx, hoff, hlen);
	if (nholes == 2 && hoff[1] < hoff[0]) {
		uint64_t t = hoff[0];
		hoff[0] = hoff[1], hoff[1] = t;
		t = hlen[0], hlen[0] = hlen[1], hlen[1] = t;
	}
	for (unsigned i = 0; i < b->nareas; i++) {
		uint64_t at = b->areas[i].offset, end = at + b->areas[i].size;
		for (unsigned h = 0; h <= nholes && at < end; h++) {
			uint64_t stop = h < nholes && hoff[h] < end ? hoff[h] : end;
			if (stop > at) {
				if (b->npieces == PCI_BAR_MAX_PIECES) {
					snprintf(why, len, "more than %u direct pieces", PCI_BAR_MAX_PIECES);
					return -ENOSPC;
				}
				int slot = b->fn->bus->ops->map(b->fn->bus->ctx, addr + at, stop - at, (uint8_t *)b->desc.hostbuf + at);
				if (slot < 0) {
					snprintf(why, len, "KVM refused the memory slot of 0x%llx+0x%llx: %s",
					         (unsigned long long)at, (unsigned long long)(stop - at), strerror(-slot));
					return slot;
				}
				b->piece[b->npieces++] = (struct pci_bar_piece){ .off = at, .len = stop - at, .slot = slot };
			}
			if (h < nholes && hoff[h] + hlen[h] > at)
				at = hoff[h] + hlen[h];
		}
	}
	return 0;
}

static int do_map(struct pci_bar_state *b, uint64_t addr, char *why, size_t len)
{
	struct pci_bus *bus = b->fn->bus;
	if (b->desc.backing == MODVMM_BAR_TRAPPED) {
		const struct modvmm_io_ops *ops = b->msix ? &msix_wrap_ops : is_rom(b) ? &rom_wrap_ops
		                                  : b->desc.ops ? b->desc.ops : &null_ops;
		void *opaque = b->msix || is_rom(b) ? b : b->desc.opaque;
		struct io_range c;
		int64_t id = iobus_add(space_bus(b), addr, b->desc.size, ops, opaque, &c);
		if (id < 0) {
			if (id == -EEXIST)
				snprintf(why, len, "overlaps the range 0x%llx-0x%llx of another device",
				         (unsigned long long)c.base, (unsigned long long)(c.base + c.len - 1));
			else
				snprintf(why, len, "%s", strerror((int)-id));
			return (int)id;
		}
		b->io_id = id;
		int ret = map_pieces(b, addr, why, len);
		if (ret) {
			unmap_pieces(b);
			iobus_remove(space_bus(b), id);
			b->io_id = 0;
			return ret;
		}
	} else {
		void *hva;
		uint64_t n;
		direct_backing(b, &hva, &n);
		int slot = bus->ops->map(bus->ctx, addr, n, hva);
		if (slot < 0) {
			snprintf(why, len, "KVM refused the memory slot: %s", strerror(-slot));
			return slot;
		}
		b->slot = slot;
	}
	b->mapped = true;
	b->map_addr = addr;
	pci_doorbells_attach(b);
	return 0;
}

static void do_unmap(struct pci_bar_state *b)
{
	if (!b->mapped)
		return;
	pci_doorbells_detach(b);
	if (b->desc.backing == MODVMM_BAR_TRAPPED) {
		unmap_pieces(b);
		iobus_remove(space_bus(b), b->io_id);
		b->io_id = 0;
	} else {
		b->fn->bus->ops->unmap(b->fn->bus->ctx, b->slot);
		b->slot = -1;
	}
	b->mapped = false;
}

static void try_map(struct pci_bar_state *b)
{
	char why[192];
	int ret = check_place(b, b->want_addr, why, sizeof(why));
	if (!ret)
		ret = do_map(b, b->want_addr, why, sizeof(why));
	if (!ret) {
		b->refused = false;
		return;
	}
	if (!b->refused || b->refused_addr != b->want_addr)
		pci_guest_warn(b->fn, "%s (%s, 0x%llx bytes) at 0x%llx not mapped: %s", pci_bar_name(b),
		        pci_bar_type_name(b), (unsigned long long)b->desc.size, (unsigned long long)b->want_addr, why);
	b->refused = true;
	b->refused_addr = b->want_addr;
}

/* A region was vacated: BARs refused for overlapping it may fit now. */
static void retry_refused(struct pci_bus *bus)
{
	for (unsigned i = 0; i < PCI_SLOTS * PCI_FUNCS; i++)
		for (unsigned j = 0; bus->fns[i] && j < PCI_BAR_SLOTS; j++) {
			struct pci_bar_state *o = &bus->fns[i]->bar[j];
			if (o->want && !o->mapped)
				try_map(o);
		}
}

/* Recompute what the guest asks for and make the mapping match (fn lock held). */
static void update(struct pci_bar_state *b)
{
	struct pci_bus *bus = b->fn->bus;
	uint16_t cmd = (uint16_t)pci_cfg_get(&b->fn->cfg, PCI_CFG_COMMAND, 2);
	/* the ROM decodes with both its enable bit and memory space (§6.2.5.2) */
	bool decode = cmd & (is_io(b) ? PCI_CMD_IO : PCI_CMD_MEM) && (!is_rom(b) || b->rom_enable);
	pthread_mutex_lock(&bus->map_lock);
	b->want = b->present && !b->upper && decode && b->addr != 0 && !sizing(b);
	b->want_addr = b->addr;
	bool vacated = false;
	if (b->mapped && (!b->want || b->map_addr != b->want_addr)) {
		do_unmap(b);
		vacated = true;
	}
	if (!b->want)
		b->refused = false;
	else if (!b->mapped)
		try_map(b);
	if (vacated)
		retry_refused(bus);
	pthread_mutex_unlock(&bus->map_lock);
}

void pci_bar_reg_write(struct modvmm_pci *pci, unsigned reg, uint32_t v)
{
	if (reg >= PCI_BAR_SLOTS || !pci->bar[reg].present)
		return;
	struct pci_bar_state *b = &pci->bar[reg];
	if (is_rom(b)) {
		b->addr = v & low_mask(b);
		b->rom_enable = v & PCI_ROM_ENABLE;
	} else if (b->upper) {
		b = &pci->bar[reg - 1];
		b->addr = ((b->addr & UINT32_MAX) | ((uint64_t)v << 32)) & ~(b->desc.size - 1);
	} else {
		uint64_t hi = b->desc.type == MODVMM_BAR_MEM64 ? b->addr & ~(uint64_t)UINT32_MAX : 0;
		b->addr = hi | (v & low_mask(b));
	}
	update(b);
}

void pci_bar_update_all(struct modvmm_pci *pci)
{
	for (unsigned i = 0; i < PCI_BAR_SLOTS; i++)
		if (pci->bar[i].present && !pci->bar[i].upper)
			update(&pci->bar[i]);
}

void pci_bar_reset_all(struct modvmm_pci *pci)
{
	for (unsigned i = 0; i < PCI_BAR_SLOTS; i++) {
		pci->bar[i].addr = 0;
		pci->bar[i].rom_enable = false;
	}
	pci_bar_update_all(pci);
}

void pci_bar_remap(struct pci_bar_state *b)
{
	struct pci_bus *bus = b->fn->bus;
	pthread_mutex_lock(&bus->map_lock);
	if (b->mapped) {
		do_unmap(b);
		try_map(b);
	}
	pthread_mutex_unlock(&bus->map_lock);
}

void pci_bar_release(struct modvmm_pci *pci)
{
	pthread_mutex_lock(&pci->bus->map_lock);
	for (unsigned i = 0; i < PCI_BAR_SLOTS; i++) {
		struct pci_bar_state *b = &pci->bar[i];
		b->want = false;
		do_unmap(b);
		pci_doorbells_free(b);
	}
	pthread_mutex_unlock(&pci->bus->map_lock);
}

/* ABI 2.3 areas of a split BAR: page aligned, inside the BAR, at most
 * MODVMM_BAR_MAX_AREAS; *n gets how many. */
static int check_areas(const struct modvmm_bar *bar, unsigned *n)
{
	*n = 0;
	if (!bar->areas)
		return 0;
	if (bar->backing != MODVMM_BAR_TRAPPED || bar->type == MODVMM_BAR_IO || bar->size < PCI_PAGE_SIZE ||
	    !bar->hostbuf || ((uintptr_t)bar->hostbuf & (PCI_PAGE_SIZE - 1)))
		return -EINVAL;
	for (const struct modvmm_bar_area *a = bar->areas; a->size; a++, (*n)++) {
		if (*n == MODVMM_BAR_MAX_AREAS || (a->offset | a->size) & (PCI_PAGE_SIZE - 1) || a->offset >= bar->size ||
		    a->size > bar->size - a->offset)
			return -EINVAL;
	}
	return 0;
}

/* The ROM: 32-bit memory, trapped (read-only to the guest), no flags (§6.2.5.2). */
static int check_rom(const struct modvmm_bar *bar)
{
	return bar->type == MODVMM_BAR_MEM32 && bar->backing == MODVMM_BAR_TRAPPED && !bar->flags && !bar->areas &&
	       pow2(bar->size) && bar->size >= PCI_ROM_MIN ? 0 : -EINVAL;
}

static int check_desc(const struct modvmm_bar *bar)
{
	bool io = bar->type == MODVMM_BAR_IO;
	if ((bar->type != MODVMM_BAR_IO && bar->type != MODVMM_BAR_MEM32 && bar->type != MODVMM_BAR_MEM64) ||
	    (bar->flags & ~MODVMM_BAR_F_PREFETCH) || (io && bar->flags))
		return -EINVAL;
	/* a BAR bigger than its window is -ENOSPC (pci_window_alloc): it does not
	 * fit, like one that finds the window full */
	if (!pow2(bar->size) || bar->size < (io ? PCI_BAR_IO_MIN : PCI_BAR_MEM_MIN))
		return -EINVAL;
	switch (bar->backing) {
	case MODVMM_BAR_TRAPPED:
		return 0;
	case MODVMM_BAR_DEVMEM:
		return !io && bar->devmem && bar->size >= PCI_PAGE_SIZE ? 0 : -EINVAL;
	case MODVMM_BAR_HOSTBUF:
		return !io && bar->hostbuf && !((uintptr_t)bar->hostbuf & (PCI_PAGE_SIZE - 1)) &&
		       bar->size >= PCI_PAGE_SIZE ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

int pci_bar_add(struct modvmm_pci *pci, unsigned idx, const struct modvmm_bar *bar)
{
	if (!pci || !bar || idx >= PCI_BAR_SLOTS)
		return -EINVAL;
	bool rom = idx == PCI_ROM_BAR;
	if (rom && pci->abi_minor < 4)
		return -EINVAL;   /* the ROM register came with ABI 2.4 */
	struct pci_bus *bus = pci->bus;
	struct pci_window *w = bar->type == MODVMM_BAR_IO ? &bus->io : bar->type == MODVMM_BAR_MEM32 ? &bus->mem32
	                                                                                              : &bus->mem64;
	struct modvmm_bar desc = *bar;
	if (pci->abi_minor < 3)
		desc.areas = NULL;   /* a reserved slot before 2.3 */
	bar = &desc;
	unsigned nareas;
	int ret = rom ? check_rom(bar) : check_desc(bar);
	if (!ret)
		ret = check_areas(bar, &nareas);
	if (ret)
		return ret;
	bool wide = bar->type == MODVMM_BAR_MEM64;
	if (wide && idx + 1 >= PCI_NUM_BARS)
		return -EINVAL;
	pthread_mutex_lock(&pci->lock);
	struct pci_bar_state *b = &pci->bar[idx];
	uint64_t addr = 0;
	if (b->present || (wide && pci->bar[idx + 1].present))
		ret = -EBUSY;
	else
		ret = pci_window_alloc(w, bar->size, bar->type == MODVMM_BAR_IO || bar->size > PCI_PAGE_SIZE
		                                     ? bar->size : PCI_PAGE_SIZE, &addr);
	if (ret == -ENOSPC)
		pci_log(pci, MODVMM_LOG_ERROR, "%s: no room for 0x%llx bytes in the %s window", pci_bar_name(b),
		        (unsigned long long)bar->size, w->name);
	if (!ret) {
		b->desc = *bar;
		b->desc.areas = NULL;   /* copied: the plugin's list need not stay */
		b->nareas = nareas;
		memcpy(b->areas, bar->areas, nareas * sizeof(b->areas[0]));
		b->present = true;
		b->addr = addr;
		if (wide)
			pci->bar[idx + 1].present = pci->bar[idx + 1].upper = true;
		/* like firmware: addresses assigned and decoding enabled before the
		 * guest runs; a ROM stays disabled until the guest enables it */
		uint16_t cmd = (uint16_t)pci_cfg_get(&pci->cfg, PCI_CFG_COMMAND, 2);
		if (!rom)
			pci_cfg_set(&pci->cfg, PCI_CFG_COMMAND, 2, cmd | (bar->type == MODVMM_BAR_IO ? PCI_CMD_IO : PCI_CMD_MEM));
		update(b);
	}
	pthread_mutex_unlock(&pci->lock);
	return ret;
}

uint64_t pci_bar_addr(struct modvmm_pci *pci, unsigned idx)
{
	if (!pci || idx >= PCI_BAR_SLOTS)
		return 0;
	pthread_mutex_lock(&pci->bus->map_lock);
	uint64_t a = pci->bar[idx].mapped ? pci->bar[idx].map_addr : 0;
	pthread_mutex_unlock(&pci->bus->map_lock);
	return a;
}

const char *pci_bar_type_name(const struct pci_bar_state *b)
{
	switch (b->desc.type) {
	case MODVMM_BAR_IO:
		return "io";
	case MODVMM_BAR_MEM32:
		return b->desc.flags & MODVMM_BAR_F_PREFETCH ? "mem32 pref" : "mem32";
	default:
		return b->desc.flags & MODVMM_BAR_F_PREFETCH ? "mem64 pref" : "mem64";
	}
}

const char *pci_bar_backing_name(const struct pci_bar_state *b)
{
	switch (b->desc.backing) {
	case MODVMM_BAR_DEVMEM:
		return "devmem";
	case MODVMM_BAR_HOSTBUF:
		return "host buffer";
	default:
		return "trapped";
	}
}
