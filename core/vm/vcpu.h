/* SPDX-License-Identifier: MIT */
/* vCPU threads: one per vCPU, each looping on KVM_RUN and dispatching exits. */
#ifndef MODVMM_VCPU_H
#define MODVMM_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct boot_entry;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	_Atomic uint64_t exits, exits_io, exits_mmio;   /* counters for `modvmm stats` */
	/* the last exit, written by the vCPU thread, read once it is joined: a
	 * stopped guest's "last exit N s ago" tells a vCPU that sat in KVM_RUN
	 * from one stuck in an exit handler */
	uint64_t last_exit_ns, last_entry_ns;           /* vcpu_now_ns() */
	uint32_t last_exit_reason;                      /* KVM_EXIT_* */
	uint64_t last_exit_at;                          /* I/O port or MMIO address */
	bool last_exit_write;
};

int vcpu_create(struct vm *vm, unsigned id, struct vcpu *cpu) __attribute__((warn_unused_result));
/* Set the boot vCPU's registers for the loaded kernel. */
int vcpu_set_boot_state(struct vcpu *cpu, const struct boot_entry *entry) __attribute__((warn_unused_result));
int vcpu_start(struct vcpu *cpu) __attribute__((warn_unused_result));
/* Make KVM_RUN return and the thread exit (the VM is stopping). */
void vcpu_kick(struct vcpu *cpu);
void vcpu_join(struct vcpu *cpu);
void vcpu_destroy(struct vcpu *cpu);
/* Print registers to stderr. */
void vcpu_dump(struct vcpu *cpu);
/* CLOCK_MONOTONIC_COARSE in nanoseconds (the clock of last_exit_ns). */
uint64_t vcpu_now_ns(void);
/* Install the kick signal handler (once per process). */
void vcpu_signals_init(void);

#endif
