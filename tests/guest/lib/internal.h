/* internal.h - declarations shared inside the guest library only. */
#ifndef GUEST_INTERNAL_H
#define GUEST_INTERNAL_H

#include "guest.h"

/* Like guest_cprintf() but without the console lock: for the exception path. */
__attribute__((format(printf, 2, 3))) void guest_cprintf_nolock(unsigned int mask, const char *fmt, ...);

/* Sets the function the APs call (start.c). */
void guest_smp_set_ap_fn(void (*fn)(unsigned int));

#endif
