/*
 * api_phone.c  GET /api/phone: the control centre's softphone (protocol in
 *              docs/webrtc.md).  A signed-in owner calls the agent from the
 *              browser (a WebRTC call, call_accept_local), or listens in on
 *              a live call (a WebRTC stream fed by the call's tap) and takes
 *              it over with their own voice (the agent goes quiet, the
 *              browser's audio is played into the call; release hands it
 *              back).  Signalling is JSON on this WebSocket; the page sends
 *              its offer without waiting for ICE gathering (we are
 *              ICE-lite, its checks come to our one candidate).
 *
 * One session per socket: a softphone call or a listen-in.  Closing the
 * socket ends it.  Main thread only.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "core/conf.h"
#include "core/events.h"
#include "core/log.h"
#include "media/stream.h"
#include "media/wrtc.h"
#include "pipeline/app.h"
#include "policy/policy.h"
#include "sip/call.h"
#include "store/store.h"
#include "api/api.h"
#include "api/apiint.h"

#define MOD "phone"


enum {
	WS_KEEPALIVE_MS = 25000,
	SDP_MAX         = 32768,
	/* audio we queue ahead towards either side: more is dropped, so a
	 * stall never turns into lasting delay */
	LEVEL_MAX       = AUDIO_FRAME_SAMPLES * 4,
	GROUPS_SHOWN    = 64,
};

enum phone_mode { PHONE_IDLE = 0, PHONE_CALL, PHONE_LISTEN };

struct phone {
	struct le le;                 /* in ph.conns                      */
	struct websock_conn *wc;
	struct sa peer;
	struct sa laddr;              /* where the page reached us        */
	bool counted;
	enum phone_mode mode;
	char callid[16];              /* the call of this session         */
	/* PHONE_CALL: our softphone call (it tells us when it ends) */
	struct call *call;
	/* PHONE_LISTEN: a WebRTC stream to the page, fed by the call's tap */
	struct mstream *lms;
	bool takeover;                /* the page's voice goes to the call */
	struct tmr tmr_end;           /* end the listen-in outside callbacks */
	const char *end_reason;
};

static struct {
	struct list conns;
	bool subscribed;
} ph;


static int send_json(struct phone *p, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int err;

	if (!p || !p->wc)
		return ENOTCONN;
	va_start(ap, fmt);
	err = re_vsdprintf(&s, fmt, ap);
	va_end(ap);
	if (!err)
		err = websock_send(p->wc, WEBSOCK_TEXT, "%s", s);
	mem_deref(s);
	return err;
}


static void send_error(struct phone *p, const char *code, const char *msg)
{
	(void)send_json(p, "{\"type\":\"error\",\"code\":\"%s\","
			"\"message\":%H}", code, api_jstr_h,
			(void *)(uintptr_t)msg);
}


static int groups_json(struct re_printf *pf, void *arg)
{
	struct caller_class cls;
	int err = 0;
	bool first = true;
	(void)arg;

	err |= re_hprintf(pf, "[");
	for (size_t i = 0; i < GROUPS_SHOWN && policy_group_at(i, &cls);
	     i++) {
		if (cls.declined)
			continue;
		err |= re_hprintf(pf, "%s{\"name\":%H,\"privilege\":%d}",
				  first ? "" : ",", api_jstr_h,
				  (void *)(uintptr_t)cls.group,
				  cls.privilege);
		first = false;
	}
	err |= re_hprintf(pf, "]");
	return err;
}


static void send_state(struct phone *p)
{
	struct policy_call *pc = NULL;
	const struct caller_class *cc;
	const char *dflt = NULL;

	if (0 == policy_call_alloc_group(&pc, NULL)) {
		cc = policy_call_class(pc);
		dflt = cc ? cc->group : NULL;
	}
	(void)send_json(p, "{\"type\":\"state\",\"mode\":\"%s\","
			"\"call_id\":%H,\"takeover\":%s,\"groups\":%H,"
			"\"default_group\":%H}",
			p->mode == PHONE_CALL ? "call" :
			p->mode == PHONE_LISTEN ? "listen" : "idle",
			api_jstr_h, p->mode ? p->callid : NULL,
			p->takeover ? "true" : "false", groups_json, NULL,
			api_jstr_h, (void *)(uintptr_t)dflt);
	mem_deref(pc);
}


