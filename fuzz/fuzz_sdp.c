/*
 * fuzz_sdp.c  Our SDP offer/answer code on arbitrary SDP: as an offer we
 *             answer (each SRTP mode) and as the answer to our own offer.
 */
#include <stdint.h>
#include <string.h>
#include <re.h>
#include "media/sdpneg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static const char fingerprint[] = "sha-256 "
	"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";


static void answer(struct mbuf *mb, enum srtp_mode mode)
{
	struct sdp_session *sess = NULL;
	struct mbuf *ans = NULL;
	struct sdpneg_prefs prefs;
	struct sdpneg_result res;
	struct sa laddr;
	const char *reason = NULL;
	uint16_t scode = 0;

	memset(&res, 0, sizeof(res));
	memset(&prefs, 0, sizeof(prefs));
	(void)sdpneg_prefs_parse(&prefs, "PCMA,G722,PCMU");
	prefs.srtp = mode;
	prefs.fingerprint = fingerprint;   /* WebRTC offers are answered */
	prefs.ssrc = 0x12345678;
	(void)sa_set_str(&laddr, "::1", 20000);
	mb->pos = 0;
	if (0 == sdpneg_answer(&sess, &ans, &laddr, &prefs, mb, false, &res,
			       &scode, &reason)) {
		mem_deref(sess);
		mem_deref(ans);
	}
}


static void as_answer(struct mbuf *mb, bool webrtc)
{
	struct sdp_session *sess = NULL;
	struct mbuf *offer = NULL;
	struct sdpneg_prefs prefs;
	struct sdpneg_result res;
	struct sa laddr;

	memset(&res, 0, sizeof(res));
	memset(&prefs, 0, sizeof(prefs));
	(void)sdpneg_prefs_parse(&prefs, "G722,PCMU,PCMA");
	prefs.srtp = SRTP_OPTIONAL;
	prefs.webrtc = webrtc;
	prefs.fingerprint = fingerprint;
	(void)sa_set_str(&laddr, "127.0.0.1", 20000);
	if (sdpneg_offer(&sess, &offer, &laddr, &prefs, &res))
		return;
	mb->pos = 0;
	(void)sdpneg_decode_answer(sess, mb, &prefs, &res);
	mem_deref(sess);
	mem_deref(offer);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct mbuf *mb;

	if (!init) {
		(void)libre_init();
		init = true;
	}
	if (size > 65536)
		return 0;
	mb = mbuf_alloc(size + 1);
	if (!mb)
		return 0;
	(void)mbuf_write_mem(mb, data, size);

	answer(mb, SRTP_OFF);
	answer(mb, SRTP_OPTIONAL);
	answer(mb, SRTP_MANDATORY);
	as_answer(mb, false);
	as_answer(mb, true);

	mem_deref(mb);
	return 0;
}
