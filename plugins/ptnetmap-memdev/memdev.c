/* SPDX-License-Identifier: MIT */
/*
 * ptnetmap-memdev: a PCI device (1b36:000c, class 0xff0000) that maps one end
 * of a netmap pipe straight into the guest (netmap's ptnetmap memdev).
 *
 *   BAR0  registers, 4 KiB trapped MMIO: the read-only geometry from
 *         nmport_memdev_reg(), LINK, and one doorbell per ring at KICK(r)
 *         served by a KVM ioeventfd (a guest kick never exits to modvmm);
 *   BAR1  the end's window of the pipe region (<modvmm-netmap/netmap_port.h>) as a
 *         host buffer: a KVM memslot that follows BAR moves, no exits at all;
 *         the BAR is the next power of two, the tail past the window is
 *         private zero pages;
 *   BAR2  MSI-X, one vector per ring (vector r notifies the user of ring r),
 *         each an irqfd the pipe backend (or the peer process) writes.
 *
 * The rings are served by the backend (`backend = NAME`, a [backend NAME] of
 * plugin `pipe`), which must offer MODVMM_NET_CAP_RING_PASSTHROUGH.  Doorbells
 * and vectors exist for every ring number the registers can name
 * (2 * NMPORT_MAX_RINGS): the ring count is only known after the rendezvous.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <modvmm/net.h>
#include <modvmm/plugin.h>

#include <modvmm-netmap/nmport.h>

#define MEMDEV_RINGS       PTNET_MDEV_MSIX_MAX /* doorbells and vectors */
#define MEMDEV_MSIX_SIZE   4096u  /* BAR2: table at 0, PBA at MEMDEV_PBA_OFF */
#define MEMDEV_PBA_OFF     2048u  /* after 2 * NMPORT_MAX_RINGS 16-byte entries */
#define MEMDEV_REG_BYTES   4u     /* registers are 32 bits wide */

_Static_assert(MEMDEV_RINGS * 16 <= MEMDEV_PBA_OFF, "MSI-X table fits before the PBA");

struct memdev {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
	struct modvmm_pci *pci;
	struct modvmm_net_backend be;
	struct nmport_region reg;      /* our own checked mapping of the region */
	unsigned end;
	uint32_t memid;
	void *bar1;                    /* BAR-size reservation, window mapped at its start */
	uint64_t bar1_size;
	int kick_fds[MEMDEV_RINGS], irq_fds[MEMDEV_RINGS];
	bool pt_started;
	bool warned_ro;                /* a write to a read-only register was logged */
};

static int fail(struct memdev *m, const char *what, int ret)
{
	m->host->log(m->dev, MODVMM_LOG_ERROR, "%s: %s", what, strerror(ret < 0 ? -ret : ret));
	return ret;
}

static uint32_t reg_read(struct memdev *m, unsigned off)
{
	if (off == PTNET_MDEV_IO_LINK)
		return (uint32_t)modvmm_net_link_up(&m->be);
	return nmport_memdev_reg(&m->reg.mem, m->end, off, m->memid);
}

static uint64_t bar0_read(void *opaque, uint64_t off, unsigned size)
{
	struct memdev *m = opaque;
	uint64_t v = 0;

	if (off >= PTNET_MDEV_IO_SIZE || size > sizeof(v))
		return 0;
	for (unsigned i = 0; i < size; i++) { /* any width: the bytes it covers */
		uint64_t o = off + i;
		uint32_t r = o < PTNET_MDEV_IO_KICK_BASE ? reg_read(m, (unsigned)(o & ~3ull)) : 0;
		v |= (uint64_t)((r >> (8 * (o % MEMDEV_REG_BYTES))) & 0xff) << (8 * i);
	}
	return v;
}

/* Every register is read-only; kicks of the right width never get here (the
 * ioeventfd catches them); the rest is dropped.  The CSB address registers
 * (netmap's guest-RAM CSB) are among them: the CSB stays in BAR1, where the
 * peer reaches it, so an address there (even one outside RAM) is never used. */
static void bar0_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct memdev *m = opaque;

	(void)size;
	(void)value;
	if (!m->warned_ro) {
		m->warned_ro = true;
		m->host->log(m->dev, MODVMM_LOG_WARN,
			     "guest wrote read-only register 0x%llx (the CSB stays in BAR1); ignored, logged once",
			     (unsigned long long)off);
	}
}

static const struct modvmm_io_ops bar0_ops = { .read = bar0_read, .write = bar0_write };

static uint64_t bar2_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)off;
	(void)size;
	return 0; /* outside the MSI-X table and PBA */
}

