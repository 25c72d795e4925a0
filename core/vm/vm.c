/* SPDX-License-Identifier: MIT */
#include "vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "acpi/acpi_vm.h"
#include "ctl/vmctl.h"
#include "plugin/dev.h"
#include "vm/kvm_help.h"
#include "log.h"
#include "mem/memmap.h"
#include "pci/pci_vm.h"
#include "vm/irqstate.h"
#include "vm/vcpu.h"

#define KVM_API_VERSION_EXPECTED 12
#define CPUID_MAX_ENTRIES 256

static int vm_err(const char *what, int e)
{
	pr_err("%s: %s", what, strerror(-e));
	return e;
}

static int kvm_open(struct vm *vm)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = -errno;
		kvm_explain_open_error(-err);
		return err;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION_EXPECTED)
		return vm_err("/dev/kvm: unexpected KVM API version", -ENOTSUP);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return vm_err("KVM_CREATE_VM", -errno);
	vm->run_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_mmap_size <= 0)
		return vm_err("KVM_GET_VCPU_MMAP_SIZE", -errno);
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_GPA))
		return vm_err("KVM_SET_TSS_ADDR", -errno);
	uint64_t idmap = KVM_IDENTITY_MAP_GPA;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap))
		return vm_err("KVM_SET_IDENTITY_MAP_ADDR", -errno);
	vm->cpuid = calloc(1, sizeof(*vm->cpuid) + CPUID_MAX_ENTRIES * sizeof(vm->cpuid->entries[0]));
	if (!vm->cpuid)
		return -ENOMEM;
	vm->cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid))
		return vm_err("KVM_GET_SUPPORTED_CPUID", -errno);
	return 0;
}

int vm_memslot_alloc(struct vm *vm)
{
	pthread_mutex_lock(&vm->slot_lock);
	int slot = -ENOSPC;
	for (int i = 0; i < VM_MAX_MEMSLOTS; i++) {
		if (!vm->slot_used[i]) {
			vm->slot_used[i] = 1;
			slot = i;
			break;
		}
	}
	pthread_mutex_unlock(&vm->slot_lock);
	return slot;
}

void vm_memslot_free(struct vm *vm, int slot)
{
	if (slot < 0 || slot >= VM_MAX_MEMSLOTS)
		return;
	pthread_mutex_lock(&vm->slot_lock);
	vm->slot_used[slot] = 0;
	pthread_mutex_unlock(&vm->slot_lock);
}

int vm_memslot_set(struct vm *vm, int slot, uint64_t gpa, uint64_t size, void *hva, bool readonly)
{
	struct kvm_userspace_memory_region r = {
		.slot = (uint32_t)slot,
		.flags = readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};
	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) ? -errno : 0;
}

/* After map_ram(): on these (nested) hosts the first memslot change after
 * KVM_CREATE_IRQCHIP costs 6-10 ms, the same change before it 0.1 ms. */
static int create_irqchip(struct vm *vm)
{
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0))
		return vm_err("KVM_CREATE_IRQCHIP", -errno);
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit))
		return vm_err("KVM_CREATE_PIT2", -errno);
	return 0;
}

static int map_ram(struct vm *vm)
{
	for (unsigned i = 0; i < vm->mem.nregions; i++) {
		const struct mem_region *r = &vm->mem.region[i];
		int slot = vm_memslot_alloc(vm);
		if (slot < 0)
			return slot;
		int ret = vm_memslot_set(vm, slot, r->gpa, r->size, r->hva, false);
		if (ret)
			return vm_err("KVM_SET_USER_MEMORY_REGION", ret);
	}
	return 0;
}

/* Backends first (devices look them up in create()), then devices, in INI order. */
static int create_devices(struct vm *vm)
{
	const struct config *cfg = vm->cfg;
	vm->devs = calloc(cfg->nsections, sizeof(*vm->devs));
	if (!vm->devs)
		return -ENOMEM;
	for (int pass = 0; pass < 2; pass++) {
		enum section_kind want = pass == 0 ? SECTION_BACKEND : SECTION_DEVICE;
		for (size_t i = 0; i < cfg->nsections; i++) {
			const struct cfg_section *s = &cfg->sections[i];
			if (s->kind != want)
				continue;
			int ret = dev_create(vm, s, &vm->devs[vm->ndevs]);
			if (vm->devs[vm->ndevs])
				vm->ndevs++;
			if (ret)
				return ret;
			pr_info("created %s '%s' (plugin %s)", want == SECTION_BACKEND ? "backend" : "device", s->name,
			        s->plugin->desc->name);
		}
	}
	return 0;
}

