/* SPDX-License-Identifier: MIT */
/* The control socket of a running VM (vmctl.h): status, stats, pause, resume,
 * stop, events and the plugins' commands. */
#include "ctl/vmctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/epoll.h>
#include <sys/timerfd.h>

#include "acpi/acpi_vm.h"
#include "config/config.h"
#include "ctl/proto.h"
#include "ctl/server.h"
#include "log.h"
#include "mem/devmem.h"
#include "plugin/dev.h"
#include "plugin/loader.h"
#include "vm/vcpu.h"
#include "vm/vm.h"

#define REPLY_MAX 4096   /* bytes of a command's reply text */

struct vmctl {
	struct vm *vm;
	struct ctl_server *srv;
	int stop_timer;          /* timerfd: the power button's grace ends (-1: none armed) */
};

int vmctl_default_path(const char *name, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s/%s/%s", devmem_root(), name, VMCTL_SOCKET_NAME);
	return n < len ? 0 : -ENAMETOOLONG;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vmctl_event(struct vm *vm, const char *name, json_t *data)
{
	if (!vm->ctl) {
		json_decref(data);
		return;
	}
	char *line = ctl_event_line(name, data);
	if (line)
		ctl_server_broadcast(vm->ctl->srv, line);
	free(line);
}

static bool has_21(const struct modvmm_dev *d)
{
	return d->plugin->desc->abi_minor >= 1;
}

static json_t *commands_of(const struct modvmm_dev *d)
{
	json_t *a = json_array();
	const struct modvmm_command *c = has_21(d) ? d->plugin->desc->commands : NULL;
	for (; a && c && c->name; c++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name", c->name, "usage", c->usage ? c->usage : "",
		                                   "help", c->help ? c->help : ""));
	return a;
}

static json_t *status(struct vm *vm)
{
	json_t *devs = json_array();
	for (size_t i = 0; devs && i < vm->ndevs; i++) {
		const struct modvmm_dev *d = vm->devs[i];
		json_array_append_new(devs, json_pack("{s:s, s:s, s:s, s:o}", "name", d->sec->name, "kind",
		                                      d->sec->kind == SECTION_BACKEND ? "backend" : "device", "plugin",
		                                      d->plugin->desc->name, "commands", commands_of(d)));
	}
	return json_pack("{s:s, s:s, s:i, s:f, s:i, s:I, s:s, s:s, s:o}", "vm", vm->cfg->vm.name, "state",
	                 vm_paused(vm) ? "paused" : "running", "pid", (int)getpid(), "uptime_s",
	                 (double)(now_ns() - vm->start_ns) / 1e9, "vcpus", (int)vm->nvcpus, "memory",
	                 (json_int_t)vm->cfg->vm.memory, "kernel", vm->cfg->vm.kernel, "socket",
	                 ctl_server_path(vm->ctl->srv), "devices", devs);
}

static void put_counter(void *ctx, const char *name, uint64_t value)
{
	if (name)
		json_object_set_new(ctx, name, json_integer((json_int_t)value));
}

static json_t *stats(struct vm *vm, const char *device, char *err, size_t errlen)
{
	json_t *devs = json_array(), *cpus = json_array();
	for (size_t i = 0; devs && i < vm->ndevs; i++) {
		const struct modvmm_dev *d = vm->devs[i];
		if (*device && strcmp(device, d->sec->name))
			continue;
		json_t *c = json_object();
		if (has_21(d) && d->plugin->desc->stats && d->started)
			d->plugin->desc->stats(d->priv, put_counter, c);
		json_array_append_new(devs, json_pack("{s:s, s:s, s:o}", "name", d->sec->name, "plugin",
		                                      d->plugin->desc->name, "counters", c));
	}
	if (*device && devs && !json_array_size(devs)) {
		snprintf(err, errlen, "no device or backend named '%s'", device);
		json_decref(devs);
		json_decref(cpus);
		return NULL;
	}
	for (unsigned i = 0; cpus && !*device && i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		json_array_append_new(cpus, json_pack("{s:i, s:I, s:I, s:I}", "id", (int)i, "exits",
		                                      (json_int_t)atomic_load(&v->exits), "exits_io",
		                                      (json_int_t)atomic_load(&v->exits_io), "exits_mmio",
		                                      (json_int_t)atomic_load(&v->exits_mmio)));
	}
	return json_pack("{s:o, s:o}", "vcpus", cpus, "devices", devs);
}

struct reply_buf {
	char text[REPLY_MAX];
	size_t len;
};

