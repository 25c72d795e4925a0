/* SPDX-License-Identifier: MIT */
/*
 * Kernel loading: map the files, recognise the format, hand over to the boot
 * protocol (boot_pvh.c today; boot_linux.c for bzImage later).
 */
#include "boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot_pvh.h"

/* Linux boot protocol (Documentation/arch/x86/boot.rst): a bzImage carries the
 * setup header magic "HdrS" at file offset 0x202. */
#define BZIMAGE_MAGIC_OFFSET 0x202
#define BZIMAGE_MAGIC "HdrS"
#define BZIMAGE_MAGIC_LEN 4

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

static bool is_bzimage(const struct boot_image *img)
{
	return img->size >= BZIMAGE_MAGIC_OFFSET + BZIMAGE_MAGIC_LEN &&
	       !memcmp(img->data + BZIMAGE_MAGIC_OFFSET, BZIMAGE_MAGIC, BZIMAGE_MAGIC_LEN);
}

/* 0 if the kernel is a format modvmm boots, else -errno and the reason. */
static int check_format(const struct boot_image *k, char *err, size_t errlen)
{
	if (boot_pvh_is_elf(k))
		return boot_pvh_probe(k, err, errlen);
	if (is_bzimage(k))
		return boot_fail(err, errlen, -ENOTSUP,
		            "%s is a Linux bzImage; bzImage boot is not supported yet, use an "
		            "uncompressed vmlinux with PVH (CONFIG_PVH=y)", k->path);
	return boot_fail(err, errlen, -ENOEXEC,
	            "%s is not an ELF file or a Linux bzImage; modvmm boots PVH ELF kernels",
	            k->path);
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
	ret = boot_pvh_load(mem, &k, req->initrd ? &initrd : NULL, req->cmdline, entry,
	                    err, errlen);
out:
	unmap_file(&initrd);
	unmap_file(&k);
	return ret;
}
