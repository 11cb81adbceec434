/*
 * stream.c  One call's audio media on the main loop's 20 ms media clock.
 *
 * WebRTC mode (the offer or cfg.webrtc decides): RTP and RTCP share the
 * RTP socket (rtcp-mux; libre's RTCP socket stays unused), and a wrtc on
 * that socket answers ICE checks and runs DTLS. Nothing is sent until
 * DTLS is up; then SRTP keys come from the handshake and media goes only
 * to the address that passed the ICE check, never to what the SDP says.
 * When the wrtc gives up (ICE, DTLS, fingerprint, consent) the fail
 * handler ends the call.
 */
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <sys/timerfd.h>
#include <re.h>
#include "core/log.h"
#include "media/codec.h"
#include "media/dtmf.h"
#include "media/jitbuf.h"
#include "media/pacer.h"
#include "media/playq.h"
#include "media/wav.h"
#include "media/wrtc.h"
#include "media/stream.h"

#define MOD "media"
/* rtcp_start() with a NULL cname clears the CNAME and, in libre 1.1.0,
 * returns before scheduling reports (str_dup(NULL) fails): always pass it */
#define RTCP_CNAME "agentline"

enum {
	PLAYQ_SECS = 8,             /* agent audio queued at most (TTS waits) */
	RTP_HDR = 12,
	SRTP_ROOM = 16,             /* auth tag + MKI headroom             */
	LATCH_WINDOW_MS = 3000,
	INBAND_MIN_PEAK = 300,      /* about -40 dBFS                      */
	MCLOCK_SLOTS = 4,           /* streams spread over the 20 ms       */
};

struct mstream {
	struct le le;               /* in mclock.streams while started     */
	/* main thread */
	struct mstream_cfg cfg;
	char *record_path;
	char callid[64];
	struct rtp_sock *rtp;
	struct udp_helper *uh_rtp, *uh_rtcp;
	struct srtp *srtp_tx, *srtp_rx;
	uint8_t srtp_lkey[SRTP_KEYLEN], srtp_rkey[SRTP_KEYLEN];
	enum srtp_suite srtp_suite;
	struct sdp_session *sdp;
	struct sdpneg_result res;
	struct wrtc *wrtc;          /* WebRTC mode only                    */
	struct wrtc_gather *gather; /* while gathering; with a TURN relay
				     * for the stream's life (it owns the
				     * allocation)                         */
	bool gathering;
	char *ice[4];               /* stun, turn urls, turn user, pass    */
	mstream_ready_h *readyh;
	void *ready_arg;
	bool webrtc;                /* negotiated WebRTC: rtcp-mux, DTLS   */
	bool wrtc_up;               /* DTLS done, SRTP keyed: may send     */
	bool failed;                /* fail handler called                 */
	uint32_t dtmf_clock;
	bool have_media;
	bool started;
	struct codec_state *codec;
	struct jitbuf *jb;
	struct dtmf_rx *dtmf_rx;
	struct dtmf_tx *dtmf_tx;
	struct dtmf_inband *inband;
	struct wav_writer *rec;
	struct mbuf *txmb;
	struct sa txdst, rtcpdst;
	bool latched, rtcp_latched;
	uint64_t latch_until_ms;    /* 0 = window starts at next packet */
	uint32_t tx_ts;
	uint64_t start_ms, last_rx_ms, frames;
	bool timed_out;
	bool inband_quiet;
	bool local_hold;            /* we hold the peer: send nothing      */
	unsigned slot;              /* media clock slot                    */
	struct mstream_stats st;
	mstream_audio_h *audioh;
	void *audio_arg;
	mstream_dtmf_h *dtmfh;
	void *dtmf_arg;
	mstream_audio_h *senth;
	void *sent_arg;
	mstream_timeout_h *timeouth;
	void *arg;
	mstream_fail_h *failh;
	void *fail_arg;
	mstream_tap_h *taph;
	void *tap_arg;
	/* producer thread + main thread (lock-free) */
	struct playq *pq;
};

static struct {
	struct list streams[MCLOCK_SLOTS];
	unsigned nslot[MCLOCK_SLOTS];
	unsigned cur;               /* slot of the next tick               */
	int tfd;                    /* timerfd driving the clock           */
	struct pacer pacer;
	uint64_t now_ms;            /* monotonic time of the last tick     */
} mclock = {.tfd = -1};


static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}


const char *dtmf_source_name(enum dtmf_source src)
{
	switch (src) {
	case DTMF_SRC_RFC4733: return "rfc4733";
	case DTMF_SRC_INFO:    return "info";
	case DTMF_SRC_INBAND:  return "inband";
	default:               return "?";
	}
}


static void clock_leave(struct mstream *ms);


static void destructor(void *arg)
{
	struct mstream *ms = arg;

	clock_leave(ms);
	mem_deref(ms->gather);
	mem_deref(ms->wrtc);
	for (size_t i = 0; i < ARRAY_SIZE(ms->ice); i++)
		mem_deref(ms->ice[i]);
	mem_deref(ms->uh_rtp);
	mem_deref(ms->uh_rtcp);
	mem_deref(ms->rtp);
	mem_deref(ms->srtp_tx);
	mem_deref(ms->srtp_rx);
	mem_deref(ms->sdp);
	mem_deref(ms->codec);
	mem_deref(ms->jb);
	mem_deref(ms->dtmf_rx);
	mem_deref(ms->dtmf_tx);
	mem_deref(ms->inband);
	mem_deref(ms->rec);
	mem_deref(ms->txmb);
	mem_deref(ms->pq);
	mem_deref(ms->record_path);
	memset(ms->srtp_lkey, 0, sizeof(ms->srtp_lkey));
	memset(ms->srtp_rkey, 0, sizeof(ms->srtp_rkey));
}


