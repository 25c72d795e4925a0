/*
 * spin - prints "spinning" and spins forever at CPL3; never exits on its own
 * (for signal-handling and start-up benchmarks of the VMM).
 */
#include "guest.h"

static void spin_forever(void *arg)
{
	(void)arg;
	for (;;)
		guest_pause();
}

int guest_main(void)
{
	guest_printf("spinning\n");
	guest_user_run(spin_forever, NULL);
	return 1;
}
