/*
 * layout.h - selectors and fixed addresses shared by entry.S and the C library
 * (plain #defines, included from assembly too).
 */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

/* GDT selectors (order fixed in entry.S). */
#define SEL_KCODE32 0x08
#define SEL_KCODE64 0x10
#define SEL_KDATA   0x18
#define SEL_UDATA   0x20 /* DPL3 */
#define SEL_UCODE64 0x28 /* DPL3 */
#define SEL_TSS     0x30 /* 16-byte 64-bit TSS descriptor */

/* Xen public/elfnote.h: XEN_ELFNOTE_PHYS32_ENTRY. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
/* Xen public/arch-x86/hvm/start_info.h */
#define HVM_START_MAGIC 0x336ec578

#define IDT_ENTRIES 32 /* exceptions only */
#define VEC_UD      6  /* invalid opcode: also the CPL3 -> CPL0 request, see entry.S */
#define VEC_DF      8  /* double fault: on its own stack (IST), see user.c */

/* x86-64 paging entry bits (Intel SDM vol. 3A §4.5) and the address field. */
#define PTE_P   0x001
#define PTE_RW  0x002
#define PTE_US  0x004
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS  0x080
#define PTE_ADDR_MASK 0x000ffffffffff000

/* AP trampoline: copied here, started with SIPI vector TRAMPOLINE_PA >> 12. */
#define TRAMPOLINE_PA 0x8000

#define AP_STACK_SIZE 8192
#define GUEST_AP_SLOTS 15 /* GUEST_MAX_CPUS - 1: APs get a stack each */
#define BSP_STACK_SIZE 16384
#define USER_STACK_SIZE 16384

/* Architectural bits used by the long-mode switch. */
#define CR0_PE 0x00000001
#define CR0_PG 0x80000000
#define CR4_PAE 0x00000020
#define MSR_EFER 0xc0000080
#define EFER_LME 0x00000100

#endif
