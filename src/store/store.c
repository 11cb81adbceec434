/*
 * store.c  The store's public side: records calls, turns and tool calls
 *          from the event bus, formats query results as JSON, runs
 *          retention.  No SQL here: rows come from the backend
 *          (store_be.h, store_sqlite.c).
 *
 * Writes made while recording events are batched: the first one in a main
 * loop iteration opens a transaction and a zero timer commits it once the
 * iteration's handlers have run, so a burst of events costs one commit
 * and a crash loses at most what happened in the last iteration.  Writes
 * made through the API functions are committed before they return.
 *
 * Main thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "core/events.h"
#include "core/log.h"
#include "policy/policy.h"
#include "store/store.h"
#include "store/store_be.h"

/* The caller's normalised number is on no bus (personal data): it is
 * read from the call's trust state.  Linked weakly so the store also
 * works in builds or tests without the SIP and trust layers. */
struct call;
struct call *call_find(const char *id);
#pragma weak call_find
#pragma weak call_policy
#pragma weak policy_call_class

#define MOD "store"

enum {
	JSON_MAXDEPTH   = 8,
	JSON_HASH       = 16,
	LIMIT_MAX       = 500,
	SCHED_DUE_MAX   = 100,
	RETENTION_EVERY_MS = 24 * 3600 * 1000,
	KEY_MAX         = 256,
};

static struct {
	const struct store_be *be;
	void *ctx;
	bool txn;                  /* a batch is open                    */
	struct tmr tmr_commit;
	struct tmr tmr_retention;
	unsigned retention_days;
} st;


static const struct store_be *be_chosen;


void store_be_use(const struct store_be *be)
{
	be_chosen = be;
}


static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


bool store_isopen(void)
{
	return st.ctx != NULL;
}


/* ---------------------------------------------------------- batching */

static void commit_handler(void *arg)
{
	(void)arg;
	(void)store_flush();
}


int store_flush(void)
{
	int err;

	tmr_cancel(&st.tmr_commit);
	if (!st.ctx || !st.txn)
		return 0;
	st.txn = false;
	err = st.be->commit(st.ctx);
	if (err)
		log_warn(MOD, NULL, "commit failed: %m", err);
	return err;
}


/* Open the batch if none is open (commits at the end of the iteration). */
static int batch(void)
{
	int err;

	if (!st.ctx)
		return ENODEV;
	if (st.txn)
		return 0;
	err = st.be->begin(st.ctx);
	if (err)
		return err;
	st.txn = true;
	tmr_start(&st.tmr_commit, 0, commit_handler, NULL);
	return 0;
}


/* ------------------------------------------------------- JSON output */

/* Correct for any bytes: quotes, backslash and controls escaped, invalid
 * UTF-8 (bad lead, truncated, overlong, surrogate, > U+10FFFF) replaced
 * by U+FFFD, so the output always parses. */
int store_json_str(struct re_printf *pf, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char buf[256];
	size_t o = 0;
	int err = 0;

	if (!s)
		return 0;
	while (*p && !err) {
		unsigned c = *p;
		size_t need, len = 1;

		if (o + 8 > sizeof(buf)) {
			err = pf->vph(buf, o, pf->arg);
			o = 0;
			continue;
		}
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		}
		else if (c < 0x20 || c == 0x7f) {
			static const char hex[] = "0123456789abcdef";
			switch (c) {
			case '\n': buf[o++] = '\\'; buf[o++] = 'n'; break;
			case '\r': buf[o++] = '\\'; buf[o++] = 'r'; break;
			case '\t': buf[o++] = '\\'; buf[o++] = 't'; break;
			default:
				memcpy(buf + o, "\\u00", 4);
				o += 4;
				buf[o++] = hex[c >> 4];
				buf[o++] = hex[c & 15];
				break;
			}
		}
		else if (c < 0x80) {
			buf[o++] = (char)c;
		}
		else {
			uint32_t cp, min;
			bool ok = true;

			if (c >= 0xc2 && c <= 0xdf) {
				need = 1; cp = c & 0x1f; min = 0x80;
			}
			else if (c >= 0xe0 && c <= 0xef) {
				need = 2; cp = c & 0x0f; min = 0x800;
			}
			else if (c >= 0xf0 && c <= 0xf4) {
				need = 3; cp = c & 0x07; min = 0x10000;
			}
			else {
				need = 0; cp = 0; min = 0; ok = false;
			}
			for (size_t i = 1; ok && i <= need; i++) {
				if ((p[i] & 0xc0) != 0x80)
					ok = false;
				else
					cp = (cp << 6) | (p[i] & 0x3f);
			}
			if (ok && (cp < min || cp > 0x10ffff ||
				   (cp >= 0xd800 && cp <= 0xdfff)))
				ok = false;
			if (ok) {
				len = need + 1;
				memcpy(buf + o, p, len);
				o += len;
			}
			else {
				/* skip one byte; the next is judged anew */
				memcpy(buf + o, "\xef\xbf\xbd", 3);
				o += 3;
			}
		}
		p += len;
	}
	if (!err && o)
		err = pf->vph(buf, o, pf->arg);
	return err;
}


