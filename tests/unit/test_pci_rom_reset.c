/* SPDX-License-Identifier: MIT */
/* The PCI bus on fake KVM, ABI 2.4: the expansion ROM register (sizing, ROM
 * Enable and COMMAND memory decode, read-only contents, plugins built before
 * 2.4 refused it) and pci_reset, the guest's view after a Function Level
 * Reset (COMMAND, BARs, ROM, MSI-X, INTx disable). */
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
#include "pci/pci.h"
#include "pci/pci_cfg.h"

#define ROM_SIZE   0x8000
#define TABLE_OFF  0x800
#define PBA_OFF    0xc00
#define MSIX_CTL   2          /* MSI-X Message Control, from the capability (§6.8.2.3) */
#define CTL_ENABLE 0x8000u
#define CTL_FMASK  0x4000u
#define MSI_ADDR   0xfee00000u
#define RESET_REG  0xf0       /* the test device's "reset" register (past the MSI-X capability) */

struct rec {
	unsigned reads, writes;
};

static uint64_t rec_read(void *opaque, uint64_t off, unsigned size)
{
	struct rec *r = opaque;
	(void)size;
	r->reads++;
	return 0xa5000000u | off;
}

static void rec_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct rec *r = opaque;
	(void)off, (void)size, (void)v;
	r->writes++;
}

static const struct modvmm_io_ops rec_ops = { .read = rec_read, .write = rec_write };

static const struct modvmm_pci_id dev_id = { .vendor = 0x1b36, .device = 0x0005, .class_code = 0xff, .irq_pin = 1 };

static struct modvmm_bar trapped(uint32_t type, uint64_t size, struct rec *r)
{
	return (struct modvmm_bar){ .type = type, .size = size, .backing = MODVMM_BAR_TRAPPED, .ops = &rec_ops, .opaque = r };
}

static uint64_t mmio(struct test_bus *t, uint64_t addr, bool write, uint64_t v, bool *claimed)
{
	*claimed = iobus_access(&t->mmio, addr, 4, write, &v);
	return v;
}

/* ---- expansion ROM ---- */

static void rom_refusals(void **state)
{
	(void)state;
	struct test_bus *t = test_bus_new();
	struct modvmm_pci *pci;
	assert_int_equal(pci_func_add(&t->bus, 1, 0, &dev_id, NULL, NULL, &pci), 0);
	struct rec r = { 0 };
	static uint8_t buf[ROM_SIZE] __attribute__((aligned(4096)));
	struct modvmm_bar b = trapped(MODVMM_BAR_MEM64, ROM_SIZE, &r);
	assert_int_equal(pci_bar_add(pci, PCI_ROM_BAR, &b), -EINVAL);      /* 32-bit only */
	b = trapped(MODVMM_BAR_IO, 0x100, &r);
	assert_int_equal(pci_bar_add(pci, PCI_ROM_BAR, &b), -EINVAL);
	b = trapped(MODVMM_BAR_MEM32, 1024, &r);
	assert_int_equal(pci_bar_add(pci, PCI_ROM_BAR, &b), -EINVAL);      /* below 2 KiB */
	b = trapped(MODVMM_BAR_MEM32, ROM_SIZE, &r);
	b.flags = MODVMM_BAR_F_PREFETCH;
	assert_int_equal(pci_bar_add(pci, PCI_ROM_BAR, &b), -EINVAL);
	b = (struct modvmm_bar){ .type = MODVMM_BAR_MEM32, .size = ROM_SIZE, .backing = MODVMM_BAR_HOSTBUF, .hostbuf = buf };
	assert_int_equal(pci_bar_add(pci, PCI_ROM_BAR, &b), -EINVAL);      /* a memslot would be writable */
	b = trapped(MODVMM_BAR_MEM32, ROM_SIZE, &r);
	assert_int_equal(pci_bar_add(pci, PCI_ROM_BAR + 1, &b), -EINVAL);

	/* a plugin built for 2.3: index 6 was not a BAR; its ROM register keeps
	 * reading 0, sizes to 0 and maps nothing */
	pci->abi_minor = 3;
	assert_int_equal(pci_bar_add(pci, PCI_ROM_BAR, &b), -EINVAL);
	test_cfg_write(t, 1, 0, PCI_CFG_ROM, 4, 0xfffffffe);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_ROM, 4), 0);
	test_cfg_write(t, 1, 0, PCI_CFG_ROM, 4, 0xffffffff);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_ROM, 4), 0);
	assert_int_equal(pci_bar_addr(pci, PCI_ROM_BAR), 0);
	/* the same for a 2.4 function without a ROM */
	struct modvmm_pci *other;
	assert_int_equal(pci_func_add(&t->bus, 2, 0, &dev_id, NULL, NULL, &other), 0);
	test_cfg_write(t, 2, 0, PCI_CFG_ROM, 4, 0xfffffffe);
	assert_int_equal(test_cfg_read(t, 2, 0, PCI_CFG_ROM, 4), 0);
	assert_int_equal(r.reads + r.writes, 0);
	test_bus_free(t);
}

