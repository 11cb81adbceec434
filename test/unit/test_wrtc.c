/*
 * test_wrtc.c  WebRTC transport: two wrtc instances on loopback UDP
 *              sockets (full ICE controlling + DTLS active against
 *              ICE-lite + DTLS passive) run real ICE checks and a real
 *              DTLS handshake on libre's loop; negative cases for the
 *              fingerprint, SRTP profiles, unchecked DTLS and consent.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "media/wrtc.h"
#include "test.h"

struct side {
	struct udp_sock *us;
	struct wrtc *w;
	struct sa laddr;
	char ufrag[16], pwd[32];
	bool estab;
	struct wrtc_keys keys;
	int closes;
	int close_err;
	char reason[64];
	uint64_t closed_at;
	unsigned rtp_rx;
	uint8_t rtp_last[64];
	size_t rtp_lastn;
	unsigned raw_rx;          /* datagrams that reached the socket */
	bool deref_on_close;
};

static bool (*stop_pred)(void);
static struct side sa_, sb_;


static void check_stop(void)
{
	if (stop_pred && stop_pred())
		re_cancel();
}


static void stop_tmr(void *arg)
{
	(void)arg;
	re_cancel();
}


/* Run the loop until the predicate holds or ms pass. */
static void run(bool (*pred)(void), uint32_t ms)
{
	struct tmr t;

	tmr_init(&t);
	stop_pred = pred;
	if (!pred || !pred()) {
		tmr_start(&t, ms, stop_tmr, NULL);
		re_main(NULL);
	}
	tmr_cancel(&t);
	stop_pred = NULL;
}


static void estab_h(const struct wrtc_keys *keys, void *arg)
{
	struct side *s = arg;

	s->estab = true;
	s->keys = *keys;
	check_stop();
}


static void close_h(int err, const char *reason, void *arg)
{
	struct side *s = arg;

	s->closes++;
	s->close_err = err;
	str_ncpy(s->reason, reason, sizeof(s->reason));
	s->closed_at = tmr_jiffies();
	if (s->deref_on_close)
		s->w = mem_deref(s->w);
	check_stop();
}


static void rtp_h(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct side *s = arg;
	size_t n = mbuf_get_left(mb);

	(void)src;
	s->rtp_rx++;
	s->rtp_lastn = n < sizeof(s->rtp_last) ? n : sizeof(s->rtp_last);
	memcpy(s->rtp_last, mbuf_buf(mb), s->rtp_lastn);
	check_stop();
}


static void raw_h(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct side *s = arg;

	(void)src;
	(void)mb;
	s->raw_rx++;
	check_stop();
}


static int side_open_at(struct side *s, const char *ip)
{
	struct sa any;
	int err;

	memset(s, 0, sizeof(*s));
	err = sa_set_str(&any, ip, 0);
	if (err)
		return err;
	err = udp_listen(&s->us, &any, raw_h, s);
	if (err)
		return err;
	err = udp_local_get(s->us, &s->laddr);
	if (err)
		return err;
	wrtc_ice_credentials(s->ufrag, sizeof(s->ufrag), s->pwd,
			     sizeof(s->pwd));
	return 0;
}


static int side_open(struct side *s)
{
	return side_open_at(s, "127.0.0.1");
}


static void side_close(struct side *s)
{
	s->w = mem_deref(s->w);
	s->us = mem_deref(s->us);
}


static const char *our_fp(void)
{
	const char *fp = wrtc_fingerprint();

	return fp ? fp + strlen("sha-256 ") : NULL;
}


/* a = full ICE, controlling, DTLS active; b = ICE-lite, DTLS passive. */
static int pair_alloc(const char *afp, const char *bfp, uint32_t consent_ms,
		      const char *aprofiles)
{
	struct wrtc_params pa, pb;
	int err;

	memset(&pa, 0, sizeof(pa));
	pa.lufrag = sa_.ufrag; pa.lpwd = sa_.pwd;
	pa.rufrag = sb_.ufrag; pa.rpwd = sb_.pwd;
	pa.rfp_alg = "sha-256"; pa.rfp = afp;
	pa.role = WRTC_ACTIVE;
	pa.controlling = true;
	pa.lite = false;
	pa.rcandv = &sb_.laddr; pa.rcandc = 1;
	pa.consent_timeout_ms = consent_ms;

	memset(&pb, 0, sizeof(pb));
	pb.lufrag = sb_.ufrag; pb.lpwd = sb_.pwd;
	pb.rufrag = sa_.ufrag; pb.rpwd = sa_.pwd;
	pb.rfp_alg = "sha-256"; pb.rfp = bfp;
	pb.role = WRTC_PASSIVE;
	pb.lite = true;
	pb.consent_timeout_ms = consent_ms;

	err = wrtc_alloc(&sb_.w, sb_.us, &pb, estab_h, rtp_h, close_h, &sb_);
	if (err)
		return err;
	err = wrtc_alloc(&sa_.w, sa_.us, &pa, estab_h, rtp_h, close_h, &sa_);
	if (err)
		return err;
	if (aprofiles)
		err = wrtc_set_srtp_profiles(sa_.w, aprofiles);
	return err;
}


static bool both_estab(void)
{
	return sa_.estab && sb_.estab;
}


static bool any_closed(void)
{
	return sa_.closes || sb_.closes;
}


static bool both_closed(void)
{
	return sa_.closes && sb_.closes;
}


static bool b_closed(void)
{
	return sb_.closes > 0;
}


static bool a_closed(void)
{
	return sa_.closes > 0;
}


static bool b_got_rtp(void)
{
	return sb_.rtp_rx > 0;
}


static void pair_close(void)
{
	side_close(&sa_);
	side_close(&sb_);
}


static int send_rtp(struct udp_sock *us, const struct sa *dst, uint8_t tag)
{
	struct mbuf *mb = mbuf_alloc(64);
	int err;

	if (!mb)
		return ENOMEM;
	/* V=2, PT 111, seq 1, ts 0, ssrc 1, payload 4 bytes */
	err  = mbuf_write_u8(mb, 0x80);
	err |= mbuf_write_u8(mb, 111);
	err |= mbuf_write_u16(mb, htons(1));
	err |= mbuf_write_u32(mb, 0);
	err |= mbuf_write_u32(mb, htonl(1));
	err |= mbuf_write_u32(mb, htonl(0xdeadbe00u | tag));
	mb->pos = 0;
	if (!err)
		err = udp_send(us, dst, mb);
	mem_deref(mb);
	return err;
}