/* --- SRTP as UDP helpers below the RTP stack --- */

/* With rtcp-mux RTCP shares the RTP socket: RFC 5761 tells it by the
 * second byte (payload types 64-95 with the marker bit = 192-223). */
static bool is_rtcp(const struct mstream *ms, const struct mbuf *mb)
{
	return ms->webrtc && wrtc_classify(mbuf_buf(mb), mbuf_get_left(mb))
		== WRTC_RTCP;
}


static bool srtp_send_h(int *err, struct sa *dst, struct mbuf *mb, void *arg)
{
	struct mstream *ms = arg;
	enum wrtc_kind kind;
	(void)dst;

	if (!ms->srtp_tx)
		return false;
	/* WebRTC: the socket also carries what libre's turnc sends from the
	 * top of the stack (Refresh, CreatePermission) when a TURN relay is
	 * in use; encrypting those would lose the allocation */
	kind = ms->webrtc ? wrtc_classify(mbuf_buf(mb), mbuf_get_left(mb)) :
		WRTC_RTP;
	if (kind == WRTC_RTCP)
		*err = srtcp_encrypt(ms->srtp_tx, mb);
	else if (kind == WRTC_RTP)
		*err = srtp_encrypt(ms->srtp_tx, mb);
	return false; /* continue sending (encrypted) */
}


static bool srtp_recv_h(struct sa *src, struct mbuf *mb, void *arg)
{
	struct mstream *ms = arg;
	(void)src;

	if (!ms->srtp_rx) {
		/* WebRTC media is never in the clear */
		return ms->webrtc;
	}
	if (is_rtcp(ms, mb)) {
		if (srtcp_decrypt(ms->srtp_rx, mb))
			return true;
		return false;
	}
	if (srtp_decrypt(ms->srtp_rx, mb)) {
		log_debug(MOD, ms->callid, "SRTP packet failed to decrypt");
		return true; /* drop */
	}
	return false;
}


static bool srtcp_send_h(int *err, struct sa *dst, struct mbuf *mb, void *arg)
{
	struct mstream *ms = arg;
	(void)dst;

	if (!ms->srtp_tx)
		return false;
	*err = srtcp_encrypt(ms->srtp_tx, mb);
	return false;
}


static bool srtcp_recv_h(struct sa *src, struct mbuf *mb, void *arg)
{
	struct mstream *ms = arg;
	(void)src;

	if (!ms->srtp_rx)
		return false;
	if (srtcp_decrypt(ms->srtp_rx, mb))
		return true;
	return false;
}


static void dtmf_digit_handler(char digit, unsigned duration_ms, void *arg)
{
	struct mstream *ms = arg;
	(void)duration_ms;

	if (ms->dtmfh)
		ms->dtmfh(digit, DTMF_SRC_RFC4733, ms->dtmf_arg);
}


static void inband_digit_handler(char digit, unsigned duration_ms, void *arg)
{
	struct mstream *ms = arg;
	(void)duration_ms;

	if (ms->dtmfh)
		ms->dtmfh(digit, DTMF_SRC_INBAND, ms->dtmf_arg);
}


void mstream_dtmf_info(struct mstream *ms, char digit)
{
	if (ms && ms->dtmfh)
		ms->dtmfh(digit, DTMF_SRC_INFO, ms->dtmf_arg);
}


static void rtp_recv_handler(const struct sa *src, const struct rtp_header *hdr,
			     struct mbuf *mb, void *arg)
{
	struct mstream *ms = arg;
	const uint8_t *p = mbuf_buf(mb);
	size_t len = mbuf_get_left(mb);
	bool ours;

	if (!ms->have_media)
		return;

	ours = hdr->pt == ms->res.rx_pt ||
		(ms->res.te_rx_pt >= 0 && hdr->pt == ms->res.te_rx_pt);
	if (!ours) {
		log_debug(MOD, ms->callid, "RTP with unexpected pt %u",
			  hdr->pt);
		return;
	}

	ms->last_rx_ms = mclock.now_ms;  /* updated every tick: cheap */
	if (!ms->latch_until_ms)
		ms->latch_until_ms = ms->last_rx_ms + LATCH_WINDOW_MS;
	ms->st.rx_packets++;
	ms->st.rx_bytes += len;

	/* symmetric RTP: answer to where the media really comes from. A new
	 * source is followed freely only in the first seconds after media
	 * (re)starts, later only from the signalled address (RTP bleed) */
	if (!ms->webrtc && !sa_cmp(src, &ms->txdst, SA_ALL) &&
	    (ms->last_rx_ms < ms->latch_until_ms ||
	     sa_cmp(src, &ms->res.raddr, SA_ADDR))) {
		if (!ms->latched || sa_isset(&ms->txdst, SA_ADDR) == false)
			log_debug(MOD, ms->callid, "latching RTP to %J", src);
		ms->txdst = *src;
		ms->latched = true;
		if (!ms->rtcp_latched) {
			ms->rtcpdst = *src;
			sa_set_port(&ms->rtcpdst, sa_port(src) + 1);
			rtcp_start(ms->rtp, RTCP_CNAME, &ms->rtcpdst);
		}
	}

	if (ms->res.te_rx_pt >= 0 && hdr->pt == ms->res.te_rx_pt) {
		(void)dtmf_rx_packet(ms->dtmf_rx, hdr->ts, hdr->m, p, len);
		return;
	}

