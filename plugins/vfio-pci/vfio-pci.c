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
 * device's ids, the expansion ROM only with rom = on (read once, served from a
 * copy, ABI 2.4 MODVMM_PCI_ROM_BAR), and one interrupt capability.  MSI-X when the
 * device has it: the core emulates table, PBA and masking, and VFIO signals
 * the core's per-vector eventfds from start to stop.  Else MSI, emulated here
 * and delivered through host->pci_msi_vector(), and INTx through the core's
 * resample irqfd pair.  Either way VFIO signals an eventfd that KVM injects as
 * an irqfd: no exit to modvmm.  The guest's COMMAND bus-master bit reaches the
 * physical function (cfg_ops.header_written, ABI 2.3), and a device with FLR
 * gets a PCIe capability whose Initiate FLR resets it through VFIO and resets
 * the guest's view of its configuration (host->pci_reset, ABI 2.4).
 *
 * Files: host.c (the host function, its group and container, DMA mappings),
 * config.c (configuration space and interrupts), bars.c (BARs and the ROM),
 * this one (setup and the plugin's entry points); vfio.h what they share.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfio.h"

int vfio_fail(struct vfio_pci *v, int ret, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	v->host->log(v->dev, MODVMM_LOG_ERROR, "host %s: %s", v->addr, msg);
	return ret;
}

/* ---- plugin entry points ------------------------------------------------------- */

/* The device's MSI-X table and PBA, if it has MSI-X. */
static void find_msix(struct vfio_pci *v)
{
	unsigned cap = vfio_hw_find_cap(v, CAP_ID_MSIX);
	if (!cap)
		return;
	uint32_t table = vfio_hw_cfg_read(v, cap + MSIX_TABLE, 4), pba = vfio_hw_cfg_read(v, cap + MSIX_PBA, 4);
	v->msix_nvec = (vfio_hw_cfg_read(v, cap + MSIX_CONTROL, 2) & MSIX_SIZE_MASK) + 1;
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
	int ret = vfio_set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, fds, v->msix_nvec);
	free(fds);
	v->msix_on = ret == 0;
	return ret ? vfio_fail(v, ret, "MSI-X with %u vectors: %s", v->msix_nvec, strerror(-ret)) : 0;
}

