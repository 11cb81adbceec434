/*
 * call.c  One call on libre's sipsess: offer/answer, hold, INFO DTMF,
 *         ring timeout, outcome, teardown.
 */
#include <string.h>
#include <re.h>
#include "core/events.h"
#include "core/log.h"
#include "media/stream.h"
#include "policy/policy.h"
#include "sip/call.h"
#include "sip/reg.h"

#define MOD "call"

struct call {
	struct le le;             /* in the UA's call list               */
	char id[12];
	enum call_state state;
	bool outbound;
	bool closing;
	bool held;
	bool answered_evt;
	struct call_params prm;
	char *app;
	void *appst;
	struct sipsess *sess;
	struct mstream *ms;
	struct mbuf *answer;      /* pending 200 answer SDP              */
	struct tmr tmr_answer;
	struct tmr tmr_ring;
	struct tmr tmr_media;     /* peer closed DTLS: waiting for its BYE */
	const char *end_reason;
	call_outcome_h *outcomeh;
	call_end_h *endh;
	void *end_arg;
	void *arg;
	bool outcome_sent;
	uint64_t start_ms;
	/* SIP actions (transfer, Replaces): who we are in the dialog */
	char *cuser;              /* our Contact user                    */
	char *local_uri, *remote_uri;
	char *dlg_callid, *ltag, *rtag;
	void *auth_arg;
	char *dial_from, *dial_route; /* outbound, until the INVITE is sent */
	struct xfer *xfer;        /* transfer in progress                */
	struct policy_call *policy;   /* caller class, gate state         */
	/* softphone (call_accept_local): no sipsess */
	bool local;
	call_local_bye_h *byeh;
	void *bye_arg;
};

static void xfer_drop(struct call *call);
static void xfer_close(void);
static void dialog_learn(struct call *call, const struct sip_msg *msg);

static struct list calls;

/* Calls ending are torn down from one shared timer: libre 1.1.0 keeps
 * timers in a sorted list, and a zero-delay timer per call would walk it
 * each time. */
static struct list reaping;
static struct tmr reap_tmr;


const char *call_outcome_name(enum call_outcome o)
{
	switch (o) {
	case CALL_OUTCOME_ANSWERED:  return "answered";
	case CALL_OUTCOME_BUSY:      return "busy";
	case CALL_OUTCOME_NO_ANSWER: return "no_answer";
	case CALL_OUTCOME_DECLINED:  return "declined";
	default:                     return "failed";
	}
}


static void destructor(void *arg)
{
	struct call *call = arg;

	tmr_cancel(&call->tmr_answer);
	tmr_cancel(&call->tmr_ring);
	tmr_cancel(&call->tmr_media);
	list_unlink(&call->le);
	app_detach(call);
	xfer_drop(call);
	/* an established session sends BYE on deref; an early one CANCEL */
	mem_deref(call->sess);
	mem_deref(call->ms);
	mem_deref(call->answer);
	mem_deref(call->app);
	mem_deref(call->policy);
	mem_deref(call->cuser);
	mem_deref(call->local_uri);
	mem_deref(call->remote_uri);
	mem_deref(call->dial_from);
	mem_deref(call->dial_route);
	mem_deref(call->dlg_callid);
	mem_deref(call->ltag);
	mem_deref(call->rtag);
}


void call_set_end_handler(struct call *call, call_end_h *h, void *arg)
{
	if (!call)
		return;
	call->endh = h;
	call->end_arg = arg;
}


void call_set_appstate(struct call *call, void *state)
{
	if (!call)
		return;
	mem_deref(call->appst);
	call->appst = state;
}


void *call_appstate(const struct call *call)
{
	return call ? call->appst : NULL;
}


const char *call_id(const struct call *call)
{
	return call ? call->id : "-";
}


enum call_state call_state(const struct call *call)
{
	return call ? call->state : CALL_STATE_CLOSED;
}


struct mstream *call_media(struct call *call)
{
	return call ? call->ms : NULL;
}


bool call_is_outbound(const struct call *call)
{
	return call && call->outbound;
}


static void outcome(struct call *call, enum call_outcome o, uint16_t scode)
{
	if (call->outcome_sent || !call->outbound)
		return;
	call->outcome_sent = true;
	events_emit("call_outcome", call->id,
		    ",\"outcome\":\"%s\",\"sip_code\":%u",
		    call_outcome_name(o), scode);
	if (call->outcomeh)
		call->outcomeh(call, o, scode, call->arg);
}


static void close_tmr_handler(void *arg)
{
	struct call *call = arg;
	struct mstream_stats st;

	memset(&st, 0, sizeof(st));
	mstream_stats(call->ms, &st);
	log_info(MOD, call->id, "ended (%s) after %llu s, rtp rx %llu tx %llu,"
		 " lost %u", call->end_reason ? call->end_reason : "?",
		 (unsigned long long)((tmr_jiffies() - call->start_ms) / 1000),
		 (unsigned long long)st.rx_packets,
		 (unsigned long long)st.tx_packets, st.lost);
	events_emit("call_ended", call->id,
		    ",\"reason\":\"%s\",\"rtp_rx\":%llu,\"rtp_tx\":%llu,"
		    "\"lost\":%u,\"concealed\":%u,\"jitter_ms\":%.2f,"
		    "\"remote_lost\":%u,\"rtcp_rx\":%u",
		    call->end_reason ? call->end_reason : "error",
		    (unsigned long long)st.rx_packets,
		    (unsigned long long)st.tx_packets, st.lost, st.concealed,
		    st.jitter_ms, st.remote_lost, st.rtcp_rx);
	if (call->endh)
		call->endh(call, call->end_arg);
	mem_deref(call);
}


