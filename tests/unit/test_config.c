/* SPDX-License-Identifier: MIT */
/* Config parsing and validation: every refusal carries FILE:LINE. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "plugin/loader.h"
#include "modvmm-config.h"

static struct plugin_set plugins;
static char ini_path[64];
static char errors[16384];

static int setup(void **state)
{
	char err[1024];
	plugins_init(&plugins);
	if (plugins_load_file(&plugins, SERIAL_SO, err, sizeof(err)) ||
	    plugins_load_file(&plugins, DEBUG_EXIT_SO, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	plugins_free(&plugins);
	return 0;
}

/* Parse and validate `text`; stderr is captured into `errors`. Returns 0 if valid. */
static int check_n(const char *text, size_t len, struct config *cfg)
{
	snprintf(ini_path, sizeof(ini_path), "/tmp/modvmm-test-XXXXXX");
	int fd = mkstemp(ini_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);

	char errpath[] = "/tmp/modvmm-test-err-XXXXXX";
	int efd = mkstemp(errpath);
	assert_true(efd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(efd, 2);
	int ret = config_parse(cfg, ini_path);
	if (ret == 0 || ret == -EINVAL) /* parse errors do not hide the others */
		ret = config_validate(cfg, &plugins) || ret;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(efd, errors, sizeof(errors) - 1, 0);
	errors[n > 0 ? n : 0] = 0;
	close(efd);
	unlink(errpath);
	unlink(ini_path);
	return ret;
}

static int check(const char *text, struct config *cfg)
{
	return check_n(text, strlen(text), cfg);
}

/* The message must appear with the INI file's name and this line number. */
static void expect_error(const char *text, int line, const char *msg)
{
	struct config cfg;
	char want[256];
	assert_int_not_equal(check(text, &cfg), 0);
	snprintf(want, sizeof(want), "%s:%d: ", ini_path, line);
	if (!strstr(errors, want) || !strstr(errors, msg))
		fail_msg("expected '%s...%s' in:\n%s", want, msg, errors);
	config_free(&cfg);
}

#define VM "[vm]\nkernel = " GUEST_HELLO "\n"

static void valid_config(void **state)
{
	struct config cfg;
	int ret = check(VM "memory = 64M\nvcpus = 2\ncmdline = exit=3\n"
	                "[device com1]\nplugin = serial\n"
	                "[device com2]\nplugin = serial\nport = 0x2f8\nirq = 3\noutput = none\n"
	                "[device exit]\nplugin = debug-exit ; comment\n", &cfg);
	if (ret)
		fail_msg("%s", errors);
	assert_int_equal(cfg.vm.memory, 64ULL << 20);
	assert_int_equal(cfg.vm.vcpus, 2);
	assert_string_equal(cfg.vm.cmdline, "exit=3");
	assert_string_equal(cfg.vm.name, "modvmm");
	assert_int_equal(cfg.nsections, 4);
	assert_string_equal(config_value(&cfg.sections[1], "port"), "0x3f8");  /* schema default */
	assert_string_equal(config_value(&cfg.sections[2], "port"), "0x2f8");
	assert_string_equal(config_value(&cfg.sections[3], "plugin"), "debug-exit");
	config_free(&cfg);
}

static void bad_memory(void **state)
{
	expect_error(VM "memory = 12Q\n", 3, "memory = 12Q: not a size");
	expect_error(VM "memory = 1K\n", 3, "must be a multiple of 4K between 2M and 1T");
}

static void bad_vcpus(void **state)
{
	expect_error(VM "vcpus = 0\n", 3, "vcpus = 0: must be between 1 and 64");
	expect_error(VM "\n\nvcpus = two\n", 5, "vcpus = two: not an unsigned integer");
}

static void missing_kernel(void **state)
{
	expect_error("[vm]\nmemory = 64M\nkernel = /nonexistent/vmlinux\n", 3, "/nonexistent/vmlinux: No such file");
	expect_error("\n[vm]\nmemory = 64M\n", 2, "[vm] needs 'kernel = ...'");
	expect_error("[device com1]\nplugin = serial\n", 1, "no [vm] section");
}

static void kernel_not_bootable(void **state)
{
	expect_error("[vm]\nkernel = " SERIAL_SO "\n", 2, SERIAL_SO);
}

static void plugin_not_found(void **state)
{
	expect_error(VM "[device nic]\nplugin = no-such-plugin\n", 4, "plugin 'no-such-plugin' not found");
	expect_error(VM "[device nic]\nport = 1\n", 3, "[device nic] has no 'plugin = NAME' key");
	expect_error(VM "[backend net0]\nplugin = serial\n", 4, "is a device plugin, it cannot be used in [backend net0]");
}

static void port_conflicts(void **state)
{
	expect_error(VM "[device com1]\nplugin = serial\n[device com2]\nplugin = serial\nport = 0x3fc\n", 7,
	             "ports 0x3fc-0x403 of [device com2] overlaps ports 0x3f8-0x3ff of [device com1] (line 3)");
	/* both on the default port: reported at the second section's header */
	expect_error(VM "[device a]\nplugin = serial\n[device b]\nplugin = serial\n", 5, "overlaps");
	expect_error(VM "[device exit]\nplugin = debug-exit\nport = 0xcfc\n", 5, "overlap PCI configuration access");
	expect_error(VM "[device exit]\nplugin = debug-exit\nport = 0x601\n", 5,
	             "overlap the ACPI sleep and reset registers");
}

static void unknown_things(void **state)
{
	expect_error(VM "[machine]\nfoo = 1\n", 3, "unknown section [machine]");
	expect_error(VM "[device]\n", 3, "section [device] needs a name");
	expect_error(VM "bogus = 1\n", 3, "unknown key 'bogus' in [vm]; known keys: name, memory");
	expect_error(VM "[device com1]\nplugin = serial\nspeed = 9600\n", 5, "unknown key 'speed' in [device com1]");
	expect_error("memory = 1G\n" VM, 1, "outside any section");
}

static void bad_values(void **state)
{
	expect_error(VM "[device com1]\nplugin = serial\noutput = printer\n", 5,
	             "output = printer: expected one of stdout|stderr|file|none");
	expect_error(VM "[device com1]\nplugin = serial\nport = 0x10000\n", 5, "not an I/O port base");
	expect_error(VM "hugepages = sometimes\n", 3, "not a boolean");
	expect_error(VM "name = a/b\n", 3, "name = a/b: must be 1-64 letters, digits");
	expect_error(VM "vcpu_affinity = 0-\n", 3, "vcpu_affinity = 0-: not a CPU list");
}

static void syntax_and_duplicates(void **state)
{
	expect_error(VM "this line has no equals sign\n", 3, "syntax error");
	expect_error(VM "memory = 64M\nmemory = 128M\n", 4, "duplicate key 'memory' (first at line 3)");
	expect_error(VM "[device a]\nplugin = serial\n[device a]\nplugin = serial\n", 5, "duplicate section [device a] (first at line 3)");
}

static void relative_paths(void **state)
{
	struct config cfg;
	int ret = check(VM "[device com1]\nplugin = serial\noutput = file\nfile = serial.log\n", &cfg);
	if (ret)
		fail_msg("%s", errors);
	assert_string_equal(config_value(&cfg.sections[1], "file"), "/tmp/serial.log");
	config_free(&cfg);
}

/* Lines longer than libinih's 200-byte default: read whole, or refused whole,
 * and the lines after them keep their numbers. */
static void long_lines(void **state)
{
	size_t n = 4200;
	char *text = malloc(n + 256);
	assert_non_null(text);
	int off = snprintf(text, 256, VM "cmdline = ");
	memset(text + off, 'x', n);
	snprintf(text + off + n, 256, " hugepages=yes\nvcpus = 2\n");
	struct config cfg;
	int ret = check(text, &cfg);
#if HAVE_INIH_MAX_LINE
	if (ret)
		fail_msg("%s", errors);
	assert_int_equal(strlen(cfg.vm.cmdline), n + strlen(" hugepages=yes"));
	assert_false(cfg.vm.hugepages);
	assert_int_equal(cfg.vm.vcpus, 2);
	config_free(&cfg);
#else /* a libinih with a fixed 200-byte line: refused, not split */
	assert_int_not_equal(ret, 0);
	assert_non_null(strstr(errors, ":3: this line of 4217 characters is too long"));
	config_free(&cfg);
#endif
	free(text);

	n = CONFIG_MAX_LINE + 1;
	text = malloc(n + 256);
	assert_non_null(text);
	off = snprintf(text, 256, VM "cmdline = ");
	memset(text + off, 'y', n);
	snprintf(text + off + n, 256, "\nbogus = 1\n");
	char want[128];
	snprintf(want, sizeof(want), "this line of %d characters is too long", CONFIG_MAX_LINE + 11);
	expect_error(text, 3, want);
	expect_error(text, 4, "unknown key 'bogus' in [vm]");
	assert_null(strstr(errors, "yyy"));  /* nothing of it was read as a key */
	free(text);

	/* a NUL byte would cut the line for libinih: refused too */
	static const char nul[] = VM "cmdline = a\0b\n";
	struct config cfg2;
	assert_int_not_equal(check_n(nul, sizeof(nul) - 1, &cfg2), 0);
	assert_non_null(strstr(errors, ":3: this line contains a NUL byte; nothing of it was used"));
	config_free(&cfg2);
}

/* A section made at run time (a backend swapped in) goes through its plugin's
 * validate() hook too; the first error comes back as text, with the value. */
static void runtime_validate(void **state)
{
	struct cfg_entry e[] = { { .key = "console", .value = "file" } };
	struct cfg_section s = { .kind = SECTION_DEVICE, .name = "exit", .plugin = plugins_find(&plugins, "debug-exit"),
	                         .entries = e, .nentries = 1 };
	struct config cfg = { 0 };
	char err[256] = "";
	assert_non_null(s.plugin);
	assert_int_equal(config_validate_runtime(&cfg, &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "console = file: needs 'console_file = FILE'");
	assert_int_equal(cfg.errors, 0); /* nothing went to the file's error list */
	e[0].value = "stdout";
	err[0] = 0;
	assert_int_equal(config_validate_runtime(&cfg, &s, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_config),
		cmocka_unit_test(bad_memory),
		cmocka_unit_test(bad_vcpus),
		cmocka_unit_test(missing_kernel),
		cmocka_unit_test(kernel_not_bootable),
		cmocka_unit_test(plugin_not_found),
		cmocka_unit_test(port_conflicts),
		cmocka_unit_test(unknown_things),
		cmocka_unit_test(bad_values),
		cmocka_unit_test(syntax_and_duplicates),
		cmocka_unit_test(relative_paths),
		cmocka_unit_test(long_lines),
		cmocka_unit_test(runtime_validate),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
