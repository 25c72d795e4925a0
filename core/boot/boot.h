/* SPDX-License-Identifier: MIT */
/* Loading a kernel into guest RAM and describing how the boot vCPU starts. */
#ifndef MODVMM_BOOT_H
#define MODVMM_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/mem.h"

enum boot_mode {
	BOOT_PVH32 = 1,   /* 32-bit flat protected mode, paging off (Xen PVH ABI) */
	BOOT_LINUX64 = 2, /* Linux 64-bit boot protocol: long mode, identity-mapped */
};

struct boot_request {
	const char *kernel;   /* path */
	const char *cmdline;  /* may be NULL */
	const char *initrd;   /* path or NULL */
	unsigned vcpus;
	uint64_t rsdp;        /* gpa of the ACPI RSDP handed to the kernel, 0 = none */
	bool dry_run;         /* check placement only, write nothing to guest RAM */
};

struct boot_entry {
	enum boot_mode mode;
	uint64_t rip;         /* entry point */
	uint64_t rbx;         /* PVH: gpa of struct hvm_start_info */
	uint64_t rsi;         /* LINUX64: gpa of boot_params */
	uint64_t rsp;
	uint64_t cr3;         /* LINUX64: gpa of the boot page tables */
	uint64_t gdt_base;    /* LINUX64: gpa of the boot GDT */
	uint16_t gdt_limit;   /* LINUX64: its size in bytes - 1 */
};

/* A file mapped read-only by boot.c (data == NULL when size == 0). */
struct boot_image {
	const char *path;
	const uint8_t *data;
	size_t size;
};

/* Check that `path` is a kernel modvmm can boot, without loading it.
 * Returns 0 or -errno with a human-readable reason in err. */
int boot_probe(const char *path, char *err, size_t errlen);

/* Load the kernel (and initrd, cmdline) into guest RAM and fill *entry.
 * Returns 0 or -errno with a human-readable reason in err. */
int boot_load(const struct guest_mem *mem, const struct boot_request *req,
              struct boot_entry *entry, char *err, size_t errlen);

/* `modvmm check`: probe the kernel, then check that it, the command line and the
 * initrd would fit in `memory` bytes of guest RAM (nothing is allocated).  On
 * failure *key names the [vm] key at fault ("kernel", "cmdline" or "initrd").
 * Returns 0 or -errno with a human-readable reason in err. */
int boot_check(const struct boot_request *req, uint64_t memory, const char **key,
               char *err, size_t errlen);

/* For the boot protocols: format a reason into err and return ret. */
int boot_fail(char *err, size_t errlen, int ret, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
