/*
 * pci - end-to-end test of modvmm's PCI bus with the pci-testdev plugin.
 *
 * Enumerates bus 0 and checks the ids of the host bridge and the test device,
 * sizes every BAR, checks that trapped I/O and MMIO accesses reach the device,
 * moves the trapped MMIO BAR and the devmem BAR and checks the old addresses no
 * longer decode, turns memory and I/O decode off and on, writes a pattern
 * through the devmem BAR for the host to read from the exported file and waits
 * for the host's cookie written through that file, rings the doorbells at CPL3
 * and checks the device counted every kick with no trapped write, then takes
 * MSI-X interrupts (masked, pending, unmasked, function mask) and an INTx.
 *
 * Prints one "ok: ..." or "FAIL: ..." line per check and exits 0 only if all
 * passed.  Cmdline: slot=N (expected device number of the test device),
 * devmem=SIZE (expected BAR2 size, default 64 KiB), kicks=N (doorbell rings,
 * default 1000), handshake=1 (wait for the host cookie, see below).
 *
 * Handshake with the host (tests/e2e/pci.sh): the guest fills PATTERN_LEN bytes
 * at devmem offset PATTERN_OFF with byte i = (i * 31 + 7) & 0xff, zeroes the
 * cookie at COOKIE_OFF, prints "devmem pattern ready" and polls the cookie at
 * CPL3; the host checks the pattern in /dev/shm/modvmm/VM/SEGMENT and writes
 * HOST_COOKIE (little endian) at COOKIE_OFF of that file.
 */
#include "testdev.h"

#define PATTERN_OFF     0x1000
#define PATTERN_LEN     0x1000
#define COOKIE_OFF      0x2000
#define HOST_COOKIE     0x600df00du
#define HANDSHAKE_CYCLES 100000000000ull /* 30-50 s at 2-3 GHz */
#define SHORT_CYCLES    20000000ull       /* ~10 ms: a masked vector must not arrive */
#define MMIO_NEW_FROM   0xe0000000ull     /* where the guest moves BAR1 and BAR2 */
#define MEM_NEW_FROM    0xe8000000ull
#define ALL_ONES        0xffffffffu       /* what an address nobody decodes reads */
#define INTX_VEC        0x50

static volatile unsigned intx_irqs;

static uint8_t pattern_byte(unsigned i)
{
	return (uint8_t)(i * 31 + 7);
}

static void check_ids(void)
{
	uint32_t id = pci_cfg_read(PCI_BDF(0, 0, 0), PCI_VENDOR_ID, 4);
	uint32_t cls = pci_cfg_read(PCI_BDF(0, 0, 0), PCI_REVISION, 4);

	check((id & 0xffff) != 0xffff && cls >> 24 == PCI_CLASS_BRIDGE && (cls >> 16 & 0xff) == PCI_SUBCLASS_HOST,
	      "host bridge at 00:00.0 (%x:%x class %x/%x)", id & 0xffff, id >> 16, cls >> 24, cls >> 16 & 0xff);
	cls = pci_cfg_read(td.bdf, PCI_REVISION, 4);
	check(cls >> 24 == TESTDEV_CLASS && (cls & 0xff) == TESTDEV_REVISION, "test device class 0x%x revision %u",
	      cls >> 24, cls & 0xff);
	check(pci_cfg_read(td.bdf, PCI_SUBSYS_VENDOR, 2) == TESTDEV_VENDOR_ID &&
	      pci_cfg_read(td.bdf, PCI_SUBSYS_ID, 2) == TESTDEV_SUBSYS_ID, "test device subsystem ids");
	check(pci_cfg_read(td.bdf, PCI_INT_PIN, 1) == 1, "test device interrupt pin INTA#");
	unsigned long slot = guest_cmdline_ulong("slot", ~0ul);
	if (slot != ~0ul)
		check(PCI_BDF_DEV(td.bdf) == slot && PCI_BDF_FN(td.bdf) == 0, "test device in slot %lu as configured",
		      slot);
}

