/* SPDX-License-Identifier: MIT */
/*
 * pci-testdev: a PCI device for measuring exit costs and testing the PCI core, in
 * the spirit of QEMU's pci-testdev.  A trapped I/O BAR and a trapped MMIO BAR with
 * the same registers, a devmem-backed 64-bit BAR, a doorbell register in each
 * trapped BAR served by a KVM ioeventfd (counted by a worker thread, so ringing it
 * never exits to userspace), and MSI-X vectors the guest raises through a register.
 * The register layout is in pci-testdev-regs.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <modvmm/plugin.h>

#include "pci-testdev-regs.h"

#define PCI_INTA 1 /* interrupt pin register value for INTA# (PCI 3.0 §6.2.4) */

enum { KICK_PIO, KICK_MMIO, KICK_COUNT };

struct testdev {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
	struct modvmm_pci *pci;
	struct modvmm_devmem *devmem;
	uint64_t devmem_size;
	bool kick_thread;          /* count kicks from a worker thread as they come */
	int kick_fd[KICK_COUNT];   /* eventfds of the doorbells (owned by the core) */
	int stop_fd;               /* ours: wakes the worker thread in stop() */
	pthread_mutex_t kick_lock; /* eventfd read + count update, and RESET, are atomic */
	atomic_uint_fast64_t writes[2];           /* trapped writes: BAR0, BAR1 */
	atomic_uint_fast64_t kicks[KICK_COUNT];
	atomic_uint_fast32_t scratch;
	atomic_bool warned_vec, warned_irq;
};

/* Adds what the doorbell's eventfd counted since the last read (eventfd(2): a read
 * returns the counter and resets it) to the kick count.  The fd is non-blocking;
 * the worker thread and register reads both drain it, under kick_lock so that a
 * RESET never lands between a read and its addition. */
static void kicks_drain_locked(struct testdev *t, int which)
{
	uint64_t n;
	if (t->kick_fd[which] >= 0 && read(t->kick_fd[which], &n, sizeof(n)) == (ssize_t)sizeof(n))
		atomic_fetch_add(&t->kicks[which], n);
}

static void kicks_drain(struct testdev *t, int which)
{
	pthread_mutex_lock(&t->kick_lock);
	kicks_drain_locked(t, which);
	pthread_mutex_unlock(&t->kick_lock);
}

static void *kick_thread(void *arg)
{
	struct testdev *t = arg;
	struct pollfd p[] = {
		{ .fd = t->kick_fd[KICK_PIO], .events = POLLIN },
		{ .fd = t->kick_fd[KICK_MMIO], .events = POLLIN },
		{ .fd = t->stop_fd, .events = POLLIN },
	};
	for (;;) {
		if (poll(p, 3, -1) < 0 && errno != EINTR)
			break;
		if (p[2].revents)
			break;
		if (p[0].revents)
			kicks_drain(t, KICK_PIO);
		if (p[1].revents)
			kicks_drain(t, KICK_MMIO);
	}
	return NULL;
}

static uint32_t reg_read(struct testdev *t, unsigned bar, uint64_t off)
{
	switch (off) {
	case TESTDEV_MAGIC:
		return TESTDEV_MAGIC_VALUE;
	case TESTDEV_VERSION:
		return TESTDEV_VERSION_VALUE;
	case TESTDEV_SCRATCH:
		return (uint32_t)atomic_load(&t->scratch);
	case TESTDEV_BAR_ID:
		return bar;
	case TESTDEV_PIO_WRITES:
		return (uint32_t)atomic_load(&t->writes[0]);
	case TESTDEV_MMIO_WRITES:
		return (uint32_t)atomic_load(&t->writes[1]);
	case TESTDEV_PIO_KICKS:
		kicks_drain(t, KICK_PIO);
		return (uint32_t)atomic_load(&t->kicks[KICK_PIO]);
	case TESTDEV_MMIO_KICKS:
		kicks_drain(t, KICK_MMIO);
		return (uint32_t)atomic_load(&t->kicks[KICK_MMIO]);
	case TESTDEV_DEVMEM_SIZE:
		return (uint32_t)t->devmem_size;
	case TESTDEV_NVEC:
		return TESTDEV_MSIX_VECTORS;
	default:
		return 0;
	}
}

