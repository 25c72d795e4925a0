/* SPDX-License-Identifier: MIT */
/*
 * The INI file: a [vm] section and one [device NAME] or [backend NAME] section per
 * plugin instance.  Parsing (config_parse) only checks the syntax and structure;
 * config_validate checks every key against the plugins' schemas and the
 * resources they claim.  Every error is printed as FILE:LINE: message.
 */
#ifndef MODVMM_CONFIG_H
#define MODVMM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <modvmm/plugin.h>

struct plugin_set;
struct plugin;

enum section_kind { SECTION_VM, SECTION_DEVICE, SECTION_BACKEND };

struct cfg_entry {
	char *key;
	char *value;       /* as written; PATH values resolved after validation */
	int line;
	bool bad;          /* refused by the schema (validate() hooks see it unset) */
};

struct cfg_msg {
	int line;
	size_t seq;
	char *text;
};

struct cfg_section {
	enum section_kind kind;
	char *name;        /* "com1" in [device com1]; "vm" for [vm] */
	int line;
	struct cfg_entry *entries;
	size_t nentries;
	const struct plugin *plugin;  /* after validation (device/backend) */
};

struct vm_config {
	const char *name;
	uint64_t memory;
	unsigned vcpus;
	const char *kernel;
	const char *cmdline;
	const char *initrd;
	const char *plugin_path;
	bool hugepages;
	const char *vcpu_affinity;  /* CPU list or NULL */
	const char *control;        /* control socket: "" default path, "none" */
};

struct config {
	char *path;        /* the INI file as given */
	char *dir;         /* its directory, for relative paths */
	struct cfg_section *sections;
	size_t nsections;
	struct vm_config vm;
	unsigned errors;   /* found so far */
	struct cfg_msg *msgs; /* not printed yet */
	size_t nmsgs;
};

#define VM_MAX_VCPUS 64
/* The longest INI line read, in characters (where libinih allows; see config.c). */
#define CONFIG_MAX_LINE 65536

/* Parse `path`.  Returns 0; -EINVAL after finding FILE:LINE errors (what was
 * read is kept: config_validate reports them with the rest); or -errno when the
 * file cannot be read (ENOENT, EACCES, ENOMEM, else EIO), with a message. */
int config_parse(struct config *cfg, const char *path);
/* Validate [vm] and every plugin section, loading the plugins the sections name
 * from the search path of `plugins` (nothing else); resolves PATH values.
 * Returns 0, or -1 after printing FILE:LINE errors, in line order, parse errors included. */
int config_validate(struct config *cfg, struct plugin_set *plugins);
/* The plugin's validate() hook on section s made at run time (a backend swapped
 * in): 0, or -EINVAL with the first error in err. */
int config_validate_runtime(struct config *cfg, const struct cfg_section *s, char *err, size_t errlen);
/* Add the [vm] plugin_path directories (relative to the INI file) to `plugins`. */
int config_plugin_dirs(const struct config *cfg, struct plugin_set *plugins);
/* Print the errors found and not printed yet, in line order (config_validate and
 * config_free do). */
void config_print_errors(struct config *cfg);
void config_free(struct config *cfg);

const struct cfg_entry *config_get(const struct cfg_section *s, const char *key);
/* Value of key or the schema default. */
const char *config_value(const struct cfg_section *s, const char *key);
/* A U64, SIZE or IOPORT value (or default): 0, -ENOENT or -EINVAL. */
int config_u64(const struct cfg_section *s, const char *key, uint64_t *out);
const struct cfg_section *config_section(const struct config *cfg, enum section_kind kind, const char *name);

/* The schema of [vm]. */
extern const struct modvmm_key config_vm_keys[];

#endif
