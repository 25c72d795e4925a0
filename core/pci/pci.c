/* SPDX-License-Identifier: MIT */
/* PCI bus 0: host bridge, type-1 configuration access, functions, INTx. */
#include "pci/pci.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "plugin/dev.h"
#include "log.h"

#define PCI_DEFAULT_PHYS_BITS 36   /* when CPUID does not say (unit tests) */

static uint32_t all_ones(unsigned size)
{
	return size >= 4 ? UINT32_MAX : (1u << (size * 8)) - 1;
}

void pci_log(const struct modvmm_pci *pci, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, pci->name, fmt, ap);
	va_end(ap);
}

void pci_guest_warn(struct modvmm_pci *pci, const char *fmt, ...)
{
	unsigned n = __atomic_fetch_add(&pci->warnings, 1, __ATOMIC_RELAXED);
	if (n > PCI_WARN_LIMIT)
		return;
	if (n == PCI_WARN_LIMIT) {
		pci_log(pci, MODVMM_LOG_WARN, "more guest programming errors; not shown");
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(MODVMM_LOG_WARN, pci->name, fmt, ap);
	va_end(ap);
}

struct modvmm_pci *pci_func_at(struct pci_bus *bus, unsigned slot, unsigned fn)
{
	return slot < PCI_SLOTS && fn < PCI_FUNCS ? bus->fns[slot * PCI_FUNCS + fn] : NULL;
}

/* ---- configuration space as the guest sees it ---- */

static bool touches(unsigned off, unsigned size, unsigned reg, unsigned reg_size)
{
	return off < reg + reg_size && reg < off + size;
}

static bool hook_applies(const struct modvmm_pci *pci, unsigned off, unsigned size)
{
	return pci->cfg_ops && off >= PCI_CFG_HEADER_END && !msix_cap_touched(pci, off, size);
}

/* Whether [off, off + size) overlaps a BAR register or the ROM register. */
static bool touches_bar_regs(unsigned off, unsigned size)
{
	return touches(off, size, PCI_CFG_BAR0, PCI_CFG_BAR_END - PCI_CFG_BAR0) ||
	       touches(off, size, PCI_CFG_ROM, PCI_BAR_REG_SIZE);
}

static bool is_bar_reg(unsigned off)
{
	return touches_bar_regs(off, 1);
}

/* The bar[] slot of the BAR or ROM register holding offset `off` (is_bar_reg). */
static unsigned bar_reg_slot(unsigned off)
{
	return off >= PCI_CFG_ROM ? PCI_ROM_BAR : (off - PCI_CFG_BAR0) / PCI_BAR_REG_SIZE;
}

static void intx_update(struct modvmm_pci *pci)
{
	uint16_t cmd = (uint16_t)pci_cfg_get(&pci->cfg, PCI_CFG_COMMAND, 2);
	bool line = pci->intx_level && !(cmd & PCI_CMD_INTX_DISABLE);
	if (line == pci->intx_line)
		return;
	int ret = irq_intx_change(&pci->bus->irq, pci->intx_gsi, pci->intx_line, line);
	if (ret)
		pci_log(pci, MODVMM_LOG_WARN, "INTx GSI %u: %s", pci->intx_gsi, strerror(-ret));
	pci->intx_line = line;
}

/* Side effects of a configuration write (guest or device). */
static void after_write(struct modvmm_pci *pci, unsigned off, unsigned size, uint16_t old_cmd)
{
	if (touches(off, size, PCI_CFG_COMMAND, 2)) {
		uint16_t cmd = (uint16_t)pci_cfg_get(&pci->cfg, PCI_CFG_COMMAND, 2);
		if ((cmd ^ old_cmd) & (PCI_CMD_IO | PCI_CMD_MEM))
			pci_bar_update_all(pci);
		if ((cmd ^ old_cmd) & PCI_CMD_INTX_DISABLE && pci->intx_gsi)
			intx_update(pci);
		if ((cmd ^ old_cmd) & PCI_CMD_MASTER && pci->msix)
			msix_control_written(pci);
	}
	if (pci->msix && msix_cap_touched(pci, off, size))
		msix_control_written(pci);
}

uint32_t pci_guest_cfg_read(struct modvmm_pci *pci, unsigned off, unsigned size)
{
	if (!pci_cfg_access_ok(off, size))
		return all_ones(size);
	uint32_t v;
	pthread_mutex_lock(&pci->lock);
	if (is_bar_reg(off)) {
		v = pci_bar_reg_read(pci, bar_reg_slot(off)) >> (8 * (off & 3));
		v &= all_ones(size);
	} else if (hook_applies(pci, off, size) && pci->cfg_ops->read) {
		int r = pci->cfg_ops->read(pci->cfg_opaque, off, size, &v);
		if (r == -ENOENT)
			v = pci_cfg_get(&pci->cfg, off, size);
		else if (r)
			v = all_ones(size);
		v &= all_ones(size);
	} else {
		v = pci_cfg_get(&pci->cfg, off, size);
	}
	pthread_mutex_unlock(&pci->lock);
	return v;
}

void pci_guest_cfg_write(struct modvmm_pci *pci, unsigned off, unsigned size, uint32_t v)
{
	if (!pci_cfg_access_ok(off, size))
		return;
	v &= all_ones(size);
	pthread_mutex_lock(&pci->lock);
	bool header = false;   /* the core wrote a header register: tell the device */
	if (is_bar_reg(off)) {
		unsigned reg = bar_reg_slot(off), shift = 8 * (off & 3);
		uint32_t mask = all_ones(size) << shift;
		uint32_t cur = pci_bar_reg_read(pci, reg);
		pci_bar_reg_write(pci, reg, (cur & ~mask) | (v << shift));
		header = true;
	} else if (hook_applies(pci, off, size) && pci->cfg_ops->write &&
	           pci->cfg_ops->write(pci->cfg_opaque, off, size, v) != -ENOENT) {
		/* handled (or refused) by the device */
	} else {
		uint16_t old_cmd = (uint16_t)pci_cfg_get(&pci->cfg, PCI_CFG_COMMAND, 2);
		pci_cfg_guest_write(&pci->cfg, off, size, v);
		after_write(pci, off, size, old_cmd);
		header = off < PCI_CFG_HEADER_END;
	}
	if (header && pci->header_written)
		pci->header_written(pci->cfg_opaque, off, size, v);
	pthread_mutex_unlock(&pci->lock);
}

/* ---- the device's view (host services) ---- */

static bool device_access_ok(unsigned off, unsigned size)
{
	return (size == 1 || size == 2 || size == 4) && off < PCI_CFG_SIZE && size <= PCI_CFG_SIZE - off;
}

uint32_t pci_config_read(struct modvmm_pci *pci, unsigned offset, unsigned size)
{
	if (!pci || !device_access_ok(offset, size))
		return all_ones(size > 4 ? 4 : size);
	pthread_mutex_lock(&pci->lock);
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++) {
		unsigned o = offset + i;
		uint32_t b = is_bar_reg(o) ? pci_bar_reg_read(pci, bar_reg_slot(o)) >> (8 * (o & 3))
		                           : pci->cfg.data[o];
		v |= (b & 0xffu) << (8 * i);
	}
	pthread_mutex_unlock(&pci->lock);
	return v;
}