/* "key":"value" or "key":null */
static int jstr(struct mbuf *mb, const char *key, const char *v, bool comma)
{
	if (!v)
		return mbuf_printf(mb, "%s\"%s\":null", comma ? "," : "", key);
	return mbuf_printf(mb, "%s\"%s\":\"%H\"", comma ? "," : "", key,
			   store_json_str, v);
}


static int jint(struct mbuf *mb, const char *key, int64_t v, bool isset)
{
	if (!isset)
		return mbuf_printf(mb, ",\"%s\":null", key);
	return mbuf_printf(mb, ",\"%s\":%lld", key, (long long)v);
}


/* Unix time in seconds with milliseconds, like the events' "ts" */
static int jtime(struct mbuf *mb, const char *key, int64_t ms)
{
	if (ms <= 0)
		return mbuf_printf(mb, ",\"%s\":null", key);
	return mbuf_printf(mb, ",\"%s\":%lld.%03lld", key,
			   (long long)(ms / 1000), (long long)(ms % 1000));
}


static int jbool(struct mbuf *mb, const char *key, int v)
{
	return mbuf_printf(mb, ",\"%s\":%s", key, v < 0 ? "null" :
			   v ? "true" : "false");
}


struct fmt {
	struct mbuf *mb;
	int err;
	unsigned n;             /* items written                       */
	bool detail;
};


static void call_fmt(const struct store_call *c, void *arg)
{
	struct fmt *f = arg;
	struct mbuf *mb = f->mb;
	int err = 0;

	if (f->err)
		return;
	err |= mbuf_printf(mb, "%s{", f->n++ ? "," : "");
	err |= jstr(mb, "id", c->id, false);
	err |= jstr(mb, "direction", c->direction, true);
	err |= jstr(mb, "caller", c->caller_redacted, true);
	err |= jstr(mb, "group", c->group, true);
	err |= jint(mb, "privilege", c->privilege, c->privilege >= 0);
	err |= jstr(mb, "codec", c->codec, true);
	err |= jstr(mb, "transport", c->transport, true);
	err |= jbool(mb, "srtp", c->srtp);
	err |= jtime(mb, "started", c->started);
	err |= jtime(mb, "answered", c->answered);
	err |= jtime(mb, "ended", c->ended);
	err |= jstr(mb, "outcome", c->outcome, true);
	err |= jint(mb, "sip_code", c->sip_code, c->sip_code > 0);
	err |= jstr(mb, "end_reason", c->end_reason, true);
	err |= jint(mb, "duration_ms", c->duration_ms, c->duration_ms >= 0);
	err |= jstr(mb, "recording", c->recording, true);
	err |= jint(mb, "barge_ins", c->barge_ins, true);
	err |= jbool(mb, "live", c->live);
	if (!f->detail)
		err |= mbuf_write_str(mb, "}");
	f->err = err ? ENOMEM : 0;
}


static void turn_fmt(const struct store_turn *t, void *arg)
{
	struct fmt *f = arg;
	struct mbuf *mb = f->mb;
	int err = 0;

	if (f->err)
		return;
	err |= mbuf_printf(mb, "%s{\"turn\":%u", f->n++ ? "," : "", t->n);
	err |= jstr(mb, "transcript", t->transcript, true);
	err |= jstr(mb, "reply", t->reply, true);
	err |= jint(mb, "vad_end_ms", t->vad_end_ms, t->vad_end_ms >= 0);
	err |= jint(mb, "stt_ms", t->stt_ms, t->stt_ms >= 0);
	err |= jint(mb, "brain_ms", t->brain_ms, t->brain_ms >= 0);
	err |= jint(mb, "tts_first_audio_ms", t->tts_first_audio_ms,
		    t->tts_first_audio_ms >= 0);
	err |= jint(mb, "voice_to_voice_ms", t->voice_to_voice_ms,
		    t->voice_to_voice_ms >= 0);
	err |= jbool(mb, "interrupted", t->interrupted);
	err |= jtime(mb, "ts", t->ts);
	err |= mbuf_write_str(mb, "}");
	f->err = err ? ENOMEM : 0;
}