static int srtp_roundtrip(const struct wrtc_keys *tx,
			  const struct wrtc_keys *rx)
{
	struct srtp *enc = NULL, *dec = NULL;
	struct mbuf *mb = mbuf_alloc(128);
	static const uint8_t pkt[] = {
		0x80, 111, 0, 7, 0, 0, 0, 160, 0, 0, 0, 9,
		'h', 'e', 'l', 'l', 'o'};
	int err;

	if (!mb)
		return ENOMEM;
	err  = srtp_alloc(&enc, tx->suite, tx->tx, tx->txlen, 0);
	err |= srtp_alloc(&dec, rx->suite, rx->rx, rx->rxlen, 0);
	if (err)
		goto out;
	err = mbuf_write_mem(mb, pkt, sizeof(pkt));
	mb->pos = 0;
	err |= srtp_encrypt(enc, mb);
	if (err)
		goto out;
	mb->pos = 0;
	if (mbuf_get_left(mb) <= sizeof(pkt) ||
	    !memcmp(mbuf_buf(mb) + 12, "hello", 5)) {
		err = EPROTO;   /* not encrypted / no tag */
		goto out;
	}
	err = srtp_decrypt(dec, mb);
	if (err)
		goto out;
	if (mbuf_get_left(mb) != sizeof(pkt) ||
	    memcmp(mbuf_buf(mb), pkt, sizeof(pkt)))
		err = EBADMSG;
 out:
	mem_deref(enc);
	mem_deref(dec);
	mem_deref(mb);
	return err;
}


int test_wrtc_loopback(void)
{
	struct side c;
	uint64_t t0;
	int err = 0;

	TEST_ERR(wrtc_init());
	TEST_ASSERT(wrtc_fingerprint() != NULL);
	TEST_ASSERT(!strncmp(wrtc_fingerprint(), "sha-256 ", 8));
	TEST_EQ(strlen(wrtc_fingerprint()), 8 + 32 * 3 - 1);
	TEST_ERR(side_open(&sa_));
	TEST_ERR(side_open(&sb_));
	TEST_ERR(side_open(&c));
	TEST_EQ(strlen(sa_.ufrag), 8);
	TEST_EQ(strlen(sa_.pwd), 24);
	TEST_ASSERT(strcmp(sa_.pwd, sb_.pwd));

	TEST_ERR(pair_alloc(our_fp(), our_fp(), 0, NULL));
	t0 = tmr_jiffies();
	run(both_estab, 5000);
	if (!both_estab()) {
		fprintf(stderr, "a: %s b: %s\n", sa_.reason, sb_.reason);
		err = ETIMEDOUT;
		goto out;
	}
	fprintf(stderr, "wrtc: ICE+DTLS up in %llu ms\n",
		(unsigned long long)(tmr_jiffies() - t0));
	TEST_ASSERT(wrtc_established(sa_.w));
	TEST_ASSERT(wrtc_established(sb_.w));

	/* mirrored keys for the suite we prefer */
	TEST_EQ(sa_.keys.suite, SRTP_AES_128_GCM);
	TEST_EQ(sb_.keys.suite, SRTP_AES_128_GCM);
	TEST_EQ(sa_.keys.txlen, 28);
	TEST_EQ(sa_.keys.rxlen, 28);
	TEST_EQ(sb_.keys.txlen, 28);
	TEST_ASSERT(!memcmp(sa_.keys.tx, sb_.keys.rx, 28));
	TEST_ASSERT(!memcmp(sa_.keys.rx, sb_.keys.tx, 28));
	TEST_ASSERT(memcmp(sa_.keys.tx, sa_.keys.rx, 28));
	/* each side's peer is where the other's checks came from */
	TEST_ASSERT(sa_cmp(&sa_.keys.peer, &sb_.laddr, SA_ALL));
	TEST_ASSERT(sa_cmp(&sb_.keys.peer, &sa_.laddr, SA_ALL));
	TEST_ERR(srtp_roundtrip(&sa_.keys, &sb_.keys));
	TEST_ERR(srtp_roundtrip(&sb_.keys, &sa_.keys));

	/* RTP from a stranger is dropped, from the peer it reaches rtph */
	TEST_ERR(send_rtp(c.us, &sb_.laddr, 1));
	run(NULL, 100);
	TEST_EQ(sb_.rtp_rx, 0);
	TEST_EQ(sb_.raw_rx, 0);
	TEST_ERR(send_rtp(sa_.us, &sb_.laddr, 2));
	run(b_got_rtp, 1000);
	TEST_EQ(sb_.rtp_rx, 1);
	TEST_EQ(sb_.rtp_lastn, 16);
	TEST_EQ(sb_.rtp_last[15], 2);
	/* STUN and DTLS never reached the socket's own handler */
	TEST_EQ(sb_.raw_rx, 0);
	TEST_EQ(sa_.raw_rx, 0);
	TEST_EQ(sa_.closes + sb_.closes, 0);

 out:
	pair_close();
	side_close(&c);
	wrtc_close();
	return err;
}


/* The same over IPv6 loopback (skipped where ::1 cannot be bound). */
int test_wrtc_ipv6(void)
{
	int err = 0;

	TEST_ERR(wrtc_init());
	if (side_open_at(&sa_, "::1") || side_open_at(&sb_, "::1")) {
		fprintf(stderr, "wrtc: no IPv6 loopback, skipped\n");
		goto out;
	}
	TEST_EQ(sa_af(&sa_.laddr), AF_INET6);
	TEST_ERR(pair_alloc(our_fp(), our_fp(), 0, NULL));
	run(both_estab, 5000);
	TEST_ASSERT(both_estab());
	TEST_ASSERT(sa_cmp(&sa_.keys.peer, &sb_.laddr, SA_ALL));
	TEST_ASSERT(sa_cmp(&sb_.keys.peer, &sa_.laddr, SA_ALL));
	TEST_ASSERT(!memcmp(sa_.keys.tx, sb_.keys.rx, sa_.keys.txlen));
	TEST_ERR(send_rtp(sa_.us, &sb_.laddr, 3));
	run(b_got_rtp, 1000);
	TEST_EQ(sb_.rtp_rx, 1);
 out:
	pair_close();
	wrtc_close();
	return err;
}


/* Full ICE over several remote candidates: a dead one and an address
 * the SDP claims but nothing answers from are skipped; the peer is the
 * one whose answer came back. */
