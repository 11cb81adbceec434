/*
 * test_call_webrtc_end.c  How a WebRTC call ends when its transport goes
 *                         away (call.c's media fail handler), on a real
 *                         call: a softphone call (call_accept_local, the
 *                         same stream and fail handler as a SIP call)
 *                         answers an offer made here, and a wrtc on a
 *                         socket of the test is the far end (full ICE,
 *                         DTLS).  The reason comes from the call_ended
 *                         event.
 *
 *  - the far end closes DTLS (close_notify) and its hang-up arrives 400 ms
 *    later: the call waits for it and ends as remote_bye;
 *  - close_notify and no hang-up: media_failed after the 2 s grace;
 *  - the far end goes silent (consent lost): media_failed at once.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/events.h"
#include "media/stream.h"
#include "media/wrtc.h"
#include "sip/call.h"
#include "test.h"

enum { CONSENT_MS = 600, GRACE_MS = 2000 };

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: assertion " \
	"failed: %s\n", __FILE__, __LINE__, #c); err = EPROTO; goto out; } \
	} while (0)

static struct peer {
	struct udp_sock *us;
	struct udp_helper *cut_uh;
	bool cut;
	struct sa laddr;
	struct wrtc *w;
	struct sdp_session *sess;
	struct sdpneg_result res;
	struct sdpneg_prefs prefs;
	struct mstream_cfg mcfg;
	bool estab;
	unsigned rtp_rx;
	struct call *call;
	char callid[16];
	char ended[32];
	uint64_t ended_at;
} pr;

static bool (*stop_pred)(void);


static void stop_tmr(void *arg)
{
	(void)arg;
	re_cancel();
}


static void poll_tmr(void *arg)
{
	struct tmr *t = arg;

	if (stop_pred && stop_pred()) {
		re_cancel();
		return;
	}
	tmr_start(t, 5, poll_tmr, t);
}


static void run(bool (*pred)(void), uint32_t ms)
{
	struct tmr t, p;

	tmr_init(&t);
	tmr_init(&p);
	stop_pred = pred;
	tmr_start(&t, ms, stop_tmr, NULL);
	tmr_start(&p, 5, poll_tmr, &p);
	re_main(NULL);
	tmr_cancel(&t);
	tmr_cancel(&p);
	stop_pred = NULL;
}


static void event_h(const char *json, void *arg)
{
	struct peer *p = arg;
	struct pl reason;
	char want[40];

	re_snprintf(want, sizeof(want), "\"call\":\"%s\"", p->callid);
	if (!p->callid[0] || !strstr(json, "\"event\":\"call_ended\"") ||
	    !strstr(json, want))
		return;
	if (re_regex(json, strlen(json), "\"reason\":\"[^\"]*\"", &reason))
		return;
	pl_strcpy(&reason, p->ended, sizeof(p->ended));
	p->ended_at = tmr_jiffies();
}


static void bye_h(const char *reason, void *arg)
{
	(void)reason;
	(void)arg;
}


static void estab_h(const struct wrtc_keys *keys, void *arg)
{
	struct peer *p = arg;
	(void)keys;

	p->estab = true;
}


static void close_h(int err, const char *reason, void *arg)
{
	(void)err;
	(void)reason;
	(void)arg;
}


static void recv_h(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct peer *p = arg;
	(void)src;
	(void)mb;

	p->rtp_rx++;   /* SRTP from the call (the wrtc passes it up) */
}


/* The network between us and the call: below everything on our socket,
 * both ways. */
static bool cut_send(int *err, struct sa *dst, struct mbuf *mb, void *arg)
{
	const struct peer *p = arg;
	(void)err;
	(void)dst;
	(void)mb;

	return p->cut;
}


static bool cut_recv(struct sa *src, struct mbuf *mb, void *arg)
{
	const struct peer *p = arg;
	(void)src;
	(void)mb;

	return p->cut;
}


static bool media_flows(void)
{
	return pr.estab && pr.rtp_rx >= 5;
}


static bool ended(void)
{
	return pr.ended[0] != '\0';
}


/* A softphone call answering our WebRTC offer, DTLS up, the call's echo
 * app sending us media. */
