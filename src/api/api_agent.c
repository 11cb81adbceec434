/*
 * api_agent.c  GET /api/agent/ws: an external agent drives calls and takes
 *              them over (protocol in docs/agent-protocol.md; compatible
 *              with Clawfinger's agent WebSocket).
 *
 * It is the brain_set_external() handler: a caller turn of a call some
 * socket took over goes out as turn.request with a request_id that is
 * unique and increases per call; the agent's {request_id, reply} is
 * spoken through the agent pipeline's host.  No reply within
 * agent_turn_timeout_secs, a release or a disconnect: the configured brain
 * answers that turn (host->fallback).  A newer turn supersedes an
 * unanswered one (the agent is told).  The host pointer belongs to the
 * call's agent: it is used only while call_find() still finds the call
 * (call.c detaches the app in the same step that unlists the call).
 *
 * Main thread only (so injected context cannot race prompt assembly).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "sip/call.h"
#include "api/api.h"
#include "api/apiint.h"
#include "brain/brain.h"
#include "pipeline/app.h"
#include "store/store.h"

#define MOD "agentws"

enum {
	WS_KEEPALIVE_MS = 25000,
	TEXT_MAX        = 4000,
	NUMBER_MAX      = 128,
};

struct agent_conn;

/* One call taken over by a socket. */
struct takeover {
	struct le le;                /* in ag.takeovers                  */
	struct agent_conn *owner;
	char *callid;
	uint64_t next_req;           /* request ids of this call         */
	/* the unanswered turn, if any */
	bool pending;
	uint64_t req_id;
	struct brain_host host;
	struct brain_turn turn;
	char *turn_text;
	char *turn_audio;
	bool replied;                /* a non-final chunk was spoken     */
	struct tmr tmr;
};

struct agent_conn {
	struct le le;
	struct websock_conn *wc;
	struct sa peer;
	bool counted;
};

static struct {
	struct list conns;
	struct list takeovers;
	uint64_t req_seq;            /* global: ids stay unique per call  */
} ag;


static int send_json(struct agent_conn *c, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int err;

	if (!c || !c->wc)
		return ENOTCONN;
	va_start(ap, fmt);
	err = re_vsdprintf(&s, fmt, ap);
	va_end(ap);
	if (!err)
		err = websock_send(c->wc, WEBSOCK_TEXT, "%s", s);
	mem_deref(s);
	return err;
}


static struct takeover *to_find(const char *callid)
{
	for (struct le *le = ag.takeovers.head; le; le = le->next) {
		struct takeover *t = le->data;

		if (!strcmp(t->callid, callid))
			return t;
	}
	return NULL;
}


static bool call_alive(const char *callid)
{
	return call_find(callid) != NULL;
}


static void pending_clear(struct takeover *t)
{
	tmr_cancel(&t->tmr);
	t->pending = false;
	t->replied = false;
	t->turn_text = mem_deref(t->turn_text);
	t->turn_audio = mem_deref(t->turn_audio);
}


/* Give the unanswered turn to the configured brain (or end a reply the
 * agent started). */
static void pending_fallback(struct takeover *t, const char *why)
{
	if (!t->pending)
		return;
	if (call_alive(t->callid)) {
		log_info(MOD, t->callid, "turn %u: %s, the configured brain "
			 "answers", t->turn.id, why);
		if (t->replied)
			t->host.reply(t->turn.id, NULL, true, t->host.arg);
		else if (t->host.fallback)
			t->host.fallback(t->host.arg, &t->turn);
	}
	pending_clear(t);
}


static void to_destructor(void *arg)
{
	struct takeover *t = arg;

	tmr_cancel(&t->tmr);
	list_unlink(&t->le);
	api_live_set_takeover(t->callid, false);
	mem_deref(t->callid);
	mem_deref(t->turn_text);
	mem_deref(t->turn_audio);
}