	if (jitbuf_put(ms->jb, hdr->seq, hdr->ts, p, len) == EALREADY)
		ms->st.late++;
}


static void rtcp_recv_handler(const struct sa *src, struct rtcp_msg *msg,
			      void *arg)
{
	struct mstream *ms = arg;

	ms->st.rtcp_rx++;
	if (!ms->webrtc && !sa_cmp(src, &ms->rtcpdst, SA_ALL)) {
		ms->rtcpdst = *src;
		ms->rtcp_latched = true;
		rtcp_start(ms->rtp, RTCP_CNAME, &ms->rtcpdst);
	}

	if (msg->hdr.pt == RTCP_SR && msg->hdr.count > 0 && msg->r.sr.rrv) {
		ms->st.remote_lost = msg->r.sr.rrv[0].lost;
		ms->st.remote_jitter_ms = msg->r.sr.rrv[0].jitter * 1000.0 /
			(ms->res.codec ? ms->res.codec->clock : 8000);
	}
	else if (msg->hdr.pt == RTCP_RR && msg->hdr.count > 0 &&
		 msg->r.rr.rrv) {
		ms->st.remote_lost = msg->r.rr.rrv[0].lost;
		ms->st.remote_jitter_ms = msg->r.rr.rrv[0].jitter * 1000.0 /
			(ms->res.codec ? ms->res.codec->clock : 8000);
	}
}


int mstream_alloc(struct mstream **msp, const struct mstream_cfg *cfg,
		  const char *callid, mstream_timeout_h *timeouth, void *arg)
{
	struct mstream *ms;
	int err;

	if (!msp || !cfg)
		return EINVAL;

	ms = mem_zalloc(sizeof(*ms), destructor);
	if (!ms)
		return ENOMEM;

	ms->cfg = *cfg;
	ms->cfg.record_path = NULL;
	str_ncpy(ms->callid, callid ? callid : "-", sizeof(ms->callid));
	ms->timeouth = timeouth;
	ms->arg = arg;

	if (cfg->record_path) {
		err = str_dup(&ms->record_path, cfg->record_path);
		if (err)
			goto out;
	}

	/* owned copies: the configuration may be reloaded mid-call */
	err = 0;
	{
		const char *ice[4] = {cfg->ice_stun_urls, cfg->ice_turn_urls,
				      cfg->ice_turn_user, cfg->ice_turn_pass};
		for (size_t i = 0; i < ARRAY_SIZE(ice) && !err; i++) {
			if (str_isset(ice[i]))
				err = str_dup(&ms->ice[i], ice[i]);
		}
		if (err)
			goto out;
		ms->cfg.ice_stun_urls = ms->ice[0];
		ms->cfg.ice_turn_urls = ms->ice[1];
		ms->cfg.ice_turn_user = ms->ice[2];
		ms->cfg.ice_turn_pass = ms->ice[3];
	}

	err = rtp_listen(&ms->rtp, IPPROTO_UDP, &cfg->laddr, cfg->port_min,
			 cfg->port_max, true, rtp_recv_handler,
			 rtcp_recv_handler, ms);
	if (err) {
		log_warn(MOD, ms->callid, "no free RTP port in %u-%u: %m",
			 cfg->port_min, cfg->port_max, err);
		goto out;
	}

	err  = udp_register_helper(&ms->uh_rtp, rtp_sock(ms->rtp), 10,
				   srtp_send_h, srtp_recv_h, ms);
	err |= udp_register_helper(&ms->uh_rtcp, rtcp_sock(ms->rtp), 10,
				   srtcp_send_h, srtcp_recv_h, ms);
	if (err)
		goto out;

	err  = playq_alloc(&ms->pq, (size_t)AUDIO_SRATE * PLAYQ_SECS);
	err |= dtmf_rx_alloc(&ms->dtmf_rx, 8000, dtmf_digit_handler, ms);
	err |= dtmf_tx_alloc(&ms->dtmf_tx, 8000);
	if (!err && cfg->dtmf_inband)
		err = dtmf_inband_alloc(&ms->inband, inband_digit_handler,
					ms);
	if (err)
		goto out;

	ms->cfg.prefs.webrtc = cfg->webrtc;
	ms->cfg.prefs.ssrc = rtp_sess_ssrc(ms->rtp);
	ms->dtmf_clock = 8000;

	ms->txmb = mbuf_alloc(RTP_HDR + CODEC_MAX_PAYLOAD + SRTP_ROOM);
	if (!ms->txmb) {
		err = ENOMEM;
		goto out;
	}
	ms->tx_ts = rand_u32();

 out:
	if (err)
		mem_deref(ms);
	else
		*msp = ms;
	return err;
}


void mstream_set_audio_handler(struct mstream *ms, mstream_audio_h *h,
			       void *arg)
{
	if (!ms)
		return;
	ms->audioh = h;
	ms->audio_arg = arg;
}


void mstream_set_dtmf_handler(struct mstream *ms, mstream_dtmf_h *h,
			      void *arg)
{
	if (!ms)
		return;
	ms->dtmfh = h;
	ms->dtmf_arg = arg;
}


void mstream_set_sent_handler(struct mstream *ms, mstream_audio_h *h,
			      void *arg)
{
	if (!ms)
		return;
	ms->senth = h;
	ms->sent_arg = arg;
}


void mstream_set_fail_handler(struct mstream *ms, mstream_fail_h *h,
			      void *arg)
{
	if (!ms)
		return;
	ms->failh = h;
	ms->fail_arg = arg;
}