static int setup(void)
{
	struct mbuf *offer = NULL, *answer = NULL;
	struct call_params prm;
	struct wrtc_params wp;
	int err;

	memset(&pr, 0, sizeof(pr));
	err = mclock_init();
	if (!err)
		err = wrtc_init();
	if (!err)
		err = events_subscribe(event_h, &pr);
	if (err)
		return err;

	sa_set_str(&pr.laddr, "127.0.0.1", 0);
	err = udp_listen(&pr.us, &pr.laddr, recv_h, &pr);
	if (!err)
		err = udp_local_get(pr.us, &pr.laddr);
	if (!err)
		err = udp_register_helper(&pr.cut_uh, pr.us, -200, cut_send,
					  cut_recv, &pr);
	if (err)
		return err;

	/* our offer, as a browser's would be (full ICE here) */
	err = sdpneg_prefs_parse(&pr.prefs, "PCMU");
	if (err)
		return err;
	pr.prefs.webrtc = true;
	pr.prefs.fingerprint = wrtc_fingerprint();
	pr.prefs.ssrc = 0x1234;
	err = sdpneg_offer(&pr.sess, &offer, &pr.laddr, &pr.prefs, &pr.res);
	if (err)
		return err;

	sa_set_str(&pr.mcfg.laddr, "127.0.0.1", 0);
	pr.mcfg.port_min = 44000;
	pr.mcfg.port_max = 44999;
	err = sdpneg_prefs_parse(&pr.mcfg.prefs, "PCMU");
	if (err)
		goto out;
	pr.mcfg.rtp_timeout_secs = 30;
	pr.mcfg.jitter_min_ms = 40;
	pr.mcfg.jitter_max_ms = 200;
	pr.mcfg.ice_consent_ms = CONSENT_MS;
	memset(&prm, 0, sizeof(prm));
	prm.media = &pr.mcfg;
	prm.app = "echo";

	offer->pos = 0;
	err = call_accept_local(&pr.call, offer, &answer, &prm, "test",
				bye_h, &pr);
	if (err)
		goto out;
	str_ncpy(pr.callid, call_id(pr.call), sizeof(pr.callid));

	answer->pos = 0;
	err = sdpneg_decode_answer(pr.sess, answer, &pr.prefs, &pr.res);
	if (err)
		goto out;

	memset(&wp, 0, sizeof(wp));
	wp.lufrag = pr.res.lufrag;
	wp.lpwd = pr.res.lpwd;
	wp.rufrag = pr.res.rufrag;
	wp.rpwd = pr.res.rpwd;
	wp.rfp_alg = pr.res.rfp_alg;
	wp.rfp = pr.res.rfp;
	wp.role = pr.res.role;
	wp.controlling = true;
	wp.rcandv = pr.res.rcandv;
	wp.rcandc = pr.res.rcandc;
	wp.consent_timeout_ms = CONSENT_MS;
	err = wrtc_alloc(&pr.w, pr.us, &wp, estab_h, NULL, close_h, &pr);
	if (err)
		goto out;

	run(media_flows, 5000);
	if (!media_flows()) {
		fprintf(stderr, "no media from the call: estab %d rtp %u\n",
			pr.estab, pr.rtp_rx);
		err = ETIMEDOUT;
	}
 out:
	mem_deref(offer);
	mem_deref(answer);
	return err;
}


static void teardown(void)
{
	if (pr.call && call_find(pr.callid))
		call_hangup(pr.call, "test_end");
	run(ended, 200);
	call_reap_all();
	pr.w = mem_deref(pr.w);
	pr.cut_uh = mem_deref(pr.cut_uh);
	pr.us = mem_deref(pr.us);
	pr.sess = mem_deref(pr.sess);
	events_unsubscribe(event_h, &pr);
	mclock_close();
	wrtc_close();
}


/* The far end hangs up: DTLS close_notify first, its BYE (here: the
 * page's hang-up) 400 ms later. */
int test_call_webrtc_bye_after_close(void)
{
	unsigned rx;
	int err;

	err = setup();
	if (err)
		goto out;

	pr.w = mem_deref(pr.w);       /* sends close_notify */
	run(NULL, 100);
	rx = pr.rtp_rx;
	run(NULL, 300);
	/* the call saw the close (it stopped sending) and is still up */
	CHECK(pr.rtp_rx == rx);
	CHECK(!ended());
	CHECK(call_find(pr.callid) == pr.call);

	call_hangup(pr.call, "remote_bye");
	run(ended, 1000);
	CHECK(!strcmp(pr.ended, "remote_bye"));
 out:
	teardown();
	return err;
}


/* close_notify and no BYE: media_failed once the grace is over. */
int test_call_webrtc_close_no_bye(void)
{
	uint64_t t0, dt;
	int err;

	err = setup();
	if (err)
		goto out;

	t0 = tmr_jiffies();
	pr.w = mem_deref(pr.w);
	run(ended, GRACE_MS + 1500);
	dt = pr.ended_at - t0;
	if (!ended() || strcmp(pr.ended, "media_failed") ||
	    dt < GRACE_MS - 100 || dt > GRACE_MS + 800) {
		fprintf(stderr, "ended \"%s\" after %llu ms\n", pr.ended,
			(unsigned long long)dt);
		err = EPROTO;
	}
 out:
	teardown();
	return err;
}


/* The far end goes silent: consent lost, media_failed without waiting
 * for a BYE. */
int test_call_webrtc_consent_lost(void)
{
	uint64_t t0, dt;
	int err;

	err = setup();
	if (err)
		goto out;

	t0 = tmr_jiffies();
	pr.cut = true;
	run(ended, CONSENT_MS + GRACE_MS + 1500);
	dt = pr.ended_at - t0;
	if (!ended() || strcmp(pr.ended, "media_failed") ||
	    dt > CONSENT_MS + 800) {
		fprintf(stderr, "ended \"%s\" after %llu ms\n", pr.ended,
			(unsigned long long)dt);
		err = EPROTO;
	}
 out:
	teardown();
	return err;
}