static void to_release(struct takeover *t, const char *why)
{
	pending_fallback(t, why);
	log_info(MOD, t->callid, "agent released the call (%s)", why);
	mem_deref(t);
}


static void turn_timeout(void *arg)
{
	struct takeover *t = arg;

	(void)send_json(t->owner, "{\"type\":\"turn.timeout\","
			"\"session_id\":\"%s\",\"request_id\":%llu}",
			t->callid, (unsigned long long)t->req_id);
	pending_fallback(t, "no agent reply in time");
}


/* brain_external_h */
static int external_turn(const char *callid, const struct brain_turn *turn,
			 const struct brain_host *host, void *arg)
{
	struct takeover *t = callid ? to_find(callid) : NULL;
	uint32_t secs;
	int err;

	(void)arg;
	if (!t || !turn || !host)
		return ENOENT;

	if (t->pending) {
		(void)send_json(t->owner, "{\"type\":\"turn.superseded\","
				"\"session_id\":\"%s\",\"request_id\":%llu,"
				"\"by\":%llu}", t->callid,
				(unsigned long long)t->req_id,
				(unsigned long long)(ag.req_seq + 1));
		if (t->replied)
			t->host.reply(t->turn.id, NULL, true, t->host.arg);
		pending_clear(t);
	}

	t->req_id = ++ag.req_seq;
	if (t->req_id <= t->next_req)
		t->req_id = t->next_req + 1;
	t->next_req = t->req_id;
	t->host = *host;
	t->turn = *turn;
	err  = str_dup(&t->turn_text, turn->text ? turn->text : "");
	if (turn->audio_path)
		err |= str_dup(&t->turn_audio, turn->audio_path);
	if (err) {
		pending_clear(t);
		return ENOENT;
	}
	t->turn.text = t->turn_text;
	t->turn.audio_path = t->turn_audio;
	t->pending = true;

	err = send_json(t->owner, "{\"type\":\"turn.request\","
			"\"session_id\":\"%s\",\"request_id\":%llu,"
			"\"turn\":%u,\"kind\":\"%s\",\"transcript\":%H,"
			"\"ts\":%llu}", t->callid,
			(unsigned long long)t->req_id, turn->id,
			turn->kind == BRAIN_DTMF ? "dtmf" : "speech",
			api_jstr_h, t->turn_text,
			(unsigned long long)turn->ts_ms);
	if (err) {
		pending_clear(t);
		return ENOENT;
	}
	secs = api.conf ? (uint32_t)conf_int(api.conf,
					     "agent_turn_timeout_secs") : 30;
	tmr_start(&t->tmr, secs * 1000ull, turn_timeout, t);
	return 0;
}


/* ---- commands */

/* `,"key":"value"` when value is set, else nothing. */
struct member {
	const char *key;
	const char *val;
};


static int member_h(struct re_printf *pf, void *arg)
{
	const struct member *m = arg;

	if (!m->val)
		return 0;
	return re_hprintf(pf, ",\"%s\":%H", m->key, api_jstr_h,
			  (void *)(uintptr_t)m->val);
}


static void ack(struct agent_conn *c, const char *type, const char *reqid,
		bool ok, const char *sid, const char *detail)
{
	(void)send_json(c, "{\"type\":\"%s.ack\",\"ok\":%s%H%H%H}", type,
			ok ? "true" : "false",
			member_h, &(struct member){"id", reqid},
			member_h, &(struct member){"session_id", sid},
			member_h, &(struct member){"detail", detail});
}


static const char *jstr(const struct odict *od, const char *key, size_t max)
{
	const struct odict_entry *e = odict_lookup(od, key);

	if (!e || e->type != ODICT_STRING || strlen(e->u.str) > max)
		return NULL;
	return e->u.str;
}


