/*
 * api_route.c  REST routes: request (method, path, query, JSON body) in,
 *              status + JSON body out.  No sockets here, so the fuzzer
 *              and unit tests drive it directly.
 *
 * Main thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "core/conf.h"
#include "core/events.h"
#include "core/log.h"
#include "sip/call.h"
#include "api/api.h"
#include "api/apiint.h"
#include "brain/brain.h"
#include "pipeline/app.h"
#include "store/store.h"

#define MOD "api"

enum {
	SEG_MAX      = 6,
	PAGE_DEF     = 50,
	PAGE_MAX     = 500,
	TEXT_MAX     = 4000,
	NUMBER_MAX   = 128,
	JSON_DEPTH   = 8,
	CTX_MAX      = 32,           /* context items kept per call (GET) */
};

struct req {
	const char *method;
	char *seg[SEG_MAX];
	unsigned nseg;
	const char *query;
	const uint8_t *body;
	size_t blen;
	struct mbuf *mb;
};

/* Copies of what operators set, so GET can show it (the brain keeps the
 * authoritative state). */
struct ctx_item {
	struct le le;
	char *callid;
	char *text;
};

static struct {
	char *base_instructions;
	struct list ctx;             /* struct ctx_item */
	struct list tools;           /* struct tool_req, pending */
	uint32_t tool_ticket;
	struct tool_req *tool_now;   /* the request tools_run is in */
} rs;


/* ---- helpers */

int api_jstr(struct re_printf *pf, const char *s)
{
	int err = 0;

	if (!s)
		return re_hprintf(pf, "null");
	err |= re_hprintf(pf, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':  err |= re_hprintf(pf, "\\\""); break;
		case '\\': err |= re_hprintf(pf, "\\\\"); break;
		case '\n': err |= re_hprintf(pf, "\\n"); break;
		case '\r': err |= re_hprintf(pf, "\\r"); break;
		case '\t': err |= re_hprintf(pf, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				err |= re_hprintf(pf, "\\u%04x", *p);
			else
				err |= re_hprintf(pf, "%c", *p);
		}
	}
	err |= re_hprintf(pf, "\"");
	return err;
}


int api_jstr_h(struct re_printf *pf, void *arg)
{
	return api_jstr(pf, arg);
}


uint16_t api_err(struct mbuf *mb, uint16_t status, const char *code,
		 const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mbuf_reset(mb);
	(void)mbuf_printf(mb, "{\"error\":{\"code\":\"%s\",\"message\":%H}}",
			  code, api_jstr_h, msg);
	return status;
}


uint16_t api_parse_body(struct odict **odp, struct mbuf *mb,
			const uint8_t *body, size_t len)
{
	struct odict *od = NULL;
	size_t i = 0;
	int err;

	while (i < len && (body[i] == ' ' || body[i] == '\n' ||
			   body[i] == '\r' || body[i] == '\t'))
		++i;
	if (i == len)
		return api_err(mb, 400, "bad_json", "a JSON object body is "
			       "required");
	if (body[i] != '{')
		return api_err(mb, 400, "bad_json", "the body must be a JSON "
			       "object");
	if (memchr(body, '\0', len))
		return api_err(mb, 400, "bad_json", "NUL byte in the body");
	err = json_decode_odict(&od, 16, (const char *)body, len, JSON_DEPTH);
	if (err) {
		return api_err(mb, 400, "bad_json", "the body is not valid "
			       "JSON (%m)", err);
	}
	*odp = od;
	return 0;
}


/* A string member: NULL if absent; *bad set if present but not a
 * string or too long. */
static const char *jget(const struct odict *od, const char *key, bool *bad,
			size_t max)
{
	const struct odict_entry *e = odict_lookup(od, key);

	if (!e || e->type == ODICT_NULL)
		return NULL;
	if (e->type != ODICT_STRING || strlen(e->u.str) > max) {
		*bad = true;
		return NULL;
	}
	return e->u.str;
}


static bool text_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 && c != '\n' && c != '\t')
			return false;
	}
	return true;
}


static unsigned qnum(const char *query, const char *name, unsigned def,
		     unsigned max)
{
	size_t nlen = strlen(name);

	for (const char *p = query; p && *p; ) {
		if (!strncmp(p, name, nlen) && p[nlen] == '=') {
			char *end;
			unsigned long n = strtoul(p + nlen + 1, &end, 10);

			if (end == p + nlen + 1 || (*end && *end != '&'))
				return def;
			return n > max ? max : (unsigned)n;
		}
		p = strchr(p, '&');
		if (p)
			++p;
	}
	return def;
}


static bool is_method(const struct req *r, const char *m)
{
	return !strcmp(r->method, m);
}


static uint16_t bad_method(struct req *r, const char *allowed)
{
	return api_err(r->mb, 405, "method_not_allowed", "%s is not allowed "
		       "here; use %s", r->method, allowed);
}


static uint16_t ok(struct req *r)
{
	mbuf_reset(r->mb);
	(void)mbuf_write_str(r->mb, "{\"ok\":true}");
	return 200;
}


