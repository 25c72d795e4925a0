/*
 * guest.h - the freestanding test-guest library (tests/guest/lib).
 *
 * A guest is a static ELF loaded at 1 MiB and entered through the Xen PVH ABI.
 * entry.S switches to long mode with static identity page tables (4 GiB, 2 MiB
 * pages, user-accessible), installs the exception IDT and calls guest_main() at
 * CPL0.  When guest_main() returns, its value is the exit status.
 *
 * Conventions (shared with QEMU so the same guest runs under both):
 *   COM1 16550 at 0x3f8, debug console at 0xe9, debug-exit port at 0x501.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Called by entry.S at CPL0; its return value becomes the exit status. */
int guest_main(void);

/* --- exit ------------------------------------------------------------- */

/* Status 0x7f: an unexpected exception (see guest_exception). */
#define GUEST_EXIT_EXCEPTION 0x7f

/* Writes the status to the debug-exit port and stops; works at CPL0 and CPL3. */
__attribute__((noreturn)) void guest_exit(unsigned int status);

/* --- consoles ---------------------------------------------------------- */

#define CON_SERIAL   1u /* COM1 */
#define CON_DEBUGCON 2u /* port 0xe9 */

/* Where guest_printf() writes; CON_SERIAL by default. Returns the old mask. */
unsigned int guest_console_set(unsigned int mask);

/* %s %c %d %i %u %x %p, with l/ll/z length modifiers; %% literal. */
__attribute__((format(printf, 1, 2))) void guest_printf(const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void guest_cprintf(unsigned int mask, const char *fmt, ...);
void guest_vcprintf(unsigned int mask, const char *fmt, va_list ap);
void guest_puts(unsigned int mask, const char *s); /* no newline added */

/* --- start info and command line -------------------------------------- */

/* The command line from hvm_start_info ("" if none); copied at start. */
const char *guest_cmdline(void);

/*
 * Finds "key=value" as a whole word of the command line.  Returns the value (not
 * NUL-terminated: it ends at a space or NUL) and its length in *len, or NULL.
 */
const char *guest_cmdline_get(const char *key, size_t *len);

/* The value of "key=N" (decimal or 0x hex), or dflt when absent or malformed. */
unsigned long guest_cmdline_ulong(const char *key, unsigned long dflt);

/* --- CPL3 --------------------------------------------------------------- */

/*
 * Runs fn(arg) at CPL3 on a user stack with every I/O port allowed by the TSS
 * bitmap, and returns when fn returns (through the int $0x80 gate).  Call on
 * the boot CPU only.
 */
void guest_user_run(void (*fn)(void *), void *arg);

/* Current privilege level (0 or 3). */
static inline unsigned int guest_cpl(void)
{
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3u;
}

/* --- SMP -------------------------------------------------------------- */

#define GUEST_MAX_CPUS 16
#define LAPIC_BASE     0xfee00000ul

/* LAPIC id of the calling CPU (xAPIC MMIO). */
unsigned int guest_lapic_id(void);

/*
 * Sends INIT-SIPI-SIPI to LAPIC ids 0..ncpus-1 except the caller.  Each AP runs
 * 16 -> 32 -> 64-bit through the trampoline at 0x8000 and calls fn(lapic_id) at
 * CPL0 on its own stack, then halts when fn returns.  Returns without waiting.
 */
void guest_smp_start(unsigned int ncpus, void (*fn)(unsigned int lapic_id));

/* --- small helpers ------------------------------------------------------ */

typedef struct { volatile int locked; } guest_spinlock_t;

static inline void guest_spin_lock(guest_spinlock_t *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			__asm__ volatile("pause");
}

static inline void guest_spin_unlock(guest_spinlock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

static inline uint64_t guest_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void guest_pause(void)
{
	__asm__ volatile("pause");
}

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
size_t strlen(const char *s);

#endif
