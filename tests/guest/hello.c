/*
 * hello - serial, debug console and command line, a loop at CPL3 that prints
 * through the TSS I/O bitmap, then exits with the status from "exit=N".
 */
#include "guest.h"

#define USER_LOOP 10000000ul

static void user_main(void *arg)
{
	unsigned long sum = 0;

	for (unsigned long i = 1; i <= USER_LOOP; i++) {
		sum += i;
		__asm__ volatile("" : "+r"(sum)); /* keep the loop */
	}
	*(unsigned long *)arg = sum;
	if (guest_cpl() != 3)
		guest_printf("user mode FAILED: running at CPL%u\n", guest_cpl());
	else
		guest_printf("user mode ok sum=%lu\n", sum);
}

int guest_main(void)
{
	unsigned long sum = 0;

	guest_printf("hello from the modvmm test guest\n");
	guest_printf("cmdline: %s\n", guest_cmdline());
	guest_cprintf(CON_DEBUGCON, "debugcon ok\n");
	guest_user_run(user_main, &sum);
	if (sum != USER_LOOP * (USER_LOOP + 1) / 2) {
		guest_printf("user mode sum wrong: %lu\n", sum);
		return 1;
	}
	return (int)guest_cmdline_ulong("exit", 0);
}