static uint16_t unavailable(struct req *r, const char *what)
{
	return api_err(r->mb, 503, "unavailable", "%s is not available in "
		       "this build or not running", what);
}


static struct call *live_call(struct req *r, const char *id, uint16_t *st)
{
	struct call *call;

	if (!api.running) {
		*st = unavailable(r, "call control");
		return NULL;
	}
	call = call_find(id);
	if (!call)
		*st = api_err(r->mb, 404, "not_found", "no live call with "
			      "that id");
	return call;
}


/* ---- calls */

/* {"live":[..], then the store's members: "total","offset","limit",
 * "calls":[..] (recent calls, newest first)} */
static uint16_t calls_list(struct req *r)
{
	unsigned off = qnum(r->query, "offset", 0, 1000000);
	unsigned lim = qnum(r->query, "limit", PAGE_DEF, PAGE_MAX);
	struct mbuf *sm = mbuf_alloc(1024);
	int err = 0;

	if (!sm)
		return api_err(r->mb, 500, "internal", "out of memory");
	mbuf_reset(r->mb);
	err |= mbuf_printf(r->mb, "{\"live\":%H,", api_live_json, NULL);
	if (0 == store_calls_json(sm, off, lim) && sm->end > 2 &&
	    sm->buf[0] == '{') {
		err |= mbuf_write_mem(r->mb, sm->buf + 1, sm->end - 1);
	}
	else {
		err |= mbuf_printf(r->mb, "\"total\":0,\"offset\":%u,"
				   "\"limit\":%u,\"calls\":[]}", off, lim);
	}
	mem_deref(sm);
	if (err)
		return api_err(r->mb, 500, "internal", "out of memory");
	return 200;
}


static uint16_t call_get(struct req *r, const char *id)
{
	size_t pos;
	bool live = api_live_known(id);
	bool rec = false;
	int err = 0;

	mbuf_reset(r->mb);
	err |= mbuf_printf(r->mb, "{\"id\":%H,\"live\":", api_jstr_h, id);
	if (live)
		err |= mbuf_printf(r->mb, "%H", api_live_json,
				   (void *)(uintptr_t)id);
	else
		err |= mbuf_write_str(r->mb, "null");
	err |= mbuf_write_str(r->mb, ",\"record\":");
	pos = r->mb->end;
	if (0 == store_call_json(r->mb, id)) {
		rec = true;
	}
	else {
		r->mb->pos = r->mb->end = pos;
		err |= mbuf_write_str(r->mb, "null");
	}
	err |= mbuf_write_str(r->mb, "}");
	if (err)
		return api_err(r->mb, 500, "internal", "out of memory");
	if (!live && !rec)
		return api_err(r->mb, 404, "not_found", "no call with that "
			       "id");
	return 200;
}


/* RFC 3339: 2026-11-22T03:00:00Z or with +hh:mm / -hh:mm offset */
static int rfc3339(const char *s, uint64_t *unixp)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0;
	char sign = 0;
	const char *p;
	time_t t;

	if (6 != sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d,
			&h, &mi, &sec, &n) || n == 0)
		return EINVAL;
	p = s + n;
	if (*p == '.') {
		++p;
		while (*p >= '0' && *p <= '9')
			++p;
	}
	if (*p == 'Z' || *p == 'z') {
		++p;
	}
	else if (*p == '+' || *p == '-') {
		sign = *p;
		if (2 != sscanf(p + 1, "%2d:%2d", &oh, &om) || strlen(p) != 6)
			return EINVAL;
		p += 6;
	}
	else {
		return EINVAL;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || oh > 23 || om > 59 || y < 1970)
		return EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return EINVAL;
	if (sign == '+')
		t -= oh * 3600 + om * 60;
	else if (sign == '-')
		t += oh * 3600 + om * 60;
	*unixp = (uint64_t)t;
	return 0;
}


static bool number_ok(const char *n)
{
	size_t len = strlen(n);

	if (!len || len > NUMBER_MAX)
		return false;
	for (const char *p = n; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == '"' || *p == '<' ||
		    *p == '>' || *p == '\\' || (unsigned char)*p == 0x7f)
			return false;
	}
	return true;
}


