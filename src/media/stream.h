/*
 * stream.h  One call's audio media: RTP/RTCP socket pair, SDES-SRTP, codec,
 *           jitter buffer, DTMF, 20 ms pacing, recording, RTP watchdog, and
 *           the per-call audio interface the pipeline plugs into.
 *
 * The audio interface (see docs/internals/audio-interface.md):
 *   caller frames out  - mstream_set_audio_handler(): every 20 ms one frame
 *                        of AUDIO_FRAME_SAMPLES 16 kHz PCM16 with its media
 *                        timestamp (ms since the stream started);
 *   agent frames in    - mstream_play(): any length, queued, paced out;
 *                        mstream_flush(): drop queued audio with a fade;
 *   DTMF events out    - mstream_set_dtmf_handler();
 *   DTMF digits in     - mstream_send_dtmf().
 *
 * Main thread only (the media tick runs on the main loop), except
 * mstream_play/mstream_flush which are safe from one producer thread.
 */
#ifndef AGENTLINE_STREAM_H
#define AGENTLINE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "media/sdpneg.h"

struct mstream;
struct mbuf;
struct sa;

enum dtmf_source {
	DTMF_SRC_RFC4733 = 0,
	DTMF_SRC_INFO,
	DTMF_SRC_INBAND,
};

struct mstream_cfg {
	struct sa laddr;           /* local IP for RTP (port ignored)      */
	uint16_t port_min, port_max;
	struct sdpneg_prefs prefs;
	uint32_t rtp_timeout_secs;
	uint32_t jitter_min_ms, jitter_max_ms;
	bool dtmf_inband;
	const char *record_path;   /* stereo WAV, NULL = off               */
	/* WebRTC (ICE + DTLS-SRTP on one socket, rtcp-mux): webrtc makes
	 * mstream_offer offer it; a WebRTC offer is answered in that mode
	 * whatever this says. The URLs and credentials (may be NULL) are
	 * for gathering candidates for our offer (wrtc_gather). */
	bool webrtc;
	const char *ice_stun_urls, *ice_turn_urls;
	const char *ice_turn_user, *ice_turn_pass;
	uint32_t ice_consent_ms;   /* consent freshness timeout (RFC 7675),
				    * 0 = 30000 (wrtc's default)          */
};

struct mstream_stats {
	uint64_t rx_packets, tx_packets, rx_bytes, tx_bytes;
	uint32_t lost, late, concealed;
	double jitter_ms;          /* RFC 3550 interarrival jitter         */
	uint32_t rtcp_rx;          /* RTCP reports received                */
	uint32_t remote_lost;      /* as reported by the peer's RTCP       */
	double remote_jitter_ms;
};

typedef void (mstream_audio_h)(const int16_t *pcm, size_t n,
			       uint64_t ts_ms, void *arg);
typedef void (mstream_dtmf_h)(char digit, enum dtmf_source src, void *arg);
/* The stream saw no RTP for rtp_timeout_secs. */
typedef void (mstream_timeout_h)(void *arg);
/* The media transport failed for good (WebRTC: ICE, DTLS, fingerprint,
 * consent); reason is short, for the log and the hangup. err ECONNRESET:
 * the peer ended the DTLS session in order (close_notify), as a peer
 * hanging up does just before (or after) its BYE; anything else
 * (ETIMEDOUT: ICE failed or consent lost, EACCES: fingerprint mismatch,
 * EPROTO: no SRTP profile or a DTLS alert) is a hard failure. */
typedef void (mstream_fail_h)(int err, const char *reason, void *arg);
/* Listen-in: every 20 ms tick, the caller's decoded frame and the frame
 * sent to the line (silence when none), n = AUDIO_FRAME_SAMPLES each. */
typedef void (mstream_tap_h)(const int16_t *caller, const int16_t *agent,
			     size_t n, void *arg);