static bool jreq_id(const struct odict *od, uint64_t *idp)
{
	const struct odict_entry *e = odict_lookup(od, "request_id");

	if (!e)
		return false;
	if (e->type == ODICT_INT && e->u.integer > 0) {
		*idp = (uint64_t)e->u.integer;
		return true;
	}
	if (e->type == ODICT_STRING) {
		char *end;
		unsigned long long v = strtoull(e->u.str, &end, 10);

		if (*e->u.str && !*end) {
			*idp = v;
			return true;
		}
	}
	return false;
}


static void cmd_reply(struct agent_conn *c, const struct odict *od)
{
	const struct odict_entry *re = odict_lookup(od, "reply");
	const char *text = NULL;
	bool final = true;
	uint64_t rid = 0;
	struct takeover *t = NULL;

	if (!jreq_id(od, &rid)) {
		(void)send_json(c, "{\"type\":\"error\",\"code\":"
				"\"bad_request\",\"detail\":\"request_id "
				"missing\"}");
		return;
	}
	if (re && re->type == ODICT_STRING) {
		text = re->u.str;
	}
	else if (re && re->type != ODICT_NULL) {
		(void)send_json(c, "{\"type\":\"error\",\"code\":"
				"\"bad_request\",\"request_id\":%llu,"
				"\"detail\":\"reply must be a string\"}",
				(unsigned long long)rid);
		return;
	}
	(void)odict_get_boolean(od, &final, "final");

	for (struct le *le = ag.takeovers.head; le; le = le->next) {
		struct takeover *x = le->data;

		if (x->owner == c && x->pending && x->req_id == rid)
			t = x;
	}
	if (!t) {
		(void)send_json(c, "{\"type\":\"error\",\"code\":\"stale\","
				"\"request_id\":%llu,\"detail\":\"no open turn "
				"with that request_id (answered, superseded or "
				"timed out)\"}", (unsigned long long)rid);
		return;
	}
	if (text && strlen(text) > TEXT_MAX) {
		(void)send_json(c, "{\"type\":\"error\",\"code\":\"too_large\","
				"\"request_id\":%llu}",
				(unsigned long long)rid);
		return;
	}
	if (!call_alive(t->callid)) {
		pending_clear(t);
		return;
	}
	if (text && *text) {
		t->host.reply(t->turn.id, text, false, t->host.arg);
		t->replied = true;
	}
	if (final) {
		t->host.reply(t->turn.id, NULL, true, t->host.arg);
		pending_clear(t);
	}
	(void)send_json(c, "{\"type\":\"reply.ack\",\"ok\":true,"
			"\"session_id\":\"%s\",\"request_id\":%llu,"
			"\"final\":%s}", t ? t->callid : "",
			(unsigned long long)rid, final ? "true" : "false");
}


static void cmd_takeover(struct agent_conn *c, const char *id,
			 const char *sid)
{
	struct takeover *t;

	if (!sid || !call_alive(sid)) {
		ack(c, "takeover", id, false, sid, "no live call with that "
		    "session_id");
		return;
	}
	t = to_find(sid);
	if (t && t->owner != c) {
		(void)send_json(t->owner, "{\"type\":\"released\","
				"\"session_id\":\"%s\",\"reason\":\"taken over "
				"by another agent\"}", sid);
		pending_fallback(t, "another agent took over");
		t->owner = c;
	}
	if (!t) {
		t = mem_zalloc(sizeof(*t), to_destructor);
		if (!t || str_dup(&t->callid, sid)) {
			mem_deref(t);
			ack(c, "takeover", id, false, sid, "out of memory");
			return;
		}
		t->owner = c;
		tmr_init(&t->tmr);
		list_append(&ag.takeovers, &t->le, t);
	}
	api_live_set_takeover(sid, true);
	log_info(MOD, sid, "an agent took over the call");
	ack(c, "takeover", id, true, sid, NULL);
}


