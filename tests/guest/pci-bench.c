/*
 * pci-bench - the guest side of tests/bench/pci-exits.sh: times writes to
 * pci-testdev at CPL3 with rdtsc.  Four kinds, in this order:
 *   pio_trap   outl to BAR0 + SCRATCH      (a trapped port write: exit to modvmm)
 *   mmio_trap  movl to BAR1 + SCRATCH      (a trapped MMIO write: exit to modvmm)
 *   pio_bell   outl to BAR0 + DOORBELL     (caught by a KVM ioeventfd)
 *   mmio_bell  movl to BAR1 + DOORBELL     (caught by a KVM ioeventfd)
 * The loops are the instructions of tests/bench/raw-kvm.c's guest, which times
 * the same writes without modvmm.
 *
 * Cmdline: trap=N bell=N (writes per round; 0 skips), rounds=R.  Prints per round
 * "bench KIND round=K n=N cycles=C", then checks that the device counted every
 * write the way it should (trapped writes as trapped, doorbells as kicks only).
 */
#include "testdev.h"

enum kind { PIO_TRAP, MMIO_TRAP, PIO_BELL, MMIO_BELL, KINDS };

static const char *const kind_name[KINDS] = { "pio_trap", "mmio_trap", "pio_bell", "mmio_bell" };

struct params {
	unsigned long trap_n, bell_n, rounds;
};

static uint64_t loop_pio(uint16_t port, uint64_t n)
{
	uint64_t t0 = guest_rdtsc();

	__asm__ volatile("1: outl %%eax, %%dx\n\tdec %%rcx\n\tjnz 1b" : "+c"(n) : "a"(0), "d"(port) : "memory");
	return guest_rdtsc() - t0;
}

static uint64_t loop_mmio(uintptr_t addr, uint64_t n)
{
	uint64_t t0 = guest_rdtsc();

	__asm__ volatile("1: movl %%eax, (%%rdi)\n\tdec %%rcx\n\tjnz 1b" : "+c"(n) : "a"(0), "D"(addr) : "memory");
	return guest_rdtsc() - t0;
}

static uint64_t run(enum kind k, uint64_t n)
{
	switch (k) {
	case PIO_TRAP:
		return loop_pio((uint16_t)(td.pio + TESTDEV_SCRATCH), n);
	case MMIO_TRAP:
		return loop_mmio(td.mmio + TESTDEV_SCRATCH, n);
	case PIO_BELL:
		return loop_pio((uint16_t)(td.pio + TESTDEV_DOORBELL), n);
	default:
		return loop_mmio(td.mmio + TESTDEV_DOORBELL, n);
	}
}

/* CPL3 */
static void bench(void *arg)
{
	const struct params *p = arg;

	if (!check(td_discover(false), "test device found"))
		return;
	td_place(0, 0);
	for (int k = 0; k < KINDS; k++) {
		uint64_t n = k == PIO_TRAP || k == MMIO_TRAP ? p->trap_n : p->bell_n;
		uint64_t total = n / 10 + 1 + n * p->rounds;

		if (!n)
			continue;
		td_mmio_write(TESTDEV_RESET, 1);
		(void)run((enum kind)k, n / 10 + 1);  /* warm up */
		for (unsigned long r = 0; r < p->rounds; r++)
			guest_printf("bench %s round=%lu n=%lu cycles=%lu\n", kind_name[k], r, (unsigned long)n,
				     (unsigned long)run((enum kind)k, n));
		uint32_t pw = td_pio_read(TESTDEV_PIO_WRITES), mw = td_pio_read(TESTDEV_MMIO_WRITES);
		uint32_t pk = td_pio_read(TESTDEV_PIO_KICKS), mk = td_pio_read(TESTDEV_MMIO_KICKS);
		uint32_t want[KINDS][4] = {
			[PIO_TRAP] = { (uint32_t)total, 0, 0, 0 },
			[MMIO_TRAP] = { 0, (uint32_t)total, 0, 0 },
			[PIO_BELL] = { 0, 0, (uint32_t)total, 0 },
			[MMIO_BELL] = { 0, 0, 0, (uint32_t)total },
		};
		check(pw == want[k][0] && mw == want[k][1] && pk == want[k][2] && mk == want[k][3],
		      "%s: device counted writes I/O %u MMIO %u, kicks I/O %u MMIO %u", kind_name[k], pw, mw, pk, mk);
	}
}

int guest_main(void)
{
	struct params p = {
		.trap_n = guest_cmdline_ulong("trap", 2000),
		.bell_n = guest_cmdline_ulong("bell", 20000),
		.rounds = guest_cmdline_ulong("rounds", 5),
	};

	guest_user_run(bench, &p);
	return check_failures() ? 1 : 0;
}
