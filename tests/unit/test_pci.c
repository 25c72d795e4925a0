/* SPDX-License-Identifier: MIT */
/* The PCI bus on fake KVM: configuration space semantics, type-1 access, BAR
 * sizing and windows, guest BAR moves and decode bits, refused placements,
 * doorbells following their BAR, INTx, and random configuration writes. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_kvm.h"
#include "pci/pci.h"
#include "pci/pci_cfg.h"

/* ---- a device recording its BAR accesses ---- */

struct rec {
	uint64_t off, val;
	unsigned size, writes, reads;
};

static uint64_t rec_read(void *opaque, uint64_t off, unsigned size)
{
	struct rec *r = opaque;
	r->reads++;
	r->off = off;
	return 0xa5000000u | off;
}

static void rec_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct rec *r = opaque;
	r->writes++;
	r->off = off;
	r->size = size;
	r->val = v;
}

static const struct modvmm_io_ops rec_ops = { .read = rec_read, .write = rec_write };

static const struct modvmm_pci_id dev_id = {
	.vendor = 0x1b36, .device = 0x0005, .subsys_vendor = 0x1af4, .subsys_id = 0x1100,
	.class_code = 0xff, .subclass = 0x01, .prog_if = 0x02, .revision = 7, .irq_pin = 1,
};

static struct modvmm_pci *add_dev(struct test_bus *t, int slot)
{
	struct modvmm_pci *pci;
	assert_int_equal(pci_func_add(&t->bus, slot, 0, &dev_id, NULL, NULL, &pci), 0);
	return pci;
}

static void add_trapped(struct modvmm_pci *pci, unsigned idx, uint32_t type, uint64_t size, struct rec *r)
{
	struct modvmm_bar b = { .type = type, .size = size, .backing = MODVMM_BAR_TRAPPED, .ops = &rec_ops, .opaque = r };
	assert_int_equal(pci_bar_add(pci, idx, &b), 0);
}

static uint64_t mmio(struct test_bus *t, uint64_t addr, unsigned size, bool write, uint64_t v, bool *claimed)
{
	bool c = iobus_access(&t->mmio, addr, size, write, &v);
	if (claimed)
		*claimed = c;
	return v;
}

/* ---- configuration space store ---- */

static void cfg_header_masks(void **state)
{
	struct pci_cfg c;
	pci_cfg_init(&c, &dev_id);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_VENDOR_ID, 4), 0x00051b36);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_REVISION, 4), 0xff010207);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_SUBSYS_VENDOR, 4), 0x11001af4);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_INT_PIN, 1), 1);

	/* read-only: ids, class, header type, pin, capability pointer */
	pci_cfg_guest_write(&c, PCI_CFG_VENDOR_ID, 4, 0xdeadbeef);
	pci_cfg_guest_write(&c, PCI_CFG_REVISION, 4, 0);
	pci_cfg_guest_write(&c, PCI_CFG_INT_PIN, 1, 3);
	pci_cfg_guest_write(&c, PCI_CFG_CAP_PTR, 1, 0x80);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_VENDOR_ID, 4), 0x00051b36);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_REVISION, 4), 0xff010207);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_INT_PIN, 1), 1);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_CAP_PTR, 1), 0);

	/* COMMAND keeps only its writable bits */
	pci_cfg_guest_write(&c, PCI_CFG_COMMAND, 2, 0xffff);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_COMMAND, 2), PCI_CMD_WRITABLE);
	/* writable scratch registers */
	pci_cfg_guest_write(&c, PCI_CFG_CACHE_LINE, 1, 0x10);
	pci_cfg_guest_write(&c, PCI_CFG_INT_LINE, 1, 0x0b);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_CACHE_LINE, 1), 0x10);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_INT_LINE, 1), 0x0b);

	/* STATUS: error bits are write-1-to-clear, INTX and CAP_LIST read-only */
	pci_cfg_set(&c, PCI_CFG_STATUS, 2, PCI_STATUS_W1C | PCI_STATUS_INTX);
	pci_cfg_guest_write(&c, PCI_CFG_STATUS, 2, 0x0100);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_STATUS, 2), (PCI_STATUS_W1C & ~0x0100u) | PCI_STATUS_INTX);
	pci_cfg_guest_write(&c, PCI_CFG_STATUS, 2, 0);   /* writing 0 clears nothing */
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_STATUS, 2), (PCI_STATUS_W1C & ~0x0100u) | PCI_STATUS_INTX);
	pci_cfg_guest_write(&c, PCI_CFG_STATUS, 2, 0xffff);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_STATUS, 2), PCI_STATUS_INTX);

	/* a 4-byte write at COMMAND also hits STATUS with the same rules */
	pci_cfg_set(&c, PCI_CFG_STATUS, 2, 0x8000);
	pci_cfg_guest_write(&c, PCI_CFG_COMMAND, 4, 0x80000000u | PCI_CMD_MEM);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_COMMAND, 4), PCI_CMD_MEM);

	/* unimplemented registers: expansion ROM, device-specific area */
	pci_cfg_guest_write(&c, PCI_CFG_ROM, 4, 0xffffffff);
	pci_cfg_guest_write(&c, 0x40, 4, 0x12345678);
	pci_cfg_guest_write(&c, 0xfc, 4, 0x12345678);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_ROM, 4), 0);
	assert_int_equal(pci_cfg_get(&c, 0x40, 4), 0);
	assert_int_equal(pci_cfg_get(&c, 0xfc, 4), 0);

	assert_true(pci_cfg_access_ok(0xfc, 4));
	assert_true(pci_cfg_access_ok(0x3, 1));
	assert_false(pci_cfg_access_ok(0x3, 2));   /* crosses a dword */
	assert_false(pci_cfg_access_ok(0x2, 4));
	assert_false(pci_cfg_access_ok(0x100, 1));
	assert_false(pci_cfg_access_ok(0x0, 3));
}

