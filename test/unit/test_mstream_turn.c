/*
 * test_mstream_turn.c  Two media streams in WebRTC mode whose only working
 *                      path is a TURN relay: the offerer gathers host,
 *                      server-reflexive and relayed candidates
 *                      (mstream_gather) and offers all three; the answerer
 *                      (ICE-lite) advertises an address the offerer cannot
 *                      reach directly, only through the relay (a small TURN
 *                      server in this file, RFC 5766 over UDP with
 *                      long-term credentials, reaches it there).  ICE, DTLS
 *                      and Opus both ways go through the relay, and the
 *                      TURN Refresh sent while SRTP is keyed reaches the
 *                      server as a valid STUN request (not SRTP-encrypted
 *                      by the stream).
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

enum { REC_FRAMES = 100, N = AUDIO_FRAME_SAMPLES, LIFETIME_S = 4 };

/* the answerer's advertised address: nothing listens there; the TURN
 * server reaches it at 127.0.0.1 (a peer on a network only the relay
 * sees) */
#define ALIAS_IP "127.0.0.3"
#define MAPPED_IP "203.0.113.7"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: assertion " \
	"failed: %s\n", __FILE__, __LINE__, #c); err = EPROTO; goto out; } \
	} while (0)


/* --- a small TURN server (as test_wrtc.c's), plus: the alias, a short
 * allocation lifetime so libre's turnc refreshes within the test, and
 * counters of valid Refreshes and of datagrams that are not STUN --- */

struct fturn {
	struct udp_sock *ctl, *rel;
	struct sa ctl_addr, rel_addr, client;
	uint8_t key[16];
	unsigned allocs, perms, refreshes, sends, datas, denied, garbage;
	unsigned bindings;          /* plain STUN Binding requests answered */
	struct sa permv[8];
	size_t permc;
};


static void alias_to_real(struct sa *a)
{
	struct sa alias;

	sa_set_str(&alias, ALIAS_IP, 0);
	if (sa_cmp(a, &alias, SA_ADDR))
		sa_set_str(a, "127.0.0.1", sa_port(a));
}


static void real_to_alias(struct sa *a)
{
	sa_set_str(a, ALIAS_IP, sa_port(a));
}


static bool fturn_permitted(const struct fturn *ft, const struct sa *peer)
{
	for (size_t i = 0; i < ft->permc; i++)
		if (sa_cmp(&ft->permv[i], peer, SA_ADDR))
			return true;
	return false;
}


static void fturn_send(struct fturn *ft, struct stun_msg *msg,
		       const struct sa *src)
{
	struct stun_attr *peer, *data;
	struct mbuf *out;
	struct sa dst;

	peer = stun_msg_attr(msg, STUN_ATTR_XOR_PEER_ADDR);
	data = stun_msg_attr(msg, STUN_ATTR_DATA);
	if (stun_msg_method(msg) != STUN_METHOD_SEND || !peer || !data ||
	    !sa_cmp(src, &ft->client, SA_ALL))
		return;
	if (!fturn_permitted(ft, &peer->v.xor_peer_addr)) {
		ft->denied++;
		return;
	}
	out = mbuf_alloc(2048);
	if (!out)
		return;
	if (!mbuf_write_mem(out, mbuf_buf(&data->v.data),
			    mbuf_get_left(&data->v.data))) {
		out->pos = 0;
		dst = peer->v.xor_peer_addr;
		alias_to_real(&dst);
		ft->sends++;
		(void)udp_send(ft->rel, &dst, out);
	}
	mem_deref(out);
}