void pci_config_write(struct modvmm_pci *pci, unsigned offset, unsigned size, uint32_t v)
{
	if (!pci || !device_access_ok(offset, size))
		return;
	pthread_mutex_lock(&pci->lock);
	if (touches_bar_regs(offset, size)) {
		pci_log(pci, MODVMM_LOG_WARN, "device write to BAR or ROM registers at 0x%x ignored (use pci_bar)", offset);
	} else {
		uint16_t old_cmd = (uint16_t)pci_cfg_get(&pci->cfg, PCI_CFG_COMMAND, 2);
		pci_cfg_set(&pci->cfg, offset, size, v);
		after_write(pci, offset, size, old_cmd);
	}
	pthread_mutex_unlock(&pci->lock);
}

void pci_reset(struct modvmm_pci *pci)
{
	if (!pci)
		return;
	pthread_mutex_lock(&pci->lock);
	uint16_t old_cmd = (uint16_t)pci_cfg_get(&pci->cfg, PCI_CFG_COMMAND, 2);
	uint16_t status = (uint16_t)pci_cfg_get(&pci->cfg, PCI_CFG_STATUS, 2);
	pci_cfg_set(&pci->cfg, PCI_CFG_COMMAND, 2, 0);
	pci_cfg_set(&pci->cfg, PCI_CFG_STATUS, 2, status & ~PCI_STATUS_W1C);
	pci_bar_reset_all(pci);
	if (pci->msix)
		msix_reset(pci);
	/* decode off (unmapped above), INTx disable off, bus mastering off */
	after_write(pci, PCI_CFG_COMMAND, 2, old_cmd);
	pthread_mutex_unlock(&pci->lock);
}