static void rom_register(void **state)
{
	(void)state;
	struct test_bus *t = test_bus_new();
	struct modvmm_pci *pci;
	assert_int_equal(pci_func_add(&t->bus, 1, 0, &dev_id, NULL, NULL, &pci), 0);
	struct rec r = { 0 }, rr = { 0 };
	struct modvmm_bar b = trapped(MODVMM_BAR_MEM32, 0x1000, &r);
	assert_int_equal(pci_bar_add(pci, 0, &b), 0);
	b = trapped(MODVMM_BAR_MEM32, ROM_SIZE, &rr);
	assert_int_equal(pci_bar_add(pci, PCI_ROM_BAR, &b), 0);
	assert_int_equal(pci_bar_add(pci, PCI_ROM_BAR, &b), -EBUSY);

	/* placed in the 32-bit window, naturally aligned, but disabled: ROM
	 * Enable is the guest's (firmware leaves it off) */
	uint32_t reg = test_cfg_read(t, 1, 0, PCI_CFG_ROM, 4);
	uint64_t rom = reg & PCI_ROM_ADDR_MASK;
	assert_int_equal(reg & PCI_ROM_ENABLE, 0);
	assert_true(rom >= PCI_MMIO32_BASE && rom < PCI_MMIO32_END && !(rom & (ROM_SIZE - 1)));
	assert_int_equal(pci_bar_addr(pci, PCI_ROM_BAR), 0);
	assert_int_equal(pci_config_read(pci, PCI_CFG_ROM, 4), reg);          /* the device's view too */
	bool claimed;
	mmio(t, rom, false, 0, &claimed);
	assert_false(claimed);

	/* size probe (§6.2.5.2): all ones in the address bits read back
	 * ~(size - 1) over bits 31:11, the enable bit as written; nothing maps
	 * meanwhile even with ROM Enable and memory decode on */
	test_cfg_write(t, 1, 0, PCI_CFG_ROM, 4, 0xfffffffe);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_ROM, 4), (uint32_t)~(ROM_SIZE - 1));
	test_cfg_write(t, 1, 0, PCI_CFG_ROM, 4, 0xffffffff);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_ROM, 4), (uint32_t)~(ROM_SIZE - 1) | PCI_ROM_ENABLE);
	assert_int_equal(pci_bar_addr(pci, PCI_ROM_BAR), 0);

	/* enabled at its address with COMMAND memory on: decoded, read-only */
	test_cfg_write(t, 1, 0, PCI_CFG_ROM, 4, (uint32_t)rom | PCI_ROM_ENABLE);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_ROM, 4), (uint32_t)rom | PCI_ROM_ENABLE);
	assert_int_equal(pci_bar_addr(pci, PCI_ROM_BAR), rom);
	assert_int_equal(mmio(t, rom + 8, false, 0, &claimed), 0xa5000008u);
	assert_true(claimed);
	mmio(t, rom + 8, true, 0x12345678, &claimed);
	assert_true(claimed);                        /* claimed, and dropped */
	assert_int_equal(rr.writes, 0);
	assert_int_equal(rr.reads, 1);
	assert_null(fake_slot_at(&t->kvm, rom));     /* trapped: no memslot a write could reach */

	/* COMMAND memory off: not decoded, the register unchanged; on: back */
	test_cfg_write(t, 1, 0, PCI_CFG_COMMAND, 2, 0);
	assert_int_equal(pci_bar_addr(pci, PCI_ROM_BAR), 0);
	mmio(t, rom, false, 0, &claimed);
	assert_false(claimed);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_ROM, 4), (uint32_t)rom | PCI_ROM_ENABLE);
	test_cfg_write(t, 1, 0, PCI_CFG_COMMAND, 2, PCI_CMD_MEM);
	assert_int_equal(pci_bar_addr(pci, PCI_ROM_BAR), rom);
	/* ROM Enable off by a byte write: not decoded, the address kept */
	test_cfg_write(t, 1, 0, PCI_CFG_ROM, 1, 0);
	assert_int_equal(pci_bar_addr(pci, PCI_ROM_BAR), 0);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_ROM, 4), (uint32_t)rom);
	/* moved and enabled again; the old address gone */
	uint64_t moved = rom + 2 * ROM_SIZE;
	test_cfg_write(t, 1, 0, PCI_CFG_ROM, 4, (uint32_t)moved | PCI_ROM_ENABLE);
	assert_int_equal(pci_bar_addr(pci, PCI_ROM_BAR), moved);
	mmio(t, rom, false, 0, &claimed);
	assert_false(claimed);
	assert_int_equal(mmio(t, moved + 4, false, 0, &claimed), 0xa5000004u);
	/* the device cannot write the register behind the core's back */
	pci_config_write(pci, PCI_CFG_ROM, 4, 0);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_ROM, 4), (uint32_t)moved | PCI_ROM_ENABLE);
	assert_int_equal(r.reads + r.writes, 0);     /* BAR0 never saw any of it */
	test_bus_free(t);
}

