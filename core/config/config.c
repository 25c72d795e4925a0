/* SPDX-License-Identifier: MIT */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "boot/boot.h"
#include "mem/devmem.h"
#include "pci/irq.h"
#include "plugin/loader.h"
#include "modvmm-config.h"
#include "config/schema.h"

const struct modvmm_key config_vm_keys[] = {
	{ .name = "name", .type = MODVMM_KEY_STRING, .def = "modvmm",
	  .help = "VM name (logs, devmem folder): letters, digits, '.', '_', '-'" },
	{ .name = "memory", .type = MODVMM_KEY_SIZE, .def = "256M", .help = "guest RAM, with K/M/G suffix" },
	{ .name = "vcpus", .type = MODVMM_KEY_U64, .def = "1", .help = "number of vCPUs", .range = "1-64" },
	{ .name = "kernel", .type = MODVMM_KEY_PATH, .help = "kernel to boot: a bzImage or a PVH ELF",
	  .flags = MODVMM_KEY_F_REQUIRED | MODVMM_KEY_F_EXISTS },
	{ .name = "cmdline", .type = MODVMM_KEY_STRING, .def = "", .help = "kernel command line" },
	{ .name = "initrd", .type = MODVMM_KEY_PATH, .help = "initial ramdisk", .flags = MODVMM_KEY_F_EXISTS },
	{ .name = "plugin_path", .type = MODVMM_KEY_STRING,
	  .help = "extra plugin directories, ':'-separated, relative to this file" },
	{ .name = "hugepages", .type = MODVMM_KEY_BOOL, .def = "false", .help = "back guest RAM with huge pages" },
	{ .name = "vcpu_affinity", .type = MODVMM_KEY_STRING,
	  .help = "host CPUs for the vCPU threads, e.g. 0,1 or 2-3: vCPU i runs on the i-th listed CPU (wrapping)" },
	{ .name = "control", .type = MODVMM_KEY_STRING, .def = "",
	  .help = "control socket path; default RUNDIR/NAME/control.sock, 'none': no socket" },
	{ 0 }
};

/* Port ranges the core itself decodes (PIC, PIT, PC speaker, ELCR, PCI config). */
static const struct { uint16_t base, len; const char *what; } core_ports[] = {
	{ 0x20, 2, "the master PIC" }, { 0x40, 4, "the PIT" }, { 0x61, 1, "port 0x61" },
	{ 0xa0, 2, "the slave PIC" }, { 0x4d0, 2, "the ELCR" }, { 0xcf8, 8, "PCI configuration access" },
	{ ACPI_SLEEP_CTL_PORT, ACPI_PORTS, "the ACPI sleep and reset registers" },
};

/* Interrupt lines the core drives itself: no device may claim them. */
static const struct { uint8_t base, len; const char *what; } core_irqs[] = {
	{ 0, 1, "the PIT" }, { IRQ_PIC_CASCADE, 1, "the PIC cascade" },
	{ ACPI_POWER_BUTTON_GSI, 1, "the ACPI power button" },
	{ IRQ_INTX_FIRST_GSI, IRQ_INTX_LINES, "PCI INTx (16-19)" },
};

struct parse_state {
	struct config *cfg;
	FILE *fp;
	int line;
	struct cfg_section *cur; /* NULL in an unknown section */
	bool in_section;
	char *buf;               /* the line being read (getline) */
	size_t cap;
};

/* Let libinih take lines of up to CONFIG_MAX_LINE characters.  Debian's libinih
 * has run-time settings for its line buffer (a fixed 200 bytes otherwise);
 * without them, longer lines are refused by reader() instead of being split. */
static void inih_setup(void)
{
#if HAVE_INIH_MAX_LINE
	ini_use_stack = false;
	ini_allow_realloc = false;
	ini_initial_alloc = CONFIG_MAX_LINE + 3;
	ini_max_line = CONFIG_MAX_LINE + 3;
#endif
}

