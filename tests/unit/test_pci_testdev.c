/* SPDX-License-Identifier: MIT */
/* pci-testdev against a fake host-services table: registers, counters, doorbell
 * kicks, MSI-X triggers, odd-sized accesses, configuration refusals. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <modvmm/plugin.h>

#include "pci-testdev-regs.h"

extern const struct modvmm_plugin modvmm_plugin;

/* What the fake host saw. */
static struct fake {
	const char *devmem_size;
	const char *segment;
	bool no_thread;
	bool no_pci;
	struct modvmm_bar bars[6];
	char seg_name[64];
	void *devmem;
	uint64_t devmem_len;
	int bell_fd[6];
	unsigned msix_nvec, msix_table_bar;
	uint64_t msix_table_off, msix_pba_off;
	int notified[8], fd_raised[8];
	int msix_fd[8];
	int intx;
	pthread_t thread;
	bool thread_running;
	int errors;
} f;

static void h_log(struct modvmm_dev *dev, int level, const char *fmt, ...)
{
	if (level == MODVMM_LOG_ERROR)
		f.errors++;
}

static const char *h_config_str(struct modvmm_dev *dev, const char *key)
{
	if (!strcmp(key, "segment"))
		return f.segment;
	if (!strcmp(key, "devmem_size"))
		return f.devmem_size;
	return NULL;
}

static int h_config_u64(struct modvmm_dev *dev, const char *key, uint64_t *out)
{
	const char *v = h_config_str(dev, key);
	if (!v)
		return -ENOENT;
	char *end;
	*out = strtoull(v, &end, 0);
	if (*end == 'K')
		*out <<= 10;
	return 0;
}

static int h_config_bool(struct modvmm_dev *dev, const char *key, bool *out)
{
	if (strcmp(key, "kick_thread"))
		return -ENOENT;
	*out = !f.no_thread;
	return 0;
}

static const char *h_instance_name(struct modvmm_dev *dev)
{
	return "td0";
}

static int h_thread_start(struct modvmm_dev *dev, const char *name, modvmm_thread_fn fn, void *arg)
{
	int ret = pthread_create(&f.thread, NULL, fn, arg);
	f.thread_running = !ret;
	return -ret;
}

static int h_pci_register(struct modvmm_dev *dev, const struct modvmm_pci_id *id,
                          const struct modvmm_pci_cfg_ops *cfg_ops, void *opaque, struct modvmm_pci **out)
{
	assert_int_equal(id->vendor, TESTDEV_VENDOR_ID);
	assert_int_equal(id->device, TESTDEV_DEVICE_ID);
	*out = (struct modvmm_pci *)&f;
	return 0;
}

static int h_pci_bar(struct modvmm_pci *pci, unsigned idx, const struct modvmm_bar *bar)
{
	assert_true(idx < 6);
	f.bars[idx] = *bar;
	return 0;
}

static int h_pci_doorbell(struct modvmm_pci *pci, unsigned bar, uint64_t offset, unsigned len, bool match,
                          uint64_t data, modvmm_doorbell_cb cb, void *opaque, int *fd)
{
	assert_null(cb);
	assert_int_equal(offset, TESTDEV_DOORBELL);
	f.bell_fd[bar] = eventfd(0, 0);
	*fd = f.bell_fd[bar];
	return *fd < 0 ? -errno : 0;
}

static int h_pci_msix_init(struct modvmm_pci *pci, unsigned nvec, unsigned table_bar, uint64_t table_off,
                           unsigned pba_bar, uint64_t pba_off)
{
	f.msix_nvec = nvec;
	f.msix_table_bar = table_bar;
	f.msix_table_off = table_off;
	f.msix_pba_off = pba_off;
	return 0;
}

static int h_pci_msix_fd(struct modvmm_pci *pci, unsigned vec)
{
	assert_true(vec < f.msix_nvec);
	if (f.msix_fd[vec] < 0)
		f.msix_fd[vec] = eventfd(0, EFD_NONBLOCK);
	return f.msix_fd[vec];
}