/* ---- pci_reset ---- */

struct resetdev {
	struct test_bus *t;
	struct modvmm_pci *pci;
	struct rec r;
	uint64_t io, bar1, bar2, rom;
	unsigned cap;
};

static uint8_t hostbuf[0x4000] __attribute__((aligned(4096)));

/* A hook that resets its function on a write at RESET_REG, as vfio-pci does on
 * Initiate FLR: from inside the function's (recursive) lock. */
static int reset_hook(void *opaque, unsigned off, unsigned size, uint32_t v)
{
	struct resetdev *d = opaque;
	(void)size, (void)v;
	if (off != RESET_REG)
		return -ENOENT;
	pci_reset(d->pci);
	return 0;
}

static const struct modvmm_pci_cfg_ops reset_ops = { .write = reset_hook };

/* An I/O BAR0, trapped BAR1 with MSI-X, a 64-bit host-buffer BAR2, a ROM;
 * then programmed by the guest: everything on, one vector unmasked. */
static void reset_setup(struct resetdev *d)
{
	d->t = test_bus_new();
	assert_int_equal(pci_func_add(&d->t->bus, 1, 0, &dev_id, &reset_ops, d, &d->pci), 0);
	struct modvmm_bar b = trapped(MODVMM_BAR_IO, 0x100, &d->r);
	assert_int_equal(pci_bar_add(d->pci, 0, &b), 0);
	b = trapped(MODVMM_BAR_MEM32, 0x1000, &d->r);
	assert_int_equal(pci_bar_add(d->pci, 1, &b), 0);
	b = (struct modvmm_bar){ .type = MODVMM_BAR_MEM64, .size = sizeof(hostbuf), .backing = MODVMM_BAR_HOSTBUF,
	                         .hostbuf = hostbuf };
	assert_int_equal(pci_bar_add(d->pci, 2, &b), 0);
	b = trapped(MODVMM_BAR_MEM32, ROM_SIZE, &d->r);
	assert_int_equal(pci_bar_add(d->pci, PCI_ROM_BAR, &b), 0);
	assert_int_equal(pci_msix_init(d->pci, 2, 1, TABLE_OFF, 1, PBA_OFF), 0);
	d->cap = pci_cfg_cap_find(&d->pci->cfg, PCI_CAP_ID_MSIX);
	d->io = pci_bar_addr(d->pci, 0);
	d->bar1 = pci_bar_addr(d->pci, 1);
	d->bar2 = pci_bar_addr(d->pci, 2);
	d->rom = test_cfg_read(d->t, 1, 0, PCI_CFG_ROM, 4) & PCI_ROM_ADDR_MASK;
	test_cfg_write(d->t, 1, 0, PCI_CFG_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE);
	test_cfg_write(d->t, 1, 0, PCI_CFG_ROM, 4, (uint32_t)d->rom | PCI_ROM_ENABLE);
	test_cfg_write(d->t, 1, 0, PCI_CFG_CACHE_LINE, 1, 0x10);
	bool claimed;
	mmio(d->t, d->bar1 + TABLE_OFF, true, MSI_ADDR, &claimed);
	mmio(d->t, d->bar1 + TABLE_OFF + 8, true, 0x40, &claimed);
	mmio(d->t, d->bar1 + TABLE_OFF + 12, true, 0, &claimed);             /* vector 0 unmasked */
	test_cfg_write(d->t, 1, 0, d->cap + MSIX_CTL, 2, CTL_ENABLE);
	assert_non_null(fake_irqfd_of(&d->t->kvm, pci_msix_fd(d->pci, 0)));
	assert_int_equal(pci_intx(d->pci, 1), 0);
	assert_int_equal(d->t->kvm.line[17], 0);                             /* INTx disabled */
	uint32_t status = pci_config_read(d->pci, PCI_CFG_STATUS, 2);
	pci_config_write(d->pci, PCI_CFG_STATUS, 2, status | PCI_STATUS_W1C); /* errors the device saw */
	assert_int_equal(pci_bar_addr(d->pci, PCI_ROM_BAR), d->rom);
	assert_int_equal(fake_slots_used(&d->t->kvm), 1);
}

