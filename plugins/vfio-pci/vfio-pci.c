/* SPDX-License-Identifier: MIT */
/*
 * vfio-pci: hands a host PCI function, already bound to Linux's vfio-pci driver,
 * to the guest (bhyve's "ppt" on Linux VFIO, <linux/vfio.h>).
 *
 * The function's IOMMU group joins a type1 container of its own in which all
 * guest RAM is mapped at IOVA = guest-physical address, so the device's DMA
 * reaches guest RAM and nothing else.  The guest sees a function with the
 * device's ids; its BARs have the device's types and sizes and are placed by
 * modvmm's PCI core: BARs the kernel lets us mmap become memslots (HOSTBUF) that
 * follow the guest's BAR moves and decode bits, the others are trapped and
 * forwarded with pread/pwrite on the device fd; a BAR holding the MSI-X table
 * or PBA is split (ABI 2.3 areas): its mmappable areas direct, the pages of the
 * table and PBA trapped.  Configuration space is virtual: the header from the
 * device's ids, no expansion ROM, and one interrupt capability.  MSI-X when the
 * device has it: the core emulates table, PBA and masking, and VFIO signals
 * the core's per-vector eventfds from start to stop.  Else MSI, emulated here
 * and delivered through host->pci_msi_vector(), and INTx through the core's
 * resample irqfd pair.  Either way VFIO signals an eventfd that KVM injects as
 * an irqfd: no exit to modvmm.  The guest's COMMAND bus-master bit reaches the
 * physical function (cfg_ops.header_written, ABI 2.3), and a device with FLR
 * gets a PCIe capability whose Initiate FLR resets it through VFIO.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <modvmm/plugin.h>

/* Type-0 configuration header (PCI Local Bus 3.0 §6.1). */
#define CFG_VENDOR        0x00
#define CFG_DEVICE        0x02
#define CFG_COMMAND       0x04
#define CFG_STATUS        0x06
#define CFG_REVISION      0x08
#define CFG_PROG_IF       0x09
#define CFG_SUBCLASS      0x0a
#define CFG_CLASS         0x0b
#define CFG_HEADER_TYPE   0x0e
#define CFG_BAR0          0x10
#define CFG_SUBSYS_VENDOR 0x2c
#define CFG_SUBSYS_ID     0x2e
#define CFG_CAP_PTR       0x34
#define CFG_INT_PIN       0x3d
#define CFG_HEADER_END    0x40
#define CFG_SIZE          256
#define HEADER_TYPE_MASK  0x7f     /* bit 7: multi-function */
#define STATUS_CAPS       0x0010u  /* §6.2.3: capability list present */
#define CMD_IO            0x0001u  /* §6.2.2 */
#define CMD_MEM           0x0002u
#define CMD_MASTER        0x0004u
#define NUM_BARS          6
#define BAR_IO            0x1u     /* §6.2.5.1 */
#define BAR_MEM_TYPE_MASK 0x6u
#define BAR_MEM_TYPE_64   0x4u
#define BAR_PREFETCH      0x8u
#define CAP_MAX_WALK      48       /* (256 - 64) / 4 capabilities at most */

/* MSI capability (§6.8.1), 64-bit layout, offsets from its start. */
#define CAP_ID_MSI        0x05
#define CAP_ID_MSIX       0x11
#define MSIX_CONTROL      2
#define MSIX_TABLE        4        /* offset | BIR */
#define MSIX_PBA          8
#define MSIX_SIZE_MASK    0x7ffu   /* table size - 1 */
#define MSIX_BIR_MASK     0x7u
#define MSI_CONTROL       2
#define MSI_ADDR_LO       4
#define MSI_ADDR_HI       8
#define MSI_DATA          12
#define MSI_LEN           16       /* 14 bytes, padded to a dword */
#define MSI_CTL_ENABLE    0x0001u
#define MSI_CTL_MMC_SHIFT 1        /* Multiple Message Capable: log2(vectors) */
#define MSI_CTL_MME_SHIFT 4        /* Multiple Message Enable */
#define MSI_CTL_MM_MASK   0x7u
#define MSI_CTL_64BIT     0x0080u
#define MSI_MAX_LOG2      5        /* 32 vectors */

/* PCI Express capability (PCIe Base 4.0 §7.5.3), version 2 layout: the guest
 * sees a Root Complex Integrated Endpoint whose one feature is Function Level
 * Reset (§6.6.2), offered when the device has FLR and VFIO can reset it. */
#define CAP_ID_EXP        0x10
#define EXP_FLAGS         2        /* capability version, device/port type */
#define EXP_DEVCAP        4
#define EXP_DEVCTL        8
#define EXP_LEN           0x3c     /* through Slot Control 2 (version 2) */
#define EXP_FLAGS_VERS2   0x0002u
#define EXP_TYPE_RC_END   0x0090u  /* device/port type 9 in bits 7:4 */
#define EXP_DEVCAP_FLR    0x10000000u
#define EXP_DEVCTL_FLR    0x8000u  /* Initiate Function Level Reset (reads 0) */

#define PAGE_SIZE_4K      4096u