static uint16_t call_place(struct req *r, const struct odict *od,
			   const char *numkey)
{
	bool bad = false;
	const char *num = jget(od, numkey, &bad, NUMBER_MAX);
	const char *obj = jget(od, "objective", &bad, TEXT_MAX);
	const char *persona = jget(od, "persona", &bad, 64);
	const char *at = jget(od, "at", &bad, 64);
	char id[128];
	int err;

	if (bad)
		return api_err(r->mb, 400, "bad_request", "number, objective, "
			       "persona and at must be strings (objective at "
			       "most %u bytes)", TEXT_MAX);
	if (!num || !number_ok(num))
		return api_err(r->mb, 400, "bad_request", "\"%s\" must be a "
			       "phone number, extension or SIP URI", numkey);
	if ((obj && !text_ok(obj)) || (persona && !text_ok(persona)))
		return api_err(r->mb, 400, "bad_request", "control characters "
			       "in objective or persona");

	if (at) {
		uint64_t when, sid = 0;
		char *json = NULL;

		if (rfc3339(at, &when))
			return api_err(r->mb, 400, "bad_request", "\"at\" must "
				       "be an RFC 3339 time, e.g. "
				       "2026-01-31T09:30:00Z");
		err = re_sdprintf(&json, "{\"number\":%H,\"objective\":%H,"
				  "\"persona\":%H}", api_jstr_h, num,
				  api_jstr_h, obj, api_jstr_h, persona);
		if (!err)
			err = store_sched_add(json, when, &sid);
		mem_deref(json);
		if (err)
			return api_err(r->mb, 500, "internal", "cannot queue "
				       "the call: %m", err);
		mbuf_reset(r->mb);
		(void)mbuf_printf(r->mb, "{\"scheduled\":%llu,\"at\":%llu}",
				  (unsigned long long)sid,
				  (unsigned long long)when);
		return 202;
	}

	if (!api.running)
		return unavailable(r, "calling");
	err = api_dial(num, obj, persona, 0, id, sizeof(id));
	if (err)
		return api_err(r->mb, err == EBUSY ? 409 : 400, "call_failed",
			       "cannot place the call: %m", err);
	mbuf_reset(r->mb);
	(void)mbuf_printf(r->mb, "{\"id\":%H}", api_jstr_h, id);
	return 201;
}


static void xfer_done(int err, uint16_t scode, void *arg)
{
	char *id = arg;

	log_info(MOD, id, "transfer finished: %u (%m)", scode, err);
	mem_deref(id);
}


static uint16_t call_action(struct req *r, const char *id, const char *act,
			    const struct odict *od)
{
	struct call *call;
	uint16_t st = 0;
	bool bad = false;
	const char *s;
	int err;

	if (!strcmp(act, "hangup")) {
		if (!live_call(r, id, &st))
			return st;
		err = api_hangup(id);
		return err ? api_err(r->mb, 409, "conflict", "%m", err) :
			ok(r);
	}
	if (!strcmp(act, "say")) {
		s = jget(od, "text", &bad, TEXT_MAX);
		if (bad || !s || !*s || !text_ok(s))
			return api_err(r->mb, 400, "bad_request", "\"text\" "
				       "must be 1..%u bytes of text",
				       TEXT_MAX);
		if (!live_call(r, id, &st))
			return st;
		err = api_say(id, s);
		if (err == EPERM)
		return api_err(r->mb, 422, "refused", "the text was refused by "
			       "the injection screen (see docs/trust.md)");
	if (err == ENOSYS)
			return unavailable(r, "say");
		return err ? api_err(r->mb, 409, "conflict", "cannot say "
				     "now: %m", err) : ok(r);
	}
	if (!strcmp(act, "dtmf")) {
		s = jget(od, "digits", &bad, 64);
		if (bad || !s || !*s ||
		    strspn(s, "0123456789*#ABCDabcd") != strlen(s))
			return api_err(r->mb, 400, "bad_request", "\"digits\" "
				       "must be 1..64 of 0-9 * # A-D");
		call = live_call(r, id, &st);
		if (!call)
			return st;
		err = call_send_dtmf(call, s);
		if (err == ENOTSUP)
			return api_err(r->mb, 409, "conflict", "the call did "
				       "not negotiate telephone-event");
		return err ? api_err(r->mb, 409, "conflict", "%m", err) :
			ok(r);
	}
	if (!strcmp(act, "transfer")) {
		char *cid = NULL;

		s = jget(od, "target", &bad, NUMBER_MAX);
		if (bad || !s || !number_ok(s))
			return api_err(r->mb, 400, "bad_request", "\"target\" "
				       "must be a number or SIP URI");
		call = live_call(r, id, &st);
		if (!call)
			return st;
		if (str_dup(&cid, id))
			return api_err(r->mb, 500, "internal", "no memory");
		err = call_transfer_blind(call, s, xfer_done, cid);
		if (err) {
			mem_deref(cid);
			return api_err(r->mb, 409, "conflict", "transfer "
				       "failed: %m", err);
		}
		mbuf_reset(r->mb);
		(void)mbuf_write_str(r->mb, "{\"ok\":true,\"status\":"
				     "\"transferring\"}");
		return 202;
	}
	return api_err(r->mb, 404, "not_found", "unknown call action");
}


/* ---- tools (POST /api/calls/{id}/tools/{name}) */

/* A tool asked for through the API runs in the call's executor, behind
 * the same trust gate as the brain's tool calls: the caller's group
 * decides, not the token.  A result that comes at once is the answer;
 * a later one (hang_up after its farewell, a confirmed transfer,
 * place_call when the placed call is over) is the bus event
 * `tool_result` with the ticket of the 202 answer. */
