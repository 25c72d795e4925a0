/* SPDX-License-Identifier: MIT */
/*
 * The CPUID table a vCPU sees: KVM_GET_SUPPORTED_CPUID with the APIC id and a
 * topology consistent with the vCPU count (one package, one thread per core,
 * APIC ids 0..n-1), and the TSC frequency where KVM knows it.
 * Leaves: Intel SDM vol. 2A "CPUID" (1, 4, 0xB, 0x15, 0x1F), AMD APM vol. 3
 * (0x80000008), and the hypervisor timing leaf 0x40000010 (TSC and APIC bus
 * frequencies in kHz, as QEMU and VMware define it).
 */
#ifndef MODVMM_CPUID_H
#define MODVMM_CPUID_H

#include <linux/kvm.h>
#include <stdint.h>

#define CPUID_HV_BASE       0x40000000u /* KVM signature leaf; EAX = highest hypervisor leaf */
#define CPUID_HV_TIMING     0x40000010u /* EAX: TSC kHz, EBX: APIC bus kHz */
#define CPUID_KVM_APIC_BUS_KHZ 1000000u /* KVM's LAPIC timer ticks every 1 ns */

/* Bits needed to number n cores: ceil(log2(n)). */
unsigned cpuid_core_shift(unsigned n);

/* A copy of `sup` adjusted for vCPU `id` of `ncpus` (tsc_khz 0: unknown); room
 * for the added leaves is allocated.  Returns NULL when out of memory. */
struct kvm_cpuid2 *cpuid_build(const struct kvm_cpuid2 *sup, unsigned id, unsigned ncpus,
                               uint32_t tsc_khz);

#endif