void mstream_set_tap(struct mstream *ms, mstream_tap_h *h, void *arg)
{
	if (!ms)
		return;
	ms->taph = h;
	ms->tap_arg = arg;
}


struct playq *mstream_playq(const struct mstream *ms)
{
	return ms ? ms->pq : NULL;
}


uint16_t mstream_lport(const struct mstream *ms)
{
	return ms ? sa_port(rtp_local(ms->rtp)) : 0;
}


static void local_addr(const struct mstream *ms, struct sa *laddr)
{
	*laddr = ms->cfg.laddr;
	sa_set_port(laddr, mstream_lport(ms));
}


static void fail(struct mstream *ms, int err, const char *reason)
{
	if (ms->failed)
		return;
	ms->failed = true;
	if (err == ECONNRESET)
		log_info(MOD, ms->callid, "media ended: %s", reason);
	else
		log_warn(MOD, ms->callid, "media failed: %s", reason);
	if (ms->failh)
		ms->failh(err, reason, ms->fail_arg);
}


static void wrtc_estab_handler(const struct wrtc_keys *keys, void *arg)
{
	struct mstream *ms = arg;
	struct srtp *tx = NULL, *rx = NULL;
	int err;

	err  = srtp_alloc(&tx, keys->suite, keys->tx, keys->txlen, 0);
	err |= srtp_alloc(&rx, keys->suite, keys->rx, keys->rxlen, 0);
	if (err) {
		mem_deref(tx);
		mem_deref(rx);
		fail(ms, err ? err : EINVAL, "SRTP setup failed");
		return;
	}
	mem_deref(ms->srtp_tx);
	mem_deref(ms->srtp_rx);
	ms->srtp_tx = tx;
	ms->srtp_rx = rx;

	/* media to the checked address only */
	ms->txdst = keys->peer;
	ms->rtcpdst = keys->peer;
	ms->latched = ms->rtcp_latched = true;
	ms->wrtc_up = true;
	/* (libre's rtcp_enable fails on a NULL cname without scheduling) */
	if (ms->started)
		rtcp_start(ms->rtp, RTCP_CNAME, &ms->rtcpdst);

	log_info(MOD, ms->callid, "WebRTC media up: DTLS-SRTP %s, %s",
		 srtp_suite_name(keys->suite), ms->res.codec->name);
}


static void wrtc_close_handler(int err, const char *reason, void *arg)
{
	struct mstream *ms = arg;

	ms->wrtc_up = false;
	ms->srtp_tx = mem_deref(ms->srtp_tx);
	/* libre reports the peer's close_notify (an orderly end: its BYE is
	 * on the way) as ECONNRESET, alerts and timeouts otherwise */
	if (err == ECONNRESET)
		reason = "DTLS closed by the peer";
	fail(ms, err, reason ? reason : "WebRTC transport closed");
}


/* WebRTC: one wrtc per ICE/DTLS session; a re-negotiation with the same
 * credentials, fingerprint and DTLS role keeps it (hold, re-INVITE). */
static int webrtc_apply(struct mstream *ms, const struct sdpneg_result *res)
{
	struct wrtc_params p;
	struct wrtc *w = NULL;
	int err;

	if (ms->wrtc && ms->webrtc && res->role == ms->res.role &&
	    !strcmp(res->rufrag, ms->res.rufrag) &&
	    !strcmp(res->rpwd, ms->res.rpwd) &&
	    !strcmp(res->rfp, ms->res.rfp))
		return 0;

	memset(&p, 0, sizeof(p));
	p.lufrag = res->lufrag;
	p.lpwd = res->lpwd;
	p.rufrag = res->rufrag;
	p.rpwd = res->rpwd;
	p.rfp_alg = res->rfp_alg;
	p.rfp = res->rfp;
	p.role = res->role;
	/* who made the first offer runs full ICE (towards a gateway or
	 * another full agent); answering first, we are ICE-lite like a
	 * server (sdpneg keeps that in lfull for later re-offers) */
	p.controlling = res->lfull;
	p.lite = !res->lfull;
	p.rcandv = res->rcandv;
	p.rcandc = res->rcandc;
	p.consent_timeout_ms = ms->cfg.ice_consent_ms;

	err = wrtc_alloc(&w, rtp_sock(ms->rtp), &p, wrtc_estab_handler, NULL,
			 wrtc_close_handler, ms);
	if (err) {
		log_warn(MOD, ms->callid, "WebRTC transport: %m", err);
		return err;
	}
	/* our offer carried the relayed candidate: check through it too */
	if (ms->gather && !ms->gathering && !p.lite) {
		err = wrtc_set_relay(w, ms->gather);
		if (err)
			log_warn(MOD, ms->callid, "TURN relay not used: %m",
				 err);
		err = 0;
	}

	mem_deref(ms->wrtc);
	ms->wrtc = w;
	ms->wrtc_up = false;
	ms->srtp_tx = mem_deref(ms->srtp_tx);
	ms->srtp_rx = mem_deref(ms->srtp_rx);
	memset(&ms->txdst, 0, sizeof(ms->txdst));
	memset(&ms->rtcpdst, 0, sizeof(ms->rtcpdst));
	rtcp_enable_mux(ms->rtp, true);
	ms->webrtc = true;
	return 0;
}