static int h_pci_msix_notify(struct modvmm_pci *pci, unsigned vec)
{
	assert_true(vec < f.msix_nvec);
	f.notified[vec]++;
	return 0;
}

static int h_pci_intx(struct modvmm_pci *pci, int level)
{
	f.intx = level;
	return 0;
}

static int h_devmem_create(struct modvmm_dev *dev, const char *name, uint64_t size,
                           struct modvmm_devmem **out, void **hva)
{
	snprintf(f.seg_name, sizeof(f.seg_name), "%s", name);
	f.devmem = aligned_alloc(4096, size);
	f.devmem_len = size;
	*out = (struct modvmm_devmem *)f.devmem;
	*hva = f.devmem;
	return f.devmem ? 0 : -ENOMEM;
}

static struct modvmm_host host = {
	.size = sizeof(struct modvmm_host),
	.abi_minor = MODVMM_ABI_MINOR,
	.log = h_log,
	.config_str = h_config_str,
	.config_u64 = h_config_u64,
	.config_bool = h_config_bool,
	.instance_name = h_instance_name,
	.thread_start = h_thread_start,
	.pci_register = h_pci_register,
	.pci_bar = h_pci_bar,
	.pci_doorbell = h_pci_doorbell,
	.pci_msix_init = h_pci_msix_init,
	.pci_msix_fd = h_pci_msix_fd,
	.pci_msix_notify = h_pci_msix_notify,
	.pci_intx = h_pci_intx,
	.devmem_create = h_devmem_create,
};

static void fake_reset(void)
{
	memset(&f, 0, sizeof(f));
	f.devmem_size = "64K";
	for (int i = 0; i < 8; i++)
		f.msix_fd[i] = -1;
	for (int i = 0; i < 6; i++)
		f.bell_fd[i] = -1;
}

static void fake_free(void)
{
	for (int i = 0; i < 8; i++)
		if (f.msix_fd[i] >= 0)
			close(f.msix_fd[i]);
	for (int i = 0; i < 6; i++)
		if (f.bell_fd[i] >= 0)
			close(f.bell_fd[i]);
	free(f.devmem);
}

/* Create and start an instance; returns its private pointer. */
static void *up(void)
{
	void *priv = NULL;
	assert_int_equal(modvmm_plugin.create(&host, NULL, &priv), 0);
	assert_int_equal(modvmm_plugin.start(priv), 0);
	return priv;
}

static void down(void *priv)
{
	modvmm_plugin.stop(priv);
	if (f.thread_running)
		pthread_join(f.thread, NULL);
	modvmm_plugin.destroy(priv);
	fake_free();
}

static uint64_t rd(unsigned bar, uint64_t off, unsigned size)
{
	return f.bars[bar].ops->read(f.bars[bar].opaque, off, size);
}

static void wr(unsigned bar, uint64_t off, unsigned size, uint64_t v)
{
	f.bars[bar].ops->write(f.bars[bar].opaque, off, size, v);
}