static void tool_fmt(const struct store_tool *t, void *arg)
{
	struct fmt *f = arg;
	struct mbuf *mb = f->mb;
	int err = 0;

	if (f->err)
		return;
	err |= mbuf_printf(mb, "%s{\"turn\":%u", f->n++ ? "," : "", t->turn);
	err |= jstr(mb, "tool", t->tool, true);
	err |= jstr(mb, "decision", t->decision, true);
	err |= jstr(mb, "category", t->category, true);
	err |= jbool(mb, "ok", t->ok);
	err |= jtime(mb, "ts", t->ts);
	err |= mbuf_write_str(mb, "}");
	f->err = err ? ENOMEM : 0;
}


static unsigned clamp_limit(unsigned limit)
{
	if (!limit)
		return 50;
	return limit > LIMIT_MAX ? LIMIT_MAX : limit;
}


/* On failure the buffer is put back as it was. */
static int finish(struct mbuf *mb, size_t pos, int err)
{
	if (err) {
		mb->pos = pos;
		mb->end = pos;
	}
	return err;
}


int store_calls_json(struct mbuf *mb, unsigned offset, unsigned limit)
{
	struct fmt f = {mb, 0, 0, false};
	size_t pos;
	uint64_t total = 0;
	int err;

	if (!mb)
		return EINVAL;
	if (!st.ctx)
		return ENODEV;
	pos = mb->pos;
	limit = clamp_limit(limit);
	err = mbuf_write_str(mb, "{\"calls\":[");
	if (!err)
		err = st.be->calls_list(st.ctx, offset, limit, &total,
					call_fmt, &f);
	err = err ? err : f.err;
	if (!err)
		err = mbuf_printf(mb, "],\"total\":%llu,\"offset\":%u,"
				  "\"limit\":%u}", (unsigned long long)total,
				  offset, limit);
	return finish(mb, pos, err);
}


struct callfmt {
	struct fmt f;
	bool turns_open, tools_open;
};


static void detail_turn(const struct store_turn *t, void *arg)
{
	turn_fmt(t, arg);
}


static void detail_tool(const struct store_tool *t, void *arg)
{
	struct callfmt *cf = arg;

	if (!cf->tools_open) {
		cf->tools_open = true;
		if (!cf->f.err && mbuf_write_str(cf->f.mb,
						 "],\"tool_calls\":["))
			cf->f.err = ENOMEM;
		cf->f.n = 0;
	}
	tool_fmt(t, arg);
}


static void detail_call(const struct store_call *c, void *arg)
{
	struct callfmt *cf = arg;

	call_fmt(c, arg);
	if (!cf->f.err && mbuf_write_str(cf->f.mb, ",\"turns\":["))
		cf->f.err = ENOMEM;
	cf->f.n = 0;
}


int store_call_json(struct mbuf *mb, const char *callid)
{
	struct callfmt cf;
	size_t pos;
	int err;

	if (!mb || !callid || !*callid)
		return EINVAL;
	if (!st.ctx)
		return ENODEV;
	memset(&cf, 0, sizeof(cf));
	cf.f.mb = mb;
	cf.f.detail = true;
	pos = mb->pos;
	err = st.be->call_get(st.ctx, callid, detail_call, detail_turn,
			      detail_tool, &cf);
	err = err ? err : cf.f.err;
	if (!err)
		err = mbuf_write_str(mb, cf.tools_open ? "]}" :
				     "],\"tool_calls\":[]}");
	return finish(mb, pos, err);
}


/* -------------------------------------------------- event recording */

static const char *ostr(const struct odict *o, const char *key)
{
	const struct odict_entry *e = odict_get_type(o, ODICT_STRING, key);

	return e ? e->u.str : NULL;
}


static int64_t oint(const struct odict *o, const char *key, int64_t dflt)
{
	const struct odict_entry *e = odict_lookup(o, key);

	if (!e)
		return dflt;
	if (e->type == ODICT_INT)
		return e->u.integer;
	if (e->type == ODICT_DOUBLE)
		return (int64_t)e->u.dbl;
	return dflt;
}