struct vbar {
	struct vfio_pci *v;
	unsigned idx;
	uint64_t size;       /* 0: not implemented */
	uint64_t offset;     /* of the region in the device fd */
	bool io;
	void *map;           /* mmapped region (a HOSTBUF BAR or a split one), or NULL */
	unsigned nareas;     /* split: the directly mapped areas (around MSI-X) */
	uint64_t reads, writes; /* accesses trapped to bar_read/bar_write (atomic) */
};

struct vfio_pci {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
	struct modvmm_pci *pci;
	char addr[32];       /* DDDD:BB:DD.F */
	int container, group, device;
	uint64_t cfg_offset; /* configuration-space region in the device fd */
	bool dma_mapped;
	unsigned ndma;
	struct modvmm_mem_region *dma;
	struct vbar bar[NUM_BARS];
	uint8_t irq_pin;
	/* MSI as the guest sees it; lock: the function's config lock (hooks) */
	unsigned msi_cap;    /* virtual offset; 0: the device has no MSI */
	unsigned msi_log2;   /* vectors the device offers (log2) */
	unsigned msi_on;     /* vectors enabled in VFIO, 0 when MSI is off */
	bool intx_on;
	/* MSI-X (§6.8.2): the device's table and PBA, served by the core's MSI-X
	 * emulation in trapped BARs; every vector's irqfd handed to VFIO at start */
	unsigned msix_nvec;  /* 0: the device has no MSI-X */
	unsigned msix_table_bar, msix_pba_bar;
	uint64_t msix_table_off, msix_pba_off;
	bool msix_on;
	int intx_trigger, intx_resample;
	bool warned_irq;
	bool can_reset;      /* VFIO_DEVICE_FLAGS_RESET */
	unsigned exp_cap;    /* the virtual PCIe capability (FLR), 0: none */
	uint64_t resets;     /* guest-initiated resets done (atomic) */
	bool warned_reset;
};

static int fail(struct vfio_pci *v, int ret, const char *fmt, ...) MODVMM_PRINTF(3, 4);
static int fail(struct vfio_pci *v, int ret, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->host->log(v->dev, MODVMM_LOG_ERROR, "host %s: %s", v->addr, msg);
	return ret;
}

/* ---- the host function's sysfs state ---------------------------------------- */

/* "DDDD:BB:DD.F", lower-case hex as sysfs names it. */
static bool addr_ok(const char *s)
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

/* The function exists and is bound to vfio-pci; its IOMMU group in *group. */
static int check_host_fn(struct vfio_pci *v, char *group, size_t len)
{
	char path[PATH_MAX], drv[256];
	struct stat st;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", v->addr);
	if (stat(path, &st))
		return fail(v, -ENODEV, "no such PCI function on this host (lspci -D lists them)");
	link_name(v->addr, "driver", drv, sizeof(drv));
	if (strcmp(drv, "vfio-pci")) {
		char hint[1024];
		snprintf(hint, sizeof(hint), bind_hint, v->addr, v->addr, v->addr, v->addr);
		if (*drv)
			return fail(v, -EBUSY, "bound to %s, not to vfio-pci: %s", drv, hint);
		return fail(v, -EBUSY, "not bound to vfio-pci (to no driver): %s", hint);
	}
	link_name(v->addr, "iommu_group", group, len);
	if (!*group)
		return fail(v, -ENODEV, "no IOMMU group: the host has no IOMMU enabled (turn on VT-d or AMD-Vi in "
		                        "the firmware and boot with intel_iommu=on or amd_iommu=on)");
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

static int open_group(struct vfio_pci *v, const char *group)
{
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		return fail(v, -errno, "/dev/vfio/vfio: %s%s", strerror(errno),
		            errno == ENOENT ? " (load the vfio-pci module)" : "");
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return fail(v, -ENOTSUP, "the kernel's VFIO API version is not %d", VFIO_API_VERSION);
	if (ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
		return fail(v, -ENOTSUP, "the kernel offers no type1v2 IOMMU backend (load vfio_iommu_type1)");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "/dev/vfio/%s", group);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0) {
		int e = errno;
		return fail(v, -e, "%s: %s%s", path, strerror(e),
		            e == EACCES || e == EPERM ? " (no permission: run as root or give this user the file)"
		            : e == EBUSY ? " (the group is in use: another VM or program holds it)" : "");
	}
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &gs))
		return fail(v, -errno, "VFIO_GROUP_GET_STATUS: %s", strerror(errno));
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		char who[1024];
		group_culprits(group, who, sizeof(who));
		return fail(v, -EBUSY, "IOMMU group %s is not viable: every device of the group must be bound to "
		                       "vfio-pci or to no driver; still bound to a host driver: %s",
		            group, *who ? who : "(unknown)");
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container))
		return fail(v, -errno, "VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
	if (ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return fail(v, -errno, "VFIO_SET_IOMMU (type1v2): %s", strerror(errno));
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, v->addr);
	if (v->device < 0)
		return fail(v, -errno, "VFIO_GROUP_GET_DEVICE_FD: %s", strerror(errno));
	return 0;
}

