/* SPDX-License-Identifier: MIT */
#include "vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot.h"
#include "log.h"
#include "schema.h"
#include "vm.h"

#define KICK_SIGNAL SIGUSR1

/* Flat segments for the PVH 32-bit entry (Xen PVH ABI: CS 32-bit code 0..4G,
 * DS/ES/SS flat data; x86 SDM vol. 3 §3.4.5 segment types). */
#define SEG_TYPE_CODE_RX_ACCESSED 0xb
#define SEG_TYPE_DATA_RW_ACCESSED 0x3
#define BOOT_CS 0x10
#define BOOT_DS 0x18
#define CR0_PE 0x1u
#define CR0_ET 0x10u
#define RFLAGS_RESERVED 0x2u

static void kick_handler(int sig)
{
	(void)sig;
}

void vcpu_signals_init(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigemptyset(&sa.sa_mask);
	sigaction(KICK_SIGNAL, &sa, NULL); /* no SA_RESTART: KVM_RUN returns EINTR */
}

/* Give each vCPU its APIC ID in CPUID (leaf 1 EBX[31:24], leaves 0xB/0x1F EDX). */
static int set_cpuid(struct vcpu *cpu)
{
	const struct kvm_cpuid2 *sup = cpu->vm->cpuid;
	size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	if (!c)
		return -ENOMEM;
	memcpy(c, sup, sz);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffffu) | (cpu->vm->nvcpus << 16) | (cpu->id << 24);
			e->ecx |= 1u << 31;                /* hypervisor present */
			if (cpu->vm->nvcpus > 1)
				e->edx |= 1u << 28;        /* HTT: EBX[23:16] is valid */
			break;
		case 0xb:
		case 0x1f:
			e->edx = cpu->id;
			break;
		}
	}
	int ret = ioctl(cpu->fd, KVM_SET_CPUID2, c) ? -errno : 0;
	free(c);
	return ret;
}

int vcpu_create(struct vm *vm, unsigned id, struct vcpu *cpu)
{
	*cpu = (struct vcpu){ .vm = vm, .id = id, .fd = -1 };
	cpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (cpu->fd < 0)
		return -errno;
	cpu->run = mmap(NULL, (size_t)vm->run_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu->fd, 0);
	if (cpu->run == MAP_FAILED) {
		int e = -errno;
		cpu->run = NULL;
		return e;
	}
	return set_cpuid(cpu);
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
}

int vcpu_set_boot_state(struct vcpu *cpu, const struct boot_entry *entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	if (ioctl(cpu->fd, KVM_GET_SREGS, &sregs))
		return -errno;
	if (entry->mode != BOOT_PVH32)
		return -ENOTSUP; /* other modes are added with their boot protocols */
	flat_segment(&sregs.cs, BOOT_CS, SEG_TYPE_CODE_RX_ACCESSED);
	flat_segment(&sregs.ds, BOOT_DS, SEG_TYPE_DATA_RW_ACCESSED);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = CR0_PE | CR0_ET;
	sregs.cr4 = 0;
	sregs.efer = 0;
	regs.rip = entry->rip;
	regs.rbx = entry->rbx;
	regs.rflags = RFLAGS_RESERVED;
	if (ioctl(cpu->fd, KVM_SET_SREGS, &sregs) || ioctl(cpu->fd, KVM_SET_REGS, &regs))
		return -errno;
	return 0;
}

void vcpu_dump(struct vcpu *cpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(cpu->fd, KVM_GET_REGS, &r) || ioctl(cpu->fd, KVM_GET_SREGS, &s)) {
		fprintf(stderr, "vcpu%u: cannot read registers: %s\n", cpu->id, strerror(errno));
		return;
	}
	fprintf(stderr,
	        "vcpu%u registers:\n"
	        " rip %016llx  rflags %016llx\n"
	        " rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx\n"
	        " rsi %016llx  rdi %016llx  rsp %016llx  rbp %016llx\n"
	        " r8  %016llx  r9  %016llx  r10 %016llx  r11 %016llx\n"
	        " r12 %016llx  r13 %016llx  r14 %016llx  r15 %016llx\n"
	        " cr0 %016llx  cr2 %016llx  cr3 %016llx  cr4 %016llx  efer %016llx\n"
	        " cs %04x (base %llx, l=%u db=%u dpl=%u)  ss %04x  ds %04x  tr %04x\n"
	        " gdt %llx/%x  idt %llx/%x\n",
	        cpu->id, r.rip, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rsp, r.rbp,
	        r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15,
	        s.cr0, s.cr2, s.cr3, s.cr4, s.efer,
	        s.cs.selector, s.cs.base, s.cs.l, s.cs.db, s.cs.dpl, s.ss.selector, s.ds.selector, s.tr.selector,
	        s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
}