int vm_create(struct vm *vm, struct config *cfg, struct plugin_set *plugins)
{
	*vm = (struct vm){ .cfg = cfg, .plugins = plugins, .kvm_fd = -1, .vm_fd = -1, .mem.fd = -1 };
	pthread_mutex_init(&vm->slot_lock, NULL);
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	iobus_init(&vm->pio, "pio");
	iobus_init(&vm->mmio, "mmio");
	vcpu_signals_init();
	int ret = evloop_init(&vm->loop);
	if (ret)
		return vm_err("event loop", ret);
	if ((ret = kvm_open(vm)))
		return ret;
	if ((ret = mem_init(&vm->mem, cfg->vm.memory, cfg->vm.hugepages)))
		return vm_err("guest memory", ret);
	if ((ret = map_ram(vm)) || (ret = create_irqchip(vm)))
		return ret;
	pr_info("guest RAM: %llu MiB in %u region(s)", (unsigned long long)(vm->mem.total >> 20), vm->mem.nregions);
	if ((ret = pci_vm_init(vm)))
		return vm_err("PCI bus", ret);

	char err[1024];
	struct boot_request req = { .kernel = cfg->vm.kernel, .cmdline = cfg->vm.cmdline,
	                            .initrd = cfg->vm.initrd, .vcpus = cfg->vm.vcpus,
	                            .rsdp = ACPI_RSDP_GPA };
	if ((ret = boot_load(&vm->mem, &req, &vm->boot, err, sizeof(err)))) {
		pr_err("%s", err);
		return ret;
	}
	pr_info("kernel %s: entry 0x%llx", cfg->vm.kernel, (unsigned long long)vm->boot.rip);
	memmap_print(&vm->mem);

	vm->vcpus = calloc(cfg->vm.vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < cfg->vm.vcpus; i++) {
		vm->nvcpus = cfg->vm.vcpus;
		if ((ret = vcpu_create(vm, i, &vm->vcpus[i]))) {
			vm->nvcpus = i + 1;
			return vm_err("creating vCPU", ret);
		}
	}
	if ((ret = vcpu_set_boot_state(&vm->vcpus[0], &vm->boot)))
		return vm_err("setting boot registers", ret);
	if ((ret = create_devices(vm)))
		return ret;
	if ((ret = acpi_vm_setup(vm)))   /* after the devices: they describe their ACPI nodes */
		return ret;
	pci_vm_print(vm);
	return 0;
}

void vm_stop(struct vm *vm, int status)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (!atomic_load(&vm->stopping)) {
		vm->exit_status = status;
		atomic_store(&vm->stopping, true);
		evloop_stop(&vm->loop);
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

#define PAUSE_WAIT_S 5   /* a vCPU leaves KVM_RUN within microseconds of its kick */

int vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_req, true);
	pthread_mutex_unlock(&vm->pause_lock);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PAUSE_WAIT_S;
	int ret = 0;
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->parked < vm->nvcpus && !atomic_load(&vm->stopping) && ret == 0)
		ret = pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &until);
	pthread_mutex_unlock(&vm->pause_lock);
	return ret ? -ret : 0;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_req, false);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

bool vm_paused(struct vm *vm)
{
	return atomic_load(&vm->pause_req);
}

static void wake_parked(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

int vm_run(struct vm *vm)
{
	int ret = 0;
	size_t started = 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	vm->start_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	for (; started < vm->ndevs && !ret; started++)
		ret = dev_start(vm->devs[started]);
	if (!ret)
		ret = vmctl_open(vm);
	for (unsigned i = 0; i < vm->nvcpus && !ret; i++)
		if ((ret = vcpu_start(&vm->vcpus[i])))
			vm_err("starting vCPU thread", ret);
	if (ret)
		vm_stop(vm, EXIT_START);
	else
		evloop_run(&vm->loop);
	if (vm->loop.signal) {
		pr_warn("terminating on signal %d (%s)", vm->loop.signal, strsignal(vm->loop.signal));
		vm_stop(vm, 0);
	}
	atomic_store(&vm->stopping, true);
	wake_parked(vm);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_join(&vm->vcpus[i]);
	if (vm->loop.signal)
		vm_dump_irq_state(vm);
	vmctl_event(vm, "stopped", json_pack("{s:i}", "status", vm->exit_status));
	for (size_t i = vm->ndevs; i-- > 0;)
		dev_stop(vm->devs[i]);
	return vm->exit_status;
}

void vm_destroy(struct vm *vm)
{
	vmctl_close(vm);
	for (size_t i = vm->ndevs; i-- > 0;)
		dev_destroy(vm->devs[i]);
	free(vm->devs);
	pci_vm_destroy(vm);     /* BAR memslots, irqfds, doorbells, devmem files */
	acpi_vm_destroy(vm);
	for (unsigned i = 0; vm->vcpus && i < vm->nvcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	free(vm->cpuid);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	mem_free(&vm->mem);
	iobus_destroy(&vm->pio);
	iobus_destroy(&vm->mmio);
	evloop_destroy(&vm->loop);
	pthread_mutex_destroy(&vm->slot_lock);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_mutex_destroy(&vm->pause_lock);
	pthread_cond_destroy(&vm->pause_cond);
}
