/* SPDX-License-Identifier: MIT */
/* The host services of plugin ABI 2: the table handed to every create(). */
#include "plugin/host.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/acpi_vm.h"
#include "ctl/vmctl.h"
#include "config/config.h"
#include "config/schema.h"
#include "log.h"
#include "mem/devmem.h"
#include "pci/pci.h"
#include "pci/pci_vm.h"
#include "plugin/dev.h"
#include "vm/kvmops.h"
#include "vm/vm.h"

static void host_log(struct modvmm_dev *dev, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, dev ? dev_label(dev) : NULL, fmt, ap);
	va_end(ap);
}

static const char *host_config_str(struct modvmm_dev *dev, const char *key)
{
	return config_value(dev->sec, key);
}

static int host_config_u64(struct modvmm_dev *dev, const char *key, uint64_t *out)
{
	return config_u64(dev->sec, key, out);
}

static int host_config_bool(struct modvmm_dev *dev, const char *key, bool *out)
{
	const char *v = config_value(dev->sec, key);
	return v ? schema_parse_bool(v, out) : -ENOENT;
}

static const char *host_instance_name(struct modvmm_dev *dev)
{
	return dev->sec->name;
}

static const char *host_vm_name(struct modvmm_dev *dev)
{
	return dev->vm->cfg->vm.name;
}

static void *host_gpa_to_hva(struct modvmm_dev *dev, uint64_t gpa, uint64_t len)
{
	return mem_gpa_to_hva(&dev->vm->mem, gpa, len);
}

static int host_mem_regions(struct modvmm_dev *dev, struct modvmm_mem_region *out, unsigned max)
{
	const struct guest_mem *m = &dev->vm->mem;
	for (unsigned i = 0; i < m->nregions && i < max; i++)
		out[i] = (struct modvmm_mem_region){
			.gpa = m->region[i].gpa, .size = m->region[i].size, .hva = m->region[i].hva,
			.fd = m->fd, .fd_offset = m->region[i].fd_offset,
		};
	return (int)m->nregions;
}

static struct iobus *bus_of(struct vm *vm, enum modvmm_io_space space)
{
	return space == MODVMM_IO_PIO ? &vm->pio : &vm->mmio;
}

static int host_io_register(struct modvmm_dev *dev, enum modvmm_io_space space, uint64_t base, uint64_t len,
                            const struct modvmm_io_ops *ops, void *opaque, struct modvmm_io **out)
{
	if (space != MODVMM_IO_PIO && space != MODVMM_IO_MMIO)
		return -EINVAL;
	if (space == MODVMM_IO_PIO && (base > 0xffff || len > 0x10000 - base))
		return -EINVAL;
	struct modvmm_io *io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	struct io_range conflict;
	int64_t id = iobus_add(bus_of(dev->vm, space), base, len, ops, opaque, &conflict);
	if (id < 0) {
		if (id == -EEXIST)
			host_log(dev, MODVMM_LOG_ERROR, "%s range 0x%llx-0x%llx overlaps 0x%llx-0x%llx already registered",
			         space == MODVMM_IO_PIO ? "port" : "MMIO", (unsigned long long)base,
			         (unsigned long long)(base + len - 1), (unsigned long long)conflict.base,
			         (unsigned long long)(conflict.base + conflict.len - 1));
		free(io);
		return (int)id;
	}
	*io = (struct modvmm_io){ .dev = dev, .space = space, .id = id };
	pthread_mutex_lock(&dev->lock);
	io->next = dev->ios;
	dev->ios = io;
	pthread_mutex_unlock(&dev->lock);
	if (out)
		*out = io;
	return 0;
}

void host_io_unregister(struct modvmm_dev *dev, struct modvmm_io *io)
{
	if (!io)
		return;
	pthread_mutex_lock(&dev->lock);
	for (struct modvmm_io **pp = &dev->ios; *pp; pp = &(*pp)->next) {
		if (*pp == io) {
			*pp = io->next;
			break;
		}
	}
	pthread_mutex_unlock(&dev->lock);
	iobus_remove(bus_of(dev->vm, io->space), io->id);
	free(io);
}