/* Errors are kept and printed in line order by config_print_errors(). */
static void cfg_error(struct config *cfg, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cfg_error(struct config *cfg, int line, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	struct cfg_msg *m = n >= 0 ? realloc(cfg->msgs, (cfg->nmsgs + 1) * sizeof(*m)) : NULL;
	cfg->errors++;
	if (!m) {
		fprintf(stderr, "%s:%d: %s\n", cfg->path, line, n >= 0 ? text : fmt);
		free(text);
		return;
	}
	cfg->msgs = m;
	m[cfg->nmsgs] = (struct cfg_msg){ .line = line, .seq = cfg->nmsgs, .text = text };
	cfg->nmsgs++;
}

static int msg_cmp(const void *a, const void *b)
{
	const struct cfg_msg *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void config_print_errors(struct config *cfg)
{
	if (cfg->nmsgs)
		qsort(cfg->msgs, cfg->nmsgs, sizeof(*cfg->msgs), msg_cmp);
	for (size_t i = 0; i < cfg->nmsgs; i++) {
		fprintf(stderr, "%s:%d: %s\n", cfg->path, cfg->msgs[i].line, cfg->msgs[i].text);
		free(cfg->msgs[i].text);
	}
	free(cfg->msgs);
	cfg->msgs = NULL;
	cfg->nmsgs = 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static const char *section_label(const struct cfg_section *s, char *buf, size_t len)
{
	static const char *const kinds[] = { "vm", "device", "backend" };
	if (s->kind == SECTION_VM)
		snprintf(buf, len, "[vm]");
	else
		snprintf(buf, len, "[%s %s]", kinds[s->kind], s->name);
	return buf;
}

static void new_section(struct parse_state *ps, char *hdr)
{
	struct config *cfg = ps->cfg;
	ps->cur = NULL;
	ps->in_section = true;
	char *sp = hdr + strcspn(hdr, " \t");
	char *name = trim(sp);
	*sp = 0;
	enum section_kind kind;
	if (!strcmp(hdr, "vm") && !*name)
		kind = SECTION_VM;
	else if (!strcmp(hdr, "device") && *name)
		kind = SECTION_DEVICE;
	else if (!strcmp(hdr, "backend") && *name)
		kind = SECTION_BACKEND;
	else {
		if ((!strcmp(hdr, "device") || !strcmp(hdr, "backend")) && !*name)
			cfg_error(cfg, ps->line, "section [%s] needs a name, e.g. [%s %s0]", hdr, hdr,
			          hdr[0] == 'd' ? "dev" : "net");
		else
			cfg_error(cfg, ps->line, "unknown section [%s%s%s]; expected [vm], [device NAME] or [backend NAME]",
			          hdr, *name ? " " : "", name);
		return;
	}
	if (strpbrk(name, " \t")) {
		cfg_error(cfg, ps->line, "section name '%s' contains white space", name);
		return;
	}
	const char *key = kind == SECTION_VM ? "vm" : name;
	const struct cfg_section *prev = config_section(cfg, kind, key);
	if (prev) {
		char lbl[128];
		cfg_error(cfg, ps->line, "duplicate section %s (first at line %d)", section_label(prev, lbl, sizeof(lbl)), prev->line);
		return;
	}
	struct cfg_section *v = realloc(cfg->sections, (cfg->nsections + 1) * sizeof(*v));
	if (!v) {
		cfg_error(cfg, ps->line, "out of memory");
		return;
	}
	cfg->sections = v;
	ps->cur = &v[cfg->nsections++];
	*ps->cur = (struct cfg_section){ .kind = kind, .name = strdup(key), .line = ps->line };
}

/* A header line "[...]": open the section it names. */
static void header_line(struct parse_state *ps, const char *line)
{
	while (isspace((unsigned char)*line))
		line++;
	const char *end = line[0] == '[' ? strchr(line, ']') : NULL;
	if (!end)
		return;
	char *hdr = strndup(line + 1, (size_t)(end - line - 1));
	if (!hdr) {
		cfg_error(ps->cfg, ps->line, "out of memory");
		return;
	}
	new_section(ps, trim(hdr));
	free(hdr);
}

/* inih reader.  It reads whole lines itself (getline: any length), counts them and
 * tracks section headers, so sections without keys exist and every message
 * carries the right line.  A line libinih could not take whole (longer than its
 * buffer, or holding a NUL byte) is reported and handed over as an empty
 * comment: never cut in two. */
static char *reader(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	ssize_t n = getline(&ps->buf, &ps->cap, ps->fp);
	if (n < 0)
		return NULL;
	ps->line++;
	size_t len = (size_t)n, text = len - (len && ps->buf[len - 1] == '\n');
	bool nul = memchr(ps->buf, 0, len) != NULL;
	bool too_long = num < 3 || text > (size_t)num - 3; /* room for "\r\n\0", as libinih wants */
	if (nul || too_long) {
		if (nul)
			cfg_error(ps->cfg, ps->line, "this line contains a NUL byte; nothing of it was used");
		else
			cfg_error(ps->cfg, ps->line, "this line of %zu characters is too long (at most %d); nothing of it "
			          "was used", text, num - 3);
		if (ps->buf[strspn(ps->buf, " \t")] == '[') { /* a header: its keys belong to no section */
			ps->cur = NULL;
			ps->in_section = true;
		}
		snprintf(str, (size_t)num, ";\n");
		return str;
	}
	memcpy(str, ps->buf, len + 1);
	header_line(ps, str);
	return str;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
	struct parse_state *ps = user;
	struct config *cfg = ps->cfg;
	if (!ps->in_section) {
		cfg_error(cfg, ps->line, "'%s' is outside any section; put it under [vm] or a [device NAME]", key);
		return 1;
	}
	struct cfg_section *s = ps->cur;
	if (!s)
		return 1; /* unknown section, already reported */
	const struct cfg_entry *prev = config_get(s, key);
	if (prev) {
		cfg_error(cfg, ps->line, "duplicate key '%s' (first at line %d)", key, prev->line);
		return 1;
	}
	struct cfg_entry *e = realloc(s->entries, (s->nentries + 1) * sizeof(*e));
	if (!e) {
		cfg_error(cfg, ps->line, "out of memory");
		return 1;
	}
	s->entries = e;
	e[s->nentries++] = (struct cfg_entry){ .key = strdup(key), .value = strdup(value), .line = ps->line };
	return 1;
}

int config_parse(struct config *cfg, const char *path)
{
	*cfg = (struct config){ 0 };
	cfg->path = strdup(path);
	char *tmp = strdup(path);
	cfg->dir = strdup(dirname(tmp));
	free(tmp);
	struct parse_state ps = { .cfg = cfg };
	ps.fp = fopen(path, "r");
	if (!ps.fp) {
		int err = errno;
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(err));
		return err == ENOENT || err == EACCES || err == ENOMEM ? -err : -EIO;
	}
	inih_setup();
	int line = ini_parse_stream(reader, &ps, handler, &ps);
	fclose(ps.fp);
	free(ps.buf);
	if (line > 0)
		cfg_error(cfg, line, "syntax error: expected '[section]', 'key = value' or a comment");
	else if (line < 0)
		cfg_error(cfg, 1, "cannot parse (out of memory)");
	return cfg->errors ? -EINVAL : 0;
}

void config_free(struct config *cfg)
{
	config_print_errors(cfg);
	for (size_t i = 0; i < cfg->nsections; i++) {
		struct cfg_section *s = &cfg->sections[i];
		for (size_t j = 0; j < s->nentries; j++) {
			free(s->entries[j].key);
			free(s->entries[j].value);
		}
		free(s->entries);
		free(s->name);
	}
	free(cfg->sections);
	free(cfg->path);
	free(cfg->dir);
	*cfg = (struct config){ 0 };
}

const struct cfg_entry *config_get(const struct cfg_section *s, const char *key)
{
	for (size_t i = 0; s && i < s->nentries; i++)
		if (!strcmp(s->entries[i].key, key))
			return &s->entries[i];
	return NULL;
}

static const struct modvmm_key *section_keys(const struct cfg_section *s)
{
	if (s->kind == SECTION_VM)
		return config_vm_keys;
	return s->plugin ? s->plugin->desc->keys : NULL;
}

const char *config_value(const struct cfg_section *s, const char *key)
{
	const struct cfg_entry *e = config_get(s, key);
	if (e)
		return e->value;
	const struct modvmm_key *k = schema_find(section_keys(s), key);
	return k ? k->def : NULL;
}

int config_u64(const struct cfg_section *s, const char *key, uint64_t *out)
{
	const char *v = config_value(s, key);
	if (!v)
		return -ENOENT;
	const struct modvmm_key *k = schema_find(section_keys(s), key);
	return k && k->type == MODVMM_KEY_SIZE ? schema_parse_size(v, out) : schema_parse_u64(v, out);
}

const struct cfg_section *config_section(const struct config *cfg, enum section_kind kind, const char *name)
{
	for (size_t i = 0; i < cfg->nsections; i++)
		if (cfg->sections[i].kind == kind && !strcmp(cfg->sections[i].name, name))
			return &cfg->sections[i];
	return NULL;
}

int config_plugin_dirs(const struct config *cfg, struct plugin_set *plugins)
{
	const struct cfg_section *vm = config_section(cfg, SECTION_VM, "vm");
	const struct cfg_entry *e = config_get(vm, "plugin_path");
	if (!e)
		return 0;
	char *copy = strdup(e->value), *save = NULL;
	int ret = copy ? 0 : -ENOMEM;
	for (char *tok = copy ? strtok_r(copy, ":", &save) : NULL; tok && !ret; tok = strtok_r(NULL, ":", &save)) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s%s%s", tok[0] == '/' ? "" : cfg->dir, tok[0] == '/' ? "" : "/", tok);
		ret = plugins_add_dir(plugins, dir);
	}
	free(copy);
	return ret;
}

/* Make a PATH value absolute (relative to the INI file's folder). */
static int resolve_path(const struct config *cfg, struct cfg_entry *e)
{
	if (e->value[0] == '/' || !e->value[0])
		return 0;
	char buf[PATH_MAX];
	if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", cfg->dir, e->value) >= sizeof(buf))
		return -ENAMETOOLONG;
	char *v = strdup(buf);
	if (!v)
		return -ENOMEM;
	free(e->value);
	e->value = v;
	return 0;
}

static void check_value(struct config *cfg, struct cfg_entry *e, const struct modvmm_key *k);

/* Check the entries of one section against its schema. */
static void check_entries(struct config *cfg, struct cfg_section *s, const struct modvmm_key *keys, bool has_plugin_key)
{
	char lbl[128], err[PATH_MAX + 256];
	section_label(s, lbl, sizeof(lbl));
	for (size_t i = 0; i < s->nentries; i++) {
		struct cfg_entry *e = &s->entries[i];
		if (has_plugin_key && !strcmp(e->key, "plugin"))
			continue;
		const struct modvmm_key *k = schema_find(keys, e->key);
		if (!k) {
			e->bad = true;
			char known[512] = "";
			size_t off = 0;
			for (const struct modvmm_key *q = keys; q && q->name && off < sizeof(known); q++)
				off += (size_t)snprintf(known + off, sizeof(known) - off, "%s%s", off ? ", " : "", q->name);
			cfg_error(cfg, e->line, "unknown key '%s' in %s%s%s", e->key, lbl,
			          *known ? "; known keys: " : "", known);
			continue;
		}
		unsigned before = cfg->errors;
		if (schema_check(k, e->value, err, sizeof(err)))
			cfg_error(cfg, e->line, "%s", err);
		else
			check_value(cfg, e, k);
		e->bad = cfg->errors != before;
	}
	for (const struct modvmm_key *k = keys; k && k->name; k++)
		if ((k->flags & MODVMM_KEY_F_REQUIRED) && !config_get(s, k->name))
			cfg_error(cfg, s->line, "%s needs '%s = ...' (%s)", lbl, k->name, k->help ? k->help : k->name);
}

/* What a value must be beyond its type: an existing file, a [backend] section. */
static void check_value(struct config *cfg, struct cfg_entry *e, const struct modvmm_key *k)
{
	if (k->type == MODVMM_KEY_PATH) {
		if (resolve_path(cfg, e)) {
			cfg_error(cfg, e->line, "%s: path too long", e->key);
			return;
		}
		if ((k->flags & MODVMM_KEY_F_EXISTS) && access(e->value, R_OK)) {
			cfg_error(cfg, e->line, "%s = %s: %s", e->key, e->value, strerror(errno));
			return;
		}
	}
	if (k->type == MODVMM_KEY_BACKEND && !config_section(cfg, SECTION_BACKEND, e->value))
		cfg_error(cfg, e->line, "%s = %s: there is no [backend %s] section", e->key, e->value, e->value);
}

static void check_vm(struct config *cfg, struct cfg_section *s)
{
	check_entries(cfg, s, config_vm_keys, false);
	struct vm_config *vm = &cfg->vm;
	const struct cfg_entry *e;
	vm->name = config_value(s, "name");
	if ((e = config_get(s, "name")) && !devmem_name_ok(e->value))
		cfg_error(cfg, e->line, "name = %s: must be 1-64 letters, digits, '.', '_' or '-', not starting with '.'",
		          e->value);
	bool mem_ok = schema_parse_size(config_value(s, "memory"), &vm->memory) == 0;
	if (mem_ok && (vm->memory < (2ULL << 20) || (vm->memory & 0xfff) || vm->memory > (1ULL << 40))) {
		e = config_get(s, "memory");
		cfg_error(cfg, e ? e->line : s->line, "memory = %s: must be a multiple of 4K between 2M and 1T",
		          config_value(s, "memory"));
		mem_ok = false;
	}
	uint64_t n = 0;
	if (schema_parse_u64(config_value(s, "vcpus"), &n) == 0 && n <= VM_MAX_VCPUS)
		vm->vcpus = (unsigned)n; /* the schema's range refused other values */
	if ((e = config_get(s, "vcpu_affinity"))) {
		unsigned cpus[VM_MAX_VCPUS];
		if (schema_parse_cpulist(e->value, cpus, VM_MAX_VCPUS) < 0)
			cfg_error(cfg, e->line, "vcpu_affinity = %s: not a CPU list (e.g. 0,1 or 0-3)", e->value);
		vm->vcpu_affinity = e->value;
	}
	vm->cmdline = config_value(s, "cmdline");
	vm->initrd = config_value(s, "initrd");
	vm->plugin_path = config_value(s, "plugin_path");
	vm->control = config_value(s, "control");
	schema_parse_bool(config_value(s, "hugepages"), &vm->hugepages);
	vm->kernel = config_value(s, "kernel");
	e = config_get(s, "kernel");
	if (e && mem_ok && !access(e->value, R_OK)) {
		/* the kernel's format, then whether it, the cmdline and the initrd fit in RAM */
		char err[PATH_MAX + 256];
		const char *key = "kernel";
		struct boot_request req = { .kernel = e->value, .cmdline = vm->cmdline,
		                            .initrd = vm->initrd && !access(vm->initrd, R_OK) ? vm->initrd : NULL,
		                            .vcpus = vm->vcpus };
		if (boot_check(&req, vm->memory, &key, err, sizeof(err))) {
			const struct cfg_entry *ke = config_get(s, key);
			cfg_error(cfg, (ke ? ke : e)->line, "%s", err);
		}
	}
}

static void check_plugin_section(struct config *cfg, struct cfg_section *s, struct plugin_set *plugins)
{
	char lbl[128], dirs[2048];
	section_label(s, lbl, sizeof(lbl));
	const struct cfg_entry *pe = config_get(s, "plugin");
	if (!pe) {
		cfg_error(cfg, s->line, "%s has no 'plugin = NAME' key", lbl);
		return;
	}
	char why[PATH_MAX + 512];
	int ret = plugins_load_named(plugins, pe->value, why, sizeof(why));
	const struct plugin *p = plugins_find(plugins, pe->value);
	if (ret == -ENOENT && !why[0]) {
		plugins_dirs_str(plugins, dirs, sizeof(dirs));
		cfg_error(cfg, pe->line, "plugin '%s' not found (searched %s; see 'modvmm plugins')", pe->value, dirs);
		return;
	}
	if (!p) {
		cfg_error(cfg, pe->line, "plugin '%s' refused: %s", pe->value, why);
		return;
	}
	unsigned want = s->kind == SECTION_DEVICE ? MODVMM_KIND_DEVICE : MODVMM_KIND_NET_BACKEND;
	if (p->desc->kind != want) {
		cfg_error(cfg, pe->line, "plugin '%s' is a %s plugin, it cannot be used in %s", pe->value,
		          plugins_kind_name(p->desc->kind), lbl);
		return;
	}
	s->plugin = p;
	check_entries(cfg, s, p->desc->keys, true);
}

/* A claimed resource: an I/O port range, a PCI slot or an interrupt line. */
enum claim_kind { CLAIM_PORTS, CLAIM_SLOT, CLAIM_IRQ, CLAIM_KINDS };

struct claim {
	uint64_t base, len;
	const struct cfg_section *s;
	int line;
};

static void claim_str(const struct claim *c, enum claim_kind kind, char *buf, size_t len)
{
	if (kind == CLAIM_PORTS)
		snprintf(buf, len, "ports 0x%llx-0x%llx", (unsigned long long)c->base,
		         (unsigned long long)(c->base + c->len - 1));
	else if (kind == CLAIM_SLOT)
		snprintf(buf, len, "PCI slot %llu.%llu", (unsigned long long)(c->base / 8),
		         (unsigned long long)(c->base % 8));
	else
		snprintf(buf, len, "IRQ %llu", (unsigned long long)c->base);
}

static void check_claims(struct config *cfg, struct claim *c, size_t n, enum claim_kind kind)
{
	char a[128], b[128], ra[64], rb[64];
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++) {
			if (c[i].base >= c[j].base + c[j].len || c[j].base >= c[i].base + c[i].len)
				continue;
			claim_str(&c[i], kind, ra, sizeof(ra));
			claim_str(&c[j], kind, rb, sizeof(rb));
			cfg_error(cfg, c[i].line, "%s of %s overlaps %s of %s (line %d)", ra,
			          section_label(c[i].s, a, sizeof(a)), rb, section_label(c[j].s, b, sizeof(b)), c[j].line);
		}
	}
}