static void reap_handler(void *arg)
{
	struct le *le;
	(void)arg;

	while ((le = reaping.head)) {
		struct call *call = le->data;
		list_unlink(&call->le);
		close_tmr_handler(call);
	}
}


/* End the call from any handler: teardown runs from a timer so no libre
 * object is freed inside its own callback. */
static void call_close(struct call *call, const char *reason, bool send_bye)
{
	if (call->closing)
		return;
	call->closing = true;
	call->state = CALL_STATE_CLOSED;
	list_unlink(&call->le);   /* no longer counts as a live call */
	call->end_reason = reason;
	tmr_cancel(&call->tmr_answer);
	tmr_cancel(&call->tmr_ring);
	tmr_cancel(&call->tmr_media);
	app_detach(call);
	xfer_drop(call);
	if (call->local && call->byeh) {
		call_local_bye_h *h = call->byeh;

		call->byeh = NULL;
		h(call->end_reason, call->bye_arg);
	}
	if (!send_bye) {
		/* the session is already over: don't let deref send BYE */
		call->sess = mem_deref(call->sess);
	}
	mstream_stop(call->ms);
	list_append(&reaping, &call->le, call);
	if (!tmr_isrunning(&reap_tmr))
		tmr_start(&reap_tmr, 0, reap_handler, NULL);
}


void call_hangup(struct call *call, const char *reason)
{
	if (!call || call->closing)
		return;

	if (call->state == CALL_STATE_INCOMING && call->sess) {
		(void)sipsess_reject(call->sess, 480, "Temporarily Unavailable",
				     NULL);
		call->sess = mem_deref(call->sess);
	}
	else if (call->outbound && call->state != CALL_STATE_ESTABLISHED) {
		outcome(call, CALL_OUTCOME_FAILED, 0);
	}
	call_close(call, reason ? reason : "local_bye", true);
}


static void rtp_timeout_handler(void *arg)
{
	struct call *call = arg;

	log_warn(MOD, call->id, "no RTP for a while: hanging up");
	call_close(call, "rtp_timeout", true);
}


enum { MEDIA_BYE_GRACE_MS = 2000 };

static void media_grace_handler(void *arg)
{
	struct call *call = arg;

	log_info(MOD, call->id, "hanging up: media failed (the peer closed "
		 "DTLS and no BYE came within %u ms)", MEDIA_BYE_GRACE_MS);
	call_close(call, "media_failed", true);
}


/* WebRTC: ICE, DTLS, the fingerprint or consent failed for good. A peer
 * that hangs up closes DTLS (close_notify, straight over UDP) as it sends
 * its BYE (through the gateway, often later): that orderly close waits a
 * moment for the BYE, so the call ends as remote_bye; hard failures hang
 * up at once. */
static void media_fail_handler(int err, const char *reason, void *arg)
{
	struct call *call = arg;

	if (err == ECONNRESET) {
		log_info(MOD, call->id, "%s: waiting %u ms for a BYE",
			 reason ? reason : "DTLS closed", MEDIA_BYE_GRACE_MS);
		tmr_start(&call->tmr_media, MEDIA_BYE_GRACE_MS,
			  media_grace_handler, call);
		return;
	}
	log_info(MOD, call->id, "hanging up: media failed (%s, %m)",
		 reason ? reason : "?", err);
	call_close(call, "media_failed", true);
}


static void dtmf_handler(char digit, enum dtmf_source src, void *arg)
{
	struct call *call = arg;
	char d[2] = {digit, 0};

	log_debug(MOD, call->id, "DTMF received (%s)", dtmf_source_name(src));
	/* keys may be a PIN: only shown when dtmf_event_digits is set */
	events_emit("dtmf", call->id, ",\"digit\":\"%s\",\"source\":\"%s\"",
		    !call->prm.dtmf_event_digits ? "*" :
		    digit == '"' || digit == '\\' ? "?" : d,
		    dtmf_source_name(src));
	app_dtmf(call, digit);
}


static void media_started(struct call *call)
{
	const struct sdpneg_result *m = mstream_media(call->ms);
	int err;

	if (!m)
		return;
	/* early media may have started the stream already */
	if (!mstream_started(call->ms)) {
		err = mstream_start(call->ms);
		if (err) {
			log_warn(MOD, call->id, "media start failed: %m", err);
			return;
		}
	}
	if (call->answered_evt)
		return;
	call->answered_evt = true;
	/* WebRTC media is always SRTP, keyed by DTLS (not SDES) */
	log_info(MOD, call->id, "answered, codec %s, SRTP %s",
		 m->codec->name, m->webrtc ? "DTLS" : m->srtp ? "on" : "off");
	events_emit("call_answered", call->id,
		    ",\"codec\":\"%s\",\"srtp\":%s,\"dtls\":%s,"
		    "\"direction\":\"%s\"",
		    m->codec->name, m->srtp || m->webrtc ? "true" : "false",
		    m->webrtc ? "true" : "false",
		    call->outbound ? "outbound" : "inbound");
	err = app_attach(call, call->app);
	if (err)
		log_warn(MOD, call->id, "app failed to start: %m", err);
}