static int host_irq_line(struct modvmm_dev *dev, unsigned gsi, int level)
{
	if (gsi >= 32 || !(dev->irqs & (1u << gsi))) {
		if (!dev->irq_refused)
			pr_warn("%s: irq_line(%u) refused: the device claims no such line (an irq key)",
			        dev_label(dev), gsi);
		dev->irq_refused = true;
		return -EPERM;
	}
	return kvm_vm_ops.irq_line(dev->vm, gsi, level);
}

static void host_vm_exit(struct modvmm_dev *dev, int status)
{
	pr_info("%s: guest requested exit with status %d", dev_label(dev), status);
	if ((status & 0xff) >= EXIT_MODVMM_FIRST)
		pr_warn("%s: guest exit status %d lies in modvmm's own range %d-255: a caller cannot tell it "
		        "from a failure of modvmm", dev_label(dev), status & 0xff, EXIT_MODVMM_FIRST);
	vm_stop(dev->vm, status);
}

static int host_fd_watch(struct modvmm_dev *dev, int fd, uint32_t events, modvmm_fd_cb cb, void *opaque)
{
	return evloop_watch(&dev->vm->loop, fd, events, cb, opaque, dev);
}

static void host_fd_unwatch(struct modvmm_dev *dev, int fd)
{
	evloop_unwatch(&dev->vm->loop, fd);
}

static int host_thread_start(struct modvmm_dev *dev, const char *name, modvmm_thread_fn fn, void *arg)
{
	struct dev_thread *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int ret = pthread_create(&t->thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		free(t);
		return -ret;
	}
	if (name) {
		char n[16];
		snprintf(n, sizeof(n), "%s", name);
		pthread_setname_np(t->thread, n);
	}
	pthread_mutex_lock(&dev->lock);
	t->next = dev->threads;
	dev->threads = t;
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

static void *host_backend_get(struct modvmm_dev *dev, const char *key, const struct modvmm_plugin **plugin)
{
	const char *name = config_value(dev->sec, key);
	if (!name)
		return NULL;
	for (size_t i = 0; i < dev->vm->ndevs; i++) {
		struct modvmm_dev *b = dev->vm->devs[i];
		if (b->sec->kind == SECTION_BACKEND && !strcmp(b->sec->name, name) && b->created) {
			if (plugin)
				*plugin = b->plugin->desc;
			return b->priv;
		}
	}
	return NULL;
}

static void host_event(struct modvmm_dev *dev, const char *name, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	vmctl_event(dev->vm, name, json_pack("{s:s, s:s}", "device", dev_label(dev), "detail", detail));
}

const struct modvmm_host host_services = {
	.size = sizeof(struct modvmm_host),
	.abi_minor = MODVMM_ABI_MINOR,
	.log = host_log,
	.config_str = host_config_str,
	.config_u64 = host_config_u64,
	.config_bool = host_config_bool,
	.instance_name = host_instance_name,
	.vm_name = host_vm_name,
	.gpa_to_hva = host_gpa_to_hva,
	.mem_regions = host_mem_regions,
	.io_register = host_io_register,
	.io_unregister = host_io_unregister,
	.irq_line = host_irq_line,
	.vm_exit = host_vm_exit,
	.fd_watch = host_fd_watch,
	.fd_unwatch = host_fd_unwatch,
	.thread_start = host_thread_start,
	.backend_get = host_backend_get,
	.pci_register = pci_register,
	.pci_bar = pci_bar_add,
	.pci_cap_add = pci_cap_add,
	.pci_config_read = pci_config_read,
	.pci_config_write = pci_config_write,
	.pci_bar_addr = pci_bar_addr,
	.pci_doorbell = pci_doorbell_add,
	.pci_msix_init = pci_msix_init,
	.pci_msix_fd = pci_msix_fd,
	.pci_msix_notify = pci_msix_notify,
	.pci_intx = pci_intx,
	.pci_intx_fds = pci_intx_fds,
	.devmem_create = devmem_create,
	.acpi_node = acpi_vm_node,
	.event = host_event,
	.backend_new = dev_backend_new,
	.backend_free = dev_backend_free,
	.pci_msi_vector = pci_msi_vector,
	.pci_reset = pci_reset,
};