static void cfg_capability_chain(void **state)
{
	struct pci_cfg c;
	pci_cfg_init(&c, &dev_id);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
	uint8_t body1[3] = { 1, 2, 3 }, body2[14] = { 9 };
	unsigned o1, o2, o3;
	assert_int_equal(pci_cfg_cap_add(&c, 0x09, body1, sizeof(body1), &o1), 0);
	assert_int_equal(pci_cfg_cap_add(&c, 0x05, body2, sizeof(body2), &o2), 0);
	assert_int_equal(pci_cfg_cap_add(&c, 0x10, NULL, 0, &o3), 0);
	assert_int_equal(o1, 0x40);
	assert_int_equal(o2, 0x48);          /* 0x40 + 2 + 3, dword aligned */
	assert_int_equal(o3, 0x58);
	assert_int_equal(pci_cfg_get(&c, PCI_CFG_CAP_PTR, 1), 0x40);
	assert_true(pci_cfg_get(&c, PCI_CFG_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(pci_cfg_get(&c, o1, 2), 0x4809);
	assert_int_equal(pci_cfg_get(&c, o1 + 2, 1), 1);
	assert_int_equal(pci_cfg_get(&c, o2, 2), 0x5805);
	assert_int_equal(pci_cfg_get(&c, o3, 2), 0x0010);   /* end of the chain */
	assert_int_equal(pci_cfg_cap_find(&c, 0x05), o2);
	assert_int_equal(pci_cfg_cap_find(&c, 0x11), 0);
	/* the chain is read-only to the guest */
	pci_cfg_guest_write(&c, o1, 4, 0);
	assert_int_equal(pci_cfg_get(&c, o1, 2), 0x4809);
	/* full */
	uint8_t big[200] = { 0 };
	assert_int_equal(pci_cfg_cap_add(&c, 0x09, big, sizeof(big), &o1), -ENOSPC);
	assert_int_equal(pci_cfg_cap_add(&c, 0x09, NULL, 4, &o1), -EINVAL);
	/* a guest-made loop in the chain cannot hang the walk */
	c.data[o3 + PCI_CAP_NEXT] = 0x40;
	assert_int_equal(pci_cfg_cap_find(&c, 0x77), 0);
}

/* ---- the bus through ports 0xcf8/0xcfc ---- */

static void type1_access(void **state)
{
	struct test_bus *t = test_bus_new();
	assert_int_equal(test_cfg_read(t, 0, 0, 0, 4), (PCI_HOST_DEVICE << 16) | PCI_HOST_VENDOR);
	assert_int_equal(test_cfg_read(t, 0, 0, PCI_CFG_CLASS, 1), PCI_CLASS_BRIDGE);
	assert_int_equal(test_cfg_read(t, 0, 0, PCI_CFG_SUBCLASS, 1), PCI_SUBCLASS_HOST);
	/* every access size at every byte offset of the data port */
	add_dev(t, 3);
	assert_int_equal(test_cfg_read(t, 3, 0, 0, 1), 0x36);
	assert_int_equal(test_cfg_read(t, 3, 0, 1, 1), 0x1b);
	assert_int_equal(test_cfg_read(t, 3, 0, 2, 2), 0x0005);
	assert_int_equal(test_cfg_read(t, 3, 0, 3, 1), 0x00);
	assert_int_equal(test_cfg_read(t, 3, 0, 0xb, 1), 0xff);
	assert_int_equal(test_cfg_read(t, 3, 0, 0x9, 2), 0x0102);
	/* a word at 0xcff crosses the dword: all ones, no effect */
	assert_int_equal(test_cfg_read(t, 3, 0, 0x3, 2), 0xffff);
	test_cfg_write(t, 3, 0, PCI_CFG_INT_LINE + 3, 2, 0);
	/* nothing at an empty slot, another bus, or with the enable bit clear */
	assert_int_equal(test_cfg_read(t, 4, 0, 0, 4), 0xffffffff);
	assert_int_equal(test_cfg_read(t, 3, 1, 0, 4), 0xffffffff);
	uint64_t a = PCI_CONFIG_ENABLE | 1u << 16 | 3u << 11, v = 0;
	iobus_access(&t->pio, PCI_CONFIG_ADDRESS, 4, true, &a);
	iobus_access(&t->pio, PCI_CONFIG_DATA, 4, false, &v);
	assert_int_equal(v, 0xffffffff);
	a = 3u << 11;
	iobus_access(&t->pio, PCI_CONFIG_ADDRESS, 4, true, &a);
	iobus_access(&t->pio, PCI_CONFIG_DATA, 4, false, &v);
	assert_int_equal(v, 0xffffffff);
	/* CONFIG_ADDRESS reads back; byte and word accesses there are not it */
	a = PCI_CONFIG_ENABLE | 3u << 11 | 0x3f;
	iobus_access(&t->pio, PCI_CONFIG_ADDRESS, 4, true, &a);
	iobus_access(&t->pio, PCI_CONFIG_ADDRESS, 4, false, &v);
	assert_int_equal(v, PCI_CONFIG_ENABLE | 3u << 11 | 0x3c);
	uint64_t b = 0x06;
	iobus_access(&t->pio, PCI_CONFIG_ADDRESS + 1, 1, true, &b);
	iobus_access(&t->pio, PCI_CONFIG_ADDRESS, 2, true, &b);
	iobus_access(&t->pio, PCI_CONFIG_ADDRESS, 4, false, &v);
	assert_int_equal(v, PCI_CONFIG_ENABLE | 3u << 11 | 0x3c);
	/* INTx pin and line: slot 3, INTA# -> GSI 16 + (3 + 1 - 1) % 4 */
	assert_int_equal(test_cfg_read(t, 3, 0, PCI_CFG_INT_PIN, 1), 1);
	assert_int_equal(test_cfg_read(t, 3, 0, PCI_CFG_INT_LINE, 1), 19);
	test_bus_free(t);
}

static void slots_and_functions(void **state)
{
	struct test_bus *t = test_bus_new();
	t->bus.reserved_slots = 1u << 2;   /* claimed by a config key */
	struct modvmm_pci *a, *b, *c, *d;
	assert_int_equal(pci_func_add(&t->bus, -1, 0, &dev_id, NULL, NULL, &a), 0);
	assert_int_equal(a->slot, 1);
	assert_int_equal(pci_func_add(&t->bus, -1, 0, &dev_id, NULL, NULL, &b), 0);
	assert_int_equal(b->slot, 3);      /* 2 is reserved for its owner */
	assert_int_equal(pci_func_add(&t->bus, 2, 0, &dev_id, NULL, NULL, &c), 0);
	assert_int_equal(pci_func_add(&t->bus, 2, 0, &dev_id, NULL, NULL, &d), -EBUSY);
	assert_int_equal(pci_func_add(&t->bus, 0, 0, &dev_id, NULL, NULL, &d), -EBUSY);  /* host bridge */
	assert_int_equal(pci_func_add(&t->bus, 32, 0, &dev_id, NULL, NULL, &d), -EINVAL);
	assert_int_equal(pci_func_add(&t->bus, 5, 8, &dev_id, NULL, NULL, &d), -EINVAL);
	/* a second function makes function 0 multi-function */
	assert_int_equal(test_cfg_read(t, 3, 0, PCI_CFG_HEADER_TYPE, 1), 0);
	assert_int_equal(pci_func_add(&t->bus, 3, 1, &dev_id, NULL, NULL, &d), 0);
	assert_int_equal(test_cfg_read(t, 3, 0, PCI_CFG_HEADER_TYPE, 1), PCI_HEADER_MULTIFUNCTION);
	assert_int_equal(test_cfg_read(t, 3, 1, PCI_CFG_HEADER_TYPE, 1), 0);
	/* fill the bus */
	int ret = 0;
	for (int i = 0; i < PCI_SLOTS && !ret; i++)
		ret = pci_func_add(&t->bus, -1, 0, &dev_id, NULL, NULL, &d);
	assert_int_equal(ret, -ENOSPC);
	test_bus_free(t);
}

struct hooks {
	uint32_t reg60;
	unsigned reads, writes;
};

static int hook_read(void *opaque, unsigned off, unsigned size, uint32_t *v)
{
	struct hooks *h = opaque;
	h->reads++;
	if (off != 0x60)
		return -ENOENT;
	*v = h->reg60;
	return 0;
}

static int hook_write(void *opaque, unsigned off, unsigned size, uint32_t v)
{
	struct hooks *h = opaque;
	h->writes++;
	if (off != 0x60)
		return -ENOENT;
	h->reg60 = v;
	return 0;
}

static void device_hooks(void **state)
{
	struct test_bus *t = test_bus_new();
	struct hooks h = { .reg60 = 0x1234 };
	static const struct modvmm_pci_cfg_ops ops = { .read = hook_read, .write = hook_write };
	struct modvmm_pci *pci;
	assert_int_equal(pci_func_add(&t->bus, 4, 0, &dev_id, &ops, &h, &pci), 0);
	assert_int_equal(test_cfg_read(t, 4, 0, 0x60, 4), 0x1234);
	test_cfg_write(t, 4, 0, 0x60, 4, 0xcafe);
	assert_int_equal(h.reg60, 0xcafe);
	assert_int_equal(test_cfg_read(t, 4, 0, 0x60, 4), 0xcafe);
	/* -ENOENT: default store, read-only */
	pci_config_write(pci, 0x70, 4, 0x55aa55aa);
	assert_int_equal(test_cfg_read(t, 4, 0, 0x70, 4), 0x55aa55aa);
	test_cfg_write(t, 4, 0, 0x70, 4, 0);
	assert_int_equal(test_cfg_read(t, 4, 0, 0x70, 4), 0x55aa55aa);
	/* the header never reaches the hooks */
	unsigned r = h.reads, w = h.writes;
	test_cfg_read(t, 4, 0, PCI_CFG_COMMAND, 2);
	test_cfg_write(t, 4, 0, PCI_CFG_INT_LINE, 1, 5);
	assert_int_equal(h.reads, r);
	assert_int_equal(h.writes, w);
	/* the device's view: unmasked, but BAR registers are not writable here */
	assert_int_equal(pci_config_read(pci, 0x70, 2), 0x55aa);
	pci_config_write(pci, PCI_CFG_BAR0, 4, 0x1234);
	assert_int_equal(pci_config_read(pci, PCI_CFG_BAR0, 4), 0);
	assert_int_equal(pci_config_read(pci, 0xff, 2), 0xffff);   /* out of range */
	assert_int_equal(pci_cap_add(pci, PCI_CAP_ID_MSIX, NULL, 0, NULL), -EINVAL);
	test_bus_free(t);
}

/* ABI 2.3 header_written: told of every guest write below 0x40 after the core
 * applied it (the masked result reads back), never of the device's own writes
 * or of writes at 0x40 and above. */
struct header_log {
	struct modvmm_pci *pci;
	unsigned calls, off, size;
	uint32_t value, command;
};

static void hook_header(void *opaque, unsigned off, unsigned size, uint32_t v)
{
	struct header_log *l = opaque;
	l->calls++;
	l->off = off;
	l->size = size;
	l->value = v;
	l->command = pci_config_read(l->pci, PCI_CFG_COMMAND, 2);   /* the lock is recursive */
}

static void header_written_hook(void **state)
{
	struct test_bus *t = test_bus_new();
	struct header_log l = { 0 };
	static const struct modvmm_pci_cfg_ops ops = { .header_written = hook_header };
	assert_int_equal(pci_func_add(&t->bus, 4, 0, &dev_id, &ops, &l, &l.pci), 0);
	test_cfg_write(t, 4, 0, PCI_CFG_COMMAND, 2, 0xffff);
	assert_int_equal(l.calls, 1);
	assert_int_equal(l.off, PCI_CFG_COMMAND);
	assert_int_equal(l.size, 2);
	assert_int_equal(l.value, 0xffff);
	assert_int_equal(l.command, PCI_CMD_WRITABLE);        /* applied, masked */
	test_cfg_write(t, 4, 0, PCI_CFG_COMMAND, 1, 0);       /* a byte write clears the master bit */
	assert_int_equal(l.calls, 2);
	assert_int_equal(l.command & PCI_CMD_MASTER, 0);
	test_cfg_write(t, 4, 0, PCI_CFG_BAR0, 4, 0xffffffffu);
	assert_int_equal(l.calls, 3);
	assert_int_equal(l.off, PCI_CFG_BAR0);
	test_cfg_write(t, 4, 0, PCI_CFG_INT_LINE, 1, 9);
	assert_int_equal(l.calls, 4);
	/* not told: the device's own writes, writes past the header, bad offsets */
	pci_config_write(l.pci, PCI_CFG_COMMAND, 2, PCI_CMD_MASTER);
	test_cfg_write(t, 4, 0, 0x40, 4, 0x12345678);
	test_cfg_write(t, 4, 0, 0x3f, 2, 0);   /* crosses a dword: dropped */
	assert_int_equal(l.calls, 4);
	test_bus_free(t);
}

/* ---- BARs ---- */

static void window_alloc(void **state)
{
	struct pci_window w;
	uint64_t a;
	pci_window_init(&w, "test", 0x1000, 0x10000);
	assert_int_equal(pci_window_alloc(&w, 0x100, 0x100, &a), 0);
	assert_int_equal(a, 0x1000);
	assert_int_equal(pci_window_alloc(&w, 0x1000, 0x1000, &a), 0);
	assert_int_equal(a, 0x2000);                 /* naturally aligned, not 0x1100 */
	assert_int_equal(pci_window_alloc(&w, 0x8000, 0x8000, &a), 0);
	assert_int_equal(a, 0x8000);
	assert_int_equal(pci_window_alloc(&w, 0x8000, 0x8000, &a), -ENOSPC);   /* 0x10000 is the end */
	assert_int_equal(pci_window_alloc(&w, 0x10, 0x10, &a), -ENOSPC);
	assert_int_equal(pci_window_alloc(&w, 0x300, 0x100, &a), -EINVAL);    /* not a power of two */
	pci_window_init(&w, "top", UINT64_MAX - 0xfff, UINT64_MAX);
	assert_int_equal(pci_window_alloc(&w, 0x1000, 0x2000, &a), -ENOSPC);  /* no wrap-around */

	/* through the ABI: too big, bad sizes, bad combinations, window exhaustion */
	struct test_bus *t = test_bus_new();
	struct modvmm_pci *pci = add_dev(t, 1);
	struct rec r = { 0 };
	struct modvmm_bar b = { .type = MODVMM_BAR_MEM32, .size = 1ULL << 31, .backing = MODVMM_BAR_TRAPPED, .ops = &rec_ops };
	assert_int_equal(pci_bar_add(pci, 0, &b), -ENOSPC);       /* bigger than the window: does not fit */
	b.type = MODVMM_BAR_MEM64;
	b.size = 1ULL << 37;                                      /* 128 GiB > the 64 GiB MMIO64 window */
	assert_int_equal(pci_bar_add(pci, 0, &b), -ENOSPC);
	b.size = 1ULL << 63;
	assert_int_equal(pci_bar_add(pci, 0, &b), -ENOSPC);
	b.type = MODVMM_BAR_MEM32;
	b.size = 0x1800;
	assert_int_equal(pci_bar_add(pci, 0, &b), -EINVAL);
	b.size = 8;
	assert_int_equal(pci_bar_add(pci, 0, &b), -EINVAL);       /* memory BARs are >= 16 bytes */
	b = (struct modvmm_bar){ .type = MODVMM_BAR_IO, .size = 0x100, .flags = MODVMM_BAR_F_PREFETCH,
	                         .backing = MODVMM_BAR_TRAPPED };
	assert_int_equal(pci_bar_add(pci, 0, &b), -EINVAL);
	static uint8_t page[4096] __attribute__((aligned(4096)));
	b = (struct modvmm_bar){ .type = MODVMM_BAR_IO, .size = 0x1000, .backing = MODVMM_BAR_HOSTBUF, .hostbuf = page };
	assert_int_equal(pci_bar_add(pci, 0, &b), -EINVAL);       /* no direct-mapped I/O */
	b = (struct modvmm_bar){ .type = MODVMM_BAR_MEM32, .size = 0x1000, .backing = MODVMM_BAR_HOSTBUF, .hostbuf = page + 1 };
	assert_int_equal(pci_bar_add(pci, 0, &b), -EINVAL);       /* unaligned host buffer */
	b = (struct modvmm_bar){ .type = MODVMM_BAR_MEM64, .size = 0x1000, .backing = MODVMM_BAR_TRAPPED };
	assert_int_equal(pci_bar_add(pci, 5, &b), -EINVAL);       /* needs two registers */
	add_trapped(pci, 4, MODVMM_BAR_MEM64, 0x1000, &r);
	b.type = MODVMM_BAR_MEM32;
	assert_int_equal(pci_bar_add(pci, 5, &b), -EBUSY);        /* upper half of BAR4 */
	assert_int_equal(pci_bar_add(pci, 4, &b), -EBUSY);
	assert_int_equal(pci_bar_add(pci, 7, &b), -EINVAL);       /* 6 is the expansion ROM (ABI 2.4) */
	/* I/O window 0xc000-0xffff holds 64 BARs of 256 ports */
	int ret = 0, n = 0;
	for (unsigned s = 2; s < PCI_SLOTS && !ret; s++) {
		struct modvmm_pci *f = add_dev(t, (int)s);
		for (unsigned i = 0; i < PCI_NUM_BARS && !ret; i++, n++) {
			b = (struct modvmm_bar){ .type = MODVMM_BAR_IO, .size = 0x100, .backing = MODVMM_BAR_TRAPPED };
			ret = pci_bar_add(f, i, &b);
		}
	}
	assert_int_equal(ret, -ENOSPC);
	assert_int_equal(n - 1, 64);
	test_bus_free(t);
}

/* ABI 2.3 split BAR: a trapped BAR whose areas are memslots on the plugin's
 * buffer, minus the pages of the MSI-X table and PBA; the pieces follow moves
 * and decode; malformed areas refused; ignored from a 2.2 plugin. */
static void split_bar(void **state)
{
	struct test_bus *t = test_bus_new();
	struct modvmm_pci *pci = add_dev(t, 1);
	struct rec r = { 0 };
	static uint8_t buf[0x4000] __attribute__((aligned(4096)));
	const struct modvmm_bar_area whole[] = { { 0, sizeof(buf) }, { 0, 0 } };
	struct modvmm_bar b = { .type = MODVMM_BAR_MEM32, .size = sizeof(buf), .backing = MODVMM_BAR_TRAPPED,
	                        .ops = &rec_ops, .opaque = &r, .hostbuf = buf, .areas = whole };
	assert_int_equal(pci_bar_add(pci, 3, &b), 0);
	uint64_t a = pci_bar_addr(pci, 3);
	assert_int_equal(fake_slots_used(&t->kvm), 1);                /* all of it, before MSI-X */
	/* e1000e's layout: 5 vectors, table at 0, PBA at 0x2000 */
	assert_int_equal(pci_msix_init(pci, 5, 3, 0, 3, 0x2000), 0);
	assert_int_equal(fake_slots_used(&t->kvm), 2);
	assert_null(fake_slot_at(&t->kvm, a));                        /* table page: trapped */
	assert_null(fake_slot_at(&t->kvm, a + 0x2ff8));               /* PBA page: trapped */
	const struct fake_slot *s = fake_slot_at(&t->kvm, a + 0x1000);
	assert_non_null(s);
	assert_int_equal(s->gpa, a + 0x1000);
	assert_int_equal(s->size, 0x1000);
	assert_ptr_equal(s->hva, buf + 0x1000);
	s = fake_slot_at(&t->kvm, a + 0x3fff);
	assert_non_null(s);
	assert_ptr_equal(s->hva, buf + 0x3000);
	bool claimed;
	mmio(t, a + 8, 4, true, 0x55, &claimed);                      /* MSI-X data of vector 0 */
	assert_true(claimed);
	assert_int_equal(mmio(t, a + 8, 4, false, 0, NULL), 0x55);
	assert_int_equal(r.writes, 0);                                /* served by the core */
	/* moved: the pieces follow, nothing left at the old address */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 12, 4, 0xe0000000u);
	assert_int_equal(fake_slots_used(&t->kvm), 2);
	assert_null(fake_slot_at(&t->kvm, a + 0x1000));
	assert_non_null(fake_slot_at(&t->kvm, 0xe0001000u));
	assert_non_null(fake_slot_at(&t->kvm, 0xe0003000u));
	test_cfg_write(t, 1, 0, PCI_CFG_COMMAND, 2, 0);
	assert_int_equal(fake_slots_used(&t->kvm), 0);
	test_cfg_write(t, 1, 0, PCI_CFG_COMMAND, 2, PCI_CMD_MEM);
	assert_int_equal(fake_slots_used(&t->kvm), 2);

	/* refusals */
	const struct modvmm_bar_area odd[] = { { 0x800, 0x1000 }, { 0, 0 } };
	const struct modvmm_bar_area past[] = { { 0x1000, 0x4000 }, { 0, 0 } };
	struct modvmm_bar_area many[MODVMM_BAR_MAX_AREAS + 1] = { { 0, 0 } };
	for (unsigned i = 0; i < MODVMM_BAR_MAX_AREAS + 1; i++)
		many[i] = (struct modvmm_bar_area){ 0, 0x1000 };
	static const struct modvmm_bar_area none[] = { { 0, 0 } };
	struct modvmm_bar bad = b;
	bad.areas = odd;
	assert_int_equal(pci_bar_add(pci, 0, &bad), -EINVAL);
	bad.areas = past;
	assert_int_equal(pci_bar_add(pci, 0, &bad), -EINVAL);
	bad.areas = many;                                             /* no end within the maximum */
	assert_int_equal(pci_bar_add(pci, 0, &bad), -EINVAL);
	bad.areas = whole;
	bad.hostbuf = NULL;
	assert_int_equal(pci_bar_add(pci, 0, &bad), -EINVAL);
	bad.hostbuf = buf + 1;
	assert_int_equal(pci_bar_add(pci, 0, &bad), -EINVAL);
	bad = (struct modvmm_bar){ .type = MODVMM_BAR_IO, .size = 0x100, .backing = MODVMM_BAR_TRAPPED, .hostbuf = buf,
	                           .areas = none };
	assert_int_equal(pci_bar_add(pci, 0, &bad), -EINVAL);
	bad = b;
	bad.backing = MODVMM_BAR_HOSTBUF;
	assert_int_equal(pci_bar_add(pci, 0, &bad), -EINVAL);
	/* a plugin built for 2.2: the slot was reserved, so it is not read */
	struct modvmm_pci *old = add_dev(t, 2);
	old->abi_minor = 2;
	unsigned used = fake_slots_used(&t->kvm);
	bad = b;
	bad.areas = odd;
	assert_int_equal(pci_bar_add(old, 0, &bad), 0);
	assert_int_equal(fake_slots_used(&t->kvm), used);
	test_bus_free(t);
}

static uint32_t size_bar(struct test_bus *t, unsigned slot, unsigned reg)
{
	unsigned off = PCI_CFG_BAR0 + reg * 4;
	uint32_t old = test_cfg_read(t, slot, 0, off, 4);
	test_cfg_write(t, slot, 0, off, 4, 0xffffffff);
	uint32_t v = test_cfg_read(t, slot, 0, off, 4);
	test_cfg_write(t, slot, 0, off, 4, old);
	return v;
}

static void bar_sizing(void **state)
{
	struct test_bus *t = test_bus_new();
	struct modvmm_pci *pci = add_dev(t, 1);
	struct rec r = { 0 };
	static uint8_t buf[0x10000] __attribute__((aligned(4096)));
	add_trapped(pci, 0, MODVMM_BAR_IO, 0x100, &r);
	add_trapped(pci, 1, MODVMM_BAR_MEM32, 0x1000, &r);
	struct modvmm_bar hb = { .type = MODVMM_BAR_MEM64, .flags = MODVMM_BAR_F_PREFETCH, .size = sizeof(buf),
	                         .backing = MODVMM_BAR_HOSTBUF, .hostbuf = buf };
	assert_int_equal(pci_bar_add(pci, 2, &hb), 0);
	add_trapped(pci, 4, MODVMM_BAR_MEM64, 8ULL << 30, &r);    /* 8 GiB: the upper register has size bits */

	/* assigned in the windows, naturally aligned, decode enabled */
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_BAR0, 4), 0xc000 | PCI_BAR_IO_SPACE);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_BAR0 + 4, 4), PCI_MMIO32_BASE);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_BAR0 + 8, 4), PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_BAR0 + 12, 4), 1);      /* 4 GiB */
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_BAR0 + 16, 4), PCI_BAR_MEM_TYPE_64);
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_BAR0 + 20, 4), 2);      /* 8 GiB: naturally aligned */
	assert_int_equal(test_cfg_read(t, 1, 0, PCI_CFG_COMMAND, 2) & (PCI_CMD_IO | PCI_CMD_MEM), PCI_CMD_IO | PCI_CMD_MEM);
	assert_int_equal(pci_bar_addr(pci, 0), 0xc000);
	assert_int_equal(pci_bar_addr(pci, 2), 0x100000000ULL);
	assert_int_equal(pci_bar_addr(pci, 4), 0x200000000ULL);
	assert_non_null(fake_slot_at(&t->kvm, 0x100000000ULL));

	/* all ones reads back ~(size - 1) with the type bits (PCI 3.0 §6.2.5.1) */
	assert_int_equal(size_bar(t, 1, 0), 0xffffff00u | PCI_BAR_IO_SPACE);
	assert_int_equal(size_bar(t, 1, 1), 0xfffff000u);
	assert_int_equal(size_bar(t, 1, 2), 0xffff0000u | PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH);
	assert_int_equal(size_bar(t, 1, 3), 0xffffffffu);
	assert_int_equal(size_bar(t, 1, 4), PCI_BAR_MEM_TYPE_64);
	assert_int_equal(size_bar(t, 1, 5), 0xfffffffeu);
	/* an unimplemented BAR reads 0 and sizes to 0 */
	struct modvmm_pci *other = add_dev(t, 2);
	add_trapped(other, 1, MODVMM_BAR_MEM32, 0x1000, &r);
	assert_int_equal(size_bar(t, 2, 0), 0);
	assert_int_equal(test_cfg_read(t, 2, 0, PCI_CFG_BAR0, 4), 0);

	/* while a BAR holds the sizing pattern it maps nothing; restoring maps it back */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 4, 4, 0xffffffff);
	assert_int_equal(pci_bar_addr(pci, 1), 0);
	bool claimed;
	mmio(t, 0xfffff000u, 4, false, 0, &claimed);
	assert_false(claimed);
	mmio(t, PCI_MMIO32_BASE, 4, false, 0, &claimed);
	assert_false(claimed);
	assert_false(pci->bar[1].refused);                        /* and nothing was logged */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 4, 4, PCI_MMIO32_BASE);
	assert_int_equal(mmio(t, PCI_MMIO32_BASE + 8, 4, false, 0, &claimed), 0xa5000008u);
	assert_true(claimed);
	/* sizing the 64-bit halves one at a time maps nothing either */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 8, 4, 0xffffffff);
	assert_null(fake_slot_at(&t->kvm, 0x100000000ULL));
	assert_int_equal(fake_slots_used(&t->kvm), 0);
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 8, 4, 0);
	assert_non_null(fake_slot_at(&t->kvm, 0x100000000ULL));
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 12, 4, 0xffffffff);
	assert_int_equal(fake_slots_used(&t->kvm), 0);
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 12, 4, 1);
	assert_int_equal(fake_slots_used(&t->kvm), 1);
	/* byte writes into a BAR register merge */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 4 + 3, 1, 0xd0);
	assert_int_equal(pci_bar_addr(pci, 1), 0xd0000000u);
	test_bus_free(t);
}