static void bar2_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	(void)opaque;
	(void)off;
	(void)size;
	(void)value;
}

static const struct modvmm_io_ops bar2_ops = { .read = bar2_read, .write = bar2_write };

static uint64_t pow2_at_least(uint64_t x)
{
	uint64_t p = NMPORT_PAGE_SIZE;

	while (p < x)
		p <<= 1;
	return p;
}

/* BAR1: a private zero mapping of the BAR size with the window over its start. */
static int map_window(struct memdev *m, const struct modvmm_net_pt_info *pi)
{
	m->bar1_size = pow2_at_least(pi->mem_size);
	m->bar1 = mmap(NULL, m->bar1_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->bar1 == MAP_FAILED) {
		m->bar1 = NULL;
		return -errno;
	}
	if (mmap(m->bar1, pi->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, pi->mem_fd,
		 (off_t)pi->mem_offset) == MAP_FAILED)
		return -errno;
	return 0;
}

/* Check the backend's region ourselves and find which end it gave us. */
static int region_check(struct memdev *m, const struct modvmm_net_pt_info *pi)
{
	int fd = dup(pi->mem_fd), ret;

	if (fd < 0)
		return -errno;
	if ((ret = nmport_region_open(fd, &m->reg)) < 0)
		return ret;
	for (unsigned e = 0; e < NMPORT_ENDS; e++) {
		if (m->reg.mem.end[e].win_ofs == pi->mem_offset &&
		    m->reg.mem.end[e].win_size == pi->mem_size) {
			m->end = e;
			return 0;
		}
	}
	return -EPROTO;
}

static int setup(struct memdev *m)
{
	const struct modvmm_host *h = m->host;
	struct modvmm_pci_id id = {
		.vendor = PTNETMAP_PCI_VENDOR_ID, .device = PTNETMAP_PCI_DEVICE_ID,
		.subsys_vendor = PTNETMAP_PCI_VENDOR_ID, .subsys_id = PTNETMAP_PCI_DEVICE_ID,
		.class_code = (uint8_t)(PTNETMAP_PCI_CLASS >> 16),
		.subclass = (uint8_t)(PTNETMAP_PCI_CLASS >> 8), .prog_if = (uint8_t)PTNETMAP_PCI_CLASS,
	};
	struct modvmm_bar bar0 = { .type = MODVMM_BAR_MEM32, .size = PTNET_MDEV_IO_SIZE,
				   .backing = MODVMM_BAR_TRAPPED, .ops = &bar0_ops, .opaque = m };
	struct modvmm_bar bar2 = { .type = MODVMM_BAR_MEM32, .size = MEMDEV_MSIX_SIZE,
				   .backing = MODVMM_BAR_TRAPPED, .ops = &bar2_ops, .opaque = m };
	int ret;

	if ((ret = h->pci_register(m->dev, &id, NULL, NULL, &m->pci)))
		return fail(m, "cannot register the PCI function", ret);
	if ((ret = h->pci_bar(m->pci, PTNETMAP_IO_PCI_BAR, &bar0)) ||
	    (ret = h->pci_bar(m->pci, PTNETMAP_MSIX_PCI_BAR, &bar2)))
		return fail(m, "cannot add a BAR", ret);
	if ((ret = h->pci_msix_init(m->pci, MEMDEV_RINGS, PTNETMAP_MSIX_PCI_BAR, 0,
				    PTNETMAP_MSIX_PCI_BAR, MEMDEV_PBA_OFF)))
		return fail(m, "cannot set up MSI-X", ret);
	for (unsigned r = 0; r < MEMDEV_RINGS; r++) {
		ret = h->pci_doorbell(m->pci, PTNETMAP_IO_PCI_BAR, PTNET_MDEV_IO_KICK(r), MEMDEV_REG_BYTES,
				      false, 0, NULL, NULL, &m->kick_fds[r]);
		if (ret)
			return fail(m, "cannot add a doorbell", ret);
		m->irq_fds[r] = h->pci_msix_fd(m->pci, PTNET_MDEV_MSIX_VECTOR(r));
		if (m->irq_fds[r] < 0)
			return fail(m, "cannot get an MSI-X irqfd", m->irq_fds[r]);
	}
	struct modvmm_net_pt_cfg cfg = { .size = sizeof(cfg), .nrings = MEMDEV_RINGS,
					 .kick_fds = m->kick_fds, .irq_fds = m->irq_fds };
	if ((ret = modvmm_net_pt_start(&m->be, &cfg)))
		return fail(m, "the backend cannot start its rings", ret);
	m->pt_started = true;
	struct modvmm_net_pt_info pi = { .size = sizeof(pi) };
	if ((ret = modvmm_net_pt_info(&m->be, &pi)))
		return fail(m, "the backend describes no port memory", ret);
	if (pi.mem_size == 0 || pi.mem_size % NMPORT_PAGE_SIZE || pi.mem_offset % NMPORT_PAGE_SIZE)
		return fail(m, "port memory not page aligned", -EPROTO);
	if ((ret = region_check(m, &pi)))
		return fail(m, "the backend's port memory is not a pipe region", ret);
	if ((ret = map_window(m, &pi)))
		return fail(m, "cannot map the port memory", ret);
	struct modvmm_bar bar1 = { .type = MODVMM_BAR_MEM32, .flags = MODVMM_BAR_F_PREFETCH,
				   .size = m->bar1_size, .backing = MODVMM_BAR_HOSTBUF, .hostbuf = m->bar1 };
	if ((ret = h->pci_bar(m->pci, PTNETMAP_MEM_PCI_BAR, &bar1)))
		return fail(m, "cannot add the memory BAR", ret);
	h->log(m->dev, MODVMM_LOG_INFO, "pipe end %u: %u ring pair(s) of %u slots, window %llu KiB in a %llu KiB BAR",
	       m->end, m->reg.mem.geom.nr_rings, m->reg.mem.geom.num_slots,
	       (unsigned long long)(pi.mem_size >> 10), (unsigned long long)(m->bar1_size >> 10));
	return 0;
}