static int obool(const struct odict *o, const char *key)
{
	const struct odict_entry *e = odict_get_type(o, ODICT_BOOL, key);

	return e ? e->u.boolean : -1;
}


/* "ts":1763779175.123 -> ms; now if missing */
static int64_t ots(const struct odict *o)
{
	const struct odict_entry *e = odict_lookup(o, "ts");

	if (e && e->type == ODICT_DOUBLE)
		return (int64_t)(e->u.dbl * 1000.0 + 0.5);
	if (e && e->type == ODICT_INT)
		return e->u.integer * 1000;
	return now_ms();
}


static void call_init(struct store_call *c, const char *id, int64_t ts)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->privilege = -1;
	c->srtp = -1;
	c->sip_code = -1;
	c->duration_ms = -1;
	c->live = true;
	c->updated = ts;
}


/* the live call's normalised number, NULL if withheld or unknown */
static const char *caller_key(const char *callid)
{
	const struct caller_class *cc;
	const struct policy_call *pc;
	struct call *call;

	if (!call_find || !call_policy || !policy_call_class)
		return NULL;
	call = call_find(callid);
	pc = call ? call_policy(call) : NULL;
	cc = pc ? policy_call_class(pc) : NULL;
	return cc && cc->number && *cc->number ? cc->number : NULL;
}


/* caller facts a policy-aware emitter puts on call events */
static void call_facts(struct store_call *c, const struct odict *o)
{
	const char *dir = ostr(o, "direction");

	if (dir && (!strcmp(dir, "inbound") || !strcmp(dir, "outbound")))
		c->direction = dir;
	c->caller_redacted = ostr(o, "caller");
	c->group = ostr(o, "caller_group");
	if (!c->group)
		c->group = ostr(o, "group");
	c->privilege = (int)oint(o, "privilege", -1);
	c->recording = ostr(o, "recording");
	c->caller_key = caller_key(c->id);
}


static int record(const struct odict *o, const char *ev, const char *id,
		  int64_t ts)
{
	struct store_call c;

	call_init(&c, id, ts);

	if (!strcmp(ev, "call_incoming")) {
		call_facts(&c, o);
		c.started = ts;
		if (!c.direction)
			c.direction = "inbound";
		c.transport = ostr(o, "transport");
		return st.be->call_update(st.ctx, &c);
	}
	if (!strcmp(ev, "call_outcome")) {
		call_facts(&c, o);
		c.direction = "outbound";   /* only outbound calls have one */
		c.outcome = ostr(o, "outcome");
		c.sip_code = (int)oint(o, "sip_code", -1);
		return st.be->call_update(st.ctx, &c);
	}
	if (!strcmp(ev, "call_answered")) {
		call_facts(&c, o);
		c.codec = ostr(o, "codec");
		c.srtp = obool(o, "srtp");
		c.answered = ts;
		return st.be->call_update(st.ctx, &c);
	}
	if (!strcmp(ev, "call_ended") || !strcmp(ev, "call_rejected")) {
		bool rej = ev[5] == 'r';

		call_facts(&c, o);
		c.ended = ts;
		c.live = false;
		c.end_reason = rej ? "rejected" : ostr(o, "reason");
		if (rej) {
			c.outcome = "rejected";
			c.sip_code = (int)oint(o, "code", -1);
		}
		return st.be->call_update(st.ctx, &c);
	}
	if (!strcmp(ev, "turn")) {
		struct store_turn t;

		t.n = (unsigned)oint(o, "turn", 0);
		t.transcript = ostr(o, "transcript");
		t.reply = ostr(o, "reply");
		t.vad_end_ms = oint(o, "vad_end_ms", -1);
		t.stt_ms = oint(o, "stt_ms", -1);
		t.brain_ms = oint(o, "brain_ms", -1);
		t.tts_first_audio_ms = oint(o, "tts_first_audio_ms", -1);
		t.voice_to_voice_ms = oint(o, "voice_to_voice_ms", -1);
		t.interrupted = obool(o, "interrupted") > 0;
		t.ts = ts;
		return st.be->turn_put(st.ctx, id, &t);
	}
	if (!strcmp(ev, "tool_call")) {
		struct store_tool t;

		t.turn = (unsigned)oint(o, "turn", 0);
		t.tool = ostr(o, "tool");
		t.decision = ostr(o, "decision");
		t.category = ostr(o, "category");
		t.ok = obool(o, "ok");
		t.ts = ts;
		return st.be->tool_add(st.ctx, id, &t);
	}
	if (!strcmp(ev, "barge_in"))
		return st.be->call_barge_in(st.ctx, id, ts);
	return 0;
}