static void cmd_release(struct agent_conn *c, const char *id,
			const char *sid, const char *type)
{
	struct takeover *t = sid ? to_find(sid) : NULL;

	if (!t || t->owner != c) {
		ack(c, type, id, false, sid, "not taken over by this agent");
		return;
	}
	to_release(t, "released");
	ack(c, type, id, true, sid, NULL);
}


/* Run a REST route and ack with its outcome (and its body as "result"). */
static void via_route(struct agent_conn *c, const char *type, const char *id,
		      const char *sid, const char *method, const char *path,
		      const char *body)
{
	struct mbuf *mb = mbuf_alloc(512);
	uint16_t st;

	if (!mb)
		return;
	st = api_route(mb, method, path, NULL, (const uint8_t *)body,
		       body ? strlen(body) : 0, NULL);
	mbuf_write_u8(mb, 0);
	(void)send_json(c, "{\"type\":\"%s.ack\",\"ok\":%s,\"status\":%u%H"
			"%H,\"result\":%s}", type, st < 300 ? "true" :
			"false", st, member_h, &(struct member){"id", id},
			member_h, &(struct member){"session_id", sid},
			(char *)mb->buf);
	mem_deref(mb);
}


static int odict_print(struct re_printf *pf, void *arg)
{
	return json_encode_odict(pf, arg);
}


