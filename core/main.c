/* SPDX-License-Identifier: MIT */
/* modvmm: the command line. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "ctl/client.h"
#include "plugin/loader.h"
#include "log.h"
#include "modvmm-config.h"
#include "config/schema.h"
#include "vm/vm.h"

enum { OPT_JSON = 256, OPT_WATCH, OPT_INTERVAL, OPT_TIMEOUT, OPT_BACKEND, OPT_FORCE };

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: modvmm [OPTIONS] COMMAND [ARGS]\n"
	        "\n"
	        "A small KVM virtual machine monitor whose devices are plugins.\n"
	        "\n"
	        "Commands:\n"
	        "  run FILE.ini      launch the VM described by FILE.ini\n"
	        "  check FILE.ini    validate FILE.ini against the plugins' schemas and load\n"
	        "                    the plugins it names; start nothing\n"
	        "  plugins [NAME]    list the plugins found, or describe plugin NAME with its\n"
	        "                    configuration keys\n"
	        "\n"
	        "Commands for a running VM (through its control socket; VM is its [vm] name,\n"
	        "or the socket's path when it holds a '/'):\n"
	        "  list              the running VMs\n"
	        "  status VM         state, vCPUs, memory, devices and the commands they offer\n"
	        "  stats VM [DEVICE] live counters of the vCPUs and of each device or backend\n"
	        "  pause VM          stop the vCPUs (devices keep running)\n"
	        "  resume VM         let them run again\n"
	        "  stop VM           press the ACPI power button, stop the VM hard if the guest\n"
	        "                    has not powered off after --timeout seconds (at once with\n"
	        "                    --force or when paused), and wait until it exited\n"
	        "  events VM         print the VM's events until it exits\n"
	        "  swap VM DEVICE --backend PLUGIN [KEY=VALUE ...]\n"
	        "                    give a running NIC a new backend: a PLUGIN instance with\n"
	        "                    these keys; the old one is removed (the INI is not changed)\n"
	        "  command VM DEVICE NAME [ARG ...]\n"
	        "                    run a command a device offers (see 'status')\n"
	        "\n"
	        "Options:\n"
	        "  -P, --plugin-path DIR  search DIR for plugins first (repeatable)\n"
	        "  -v, --verbose          log more to stderr (-vv for debug)\n"
	        "  -h, --help             show this help\n"
	        "  -V, --version          show the version and plugin ABI\n"
	        "      --json             control commands: print the VM's JSON replies\n"
	        "      --watch            stats: again every --interval seconds (1)\n"
	        "      --interval SECS    the period of --watch\n"
	        "      --timeout SECS     stop: how long the guest gets to power off (30)\n"
	        "      --force            stop: at once, without the power button (as SIGTERM)\n"
	        "      --backend PLUGIN   swap: the new backend's plugin\n"
	        "\n"
	        "Options may come anywhere on the command line.\n"
	        "Plugin search order: [vm] plugin_path of the INI file, -P, $MODVMM_PLUGIN_PATH,\n"
	        "then %s (or the build tree's plugins/ when run uninstalled).\n"
	        "\n"
	        "Exit status: 'run' passes on the status the guest exits with (through a device),\n"
	        "and exits 0 on guest power-off or SIGINT/SIGTERM.  modvmm's own failures have\n"
	        "their own range:\n"
	        "  %d  bad command line\n"
	        "  %d  the INI file is refused (FILE:LINE: errors; also 'check'), or 'plugins'\n"
	        "       did not find NAME or refused a plugin file\n"
	        "  %d  the VM could not start (no usable /dev/kvm, resources, a plugin failed)\n"
	        "  %d  the VM failed (triple fault, KVM internal error; registers are dumped,\n"
	        "       guest RAM too into the folder $MODVMM_FAULT_DUMP when it is set)\n"
	        "The commands for a running VM exit 0, or %d when no VM answers or it refused\n"
	        "the request (the reason is printed).\n"
	        "See modvmm(1), modvmm.ini(5) and modvmm-plugin(7).\n",
	        MODVMM_PLUGIN_DIR, EXIT_USAGE, EXIT_CONFIG, EXIT_START, EXIT_VM_FAILURE, CLIENT_FAILED);
}

static void print_plugin(const struct plugin *p, bool keys)
{
	const struct modvmm_plugin *d = p->desc;
	printf("%-20s %-12s %s\n", d->name, plugins_kind_name(d->kind), d->description ? d->description : "");
	if (!keys)
		return;
	printf("  file: %s\n  ABI:  %u.%u\n  keys:\n", p->path, d->abi_major, d->abi_minor);
	printf("    %-16s %-9s %-12s %s\n", "plugin", "string", "(required)", "this plugin's name");
	for (const struct modvmm_key *k = d->keys; k && k->name; k++) {
		char def[64];
		if (k->flags & MODVMM_KEY_F_REQUIRED)
			snprintf(def, sizeof(def), "(required)");
		else
			snprintf(def, sizeof(def), "%s", k->def ? (*k->def ? k->def : "\"\"") : "(none)");
		printf("    %-16s %-9s %-12s %s", k->name, schema_type_name(k->type), def, k->help ? k->help : "");
		if (k->type == MODVMM_KEY_ENUM && k->choices)
			printf(" [%s]", k->choices);
		if (k->range && (k->type == MODVMM_KEY_U64 || k->type == MODVMM_KEY_SIZE || k->type == MODVMM_KEY_IRQ))
			printf(" (%s)", k->range);
		if (k->type == MODVMM_KEY_IOPORT)
			printf(" (%u port%s)", k->span ? k->span : 1, k->span > 1 ? "s" : "");
		printf("\n");
	}
}

static int cmd_plugins(struct plugin_set *set, const char *name)
{
	plugins_scan(set);
	char dirs[2048];
	plugins_dirs_str(set, dirs, sizeof(dirs));
	if (name) {
		const struct plugin *p = plugins_find(set, name);
		if (!p) {
			fprintf(stderr, "modvmm: plugin '%s' not found (searched %s)\n", name, dirs);
			return EXIT_CONFIG;
		}
		print_plugin(p, true);
		return 0;
	}
	printf("plugins found in %s:\n", dirs);
	for (size_t i = 0; i < set->n; i++)
		print_plugin(set->v[i], false);
	if (!set->n)
		printf("  (none)\n");
	return set->refused ? EXIT_CONFIG : 0;
}

/* Parse, find plugins, validate: every error of the file is printed, parse errors
 * included.  Returns 0 when the VM may start. */