static void fturn_ctl_h(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct fturn *ft = arg;
	struct stun_msg *msg = NULL;
	struct stun_attr *peer;
	const uint32_t lifetime = LIFETIME_S;

	if (stun_msg_decode(&msg, mb, NULL)) {
		/* e.g. a Refresh the stream encrypted as if it were RTP */
		ft->garbage++;
		return;
	}

	if (stun_msg_class(msg) == STUN_CLASS_INDICATION) {
		fturn_send(ft, msg, src);
		goto out;
	}
	if (stun_msg_class(msg) != STUN_CLASS_REQUEST)
		goto out;

	/* like coturn, the TURN port is a STUN server too */
	if (stun_msg_method(msg) == STUN_METHOD_BINDING) {
		struct sa mapped;

		ft->bindings++;
		sa_set_str(&mapped, MAPPED_IP, sa_port(src));
		(void)stun_reply(IPPROTO_UDP, ft->ctl, src, 0, msg, NULL, 0,
				 false, 1, STUN_ATTR_XOR_MAPPED_ADDR, &mapped);
		goto out;
	}

	if (!stun_msg_attr(msg, STUN_ATTR_MSG_INTEGRITY) ||
	    stun_msg_chk_mi(msg, ft->key, sizeof(ft->key))) {
		(void)stun_ereply(IPPROTO_UDP, ft->ctl, src, 0, msg, 401,
				  "Unauthorized", NULL, 0, false, 2,
				  STUN_ATTR_REALM, "test",
				  STUN_ATTR_NONCE, "n0nce");
		goto out;
	}

	switch (stun_msg_method(msg)) {

	case STUN_METHOD_ALLOCATE:
		ft->allocs++;
		ft->client = *src;
		(void)stun_reply(IPPROTO_UDP, ft->ctl, src, 0, msg, ft->key,
				 sizeof(ft->key), false, 3,
				 STUN_ATTR_XOR_MAPPED_ADDR, src,
				 STUN_ATTR_XOR_RELAY_ADDR, &ft->rel_addr,
				 STUN_ATTR_LIFETIME, &lifetime);
		break;

	case STUN_METHOD_CREATEPERM:
		peer = stun_msg_attr(msg, STUN_ATTR_XOR_PEER_ADDR);
		if (peer && ft->permc < ARRAY_SIZE(ft->permv))
			ft->permv[ft->permc++] = peer->v.xor_peer_addr;
		ft->perms++;
		(void)stun_reply(IPPROTO_UDP, ft->ctl, src, 0, msg, ft->key,
				 sizeof(ft->key), false, 0);
		break;

	case STUN_METHOD_REFRESH:
		ft->refreshes++;
		(void)stun_reply(IPPROTO_UDP, ft->ctl, src, 0, msg, ft->key,
				 sizeof(ft->key), false, 1,
				 STUN_ATTR_LIFETIME, &lifetime);
		break;

	default:
		break;
	}
 out:
	mem_deref(msg);
}


static void fturn_rel_h(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct fturn *ft = arg;
	struct sa peer = *src;

	real_to_alias(&peer);
	if (!fturn_permitted(ft, &peer)) {
		ft->denied++;
		return;
	}
	ft->datas++;
	(void)stun_indication(IPPROTO_UDP, ft->ctl, &ft->client, 0,
			      STUN_METHOD_DATA, NULL, 0, false, 2,
			      STUN_ATTR_XOR_PEER_ADDR, &peer,
			      STUN_ATTR_DATA, mb);
}


static int fturn_open(struct fturn *ft)
{
	const char *cred = "user:test:secret";
	int err;

	memset(ft, 0, sizeof(*ft));
	md5((const uint8_t *)cred, strlen(cred), ft->key);
	err  = sa_set_str(&ft->ctl_addr, "127.0.0.1", 0);
	err |= sa_set_str(&ft->rel_addr, "127.0.0.1", 0);
	if (err)
		return err;
	err  = udp_listen(&ft->ctl, &ft->ctl_addr, fturn_ctl_h, ft);
	err |= udp_listen(&ft->rel, &ft->rel_addr, fturn_rel_h, ft);
	if (err)
		return err;
	err  = udp_local_get(ft->ctl, &ft->ctl_addr);
	err |= udp_local_get(ft->rel, &ft->rel_addr);
	return err;
}


/* A STUN server: the mapped address is MAPPED_IP with the source port. */
struct fstun {
	struct udp_sock *us;
	struct sa addr;
	unsigned requests;
};