/* Every guest RAM region at IOVA = guest-physical address. */
static int dma_map_ram(struct vfio_pci *v)
{
	int n = v->host->mem_regions(v->dev, NULL, 0);
	if (n <= 0)
		return fail(v, -EINVAL, "no guest RAM regions");
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
			return fail(v, -e, "VFIO_IOMMU_MAP_DMA of guest RAM 0x%llx+0x%llx: %s%s",
			            (unsigned long long)m.iova, (unsigned long long)m.size, strerror(e),
			            e == ENOMEM ? " (the pinned pages exceed RLIMIT_MEMLOCK: ulimit -l)" : "");
		}
	}
	v->dma_mapped = true;
	return 0;
}

static void dma_unmap_ram(struct vfio_pci *v)
{
	for (unsigned i = 0; v->container >= 0 && i < v->ndma; i++) {
		struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = v->dma[i].gpa,
		                                        .size = v->dma[i].size };
		if (ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &u))
			fail(v, -errno, "VFIO_IOMMU_UNMAP_DMA: %s", strerror(errno));
	}
	v->ndma = 0;
}

/* ---- the device's configuration space --------------------------------------- */

static uint32_t hw_cfg_read(struct vfio_pci *v, unsigned off, unsigned size)
{
	uint32_t val = 0;
	if (pread(v->device, &val, size, (off_t)(v->cfg_offset + off)) != (ssize_t)size)
		return UINT32_MAX;
	return val;
}

static void hw_cfg_write(struct vfio_pci *v, unsigned off, unsigned size, uint32_t val)
{
	if (pwrite(v->device, &val, size, (off_t)(v->cfg_offset + off)) != (ssize_t)size)
		fail(v, -errno, "configuration write at 0x%x: %s", off, strerror(errno));
}

/* Offset of the device's capability `id`, 0 if none (§6.7). */
static unsigned hw_find_cap(struct vfio_pci *v, uint8_t id)
{
	if (!(hw_cfg_read(v, CFG_STATUS, 2) & STATUS_CAPS))
		return 0;
	unsigned off = hw_cfg_read(v, CFG_CAP_PTR, 1) & ~3u;
	for (int n = 0; n < CAP_MAX_WALK && off >= CFG_HEADER_END && off < CFG_SIZE; n++) {
		if (hw_cfg_read(v, off, 1) == id)
			return off;
		off = hw_cfg_read(v, off + 1, 1) & ~3u;
	}
	return 0;
}

/* ---- interrupts ---------------------------------------------------------------- */

/* VFIO_DEVICE_SET_IRQS with `count` eventfds (count 0: disable the index). */
static int set_irqs(struct vfio_pci *v, unsigned index, unsigned action, const int *fds, unsigned count)
{
	size_t sz = sizeof(struct vfio_irq_set) + count * sizeof(int);
	struct vfio_irq_set *s = calloc(1, sz);
	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)sz;
	s->flags = (count ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE) | action;
	s->index = index;
	s->count = count;
	if (count)
		memcpy(s->data, fds, count * sizeof(int));
	int ret = ioctl(v->device, VFIO_DEVICE_SET_IRQS, s) ? -errno : 0;
	free(s);
	return ret;
}

static void intx_enable(struct vfio_pci *v, bool on)
{
	if (!v->irq_pin || v->intx_on == on)
		return;
	int ret = 0;
	if (on) {
		ret = set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, &v->intx_trigger, 1);
		if (!ret)
			ret = set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_UNMASK, &v->intx_resample, 1);
	} else {
		ret = set_irqs(v, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
	}
	if (ret && !v->warned_irq)
		fail(v, ret, "INTx %s: %s", on ? "enable" : "disable", strerror(-ret));
	v->warned_irq |= ret != 0;
	v->intx_on = on && !ret;
}

/* The guest wrote the MSI capability: route the vectors and enable, resize or
 * disable MSI in VFIO (INTx is off while MSI is on, as on real hardware). */
static void msi_update(struct vfio_pci *v)
{
	const struct modvmm_host *h = v->host;
	unsigned cap = v->msi_cap;
	uint16_t ctl = (uint16_t)h->pci_config_read(v->pci, cap + MSI_CONTROL, 2);
	uint64_t addr = h->pci_config_read(v->pci, cap + MSI_ADDR_LO, 4) |
	                (uint64_t)h->pci_config_read(v->pci, cap + MSI_ADDR_HI, 4) << 32;
	uint32_t data = h->pci_config_read(v->pci, cap + MSI_DATA, 2);
	bool on = ctl & MSI_CTL_ENABLE;
	unsigned mme = (ctl >> MSI_CTL_MME_SHIFT) & MSI_CTL_MM_MASK;
	unsigned nvec = on ? 1u << (mme > v->msi_log2 ? v->msi_log2 : mme) : 0;
	int fds[1u << MSI_MAX_LOG2];
	for (unsigned i = 0; i < (1u << v->msi_log2); i++) {
		/* §6.8.1.6: vector i sends the data with its low bits replaced by i */
		uint32_t d = i < nvec ? (data & ~(nvec - 1)) | i : data;
		fds[i] = h->pci_msi_vector(v->pci, i, addr, d, i < nvec);
		if (fds[i] < 0 && i < nvec)
			nvec = i;   /* routed what we could; the core warned */
	}
	if (nvec == v->msi_on)
		return;
	int ret = 0;
	if (v->msi_on)
		ret = set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
	v->msi_on = 0;
	if (nvec) {
		intx_enable(v, false);
		ret = set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, fds, nvec);
		v->msi_on = ret ? 0 : nvec;
	} else {
		intx_enable(v, true);
	}
	if (ret && !v->warned_irq)
		fail(v, ret, "MSI with %u vectors: %s", nvec, strerror(-ret));
	v->warned_irq |= ret != 0;
}