static void handle_msg(struct agent_conn *c, const char *json, size_t len)
{
	struct odict *od = NULL;
	const struct odict_entry *e;
	const char *type, *id, *sid, *text;
	char path[256];
	char *body = NULL;
	int err;

	if (json_decode_odict(&od, 16, json, len, 8) ||
	    (!odict_lookup(od, "type") && !odict_lookup(od, "request_id"))) {
		(void)send_json(c, "{\"type\":\"error\",\"code\":\"bad_json\","
				"\"detail\":\"messages are JSON objects with a "
				"type (or a request_id and a reply)\"}");
		goto out;
	}
	type = jstr(od, "type", 64);
	id = jstr(od, "id", 64);
	sid = jstr(od, "session_id", 120);
	if (!sid)
		sid = jstr(od, "call_id", 120);

	if (!type || !strcmp(type, "reply") || !strcmp(type, "turn.reply")) {
		cmd_reply(c, od);
		goto out;
	}
	if (!strcmp(type, "ping")) {
		(void)send_json(c, "{\"type\":\"pong\"%H}", member_h,
				&(struct member){"id", id});
		goto out;
	}
	if (!strcmp(type, "takeover")) {
		cmd_takeover(c, id, sid);
		goto out;
	}
	if (!strcmp(type, "release")) {
		cmd_release(c, id, sid, "release");
		goto out;
	}
	if (!strcmp(type, "end_session")) {
		struct takeover *t = sid ? to_find(sid) : NULL;

		if (t && t->owner == c)
			to_release(t, "session ended");
		api_context_clear(sid ? sid : "");
		ack(c, type, id, sid != NULL, sid, sid ? NULL :
		    "session_id missing");
		goto out;
	}
	if (!strcmp(type, "inject") || !strcmp(type, "say")) {
		text = jstr(od, "text", TEXT_MAX);
		if (!sid || !text || !*text) {
			ack(c, type, id, false, sid, "session_id and text "
			    "are required");
			goto out;
		}
		err = api_say(sid, text);
		ack(c, type, id, !err, sid, err == ENOENT ? "no live call" :
		    err ? "cannot say now" : NULL);
		goto out;
	}
	if (!strcmp(type, "hangup")) {
		char first[128];

		if (!sid && 0 == api_live_first(first, sizeof(first)))
			sid = first;
		err = sid ? api_hangup(sid) : ENOENT;
		ack(c, type, id, !err, sid, err ? "no live call" : NULL);
		goto out;
	}
	if (!strcmp(type, "dial")) {
		const char *num = jstr(od, "number", NUMBER_MAX);
		char callid[128];

		if (!num || !*num) {
			ack(c, type, id, false, NULL, "number is required");
			goto out;
		}
		err = api_dial(num, jstr(od, "objective", TEXT_MAX),
			       jstr(od, "persona", 64), 0, callid,
			       sizeof(callid));
		ack(c, type, id, !err, err ? NULL : callid,
		    err ? "cannot place the call" : NULL);
		goto out;
	}
	if (!strcmp(type, "set_instructions")) {
		const char *scope = jstr(od, "scope", 16);
		enum brain_scope sc = BRAIN_SCOPE_CALL;

		text = jstr(od, "text", TEXT_MAX);
		if (!text)
			text = jstr(od, "instructions", TEXT_MAX);
		if (scope && !strcmp(scope, "turn"))
			sc = BRAIN_SCOPE_TURN;
		else if (scope && !strcmp(scope, "base"))
			sc = BRAIN_SCOPE_BASE;
		if (sc != BRAIN_SCOPE_BASE && !sid) {
			ack(c, type, id, false, sid, "session_id is required "
			    "(or scope base)");
			goto out;
		}
		err = brain_instructions_set(sc == BRAIN_SCOPE_BASE ? NULL :
					     sid, sc,
					     text && *text ? text : NULL);
		ack(c, type, id, !err, sid, err ? "cannot set" : NULL);
		goto out;
	}
	if (!strcmp(type, "inject_context")) {
		bool trusted = true;

		text = jstr(od, "context", TEXT_MAX);
		if (!text)
			text = jstr(od, "text", TEXT_MAX);
		(void)odict_get_boolean(od, &trusted, "trusted");
		if (!sid || !text || !*text) {
			ack(c, type, id, false, sid, "session_id and context "
			    "are required");
			goto out;
		}
		if (!call_alive(sid)) {
			ack(c, type, id, false, sid, "no live call");
			goto out;
		}
		err = api_context_add(sid, text, trusted);
		ack(c, type, id, !err, sid, err ? "cannot add" : NULL);
		goto out;
	}
	if (!strcmp(type, "clear_context")) {
		if (!sid) {
			ack(c, type, id, false, NULL, "session_id is required");
			goto out;
		}
		api_context_clear(sid);
		ack(c, type, id, true, sid, NULL);
		goto out;
	}
	if (!strcmp(type, "get_call_state")) {
		if (!sid) {
			ack(c, type, id, false, NULL, "session_id is required");
			goto out;
		}
		re_snprintf(path, sizeof(path), "/api/calls/%s", sid);
		if (strchr(sid, '/')) {
			ack(c, type, id, false, sid, "bad session_id");
			goto out;
		}
		via_route(c, type, id, sid, "GET", path, NULL);
		goto out;
	}
	if (!strcmp(type, "set_call_config")) {
		e = odict_lookup(od, "config");
		if (!e || e->type != ODICT_OBJECT) {
			ack(c, type, id, false, sid, "config must be an "
			    "object of settings");
			goto out;
		}
		if (re_sdprintf(&body, "%H", odict_print, e->u.odict)) {
			ack(c, type, id, false, sid, "out of memory");
			goto out;
		}
		via_route(c, type, id, sid, "PATCH", "/api/config", body);
		goto out;
	}
	(void)send_json(c, "{\"type\":\"error\",\"code\":\"unknown_type\","
			"\"detail\":%H}", api_jstr_h, (void *)(uintptr_t)type);
 out:
	mem_deref(body);
	mem_deref(od);
}


/* ---- sockets */

static void conn_destructor(void *arg)
{
	struct agent_conn *c = arg;
	struct le *le = ag.takeovers.head;

	list_unlink(&c->le);
	/* a disconnect releases the agent's calls */
	while (le) {
		struct takeover *t = le->data;

		le = le->next;
		if (t->owner == c) {
			t->owner = NULL;
			to_release(t, "agent disconnected");
		}
	}
	c->wc = mem_deref(c->wc);
	if (c->counted && api.subscribers)
		--api.subscribers;
}