static void check_hold(struct call *call)
{
	const struct sdpneg_result *m = mstream_media(call->ms);
	bool held;

	if (!m)
		return;
	held = m->dir != SDP_SENDRECV || sa_is_any(&m->raddr);
	if (held == call->held)
		return;
	call->held = held;
	log_info(MOD, call->id, "%s (%s)", held ? "on hold" : "resumed",
		 sdp_dir_name(m->dir));
	events_emit(held ? "hold" : "resume", call->id,
		    ",\"media_dir\":\"%s\"", sdp_dir_name(m->dir));
}


/* re-INVITE (or a late offer in the ACK-less case) */
static int offer_handler(struct mbuf **descp, const struct sip_msg *msg,
			 void *arg)
{
	struct call *call = arg;
	const char *reason = NULL;
	uint16_t scode = 0;
	int err;

	if (!mbuf_get_left(msg->mb)) {
		/* offerless re-INVITE: we offer (still sendonly while we
		 * hold the peer) */
		if (mstream_local_hold(call->ms))
			return mstream_reoffer(call->ms, true, descp);
		return mstream_offer(call->ms, descp);
	}
	err = mstream_offer_decode(call->ms, msg->mb, descp, &scode, &reason);
	if (err) {
		log_info(MOD, call->id, "re-INVITE refused: %s",
			 reason ? reason : "error");
		return err;
	}
	check_hold(call);
	if (mstream_local_hold(call->ms)) {
		/* a re-INVITE (session refresh, new address) while we
		 * hold them: our answer keeps the hold */
		*descp = mem_deref(*descp);
		err = mstream_hold_answer(call->ms, descp);
		if (err)
			return err;
	}
	return 0;
}


static int answer_handler(const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;
	int err;

	if (!mbuf_get_left(msg->mb))
		return 0;
	err = mstream_answer_decode(call->ms, msg->mb);
	if (err) {
		log_warn(MOD, call->id, "unusable SDP answer: %m", err);
		return err;
	}
	if (call->state == CALL_STATE_ESTABLISHED)
		media_started(call);
	return 0;
}


static void estab_handler(const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;

	dialog_learn(call, msg);
	call->state = CALL_STATE_ESTABLISHED;
	tmr_cancel(&call->tmr_ring);
	if (call->outbound)
		outcome(call, CALL_OUTCOME_ANSWERED, 200);
	if (!mstream_media(call->ms)) {
		log_warn(MOD, call->id, "established without usable media");
		call_close(call, "error", true);
		return;
	}
	media_started(call);
}


static void progress_handler(const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;

	if (msg->scode < 180 && msg->scode != 100 && msg->scode != 183)
		return;
	if (msg->scode >= 180)
		call->state = CALL_STATE_RINGING;

	/* early media: 18x with SDP */
	if (mbuf_get_left(msg->mb) && !mstream_media(call->ms)) {
		if (0 == mstream_answer_decode(call->ms, msg->mb)) {
			log_info(MOD, call->id, "early media");
			(void)mstream_start(call->ms);
			events_emit("early_media", call->id, NULL);
		}
	}
}


int sip_info_dtmf(const struct sip_msg *msg, char *digitp)
{
	static const char map[] = "0123456789*#ABCD";
	const char *body;
	size_t len;
	struct pl sig;
	char digit = 0;

	if (!msg || !digitp)
		return EINVAL;
	body = (const char *)mbuf_buf(msg->mb);
	len = mbuf_get_left(msg->mb);

	if (msg_ctype_cmp(&msg->ctyp, "application", "dtmf-relay")) {
		if (!re_regex(body, len, "Signal=[ ]*[0-9*#A-Da-d]1",
			      NULL, &sig))
			digit = sig.p[0];
		else if (!re_regex(body, len, "Signal=[ ]*1[0-5]1", NULL,
				   &sig))
			digit = map[10 + (sig.p[1] - '0')];
	}
	else if (msg_ctype_cmp(&msg->ctyp, "application", "dtmf")) {
		if (!re_regex(body, len, "[0-9]+", &sig) && sig.l <= 2 &&
		    pl_u32(&sig) < 16)
			digit = map[pl_u32(&sig)];
		else if (!re_regex(body, len, "[*#A-Da-d]1", &sig))
			digit = sig.p[0];
	}
	else {
		return ENOTSUP;
	}

	if (!digit)
		return EBADMSG;
	if (digit >= 'a' && digit <= 'd')
		digit = (char)(digit - 'a' + 'A');
	*digitp = digit;
	return 0;
}


static void info_handler(struct sip *sip, const struct sip_msg *msg,
			 void *arg)
{
	struct call *call = arg;
	char digit = 0;
	int err;

	err = sip_info_dtmf(msg, &digit);
	if (err == ENOTSUP) {
		(void)sip_reply(sip, msg, 415, "Unsupported Media Type");
		return;
	}
	if (err) {
		(void)sip_reply(sip, msg, 400, "Bad DTMF");
		return;
	}
	(void)sip_reply(sip, msg, 200, "OK");
	mstream_dtmf_info(call->ms, digit);
}


