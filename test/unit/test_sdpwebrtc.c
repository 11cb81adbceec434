/*
 * test_sdpwebrtc.c  WebRTC-style SDP: a Chrome offer (audio + video,
 *                   BUNDLE, ICE, DTLS) is answered ICE-lite with DTLS,
 *                   rtcp-mux, mid, a candidate and Opus, video declined;
 *                   incomplete offers are refused with a reason; our own
 *                   WebRTC offer is answered by a second instance.
 */
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "media/sdpneg.h"
#include "test.h"

static const char our_fp[] = "sha-256 "
	"11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:"
	"11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00";

#define CHROME_FP "8B:87:09:8A:5D:C2:F3:33:EF:C5:B1:F6:84:3A:3D:D6:" \
	"A3:E2:9C:17:4C:E7:46:3B:1B:CE:84:98:DD:8E:AF:7B"

/* What Chromium sends for getUserMedia({audio}) plus a video
 * transceiver, offer made without waiting for ICE gathering (one
 * candidate anyway, and an mDNS one we cannot use). */
#define CHROME_HEAD \
	"v=0\r\n" \
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n" \
	"s=-\r\n" \
	"t=0 0\r\n" \
	"a=group:BUNDLE 0 1\r\n" \
	"a=extmap-allow-mixed\r\n" \
	"a=msid-semantic: WMS 3b6c1d32-5d6f-4b8a-9c3e-0f3c2a1b7e55\r\n"
#define CHROME_AUDIO_M \
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n" \
	"c=IN IP4 0.0.0.0\r\n" \
	"a=rtcp:9 IN IP4 0.0.0.0\r\n" \
	"a=candidate:1467250027 1 udp 2122260223 192.168.1.20 51472 typ " \
	"host generation 0 network-id 1\r\n" \
	"a=candidate:2 1 udp 2122194687 3c1e6c5e-1f7b.local 51473 typ " \
	"host generation 0\r\n"
#define CHROME_ICE \
	"a=ice-ufrag:EsAw\r\n" \
	"a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n" \
	"a=ice-options:trickle\r\n"
#define CHROME_DTLS \
	"a=fingerprint:sha-256 " CHROME_FP "\r\n" \
	"a=setup:actpass\r\n"
#define CHROME_AUDIO_ATTRS \
	"a=mid:0\r\n" \
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" \
	"a=sendrecv\r\n" \
	"a=msid:3b6c1d32-5d6f-4b8a-9c3e-0f3c2a1b7e55 " \
	"9c2e1f0a-1b2c-4d5e-8f90-a1b2c3d4e5f6\r\n"
#define CHROME_MUX "a=rtcp-mux\r\n"
#define CHROME_CODECS \
	"a=rtpmap:111 opus/48000/2\r\n" \
	"a=rtcp-fb:111 transport-cc\r\n" \
	"a=fmtp:111 minptime=10;useinbandfec=1\r\n" \
	"a=rtpmap:63 red/48000/2\r\n" \
	"a=fmtp:63 111/111\r\n" \
	"a=rtpmap:9 G722/8000\r\n" \
	"a=rtpmap:0 PCMU/8000\r\n" \
	"a=rtpmap:8 PCMA/8000\r\n" \
	"a=rtpmap:13 CN/8000\r\n" \
	"a=rtpmap:110 telephone-event/48000\r\n" \
	"a=rtpmap:126 telephone-event/8000\r\n" \
	"a=ssrc:2238719532 cname:e2Qx5b0sVvKpN8ZT\r\n"
#define CHROME_VIDEO \
	"m=video 9 UDP/TLS/RTP/SAVPF 96 97 102\r\n" \
	"c=IN IP4 0.0.0.0\r\n" \
	"a=rtcp:9 IN IP4 0.0.0.0\r\n" \
	CHROME_ICE CHROME_DTLS \
	"a=mid:1\r\n" \
	"a=sendrecv\r\n" \
	"a=rtcp-mux\r\n" \
	"a=rtcp-rsize\r\n" \
	"a=rtpmap:96 VP8/90000\r\n" \
	"a=rtcp-fb:96 nack\r\n" \
	"a=rtpmap:97 rtx/90000\r\n" \
	"a=fmtp:97 apt=96\r\n" \
	"a=rtpmap:102 H264/90000\r\n" \
	"a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;" \
	"profile-level-id=42001f\r\n"

