/*
 * user.c - run a function at CPL3 with all I/O ports allowed.
 *
 * The nested KVM of our CI ignores IOPL at CPL3, so port access from user mode
 * comes from the TSS I/O permission bitmap (Intel SDM vol. 1 §19.5.2): one bit
 * per port, 0 = allowed, followed by a 0xff byte.
 */
#include "internal.h"
#include "layout.h"

#define IOPB_BYTES (65536 / 8)

/* 64-bit TSS, Intel SDM vol. 3A §8.7. */
struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iopb_offset;
	uint8_t iopb[IOPB_BYTES]; /* all zero: every port allowed */
	uint8_t iopb_end;         /* must be 0xff */
};

#define TSS_TYPE_AVAIL64 0x89 /* present, DPL0, type 9 */

static struct tss64 tss __attribute__((aligned(16))) = {
	.iopb_offset = offsetof(struct tss64, iopb),
	.iopb_end = 0xff,
};
static uint8_t intr_stack[8192] __attribute__((aligned(16)));
static uint8_t df_stack[4096] __attribute__((aligned(16))); /* IST1: #DF reports instead of a triple fault */
static uint8_t user_stack[USER_STACK_SIZE] __attribute__((aligned(16)));

extern uint64_t gdt[];
void user_enter(void (*fn)(void *), void *arg, uintptr_t stack_top);

void guest_tss_load(void)
{
	uint64_t base = (uintptr_t)&tss;
	uint64_t limit = sizeof(tss) - 1;

	tss.rsp[0] = (uintptr_t)(intr_stack + sizeof(intr_stack));
	tss.ist[GUEST_DF_IST - 1] = (uintptr_t)(df_stack + sizeof(df_stack));
	gdt[SEL_TSS / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 |
			   (uint64_t)TSS_TYPE_AVAIL64 << 40 | ((limit >> 16) & 0xf) << 48 |
			   ((base >> 24) & 0xff) << 56;
	gdt[SEL_TSS / 8 + 1] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS) : "memory");
}

void guest_user_run(void (*fn)(void *), void *arg)
{
	user_enter(fn, arg, (uintptr_t)(user_stack + sizeof(user_stack)));
}