static void layout(void **state)
{
	fake_reset();
	void *t = up();
	assert_int_equal(f.bars[0].type, MODVMM_BAR_IO);
	assert_int_equal(f.bars[0].size, TESTDEV_PIO_SIZE);
	assert_int_equal(f.bars[0].backing, MODVMM_BAR_TRAPPED);
	assert_int_equal(f.bars[1].type, MODVMM_BAR_MEM32);
	assert_int_equal(f.bars[1].size, TESTDEV_MMIO_SIZE);
	assert_int_equal(f.bars[2].type, MODVMM_BAR_MEM64);
	assert_int_equal(f.bars[2].flags, MODVMM_BAR_F_PREFETCH);
	assert_int_equal(f.bars[2].backing, MODVMM_BAR_DEVMEM);
	assert_int_equal(f.bars[2].size, 0x10000);
	assert_string_equal(f.seg_name, "td0");
	assert_int_equal(*(uint32_t *)f.devmem, TESTDEV_DEVMEM_MAGIC);
	assert_int_equal(f.msix_nvec, TESTDEV_MSIX_VECTORS);
	assert_int_equal(f.msix_table_bar, TESTDEV_BAR_MMIO);
	assert_int_equal(f.msix_table_off, TESTDEV_MSIX_TABLE_OFF);
	assert_int_equal(f.msix_pba_off, TESTDEV_MSIX_PBA_OFF);
	for (unsigned bar = 0; bar < 2; bar++) {
		assert_int_equal(rd(bar, TESTDEV_MAGIC, 4), TESTDEV_MAGIC_VALUE);
		assert_int_equal(rd(bar, TESTDEV_VERSION, 4), TESTDEV_VERSION_VALUE);
		assert_int_equal(rd(bar, TESTDEV_BAR_ID, 4), bar);
		assert_int_equal(rd(bar, TESTDEV_DEVMEM_SIZE, 4), 0x10000);
		assert_int_equal(rd(bar, TESTDEV_NVEC, 4), TESTDEV_MSIX_VECTORS);
	}
	down(t);
}

static void counters(void **state)
{
	fake_reset();
	f.segment = "seg";
	f.devmem_size = "0x2000";
	void *t = up();
	assert_string_equal(f.seg_name, "seg");
	assert_int_equal(f.bars[2].size, 0x2000);
	wr(0, TESTDEV_SCRATCH, 4, 0x12345678);
	assert_int_equal(rd(1, TESTDEV_SCRATCH, 4), 0x12345678);
	wr(1, TESTDEV_SCRATCH, 4, 0xcafe);
	wr(1, TESTDEV_SCRATCH, 2, 0xffff);          /* counted, no effect */
	wr(1, TESTDEV_SCRATCH + 1, 4, 0xffff);      /* unaligned: counted, no effect */
	assert_int_equal(rd(0, TESTDEV_SCRATCH, 4), 0xcafe);
	assert_int_equal(rd(0, TESTDEV_PIO_WRITES, 4), 1);
	assert_int_equal(rd(0, TESTDEV_MMIO_WRITES, 4), 3);
	/* doorbells: eventfd writes as KVM would do them */
	uint64_t n = 5;
	assert_int_equal(write(f.bell_fd[0], &n, sizeof(n)), sizeof(n));
	n = 7;
	assert_int_equal(write(f.bell_fd[1], &n, sizeof(n)), sizeof(n));
	assert_int_equal(rd(1, TESTDEV_PIO_KICKS, 4), 5);
	assert_int_equal(rd(0, TESTDEV_MMIO_KICKS, 4), 7);
	n = 1;
	assert_int_equal(write(f.bell_fd[0], &n, sizeof(n)), sizeof(n));
	assert_int_equal(rd(0, TESTDEV_PIO_KICKS, 4), 6);
	assert_int_equal(rd(0, TESTDEV_PIO_WRITES, 4), 1); /* reads do not count */
	wr(0, TESTDEV_RESET, 4, 1);
	assert_int_equal(rd(0, TESTDEV_PIO_WRITES, 4), 0);
	assert_int_equal(rd(0, TESTDEV_MMIO_WRITES, 4), 0);
	assert_int_equal(rd(0, TESTDEV_PIO_KICKS, 4), 0);
	assert_int_equal(rd(0, TESTDEV_MMIO_KICKS, 4), 0);
	down(t);
}