/* Any size and alignment: the bytes of the registers the access covers. */
static uint64_t bar_read(struct testdev *t, unsigned bar, uint64_t off, unsigned size)
{
	uint64_t v = 0;
	if (off >= TESTDEV_REGS_SIZE)
		return 0;
	if (size > sizeof(v))
		size = sizeof(v);
	for (unsigned i = 0; i < size; i++) {
		uint64_t o = off + i;
		uint32_t r = o < TESTDEV_REGS_SIZE ? reg_read(t, bar, o & ~3ull) : 0; /* off < 256: no wrap */
		v |= (uint64_t)((r >> (8 * (o & 3))) & 0xff) << (8 * i);
	}
	return v;
}

static void raise_vector(struct testdev *t, uint32_t vec, bool by_fd)
{
	const struct modvmm_host *h = t->host;
	int ret;
	if (vec >= TESTDEV_MSIX_VECTORS) {
		if (!atomic_exchange(&t->warned_vec, true))
			h->log(t->dev, MODVMM_LOG_WARN, "guest raised MSI-X vector %u of %u, ignored (logged once)",
			       vec, TESTDEV_MSIX_VECTORS);
		return;
	}
	if (by_fd) {
		int fd = h->pci_msix_fd(t->pci, vec);
		uint64_t one = 1;
		ret = fd < 0 ? fd : (write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one) ? 0 : -errno);
	} else {
		ret = h->pci_msix_notify(t->pci, vec);
	}
	if (ret && !atomic_exchange(&t->warned_irq, true))
		h->log(t->dev, MODVMM_LOG_WARN, "raising MSI-X vector %u failed: %s (logged once)", vec, strerror(-ret));
}

static void bar_write(struct testdev *t, unsigned bar, uint64_t off, unsigned size, uint64_t value)
{
	atomic_fetch_add(&t->writes[bar], 1);
	if ((off & 3) || size < 4 || off >= TESTDEV_REGS_SIZE)
		return;
	uint32_t v = (uint32_t)value;
	switch (off) {
	case TESTDEV_SCRATCH:
		atomic_store(&t->scratch, v);
		break;
	case TESTDEV_MSIX_NOTIFY:
		raise_vector(t, v, false);
		break;
	case TESTDEV_MSIX_FD:
		raise_vector(t, v, true);
		break;
	case TESTDEV_INTX:
		if (t->host->pci_intx(t->pci, v ? 1 : 0) && !atomic_exchange(&t->warned_irq, true))
			t->host->log(t->dev, MODVMM_LOG_WARN, "INTx failed (logged once)");
		break;
	case TESTDEV_RESET:
		for (int i = 0; i < 2; i++)
			atomic_store(&t->writes[i], 0);
		pthread_mutex_lock(&t->kick_lock);
		for (int i = 0; i < KICK_COUNT; i++) {
			kicks_drain_locked(t, i);
			atomic_store(&t->kicks[i], 0);
		}
		pthread_mutex_unlock(&t->kick_lock);
		break;
	default:
		break; /* read-only or unimplemented: ignored */
	}
}

static uint64_t pio_read(void *opaque, uint64_t off, unsigned size)
{
	return bar_read(opaque, TESTDEV_BAR_PIO, off, size);
}

static void pio_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	bar_write(opaque, TESTDEV_BAR_PIO, off, size, value);
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
	return bar_read(opaque, TESTDEV_BAR_MMIO, off, size);
}

static void mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	bar_write(opaque, TESTDEV_BAR_MMIO, off, size, value);
}