static void fstun_h(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct fstun *fs = arg;
	struct stun_msg *msg = NULL;
	struct sa mapped;

	if (stun_msg_decode(&msg, mb, NULL))
		return;
	if (stun_msg_method(msg) == STUN_METHOD_BINDING &&
	    stun_msg_class(msg) == STUN_CLASS_REQUEST) {
		++fs->requests;
		sa_set_str(&mapped, MAPPED_IP, sa_port(src));
		(void)stun_reply(IPPROTO_UDP, fs->us, src, 0, msg, NULL, 0,
				 false, 1, STUN_ATTR_XOR_MAPPED_ADDR, &mapped);
	}
	mem_deref(msg);
}


/* --- the two streams --- */

struct side {
	struct mstream *ms;
	int16_t rec[REC_FRAMES * N];
	size_t nrec;
	int fail_err;
	char fail_reason[64];
};

static struct side sa_, sb_;
static bool (*stop_pred)(void);
static struct {
	bool done;
	int err;
} ready;


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
	(void)agent;

	if (s->nrec + n <= ARRAY_SIZE(s->rec)) {
		memcpy(s->rec + s->nrec, caller, n * sizeof(*caller));
		s->nrec += n;
	}
}


static void fail_h(int err, const char *reason, void *arg)
{
	struct side *s = arg;

	s->fail_err = err ? err : -1;
	str_ncpy(s->fail_reason, reason ? reason : "?",
		 sizeof(s->fail_reason));
}


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


static int side_alloc(struct side *s, const char *name, const char *stun,
		      const char *turn)
{
	struct mstream_cfg cfg;
	int err;

	memset(&cfg, 0, sizeof(cfg));
	sa_set_str(&cfg.laddr, "127.0.0.1", 0);
	cfg.port_min = 43000;
	cfg.port_max = 43999;
	err = sdpneg_prefs_parse(&cfg.prefs, "PCMU");
	if (err)
		return err;
	cfg.rtp_timeout_secs = 10;
	cfg.jitter_min_ms = 40;
	cfg.jitter_max_ms = 200;
	cfg.webrtc = stun || turn;
	cfg.ice_stun_urls = stun;
	cfg.ice_turn_urls = turn;
	cfg.ice_turn_user = turn ? "user" : NULL;
	cfg.ice_turn_pass = turn ? "secret" : NULL;

	err = mstream_alloc(&s->ms, &cfg, name, NULL, NULL);
	if (err)
		return err;
	mstream_set_tap(s->ms, tap_h, s);
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
	return sa_.nrec >= REC_FRAMES * N && sb_.nrec >= REC_FRAMES * N;
}


static struct fturn *ft_now;
static unsigned refresh_mark;

static bool refreshed(void)
{
	return ft_now->refreshes > refresh_mark || ft_now->garbage;
}


/* "127.0.0.1 PORT typ host" in the answer -> the alias address */
static int answer_alias(struct mbuf *answer, uint16_t port)
{
	char host[48], *p;

	re_snprintf(host, sizeof(host), " 127.0.0.1 %u typ host", port);
	p = memmem(answer->buf, answer->end, host, strlen(host));
	if (!p)
		return ENOENT;
	memcpy(p + 1, ALIAS_IP, strlen(ALIAS_IP));
	return 0;
}