int test_wrtc_candidates(void)
{
	struct udp_sock *dead = NULL;
	struct wrtc_params pa, pb;
	struct sa candv[3];
	int err = 0;

	TEST_ERR(wrtc_init());
	TEST_ERR(side_open(&sa_));
	TEST_ERR(side_open(&sb_));
	TEST_ERR(sa_set_str(&candv[0], "127.0.0.1", 0));
	TEST_ERR(udp_listen(&dead, &candv[0], NULL, NULL));
	TEST_ERR(udp_local_get(dead, &candv[0]));
	TEST_ERR(sa_set_str(&candv[1], "0.0.0.0", 0));   /* unset: skipped */
	candv[2] = sb_.laddr;

	memset(&pa, 0, sizeof(pa));
	pa.lufrag = sa_.ufrag; pa.lpwd = sa_.pwd;
	pa.rufrag = sb_.ufrag; pa.rpwd = sb_.pwd;
	pa.rfp_alg = "sha-256"; pa.rfp = our_fp();
	pa.role = WRTC_PASSIVE;      /* b dials DTLS this time */
	pa.controlling = true;
	pa.rcandv = candv; pa.rcandc = 3;
	memset(&pb, 0, sizeof(pb));
	pb.lufrag = sb_.ufrag; pb.lpwd = sb_.pwd;
	pb.rufrag = sa_.ufrag; pb.rpwd = sa_.pwd;
	pb.rfp_alg = "sha-256"; pb.rfp = our_fp();
	pb.role = WRTC_ACTIVE;
	pb.lite = true;
	TEST_ERR(wrtc_alloc(&sb_.w, sb_.us, &pb, estab_h, rtp_h, close_h,
			    &sb_));
	TEST_ERR(wrtc_alloc(&sa_.w, sa_.us, &pa, estab_h, rtp_h, close_h,
			    &sa_));
	run(both_estab, 5000);
	TEST_ASSERT(both_estab());
	TEST_ASSERT(sa_cmp(&sa_.keys.peer, &sb_.laddr, SA_ALL));
	TEST_ASSERT(!memcmp(sa_.keys.tx, sb_.keys.rx, sa_.keys.txlen));
	TEST_ASSERT(!memcmp(sa_.keys.rx, sb_.keys.tx, sa_.keys.rxlen));
	TEST_EQ(sa_.closes + sb_.closes, 0);

	mem_deref(dead);
	pair_close();
	wrtc_close();
	return err;
}


static int fp_flip(char *buf, size_t sz)
{
	str_ncpy(buf, our_fp(), sz);
	buf[0] = buf[0] == 'A' ? 'B' : 'A';
	return 0;
}


int test_wrtc_fingerprint_mismatch(void)
{
	char bad[128];
	int err = 0;

	TEST_ERR(wrtc_init());
	TEST_ERR(fp_flip(bad, sizeof(bad)));

	/* the passive side (DTLS server) sees a certificate it was not
	 * told about */
	TEST_ERR(side_open(&sa_));
	TEST_ERR(side_open(&sb_));
	TEST_ERR(pair_alloc(our_fp(), bad, 0, NULL));
	run(b_closed, 5000);
	TEST_EQ(sb_.closes, 1);
	TEST_STREQ(sb_.reason, "fingerprint mismatch");
	TEST_ASSERT(!sb_.estab);
	TEST_ASSERT(!wrtc_established(sb_.w));
	pair_close();

	/* and the active side (DTLS client) */
	TEST_ERR(side_open(&sa_));
	TEST_ERR(side_open(&sb_));
	TEST_ERR(pair_alloc(bad, our_fp(), 0, NULL));
	run(a_closed, 5000);
	TEST_EQ(sa_.closes, 1);
	TEST_STREQ(sa_.reason, "fingerprint mismatch");
	TEST_ASSERT(!sa_.estab);
	pair_close();

	wrtc_close();
	return err;
}


int test_wrtc_no_common_profile(void)
{
	int err = 0;

	TEST_ERR(wrtc_init());
	TEST_ERR(side_open(&sa_));
	TEST_ERR(side_open(&sb_));
	/* a offers only a profile b does not have */
	TEST_ERR(pair_alloc(our_fp(), our_fp(), 0, "SRTP_AES128_CM_SHA1_32"));
	run(both_closed, 5000);
	TEST_EQ(sb_.closes, 1);
	TEST_STREQ(sb_.reason, "no common SRTP profile");
	TEST_EQ(sa_.closes, 1);
	TEST_STREQ(sa_.reason, "no common SRTP profile");
	TEST_ASSERT(!sa_.estab && !sb_.estab);
	pair_close();

	/* a shared profile other than our first choice is used */
	TEST_ERR(side_open(&sa_));
	TEST_ERR(side_open(&sb_));
	TEST_ERR(pair_alloc(our_fp(), our_fp(), 0,
			    "SRTP_AES128_CM_SHA1_80"));
	run(both_estab, 5000);
	TEST_ASSERT(both_estab());
	TEST_EQ(sa_.keys.suite, SRTP_AES_CM_128_HMAC_SHA1_80);
	TEST_EQ(sa_.keys.txlen, 30);
	TEST_ASSERT(!memcmp(sa_.keys.tx, sb_.keys.rx, 30));
	TEST_ERR(srtp_roundtrip(&sa_.keys, &sb_.keys));
	pair_close();

	wrtc_close();
	return err;
}


static void dtls_dummy_estab(void *arg)
{
	bool *up = arg;

	*up = true;
}


static void dtls_dummy_close(int err, void *arg)
{
	(void)err;
	(void)arg;
}


static bool count_h(struct sa *src, struct mbuf *mb, void *arg)
{
	unsigned *n = arg;

	(void)src;
	(void)mb;
	++*n;
	return false;
}