static void cmd_reply(const struct modvmm_cmd_args *a, const char *fmt, ...)
{
	struct reply_buf *b = a->ctx;
	if (b->len >= sizeof(b->text) - 1)
		return;
	if (b->len)
		b->text[b->len++] = '\n';
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->text + b->len, sizeof(b->text) - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < sizeof(b->text) - b->len ? (size_t)n : sizeof(b->text) - b->len - 1;
}

static struct modvmm_dev *find_dev(struct vm *vm, const char *name)
{
	for (size_t i = 0; i < vm->ndevs; i++)
		if (!strcmp(vm->devs[i]->sec->name, name))
			return vm->devs[i];
	return NULL;
}

static char *command(struct vm *vm, const struct ctl_req *r)
{
	struct modvmm_dev *d = find_dev(vm, r->device);
	if (!d)
		return ctl_reply_err(r->id, "no device or backend named '%s'", r->device);
	const struct modvmm_command *c = has_21(d) ? d->plugin->desc->commands : NULL;
	while (c && c->name && strcmp(c->name, r->name))
		c++;
	if (!c || !c->name || !c->run)
		return ctl_reply_err(r->id, "%s (plugin %s) has no command '%s'", r->device, d->plugin->desc->name,
		                     r->name);
	if (!d->started)
		return ctl_reply_err(r->id, "%s is not running", r->device);
	static struct reply_buf buf;
	buf.len = 0;
	buf.text[0] = 0;
	struct modvmm_cmd_args a = { .size = sizeof(a), .argc = r->argc, .argv = (const char *const *)r->argv,
	                             .reply = cmd_reply, .ctx = &buf };
	int ret = c->run(d->priv, &a);
	vmctl_event(vm, "command", json_pack("{s:s, s:s, s:b, s:s}", "device", r->device, "name", r->name, "ok",
	                                     ret == 0, "message", buf.text));
	if (ret)
		return ctl_reply_err(r->id, "%s %s: %s%s%s", r->device, r->name, buf.len ? buf.text : "",
		                     buf.len ? ": " : "", strerror(ret < 0 ? -ret : ret));
	return ctl_reply_ok(r->id, json_pack("{s:s}", "message", buf.text));
}

static char *pause_resume(struct vm *vm, const struct ctl_req *r)
{
	bool pause = r->cmd == CTL_PAUSE;
	if (pause == vm_paused(vm))
		return ctl_reply_ok(r->id, json_pack("{s:s, s:b}", "state", pause ? "paused" : "running", "changed", 0));
	if (pause) {
		int ret = vm_pause(vm);
		if (ret)
			return ctl_reply_err(r->id, "the vCPUs did not all stop: %s", strerror(-ret));
	} else {
		vm_resume(vm);
	}
	vmctl_event(vm, pause ? "paused" : "resumed", NULL);
	return ctl_reply_ok(r->id, json_pack("{s:s, s:b}", "state", pause ? "paused" : "running", "changed", 1));
}

static void stop_timer_fired(void *opaque, int fd, uint32_t events)
{
	struct vmctl *ctl = opaque;
	uint64_t n;
	(void)events;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	pr_warn("control socket: the guest did not power off after the power button: stopping it");
	vmctl_event(ctl->vm, "stopping", json_pack("{s:s}", "reason", "no power-off after the power button"));
	vm_stop(ctl->vm, 0);
}

/* stop: the power button, and a hard stop when the grace runs out; at once
 * when asked (force), when the VM is paused (nobody could press back) or when
 * the button cannot be pressed.  *hard: stop after the reply is sent. */
static char *stop(struct vmctl *ctl, const struct ctl_req *r, bool *hard)
{
	struct vm *vm = ctl->vm;
	int64_t grace = r->grace >= 0 ? r->grace : CTL_STOP_GRACE_DEFAULT;
	*hard = r->force || vm_paused(vm) || grace == 0;
	if (!*hard && acpi_vm_power_button(vm) == 0) {
		if (ctl->stop_timer < 0) {
			ctl->stop_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
			if (ctl->stop_timer >= 0 &&
			    evloop_watch(&vm->loop, ctl->stop_timer, EPOLLIN, stop_timer_fired, ctl, ctl)) {
				close(ctl->stop_timer);
				ctl->stop_timer = -1;
			}
		}
		struct itimerspec its = { .it_value = { .tv_sec = (time_t)grace } };
		if (ctl->stop_timer >= 0 && timerfd_settime(ctl->stop_timer, 0, &its, NULL) == 0) {
			pr_info("control socket: stop: power button pressed; a hard stop in %lld s", (long long)grace);
			vmctl_event(vm, "power-button", json_pack("{s:I}", "grace", (json_int_t)grace));
			return ctl_reply_ok(r->id, json_pack("{s:s, s:s, s:I}", "state", "stopping", "how", "power button",
			                                     "grace", (json_int_t)grace));
		}
	}
	*hard = true;
	pr_info("control socket: stop requested");
	vmctl_event(vm, "stopping", json_pack("{s:s}", "reason", "stop requested"));
	return ctl_reply_ok(r->id, json_pack("{s:s, s:s}", "state", "stopping", "how", "at once"));
}