static const char chrome_offer[] = CHROME_HEAD CHROME_AUDIO_M CHROME_ICE
	CHROME_DTLS CHROME_AUDIO_ATTRS CHROME_MUX CHROME_CODECS CHROME_VIDEO;


static void prefs_init(struct sdpneg_prefs *prefs, bool webrtc)
{
	memset(prefs, 0, sizeof(*prefs));
	(void)sdpneg_prefs_parse(prefs, "G722,PCMU,PCMA");
	prefs->srtp = SRTP_OPTIONAL;
	prefs->webrtc = webrtc;
	prefs->fingerprint = our_fp;
	prefs->ssrc = 0x11223344;
}


static int answer(const char *offer, const struct sdpneg_prefs *prefs,
		  struct sdpneg_result *res, char *ans, size_t anssz,
		  uint16_t *scode, const char **reason)
{
	struct sdp_session *sess = NULL;
	struct mbuf *mb, *out = NULL;
	struct sa laddr;
	int err;

	memset(res, 0, sizeof(*res));
	sa_set_str(&laddr, "127.0.0.1", 40000);
	*reason = NULL;
	ans[0] = '\0';

	mb = mbuf_alloc(4096);
	if (!mb)
		return ENOMEM;
	mbuf_write_str(mb, offer);
	mb->pos = 0;
	err = sdpneg_answer(&sess, &out, &laddr, prefs, mb, false, res,
			    scode, reason);
	if (!err) {
		size_t n = mbuf_get_left(out);
		if (n >= anssz)
			n = anssz - 1;
		memcpy(ans, mbuf_buf(out), n);
		ans[n] = '\0';
	}
	else if (getenv("AGENTLINE_TEST_VERBOSE")) {
		fprintf(stderr, "refused (%d): %s\n", *scode,
			*reason ? *reason : "-");
	}
	mem_deref(out);
	mem_deref(sess);
	mem_deref(mb);
	return err;
}


/* Lines of an m-section: from its m= line to the next one. */
static const char *section(const char *sdp, const char *mline, char *buf,
			   size_t sz)
{
	const char *p = strstr(sdp, mline), *e;
	size_t n;

	if (!p)
		return NULL;
	e = strstr(p + 2, "\r\nm=");
	n = e ? (size_t)(e - p) + 2 : strlen(p);
	if (n >= sz)
		n = sz - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}


