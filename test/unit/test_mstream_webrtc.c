/*
 * test_mstream_webrtc.c  Two media streams in WebRTC mode on loopback: the
 *                        offerer (cfg.webrtc, full ICE, DTLS client) and
 *                        an answerer that decodes its offer (ICE-lite,
 *                        DTLS server) exchange Opus audio and RFC 4733
 *                        events through DTLS-SRTP on one socket each, keep
 *                        it across hold and resume; a wrong fingerprint
 *                        ends in the fail handler.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "media/stream.h"
#include "media/wrtc.h"
#include "test.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum { REC_FRAMES = 150, N = AUDIO_FRAME_SAMPLES };

struct side {
	struct mstream *ms;
	int16_t rec[REC_FRAMES * N];     /* caller frames, from the tap */
	size_t nrec;
	unsigned frames;
	unsigned agent_loud;             /* tap frames we sent with audio */
	char digits[8];
	size_t ndigits;
	int fail_err;
	char fail_reason[64];
};

static struct side *sides[2];


static void stop_tmr(void *arg)
{
	(void)arg;
	re_cancel();
}


static bool (*stop_pred)(void);

static void poll_tmr(void *arg)
{
	struct tmr *t = arg;

	if (stop_pred && stop_pred()) {
		re_cancel();
		return;
	}
	tmr_start(t, 10, poll_tmr, t);
}


static void run(bool (*pred)(void), uint32_t ms)
{
	struct tmr t, p;

	tmr_init(&t);
	tmr_init(&p);
	stop_pred = pred;
	tmr_start(&t, ms, stop_tmr, NULL);
	tmr_start(&p, 10, poll_tmr, &p);
	re_main(NULL);
	tmr_cancel(&t);
	tmr_cancel(&p);
	stop_pred = NULL;
}


static void tap_h(const int16_t *caller, const int16_t *agent, size_t n,
		  void *arg)
{
	struct side *s = arg;

	++s->frames;
	{
		double e = 0;
		for (size_t i = 0; i < n; i++)
			e += (double)agent[i] * agent[i];
		if (sqrt(e / (double)n) > 1000)
			++s->agent_loud;
	}
	if (s->nrec + n <= ARRAY_SIZE(s->rec)) {
		memcpy(s->rec + s->nrec, caller, n * sizeof(*caller));
		s->nrec += n;
	}
}


static void dtmf_h(char digit, enum dtmf_source src, void *arg)
{
	struct side *s = arg;

	if (src == DTMF_SRC_RFC4733 && s->ndigits < sizeof(s->digits) - 1)
		s->digits[s->ndigits++] = digit;
}


static void fail_h(int err, const char *reason, void *arg)
{
	struct side *s = arg;

	s->fail_err = err ? err : -1;
	str_ncpy(s->fail_reason, reason ? reason : "?",
		 sizeof(s->fail_reason));
}


static int side_alloc(struct side *s, bool webrtc)
{
	struct mstream_cfg cfg;
	int err;

	memset(&cfg, 0, sizeof(cfg));
	sa_set_str(&cfg.laddr, "127.0.0.1", 0);
	cfg.port_min = 42000;
	cfg.port_max = 42999;
	err = sdpneg_prefs_parse(&cfg.prefs, "G722,PCMU,PCMA");
	if (err)
		return err;
	cfg.prefs.srtp = SRTP_OPTIONAL;
	cfg.rtp_timeout_secs = 10;
	cfg.jitter_min_ms = 40;
	cfg.jitter_max_ms = 200;
	cfg.webrtc = webrtc;

	err = mstream_alloc(&s->ms, &cfg, webrtc ? "wrtc-a" : "wrtc-b",
			    NULL, NULL);
	if (err)
		return err;
	mstream_set_tap(s->ms, tap_h, s);
	mstream_set_dtmf_handler(s->ms, dtmf_h, s);
	mstream_set_fail_handler(s->ms, fail_h, s);
	return 0;
}