struct tool_req {
	struct le le;
	uint32_t ticket;
	char callid[64];
	char tool[32];
	bool done;                   /* answered while tools_run ran */
	int err;
	char *json;
};


static void tool_req_destructor(void *arg)
{
	struct tool_req *q = arg;

	list_unlink(&q->le);
	mem_deref(q->json);
}


static void tool_done(uint32_t turn_id, int err, const char *result,
		      void *arg)
{
	struct tool_req *q = arg;

	(void)turn_id;
	if (q == rs.tool_now) {
		q->done = true;
		q->err = err;
		(void)str_dup(&q->json, result ? result : "{}");
		return;
	}
	events_emit("tool_result", q->callid, ",\"ticket\":%u,\"tool\":"
		    "\"%s\",\"ok\":%s,\"result\":%s", q->ticket, q->tool,
		    err ? "false" : "true", result && *result == '{' ?
		    result : "{}");
	mem_deref(q);
}


static const char *tool_category(const char *json, char *buf, size_t sz)
{
	struct odict *od = NULL;
	const struct odict_entry *e;
	const char *c = NULL;

	str_ncpy(buf, "failed", sz);
	if (json_decode_odict(&od, 8, json, strlen(json), 4))
		return buf;
	e = odict_lookup(od, "error");
	if (e && e->type == ODICT_OBJECT)
		c = odict_string(e->u.odict, "category");
	if (c)
		str_ncpy(buf, c, sz);
	mem_deref(od);
	return buf;
}


