/* SPDX-License-Identifier: MIT */
/* Scratch files for the unit tests.  Include after <cmocka.h>. */
#ifndef MODVMM_TEST_FILES_H
#define MODVMM_TEST_FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Create an empty file named PREFIX-XXXXXX in $TMPDIR (or /tmp); its name in path. */
static inline void test_temp_file(char *path, size_t len, const char *prefix)
{
	const char *dir = getenv("TMPDIR");
	snprintf(path, len, "%s/%s-XXXXXX", dir && *dir ? dir : "/tmp", prefix);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
}

static inline void test_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

#endif