static bool recorded(const char *ev)
{
	static const char *const names[] = {
		"call_incoming", "call_outcome", "call_answered", "call_ended",
		"call_rejected", "turn", "tool_call", "barge_in",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(ev, names[i]))
			return true;
	}
	return false;
}


/* Cheap test before parsing: the event name is always the second
 * member, {"ts":..,"event":"NAME" */
static bool wanted(const char *json)
{
	const char *p = strstr(json, "\"event\":\"");
	char name[32];
	size_t i;

	if (!p)
		return false;
	p += 9;
	for (i = 0; i + 1 < sizeof(name) && p[i] && p[i] != '"'; i++)
		name[i] = p[i];
	name[i] = '\0';
	return recorded(name);
}


static void event_handler(const char *json, void *arg)
{
	struct odict *o = NULL;
	const char *ev, *id;
	int err;
	(void)arg;

	if (!st.ctx || !wanted(json))
		return;
	err = json_decode_odict(&o, JSON_HASH, json, strlen(json),
				JSON_MAXDEPTH);
	if (err) {
		log_debug(MOD, NULL, "unparsable event: %m", err);
		return;
	}
	ev = ostr(o, "event");
	id = ostr(o, "call");
	if (ev && id && *id) {
		err = batch();
		if (!err)
			err = record(o, ev, id, ots(o));
		if (err)
			log_warn(MOD, id, "%s not recorded: %m", ev, err);
	}
	mem_deref(o);
}


int store_call_caller(const char *callid, const char *redacted,
		      const char *caller_key, const char *group,
		      int privilege)
{
	struct store_call c;
	int err;

	if (!callid || !*callid)
		return EINVAL;
	err = batch();
	if (err)
		return err;
	call_init(&c, callid, now_ms());
	c.caller_redacted = redacted;
	c.caller_key = caller_key;
	c.group = group;
	c.privilege = privilege;
	return st.be->call_update(st.ctx, &c);
}


int store_call_recording(const char *callid, const char *path)
{
	struct store_call c;
	int err;

	if (!callid || !*callid || !path)
		return EINVAL;
	err = batch();
	if (err)
		return err;
	call_init(&c, callid, now_ms());
	c.recording = path;
	return st.be->call_update(st.ctx, &c);
}


/* ---------------------------------------------------------- retention */

struct files {
	struct list l;
};

struct file_ent {
	struct le le;
	char *path;
};


static void file_ent_destructor(void *arg)
{
	struct file_ent *f = arg;

	list_unlink(&f->le);
	mem_deref(f->path);
}


static void file_collect(const char *path, void *arg)
{
	struct files *fl = arg;
	struct file_ent *f = mem_zalloc(sizeof(*f), file_ent_destructor);

	if (!f)
		return;
	if (str_dup(&f->path, path)) {
		mem_deref(f);
		return;
	}
	list_append(&fl->l, &f->le, f);
}


static int purge(void)
{
	struct files fl = {LIST_INIT};
	unsigned ncalls = 0, nmsgs = 0, nfiles = 0;
	int64_t before;
	struct le *le;
	int err;

	if (!st.retention_days)
		return 0;
	before = now_ms() - (int64_t)st.retention_days * 86400 * 1000;
	err = store_flush();
	err = err ? err : st.be->begin(st.ctx);
	if (err)
		return err;
	err = st.be->purge(st.ctx, before, file_collect, &fl, &ncalls,
			   &nmsgs);
	if (!err)
		err = st.be->commit(st.ctx);
	else
		(void)st.be->commit(st.ctx);
	/* files only once the rows are gone for good */
	for (le = fl.l.head; le && !err; le = le->next) {
		struct file_ent *f = le->data;
		if (0 == unlink(f->path))
			++nfiles;
	}
	list_flush(&fl.l);
	if (err)
		log_warn(MOD, NULL, "retention: purge failed: %m", err);
	else if (ncalls || nmsgs)
		log_info(MOD, NULL, "retention: deleted %u calls, %u messages "
			 "and %u files older than %u days", ncalls, nmsgs,
			 nfiles, st.retention_days);
	return err;
}