static const struct modvmm_io_ops pio_ops = { .read = pio_read, .write = pio_write };
static const struct modvmm_io_ops mmio_ops = { .read = mmio_read, .write = mmio_write };

static int fail(struct testdev *t, const char *what, int ret)
{
	t->host->log(t->dev, MODVMM_LOG_ERROR, "%s: %s", what, strerror(ret < 0 ? -ret : ret));
	return ret;
}

/* The doorbell of `bar`: its eventfd, made non-blocking so register reads can
 * drain it without waiting. */
static int doorbell_add(struct testdev *t, unsigned bar, int which)
{
	int ret = t->host->pci_doorbell(t->pci, bar, TESTDEV_DOORBELL, 0, false, 0, NULL, NULL,
	                                &t->kick_fd[which]);
	if (ret)
		return ret;
	int fl = fcntl(t->kick_fd[which], F_GETFL);
	if (fl < 0 || fcntl(t->kick_fd[which], F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int setup_bars(struct testdev *t, void *devmem_hva)
{
	const struct modvmm_host *h = t->host;
	struct modvmm_pci_id id = {
		.vendor = TESTDEV_VENDOR_ID, .device = TESTDEV_DEVICE_ID,
		.subsys_vendor = TESTDEV_VENDOR_ID, .subsys_id = TESTDEV_SUBSYS_ID,
		.class_code = TESTDEV_CLASS, .revision = TESTDEV_REVISION, .irq_pin = PCI_INTA,
	};
	int ret = h->pci_register(t->dev, &id, NULL, NULL, &t->pci);
	if (ret)
		return fail(t, "cannot register the PCI function", ret);

	struct modvmm_bar pio = { .type = MODVMM_BAR_IO, .size = TESTDEV_PIO_SIZE,
	                          .backing = MODVMM_BAR_TRAPPED, .ops = &pio_ops, .opaque = t };
	struct modvmm_bar mmio = { .type = MODVMM_BAR_MEM32, .size = TESTDEV_MMIO_SIZE,
	                           .backing = MODVMM_BAR_TRAPPED, .ops = &mmio_ops, .opaque = t };
	struct modvmm_bar mem = { .type = MODVMM_BAR_MEM64, .flags = MODVMM_BAR_F_PREFETCH,
	                          .size = t->devmem_size, .backing = MODVMM_BAR_DEVMEM, .devmem = t->devmem };
	if ((ret = h->pci_bar(t->pci, TESTDEV_BAR_PIO, &pio)) ||
	    (ret = h->pci_bar(t->pci, TESTDEV_BAR_MMIO, &mmio)) ||
	    (ret = h->pci_bar(t->pci, TESTDEV_BAR_DEVMEM, &mem)))
		return fail(t, "cannot add a BAR", ret);
	uint32_t magic = TESTDEV_DEVMEM_MAGIC;
	memcpy(devmem_hva, &magic, sizeof(magic));

	ret = h->pci_msix_init(t->pci, TESTDEV_MSIX_VECTORS, TESTDEV_BAR_MMIO, TESTDEV_MSIX_TABLE_OFF,
	                       TESTDEV_BAR_MMIO, TESTDEV_MSIX_PBA_OFF);
	if (ret)
		return fail(t, "cannot set up MSI-X", ret);
	if ((ret = doorbell_add(t, TESTDEV_BAR_PIO, KICK_PIO)) ||
	    (ret = doorbell_add(t, TESTDEV_BAR_MMIO, KICK_MMIO)))
		return fail(t, "cannot add a doorbell", ret);
	return 0;
}

static void testdev_destroy(void *priv)
{
	struct testdev *t = priv;
	if (!t)
		return;
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	pthread_mutex_destroy(&t->kick_lock);
	free(t);
}

static int testdev_create(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv)
{
	struct testdev *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->host = host;
	t->dev = dev;
	t->kick_fd[KICK_PIO] = t->kick_fd[KICK_MMIO] = -1;
	t->stop_fd = -1;
	pthread_mutex_init(&t->kick_lock, NULL);
	*priv = t;

	int ret = host->config_u64(dev, "devmem_size", &t->devmem_size);
	if (ret)
		return fail(t, "devmem_size", ret);
	ret = host->config_bool(dev, "kick_thread", &t->kick_thread);
	if (ret)
		return fail(t, "kick_thread", ret);
	if (t->devmem_size < 4096 || (t->devmem_size & (t->devmem_size - 1)))
		return fail(t, "devmem_size must be a power of two of at least 4K", -EINVAL);
	const char *seg = host->config_str(dev, "segment");
	if (!seg || !*seg)
		seg = host->instance_name(dev);
	void *hva;
	ret = host->devmem_create(dev, seg, t->devmem_size, &t->devmem, &hva);
	if (ret)
		return fail(t, "cannot create the devmem segment", ret);

	t->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (t->stop_fd < 0)
		return fail(t, "eventfd", -errno);
	return setup_bars(t, hva);
}

static int testdev_start(void *priv)
{
	struct testdev *t = priv;
	if (!t->kick_thread)
		return 0;
	int ret = t->host->thread_start(t->dev, "testdev-kick", kick_thread, t);
	return ret ? fail(t, "cannot start the doorbell thread", ret) : 0;
}

static void testdev_stop(void *priv)
{
	struct testdev *t = priv;
	uint64_t one = 1;
	if (write(t->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		t->host->log(t->dev, MODVMM_LOG_ERROR, "cannot wake the doorbell thread: %s", strerror(errno));
}

/* The core's rule for devmem segment names (see plugin.h, devmem_create). */
static bool segment_name_ok(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > 64 || n[0] == '.')
		return false;
	return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

static int testdev_validate(const struct modvmm_check_ops *chk, struct modvmm_check *c)
{
	int ret = 0;
	uint64_t size = 0;
	if (chk->config_u64(c, "devmem_size", &size) == 0 && (size & (size - 1))) {
		chk->error(c, "devmem_size", "must be a power of two of at least 4K");
		ret = -EINVAL;
	}
	const char *seg = chk->config_str(c, "segment");
	if (seg && *seg && !segment_name_ok(seg)) {
		chk->error(c, "segment", "1-64 letters, digits, '.', '_' or '-', not starting with '.'");
		ret = -EINVAL;
	}
	return ret;
}

static const struct modvmm_key keys[] = {
	{ .name = "slot", .type = MODVMM_KEY_PCI_SLOT,
	  .help = "PCI slot on bus 0, \"S\" or \"S.F\" (default: the next free slot)" },
	{ .name = "devmem_size", .type = MODVMM_KEY_SIZE, .def = "64K",
	  .help = "size of the devmem segment behind BAR2, a power of two", .range = "4K-1T" },
	{ .name = "kick_thread", .type = MODVMM_KEY_BOOL, .def = "true",
	  .help = "count doorbell kicks in a worker thread as they come (false: only when a KICKS register is read)" },
	{ .name = "segment", .type = MODVMM_KEY_STRING,
	  .help = "devmem segment name, exported as /dev/shm/modvmm/VM/NAME (default: the instance name)" },
	{ 0 },
};

MODVMM_PLUGIN_DEFINE = {
	.abi_major = MODVMM_ABI_MAJOR,
	.abi_minor = MODVMM_ABI_MINOR,
	.size = sizeof(struct modvmm_plugin),
	.kind = MODVMM_KIND_DEVICE,
	.name = "pci-testdev",
	.description = "PCI test device: trapped I/O and MMIO BARs, devmem BAR, ioeventfd doorbells, MSI-X",
	.keys = keys,
	.create = testdev_create,
	.start = testdev_start,
	.stop = testdev_stop,
	.destroy = testdev_destroy,
	.validate = testdev_validate,
};
