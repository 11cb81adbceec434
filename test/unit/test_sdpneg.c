/*
 * test_sdpneg.c  SDP offer/answer choices: our codec preference, DTMF
 *                payload types, hold directions, SRTP policy, refusals.
 */
#include <string.h>
#include <re.h>
#include "media/sdpneg.h"
#include "test.h"

#define SDP_HEAD "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n" \
	"c=IN IP4 127.0.0.1\r\nt=0 0\r\n"

static const char crypto80[] = "a=crypto:3 AES_CM_128_HMAC_SHA1_80 "
	"inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
static const char crypto32[] = "a=crypto:7 AES_CM_128_HMAC_SHA1_32 "
	"inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";


/* Answer `offer` with the given prefs; returns err, fills res/answer */
static int answer(const char *offer, const char *codecs, enum srtp_mode m,
		  struct sdpneg_result *res, char *ans, size_t anssz,
		  uint16_t *scode)
{
	struct sdp_session *sess = NULL;
	struct mbuf *mb, *out = NULL;
	struct sdpneg_prefs prefs;
	struct sa laddr;
	const char *reason = NULL;
	int err;

	memset(res, 0, sizeof(*res));
	memset(&prefs, 0, sizeof(prefs));
	err = sdpneg_prefs_parse(&prefs, codecs);
	if (err)
		return err;
	prefs.srtp = m;
	sa_set_str(&laddr, "127.0.0.1", 40000);

	mb = mbuf_alloc(512);
	if (!mb)
		return ENOMEM;
	mbuf_write_str(mb, offer);
	mb->pos = 0;
	err = sdpneg_answer(&sess, &out, &laddr, &prefs, mb, false, res,
			    scode, &reason);
	if (err && reason)
		fprintf(stderr, "refused: %s\n", reason);
	if (!err) {
		size_t n = mbuf_get_left(out);
		if (n >= anssz)
			n = anssz - 1;
		memcpy(ans, mbuf_buf(out), n);
		ans[n] = '\0';
	}
	else {
		ans[0] = '\0';
	}
	mem_deref(out);
	mem_deref(sess);
	mem_deref(mb);
	return err;
}


int test_sdpneg_codec_choice(void)
{
	struct sdpneg_result res;
	char ans[1024];
	uint16_t sc;

	/* offerer prefers PCMU; we prefer G722 and answer only that */
	TEST_ERR(answer(SDP_HEAD "m=audio 6000 RTP/AVP 0 8 9 101\r\n"
			"a=rtpmap:101 telephone-event/8000\r\n",
			"G722,PCMU,PCMA", SRTP_OPTIONAL, &res, ans,
			sizeof(ans), &sc));
	TEST_STREQ(res.codec->name, "G722");
	TEST_EQ(res.tx_pt, 9);
	TEST_EQ(res.te_tx_pt, 101);
	TEST_ASSERT(strstr(ans, "m=audio 40000 RTP/AVP 9 101\r\n"));
	TEST_ASSERT(!strstr(ans, "PCMU"));
	TEST_ASSERT(strstr(ans, "a=sendrecv"));
	TEST_ASSERT(!strstr(ans, "crypto"));
	TEST_EQ(res.srtp, false);
	TEST_EQ(sa_port(&res.raddr), 6000);

	/* our preference PCMA first */
	TEST_ERR(answer(SDP_HEAD "m=audio 6000 RTP/AVP 0 8 9\r\n",
			"PCMA,PCMU", SRTP_OFF, &res, ans, sizeof(ans), &sc));
	TEST_STREQ(res.codec->name, "PCMA");
	TEST_EQ(res.te_tx_pt, -1);
	TEST_ASSERT(strstr(ans, "m=audio 40000 RTP/AVP 8"));

	/* dynamic telephone-event pt is mirrored */
	TEST_ERR(answer(SDP_HEAD "m=audio 6000 RTP/AVP 0 96\r\n"
			"a=rtpmap:96 telephone-event/8000\r\n",
			"G722,PCMU", SRTP_OFF, &res, ans, sizeof(ans), &sc));
	TEST_STREQ(res.codec->name, "PCMU");
	TEST_EQ(res.te_tx_pt, 96);
	TEST_ASSERT(strstr(ans, "a=rtpmap:96 telephone-event/8000"));
	return 0;
}


