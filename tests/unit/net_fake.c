/* SPDX-License-Identifier: MIT */
#include "net_fake.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define FAKE(dev) ((struct fake_host *)(dev))

static void f_log(struct modvmm_dev *dev, int level, const char *fmt, ...)
{
	struct fake_host *f = FAKE(dev);
	size_t used = strlen(f->log);
	va_list ap;
	va_start(ap, fmt);
	if (used + 2 < sizeof(f->log)) {
		vsnprintf(f->log + used, sizeof(f->log) - used - 1, fmt, ap);
		strcat(f->log, "\n");
	}
	va_end(ap);
	if (level == MODVMM_LOG_ERROR)
		f->errors++;
}

static const char *f_config_str(struct modvmm_dev *dev, const char *key)
{
	struct fake_host *f = FAKE(dev);
	for (unsigned i = 0; i < FAKE_MAX_KEYS && f->keys[i][0]; i++)
		if (!strcmp(f->keys[i][0], key))
			return f->keys[i][1];
	return NULL;
}

static int f_config_u64(struct modvmm_dev *dev, const char *key, uint64_t *out)
{
	const char *v = f_config_str(dev, key);
	if (!v)
		return -ENOENT;
	char *end;
	*out = strtoull(v, &end, 0);
	switch (*end) {
	case 'K': *out <<= 10; break;
	case 'M': *out <<= 20; break;
	case 'G': *out <<= 30; break;
	}
	return 0;
}

static int f_config_bool(struct modvmm_dev *dev, const char *key, bool *out)
{
	const char *v = f_config_str(dev, key);
	if (!v)
		return -ENOENT;
	*out = !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "on");
	return 0;
}

static const char *f_instance_name(struct modvmm_dev *dev)
{
	return "net-under-test";
}

static const char *f_vm_name(struct modvmm_dev *dev)
{
	return "unit";
}

static void *f_gpa_to_hva(struct modvmm_dev *dev, uint64_t gpa, uint64_t len)
{
	struct fake_host *f = FAKE(dev);
	if (len == 0)
		len = 1;
	if (gpa >= f->ram_size || len > f->ram_size - gpa)
		return NULL;
	return f->ram + gpa;
}

static int f_fd_watch(struct modvmm_dev *dev, int fd, uint32_t events, modvmm_fd_cb cb, void *opaque)
{
	struct fake_host *f = FAKE(dev);
	if (f->nwatch == sizeof(f->watch) / sizeof(f->watch[0]))
		return -ENOSPC;
	f->watch[f->nwatch].fd = fd;
	f->watch[f->nwatch].cb = cb;
	f->watch[f->nwatch].opaque = opaque;
	f->nwatch++;
	return 0;
}

static void f_fd_unwatch(struct modvmm_dev *dev, int fd)
{
	struct fake_host *f = FAKE(dev);
	for (unsigned i = 0; i < f->nwatch; i++)
		if (f->watch[i].fd == fd)
			f->watch[i] = f->watch[--f->nwatch];
}

unsigned fake_run_watches(struct fake_host *f, int timeout_ms)
{
	struct pollfd p[8];
	for (unsigned i = 0; i < f->nwatch; i++)
		p[i] = (struct pollfd){ .fd = f->watch[i].fd, .events = POLLIN };
	if (poll(p, f->nwatch, timeout_ms) <= 0)
		return 0;
	unsigned ran = 0;
	for (unsigned i = 0; i < f->nwatch; i++)
		if (p[i].revents) {
			f->watch[i].cb(f->watch[i].opaque, p[i].fd, p[i].revents);
			ran++;
		}
	return ran;
}

static int f_thread_start(struct modvmm_dev *dev, const char *name, modvmm_thread_fn fn, void *arg)
{
	struct fake_host *f = FAKE(dev);
	if (f->nthreads == FAKE_MAX_THREADS)
		return -EAGAIN;
	int ret = pthread_create(&f->threads[f->nthreads], NULL, fn, arg);
	if (ret)
		return -ret;
	f->nthreads++;
	return 0;
}

static void *f_backend_get(struct modvmm_dev *dev, const char *key, const struct modvmm_plugin **plugin)
{
	struct fake_host *f = FAKE(dev);
	if (!f_config_str(dev, key) || !f->backend_desc)
		return NULL;
	*plugin = f->backend_desc;
	return f->backend_priv;
}