/* telephone-event runs at the codec's RTP clock (48 kHz with Opus) */
static int dtmf_clock_apply(struct mstream *ms, uint32_t clock)
{
	struct dtmf_rx *rx = NULL;
	struct dtmf_tx *tx = NULL;
	int err;

	if (!clock || clock == ms->dtmf_clock)
		return 0;

	err  = dtmf_rx_alloc(&rx, clock, dtmf_digit_handler, ms);
	err |= dtmf_tx_alloc(&tx, clock);
	if (err) {
		mem_deref(rx);
		mem_deref(tx);
		return err;
	}
	mem_deref(ms->dtmf_rx);
	mem_deref(ms->dtmf_tx);
	ms->dtmf_rx = rx;
	ms->dtmf_tx = tx;
	ms->dtmf_clock = clock;
	return 0;
}


/* Apply a negotiation result: codec, jitter buffer, SRTP, destination. */
static int apply_media(struct mstream *ms, const struct sdpneg_result *res)
{
	const struct codec_info *prev = ms->res.codec;
	int err = 0;

	if (ms->webrtc && !res->webrtc)
		return EPROTO;  /* no way back to plain RTP on this socket */
	if (res->webrtc) {
		err = webrtc_apply(ms, res);
		if (err)
			return err;
	}
	/* events share the audio's RTP timestamps: the codec's clock
	 * (8000 for G.711 and G.722 as before, 48000 for Opus) */
	err = dtmf_clock_apply(ms, res->codec->clock);
	if (err)
		return err;

	if (!ms->codec || prev != res->codec) {
		struct codec_state *cs = NULL;
		err = codec_state_alloc(&cs, res->codec);
		if (err)
			return err;
		mem_deref(ms->codec);
		ms->codec = cs;
	}
	err = codec_opus_set(ms->codec, res->opus_maxbitrate, res->opus_fec);
	if (err)
		return err;

	if (!ms->jb) {
		unsigned minf = ms->cfg.jitter_min_ms / AUDIO_PTIME;
		unsigned maxf = ms->cfg.jitter_max_ms / AUDIO_PTIME;
		if (maxf < minf + 2)
			maxf = minf + 2;
		err = jitbuf_alloc(&ms->jb, minf, maxf, CODEC_MAX_PAYLOAD);
		if (err)
			return err;
	}
	else if (prev != res->codec) {
		jitbuf_flush(ms->jb);
	}

	if (res->webrtc) {
		/* keys come from DTLS (wrtc_estab_handler) */
	}
	else if (res->srtp) {
		bool rekey = !ms->srtp_tx || ms->srtp_suite != res->suite ||
			memcmp(ms->srtp_lkey, res->lkey, SRTP_KEYLEN) ||
			memcmp(ms->srtp_rkey, res->rkey, SRTP_KEYLEN);
		if (rekey) {
			struct srtp *tx = NULL, *rx = NULL;
			err  = srtp_alloc(&tx, res->suite, res->lkey,
					  SRTP_KEYLEN, 0);
			err |= srtp_alloc(&rx, res->suite, res->rkey,
					  SRTP_KEYLEN, 0);
			if (err) {
				mem_deref(tx);
				mem_deref(rx);
				return err ? err : EINVAL;
			}
			mem_deref(ms->srtp_tx);
			mem_deref(ms->srtp_rx);
			ms->srtp_tx = tx;
			ms->srtp_rx = rx;
			ms->srtp_suite = res->suite;
			memcpy(ms->srtp_lkey, res->lkey, SRTP_KEYLEN);
			memcpy(ms->srtp_rkey, res->rkey, SRTP_KEYLEN);
		}
	}
	else {
		ms->srtp_tx = mem_deref(ms->srtp_tx);
		ms->srtp_rx = mem_deref(ms->srtp_rx);
	}

	/* a new remote address from signalling replaces a latched one
	 * (WebRTC: never; the ICE check decides) */
	if (!res->webrtc && (!ms->have_media ||
			     !sa_cmp(&res->raddr, &ms->res.raddr, SA_ALL))) {
		ms->txdst = res->raddr;
		ms->rtcpdst = res->raddr_rtcp;
		ms->latched = false;
		ms->rtcp_latched = false;
		ms->latch_until_ms = 0;
		if (ms->started && sa_isset(&ms->rtcpdst, SA_ALL))
			rtcp_start(ms->rtp, RTCP_CNAME, &ms->rtcpdst);
	}

	ms->res = *res;
	ms->have_media = true;
	rtcp_set_srate(ms->rtp, res->codec->clock, res->codec->clock);
	return 0;
}


/* Our DTLS certificate's fingerprint for the SDP; the certificate is
 * made at start-up (main), or here on first use (tests, tools). */
static bool offer_is_webrtc(const struct mbuf *offer)
{
	static const char proto[] = " UDP/TLS/RTP/SAVPF ";

	return memmem(mbuf_buf(offer), mbuf_get_left(offer), proto,
		      sizeof(proto) - 1) != NULL;
}


static void gather_handler(int err, const struct sa *srflx,
			   const struct sa *relay, void *arg)
{
	struct mstream *ms = arg;
	mstream_ready_h *readyh = ms->readyh;

	ms->gathering = false;
	ms->readyh = NULL;
	if (srflx) {
		ms->cfg.prefs.srflx = *srflx;
		log_debug(MOD, ms->callid, "server-reflexive candidate %J",
			  srflx);
	}
	if (relay) {
		/* the gather owns the allocation and refreshes it: it lives
		 * as long as the stream (webrtc_apply hands it to the wrtc) */
		ms->cfg.prefs.relay = *relay;
		log_info(MOD, ms->callid, "TURN relay candidate %J", relay);
	}
	else {
		ms->gather = mem_deref(ms->gather);
	}
	if (err) {
		log_info(MOD, ms->callid, "ICE gathering: %m (server-reflexive"
			 " %s, relay %s)", err, srflx ? "yes" : "no",
			 relay ? "yes" : "no");
	}
	if (readyh)
		readyh(err, ms->ready_arg);
}