static void close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;
	const char *reason = "error";

	if (call->outbound && call->state != CALL_STATE_ESTABLISHED) {
		uint16_t sc = msg ? msg->scode : 0;
		enum call_outcome o = CALL_OUTCOME_FAILED;

		if (sc == 486 || sc == 600)
			o = CALL_OUTCOME_BUSY;
		else if (sc == 603)
			o = CALL_OUTCOME_DECLINED;
		else if (sc == 480 || sc == 408 || err == ETIMEDOUT)
			o = CALL_OUTCOME_NO_ANSWER;
		if (err)
			log_info(MOD, call->id, "outbound call %s (%u, %m)",
				 call_outcome_name(o), sc, err);
		else
			log_info(MOD, call->id, "outbound call %s (%u)",
				 call_outcome_name(o), sc);
		outcome(call, o, sc);
		reason = "rejected";
	}
	else if (err == ECONNRESET) {
		/* libre reports remote BYE and CANCEL alike */
		reason = call->state == CALL_STATE_ESTABLISHED ?
			"remote_bye" : "cancel";
	}
	else if (err) {
		log_warn(MOD, call->id, "session closed: %m", err);
	}
	else if (msg) {
		log_info(MOD, call->id, "session closed: %u %r",
			 msg->scode, &msg->reason);
	}
	call_close(call, reason, false);
}


static void answer_now(struct call *call)
{
	int err;

	err = sipsess_answer(call->sess, 200, "OK", call->answer,
			     "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO\r\n");
	call->answer = mem_deref(call->answer);
	if (err) {
		log_warn(MOD, call->id, "failed to answer: %m", err);
		call_close(call, "error", true);
		return;
	}
	call->state = CALL_STATE_ESTABLISHED;
	/* start sending right away: the greeting should not wait for ACK */
	if (mstream_media(call->ms))
		media_started(call);
}


static void answer_tmr_handler(void *arg)
{
	answer_now(arg);
}


/* call_incoming: the caller's class (number redacted), for logs and
 * the event bus */
static void call_incoming_report(struct call *call, const struct sip_msg *msg)
{
	const struct caller_class *cc = policy_call_class(call->policy);
	char grp[80], red[40];

	if (!cc) {
		log_info(MOD, call->id, "incoming call over %s",
			 sip_transp_name(msg->tp));
		events_emit("call_incoming", call->id,
			    ",\"transport\":\"%s\",\"direction\":\"inbound\"",
			    sip_transp_name(msg->tp));
		return;
	}
	log_info(MOD, call->id, "incoming call over %s from %s: group %s "
		 "(level %d), persona %s, channel %s",
		 sip_transp_name(msg->tp), *cc->redacted ? cc->redacted :
		 "withheld", cc->group, cc->privilege, cc->persona,
		 cc->channel);
	events_emit("call_incoming", call->id, ",\"transport\":\"%s\","
		    "\"direction\":\"inbound\",\"caller\":\"%s\","
		    "\"group\":\"%s\",\"privilege\":%d",
		    sip_transp_name(msg->tp),
		    events_esc(red, sizeof(red), cc->redacted),
		    events_esc(grp, sizeof(grp), cc->group), cc->privilege);
}


struct policy_call *call_policy(const struct call *call)
{
	return call ? call->policy : NULL;
}


static int call_alloc(struct call **callp, const struct call_params *prm,
		      bool outbound)
{
	struct call *call;
	int err;

	call = mem_zalloc(sizeof(*call), destructor);
	if (!call)
		return ENOMEM;

	re_snprintf(call->id, sizeof(call->id), "%08x", rand_u32());
	call->outbound = outbound;
	call->state = outbound ? CALL_STATE_OUTGOING : CALL_STATE_INCOMING;
	call->prm = *prm;
	call->prm.policy = NULL;
	call->policy = mem_ref(prm->policy);
	policy_call_set_id(call->policy, call->id);
	call->start_ms = tmr_jiffies();
	err = str_dup(&call->app, prm->app ? prm->app : "echo");
	if (err)
		goto out;

	err = mstream_alloc(&call->ms, prm->media, call->id,
			    rtp_timeout_handler, call);
	if (err)
		goto out;
	mstream_set_dtmf_handler(call->ms, dtmf_handler, call);
	mstream_set_fail_handler(call->ms, media_fail_handler, call);

 out:
	if (err)
		mem_deref(call);
	else
		*callp = call;
	return err;
}


int call_accept(struct call **callp, const struct sip_msg *msg,
		const struct call_params *prm, const char *cuser)
{
	struct call *call = NULL;
	const char *reason = NULL;
	uint16_t scode = 0;
	int err;

	err = call_alloc(&call, prm, false);
	if (err) {
		(void)sip_treply(NULL, ua_sip(), msg, 503,
				 "Service Unavailable");
		return err;
	}

	call_incoming_report(call, msg);

	if (mbuf_get_left(msg->mb)) {
		err = mstream_offer_decode(call->ms, msg->mb, &call->answer,
					   &scode, &reason);
	}
	else {
		/* late offer: we offer in the 200, the answer is in ACK */
		err = mstream_offer(call->ms, &call->answer);
		if (err)
			scode = 500;
	}
	if (err) {
		log_info(MOD, call->id, "refused: %u %s", scode,
			 reason ? reason : "media error");
		events_emit("call_rejected", call->id,
			    ",\"code\":%u,\"reason\":\"%s\"", scode,
			    reason ? reason : "media error");
		(void)sip_treplyf(NULL, NULL, ua_sip(), msg, false, scode,
				  scode == 488 ? "Not Acceptable Here" :
				  scode == 400 ? "Bad Request" :
				  "Server Internal Error",
				  "Warning: 399 agentline \"%s\"\r\n"
				  "Content-Length: 0\r\n\r\n",
				  reason ? reason : "media error");
		mem_deref(call);
		return err;
	}

	(void)sip_reply(ua_sip(), msg, 100, "Trying");
	err = sipsess_accept(&call->sess, ua_sessock(), msg, 180, "Ringing",
			     cuser, "application/sdp", NULL, NULL, NULL, false,
			     offer_handler, answer_handler, estab_handler,
			     info_handler, NULL, close_handler, call,
			     "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO\r\n");
	if (err) {
		log_warn(MOD, call->id, "accept failed: %m", err);
		(void)sip_treply(NULL, ua_sip(), msg, 500,
				 "Server Internal Error");
		mem_deref(call);
		return err;
	}

	(void)str_dup(&call->cuser, cuser);
	(void)pl_strdup(&call->local_uri, &msg->to.auri);
	(void)pl_strdup(&call->remote_uri, &msg->from.auri);

	list_append(&calls, &call->le, call);
	if (prm->answer_delay_ms)
		tmr_start(&call->tmr_answer, prm->answer_delay_ms,
			  answer_tmr_handler, call);
	else
		answer_now(call);

	*callp = call;
	return 0;
}