static bool is_claim(const struct modvmm_key *k)
{
	return k->type == MODVMM_KEY_IOPORT || k->type == MODVMM_KEY_PCI_SLOT || k->type == MODVMM_KEY_IRQ;
}

static bool core_port_conflict(struct config *cfg, const struct claim *c, const char *key, const char *v)
{
	for (size_t p = 0; p < sizeof(core_ports) / sizeof(core_ports[0]); p++) {
		if (c->base < core_ports[p].base + core_ports[p].len && core_ports[p].base < c->base + c->len) {
			cfg_error(cfg, c->line, "%s = %s: ports 0x%llx-0x%llx overlap %s", key, v,
			          (unsigned long long)c->base, (unsigned long long)(c->base + c->len - 1),
			          core_ports[p].what);
			return true;
		}
	}
	return false;
}

static bool core_irq_conflict(struct config *cfg, const struct claim *c, const char *key, const char *v)
{
	for (size_t i = 0; i < sizeof(core_irqs) / sizeof(core_irqs[0]); i++) {
		if (c->base >= core_irqs[i].base && c->base < (uint64_t)core_irqs[i].base + core_irqs[i].len) {
			cfg_error(cfg, c->line, "%s = %s: interrupt line %llu belongs to %s", key, v,
			          (unsigned long long)c->base, core_irqs[i].what);
			return true;
		}
	}
	return false;
}