/* Media settings of a softphone or listen-in stream: those of SIP calls,
 * on the address the page reached us on (it is where the browser's ICE
 * checks can come to). */
static int media_cfg(struct mstream_cfg *mcfg, const struct phone *p)
{
	const struct conf *conf = api.conf;
	int err;

	memset(mcfg, 0, sizeof(*mcfg));
	mcfg->laddr = p->laddr;
	sa_set_port(&mcfg->laddr, 0);
	mcfg->port_min = (uint16_t)conf_int(conf, "rtp_port_min");
	mcfg->port_max = (uint16_t)conf_int(conf, "rtp_port_max");
	mcfg->rtp_timeout_secs = (uint32_t)conf_int(conf, "rtp_timeout_secs");
	mcfg->jitter_min_ms = (uint32_t)conf_int(conf, "jitter_min_ms");
	mcfg->jitter_max_ms = (uint32_t)conf_int(conf, "jitter_max_ms");
	err = sdpneg_prefs_parse(&mcfg->prefs, conf_str(conf, "codecs"));
	if (err)
		return err;
	mcfg->prefs.srtp = SRTP_OFF;     /* DTLS-SRTP, not SDES */
	mcfg->prefs.fingerprint = wrtc_fingerprint();
	return 0;
}


static int sdp_mbuf(struct mbuf **mbp, const char *sdp)
{
	struct mbuf *mb = mbuf_alloc(strlen(sdp) + 1);
	int err;

	if (!mb)
		return ENOMEM;
	err = mbuf_write_str(mb, sdp);
	mb->pos = 0;
	if (err)
		mem_deref(mb);
	else
		*mbp = mb;
	return err;
}


static void send_answer(struct phone *p, struct mbuf *answer)
{
	char *sdp = mem_zalloc(answer->end + 1, NULL);

	if (!sdp)
		return;
	memcpy(sdp, answer->buf, answer->end);
	(void)send_json(p, "{\"type\":\"answer\",\"call_id\":\"%s\","
			"\"sdp\":%H}", p->callid, api_jstr_h, sdp);
	mem_deref(sdp);
}


/* ---- the softphone call */

/* call_local_bye_h: the call ended (any side) */
static void call_bye(const char *reason, void *arg)
{
	struct phone *p = arg;

	if (!p->call)
		return;        /* the socket is going away */
	p->call = NULL;
	p->mode = PHONE_IDLE;
	(void)send_json(p, "{\"type\":\"ended\",\"call_id\":\"%s\","
			"\"reason\":%H}", p->callid, api_jstr_h,
			(void *)(uintptr_t)(reason ? reason : "ended"));
	p->callid[0] = '\0';
}


static void cmd_call(struct phone *p, const char *sdp, const char *group)
{
	const struct conf *conf = api.conf;
	struct call_params prm;
	struct mstream_cfg mcfg;
	struct policy_call *pc = NULL;
	struct mbuf *offer = NULL, *answer = NULL;
	struct call *call = NULL;
	char rec[512] = "";
	int err;

	if (p->mode != PHONE_IDLE) {
		send_error(p, "busy", "this page already has a call or "
			   "listens in; hang up first");
		return;
	}
	if (!sdp || !*sdp) {
		send_error(p, "bad_request", "sdp (the offer) is required");
		return;
	}
	if (call_count() >= (unsigned)conf_int(conf, "max_calls")) {
		send_error(p, "busy", "max_calls reached");
		return;
	}
	err = policy_call_alloc_group(&pc, group);
	if (err == ENOENT) {
		send_error(p, "unknown_group", "no such caller group");
		return;
	}
	if (err == EPERM) {
		send_error(p, "group_declined", "that caller group is "
			   "declined");
		return;
	}
	if (err)
		goto fail;
	err = media_cfg(&mcfg, p);
	if (err)
		goto fail;
	if (conf_isset(conf, "record_dir") && *conf_str(conf, "record_dir")) {
		re_snprintf(rec, sizeof(rec), "%s/%llu-%08x.wav",
			    conf_str(conf, "record_dir"),
			    (unsigned long long)time(NULL), rand_u32());
		mcfg.record_path = rec;
	}

	memset(&prm, 0, sizeof(prm));
	prm.media = &mcfg;
	prm.app = conf_str(conf, "app");
	prm.ring_timeout_secs = 60;
	prm.policy = pc;
	prm.dtmf_event_digits = conf_bool(conf, "dtmf_event_digits");

	err = sdp_mbuf(&offer, sdp);
	if (err)
		goto fail;
	err = call_accept_local(&call, offer, &answer, &prm,
				"control centre", call_bye, p);
	if (err) {
		send_error(p, "media", "the offer was refused (see the log): "
			   "a WebRTC offer with audio, ICE and DTLS is "
			   "needed");
		goto out;
	}
	p->call = call;
	p->mode = PHONE_CALL;
	str_ncpy(p->callid, call_id(call), sizeof(p->callid));
	if (rec[0])
		(void)store_call_recording(p->callid, rec);
	log_info(MOD, p->callid, "softphone call from %J", &p->peer);
	send_answer(p, answer);
	send_state(p);
	goto out;

 fail:
	send_error(p, "internal", "cannot start the call");
 out:
	mem_deref(answer);
	mem_deref(offer);
	mem_deref(pc);   /* the call holds its own reference */
}


