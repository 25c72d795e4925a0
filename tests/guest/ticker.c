/*
 * ticker - counts forever and prints "tick N" on COM1 every `cycles` TSC
 * cycles (default 20000000): a guest whose progress a test can watch, e.g.
 * stop while the VM is paused through its control socket (tests/e2e/ctl.sh).
 */
#include "guest.h"

int guest_main(void)
{
	uint64_t period = guest_cmdline_ulong("cycles", 20000000);
	for (unsigned long n = 1;; n++) {
		uint64_t end = guest_rdtsc() + period;
		while (guest_rdtsc() < end)
			guest_pause();
		guest_printf("tick %lu\n", n);
	}
	return 1;
}
