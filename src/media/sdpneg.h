/*
 * sdpneg.h  SDP offer/answer for one audio stream: codec choice by our
 *           preference, telephone-event, direction (hold), SDES-SRTP
 *           (RFC 4568) key exchange, and WebRTC-style SDP (UDP/TLS/RTP/SAVPF:
 *           ICE credentials and candidates, DTLS fingerprint and setup
 *           role, rtcp-mux, BUNDLE of one audio stream, Opus). Pure logic
 *           on libre's sdp module: no sockets, so it is unit tested and
 *           fuzzed directly.
 *
 * Main thread only.
 */
#ifndef AGENTLINE_SDPNEG_H
#define AGENTLINE_SDPNEG_H

#include <stdbool.h>
#include <stdint.h>
#include <re.h>
#include "media/codec.h"
#include "media/wrtc.h"

enum srtp_mode {
	SRTP_OFF = 0,
	SRTP_OPTIONAL,
	SRTP_MANDATORY,
};

enum { SRTP_KEYLEN = 30, SDPNEG_TE_PT = 101, SDPNEG_TE48_PT = 110,
       SDPNEG_MAX_CAND = 8 };

extern const char sdpneg_proto_webrtc[];   /* "UDP/TLS/RTP/SAVPF" */

struct sdpneg_prefs {
	enum codec_id codecv[CODEC_COUNT];
	size_t codecc;
	enum srtp_mode srtp;
	/* WebRTC: offer UDP/TLS/RTP/SAVPF with ICE + DTLS (and Opus first).
	 * Offers of that kind are answered whether or not this is set: the
	 * offer decides for an answer. */
	bool webrtc;
	const char *fingerprint;   /* ours, "sha-256 AB:CD:.." (wrtc);
				      NULL: WebRTC offers get 488       */
	uint32_t ssrc;             /* a=ssrc/msid in WebRTC SDP, 0 = none */
	struct sa srflx;           /* extra server-reflexive candidate in
				      our WebRTC offer (unset = none)    */
	struct sa relay;           /* relayed (TURN) candidate in our
				      WebRTC offer (unset = none)        */
};

/* What was agreed; filled by sdpneg_answer / sdpneg_decode_answer. */
struct sdpneg_result {
	const struct codec_info *codec;
	int tx_pt;             /* payload type to send the codec with      */
	int rx_pt;             /* payload type we expect to receive         */
	int te_tx_pt;          /* telephone-event pt to send, -1 = none     */
	int te_rx_pt;          /* telephone-event pt we receive, -1 = none  */
	struct sa raddr;       /* remote RTP address (0.0.0.0 = hold)       */
	struct sa raddr_rtcp;
	enum sdp_dir dir;      /* negotiated direction from our side        */
	bool srtp;
	enum srtp_suite suite;
	uint8_t rkey[SRTP_KEYLEN]; /* remote master key+salt (they send)  */
	uint8_t lkey[SRTP_KEYLEN]; /* local master key+salt (we send)     */
	uint32_t te_clock;     /* telephone-event clock (the codec's)      */

	/* WebRTC (DTLS-SRTP + ICE; srtp/lkey/rkey unused) */
	bool webrtc;
	char rufrag[64], rpwd[256];
	char lufrag[16], lpwd[32];  /* ours: made by the first offer or
				       answer, kept on re-negotiation    */
	char rfp_alg[16], rfp[200]; /* remote a=fingerprint (session or
				       media level)                      */
	enum wrtc_role role;        /* our DTLS role, from a=setup: we are
				       passive when they are actpass or
				       active                            */
	struct sa rcandv[SDPNEG_MAX_CAND]; /* remote UDP candidates       */
	size_t rcandc;
	bool rlite;                 /* remote is ICE-lite                */
	bool lfull;                 /* our ICE agent is full (we made the
				       first offer): no a=ice-lite, even
				       in answers to later re-offers     */
	char mid[32];               /* a=mid of the audio stream         */

	/* Opus: the remote's a=fmtp (RFC 7587) for what we send */
	uint32_t opus_maxbitrate;   /* maxaveragebitrate, 0 = not given   */
	bool opus_fec;              /* useinbandfec=1 (default 0)         */
};

/* SIP status codes for a refused offer */
enum { SDPNEG_NOT_ACCEPTABLE = 488 };

/* Build our offer (outbound call). The new session in sessp is a new session that must be
 * kept to decode the answer; lkey is generated when SRTP is on; with
 * prefs->webrtc, ICE credentials (res->lufrag/lpwd) when not yet set. */
int sdpneg_offer(struct sdp_session **sessp, struct mbuf **mbp,
		 const struct sa *laddr, const struct sdpneg_prefs *prefs,
		 struct sdpneg_result *res);
/* Decode the answer to our offer into res. EPROTO when unusable. */
int sdpneg_decode_answer(struct sdp_session *sess, struct mbuf *mb,
			 const struct sdpneg_prefs *prefs,
			 struct sdpneg_result *res);
/* Answer a remote offer. On success new session and SDP are returned; res is filled.
 * hold_local: answer with our side on hold too.  On refusal returns
 * EPROTO and *scodep = 488 with *reasonp naming why. A non-SDP body
 * returns EBADMSG. keep_lkey: reuse res->lkey (re-INVITE).
 * A WebRTC offer (UDP/TLS/RTP/SAVPF) is answered ICE-lite with DTLS
 * (a=setup:passive unless they are passive), rtcp-mux, BUNDLE, one host
 * candidate at laddr and Opus first; other m-lines get port 0. Without
 * a fingerprint, ICE credentials or rtcp-mux it is refused (488). */
int sdpneg_answer(struct sdp_session **sessp, struct mbuf **mbp,
		  const struct sa *laddr, const struct sdpneg_prefs *prefs,
		  struct mbuf *offer, bool keep_lkey,
		  struct sdpneg_result *res, uint16_t *scodep,
		  const char **reasonp);

int sdpneg_prefs_parse(struct sdpneg_prefs *prefs, const char *codecs);

#endif