int pci_cap_add(struct modvmm_pci *pci, uint8_t cap_id, const void *body, unsigned len, unsigned *offset)
{
	if (!pci || cap_id == PCI_CAP_ID_MSIX)
		return -EINVAL;
	pthread_mutex_lock(&pci->lock);
	int ret = pci_cfg_cap_add(&pci->cfg, cap_id, body, len, offset);
	pthread_mutex_unlock(&pci->lock);
	return ret;
}

/* ---- INTx ---- */

int pci_intx(struct modvmm_pci *pci, int level)
{
	if (!pci || !pci->intx_gsi)
		return -EINVAL;
	pthread_mutex_lock(&pci->lock);
	pci->intx_level = level != 0;
	uint16_t status = (uint16_t)pci_cfg_get(&pci->cfg, PCI_CFG_STATUS, 2);
	status = (uint16_t)(level ? status | PCI_STATUS_INTX : status & ~PCI_STATUS_INTX);
	pci_cfg_set(&pci->cfg, PCI_CFG_STATUS, 2, status);
	intx_update(pci);
	pthread_mutex_unlock(&pci->lock);
	return 0;
}

int pci_intx_fds(struct modvmm_pci *pci, int *trigger, int *resample)
{
	if (!pci || !pci->intx_gsi || !trigger || !resample)
		return -EINVAL;
	pthread_mutex_lock(&pci->lock);
	int ret = 0;
	if (pci->intx_trigger < 0) {
		int t = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), r = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ret = t < 0 || r < 0 ? -errno : irq_irqfd(&pci->bus->irq, t, pci->intx_gsi, r, true);
		if (ret) {
			if (t >= 0)
				close(t);
			if (r >= 0)
				close(r);
		} else {
			pci->intx_trigger = t;
			pci->intx_resample = r;
		}
	}
	if (!ret) {
		*trigger = pci->intx_trigger;
		*resample = pci->intx_resample;
	}
	pthread_mutex_unlock(&pci->lock);
	return ret;
}

/* ---- functions ---- */

static bool slot_empty(const struct pci_bus *bus, unsigned slot)
{
	for (unsigned f = 0; f < PCI_FUNCS; f++)
		if (bus->fns[slot * PCI_FUNCS + f])
			return false;
	return true;
}

/* HEADER_TYPE bit 7 on function 0 tells enumeration to probe functions 1-7. */
static void update_multifunction(struct pci_bus *bus, unsigned slot)
{
	struct modvmm_pci *f0 = bus->fns[slot * PCI_FUNCS];
	if (!f0)
		return;
	bool multi = false;
	for (unsigned f = 1; f < PCI_FUNCS; f++)
		multi |= bus->fns[slot * PCI_FUNCS + f] != NULL;
	pthread_mutex_lock(&f0->lock);
	uint8_t h = f0->cfg.data[PCI_CFG_HEADER_TYPE];
	f0->cfg.data[PCI_CFG_HEADER_TYPE] = (uint8_t)(multi ? h | PCI_HEADER_MULTIFUNCTION : h & ~PCI_HEADER_MULTIFUNCTION);
	pthread_mutex_unlock(&f0->lock);
}