static void on_line(void *opaque, struct ctl_client *c, const char *line, size_t len)
{
	struct vmctl *ctl = opaque;
	struct vm *vm = ctl->vm;
	struct ctl_req r;
	bool hard_stop = false;
	char err[256], *out = NULL;
	if (ctl_req_parse(line, len, &r, err, sizeof(err))) {
		out = ctl_reply_err(r.id, "%s", err);
		ctl_req_free(&r);
		ctl_client_send(c, out);
		return;
	}
	switch (r.cmd) {
	case CTL_HELLO:
		out = r.protocol == CTL_PROTOCOL
		              ? ctl_reply_ok(r.id, json_pack("{s:i}", "protocol", CTL_PROTOCOL))
		              : ctl_reply_err(r.id, "protocol %lld is not spoken here (this modvmm speaks %d)",
		                              (long long)r.protocol, CTL_PROTOCOL);
		break;
	case CTL_STATUS:
		out = ctl_reply_ok(r.id, status(vm));
		break;
	case CTL_STATS: {
		json_t *s = stats(vm, r.device, err, sizeof(err));
		out = s ? ctl_reply_ok(r.id, s) : ctl_reply_err(r.id, "%s", err);
		break;
	}
	case CTL_PAUSE:
	case CTL_RESUME:
		out = pause_resume(vm, &r);
		break;
	case CTL_STOP:
		out = stop(ctl, &r, &hard_stop);
		break;
	case CTL_EVENTS:
		ctl_client_subscribe(c);
		out = ctl_reply_ok(r.id, json_pack("{s:b}", "subscribed", 1));
		break;
	case CTL_COMMAND:
		out = command(vm, &r);
		break;
	}
	ctl_req_free(&r);
	ctl_client_send(c, out); /* may drop c: not used after this */
	if (hard_stop)
		vm_stop(vm, 0);
}

int vmctl_open(struct vm *vm)
{
	const char *want = vm->cfg->vm.control;
	if (want && !strcmp(want, "none"))
		return 0;
	char path[DEVMEM_PATH_MAX], dir[DEVMEM_PATH_MAX];
	if (want && *want) {
		snprintf(path, sizeof(path), "%s", want);
	} else {
		snprintf(dir, sizeof(dir), "%s/%s", devmem_root(), vm->cfg->vm.name);
		if (vmctl_default_path(vm->cfg->vm.name, path, sizeof(path)) || devmem_mkdir_p(dir)) {
			pr_warn("control socket: cannot create the folder %s: %s; running without one", dir, strerror(errno));
			return 0;
		}
	}
	struct vmctl *ctl = calloc(1, sizeof(*ctl));
	char *greeting = ctl_greeting(vm->cfg->vm.name);
	if (!ctl || !greeting) {
		free(ctl);
		free(greeting);
		return -ENOMEM;
	}
	ctl->vm = vm;
	ctl->stop_timer = -1;
	int ret = ctl_server_open(&ctl->srv, &vm->loop, path, greeting, on_line, ctl);
	free(greeting);
	if (ret) {
		pr_warn("control socket %s: %s; running without one", path,
		        ret == -EADDRINUSE ? "another VM answers there (give this one another [vm] name or control path)"
		                           : strerror(-ret));
		free(ctl);
		return 0;
	}
	vm->ctl = ctl;
	pr_info("control socket %s", path);
	return 0;
}

void vmctl_close(struct vm *vm)
{
	if (!vm->ctl)
		return;
	char path[DEVMEM_PATH_MAX];
	snprintf(path, sizeof(path), "%s", ctl_server_path(vm->ctl->srv));
	ctl_server_close(vm->ctl->srv);
	if (vm->ctl->stop_timer >= 0) {
		evloop_unwatch(&vm->loop, vm->ctl->stop_timer);
		close(vm->ctl->stop_timer);
	}
	free(vm->ctl);
	vm->ctl = NULL;
	const char *want = vm->cfg->vm.control;
	char *slash = strrchr(path, '/');
	if ((!want || !*want) && slash) { /* the default folder, when nothing else lives there */
		*slash = 0;
		rmdir(path);
	}
}