static void local_start_tmr(void *arg)
{
	media_started(arg);
}


bool call_is_local(const struct call *call)
{
	return call && call->local;
}


int call_accept_local(struct call **callp, struct mbuf *offer,
		      struct mbuf **answerp, const struct call_params *prm,
		      const char *caller_name, call_local_bye_h *byeh,
		      void *arg)
{
	const struct caller_class *cc;
	struct call *call = NULL;
	const char *reason = NULL;
	char grp[80], who[80];
	uint16_t scode = 0;
	int err;

	if (!callp || !offer || !answerp || !prm)
		return EINVAL;
	err = call_alloc(&call, prm, false);
	if (err)
		return err;
	call->local = true;

	cc = policy_call_class(call->policy);
	events_esc(who, sizeof(who), caller_name ? caller_name :
		   "control centre");
	events_esc(grp, sizeof(grp), cc ? cc->group : "");
	log_info(MOD, call->id, "incoming softphone call (WebRTC) from the "
		 "control centre: group %s (level %d)", cc ? cc->group : "-",
		 cc ? cc->privilege : 0);
	events_emit("call_incoming", call->id, ",\"transport\":\"webrtc\","
		    "\"direction\":\"inbound\",\"caller\":\"%s\","
		    "\"group\":\"%s\",\"privilege\":%d,"
		    "\"channel\":\"webrtc\"", who, grp,
		    cc ? cc->privilege : 0);

	err = mstream_offer_decode(call->ms, offer, answerp, &scode,
				   &reason);
	if (!err && !mstream_media(call->ms)->webrtc) {
		/* media only to a peer that passed an ICE check: a plain RTP
		 * offer would send it wherever the SDP says */
		*answerp = mem_deref(*answerp);
		err = EPROTO;
		scode = 488;
		reason = "not a WebRTC offer";
	}
	if (err) {
		log_info(MOD, call->id, "softphone offer refused: %u %s",
			 scode, reason ? reason : "media error");
		events_emit("call_rejected", call->id,
			    ",\"code\":%u,\"reason\":\"%s\"", scode,
			    reason ? reason : "media error");
		mem_deref(call);
		return err;
	}

	call->byeh = byeh;
	call->bye_arg = arg;
	list_append(&calls, &call->le, call);
	call->state = CALL_STATE_ESTABLISHED;
	/* the answer goes out first: what answers the call (the agent's
	 * engines) starts while the browser runs ICE and DTLS */
	tmr_start(&call->tmr_answer, 0, local_start_tmr, call);
	*callp = call;
	return 0;
}


static void ring_tmr_handler(void *arg)
{
	struct call *call = arg;

	log_info(MOD, call->id, "no answer within %u s: cancelling",
		 call->prm.ring_timeout_secs);
	outcome(call, CALL_OUTCOME_NO_ANSWER, 0);
	call_close(call, "no_answer", true);  /* deref sends CANCEL */
}


/* Offer and send the INVITE of an outbound call. */
static int dial_send(struct call *call)
{
	struct mbuf *desc = NULL;
	const char *routev[1];
	int err;

	err = mstream_offer(call->ms, &desc);
	if (err)
		goto out;

	routev[0] = call->dial_route;
	err = sipsess_connect(&call->sess, ua_sessock(), call->remote_uri,
			      call->dial_from, call->local_uri, call->cuser,
			      call->dial_route ? routev : NULL,
			      call->dial_route ? 1 : 0, "application/sdp",
			      desc, call->auth_arg ? account_auth_handler :
			      NULL, call->auth_arg, false,
			      offer_handler, answer_handler, progress_handler,
			      estab_handler, info_handler, NULL,
			      close_handler, call,
			      "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO\r\n");
 out:
	mem_deref(desc);
	return err;
}


/* WebRTC offer towards a gateway: the STUN/TURN candidates are known (or
 * the wait is over); the INVITE goes out now. */
static void gathered_handler(int err, void *arg)
{
	struct call *call = arg;

	(void)err;   /* the stream logged it; the offer has what was found */
	if (call->closing)
		return;
	err = dial_send(call);
	if (err) {
		log_warn(MOD, call->id, "cannot send the INVITE: %m", err);
		outcome(call, CALL_OUTCOME_FAILED, 0);
		call_close(call, "failed", false);
	}
}