/* Guest-writable bits of the virtual MSI capability, by byte. */
static uint8_t msi_wmask(unsigned off)
{
	switch (off) {
	case MSI_CONTROL:
		return (uint8_t)(MSI_CTL_ENABLE | MSI_CTL_MM_MASK << MSI_CTL_MME_SHIFT);
	case MSI_ADDR_LO:
		return 0xfc;           /* the message address is dword aligned */
	case MSI_ADDR_LO + 1: case MSI_ADDR_LO + 2: case MSI_ADDR_LO + 3:
	case MSI_ADDR_HI: case MSI_ADDR_HI + 1: case MSI_ADDR_HI + 2: case MSI_ADDR_HI + 3:
	case MSI_DATA: case MSI_DATA + 1:
		return 0xff;
	default:
		return 0;
	}
}

static int cfg_read(void *opaque, unsigned offset, unsigned size, uint32_t *value)
{
	(void)opaque, (void)offset, (void)size, (void)value;
	return -ENOENT;    /* the core's store: the virtual capability, zeros elsewhere */
}

static void set_master(struct vfio_pci *v, bool on);

/* The guest set Initiate FLR: reset the physical function through VFIO (FLR,
 * or the best reset the host has), which restores the function's saved
 * configuration; then decode and bus mastering as before.  The guest's view
 * of the configuration space is kept (a driver saves and restores it around
 * an FLR anyway). */
static void guest_reset(struct vfio_pci *v)
{
	if (ioctl(v->device, VFIO_DEVICE_RESET)) {
		if (!v->warned_reset)
			fail(v, -errno, "guest-initiated reset: VFIO_DEVICE_RESET: %s", strerror(errno));
		v->warned_reset = true;
		return;
	}
	__atomic_fetch_add(&v->resets, 1, __ATOMIC_RELAXED);
	uint32_t cmd = hw_cfg_read(v, CFG_COMMAND, 2);
	if (cmd != UINT32_MAX)
		hw_cfg_write(v, CFG_COMMAND, 2, cmd | CMD_IO | CMD_MEM);
	set_master(v, v->host->pci_config_read(v->pci, CFG_COMMAND, 2) & CMD_MASTER);
	v->host->log(v->dev, MODVMM_LOG_DEBUG, "host %s: function level reset by the guest", v->addr);
}

static int cfg_write(void *opaque, unsigned offset, unsigned size, uint32_t value)
{
	struct vfio_pci *v = opaque;
	if (v->exp_cap && offset < v->exp_cap + EXP_LEN && v->exp_cap < offset + size) {
		/* read-only but for Initiate FLR, bit 15 of Device Control */
		unsigned flr_byte = v->exp_cap + EXP_DEVCTL + 1;
		if (offset <= flr_byte && flr_byte < offset + size && ((value >> (8 * (flr_byte - offset))) & 0x80))
			guest_reset(v);
		return 0;
	}
	if (!v->msi_cap || offset + size <= v->msi_cap || offset >= v->msi_cap + MSI_LEN)
		return -ENOENT;   /* dropped: other registers are not the guest's to write */
	for (unsigned i = 0; i < size; i++) {
		unsigned off = offset + i;
		if (off < v->msi_cap || off >= v->msi_cap + MSI_LEN)
			continue;
		uint8_t m = msi_wmask(off - v->msi_cap);
		uint8_t old = (uint8_t)v->host->pci_config_read(v->pci, off, 1);
		uint8_t b = (uint8_t)(value >> (8 * i));
		v->host->pci_config_write(v->pci, off, 1, (old & ~m) | (b & m));
	}
	msi_update(v);
	return 0;
}

/* The guest's PCIe capability: FLR only, when the device has FLR and VFIO
 * can reset it. */
static int add_exp_cap(struct vfio_pci *v)
{
	unsigned hw = v->can_reset ? hw_find_cap(v, CAP_ID_EXP) : 0;
	if (!hw || hw_cfg_read(v, hw + EXP_DEVCAP, 4) == UINT32_MAX || !(hw_cfg_read(v, hw + EXP_DEVCAP, 4) & EXP_DEVCAP_FLR))
		return 0;
	uint8_t body[EXP_LEN - 2] = { 0 };
	uint16_t flags = EXP_FLAGS_VERS2 | EXP_TYPE_RC_END;
	uint32_t devcap = EXP_DEVCAP_FLR;
	memcpy(body + EXP_FLAGS - 2, &flags, sizeof(flags));   /* x86: little endian, like PCI */
	memcpy(body + EXP_DEVCAP - 2, &devcap, sizeof(devcap));
	int ret = v->host->pci_cap_add(v->pci, CAP_ID_EXP, body, sizeof(body), &v->exp_cap);
	return ret ? fail(v, ret, "cannot add the PCI Express capability: %s", strerror(-ret)) : 0;
}