int test_wrtc_dtls_unchecked(void)
{
	struct side c;
	struct tls *tls = NULL;
	struct dtls_sock *ds = NULL;
	struct tls_conn *tc = NULL;
	struct udp_helper *uh = NULL;
	unsigned c_rx = 0;
	bool c_up = false;
	int err = 0;

	TEST_ERR(wrtc_init());
	TEST_ERR(side_open(&sa_));
	TEST_ERR(side_open(&sb_));
	TEST_ERR(side_open(&c));

	/* b waits as ICE-lite/passive; a is not started yet */
	{
		struct wrtc_params pb;

		memset(&pb, 0, sizeof(pb));
		pb.lufrag = sb_.ufrag; pb.lpwd = sb_.pwd;
		pb.rufrag = sa_.ufrag; pb.rpwd = sa_.pwd;
		pb.rfp_alg = "sha-256"; pb.rfp = our_fp();
		pb.role = WRTC_PASSIVE;
		pb.lite = true;
		TEST_ERR(wrtc_alloc(&sb_.w, sb_.us, &pb, estab_h, rtp_h,
				    close_h, &sb_));
	}

	/* c sends a real ClientHello to b without any STUN check */
	err  = tls_alloc(&tls, TLS_METHOD_DTLS, NULL, NULL);
	err |= udp_register_helper(&uh, c.us, -100, NULL, count_h, &c_rx);
	err |= dtls_listen(&ds, NULL, c.us, 2, 0, NULL, NULL);
	if (!err)
		err = dtls_connect(&tc, tls, ds, &sb_.laddr, dtls_dummy_estab,
				   NULL, dtls_dummy_close, &c_up);
	if (err)
		goto out;
	run(NULL, 400);
	/* no ServerHello (or anything) came back; b has no peer */
	TEST_EQ(c_rx, 0);
	TEST_ASSERT(!c_up);
	TEST_ASSERT(wrtc_peer(sb_.w) == NULL);
	TEST_EQ(sb_.closes, 0);
	TEST_EQ(sb_.raw_rx, 0);

	/* the checked peer still gets through afterwards */
	{
		struct wrtc_params pa;

		memset(&pa, 0, sizeof(pa));
		pa.lufrag = sa_.ufrag; pa.lpwd = sa_.pwd;
		pa.rufrag = sb_.ufrag; pa.rpwd = sb_.pwd;
		pa.rfp_alg = "sha-256"; pa.rfp = our_fp();
		pa.role = WRTC_ACTIVE;
		pa.controlling = true;
		pa.rcandv = &sb_.laddr; pa.rcandc = 1;
		TEST_ERR(wrtc_alloc(&sa_.w, sa_.us, &pa, estab_h, rtp_h,
				    close_h, &sa_));
	}
	run(both_estab, 5000);
	TEST_ASSERT(both_estab());
	TEST_ASSERT(sa_cmp(wrtc_peer(sb_.w), &sa_.laddr, SA_ALL));
	TEST_EQ(c_rx, 0);

 out:
	mem_deref(tc);
	mem_deref(ds);
	mem_deref(uh);
	mem_deref(tls);
	side_close(&c);
	pair_close();
	wrtc_close();
	return err;
}


/* A network cut: everything arriving at the socket is lost (no DTLS
 * close_notify gets through either, unlike closing the peer). */
static bool cut_h(struct sa *src, struct mbuf *mb, void *arg)
{
	bool *cut = arg;

	(void)src;
	(void)mb;
	return *cut;
}


int test_wrtc_consent(void)
{
	struct udp_helper *uha = NULL, *uhb = NULL;
	bool cuta = false, cutb = false;
	uint64_t t0;
	int err = 0;

	TEST_ERR(wrtc_init());

	/* b stops hearing a: b misses the checks, a misses the answers */
	TEST_ERR(side_open(&sa_));
	TEST_ERR(side_open(&sb_));
	TEST_ERR(udp_register_helper(&uhb, sb_.us, -200, NULL, cut_h, &cutb));
	TEST_ERR(pair_alloc(our_fp(), our_fp(), 400, NULL));
	run(both_estab, 5000);
	TEST_ASSERT(both_estab());
	/* consent is refreshed while both hear each other: 3 timeouts */
	run(any_closed, 1200);
	TEST_EQ(sa_.closes + sb_.closes, 0);
	t0 = tmr_jiffies();
	cutb = true;
	run(both_closed, 3000);
	TEST_EQ(sb_.closes, 1);
	TEST_EQ(sb_.close_err, ETIMEDOUT);
	TEST_STREQ(sb_.reason, "consent lost");
	TEST_EQ(sa_.closes, 1);
	TEST_EQ(sa_.close_err, ETIMEDOUT);
	TEST_STREQ(sa_.reason, "consent lost");
	TEST_ASSERT(sb_.closed_at - t0 >= 250);
	TEST_ASSERT(sb_.closed_at - t0 <= 1000);
	TEST_ASSERT(sa_.closed_at - t0 >= 250);
	TEST_ASSERT(sa_.closed_at - t0 <= 1000);
	TEST_ASSERT(!wrtc_established(sb_.w));
	TEST_ASSERT(!wrtc_established(sa_.w));
	uhb = mem_deref(uhb);
	pair_close();

	/* only a's answers are lost: the full side notices by itself, and
	 * its close handler may free the wrtc */
	TEST_ERR(side_open(&sa_));
	TEST_ERR(side_open(&sb_));
	TEST_ERR(udp_register_helper(&uha, sa_.us, -200, NULL, cut_h, &cuta));
	TEST_ERR(pair_alloc(our_fp(), our_fp(), 400, NULL));
	run(both_estab, 5000);
	TEST_ASSERT(both_estab());
	sa_.deref_on_close = true;
	t0 = tmr_jiffies();
	cuta = true;
	run(a_closed, 3000);
	TEST_EQ(sa_.closes, 1);
	TEST_EQ(sa_.close_err, ETIMEDOUT);
	TEST_STREQ(sa_.reason, "consent lost");
	TEST_ASSERT(sa_.w == NULL);
	TEST_ASSERT(sa_.closed_at - t0 <= 1000);
	uha = mem_deref(uha);
	pair_close();

	/* nobody answers at all: ICE fails after the same timeout */
	TEST_ERR(side_open(&sa_));
	TEST_ERR(side_open(&sb_));
	TEST_ERR(pair_alloc(our_fp(), our_fp(), 300, NULL));
	sb_.w = mem_deref(sb_.w);
	run(a_closed, 3000);
	TEST_EQ(sa_.closes, 1);
	TEST_EQ(sa_.close_err, ETIMEDOUT);
	TEST_STREQ(sa_.reason, "ice failed");
	pair_close();

	wrtc_close();
	return err;
}


int test_wrtc_params(void)
{
	struct wrtc_params p;
	struct wrtc *w = NULL;
	char bad[128];

	TEST_EQ(wrtc_alloc(&w, NULL, NULL, NULL, NULL, NULL, NULL), EINVAL);
	memset(&p, 0, sizeof(p));
	p.lufrag = "abcd"; p.lpwd = "0123456789012345678901";
	p.rufrag = "efgh"; p.rpwd = "abcdefghijabcdefghijab";
	p.rfp_alg = "sha-256";
	p.rfp = "00:11";
	p.lite = true;

	/* before wrtc_init there is no certificate */
	wrtc_close();
	TEST_ASSERT(wrtc_fingerprint() == NULL);
	TEST_EQ(wrtc_alloc(&w, NULL, &p, NULL, NULL, NULL, NULL), ENOENT);
	TEST_ERR(wrtc_init());

	/* fail closed on hashes we cannot check */
	p.rfp = our_fp();
	p.rfp_alg = "md5";
	TEST_EQ(wrtc_alloc(&w, NULL, &p, NULL, NULL, NULL, NULL),
		EPROTONOSUPPORT);
	p.rfp_alg = "sha-384";
	TEST_EQ(wrtc_alloc(&w, NULL, &p, NULL, NULL, NULL, NULL),
		EPROTONOSUPPORT);
	p.rfp_alg = "";
	TEST_EQ(wrtc_alloc(&w, NULL, &p, NULL, NULL, NULL, NULL),
		EPROTONOSUPPORT);
	TEST_ASSERT(w == NULL);

	/* malformed or wrong-length fingerprints */
	p.rfp_alg = "sha-256";
	p.rfp = "00:11";
	TEST_EQ(wrtc_alloc(&w, NULL, &p, NULL, NULL, NULL, NULL), EINVAL);
	p.rfp_alg = "sha-1";
	p.rfp = our_fp();
	TEST_EQ(wrtc_alloc(&w, NULL, &p, NULL, NULL, NULL, NULL), EINVAL);
	str_ncpy(bad, our_fp(), sizeof(bad));
	bad[4] = 'G';
	p.rfp_alg = "SHA-256";
	p.rfp = bad;
	TEST_EQ(wrtc_alloc(&w, NULL, &p, NULL, NULL, NULL, NULL), EINVAL);
	p.rfp = our_fp();
	p.rpwd = "";
	TEST_EQ(wrtc_alloc(&w, NULL, &p, NULL, NULL, NULL, NULL), EINVAL);
	TEST_ASSERT(w == NULL);

	/* sha-1 of the right length is accepted */
	p.rpwd = "abcdefghijabcdefghijab";
	p.rfp_alg = "sha-1";
	p.rfp = "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33";
	TEST_ERR(wrtc_alloc(&w, NULL, &p, NULL, NULL, NULL, NULL));
	TEST_ASSERT(!wrtc_established(w));
	w = mem_deref(w);

	wrtc_close();
	return 0;
}


