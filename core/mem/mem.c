/* SPDX-License-Identifier: MIT */
#include "mem/mem.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int mem_init(struct guest_mem *mem, uint64_t size, bool hugepages)
{
	*mem = (struct guest_mem){ .fd = -1 };
	if (size < 0x100000 || (size & 0xfff))
		return -EINVAL;

	unsigned flags = MFD_CLOEXEC | (hugepages ? MFD_HUGETLB : 0);
	int fd = memfd_create("modvmm-ram", flags);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	uint8_t *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (base == MAP_FAILED) {
		int e = -errno;
		close(fd);
		return e;
	}
	madvise(base, size, MADV_MERGEABLE);

	mem->fd = fd;
	mem->total = size;
	uint64_t low = size < MEM_LOW_LIMIT ? size : MEM_LOW_LIMIT;
	mem->region[0] = (struct mem_region){ .gpa = 0, .size = low, .hva = base, .fd_offset = 0 };
	mem->nregions = 1;
	uint64_t end = low;
	if (size > low) {
		mem->region[1] = (struct mem_region){
			.gpa = MEM_HIGH_BASE, .size = size - low, .hva = base + low, .fd_offset = low,
		};
		mem->nregions = 2;
		end = MEM_HIGH_BASE + size - low;
	}
	if (end < MEM_HIGH_BASE)
		end = MEM_HIGH_BASE;
	mem->mmio64_base = align_up(end, MEM_HIGH_ALIGN);
	return 0;
}

void mem_free(struct guest_mem *mem)
{
	if (mem->nregions)
		munmap(mem->region[0].hva, mem->total);
	if (mem->fd >= 0)
		close(mem->fd);
	*mem = (struct guest_mem){ .fd = -1 };
}

void *mem_gpa_to_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		len = 1;
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct mem_region *r = &mem->region[i];
		if (gpa < r->gpa)
			continue;
		uint64_t off = gpa - r->gpa;
		if (off >= r->size || len > r->size - off)
			continue;
		return r->hva + off;
	}
	return NULL;
}

bool mem_overlaps_ram(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		return false;
	uint64_t last = gpa + len - 1;
	if (last < gpa)
		last = UINT64_MAX;
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct mem_region *r = &mem->region[i];
		if (gpa <= r->gpa + r->size - 1 && last >= r->gpa)
			return true;
	}
	return false;
}