int test_mstream_turn(void)
{
	static int16_t tone_a[8 * AUDIO_SRATE], tone_b[8 * AUDIO_SRATE];
	struct mbuf *offer = NULL, *answer = NULL;
	struct mstream_stats sta, stb;
	struct fturn ft;
	struct fstun fs;
	char turl[64], surl[64], want[160], *txt = NULL;
	const char *reason = NULL;
	uint16_t scode = 0;
	double da, db;
	int err = 0;

	memset(&sa_, 0, sizeof(sa_));
	memset(&sb_, 0, sizeof(sb_));
	memset(&ready, 0, sizeof(ready));
	memset(&fs, 0, sizeof(fs));
	ft_now = &ft;
	TEST_ERR(mclock_init());
	TEST_ERR(wrtc_init());    /* main.c makes the certificate at start-up */
	TEST_ERR(fturn_open(&ft));
	sa_set_str(&fs.addr, "127.0.0.1", 0);
	TEST_ERR(udp_listen(&fs.us, &fs.addr, fstun_h, &fs));
	TEST_ERR(udp_local_get(fs.us, &fs.addr));
	re_snprintf(turl, sizeof(turl), "turn:%J?transport=udp", &ft.ctl_addr);
	re_snprintf(surl, sizeof(surl), "stun:%J", &fs.addr);

	err = side_alloc(&sa_, "turn-a", surl, turl);
	if (!err)
		err = side_alloc(&sb_, "turn-b", NULL, NULL);
	if (!err)
		err = mstream_gather(sa_.ms, ready_h, NULL);
	if (err)
		goto out;
	run(gathered, 3000);
	if (!ready.done || ready.err || ft.allocs != 1 || !fs.requests) {
		fprintf(stderr, "gather: done %d err %d allocs %u stun %u\n",
			ready.done, ready.err, ft.allocs, fs.requests);
		err = EPROTO;
		goto out;
	}

	/* the offer: host, srflx and the relay (related address: srflx) */
	err = mstream_offer(sa_.ms, &offer);
	if (!err)
		err = mbuf_strdup(offer, &txt, mbuf_get_left(offer));
	if (err)
		goto out;
	re_snprintf(want, sizeof(want), " 127.0.0.1 %u typ host\r\n",
		    mstream_lport(sa_.ms));
	CHECK(strstr(txt, want) != NULL);
	re_snprintf(want, sizeof(want), " %s %u typ srflx raddr 127.0.0.1 "
		    "rport %u\r\n", MAPPED_IP, mstream_lport(sa_.ms),
		    mstream_lport(sa_.ms));
	CHECK(strstr(txt, want) != NULL);
	re_snprintf(want, sizeof(want), " 1 udp 16777215 %j %u typ relay "
		    "raddr %s rport %u\r\n", &ft.rel_addr,
		    sa_port(&ft.rel_addr), MAPPED_IP, mstream_lport(sa_.ms));
	if (!strstr(txt, want)) {
		fprintf(stderr, "no relay candidate \"%s\" in:\n%s", want,
			txt);
		err = EPROTO;
		goto out;
	}

	offer->pos = 0;
	err = mstream_offer_decode(sb_.ms, offer, &answer, &scode, &reason);
	if (err) {
		fprintf(stderr, "answer refused: %u %s\n", scode,
			reason ? reason : "");
		goto out;
	}
	err = answer_alias(answer, mstream_lport(sb_.ms));
	if (!err)
		err = mstream_answer_decode(sa_.ms, answer);
	if (!err)
		err = mstream_start(sa_.ms);
	if (!err)
		err = mstream_start(sb_.ms);
	if (err)
		goto out;

	sine(tone_a, ARRAY_SIZE(tone_a), 1004, 8000);
	sine(tone_b, ARRAY_SIZE(tone_b), 650, 8000);
	mstream_play(sa_.ms, tone_a, ARRAY_SIZE(tone_a));
	mstream_play(sb_.ms, tone_b, ARRAY_SIZE(tone_b));
	run(NULL, 800);
	sa_.nrec = sb_.nrec = 0;
	run(both_heard, 5000);

	da = heard_db(&sb_, 1004, 8000);
	db = heard_db(&sa_, 650, 8000);
	mstream_stats(sa_.ms, &sta);
	mstream_stats(sb_.ms, &stb);
	if (getenv("AGENTLINE_TEST_VERBOSE"))
		fprintf(stderr, "turn: b hears %+.1f dB, a hears %+.1f dB; a "
			"tx %llu rx %llu, b tx %llu rx %llu; relay sends %u "
			"datas %u perms %u denied %u refreshes %u garbage %u;"
			" fail a=\"%s\" b=\"%s\"\n", da, db,
			(unsigned long long)sta.tx_packets,
			(unsigned long long)sta.rx_packets,
			(unsigned long long)stb.tx_packets,
			(unsigned long long)stb.rx_packets, ft.sends,
			ft.datas, ft.perms, ft.denied, ft.refreshes,
			ft.garbage, sa_.fail_reason, sb_.fail_reason);
	if (fabs(da) > 2 || fabs(db) > 2 || sa_.fail_err || sb_.fail_err) {
		fprintf(stderr, "audio through the relay: b %+.1f dB, a %+.1f "
			"dB, fail a=\"%s\" b=\"%s\"\n", da, db,
			sa_.fail_reason, sb_.fail_reason);
		err = EPROTO;
		goto out;
	}
	/* every packet either side received crossed the relay */
	CHECK(ft.perms >= 1);
	CHECK(stb.rx_packets > 100 && sta.rx_packets > 100);
	CHECK(ft.sends >= stb.rx_packets);
	CHECK(ft.datas >= sta.rx_packets);

	/* SRTP is keyed and media flows: the next Refresh must still be a
	 * STUN request the server can check (libre refreshes at 3/4 of the
	 * lifetime) */
	refresh_mark = ft.refreshes;
	run(refreshed, LIFETIME_S * 1000 + 1000);
	if (ft.refreshes <= refresh_mark || ft.garbage) {
		fprintf(stderr, "TURN refresh while SRTP is keyed: %u valid "
			"(%u before), %u undecodable\n", ft.refreshes,
			refresh_mark, ft.garbage);
		err = EPROTO;
		goto out;
	}
	/* and the allocation still carries media afterwards */
	mstream_stats(sb_.ms, &stb);
	run(NULL, 500);
	mstream_stats(sb_.ms, &sta);
	/* (sta: b now, stb: b before) */
	CHECK(sta.rx_packets > stb.rx_packets + 10);
	CHECK(!sa_.fail_err && !sb_.fail_err);

 out:
	mem_deref(txt);
	mem_deref(offer);
	mem_deref(answer);
	sa_.ms = mem_deref(sa_.ms);
	sb_.ms = mem_deref(sb_.ms);
	fs.us = mem_deref(fs.us);
	ft.ctl = mem_deref(ft.ctl);
	ft.rel = mem_deref(ft.rel);
	mclock_close();
	wrtc_close();
	return err;
}