static void bar_moves(void **state)
{
	struct test_bus *t = test_bus_new();
	struct modvmm_pci *pci = add_dev(t, 1);
	struct rec rio = { 0 }, rmm = { 0 };
	static uint8_t buf[0x2000] __attribute__((aligned(4096)));
	add_trapped(pci, 0, MODVMM_BAR_IO, 0x40, &rio);
	add_trapped(pci, 1, MODVMM_BAR_MEM32, 0x1000, &rmm);
	struct modvmm_bar hb = { .type = MODVMM_BAR_MEM32, .size = sizeof(buf), .backing = MODVMM_BAR_HOSTBUF, .hostbuf = buf };
	assert_int_equal(pci_bar_add(pci, 2, &hb), 0);
	uint64_t old_mm = pci_bar_addr(pci, 1), old_hb = pci_bar_addr(pci, 2);

	/* trapped MMIO: the handler follows, the old address is gone */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 4, 4, 0xe0000000);
	bool c;
	mmio(t, 0xe0000010, 4, true, 0x77, &c);
	assert_true(c);
	assert_int_equal(rmm.off, 0x10);
	assert_int_equal(rmm.val, 0x77);
	mmio(t, old_mm + 0x10, 4, true, 0x88, &c);
	assert_false(c);
	assert_int_equal(rmm.writes, 1);

	/* direct-mapped: the memslot moves with the same host memory */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 8, 4, 0xe8000000);
	assert_null(fake_slot_at(&t->kvm, old_hb));
	const struct fake_slot *s = fake_slot_at(&t->kvm, 0xe8000000);
	assert_non_null(s);
	assert_ptr_equal(s->hva, buf);
	assert_int_equal(s->size, sizeof(buf));
	assert_int_equal(fake_slots_used(&t->kvm), 1);

	/* I/O BAR moves on the port bus */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0, 4, 0xd000);
	uint64_t v = 5;
	assert_true(iobus_access(&t->pio, 0xd004, 1, true, &v));
	assert_int_equal(rio.off, 4);
	assert_false(iobus_access(&t->pio, 0xc004, 1, true, &v));

	/* memory decode off: both memory BARs vanish, the I/O BAR stays */
	test_cfg_write(t, 1, 0, PCI_CFG_COMMAND, 2, PCI_CMD_IO);
	mmio(t, 0xe0000010, 4, false, 0, &c);
	assert_false(c);
	assert_int_equal(fake_slots_used(&t->kvm), 0);
	assert_true(iobus_access(&t->pio, 0xd004, 1, false, &v));
	assert_int_equal(pci_bar_addr(pci, 1), 0);
	/* moving a BAR while decode is off maps nothing; decode on maps the new place */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 8, 4, 0xea000000);
	assert_int_equal(fake_slots_used(&t->kvm), 0);
	test_cfg_write(t, 1, 0, PCI_CFG_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEM);
	assert_non_null(fake_slot_at(&t->kvm, 0xea000000));
	assert_null(fake_slot_at(&t->kvm, 0xe8000000));
	mmio(t, 0xe0000010, 4, false, 0, &c);
	assert_true(c);
	/* I/O decode off */
	test_cfg_write(t, 1, 0, PCI_CFG_COMMAND, 2, PCI_CMD_MEM);
	assert_false(iobus_access(&t->pio, 0xd004, 1, false, &v));
	assert_int_equal(v, 0xff);
	assert_non_null(fake_slot_at(&t->kvm, 0xea000000));
	test_bus_free(t);
}

