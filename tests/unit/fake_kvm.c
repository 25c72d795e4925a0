/* SPDX-License-Identifier: MIT */
#include "fake_kvm.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int f_map(void *ctx, uint64_t gpa, uint64_t size, void *hva)
{
	struct fake_kvm *k = ctx;
	for (int i = 0; i < FAKE_MAX; i++)
		if (k->slots[i].used && gpa < k->slots[i].gpa + k->slots[i].size && k->slots[i].gpa < gpa + size)
			return -EEXIST;
	for (int i = 0; i < FAKE_MAX; i++) {
		if (!k->slots[i].used) {
			k->slots[i] = (struct fake_slot){ .used = true, .gpa = gpa, .size = size, .hva = hva };
			return i;
		}
	}
	return -ENOSPC;
}

static void f_unmap(void *ctx, int slot)
{
	struct fake_kvm *k = ctx;
	assert_true(slot >= 0 && slot < FAKE_MAX && k->slots[slot].used);
	k->slots[slot].used = false;
}

static bool same_ioev(const struct kvm_ioeventfd *a, const struct kvm_ioeventfd *b)
{
	unsigned f = KVM_IOEVENTFD_FLAG_PIO | KVM_IOEVENTFD_FLAG_DATAMATCH;
	return a->addr == b->addr && a->len == b->len && (a->flags & f) == (b->flags & f) &&
	       (!(a->flags & KVM_IOEVENTFD_FLAG_DATAMATCH) || a->datamatch == b->datamatch);
}

static int f_ioeventfd(void *ctx, const struct kvm_ioeventfd *req)
{
	struct fake_kvm *k = ctx;
	if (req->len == 0 && !k->any_length)
		return -EINVAL;
	if (req->flags & KVM_IOEVENTFD_FLAG_DEASSIGN) {
		for (unsigned i = 0; i < k->nioev; i++) {
			if (same_ioev(&k->ioev[i], req) && k->ioev[i].fd == req->fd) {
				k->ioev[i] = k->ioev[--k->nioev];
				return 0;
			}
		}
		return -ENOENT;
	}
	for (unsigned i = 0; i < k->nioev; i++)
		if (same_ioev(&k->ioev[i], req))
			return -EEXIST;
	if (k->nioev == FAKE_MAX)
		return -ENOSPC;
	k->ioev[k->nioev++] = *req;
	return 0;
}

static int f_irqfd(void *ctx, const struct kvm_irqfd *req)
{
	struct fake_kvm *k = ctx;
	if (req->flags & KVM_IRQFD_FLAG_DEASSIGN) {
		for (unsigned i = 0; i < k->nirqfd; i++) {
			if (k->irqfd[i].fd == (int)req->fd && k->irqfd[i].gsi == req->gsi) {
				k->irqfd[i] = k->irqfd[--k->nirqfd];
				return 0;
			}
		}
		return -ENOENT;
	}
	for (unsigned i = 0; i < k->nirqfd; i++)
		if (k->irqfd[i].fd == (int)req->fd)
			return -EBUSY;
	k->irqfd[k->nirqfd++] = (struct fake_irqfd){
		.fd = (int)req->fd, .gsi = req->gsi,
		.resamplefd = req->flags & KVM_IRQFD_FLAG_RESAMPLE ? (int)req->resamplefd : -1,
	};
	return 0;
}

static int f_set_gsi_routing(void *ctx, const struct kvm_irq_routing *table)
{
	struct fake_kvm *k = ctx;
	size_t sz = sizeof(*table) + table->nr * sizeof(table->entries[0]);
	free(k->routing);
	k->routing = malloc(sz);
	assert_non_null(k->routing);
	memcpy(k->routing, table, sz);
	k->commits++;
	return 0;
}

static int f_irq_line(void *ctx, unsigned gsi, int level)
{
	struct fake_kvm *k = ctx;
	assert_true(gsi < 32);
	k->line[gsi] = level;
	return 0;
}

static int f_check_extension(void *ctx, long cap)
{
	struct fake_kvm *k = ctx;
	if (cap == KVM_CAP_IRQ_ROUTING)
		return k->max_routes;
	if (cap == KVM_CAP_IOEVENTFD_ANY_LENGTH)
		return k->any_length;
	return 0;
}