int mstream_gather(struct mstream *ms, mstream_ready_h *readyh, void *arg)
{
	int err;

	if (!ms || !readyh)
		return EINVAL;
	if (ms->gather || ms->gathering)
		return EALREADY;

	ms->readyh = readyh;
	ms->ready_arg = arg;
	if (!ms->ice[0] && !ms->ice[1]) {
		readyh(0, arg);
		return 0;
	}

	ms->gathering = true;
	err = wrtc_gather(&ms->gather, rtp_sock(ms->rtp), ms->ice[0],
			  ms->ice[1], ms->ice[2], ms->ice[3], 0,
			  gather_handler, ms);
	if (err) {
		ms->readyh = NULL;
		ms->gathering = false;
	}
	return err;
}


int mstream_offer(struct mstream *ms, struct mbuf **mbp)
{
	struct sdp_session *sess = NULL;
	struct sa laddr;
	int err;

	if (!ms || !mbp)
		return EINVAL;

	if (ms->cfg.prefs.webrtc) {
		ms->cfg.prefs.fingerprint = wrtc_fingerprint();
		if (!ms->cfg.prefs.fingerprint)
			return ENOENT;
	}
	local_addr(ms, &laddr);
	err = sdpneg_offer(&sess, mbp, &laddr, &ms->cfg.prefs, &ms->res);
	if (err)
		return err;
	mem_deref(ms->sdp);
	ms->sdp = sess;
	return 0;
}


/* A re-INVITE offer from the session we already have (same o= id, next
 * version): a=sendonly to hold the peer, a=sendrecv to resume.  While we
 * hold, nothing is sent (the playout queue still drains). */
int mstream_reoffer(struct mstream *ms, bool hold, struct mbuf **mbp)
{
	struct sdp_media *m;
	int err;

	if (!ms || !mbp)
		return EINVAL;
	if (!ms->sdp || !ms->have_media)
		return ENOTCONN;

	m = list_ledata(list_head(sdp_session_medial(ms->sdp, false)));
	if (!m)
		m = list_ledata(list_head(sdp_session_medial(ms->sdp, true)));
	if (!m)
		return ENOTCONN;
	sdp_media_set_ldir(m, hold ? SDP_SENDONLY : SDP_SENDRECV);
	err = sdp_encode(mbp, ms->sdp, true);
	if (err)
		return err;
	ms->local_hold = hold;
	return 0;
}


/* Our answer to a re-INVITE that came while we hold the peer: the
 * session's direction stays a=sendonly (libre answers the intersection
 * with the offer: inactive when they hold us too), so the peer does not
 * resume sending behind our back and the RTP watchdog stays paused. */
int mstream_hold_answer(struct mstream *ms, struct mbuf **mbp)
{
	struct sdp_media *m;
	int err;

	if (!ms || !mbp)
		return EINVAL;
	if (!ms->sdp || !ms->have_media)
		return ENOTCONN;
	m = list_ledata(list_head(sdp_session_medial(ms->sdp, false)));
	if (!m)
		m = list_ledata(list_head(sdp_session_medial(ms->sdp, true)));
	if (!m)
		return ENOTCONN;
	sdp_media_set_ldir(m, SDP_SENDONLY);
	err = sdp_encode(mbp, ms->sdp, false);
	if (err)
		return err;
	ms->res.dir = sdp_media_dir(m);
	return 0;
}


bool mstream_local_hold(const struct mstream *ms)
{
	return ms && ms->local_hold;
}


int mstream_answer_decode(struct mstream *ms, struct mbuf *mb)
{
	struct sdpneg_result res;
	int err;

	if (!ms || !mb || !ms->sdp)
		return EINVAL;

	res = ms->res;
	err = sdpneg_decode_answer(ms->sdp, mb, &ms->cfg.prefs, &res);
	if (err)
		return err;
	return apply_media(ms, &res);
}


int mstream_offer_decode(struct mstream *ms, struct mbuf *offer,
			 struct mbuf **answerp, uint16_t *scodep,
			 const char **reasonp)
{
	struct sdp_session *sess = NULL;
	struct sdpneg_result res;
	struct sa laddr;
	int err;

	if (!ms || !offer || !answerp || !scodep)
		return EINVAL;

	res = ms->res;
	local_addr(ms, &laddr);
	if (offer_is_webrtc(offer))
		ms->cfg.prefs.fingerprint = wrtc_fingerprint();
	err = sdpneg_answer(&sess, answerp, &laddr, &ms->cfg.prefs, offer,
			    ms->have_media && ms->srtp_tx != NULL, &res,
			    scodep, reasonp);
	if (err)
		return err;

	err = apply_media(ms, &res);
	if (err) {
		*answerp = mem_deref(*answerp);
		mem_deref(sess);
		*scodep = 500;
		return err;
	}
	mem_deref(ms->sdp);
	ms->sdp = sess;
	return 0;
}


const struct sdpneg_result *mstream_media(const struct mstream *ms)
{
	return ms && ms->have_media ? &ms->res : NULL;
}


static void clock_leave(struct mstream *ms)
{
	if (ms->started && mclock.nslot[ms->slot])
		mclock.nslot[ms->slot]--;
	list_unlink(&ms->le);
}