/* The physical function masters the bus only while the guest's COMMAND says
 * so (§6.2.2): a guest that turns bus mastering off stops the device's DMA and
 * its MSI/MSI-X writes.  Memory and I/O decode stay on in the physical
 * function (the guest's own decode bits act on its view: the core removes the
 * memslots and trapped ranges), and INTx disable is VFIO's own (it masks the
 * line with it). */
static void set_master(struct vfio_pci *v, bool on)
{
	uint32_t cmd = hw_cfg_read(v, CFG_COMMAND, 2);
	uint32_t want = on ? cmd | CMD_MASTER : cmd & ~CMD_MASTER;
	if (cmd != UINT32_MAX && want != cmd)
		hw_cfg_write(v, CFG_COMMAND, 2, want);
}

static void cfg_header_written(void *opaque, unsigned offset, unsigned size, uint32_t value)
{
	struct vfio_pci *v = opaque;
	(void)value;
	if (offset <= CFG_COMMAND && CFG_COMMAND < offset + size)
		set_master(v, v->host->pci_config_read(v->pci, CFG_COMMAND, 2) & CMD_MASTER);
}

static const struct modvmm_pci_cfg_ops cfg_ops = { .read = cfg_read, .write = cfg_write,
                                                   .header_written = cfg_header_written };

/* The guest's view of the device's MSI capability: the same vector count and a
 * 64-bit address, no per-vector masking. */
static int add_msi_cap(struct vfio_pci *v)
{
	unsigned hw = hw_find_cap(v, CAP_ID_MSI);
	if (!hw)
		return 0;
	uint16_t hw_ctl = (uint16_t)hw_cfg_read(v, hw + MSI_CONTROL, 2);
	v->msi_log2 = (hw_ctl >> MSI_CTL_MMC_SHIFT) & MSI_CTL_MM_MASK;
	if (v->msi_log2 > MSI_MAX_LOG2)
		v->msi_log2 = MSI_MAX_LOG2;
	uint8_t body[MSI_LEN - 2] = { 0 };
	uint16_t ctl = (uint16_t)(MSI_CTL_64BIT | v->msi_log2 << MSI_CTL_MMC_SHIFT);
	memcpy(body, &ctl, sizeof(ctl));  /* x86: little endian, like PCI */
	int ret = v->host->pci_cap_add(v->pci, CAP_ID_MSI, body, sizeof(body), &v->msi_cap);
	return ret ? fail(v, ret, "cannot add the MSI capability: %s", strerror(-ret)) : 0;
}

/* ---- BARs ------------------------------------------------------------------------- */

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct vbar *b = opaque;
	uint64_t val = 0;
	__atomic_fetch_add(&b->reads, 1, __ATOMIC_RELAXED);
	if (off + size > b->size || pread(b->v->device, &val, size, (off_t)(b->offset + off)) != (ssize_t)size)
		return UINT64_MAX;
	return val;
}

static void bar_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct vbar *b = opaque;
	__atomic_fetch_add(&b->writes, 1, __ATOMIC_RELAXED);
	if (off + size <= b->size)
		(void)!pwrite(b->v->device, &val, size, (off_t)(b->offset + off));
}

static const struct modvmm_io_ops bar_ops = { .read = bar_read, .write = bar_write };

/* The parts of BAR region `ri` the kernel lets us mmap: the areas of its
 * VFIO_REGION_INFO_CAP_SPARSE_MMAP, else all of it (with MSIX_MAPPABLE, or no
 * MSI-X here).  Page-aligned areas only; returns how many (<= max). */
static unsigned mmap_areas(struct vfio_pci *v, const struct vfio_region_info *ri, struct modvmm_bar_area *out,
                           unsigned max)
{
	out[0] = (struct modvmm_bar_area){ 0, ri->size };
	if (!(ri->flags & VFIO_REGION_INFO_FLAG_CAPS) || ri->argsz <= sizeof(*ri))
		return 1;
	struct vfio_region_info *full = calloc(1, ri->argsz);
	if (!full)
		return 0;
	full->argsz = ri->argsz;
	full->index = ri->index;
	unsigned n = 1;
	if (!ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, full) && full->argsz <= ri->argsz) {
		/* the chain: offsets from the start of the info, each header inside it */
		for (uint32_t at = full->cap_offset, hops = 0; at && hops < 16 &&
		     at + sizeof(struct vfio_info_cap_header) <= full->argsz; hops++) {
			const struct vfio_info_cap_header *h = (const void *)((const char *)full + at);
			if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP &&
			    at + sizeof(struct vfio_region_info_cap_sparse_mmap) <= full->argsz) {
				const struct vfio_region_info_cap_sparse_mmap *sp = (const void *)h;
				n = 0;
				for (uint32_t i = 0; i < sp->nr_areas && n < max &&
				     at + sizeof(*sp) + (i + 1) * sizeof(sp->areas[0]) <= full->argsz; i++) {
					const struct vfio_region_sparse_mmap_area *a = &sp->areas[i];
					if (a->size && !((a->offset | a->size) & (PAGE_SIZE_4K - 1)) && a->offset < ri->size &&
					    a->size <= ri->size - a->offset)
						out[n++] = (struct modvmm_bar_area){ a->offset, a->size };
				}
				break;
			}
			at = h->next;
		}
	}
	free(full);
	return n;
}

