/* SPDX-License-Identifier: MIT */
#include "vm/vcpu.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "vm/cpuid.h"
#include "vm/faultdump.h"
#include "log.h"
#include "config/schema.h"
#include "vm/vm.h"

#define KICK_SIGNAL SIGUSR1

/* Flat segments for the PVH 32-bit entry (Xen PVH ABI: CS 32-bit code 0..4G,
 * DS/ES/SS flat data; x86 SDM vol. 3 §3.4.5 segment types).  The Linux 64-bit
 * entry uses the same selectors (__BOOT_CS, __BOOT_DS) with a 64-bit CS. */
#define SEG_TYPE_CODE_RX_ACCESSED 0xb
#define SEG_TYPE_DATA_RW_ACCESSED 0x3
#define BOOT_CS 0x10
#define BOOT_DS 0x18
#define CR0_PE 0x1u
#define CR0_ET 0x10u
#define CR0_PG 0x80000000u
#define CR4_PAE 0x20u
#define EFER_LME 0x100u
#define EFER_LMA 0x400u
#define RFLAGS_RESERVED 0x2u

/* MSRs set on every vCPU, as firmware would leave them (SDM vol. 4, Table 2-2):
 * fast string operations enabled; MTRRs enabled with write-back as the default
 * memory type. */
#define MSR_IA32_MISC_ENABLE 0x1a0u
#define MISC_ENABLE_FAST_STRING 0x1ull
#define MSR_MTRR_DEF_TYPE 0x2ffu
#define MTRR_DEF_ENABLE 0x800ull
#define MTRR_TYPE_WB 0x6ull
#define BOOT_MSRS 2

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

/* Each vCPU's CPUID: its APIC id, the topology of nvcpus cores, the TSC frequency
 * (cpuid.c). */
static int set_cpuid(struct vcpu *cpu)
{
	int khz = ioctl(cpu->fd, KVM_GET_TSC_KHZ, 0);
	struct kvm_cpuid2 *c = cpuid_build(cpu->vm->cpuid, cpu->id, cpu->vm->nvcpus,
	                                   khz > 0 ? (uint32_t)khz : 0);
	if (!c)
		return -ENOMEM;
	int ret = ioctl(cpu->fd, KVM_SET_CPUID2, c) ? -errno : 0;
	free(c);
	return ret;
}

static int set_msrs(struct vcpu *cpu)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[BOOT_MSRS];
	} m = {
		.hdr.nmsrs = BOOT_MSRS,
		.e = {
			{ .index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING },
			{ .index = MSR_MTRR_DEF_TYPE, .data = MTRR_DEF_ENABLE | MTRR_TYPE_WB },
		},
	};
	int n = ioctl(cpu->fd, KVM_SET_MSRS, &m);
	return n < 0 ? -errno : n != BOOT_MSRS ? -EIO : 0;
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
	int ret = set_cpuid(cpu);
	return ret ? ret : set_msrs(cpu);
}

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
}

/* Linux 64-bit boot protocol (Documentation/arch/x86/boot.rst, "64-bit BOOT
 * PROTOCOL"): long mode with the loader's identity page tables, CS = __BOOT_CS
 * (64-bit code), DS/ES/SS = __BOOT_DS (flat data) from the loader's GDT,
 * interrupts off, %rsi = boot_params. */
static void long_mode(struct kvm_sregs *sregs, const struct boot_entry *entry)
{
	flat_segment(&sregs->cs, BOOT_CS, SEG_TYPE_CODE_RX_ACCESSED);
	sregs->cs.l = 1;
	sregs->cs.db = 0;
	flat_segment(&sregs->ds, BOOT_DS, SEG_TYPE_DATA_RW_ACCESSED);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->gdt.base = entry->gdt_base;
	sregs->gdt.limit = entry->gdt_limit;
	sregs->cr3 = entry->cr3;
	sregs->cr4 = CR4_PAE;
	sregs->cr0 = CR0_PE | CR0_ET | CR0_PG;
	sregs->efer = EFER_LME | EFER_LMA;
}

int vcpu_set_boot_state(struct vcpu *cpu, const struct boot_entry *entry)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	if (ioctl(cpu->fd, KVM_GET_SREGS, &sregs))
		return -errno;
	switch (entry->mode) {
	case BOOT_PVH32:
		flat_segment(&sregs.cs, BOOT_CS, SEG_TYPE_CODE_RX_ACCESSED);
		flat_segment(&sregs.ds, BOOT_DS, SEG_TYPE_DATA_RW_ACCESSED);
		sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
		sregs.cr0 = CR0_PE | CR0_ET;
		sregs.cr4 = 0;
		sregs.efer = 0;
		regs.rbx = entry->rbx;
		break;
	case BOOT_LINUX64:
		long_mode(&sregs, entry);
		regs.rsi = entry->rsi;
		regs.rsp = entry->rsp;
		break;
	default:
		return -ENOTSUP;
	}
	regs.rip = entry->rip;
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
	vm_fault_dump(cpu->vm);
	vm_stop(cpu->vm, EXIT_VM_FAILURE);
}

/* the coarse clock: read from the vDSO page without touching a clock device
 * (in an emulated host the precise one may trap on every exit) */
uint64_t vcpu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void note_exit(struct vcpu *cpu)
{
	const struct kvm_run *run = cpu->run;
	cpu->last_exit_ns = vcpu_now_ns();
	cpu->last_exit_reason = run->exit_reason;
	cpu->last_exit_at = run->exit_reason == KVM_EXIT_IO     ? run->io.port
	                    : run->exit_reason == KVM_EXIT_MMIO ? run->mmio.phys_addr
	                                                        : 0;
	cpu->last_exit_write = run->exit_reason == KVM_EXIT_IO     ? run->io.direction == KVM_EXIT_IO_OUT
	                       : run->exit_reason == KVM_EXIT_MMIO ? run->mmio.is_write
	                                                           : false;
}

/* Returns false when the vCPU must stop. */
static bool handle_exit(struct vcpu *cpu)
{
	struct kvm_run *run = cpu->run;
	char buf[128];
	atomic_fetch_add_explicit(&cpu->exits, 1, memory_order_relaxed);
	note_exit(cpu);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		atomic_fetch_add_explicit(&cpu->exits_io, 1, memory_order_relaxed);
		handle_pio(cpu);
		return true;
	case KVM_EXIT_MMIO:
		atomic_fetch_add_explicit(&cpu->exits_mmio, 1, memory_order_relaxed);
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

/* vm_pause(): wait outside KVM_RUN until resumed or stopping. */
static void park(struct vcpu *cpu)
{
	struct vm *vm = cpu->vm;
	pthread_mutex_lock(&vm->pause_lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (atomic_load(&vm->pause_req) && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->parked--;
	pthread_mutex_unlock(&vm->pause_lock);
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
		if (atomic_load(&cpu->vm->pause_req)) {
			park(cpu);
			continue;
		}
		cpu->last_entry_ns = vcpu_now_ns();
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