static void refused_placements(void **state)
{
	struct test_bus *t = test_bus_new();
	struct modvmm_pci *a = add_dev(t, 1), *b = add_dev(t, 2);
	struct rec r = { 0 };
	static uint8_t buf[0x1000] __attribute__((aligned(4096)));
	add_trapped(a, 0, MODVMM_BAR_MEM32, 0x1000, &r);
	struct modvmm_bar hb = { .type = MODVMM_BAR_MEM32, .size = sizeof(buf), .backing = MODVMM_BAR_HOSTBUF, .hostbuf = buf };
	assert_int_equal(pci_bar_add(b, 0, &hb), 0);
	add_trapped(b, 1, MODVMM_BAR_IO, 0x10, &r);
	uint64_t a0 = pci_bar_addr(a, 0), b0 = pci_bar_addr(b, 0);
	/* a non-PCI device on the port bus */
	assert_true(iobus_add(&t->pio, 0x3f8, 8, &rec_ops, &r, NULL) > 0);

	static const uint32_t bad_mem[] = {
		0x00100000,   /* guest RAM */
		0xfec00000,   /* IOAPIC */
		0xfee00000,   /* LAPIC */
		0xfeffc000,   /* KVM identity map / TSS */
	};
	for (unsigned i = 0; i < sizeof(bad_mem) / sizeof(bad_mem[0]); i++) {
		test_cfg_write(t, 2, 0, PCI_CFG_BAR0, 4, bad_mem[i]);
		assert_int_equal(pci_bar_addr(b, 0), 0);
		assert_true(b->bar[0].refused);
		assert_int_equal(b->bar[0].refused_addr, bad_mem[i]);
		assert_int_equal(fake_slots_used(&t->kvm), 0);
		test_cfg_write(t, 1, 0, PCI_CFG_BAR0, 4, bad_mem[i]);
		assert_int_equal(pci_bar_addr(a, 0), 0);
		bool c;
		mmio(t, bad_mem[i], 4, false, 0, &c);
		assert_false(c);
	}
	/* onto another BAR: refused while the other one is there ... */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0, 4, (uint32_t)a0);
	assert_int_equal(pci_bar_addr(a, 0), a0);
	test_cfg_write(t, 2, 0, PCI_CFG_BAR0, 4, (uint32_t)a0);
	assert_int_equal(pci_bar_addr(b, 0), 0);
	assert_int_equal(pci_bar_addr(a, 0), a0);               /* the first one keeps its place */
	assert_int_equal(fake_slots_used(&t->kvm), 0);
	/* ... and mapped once the other moves away */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0, 4, 0xe0000000);
	assert_int_equal(pci_bar_addr(b, 0), a0);
	assert_false(b->bar[0].refused);
	assert_non_null(fake_slot_at(&t->kvm, a0));
	test_cfg_write(t, 2, 0, PCI_CFG_BAR0, 4, (uint32_t)b0);
	/* I/O BARs: off the end of the port space, onto a non-PCI device, onto the config ports */
	test_cfg_write(t, 2, 0, PCI_CFG_BAR0 + 4, 4, 0xfffff0);
	assert_int_equal(pci_bar_addr(b, 1), 0);
	test_cfg_write(t, 2, 0, PCI_CFG_BAR0 + 4, 4, 0x3f0);
	assert_int_equal(pci_bar_addr(b, 1), 0);
	assert_true(b->bar[1].refused);
	test_cfg_write(t, 2, 0, PCI_CFG_BAR0 + 4, 4, 0xcf0);
	assert_int_equal(pci_bar_addr(b, 1), 0);
	uint64_t v;
	iobus_access(&t->pio, 0x3f8, 1, false, &v);
	assert_int_equal(v, 0xa5000000u);                       /* the serial port still answers */
	assert_int_equal(test_cfg_read(t, 0, 0, 0, 2), PCI_HOST_VENDOR);   /* and the config ports */
	test_cfg_write(t, 2, 0, PCI_CFG_BAR0 + 4, 4, 0xe000);
	assert_int_equal(pci_bar_addr(b, 1), 0xe000);
	/* beyond the guest physical address width (40 bits here) */
	struct modvmm_pci *c = add_dev(t, 3);
	add_trapped(c, 0, MODVMM_BAR_MEM64, 0x1000, &r);
	test_cfg_write(t, 3, 0, PCI_CFG_BAR0 + 4, 4, 0x100);
	assert_int_equal(pci_bar_addr(c, 0), 0);
	test_cfg_write(t, 3, 0, PCI_CFG_BAR0 + 4, 4, 0x10);
	assert_int_equal(pci_bar_addr(c, 0), 0x1000000000ULL);
	test_bus_free(t);
}