int test_sdpwebrtc_chrome(void)
{
	struct sdpneg_prefs prefs;
	struct sdpneg_result res;
	static char ans[4096], audio[4096], video[1024];
	const char *reason;
	uint16_t sc = 0;
	char host[96];
	struct sa cand;
	char *o2 = NULL;

	/* the offer decides: webrtc=false in our prefs still answers it */
	prefs_init(&prefs, false);
	TEST_ERR(answer(chrome_offer, &prefs, &res, ans, sizeof(ans), &sc,
			&reason));
	if (getenv("AGENTLINE_TEST_VERBOSE"))
		fprintf(stderr, "%s", ans);

	/* what we agreed */
	TEST_ASSERT(res.webrtc);
	TEST_ASSERT(!res.srtp);
	TEST_STREQ(res.codec->name, "opus");
	TEST_EQ(res.tx_pt, 111);
	TEST_EQ(res.rx_pt, 111);
	TEST_EQ(res.te_tx_pt, 110);          /* telephone-event/48000 */
	TEST_EQ(res.te_clock, 48000);
	TEST_STREQ(res.rufrag, "EsAw");
	TEST_STREQ(res.rpwd, "P2uYro0UCOQ4zxjKXaWCBui1");
	TEST_STREQ(res.rfp_alg, "sha-256");
	TEST_STREQ(res.rfp, CHROME_FP);
	TEST_EQ(res.role, WRTC_PASSIVE);
	TEST_STREQ(res.mid, "0");
	TEST_ASSERT(!res.rlite);
	TEST_EQ(res.rcandc, 1);              /* the .local one is skipped */
	TEST_ERR(sa_set_str(&cand, "192.168.1.20", 51472));
	TEST_ASSERT(sa_cmp(&res.rcandv[0], &cand, SA_ALL));
	TEST_EQ(strlen(res.lufrag), 8);
	TEST_EQ(strlen(res.lpwd), 24);
	TEST_ASSERT(res.opus_fec);           /* useinbandfec=1 */
	TEST_EQ(res.opus_maxbitrate, 0);

	/* session level: ICE-lite, BUNDLE of the audio only */
	TEST_ASSERT(strstr(ans, "\r\na=ice-lite\r\n"));
	TEST_ASSERT(strstr(ans, "\r\na=group:BUNDLE 0\r\n"));
	TEST_ASSERT(strstr(ans, "\r\na=msid-semantic: WMS agentline\r\n"));
	TEST_ASSERT(!strstr(ans, "a=crypto"));

	/* the audio section carries everything Chrome needs */
	TEST_ASSERT(section(ans, "m=audio 40000 UDP/TLS/RTP/SAVPF 111 110\r\n",
			    audio, sizeof(audio)));
	TEST_ASSERT(strstr(audio, "a=rtpmap:111 opus/48000/2\r\n"));
	TEST_ASSERT(strstr(audio, "a=fmtp:111 minptime=10;useinbandfec=1\r\n"));
	TEST_ASSERT(strstr(audio, "a=rtpmap:110 telephone-event/48000\r\n"));
	TEST_ASSERT(!strstr(audio, "telephone-event/8000"));
	TEST_ASSERT(!strstr(audio, "G722"));
	TEST_ASSERT(strstr(audio, "a=mid:0\r\n"));
	TEST_ASSERT(strstr(audio, "a=ice-ufrag:"));
	TEST_ASSERT(strstr(audio, res.lufrag));
	TEST_ASSERT(strstr(audio, res.lpwd));
	TEST_ASSERT(strstr(audio, "a=fingerprint:sha-256 11:22:33:44:"));
	TEST_ASSERT(strstr(audio, "a=setup:passive\r\n"));
	TEST_ASSERT(strstr(audio, "a=rtcp-mux\r\n"));
	re_snprintf(host, sizeof(host), "a=candidate:1 1 udp %u 127.0.0.1 "
		    "40000 typ host\r\n", 2130706431u);
	TEST_ASSERT(strstr(audio, host));
	TEST_ASSERT(strstr(audio, "a=end-of-candidates\r\n"));
	TEST_ASSERT(strstr(audio, "a=ssrc:287454020 cname:agentline\r\n"));
	TEST_ASSERT(strstr(audio, "a=msid:agentline audio\r\n"));
	TEST_ASSERT(strstr(audio, "a=sendrecv\r\n"));
	TEST_ASSERT(!strstr(audio, "a=rtcp:"));

	/* the video is declined, keeping its mid for BUNDLE */
	TEST_ASSERT(section(ans, "m=video 0 ", video, sizeof(video)));
	TEST_ASSERT(strstr(video, "a=mid:1\r\n"));
	TEST_ASSERT(!strstr(video, "a=ice-ufrag"));

	/* Chrome as passive (it answered before and re-offers so): we go
	 * active */
	{
		char *o = mem_zalloc(sizeof(chrome_offer) + 16, NULL);
		char *p;
		TEST_ASSERT(o != NULL);
		strcpy(o, chrome_offer);
		p = strstr(o, "a=setup:actpass");
		memcpy(p, "a=setup:passive", 15);
		TEST_ERR(answer(o, &prefs, &res, ans, sizeof(ans), &sc,
				&reason));
		mem_deref(o);
		TEST_EQ(res.role, WRTC_ACTIVE);
		TEST_ASSERT(strstr(ans, "a=setup:active\r\n"));
	}

	/* a later re-offer of the same session with actpass keeps us
	 * active (RFC 8842 5.5): DTLS is not torn down by a re-INVITE */
	{
		struct sdp_session *sess = NULL;
		struct mbuf *mb = mbuf_alloc(sizeof(chrome_offer)), *out = NULL;
		struct sa laddr;
		int err;

		TEST_ASSERT(mb != NULL);
		mbuf_write_str(mb, chrome_offer);
		mb->pos = 0;
		sa_set_str(&laddr, "127.0.0.1", 40000);
		err = sdpneg_answer(&sess, &out, &laddr, &prefs, mb, false,
				    &res, &sc, &reason);
		if (!err && !mbuf_strdup(out, &o2, mbuf_get_left(out)) &&
		    !strstr(o2, "a=setup:active\r\n"))
			err = EPROTO;
		mem_deref(o2);
		mem_deref(out);
		mem_deref(sess);
		mem_deref(mb);
		TEST_ERR(err);
		TEST_EQ(res.role, WRTC_ACTIVE);
		TEST_ASSERT(!res.lfull);
	}

	return 0;
}