int  mstream_alloc(struct mstream **msp, const struct mstream_cfg *cfg,
		   const char *callid, mstream_timeout_h *timeouth, void *arg);
void mstream_set_audio_handler(struct mstream *ms, mstream_audio_h *h,
			       void *arg);
void mstream_set_dtmf_handler(struct mstream *ms, mstream_dtmf_h *h,
			      void *arg);
/* Each 20 ms frame as it was sent to the line (silence when nothing was
 * sent): the echo canceller's reference. Main thread. */
void mstream_set_sent_handler(struct mstream *ms, mstream_audio_h *h,
			      void *arg);
/* The playout queue itself, for a producer thread that keeps a reference
 * (mem_ref) so it may outlive the stream. */
struct playq *mstream_playq(const struct mstream *ms);
/* Called once when the transport fails (until set, the RTP watchdog
 * covers it). Main thread. */
void mstream_set_fail_handler(struct mstream *ms, mstream_fail_h *h,
			      void *arg);
/* One tap per stream; h NULL removes it. Main thread. */
void mstream_set_tap(struct mstream *ms, mstream_tap_h *h, void *arg);

/* WebRTC offers (cfg.webrtc) towards a gateway: gather a server-reflexive
 * candidate from cfg.ice_stun_urls and a relayed one from
 * cfg.ice_turn_urls (TURN allocation) on the stream's socket, for the
 * next mstream_offer (host, srflx and relay candidates). The allocation
 * lives as long as the stream; the stream's ICE then checks through the
 * relay too, and media takes it when that pair answers first. readyh is
 * called once, err 0 when nothing failed or nothing is configured, else
 * the TURN error or ETIMEDOUT (no STUN answer); the offer still works
 * with what was found. Without this call the offer carries the host
 * candidate only. */
typedef void (mstream_ready_h)(int err, void *arg);
int  mstream_gather(struct mstream *ms, mstream_ready_h *readyh, void *arg);

/* Offer/answer. Each successful call (re)configures the stream. */
int  mstream_offer(struct mstream *ms, struct mbuf **mbp);
int  mstream_answer_decode(struct mstream *ms, struct mbuf *mb);
/* Offer again from the current session (re-INVITE): hold=true offers
 * a=sendonly and stops sending; false offers a=sendrecv and resumes.
 * ENOTCONN before media was agreed. */
int  mstream_reoffer(struct mstream *ms, bool hold, struct mbuf **mbp);
bool mstream_local_hold(const struct mstream *ms);
/* Re-encode the answer just made by mstream_offer_decode with our side
 * still on hold (a=sendonly). */
int  mstream_hold_answer(struct mstream *ms, struct mbuf **mbp);
int  mstream_offer_decode(struct mstream *ms, struct mbuf *offer,
			  struct mbuf **answerp, uint16_t *scodep,
			  const char **reasonp);

/* Start media (idempotent): pacing, RTCP, watchdog. */
int  mstream_start(struct mstream *ms);
bool mstream_started(const struct mstream *ms);
/* Stop pacing and callbacks (stats stay readable). */
void mstream_stop(struct mstream *ms);

/* Audio interface */
size_t mstream_play(struct mstream *ms, const int16_t *pcm, size_t n);
void   mstream_flush(struct mstream *ms, unsigned fade_ms);
size_t mstream_play_level(const struct mstream *ms);
int    mstream_send_dtmf(struct mstream *ms, const char *digits);
/* DTMF received by SIP INFO enters here so all sources look alike. */
void   mstream_dtmf_info(struct mstream *ms, char digit);

const struct sdpneg_result *mstream_media(const struct mstream *ms);
void mstream_stats(const struct mstream *ms, struct mstream_stats *st);
uint16_t mstream_lport(const struct mstream *ms);

/* Global 20 ms media clock. */
int  mclock_init(void);
void mclock_close(void);

const char *dtmf_source_name(enum dtmf_source src);

#endif