static void handle_pio(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	unsigned size = run->io.size;
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		uint64_t v = 0;
		if (write)
			memcpy(&v, data, size);
		if (!iobus_access(&cpu->vm->pio, run->io.port, size, write, &v))
			pr_debug("vcpu%u: unclaimed port %s 0x%x (size %u)", cpu->id, write ? "write" : "read",
			         run->io.port, size);
		if (!write)
			memcpy(data, &v, size);
	}
}

static void handle_mmio(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	unsigned size = run->mmio.len;
	uint64_t v = 0;
	if (size == 0 || size > 8)
		return;
	if (run->mmio.is_write)
		memcpy(&v, run->mmio.data, size);
	if (!iobus_access(&cpu->vm->mmio, run->mmio.phys_addr, size, run->mmio.is_write, &v))
		pr_debug("vcpu%u: unclaimed MMIO %s 0x%llx (size %u)", cpu->id, run->mmio.is_write ? "write" : "read",
		         (unsigned long long)run->mmio.phys_addr, size);
	if (!run->mmio.is_write)
		memcpy(run->mmio.data, &v, size);
}

static void fail(struct vcpu *cpu, const char *what)
{
	pr_err("vcpu%u: %s; stopping the VM", cpu->id, what);
	vcpu_dump(cpu);
	vm_stop(cpu->vm, EXIT_VM_FAILURE);
}

/* Returns false when the vCPU must stop. */
static bool handle_exit(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	char buf[128];
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_pio(cpu);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(cpu);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		pr_info("vcpu%u halted", cpu->id);
		vm_stop(cpu->vm, 0);
		return false;
	case KVM_EXIT_SHUTDOWN:
		fail(cpu, "triple fault (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN || run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			pr_info("vcpu%u: guest %s", cpu->id,
			        run->system_event.type == KVM_SYSTEM_EVENT_RESET ? "reset (treated as power-off)" : "powered off");
			vm_stop(cpu->vm, 0);
		} else {
			snprintf(buf, sizeof(buf), "system event %u", run->system_event.type);
			fail(cpu, buf);
		}
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(buf, sizeof(buf), "KVM internal error, suberror %u", run->internal.suberror);
		fail(cpu, buf);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf, sizeof(buf), "VM entry failed, hardware reason 0x%llx",
		         (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		fail(cpu, buf);
		return false;
	default:
		snprintf(buf, sizeof(buf), "unhandled KVM exit reason %u", run->exit_reason);
		fail(cpu, buf);
		return false;
	}
}

/* Pin to the (id mod n)-th CPU of the [vm] vcpu_affinity list. */
static void pin(struct vcpu *cpu)
{
	const char *list = cpu->vm->cfg->vm.vcpu_affinity;
	unsigned cpus[VM_MAX_VCPUS];
	int n = list ? schema_parse_cpulist(list, cpus, VM_MAX_VCPUS) : -1;
	if (n <= 0)
		return;
	unsigned c = cpus[cpu->id % (unsigned)n];
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(c, &set);
	int ret = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (ret)
		pr_warn("vcpu%u: cannot pin to CPU %u: %s", cpu->id, c, strerror(ret));
	else
		pr_info("vcpu%u pinned to host CPU %u", cpu->id, c);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *cpu = arg;
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", cpu->id);
	pthread_setname_np(pthread_self(), name);
	pin(cpu);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!atomic_load(&cpu->vm->stopping)) {
		if (ioctl(cpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				cpu->run->immediate_exit = 0;
				continue;
			}
			char buf[64];
			snprintf(buf, sizeof(buf), "KVM_RUN failed: %s", strerror(errno));
			fail(cpu, buf);
			break;
		}
		if (!handle_exit(cpu))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *cpu)
{
	int ret = pthread_create(&cpu->thread, NULL, vcpu_thread, cpu);
	if (ret)
		return -ret;
	cpu->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *cpu)
{
	if (!cpu->started)
		return;
	cpu->run->immediate_exit = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	pthread_kill(cpu->thread, KICK_SIGNAL);
}

void vcpu_join(struct vcpu *cpu)
{
	if (cpu->started)
		pthread_join(cpu->thread, NULL);
	cpu->started = false;
}

void vcpu_destroy(struct vcpu *cpu)
{
	if (cpu->run)
		munmap(cpu->run, (size_t)cpu->vm->run_mmap_size);
	if (cpu->fd >= 0)
		close(cpu->fd);
	cpu->run = NULL;
	cpu->fd = -1;
}