/* Maps the areas into one reservation of the BAR's size (the rest PROT_NONE,
 * never touched: the core traps it).  NULL if any mmap fails. */
static void *map_areas(struct vfio_pci *v, const struct vbar *b, const struct modvmm_bar_area *areas, unsigned n)
{
	void *base = mmap(NULL, b->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		void *p = mmap((char *)base + areas[i].offset, areas[i].size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		               v->device, (off_t)(b->offset + areas[i].offset));
		if (p == MAP_FAILED) {
			munmap(base, b->size);
			return NULL;
		}
	}
	return base;
}

static int add_bar(struct vfio_pci *v, unsigned idx, unsigned *used)
{
	struct vbar *b = &v->bar[idx];
	*b = (struct vbar){ .v = v, .idx = idx };
	*used = 1;
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_BAR0_REGION_INDEX + idx };
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return fail(v, -errno, "BAR%u: VFIO_DEVICE_GET_REGION_INFO: %s", idx, strerror(errno));
	if (!ri.size)
		return 0;
	uint32_t reg = hw_cfg_read(v, CFG_BAR0 + 4 * idx, 4);
	b->io = reg & BAR_IO;
	bool mem64 = !b->io && (reg & BAR_MEM_TYPE_MASK) == BAR_MEM_TYPE_64;
	if (mem64)
		*used = 2;
	if (ri.size & (ri.size - 1))
		return fail(v, -EINVAL, "BAR%u: size 0x%llx is not a power of two", idx, (unsigned long long)ri.size);
	b->size = ri.size;
	b->offset = ri.offset;
	struct modvmm_bar desc = {
		.type = b->io ? MODVMM_BAR_IO : mem64 ? MODVMM_BAR_MEM64 : MODVMM_BAR_MEM32,
		.flags = !b->io && (reg & BAR_PREFETCH) ? MODVMM_BAR_F_PREFETCH : 0,
		.size = ri.size, .backing = MODVMM_BAR_TRAPPED, .ops = &bar_ops, .opaque = b,
	};
	bool msix = v->msix_nvec && (idx == v->msix_table_bar || idx == v->msix_pba_bar);
	struct modvmm_bar_area areas[MODVMM_BAR_MAX_AREAS + 1] = { { 0, 0 } };
	if (!b->io && !msix && (ri.flags & VFIO_REGION_INFO_FLAG_MMAP) && ri.size >= PAGE_SIZE_4K) {
		void *p = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, v->device, (off_t)ri.offset);
		if (p != MAP_FAILED) {
			b->map = p;
			desc.backing = MODVMM_BAR_HOSTBUF;
			desc.hostbuf = p;
		}
	} else if (!b->io && msix && (ri.flags & VFIO_REGION_INFO_FLAG_MMAP) && ri.size >= PAGE_SIZE_4K) {
		/* split: the mmappable areas direct, the core traps the MSI-X pages
		 * (and whatever the kernel would not let us map) */
		unsigned n = mmap_areas(v, &ri, areas, MODVMM_BAR_MAX_AREAS);
		void *p = n ? map_areas(v, b, areas, n) : NULL;
		if (p) {
			b->map = p;
			b->nareas = n;
			desc.hostbuf = p;
			desc.areas = areas;
		}
	}
	int ret = v->host->pci_bar(v->pci, idx, &desc);
	if (ret == -ENOSPC)
		return fail(v, ret, "BAR%u (%s, 0x%llx bytes) does not fit the guest's %s window", idx,
		            b->io ? "I/O" : mem64 ? "64-bit memory" : "32-bit memory", (unsigned long long)ri.size,
		            b->io ? "I/O" : mem64 ? "MMIO64" : "MMIO32");
	if (ret)
		return fail(v, ret, "BAR%u: %s", idx, strerror(-ret));
	return 0;
}

/* ---- plugin entry points ------------------------------------------------------- */

/* The device's MSI-X table and PBA, if it has MSI-X. */
static void find_msix(struct vfio_pci *v)
{
	unsigned cap = hw_find_cap(v, CAP_ID_MSIX);
	if (!cap)
		return;
	uint32_t table = hw_cfg_read(v, cap + MSIX_TABLE, 4), pba = hw_cfg_read(v, cap + MSIX_PBA, 4);
	v->msix_nvec = (hw_cfg_read(v, cap + MSIX_CONTROL, 2) & MSIX_SIZE_MASK) + 1;
	v->msix_table_bar = table & MSIX_BIR_MASK;
	v->msix_table_off = table & ~MSIX_BIR_MASK;
	v->msix_pba_bar = pba & MSIX_BIR_MASK;
	v->msix_pba_off = pba & ~MSIX_BIR_MASK;
}

/* Every MSI-X vector of the device signals the eventfd of the guest's vector:
 * an irqfd while the guest lets it deliver, else counted as pending (the core). */
