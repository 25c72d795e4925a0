/* SPDX-License-Identifier: MIT */
/* A running VM: KVM VM fd, RAM, buses, event loop, vCPUs and plugin instances. */
#ifndef MODVMM_VM_H
#define MODVMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <modvmm/plugin.h>

#include "acpi/acpi_vm.h"
#include "boot/boot.h"
#include "config/config.h"
#include "vm/evloop.h"
#include "vm/iobus.h"
#include "plugin/loader.h"
#include "mem/mem.h"

#include "exitcode.h"

/* Fixed guest-physical addresses KVM needs on Intel (below the IOAPIC/LAPIC area). */
#define KVM_IDENTITY_MAP_GPA 0xFEFFC000ULL  /* one page */
#define KVM_TSS_GPA          0xFEFFD000ULL  /* three pages */

#define VM_MAX_MEMSLOTS 256

struct vcpu;
struct pci_bus;
struct devmem_dir;
struct vmctl;

struct vm {
	struct config *cfg;
	struct plugin_set *plugins;
	int kvm_fd;
	int vm_fd;
	int run_mmap_size;
	struct kvm_cpuid2 *cpuid;        /* KVM_GET_SUPPORTED_CPUID */
	struct guest_mem mem;
	struct iobus pio;
	struct iobus mmio;
	struct evloop loop;
	struct boot_entry boot;
	struct vcpu *vcpus;
	unsigned nvcpus;
	struct modvmm_dev **devs;        /* backends first, then devices, in INI order */
	size_t ndevs;
	struct pci_bus *pci;             /* NULL until the PCI bus is created */
	struct devmem_dir *devmem;       /* devmem segments exported under rundir */
	struct acpi_nodes acpi;          /* device nodes for the DSDT */
	pthread_mutex_t slot_lock;
	uint8_t slot_used[VM_MAX_MEMSLOTS];
	atomic_bool stopping;
	pthread_mutex_t stop_lock;
	int exit_status;
	char rundir[256];                /* runtime folder for exported devmem, "" if none */

	/* pause (vm_pause, vm_resume: main thread) */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;       /* parked vCPUs wait here; vm_pause waits for them */
	atomic_bool pause_req;
	unsigned parked;                 /* vCPU threads parked, under pause_lock */
	struct vmctl *ctl;               /* the control socket, NULL without one */
	uint64_t start_ns;               /* CLOCK_MONOTONIC at vm_run */
};

/* Build everything from a validated config; returns 0 or -errno (messages printed). */
int vm_create(struct vm *vm, struct config *cfg, struct plugin_set *plugins);
/* Run until the guest powers off, exits, fails, or a signal arrives; returns the exit status. */
int vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Request the VM to stop with `status` (first request wins). Any thread. */
void vm_stop(struct vm *vm, int status);

/* Park every vCPU thread outside KVM_RUN (the guest stops making progress;
 * device threads keep running).  Main thread.  0, or -ETIMEDOUT when some vCPU
 * did not park within a few seconds (the request stays: it parks later). */
int vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
bool vm_paused(struct vm *vm);

/* Memory slots: returns a free slot number or -ENOSPC. */
int vm_memslot_alloc(struct vm *vm);
void vm_memslot_free(struct vm *vm, int slot);
/* Map (size != 0) or unmap (size == 0) a memslot. */
int vm_memslot_set(struct vm *vm, int slot, uint64_t gpa, uint64_t size, void *hva, bool readonly);

#endif