int call_connect(struct call **callp, const char *to_uri,
		 const char *from_name, const char *from_uri,
		 const char *cuser, const char *route,
		 void *auth_arg, const struct call_params *prm,
		 call_outcome_h *outcomeh, void *arg)
{
	struct call *call = NULL;
	bool gather;
	int err;

	err = call_alloc(&call, prm, true);
	if (err)
		return err;
	call->outcomeh = outcomeh;
	call->arg = arg;
	call->auth_arg = auth_arg;
	err  = str_dup(&call->cuser, cuser);
	err |= str_dup(&call->local_uri, from_uri);
	err |= str_dup(&call->remote_uri, to_uri);
	err |= str_dup(&call->dial_from, from_name);
	if (route)
		err |= str_dup(&call->dial_route, route);
	if (err)
		goto out;

	/* a WebRTC offer with STUN/TURN servers waits for their candidates
	 * (mstream_gather: at most a second or two) */
	gather = prm->media && prm->media->webrtc &&
		(prm->media->ice_stun_urls || prm->media->ice_turn_urls);
	if (!gather) {
		err = dial_send(call);
		if (err)
			goto out;
	}

	list_append(&calls, &call->le, call);
	tmr_start(&call->tmr_ring, prm->ring_timeout_secs * 1000ull,
		  ring_tmr_handler, call);
	if (gather) {
		err = mstream_gather(call->ms, gathered_handler, call);
		if (err) {
			tmr_cancel(&call->tmr_ring);
			list_unlink(&call->le);
			goto out;
		}
	}
	log_info(MOD, call->id, gather ? "calling out (gathering ICE "
		 "candidates first)" : "calling out");

 out:
	if (err)
		mem_deref(call);
	else
		*callp = call;
	return err;
}


unsigned call_count(void)
{
	return list_count(&calls);
}


void call_reap_all(void)
{
	tmr_cancel(&reap_tmr);
	reap_handler(NULL);
	xfer_close();
}


void call_hangup_all(const char *reason)
{
	struct le *le = calls.head;

	while (le) {
		struct call *call = le->data;
		le = le->next;
		call_hangup(call, reason);
	}
}


/* --- SIP actions on a live call: find, DTMF, hold, transfer ----------- */

struct call *call_find(const char *id)
{
	struct le *le;

	if (!id)
		return NULL;
	LIST_FOREACH(&calls, le) {
		struct call *call = le->data;
		if (!strcmp(call->id, id))
			return call;
	}
	return NULL;
}


void call_foreach(call_apply_h *h, void *arg)
{
	struct le *le = calls.head;

	if (!h)
		return;
	while (le) {
		struct call *call = le->data;
		le = le->next;   /* h may hang the call up */
		h(call, arg);
	}
}


int call_send_dtmf(struct call *call, const char *digits)
{
	if (!call || !digits || !*digits)
		return EINVAL;
	if (call->closing || call->state != CALL_STATE_ESTABLISHED)
		return ENOTCONN;
	return mstream_send_dtmf(call->ms, digits);
}


int call_hold(struct call *call, bool hold)
{
	struct mbuf *desc = NULL;
	int err;

	if (!call)
		return EINVAL;
	if (call->local)
		return ENOTSUP;
	if (call->closing || call->state != CALL_STATE_ESTABLISHED ||
	    !call->sess)
		return ENOTCONN;
	if (mstream_local_hold(call->ms) == hold)
		return 0;

	err = mstream_reoffer(call->ms, hold, &desc);
	if (err)
		return err;
	err = sipsess_modify(call->sess, desc);
	mem_deref(desc);
	if (err) {
		/* keep media and signalling in step */
		struct mbuf *undo = NULL;
		(void)mstream_reoffer(call->ms, !hold, &undo);
		mem_deref(undo);
		return err;
	}
	log_info(MOD, call->id, "%s the far end (re-INVITE %s)",
		 hold ? "holding" : "resuming",
		 hold ? "sendonly" : "sendrecv");
	events_emit(hold ? "local_hold" : "local_resume", call->id, NULL);
	return 0;
}


/* Remember the dialog identifiers (tags for Replaces) from the message
 * that established it: the 2xx of our INVITE or the ACK of theirs. */
static void dialog_learn(struct call *call, const struct sip_msg *msg)
{
	const struct pl *lt, *rt;

	if (!msg || call->dlg_callid)
		return;
	lt = call->outbound ? &msg->from.tag : &msg->to.tag;
	rt = call->outbound ? &msg->to.tag : &msg->from.tag;
	(void)pl_strdup(&call->dlg_callid, &msg->callid);
	(void)pl_strdup(&call->ltag, lt);
	(void)pl_strdup(&call->rtag, rt);
}


/* One transfer per call: the REFER subscription and, for an attended
 * transfer, the consult call. */
struct xfer {
	struct call *call;        /* back-pointer; call owns us          */
	struct sipsub *sub;
	struct call *consult;     /* attended: our call to the target    */
	char *target;             /* resolved target URI                 */
	call_xfer_h *h;
	void *arg;
	bool attended;
	bool reported;
	bool ok;
	struct tmr tmr;
};

static struct sipevent_sock *evsock;


static void xfer_close(void)
{
	evsock = mem_deref(evsock);
}


static struct sipevent_sock *xfer_sock(void)
{
	if (!evsock &&
	    sipevent_listen(&evsock, ua_sip(), 32, 32, NULL, NULL))
		return NULL;
	return evsock;
}


