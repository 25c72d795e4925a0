/* SPDX-License-Identifier: MIT */
/*
 * Backends made and removed while the VM runs (plugin ABI 2.1 host services
 * backend_new and backend_free), for a device that swaps its backend.  A new
 * backend gets a section of its own built from KEY=VALUE words and checked
 * against its plugin's schema as an INI section would be.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/schema.h"
#include "log.h"
#include "plugin/dev.h"
#include "plugin/loader.h"
#include "vm/vm.h"

static int say(char *err, size_t errlen, int ret, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int say(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

void dev_section_free(struct cfg_section *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nentries; i++) {
		free(s->entries[i].key);
		free(s->entries[i].value);
	}
	free(s->entries);
	free(s->name);
	free(s);
}

static bool claims(enum modvmm_key_type t)
{
	return t == MODVMM_KEY_IOPORT || t == MODVMM_KEY_PCI_SLOT || t == MODVMM_KEY_IRQ || t == MODVMM_KEY_BACKEND;
}

/* One KEY=VALUE word into the section; the plugin is known. */
static int add_entry(struct cfg_section *s, const struct config *cfg, const char *kv, char *err, size_t errlen)
{
	const char *eq = strchr(kv, '=');
	size_t klen = (size_t)(eq - kv);
	char key[128];
	if (klen >= sizeof(key))
		return say(err, errlen, -EINVAL, "'%.40s...': key too long", kv);
	memcpy(key, kv, klen);
	key[klen] = 0;
	if (!strcmp(key, "plugin"))
		return 0;
	const struct modvmm_key *k = schema_find(s->plugin->desc->keys, key);
	if (!k)
		return say(err, errlen, -EINVAL, "plugin %s has no key '%s' (see 'modvmm plugins %s')",
		           s->plugin->desc->name, key, s->plugin->desc->name);
	if (claims(k->type))
		return say(err, errlen, -EINVAL, "%s: a key that claims a resource cannot be set at run time", key);
	if (config_get(s, key))
		return say(err, errlen, -EINVAL, "%s given twice", key);
	char why[PATH_MAX + 256], path[PATH_MAX];
	const char *v = eq + 1;
	if (schema_check(k, v, why, sizeof(why)))
		return say(err, errlen, -EINVAL, "%s", why);
	if (k->type == MODVMM_KEY_PATH && v[0] && v[0] != '/') {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", cfg->dir, v) >= sizeof(path))
			return say(err, errlen, -ENAMETOOLONG, "%s: path too long", key);
		v = path;
	}
	if (k->type == MODVMM_KEY_PATH && (k->flags & MODVMM_KEY_F_EXISTS) && access(v, R_OK))
		return say(err, errlen, -ENOENT, "%s = %s: %s", key, v, strerror(errno));
	struct cfg_entry *e = &s->entries[s->nentries];
	*e = (struct cfg_entry){ .key = strdup(key), .value = strdup(v) };
	if (!e->key || !e->value) {
		free(e->key);
		free(e->value);
		return say(err, errlen, -ENOMEM, "out of memory");
	}
	s->nentries++;
	return 0;
}