static void memdev_destroy(void *priv)
{
	struct memdev *m = priv;

	if (!m)
		return;
	if (m->pt_started)
		modvmm_net_pt_stop(&m->be);
	if (m->be.ops)
		modvmm_net_detach(&m->be);
	if (m->bar1)
		munmap(m->bar1, m->bar1_size);
	if (m->reg.base)
		nmport_region_close(&m->reg);
	free(m);
}

static int memdev_create(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv)
{
	struct memdev *m = calloc(1, sizeof(*m));
	uint64_t memid;
	int ret;

	if (!m)
		return -ENOMEM;
	m->host = host;
	m->dev = dev;
	m->reg.fd = -1;
	*priv = m;
	if ((ret = host->config_u64(dev, "memid", &memid)))
		return fail(m, "memid", ret);
	m->memid = (uint32_t)memid;
	if ((ret = modvmm_net_backend_get(host, dev, "backend", &m->be)))
		return fail(m, "backend", ret);
	if (!modvmm_net_ring_passthrough_ok(&m->be)) {
		m->be.ops = NULL;
		return fail(m, "the backend offers no ring passthrough (use plugin = pipe)", -EINVAL);
	}
	if ((ret = modvmm_net_attach(&m->be, 1, host->instance_name(dev))) && ret != -ENOTSUP) {
		m->be.ops = NULL;
		return fail(m, "cannot attach the backend", ret);
	}
	return setup(m);
}

static int memdev_validate(const struct modvmm_check_ops *chk, struct modvmm_check *c)
{
	const struct modvmm_plugin *be = chk->backend_plugin(c, "backend");
	const struct modvmm_net_backend_ops *o = modvmm_net_plugin_ops(be);
	if (be && (!o || !MODVMM_NET_HAS(o, pt_info) || !MODVMM_NET_HAS(o, pt_start))) {
		chk->error(c, "backend", "plugin %s offers no ring passthrough (use plugin = pipe)", be->name);
		return -EINVAL;
	}
	return 0;
}

static const struct modvmm_key keys[] = {
	{ .name = "slot", .type = MODVMM_KEY_PCI_SLOT,
	  .help = "PCI slot on bus 0, \"S\" or \"S.F\" (default: the next free slot)" },
	{ .name = "backend", .type = MODVMM_KEY_BACKEND, .flags = MODVMM_KEY_F_REQUIRED,
	  .help = "the [backend NAME] serving the rings (plugin pipe)" },
	{ .name = "memid", .type = MODVMM_KEY_U64, .def = "1",
	  .help = "value of the MEMID register (identifies the port to the guest)", .range = "0-4294967295" },
	{ 0 },
};

MODVMM_PLUGIN_DEFINE = {
	MODVMM_PLUGIN_ABI,
	.kind = MODVMM_KIND_DEVICE,
	.name = "ptnetmap-memdev",
	.description = "ptnetmap memdev: a netmap pipe end mapped into the guest (BAR1), doorbells, MSI-X",
	.keys = keys,
	.create = memdev_create,
	.destroy = memdev_destroy,
	.validate = memdev_validate,
};