static void xfer_destructor(void *arg)
{
	struct xfer *x = arg;

	tmr_cancel(&x->tmr);
	mem_deref(x->sub);
	if (x->consult) {
		/* after a transfer with Replaces the target ends this leg
		 * itself; a BYE crossing theirs is harmless.  Ringing, it
		 * gets a CANCEL; its outcome no longer concerns us. */
		x->consult->outcomeh = NULL;
		call_set_end_handler(x->consult, NULL, NULL);
		call_hangup(x->consult, x->ok ? "transferred" :
			    "transfer_aborted");
	}
	mem_deref(x->target);
}


/* The call is ending: no report from here on (the requester goes away
 * with the call). */
static void xfer_drop(struct call *call)
{
	call->xfer = mem_deref(call->xfer);
}


int call_transfer_cancel(struct call *call)
{
	struct xfer *x = call ? call->xfer : NULL;

	if (!x)
		return ENOENT;
	if (x->sub || x->reported || !x->attended)
		return EALREADY;   /* the REFER is out */
	log_info(MOD, call->id, "attended transfer cancelled before the "
		 "REFER");
	call->xfer = mem_deref(call->xfer);   /* ends the consult leg */
	return 0;
}


void call_transfer_abandon(struct call *call)
{
	if (call && call->xfer) {
		call->xfer->h = NULL;
		call->xfer->arg = NULL;
	}
}


static void hangup_tmr(void *arg)
{
	struct xfer *x = arg;
	struct call *call = x->call;

	/* frees x */
	call_hangup(call, "transferred");
}


/* A failed transfer lets go of the call: another one may be tried. */
static void release_tmr(void *arg)
{
	struct xfer *x = arg;
	struct call *call = x->call;

	if (call->xfer == x)
		call->xfer = mem_deref(call->xfer);   /* frees x */
}


static void xfer_report(struct xfer *x, int err, uint16_t scode)
{
	call_xfer_h *h = x->h;
	void *arg = x->arg;

	if (x->reported)
		return;
	x->reported = true;
	x->ok = !err;
	x->h = NULL;

	log_info(MOD, x->call->id, "%s transfer %s (%u)",
		 x->attended ? "attended" : "blind",
		 !err ? "succeeded" : "failed", scode);
	events_emit("transfer", x->call->id,
		    ",\"kind\":\"%s\",\"ok\":%s,\"sip_code\":%u",
		    x->attended ? "attended" : "blind",
		    err ? "false" : "true", scode);
	/* h may end the call (and free x with it) */
	mem_ref(x);
	if (h)
		h(err, scode, arg);

	if (x->call->closing || x->call->xfer != x) {
		/* the call ended meanwhile */
	}
	else if (!err) {
		/* our part is done: leave the call (from a timer, not
		 * inside libre's NOTIFY handler) */
		tmr_start(&x->tmr, 0, hangup_tmr, x);
	}
	else {
		if (x->consult) {
			x->consult->outcomeh = NULL;
			call_set_end_handler(x->consult, NULL, NULL);
			call_hangup(x->consult, "transfer_failed");
			x->consult = NULL;
		}
		tmr_start(&x->tmr, 0, release_tmr, x);
	}
	mem_deref(x);
}


static int xfer_errno(uint16_t scode)
{
	if (scode >= 200 && scode < 300)
		return 0;
	switch (scode) {
	case 401: case 403: case 407: case 603: return EPERM;
	case 404: case 484: case 604:           return ENOENT;
	case 405: case 501:                     return ENOTSUP;
	case 408: case 480:                     return ETIMEDOUT;
	case 486: case 600:                     return EBUSY;
	case 487:                               return ECANCELED;
	default:                                return EPROTO;
	}
}


/* NOTIFY with message/sipfrag: "SIP/2.0 180 Ringing", then the final. */
static void xfer_notify_handler(struct sip *sip, const struct sip_msg *msg,
				void *arg)
{
	struct xfer *x = arg;
	struct pl code;
	uint16_t scode;

	if (!msg_ctype_cmp(&msg->ctyp, "message", "sipfrag") ||
	    re_regex((const char *)mbuf_buf(msg->mb), mbuf_get_left(msg->mb),
		     "SIP/2.0[ ]+[0-9]3", NULL, &code)) {
		(void)sip_treply(NULL, sip, msg, 400, "Bad sipfrag");
		return;
	}
	(void)sip_treply(NULL, sip, msg, 200, "OK");
	scode = (uint16_t)pl_u32(&code);
	log_debug(MOD, x->call->id, "transfer progress: %u", scode);
	if (scode < 200)
		return;
	xfer_report(x, xfer_errno(scode), scode);
}


static void xfer_close_handler(int err, const struct sip_msg *msg,
			       const struct sipevent_substate *substate,
			       void *arg)
{
	struct xfer *x = arg;
	uint16_t scode = msg ? msg->scode : 0;
	(void)substate;

	/* REFER refused (4xx-6xx), no NOTIFY in time, or the
	 * subscription ended without a final status */
	mem_ref(x);
	if (!x->reported) {
		if (!err)
			err = scode >= 300 ? xfer_errno(scode) : EPROTO;
		xfer_report(x, err, scode);
	}
	x->sub = mem_deref(x->sub);
	mem_deref(x);
}


/* A bare number or extension is sent to the far end's domain (the PBX
 * that gave us the call); a URI is used as it is. */