/* Offers missing what DTLS-SRTP and ICE need are refused with 488 and a
 * reason naming the gap. */
int test_sdpwebrtc_refusals(void)
{
	static const struct {
		const char *offer;
		const char *why;
	} bad[] = {
		{CHROME_HEAD CHROME_AUDIO_M CHROME_ICE "a=setup:actpass\r\n"
		 CHROME_AUDIO_ATTRS CHROME_MUX CHROME_CODECS,
		 "fingerprint"},
		{CHROME_HEAD CHROME_AUDIO_M CHROME_DTLS CHROME_AUDIO_ATTRS
		 CHROME_MUX CHROME_CODECS, "ICE"},
		{CHROME_HEAD CHROME_AUDIO_M "a=ice-ufrag:EsAw\r\n" CHROME_DTLS
		 CHROME_AUDIO_ATTRS CHROME_MUX CHROME_CODECS, "ICE"},
		{CHROME_HEAD CHROME_AUDIO_M CHROME_ICE CHROME_DTLS
		 CHROME_AUDIO_ATTRS CHROME_CODECS, "rtcp-mux"},
		{CHROME_HEAD CHROME_AUDIO_M CHROME_ICE
		 "a=fingerprint:md5 8B:87:09:8A:5D:C2:F3:33:EF:C5:B1:F6:84:3A"
		 ":3D:D6\r\na=setup:actpass\r\n"
		 CHROME_AUDIO_ATTRS CHROME_MUX CHROME_CODECS, "hash"},
		{CHROME_HEAD "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
		 "c=IN IP4 0.0.0.0\r\n" CHROME_ICE CHROME_DTLS
		 CHROME_AUDIO_ATTRS CHROME_MUX
		 "a=rtpmap:111 ISAC/16000\r\n", "codec"},
	};
	struct sdpneg_prefs prefs;
	struct sdpneg_result res;
	char ans[2048];
	const char *reason;
	uint16_t sc;

	prefs_init(&prefs, false);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		sc = 0;
		TEST_EQ(answer(bad[i].offer, &prefs, &res, ans, sizeof(ans),
			       &sc, &reason), EPROTO);
		TEST_EQ(sc, 488);
		TEST_ASSERT(reason != NULL);
		if (!strstr(reason, bad[i].why)) {
			fprintf(stderr, "case %zu: reason \"%s\"\n", i,
				reason);
			return 1;
		}
	}

	/* no certificate (wrtc_init failed): refused, not answered in
	 * plain RTP */
	prefs.fingerprint = NULL;
	TEST_EQ(answer(chrome_offer, &prefs, &res, ans, sizeof(ans), &sc,
		       &reason), EPROTO);
	TEST_EQ(sc, 488);
	TEST_ASSERT(strstr(reason, "DTLS"));

	/* session-level fingerprint and credentials are as good */
	prefs_init(&prefs, false);
	TEST_ERR(answer("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
			CHROME_ICE CHROME_DTLS
			"m=audio 5000 UDP/TLS/RTP/SAVPF 111\r\n"
			"c=IN IP4 127.0.0.1\r\n" CHROME_MUX
			"a=rtpmap:111 opus/48000/2\r\n",
			&prefs, &res, ans, sizeof(ans), &sc, &reason));
	TEST_STREQ(res.rufrag, "EsAw");
	TEST_STREQ(res.rfp, CHROME_FP);
	TEST_EQ(res.te_tx_pt, -1);
	/* no a=mid offered: we name ours "0" */
	TEST_STREQ(res.mid, "0");
	TEST_ASSERT(strstr(ans, "a=mid:0\r\n"));

	return 0;
}


/* Our WebRTC offer (towards a gateway) is answered by a second instance
 * of ourselves, and its answer decodes into matching results. */
