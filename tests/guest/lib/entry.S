/*
 * entry.S - PVH entry, long-mode switch, GDT, static page tables, exception
 * stubs, the CPL3 enter/return path and the AP start-up trampoline.
 *
 * Everything here runs at CPL0 where the nested KVM of our CI emulates each
 * instruction (~1 us), so the setup is kept short: the page tables are built
 * by the assembler, not by a loop.
 */
#include "layout.h"

/* ---- Xen PVH note (Xen public/elfnote.h, XEN_ELFNOTE_PHYS32_ENTRY) ---- */
	.section .note.pvh, "a", @note
	.p2align 2
	.long 4				/* namesz: "Xen" + NUL */
	.long 2f - 1f			/* descsz: 8, or 4 with -DPVH_NOTE_DESC32 */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.p2align 2
1:
#ifdef PVH_NOTE_DESC32
	.long pvh_entry32
#else
	.quad pvh_entry32
#endif
2:
	.p2align 2

/* ---- 32-bit entry: flat protected mode, paging off, %ebx = start_info ---- */
	.section .text.entry, "ax"
	.code32
	.globl pvh_entry32
pvh_entry32:
	cli
	cld
	mov %ebx, %esi			/* start_info, kept until C */
	xor %edi, %edi			/* 0: boot CPU */
	lgdt gdt_desc

/* %edi = 0 (BSP) or 1 (AP); our GDT is loaded. */
lm_switch32:
	mov $SEL_KDATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov $pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	or $(CR0_PG | CR0_PE), %eax
	mov %eax, %cr0
	ljmp $SEL_KCODE64, $entry64

/* The AP trampoline jumps here once in 32-bit protected mode. */
ap_entry32:
	mov $1, %edi
	jmp lm_switch32

	.code64
entry64:
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	test %edi, %edi
	jnz ap_entry64
	lea bsp_stack_top(%rip), %rsp
	mov %esi, %edi			/* zero-extends: start_info paddr */
	call guest_start		/* never returns */
	ud2

ap_entry64:
	mov $1, %eax
	lock xadd %eax, ap_next_slot(%rip)
	cmp $(GUEST_AP_SLOTS), %eax
	jae ap_park
	mov %eax, %edi			/* slot */
	inc %eax
	imul $AP_STACK_SIZE, %eax, %eax
	lea ap_stacks(%rip), %rsp
	add %rax, %rsp
	call guest_ap_start		/* never returns */
ap_park:
	cli
	hlt
	jmp ap_park

/* ---- AP trampoline, copied to TRAMPOLINE_PA; SIPI enters it in real mode
 *      with CS = TRAMPOLINE_PA >> 4, IP = 0.  Position-independent. ---- */
	.section .text
	.code16
	.globl ap_trampoline_start, ap_trampoline_end
ap_trampoline_start:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	lgdtl (tramp_gdt_desc - ap_trampoline_start)
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl $SEL_KCODE32, $ap_entry32
	.p2align 2
tramp_gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
ap_trampoline_end:

/* ---- exception stubs: push a dummy error code where the CPU does not ---- */
	.code64
	.macro EXC_STUB vec, has_err
	.p2align 4
exc_stub_\vec:
	.if \has_err == 0
	pushq $0
	.endif
	pushq $\vec
	jmp exc_common
	.endm

	.irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
	EXC_STUB \v, 0
	.endr
	.irp v, 8,10,11,12,13,14,17,21,29,30
	EXC_STUB \v, 1
	.endr

exc_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi			/* struct guest_exc_frame * */
	and $-16, %rsp
	call guest_exception		/* never returns */
	ud2

	.section .rodata
	.p2align 3
	.globl exc_stub_table
exc_stub_table:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad exc_stub_\v
	.endr

/*
 * ---- CPL3: user_enter(fn, arg, user_stack_top) ----
 * The way back to CPL0 is a ud2 at a known address: guest_exception() treats a
 * #UD from CPL3 at user_return_point / user_halt_point as a request.  (The
 * nested KVM of our CI answers "int $n" at CPL3 with #UD, so no int gate.)
 */
	.section .text
	.globl user_enter, user_return, user_halt, user_return_point, user_halt_point
user_enter:
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, user_saved_rsp(%rip)
	pushq $(SEL_UDATA | 3)		/* ss */
	pushq %rdx			/* rsp */
	pushq $0x2			/* rflags: IF=0, IOPL=0 (ports come from the TSS bitmap) */
	pushq $(SEL_UCODE64 | 3)	/* cs */
	lea user_trampoline(%rip), %rax
	pushq %rax			/* rip */
	iretq

user_trampoline:			/* CPL3 */
	mov %rdi, %rax
	mov %rsi, %rdi
	call *%rax
user_return_point:
	ud2

/* CPL3: stop this CPU for good (guest_exit without an exit device). */
user_halt:
user_halt_point:
	ud2
	jmp user_halt

/* CPL0, from the #UD handler: return from user_enter to its caller. */
user_return:
	mov $SEL_KDATA, %eax
	mov %eax, %ss
	mov %eax, %ds
	mov %eax, %es
	mov user_saved_rsp(%rip), %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

/* ---- data: GDT, page tables, stacks ---- */
	.section .data
	.p2align 4
	.globl gdt
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* SEL_KCODE32: flat 32-bit code, DPL0 */
	.quad 0x00af9a000000ffff	/* SEL_KCODE64: 64-bit code, DPL0 */
	.quad 0x00cf92000000ffff	/* SEL_KDATA: flat data, DPL0 */
	.quad 0x00cff2000000ffff	/* SEL_UDATA: flat data, DPL3 */
	.quad 0x00affa000000ffff	/* SEL_UCODE64: 64-bit code, DPL3 */
	.quad 0, 0			/* SEL_TSS: written by user.c */
gdt_end:
	.p2align 3
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

ap_next_slot:
	.long 0

/*
 * Identity map of the first 4 GiB with 2 MiB pages, present + writable + user
 * in every level (so CPL3 code reaches everything).  The top GiB holds the
 * IOAPIC and LAPIC: mapped uncached (PWT | PCD).
 */
#define PTE_TABLE (PTE_P | PTE_RW | PTE_US)
	.section .data.pagetables, "aw"
	.p2align 12
pml4:
	.quad pdpt + PTE_TABLE
	.fill 511, 8, 0
pdpt:
	.quad pd + PTE_TABLE
	.quad pd + 0x1000 + PTE_TABLE
	.quad pd + 0x2000 + PTE_TABLE
	.quad pd + 0x3000 + PTE_TABLE
	.fill 508, 8, 0
pd:
	.set pt_addr, 0
	.rept 3 * 512
	.quad pt_addr + PTE_TABLE + PTE_PS
	.set pt_addr, pt_addr + 0x200000
	.endr
	.rept 512
	.quad pt_addr + PTE_TABLE + PTE_PS + PTE_PWT + PTE_PCD
	.set pt_addr, pt_addr + 0x200000
	.endr

	.section .bss
	.p2align 4
	.globl ap_stacks
bsp_stack:
	.skip BSP_STACK_SIZE
bsp_stack_top:
ap_stacks:
	.skip GUEST_AP_SLOTS * AP_STACK_SIZE
user_saved_rsp:
	.quad 0

	.section .note.GNU-stack, "", @progbits
