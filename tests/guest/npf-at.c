/*
 * npf-at - makes KVM see a nested page fault at a chosen RIP, then hangs.
 *
 * cmdline: at=ADDR (a canonical guest-virtual address, e.g. one in the KVM
 * host's own kvm_amd code) touch=GPA (a page of guest RAM nothing touched yet;
 * default 0x1f00000, in a 32 MiB guest).  The page holding ADDR is mapped
 * (4 KiB, a PML4/PDPT/PD/PT chain of its own) onto a page full of `lodsb`
 * ending in `ret`; called at ADDR with RSI = touch, the first lodsb reads a
 * page KVM has not mapped yet: a nested page fault whose RIP is ADDR.  Then
 * the guest spins at CPL0 without an exit, as a guest whose state the
 * emulator lost does (tests/kvmhost: the watcher for that must stop it).
 */
#include "guest.h"
#include "layout.h"

static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));
static uint64_t pt[512] __attribute__((aligned(4096)));

/* 4095 x lodsb, then ret */
__asm__(".pushsection .text.lodsb_page, \"ax\"\n"
        ".balign 4096\n"
        "lodsb_page:\n"
        ".fill 4095, 1, 0xac\n"
        "ret\n"
        ".popsection\n");
extern const char lodsb_page[];

int guest_main(void)
{
	uint64_t at = guest_cmdline_ulong("at", 0), touch = guest_cmdline_ulong("touch", 0x1f00000), cr3;
	if (at < 0xffff800000000000ull) {
		guest_printf("FAIL: at=ADDR must be a canonical upper-half address (got 0x%lx)\n", (unsigned long)at);
		return 1;
	}
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	uint64_t *pml4 = (uint64_t *)(uintptr_t)(cr3 & PTE_ADDR_MASK);
	pml4[(at >> 39) & 511] = (uintptr_t)pdpt | PTE_P | PTE_RW;
	pdpt[(at >> 30) & 511] = (uintptr_t)pd | PTE_P | PTE_RW;
	pd[(at >> 21) & 511] = (uintptr_t)pt | PTE_P | PTE_RW;
	pt[(at >> 12) & 511] = (uintptr_t)lodsb_page | PTE_P;
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");

	guest_printf("calling 0x%lx (lodsb from 0x%lx)\n", (unsigned long)at, (unsigned long)touch);
	uint64_t rsi = touch + (at & 4095);
	__asm__ volatile("call *%1" : "+S"(rsi) : "r"(at) : "rax", "memory");
	guest_printf("returned; spinning\n");
	for (;;)
		__asm__ volatile("pause");
}