int test_sdpwebrtc_offer_answer(void)
{
	struct sdpneg_prefs po, pa;
	struct sdpneg_result ro, ra;
	struct sdp_session *so = NULL, *sa_ = NULL;
	struct mbuf *offer = NULL, *ans = NULL;
	struct sa lo, la;
	const char *reason = NULL;
	uint16_t sc = 0;
	char *txt = NULL;
	int err;

	prefs_init(&po, true);
	prefs_init(&pa, false);
	pa.fingerprint = "sha-256 "
		"AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:"
		"AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";
	pa.ssrc = 0;
	sa_set_str(&po.srflx, "198.51.100.7", 61000);
	sa_set_str(&lo, "127.0.0.1", 30000);
	sa_set_str(&la, "127.0.0.1", 31000);
	memset(&ro, 0, sizeof(ro));
	memset(&ra, 0, sizeof(ra));

	TEST_ERR(sdpneg_offer(&so, &offer, &lo, &po, &ro));
	TEST_ERR(mbuf_strdup(offer, &txt, mbuf_get_left(offer)));
	offer->pos = 0;
	if (getenv("AGENTLINE_TEST_VERBOSE"))
		fprintf(stderr, "%s", txt);
	err = 0;
	if (!strstr(txt, "m=audio 30000 UDP/TLS/RTP/SAVPF 111 ") ||
	    !strstr(txt, "a=setup:actpass\r\n") ||
	    strstr(txt, "a=ice-lite") || strstr(txt, "a=crypto") ||
	    !strstr(txt, "a=group:BUNDLE 0\r\n") ||
	    !strstr(txt, "a=mid:0\r\n") ||
	    !strstr(txt, "a=rtpmap:110 telephone-event/48000\r\n") ||
	    !strstr(txt, "a=rtpmap:101 telephone-event/8000\r\n") ||
	    !strstr(txt, "typ srflx raddr 127.0.0.1 rport 30000\r\n") ||
	    !strstr(txt, "a=fingerprint:sha-256 11:22:"))
		err = EPROTO;
	mem_deref(txt);
	TEST_ERR(err);
	TEST_EQ(strlen(ro.lufrag), 8);

	/* the other side answers it */
	err = sdpneg_answer(&sa_, &ans, &la, &pa, offer, false, &ra, &sc,
			    &reason);
	if (err)
		fprintf(stderr, "refused: %s\n", reason ? reason : "?");
	TEST_ERR(err);
	TEST_ASSERT(ra.webrtc);
	TEST_STREQ(ra.codec->name, "opus");
	TEST_STREQ(ra.rufrag, ro.lufrag);
	TEST_STREQ(ra.rpwd, ro.lpwd);
	TEST_STREQ(ra.rfp, our_fp + 8);
	TEST_EQ(ra.role, WRTC_PASSIVE);
	TEST_EQ(ra.rcandc, 2);
	TEST_EQ(sa_port(&ra.rcandv[0]), 30000);
	TEST_EQ(sa_port(&ra.rcandv[1]), 61000);
	TEST_EQ(ra.te_tx_pt, 110);

	/* and we decode the answer: the answerer is lite and passive, so
	 * we are the active, controlling side */
	TEST_ERR(sdpneg_decode_answer(so, ans, &po, &ro));
	TEST_ASSERT(ro.webrtc);
	TEST_STREQ(ro.codec->name, "opus");
	TEST_EQ(ro.tx_pt, 111);
	TEST_EQ(ro.te_tx_pt, 110);
	TEST_EQ(ro.te_clock, 48000);
	TEST_EQ(ro.role, WRTC_ACTIVE);
	TEST_ASSERT(ro.rlite);
	TEST_STREQ(ro.rufrag, ra.lufrag);
	TEST_STREQ(ro.rpwd, ra.lpwd);
	TEST_STREQ(ro.rfp, pa.fingerprint + 8);
	TEST_EQ(ro.rcandc, 1);
	TEST_ASSERT(sa_cmp(&ro.rcandv[0], &la, SA_ALL));
	TEST_ASSERT(sa_cmp(&ro.raddr_rtcp, &ro.raddr, SA_ALL));

	TEST_ASSERT(ro.lfull);
	TEST_ASSERT(!ra.lfull);

	/* the answerer re-offers the same session (hold, a session
	 * refresh): the roles stay (it passive, we active), and our answer
	 * does not claim ICE-lite, our agent being the full one */
	{
		struct sdp_session *s2 = NULL;
		struct mbuf *reoffer = NULL, *reans = NULL;
		struct sdpneg_result r2 = ro;
		char *t2 = NULL;

		TEST_ERR(sdp_encode(&reoffer, sa_, true));
		TEST_ERR(mbuf_strdup(reoffer, &t2, mbuf_get_left(reoffer)));
		reoffer->pos = 0;
		err = strstr(t2, "a=setup:passive") ? 0 : EPROTO;
		mem_deref(t2);
		TEST_ERR(err);
		err = sdpneg_answer(&s2, &reans, &lo, &po, reoffer, false, &r2,
				    &sc, &reason);
		if (!err) {
			err = mbuf_strdup(reans, &t2, mbuf_get_left(reans));
			if (!err && (strstr(t2, "a=ice-lite") ||
				     !strstr(t2, "a=setup:active\r\n") ||
				     !strstr(t2, ro.lufrag)))
				err = EPROTO;
			if (err && t2)
				fprintf(stderr, "%s", t2);
		}
		TEST_EQ(r2.role, WRTC_ACTIVE);
		mem_deref(t2);
		mem_deref(s2);
		mem_deref(reoffer);
		mem_deref(reans);
		TEST_ERR(err);
	}

	/* an answer in plain RTP to a WebRTC offer is unusable */
	{
		struct mbuf *plain = mbuf_alloc(256);
		TEST_ASSERT(plain != NULL);
		mbuf_write_str(plain, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
			       "s=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			       "m=audio 7000 RTP/AVP 0\r\n");
		plain->pos = 0;
		TEST_EQ(sdpneg_decode_answer(so, plain, &po, &ro), EPROTO);
		mem_deref(plain);
	}

	mem_deref(offer);
	mem_deref(ans);
	mem_deref(so);
	mem_deref(sa_);
	return 0;
}


/* Plain SIP offers are answered as before, without any WebRTC
 * attribute, even when Opus is offered (it is not configured). */
int test_sdpwebrtc_plain_unchanged(void)
{
	struct sdpneg_prefs prefs;
	struct sdpneg_result res;
	char ans[2048];
	const char *reason;
	uint16_t sc;

	prefs_init(&prefs, false);
	TEST_ERR(answer("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
			"c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
			"m=audio 6000 RTP/AVP 111 0 101\r\n"
			"a=rtpmap:111 opus/48000/2\r\n"
			"a=rtpmap:101 telephone-event/8000\r\n",
			&prefs, &res, ans, sizeof(ans), &sc, &reason));
	TEST_ASSERT(!res.webrtc);
	TEST_STREQ(res.codec->name, "PCMU");
	TEST_EQ(res.te_clock, 8000);
	TEST_ASSERT(strstr(ans, "m=audio 40000 RTP/AVP 0 101\r\n"));
	TEST_ASSERT(!strstr(ans, "ice"));
	TEST_ASSERT(!strstr(ans, "fingerprint"));
	TEST_ASSERT(!strstr(ans, "mid"));

	return 0;
}


/* The far end's Opus fmtp shapes what we send (RFC 7587): a bitrate
 * cap, and no in-band FEC unless it asks for it (the default is 0). */
int test_sdpwebrtc_opus_fmtp(void)
{
	static const struct {
		const char *fmtp;
		uint32_t maxbitrate;
		bool fec;
	} cases[] = {
		{"maxaveragebitrate=12000;useinbandfec=0", 12000, false},
		{"minptime=10", 0, false},
		{"useinbandfec=1;maxaveragebitrate=40000", 40000, true},
	};
	static char offer[sizeof(chrome_offer) + 64], ans[4096];
	const char *from = "a=fmtp:111 minptime=10;useinbandfec=1\r\n";
	struct sdpneg_prefs prefs;
	struct sdpneg_result res;
	const char *reason;
	uint16_t sc = 0;

	prefs_init(&prefs, false);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *p = strstr(chrome_offer, from);

		TEST_ASSERT(p != NULL);
		re_snprintf(offer, sizeof(offer), "%b"
			    "a=fmtp:111 %s\r\n%s", chrome_offer,
			    (size_t)(p - chrome_offer), cases[i].fmtp,
			    p + strlen(from));
		memset(&res, 0, sizeof(res));
		TEST_ERR(answer(offer, &prefs, &res, ans, sizeof(ans), &sc,
				&reason));
		TEST_STREQ(res.codec->name, "opus");
		TEST_EQ(res.opus_maxbitrate, cases[i].maxbitrate);
		TEST_EQ(res.opus_fec, cases[i].fec);
	}
	return 0;
}