int test_wrtc_classify(void)
{
	uint8_t p[32];

	memset(p, 0, sizeof(p));
	TEST_EQ(wrtc_classify(NULL, 0), WRTC_OTHER);
	TEST_EQ(wrtc_classify(p, 0), WRTC_OTHER);
	TEST_EQ(wrtc_classify(p, 20), WRTC_STUN);
	TEST_EQ(wrtc_classify(p, 19), WRTC_OTHER);
	p[0] = 3;
	TEST_EQ(wrtc_classify(p, 20), WRTC_STUN);
	p[0] = 4;
	TEST_EQ(wrtc_classify(p, 20), WRTC_OTHER);
	p[0] = 19;
	TEST_EQ(wrtc_classify(p, 20), WRTC_OTHER);
	p[0] = 20;
	TEST_EQ(wrtc_classify(p, 1), WRTC_DTLS);
	p[0] = 63;
	TEST_EQ(wrtc_classify(p, 13), WRTC_DTLS);
	p[0] = 64;   /* TURN ChannelData */
	TEST_EQ(wrtc_classify(p, 20), WRTC_OTHER);
	p[0] = 127;
	TEST_EQ(wrtc_classify(p, 20), WRTC_OTHER);
	p[0] = 128; p[1] = 111;
	TEST_EQ(wrtc_classify(p, 12), WRTC_RTP);
	TEST_EQ(wrtc_classify(p, 11), WRTC_OTHER);
	p[1] = 111 | 0x80;   /* marker bit */
	TEST_EQ(wrtc_classify(p, 12), WRTC_RTP);
	p[0] = 0x81; p[1] = 200;   /* RTCP SR */
	TEST_EQ(wrtc_classify(p, 8), WRTC_RTCP);
	p[1] = 192;
	TEST_EQ(wrtc_classify(p, 8), WRTC_RTCP);
	p[1] = 223;
	TEST_EQ(wrtc_classify(p, 8), WRTC_RTCP);
	p[1] = 224;
	TEST_EQ(wrtc_classify(p, 12), WRTC_RTP);
	p[0] = 191; p[1] = 0;
	TEST_EQ(wrtc_classify(p, 12), WRTC_RTP);
	p[0] = 192;
	TEST_EQ(wrtc_classify(p, 12), WRTC_OTHER);
	p[0] = 255;
	TEST_EQ(wrtc_classify(p, 12), WRTC_OTHER);
	return 0;
}


/* One ICE check as a browser would send it. */
static int check_encode_nom(struct mbuf *mb, const char *user,
			    const char *pwd, bool fp, bool nominate)
{
	const uint32_t prio = 0x6e7fffff;
	uint8_t tid[STUN_TID_SIZE];
	uint64_t tb = 42;

	rand_bytes(tid, sizeof(tid));
	mbuf_reset(mb);
	return stun_msg_encode(mb, STUN_METHOD_BINDING, STUN_CLASS_REQUEST,
			       tid, NULL, (const uint8_t *)pwd, strlen(pwd),
			       fp, 0x00, 4, STUN_ATTR_USERNAME, user,
			       STUN_ATTR_PRIORITY, &prio,
			       STUN_ATTR_CONTROLLING, &tb,
			       STUN_ATTR_USE_CAND, nominate ? &tb : NULL);
}


/* One ICE check as a browser would send it. */
static int check_encode(struct mbuf *mb, const char *user, const char *pwd,
			bool fp)
{
	return check_encode_nom(mb, user, pwd, fp, false);
}


int test_wrtc_stun_input(void)
{
	struct wrtc_params p;
	struct wrtc *w = NULL;
	struct mbuf *mb = mbuf_alloc(256);
	struct sa src;
	int err = 0;

	TEST_ASSERT(mb != NULL);
	TEST_ERR(wrtc_init());
	memset(&p, 0, sizeof(p));
	p.lufrag = "LUFR"; p.lpwd = "local-password-1234567";
	p.rufrag = "RUFR"; p.rpwd = "remote-password-123456";
	p.rfp_alg = "sha-256"; p.rfp = our_fp();
	p.lite = true;
	TEST_ERR(wrtc_alloc(&w, NULL, &p, NULL, NULL, NULL, NULL));
	TEST_ERR(sa_set_str(&src, "192.0.2.7", 50000));

	/* wrong password, wrong username order, no fingerprint: refused */
	TEST_ERR(check_encode(mb, "LUFR:RUFR", "remote-password-123456",
			      true));
	mb->pos = 0;
	wrtc_stun_input(w, &src, mb);
	TEST_ASSERT(wrtc_peer(w) == NULL);
	TEST_ERR(check_encode(mb, "RUFR:LUFR", "local-password-1234567",
			      true));
	mb->pos = 0;
	wrtc_stun_input(w, &src, mb);
	TEST_ASSERT(wrtc_peer(w) == NULL);
	TEST_ERR(check_encode(mb, "LUFR:RUFR", "local-password-1234567",
			      false));
	mb->pos = 0;
	wrtc_stun_input(w, &src, mb);
	TEST_ASSERT(wrtc_peer(w) == NULL);
	/* truncated */
	TEST_ERR(check_encode(mb, "LUFR:RUFR", "local-password-1234567",
			      true));
	mb->pos = 0;
	mb->end -= 3;
	wrtc_stun_input(w, &src, mb);
	TEST_ASSERT(wrtc_peer(w) == NULL);

	/* the right one: src becomes the peer (never the SDP address) */
	TEST_ERR(check_encode(mb, "LUFR:RUFR", "local-password-1234567",
			      true));
	mb->pos = 0;
	wrtc_stun_input(w, &src, mb);
	TEST_ASSERT(wrtc_peer(w) != NULL);
	TEST_ASSERT(sa_cmp(wrtc_peer(w), &src, SA_ALL));
	/* the input was left where it was */
	TEST_EQ(mb->pos, 0);

	/* a later check from elsewhere does not move the peer */
	{
		struct sa other;

		TEST_ERR(sa_set_str(&other, "192.0.2.8", 50000));
		TEST_ERR(check_encode(mb, "LUFR:RUFR",
				      "local-password-1234567", true));
		mb->pos = 0;
		wrtc_stun_input(w, &other, mb);
		TEST_ASSERT(sa_cmp(wrtc_peer(w), &src, SA_ALL));
	}

	mem_deref(w);
	mem_deref(mb);
	wrtc_close();
	return err;
}