/* The claim a key's value makes, into the list of its kind; false when it makes
 * none (a value the schema refused, or one refused here). */
static bool claim_of(struct config *cfg, const struct modvmm_key *k, const char *v, struct claim *c,
                     enum claim_kind *kind)
{
	unsigned slot, fn;
	if (!v)
		return false;
	switch (k->type) {
	case MODVMM_KEY_IOPORT:
		*kind = CLAIM_PORTS;
		return schema_parse_u64(v, &c->base) == 0 && !core_port_conflict(cfg, c, k->name, v);
	case MODVMM_KEY_IRQ:
		*kind = CLAIM_IRQ;
		c->len = 1;
		return schema_parse_u64(v, &c->base) == 0 && c->base < SCHEMA_IRQ_LINES &&
		       !core_irq_conflict(cfg, c, k->name, v);
	case MODVMM_KEY_PCI_SLOT:
		*kind = CLAIM_SLOT;
		if (schema_parse_pci_slot(v, &slot, &fn))
			return false;
		c->base = slot * 8 + fn;
		c->len = 1;
		if (slot == 0)
			cfg_error(cfg, c->line, "%s = %s: slot 0 is the host bridge", k->name, v);
		return slot != 0;
	default:
		return false;
	}
}

/* Two devices must not claim the same ports, PCI slot or interrupt line
 * (defaults included). */
