/*
 * hello - serial, debug console and command line, a loop at CPL3 that prints
 * through the TSS I/O bitmap, then exits with the status from "exit=N".
 * A stress of the way into CPL3 and back: "rounds=R loop=L" runs the CPL3 loop
 * R times (default 1) of L iterations (default 10000000), printing the last.
 */
#include "guest.h"

#define USER_LOOP 10000000ul

static unsigned long loop = USER_LOOP;
static bool quiet;

static void user_main(void *arg)
{
	unsigned long sum = 0;

	for (unsigned long i = 1; i <= loop; i++) {
		sum += i;
		__asm__ volatile("" : "+r"(sum)); /* keep the loop */
	}
	*(unsigned long *)arg = sum;
	if (guest_cpl() != 3)
		guest_printf("user mode FAILED: running at CPL%u\n", guest_cpl());
	else if (!quiet)
		guest_printf("user mode ok sum=%lu\n", sum);
}

int guest_main(void)
{
	unsigned long sum = 0;

	guest_printf("hello from the modvmm test guest\n");
	guest_printf("cmdline: %s\n", guest_cmdline());
	guest_cprintf(CON_DEBUGCON, "debugcon ok\n");
	unsigned long rounds = guest_cmdline_ulong("rounds", 1);
	loop = guest_cmdline_ulong("loop", USER_LOOP);
	for (unsigned long r = 1; r <= rounds; r++) {
		sum = 0;
		quiet = r < rounds;
		guest_user_run(user_main, &sum);
		if (sum != loop * (loop + 1) / 2) {
			guest_printf("user mode sum wrong in round %lu: %lu\n", r, sum);
			return 1;
		}
	}
	return (int)guest_cmdline_ulong("exit", 0);
}