void mstream_stop(struct mstream *ms)
{
	if (!ms)
		return;
	clock_leave(ms);
	ms->audioh = NULL;
	ms->senth = NULL;
	ms->dtmfh = NULL;
	ms->timeouth = NULL;
	ms->failh = NULL;
	ms->taph = NULL;
	ms->started = false;
	ms->have_media = false;
}


bool mstream_started(const struct mstream *ms)
{
	return ms && ms->started;
}


size_t mstream_play(struct mstream *ms, const int16_t *pcm, size_t n)
{
	return ms ? playq_push(ms->pq, pcm, n) : 0;
}


void mstream_flush(struct mstream *ms, unsigned fade_ms)
{
	if (ms)
		playq_flush(ms->pq, (size_t)fade_ms * AUDIO_SRATE / 1000);
}


size_t mstream_play_level(const struct mstream *ms)
{
	return ms ? playq_level(ms->pq) : 0;
}


int mstream_send_dtmf(struct mstream *ms, const char *digits)
{
	if (!ms)
		return EINVAL;
	if (!ms->have_media || ms->res.te_tx_pt < 0)
		return ENOTSUP;
	return dtmf_tx_queue(ms->dtmf_tx, digits);
}


void mstream_stats(const struct mstream *ms, struct mstream_stats *st)
{
	struct jitbuf_stats js;
	struct rtcp_stats rs;

	if (!ms || !st)
		return;
	*st = ms->st;
	if (ms->jb) {
		jitbuf_stats(ms->jb, &js);
		st->lost = js.n_lost;
	}
	memset(&rs, 0, sizeof(rs));
	if (ms->rtp && 0 == rtcp_stats(ms->rtp, rtp_sess_ssrc(ms->rtp), &rs))
		st->jitter_ms = rs.rx.jit / 1000.0;
}


static bool can_send(const struct mstream *ms)
{
	return ms->have_media && !ms->local_hold &&
		(!ms->webrtc || ms->wrtc_up) &&
		(ms->res.dir & SDP_SENDONLY) &&
		sa_isset(&ms->txdst, SA_ALL) &&
		!sa_is_any(&ms->txdst);
}


static void send_packet(struct mstream *ms, uint8_t pt, bool marker,
			uint32_t ts, const uint8_t *payload, size_t len)
{
	struct mbuf *mb = ms->txmb;
	int err;

	mb->pos = RTP_HDR;
	mb->end = RTP_HDR;
	if (mbuf_write_mem(mb, payload, len))
		return;
	mb->pos = RTP_HDR;
	err = rtp_send(ms->rtp, &ms->txdst, false, marker, pt, ts, mb);
	if (err) {
		log_debug(MOD, ms->callid, "RTP send failed: %m", err);
		return;
	}
	ms->st.tx_packets++;
	ms->st.tx_bytes += len;
}


/* One 20 ms step of a stream: receive side then send side. */
static void mstream_tick(struct mstream *ms, uint64_t now_ms)
{
	int16_t rx[AUDIO_FRAME_SAMPLES], tx[AUDIO_FRAME_SAMPLES];
	uint8_t buf[CODEC_MAX_PAYLOAD];
	size_t len = sizeof(buf), n = AUDIO_FRAME_SAMPLES;
	uint64_t ts_ms = ms->frames * AUDIO_PTIME;
	const struct codec_info *ci = ms->res.codec;
	uint8_t ev[4];
	bool marker, end;
	uint32_t ago;

	++ms->frames;

	/* receive: jitter buffer → decoder → caller frame */
	switch (jitbuf_get(ms->jb, buf, &len)) {

	case JITBUF_FRAME:
		if (codec_decode(ms->codec, buf, len, rx, &n) ||
		    n != AUDIO_FRAME_SAMPLES) {
			memset(rx, 0, sizeof(rx));
		}
		break;

	case JITBUF_LOST:
		ms->st.concealed++;
		/* Opus: a single loss comes back from the FEC copy in the
		 * next packet, when that one is already here */
		len = sizeof(buf);
		if (ci->id == CODEC_OPUS &&
		    0 == jitbuf_peek(ms->jb, buf, &len)) {
			if (codec_conceal_fec(ms->codec, buf, len, rx))
				memset(rx, 0, sizeof(rx));
		}
		else if (codec_conceal(ms->codec, rx)) {
			memset(rx, 0, sizeof(rx));
		}
		break;

	default:
		memset(rx, 0, sizeof(rx));
		break;
	}

	if (ms->inband && ms->res.te_rx_pt < 0) {
		/* quiet frames carry no digit: feed the first one (it ends a
		 * tone) and skip the rest, which saves most of the cost */
		int peak = 0;
		for (size_t i = 0; i < AUDIO_FRAME_SAMPLES; i++) {
			int v = rx[i] < 0 ? -rx[i] : rx[i];
			if (v > peak)
				peak = v;
		}
		if (peak > INBAND_MIN_PEAK || !ms->inband_quiet)
			dtmf_inband_feed(ms->inband, rx, AUDIO_FRAME_SAMPLES);
		ms->inband_quiet = peak <= INBAND_MIN_PEAK;
	}

	if (ms->audioh)
		ms->audioh(rx, AUDIO_FRAME_SAMPLES, ts_ms, ms->audio_arg);

	/* send: playout queue → encoder → RTP (or a DTMF event) */
	(void)playq_pull(ms->pq, tx, AUDIO_FRAME_SAMPLES);
	ms->tx_ts += ci->ts_per_frame;

	if (ms->senth || ms->taph) {
		static const int16_t silence[AUDIO_FRAME_SAMPLES];
		const int16_t *sent = can_send(ms) ? tx : silence;

		if (ms->senth)
			ms->senth(sent, AUDIO_FRAME_SAMPLES, ts_ms,
				  ms->sent_arg);
		if (ms->taph)
			ms->taph(rx, sent, AUDIO_FRAME_SAMPLES, ms->tap_arg);
	}

	if (can_send(ms)) {
		if (dtmf_tx_busy(ms->dtmf_tx) &&
		    dtmf_tx_poll(ms->dtmf_tx, ev, &marker, &ago, &end)) {
			send_packet(ms, (uint8_t)ms->res.te_tx_pt, marker,
				    ms->tx_ts - ago * ci->ts_per_frame,
				    ev, sizeof(ev));
		}
		else {
			len = sizeof(buf);
			if (0 == codec_encode(ms->codec, tx, buf, &len))
				send_packet(ms, (uint8_t)ms->res.tx_pt,
					    ms->frames == 1, ms->tx_ts,
					    buf, len);
		}
	}

	if (ms->rec) {
		int16_t st[AUDIO_FRAME_SAMPLES * 2];
		for (size_t i = 0; i < AUDIO_FRAME_SAMPLES; i++) {
			st[2*i] = rx[i];
			st[2*i + 1] = tx[i];
		}
		(void)wav_writer_write(ms->rec, st, AUDIO_FRAME_SAMPLES);
	}

	/* RTP inactivity watchdog (not while the peer holds us) */
	if (!ms->timed_out && ms->timeouth && (ms->res.dir & SDP_RECVONLY) &&
	    now_ms - ms->last_rx_ms > ms->cfg.rtp_timeout_secs * 1000ull) {
		ms->timed_out = true;
		ms->timeouth(ms->arg);
	}
	else if (!(ms->res.dir & SDP_RECVONLY)) {
		ms->last_rx_ms = now_ms;
	}
}