int pci_func_add(struct pci_bus *bus, int slot, int fn, const struct modvmm_pci_id *id,
                 const struct modvmm_pci_cfg_ops *cfg_ops, void *opaque, struct modvmm_pci **out)
{
	if (!id || id->irq_pin > 4 || fn < 0 || fn >= PCI_FUNCS || slot >= PCI_SLOTS)
		return -EINVAL;
	if (slot < 0) {
		for (unsigned s = 1; s < PCI_SLOTS && slot < 0; s++)
			if (!(bus->reserved_slots & (1u << s)) && slot_empty(bus, s))
				slot = (int)s;
		if (slot < 0)
			return -ENOSPC;
	}
	unsigned devfn = (unsigned)slot * PCI_FUNCS + (unsigned)fn;
	if (bus->fns[devfn])
		return -EBUSY;
	struct modvmm_pci *pci = calloc(1, sizeof(*pci));
	if (!pci)
		return -ENOMEM;
	*pci = (struct modvmm_pci){ .bus = bus, .slot = (unsigned)slot, .fn = (unsigned)fn, .id = *id,
	                            .cfg_ops = cfg_ops, .cfg_opaque = opaque,
	                            .header_written = cfg_ops ? cfg_ops->header_written : NULL,
	                            .abi_minor = MODVMM_ABI_MINOR,
	                            .intx_trigger = -1, .intx_resample = -1 };
	snprintf(pci->name, sizeof(pci->name), "%02x:%02x.%x", 0, slot, fn);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&pci->lock, &a);
	pthread_mutexattr_destroy(&a);
	pci_cfg_init(&pci->cfg, id);
	for (unsigned i = 0; i < PCI_BAR_SLOTS; i++)
		pci->bar[i] = (struct pci_bar_state){ .fn = pci, .idx = i, .slot = -1 };
	if (id->irq_pin) {
		pci->intx_gsi = irq_intx_gsi((unsigned)slot, id->irq_pin);
		pci_cfg_set(&pci->cfg, PCI_CFG_INT_LINE, 1, pci->intx_gsi);
	}
	bus->fns[devfn] = pci;
	update_multifunction(bus, (unsigned)slot);
	*out = pci;
	return 0;
}

static void func_free(struct modvmm_pci *pci)
{
	msix_free(pci);
	msi_free(pci);
	if (pci->intx_trigger >= 0) {
		irq_irqfd(&pci->bus->irq, pci->intx_trigger, pci->intx_gsi, -1, false);
		close(pci->intx_trigger);
		close(pci->intx_resample);
	}
	if (pci->intx_line)
		irq_intx_change(&pci->bus->irq, pci->intx_gsi, true, false);
	pci_bar_release(pci);
	pthread_mutex_destroy(&pci->lock);
	free(pci);
}

/* ---- type-1 configuration ports ---- */

static uint64_t addr_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_bus *bus = opaque;
	return off == 0 && size == 4 ? atomic_load(&bus->cf8) : all_ones(size);
}

/* Only a 4-byte access at 0xCF8 is CONFIG_ADDRESS; byte and word accesses are
 * other chipset registers (e.g. 0xCF9 reset control) and ignored here. */
static void addr_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct pci_bus *bus = opaque;
	if (off == 0 && size == 4)
		atomic_store(&bus->cf8, (uint32_t)v & (PCI_CONFIG_ENABLE | 0x00fffffcu));
}

static struct modvmm_pci *cfg_target(struct pci_bus *bus, unsigned *reg)
{
	uint32_t a = atomic_load(&bus->cf8);
	if (!(a & PCI_CONFIG_ENABLE) || PCI_CONFIG_BUS(a) != 0)
		return NULL;
	*reg = PCI_CONFIG_REG(a);
	return bus->fns[PCI_CONFIG_DEVFN(a)];
}