/* The section [backend DEV.N] of the words kv. */
static int build_section(struct modvmm_dev *dev, const char *const *kv, unsigned n, struct cfg_section **out,
                         char *err, size_t errlen)
{
	struct vm *vm = dev->vm;
	const char *plugin = NULL;
	for (unsigned i = 0; i < n; i++) {
		if (!strchr(kv[i], '='))
			return say(err, errlen, -EINVAL, "'%s': not KEY=VALUE", kv[i]);
		if (!strncmp(kv[i], "plugin=", 7))
			plugin = kv[i] + 7;
	}
	if (!plugin || !*plugin)
		return say(err, errlen, -EINVAL, "no plugin=NAME among the new backend's keys");
	char why[512] = "";
	int ret = plugins_load_named(vm->plugins, plugin, why, sizeof(why));
	const struct plugin *p = ret ? NULL : plugins_find(vm->plugins, plugin);
	if (!p)
		return say(err, errlen, ret ? ret : -ENOENT, "plugin '%s': %s", plugin, *why ? why : "not found");
	if (p->desc->kind != MODVMM_KIND_NET_BACKEND)
		return say(err, errlen, -EINVAL, "plugin '%s' is a %s, not a backend", plugin,
		           plugins_kind_name(p->desc->kind));
	struct cfg_section *s = calloc(1, sizeof(*s));
	char name[128];
	snprintf(name, sizeof(name), "%s.%u", dev->sec->name, ++dev->runtime_seq);
	if (!s || !(s->name = strdup(name)) || !(s->entries = calloc(n, sizeof(*s->entries)))) {
		dev_section_free(s);
		return say(err, errlen, -ENOMEM, "out of memory");
	}
	s->kind = SECTION_BACKEND;
	s->line = dev->sec->line;
	s->plugin = p;
	for (unsigned i = 0; i < n && !ret; i++)
		ret = add_entry(s, vm->cfg, kv[i], err, errlen);
	for (const struct modvmm_key *k = p->desc->keys; !ret && k && k->name; k++)
		if ((k->flags & MODVMM_KEY_F_REQUIRED) && !config_get(s, k->name))
			ret = say(err, errlen, -EINVAL, "plugin %s needs %s=... (%s)", plugin, k->name, k->help ? k->help : "");
	if (!ret)
		ret = config_validate_runtime(vm->cfg, s, err, errlen);   /* its cross-key rules, as `check` runs them */
	if (ret) {
		dev_section_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

int dev_backend_new(struct modvmm_dev *dev, const char *const *kv, unsigned n, void **priv,
                    const struct modvmm_plugin **plugin, char *err, size_t errlen)
{
	struct vm *vm = dev->vm;
	struct cfg_section *s = NULL;
	if (!priv || !plugin || (n && !kv))
		return say(err, errlen, -EINVAL, "bad arguments");
	int ret = build_section(dev, kv, n, &s, err, errlen);
	if (ret)
		return ret;
	struct modvmm_dev **grown = realloc(vm->devs, (vm->ndevs + 1) * sizeof(*grown));
	if (!grown) {
		dev_section_free(s);
		return say(err, errlen, -ENOMEM, "out of memory");
	}
	vm->devs = grown;
	struct modvmm_dev *b = NULL;
	const char *pname = s->plugin->desc->name;
	ret = dev_create(vm, s, &b);
	if (!ret)
		ret = dev_start(b);
	if (ret) {
		if (b) {
			dev_stop(b);
			b->own_sec = s;
			dev_destroy(b);
		} else {
			dev_section_free(s);
		}
		return say(err, errlen, ret, "the new %s backend failed to start: %s (the log says more)", pname,
		           strerror(-ret));
	}
	b->own_sec = s;
	/* backends first: a device stops before the backends it may use */
	memmove(vm->devs + 1, vm->devs, vm->ndevs * sizeof(*vm->devs));
	vm->devs[0] = b;
	vm->ndevs++;
	pr_info("created backend '%s' (plugin %s) at run time for %s", s->name, s->plugin->desc->name, dev_label(dev));
	*priv = b->priv;
	*plugin = s->plugin->desc;
	return 0;
}

int dev_backend_free(struct modvmm_dev *dev, void *priv)
{
	struct vm *vm = dev->vm;
	for (size_t i = 0; i < vm->ndevs; i++) {
		struct modvmm_dev *b = vm->devs[i];
		if (b->priv != priv || b->sec->kind != SECTION_BACKEND)
			continue;
		memmove(vm->devs + i, vm->devs + i + 1, (vm->ndevs - i - 1) * sizeof(*vm->devs));
		vm->ndevs--;
		pr_info("removing backend '%s' (plugin %s) at run time for %s", b->sec->name, b->plugin->desc->name,
		        dev_label(dev));
		dev_stop(b);
		dev_destroy(b);
		return 0;
	}
	return -ENOENT;
}