static void sine(int16_t *x, size_t n, double f, double amp)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (int16_t)lrint(amp * sin(2 * M_PI * f * (double)i /
						AUDIO_SRATE));
}


/* Level (dB re amp) of the tone f in the last 1 s of what s heard. */
static double heard_db(const struct side *s, double f, double amp)
{
	const int16_t *x;
	double a = 0, b = 0;
	size_t n = AUDIO_SRATE;

	if (s->nrec < n)
		return -200;
	x = s->rec + s->nrec - n;
	for (size_t i = 0; i < n; i++) {
		double w = 2 * M_PI * f * (double)i / AUDIO_SRATE;
		a += x[i] * sin(w);
		b += x[i] * cos(w);
	}
	a *= 2.0 / (double)n;
	b *= 2.0 / (double)n;
	return 20 * log10(sqrt(a * a + b * b) / amp + 1e-12);
}


static bool both_heard(void)
{
	return sides[0]->nrec >= REC_FRAMES * N &&
		sides[1]->nrec >= REC_FRAMES * N;
}


static bool both_digits(void)
{
	return sides[1]->ndigits >= 2 && sides[0]->ndigits >= 1;
}


static bool both_rtcp(void)
{
	struct mstream_stats sa_, sb_;

	mstream_stats(sides[0]->ms, &sa_);
	mstream_stats(sides[1]->ms, &sb_);
	return sa_.rtcp_rx > 0 && sb_.rtcp_rx > 0;
}


static bool a_heard(void)
{
	return sides[0]->nrec >= REC_FRAMES * N;
}


static bool b_heard(void)
{
	return sides[1]->nrec >= REC_FRAMES * N;
}


static bool b_failed(void)
{
	return sides[1]->fail_err != 0;
}


/* offer from a, answered by b, answer back to a */
static int negotiate(struct side *a, struct side *b, const char *fp_patch)
{
	struct mbuf *offer = NULL, *answer = NULL;
	const char *reason = NULL;
	uint16_t scode = 0;
	int err;

	err = mstream_offer(a->ms, &offer);
	if (err)
		return err;
	if (fp_patch) {
		/* someone else's certificate in the offer */
		char *p = memmem(offer->buf, offer->end, "fingerprint:sha-256 ",
				 20);
		if (!p) {
			err = EPROTO;
			goto out;
		}
		memcpy(p + 20, fp_patch, strlen(fp_patch));
	}
	offer->pos = 0;
	err = mstream_offer_decode(b->ms, offer, &answer, &scode, &reason);
	if (err) {
		fprintf(stderr, "answer refused: %u %s\n", scode,
			reason ? reason : "");
		goto out;
	}
	err = mstream_answer_decode(a->ms, answer);
 out:
	mem_deref(offer);
	mem_deref(answer);
	return err;
}


/* a re-offers from its session (hold or resume), b answers, a decodes */
static int reinvite(struct side *a, struct side *b, bool hold)
{
	struct mbuf *offer = NULL, *answer = NULL;
	const char *reason = NULL;
	uint16_t scode = 0;
	int err;

	err = mstream_reoffer(a->ms, hold, &offer);
	if (err)
		return err;
	offer->pos = 0;
	err = mstream_offer_decode(b->ms, offer, &answer, &scode, &reason);
	if (err) {
		fprintf(stderr, "re-offer refused: %u %s\n", scode,
			reason ? reason : "");
		goto out;
	}
	err = mstream_answer_decode(a->ms, answer);
 out:
	mem_deref(offer);
	mem_deref(answer);
	return err;
}


