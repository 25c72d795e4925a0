/* SPDX-License-Identifier: MIT */
/* Finding and opening plugins (libltdl), checking their descriptors. */
#ifndef MODVMM_LOADER_H
#define MODVMM_LOADER_H

#include <stddef.h>

#include <modvmm/plugin.h>

struct plugin {
	const struct modvmm_plugin *desc;
	char *path;
	void *handle;    /* lt_dlhandle */
};

struct plugin_set {
	struct plugin **v;   /* each allocated once: pointers to them stay valid */
	size_t n;
	char **dirs;     /* search path, in order */
	size_t ndirs;
	unsigned refused; /* files refused while scanning */
};

void plugins_init(struct plugin_set *set);
void plugins_free(struct plugin_set *set);
/* Append a directory to the search path. */
int plugins_add_dir(struct plugin_set *set, const char *dir);
/* Add the default directories: $MODVMM_PLUGIN_PATH, then the build tree when
 * running uninstalled, otherwise the install dir. */
int plugins_add_default_dirs(struct plugin_set *set);
/* Open every *.so found (directories scanned a few levels deep).  Refused files
 * are reported on stderr and skipped.  Returns the number of plugins loaded. */
size_t plugins_scan(struct plugin_set *set);
/* Open one file, binding all its symbols at once.  Returns 0, or -errno with the
 * reason in err (which names the file). */
int plugins_load_file(struct plugin_set *set, const char *path, char *err, size_t errlen);
/* Load plugin `name` (already loaded: 0) from the first NAME.so found in the
 * search path (each folder scanned a few levels deep); nothing else is opened.
 * -ENOENT with an empty err when there is none; other errors as plugins_load_file,
 * and a file whose plugin has another name is refused. */
int plugins_load_named(struct plugin_set *set, const char *name, char *err, size_t errlen);
const struct plugin *plugins_find(const struct plugin_set *set, const char *name);
/* Check a descriptor against this core's ABI; 0 or -EINVAL/-EPROTO with a reason. */
int plugins_check_desc(const struct modvmm_plugin *d, char *err, size_t errlen);
const char *plugins_kind_name(unsigned kind);
/* The search path joined with ':' (for messages). */
void plugins_dirs_str(const struct plugin_set *set, char *buf, size_t len);

#endif