static int msix_enable(struct vfio_pci *v)
{
	int *fds = calloc(v->msix_nvec, sizeof(int));
	if (!fds)
		return -ENOMEM;
	for (unsigned i = 0; i < v->msix_nvec; i++)
		fds[i] = v->host->pci_msix_fd(v->pci, i);
	int ret = set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, fds, v->msix_nvec);
	free(fds);
	v->msix_on = ret == 0;
	return ret ? fail(v, ret, "MSI-X with %u vectors: %s", v->msix_nvec, strerror(-ret)) : 0;
}

static int setup_function(struct vfio_pci *v)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	if (ioctl(v->device, VFIO_DEVICE_GET_INFO, &di))
		return fail(v, -errno, "VFIO_DEVICE_GET_INFO: %s", strerror(errno));
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI) || di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return fail(v, -ENOTSUP, "not a PCI device for VFIO");
	v->can_reset = di.flags & VFIO_DEVICE_FLAGS_RESET;
	if (v->can_reset) {
		if (ioctl(v->device, VFIO_DEVICE_RESET))
			return fail(v, -errno, "VFIO_DEVICE_RESET: %s", strerror(errno));
	} else {
		v->host->log(v->dev, MODVMM_LOG_INFO, "host %s: no reset method (no FLR, PM or bus reset)", v->addr);
	}
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return fail(v, -errno, "configuration region: %s", strerror(errno));
	v->cfg_offset = ri.offset;
	if ((hw_cfg_read(v, CFG_HEADER_TYPE, 1) & HEADER_TYPE_MASK) != 0)
		return fail(v, -ENOTSUP, "not a type-0 function (a bridge?): not supported");
	struct modvmm_pci_id id = {
		.vendor = (uint16_t)hw_cfg_read(v, CFG_VENDOR, 2), .device = (uint16_t)hw_cfg_read(v, CFG_DEVICE, 2),
		.subsys_vendor = (uint16_t)hw_cfg_read(v, CFG_SUBSYS_VENDOR, 2),
		.subsys_id = (uint16_t)hw_cfg_read(v, CFG_SUBSYS_ID, 2),
		.class_code = (uint8_t)hw_cfg_read(v, CFG_CLASS, 1), .subclass = (uint8_t)hw_cfg_read(v, CFG_SUBCLASS, 1),
		.prog_if = (uint8_t)hw_cfg_read(v, CFG_PROG_IF, 1), .revision = (uint8_t)hw_cfg_read(v, CFG_REVISION, 1),
		.irq_pin = (uint8_t)hw_cfg_read(v, CFG_INT_PIN, 1),
	};
	if (id.irq_pin > 4)
		id.irq_pin = 0;
	find_msix(v);
	if (v->msix_nvec)
		id.irq_pin = 0;   /* MSI-X only: VFIO enables it for the VM's whole life */
	v->irq_pin = id.irq_pin;
	int ret = v->host->pci_register(v->dev, &id, &cfg_ops, v, &v->pci);
	if (ret)
		return fail(v, ret, "cannot register the PCI function: %s", strerror(-ret));
	for (unsigned i = 0, used; i < NUM_BARS; i += used) {
		ret = add_bar(v, i, &used);
		if (ret)
			return ret;
	}
	if (v->msix_nvec) {
		ret = v->host->pci_msix_init(v->pci, v->msix_nvec, v->msix_table_bar, v->msix_table_off,
		                             v->msix_pba_bar, v->msix_pba_off);
		if (ret)
			return fail(v, ret, "MSI-X (%u vectors, table BAR%u+0x%llx, PBA BAR%u+0x%llx): %s", v->msix_nvec,
			            v->msix_table_bar, (unsigned long long)v->msix_table_off, v->msix_pba_bar,
			            (unsigned long long)v->msix_pba_off, strerror(-ret));
		return add_exp_cap(v);
	}
	ret = add_msi_cap(v);
	if (ret)
		return ret;
	if (v->irq_pin) {
		ret = v->host->pci_intx_fds(v->pci, &v->intx_trigger, &v->intx_resample);
		if (ret)
			return fail(v, ret, "INTx: %s", strerror(-ret));
	}
	return add_exp_cap(v);
}

static int vfio_create(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv)
{
	struct vfio_pci *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*v = (struct vfio_pci){ .host = host, .dev = dev, .container = -1, .group = -1, .device = -1,
	                        .intx_trigger = -1, .intx_resample = -1 };
	*priv = v;
	snprintf(v->addr, sizeof(v->addr), "%s", host->config_str(dev, "host"));
	if (!MODVMM_HOST_HAS(host, pci_msi_vector))
		return fail(v, -ENOTSUP, "this modvmm lacks host->pci_msi_vector (plugin ABI 2.2)");
	char group[64];
	int ret = check_host_fn(v, group, sizeof(group));
	if (!ret)
		ret = open_group(v, group);
	if (!ret)
		ret = dma_map_ram(v);
	if (!ret)
		ret = setup_function(v);
	return ret;
}

