/* SPDX-License-Identifier: MIT */
/* vfio-pci: the host function (sysfs), its IOMMU group and container, guest RAM mapped for DMA. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfio.h"

/* ---- the host function's sysfs state ---------------------------------------- */

/* "DDDD:BB:DD.F", lower-case hex as sysfs names it. */
bool vfio_addr_ok(const char *s)
{
	static const char fmt[] = "hhhh:hh:hh.h";
	if (strlen(s) != sizeof(fmt) - 1)
		return false;
	for (size_t i = 0; fmt[i]; i++) {
		if (fmt[i] == 'h' ? !strchr("0123456789abcdef", s[i]) || !s[i] : s[i] != fmt[i])
			return false;
	}
	return s[11] <= '7' && strchr("01", s[8]);   /* device 0-31, function 0-7 */
}

/* The last component of the symlink /sys/bus/pci/devices/ADDR/NAME, or "". */
static void link_name(const char *addr, const char *name, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", addr, name);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	out[0] = 0;
	if (n <= 0)
		return;
	target[n] = 0;
	const char *slash = strrchr(target, '/');
	const char *base = slash ? slash + 1 : target;
	size_t blen = strnlen(base, len - 1);
	memcpy(out, base, blen);
	out[blen] = 0;
}

static const char bind_hint[] =
	"bind it first: echo vfio-pci > /sys/bus/pci/devices/%s/driver_override, unbind it from its "
	"driver (echo %s > /sys/bus/pci/devices/%s/driver/unbind), echo %s > /sys/bus/pci/drivers_probe "
	"(README, \"vfio-pci\")";

/* The function exists, has an IOMMU group (in *group) and is bound to vfio-pci. */
int vfio_check_host_fn(struct vfio_pci *v, char *group, size_t len)
{
	char path[PATH_MAX], drv[256];
	struct stat st;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", v->addr);
	if (stat(path, &st))
		return vfio_fail(v, -ENODEV, "no such PCI function on this host (lspci -D lists them)");
	/* first: without an IOMMU, vfio-pci cannot bind it either */
	link_name(v->addr, "iommu_group", group, len);
	if (!*group)
		return vfio_fail(v, -ENODEV, "no IOMMU group: the host has no IOMMU enabled (turn on VT-d or AMD-Vi in "
		                        "the firmware and boot with intel_iommu=on or amd_iommu=on)");
	link_name(v->addr, "driver", drv, sizeof(drv));
	if (strcmp(drv, "vfio-pci")) {
		char hint[1024];
		snprintf(hint, sizeof(hint), bind_hint, v->addr, v->addr, v->addr, v->addr);
		if (*drv)
			return vfio_fail(v, -EBUSY, "bound to %s, not to vfio-pci: %s", drv, hint);
		return vfio_fail(v, -EBUSY, "not bound to vfio-pci (to no driver): %s", hint);
	}
	return 0;
}

/* Lists the group's devices that are not bound to vfio-pci (or to no driver). */
static void group_culprits(const char *group, char *out, size_t len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%s/devices", group);
	out[0] = 0;
	DIR *d = opendir(path);
	if (!d)
		return;
	size_t used = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char drv[256];
		link_name(e->d_name, "driver", drv, sizeof(drv));
		if (*drv && strcmp(drv, "vfio-pci") && used < len) {
			int n = snprintf(out + used, len - used, "%s%s (%s)", used ? ", " : "", e->d_name, drv);
			used += n > 0 ? (size_t)n : 0;
		}
	}
	closedir(d);
}

/* ---- container, group, device ----------------------------------------------- */

int vfio_open_group(struct vfio_pci *v, const char *group)
{
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		return vfio_fail(v, -errno, "/dev/vfio/vfio: %s%s", strerror(errno),
		            errno == ENOENT ? " (load the vfio-pci module)" : "");
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return vfio_fail(v, -ENOTSUP, "the kernel's VFIO API version is not %d", VFIO_API_VERSION);
	if (ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
		return vfio_fail(v, -ENOTSUP, "the kernel offers no type1v2 IOMMU backend (load vfio_iommu_type1)");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0) {
		int e = errno;
		return vfio_fail(v, -e, "%s: %s%s", path, strerror(e),
		            e == EACCES || e == EPERM ? " (no permission: run as root or give this user the file)"
		            : e == EBUSY ? " (the group is in use: another VM or program holds it)" : "");
	}
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &gs))
		return vfio_fail(v, -errno, "VFIO_GROUP_GET_STATUS: %s", strerror(errno));
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		char who[1024];
		group_culprits(group, who, sizeof(who));
		return vfio_fail(v, -EBUSY, "IOMMU group %s is not viable: every device of the group must be bound to "
		                       "vfio-pci or to no driver; still bound to a host driver: %s",
		            group, *who ? who : "(unknown)");
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container))
		return vfio_fail(v, -errno, "VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
	if (ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return vfio_fail(v, -errno, "VFIO_SET_IOMMU (type1v2): %s", strerror(errno));
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, v->addr);
	if (v->device < 0)
		return vfio_fail(v, -errno, "VFIO_GROUP_GET_DEVICE_FD: %s", strerror(errno));
	return 0;
}

/* Every guest RAM region at IOVA = guest-physical address. */
int vfio_dma_map_ram(struct vfio_pci *v)
{
	int n = v->host->mem_regions(v->dev, NULL, 0);
	if (n <= 0)
		return vfio_fail(v, -EINVAL, "no guest RAM regions");
	v->dma = calloc((size_t)n, sizeof(*v->dma));
	if (!v->dma)
		return -ENOMEM;
	v->ndma = (unsigned)v->host->mem_regions(v->dev, v->dma, (unsigned)n);
	for (unsigned i = 0; i < v->ndma; i++) {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)v->dma[i].hva, .iova = v->dma[i].gpa, .size = v->dma[i].size,
		};
		if (ioctl(v->container, VFIO_IOMMU_MAP_DMA, &m)) {
			int e = errno;
			v->ndma = i;
			return vfio_fail(v, -e, "VFIO_IOMMU_MAP_DMA of guest RAM 0x%llx+0x%llx: %s%s",
			            (unsigned long long)m.iova, (unsigned long long)m.size, strerror(e),
			            e == ENOMEM ? " (the pinned pages exceed RLIMIT_MEMLOCK: ulimit -l)" : "");
		}
	}
	v->dma_mapped = true;
	return 0;
}

void vfio_dma_unmap_ram(struct vfio_pci *v)
{
	for (unsigned i = 0; v->container >= 0 && i < v->ndma; i++) {
		struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = v->dma[i].gpa,
		                                        .size = v->dma[i].size };
		if (ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &u))
			vfio_fail(v, -errno, "VFIO_IOMMU_UNMAP_DMA: %s", strerror(errno));
	}
	v->ndma = 0;
}
