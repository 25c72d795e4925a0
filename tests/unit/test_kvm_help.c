/* SPDX-License-Identifier: MIT */
/* A /dev/kvm that cannot be opened is explained: why, and what to do. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm/kvm_help.h"

static char text[8192];

/* kvm_explain_open_error(err) with stderr captured in text. */
static void explain(int err)
{
	char path[] = "/tmp/modvmm-kvm-help-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	kvm_explain_open_error(err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	text[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
}

static void expect(const char *s)
{
	if (!strstr(text, s))
		fail_msg("expected '%s' in:\n%s", s, text);
}

static void missing(void **state)
{
	explain(ENOENT);
	expect("cannot open /dev/kvm: No such file or directory");
	expect("/dev/kvm does not exist");
	/* one of the causes, whichever this machine shows */
	if (!strstr(text, "nested virtualization") && !strstr(text, "firmware") && !strstr(text, "modprobe"))
		fail_msg("no cause named in:\n%s", text);
	expect("'modvmm check FILE.ini' still validates");
	expect("tests/kvmhost/kvmhost");
}

static void denied(void **state)
{
	explain(EACCES);
	expect("cannot open /dev/kvm: Permission denied");
	expect("cannot be opened by this user");
	expect("run modvmm as root");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(missing),
		cmocka_unit_test(denied),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