/* ---- PCI ------------------------------------------------------------------- */

#define FAKE_PCI(pci) ((struct fake_host *)(pci))
#define CAP_START 0x40
#define CAP_PTR 0x34
#define MSIX_CAP_ID 0x11

static int f_pci_register(struct modvmm_dev *dev, const struct modvmm_pci_id *id,
                          const struct modvmm_pci_cfg_ops *cfg_ops, void *opaque, struct modvmm_pci **out)
{
	struct fake_host *f = FAKE(dev);
	f->pci_registered = true;
	f->pci_id = *id;
	f->cfg_ops = cfg_ops;
	f->cfg_opaque = opaque;
	*out = (struct modvmm_pci *)f;
	return 0;
}

static int f_pci_bar(struct modvmm_pci *pci, unsigned idx, const struct modvmm_bar *bar)
{
	struct fake_host *f = FAKE_PCI(pci);
	if (idx >= 6)
		return -EINVAL;
	f->bars[idx] = *bar;
	return 0;
}

static int f_pci_cap_add(struct modvmm_pci *pci, uint8_t cap_id, const void *body, unsigned len,
                         unsigned *offset)
{
	struct fake_host *f = FAKE_PCI(pci);
	if (f->ncaps == FAKE_MAX_CAPS || len > sizeof(f->caps[0].body))
		return -ENOSPC;
	unsigned off = CAP_START;
	for (unsigned i = 0; i < f->ncaps; i++)
		off = f->caps[i].offset + ((f->caps[i].len + 2 + 3) & ~3u);
	if (off + 2 + len > FAKE_CFG_SIZE)
		return -ENOSPC;
	struct fake_cap *c = &f->caps[f->ncaps++];
	f->cfg[f->last_cap ? f->last_cap + 1 : CAP_PTR] = (uint8_t)off; /* link the list */
	f->last_cap = off;
	c->id = cap_id;
	memcpy(c->body, body, len);
	c->len = len;
	c->offset = off;
	f->cfg[off] = cap_id;
	memcpy(f->cfg + off + 2, body, len);
	*offset = off;
	return 0;
}

static uint32_t f_pci_config_read(struct modvmm_pci *pci, unsigned offset, unsigned size)
{
	struct fake_host *f = FAKE_PCI(pci);
	uint32_t v = 0;
	if (offset + size <= FAKE_CFG_SIZE)
		memcpy(&v, f->cfg + offset, size);
	return v;
}

static void f_pci_config_write(struct modvmm_pci *pci, unsigned offset, unsigned size, uint32_t v)
{
	struct fake_host *f = FAKE_PCI(pci);
	if (offset + size <= FAKE_CFG_SIZE)
		memcpy(f->cfg + offset, &v, size);
}

static uint64_t f_pci_bar_addr(struct modvmm_pci *pci, unsigned idx)
{
	return 0xc0000000ull + idx * 0x100000ull;
}

static int f_pci_doorbell(struct modvmm_pci *pci, unsigned bar, uint64_t offset, unsigned len, bool match,
                          uint64_t data, modvmm_doorbell_cb cb, void *opaque, int *fd)
{
	struct fake_host *f = FAKE_PCI(pci);
	if (f->nbells == FAKE_MAX_BELLS)
		return -ENOSPC;
	struct fake_bell *b = &f->bells[f->nbells++];
	*b = (struct fake_bell){ .bar = bar, .offset = offset, .fd = -1, .cb = cb, .opaque = opaque };
	if (!cb) {
		b->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (b->fd < 0)
			return -errno;
		*fd = b->fd;
	}
	return 0;
}

static int f_pci_msix_init(struct modvmm_pci *pci, unsigned nvec, unsigned table_bar, uint64_t table_off,
                           unsigned pba_bar, uint64_t pba_off)
{
	struct fake_host *f = FAKE_PCI(pci);
	if (nvec > FAKE_MAX_VECS)
		return -EINVAL;
	f->msix_nvec = nvec;
	uint8_t body[10] = { (uint8_t)(nvec - 1), (uint8_t)((nvec - 1) >> 8) };
	unsigned off;
	int ret = f_pci_cap_add(pci, MSIX_CAP_ID, body, sizeof(body), &off);
	if (ret)
		return ret;
	for (unsigned i = 0; i < nvec; i++) {
		f->msix_fd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (f->msix_fd[i] < 0)
			return -errno;
	}
	return 0;
}

