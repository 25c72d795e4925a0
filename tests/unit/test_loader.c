/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "plugin/dev.h"
#include "plugin/host.h"
#include "plugin/loader.h"
#include "vm/vm.h"

static void refuse(const char *file, const char *reason)
{
	struct plugin_set set;
	char err[1024], path[512];
	plugins_init(&set);
	snprintf(path, sizeof(path), "%s/%s", BAD_PLUGIN_DIR, file);
	assert_true(plugins_load_file(&set, path, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, path));     /* names the file */
	if (!strstr(err, reason))
		fail_msg("'%s' does not contain '%s'", err, reason);
	assert_int_equal(set.n, 0);
	plugins_free(&set);
}

static void wrong_major(void **state) { refuse("major.so", "major differs"); }
/* ABI 2.0 changed layouts (reserved tails): a 1.x plugin must be rebuilt */
static void old_major(void **state)
{
	refuse("abi1.so", "built for plugin ABI 1.2, this modvmm has ABI 2.1 (major differs: rebuild the plugin");
}
static void newer_minor(void **state) { refuse("minor.so", "newer than this modvmm"); }
static void small_size(void **state) { refuse("small.so", "descriptor size 16 is smaller"); }
static void missing_symbol(void **state) { refuse("nosym.so", "no 'modvmm_plugin' descriptor symbol"); }
static void unknown_kind(void **state) { refuse("kind.so", "unknown plugin kind 42"); }
static void not_a_library(void **state)
{
	refuse("junk.so", "junk.so: cannot load: invalid ELF header");
	refuse("empty.so", "empty.so: cannot load: file too short");
}
/* bound at load time, not when create() first calls it */
static void unresolved_symbol(void **state)
{
	refuse("unresolved.so", "unresolved.so: cannot load: undefined symbol: modvmm_test_no_such_symbol");
}

/* MODVMM_HOST_HAS: a service past the table's size, or NULL, is absent. */
static void host_has(void **state)
{
	struct modvmm_host h = host_services;
	assert_true(MODVMM_HOST_HAS(&h, acpi_node));
	assert_true(MODVMM_HOST_HAS(&h, log));
	h.size = (uint32_t)offsetof(struct modvmm_host, acpi_node); /* an older core */
	assert_false(MODVMM_HOST_HAS(&h, acpi_node));
	assert_true(MODVMM_HOST_HAS(&h, devmem_create));
	h.size = sizeof(h);
	h.acpi_node = NULL;
	assert_false(MODVMM_HOST_HAS(&h, acpi_node));
}

/* irq_line drives only the lines the device's irq keys claim: the claimed one
 * reaches KVM_IRQ_LINE (here on a closed VM fd: -EBADF), others are -EPERM
 * without an ioctl. */
static void irq_line_claimed_only(void **state)
{
	struct vm vm = { .vm_fd = -1 };
	struct cfg_section sec = { .name = "com9" };
	struct modvmm_dev dev = { .vm = &vm, .sec = &sec, .irqs = 1u << 5 };
	assert_int_equal(host_services.irq_line(&dev, 5, 1), -EBADF);
	assert_int_equal(host_services.irq_line(&dev, 4, 1), -EPERM);
	assert_int_equal(host_services.irq_line(&dev, 16, 1), -EPERM);
	assert_int_equal(host_services.irq_line(&dev, 1000, 0), -EPERM);
	assert_true(dev.irq_refused);
}

static void duplicate_name(void **state)
{
	struct plugin_set set;
	char err[1024];
	plugins_init(&set);
	assert_int_equal(plugins_load_file(&set, BAD_PLUGIN_DIR "/dup1.so", err, sizeof(err)), 0);
	assert_int_equal(plugins_load_file(&set, BAD_PLUGIN_DIR "/dup2.so", err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "duplicate plugin name 'twin'"));
	assert_non_null(strstr(err, "dup1.so"));
	assert_int_equal(set.n, 1);
	plugins_free(&set);
}

static void scan_keeps_good_ones(void **state)
{
	struct plugin_set set;
	plugins_init(&set);
	assert_int_equal(plugins_add_dir(&set, BAD_PLUGIN_DIR), 0);
	assert_int_equal(plugins_add_dir(&set, BAD_PLUGIN_DIR), 0); /* no duplicate dirs */
	assert_int_equal(set.ndirs, 1);
	plugins_scan(&set);
	assert_non_null(plugins_find(&set, "good"));
	assert_non_null(plugins_find(&set, "twin"));
	assert_null(plugins_find(&set, "major"));
	assert_int_equal(set.n, 3);         /* good, twin and other-name (misnamed.so) */
	assert_int_equal(set.refused, 10); /* major abi1 minor small nosym kind dup2 junk empty unresolved */
	plugins_free(&set);
}

/* check and run open only the plugins the INI file names: NAME.so */
static void load_by_name(void **state)
{
	struct plugin_set set;
	char err[1024];
	plugins_init(&set);
	assert_int_equal(plugins_add_dir(&set, BAD_PLUGIN_DIR), 0);
	assert_int_equal(plugins_load_named(&set, "good", err, sizeof(err)), 0);
	assert_int_equal(set.n, 1); /* none of the broken files beside it was opened */
	assert_int_equal(set.refused, 0);
	assert_int_equal(plugins_load_named(&set, "good", err, sizeof(err)), 0); /* once */
	assert_int_equal(set.n, 1);
	assert_int_equal(plugins_load_named(&set, "absent", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "");
	assert_true(plugins_load_named(&set, "unresolved", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "undefined symbol: modvmm_test_no_such_symbol"));
	assert_int_equal(plugins_load_named(&set, "misnamed", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "misnamed.so: declares plugin 'other-name'"));
	assert_int_equal(plugins_load_named(&set, "../x", err, sizeof(err)), -EINVAL);
	assert_int_equal(set.n, 1);
	plugins_free(&set);
}

static void real_plugins(void **state)
{
	struct plugin_set set;
	char err[1024];
	plugins_init(&set);
	assert_int_equal(plugins_load_file(&set, SERIAL_SO, err, sizeof(err)), 0);
	assert_int_equal(plugins_load_file(&set, DEBUG_EXIT_SO, err, sizeof(err)), 0);
	const struct plugin *p = plugins_find(&set, "serial");
	assert_non_null(p);
	assert_int_equal(p->desc->kind, MODVMM_KIND_DEVICE);
	assert_non_null(p->desc->keys);
	plugins_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wrong_major),
		cmocka_unit_test(old_major),
		cmocka_unit_test(host_has),
		cmocka_unit_test(irq_line_claimed_only),
		cmocka_unit_test(newer_minor),
		cmocka_unit_test(small_size),
		cmocka_unit_test(missing_symbol),
		cmocka_unit_test(unknown_kind),
		cmocka_unit_test(not_a_library),
		cmocka_unit_test(unresolved_symbol),
		cmocka_unit_test(load_by_name),
		cmocka_unit_test(duplicate_name),
		cmocka_unit_test(scan_keeps_good_ones),
		cmocka_unit_test(real_plugins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
