/* SPDX-License-Identifier: MIT */
/*
 * The control socket's protocol: one JSON object per line each way.
 *
 *   server, on connect:  {"greeting": {"program": "modvmm", "version": V,
 *                         "protocol": CTL_PROTOCOL, "vm": NAME}}
 *   client request:      {"cmd": C, "id": ANY, ...}           (README "Control socket")
 *   server reply:        {"id": ANY, "ok": true, "result": {...}}
 *                        {"id": ANY, "ok": false, "error": "why"}
 *   server event:        {"event": E, "time": SECONDS, ...}   (after "events")
 *
 * Parsing is pure (no VM, no socket): the fuzzer and the unit tests call it.
 */
#ifndef MODVMM_CTL_PROTO_H
#define MODVMM_CTL_PROTO_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define CTL_PROTOCOL  1        /* bumped on an incompatible change */
#define CTL_MAX_LINE  65536    /* bytes of one request, newline excluded */
#define CTL_MAX_ARGS  32
#define CTL_MAX_ARG   1024     /* bytes of one argument */
#define CTL_NAME_MAX  64       /* device and command names */
#define CTL_STOP_GRACE_DEFAULT 30   /* "stop": seconds for the guest to power off */
#define CTL_STOP_GRACE_MAX     3600

enum ctl_cmd { CTL_HELLO, CTL_STATUS, CTL_STATS, CTL_PAUSE, CTL_RESUME, CTL_STOP, CTL_EVENTS, CTL_COMMAND };

struct ctl_req {
	enum ctl_cmd cmd;
	json_t *id;                      /* echoed in the reply; NULL when absent */
	char device[CTL_NAME_MAX + 1];   /* "" when absent */
	char name[CTL_NAME_MAX + 1];     /* "command": the plugin command */
	unsigned argc;
	char *argv[CTL_MAX_ARGS];
	int64_t protocol;                /* "hello" */
	bool force;                      /* "stop": at once, no power button */
	int64_t grace;                   /* "stop": seconds the guest gets to power off (-1: default) */
};

/* Parse one request line (without its newline).  0, or -EINVAL with the reason
 * in err; *r needs ctl_req_free() either way. */
int ctl_req_parse(const char *line, size_t len, struct ctl_req *r, char *err, size_t errlen);
void ctl_req_free(struct ctl_req *r);
const char *ctl_cmd_name(enum ctl_cmd c);

/* Lines to send, newline included, malloc'd (NULL when out of memory).
 * `result` and `data` are consumed (may be NULL). */
char *ctl_reply_ok(const json_t *id, json_t *result);
char *ctl_reply_err(const json_t *id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *ctl_event_line(const char *name, json_t *data);
char *ctl_greeting(const char *vmname);

#endif