/* ice_stun_urls and ice_turn_urls naming the same server and port (one
 * coturn): the Binding answer must reach the gatherer, not libre's TURN
 * client on the same socket, or the srflx candidate is lost and every
 * offer waits the gather's full timeout. */
int test_mstream_turn_same_server(void)
{
	struct mbuf *offer = NULL;
	struct fturn ft;
	char url[64], surl[64], want[160], *txt = NULL;
	int err = 0;

	memset(&sa_, 0, sizeof(sa_));
	memset(&ready, 0, sizeof(ready));
	ft_now = &ft;
	TEST_ERR(mclock_init());
	TEST_ERR(wrtc_init());    /* main.c makes the certificate at start-up */
	TEST_ERR(fturn_open(&ft));
	re_snprintf(url, sizeof(url), "turn:%J?transport=udp", &ft.ctl_addr);
	re_snprintf(surl, sizeof(surl), "stun:%J", &ft.ctl_addr);
	err = side_alloc(&sa_, "turn-same", surl, url);
	if (!err)
		err = mstream_gather(sa_.ms, ready_h, NULL);
	if (err)
		goto out;
	/* well inside the gather's 1.5 s limit */
	run(gathered, 1000);
	if (!ready.done || ready.err || ft.allocs != 1 || !ft.bindings) {
		fprintf(stderr, "gather: done %d err %d allocs %u bindings "
			"%u\n", ready.done, ready.err, ft.allocs,
			ft.bindings);
		err = EPROTO;
		goto out;
	}
	err = mstream_offer(sa_.ms, &offer);
	if (!err)
		err = mbuf_strdup(offer, &txt, mbuf_get_left(offer));
	if (err)
		goto out;
	re_snprintf(want, sizeof(want), " %s %u typ srflx raddr 127.0.0.1 "
		    "rport %u\r\n", MAPPED_IP, mstream_lport(sa_.ms),
		    mstream_lport(sa_.ms));
	if (!strstr(txt, want) || !strstr(txt, " typ relay raddr ")) {
		fprintf(stderr, "want srflx \"%s\" and a relay in:\n%s",
			want, txt);
		err = EPROTO;
	}

 out:
	mem_deref(txt);
	mem_deref(offer);
	sa_.ms = mem_deref(sa_.ms);
	ft.ctl = mem_deref(ft.ctl);
	ft.rel = mem_deref(ft.rel);
	mclock_close();
	wrtc_close();
	return err;
}