int test_mstream_webrtc_loopback(void)
{
	static struct side a, b;
	static int16_t tone_a[6 * AUDIO_SRATE], tone_b[6 * AUDIO_SRATE];
	const struct sdpneg_result *ra, *rb;
	struct mstream_stats sta, stb;
	double da, db;
	int err = 0;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	sides[0] = &a;
	sides[1] = &b;
	TEST_ERR(mclock_init());
	TEST_ERR(wrtc_init());    /* main.c makes the certificate at start-up */
	err = side_alloc(&a, true);
	if (!err)
		err = side_alloc(&b, false);
	if (!err)
		err = negotiate(&a, &b, NULL);
	if (err)
		goto out;

	ra = mstream_media(a.ms);
	rb = mstream_media(b.ms);
	if (!ra || !rb || !ra->webrtc || !rb->webrtc ||
	    strcmp(ra->codec->name, "opus") ||
	    strcmp(rb->codec->name, "opus") || ra->role != WRTC_ACTIVE ||
	    rb->role != WRTC_PASSIVE || ra->te_clock != 48000) {
		fprintf(stderr, "negotiation result wrong\n");
		err = EPROTO;
		goto out;
	}

	err  = mstream_start(a.ms);
	err |= mstream_start(b.ms);
	if (err)
		goto out;

	/* a sends 1004 Hz, b 650 Hz, from the first tick: whatever goes out
	 * before DTLS is up would be lost at the other end */
	sine(tone_a, ARRAY_SIZE(tone_a), 1004, 8000);
	sine(tone_b, ARRAY_SIZE(tone_b), 650, 8000);
	mstream_play(a.ms, tone_a, ARRAY_SIZE(tone_a));
	mstream_play(b.ms, tone_b, ARRAY_SIZE(tone_b));

	/* start recording only when audio flows: drop what the tap saw so
	 * far, then take REC_FRAMES more */
	run(NULL, 600);
	a.nrec = b.nrec = 0;
	run(both_heard, 5000);

	da = heard_db(&b, 1004, 8000);
	db = heard_db(&a, 650, 8000);
	mstream_stats(a.ms, &sta);
	mstream_stats(b.ms, &stb);
	if (getenv("AGENTLINE_TEST_VERBOSE"))
		fprintf(stderr, "webrtc loopback: b hears 1004 Hz at %+.1f dB, "
			"a hears 650 Hz at %+.1f dB; a tx %llu rx %llu, b tx "
			"%llu rx %llu, lost %u/%u, fail a=\"%s\" b=\"%s\"\n",
			da, db, (unsigned long long)sta.tx_packets,
			(unsigned long long)sta.rx_packets,
			(unsigned long long)stb.tx_packets,
			(unsigned long long)stb.rx_packets, sta.lost,
			stb.lost, a.fail_reason, b.fail_reason);
	/* the tap's second channel is what each side sent */
	if (a.agent_loud < REC_FRAMES || b.agent_loud < REC_FRAMES) {
		fprintf(stderr, "tap: sent frames %u/%u\n", a.agent_loud,
			b.agent_loud);
		err = EPROTO;
		goto out;
	}
	if (fabs(da) > 2 || fabs(db) > 2 || a.fail_err || b.fail_err) {
		err = EPROTO;
		goto out;
	}
	/* nothing went out before the keys (it would have been dropped);
	 * everything after arrived */
	if (!sta.tx_packets || stb.rx_packets + 2 < sta.tx_packets ||
	    sta.rx_packets + 2 < stb.tx_packets) {
		fprintf(stderr, "packets lost in transit\n");
		err = EPROTO;
		goto out;
	}

	/* RFC 4733 at 48 kHz in both directions */
	err  = mstream_send_dtmf(a.ms, "5#");
	err |= mstream_send_dtmf(b.ms, "7");
	if (err)
		goto out;
	run(both_digits, 3000);
	if (strcmp(b.digits, "5#") || strcmp(a.digits, "7")) {
		fprintf(stderr, "digits: b \"%s\" a \"%s\"\n", b.digits,
			a.digits);
		err = EPROTO;
		goto out;
	}

	/* SRTCP on the RTP socket (rtcp-mux), every 5 s in libre */
	run(both_rtcp, 7000);
	if (!both_rtcp()) {
		fprintf(stderr, "no RTCP over rtcp-mux\n");
		err = EPROTO;
		goto out;
	}

	/* hold and resume by re-INVITE (the hold tool on a WSS call): the
	 * re-offers carry the same ICE credentials and fingerprint, a stops
	 * sending while it holds, and the audio comes back after the
	 * resume without a transport failure */
	err = reinvite(&a, &b, true);
	if (err)
		goto out;
	mstream_stats(a.ms, &sta);
	run(NULL, 300);
	mstream_stats(a.ms, &stb);
	if (stb.tx_packets != sta.tx_packets) {
		fprintf(stderr, "a sent %llu packets while holding\n",
			(unsigned long long)(stb.tx_packets - sta.tx_packets));
		err = EPROTO;
		goto out;
	}
	err = reinvite(&a, &b, false);
	if (err)
		goto out;
	mstream_play(a.ms, tone_a, ARRAY_SIZE(tone_a));
	b.nrec = 0;
	run(NULL, 300);
	b.nrec = 0;
	run(b_heard, 3000);
	da = heard_db(&b, 1004, 8000);
	if (fabs(da) > 2 || a.fail_err || b.fail_err) {
		fprintf(stderr, "after resume: b hears %+.1f dB, fail a=\"%s\" "
			"b=\"%s\"\n", da, a.fail_reason, b.fail_reason);
		err = EPROTO;
		goto out;
	}

	/* the same from the answering side (the agent holds a browser or
	 * gateway caller): our full-ICE side answers its re-offers keeping
	 * its roles, and b's audio comes back */
	err = reinvite(&b, &a, true);
	if (!err)
		err = reinvite(&b, &a, false);
	if (err)
		goto out;
	mstream_play(b.ms, tone_b, ARRAY_SIZE(tone_b));
	run(NULL, 300);
	a.nrec = 0;
	run(a_heard, 3000);
	db = heard_db(&a, 650, 8000);
	if (fabs(db) > 2 || a.fail_err || b.fail_err ||
	    mstream_media(a.ms)->role != WRTC_ACTIVE ||
	    mstream_media(b.ms)->role != WRTC_PASSIVE) {
		fprintf(stderr, "after b's resume: a hears %+.1f dB, fail "
			"a=\"%s\" b=\"%s\"\n", db, a.fail_reason,
			b.fail_reason);
		err = EPROTO;
	}

 out:
	a.ms = mem_deref(a.ms);
	b.ms = mem_deref(b.ms);
	mclock_close();
	wrtc_close();
	return err;
}


