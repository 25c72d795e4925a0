/* SPDX-License-Identifier: MIT */
/* Parsing and validating configuration values against a plugin's declared keys. */
#ifndef MODVMM_SCHEMA_H
#define MODVMM_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <modvmm/plugin.h>

/* Decimal, or hexadecimal after 0x; never octal. */
int schema_parse_u64(const char *s, uint64_t *out);
/* "256M", "1G", "4096", "64k": K/M/G/T multiply by 1024^n. */
int schema_parse_size(const char *s, uint64_t *out);
/* The key's declared range (U64, SIZE, IRQ): 0, -ENOENT without one, -EINVAL if malformed. */
int schema_parse_range(const struct modvmm_key *k, uint64_t *min, uint64_t *max);
int schema_parse_bool(const char *s, bool *out);
/* "3" or "3.1": slot < 32, function < 8. */
int schema_parse_pci_slot(const char *s, unsigned *slot, unsigned *func);

/* MODVMM_KEY_IRQ: the IOAPIC has 24 inputs (KVM_IOAPIC_NUM_PINS). */
#define SCHEMA_IRQ_LINES 24

#define SCHEMA_MAX_CPU 1024
/* A CPU list "1,0" or "2-3,0": stores up to `max` CPU numbers in the order
 * written into cpus[]. Returns how many, -EINVAL, or -E2BIG. */
int schema_parse_cpulist(const char *s, unsigned *cpus, unsigned max);

/* Validate `value` for key `k`; on error returns -EINVAL and a reason in err. */
int schema_check(const struct modvmm_key *k, const char *value, char *err, size_t errlen);

const struct modvmm_key *schema_find(const struct modvmm_key *keys, const char *name);
const char *schema_type_name(enum modvmm_key_type t);

#endif
