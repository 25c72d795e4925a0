/* SPDX-License-Identifier: MIT */
#include "schema.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int schema_parse_u64(const char *s, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int schema_parse_size(const char *s, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno)
		return -EINVAL;
	unsigned shift = 0;
	switch (toupper((unsigned char)*end)) {
	case 0: break;
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	case 'T': shift = 40; break;
	default: return -EINVAL;
	}
	if (*end) {
		end++;
		if (toupper((unsigned char)*end) == 'B' || toupper((unsigned char)*end) == 'I')
			end += (toupper((unsigned char)end[0]) == 'I' && toupper((unsigned char)end[1]) == 'B') ? 2 : 1;
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int schema_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int schema_parse_pci_slot(const char *s, unsigned *slot, unsigned *func)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	unsigned long sl = strtoul(s, &end, 0), fn = 0;
	if (*end == '.') {
		if (!isdigit((unsigned char)end[1]))
			return -EINVAL;
		fn = strtoul(end + 1, &end, 0);
	}
	if (*end || sl >= 32 || fn >= 8)
		return -EINVAL;
	*slot = (unsigned)sl;
	*func = (unsigned)fn;
	return 0;
}

int schema_parse_cpulist(const char *s, unsigned *cpus, unsigned max)
{
	unsigned n = 0;
	while (*s) {
		char *end;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		unsigned long lo = strtoul(s, &end, 10), hi = lo;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				return -EINVAL;
			hi = strtoul(end + 1, &end, 10);
		}
		if (hi < lo || hi >= SCHEMA_MAX_CPU || (*end && *end != ','))
			return -EINVAL;
		for (unsigned long c = lo; c <= hi; c++) {
			if (n == max)
				return -E2BIG;
			cpus[n++] = (unsigned)c;
		}
		s = *end ? end + 1 : end;
		if (*end == ',' && !*s)
			return -EINVAL;
	}
	return n ? (int)n : -EINVAL;
}

static bool enum_has(const char *choices, const char *v)
{
	size_t n = strlen(v);
	for (const char *p = choices; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && !strncmp(p, v, n))
			return true;
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

int schema_check(const struct modvmm_key *k, const char *v, char *err, size_t errlen)
{
	uint64_t u;
	bool b;
	unsigned s, f;
	switch (k->type) {
	case MODVMM_KEY_STRING:
	case MODVMM_KEY_PATH:
	case MODVMM_KEY_BACKEND:
		if (k->type != MODVMM_KEY_STRING && !*v)
			break;
		return 0;
	case MODVMM_KEY_U64:
		if (schema_parse_u64(v, &u) == 0)
			return 0;
		snprintf(err, errlen, "%s = %s: not an unsigned integer", k->name, v);
		return -EINVAL;
	case MODVMM_KEY_SIZE:
		if (schema_parse_size(v, &u) == 0)
			return 0;
		snprintf(err, errlen, "%s = %s: not a size (a number with an optional K, M, G or T suffix)", k->name, v);
		return -EINVAL;
	case MODVMM_KEY_BOOL:
		if (schema_parse_bool(v, &b) == 0)
			return 0;
		snprintf(err, errlen, "%s = %s: not a boolean (true/false, yes/no, on/off, 1/0)", k->name, v);
		return -EINVAL;
	case MODVMM_KEY_IOPORT: {
		uint64_t span = k->span ? k->span : 1;
		if (schema_parse_u64(v, &u) == 0 && u <= 0xffff && u + span <= 0x10000)
			return 0;
		snprintf(err, errlen, "%s = %s: not an I/O port base (0..0x%llx)", k->name, v,
		         (unsigned long long)(0x10000 - span));
		return -EINVAL;
	}
	case MODVMM_KEY_PCI_SLOT:
		if (schema_parse_pci_slot(v, &s, &f) == 0)
			return 0;
		snprintf(err, errlen, "%s = %s: not a PCI slot (\"S\" or \"S.F\", slot 0-31, function 0-7)", k->name, v);
		return -EINVAL;
	case MODVMM_KEY_ENUM:
		if (enum_has(k->choices, v))
			return 0;
		snprintf(err, errlen, "%s = %s: expected one of %s", k->name, v, k->choices ? k->choices : "(none)");
		return -EINVAL;
	}
	snprintf(err, errlen, "%s: empty value", k->name);
	return -EINVAL;
}

const struct modvmm_key *schema_find(const struct modvmm_key *keys, const char *name)
{
	for (const struct modvmm_key *k = keys; k && k->name; k++)
		if (!strcmp(k->name, name))
			return k;
	return NULL;
}

const char *schema_type_name(enum modvmm_key_type t)
{
	switch (t) {
	case MODVMM_KEY_STRING: return "string";
	case MODVMM_KEY_U64: return "integer";
	case MODVMM_KEY_BOOL: return "bool";
	case MODVMM_KEY_SIZE: return "size";
	case MODVMM_KEY_IOPORT: return "ioport";
	case MODVMM_KEY_PATH: return "path";
	case MODVMM_KEY_BACKEND: return "backend";
	case MODVMM_KEY_PCI_SLOT: return "pci-slot";
	case MODVMM_KEY_ENUM: return "enum";
	}
	return "?";
}
