/*
 * api_events.c  The API's one subscription to the event bus: keeps the
 *               table of live calls and registrations the REST routes
 *               show, feeds metrics, webhooks and the agent WebSocket, and
 *               fans every event out to /api/events WebSocket subscribers
 *               with DTMF digits masked.
 *
 * A subscriber whose socket backs up (more than WS_TXQ_MAX bytes queued)
 * is dropped rather than buffered without bound.
 *
 * Main thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "core/events.h"
#include "core/log.h"
#include "sip/call.h"
#include "sip/reg.h"
#include "api/apiint.h"

#define MOD "api"

enum {
	WS_KEEPALIVE_MS = 25000,
	WS_TXQ_MAX      = 512 * 1024,
	LIVE_MAX        = 20000,
	REGS_MAX        = 100,
};

struct live {
	struct le le;
	char *id;
	char direction[12];
	char state[16];
	char codec[16];
	char group[32];
	char caller[24];
	double started, answered;    /* unix seconds (event ts) */
	unsigned turns;
	int privilege;               /* -1 = not classified               */
	bool srtp;
	bool taken_over;
};

struct reg {
	struct le le;
	char account[64];
	bool registered;
	unsigned code;
	unsigned expires;
	char reason[96];
	double ts;
};

struct sub {
	struct le le;
	struct websock_conn *wc;
	struct sa peer;
	struct tmr tmr;              /* deferred release                  */
	bool counted;
	bool closing;
};

static struct {
	struct list live;
	struct list regs;
	struct list subs;
	bool subscribed;
} ev;


/* ---- live calls */

static void live_destructor(void *arg)
{
	struct live *l = arg;

	list_unlink(&l->le);
	mem_deref(l->id);
}


static struct live *live_find(const char *id)
{
	for (struct le *le = ev.live.head; le; le = le->next) {
		struct live *l = le->data;

		if (!strcmp(l->id, id))
			return l;
	}
	return NULL;
}


static struct live *live_get(const char *id, double ts)
{
	struct live *l = live_find(id);

	if (l || list_count(&ev.live) >= LIVE_MAX)
		return l;
	l = mem_zalloc(sizeof(*l), live_destructor);
	if (!l)
		return NULL;
	if (str_dup(&l->id, id)) {
		mem_deref(l);
		return NULL;
	}
	str_ncpy(l->state, "ringing", sizeof(l->state));
	str_ncpy(l->direction, "inbound", sizeof(l->direction));
	l->privilege = -1;
	l->started = ts;
	list_append(&ev.live, &l->le, l);
	return l;
}


static void copy_str(char *dst, size_t sz, const struct odict *od,
		     const char *key)
{
	const char *s = odict_string(od, key);

	if (s)
		str_ncpy(dst, s, sz);
}


static const void *opt(const char *s)
{
	return s[0] ? s : NULL;
}


static int live_obj(struct re_printf *pf, const struct live *l)
{
	char priv[8] = "null";
	char ans[24] = "null";

	if (l->privilege >= 0)
		re_snprintf(priv, sizeof(priv), "%d", l->privilege);
	if (l->answered > 0)
		snprintf(ans, sizeof(ans), "%.3f", l->answered);
	return re_hprintf(pf, "{\"id\":%H,\"direction\":%H,"
			  "\"state\":\"%s\",\"codec\":%H,\"srtp\":%s,"
			  "\"group\":%H,\"privilege\":%s,\"caller\":%H,"
			  "\"started\":%.3f,\"answered\":%s,"
			  "\"turns\":%u,\"taken_over\":%s}",
			  api_jstr_h, l->id, api_jstr_h, l->direction,
			  l->state,
			  api_jstr_h, opt(l->codec),
			  l->srtp ? "true" : "false",
			  api_jstr_h, opt(l->group), priv,
			  api_jstr_h, opt(l->caller),
			  l->started, ans, l->turns,
			  l->taken_over ? "true" : "false");
}


/* A call the bus has not told us about yet (e.g. an outbound call a tool
 * placed, still ringing): list it from call.c. */
static void live_add_missing(struct call *call, void *arg)
{
	struct live *l;
	struct timespec now;

	(void)arg;
	if (live_find(call_id(call)))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	l = live_get(call_id(call), (double)now.tv_sec +
		     now.tv_nsec / 1e9);
	if (!l)
		return;
	str_ncpy(l->direction, call_is_outbound(call) ? "outbound" :
		 "inbound", sizeof(l->direction));
	if (call_state(call) == CALL_STATE_ESTABLISHED)
		str_ncpy(l->state, "answered", sizeof(l->state));
}


int api_live_json(struct re_printf *pf, void *arg)
{
	const char *id = arg;
	bool first = true;
	int err;

	call_foreach(live_add_missing, NULL);

	if (id) {
		struct live *l = live_find(id);

		return l ? live_obj(pf, l) : re_hprintf(pf, "null");
	}
	err = re_hprintf(pf, "[");
	for (struct le *le = ev.live.head; le; le = le->next) {
		if (!first)
			err |= re_hprintf(pf, ",");
		first = false;
		err |= live_obj(pf, le->data);
	}
	return err | re_hprintf(pf, "]");
}