/* The lite side's first checked address is not where the remote ends
 * up: it moves to the nominated address (USE-CANDIDATE), or to the
 * checked address DTLS comes from, as long as DTLS is not up. */
int test_wrtc_peer_moves(void)
{
	struct side x;
	struct mbuf *mb = NULL;
	char user[64];
	int err = 0;

	TEST_ERR(wrtc_init());
	for (int round = 0; round < 2; round++) {
		struct wrtc_params pa, pb;

		TEST_ERR(side_open(&sa_));
		TEST_ERR(side_open(&sb_));
		TEST_ERR(side_open(&x));
		memset(&pb, 0, sizeof(pb));
		pb.lufrag = sb_.ufrag; pb.lpwd = sb_.pwd;
		pb.rufrag = sa_.ufrag; pb.rpwd = sa_.pwd;
		pb.rfp_alg = "sha-256"; pb.rfp = our_fp();
		pb.role = WRTC_PASSIVE;
		pb.lite = true;
		TEST_ERR(wrtc_alloc(&sb_.w, sb_.us, &pb, estab_h, rtp_h,
				    close_h, &sb_));

		/* a valid check from another of the remote's addresses */
		mb = mbuf_alloc(256);
		TEST_ASSERT(mb != NULL);
		re_snprintf(user, sizeof(user), "%s:%s", sb_.ufrag,
			    sa_.ufrag);
		TEST_ERR(check_encode(mb, user, sb_.pwd, true));
		mb->pos = 0;
		TEST_ERR(udp_send(x.us, &sb_.laddr, mb));
		mb = mem_deref(mb);
		run(NULL, 100);
		TEST_ASSERT(wrtc_peer(sb_.w) != NULL);
		TEST_ASSERT(sa_cmp(wrtc_peer(sb_.w), &x.laddr, SA_ALL));

		/* round 0: a nominates; round 1: a is not controlling, only
		 * its DTLS shows where it is */
		memset(&pa, 0, sizeof(pa));
		pa.lufrag = sa_.ufrag; pa.lpwd = sa_.pwd;
		pa.rufrag = sb_.ufrag; pa.rpwd = sb_.pwd;
		pa.rfp_alg = "sha-256"; pa.rfp = our_fp();
		pa.role = WRTC_ACTIVE;
		pa.controlling = round == 0;
		pa.rcandv = &sb_.laddr; pa.rcandc = 1;
		TEST_ERR(wrtc_alloc(&sa_.w, sa_.us, &pa, estab_h, rtp_h,
				    close_h, &sa_));
		run(both_estab, 5000);
		TEST_ASSERT(both_estab());
		TEST_ASSERT(sa_cmp(&sb_.keys.peer, &sa_.laddr, SA_ALL));
		TEST_ASSERT(sa_cmp(wrtc_peer(sb_.w), &sa_.laddr, SA_ALL));

		/* once up, a nomination elsewhere changes nothing */
		mb = mbuf_alloc(256);
		TEST_ASSERT(mb != NULL);
		TEST_ERR(check_encode_nom(mb, user, sb_.pwd, true, true));
		mb->pos = 0;
		TEST_ERR(udp_send(x.us, &sb_.laddr, mb));
		mb = mem_deref(mb);
		run(NULL, 100);
		TEST_ASSERT(sa_cmp(wrtc_peer(sb_.w), &sa_.laddr, SA_ALL));

		pair_close();
		side_close(&x);
	}

	wrtc_close();
	return err;
}


struct checker {
	struct udp_sock *us;
	struct sa dst;
	char user[64];
	const char *pwd;
	struct tmr tmr;
};


static void checker_tick(void *arg)
{
	struct checker *ck = arg;
	struct mbuf *mb = mbuf_alloc(256);

	if (mb && !check_encode(mb, ck->user, ck->pwd, true)) {
		mb->pos = 0;
		(void)udp_send(ck->us, &ck->dst, mb);
	}
	mem_deref(mb);
	tmr_start(&ck->tmr, 50, checker_tick, ck);
}


/* A remote that keeps passing checks (so consent holds) but never starts
 * DTLS: the handshake deadline ends it. */
int test_wrtc_dtls_timeout(void)
{
	struct checker ck;
	struct wrtc_params pb;
	uint64_t t0;
	int err = 0;

	TEST_ERR(wrtc_init());
	TEST_ERR(side_open(&sa_));
	TEST_ERR(side_open(&sb_));
	memset(&pb, 0, sizeof(pb));
	pb.lufrag = sb_.ufrag; pb.lpwd = sb_.pwd;
	pb.rufrag = sa_.ufrag; pb.rpwd = sa_.pwd;
	pb.rfp_alg = "sha-256"; pb.rfp = our_fp();
	pb.role = WRTC_PASSIVE;
	pb.lite = true;
	pb.consent_timeout_ms = 400;
	TEST_ERR(wrtc_alloc(&sb_.w, sb_.us, &pb, estab_h, rtp_h, close_h,
			    &sb_));

	memset(&ck, 0, sizeof(ck));
	ck.us = sa_.us;
	ck.dst = sb_.laddr;
	ck.pwd = sb_.pwd;
	re_snprintf(ck.user, sizeof(ck.user), "%s:%s", sb_.ufrag, sa_.ufrag);
	tmr_init(&ck.tmr);
	t0 = tmr_jiffies();
	checker_tick(&ck);
	run(b_closed, 3000);
	tmr_cancel(&ck.tmr);
	TEST_EQ(sb_.closes, 1);
	TEST_EQ(sb_.close_err, ETIMEDOUT);
	TEST_STREQ(sb_.reason, "dtls failed");
	TEST_ASSERT(sb_.closed_at - t0 >= 350);
	TEST_ASSERT(sb_.closed_at - t0 <= 1500);

	pair_close();
	wrtc_close();
	return err;
}