static int setup_function(struct vfio_pci *v)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	if (ioctl(v->device, VFIO_DEVICE_GET_INFO, &di))
		return vfio_fail(v, -errno, "VFIO_DEVICE_GET_INFO: %s", strerror(errno));
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI) || di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return vfio_fail(v, -ENOTSUP, "not a PCI device for VFIO");
	v->can_reset = di.flags & VFIO_DEVICE_FLAGS_RESET;
	if (v->can_reset) {
		if (ioctl(v->device, VFIO_DEVICE_RESET))
			return vfio_fail(v, -errno, "VFIO_DEVICE_RESET: %s", strerror(errno));
	} else {
		v->host->log(v->dev, MODVMM_LOG_INFO, "host %s: no reset method (no FLR, PM or bus reset)", v->addr);
	}
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri))
		return vfio_fail(v, -errno, "configuration region: %s", strerror(errno));
	v->cfg_offset = ri.offset;
	if ((vfio_hw_cfg_read(v, CFG_HEADER_TYPE, 1) & HEADER_TYPE_MASK) != 0)
		return vfio_fail(v, -ENOTSUP, "not a type-0 function (a bridge?): not supported");
	struct modvmm_pci_id id = {
		.vendor = (uint16_t)vfio_hw_cfg_read(v, CFG_VENDOR, 2), .device = (uint16_t)vfio_hw_cfg_read(v, CFG_DEVICE, 2),
		.subsys_vendor = (uint16_t)vfio_hw_cfg_read(v, CFG_SUBSYS_VENDOR, 2),
		.subsys_id = (uint16_t)vfio_hw_cfg_read(v, CFG_SUBSYS_ID, 2),
		.class_code = (uint8_t)vfio_hw_cfg_read(v, CFG_CLASS, 1), .subclass = (uint8_t)vfio_hw_cfg_read(v, CFG_SUBCLASS, 1),
		.prog_if = (uint8_t)vfio_hw_cfg_read(v, CFG_PROG_IF, 1), .revision = (uint8_t)vfio_hw_cfg_read(v, CFG_REVISION, 1),
		.irq_pin = (uint8_t)vfio_hw_cfg_read(v, CFG_INT_PIN, 1),
	};
	if (id.irq_pin > 4)
		id.irq_pin = 0;
	find_msix(v);
	if (v->msix_nvec)
		id.irq_pin = 0;   /* MSI-X only: VFIO enables it for the VM's whole life */
	v->irq_pin = id.irq_pin;
	int ret = v->host->pci_register(v->dev, &id, &vfio_cfg_ops, v, &v->pci);
	if (ret)
		return vfio_fail(v, ret, "cannot register the PCI function: %s", strerror(-ret));
	for (unsigned i = 0, used; i < NUM_BARS; i += used) {
		ret = vfio_add_bar(v, i, &used);
		if (ret)
			return ret;
	}
	ret = vfio_add_rom(v);
	if (ret)
		return ret;
	if (v->msix_nvec) {
		ret = v->host->pci_msix_init(v->pci, v->msix_nvec, v->msix_table_bar, v->msix_table_off,
		                             v->msix_pba_bar, v->msix_pba_off);
		if (ret)
			return vfio_fail(v, ret, "MSI-X (%u vectors, table BAR%u+0x%llx, PBA BAR%u+0x%llx): %s", v->msix_nvec,
			            v->msix_table_bar, (unsigned long long)v->msix_table_off, v->msix_pba_bar,
			            (unsigned long long)v->msix_pba_off, strerror(-ret));
		return vfio_add_exp_cap(v);
	}
	ret = vfio_add_msi_cap(v);
	if (ret)
		return ret;
	if (v->irq_pin) {
		ret = v->host->pci_intx_fds(v->pci, &v->intx_trigger, &v->intx_resample);
		if (ret)
			return vfio_fail(v, ret, "INTx: %s", strerror(-ret));
	}
	return vfio_add_exp_cap(v);
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
	if (!MODVMM_HOST_HAS(host, pci_msi_vector) || !MODVMM_HOST_HAS(host, pci_reset))
		return vfio_fail(v, -ENOTSUP, "this modvmm lacks host->pci_msi_vector or pci_reset (plugin ABI 2.4)");
	char group[64];
	int ret = vfio_check_host_fn(v, group, sizeof(group));
	if (!ret)
		ret = vfio_open_group(v, group);
	if (!ret)
		ret = vfio_dma_map_ram(v);
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
	uint32_t cmd = vfio_hw_cfg_read(v, CFG_COMMAND, 2);
	if (cmd == UINT32_MAX)
		return vfio_fail(v, -EIO, "cannot read the COMMAND register");
	vfio_hw_cfg_write(v, CFG_COMMAND, 2, cmd | CMD_IO | CMD_MEM);
	vfio_set_master(v, v->host->pci_config_read(v->pci, CFG_COMMAND, 2) & CMD_MASTER);
	if (v->msix_nvec)
		return msix_enable(v);
	vfio_intx_enable(v, true);
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
		vfio_set_irqs(v, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
	v->msi_on = 0;
	if (v->msix_on)
		vfio_set_irqs(v, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_ACTION_TRIGGER, NULL, 0);
	v->msix_on = false;
	vfio_intx_enable(v, false);
	uint32_t cmd = vfio_hw_cfg_read(v, CFG_COMMAND, 2);
	if (cmd != UINT32_MAX)
		vfio_hw_cfg_write(v, CFG_COMMAND, 2, cmd & ~(CMD_IO | CMD_MEM | CMD_MASTER));
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
	vfio_dma_unmap_ram(v);
	if (v->group >= 0) {
		(void)ioctl(v->group, VFIO_GROUP_UNSET_CONTAINER);
		close(v->group);
	}
	if (v->container >= 0)
		close(v->container);
	free(v->dma);
	free(v->rom);
	free(v);
}

static int vfio_validate(const struct modvmm_check_ops *chk, struct modvmm_check *c)
{
	const char *a = chk->config_str(c, "host");
	if (a && !vfio_addr_ok(a)) {
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
	{ .name = "rom", .type = MODVMM_KEY_BOOL, .def = "false",
	  .help = "show the device's expansion ROM to the guest (read-only; refused if it has none)" },
	{ 0 },
};

MODVMM_PLUGIN_DEFINE = {
	MODVMM_PLUGIN_ABI,
	.kind = MODVMM_KIND_DEVICE,
	.name = "vfio-pci",
	.description = "PCI passthrough: a host function bound to vfio-pci (DMA to guest RAM, BARs, MSI-X, MSI, INTx, FLR, ROM if asked)",
	.keys = keys,
	.create = vfio_create,
	.start = vfio_start,
	.stop = vfio_stop,
	.destroy = vfio_destroy,
	.validate = vfio_validate,
	.stats = vfio_stats,
};
