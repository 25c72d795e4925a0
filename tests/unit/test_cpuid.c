/* SPDX-License-Identifier: MIT */
/* CPUID for the guest: APIC ids, topology leaves and TSC leaves from a synthetic
 * KVM_GET_SUPPORTED_CPUID table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vm/cpuid.h"

#define INTEL_EBX 0x756e6547u /* "Genu" */
#define AMD_EBX   0x68747541u /* "Auth" */
#define TSC_KHZ   2300000u

static struct kvm_cpuid2 *supported(uint32_t vendor, bool leaf_1f, uint32_t l15_eax, uint32_t l15_ebx)
{
	struct kvm_cpuid_entry2 e[] = {
		{ .function = 0, .eax = 0x1f, .ebx = vendor },
		{ .function = 1, .eax = 0x806f2, .ebx = 0x00020800, .ecx = 0x0, .edx = 0x1 },
		/* leaf 4: L1d, L1i, L2, L3, terminator; the host says 2 cores, L3 shared by 2 */
		{ .function = 4, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x04000121 },
		{ .function = 4, .index = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x04000122 },
		{ .function = 4, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x04000143 },
		{ .function = 4, .index = 3, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x04004163 },
		{ .function = 4, .index = 4, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
		{ .function = 0xb, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 7, .ebx = 7 },
		{ .function = 0x15, .eax = l15_eax, .ebx = l15_ebx },
		{ .function = leaf_1f ? 0x1f : 0x16, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX },
		{ .function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b },
		{ .function = 0x40000001, .eax = 0x01007efb },
		{ .function = 0x80000008, .eax = 0x3930, .ecx = 0xff00 },
	};
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + sizeof(e));
	assert_non_null(c);
	c->nent = sizeof(e) / sizeof(e[0]);
	memcpy(c->entries, e, sizeof(e));
	return c;
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	const struct kvm_cpuid_entry2 *hit = NULL;
	for (unsigned i = 0; i < c->nent; i++) {
		if (c->entries[i].function == fn && c->entries[i].index == idx) {
			assert_null(hit); /* no duplicates */
			hit = &c->entries[i];
		}
	}
	return hit;
}

static unsigned count(const struct kvm_cpuid2 *c, uint32_t fn)
{
	unsigned n = 0;
	for (unsigned i = 0; i < c->nent; i++)
		n += c->entries[i].function == fn;
	return n;
}

static void core_shift(void **state)
{
	(void)state;
	assert_int_equal(cpuid_core_shift(1), 0);
	assert_int_equal(cpuid_core_shift(2), 1);
	assert_int_equal(cpuid_core_shift(3), 2);
	assert_int_equal(cpuid_core_shift(4), 2);
	assert_int_equal(cpuid_core_shift(5), 3);
	assert_int_equal(cpuid_core_shift(64), 6);
}

