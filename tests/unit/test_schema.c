/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/schema.h"

static void sizes(void **state)
{
	uint64_t v;
	assert_int_equal(schema_parse_size("256M", &v), 0);
	assert_int_equal(v, 256ULL << 20);
	assert_int_equal(schema_parse_size("1g", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(schema_parse_size("64KiB", &v), 0);
	assert_int_equal(v, 64ULL << 10);
	assert_int_equal(schema_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_not_equal(schema_parse_size("12Q", &v), 0);
	assert_int_not_equal(schema_parse_size("M", &v), 0);
	assert_int_not_equal(schema_parse_size("-1M", &v), 0);
	assert_int_not_equal(schema_parse_size("99999999999T", &v), 0);
}

static void integers_and_bools(void **state)
{
	uint64_t v;
	bool b;
	assert_int_equal(schema_parse_u64("0x3f8", &v), 0);
	assert_int_equal(v, 0x3f8);
	assert_int_not_equal(schema_parse_u64("3f8", &v), 0);
	/* decimal or 0x-hex, never octal */
	assert_int_equal(schema_parse_u64("010", &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(schema_parse_size("010K", &v), 0);
	assert_int_equal(v, 10 << 10);
	assert_int_not_equal(schema_parse_u64("0x", &v), 0);
	assert_int_not_equal(schema_parse_u64("-1", &v), 0);
	assert_int_not_equal(schema_parse_u64("+1", &v), 0);
	assert_int_not_equal(schema_parse_u64("99999999999999999999", &v), 0);
	assert_int_not_equal(schema_parse_u64("", &v), 0);
	assert_int_equal(schema_parse_bool("Yes", &b), 0);
	assert_true(b);
	assert_int_equal(schema_parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_not_equal(schema_parse_bool("maybe", &b), 0);
}

static void slots(void **state)
{
	unsigned s, f;
	assert_int_equal(schema_parse_pci_slot("3", &s, &f), 0);
	assert_int_equal(s, 3);
	assert_int_equal(f, 0);
	assert_int_equal(schema_parse_pci_slot("31.7", &s, &f), 0);
	assert_int_equal(s, 31);
	assert_int_equal(f, 7);
	assert_int_not_equal(schema_parse_pci_slot("32", &s, &f), 0);
	assert_int_not_equal(schema_parse_pci_slot("3.8", &s, &f), 0);
	assert_int_not_equal(schema_parse_pci_slot("3.", &s, &f), 0);
}

static void cpulists(void **state)
{
	unsigned c[8];
	assert_int_equal(schema_parse_cpulist("3,0-1", c, 8), 3);
	assert_int_equal(c[0], 3);
	assert_int_equal(c[1], 0);
	assert_int_equal(c[2], 1);
	assert_int_equal(schema_parse_cpulist("1023", c, 8), 1);
	assert_int_equal(schema_parse_cpulist("0-8", c, 8), -E2BIG);
	assert_int_equal(schema_parse_cpulist("3-1", c, 8), -EINVAL);
	assert_int_equal(schema_parse_cpulist("1,", c, 8), -EINVAL);
	assert_int_equal(schema_parse_cpulist("", c, 8), -EINVAL);
	assert_int_equal(schema_parse_cpulist("a", c, 8), -EINVAL);
	assert_int_equal(schema_parse_cpulist("1024", c, 8), -EINVAL);
}

static void ranges(void **state)
{
	char err[256];
	const struct modvmm_key q = { .name = "queues", .type = MODVMM_KEY_U64, .range = "1-8" };
	const struct modvmm_key z = { .name = "size", .type = MODVMM_KEY_SIZE, .range = "4K-1G" };
	const struct modvmm_key bad = { .name = "b", .type = MODVMM_KEY_U64, .range = "8-1" };
	assert_int_equal(schema_check(&q, "8", err, sizeof(err)), 0);
	assert_int_equal(schema_check(&q, "0x1", err, sizeof(err)), 0);
	assert_int_not_equal(schema_check(&q, "9", err, sizeof(err)), 0);
	assert_string_equal(err, "queues = 9: must be between 1 and 8");
	assert_int_not_equal(schema_check(&q, "0", err, sizeof(err)), 0);
	assert_int_equal(schema_check(&z, "1G", err, sizeof(err)), 0);
	assert_int_not_equal(schema_check(&z, "3K", err, sizeof(err)), 0);
	assert_string_equal(err, "size = 3K: must be between 4K and 1G");
	assert_int_not_equal(schema_check(&bad, "3", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "bad range"));
}

static void checks(void **state)
{
	char err[256];
	const struct modvmm_key port = { .name = "port", .type = MODVMM_KEY_IOPORT, .span = 8 };
	const struct modvmm_key mode = { .name = "mode", .type = MODVMM_KEY_ENUM, .choices = "a|bb|c" };
	assert_int_equal(schema_check(&port, "0x3f8", err, sizeof(err)), 0);
	assert_int_not_equal(schema_check(&port, "0xfffc", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not an I/O port base"));
	assert_int_equal(schema_check(&mode, "bb", err, sizeof(err)), 0);
	assert_int_not_equal(schema_check(&mode, "b", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "expected one of a|bb|c"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes),
		cmocka_unit_test(integers_and_bools),
		cmocka_unit_test(slots),
		cmocka_unit_test(cpulists),
		cmocka_unit_test(ranges),
		cmocka_unit_test(checks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