/* ---- listen-in and take-over */

static struct phone *listener_of(const char *callid)
{
	for (struct le *le = ph.conns.head; le; le = le->next) {
		struct phone *p = le->data;

		if (p->mode == PHONE_LISTEN && !strcmp(p->callid, callid))
			return p;
	}
	return NULL;
}


static void takeover_set(struct phone *p, bool on)
{
	struct call *call = call_find(p->callid);

	if (p->takeover == on)
		return;
	/* off: our audio stops before the agent may speak again (one
	 * producer on the call's playout queue at a time) */
	p->takeover = on;
	if (call) {
		(void)app_set_quiet(call, on);
		if (!on)
			mstream_flush(call_media(call), 20);
	}
	api_live_set_takeover(p->callid, on);
	log_info(MOD, p->callid, "operator voice %s", on ? "takes the call "
		 "over" : "released the call");
	events_emit("takeover_voice", p->callid, ",\"on\":%s",
		    on ? "true" : "false");
}


/* mstream_tap_h of the phone call: what both sides hear goes to the
 * page (only the caller while the page talks: nobody wants their own
 * voice back) */
static void listen_tap(const int16_t *caller, const int16_t *agent,
		       size_t n, void *arg)
{
	struct phone *p = arg;
	int16_t mix[AUDIO_FRAME_SAMPLES];

	if (!p->lms || n > AUDIO_FRAME_SAMPLES)
		return;
	if (mstream_play_level(p->lms) > LEVEL_MAX)
		return;
	for (size_t i = 0; i < n; i++) {
		int32_t v = caller ? caller[i] : 0;

		if (agent && !p->takeover)
			v += agent[i];
		mix[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 :
				   v);
	}
	(void)mstream_play(p->lms, mix, n);
}


/* the page's microphone (every 20 ms): into the call while taken over */
static void listen_audio(const int16_t *pcm, size_t n, uint64_t ts_ms,
			 void *arg)
{
	struct phone *p = arg;
	struct call *call;
	struct mstream *ms;
	(void)ts_ms;

	if (!p->takeover)
		return;
	call = call_find(p->callid);
	ms = call_media(call);
	if (!ms)
		return;
	/* the agent may still be finishing a synthesis job: its audio and
	 * ours must not be pushed at the same time */
	if (call_appstate(call) && !app_quiet_settled(call))
		return;
	if (mstream_play_level(ms) > LEVEL_MAX)
		return;
	(void)mstream_play(ms, pcm, n);
}


static void listen_stop(struct phone *p, const char *reason, bool notify)
{
	struct call *call;

	if (p->mode != PHONE_LISTEN)
		return;
	takeover_set(p, false);
	call = call_find(p->callid);
	if (call)
		mstream_set_tap(call_media(call), NULL, NULL);
	tmr_cancel(&p->tmr_end);
	mstream_set_audio_handler(p->lms, NULL, NULL);
	p->lms = mem_deref(p->lms);
	p->mode = PHONE_IDLE;
	log_info(MOD, p->callid, "listen-in ended (%s)", reason);
	events_emit("listen_in", p->callid, ",\"on\":false");
	if (notify)
		(void)send_json(p, "{\"type\":\"ended\",\"call_id\":\"%s\","
				"\"reason\":\"%s\"}", p->callid, reason);
	p->callid[0] = '\0';
}


