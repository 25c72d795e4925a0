/* SPDX-License-Identifier: MIT */
/* The VM side of the PCI bus: creation, slot placement of plugin functions,
 * the topology printed with -v, teardown. */
#include "pci/pci_vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/dev.h"
#include "mem/devmem.h"
#include "log.h"
#include "plugin/loader.h"
#include "pci/pci.h"
#include "config/schema.h"
#include "vm/vm.h"

#define CPUID_ADDR_SIZES 0x80000008u   /* EAX[7:0]: physical address bits (SDM vol. 2A, CPUID) */

static unsigned phys_bits(const struct vm *vm)
{
	for (unsigned i = 0; vm->cpuid && i < vm->cpuid->nent; i++)
		if (vm->cpuid->entries[i].function == CPUID_ADDR_SIZES)
			return vm->cpuid->entries[i].eax & 0xff;
	return 0;
}

/* The MODVMM_KEY_PCI_SLOT key of a plugin's schema, or NULL. */
static const struct modvmm_key *slot_key(const struct cfg_section *s)
{
	for (const struct modvmm_key *k = s->plugin ? s->plugin->desc->keys : NULL; k && k->name; k++)
		if (k->type == MODVMM_KEY_PCI_SLOT)
			return k;
	return NULL;
}

static bool section_slot(const struct cfg_section *s, unsigned *slot, unsigned *fn)
{
	const struct modvmm_key *k = slot_key(s);
	const char *v = k ? config_value(s, k->name) : NULL;
	return v && *v && schema_parse_pci_slot(v, slot, fn) == 0;
}

int pci_vm_init(struct vm *vm)
{
	uint32_t reserved = 0;
	for (size_t i = 0; i < vm->cfg->nsections; i++) {
		unsigned slot, fn;
		if (vm->cfg->sections[i].kind == SECTION_DEVICE && section_slot(&vm->cfg->sections[i], &slot, &fn))
			reserved |= 1u << slot;
	}
	vm->devmem = calloc(1, sizeof(*vm->devmem));
	if (!vm->devmem)
		return -ENOMEM;
	devmem_dir_init(vm->devmem, NULL, vm->cfg->vm.name);
	struct pci_bus *bus = calloc(1, sizeof(*bus));
	if (!bus)
		return -ENOMEM;
	struct pci_bus_params p = {
		.ops = &kvm_vm_ops, .ctx = vm, .pio = &vm->pio, .mmio = &vm->mmio, .mem = &vm->mem,
		.loop = &vm->loop, .phys_bits = phys_bits(vm), .reserved_slots = reserved,
	};
	int ret = pci_bus_init(bus, &p);
	if (ret) {
		free(bus);
		return ret;
	}
	vm->pci = bus;
	return 0;
}

void pci_vm_destroy(struct vm *vm)
{
	if (vm->pci) {
		pci_bus_destroy(vm->pci);
		free(vm->pci);
		vm->pci = NULL;
	}
	if (vm->devmem) {
		devmem_dir_destroy(vm->devmem);
		free(vm->devmem);
		vm->devmem = NULL;
		vm->rundir[0] = 0;
	}
}

int pci_register(struct modvmm_dev *dev, const struct modvmm_pci_id *id, const struct modvmm_pci_cfg_ops *cfg_ops,
                 void *opaque, struct modvmm_pci **out)
{
	struct pci_bus *bus = dev->vm->pci;
	if (!bus)
		return -ENODEV;
	if (!id || !out)
		return -EINVAL;
	int slot = -1, fn = 0;
	/* a second function of one instance takes the next function of its slot */
	for (unsigned i = 0; i < PCI_SLOTS * PCI_FUNCS && slot < 0; i++) {
		if (bus->fns[i] && bus->fns[i]->dev == dev) {
			slot = (int)bus->fns[i]->slot;
			for (fn = 0; fn < PCI_FUNCS && pci_func_at(bus, (unsigned)slot, (unsigned)fn); fn++)
				;
		}
	}
	unsigned s, f;
	if (slot < 0 && section_slot(dev->sec, &s, &f)) {
		slot = (int)s;
		fn = (int)f;
	}
	struct modvmm_pci *pci;
	int ret = pci_func_add(bus, slot, fn, id, cfg_ops, opaque, &pci);
	if (ret) {
		if (ret == -EBUSY)
			log_msg(MODVMM_LOG_ERROR, dev_label(dev), "PCI slot %d.%d is taken", slot, fn);
		else if (ret == -ENOSPC)
			log_msg(MODVMM_LOG_ERROR, dev_label(dev), "no free PCI slot (bus 0 has %d)", PCI_SLOTS);
		else
			log_msg(MODVMM_LOG_ERROR, dev_label(dev), "PCI registration: %s", strerror(-ret));
		return ret;
	}
	pci->dev = dev;
	pci->abi_minor = dev->plugin->desc->abi_minor;
	if (pci->abi_minor < 3)
		pci->header_written = NULL;   /* the 2.3 hook: a reserved slot before */
	snprintf(pci->name, sizeof(pci->name), "%02x:%02x.%x [%s]", 0, pci->slot, pci->fn, dev_label(dev));
	*out = pci;
	return 0;
}