/* ---- doorbells ---- */

static void doorbells_follow_bar(void **state)
{
	struct test_bus *t = test_bus_new();
	struct modvmm_pci *pci = add_dev(t, 1);
	struct rec r = { 0 };
	static uint8_t buf[0x1000] __attribute__((aligned(4096)));
	add_trapped(pci, 0, MODVMM_BAR_IO, 0x20, &r);
	add_trapped(pci, 1, MODVMM_BAR_MEM32, 0x1000, &r);
	struct modvmm_bar hb = { .type = MODVMM_BAR_MEM32, .size = sizeof(buf), .backing = MODVMM_BAR_HOSTBUF, .hostbuf = buf };
	assert_int_equal(pci_bar_add(pci, 2, &hb), 0);
	uint64_t io = pci_bar_addr(pci, 0), mm = pci_bar_addr(pci, 1);
	int fio, fmm, fany;
	assert_int_equal(pci_doorbell_add(pci, 0, 0x4, 2, false, 0, NULL, NULL, &fio), 0);
	assert_int_equal(pci_doorbell_add(pci, 1, 0x100, 4, true, 0x1234, NULL, NULL, &fmm), 0);
	assert_int_equal(pci_doorbell_add(pci, 1, 0x200, 0, false, 0, NULL, NULL, &fany), 0);
	const struct kvm_ioeventfd *e = fake_ioev_at(&t->kvm, io + 4);
	assert_non_null(e);
	assert_int_equal(e->flags, KVM_IOEVENTFD_FLAG_PIO);
	assert_int_equal(e->len, 2);
	assert_int_equal(e->fd, fio);
	e = fake_ioev_at(&t->kvm, mm + 0x100);
	assert_non_null(e);
	assert_int_equal(e->flags, KVM_IOEVENTFD_FLAG_DATAMATCH);
	assert_int_equal(e->datamatch, 0x1234);
	assert_int_equal(e->len, 4);
	assert_non_null(fake_ioev_at(&t->kvm, mm + 0x200));
	assert_int_equal(t->kvm.nioev, 3);
	/* the eventfd is non-blocking and the core's */
	uint64_t n;
	assert_int_equal(read(fmm, &n, sizeof(n)), -1);

	/* move: deassigned at the old address first, assigned at the new one */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 4, 4, 0xe0000000);
	assert_null(fake_ioev_at(&t->kvm, mm + 0x100));
	assert_non_null(fake_ioev_at(&t->kvm, 0xe0000100));
	assert_non_null(fake_ioev_at(&t->kvm, 0xe0000200));
	assert_int_equal(t->kvm.nioev, 3);
	/* decode off: gone; on: back */
	test_cfg_write(t, 1, 0, PCI_CFG_COMMAND, 2, PCI_CMD_MEM);
	assert_int_equal(t->kvm.nioev, 2);
	assert_null(fake_ioev_at(&t->kvm, io + 4));
	test_cfg_write(t, 1, 0, PCI_CFG_COMMAND, 2, 0);
	assert_int_equal(t->kvm.nioev, 0);
	test_cfg_write(t, 1, 0, PCI_CFG_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_IO);
	assert_int_equal(t->kvm.nioev, 3);
	/* a doorbell added while the BAR is unmapped appears when it maps */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 4, 4, 0xffffffff);
	int late;
	assert_int_equal(pci_doorbell_add(pci, 1, 0x300, 1, false, 0, NULL, NULL, &late), 0);
	assert_int_equal(t->kvm.nioev, 1);
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 4, 4, 0xe1000000);
	assert_non_null(fake_ioev_at(&t->kvm, 0xe1000300));
	assert_int_equal(t->kvm.nioev, 4);

	/* refusals */
	int fd;
	assert_int_equal(pci_doorbell_add(pci, 2, 0, 4, false, 0, NULL, NULL, &fd), -EINVAL);   /* direct-mapped */
	assert_int_equal(pci_doorbell_add(pci, 3, 0, 4, false, 0, NULL, NULL, &fd), -EINVAL);   /* no BAR */
	assert_int_equal(pci_doorbell_add(pci, 1, 0, 3, false, 0, NULL, NULL, &fd), -EINVAL);
	assert_int_equal(pci_doorbell_add(pci, 1, 0xffe, 4, false, 0, NULL, NULL, &fd), -EINVAL);
	assert_int_equal(pci_doorbell_add(pci, 1, 0x1000, 1, false, 0, NULL, NULL, &fd), -EINVAL);
	assert_int_equal(pci_doorbell_add(pci, 0, 0, 8, false, 0, NULL, NULL, &fd), -EINVAL);   /* 8 bytes of I/O */
	assert_int_equal(pci_doorbell_add(pci, 1, 0, 0, true, 1, NULL, NULL, &fd), -EINVAL);    /* any width + match */
	assert_int_equal(pci_doorbell_add(pci, 1, 0, 1, true, 0x100, NULL, NULL, &fd), -EINVAL);
	assert_int_equal(pci_doorbell_add(pci, 1, 0, 4, false, 0, NULL, NULL, NULL), -EINVAL);  /* no fd, no cb */
	assert_int_equal(pci_doorbell_add(pci, 1, 0x100, 4, true, 0x1234, NULL, NULL, &fd), -EEXIST);  /* KVM: same */
	assert_int_equal(t->kvm.nioev, 4);
	t->bus.any_length = false;
	assert_int_equal(pci_doorbell_add(pci, 1, 0x400, 0, false, 0, NULL, NULL, &fd), -ENOTSUP);
	test_bus_free(t);
}

