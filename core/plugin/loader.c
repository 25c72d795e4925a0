/* SPDX-License-Identifier: MIT */
#include "plugin/loader.h"

#include <dirent.h>
#include <dlfcn.h>
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

/* Size of an ABI 2.0 descriptor: a smaller one cannot be of this major. */
#define DESC_MIN_SIZE sizeof(struct modvmm_plugin)
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
		lt_dlclose((lt_dlhandle)set->v[i]->handle);
		free(set->v[i]->path);
		free(set->v[i]);
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
		snprintf(err, errlen, "built for plugin ABI %u.%u, this modvmm has ABI %u.%u (major differs: rebuild "
		         "the plugin against this modvmm's headers)",
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
		if (!strcmp(set->v[i]->desc->name, name))
			return set->v[i];
	return NULL;
}

/* Bind every symbol of the file now (RTLD_NOW), so that a missing symbol is a
 * refusal naming it rather than a crash when first called.  libltdl binds
 * lazily and reports most failures as "file not found"; dlerror() has the real
 * reason ("undefined symbol: x", "invalid ELF header").  On success the probe
 * handle stays open until lt_dlopen() has the same, fully bound, object. */
static void *bind_now(const char *path, char *err, size_t errlen)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		size_t n = strlen(path);
		if (why && !strncmp(why, path, n) && !strncmp(why + n, ": ", 2))
			why += n + 2; /* dlerror() repeats the file name */
		snprintf(err, errlen, "%s: cannot load: %s", path, why ? why : "unknown error");
	}
	return h;
}

/* Load `path`; when `want` is set, the plugin must be named so. */
static int load(struct plugin_set *set, const char *path, const char *want, char *err, size_t errlen)
{
	char why[256];
	void *probe = bind_now(path, err, errlen);
	if (!probe)
		return -ENOEXEC;
	lt_dlhandle h = lt_dlopen(path);
	dlclose(probe);
	if (!h) {
		snprintf(err, errlen, "%s: cannot open: %s", path, lt_dlerror());
		return -ENOEXEC;
	}
	const struct modvmm_plugin *d = lt_dlsym(h, MODVMM_PLUGIN_SYMBOL);
	int ret = 0;
	if (!d) {
		snprintf(err, errlen, "%s: no '%s' descriptor symbol; not a modvmm plugin (declare it with "
		         "MODVMM_PLUGIN_DEFINE)", path, MODVMM_PLUGIN_SYMBOL);
		ret = -ENOENT;
	} else if ((ret = plugins_check_desc(d, why, sizeof(why)))) {
		snprintf(err, errlen, "%s: %s", path, why);
	} else if (want && strcmp(d->name, want)) {
		snprintf(err, errlen, "%s: declares plugin '%s'; a plugin file must be named after its plugin (%s.so)",
		         path, d->name, d->name);
		ret = -EINVAL;
	} else if (plugins_find(set, d->name)) {
		snprintf(err, errlen, "%s: duplicate plugin name '%s' (already loaded from %s)", path, d->name,
		         plugins_find(set, d->name)->path);
		ret = -EEXIST;
	}
	struct plugin **v = ret ? NULL : realloc(set->v, (set->n + 1) * sizeof(*v));
	struct plugin *p = v ? calloc(1, sizeof(*p)) : NULL;
	if (v)
		set->v = v;
	if (p)
		*p = (struct plugin){ .desc = d, .path = strdup(path), .handle = h };
	if (!ret && (!p || !p->path)) {
		snprintf(err, errlen, "%s: out of memory", path);
		ret = -ENOMEM;
	}
	if (ret) {
		if (p)
			free(p->path);
		free(p);
		lt_dlclose(h);
		return ret;
	}
	set->v[set->n++] = p;
	pr_debug("loaded plugin '%s' from %s", d->name, path);
	return 0;
}

int plugins_load_file(struct plugin_set *set, const char *path, char *err, size_t errlen)
{
	return load(set, path, NULL, err, errlen);
}

/* Find `file` in dir or its subfolders (depth levels deep); 0 and its path in out. */
static int find_file(const char *dir, const char *file, int depth, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", dir, file);
	struct stat st;
	if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
		return 0;
	struct dirent **names = NULL;
	int n = depth > 0 ? scandir(dir, &names, NULL, alphasort) : -1; /* deterministic order */
	int ret = -ENOENT;
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		size_t len = strlen(nm);
		char sub[PATH_MAX];
		/* meson's per-target object folders (NAME.p) never hold plugins */
		if (ret && nm[0] != '.' && !(len > 2 && !strcmp(nm + len - 2, ".p")) &&
		    (size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, nm) < sizeof(sub) && stat(sub, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			ret = find_file(sub, file, depth - 1, out, outlen);
		free(names[i]);
	}
	free(names);
	return ret;
}

int plugins_load_named(struct plugin_set *set, const char *name, char *err, size_t errlen)
{
	char file[NAME_MAX + 1], path[PATH_MAX];
	if (plugins_find(set, name))
		return 0;
	if (!*name || strchr(name, '/') || (size_t)snprintf(file, sizeof(file), "%s.so", name) >= sizeof(file)) {
		snprintf(err, errlen, "'%s' is not a plugin name", name);
		return -EINVAL;
	}
	for (size_t i = 0; i < set->ndirs; i++)
		if (find_file(set->dirs[i], file, SCAN_DEPTH, path, sizeof(path)) == 0)
			return load(set, path, name, err, errlen);
	err[0] = 0;
	return -ENOENT;
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
