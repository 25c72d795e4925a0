/*
 * start.c - C side of the boot: start info, IDT, exceptions, exit.
 */
#include "internal.h"
#include "io.h"
#include "layout.h"

#define DEBUG_EXIT_PORT 0x501 /* modvmm debug-exit; QEMU isa-debug-exit,iobase=0x501 */
#define CMDLINE_MAX 1024

/* Xen public/arch-x86/hvm/start_info.h, struct hvm_start_info (version 0/1). */
struct hvm_start_info {
	uint32_t magic;          /* HVM_START_MAGIC */
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;  /* offset 24 */
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;   /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

/* Saved by exc_common in entry.S, lowest address first. */
struct guest_exc_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type; /* P | DPL | 0xe (64-bit interrupt gate) */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
};

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint64_t base;
};

#define GATE_INTR_DPL0 0x8e

extern const uint64_t exc_stub_table[32];
extern char user_return_point[], user_halt_point[];
__attribute__((noreturn)) void user_return(void);
__attribute__((noreturn)) void user_halt(void);

static struct idt_gate idt[IDT_ENTRIES] __attribute__((aligned(16)));
static char cmdline[CMDLINE_MAX];
static void (*ap_fn)(unsigned int);

__attribute__((noreturn)) void guest_start(uint32_t start_info_pa);
__attribute__((noreturn)) void guest_ap_start(unsigned int slot);
__attribute__((noreturn)) void guest_exception(const struct guest_exc_frame *f);

static __attribute__((noreturn)) void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void set_gate(unsigned int vec, uint64_t handler, uint8_t type)
{
	struct idt_gate *g = &idt[vec];

	g->off_lo = (uint16_t)handler;
	g->sel = SEL_KCODE64;
	g->ist = vec == VEC_DF ? GUEST_DF_IST : 0;
	g->type = type;
	g->off_mid = (uint16_t)(handler >> 16);
	g->off_hi = (uint32_t)(handler >> 32);
}

static void load_idt(void)
{
	struct desc_ptr p = { .limit = sizeof(idt) - 1, .base = (uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(p));
}

static void copy_cmdline(const struct hvm_start_info *si)
{
	const char *src;
	size_t i;

	if (!si || si->magic != HVM_START_MAGIC || !si->cmdline_paddr)
		return;
	src = (const char *)(uintptr_t)si->cmdline_paddr;
	for (i = 0; i < CMDLINE_MAX - 1 && src[i]; i++)
		cmdline[i] = src[i];
	cmdline[i] = '\0';
}

void guest_start(uint32_t start_info_pa)
{
	unsigned int v;

	copy_cmdline((const struct hvm_start_info *)(uintptr_t)start_info_pa);
	guest_tss_load();
	for (v = 0; v < IDT_ENTRIES; v++)
		set_gate(v, exc_stub_table[v], GATE_INTR_DPL0);
	load_idt();
	guest_exit((unsigned int)guest_main());
}

const char *guest_cmdline(void)
{
	return cmdline;
}

void guest_smp_set_ap_fn(void (*fn)(unsigned int))
{
	__atomic_store_n(&ap_fn, fn, __ATOMIC_RELEASE);
}

void guest_ap_start(unsigned int slot)
{
	void (*fn)(unsigned int) = __atomic_load_n(&ap_fn, __ATOMIC_ACQUIRE);

	(void)slot;
	load_idt();
	if (fn)
		fn(guest_lapic_id());
	halt_forever();
}

void guest_exception(const struct guest_exc_frame *f)
{
	if (f->vector == VEC_UD && (f->cs & 3) == 3) {
		if (f->rip == (uintptr_t)user_return_point)
			user_return();
		if (f->rip == (uintptr_t)user_halt_point)
			halt_forever();
	}
	uint64_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	guest_cprintf_nolock(CON_SERIAL | CON_DEBUGCON,
		      "guest: exception %lu at RIP=0x%lx (error 0x%lx, cs 0x%lx, rsp 0x%lx, cr2 0x%lx)\n",
		      (unsigned long)f->vector, (unsigned long)f->rip, (unsigned long)f->error,
		      (unsigned long)f->cs, (unsigned long)f->rsp, (unsigned long)cr2);
	guest_exit(GUEST_EXIT_EXCEPTION);
}

void guest_exit(unsigned int status)
{
	outb(DEBUG_EXIT_PORT, (uint8_t)status);
	/* Without an exit device: stop here.  hlt needs CPL0, see user_halt. */
	if (guest_cpl() == 3)
		user_halt();
	halt_forever();
}