int test_sdpneg_refusals(void)
{
	struct sdpneg_result res;
	char ans[1024];
	uint16_t sc = 0;

	/* no common codec */
	TEST_EQ(answer(SDP_HEAD "m=audio 6000 RTP/AVP 96\r\n"
		       "a=rtpmap:96 opus/48000/2\r\n", "G722,PCMU,PCMA",
		       SRTP_OPTIONAL, &res, ans, sizeof(ans), &sc), EPROTO);
	TEST_EQ(sc, 488);

	/* plain RTP while SRTP is mandatory */
	sc = 0;
	TEST_EQ(answer(SDP_HEAD "m=audio 6000 RTP/AVP 0\r\n", "PCMU",
		       SRTP_MANDATORY, &res, ans, sizeof(ans), &sc), EPROTO);
	TEST_EQ(sc, 488);

	/* SRTP offered while off */
	sc = 0;
	TEST_EQ(answer(SDP_HEAD "m=audio 6000 RTP/SAVP 0\r\n", "PCMU",
		       SRTP_OFF, &res, ans, sizeof(ans), &sc), EPROTO);
	TEST_EQ(sc, 488);

	/* SAVP without a key we can use */
	sc = 0;
	TEST_EQ(answer(SDP_HEAD "m=audio 6000 RTP/SAVP 0\r\n"
		       "a=crypto:1 F8_128_HMAC_SHA1_80 inline:AAAA\r\n",
		       "PCMU", SRTP_OPTIONAL, &res, ans, sizeof(ans), &sc),
		EPROTO);
	TEST_EQ(sc, 488);

	/* WebRTC profile is not for this endpoint */
	sc = 0;
	TEST_EQ(answer(SDP_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n", "PCMU",
		       SRTP_OPTIONAL, &res, ans, sizeof(ans), &sc), EPROTO);
	TEST_EQ(sc, 488);

	/* garbage is a 400, not a crash */
	sc = 0;
	TEST_ASSERT(0 != answer("m=audio x\r\nc=IN\r\n", "PCMU",
				SRTP_OPTIONAL, &res, ans, sizeof(ans), &sc));
	TEST_ASSERT(sc == 400 || sc == 488);
	return 0;
}


int test_sdpneg_srtp(void)
{
	struct sdpneg_result res;
	char ans[1024], head[1200];
	uint16_t sc;

	re_snprintf(head, sizeof(head), SDP_HEAD
		    "m=audio 6000 RTP/SAVP 9 0\r\n%s%s", crypto32, crypto80);
	TEST_ERR(answer(head, "G722,PCMU", SRTP_MANDATORY, &res, ans,
			sizeof(ans), &sc));
	TEST_EQ(res.srtp, true);
	/* the offerer's first usable suite, with its tag */
	TEST_EQ(res.suite, SRTP_AES_CM_128_HMAC_SHA1_32);
	TEST_ASSERT(strstr(ans, "m=audio 40000 RTP/SAVP 9"));
	TEST_ASSERT(strstr(ans, "a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:"));
	TEST_ASSERT(!strstr(ans, "a=crypto:3"));
	TEST_ASSERT(memcmp(res.lkey, res.rkey, SRTP_KEYLEN));

	/* best-effort SDES: RTP/AVP with a=crypto in optional mode */
	re_snprintf(head, sizeof(head), SDP_HEAD
		    "m=audio 6000 RTP/AVP 0\r\n%s", crypto80);
	TEST_ERR(answer(head, "PCMU", SRTP_OPTIONAL, &res, ans, sizeof(ans),
			&sc));
	TEST_EQ(res.srtp, true);
	TEST_EQ(res.suite, SRTP_AES_CM_128_HMAC_SHA1_80);
	TEST_ASSERT(strstr(ans, "a=crypto:3 AES_CM_128_HMAC_SHA1_80"));
	return 0;
}