/* The extended topology of vCPU id in a package of n: SMT, core, end. */
static void check_topology(const struct kvm_cpuid2 *c, uint32_t leaf, unsigned id, unsigned n)
{
	assert_int_equal(count(c, leaf), 3);
	const struct kvm_cpuid_entry2 *smt = find(c, leaf, 0), *core = find(c, leaf, 1), *end = find(c, leaf, 2);
	assert_non_null(smt);
	assert_non_null(core);
	assert_non_null(end);
	assert_int_equal(smt->flags, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	assert_int_equal(smt->eax, 0);                 /* no thread bits in the APIC id */
	assert_int_equal(smt->ebx, 1);
	assert_int_equal(smt->ecx, 0x100);             /* level 0, type SMT */
	assert_int_equal(core->eax, cpuid_core_shift(n));
	assert_int_equal(core->ebx, n);
	assert_int_equal(core->ecx, 0x201);            /* level 1, type core */
	assert_int_equal(end->eax, 0);
	assert_int_equal(end->ebx, 0);
	assert_int_equal(end->ecx, 2);                 /* level 2, type invalid */
	assert_int_equal(smt->edx, id);
	assert_int_equal(core->edx, id);
	assert_int_equal(end->edx, id);
}

static void intel_three_cpus(void **state)
{
	(void)state;
	struct kvm_cpuid2 *sup = supported(INTEL_EBX, false, 2, 230);
	struct kvm_cpuid2 *c = cpuid_build(sup, 2, 3, TSC_KHZ);
	assert_non_null(c);

	const struct kvm_cpuid_entry2 *l1 = find(c, 1, 0);
	assert_int_equal(l1->ebx >> 24, 2);            /* initial APIC id */
	assert_int_equal((l1->ebx >> 16) & 0xff, 4);   /* ids addressable in the package */
	assert_int_equal(l1->ebx & 0xffff, 0x0800);    /* CLFLUSH size etc. kept */
	assert_true(l1->ecx & (1u << 31));             /* hypervisor */
	assert_true(l1->edx & (1u << 28));             /* HTT */
	assert_int_equal(l1->edx & 1, 1);

	for (unsigned i = 0; i < 4; i++) {
		const struct kvm_cpuid_entry2 *l4 = find(c, 4, i);
		unsigned level = (l4->eax >> 5) & 7;
		assert_int_equal(l4->eax >> 26, 3);                       /* 4 core ids - 1 */
		assert_int_equal((l4->eax >> 14) & 0xfff, level == 3 ? 3 : 0);
		assert_int_equal(l4->eax & 0x3fff, sup->entries[2 + i].eax & 0x3fff);
	}
	assert_int_equal(find(c, 4, 4)->eax, 0);                      /* terminator untouched */
	check_topology(c, 0xb, 2, 3);
	assert_int_equal(count(c, 0x1f), 0);                          /* not offered: not added */

	/* TSC: the host's crystal ratio 230/2 with the crystal giving 2.3 GHz */
	const struct kvm_cpuid_entry2 *l15 = find(c, 0x15, 0);
	assert_int_equal(l15->eax, 2);
	assert_int_equal(l15->ebx, 230);
	assert_int_equal((uint64_t)l15->ecx * l15->ebx / l15->eax, TSC_KHZ * 1000ull);
	assert_int_equal(find(c, 0x40000000, 0)->eax, 0x40000010);
	const struct kvm_cpuid_entry2 *timing = find(c, 0x40000010, 0);
	assert_non_null(timing);
	assert_int_equal(timing->eax, TSC_KHZ);
	assert_int_equal(timing->ebx, 1000000);                       /* KVM's 1 GHz APIC bus */
	assert_int_equal(find(c, 0x80000008, 0)->ecx, 0xff00);        /* Intel: reserved, kept */
	assert_int_equal(c->nent, sup->nent - 1 + 3 + 1);             /* 0xB rebuilt, 0x40000010 added */
	free(c);
	free(sup);
}

static void one_cpu_no_tsc(void **state)
{
	(void)state;
	struct kvm_cpuid2 *sup = supported(INTEL_EBX, true, 0, 0);
	struct kvm_cpuid2 *c = cpuid_build(sup, 0, 1, 0);
	const struct kvm_cpuid_entry2 *l1 = find(c, 1, 0);
	assert_int_equal(l1->ebx >> 24, 0);
	assert_int_equal((l1->ebx >> 16) & 0xff, 1);
	assert_false(l1->edx & (1u << 28));
	assert_int_equal(find(c, 4, 3)->eax >> 26, 0);
	assert_int_equal((find(c, 4, 3)->eax >> 14) & 0xfff, 0);
	check_topology(c, 0xb, 0, 1);
	check_topology(c, 0x1f, 0, 1);
	assert_int_equal(find(c, 0x15, 0)->ecx, 0);                  /* no ratio: left alone */
	assert_int_equal(find(c, 0x40000000, 0)->eax, 0x40000001);   /* TSC unknown: no timing leaf */
	assert_null(find(c, 0x40000010, 0));
	free(c);
	free(sup);
}

static void amd_sizes(void **state)
{
	(void)state;
	struct kvm_cpuid2 *sup = supported(AMD_EBX, false, 0, 0);
	struct kvm_cpuid2 *c = cpuid_build(sup, 5, 6, TSC_KHZ);
	const struct kvm_cpuid_entry2 *e = find(c, 0x80000008, 0);
	assert_int_equal(e->ecx & 0xff, 5);              /* NC: cores - 1 */
	assert_int_equal((e->ecx >> 12) & 0xf, 3);       /* ApicIdSize: 3 bits for 6 cores */
	assert_int_equal(e->eax, 0x3930);
	check_topology(c, 0xb, 5, 6);
	free(c);
	free(sup);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(core_shift),
		cmocka_unit_test(intel_three_cpus),
		cmocka_unit_test(one_cpu_no_tsc),
		cmocka_unit_test(amd_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
