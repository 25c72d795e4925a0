/* SPDX-License-Identifier: MIT */
/* MSI-X on fake KVM: capability, table and PBA access rules, per-vector and
 * function masking with pending bits, GSI routing tables, refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_kvm.h"
#include "pci/irq.h"
#include "pci/pci.h"

#define NVEC       4
#define TABLE_OFF  0x800
#define PBA_OFF    0xc00
#define MSI_ADDR   0xfee00000u   /* x86 MSI address, destination APIC 0 */
#define CTL_ENABLE 0x8000u
#define CTL_FMASK  0x4000u

struct rec {
	unsigned reads, writes;
	uint64_t off;
};

static uint64_t rec_read(void *opaque, uint64_t off, unsigned size)
{
	struct rec *r = opaque;
	r->reads++;
	r->off = off;
	return 0x5a;
}

static void rec_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct rec *r = opaque;
	r->writes++;
	r->off = off;
}

static const struct modvmm_io_ops rec_ops = { .read = rec_read, .write = rec_write };

struct fix {
	struct test_bus *t;
	struct modvmm_pci *pci;
	struct rec rec;
	uint64_t bar;
	unsigned cap;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	f->t = test_bus_new();
	static const struct modvmm_pci_id id = { .vendor = 0x1b36, .device = 0x0005, .class_code = 0xff };
	assert_int_equal(pci_func_add(&f->t->bus, 1, 0, &id, NULL, NULL, &f->pci), 0);
	struct modvmm_bar b = { .type = MODVMM_BAR_MEM32, .size = 0x1000, .backing = MODVMM_BAR_TRAPPED,
	                        .ops = &rec_ops, .opaque = &f->rec };
	assert_int_equal(pci_bar_add(f->pci, 1, &b), 0);
	b.type = MODVMM_BAR_IO;
	b.size = 0x100;
	assert_int_equal(pci_bar_add(f->pci, 0, &b), 0);
	assert_int_equal(pci_msix_init(f->pci, NVEC, 1, TABLE_OFF, 1, PBA_OFF), 0);
	f->bar = pci_bar_addr(f->pci, 1);
	f->cap = pci_cfg_cap_find(&f->pci->cfg, PCI_CAP_ID_MSIX);
	assert_int_not_equal(f->cap, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	test_bus_free(f->t);
	free(f);
	return 0;
}

static uint64_t rd(struct fix *f, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	assert_true(iobus_access(&f->t->mmio, f->bar + off, size, false, &v));
	return v;
}

static void wr(struct fix *f, uint64_t off, unsigned size, uint64_t v)
{
	assert_true(iobus_access(&f->t->mmio, f->bar + off, size, true, &v));
}

static uint64_t entry(unsigned vec, unsigned dw)
{
	return TABLE_OFF + vec * 16 + dw * 4;
}

static void control(struct fix *f, uint16_t ctl)
{
	test_cfg_write(f->t, 1, 0, f->cap + 2, 2, ctl);
}

/* Point vector `vec` at IDT vector `data` on APIC 0. */
static void program(struct fix *f, unsigned vec, uint32_t data)
{
	wr(f, entry(vec, 0), 4, MSI_ADDR);
	wr(f, entry(vec, 1), 4, 0);
	wr(f, entry(vec, 2), 4, data);
}

static uint64_t counter(int fd)
{
	uint64_t n = 0;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static void capability(void **state)
{
	struct fix *f = *state;
	struct test_bus *t = f->t;
	assert_int_equal(f->cap, 0x40);
	assert_true(test_cfg_read(t, 1, 0, PCI_CFG_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_CAP_PTR, 1), f->cap);
	assert_int_equal(test_cfg_read(t, 1, 0, f->cap, 1), PCI_CAP_ID_MSIX);
	assert_int_equal(test_cfg_read(t, 1, 0, f->cap + 2, 2), NVEC - 1);
	assert_int_equal(test_cfg_read(t, 1, 0, f->cap + 4, 4), TABLE_OFF | 1);
	assert_int_equal(test_cfg_read(t, 1, 0, f->cap + 8, 4), PBA_OFF | 1);
	/* only enable and function mask are writable */
	control(f, 0xffff);
	assert_int_equal(test_cfg_read(t, 1, 0, f->cap + 2, 2), CTL_ENABLE | CTL_FMASK | (NVEC - 1));
	test_cfg_write(t, 1, 0, f->cap + 4, 4, 0);
	assert_int_equal(test_cfg_read(t, 1, 0, f->cap + 4, 4), TABLE_OFF | 1);
	control(f, 0);
	assert_int_equal(msix_vectors(f->pci), NVEC);
	/* vectors start masked; each has a GSI from 24 up */
	for (unsigned v = 0; v < NVEC; v++)
		assert_int_equal(rd(f, entry(v, 3), 4), 1);
	assert_int_equal(f->pci->bar[1].msix, true);
}

static void table_access_rules(void **state)
{
	struct fix *f = *state;
	/* dword and aligned qword */
	wr(f, entry(1, 0), 8, 0x00000001fee0100cULL);
	assert_int_equal(rd(f, entry(1, 0), 4), 0xfee0100c);
	assert_int_equal(rd(f, entry(1, 1), 4), 1);
	assert_int_equal(rd(f, entry(1, 0), 8), 0x00000001fee0100cULL);
	wr(f, entry(1, 0), 4, 0xfee00003);              /* address bits 1:0 are zero */
	assert_int_equal(rd(f, entry(1, 0), 4), 0xfee00000);
	wr(f, entry(1, 3), 4, 0xfffffffe);              /* reserved control bits read 0 */
	assert_int_equal(rd(f, entry(1, 3), 4), 0);
	wr(f, entry(1, 3), 4, 1);
	/* bytes, words, misaligned dwords and qwords are dropped */
	wr(f, entry(1, 2), 4, 0x41);
	wr(f, entry(1, 2), 1, 0xff);
	wr(f, entry(1, 2), 2, 0xffff);
	wr(f, entry(1, 2) + 1, 4, 0xffffffff);
	wr(f, entry(1, 1), 8, 0xffffffffffffffffULL);
	assert_int_equal(rd(f, entry(1, 2), 4), 0x41);
	assert_int_equal(rd(f, entry(1, 2), 1), 0);
	assert_int_equal(rd(f, entry(1, 2) + 2, 4), 0);
	/* the PBA is read-only */
	wr(f, PBA_OFF, 8, ~0ULL);
	assert_int_equal(rd(f, PBA_OFF, 8), 0);
	/* past the table and the PBA the device's own handlers answer */
	unsigned reads = f->rec.reads;
	assert_int_equal(rd(f, TABLE_OFF + NVEC * 16, 4), 0x5a);
	assert_int_equal(rd(f, PBA_OFF + 8, 4), 0x5a);
	assert_int_equal(rd(f, 0x10, 4), 0x5a);
	assert_int_equal(f->rec.reads, reads + 3);
	wr(f, TABLE_OFF + NVEC * 16, 4, 1);              /* a vector that does not exist */
	assert_int_equal(f->rec.writes, 1);
	assert_int_equal(f->t->kvm.nirqfd, 0);
}

static void masking_and_pending(void **state)
{
	struct fix *f = *state;
	struct fake_kvm *k = &f->t->kvm;
	int fd0 = pci_msix_fd(f->pci, 0), fd1 = pci_msix_fd(f->pci, 1);
	assert_true(fd0 >= 0 && fd1 >= 0 && fd0 != fd1);
	program(f, 0, 0x41);
	program(f, 1, 0x42);
	/* unmasked vector, MSI-X still disabled: nothing bound */
	wr(f, entry(0, 3), 4, 0);
	assert_int_equal(k->nirqfd, 0);
	assert_int_equal(k->commits, 0);
	/* enabled, but no bus mastering yet: still nothing bound */
	control(f, CTL_ENABLE);
	assert_int_equal(k->nirqfd, 0);
	test_cfg_write(f->t, 1, 0, PCI_CFG_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_MASTER);
	/* vector 0 routed and bound, vector 1 (masked) not */
	const struct fake_irqfd *q = fake_irqfd_of(k, fd0);
	assert_non_null(q);
	assert_int_equal(q->gsi, IRQ_FIRST_MSI_GSI);
	assert_int_equal(q->resamplefd, -1);
	assert_null(fake_irqfd_of(k, fd1));
	const struct kvm_irq_routing_entry *e = fake_route(k, IRQ_FIRST_MSI_GSI, KVM_IRQ_ROUTING_MSI);
	assert_non_null(e);
	assert_int_equal(e->u.msi.address_lo, MSI_ADDR);
	assert_int_equal(e->u.msi.address_hi, 0);
	assert_int_equal(e->u.msi.data, 0x41);
	assert_null(fake_route(k, IRQ_FIRST_MSI_GSI + 1, KVM_IRQ_ROUTING_MSI));
	/* the table keeps the default irqchip routes (KVM_SET_GSI_ROUTING replaces all) */
	assert_int_equal(k->routing->nr, IRQ_DEFAULT_ROUTES + 1);
	for (unsigned g = 0; g < IRQ_IOAPIC_PINS; g++) {
		const struct kvm_irq_routing_entry *io = fake_route(k, g, KVM_IRQ_ROUTING_IRQCHIP);
		assert_non_null(io);
	}
	unsigned pic = 0, ioapic = 0;
	for (unsigned i = 0; i < k->routing->nr; i++) {
		const struct kvm_irq_routing_entry *r = &k->routing->entries[i];
		if (r->type != KVM_IRQ_ROUTING_IRQCHIP)
			continue;
		if (r->u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
			assert_int_equal(r->u.irqchip.pin, r->gsi);
			ioapic++;
		} else {
			assert_int_not_equal(r->gsi, IRQ_PIC_CASCADE);
			assert_int_equal(r->u.irqchip.irqchip, r->gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE);
			assert_int_equal(r->u.irqchip.pin, r->gsi % 8);
			pic++;
		}
	}
	assert_int_equal(ioapic, 24);
	assert_int_equal(pic, 15);

	/* masked vector 1: device writes stay pending, visible in the PBA */
	assert_int_equal(pci_msix_notify(f->pci, 1), 0);
	assert_int_equal(pci_msix_notify(f->pci, 1), 0);
	assert_int_equal(rd(f, PBA_OFF, 8), 0x2);
	assert_int_equal(rd(f, PBA_OFF, 4), 0x2);
	assert_int_equal(rd(f, PBA_OFF, 8), 0x2);       /* reading does not clear */
	/* unmask: routed, bound, and the pending interrupt fires once */
	wr(f, entry(1, 3), 4, 0);
	assert_non_null(fake_irqfd_of(k, fd1));
	assert_int_equal(fake_route(k, IRQ_FIRST_MSI_GSI + 1, KVM_IRQ_ROUTING_MSI)->u.msi.data, 0x42);
	assert_int_equal(counter(fd1), 1);
	assert_int_equal(rd(f, PBA_OFF, 8), 0);
	/* writes while masked that the guest never looked at stay in the eventfd:
	 * KVM delivers them when the irqfd is bound again */
	wr(f, entry(1, 3), 4, 1);
	assert_null(fake_irqfd_of(k, fd1));
	eventfd_write(fd1, 1);
	wr(f, entry(1, 3), 4, 0);
	assert_non_null(fake_irqfd_of(k, fd1));
	assert_int_equal(counter(fd1), 1);

	/* function mask: both unbound; pending; released on clear */
	unsigned commits = k->commits;
	control(f, CTL_ENABLE | CTL_FMASK);
	assert_int_equal(k->nirqfd, 0);
	assert_int_equal(pci_msix_notify(f->pci, 0), 0);
	assert_int_equal(rd(f, PBA_OFF, 8), 0x1);
	control(f, CTL_ENABLE);
	assert_int_equal(k->nirqfd, 2);
	assert_int_equal(counter(fd0), 1);
	assert_int_equal(rd(f, PBA_OFF, 8), 0);
	assert_int_equal(k->commits, commits);          /* same messages: no new routing table */
	/* a new message while unmasked updates the route */
	wr(f, entry(0, 2), 4, 0x51);
	assert_int_equal(fake_route(k, IRQ_FIRST_MSI_GSI, KVM_IRQ_ROUTING_MSI)->u.msi.data, 0x51);
	assert_int_equal(k->commits, commits + 1);
	/* bus mastering off: both unbound, a message is held pending; on again: delivered */
	test_cfg_write(f->t, 1, 0, PCI_CFG_COMMAND, 2, PCI_CMD_MEM);
	assert_int_equal(k->nirqfd, 0);
	assert_int_equal(pci_msix_notify(f->pci, 1), 0);
	assert_int_equal(rd(f, PBA_OFF, 8), 0x2);
	test_cfg_write(f->t, 1, 0, PCI_CFG_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_MASTER);
	assert_int_equal(k->nirqfd, 2);
	assert_int_equal(counter(fd1), 1);
	assert_int_equal(rd(f, PBA_OFF, 8), 0);
	/* disable: unbound */
	control(f, 0);
	assert_int_equal(k->nirqfd, 0);
	/* out-of-range vectors */
	assert_int_equal(pci_msix_fd(f->pci, NVEC), -EINVAL);
	assert_int_equal(pci_msix_notify(f->pci, NVEC), -EINVAL);
}

static void init_refusals(void **state)
{
	struct fix *f = *state;
	struct test_bus *t = f->t;
	/* a second MSI-X on the same function; the first keeps working */
	assert_int_equal(pci_msix_init(f->pci, 2, 1, 0x100, 1, 0x200), -EEXIST);
	assert_int_equal(msix_vectors(f->pci), NVEC);
	assert_true(pci_msix_fd(f->pci, 3) >= 0);

	static const struct modvmm_pci_id id = { .vendor = 0x1b36, .device = 0x0006 };
	struct modvmm_pci *p;
	assert_int_equal(pci_func_add(&t->bus, 2, 0, &id, NULL, NULL, &p), 0);
	struct modvmm_bar io = { .type = MODVMM_BAR_IO, .size = 0x100, .backing = MODVMM_BAR_TRAPPED };
	struct modvmm_bar mm = { .type = MODVMM_BAR_MEM32, .size = 0x1000, .backing = MODVMM_BAR_TRAPPED };
	static uint8_t buf[0x1000] __attribute__((aligned(4096)));
	struct modvmm_bar hb = { .type = MODVMM_BAR_MEM32, .size = 0x1000, .backing = MODVMM_BAR_HOSTBUF, .hostbuf = buf };
	assert_int_equal(pci_bar_add(p, 0, &io), 0);
	assert_int_equal(pci_bar_add(p, 1, &mm), 0);
	assert_int_equal(pci_bar_add(p, 2, &hb), 0);
	assert_int_equal(pci_msix_init(p, 4, 0, 0, 1, 0x800), -EINVAL);     /* I/O BAR */
	assert_int_equal(pci_msix_init(p, 4, 2, 0, 1, 0x800), -EINVAL);     /* direct-mapped */
	assert_int_equal(pci_msix_init(p, 4, 3, 0, 1, 0x800), -EINVAL);     /* no such BAR */
	assert_int_equal(pci_msix_init(p, 4, 1, 0x4, 1, 0x800), -EINVAL);   /* misaligned table */
	assert_int_equal(pci_msix_init(p, 4, 1, 0, 1, 0x804), -EINVAL);     /* misaligned PBA */
	assert_int_equal(pci_msix_init(p, 4, 1, 0xff8, 1, 0x800), -EINVAL); /* table past the BAR */
	assert_int_equal(pci_msix_init(p, 4, 1, 0, 1, 0x38), -EINVAL);      /* PBA inside the table */
	assert_int_equal(pci_msix_init(p, 0, 1, 0, 1, 0x800), -EINVAL);
	assert_int_equal(pci_msix_init(p, 2049, 1, 0, 1, 0x800), -EINVAL);
	assert_null(p->msix);
	assert_int_equal(pci_cfg_cap_find(&p->cfg, PCI_CAP_ID_MSIX), 0);
	/* GSIs run out at the KVM limit */
	t->bus.irq.max_gsi = IRQ_FIRST_MSI_GSI + NVEC + 8;
	assert_int_equal(pci_msix_init(p, 16, 1, 0, 1, 0x800), -ENOSPC);
	assert_int_equal(pci_msix_init(p, 8, 1, 0, 1, 0x800), 0);
	assert_int_equal(f->pci->msix ? 1 : 0, 1);
	/* table at offset 0 of a BAR whose other registers still reach the device */
	assert_int_equal(test_cfg_read(t, 2, 0, pci_cfg_cap_find(&p->cfg, PCI_CAP_ID_MSIX) + 4, 4), 1);
}

static void routing_table(void **state)
{
	struct fake_kvm k = { .max_routes = 64 };
	struct irq_router r;
	irq_router_init(&r, &fake_kvm_ops, &k);
	unsigned first, second;
	assert_int_equal(irq_gsi_alloc(&r, 8, &first), 0);
	assert_int_equal(first, IRQ_FIRST_MSI_GSI);
	assert_int_equal(irq_gsi_alloc(&r, 32, &second), 0);
	assert_int_equal(second, IRQ_FIRST_MSI_GSI + 8);
	assert_int_equal(irq_gsi_alloc(&r, 1, &second), -ENOSPC);   /* 64 routes */
	struct kvm_irq_routing *t = irq_table_build(&r);
	assert_int_equal(t->nr, IRQ_DEFAULT_ROUTES);
	free(t);
	assert_int_equal(irq_msi_route(&r, first + 3, 0xfee01000, 0x4030), 0);
	assert_int_equal(k.commits, 1);
	assert_int_equal(irq_msi_route(&r, first + 3, 0xfee01000, 0x4030), 0);
	assert_int_equal(k.commits, 1);                 /* unchanged: no commit */
	assert_int_equal(irq_msi_route(&r, first + 3, 0xfee02000, 0x4030), 0);
	assert_int_equal(k.commits, 2);
	assert_int_equal(k.routing->nr, IRQ_DEFAULT_ROUTES + 1);
	assert_int_equal(irq_msi_route(&r, 5, 0xfee00000, 0), -EINVAL);        /* not an MSI GSI */
	assert_int_equal(irq_msi_route(&r, first + 40, 0xfee00000, 0), -EINVAL);
	/* the INTx swizzle */
	assert_int_equal(irq_intx_gsi(0, 1), 16);
	assert_int_equal(irq_intx_gsi(1, 1), 17);
	assert_int_equal(irq_intx_gsi(1, 4), 16);
	assert_int_equal(irq_intx_gsi(31, 2), 16);
	irq_router_destroy(&r);
	free(k.routing);
	/* no GSI routing in KVM: MSI-X cannot work */
	struct fake_kvm none = { 0 };
	irq_router_init(&r, &fake_kvm_ops, &none);
	assert_int_equal(irq_gsi_alloc(&r, 1, &first), -ENOTSUP);
	irq_router_destroy(&r);
}

/* ABI 2.2 pci_msi_vector: MSI vectors of a plugin that emulates the MSI
 * capability: one eventfd and GSI per vector, stable across calls; routed and
 * bound while delivering, unbound otherwise with writes kept for later. */
static void msi_vectors(void **state)
{
	struct fix *f = *state;
	struct fake_kvm *k = &f->t->kvm;
	int fd0 = pci_msi_vector(f->pci, 0, MSI_ADDR, 0x41, false);
	assert_true(fd0 >= 0);
	assert_null(fake_irqfd_of(k, fd0));              /* not delivering: not bound */
	assert_int_equal(pci_msi_vector(f->pci, 0, MSI_ADDR, 0x41, true), fd0);
	const struct fake_irqfd *b = fake_irqfd_of(k, fd0);
	assert_non_null(b);
	const struct kvm_irq_routing_entry *e = fake_route(k, b->gsi, KVM_IRQ_ROUTING_MSI);
	assert_non_null(e);
	assert_int_equal(e->u.msi.address_lo, MSI_ADDR);
	assert_int_equal(e->u.msi.data, 0x41);
	unsigned gsi = b->gsi;
	/* a new message moves the route, not the irqfd */
	assert_int_equal(pci_msi_vector(f->pci, 0, MSI_ADDR | 0x1000, 0x42, true), fd0);
	e = fake_route(k, gsi, KVM_IRQ_ROUTING_MSI);
	assert_int_equal(e->u.msi.address_lo, MSI_ADDR | 0x1000);
	assert_int_equal(e->u.msi.data, 0x42);
	int fd1 = pci_msi_vector(f->pci, 1, MSI_ADDR, 0x43, true);
	assert_true(fd1 >= 0 && fd1 != fd0);
	assert_int_not_equal(fake_irqfd_of(k, fd1)->gsi, gsi);
	/* disabled: unbound; a write stays counted for the next bind */
	assert_int_equal(pci_msi_vector(f->pci, 0, 0, 0, false), fd0);
	assert_null(fake_irqfd_of(k, fd0));
	assert_int_equal(eventfd_write(fd0, 1), 0);
	eventfd_t n;
	assert_int_equal(pci_msi_vector(f->pci, 0, MSI_ADDR, 0x41, true), fd0);
	assert_int_equal(fake_irqfd_of(k, fd0)->gsi, gsi);
	assert_int_equal(eventfd_read(fd0, &n), 0);
	assert_int_equal(n, 1);
	/* refusals */
	assert_int_equal(pci_msi_vector(f->pci, PCI_MSI_MAX_VECTORS, MSI_ADDR, 0, true), -EINVAL);
	assert_int_equal(pci_msi_vector(NULL, 0, MSI_ADDR, 0, true), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(capability, setup, teardown),
		cmocka_unit_test_setup_teardown(table_access_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(masking_and_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(init_refusals, setup, teardown),
		cmocka_unit_test(routing_table),
		cmocka_unit_test_setup_teardown(msi_vectors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
