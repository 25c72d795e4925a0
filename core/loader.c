/* SPDX-License-Identifier: MIT */
#include "loader.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "modvmm-config.h"

/* Size of the first ABI v1 descriptor: everything up to and including `ops`.
 * A descriptor smaller than this cannot be a v1 descriptor. */
#define DESC_MIN_SIZE (offsetof(struct modvmm_plugin, ops) + sizeof(void *))
#define SCAN_DEPTH 3

static int ltdl_refs;

void plugins_init(struct plugin_set *set)
{
	*set = (struct plugin_set){ 0 };
	if (ltdl_refs++ == 0)
		lt_dlinit();
}

void plugins_free(struct plugin_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		lt_dlclose((lt_dlhandle)set->v[i].handle);
		free(set->v[i].path);
	}
	for (size_t i = 0; i < set->ndirs; i++)
		free(set->dirs[i]);
	free(set->v);
	free(set->dirs);
	*set = (struct plugin_set){ 0 };
	if (--ltdl_refs == 0)
		lt_dlexit();
}

int plugins_add_dir(struct plugin_set *set, const char *dir)
{
	for (size_t i = 0; i < set->ndirs; i++)
		if (!strcmp(set->dirs[i], dir))
			return 0;
	char **d = realloc(set->dirs, (set->ndirs + 1) * sizeof(*d));
	if (!d)
		return -ENOMEM;
	set->dirs = d;
	if (!(d[set->ndirs] = strdup(dir)))
		return -ENOMEM;
	set->ndirs++;
	return 0;
}

static int add_path_list(struct plugin_set *set, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	if (!copy)
		return -ENOMEM;
	int ret = 0;
	for (char *tok = strtok_r(copy, ":", &save); tok && !ret; tok = strtok_r(NULL, ":", &save))
		ret = plugins_add_dir(set, tok);
	free(copy);
	return ret;
}

/* True when this process is the modvmm binary of the build tree it was built in. */
static bool running_uninstalled(void)
{
	char self[PATH_MAX], built[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return false;
	self[n] = 0;
	if (!realpath(MODVMM_BUILD_ROOT "/core/modvmm", built))
		return false;
	return !strcmp(self, built);
}

int plugins_add_default_dirs(struct plugin_set *set)
{
	const char *env = getenv("MODVMM_PLUGIN_PATH");
	int ret = env && *env ? add_path_list(set, env) : 0;
	if (ret)
		return ret;
	return plugins_add_dir(set, running_uninstalled() ? MODVMM_BUILD_PLUGIN_DIR : MODVMM_PLUGIN_DIR);
}

const char *plugins_kind_name(unsigned kind)
{
	switch (kind) {
	case MODVMM_KIND_DEVICE: return "device";
	case MODVMM_KIND_NET_BACKEND: return "net-backend";
	}
	return NULL;
}

int plugins_check_desc(const struct modvmm_plugin *d, char *err, size_t errlen)
{
	if (d->abi_major != MODVMM_ABI_MAJOR) {
		snprintf(err, errlen, "built for plugin ABI %u.%u, this modvmm has ABI %u.%u (major differs)",
		         d->abi_major, d->abi_minor, MODVMM_ABI_MAJOR, MODVMM_ABI_MINOR);
		return -EPROTO;
	}
	if (d->abi_minor > MODVMM_ABI_MINOR) {
		snprintf(err, errlen, "built for plugin ABI %u.%u, newer than this modvmm's %u.%u; upgrade modvmm",
		         d->abi_major, d->abi_minor, MODVMM_ABI_MAJOR, MODVMM_ABI_MINOR);
		return -EPROTO;
	}
	if (d->size < DESC_MIN_SIZE) {
		snprintf(err, errlen, "descriptor size %u is smaller than the %zu bytes of ABI %u.0",
		         d->size, (size_t)DESC_MIN_SIZE, MODVMM_ABI_MAJOR);
		return -EINVAL;
	}
	if (!plugins_kind_name(d->kind)) {
		snprintf(err, errlen, "unknown plugin kind %u", d->kind);
		return -EINVAL;
	}
	if (!d->name || !*d->name || strpbrk(d->name, " \t/=[]")) {
		snprintf(err, errlen, "descriptor has no valid name");
		return -EINVAL;
	}
	if (!d->create) {
		snprintf(err, errlen, "descriptor has no create()");
		return -EINVAL;
	}
	return 0;
}

const struct plugin *plugins_find(const struct plugin_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->v[i].desc->name, name))
			return &set->v[i];
	return NULL;
}

int plugins_load_file(struct plugin_set *set, const char *path, char *err, size_t errlen)
{
	char why[256];
	lt_dlhandle h = lt_dlopen(path);
	if (!h) {
		snprintf(err, errlen, "%s: cannot open: %s", path, lt_dlerror());
		return -ENOEXEC;
	}
	const struct modvmm_plugin *d = lt_dlsym(h, MODVMM_PLUGIN_SYMBOL);
	if (!d) {
		snprintf(err, errlen, "%s: no '%s' descriptor symbol; not a modvmm plugin", path, MODVMM_PLUGIN_SYMBOL);
		lt_dlclose(h);
		return -ENOENT;
	}
	int ret = plugins_check_desc(d, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, why);
		lt_dlclose(h);
		return ret;
	}
	const struct plugin *dup = plugins_find(set, d->name);
	if (dup) {
		snprintf(err, errlen, "%s: duplicate plugin name '%s' (already loaded from %s)", path, d->name, dup->path);
		lt_dlclose(h);
		return -EEXIST;
	}
	struct plugin *v = realloc(set->v, (set->n + 1) * sizeof(*v));
	if (!v) {
		lt_dlclose(h);
		return -ENOMEM;
	}
	set->v = v;
	v[set->n] = (struct plugin){ .desc = d, .path = strdup(path), .handle = h };
	if (!v[set->n].path) {
		lt_dlclose(h);
		return -ENOMEM;
	}
	set->n++;
	pr_debug("loaded plugin '%s' from %s", d->name, path);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_dir(struct plugin_set *set, const char *dir, int depth)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(dp))) {
		if (de->d_name[0] == '.')
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn)
			break;
		names = nn;
		if ((names[n] = strdup(de->d_name)))
			n++;
	}
	closedir(dp);
	qsort(names, n, sizeof(*names), name_cmp); /* deterministic order */
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX], err[PATH_MAX + 256];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		size_t len = strlen(names[i]);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			/* meson's per-target object folders (NAME.p) never hold plugins */
			if (depth > 0 && !(len > 2 && !strcmp(names[i] + len - 2, ".p")))
				scan_dir(set, path, depth - 1);
		} else if (len > 3 && !strcmp(names[i] + len - 3, ".so")) {
			if (plugins_load_file(set, path, err, sizeof(err)) < 0) {
				pr_warn("refusing plugin %s", err);
				set->refused++;
			}
		}
		free(names[i]);
	}
	free(names);
}

size_t plugins_scan(struct plugin_set *set)
{
	for (size_t i = 0; i < set->ndirs; i++)
		scan_dir(set, set->dirs[i], SCAN_DEPTH);
	return set->n;
}

void plugins_dirs_str(const struct plugin_set *set, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = 0;
	for (size_t i = 0; i < set->ndirs && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ":" : "", set->dirs[i]);
}