struct ring {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned calls;
	uint64_t offset;
};

static void ring_cb(void *opaque, uint64_t offset)
{
	struct ring *r = opaque;
	pthread_mutex_lock(&r->lock);
	r->calls++;
	r->offset = offset;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void *loop_thread(void *arg)
{
	evloop_run(arg);
	return NULL;
}

static void doorbell_callback(void **state)
{
	struct test_bus *t = test_bus_new();
	struct modvmm_pci *pci = add_dev(t, 1);
	struct rec r = { 0 };
	add_trapped(pci, 0, MODVMM_BAR_MEM32, 0x1000, &r);
	struct ring ring = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	assert_int_equal(pci_doorbell_add(pci, 0, 0x40, 4, false, 0, ring_cb, &ring, NULL), 0);
	const struct kvm_ioeventfd *e = fake_ioev_at(&t->kvm, pci_bar_addr(pci, 0) + 0x40);
	assert_non_null(e);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, loop_thread, &t->loop), 0);
	/* what KVM does on a matching guest write: signal the eventfd */
	assert_int_equal(eventfd_write((int)e->fd, 1), 0);
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	pthread_mutex_lock(&ring.lock);
	while (ring.calls == 0 && pthread_cond_timedwait(&ring.cond, &ring.lock, &dl) == 0)
		;
	pthread_mutex_unlock(&ring.lock);
	evloop_stop(&t->loop);
	pthread_join(th, NULL);
	assert_int_equal(ring.calls, 1);
	assert_int_equal(ring.offset, 0x40);
	test_bus_free(t);
}