/* The answerer sees an offer whose fingerprint does not match the
 * certificate the offerer then presents: DTLS fails closed, the fail
 * handler gets the reason, and no media was accepted. */
int test_mstream_webrtc_fail(void)
{
	static struct side a, b;
	struct mstream_stats stb;
	int err = 0;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	sides[0] = &a;
	sides[1] = &b;
	TEST_ERR(mclock_init());
	TEST_ERR(wrtc_init());    /* main.c makes the certificate at start-up */
	err = side_alloc(&a, true);
	if (!err)
		err = side_alloc(&b, false);
	if (!err)
		err = negotiate(&a, &b, "00:00:00:00");
	if (!err)
		err = mstream_start(a.ms);
	if (!err)
		err = mstream_start(b.ms);
	if (err)
		goto out;

	run(b_failed, 5000);
	mstream_stats(b.ms, &stb);
	if (getenv("AGENTLINE_TEST_VERBOSE"))
		fprintf(stderr, "b failed: %d \"%s\"\n", b.fail_err,
			b.fail_reason);
	if (!b.fail_err || !strstr(b.fail_reason, "fingerprint") ||
	    stb.rx_packets) {
		err = EPROTO;
		goto out;
	}

 out:
	a.ms = mem_deref(a.ms);
	b.ms = mem_deref(b.ms);
	mclock_close();
	wrtc_close();
	return err;
}


