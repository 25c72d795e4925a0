/* internal.h - declarations shared inside the guest library only. */
#ifndef GUEST_INTERNAL_H
#define GUEST_INTERNAL_H

#include "guest.h"

/* Like guest_cprintf() but without the console lock: for the exception path. */
__attribute__((format(printf, 2, 3))) void guest_cprintf_nolock(unsigned int mask, const char *fmt, ...);

/* Loads the boot CPU's TSS (user.c): rsp0 for CPL3, the I/O bitmap, and the
 * #DF stack (IST GUEST_DF_IST), so that a fault while delivering a fault is
 * reported instead of ending in a triple fault. */
#define GUEST_DF_IST 1
void guest_tss_load(void);

/* Sets the function the APs call (start.c). */
void guest_smp_set_ap_fn(void (*fn)(unsigned int));

#endif