static void retention_handler(void *arg)
{
	(void)arg;
	(void)purge();
	tmr_start(&st.tmr_retention, RETENTION_EVERY_MS, retention_handler,
		  NULL);
}


int store_retention_set(unsigned days)
{
	if (!st.ctx)
		return ENODEV;
	st.retention_days = days;
	tmr_cancel(&st.tmr_retention);
	if (!days)
		return 0;
	tmr_start(&st.tmr_retention, RETENTION_EVERY_MS, retention_handler,
		  NULL);
	return purge();
}


/* ---------------------------------------------------------- open/close */

int store_open(const char *data_dir)
{
	char reason[320] = "";
	unsigned ncrashed = 0, nsched = 0;
	int err;

	if (!data_dir || !*data_dir)
		return EINVAL;
	if (st.ctx)
		return EALREADY;
	tmr_init(&st.tmr_commit);
	tmr_init(&st.tmr_retention);
	st.be = be_chosen ? be_chosen : &store_sqlite;
	st.txn = false;
	st.retention_days = 0;

	err = st.be->open(&st.ctx, data_dir, reason, sizeof(reason));
	if (err) {
		log_error(MOD, NULL, "cannot open the store in %s: %s",
			  data_dir, reason);
		st.ctx = NULL;
		return err;
	}
	err = st.be->begin(st.ctx);
	if (!err)
		err = st.be->recover(st.ctx, &ncrashed);
	if (!err)
		err = st.be->sched_recover(st.ctx, &nsched);
	if (!err)
		err = st.be->commit(st.ctx);
	if (err) {
		log_error(MOD, NULL, "store recovery failed: %m", err);
		goto out;
	}
	if (ncrashed)
		log_warn(MOD, NULL, "%u call%s left live by a crash marked "
			 "ended (crash)", ncrashed, ncrashed > 1 ? "s" : "");
	if (nsched)
		log_warn(MOD, NULL, "%u scheduled call%s interrupted by a "
			 "crash marked done (crash)", nsched,
			 nsched > 1 ? "s" : "");

	err = events_subscribe(event_handler, NULL);
	if (err)
		goto out;
	log_info(MOD, NULL, "store open (%s, %s)", st.be->name, data_dir);

 out:
	if (err) {
		st.be->close(st.ctx);
		st.ctx = NULL;
	}
	return err;
}


void store_close(void)
{
	if (!st.ctx)
		return;
	events_unsubscribe(event_handler, NULL);
	(void)store_flush();
	tmr_cancel(&st.tmr_retention);
	st.be->close(st.ctx);
	st.ctx = NULL;
}


/* ----------------------------------------------------- API operations */

/* Run one API write in the current batch and commit it now. */
static int write_done(int err)
{
	int e = store_flush();

	return err ? err : e;
}


static bool key_ok(const char *key)
{
	size_t n = str_len(key);

	return n > 0 && n <= KEY_MAX;
}


/* A JSON object, re-encoded by libre so what we embed as is in our own
 * JSON output is well-formed whatever was given (trailing bytes and the
 * like are not carried over). */
static int json_norm(const char *json, char **outp)
{
	struct odict *o = NULL;
	int err;

	if (!json)
		return EINVAL;
	/* libre's decoder also takes bare words: require an object */
	while (*json == ' ' || *json == '\t' || *json == '\r' ||
	       *json == '\n')
		++json;
	if (*json != '{')
		return EINVAL;
	err = json_decode_odict(&o, JSON_HASH, json, strlen(json),
				JSON_MAXDEPTH);
	if (!err)
		err = re_sdprintf(outp, "%H", json_encode_odict, o);
	mem_deref(o);
	return err == ENOMEM ? ENOMEM : err ? EINVAL : 0;
}


int store_message_add(const struct store_message *m, uint64_t *idp)
{
	uint64_t id = 0;
	int err;

	if (!m)
		return EINVAL;
	err = batch();
	if (err)
		return err;
	err = write_done(st.be->message_add(st.ctx, m, now_ms(), &id));
	if (err)
		return err;
	/* name and callback number are personal: not on the bus */
	events_emit("message_taken", m->callid, ",\"id\":%llu,\"audio\":%s",
		    (unsigned long long)id, m->audio_path && *m->audio_path ?
		    "true" : "false");
	if (idp)
		*idp = id;
	return 0;
}