static uint64_t data_read(void *opaque, uint64_t off, unsigned size)
{
	unsigned reg;
	struct modvmm_pci *pci = cfg_target(opaque, &reg);
	return pci ? pci_guest_cfg_read(pci, reg + (unsigned)off, size) : all_ones(size);
}

static void data_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	unsigned reg;
	struct modvmm_pci *pci = cfg_target(opaque, &reg);
	if (pci)
		pci_guest_cfg_write(pci, reg + (unsigned)off, size, (uint32_t)v);
}

static const struct modvmm_io_ops addr_ops = { .read = addr_read, .write = addr_write };
static const struct modvmm_io_ops data_ops = { .read = data_read, .write = data_write };

/* ---- the bus ---- */

int pci_bus_init(struct pci_bus *bus, const struct pci_bus_params *p)
{
	*bus = (struct pci_bus){ .ops = p->ops, .ctx = p->ctx, .pio = p->pio, .mmio = p->mmio, .mem = p->mem,
	                         .loop = p->loop, .reserved_slots = p->reserved_slots };
	unsigned bits = p->phys_bits ? p->phys_bits : PCI_DEFAULT_PHYS_BITS;
	bus->phys_limit = bits >= 64 ? UINT64_MAX : 1ULL << bits;
	pthread_mutex_init(&bus->map_lock, NULL);
	bus->any_length = p->ops->check_extension(p->ctx, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
	irq_router_init(&bus->irq, p->ops, p->ctx);
	pci_window_init(&bus->io, "I/O", PCI_IO_WINDOW_BASE, PCI_IO_WINDOW_END);
	pci_window_init(&bus->mem32, "32-bit MMIO", PCI_MMIO32_BASE, PCI_MMIO32_END);
	uint64_t m64 = p->mem->mmio64_base, m64_end = m64 + PCI_MMIO64_SIZE;
	if (m64_end > bus->phys_limit)
		m64_end = bus->phys_limit > m64 ? bus->phys_limit : m64;
	pci_window_init(&bus->mem64, "64-bit MMIO", m64, m64_end);

	static const struct modvmm_pci_id host_id = {
		.vendor = PCI_HOST_VENDOR, .device = PCI_HOST_DEVICE,
		.class_code = PCI_CLASS_BRIDGE, .subclass = PCI_SUBCLASS_HOST,
	};
	struct modvmm_pci *hb;
	int ret = pci_func_add(bus, 0, 0, &host_id, NULL, NULL, &hb);
	if (!ret)
		snprintf(hb->name, sizeof(hb->name), "00:00.0 [host bridge]");
	int64_t id = ret ? ret : iobus_add(bus->pio, PCI_CONFIG_ADDRESS, PCI_CONFIG_PORTS, &addr_ops, bus, NULL);
	if (id > 0) {
		bus->port_ids[0] = id;
		id = iobus_add(bus->pio, PCI_CONFIG_DATA, PCI_CONFIG_PORTS, &data_ops, bus, NULL);
	}
	if (id > 0) {
		bus->port_ids[1] = id;
		return 0;
	}
	pr_err("PCI: cannot claim the configuration ports 0x%x-0x%x: %s", PCI_CONFIG_ADDRESS,
	       PCI_CONFIG_DATA + PCI_CONFIG_PORTS - 1, strerror((int)-id));
	pci_bus_destroy(bus);
	return (int)id;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	for (unsigned i = 0; i < 2; i++)
		if (bus->port_ids[i] > 0)
			iobus_remove(bus->pio, bus->port_ids[i]);
	bus->port_ids[0] = bus->port_ids[1] = 0;
	for (unsigned i = PCI_SLOTS * PCI_FUNCS; i-- > 0;) {
		if (bus->fns[i])
			func_free(bus->fns[i]);
		bus->fns[i] = NULL;
	}
	irq_router_destroy(&bus->irq);
	pthread_mutex_destroy(&bus->map_lock);
}