static void check_bars(void)
{
	struct pci_bar_info b[PCI_NUM_BARS];
	uint64_t want = guest_cmdline_ulong("devmem", TESTDEV_DEVMEM_DEFAULT);

	for (unsigned i = 0; i < PCI_NUM_BARS; i += pci_bar_probe(td.bdf, i, &b[i]))
		;
	check(b[0].io && b[0].size == TESTDEV_PIO_SIZE && b[0].addr, "BAR0: I/O, 0x%lx ports at 0x%lx",
	      (unsigned long)b[0].size, (unsigned long)b[0].addr);
	check(!b[1].io && !b[1].mem64 && !b[1].prefetch && b[1].size == TESTDEV_MMIO_SIZE &&
	      b[1].addr >= PCI_MMIO32_START && b[1].addr + b[1].size <= PCI_MMIO32_LIMIT,
	      "BAR1: 32-bit memory, 0x%lx bytes at 0x%lx (in the 32-bit window)", (unsigned long)b[1].size,
	      (unsigned long)b[1].addr);
	check(b[2].mem64 && b[2].prefetch && b[2].size == want && b[2].addr,
	      "BAR2: 64-bit prefetchable memory, 0x%lx bytes at 0x%lx", (unsigned long)b[2].size,
	      (unsigned long)b[2].addr);
	check(b[4].size == 0 && b[5].size == 0, "BAR4 and BAR5 not implemented");
	check(pci_bar_addr(td.bdf, 2) == b[2].addr, "sizing restored BAR2");
}

/* CPL3 */
static void phase_discover(void *arg)
{
	bool *found = arg;

	*found = check(td_discover(true), "test device %x:%x found", TESTDEV_VENDOR_ID, TESTDEV_DEVICE_ID);
	if (!*found)
		return;
	check_ids();
	check_bars();
}

static void check_trapped(void)
{
	check(td_pio_read(TESTDEV_MAGIC) == TESTDEV_MAGIC_VALUE && td_pio_read(TESTDEV_BAR_ID) == 0,
	      "trapped I/O read at port 0x%x", td.pio);
	check(td_mmio_read(TESTDEV_MAGIC) == TESTDEV_MAGIC_VALUE && td_mmio_read(TESTDEV_BAR_ID) == 1,
	      "trapped MMIO read at 0x%lx", (unsigned long)td.mmio);
	uint32_t pw = td_mmio_read(TESTDEV_PIO_WRITES), mw = td_pio_read(TESTDEV_MMIO_WRITES);
	td_pio_write(TESTDEV_SCRATCH, 0x1234);
	check(td_mmio_read(TESTDEV_SCRATCH) == 0x1234, "I/O write lands in the device");
	for (unsigned i = 0; i < 100; i++)
		td_pio_write(TESTDEV_SCRATCH, i);
	td_mmio_write(TESTDEV_SCRATCH, 0x5678);
	check(td_pio_read(TESTDEV_SCRATCH) == 0x5678, "MMIO write lands in the device");
	for (unsigned i = 0; i < 50; i++)
		td_mmio_write(TESTDEV_SCRATCH, i);
	check(td_mmio_read(TESTDEV_PIO_WRITES) - pw == 101, "101 trapped I/O writes counted (%u)",
	      td_mmio_read(TESTDEV_PIO_WRITES) - pw);
	check(td_pio_read(TESTDEV_MMIO_WRITES) - mw == 51, "51 trapped MMIO writes counted (%u)",
	      td_pio_read(TESTDEV_MMIO_WRITES) - mw);
	check(mmio_read32(td.mem) == TESTDEV_DEVMEM_MAGIC, "devmem BAR at 0x%lx shows the device's magic",
	      (unsigned long)td.mem);
	mmio_write32(td.mem + 8, 0xa5a5a5a5u);
	check(mmio_read32(td.mem + 8) == 0xa5a5a5a5u, "devmem BAR is writable");
}