static int target_uri(char **urip, const struct call *call,
		      const char *target)
{
	struct uri u;
	struct pl pl;

	if (!strncmp(target, "sip:", 4) || !strncmp(target, "sips:", 5) ||
	    !strncmp(target, "tel:", 4))
		return str_dup(urip, target);
	for (const char *p = target; *p; p++) {
		if (!(*p >= '0' && *p <= '9') && !strchr("+*#-.", *p) &&
		    !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z'))
			return EINVAL;
	}
	if (!call->remote_uri)
		return EINVAL;
	pl_set_str(&pl, call->remote_uri);
	if (uri_decode(&u, &pl))
		return EINVAL;
	if (u.port)
		return re_sdprintf(urip, "sip:%s@%r:%u", target, &u.host,
				   u.port);
	return re_sdprintf(urip, "sip:%s@%r", target, &u.host);
}


static int xfer_alloc(struct xfer **xp, struct call *call, const char *target,
		      call_xfer_h *h, void *arg)
{
	struct xfer *x;
	int err;

	if (!call || !target || !*target)
		return EINVAL;
	if (call->local)
		return ENOTSUP;
	if (call->closing || call->state != CALL_STATE_ESTABLISHED ||
	    !call->sess)
		return ENOTCONN;
	if (call->xfer)
		return EALREADY;
	if (!xfer_sock())
		return ENOMEM;

	x = mem_zalloc(sizeof(*x), xfer_destructor);
	if (!x)
		return ENOMEM;
	x->call = call;
	x->h = h;
	x->arg = arg;
	err = target_uri(&x->target, call, target);
	if (err) {
		mem_deref(x);
		return err;
	}
	*xp = x;
	return 0;
}


static int xfer_refer(struct xfer *x, const char *refer_to)
{
	struct call *call = x->call;

	return sipevent_drefer(&x->sub, evsock, sipsess_dialog(call->sess),
			       call->cuser ? call->cuser : "agent",
			       call->auth_arg ? account_auth_handler : NULL,
			       call->auth_arg, false,
			       xfer_notify_handler, xfer_close_handler, x,
			       "Refer-To: <%s>\r\n"
			       "Referred-By: <%s>\r\n",
			       refer_to,
			       call->local_uri ? call->local_uri : "");
}


int call_transfer_blind(struct call *call, const char *target,
			call_xfer_h *h, void *arg)
{
	struct xfer *x = NULL;
	int err;

	err = xfer_alloc(&x, call, target, h, arg);
	if (err)
		return err;

	err = xfer_refer(x, x->target);
	if (err) {
		mem_deref(x);
		return err;
	}
	call->xfer = x;
	log_info(MOD, call->id, "blind transfer: REFER sent");
	return 0;
}


/* URI header value characters outside RFC 3261 "hnv-unreserved" and
 * "unreserved" are escaped. */
static int uri_hval_print(struct re_printf *pf, const char *s)
{
	int err = 0;

	for (; s && *s && !err; s++) {
		char c = *s;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || strchr("-_.!~*'()[]/?:+$", c))
			err = re_hprintf(pf, "%c", c);
		else
			err = re_hprintf(pf, "%%%02X", (uint8_t)c);
	}
	return err;
}


static void consult_outcome(struct call *consult, enum call_outcome o,
			    uint16_t scode, void *arg)
{
	struct xfer *x = arg;
	char *refer_to = NULL;
	int err;

	if (o != CALL_OUTCOME_ANSWERED) {
		log_info(MOD, x->call->id, "attended transfer: target %s",
			 call_outcome_name(o));
		call_set_end_handler(consult, NULL, NULL);
		x->consult = NULL;   /* it is ending by itself */
		xfer_report(x, o == CALL_OUTCOME_BUSY ? EBUSY :
			    o == CALL_OUTCOME_NO_ANSWER ? ETIMEDOUT :
			    o == CALL_OUTCOME_DECLINED ? EPERM : EPROTO,
			    scode);
		return;
	}

	/* Refer-To: <target?Replaces=callid;to-tag=..;from-tag=..> with
	 * the consult dialog as the target sees it replaced */
	err = re_sdprintf(&refer_to, "%s?Replaces=%H%%3Bto-tag%%3D%H"
			  "%%3Bfrom-tag%%3D%H", x->target,
			  uri_hval_print, consult->dlg_callid,
			  uri_hval_print, consult->rtag,
			  uri_hval_print, consult->ltag);
	if (!err && (!consult->dlg_callid || !consult->rtag ||
		     !consult->ltag))
		err = EPROTO;
	if (!err)
		err = xfer_refer(x, refer_to);
	mem_deref(refer_to);
	if (err) {
		log_warn(MOD, x->call->id, "attended transfer: REFER: %m",
			 err);
		xfer_report(x, err, 0);
		return;
	}
	log_info(MOD, x->call->id, "attended transfer: target answered,"
		 " REFER with Replaces sent");
}


static void consult_end(struct call *consult, void *arg)
{
	struct xfer *x = arg;
	(void)consult;

	x->consult = NULL;
	/* the target hung up before the transfer completed */
	if (!x->sub && !x->reported)
		xfer_report(x, ECONNRESET, 0);
}


int call_transfer_attended(struct call *call, const char *target,
			   call_xfer_h *h, void *arg)
{
	struct xfer *x = NULL;
	int err;

	err = xfer_alloc(&x, call, target, h, arg);
	if (err)
		return err;
	x->attended = true;

	err = ua_connect(&x->consult, x->target, 0, consult_outcome, x);
	if (err) {
		mem_deref(x);
		return err;
	}
	call_set_end_handler(x->consult, consult_end, x);
	call->xfer = x;
	log_info(MOD, call->id, "attended transfer: consult call %s placed",
		 call_id(x->consult));
	return 0;
}