const struct kvm_ops fake_kvm_ops = {
	.map = f_map,
	.unmap = f_unmap,
	.ioeventfd = f_ioeventfd,
	.irqfd = f_irqfd,
	.set_gsi_routing = f_set_gsi_routing,
	.irq_line = f_irq_line,
	.check_extension = f_check_extension,
};

const struct fake_slot *fake_slot_at(const struct fake_kvm *k, uint64_t gpa)
{
	for (int i = 0; i < FAKE_MAX; i++)
		if (k->slots[i].used && gpa >= k->slots[i].gpa && gpa - k->slots[i].gpa < k->slots[i].size)
			return &k->slots[i];
	return NULL;
}

unsigned fake_slots_used(const struct fake_kvm *k)
{
	unsigned n = 0;
	for (int i = 0; i < FAKE_MAX; i++)
		n += k->slots[i].used;
	return n;
}

const struct kvm_ioeventfd *fake_ioev_at(const struct fake_kvm *k, uint64_t addr)
{
	for (unsigned i = 0; i < k->nioev; i++)
		if (k->ioev[i].addr == addr)
			return &k->ioev[i];
	return NULL;
}

const struct fake_irqfd *fake_irqfd_of(const struct fake_kvm *k, int fd)
{
	for (unsigned i = 0; i < k->nirqfd; i++)
		if (k->irqfd[i].fd == fd)
			return &k->irqfd[i];
	return NULL;
}

const struct kvm_irq_routing_entry *fake_route(const struct fake_kvm *k, unsigned gsi, uint32_t type)
{
	for (unsigned i = 0; k->routing && i < k->routing->nr; i++)
		if (k->routing->entries[i].gsi == gsi && k->routing->entries[i].type == type)
			return &k->routing->entries[i];
	return NULL;
}

#define TEST_RAM (256ULL << 20)

struct test_bus *test_bus_new(void)
{
	struct test_bus *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->kvm.max_routes = 4096;
	t->kvm.any_length = 1;
	iobus_init(&t->pio, "pio");
	iobus_init(&t->mmio, "mmio");
	t->mem = (struct guest_mem){ .fd = -1, .total = TEST_RAM, .nregions = 1,
	                             .region[0] = { .gpa = 0, .size = TEST_RAM }, .mmio64_base = MEM_HIGH_BASE };
	assert_int_equal(evloop_init(&t->loop), 0);
	struct pci_bus_params p = {
		.ops = &fake_kvm_ops, .ctx = &t->kvm, .pio = &t->pio, .mmio = &t->mmio, .mem = &t->mem,
		.loop = &t->loop, .phys_bits = 40,
	};
	assert_int_equal(pci_bus_init(&t->bus, &p), 0);
	return t;
}

void test_bus_free(struct test_bus *t)
{
	pci_bus_destroy(&t->bus);
	/* everything the bus mapped or bound is gone */
	assert_int_equal(fake_slots_used(&t->kvm), 0);
	assert_int_equal(t->kvm.nioev, 0);
	assert_int_equal(t->kvm.nirqfd, 0);
	iobus_destroy(&t->pio);
	iobus_destroy(&t->mmio);
	evloop_destroy(&t->loop);
	free(t->kvm.routing);
	free(t);
}

static uint32_t cf8(unsigned slot, unsigned fn, unsigned off)
{
	return PCI_CONFIG_ENABLE | slot << 11 | fn << 8 | (off & 0xfc);
}

uint32_t test_cfg_read(struct test_bus *t, unsigned slot, unsigned fn, unsigned off, unsigned size)
{
	uint64_t a = cf8(slot, fn, off), v = 0;
	iobus_access(&t->pio, PCI_CONFIG_ADDRESS, 4, true, &a);
	iobus_access(&t->pio, PCI_CONFIG_DATA + (off & 3), size, false, &v);
	return (uint32_t)v;
}

void test_cfg_write(struct test_bus *t, unsigned slot, unsigned fn, unsigned off, unsigned size, uint32_t v)
{
	uint64_t a = cf8(slot, fn, off), val = v;
	iobus_access(&t->pio, PCI_CONFIG_ADDRESS, 4, true, &a);
	iobus_access(&t->pio, PCI_CONFIG_DATA + (off & 3), size, true, &val);
}