static int f_pci_msix_fd(struct modvmm_pci *pci, unsigned vec)
{
	struct fake_host *f = FAKE_PCI(pci);
	return vec < f->msix_nvec ? f->msix_fd[vec] : -EINVAL;
}

static int f_pci_msix_notify(struct modvmm_pci *pci, unsigned vec)
{
	struct fake_host *f = FAKE_PCI(pci);
	if (vec >= f->msix_nvec)
		return -EINVAL;
	__atomic_add_fetch(&f->msix_notified[vec], 1, __ATOMIC_RELAXED);
	return 0;
}

static int f_pci_intx(struct modvmm_pci *pci, int level)
{
	FAKE_PCI(pci)->intx = level;
	return 0;
}

void fake_init(struct fake_host *f, uint64_t ram_size, ...)
{
	memset(f, 0, sizeof(*f));
	f->host = (struct modvmm_host){
		.size = sizeof(struct modvmm_host),
		.abi_minor = MODVMM_ABI_MINOR,
		.log = f_log,
		.config_str = f_config_str,
		.config_u64 = f_config_u64,
		.config_bool = f_config_bool,
		.instance_name = f_instance_name,
		.vm_name = f_vm_name,
		.gpa_to_hva = f_gpa_to_hva,
		.thread_start = f_thread_start,
		.fd_watch = f_fd_watch,
		.fd_unwatch = f_fd_unwatch,
		.backend_get = f_backend_get,
		.pci_register = f_pci_register,
		.pci_bar = f_pci_bar,
		.pci_cap_add = f_pci_cap_add,
		.pci_config_read = f_pci_config_read,
		.pci_config_write = f_pci_config_write,
		.pci_bar_addr = f_pci_bar_addr,
		.pci_doorbell = f_pci_doorbell,
		.pci_msix_init = f_pci_msix_init,
		.pci_msix_fd = f_pci_msix_fd,
		.pci_msix_notify = f_pci_msix_notify,
		.pci_intx = f_pci_intx,
	};
	for (unsigned i = 0; i < FAKE_MAX_VECS; i++)
		f->msix_fd[i] = -1;
	if (ram_size) {
		f->ram = calloc(1, ram_size);
		f->ram_size = ram_size;
	}
	va_list ap;
	va_start(ap, ram_size);
	const char *k;
	while ((k = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);
		fake_set_key(f, k, v);
	}
	va_end(ap);
}

void fake_set_key(struct fake_host *f, const char *key, const char *value)
{
	unsigned i = 0;
	for (; i < FAKE_MAX_KEYS && f->keys[i][0]; i++)
		if (!strcmp(f->keys[i][0], key))
			break;
	if (i < FAKE_MAX_KEYS) {
		f->keys[i][0] = key;
		f->keys[i][1] = value;
	}
}

void fake_join_threads(struct fake_host *f)
{
	for (unsigned i = 0; i < f->nthreads; i++)
		pthread_join(f->threads[i], NULL);
	f->nthreads = 0;
}

void fake_free(struct fake_host *f)
{
	fake_join_threads(f);
	for (unsigned i = 0; i < f->nbells; i++)
		if (f->bells[i].fd >= 0)
			close(f->bells[i].fd);
	for (unsigned i = 0; i < f->msix_nvec; i++)
		if (f->msix_fd[i] >= 0)
			close(f->msix_fd[i]);
	free(f->ram);
	f->ram = NULL;
}

uint32_t fake_cfg_read(struct fake_host *f, unsigned off, unsigned size)
{
	uint32_t v = 0;
	if (off >= CAP_START && f->cfg_ops && f->cfg_ops->read && f->cfg_ops->read(f->cfg_opaque, off, size, &v) != -ENOENT)
		return v;
	return f_pci_config_read((struct modvmm_pci *)f, off, size);
}

void fake_cfg_write(struct fake_host *f, unsigned off, unsigned size, uint32_t v)
{
	if (off >= CAP_START && f->cfg_ops && f->cfg_ops->write && f->cfg_ops->write(f->cfg_opaque, off, size, v) != -ENOENT)
		return;
	f_pci_config_write((struct modvmm_pci *)f, off, size, v);
}

uint64_t fake_efd_read(int fd)
{
	uint64_t v = 0;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

bool fake_poll(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	return poll(&p, 1, timeout_ms) == 1 && (p.revents & events);
}