int api_live_ids_json(struct re_printf *pf, void *arg)
{
	bool first = true;
	int err = re_hprintf(pf, "[");

	(void)arg;
	for (struct le *le = ev.live.head; le; le = le->next) {
		struct live *l = le->data;

		err |= re_hprintf(pf, "%s\"%s\"", first ? "" : ",", l->id);
		first = false;
	}
	return err | re_hprintf(pf, "]");
}


bool api_live_known(const char *callid)
{
	return callid && live_find(callid) != NULL;
}


int api_live_first(char *buf, size_t sz)
{
	struct le *le = list_head(&ev.live);

	if (!le)
		return ENOENT;
	str_ncpy(buf, ((struct live *)le->data)->id, sz);
	return 0;
}


void api_live_set_takeover(const char *callid, bool on)
{
	struct live *l = callid ? live_find(callid) : NULL;

	if (l)
		l->taken_over = on;
}


/* ---- registrations */

static void reg_destructor(void *arg)
{
	struct reg *r = arg;

	list_unlink(&r->le);
}


static void reg_update(const struct odict *od, bool ok, double ts)
{
	const char *acc = odict_string(od, "account");
	struct reg *r = NULL;
	uint64_t n;

	if (!acc)
		return;
	for (struct le *le = ev.regs.head; le; le = le->next) {
		struct reg *x = le->data;

		if (!strcmp(x->account, acc))
			r = x;
	}
	if (!r) {
		if (list_count(&ev.regs) >= REGS_MAX)
			return;
		r = mem_zalloc(sizeof(*r), reg_destructor);
		if (!r)
			return;
		str_ncpy(r->account, acc, sizeof(r->account));
		list_append(&ev.regs, &r->le, r);
	}
	r->registered = ok;
	r->ts = ts;
	r->code = odict_get_number(od, &n, "code") ? (unsigned)n :
		ok ? 200 : 0;
	r->expires = odict_get_number(od, &n, "expires") ? (unsigned)n : 0;
	r->reason[0] = '\0';
	copy_str(r->reason, sizeof(r->reason), od, "reason");
}


static const struct reg *reg_find(const char *tag)
{
	for (struct le *le = ev.regs.head; le; le = le->next) {
		const struct reg *r = le->data;

		if (tag && !strcmp(r->account, tag))
			return r;
	}
	return NULL;
}


/* Every configured account (reg.c) with what the bus told us about it. */
int api_regs_json(struct re_printf *pf, void *arg)
{
	unsigned n = reg_count();
	int err = re_hprintf(pf, "[");

	(void)arg;
	for (unsigned i = 0; i < n; i++) {
		const struct account *acc = account_get(i);
		const char *tag = account_tag(acc);
		const struct reg *r = reg_find(tag);

		err |= re_hprintf(pf, "%s{\"account\":%H,\"aor\":%H,"
				  "\"registered\":%s,\"code\":%u,"
				  "\"expires\":%u,\"reason\":%H,"
				  "\"since\":%.3f}", i ? "," : "",
				  api_jstr_h, tag, api_jstr_h,
				  account_aor(acc),
				  account_registered(acc) ? "true" : "false",
				  r ? r->code : 0, r ? r->expires : 0,
				  api_jstr_h,
				  r && r->reason[0] ? r->reason : NULL,
				  r ? r->ts : 0.0);
	}
	return err | re_hprintf(pf, "]");
}


/* ---- masking */

/* Copy of json with the values of "digit" and "digits" replaced by '*'s
 * (one per character), so no subscriber or webhook learns PINs. */
char *api_event_mask(const char *json)
{
	static const char *const keys[] = {"\"digit\":\"", "\"digits\":\""};
	char *out = NULL;

	if (str_dup(&out, json))
		return NULL;
	for (size_t k = 0; k < 2; k++) {
		char *p = out;

		while ((p = strstr(p, keys[k]))) {
			p += strlen(keys[k]);
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					*p++ = '*';
				*p++ = '*';
			}
		}
	}
	return out;
}


/* ---- subscribers */

static void sub_destructor(void *arg)
{
	struct sub *s = arg;

	tmr_cancel(&s->tmr);
	list_unlink(&s->le);
	s->wc = mem_deref(s->wc);
	if (s->counted && api.subscribers)
		--api.subscribers;
}


static void sub_release(void *arg)
{
	mem_deref(arg);
}


static void sub_recv(const struct websock_hdr *hdr, struct mbuf *mb,
		     void *arg)
{
	struct sub *s = arg;

	(void)hdr;
	(void)mb;
	/* clients have nothing to say here; flooding closes the socket
	 * (released from a timer: we are inside the socket's handler) */
	if (!s->closing && !api_rate_take(&s->peer)) {
		s->closing = true;
		(void)websock_close(s->wc, WEBSOCK_POLICY_VIOLATION,
				    "rate limit");
		list_unlink(&s->le);
		tmr_start(&s->tmr, 0, sub_release, s);
	}
}


