/* SPDX-License-Identifier: MIT */
#include "vm/cpuid.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Leaf 1 (SDM vol. 2A, Table 3-8/3-10/3-11). */
#define L1_EBX_LOGICAL_SHIFT 16      /* EBX[23:16]: addressable logical processor ids */
#define L1_EBX_APIC_ID_SHIFT 24      /* EBX[31:24]: initial APIC id */
#define L1_EBX_LOW_MASK      0xffffu
#define L1_ECX_HYPERVISOR    (1u << 31)
#define L1_EDX_HTT           (1u << 28)
/* Leaf 4: deterministic cache parameters. */
#define L4_TYPE_MASK         0x1fu   /* EAX[4:0]: 0 = no more caches */
#define L4_LEVEL(eax)        (((eax) >> 5) & 7u)
#define L4_SHARING_SHIFT     14      /* EAX[25:14]: ids sharing this cache - 1 */
#define L4_CORES_SHIFT       26      /* EAX[31:26]: core ids in the package - 1 */
#define L4_KEEP_MASK         0x3fffu
#define L4_SHARED_LEVEL      3       /* the L3 is shared by the package */
/* Leaves 0xB and 0x1F: extended topology. */
#define TOPO_LEAF_B          0xbu
#define TOPO_LEAF_1F         0x1fu
#define TOPO_TYPE_SMT        1u
#define TOPO_TYPE_CORE       2u
#define TOPO_TYPE_SHIFT      8       /* ECX[15:8]: level type; ECX[7:0]: level number */
#define TOPO_SUBLEAVES       3       /* SMT, core, and the terminating invalid level */
/* Leaf 0x15: TSC/core crystal clock (EAX denominator, EBX numerator, ECX Hz). */
#define LEAF_TSC             0x15u
/* AMD leaf 0x80000008 ECX: NC (cores - 1) in [7:0], ApicIdSize in [15:12]. */
#define LEAF_AMD_SIZES       0x80000008u
#define AMD_NC_MASK          0xffu
#define AMD_APICID_SIZE_SHIFT 12
#define AMD_APICID_SIZE_MASK (0xfu << AMD_APICID_SIZE_SHIFT)
/* Leaf 0 vendor EBX: "Auth" (AMD) and "Hygo" (Hygon) */
#define VENDOR_AUTH_EBX      0x68747541u
#define VENDOR_HYGO_EBX      0x6f677948u
#define ADDED_ENTRIES        (2 * TOPO_SUBLEAVES + 1)

unsigned cpuid_core_shift(unsigned n)
{
	unsigned s = 0;
	while ((1u << s) < n)
		s++;
	return s;
}

static void topology_leaf(struct kvm_cpuid_entry2 *e, uint32_t fn, unsigned level, unsigned id,
                          unsigned ncpus)
{
	*e = (struct kvm_cpuid_entry2){ .function = fn, .index = level,
	                                .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .edx = id };
	switch (level) {
	case 0: /* SMT: one thread per core, no id bits */
		e->ebx = 1;
		e->ecx = level | (TOPO_TYPE_SMT << TOPO_TYPE_SHIFT);
		break;
	case 1: /* core: every vCPU of the package */
		e->eax = cpuid_core_shift(ncpus);
		e->ebx = ncpus;
		e->ecx = level | (TOPO_TYPE_CORE << TOPO_TYPE_SHIFT);
		break;
	default: /* invalid level: ends the enumeration */
		e->ecx = level;
		break;
	}
}

struct kvm_cpuid2 *cpuid_build(const struct kvm_cpuid2 *sup, unsigned id, unsigned ncpus,
                               uint32_t tsc_khz)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + (sup->nent + ADDED_ENTRIES) * sizeof(c->entries[0]));
	if (!c)
		return NULL;
	const unsigned shift = cpuid_core_shift(ncpus);
	const uint32_t ids = 1u << shift;
	bool amd = false, has_b = false, has_1f = false, has_timing = false;
	unsigned n = 0;

	for (unsigned i = 0; i < sup->nent; i++) {
		struct kvm_cpuid_entry2 e = sup->entries[i];
		switch (e.function) {
		case 0:
			amd = e.ebx == VENDOR_AUTH_EBX || e.ebx == VENDOR_HYGO_EBX;
			break;
		case 1:
			e.ebx = (e.ebx & L1_EBX_LOW_MASK) | (ids << L1_EBX_LOGICAL_SHIFT) |
			        (id << L1_EBX_APIC_ID_SHIFT);
			e.ecx |= L1_ECX_HYPERVISOR;
			if (ncpus > 1)
				e.edx |= L1_EDX_HTT;
			break;
		case 4:
			if (!(e.eax & L4_TYPE_MASK))
				break;
			e.eax = (e.eax & L4_KEEP_MASK) | ((ids - 1) << L4_CORES_SHIFT) |
			        ((L4_LEVEL(e.eax) >= L4_SHARED_LEVEL ? ids - 1 : 0) << L4_SHARING_SHIFT);
			break;
		case TOPO_LEAF_B:
			has_b = true;
			continue; /* rebuilt below */
		case TOPO_LEAF_1F:
			has_1f = true;
			continue;
		case LEAF_TSC:
			/* the host's crystal ratio, with the crystal rate giving the guest's TSC */
			if (tsc_khz && e.eax && e.ebx)
				e.ecx = (uint32_t)((uint64_t)tsc_khz * 1000 * e.eax / e.ebx);
			break;
		case CPUID_HV_BASE:
			if (tsc_khz && e.eax < CPUID_HV_TIMING)
				e.eax = CPUID_HV_TIMING;
			break;
		case CPUID_HV_TIMING:
			has_timing = true;
			if (tsc_khz)
				e.eax = tsc_khz, e.ebx = CPUID_KVM_APIC_BUS_KHZ;
			break;
		case LEAF_AMD_SIZES:
			if (amd)
				e.ecx = (e.ecx & ~(AMD_NC_MASK | AMD_APICID_SIZE_MASK)) | (ncpus - 1) |
				        (shift << AMD_APICID_SIZE_SHIFT);
			break;
		}
		c->entries[n++] = e;
	}
	for (unsigned l = 0; l < TOPO_SUBLEAVES; l++) {
		if (has_b)
			topology_leaf(&c->entries[n++], TOPO_LEAF_B, l, id, ncpus);
		if (has_1f)
			topology_leaf(&c->entries[n++], TOPO_LEAF_1F, l, id, ncpus);
	}
	if (tsc_khz && !has_timing)
		c->entries[n++] = (struct kvm_cpuid_entry2){
			.function = CPUID_HV_TIMING, .eax = tsc_khz, .ebx = CPUID_KVM_APIC_BUS_KHZ,
		};
	c->nent = n;
	return c;
}
