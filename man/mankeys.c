/* SPDX-License-Identifier: MIT */
/*
 * Build-time generator of modvmm.ini(5): copies the template, replacing the
 * line ".\" @KEYS@" with the keys of [vm] and of every plugin given, read from
 * their own schemas, so the manual cannot disagree with `modvmm plugins`.
 * usage: mankeys TEMPLATE PLUGIN.so...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "plugin/loader.h"
#include "config/schema.h"

/* roff-escape: backslashes, and a leading '.' or '\'' */
static void put(const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", stdout);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
	}
}

static void keys(const struct modvmm_key *k, bool plugin_key)
{
	if (plugin_key)
		printf(".TP\n.B plugin\n(string, required) this plugin's name.\n");
	for (; k && k->name; k++) {
		printf(".TP\n.B ");
		put(k->name);
		printf("\n(%s", schema_type_name(k->type));
		if (k->flags & MODVMM_KEY_F_REQUIRED)
			printf(", required");
		else if (k->def && *k->def) {
			printf(", default ");
			put(k->def);
		}
		if (k->range) {
			printf(", ");
			put(k->range);
		}
		if (k->type == MODVMM_KEY_IOPORT)
			printf(", %u port%s", k->span ? k->span : 1, k->span > 1 ? "s" : "");
		printf(")\n");
		if (k->help)
			put(k->help);
		if (k->type == MODVMM_KEY_ENUM && k->choices) {
			printf("; one of ");
			put(k->choices);
		}
		printf(".\n");
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct plugin *const *)a)->desc->name, (*(struct plugin *const *)b)->desc->name);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: mankeys TEMPLATE PLUGIN.so...\n");
		return 2;
	}
	FILE *t = fopen(argv[1], "r");
	if (!t) {
		perror(argv[1]);
		return 1;
	}
	struct plugin_set set;
	char err[1024], line[4096];
	plugins_init(&set);
	for (int i = 2; i < argc; i++) {
		if (plugins_load_file(&set, argv[i], err, sizeof(err))) {
			fprintf(stderr, "mankeys: %s\n", err);
			return 1;
		}
	}
	if (set.n)
		qsort(set.v, set.n, sizeof(*set.v), by_name);
	while (fgets(line, sizeof(line), t)) {
		if (strcmp(line, ".\\\" GENERATED-KEYS\n")) {
			fputs(line, stdout);
			continue;
		}
		printf(".SS [vm]\nOne per file.\n");
		keys(config_vm_keys, false);
		for (unsigned kind = MODVMM_KIND_DEVICE; kind <= MODVMM_KIND_NET_BACKEND; kind++) {
			for (size_t i = 0; i < set.n; i++) {
				const struct modvmm_plugin *d = set.v[i]->desc;
				if (d->kind != kind)
					continue;
				printf(".SS [%s NAME], plugin = ", kind == MODVMM_KIND_DEVICE ? "device" : "backend");
				put(d->name);
				printf("\n");
				put(d->description ? d->description : "");
				printf(".\n");
				keys(d->keys, true);
			}
		}
	}
	fclose(t);
	plugins_free(&set);
	return 0;
}