static void print_bar(const struct pci_bar_state *b)
{
	char state[96] = "", backing[4200];
	if (b->mapped)
		snprintf(state, sizeof(state), "0x%llx", (unsigned long long)b->map_addr);
	else if (b->refused)
		snprintf(state, sizeof(state), "0x%llx (not mapped: conflict)", (unsigned long long)b->addr);
	else
		snprintf(state, sizeof(state), "0x%llx (not mapped: decode off)", (unsigned long long)b->addr);
	if (b->desc.backing == MODVMM_BAR_DEVMEM)
		snprintf(backing, sizeof(backing), "devmem '%s' %s", b->desc.devmem->name, b->desc.devmem->path);
	else
		snprintf(backing, sizeof(backing), "%s%s%s", pci_bar_backing_name(b), b->doorbells ? ", doorbells" : "",
		         b->msix ? ", MSI-X" : "");
	/* a split BAR: its directly mapped pieces (memslots, no exit) */
	for (unsigned i = 0; i < b->npieces; i++) {
		size_t n = strlen(backing);
		snprintf(backing + n, sizeof(backing) - n, "%s0x%llx-0x%llx", i ? " " : ", direct ",
		         (unsigned long long)b->piece[i].off, (unsigned long long)(b->piece[i].off + b->piece[i].len - 1));
	}
	pr_info("PCI   %-4s %-10s %s size 0x%llx %s", pci_bar_name(b), pci_bar_type_name(b), state,
	        (unsigned long long)b->desc.size, backing);
}

void pci_vm_print(struct vm *vm)
{
	struct pci_bus *bus = vm->pci;
	if (!bus || log_verbosity < 1)
		return;
	pr_info("PCI bus 0: config ports 0x%x/0x%x; windows I/O 0x%llx-0x%llx, MMIO32 0x%llx-0x%llx, MMIO64 0x%llx-0x%llx",
	        PCI_CONFIG_ADDRESS, PCI_CONFIG_DATA, (unsigned long long)bus->io.base, (unsigned long long)bus->io.end - 1,
	        (unsigned long long)bus->mem32.base, (unsigned long long)bus->mem32.end - 1,
	        (unsigned long long)bus->mem64.base, (unsigned long long)bus->mem64.end - 1);
	for (unsigned i = 0; i < PCI_SLOTS * PCI_FUNCS; i++) {
		struct modvmm_pci *f = bus->fns[i];
		if (!f)
			continue;
		pthread_mutex_lock(&f->lock);
		pthread_mutex_lock(&bus->map_lock);
		char irq[48] = "", msix[160];
		if (f->intx_gsi)
			snprintf(irq, sizeof(irq), " INT%c# GSI %u", 'A' + f->id.irq_pin - 1, f->intx_gsi);
		msix_describe(f, msix, sizeof(msix));
		pr_info("PCI %s %04x:%04x class %02x.%02x.%02x rev %u%s%s%s", f->name, f->id.vendor, f->id.device,
		        f->id.class_code, f->id.subclass, f->id.prog_if, f->id.revision, irq, *msix ? " " : "", msix);
		for (unsigned j = 0; j < PCI_BAR_SLOTS; j++)
			if (f->bar[j].present && !f->bar[j].upper)
				print_bar(&f->bar[j]);
		pthread_mutex_unlock(&bus->map_lock);
		pthread_mutex_unlock(&f->lock);
	}
}