/* --- gathering against a fake STUN server --- */

struct gres {
	struct wrtc_gather **free_in_h;   /* the stream frees it there */
	int calls;
	int err;
	struct sa srflx;
	bool has_srflx, has_relay;
};


static void gather_h(int err, const struct sa *srflx, const struct sa *relay,
		     void *arg)
{
	struct gres *r = arg;

	if (r->free_in_h)
		*r->free_in_h = mem_deref(*r->free_in_h);
	r->calls++;
	r->err = err;
	r->has_srflx = srflx != NULL;
	if (srflx)
		r->srflx = *srflx;
	r->has_relay = relay != NULL;
	re_cancel();
}


static void stunsrv_h(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct udp_sock *us = *(struct udp_sock **)arg;
	struct stun_msg *msg = NULL;

	if (stun_msg_decode(&msg, mb, NULL))
		return;
	(void)stun_reply(IPPROTO_UDP, us, src, 0, msg, NULL, 0, true, 1,
			 STUN_ATTR_XOR_MAPPED_ADDR, src);
	mem_deref(msg);
}


int test_wrtc_gather(void)
{
	struct wrtc_gather *gt = NULL;
	struct udp_sock *srv = NULL, *dead = NULL;
	struct sa srvaddr, deadaddr;
	struct gres r;
	char urls[160];
	int err = 0;

	TEST_ERR(side_open(&sa_));
	TEST_ERR(sa_set_str(&srvaddr, "127.0.0.1", 0));
	TEST_ERR(udp_listen(&srv, &srvaddr, stunsrv_h, &srv));
	TEST_ERR(udp_local_get(srv, &srvaddr));
	TEST_ERR(sa_set_str(&deadaddr, "127.0.0.1", 0));
	TEST_ERR(udp_listen(&dead, &deadaddr, NULL, NULL));
	TEST_ERR(udp_local_get(dead, &deadaddr));

	/* a silent server first, then one that answers */
	re_snprintf(urls, sizeof(urls), "stun:127.0.0.1:%u, stun:%J",
		    sa_port(&deadaddr), &srvaddr);
	memset(&r, 0, sizeof(r));
	r.free_in_h = &gt;
	TEST_ERR(wrtc_gather(&gt, sa_.us, urls, NULL, NULL, NULL, 3000,
			     gather_h, &r));
	run(NULL, 4000);
	TEST_EQ(r.calls, 1);
	TEST_EQ(r.err, 0);
	TEST_ASSERT(r.has_srflx);
	TEST_ASSERT(!r.has_relay);
	TEST_ASSERT(sa_cmp(&r.srflx, &sa_.laddr, SA_ALL));
	TEST_ASSERT(gt == NULL);
	/* the response went to the gatherer, not to the socket */
	TEST_EQ(sa_.raw_rx, 0);

	/* nobody answers */
	re_snprintf(urls, sizeof(urls), "stun:127.0.0.1:%u",
		    sa_port(&deadaddr));
	memset(&r, 0, sizeof(r));
	TEST_ERR(wrtc_gather(&gt, sa_.us, urls, "", NULL, NULL, 300,
			     gather_h, &r));
	run(NULL, 2000);
	TEST_EQ(r.calls, 1);
	TEST_EQ(r.err, ETIMEDOUT);
	TEST_ASSERT(!r.has_srflx);
	gt = mem_deref(gt);

	/* nothing configured: reported from the loop, err 0 */
	memset(&r, 0, sizeof(r));
	TEST_ERR(wrtc_gather(&gt, sa_.us, "", NULL, NULL, NULL, 0,
			     gather_h, &r));
	TEST_EQ(r.calls, 0);
	run(NULL, 1000);
	TEST_EQ(r.calls, 1);
	TEST_EQ(r.err, 0);
	TEST_ASSERT(!r.has_srflx);
	gt = mem_deref(gt);

	/* a silent TURN server: its timeout is the error, srflx still
	 * comes; TCP TURN is refused without trying */
	re_snprintf(urls, sizeof(urls), "stun:%J", &srvaddr);
	{
		char turl[64];

		re_snprintf(turl, sizeof(turl),
			    "turn:1.2.3.4?transport=tcp turn:127.0.0.1:%u",
			    sa_port(&deadaddr));
		memset(&r, 0, sizeof(r));
		r.free_in_h = &gt;
		TEST_ERR(wrtc_gather(&gt, sa_.us, urls, turl, "u", "p", 400,
				     gather_h, &r));
	}
	run(NULL, 2000);
	TEST_EQ(r.calls, 1);
	TEST_EQ(r.err, ETIMEDOUT);
	TEST_ASSERT(r.has_srflx);
	TEST_ASSERT(!r.has_relay);
	TEST_ASSERT(gt == NULL);
	memset(&r, 0, sizeof(r));
	TEST_ERR(wrtc_gather(&gt, sa_.us, NULL, "turns:127.0.0.1", "u", "p",
			     0, gather_h, &r));
	run(NULL, 1000);
	TEST_EQ(r.calls, 1);
	TEST_EQ(r.err, ENOTSUP);
	TEST_ASSERT(!r.has_relay);
	gt = mem_deref(gt);

	/* junk URLs are skipped, cancel before the answer: no call */
	memset(&r, 0, sizeof(r));
	TEST_ERR(wrtc_gather(&gt, sa_.us, "http://x stun: stun:[::1 foo",
			     NULL, NULL, NULL, 0, gather_h, &r));
	gt = mem_deref(gt);
	run(NULL, 100);
	TEST_EQ(r.calls, 0);

	mem_deref(srv);
	mem_deref(dead);
	side_close(&sa_);
	return err;
}


/* --- a small TURN server (RFC 5766 over UDP, long-term credentials):
 * Allocate (401 with realm/nonce first), CreatePermission, Refresh,
 * Send indications out of the relay socket, Data indications back --- */

struct fturn {
	struct udp_sock *ctl, *rel;
	struct sa ctl_addr, rel_addr, client;
	uint8_t key[16];
	unsigned allocs, perms, sends, datas, denied;
	struct sa permv[8];
	size_t permc;
};


static bool fturn_permitted(const struct fturn *ft, const struct sa *peer)
{
	for (size_t i = 0; i < ft->permc; i++)
		if (sa_cmp(&ft->permv[i], peer, SA_ADDR))
			return true;
	return false;
}