static void odd_accesses(void **state)
{
	fake_reset();
	void *t = up();
	/* bytes and words of the magic, an 8-byte read spanning two registers */
	assert_int_equal(rd(0, TESTDEV_MAGIC, 1), TESTDEV_MAGIC_VALUE & 0xff);
	assert_int_equal(rd(0, TESTDEV_MAGIC + 1, 2), (TESTDEV_MAGIC_VALUE >> 8) & 0xffff);
	assert_int_equal(rd(1, TESTDEV_MAGIC, 8),
	                 TESTDEV_MAGIC_VALUE | (uint64_t)TESTDEV_VERSION_VALUE << 32);
	/* past the registers, at the end of the BAR, oversized */
	assert_int_equal(rd(1, TESTDEV_REGS_SIZE, 4), 0);
	assert_int_equal(rd(0, TESTDEV_PIO_SIZE - 1, 4), 0);
	assert_int_equal(rd(1, UINT64_MAX, 8), 0);
	assert_int_equal(rd(1, 0, 16), TESTDEV_MAGIC_VALUE | (uint64_t)TESTDEV_VERSION_VALUE << 32);
	wr(1, UINT64_MAX - 3, 4, 1);
	wr(0, TESTDEV_DOORBELL, 4, 1); /* a trapped doorbell write (wrong path) only counts */
	assert_int_equal(rd(0, TESTDEV_DOORBELL, 4), 0);
	assert_int_equal(rd(0, TESTDEV_PIO_WRITES, 4), 1);
	assert_int_equal(rd(1, TESTDEV_MMIO_WRITES, 4), 1);
	down(t);
}

static void interrupts(void **state)
{
	fake_reset();
	void *t = up();
	wr(0, TESTDEV_MSIX_NOTIFY, 4, 2);
	wr(1, TESTDEV_MSIX_NOTIFY, 4, 3);
	assert_int_equal(f.notified[2], 1);
	assert_int_equal(f.notified[3], 1);
	wr(1, TESTDEV_MSIX_FD, 4, 1);
	uint64_t n = 0;
	assert_int_equal(read(f.msix_fd[1], &n, sizeof(n)), sizeof(n));
	assert_int_equal(n, 1);
	/* out of range: ignored (and must not reach the host) */
	wr(1, TESTDEV_MSIX_NOTIFY, 4, TESTDEV_MSIX_VECTORS);
	wr(1, TESTDEV_MSIX_FD, 4, 0xffffffff);
	wr(0, TESTDEV_INTX, 4, 1);
	assert_int_equal(f.intx, 1);
	wr(0, TESTDEV_INTX, 4, 0);
	assert_int_equal(f.intx, 0);
	down(t);
}

/* Without the worker thread, kicks are collected when a KICKS register is read. */
static void no_kick_thread(void **state)
{
	fake_reset();
	f.no_thread = true;
	void *t = up();
	assert_false(f.thread_running);
	uint64_t n = 3;
	assert_int_equal(write(f.bell_fd[1], &n, sizeof(n)), sizeof(n));
	assert_int_equal(rd(0, TESTDEV_MMIO_KICKS, 4), 3);
	assert_int_equal(write(f.bell_fd[1], &n, sizeof(n)), sizeof(n));
	wr(1, TESTDEV_RESET, 4, 0);
	assert_int_equal(rd(0, TESTDEV_MMIO_KICKS, 4), 0);
	assert_int_equal(rd(0, TESTDEV_MMIO_WRITES, 4), 0);
	down(t);
}

static void refusals(void **state)
{
	void *priv = NULL;
	fake_reset();
	f.devmem_size = "0x3000";
	assert_int_equal(modvmm_plugin.create(&host, NULL, &priv), -EINVAL);
	modvmm_plugin.destroy(priv);
	fake_free();

	fake_reset();
	f.devmem_size = "2048";
	priv = NULL;
	assert_int_equal(modvmm_plugin.create(&host, NULL, &priv), -EINVAL);
	modvmm_plugin.destroy(priv);
	fake_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layout),
		cmocka_unit_test(counters),
		cmocka_unit_test(odd_accesses),
		cmocka_unit_test(interrupts),
		cmocka_unit_test(no_kick_thread),
		cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
