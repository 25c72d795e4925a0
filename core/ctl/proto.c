/* SPDX-License-Identifier: MIT */
/* The control socket's JSON lines (proto.h), with jansson. */
#include "ctl/proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "modvmm-config.h"

#define REAL_DIGITS 13   /* significant digits of times: milliseconds of a Unix time */

static const char *const cmd_names[] = {
	[CTL_HELLO] = "hello", [CTL_STATUS] = "status", [CTL_STATS] = "stats", [CTL_PAUSE] = "pause",
	[CTL_RESUME] = "resume", [CTL_STOP] = "stop", [CTL_EVENTS] = "events", [CTL_COMMAND] = "command",
};
#define NCMDS (sizeof(cmd_names) / sizeof(cmd_names[0]))

const char *ctl_cmd_name(enum ctl_cmd c)
{
	return (unsigned)c < NCMDS ? cmd_names[c] : "?";
}

static int bad(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A JSON string without NUL bytes, at most max bytes. */
static const char *short_string(const json_t *v, size_t max)
{
	if (!json_is_string(v))
		return NULL;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	return n <= max && strlen(s) == n ? s : NULL;
}

static int take_name(const json_t *v, const char *key, char *out, char *err, size_t errlen)
{
	const char *s = short_string(v, CTL_NAME_MAX);
	if (!s || !*s)
		return bad(err, errlen, "\"%s\" wants a name of 1-%d characters", key, CTL_NAME_MAX);
	strcpy(out, s);
	return 0;
}

static int take_args(struct ctl_req *r, const json_t *v, char *err, size_t errlen)
{
	if (!json_is_array(v) || json_array_size(v) > CTL_MAX_ARGS)
		return bad(err, errlen, "\"args\" wants an array of at most %d strings", CTL_MAX_ARGS);
	for (size_t i = 0; i < json_array_size(v); i++) {
		const char *s = short_string(json_array_get(v, i), CTL_MAX_ARG);
		if (!s)
			return bad(err, errlen, "\"args\"[%zu]: not a string of at most %d bytes", i, CTL_MAX_ARG);
		if (!(r->argv[r->argc] = strdup(s)))
			return bad(err, errlen, "out of memory");
		r->argc++;
	}
	return 0;
}

static int take_int(const json_t *v, const char *key, int64_t max, int64_t *out, char *err, size_t errlen)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return bad(err, errlen, "\"%s\" wants an integer from 0 to %lld", key, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

static int take_field(struct ctl_req *r, const char *key, const json_t *v, char *err, size_t errlen)
{
	if (!strcmp(key, "cmd"))
		return 0; /* read first */
	if (!strcmp(key, "id")) {
		if (json_is_object(v) || json_is_array(v))
			return bad(err, errlen, "\"id\" wants a number, a string, a boolean or null");
		r->id = json_incref((json_t *)v);
		return 0;
	}
	if (!strcmp(key, "device") && (r->cmd == CTL_STATS || r->cmd == CTL_COMMAND))
		return take_name(v, key, r->device, err, errlen);
	if (!strcmp(key, "name") && r->cmd == CTL_COMMAND)
		return take_name(v, key, r->name, err, errlen);
	if (!strcmp(key, "args") && r->cmd == CTL_COMMAND)
		return take_args(r, v, err, errlen);
	if (!strcmp(key, "protocol") && r->cmd == CTL_HELLO)
		return take_int(v, key, INT32_MAX, &r->protocol, err, errlen);
	if (!strcmp(key, "force") && r->cmd == CTL_STOP) {
		if (!json_is_boolean(v))
			return bad(err, errlen, "\"force\" wants true or false");
		r->force = json_is_true(v);
		return 0;
	}
	if (!strcmp(key, "grace") && r->cmd == CTL_STOP)
		return take_int(v, key, CTL_STOP_GRACE_MAX, &r->grace, err, errlen);
	return bad(err, errlen, "unknown field \"%.64s\" for \"%s\"", key, ctl_cmd_name(r->cmd));
}

int ctl_req_parse(const char *line, size_t len, struct ctl_req *r, char *err, size_t errlen)
{
	*r = (struct ctl_req){ .protocol = -1, .grace = -1 };
	if (len > CTL_MAX_LINE)
		return bad(err, errlen, "request longer than %d bytes", CTL_MAX_LINE);
	json_error_t je;
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return bad(err, errlen, "not JSON: %s (column %d)", je.text, je.column);
	int ret = 0;
	const char *cmd = short_string(json_object_get(o, "cmd"), CTL_NAME_MAX);
	if (!json_is_object(o)) {
		ret = bad(err, errlen, "a request is a JSON object");
	} else if (!cmd) {
		ret = bad(err, errlen, "no \"cmd\" string");
	} else {
		size_t i = 0;
		while (i < NCMDS && strcmp(cmd, cmd_names[i]))
			i++;
		if (i == NCMDS)
			ret = bad(err, errlen, "unknown command \"%s\"", cmd);
		r->cmd = (enum ctl_cmd)i;
	}
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		if (ret)
			break;
		ret = take_field(r, key, v, err, errlen);
	}
	if (!ret && r->cmd == CTL_COMMAND && (!r->device[0] || !r->name[0]))
		ret = bad(err, errlen, "\"command\" needs \"device\" and \"name\"");
	if (!ret && r->cmd == CTL_HELLO && r->protocol < 0)
		ret = bad(err, errlen, "\"hello\" needs \"protocol\"");
	json_decref(o);
	return ret;
}

void ctl_req_free(struct ctl_req *r)
{
	json_decref(r->id);
	for (unsigned i = 0; i < r->argc; i++)
		free(r->argv[i]);
	*r = (struct ctl_req){ 0 };
}

/* Serialize and add the newline; consumes o. */
static char *line_of(json_t *o)
{
	if (!o)
		return NULL;
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(REAL_DIGITS));
	json_decref(o);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *l = realloc(s, n + 2);
	if (!l) {
		free(s);
		return NULL;
	}
	l[n] = '\n';
	l[n + 1] = 0;
	return l;
}

