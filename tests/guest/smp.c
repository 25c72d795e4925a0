/*
 * smp - starts "ncpus=N" CPUs (default 2); each prints "cpu K online" (K = its
 * LAPIC id).  Exits 0 when all came up within the deadline, 1 otherwise.
 */
#include "guest.h"

/* 5 s at a TSC of at least 1 GHz. */
#define WAIT_TSC 5000000000ull

static unsigned int online;

static void cpu_online(unsigned int lapic_id)
{
	guest_printf("cpu %u online\n", lapic_id);
	__atomic_add_fetch(&online, 1, __ATOMIC_RELEASE);
}

int guest_main(void)
{
	unsigned int n = (unsigned int)guest_cmdline_ulong("ncpus", 2);
	unsigned int got;
	uint64_t deadline;

	if (n < 1)
		n = 1;
	cpu_online(guest_lapic_id());
	guest_smp_start(n, cpu_online);
	deadline = guest_rdtsc() + WAIT_TSC;
	while ((got = __atomic_load_n(&online, __ATOMIC_ACQUIRE)) < n && guest_rdtsc() < deadline)
		guest_pause();
	if (got >= n) {
		guest_printf("all %u cpus online\n", n);
		return 0;
	}
	guest_printf("only %u of %u cpus online\n", got, n);
	return 1;
}
