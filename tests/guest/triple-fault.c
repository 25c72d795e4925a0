/*
 * triple-fault - loads an empty IDT and executes ud2: #UD cannot be delivered,
 * nor the #GP/#DF that follow, so the CPU shuts down (KVM_EXIT_SHUTDOWN).
 */
#include "guest.h"

int guest_main(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} empty = { 0, 0 };

	guest_printf("about to triple fault\n");
	__asm__ volatile("lidt %0\n\tud2" : : "m"(empty) : "memory");
	guest_printf("still running after the triple fault?\n");
	return 1;
}