/* Arm the timerfd for the pacer's next deadline (absolute, monotonic). */
static void mclock_arm(void)
{
	struct itimerspec its;
	uint64_t next = mclock.pacer.next_us;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(next / 1000000);
	its.it_value.tv_nsec = (long)(next % 1000000) * 1000;
	if (timerfd_settime(mclock.tfd, TFD_TIMER_ABSTIME, &its, NULL))
		log_error(MOD, NULL, "media clock: timerfd_settime failed");
}


/* The media clock is a timerfd, not a libre timer: libre 1.1.0 keeps its
 * timers in one sorted list, so re-arming a 5 ms timer among thousands of
 * per-call timers costs a walk of the list every time; a timerfd also
 * wakes us with microsecond precision. */
static void mclock_handler(int flags, void *arg)
{
	uint64_t now, expirations;
	struct le *le;
	(void)flags;
	(void)arg;

	if (read(mclock.tfd, &expirations, sizeof(expirations)) < 0) {
		/* EAGAIN: spurious wake-up */
	}

	now = now_us();
	mclock.now_ms = now / 1000;
	if (pacer_due(&mclock.pacer, now, NULL)) {

		/* each tick serves one slot: a stream is served every
		 * MCLOCK_SLOTS ticks = 20 ms, and a tick's work is a quarter
		 * of all streams, so late streams in a long list do not
		 * wander */
		le = mclock.streams[mclock.cur].head;
		while (le) {
			struct mstream *ms = le->data;
			le = le->next;   /* the handler may end the call */
			mstream_tick(ms, now / 1000);
		}
		mclock.cur = (mclock.cur + 1) % MCLOCK_SLOTS;
	}
	mclock_arm();
}


int mclock_init(void)
{
	int err;

	for (unsigned i = 0; i < MCLOCK_SLOTS; i++) {
		list_init(&mclock.streams[i]);
		mclock.nslot[i] = 0;
	}
	mclock.cur = 0;
	mclock.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
				    TFD_CLOEXEC);
	if (mclock.tfd < 0)
		return errno;
	/* a wake-up comes when due: nothing early to accept */
	pacer_init(&mclock.pacer, now_us(),
		   AUDIO_PTIME * 1000 / MCLOCK_SLOTS);
	err = fd_listen(mclock.tfd, FD_READ, mclock_handler, NULL);
	if (err) {
		close(mclock.tfd);
		mclock.tfd = -1;
		return err;
	}
	mclock_arm();
	return 0;
}


void mclock_close(void)
{
	if (mclock.tfd >= 0) {
		fd_close(mclock.tfd);
		close(mclock.tfd);
		mclock.tfd = -1;
	}
}



int mstream_start(struct mstream *ms)
{
	int err;

	if (!ms || !ms->have_media)
		return EINVAL;
	if (ms->started)
		return 0;

	if (ms->record_path && !ms->rec) {
		err = wav_writer_open(&ms->rec, ms->record_path, AUDIO_SRATE,
				      2);
		if (err)
			log_warn(MOD, ms->callid,
				 "cannot record call: %m", err);
	}

	rtcp_start(ms->rtp, RTCP_CNAME, sa_isset(&ms->rtcpdst, SA_ALL) ?
		   &ms->rtcpdst : NULL);
	ms->start_ms = now_us() / 1000;
	mclock.now_ms = ms->start_ms;
	ms->last_rx_ms = ms->start_ms;
	ms->started = true;
	/* the least busy slot */
	ms->slot = 0;
	for (unsigned i = 1; i < MCLOCK_SLOTS; i++) {
		if (mclock.nslot[i] < mclock.nslot[ms->slot])
			ms->slot = i;
	}
	mclock.nslot[ms->slot]++;
	list_append(&mclock.streams[ms->slot], &ms->le, ms);
	return 0;
}