static void check_moves(void)
{
	uint64_t old_mmio = td.mmio, old_mem = td.mem;
	uint64_t new_mmio = td_free_addr(MMIO_NEW_FROM, TESTDEV_MMIO_SIZE, 0, 0);
	uint64_t new_mem = td_free_addr(MEM_NEW_FROM, td.mem_size, new_mmio, TESTDEV_MMIO_SIZE);

	if (!check(new_mmio && new_mem, "free addresses for the moves: 0x%lx, 0x%lx", (unsigned long)new_mmio,
		   (unsigned long)new_mem))
		return;
	td_mmio_write(TESTDEV_SCRATCH, 0x1111);
	td_place(new_mmio, new_mem);
	check(pci_bar_addr(td.bdf, TESTDEV_BAR_MMIO) == new_mmio && pci_bar_addr(td.bdf, TESTDEV_BAR_DEVMEM) == new_mem,
	      "BARs read back the new addresses");
	check(td_mmio_read(TESTDEV_MAGIC) == TESTDEV_MAGIC_VALUE && td_mmio_read(TESTDEV_SCRATCH) == 0x1111,
	      "trapped MMIO BAR moved to 0x%lx", (unsigned long)new_mmio);
	check(mmio_read32(td.mem) == TESTDEV_DEVMEM_MAGIC && mmio_read32(td.mem + 8) == 0xa5a5a5a5u,
	      "devmem BAR moved to 0x%lx with its contents", (unsigned long)new_mem);
	uint32_t mw = td_mmio_read(TESTDEV_MMIO_WRITES);
	check(mmio_read32(old_mmio + TESTDEV_MAGIC) == ALL_ONES, "old MMIO address 0x%lx reads all ones",
	      (unsigned long)old_mmio);
	mmio_write32(old_mmio + TESTDEV_SCRATCH, 0xdead);
	check(td_mmio_read(TESTDEV_SCRATCH) == 0x1111 && td_mmio_read(TESTDEV_MMIO_WRITES) == mw,
	      "a write to the old MMIO address is dropped");
	check(mmio_read32(old_mem) == ALL_ONES, "old devmem address 0x%lx reads all ones", (unsigned long)old_mem);
	mmio_write32(old_mem + 8, 0xdead);
	check(mmio_read32(td.mem + 8) == 0xa5a5a5a5u, "a write to the old devmem address is dropped");
}

static void check_decode(void)
{
	uint16_t cmd = (uint16_t)pci_cfg_read(td.bdf, PCI_COMMAND, 2);
	uint32_t pw = td_mmio_read(TESTDEV_PIO_WRITES);

	pci_cfg_write(td.bdf, PCI_COMMAND, 2, cmd & ~PCI_CMD_MEM);
	check(td_mmio_read(TESTDEV_MAGIC) == ALL_ONES && mmio_read32(td.mem) == ALL_ONES,
	      "memory decode off: MMIO and devmem BARs read all ones");
	td_mmio_write(TESTDEV_SCRATCH, 0xbad);
	mmio_write32(td.mem + 8, 0xbad);
	check(td_pio_read(TESTDEV_MAGIC) == TESTDEV_MAGIC_VALUE, "memory decode off: I/O BAR still decodes");
	pci_cfg_write(td.bdf, PCI_COMMAND, 2, cmd);
	check(td_mmio_read(TESTDEV_SCRATCH) == 0x1111 && mmio_read32(td.mem + 8) == 0xa5a5a5a5u,
	      "memory decode on again: writes made while off were dropped");
	check(td_mmio_read(TESTDEV_MAGIC) == TESTDEV_MAGIC_VALUE && mmio_read32(td.mem) == TESTDEV_DEVMEM_MAGIC,
	      "memory decode on again: both BARs decode");

	pci_cfg_write(td.bdf, PCI_COMMAND, 2, cmd & ~PCI_CMD_IO);
	check(td_pio_read(TESTDEV_MAGIC) == ALL_ONES, "I/O decode off: the I/O BAR reads all ones");
	td_pio_write(TESTDEV_SCRATCH, 0xbad);
	check(td_mmio_read(TESTDEV_PIO_WRITES) == pw && td_mmio_read(TESTDEV_SCRATCH) == 0x1111,
	      "I/O decode off: the write was dropped");
	pci_cfg_write(td.bdf, PCI_COMMAND, 2, cmd);
	check(td_pio_read(TESTDEV_MAGIC) == TESTDEV_MAGIC_VALUE, "I/O decode on again");
}

