/* SPDX-License-Identifier: MIT */
#include "config/schema.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A number at s: decimal, or hexadecimal after "0x" (never octal: "010" is ten).
 * Stores where it ends in *end. */
static int parse_num(const char *s, unsigned long long *v, char **end)
{
	int base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		if (!isxdigit((unsigned char)*s))
			return -EINVAL;
	} else if (!isdigit((unsigned char)*s)) {
		return -EINVAL;
	}
	errno = 0;
	*v = strtoull(s, end, base);
	return errno ? -ERANGE : 0;
}

int schema_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	if (!s || parse_num(s, &v, &end) || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int schema_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	if (!s || parse_num(s, &v, &end))
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

int schema_parse_range(const struct modvmm_key *k, uint64_t *min, uint64_t *max)
{
	if (!k->range || (k->type != MODVMM_KEY_U64 && k->type != MODVMM_KEY_SIZE && k->type != MODVMM_KEY_IRQ))
		return -ENOENT;
	char lo[32], hi[32];
	const char *dash = strchr(k->range, '-');
	if (!dash || (size_t)(dash - k->range) >= sizeof(lo) || strlen(dash + 1) >= sizeof(hi))
		return -EINVAL;
	snprintf(lo, sizeof(lo), "%.*s", (int)(dash - k->range), k->range);
	snprintf(hi, sizeof(hi), "%s", dash + 1);
	int (*parse)(const char *, uint64_t *) = k->type == MODVMM_KEY_SIZE ? schema_parse_size : schema_parse_u64;
	if (parse(lo, min) || parse(hi, max) || *min > *max)
		return -EINVAL;
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
	unsigned long long sl, fn = 0;
	if (parse_num(s, &sl, &end))
		return -EINVAL;
	if (*end == '.' && parse_num(end + 1, &fn, &end))
		return -EINVAL;
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

static int check_range(const struct modvmm_key *k, const char *v, uint64_t u, char *err, size_t errlen)
{
	uint64_t min, max;
	int ret = schema_parse_range(k, &min, &max);
	if (ret == -ENOENT)
		return 0;
	if (ret) {
		snprintf(err, errlen, "%s: the plugin declares a bad range \"%s\"", k->name, k->range);
		return -EINVAL;
	}
	if (u >= min && u <= max)
		return 0;
	char *dash = strchr(k->range, '-');
	snprintf(err, errlen, "%s = %s: must be between %.*s and %s", k->name, v, (int)(dash - k->range), k->range,
	         dash + 1);
	return -ERANGE;
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
	case MODVMM_KEY_SIZE:
		if (k->type == MODVMM_KEY_U64 && schema_parse_u64(v, &u)) {
			snprintf(err, errlen, "%s = %s: not an unsigned integer (decimal, or hexadecimal after 0x)",
			         k->name, v);
			return -EINVAL;
		}
		if (k->type == MODVMM_KEY_SIZE && schema_parse_size(v, &u)) {
			snprintf(err, errlen, "%s = %s: not a size (a number with an optional K, M, G or T suffix)",
			         k->name, v);
			return -EINVAL;
		}
		return check_range(k, v, u, err, errlen);
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
	case MODVMM_KEY_IRQ:
		if (schema_parse_u64(v, &u)) {
			snprintf(err, errlen, "%s = %s: not an unsigned integer (decimal, or hexadecimal after 0x)",
			         k->name, v);
			return -EINVAL;
		}
		if (u >= SCHEMA_IRQ_LINES) {
			snprintf(err, errlen, "%s = %s: must be between 0 and %d", k->name, v, SCHEMA_IRQ_LINES - 1);
			return -ERANGE;
		}
		return check_range(k, v, u, err, errlen);
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
	case MODVMM_KEY_IRQ: return "irq";
	case MODVMM_KEY_ENUM: return "enum";
	}
	return "?";
}