/* A STUN server stand-in: every Binding request gets the mapped address
 * 203.0.113.5 with the request's source port. */
struct stun_srv {
	struct udp_sock *us;
	unsigned requests;
};


static void stun_srv_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct stun_srv *srv = arg;
	struct stun_msg *msg = NULL;
	struct sa mapped;

	if (stun_msg_decode(&msg, mb, NULL))
		return;
	if (stun_msg_method(msg) == STUN_METHOD_BINDING &&
	    stun_msg_class(msg) == STUN_CLASS_REQUEST) {
		++srv->requests;
		sa_set_str(&mapped, "203.0.113.5", sa_port(src));
		(void)stun_reply(IPPROTO_UDP, srv->us, src, 0, msg, NULL, 0,
				 false, 1, STUN_ATTR_XOR_MAPPED_ADDR, &mapped);
	}
	mem_deref(msg);
}


static struct {
	bool done;
	int err;
} ready;


static void ready_h(int err, void *arg)
{
	(void)arg;
	ready.done = true;
	ready.err = err;
}


static bool gathered(void)
{
	return ready.done;
}


/* cfg.ice_stun_urls: mstream_gather finds our server-reflexive address
 * and the next WebRTC offer carries it as a srflx candidate. */
int test_mstream_webrtc_gather(void)
{
	struct stun_srv srv;
	struct mstream_cfg cfg;
	struct mstream *ms = NULL;
	struct mbuf *offer = NULL;
	struct sa laddr;
	char urls[64], want[96], *txt = NULL;
	int err;

	memset(&srv, 0, sizeof(srv));
	memset(&ready, 0, sizeof(ready));
	TEST_ERR(wrtc_init());    /* main.c makes the certificate at start-up */
	sa_set_str(&laddr, "127.0.0.1", 0);
	TEST_ERR(udp_listen(&srv.us, &laddr, stun_srv_recv, &srv));
	TEST_ERR(udp_local_get(srv.us, &laddr));
	re_snprintf(urls, sizeof(urls), "stun:127.0.0.1:%u", sa_port(&laddr));

	memset(&cfg, 0, sizeof(cfg));
	sa_set_str(&cfg.laddr, "127.0.0.1", 0);
	cfg.port_min = 42000;
	cfg.port_max = 42999;
	(void)sdpneg_prefs_parse(&cfg.prefs, "PCMU");
	cfg.rtp_timeout_secs = 10;
	cfg.jitter_min_ms = 40;
	cfg.jitter_max_ms = 200;
	cfg.webrtc = true;
	cfg.ice_stun_urls = urls;

	err = mstream_alloc(&ms, &cfg, "gather", NULL, NULL);
	if (!err)
		err = mstream_gather(ms, ready_h, NULL);
	if (err)
		goto out;
	run(gathered, 3000);
	if (!ready.done || ready.err || srv.requests < 1) {
		fprintf(stderr, "gather: done %d err %d requests %u\n",
			ready.done, ready.err, srv.requests);
		err = EPROTO;
		goto out;
	}

	err = mstream_offer(ms, &offer);
	if (!err)
		err = mbuf_strdup(offer, &txt, mbuf_get_left(offer));
	if (err)
		goto out;
	re_snprintf(want, sizeof(want), " 203.0.113.5 %u typ srflx raddr "
		    "127.0.0.1 rport %u\r\n", mstream_lport(ms),
		    mstream_lport(ms));
	if (!strstr(txt, want)) {
		fprintf(stderr, "no srflx candidate in:\n%s", txt);
		err = EPROTO;
	}

 out:
	if (err)
		fprintf(stderr, "gather test: error %d\n", err);
	mem_deref(txt);
	mem_deref(offer);
	mem_deref(ms);
	mem_deref(srv.us);
	wrtc_close();
	return err;
}
