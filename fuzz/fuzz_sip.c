/*
 * fuzz_sip.c  The SIP ingress path: libre's message decoder followed by
 *             everything agentline does with a request it did not create:
 *             SDP offer/answer on an INVITE/re-INVITE body, SIP INFO DTMF.
 */
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <re.h>
#include "media/sdpneg.h"
#include "sip/call.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct sip_msg *msg = NULL;
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
	mb->pos = 0;

	if (0 == sip_msg_decode(&msg, mb)) {
		char digit;

		if (!pl_strcmp(&msg->met, "INFO"))
			(void)sip_info_dtmf(msg, &digit);

		if (mbuf_get_left(msg->mb)) {
			struct sdp_session *sess = NULL;
			struct mbuf *ans = NULL;
			struct sdpneg_prefs prefs;
			struct sdpneg_result res;
			struct sa laddr;
			const char *reason = NULL;
			uint16_t scode = 0;

			memset(&res, 0, sizeof(res));
			memset(&prefs, 0, sizeof(prefs));
			(void)sdpneg_prefs_parse(&prefs, "G722,PCMU,PCMA");
			prefs.srtp = SRTP_OPTIONAL;
			(void)sa_set_str(&laddr, "127.0.0.1", 10000);
			if (0 == sdpneg_answer(&sess, &ans, &laddr, &prefs,
					       msg->mb, false, &res, &scode,
					       &reason)) {
				mem_deref(sess);
				mem_deref(ans);
			}
		}
		mem_deref(msg);
	}
	mem_deref(mb);
	return 0;
}