static void check_resources(struct config *cfg)
{
	size_t n = 0, nclaims[CLAIM_KINDS] = { 0 };
	for (size_t i = 0; i < cfg->nsections; i++) {
		const struct cfg_section *s = &cfg->sections[i];
		for (const struct modvmm_key *k = s->plugin ? s->plugin->desc->keys : NULL; k && k->name; k++)
			n += is_claim(k);
	}
	struct claim *claims[CLAIM_KINDS];
	bool ok = true;
	for (int kind = 0; kind < CLAIM_KINDS; kind++)
		ok &= (claims[kind] = calloc(n + 1, sizeof(struct claim))) != NULL;
	for (size_t i = 0; ok && i < cfg->nsections; i++) {
		const struct cfg_section *s = &cfg->sections[i];
		for (const struct modvmm_key *k = s->plugin ? s->plugin->desc->keys : NULL; k && k->name; k++) {
			if (!is_claim(k))
				continue;
			const struct cfg_entry *e = config_get(s, k->name);
			struct claim c = { .s = s, .line = e ? e->line : s->line, .len = k->span ? k->span : 1 };
			enum claim_kind kind;
			if (claim_of(cfg, k, e ? e->value : k->def, &c, &kind))
				claims[kind][nclaims[kind]++] = c;
		}
	}
	for (int kind = 0; kind < CLAIM_KINDS; kind++) {
		if (ok)
			check_claims(cfg, claims[kind], nclaims[kind], kind);
		free(claims[kind]);
	}
}