/* ---- INTx ---- */

static void intx_levels(void **state)
{
	struct test_bus *t = test_bus_new();
	struct modvmm_pci *a = add_dev(t, 1), *b = add_dev(t, 5);   /* both INTA#: GSI 17 */
	struct modvmm_pci_id nopin = dev_id;
	nopin.irq_pin = 0;
	struct modvmm_pci *c;
	assert_int_equal(pci_func_add(&t->bus, 6, 0, &nopin, NULL, NULL, &c), 0);
	assert_int_equal(pci_intx(c, 1), -EINVAL);
	assert_int_equal(a->intx_gsi, 17);
	assert_int_equal(b->intx_gsi, 17);
	assert_int_equal(pci_intx(a, 1), 0);
	assert_int_equal(t->kvm.line[17], 1);
	assert_true(test_cfg_read(t, 1, 0, PCI_CFG_STATUS, 2) & PCI_STATUS_INTX);
	/* shared line: high while either asserts */
	assert_int_equal(pci_intx(b, 1), 0);
	assert_int_equal(pci_intx(a, 0), 0);
	assert_int_equal(t->kvm.line[17], 1);
	assert_false(test_cfg_read(t, 1, 0, PCI_CFG_STATUS, 2) & PCI_STATUS_INTX);
	assert_int_equal(pci_intx(b, 0), 0);
	assert_int_equal(t->kvm.line[17], 0);
	/* COMMAND.INTX_DISABLE holds the line low; STATUS.INTX still shows the device */
	assert_int_equal(pci_intx(a, 1), 0);
	test_cfg_write(t, 1, 0, PCI_CFG_COMMAND, 2, PCI_CMD_INTX_DISABLE);
	assert_int_equal(t->kvm.line[17], 0);
	assert_true(test_cfg_read(t, 1, 0, PCI_CFG_STATUS, 2) & PCI_STATUS_INTX);
	test_cfg_write(t, 1, 0, PCI_CFG_COMMAND, 2, 0);
	assert_int_equal(t->kvm.line[17], 1);
	assert_int_equal(pci_intx(a, 1), 0);        /* idempotent */
	assert_int_equal(pci_intx(a, 0), 0);
	assert_int_equal(t->kvm.line[17], 0);
	/* resample irqfd: both fds, bound to the GSI, same fds again on a second call */
	int trig, res, trig2, res2;
	assert_int_equal(pci_intx_fds(a, &trig, &res), 0);
	const struct fake_irqfd *f = fake_irqfd_of(&t->kvm, trig);
	assert_non_null(f);
	assert_int_equal(f->gsi, 17);
	assert_int_equal(f->resamplefd, res);
	assert_int_equal(pci_intx_fds(a, &trig2, &res2), 0);
	assert_int_equal(trig2, trig);
	assert_int_equal(res2, res);
	assert_int_equal(pci_intx_fds(c, &trig, &res), -EINVAL);
	test_bus_free(t);
}