static uint16_t call_tool(struct req *r, const char *id, const char *name)
{
	struct tool_req *q;
	struct call *call;
	char *args = NULL, cat[64];
	uint16_t st = 0;
	int err;

	if (!*name || strlen(name) >= sizeof(q->tool) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz_") != strlen(name))
		return api_err(r->mb, 404, "not_found", "no such tool");
	call = live_call(r, id, &st);
	if (!call)
		return st;
	q = mem_zalloc(sizeof(*q), tool_req_destructor);
	if (!q)
		return api_err(r->mb, 500, "internal", "no memory");
	q->ticket = ++rs.tool_ticket;
	str_ncpy(q->callid, id, sizeof(q->callid));
	str_ncpy(q->tool, name, sizeof(q->tool));
	if (r->blen && re_sdprintf(&args, "%b", r->body, r->blen)) {
		mem_deref(q);
		return api_err(r->mb, 500, "internal", "no memory");
	}
	list_append(&rs.tools, &q->le, q);

	rs.tool_now = q;
	err = app_tool(call, name, args ? args : "{}", tool_done, q);
	rs.tool_now = NULL;
	mem_deref(args);
	if (err) {
		mem_deref(q);
		if (err == ENOSYS)
			return unavailable(r, "tools");
		return api_err(r->mb, 409, "conflict", "the call does not "
			       "run the agent (%m)", err);
	}
	if (!q->done) {
		mbuf_reset(r->mb);
		(void)mbuf_printf(r->mb, "{\"tool\":\"%s\",\"pending\":true,"
				  "\"ticket\":%u}", q->tool, q->ticket);
		return 202;
	}

	mbuf_reset(r->mb);
	if (!q->err) {
		(void)mbuf_printf(r->mb, "{\"tool\":\"%s\",\"result\":%s}",
				  q->tool, q->json ? q->json : "{}");
		st = 200;
	}
	else {
		tool_category(q->json ? q->json : "{}", cat, sizeof(cat));
		st = q->err == EPERM ? 403 : q->err == EINVAL ? 400 : 409;
		(void)mbuf_printf(r->mb, "{\"error\":{\"code\":\"%s\","
				  "\"message\":%H,\"category\":%H},"
				  "\"tool\":\"%s\",\"result\":%s}",
				  q->err == EPERM ? "tool_denied" :
				  "tool_failed", api_jstr_h, q->err == EPERM ?
				  "the trust gate refused this tool on this "
				  "call" : "the tool failed", api_jstr_h, cat,
				  q->tool, q->json ? q->json : "{}");
	}
	mem_deref(q);
	return st;
}


/* ---- instructions and context */

static uint16_t instr_set(struct req *r, const char *callid,
			  enum brain_scope scope, const struct odict *od)
{
	bool bad = false;
	const char *text = od ? jget(od, "text", &bad, TEXT_MAX) : NULL;
	int err;

	if (bad || (text && !text_ok(text)))
		return api_err(r->mb, 400, "bad_request", "\"text\" must be "
			       "a string of at most %u bytes", TEXT_MAX);
	if (od && !odict_lookup(od, "text"))
		return api_err(r->mb, 400, "bad_request", "\"text\" is "
			       "required (\"\" or null clears)");
	if (od && !text && scope == BRAIN_SCOPE_TURN)
		return api_err(r->mb, 400, "bad_request", "\"text\" is "
			       "required");
	/* per-call text only for live calls: nothing accumulates for ids
	 * that never ring */
	if (callid && !api_live_known(callid) &&
	    !call_find(callid))
		return api_err(r->mb, 404, "not_found", "no live call with "
			       "that id");
	if (text && !*text)
		text = NULL;
	err = brain_instructions_set(callid, scope, text);
	if (err)
		return api_err(r->mb, 400, "bad_request", "%m", err);
	if (scope == BRAIN_SCOPE_BASE) {
		rs.base_instructions = mem_deref(rs.base_instructions);
		if (text)
			(void)str_dup(&rs.base_instructions, text);
	}
	return ok(r);
}


static void ctx_destructor(void *arg)
{
	struct ctx_item *c = arg;

	list_unlink(&c->le);
	mem_deref(c->callid);
	mem_deref(c->text);
}


static void ctx_forget(const char *callid)
{
	struct le *le = rs.ctx.head;

	while (le) {
		struct ctx_item *c = le->data;

		le = le->next;
		if (!callid || !strcmp(c->callid, callid))
			mem_deref(c);
	}
}


/* Also used by the agent WebSocket. */
int api_context_add(const char *callid, const char *text, bool trusted)
{
	struct ctx_item *c;
	unsigned n = 0;
	int err;

	err = brain_context_add(callid, text, trusted);
	if (err)
		return err;
	for (struct le *le = rs.ctx.head; le; le = le->next) {
		struct ctx_item *x = le->data;

		n += !strcmp(x->callid, callid);
	}
	if (n >= CTX_MAX)
		return 0;
	c = mem_zalloc(sizeof(*c), ctx_destructor);
	if (!c)
		return 0;
	if (str_dup(&c->callid, callid) || str_dup(&c->text, text)) {
		mem_deref(c);
		return 0;
	}
	list_append(&rs.ctx, &c->le, c);
	return 0;
}


void api_context_clear(const char *callid)
{
	brain_context_clear(callid);
	ctx_forget(callid);
}


void api_call_forget(const char *callid)
{
	ctx_forget(callid);
}


static int ctx_print(struct re_printf *pf, void *arg)
{
	const char *callid = arg;
	bool first = true;
	int err = re_hprintf(pf, "[");

	for (struct le *le = rs.ctx.head; le; le = le->next) {
		struct ctx_item *c = le->data;

		if (strcmp(c->callid, callid))
			continue;
		err |= re_hprintf(pf, "%s%H", first ? "" : ",", api_jstr_h,
				  c->text);
		first = false;
	}
	return err | re_hprintf(pf, "]");
}


static uint16_t context(struct req *r, const char *id, const char *ckey,
			const struct odict *od)
{
	bool bad = false;
	const struct odict_entry *te;
	const char *text;
	bool trusted = true;
	int err;

	if (is_method(r, "GET")) {
		mbuf_reset(r->mb);
		(void)mbuf_printf(r->mb, "{\"id\":%H,\"context\":%H}",
				  api_jstr_h, id, ctx_print, id);
		return 200;
	}
	if (is_method(r, "DELETE")) {
		api_context_clear(id);
		return ok(r);
	}
	text = jget(od, ckey, &bad, TEXT_MAX);
	if (bad || !text || !*text || !text_ok(text))
		return api_err(r->mb, 400, "bad_request", "\"%s\" must be "
			       "1..%u bytes of text", ckey, TEXT_MAX);
	te = odict_lookup(od, "trusted");
	if (te && te->type == ODICT_BOOL)
		trusted = te->u.boolean;
	if (!api_live_known(id) && !call_find(id))
		return api_err(r->mb, 404, "not_found", "no live call with "
			       "that id");
	err = api_context_add(id, text, trusted);
	if (err == ENOSYS)
		return unavailable(r, "context");
	return err ? api_err(r->mb, 400, "bad_request", "%m", err) : ok(r);
}


/* ---- config */

/* Keys an API client may never change, whatever the table says. */
static bool key_secured(const struct conf_opt *o)
{
	static const char *const prefixes[] = {
		"control_", "sip_", "policy", "caller_", "gate_", "guard_",
		"transfer_", "allow", "data_dir", "record_dir", "event_webhook",
	};

	if (o->flags & CONF_F_SECRET)
		return true;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(o->key, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}


static int config_print(struct re_printf *pf, void *arg)
{
	bool first = true;
	int err = re_hprintf(pf, "{");

	(void)arg;
	for (const struct conf_opt *o = conf_opts; o->key; o++) {
		const char *v;

		if (o->flags & CONF_F_NUMBERED)
			continue;
		v = conf_str(api.conf, o->key);
		err |= re_hprintf(pf, "%s\"%s\":{\"value\":", first ? "" : ",",
				  o->key);
		first = false;
		if (o->flags & CONF_F_SECRET)
			err |= re_hprintf(pf, v ? "\"***\"" : "null");
		else
			err |= re_hprintf(pf, "%H", api_jstr_h, v);
		err |= re_hprintf(pf, ",\"runtime\":%s,\"secret\":%s}",
				  (o->flags & CONF_F_RUNTIME) &&
				  !key_secured(o) ? "true" : "false",
				  o->flags & CONF_F_SECRET ? "true" : "false");
	}
	return err | re_hprintf(pf, "}");
}


static void collect_err(const char *line, void *arg)
{
	char *buf = arg;

	if (!buf[0])
		str_ncpy(buf, line, 256);
}


static uint16_t config_patch(struct req *r, const struct odict *od)
{
	struct conf *tmp = NULL;
	char problem[256] = "";
	char val[64];
	struct le *le;

	if (!api.conf)
		return unavailable(r, "configuration");
	/* validate every member first; apply all or nothing */
	for (le = od->lst.head; le; le = le->next) {
		const struct odict_entry *e = le->data;
		const struct conf_opt *o = conf_opt_find(e->key);
		const char *v = val;

		if (!o)
			return api_err(r->mb, 400, "unknown_key", "unknown "
				       "setting \"%.64s\"", e->key);
		if (key_secured(o))
			return api_err(r->mb, 409, "security_setting",
				       "\"%s\" is a security setting: change "
				       "it in the configuration file", e->key);
		if (!(o->flags & CONF_F_RUNTIME))
			return api_err(r->mb, 409, "restart_required",
				       "\"%s\" cannot change while running: "
				       "set it in the configuration file",
				       e->key);
		if (e->type == ODICT_STRING)
			v = e->u.str;
		else if (e->type == ODICT_INT)
			re_snprintf(val, sizeof(val), "%lld",
				    (long long)e->u.integer);
		else if (e->type == ODICT_BOOL)
			str_ncpy(val, e->u.boolean ? "true" : "false",
				 sizeof(val));
		else
			return api_err(r->mb, 400, "bad_request", "\"%s\": "
				       "give a string, number or boolean",
				       e->key);
		if (conf_alloc(&tmp))
			return api_err(r->mb, 500, "internal", "no memory");
		(void)conf_set(tmp, e->key, v, "api", collect_err, problem);
		(void)conf_validate(tmp, collect_err, problem);
		tmp = mem_deref(tmp);
		if (problem[0])
			return api_err(r->mb, 400, "invalid_value", "%s",
				       problem);
	}
	for (le = od->lst.head; le; le = le->next) {
		const struct odict_entry *e = le->data;
		const char *v = val;

		if (e->type == ODICT_STRING)
			v = e->u.str;
		else if (e->type == ODICT_INT)
			re_snprintf(val, sizeof(val), "%lld",
				    (long long)e->u.integer);
		else
			str_ncpy(val, e->u.boolean ? "true" : "false",
				 sizeof(val));
		(void)conf_set(api.conf, e->key, v, "api", NULL, NULL);
		(void)store_setting_put(e->key, v);
		log_info(MOD, NULL, "setting %s changed through the API",
			 e->key);
	}
	mbuf_reset(r->mb);
	(void)mbuf_printf(r->mb, "%H", config_print, NULL);
	return 200;
}


/* ---- dispatch */

static int store_page(struct req *r, int (*fn)(struct mbuf *, unsigned,
					       unsigned))
{
	unsigned off = qnum(r->query, "offset", 0, 1000000);
	unsigned lim = qnum(r->query, "limit", PAGE_DEF, PAGE_MAX);

	mbuf_reset(r->mb);
	return fn(r->mb, off, lim);
}


static uint16_t route_calls(struct req *r, const struct odict *od)
{
	const char *id = r->nseg > 2 ? r->seg[2] : NULL;
	uint64_t sid;
	int err;

	if (r->nseg == 2) {
		if (is_method(r, "GET"))
			return calls_list(r);
		if (is_method(r, "POST"))
			return call_place(r, od, "number");
		return bad_method(r, "GET, POST");
	}
	if (!strcmp(id, "scheduled")) {
		if (r->nseg == 3) {
			if (!is_method(r, "GET"))
				return bad_method(r, "GET");
			mbuf_reset(r->mb);
			err = store_sched_json(r->mb);
			return err ? api_err(r->mb, 500, "internal", "%m", err)
				: 200;
		}
		if (r->nseg != 4)
			return api_err(r->mb, 404, "not_found", "no such "
				       "path");
		if (!is_method(r, "DELETE"))
			return bad_method(r, "DELETE");
		sid = strtoull(r->seg[3], NULL, 10);
		err = store_sched_cancel(sid);
		if (err == ENOENT)
			return api_err(r->mb, 404, "not_found", "no scheduled "
				       "call with that id");
		if (err == EALREADY)
			return api_err(r->mb, 409, "conflict", "that call "
				       "already started, ended or was "
				       "cancelled");
		return err ? api_err(r->mb, 409, "conflict", "%m", err) :
			ok(r);
	}
	if (r->nseg == 3) {
		if (!is_method(r, "GET"))
			return bad_method(r, "GET");
		return call_get(r, id);
	}
	if (!strcmp(r->seg[3], "context") && r->nseg == 4) {
		if (!is_method(r, "GET") && !is_method(r, "POST") &&
		    !is_method(r, "DELETE"))
			return bad_method(r, "GET, POST, DELETE");
		return context(r, id, "text", od);
	}
	if (!strcmp(r->seg[3], "instructions")) {
		if (r->nseg == 5 && !strcmp(r->seg[4], "turn")) {
			if (!is_method(r, "POST"))
				return bad_method(r, "POST");
			return instr_set(r, id, BRAIN_SCOPE_TURN, od);
		}
		if (r->nseg != 4)
			return api_err(r->mb, 404, "not_found", "no such "
				       "path");
		if (is_method(r, "POST"))
			return instr_set(r, id, BRAIN_SCOPE_CALL, od);
		if (is_method(r, "DELETE"))
			return instr_set(r, id, BRAIN_SCOPE_CALL, NULL);
		return bad_method(r, "POST, DELETE");
	}
	if (r->nseg == 4) {
		if (!is_method(r, "POST"))
			return bad_method(r, "POST");
		return call_action(r, id, r->seg[3], od);
	}
	if (r->nseg == 5 && !strcmp(r->seg[3], "tools")) {
		if (!is_method(r, "POST"))
			return bad_method(r, "POST");
		return call_tool(r, id, r->seg[4]);
	}
	return api_err(r->mb, 404, "not_found", "no such path");
}


/* Clawfinger's paths: {"session_id":..} in the body names the call; an
 * empty one means the only live call. */
static const char *cf_session(struct req *r, const struct odict *od,
			      char *buf, size_t sz)
{
	bool bad = false;
	const char *sid = od ? jget(od, "session_id", &bad, 120) : NULL;

	if (sid && *sid)
		return sid;
	if (api_live_first(buf, sz))
		return NULL;
	return buf;
}


static uint16_t route_clawfinger(struct req *r, const struct odict *od)
{
	char buf[128];
	const char *sid;
	const char *a = r->seg[2];

	if (r->nseg == 3 && !strcmp(r->seg[1], "call")) {
		if (!is_method(r, "POST"))
			return bad_method(r, "POST");
		if (!strcmp(a, "dial"))
			return call_place(r, od, "number");
		sid = cf_session(r, od, buf, sizeof(buf));
		if (!sid)
			return api_err(r->mb, 404, "not_found", "no live "
				       "call");
		if (!strcmp(a, "hangup"))
			return call_action(r, sid, "hangup", od);
		if (!strcmp(a, "inject"))
			return call_action(r, sid, "say", od);
		return api_err(r->mb, 404, "not_found", "no such path");
	}
	/* /api/agent/... */
	if (r->nseg == 3 && !strcmp(a, "sessions")) {
		if (!is_method(r, "GET"))
			return bad_method(r, "GET");
		mbuf_reset(r->mb);
		(void)mbuf_printf(r->mb, "%H", api_live_ids_json, NULL);
		return 200;
	}
	if (r->nseg == 3 && !strcmp(a, "inject")) {
		if (!is_method(r, "POST"))
			return bad_method(r, "POST");
		sid = cf_session(r, od, buf, sizeof(buf));
		if (!sid)
			return api_err(r->mb, 404, "not_found", "no live "
				       "call");
		return call_action(r, sid, "say", od);
	}
	if (r->nseg == 4 && !strcmp(a, "call")) {
		if (!is_method(r, "GET"))
			return bad_method(r, "GET");
		return call_get(r, r->seg[3]);
	}
	if (r->nseg == 4 && !strcmp(a, "context")) {
		if (!is_method(r, "GET") && !is_method(r, "POST") &&
		    !is_method(r, "DELETE"))
			return bad_method(r, "GET, POST, DELETE");
		return context(r, r->seg[3], "context", od);
	}
	return api_err(r->mb, 404, "not_found", "no such path");
}


static uint16_t route(struct req *r, const struct odict *od)
{
	const char *s1 = r->nseg > 1 ? r->seg[1] : "";
	int err;

	if (r->nseg < 2 || strcmp(r->seg[0], "api"))
		return api_err(r->mb, 404, "not_found", "no such path");

	if (!strcmp(s1, "calls"))
		return route_calls(r, od);

	if (!strcmp(s1, "call") ||
	    (!strcmp(s1, "agent") && r->nseg >= 3))
		return route_clawfinger(r, od);

	if (!strcmp(s1, "instructions") && r->nseg == 2) {
		if (is_method(r, "GET")) {
			mbuf_reset(r->mb);
			(void)mbuf_printf(r->mb, "{\"text\":%H}", api_jstr_h,
					  rs.base_instructions);
			return 200;
		}
		if (is_method(r, "POST"))
			return instr_set(r, NULL, BRAIN_SCOPE_BASE, od);
		return bad_method(r, "GET, POST");
	}

	if (!strcmp(s1, "config") && r->nseg == 2) {
		if (is_method(r, "GET")) {
			mbuf_reset(r->mb);
			(void)mbuf_printf(r->mb, "%H", config_print, NULL);
			return 200;
		}
		if (is_method(r, "PATCH"))
			return config_patch(r, od);
		return bad_method(r, "GET, PATCH");
	}

	if (!strcmp(s1, "messages")) {
		if (r->nseg == 2) {
			if (!is_method(r, "GET"))
				return bad_method(r, "GET");
			err = store_page(r, store_messages_json);
			return err ? api_err(r->mb, 500, "internal", "%m", err)
				: 200;
		}
		if (r->nseg == 3) {
			char *end;
			uint64_t id = strtoull(r->seg[2], &end, 10);

			if (!is_method(r, "DELETE"))
				return bad_method(r, "DELETE");
			if (*end || !*r->seg[2])
				return api_err(r->mb, 400, "bad_request",
					       "message ids are numbers");
			err = store_message_delete(id);
			if (err == ENOENT)
				return api_err(r->mb, 404, "not_found",
					       "no message with that id");
			return err ? api_err(r->mb, 500, "internal", "%m",
					     err) : ok(r);
		}
	}

	if (!strcmp(s1, "history")) {
		if (r->nseg == 2) {
			if (!is_method(r, "GET"))
				return bad_method(r, "GET");
			mbuf_reset(r->mb);
			err = store_history_json(r->mb);
			return err ? api_err(r->mb, 500, "internal", "%m", err)
				: 200;
		}
		if (r->nseg == 3) {
			if (!is_method(r, "DELETE"))
				return bad_method(r, "DELETE");
			err = store_history_delete(r->seg[2]);
			if (err == ENOENT)
				return api_err(r->mb, 404, "not_found",
					       "no history for that caller");
			return err ? api_err(r->mb, 500, "internal", "%m",
					     err) : ok(r);
		}
	}

	if (!strcmp(s1, "registrations") && r->nseg == 2) {
		if (!is_method(r, "GET"))
			return bad_method(r, "GET");
		mbuf_reset(r->mb);
		(void)mbuf_printf(r->mb, "%H", api_regs_json, NULL);
		return 200;
	}

	return api_err(r->mb, 404, "not_found", "no such path");
}


/* Split "/api/calls/x" into segments, percent-decoding each. */
static int split_path(struct req *r, const char *path)
{
	const char *p = path;

	if (*p != '/')
		return EINVAL;
	while (*p == '/')
		++p;
	while (*p) {
		size_t n = strcspn(p, "/");
		char *seg;

		if (r->nseg >= SEG_MAX)
			return EINVAL;
		seg = mem_zalloc(n + 1, NULL);
		if (!seg)
			return ENOMEM;
		/* %-decoding: reject anything that decodes to '/' or NUL */
		for (size_t i = 0, o = 0; i < n; i++) {
			char c = p[i];

			if (c == '%' && i + 2 < n &&
			    isxdigit((unsigned char)p[i + 1]) &&
			    isxdigit((unsigned char)p[i + 2])) {
				char hx[3] = {p[i + 1], p[i + 2], 0};
				c = (char)strtol(hx, NULL, 16);
				i += 2;
			}
			if (c == '\0' || c == '/') {
				mem_deref(seg);
				return EINVAL;
			}
			seg[o++] = c;
		}
		r->seg[r->nseg++] = seg;
		p += n;
		while (*p == '/')
			++p;
	}
	return 0;
}


uint16_t api_route(struct mbuf *mb, const char *method, const char *path,
		   const char *query, const uint8_t *body, size_t len,
		   const char *idem)
{
	struct odict *od = NULL;
	struct req r;
	uint16_t st;

	(void)idem;
	memset(&r, 0, sizeof(r));
	r.method = method ? method : "";
	r.query = query;
	r.body = body;
	r.blen = len;
	r.mb = mb;

	if (!mb || !path)
		return 500;
	if (split_path(&r, path)) {
		st = api_err(mb, 404, "not_found", "no such path");
		goto out;
	}
	if (is_method(&r, "POST") || is_method(&r, "PATCH")) {
		bool need = true;

		/* bodiless POSTs: hangup and instruction clears */
		if (r.nseg == 4 && !strcmp(r.seg[1], "calls") &&
		    !strcmp(r.seg[3], "hangup"))
			need = len > 0;
		/* tools without arguments */
		if (r.nseg == 5 && !strcmp(r.seg[1], "calls") &&
		    !strcmp(r.seg[3], "tools"))
			need = len > 0;
		if (need || len) {
			st = api_parse_body(&od, mb, body, len);
			if (st)
				goto out;
		}
	}
	else if (is_method(&r, "DELETE") && len) {
		/* ignore a body on DELETE */
	}
	st = route(&r, od);
 out:
	for (unsigned i = 0; i < r.nseg; i++)
		mem_deref(r.seg[i]);
	mem_deref(od);
	return st;
}


void api_route_close(void)
{
	rs.base_instructions = mem_deref(rs.base_instructions);
	list_flush(&rs.ctx);
	list_flush(&rs.tools);
}