static int load_config(struct config *cfg, struct plugin_set *set, const char *path, char **extra, int nextra)
{
	int ret = config_parse(cfg, path);
	if (ret && ret != -EINVAL)
		return -1; /* no file to check */
	if (config_plugin_dirs(cfg, set))
		return -1;
	for (int i = 0; i < nextra; i++)
		plugins_add_dir(set, extra[i]);
	plugins_add_default_dirs(set);
	return config_validate(cfg, set) || ret ? -1 : 0; /* loads the plugins it names */
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "plugin-path", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "watch", no_argument, NULL, OPT_WATCH },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ 0 },
	};
	struct client_opts co = { .interval = 1, .timeout = 30 };
	char *extra[16];
	int nextra = 0, c;
	/* GNU getopt permutes: options may follow the command ("run x.ini -v") */
	while ((c = getopt_long(argc, argv, "hVvP:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("modvmm %s (plugin ABI %d.%d)\n", MODVMM_VERSION, MODVMM_ABI_MAJOR, MODVMM_ABI_MINOR);
			return 0;
		case 'v':
			log_verbosity++;
			break;
		case 'P':
			if (nextra < 16)
				extra[nextra++] = optarg;
			break;
		case OPT_JSON:
			co.json = true;
			break;
		case OPT_WATCH:
			co.watch = true;
			break;
		case OPT_BACKEND:
			co.backend = optarg;
			break;
		case OPT_FORCE:
			co.force = true;
			break;
		case OPT_INTERVAL:
		case OPT_TIMEOUT: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > 86400) {
				fprintf(stderr, "modvmm: --%s wants seconds from 1 to 86400, not '%s'\n",
				        c == OPT_INTERVAL ? "interval" : "timeout", optarg);
				return EXIT_USAGE;
			}
			*(c == OPT_INTERVAL ? &co.interval : &co.timeout) = (unsigned)v;
			break;
		}
		default: /* getopt said what was wrong */
			fprintf(stderr, "modvmm: see 'modvmm --help'\n");
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "modvmm: no command given (run, check, plugins, or list, status, stats, pause, resume, stop, events, swap, command); see 'modvmm --help'\n");
		return EXIT_USAGE;
	}
	const char *cmd = argv[optind++];
	int nargs = argc - optind;
	if (client_is_command(cmd))
		return client_main(cmd, nargs, argv + optind, &co);
	if (co.json || co.watch || co.backend) {
		fprintf(stderr, "modvmm: --json, --watch and --backend go with the commands for a running VM\n");
		return EXIT_USAGE;
	}
	bool file_cmd = !strcmp(cmd, "run") || !strcmp(cmd, "check");
	if (strcmp(cmd, "plugins") && !file_cmd) {
		fprintf(stderr, "modvmm: unknown command '%s' (run, check, plugins, or list, status, stats, pause, resume, stop, events, swap, command); see 'modvmm --help'\n", cmd);
		return EXIT_USAGE;
	}
	if (file_cmd && nargs != 1) {
		fprintf(stderr, "modvmm: '%s' takes one FILE.ini, %s; see 'modvmm --help'\n", cmd,
		        nargs ? "got more" : "got none");
		return EXIT_USAGE;
	}
	if (!file_cmd && nargs > 1) {
		fprintf(stderr, "modvmm: 'plugins' takes at most one plugin NAME; see 'modvmm --help'\n");
		return EXIT_USAGE;
	}
	struct plugin_set set;
	plugins_init(&set);
	int status = EXIT_CONFIG;

	if (!file_cmd) {
		for (int i = 0; i < nextra; i++)
			plugins_add_dir(&set, extra[i]);
		plugins_add_default_dirs(&set);
		status = cmd_plugins(&set, nargs ? argv[optind] : NULL);
	} else {
		struct config cfg;
		if (load_config(&cfg, &set, argv[optind], extra, nextra) == 0) {
			if (!strcmp(cmd, "check")) {
				printf("%s: ok (%zu section%s)\n", cfg.path, cfg.nsections, cfg.nsections == 1 ? "" : "s");
				status = 0;
			} else {
				struct vm vm;
				status = EXIT_START;
				if (vm_create(&vm, &cfg, &set) == 0)
					status = vm_run(&vm);
				vm_destroy(&vm);
			}
		}
		config_free(&cfg);
	}
	plugins_free(&set);
	return status;
}