/* ---- a hostile guest ---- */

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)*s;
}

static void random_config_writes(void **state)
{
	struct test_bus *t = test_bus_new();
	struct modvmm_pci *pci = add_dev(t, 1);
	struct rec r = { 0 };
	static uint8_t buf[0x2000] __attribute__((aligned(4096)));
	add_trapped(pci, 0, MODVMM_BAR_IO, 0x100, &r);
	add_trapped(pci, 1, MODVMM_BAR_MEM32, 0x1000, &r);
	struct modvmm_bar hb = { .type = MODVMM_BAR_MEM64, .size = sizeof(buf), .backing = MODVMM_BAR_HOSTBUF, .hostbuf = buf };
	assert_int_equal(pci_bar_add(pci, 2, &hb), 0);
	int fd;
	assert_int_equal(pci_doorbell_add(pci, 1, 0x10, 4, false, 0, NULL, NULL, &fd), 0);
	assert_int_equal(pci_msix_init(pci, 4, 1, 0x800, 1, 0xc00), 0);
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	static const unsigned sizes[] = { 1, 2, 4, 3, 8 };
	for (int i = 0; i < 20000; i++) {
		unsigned slot = rnd(&s) % 3, off = rnd(&s) % 0x110, size = sizes[rnd(&s) % 5];
		uint32_t v = rnd(&s);
		if (rnd(&s) % 4 == 0)   /* favour the interesting registers */
			off = rnd(&s) % 2 ? PCI_CFG_COMMAND : PCI_CFG_BAR0 + 4 * (rnd(&s) % 6);
		if (rnd(&s) % 2)
			test_cfg_write(t, slot, 0, off, size, v);
		else
			test_cfg_read(t, slot, 0, off, size);
		/* MSI-X table and PBA pokes of every size and alignment */
		uint64_t m = pci_bar_addr(pci, 1);
		if (m && rnd(&s) % 3 == 0)
			mmio(t, m + 0x800 + rnd(&s) % 0x480, sizes[rnd(&s) % 5], rnd(&s) % 2, rnd(&s), NULL);
	}
	/* nothing mapped twice, nothing leaked; the host bridge still answers */
	assert_true(fake_slots_used(&t->kvm) <= 1);
	assert_true(t->kvm.nioev <= 1);
	assert_int_equal(test_cfg_read(t, 0, 0, 0, 4), (PCI_HOST_DEVICE << 16) | PCI_HOST_VENDOR);
	/* valid programming works afterwards */
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0, 4, 0xc100);
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 4, 4, 0xe0000000);
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 8, 4, 0xe8000000);
	test_cfg_write(t, 1, 0, PCI_CFG_BAR0 + 12, 4, 0);
	test_cfg_write(t, 1, 0, PCI_CFG_COMMAND, 2, PCI_CMD_IO | PCI_CMD_MEM);
	assert_int_equal(pci_bar_addr(pci, 0), 0xc100);
	assert_int_equal(pci_bar_addr(pci, 1), 0xe0000000);
	assert_int_equal(pci_bar_addr(pci, 2), 0xe8000000);
	assert_non_null(fake_slot_at(&t->kvm, 0xe8000000));
	assert_non_null(fake_ioev_at(&t->kvm, 0xe0000010));
	bool c;
	r.writes = 0;
	mmio(t, 0xe0000020, 4, true, 1, &c);
	assert_true(c);
	assert_int_equal(r.writes, 1);
	test_bus_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cfg_header_masks),
		cmocka_unit_test(cfg_capability_chain),
		cmocka_unit_test(type1_access),
		cmocka_unit_test(slots_and_functions),
		cmocka_unit_test(device_hooks),
		cmocka_unit_test(header_written_hook),
		cmocka_unit_test(window_alloc),
		cmocka_unit_test(bar_sizing),
		cmocka_unit_test(split_bar),
		cmocka_unit_test(bar_moves),
		cmocka_unit_test(refused_placements),
		cmocka_unit_test(doorbells_follow_bar),
		cmocka_unit_test(doorbell_callback),
		cmocka_unit_test(intx_levels),
		cmocka_unit_test(random_config_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