static void end_tmr(void *arg)
{
	struct phone *p = arg;

	listen_stop(p, p->end_reason ? p->end_reason : "ended", true);
}


/* the listen-in stream saw no media from the page for a while */
static void listen_timeout(void *arg)
{
	struct phone *p = arg;

	p->end_reason = "media_timeout";
	tmr_start(&p->tmr_end, 0, end_tmr, p);
}


/* the listen-in stream's transport failed (ICE, DTLS, consent) */
static void listen_fail(int err, const char *reason, void *arg)
{
	struct phone *p = arg;

	log_info(MOD, p->callid, "listen-in media failed: %s (%m)",
		 reason ? reason : "?", err);
	p->end_reason = "media_failed";
	tmr_start(&p->tmr_end, 0, end_tmr, p);
}


static void cmd_listen(struct phone *p, const char *callid, const char *sdp)
{
	struct mstream_cfg mcfg;
	struct mbuf *offer = NULL, *answer = NULL;
	const char *reason = NULL;
	uint16_t scode = 0;
	struct call *call;
	int err;

	if (p->mode != PHONE_IDLE) {
		send_error(p, "busy", "this page already has a call or "
			   "listens in; hang up first");
		return;
	}
	if (!callid || !sdp || !*sdp) {
		send_error(p, "bad_request", "call_id and sdp are required");
		return;
	}
	call = call_find(callid);
	if (!call || call_state(call) != CALL_STATE_ESTABLISHED ||
	    !mstream_media(call_media(call))) {
		send_error(p, "not_found", "no answered live call with that "
			   "call_id");
		return;
	}
	if (listener_of(callid)) {
		send_error(p, "busy", "someone already listens to that call");
		return;
	}

	err = media_cfg(&mcfg, p);
	if (!err)
		err = mstream_alloc(&p->lms, &mcfg, callid, listen_timeout,
				    p);
	if (!err) {
		mstream_set_fail_handler(p->lms, listen_fail, p);
		err = sdp_mbuf(&offer, sdp);
	}
	if (!err)
		err = mstream_offer_decode(p->lms, offer, &answer, &scode,
					   &reason);
	if (!err && !mstream_media(p->lms)->webrtc) {
		reason = "not a WebRTC offer";
		err = EPROTO;
	}
	if (!err)
		err = mstream_start(p->lms);
	if (err) {
		log_info(MOD, callid, "listen-in refused: %s",
			 reason ? reason : "media error");
		send_error(p, "media", reason ? reason : "cannot start the "
			   "listen-in stream");
		p->lms = mem_deref(p->lms);
		goto out;
	}
	str_ncpy(p->callid, callid, sizeof(p->callid));
	p->mode = PHONE_LISTEN;
	mstream_set_audio_handler(p->lms, listen_audio, p);
	mstream_set_tap(call_media(call), listen_tap, p);
	log_info(MOD, callid, "an operator listens in from %J", &p->peer);
	events_emit("listen_in", callid, ",\"on\":true");
	send_answer(p, answer);
	send_state(p);
 out:
	mem_deref(answer);
	mem_deref(offer);
}


/* ---- messages */

static const char *jstr(const struct odict *od, const char *key, size_t max)
{
	const struct odict_entry *e = odict_lookup(od, key);

	if (!e || e->type != ODICT_STRING || strlen(e->u.str) > max)
		return NULL;
	return e->u.str;
}


static void handle_msg(struct phone *p, const char *json, size_t len)
{
	struct odict *od = NULL;
	const char *type;

	if (json_decode_odict(&od, 16, json, len, 8)) {
		send_error(p, "bad_json", "messages are JSON objects with a "
			   "type");
		goto out;
	}
	type = jstr(od, "type", 32);
	if (!type) {
		send_error(p, "bad_request", "type is missing");
		goto out;
	}
	if (!strcmp(type, "ping")) {
		(void)send_json(p, "{\"type\":\"pong\"}");
	}
	else if (!strcmp(type, "call")) {
		cmd_call(p, jstr(od, "sdp", SDP_MAX), jstr(od, "group", 64));
	}
	else if (!strcmp(type, "listen")) {
		cmd_listen(p, jstr(od, "call_id", 15), jstr(od, "sdp",
							    SDP_MAX));
	}
	else if (!strcmp(type, "hangup")) {
		if (p->mode == PHONE_CALL && p->call)
			call_hangup(p->call, "remote_bye");  /* → call_bye */
		else if (p->mode == PHONE_LISTEN)
			listen_stop(p, "stopped", true);
		else
			send_error(p, "no_session", "nothing to hang up");
	}
	else if (!strcmp(type, "takeover") || !strcmp(type, "release")) {
		bool on = type[0] == 't';

		if (p->mode != PHONE_LISTEN) {
			send_error(p, "no_session", "listen in to a call "
				   "first");
			goto out;
		}
		if (on && !call_find(p->callid)) {
			listen_stop(p, "call_ended", true);
			goto out;
		}
		takeover_set(p, on);
		send_state(p);
	}
	else if (!strcmp(type, "state")) {
		send_state(p);
	}
	else {
		send_error(p, "unknown_type", type);
	}
 out:
	mem_deref(od);
}