static int vfio_start(void *priv)
{
	struct vfio_pci *v = priv;
	/* The physical function decodes always (the guest's decode bits act on
	 * its own view: memslots, trapped ranges) and masters the bus as the
	 * guest's COMMAND says (off until its driver turns it on). */
	uint32_t cmd = hw_cfg_read(v, CFG_COMMAND, 2);
	if (cmd == UINT32_MAX)
		return fail(v, -EIO, "cannot read the COMMAND register");
	hw_cfg_write(v, CFG_COMMAND, 2, cmd | CMD_IO | CMD_MEM);
	set_master(v, v->host->pci_config_read(v->pci, CFG_COMMAND, 2) & CMD_MASTER);
	if (v->msix_nvec)
		return msix_enable(v);
	intx_enable(v, true);
	return 0;
}

/* BARs (or parts) that exit to modvmm: trapped ones, and split ones outside
 * their direct areas (the MSI-X table and PBA, served by the core, not counted). */
static bool counts_traps(const struct vbar *b)
{
	return b->size && (!b->map || b->nareas);
}

static void vfio_stats(void *priv, modvmm_stat_fn emit, void *ctx)
{
	struct vfio_pci *v = priv;
	emit(ctx, "guest_resets", __atomic_load_n(&v->resets, __ATOMIC_RELAXED));
	for (unsigned i = 0; i < NUM_BARS; i++) {
		const struct vbar *b = &v->bar[i];
		char name[32];
		if (!counts_traps(b))
			continue;
		snprintf(name, sizeof(name), "bar%u.trapped_reads", i);
		emit(ctx, name, __atomic_load_n(&b->reads, __ATOMIC_RELAXED));
		snprintf(name, sizeof(name), "bar%u.trapped_writes", i);
		emit(ctx, name, __atomic_load_n(&b->writes, __ATOMIC_RELAXED));
	}
}

static void vfio_stop(void *priv)
{
	struct vfio_pci *v = priv;
	if (v->device < 0)
		return;
	if (v->exp_cap)
		v->host->log(v->dev, MODVMM_LOG_INFO, "host %s: %llu function level resets by the guest", v->addr,
		             (unsigned long long)__atomic_load_n(&v->resets, __ATOMIC_RELAXED));
	for (unsigned i = 0; i < NUM_BARS; i++) {
		const struct vbar *b = &v->bar[i];
		if (counts_traps(b))
			v->host->log(v->dev, MODVMM_LOG_INFO, "host %s: BAR%u: %llu reads and %llu writes trapped%s", v->addr, i,
			             (unsigned long long)b->reads, (unsigned long long)b->writes,
			             b->nareas ? " (besides the MSI-X table and PBA; the rest is mapped directly)" : "");
	}
	if (v->msi_on)
		set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
	v->msi_on = 0;
	if (v->msix_on)
		set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
	v->msix_on = false;
	intx_enable(v, false);
	uint32_t cmd = hw_cfg_read(v, CFG_COMMAND, 2);
	if (cmd != UINT32_MAX)
		hw_cfg_write(v, CFG_COMMAND, 2, cmd & ~(CMD_IO | CMD_MEM | CMD_MASTER));
}

static void vfio_destroy(void *priv)
{
	struct vfio_pci *v = priv;
	for (unsigned i = 0; i < NUM_BARS; i++)
		if (v->bar[i].map)
			munmap(v->bar[i].map, v->bar[i].size);
	if (v->device >= 0) {
		struct vfio_device_info di = { .argsz = sizeof(di) };
		if (!ioctl(v->device, VFIO_DEVICE_GET_INFO, &di) && (di.flags & VFIO_DEVICE_FLAGS_RESET))
			(void)ioctl(v->device, VFIO_DEVICE_RESET);
		close(v->device);
	}
	dma_unmap_ram(v);
	if (v->group >= 0) {
		(void)ioctl(v->group, VFIO_GROUP_UNSET_CONTAINER);
		close(v->group);
	}
	if (v->container >= 0)
		close(v->container);
	free(v->dma);
	free(v);
}

static int vfio_validate(const struct modvmm_check_ops *chk, struct modvmm_check *c)
{
	const char *a = chk->config_str(c, "host");
	if (a && !addr_ok(a)) {
		chk->error(c, "host", "want a PCI address DDDD:BB:DD.F in lower-case hex, e.g. 0000:00:03.0");
		return -EINVAL;
	}
	return 0;
}

static const struct modvmm_key keys[] = {
	{ .name = "host", .type = MODVMM_KEY_STRING, .flags = MODVMM_KEY_F_REQUIRED,
	  .help = "the host PCI function to pass through, DDDD:BB:DD.F, bound to vfio-pci" },
	{ .name = "slot", .type = MODVMM_KEY_PCI_SLOT,
	  .help = "PCI slot on bus 0, \"S\" or \"S.F\" (default: the next free slot)" },
	{ 0 },
};

MODVMM_PLUGIN_DEFINE = {
	MODVMM_PLUGIN_ABI,
	.kind = MODVMM_KIND_DEVICE,
	.name = "vfio-pci",
	.description = "PCI passthrough: a host function bound to vfio-pci (DMA to guest RAM, BARs, MSI-X, MSI, INTx)",
	.keys = keys,
	.create = vfio_create,
	.start = vfio_start,
	.stop = vfio_stop,
	.destroy = vfio_destroy,
	.validate = vfio_validate,
	.stats = vfio_stats,
};
