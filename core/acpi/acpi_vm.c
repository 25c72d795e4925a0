/* SPDX-License-Identifier: MIT */
/* ACPI for a VM (acpi_vm.h): device nodes, tables in guest RAM, fixed-hardware ports. */
#include "acpi/acpi_vm.h"
#include "vm/kvmops.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/dev.h"
#include "log.h"
#include "vm/vm.h"

/* 1-3 characters of an AML NameSeg (A-Z, 0-9, '_'), not starting with a digit
 * (ACPI 6.5 §20.2.2). */
static bool prefix_ok(const char *p)
{
	size_t n = p ? strlen(p) : 0;
	if (n < 1 || n > 3 || (p[0] >= '0' && p[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
			return false;
	return true;
}

/* Three letters A-Z and four hex digits, upper case (§6.1.5 _HID, EISA id). */
static bool eisaid_ok(const char *id)
{
	if (!id || strlen(id) != 7)
		return false;
	for (int i = 0; i < 3; i++)
		if (id[i] < 'A' || id[i] > 'Z')
			return false;
	for (int i = 3; i < 7; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'F')))
			return false;
	return true;
}

#define ACPI_ISA_IRQS     16   /* IRQNoFlags describes IRQs 0-15 (§6.4.2.1) */
#define ACPI_IO_MAX_LEN   255  /* IO descriptor range length is a byte (§6.4.2.5) */
#define ACPI_MAX_PER_PREFIX 9  /* one digit after the prefix */

static int node_check(const struct modvmm_acpi_node *n)
{
	if (!n || n->size < sizeof(*n) || !prefix_ok(n->prefix) || !eisaid_ok(n->hid) ||
	    n->nio > MODVMM_ACPI_MAX_IO || n->nirq > MODVMM_ACPI_MAX_IRQ)
		return -EINVAL;
	for (unsigned i = 0; i < n->nio; i++)
		if (!n->io[i].len || n->io[i].len > ACPI_IO_MAX_LEN || n->io[i].base + n->io[i].len > 0x10000)
			return -EINVAL;
	for (unsigned i = 0; i < n->nirq; i++)
		if (n->irq[i] >= ACPI_ISA_IRQS)
			return -EINVAL;
	return 0;
}

/* Nodes named `prefix` and one digit. */
static unsigned count_prefix(const struct acpi_nodes *all, const char *prefix)
{
	size_t len = strlen(prefix);
	unsigned n = 0;
	for (unsigned i = 0; i < all->n; i++)
		n += !strncmp(all->node[i].name, prefix, len) && strlen(all->node[i].name) == len + 1;
	return n;
}

int acpi_vm_node(struct modvmm_dev *dev, const struct modvmm_acpi_node *n)
{
	struct acpi_nodes *all = &dev->vm->acpi;
	if (dev->created)
		return -EBUSY;
	if (node_check(n)) {
		log_msg(MODVMM_LOG_ERROR, dev_label(dev), "malformed ACPI node (prefix, HID, ports or IRQs)");
		return -EINVAL;
	}
	unsigned uid = count_prefix(all, n->prefix) + 1;
	if (uid > ACPI_MAX_PER_PREFIX) {
		log_msg(MODVMM_LOG_ERROR, dev_label(dev), "more than %d ACPI nodes named %s1..%s%d",
		        ACPI_MAX_PER_PREFIX, n->prefix, n->prefix, ACPI_MAX_PER_PREFIX);
		return -ENOSPC;
	}
	struct acpi_node *grown = realloc(all->node, (all->n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	all->node = grown;
	struct acpi_node *a = &grown[all->n++];
	*a = (struct acpi_node){ .uid = uid, .nio = n->nio, .nirq = n->nirq };
	snprintf(a->name, sizeof(a->name), "%s%u", n->prefix, uid);
	memcpy(a->hid, n->hid, sizeof(a->hid));
	for (unsigned i = 0; i < n->nio; i++) {
		a->io_base[i] = n->io[i].base;
		a->io_len[i] = (uint8_t)n->io[i].len;
	}
	memcpy(a->irq, n->irq, n->nirq);
	return 0;
}

void acpi_vm_destroy(struct vm *vm)
{
	free(vm->acpi.node);
	vm->acpi = (struct acpi_nodes){ 0 };
}

enum { SLEEP_CTL_OFFSET = 0, RESET_OFFSET = ACPI_RESET_PORT - ACPI_SLEEP_CTL_PORT };
_Static_assert(ACPI_SLEEP_STS_PORT == ACPI_SLEEP_CTL_PORT + 1 &&
               ACPI_RESET_PORT == ACPI_SLEEP_CTL_PORT + 2, "one range of ACPI_PORTS ports");

static uint64_t ports_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque, (void)offset, (void)size;
	return 0; /* no wake status, nothing pending */
}

static void ports_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	static atomic_bool warned;
	struct vm *vm = opaque;
	(void)size;
	if (offset == SLEEP_CTL_OFFSET && (value & ACPI_SLEEP_EN)) {
		unsigned typ = (unsigned)(value & ACPI_SLEEP_TYP_MASK) >> ACPI_SLEEP_TYP_SHIFT;
		if (typ == ACPI_S5_SLP_TYP) {
			pr_info("guest powered off through ACPI (S5)");
			vm_stop(vm, 0);
		} else if (!atomic_exchange(&warned, true)) {
			pr_warn("guest asked for ACPI sleep type %u; only S5 (power off) is supported", typ);
		}
	} else if (offset == RESET_OFFSET && value == ACPI_RESET_VALUE) {
		pr_info("guest reset through ACPI (treated as power-off)");
		vm_stop(vm, 0);
	}
}

static const struct modvmm_io_ops acpi_port_ops = { .read = ports_read, .write = ports_write };

int acpi_vm_setup(struct vm *vm)
{
	struct acpi_config cfg = { .ncpus = vm->nvcpus, .mmio64_base = vm->mem.mmio64_base,
	                           .mmio64_size = PCI_MMIO64_SIZE, .nnodes = vm->acpi.n, .nodes = vm->acpi.node };
	uint8_t *area = mem_gpa_to_hva(&vm->mem, ACPI_AREA_GPA, ACPI_AREA_SIZE);
	if (!area) {
		pr_err("guest RAM has no room for the ACPI tables at 0x%llx", (unsigned long long)ACPI_AREA_GPA);
		return -ENOMEM;
	}
	long len = acpi_build(&cfg, area, ACPI_AREA_SIZE - ACPI_RESET_VECTOR_LEN, ACPI_AREA_GPA);
	if (len < 0) {
		pr_err("ACPI tables do not fit in 0x%llx bytes", (unsigned long long)ACPI_AREA_SIZE - ACPI_RESET_VECTOR_LEN);
		return (int)len;
	}
	acpi_reset_vector(area + (ACPI_RESET_VECTOR_GPA - ACPI_AREA_GPA));
	struct io_range conflict;
	int64_t id = iobus_add(&vm->pio, ACPI_SLEEP_CTL_PORT, ACPI_PORTS, &acpi_port_ops, vm, &conflict);
	if (id < 0) {
		pr_err("ACPI sleep/reset ports 0x%x-0x%x: %s", ACPI_SLEEP_CTL_PORT,
		       ACPI_SLEEP_CTL_PORT + ACPI_PORTS - 1,
		       id == -EEXIST ? "already used by a device" : strerror((int)-id));
		return (int)id;
	}
	pr_info("ACPI tables at 0x%llx (%ld bytes): %u CPUs, %u device node(s), sleep/reset ports 0x%x-0x%x",
	        (unsigned long long)ACPI_AREA_GPA, len, cfg.ncpus, cfg.nnodes, ACPI_SLEEP_CTL_PORT,
	        ACPI_SLEEP_CTL_PORT + ACPI_PORTS - 1);
	return 0;
}

int acpi_vm_power_button(struct vm *vm)
{
	int ret = kvm_vm_ops.irq_line(vm, ACPI_POWER_BUTTON_GSI, 1);
	int ret2 = kvm_vm_ops.irq_line(vm, ACPI_POWER_BUTTON_GSI, 0);
	return ret ? ret : ret2;
}