int test_sdpneg_hold(void)
{
	struct sdpneg_result res;
	char ans[1024];
	uint16_t sc;

	TEST_ERR(answer(SDP_HEAD "m=audio 6000 RTP/AVP 0\r\na=sendonly\r\n",
			"PCMU", SRTP_OFF, &res, ans, sizeof(ans), &sc));
	TEST_EQ(res.dir, SDP_RECVONLY);
	TEST_ASSERT(strstr(ans, "a=recvonly"));

	TEST_ERR(answer(SDP_HEAD "m=audio 6000 RTP/AVP 0\r\na=inactive\r\n",
			"PCMU", SRTP_OFF, &res, ans, sizeof(ans), &sc));
	TEST_EQ(res.dir, SDP_INACTIVE);
	TEST_ASSERT(strstr(ans, "a=inactive"));

	TEST_ERR(answer(SDP_HEAD "m=audio 6000 RTP/AVP 0\r\na=recvonly\r\n",
			"PCMU", SRTP_OFF, &res, ans, sizeof(ans), &sc));
	TEST_EQ(res.dir, SDP_SENDONLY);
	TEST_ASSERT(strstr(ans, "a=sendonly"));
	return 0;
}


int test_sdpneg_offer_answer(void)
{
	struct sdp_session *sess = NULL;
	struct mbuf *offer = NULL, *ans;
	struct sdpneg_prefs prefs;
	struct sdpneg_result res;
	struct sa laddr;
	char buf[1024];
	size_t n;
	int err;

	memset(&res, 0, sizeof(res));
	memset(&prefs, 0, sizeof(prefs));
	TEST_ERR(sdpneg_prefs_parse(&prefs, " g722 , PCMA,PCMU,G722"));
	TEST_EQ(prefs.codecc, 3);
	TEST_EQ(sdpneg_prefs_parse(&prefs, "G729"), ENOTSUP);
	TEST_ERR(sdpneg_prefs_parse(&prefs, "G722,PCMA"));
	prefs.srtp = SRTP_MANDATORY;
	sa_set_str(&laddr, "127.0.0.1", 41000);

	TEST_ERR(sdpneg_offer(&sess, &offer, &laddr, &prefs, &res));
	n = mbuf_get_left(offer);
	TEST_ASSERT(n < sizeof(buf));
	memcpy(buf, mbuf_buf(offer), n);
	buf[n] = '\0';
	TEST_ASSERT(strstr(buf, "m=audio 41000 RTP/SAVP 9 8 101\r\n"));
	TEST_ASSERT(strstr(buf, "a=crypto:1 AES_CM_128_HMAC_SHA1_80"));
	TEST_ASSERT(strstr(buf, "a=crypto:2 AES_CM_128_HMAC_SHA1_32"));

	ans = mbuf_alloc(512);
	re_snprintf(buf, sizeof(buf), SDP_HEAD "m=audio 7000 RTP/SAVP 8 101\r\n"
		    "a=rtpmap:101 telephone-event/8000\r\n%s", crypto80);
	mbuf_write_str(ans, buf);
	ans->pos = 0;
	err = sdpneg_decode_answer(sess, ans, &prefs, &res);
	mem_deref(ans);
	mem_deref(offer);
	mem_deref(sess);
	TEST_ERR(err);
	TEST_STREQ(res.codec->name, "PCMA");
	TEST_EQ(res.srtp, true);
	TEST_EQ(sa_port(&res.raddr), 7000);
	TEST_EQ(res.te_tx_pt, 101);
	return 0;
}
