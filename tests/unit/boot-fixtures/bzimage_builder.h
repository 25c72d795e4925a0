/* SPDX-License-Identifier: MIT */
/*
 * Builds synthetic bzImages for test_boot_linux.c: boot sector and setup sectors
 * with a setup header, then a protected-mode "kernel" of patterned bytes.
 * Offsets are spelled out from Documentation/arch/x86/boot.rst independently of
 * core/boot/boot_linux.h.  Included by one test only, hence static functions.
 */
#ifndef MODVMM_TEST_BZIMAGE_BUILDER_H
#define MODVMM_TEST_BZIMAGE_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct bz_opts {
	unsigned setup_sects;      /* as stored: 0 means 4 */
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	bool relocatable;
	uint32_t kernel_alignment;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	size_t kernel_size;        /* bytes after the setup */
	uint8_t hdr_jump_len;      /* byte at 0x201: the header ends at 0x202 + this */
};

static const struct bz_opts bz_default = {
	.setup_sects = 3,
	.version = 0x020f,
	.loadflags = 0x01,               /* LOADED_HIGH */
	.xloadflags = 0x0003,            /* XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
	.relocatable = true,
	.kernel_alignment = 0x200000,
	.pref_address = 0x1000000,
	.init_size = 0x400000,
	.cmdline_size = 0x7ff,
	.initrd_addr_max = 0x7fffffff,
	.kernel_size = 0x3000,
	.hdr_jump_len = 0x6a,            /* header up to 0x26c, as Linux 6.1 */
};

static uint8_t bz_kernel_byte(size_t i)
{
	return (uint8_t)(i * 13 + 5);
}

static void bz_put(uint8_t *buf, size_t off, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		buf[off + i] = (uint8_t)(v >> (8 * i));
}

/* Setup size in bytes: the boot sector plus setup_sects (0 meaning 4) sectors. */
static size_t bz_setup_size(const struct bz_opts *o)
{
	return ((o->setup_sects ? o->setup_sects : 4) + 1) * 512;
}

/* Build into buf (large enough for bz_setup_size + kernel_size); returns the size. */
static size_t build_bzimage(uint8_t *buf, const struct bz_opts *o)
{
	size_t setup = bz_setup_size(o);
	memset(buf, 0, setup);
	for (size_t i = 0; i < 0x1f1; i++)
		buf[i] = (uint8_t)(0xa0 ^ i); /* boot sector noise: must not reach boot_params */
	buf[0x1f1] = (uint8_t)o->setup_sects;
	bz_put(buf, 0x1f4, (o->kernel_size + 15) / 16, 4);  /* syssize */
	bz_put(buf, 0x1fa, 0xffff, 2);                      /* vid_mode "normal" */
	bz_put(buf, 0x1fe, 0xaa55, 2);                      /* boot_flag */
	buf[0x200] = 0xeb;                                  /* jmp short */
	buf[0x201] = o->hdr_jump_len;
	memcpy(buf + 0x202, "HdrS", 4);
	bz_put(buf, 0x206, o->version, 2);
	bz_put(buf, 0x20e, 0x1234, 2);                      /* kernel_version pointer */
	buf[0x211] = o->loadflags;
	bz_put(buf, 0x214, 0x100000, 4);                    /* code32_start */
	bz_put(buf, 0x22c, o->initrd_addr_max, 4);
	bz_put(buf, 0x230, o->kernel_alignment, 4);
	buf[0x234] = o->relocatable;
	buf[0x235] = 21;                                    /* min_alignment: 2 MiB */
	bz_put(buf, 0x236, o->xloadflags, 2);
	bz_put(buf, 0x238, o->cmdline_size, 4);
	bz_put(buf, 0x248, 0x2cc, 4);                       /* payload_offset */
	bz_put(buf, 0x24c, 0x100, 4);                       /* payload_length */
	bz_put(buf, 0x258, o->pref_address, 8);
	bz_put(buf, 0x260, o->init_size, 4);
	bz_put(buf, 0x264, 0xabcd, 4);                      /* handover_offset */
	bz_put(buf, 0x268, 0x5678, 4);                      /* kernel_info_offset */
	for (size_t i = 0x26c; i < setup; i++)
		buf[i] = (uint8_t)(0x55 ^ i);                   /* rest of the setup code */
	for (size_t i = 0; i < o->kernel_size; i++)
		buf[setup + i] = bz_kernel_byte(i);
	return setup + o->kernel_size;
}

#endif