int store_message_read(uint64_t id, bool read)
{
	int err = batch();

	return err ? err : write_done(st.be->message_read(st.ctx, id, read));
}


static void msg_fmt(const struct store_msg_row *m, void *arg)
{
	struct fmt *f = arg;
	struct mbuf *mb = f->mb;
	int err = 0;

	if (f->err)
		return;
	err |= mbuf_printf(mb, "%s{\"id\":%llu", f->n++ ? "," : "",
			   (unsigned long long)m->id);
	err |= jstr(mb, "call", m->callid, true);
	err |= jstr(mb, "name", m->name, true);
	err |= jstr(mb, "callback", m->callback, true);
	err |= jstr(mb, "text", m->text, true);
	err |= jstr(mb, "audio_path", m->audio_path, true);
	err |= jtime(mb, "ts", m->ts);
	err |= jbool(mb, "read", m->read);
	err |= mbuf_write_str(mb, "}");
	f->err = err ? ENOMEM : 0;
}


int store_messages_json(struct mbuf *mb, unsigned offset, unsigned limit)
{
	struct fmt f = {mb, 0, 0, false};
	uint64_t total = 0;
	size_t pos;
	int err;

	if (!mb)
		return EINVAL;
	if (!st.ctx)
		return ENODEV;
	pos = mb->pos;
	limit = clamp_limit(limit);
	err = mbuf_write_str(mb, "{\"messages\":[");
	if (!err)
		err = st.be->messages_list(st.ctx, offset, limit, &total,
					   msg_fmt, &f);
	err = err ? err : f.err;
	if (!err)
		err = mbuf_printf(mb, "],\"total\":%llu,\"offset\":%u,"
				  "\"limit\":%u}", (unsigned long long)total,
				  offset, limit);
	return finish(mb, pos, err);
}


int store_message_delete(uint64_t id)
{
	char *audio = NULL;
	int err = batch();

	if (err)
		return err;
	err = write_done(st.be->message_delete(st.ctx, id, &audio));
	if (!err && audio)
		(void)unlink(audio);
	mem_deref(audio);
	return err;
}


int store_history_get(const char *key, char **jsonp)
{
	if (!key_ok(key) || !jsonp)
		return EINVAL;
	if (!st.ctx)
		return ENODEV;
	return st.be->kv_get(st.ctx, true, key, jsonp);
}


int store_history_put(const char *key, const char *json)
{
	char *norm = NULL;
	int err;

	if (!key_ok(key))
		return EINVAL;
	err = json_norm(json, &norm);
	err = err ? err : batch();
	if (!err)
		err = write_done(st.be->kv_put(st.ctx, true, key, norm,
					       now_ms()));
	mem_deref(norm);
	return err;
}


static void hist_fmt(const char *key, const char *val, int64_t updated,
		     void *arg)
{
	struct fmt *f = arg;
	struct mbuf *mb = f->mb;
	int err = 0;

	if (f->err)
		return;
	err |= mbuf_printf(mb, "%s{", f->n++ ? "," : "");
	err |= jstr(mb, "key", key, false);
	/* validated as JSON when it was put */
	err |= mbuf_printf(mb, ",\"history\":%s", val && *val ? val : "null");
	err |= jtime(mb, "updated", updated);
	err |= mbuf_write_str(mb, "}");
	f->err = err ? ENOMEM : 0;
}


int store_history_json(struct mbuf *mb)
{
	struct fmt f = {mb, 0, 0, false};
	size_t pos;
	int err;

	if (!mb)
		return EINVAL;
	if (!st.ctx)
		return ENODEV;
	pos = mb->pos;
	err = mbuf_write_str(mb, "{\"callers\":[");
	if (!err)
		err = st.be->kv_list(st.ctx, true, hist_fmt, &f);
	err = err ? err : f.err;
	if (!err)
		err = mbuf_write_str(mb, "]}");
	return finish(mb, pos, err);
}


int store_history_delete(const char *key)
{
	int err;

	if (!key_ok(key))
		return EINVAL;
	err = batch();
	return err ? err : write_done(st.be->kv_delete(st.ctx, true, key));
}


int store_setting_get(const char *key, char **valp)
{
	if (!key_ok(key) || !valp)
		return EINVAL;
	if (!st.ctx)
		return ENODEV;
	return st.be->kv_get(st.ctx, false, key, valp);
}


