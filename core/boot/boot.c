/* SPDX-License-Identifier: MIT */
/*
 * Kernel loading: map the files, recognise the format, hand over to the boot
 * protocol (boot_pvh.c for PVH ELF kernels, boot_linux.c for bzImages).
 */
#include "boot/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot_linux.h"
#include "boot/boot_pvh.h"

int boot_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errlen)
		vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* Map `path` read-only into *img.  `what` ("kernel", "initrd") prefixes errors. */
static int map_file(const char *what, const char *path, struct boot_image *img,
                    char *err, size_t errlen)
{
	struct stat st;
	int e, fd;

	*img = (struct boot_image){ .path = path };
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		return boot_fail(err, errlen, -e, "cannot open %s %s: %s", what, path, strerror(e));
	}
	if (fstat(fd, &st)) {
		e = errno;
		close(fd);
		return boot_fail(err, errlen, -e, "cannot stat %s %s: %s", what, path, strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return boot_fail(err, errlen, -EINVAL, "%s %s is not a regular file", what, path);
	}
	if (st.st_size > 0) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			e = errno;
			close(fd);
			return boot_fail(err, errlen, -e, "cannot map %s %s: %s", what, path, strerror(e));
		}
		img->data = p;
		img->size = (size_t)st.st_size;
	}
	close(fd);
	return 0;
}

static void unmap_file(struct boot_image *img)
{
	if (img->data)
		munmap((void *)img->data, img->size);
	*img = (struct boot_image){ 0 };
}

/* 0 if the kernel is a format modvmm boots, else -errno and the reason. */
static int check_format(const struct boot_image *k, char *err, size_t errlen)
{
	if (boot_pvh_is_elf(k))
		return boot_pvh_probe(k, err, errlen);
	if (boot_linux_is_bzimage(k))
		return boot_linux_probe(k, NULL, err, errlen);
	return boot_fail(err, errlen, -ENOEXEC,
	                 "%s is not an ELF file or a Linux bzImage; modvmm boots PVH ELF kernels "
	                 "and bzImages (Linux x86 boot protocol 2.12+)", k->path);
}

int boot_probe(const char *path, char *err, size_t errlen)
{
	struct boot_image k;
	int ret = map_file("kernel", path, &k, err, errlen);
	if (ret)
		return ret;
	ret = check_format(&k, err, errlen);
	unmap_file(&k);
	return ret;
}

int boot_load(const struct guest_mem *mem, const struct boot_request *req,
              struct boot_entry *entry, char *err, size_t errlen)
{
	struct boot_image k, initrd = { 0 };
	int ret;

	if (!req->kernel)
		return boot_fail(err, errlen, -EINVAL, "no kernel given");
	if ((ret = map_file("kernel", req->kernel, &k, err, errlen)))
		return ret;
	if ((ret = check_format(&k, err, errlen)))
		goto out;
	if (req->initrd && (ret = map_file("initrd", req->initrd, &initrd, err, errlen)))
		goto out;
	if (boot_pvh_is_elf(&k))
		ret = boot_pvh_load(mem, req, &k, req->initrd ? &initrd : NULL, entry, err, errlen);
	else
		ret = boot_linux_load(mem, req, &k, req->initrd ? &initrd : NULL, entry, err, errlen);
out:
	unmap_file(&initrd);
	unmap_file(&k);
	return ret;
}

int boot_check(const struct boot_request *req, uint64_t memory, const char **key,
               char *err, size_t errlen)
{
	struct boot_request dry = *req;
	struct boot_entry entry;
	struct guest_mem mem;
	int ret;

	*key = "kernel";
	if ((ret = boot_probe(req->kernel, err, errlen)))
		return ret;
	/* A sparse memfd mapping of the guest's size: placement checks touch no page. */
	if (mem_init(&mem, memory, false))
		return 0; /* the memory value itself is reported by the config check */
	dry.dry_run = true;
	dry.initrd = NULL;
	ret = boot_load(&mem, &dry, &entry, err, errlen);
	if (ret == -E2BIG)
		*key = "cmdline";
	if (!ret && req->initrd) {
		dry.initrd = req->initrd;
		*key = "initrd";
		ret = boot_load(&mem, &dry, &entry, err, errlen);
	}
	mem_free(&mem);
	return ret;
}
