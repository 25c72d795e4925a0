/*
 * header.S - the bzImage layout of the stub: the real-mode part (boot sector and
 * setup sectors) carrying the setup header at 0x1f1, then the protected-mode
 * "kernel" whose 64-bit entry point sits 0x200 bytes after its start.
 * Fields and offsets: Documentation/arch/x86/boot.rst, "THE REAL-MODE KERNEL
 * HEADER" and "64-bit BOOT PROTOCOL".  Sizes come from the linker (stub.ld).
 */
#include "stub.h"

	.section .setup, "a"
	.org 0x1f1
	.byte STUB_SETUP_SECTS		/* 0x1f1 setup_sects */
	.word 0				/* 0x1f2 root_flags */
	.long stub_syssize		/* 0x1f4 syssize: protected-mode size / 16 */
	.word 0				/* 0x1f8 ram_size (obsolete) */
	.word 0xffff			/* 0x1fa vid_mode: "normal" */
	.word 0				/* 0x1fc root_dev */
	.word 0xaa55			/* 0x1fe boot_flag */
	.byte 0xeb			/* 0x200 jump (short jmp) ... */
	.byte hdr_end - 0x202		/* 0x201 ... whose offset ends the header */
	.ascii "HdrS"			/* 0x202 header magic */
	.word STUB_PROTOCOL		/* 0x206 version */
	.long 0				/* 0x208 realmode_swtch */
	.word 0				/* 0x20c start_sys_seg */
	.word 0				/* 0x20e kernel_version */
	.byte 0				/* 0x210 type_of_loader: the loader fills it */
	.byte STUB_LOADFLAGS		/* 0x211 loadflags */
	.word 0				/* 0x212 setup_move_size */
	.long STUB_LOAD_ADDR		/* 0x214 code32_start */
	.long 0				/* 0x218 ramdisk_image */
	.long 0				/* 0x21c ramdisk_size */
	.long 0				/* 0x220 bootsect_kludge */
	.word 0				/* 0x224 heap_end_ptr */
	.byte 0				/* 0x226 ext_loader_ver */
	.byte 0				/* 0x227 ext_loader_type */
	.long 0				/* 0x228 cmd_line_ptr */
	.long STUB_INITRD_ADDR_MAX	/* 0x22c initrd_addr_max */
	.long STUB_LOAD_ADDR		/* 0x230 kernel_alignment */
	.byte 0				/* 0x234 relocatable_kernel: no, linked at 16 MiB */
	.byte 24			/* 0x235 min_alignment: log2(16 MiB) */
	.word STUB_XLOADFLAGS		/* 0x236 xloadflags */
	.long STUB_CMDLINE_SIZE		/* 0x238 cmdline_size */
	.long 0				/* 0x23c hardware_subarch: PC */
	.quad 0				/* 0x240 hardware_subarch_data */
	.long 0				/* 0x248 payload_offset */
	.long 0				/* 0x24c payload_length */
	.quad 0				/* 0x250 setup_data */
	.quad STUB_LOAD_ADDR		/* 0x258 pref_address */
	.long stub_init_size		/* 0x260 init_size */
	.long 0				/* 0x264 handover_offset */
	.long 0				/* 0x268 kernel_info_offset */
hdr_end:

/* ---- the protected-mode part, loaded at STUB_LOAD_ADDR ---- */
	.section .head, "ax"
	.code32
	.globl startup_32
startup_32:				/* 32-bit entry: not used by modvmm */
	ud2

	.org 0x200
	.code64
	.globl startup_64
startup_64:				/* %rsi = boot_params, interrupts off */
	lea stub_stack_top(%rip), %rsp
	mov %rsi, %rdi
	call stub_main			/* never returns */
1:	hlt
	jmp 1b

	.section .bss
	.p2align 4
stub_stack:
	.skip STUB_STACK_SIZE
	.globl stub_stack_top
stub_stack_top:

	.section .note.GNU-stack, "", @progbits