/* ---- the bus: a call we listen to ended */

static void bus_handler(const char *json, void *arg)
{
	const char *c;
	char id[16];
	size_t i;
	struct phone *p;
	(void)arg;

	if (!ph.conns.head || !strstr(json, "\"event\":\"call_ended\""))
		return;
	c = strstr(json, "\"call\":\"");
	if (!c)
		return;
	c += 8;
	for (i = 0; i + 1 < sizeof(id) && c[i] && c[i] != '"'; i++)
		id[i] = c[i];
	id[i] = '\0';
	p = listener_of(id);
	if (p && !tmr_isrunning(&p->tmr_end)) {
		p->end_reason = "call_ended";
		tmr_start(&p->tmr_end, 0, end_tmr, p);
	}
}


/* ---- sockets */

static void phone_destructor(void *arg)
{
	struct phone *p = arg;

	list_unlink(&p->le);
	if (p->mode == PHONE_CALL && p->call) {
		struct call *call = p->call;

		p->call = NULL;     /* call_bye: nothing to tell */
		call_hangup(call, "remote_bye");
	}
	listen_stop(p, "page closed", false);
	tmr_cancel(&p->tmr_end);
	p->wc = mem_deref(p->wc);
	if (p->counted && api.subscribers)
		--api.subscribers;
}


static void conn_recv(const struct websock_hdr *hdr, struct mbuf *mb,
		      void *arg)
{
	struct phone *p = arg;

	if (hdr->opcode != WEBSOCK_TEXT && hdr->opcode != WEBSOCK_BIN)
		return;
	if (!api_rate_take(&p->peer)) {
		send_error(p, "rate_limited", "too many messages");
		return;
	}
	if (mbuf_get_left(mb) > api.max_body) {
		send_error(p, "too_large", "message too large");
		return;
	}
	handle_msg(p, (const char *)mbuf_buf(mb), mbuf_get_left(mb));
}


static void conn_close(int err, void *arg)
{
	struct phone *p = arg;

	(void)err;
	log_info(MOD, p->mode ? p->callid : NULL, "softphone page %J "
		 "disconnected", &p->peer);
	mem_deref(p);
}


int api_phone_accept(struct http_conn *conn, const struct http_msg *msg)
{
	struct tcp_conn *tc = http_conn_tcp(conn);
	struct phone *p;
	int err;

	if (!ph.subscribed) {
		err = events_subscribe(bus_handler, NULL);
		if (err)
			return err;
		ph.subscribed = true;
	}
	p = mem_zalloc(sizeof(*p), phone_destructor);
	if (!p)
		return ENOMEM;
	tmr_init(&p->tmr_end);
	p->peer = *http_conn_peer(conn);
	if (!tc || tcp_conn_local_get(tc, &p->laddr))
		sa_init(&p->laddr, AF_INET);
	err = websock_accept(&p->wc, api.ws, conn, msg, WS_KEEPALIVE_MS,
			     conn_recv, conn_close, p);
	if (err) {
		mem_deref(p);
		return err;
	}
	p->counted = true;
	++api.subscribers;
	list_append(&ph.conns, &p->le, p);
	log_info(MOD, NULL, "softphone page %J connected", &p->peer);
	send_state(p);
	return 0;
}


void api_phone_close(void)
{
	if (ph.subscribed)
		events_unsubscribe(bus_handler, NULL);
	ph.subscribed = false;
	list_flush(&ph.conns);
}
