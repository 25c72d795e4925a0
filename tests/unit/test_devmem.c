/* SPDX-License-Identifier: MIT */
/* Devmem segments: export as files under ROOT/VM/, shared bytes between the
 * guest mapping and the file, name rules, one live VM per name, stale folders
 * cleaned, everything removed on destroy. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mem/devmem.h"

struct fix {
	char tmp[64];
	char root[128];
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/modvmm-devmem.XXXXXX");
	assert_non_null(mkdtemp(f->tmp));
	snprintf(f->root, sizeof(f->root), "%s/run/modvmm", f->tmp);   /* created on demand */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	char p[200];
	snprintf(p, sizeof(p), "%s/run", f->tmp);
	rmdir(p);
	assert_int_equal(rmdir(f->tmp), 0);    /* nothing left behind */
	free(f);
	return 0;
}

static bool exists(const char *fmt, const char *a, const char *b)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), fmt, a, b);
	struct stat st;
	return stat(p, &st) == 0;
}

static void export_and_remove(void **state)
{
	struct fix *f = *state;
	struct devmem_dir d;
	devmem_dir_init(&d, f->root, "vm1");
	assert_false(exists("%s%s", f->root, ""));      /* nothing until the first segment */
	struct modvmm_devmem *s;
	assert_int_equal(devmem_segment_create(&d, "ring", 5000, &s), 0);
	assert_int_equal(s->size, 8192);                 /* whole pages */
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/vm1/ring", f->root);
	assert_string_equal(s->path, path);
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/vm1", f->root);
	assert_string_equal(d.path, dir);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 8192);
	/* zeroed; the guest's bytes are the file's bytes, both ways */
	uint8_t *m = s->hva, b[4];
	assert_int_equal(m[0] | m[8191], 0);
	memcpy(m + 100, "\x01\x02\x03\x04", 4);
	assert_int_equal(pread(fd, b, 4, 100), 4);
	assert_memory_equal(b, "\x01\x02\x03\x04", 4);
	assert_int_equal(pwrite(fd, "wxyz", 4, 4000), 4);
	assert_memory_equal(m + 4000, "wxyz", 4);
	close(fd);

	struct modvmm_devmem *s2;
	assert_int_equal(devmem_segment_create(&d, "ring", 4096, &s2), -EEXIST);
	assert_int_equal(devmem_segment_create(&d, "bar2.mem", 4096, &s2), 0);
	assert_true(exists("%s/vm1/%s", f->root, "bar2.mem"));
	assert_true(exists("%s/vm1/%s", f->root, DEVMEM_LOCK_FILE));

	devmem_dir_destroy(&d);
	assert_false(exists("%s/vm1/%s", f->root, "ring"));
	assert_false(exists("%s/vm1%s", f->root, ""));
	assert_false(exists("%s%s", f->root, ""));      /* the empty root goes too */
}

static void name_rules(void **state)
{
	struct fix *f = *state;
	struct devmem_dir d;
	devmem_dir_init(&d, f->root, "vm2");
	struct modvmm_devmem *s;
	static const char *const bad[] = { "", ".hidden", ".lock", "a/b", "..", "sp ace", "t\xc3\xa9",
	                                   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(devmem_segment_create(&d, bad[i], 4096, &s), -EINVAL);
	assert_int_equal(devmem_segment_create(&d, NULL, 4096, &s), -EINVAL);
	assert_int_equal(devmem_segment_create(&d, "ok", 0, &s), -EINVAL);
	assert_int_equal(devmem_segment_create(&d, "ok", UINT64_MAX, &s), -EINVAL);
	assert_int_equal(devmem_segment_create(&d, "Ok-name_1.x", 1, &s), 0);
	devmem_dir_destroy(&d);
	/* a VM name that cannot be a folder */
	devmem_dir_init(&d, f->root, "../evil");
	assert_int_equal(devmem_segment_create(&d, "x", 4096, &s), -EINVAL);
	devmem_dir_destroy(&d);
}

static void one_live_vm_per_name(void **state)
{
	struct fix *f = *state;
	struct devmem_dir a, b, c;
	struct modvmm_devmem *s;
	devmem_dir_init(&a, f->root, "same");
	devmem_dir_init(&b, f->root, "same");
	devmem_dir_init(&c, f->root, "other");
	assert_int_equal(devmem_segment_create(&a, "m", 4096, &s), 0);
	assert_int_equal(devmem_segment_create(&b, "n", 4096, &s), -EBUSY);
	assert_true(exists("%s/same/%s", f->root, "m"));  /* the running VM's segment is untouched */
	assert_int_equal(devmem_segment_create(&c, "m", 4096, &s), 0);
	devmem_dir_destroy(&a);
	assert_true(exists("%s/other/%s", f->root, "m"));
	/* once the first VM is gone the name is free */
	assert_int_equal(devmem_segment_create(&b, "n", 4096, &s), 0);
	devmem_dir_destroy(&b);
	devmem_dir_destroy(&c);
	assert_false(exists("%s%s", f->root, ""));
}

static void stale_folder_cleaned(void **state)
{
	struct fix *f = *state;
	/* what a SIGKILLed VM leaves: its folder, lock file (not locked) and segments */
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/run", f->tmp);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(mkdir(f->root, 0755), 0);
	snprintf(p, sizeof(p), "%s/dead", f->root);
	assert_int_equal(mkdir(p, 0755), 0);
	static const char *const left[] = { DEVMEM_LOCK_FILE, "old-seg", "mem" };
	for (unsigned i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/dead/%s", f->root, left[i]);
		int fd = open(p, O_CREAT | O_WRONLY, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	struct devmem_dir d;
	struct modvmm_devmem *s;
	devmem_dir_init(&d, f->root, "dead");
	assert_int_equal(devmem_segment_create(&d, "mem", 4096, &s), 0);   /* the stale "mem" is gone */
	assert_false(exists("%s/dead/%s", f->root, "old-seg"));
	assert_true(exists("%s/dead/%s", f->root, "mem"));
	devmem_dir_destroy(&d);
	assert_false(exists("%s/dead%s", f->root, ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(export_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(name_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(one_live_vm_per_name, setup, teardown),
		cmocka_unit_test_setup_teardown(stale_folder_cleaned, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
