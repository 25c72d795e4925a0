/* SPDX-License-Identifier: MIT */
/* Deliberately broken plugins for the loader's refusal tests; one -D per variant. */
#include <stddef.h>

#include <modvmm/plugin.h>

#ifdef BAD_UNRESOLVED
/* defined nowhere: the loader must refuse the file, naming this symbol */
extern int modvmm_test_no_such_symbol(void);
#endif

static int create(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv)
{
	*priv = NULL;
#ifdef BAD_UNRESOLVED
	return modvmm_test_no_such_symbol();
#else
	return 0;
#endif
}

#ifndef BAD_NAME
#define BAD_NAME "bad"
#endif
#ifndef BAD_MAJOR
#define BAD_MAJOR MODVMM_ABI_MAJOR
#endif
#ifndef BAD_MINOR
#define BAD_MINOR MODVMM_ABI_MINOR
#endif
#ifndef BAD_SIZE
#define BAD_SIZE sizeof(struct modvmm_plugin)
#endif
#ifndef BAD_KIND
#define BAD_KIND MODVMM_KIND_DEVICE
#endif

#ifdef BAD_NO_SYMBOL
MODVMM_EXPORT const struct modvmm_plugin not_the_descriptor = {
#else
MODVMM_PLUGIN_DEFINE = {
#endif
	.abi_major = BAD_MAJOR,
	.abi_minor = BAD_MINOR,
	.size = BAD_SIZE,
	.kind = BAD_KIND,
	.name = BAD_NAME,
	.description = "a broken plugin for tests",
	.create = create,
};