static void check_devmem_handshake(void)
{
	volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)td.mem;

	for (unsigned i = 0; i < PATTERN_LEN; i++)
		p[PATTERN_OFF + i] = pattern_byte(i);
	mmio_write32(td.mem + COOKIE_OFF, 0);
	guest_printf("devmem pattern ready\n");
	if (!guest_cmdline_ulong("handshake", 0))
		return;
	uint64_t end = guest_rdtsc() + HANDSHAKE_CYCLES;
	uint32_t v;
	while ((v = mmio_read32(td.mem + COOKIE_OFF)) != HOST_COOKIE && guest_rdtsc() < end)
		guest_pause();
	check(v == HOST_COOKIE, "host cookie seen through the devmem BAR (0x%x)", v);
}

static void check_doorbells(void)
{
	unsigned n = (unsigned)guest_cmdline_ulong("kicks", 1000);
	uint32_t pw = td_mmio_read(TESTDEV_PIO_WRITES), mw = td_mmio_read(TESTDEV_MMIO_WRITES);
	uint32_t pk = td_mmio_read(TESTDEV_PIO_KICKS), mk = td_mmio_read(TESTDEV_MMIO_KICKS);

	for (unsigned i = 0; i < n; i++)
		td_pio_write(TESTDEV_DOORBELL, i);
	for (unsigned i = 0; i < n; i++)
		td_mmio_write(TESTDEV_DOORBELL, i);
	uint32_t pk2 = td_mmio_read(TESTDEV_PIO_KICKS), mk2 = td_mmio_read(TESTDEV_MMIO_KICKS);
	uint32_t pw2 = td_mmio_read(TESTDEV_PIO_WRITES), mw2 = td_mmio_read(TESTDEV_MMIO_WRITES);
	check(pk2 - pk == n, "I/O doorbell: %u of %u kicks counted by the device thread", pk2 - pk, n);
	check(mk2 - mk == n, "MMIO doorbell: %u of %u kicks counted by the device thread", mk2 - mk, n);
	check(pw2 == pw && mw2 == mw, "doorbells caused no trapped write (I/O +%u, MMIO +%u)", pw2 - pw, mw2 - mw);
}

/* CPL3 */
static void phase_access(void *arg)
{
	(void)arg;
	td_place(0, 0);
	check_trapped();
	check_moves();
	check_decode();
	check_devmem_handshake();
	check_doorbells();
}

/* Raise vector vec through `reg` while it is masked (per vector or by the
 * function mask): it must stay pending, then arrive once unmasked. */
static void check_masked(unsigned vec, unsigned reg, bool function_mask, const char *how)
{
	unsigned before = td.irqs[vec];

	if (function_mask)
		td_msix_function_mask(true);
	else
		td_msix_mask(vec, true);
	td_mmio_write(reg, vec);
	td_mmio_write(reg, vec);
	check(!guest_irq_wait(&td.irqs[vec], before + 1, SHORT_CYCLES), "%s: masked vector %u not delivered", how,
	      vec);
	check(td_msix_pending(vec), "%s: PBA bit %u set while masked", how, vec);
	if (function_mask)
		td_msix_function_mask(false);
	else
		td_msix_mask(vec, false);
	check(guest_irq_wait(&td.irqs[vec], before + 1, TD_WAIT_CYCLES), "%s: vector %u delivered on unmask", how,
	      vec);
	guest_irq_wait(&td.irqs[vec], before + 2, SHORT_CYCLES);
	check(td.irqs[vec] == before + 1, "%s: two raises while masked give one interrupt (%u)", how,
	      td.irqs[vec] - before);
	check(!td_msix_pending(vec), "%s: PBA bit %u clear after delivery", how, vec);
}