static json_t *with_id(const json_t *id)
{
	json_t *o = json_object();
	if (o && json_object_set(o, "id", id ? (json_t *)id : json_null())) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *ctl_reply_ok(const json_t *id, json_t *result)
{
	json_t *o = with_id(id);
	if (!o || json_object_set_new(o, "ok", json_true()) ||
	    json_object_set_new(o, "result", result ? result : json_object())) {
		json_decref(o);
		return NULL;
	}
	return line_of(o);
}

/* Length of the valid UTF-8 sequence at s (as jansson checks it: no overlong
 * forms, no surrogates, at most U+10FFFF), 0 if there is none. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned c = s[0], n, cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (unsigned i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* Bytes that are not UTF-8 (a client's bytes quoted in a message, or one cut
 * by the buffer's end) become '?': JSON strings are UTF-8, json_string() would
 * refuse the whole message. */
static void utf8_clean(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p;) {
		size_t n = utf8_seq(p);
		if (n)
			p += n;
		else
			*p++ = '?';
	}
}

char *ctl_reply_err(const json_t *id, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_clean(msg);
	json_t *o = with_id(id);
	if (!o || json_object_set_new(o, "ok", json_false()) || json_object_set_new(o, "error", json_string(msg))) {
		json_decref(o);
		return NULL;
	}
	return line_of(o);
}

char *ctl_event_line(const char *name, json_t *data)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_t *o = data ? data : json_object();
	if (!o || json_object_set_new(o, "event", json_string(name)) ||
	    json_object_set_new(o, "time", json_real((double)ts.tv_sec + ts.tv_nsec / 1e9))) {
		json_decref(o);
		return NULL;
	}
	return line_of(o);
}

char *ctl_greeting(const char *vmname)
{
	return line_of(json_pack("{s:{s:s, s:s, s:i, s:s}}", "greeting", "program", "modvmm", "version",
	                         MODVMM_VERSION, "protocol", CTL_PROTOCOL, "vm", vmname));
}