static void conn_recv(const struct websock_hdr *hdr, struct mbuf *mb,
		      void *arg)
{
	struct agent_conn *c = arg;

	if (hdr->opcode != WEBSOCK_TEXT && hdr->opcode != WEBSOCK_BIN)
		return;
	if (!api_rate_take(&c->peer)) {
		(void)send_json(c, "{\"type\":\"error\",\"code\":"
				"\"rate_limited\",\"detail\":\"too many "
				"messages\"}");
		return;
	}
	if (mbuf_get_left(mb) > api.max_body) {
		(void)send_json(c, "{\"type\":\"error\",\"code\":"
				"\"too_large\"}");
		return;
	}
	handle_msg(c, (const char *)mbuf_buf(mb), mbuf_get_left(mb));
}


static void conn_close(int err, void *arg)
{
	struct agent_conn *c = arg;

	(void)err;
	log_info(MOD, NULL, "agent %J disconnected", &c->peer);
	mem_deref(c);
}


int api_agent_accept(struct http_conn *conn, const struct http_msg *msg)
{
	struct agent_conn *c;
	int err;

	c = mem_zalloc(sizeof(*c), conn_destructor);
	if (!c)
		return ENOMEM;
	c->peer = *http_conn_peer(conn);
	err = websock_accept(&c->wc, api.ws, conn, msg, WS_KEEPALIVE_MS,
			     conn_recv, conn_close, c);
	if (err) {
		mem_deref(c);
		return err;
	}
	c->counted = true;
	++api.subscribers;
	list_append(&ag.conns, &c->le, c);
	log_info(MOD, NULL, "agent %J connected", &c->peer);
	(void)send_json(c, "{\"type\":\"welcome\",\"protocol\":"
			"\"agentline-agent/1\",\"calls\":%H}", api_live_json,
			NULL);
	return 0;
}


/* Bus events: every event to every agent socket; call.* lifecycle
 * messages with the call's facts; a call that ended ends its takeover. */
void api_agent_event(const char *name, const struct odict *od,
		     const char *json)
{
	const char *callid = odict_string(od, "call");
	const char *life = NULL;
	struct takeover *t;

	if (!strcmp(name, "call_incoming"))
		life = "call.ringing";
	else if (!strcmp(name, "call_outgoing"))
		life = "call.dialing";
	else if (!strcmp(name, "call_answered"))
		life = "call.answered";
	else if (!strcmp(name, "call_ended") ||
		 !strcmp(name, "call_rejected"))
		life = "call.ended";

	for (struct le *le = ag.conns.head; le; le = le->next) {
		struct agent_conn *c = le->data;

		if (life && callid) {
			const char *reason = odict_string(od, "reason");

			(void)send_json(c, "{\"type\":\"%s\",\"session_id\":"
					"\"%s\",\"call\":%H%H}", life, callid,
					api_live_json,
					(void *)(uintptr_t)callid, member_h,
					&(struct member){"reason", reason});
		}
		(void)send_json(c, "{\"type\":\"event\",\"data\":%s}", json);
	}

	if (life && callid && !strcmp(life, "call.ended") &&
	    (t = to_find(callid))) {
		(void)send_json(t->owner, "{\"type\":\"session.ended\","
				"\"session_id\":\"%s\"}", callid);
		pending_clear(t);   /* the call's agent is gone */
		mem_deref(t);
	}
}


int api_agent_init(void)
{
	list_init(&ag.conns);
	list_init(&ag.takeovers);
	brain_set_external(external_turn, NULL);
	return 0;
}


void api_agent_close(void)
{
	brain_set_external(NULL, NULL);
	/* shutting down: no brain work for turns still open */
	for (struct le *le = ag.takeovers.head; le; le = le->next)
		pending_clear(le->data);
	list_flush(&ag.takeovers);
	list_flush(&ag.conns);
}