static void fturn_ctl_h(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct fturn *ft = arg;
	struct stun_msg *msg = NULL;
	struct stun_attr *peer, *data;
	const uint32_t lifetime = 600;

	if (stun_msg_decode(&msg, mb, NULL))
		return;

	if (stun_msg_class(msg) == STUN_CLASS_INDICATION) {
		peer = stun_msg_attr(msg, STUN_ATTR_XOR_PEER_ADDR);
		data = stun_msg_attr(msg, STUN_ATTR_DATA);
		if (stun_msg_method(msg) == STUN_METHOD_SEND && peer &&
		    data && sa_cmp(src, &ft->client, SA_ALL)) {
			struct mbuf *out = mbuf_alloc(2048);

			if (fturn_permitted(ft, &peer->v.xor_peer_addr) &&
			    out && !mbuf_write_mem(out,
						   mbuf_buf(&data->v.data),
						   mbuf_get_left(
							   &data->v.data))) {
				out->pos = 0;
				ft->sends++;
				(void)udp_send(ft->rel,
					       &peer->v.xor_peer_addr, out);
			}
			else {
				ft->denied++;
			}
			mem_deref(out);
		}
		goto out;
	}
	if (stun_msg_class(msg) != STUN_CLASS_REQUEST)
		goto out;

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

	if (!fturn_permitted(ft, src)) {
		ft->denied++;
		return;
	}
	ft->datas++;
	(void)stun_indication(IPPROTO_UDP, ft->ctl, &ft->client, 0,
			      STUN_METHOD_DATA, NULL, 0, false, 2,
			      STUN_ATTR_XOR_PEER_ADDR, src,
			      STUN_ATTR_DATA, mb);
}


static int fturn_open(struct fturn *ft)
{
	char cred[64];
	int err;

	memset(ft, 0, sizeof(*ft));
	re_snprintf(cred, sizeof(cred), "user:test:secret");
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


static void fturn_close(struct fturn *ft)
{
	ft->ctl = mem_deref(ft->ctl);
	ft->rel = mem_deref(ft->rel);
}


static bool a_got_rtp(void)
{
	return sa_.rtp_rx > 0;
}


static bool from_h(struct sa *src, struct mbuf *mb, void *arg)
{
	const struct sa *blocked = arg;

	(void)mb;
	return sa_cmp(src, blocked, SA_ALL);   /* true: dropped */
}


/* Full ICE with a TURN relay when the direct path is blocked: b never
 * hears a's own address, so the only pair that works is a's relayed
 * candidate; DTLS and RTP then flow through the relay both ways. */
int test_wrtc_turn(void)
{
	struct wrtc_gather *gt = NULL;
	struct udp_helper *block = NULL;
	struct wrtc_params pa, pb;
	struct fturn ft;
	struct gres r;
	char turl[64];
	int err = 0;

	TEST_ERR(wrtc_init());
	TEST_ERR(fturn_open(&ft));
	TEST_ERR(side_open(&sa_));
	TEST_ERR(side_open(&sb_));

	re_snprintf(turl, sizeof(turl), "turn:%J?transport=udp",
		    &ft.ctl_addr);
	memset(&r, 0, sizeof(r));
	TEST_ERR(wrtc_gather(&gt, sa_.us, NULL, turl, "user", "secret", 2000,
			     gather_h, &r));
	run(NULL, 3000);
	TEST_EQ(r.calls, 1);
	TEST_EQ(r.err, 0);
	TEST_ASSERT(r.has_relay);
	TEST_EQ(ft.allocs, 1);

	TEST_ERR(udp_register_helper(&block, sb_.us, -200, NULL, from_h,
				     &sa_.laddr));

	memset(&pb, 0, sizeof(pb));
	pb.lufrag = sb_.ufrag; pb.lpwd = sb_.pwd;
	pb.rufrag = sa_.ufrag; pb.rpwd = sa_.pwd;
	pb.rfp_alg = "sha-256"; pb.rfp = our_fp();
	pb.role = WRTC_PASSIVE;
	pb.lite = true;
	TEST_ERR(wrtc_alloc(&sb_.w, sb_.us, &pb, estab_h, rtp_h, close_h,
			    &sb_));
	memset(&pa, 0, sizeof(pa));
	pa.lufrag = sa_.ufrag; pa.lpwd = sa_.pwd;
	pa.rufrag = sb_.ufrag; pa.rpwd = sb_.pwd;
	pa.rfp_alg = "sha-256"; pa.rfp = our_fp();
	pa.role = WRTC_ACTIVE;
	pa.controlling = true;
	pa.rcandv = &sb_.laddr; pa.rcandc = 1;
	pa.consent_timeout_ms = 2000;
	TEST_ERR(wrtc_alloc(&sa_.w, sa_.us, &pa, estab_h, rtp_h, close_h,
			    &sa_));
	TEST_ERR(wrtc_set_relay(sa_.w, gt));
	TEST_EQ(wrtc_set_relay(sa_.w, gt), EALREADY);

	run(both_estab, 5000);
	TEST_ASSERT(both_estab());
	TEST_ASSERT(ft.perms >= 1);
	TEST_ASSERT(sa_cmp(&sa_.keys.peer, &sb_.laddr, SA_ALL));
	/* b saw a at the relay address, never at a's own */
	TEST_ASSERT(sa_cmp(&sb_.keys.peer, &ft.rel_addr, SA_ALL));
	TEST_ASSERT(!memcmp(sa_.keys.tx, sb_.keys.rx, sa_.keys.txlen));
	TEST_ASSERT(ft.sends > 0 && ft.datas > 0);

	/* the stream's RTP takes the relay too (no change in the sender) */
	TEST_ERR(send_rtp(sa_.us, &sb_.laddr, 4));
	run(b_got_rtp, 1000);
	TEST_EQ(sb_.rtp_rx, 1);
	TEST_EQ(sb_.rtp_last[15], 4);
	TEST_ERR(send_rtp(sb_.us, &ft.rel_addr, 5));
	run(a_got_rtp, 1000);
	TEST_EQ(sa_.rtp_rx, 1);
	TEST_EQ(sa_.rtp_last[15], 5);
	/* consent keeps flowing through the relay */
	run(any_closed, 2500);
	TEST_EQ(sa_.closes + sb_.closes, 0);

	TEST_EQ(sa_.raw_rx, 0);
	TEST_EQ(sb_.raw_rx, 0);

	/* a gather without a relay cannot be used for one */
	{
		struct wrtc_gather *g0 = NULL;
		struct gres r0;

		memset(&r0, 0, sizeof(r0));
		TEST_ERR(wrtc_gather(&g0, sb_.us, NULL, NULL, NULL, NULL, 0,
				     gather_h, &r0));
		TEST_EQ(wrtc_set_relay(sb_.w, g0), ENOENT);
		mem_deref(g0);
	}

	pair_close();
	mem_deref(block);
	mem_deref(gt);
	fturn_close(&ft);
	wrtc_close();
	return err;
}