static void check_msix(void)
{
	if (!td_msix_setup())
		return;
	td_mmio_write(TESTDEV_MSIX_NOTIFY, 0);
	check(guest_irq_wait(&td.irqs[0], 1, TD_WAIT_CYCLES), "MSI-X vector 0 raised by pci_msix_notify arrived");
	td_mmio_write(TESTDEV_MSIX_FD, 1);
	check(guest_irq_wait(&td.irqs[1], 1, TD_WAIT_CYCLES), "MSI-X vector 1 raised through its irqfd arrived");
	check_masked(2, TESTDEV_MSIX_NOTIFY, false, "notify");
	check_masked(3, TESTDEV_MSIX_FD, false, "irqfd");
	check_masked(0, TESTDEV_MSIX_NOTIFY, true, "function mask");
	check_masked(1, TESTDEV_MSIX_FD, true, "function mask, irqfd");
	unsigned total = 0;
	for (unsigned v = 0; v < TESTDEV_MSIX_VECTORS; v++)
		total += td.irqs[v];
	check(total == 6, "MSI-X: 6 interrupts in all (%u)", total);
}

__attribute__((interrupt)) static void intx_isr(struct guest_intr_frame *f)
{
	(void)f;
	intx_irqs++;
	td_mmio_write(TESTDEV_INTX, 0); /* level-triggered: clear the source before EOI */
	guest_lapic_eoi();
}

static void check_intx(void)
{
	unsigned gsi = pci_cfg_read(td.bdf, PCI_INT_LINE, 1);

	if (!check(gsi > 0 && gsi < GUEST_IOAPIC_PINS, "INTx routed to IOAPIC pin %u", gsi))
		return;
	guest_irq_set(INTX_VEC, intx_isr);
	guest_ioapic_route(gsi, INTX_VEC, true, false);
	td_mmio_write(TESTDEV_INTX, 1);
	check(pci_cfg_read(td.bdf, PCI_STATUS, 2) & PCI_STATUS_INTX, "INTx asserted: STATUS interrupt bit set");
	check(guest_irq_wait(&intx_irqs, 1, TD_WAIT_CYCLES), "INTx interrupt arrived");
	check(!(pci_cfg_read(td.bdf, PCI_STATUS, 2) & PCI_STATUS_INTX), "INTx deasserted: STATUS interrupt bit clear");
	/* Once the handler deasserted the line, interrupts stop.  (Nested KVM here
	 * may deliver the level interrupt a second time around the EOI.) */
	guest_irq_wait(&intx_irqs, ~0u, SHORT_CYCLES);
	unsigned n = intx_irqs;
	guest_irq_wait(&intx_irqs, ~0u, SHORT_CYCLES);
	check(n <= 2 && intx_irqs == n, "INTx deasserted in the handler: no more interrupts (%u)", intx_irqs);
	guest_ioapic_route(gsi, INTX_VEC, true, true);
}

int guest_main(void)
{
	bool found = false;

	guest_printf("pci guest: cmdline %s\n", guest_cmdline());
	guest_pic_disable();
	guest_user_run(phase_discover, &found);
	if (found) {
		pci_map_high(td.mem);
		guest_user_run(phase_access, NULL);
		check_msix();
		check_intx();
	}
	if (check_failures()) {
		guest_printf("pci guest: %u checks FAILED\n", check_failures());
		return 1;
	}
	guest_printf("pci guest: all checks passed\n");
	return 0;
}