static void reset_view(void **state)
{
	(void)state;
	struct resetdev *d = calloc(1, sizeof(*d));
	reset_setup(d);
	struct test_bus *t = d->t;
	uint8_t line = (uint8_t)test_cfg_read(t, 1, 0, PCI_CFG_INT_LINE, 1);
	test_cfg_write(t, 1, 0, d->cap + MSIX_CTL, 2, CTL_ENABLE | CTL_FMASK);
	eventfd_write(pci_msix_fd(d->pci, 1), 1);                            /* signalled while masked */
	test_cfg_write(t, 1, 0, RESET_REG, 4, 1);                            /* the hook: pci_reset */

	/* COMMAND 0; STATUS error bits cleared, the capability list kept */
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_COMMAND, 2), 0);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_STATUS, 2) & ~PCI_STATUS_INTX, PCI_STATUS_CAP_LIST);
	/* BARs: address bits 0, type bits kept; the ROM 0 and disabled */
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_BAR0, 4), PCI_BAR_IO_SPACE);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_BAR0 + 4, 4), 0);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_BAR0 + 8, 4), PCI_BAR_MEM_TYPE_64);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_BAR0 + 12, 4), 0);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_ROM, 4), 0);
	/* nothing decodes: no trapped range, no memslot */
	for (unsigned i = 0; i < PCI_BAR_SLOTS; i++)
		assert_int_equal(pci_bar_addr(d->pci, i), 0);
	bool claimed;
	mmio(t, d->bar1, false, 0, &claimed);
	assert_false(claimed);
	mmio(t, d->rom, false, 0, &claimed);
	assert_false(claimed);
	uint64_t v = 0;
	assert_false(iobus_access(&t->pio, d->io, 4, false, &v));
	assert_int_equal(fake_slots_used(&t->kvm), 0);
	/* MSI-X disabled and function unmasked, no vector bound */
	assert_int_equal(test_cfg_read(t, 1, 0, d->cap + MSIX_CTL, 2) & (CTL_ENABLE | CTL_FMASK), 0);
	assert_null(fake_irqfd_of(&t->kvm, pci_msix_fd(d->pci, 0)));
	/* INTx disable off: the level the device drives reaches the IOAPIC */
	assert_int_equal(t->kvm.line[17], 1);
	/* kept: interrupt line, cache line */
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_INT_LINE, 1), line);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_CACHE_LINE, 1), 0x10);

	/* the guest programs it again, as Linux restores a saved state */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 4, 4, (uint32_t)d->bar1);
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 8, 4, (uint32_t)d->bar2);
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 12, 4, (uint32_t)(d->bar2 >> 32));
	test_cfg_write(t, 1, 0, PCI_CFG_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_MASTER);
	assert_int_equal(pci_bar_addr(d->pci, 1), d->bar1);
	assert_int_equal(pci_bar_addr(d->pci, 2), d->bar2);
	assert_int_equal(fake_slots_used(&t->kvm), 1);
	assert_int_equal(mmio(t, d->bar1 + 4, false, 0, &claimed), 0xa5000004u);
	assert_int_equal(pci_bar_addr(d->pci, PCI_ROM_BAR), 0);              /* until ROM Enable */
	/* the table: entries 0 and masked; the count signalled before is gone */
	assert_int_equal(mmio(t, d->bar1 + TABLE_OFF, false, 1, &claimed), 0);
	assert_int_equal(mmio(t, d->bar1 + TABLE_OFF + 8, false, 1, &claimed), 0);
	assert_int_equal(mmio(t, d->bar1 + TABLE_OFF + 12, false, 0, &claimed), 1);
	assert_int_equal(mmio(t, d->bar1 + PBA_OFF, false, 1, &claimed), 0);
	/* and MSI-X works again once programmed */
	mmio(t, d->bar1 + TABLE_OFF, true, MSI_ADDR, &claimed);
	mmio(t, d->bar1 + TABLE_OFF + 12, true, 0, &claimed);
	test_cfg_write(t, 1, 0, d->cap + MSIX_CTL, 2, CTL_ENABLE);
	assert_non_null(fake_irqfd_of(&t->kvm, pci_msix_fd(d->pci, 0)));
	assert_null(fake_irqfd_of(&t->kvm, pci_msix_fd(d->pci, 1)));
	/* a reset without MSI-X or BARs is harmless; NULL is ignored */
	struct modvmm_pci *plain;
	assert_int_equal(pci_func_add(&t->bus, 2, 0, &dev_id, NULL, NULL, &plain), 0);
	test_cfg_write(t, 2, 0, PCI_CFG_COMMAND, 2, PCI_CMD_MEM);
	pci_reset(plain);
	assert_int_equal(test_cfg_read(t, 2, 0, PCI_CFG_COMMAND, 2), 0);
	pci_reset(NULL);
	test_bus_free(t);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rom_refusals),
		cmocka_unit_test(rom_register),
		cmocka_unit_test(reset_view),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