/* ---- the plugins' validate() hooks ---- */

struct modvmm_check {
	struct config *cfg;
	const struct cfg_section *s;
	char *err;      /* a section made at run time: its first error goes here, not to cfg */
	size_t errlen;
	unsigned nerr;
};

/* A key refused by the schema reads as missing: the hook does not see it twice. */
static bool refused(struct modvmm_check *c, const char *key)
{
	const struct cfg_entry *e = key ? config_get(c->s, key) : NULL;
	return e && e->bad;
}

static const char *check_config_str(struct modvmm_check *c, const char *key)
{
	return key && !refused(c, key) ? config_value(c->s, key) : NULL;
}

static int check_config_u64(struct modvmm_check *c, const char *key, uint64_t *out)
{
	if (refused(c, key))
		return -EINVAL;
	return key ? config_u64(c->s, key, out) : -ENOENT;
}

static void check_error(struct modvmm_check *c, const char *key, const char *fmt, ...) MODVMM_PRINTF(3, 4);
static void check_error(struct modvmm_check *c, const char *key, const char *fmt, ...)
{
	char msg[1024], lbl[128];
	if (refused(c, key))
		return; /* already reported */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	const struct cfg_entry *e = key ? config_get(c->s, key) : NULL;
	const char *v = key ? config_value(c->s, key) : NULL;
	section_label(c->s, lbl, sizeof(lbl));
	if (c->err) {
		if (c->nerr++)
			return;
		if (e)
			snprintf(c->err, c->errlen, "%s = %s: %s", key, e->value, msg);
		else
			snprintf(c->err, c->errlen, "%s%s%s", key ? key : "", key ? ": " : "", msg);
		return;
	}
	if (e)
		cfg_error(c->cfg, e->line, "%s = %s: %s", key, e->value, msg);
	else if (key)
		cfg_error(c->cfg, c->s->line, "%s: %s = %s (the default): %s", lbl, key, v ? v : "", msg);
	else
		cfg_error(c->cfg, c->s->line, "%s: %s", lbl, msg);
}