int store_setting_put(const char *key, const char *val)
{
	int err;

	if (!key_ok(key) || !val)
		return EINVAL;
	err = batch();
	return err ? err : write_done(st.be->kv_put(st.ctx, false, key, val,
						     now_ms()));
}


struct set_arg {
	store_setting_h *h;
	void *arg;
};


static void setting_row(const char *key, const char *val, int64_t updated,
			void *arg)
{
	struct set_arg *sa = arg;
	(void)updated;

	if (key && val)
		sa->h(key, val, sa->arg);
}


int store_settings_foreach(store_setting_h *h, void *arg)
{
	struct set_arg sa = {h, arg};

	if (!h)
		return EINVAL;
	if (!st.ctx)
		return ENODEV;
	return st.be->kv_list(st.ctx, false, setting_row, &sa);
}


int store_sched_add(const char *json, uint64_t at_unix, uint64_t *idp)
{
	char *norm = NULL;
	int err;

	if (at_unix > INT64_MAX / 1000)
		return EINVAL;
	err = json_norm(json, &norm);
	err = err ? err : batch();
	if (!err)
		err = write_done(st.be->sched_add(st.ctx, norm,
						  (int64_t)at_unix, now_ms(),
						  idp));
	mem_deref(norm);
	return err;
}


static void sched_fmt(const struct store_sched_row *r, void *arg)
{
	struct fmt *f = arg;
	struct mbuf *mb = f->mb;
	int err = 0;

	if (f->err)
		return;
	err |= mbuf_printf(mb, "%s{\"id\":%llu,\"at\":%lld", f->n++ ? "," : "",
			   (unsigned long long)r->id, (long long)r->at);
	err |= jstr(mb, "state", r->state, true);
	err |= jstr(mb, "outcome", r->outcome, true);
	err |= jtime(mb, "created", r->created);
	/* validated as JSON when it was added */
	err |= mbuf_printf(mb, ",\"request\":%s}", r->json && *r->json ?
			   r->json : "null");
	f->err = err ? ENOMEM : 0;
}


int store_sched_json(struct mbuf *mb)
{
	struct fmt f = {mb, 0, 0, false};
	size_t pos;
	int err;

	if (!mb)
		return EINVAL;
	if (!st.ctx)
		return ENODEV;
	pos = mb->pos;
	err = mbuf_write_str(mb, "{\"scheduled\":[");
	if (!err)
		err = st.be->sched_list(st.ctx, sched_fmt, &f);
	err = err ? err : f.err;
	if (!err)
		err = mbuf_write_str(mb, "]}");
	return finish(mb, pos, err);
}


int store_sched_cancel(uint64_t id)
{
	int err = batch();

	return err ? err : write_done(st.be->sched_cancel(st.ctx, id));
}


struct due_ent {
	struct le le;
	uint64_t id;
	char *json;
};


static void due_ent_destructor(void *arg)
{
	struct due_ent *d = arg;

	list_unlink(&d->le);
	mem_deref(d->json);
}


static void due_collect(const struct store_sched_row *r, void *arg)
{
	struct list *l = arg;
	struct due_ent *d = mem_zalloc(sizeof(*d), due_ent_destructor);

	if (!d)
		return;   /* stays "started": reported, never placed twice */
	d->id = r->id;
	if (str_dup(&d->json, r->json ? r->json : "{}")) {
		mem_deref(d);
		return;
	}
	list_append(l, &d->le, d);
}


int store_sched_due(uint64_t now_unix, store_sched_h *h, void *arg)
{
	struct list due = LIST_INIT;
	struct le *le;
	int err;

	if (!h || now_unix > INT64_MAX / 1000)
		return EINVAL;
	err = batch();
	if (err)
		return err;
	err = write_done(st.be->sched_due(st.ctx, (int64_t)now_unix,
					  SCHED_DUE_MAX, due_collect, &due));
	/* marked started and committed before any call is placed: a crash
	 * never places one twice */
	for (le = due.head; le && !err; le = le->next) {
		struct due_ent *d = le->data;
		h(d->id, d->json, arg);
	}
	list_flush(&due);
	return err;
}


int store_sched_done(uint64_t id, const char *outcome)
{
	int err;

	if (!outcome)
		return EINVAL;
	err = batch();
	return err ? err : write_done(st.be->sched_done(st.ctx, id,
							outcome));
}
