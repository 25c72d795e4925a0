/* SPDX-License-Identifier: MIT */
/* vm_fault_dump: with $MODVMM_FAULT_DUMP naming a folder, a VM that fails
 * (triple fault, KVM internal error) leaves its guest RAM there for a
 * post-mortem: DIR/modvmm-PID.ram, a sparse file in which each byte of RAM
 * sits at its guest-physical address (all-zero 64 KiB chunks are holes), and
 * DIR/modvmm-PID.txt naming the kernel the guest was booted from. */
#include "vm/faultdump.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vm/vm.h"

#define CHUNK 0x10000

static bool all_zero(const uint8_t *p, size_t n)
{
	static const uint8_t zero[CHUNK];
	return memcmp(p, zero, n) == 0;
}

static int write_ram(const struct guest_mem *mem, int fd)
{
	for (unsigned r = 0; r < mem->nregions; r++) {
		const struct mem_region *reg = &mem->region[r];
		for (uint64_t off = 0; off < reg->size; off += CHUNK) {
			size_t n = reg->size - off < CHUNK ? (size_t)(reg->size - off) : CHUNK;
			if (all_zero(reg->hva + off, n))
				continue;
			if (pwrite(fd, reg->hva + off, n, (off_t)(reg->gpa + off)) != (ssize_t)n)
				return -errno;
		}
	}
	/* the file ends where RAM ends, even when its last chunk is a hole */
	const struct mem_region *last = &mem->region[mem->nregions - 1];
	return ftruncate(fd, (off_t)(last->gpa + last->size)) ? -errno : 0;
}

void vm_fault_dump(struct vm *vm)
{
	static atomic_flag done = ATOMIC_FLAG_INIT;
	const char *dir = getenv("MODVMM_FAULT_DUMP");
	if (!dir || !*dir || !vm->mem.nregions || atomic_flag_test_and_set(&done))
		return;
	char path[4096];
	snprintf(path, sizeof(path), "%s/modvmm-%d.txt", dir, (int)getpid());
	FILE *f = fopen(path, "w");
	if (f) {
		const char *kernel = vm->cfg->vm.kernel ? vm->cfg->vm.kernel : "";
		char *full = realpath(kernel, NULL);
		fprintf(f, "kernel=%s\n", full ? full : kernel);
		free(full);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/modvmm-%d.ram", dir, (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret = fd < 0 ? -errno : write_ram(&vm->mem, fd);
	if (fd >= 0)
		close(fd);
	if (ret)
		pr_err("cannot write guest RAM to %s ($MODVMM_FAULT_DUMP): %s", path, strerror(-ret));
	else
		pr_err("guest RAM written to %s (by guest-physical address)", path);
}