static const struct modvmm_plugin *check_backend_plugin(struct modvmm_check *c, const char *key)
{
	const struct modvmm_key *k = c->s->plugin ? schema_find(c->s->plugin->desc->keys, key) : NULL;
	const char *name = check_config_str(c, key);
	if (!k || k->type != MODVMM_KEY_BACKEND || !name)
		return NULL;
	const struct cfg_section *b = config_section(c->cfg, SECTION_BACKEND, name);
	return b && b->plugin ? b->plugin->desc : NULL;
}

static const struct modvmm_check_ops check_ops = {
	.size = sizeof(struct modvmm_check_ops),
	.config_str = check_config_str,
	.config_u64 = check_config_u64,
	.error = check_error,
	.backend_plugin = check_backend_plugin,
};

static void run_validate(struct config *cfg, const struct cfg_section *s)
{
	const struct modvmm_plugin *d = s->plugin->desc;
	if (!d->validate)
		return;
	struct modvmm_check c = { .cfg = cfg, .s = s };
	unsigned before = cfg->errors;
	if (d->validate(&check_ops, &c) && cfg->errors == before)
		cfg_error(cfg, s->line, "plugin '%s' refuses this section without saying why", d->name);
}

int config_validate_runtime(struct config *cfg, const struct cfg_section *s, char *err, size_t errlen)
{
	const struct modvmm_plugin *d = s->plugin->desc;
	struct modvmm_check c = { .cfg = cfg, .s = s, .err = err, .errlen = errlen };
	if (!d->validate || !d->validate(&check_ops, &c))
		return c.nerr ? -EINVAL : 0;
	if (!c.nerr)
		snprintf(err, errlen, "plugin '%s' refuses these keys without saying why", d->name);
	return -EINVAL;
}