static void sub_close(int err, void *arg)
{
	struct sub *s = arg;

	(void)err;
	if (s->closing)
		return;   /* the timer releases it */
	mem_deref(s);
}


int api_events_accept(struct http_conn *conn, const struct http_msg *msg)
{
	struct sub *s;
	int err;

	s = mem_zalloc(sizeof(*s), sub_destructor);
	if (!s)
		return ENOMEM;
	tmr_init(&s->tmr);
	s->peer = *http_conn_peer(conn);
	err = websock_accept(&s->wc, api.ws, conn, msg, WS_KEEPALIVE_MS,
			     sub_recv, sub_close, s);
	if (err) {
		mem_deref(s);
		return err;
	}
	s->counted = true;
	++api.subscribers;
	list_append(&ev.subs, &s->le, s);
	return 0;
}


static void fanout(const char *masked)
{
	struct le *le = ev.subs.head;

	while (le) {
		struct sub *s = le->data;
		struct tcp_conn *tc;

		le = le->next;
		tc = websock_tcp(s->wc);
		if (!tc || tcp_conn_txqsz(tc) > WS_TXQ_MAX) {
			log_warn(MOD, NULL, "events subscriber %J is too "
				 "slow: dropped", &s->peer);
			mem_deref(s);
			continue;
		}
		(void)websock_send(s->wc, WEBSOCK_TEXT, "%s", masked);
	}
}


static void bus_handler(const char *json, void *arg)
{
	struct odict *od = NULL;
	const struct odict_entry *e;
	const char *name, *callid;
	char *masked;
	double ts = 0;
	struct live *l;

	(void)arg;
	if (json_decode_odict(&od, 16, json, strlen(json), 4))
		return;
	name = odict_string(od, "event");
	callid = odict_string(od, "call");
	e = odict_lookup(od, "ts");
	if (e && e->type == ODICT_DOUBLE)
		ts = e->u.dbl;
	else if (e && e->type == ODICT_INT)
		ts = (double)e->u.integer;
	if (!name)
		goto out;

	if (callid && strcmp(name, "call_ended") &&
	    strcmp(name, "call_rejected")) {
		l = live_get(callid, ts);
		if (l && !strcmp(name, "call_answered")) {
			str_ncpy(l->state, "answered", sizeof(l->state));
			copy_str(l->codec, sizeof(l->codec), od, "codec");
			copy_str(l->direction, sizeof(l->direction), od,
				 "direction");
			(void)odict_get_boolean(od, &l->srtp, "srtp");
			l->answered = ts;
		}
		else if (l && !strcmp(name, "call_outgoing")) {
			str_ncpy(l->direction, "outbound",
				 sizeof(l->direction));
		}
		else if (l && !strcmp(name, "call_outcome")) {
			str_ncpy(l->direction, "outbound",
				 sizeof(l->direction));
		}
		else if (l && !strcmp(name, "turn")) {
			++l->turns;
		}
		if (l) {
			uint64_t pv;

			copy_str(l->group, sizeof(l->group), od, "group");
			copy_str(l->caller, sizeof(l->caller), od, "caller");
			if (odict_get_number(od, &pv, "privilege") && pv <= 3)
				l->privilege = (int)pv;
		}
	}

	if (!strcmp(name, "registered"))
		reg_update(od, true, ts);
	else if (!strcmp(name, "registration_failed"))
		reg_update(od, false, ts);

	api_metrics_event(name, od);

	masked = api_event_mask(json);
	if (masked) {
		fanout(masked);
		api_webhook_event(name, masked);
		api_agent_event(name, od, masked);
		mem_deref(masked);
	}

	if (callid && (!strcmp(name, "call_ended") ||
		       !strcmp(name, "call_rejected"))) {
		mem_deref(live_find(callid));
		api_call_forget(callid);
	}
 out:
	mem_deref(od);
}


int api_events_init(void)
{
	int err;

	list_init(&ev.live);
	list_init(&ev.regs);
	list_init(&ev.subs);
	err = events_subscribe(bus_handler, NULL);
	if (!err)
		ev.subscribed = true;
	return err;
}


void api_events_close(void)
{
	if (ev.subscribed)
		events_unsubscribe(bus_handler, NULL);
	ev.subscribed = false;
	list_flush(&ev.subs);
	list_flush(&ev.live);
	list_flush(&ev.regs);
}


const char *api_live_direction(const char *callid)
{
	struct live *l = callid ? live_find(callid) : NULL;

	return l ? l->direction : NULL;
}


unsigned api_live_count(void)
{
	return list_count(&ev.live);
}


/* Seconds since the call started (-1 if unknown). */
double api_live_age(const char *callid)
{
	struct live *l = callid ? live_find(callid) : NULL;
	struct timespec now;

	if (!l || l->started <= 0)
		return -1;
	clock_gettime(CLOCK_REALTIME, &now);
	return (double)now.tv_sec + now.tv_nsec / 1e9 - l->started;
}