/* The entry of section s that sets a MODVMM_KEY_BACKEND key, or NULL (from index *j). */
static const struct cfg_entry *next_backend_key(const struct cfg_section *s, size_t *j)
{
	for (; s->plugin && *j < s->nentries; (*j)++) {
		const struct modvmm_key *k = schema_find(s->plugin->desc->keys, s->entries[*j].key);
		if (k && k->type == MODVMM_KEY_BACKEND && !s->entries[*j].bad)
			return &s->entries[(*j)++];
	}
	return NULL;
}

/* A backend serves one device: a second key naming it is refused. */
static void check_backend_users(struct config *cfg)
{
	char lbl[128];
	for (size_t i = 0; i < cfg->nsections; i++) {
		const struct cfg_section *s = &cfg->sections[i];
		const struct cfg_entry *e;
		for (size_t j = 0; (e = next_backend_key(s, &j));) {
			/* the first key naming the same backend, in file order */
			const struct cfg_entry *first = NULL, *f;
			const struct cfg_section *fs = NULL;
			for (size_t a = 0; a < cfg->nsections && !first; a++)
				for (size_t b = 0; (f = next_backend_key(&cfg->sections[a], &b)) && !first;)
					if (!strcmp(f->value, e->value)) {
						first = f;
						fs = &cfg->sections[a];
					}
			if (first != e)
				cfg_error(cfg, e->line, "%s = %s: [backend %s] already serves %s (line %d); a backend serves "
				          "one device", e->key, e->value, e->value, section_label(fs, lbl, sizeof(lbl)),
				          first->line);
		}
	}
}

int config_validate(struct config *cfg, struct plugin_set *plugins)
{
	unsigned before = cfg->errors;
	struct cfg_section *vm = (struct cfg_section *)config_section(cfg, SECTION_VM, "vm");
	if (!vm)
		cfg_error(cfg, 1, "no [vm] section; it must at least set 'kernel = FILE'");
	else
		check_vm(cfg, vm);
	for (size_t i = 0; i < cfg->nsections; i++)
		if (cfg->sections[i].kind != SECTION_VM)
			check_plugin_section(cfg, &cfg->sections[i], plugins);
	/* then the plugins' own rules, once every backend section has its plugin */
	for (size_t i = 0; i < cfg->nsections; i++)
		if (cfg->sections[i].plugin)
			run_validate(cfg, &cfg->sections[i]);
	check_backend_users(cfg);
	check_resources(cfg);
	config_print_errors(cfg);
	return cfg->errors > before ? -1 : 0;
}
