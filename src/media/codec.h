/*
 * codec.h  Audio codecs for RTP (G.722, PCMU, PCMA, Opus) behind one
 *          interface.
 *
 * The pipeline side always sees 20 ms frames of 16-bit PCM at 16 kHz
 * (AUDIO_FRAME_SAMPLES samples); a codec_state converts to and from the
 * codec's own rate (speexdsp resampler for G.711's 8 kHz; libopus runs at
 * 16 kHz natively while its RTP clock stays 48 kHz, RFC 7587).
 * A codec_state belongs to one call and is used by one thread at a time.
 */
#ifndef AGENTLINE_CODEC_H
#define AGENTLINE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	AUDIO_SRATE = 16000,
	AUDIO_PTIME = 20,
	AUDIO_FRAME_SAMPLES = AUDIO_SRATE * AUDIO_PTIME / 1000, /* 320 */
	CODEC_MAX_PAYLOAD = 1500,
};

enum codec_id {
	CODEC_G722 = 0,
	CODEC_PCMU,
	CODEC_PCMA,
	CODEC_OPUS,            /* dynamic pt: the negotiated one is in
				  sdpneg_result                        */
	CODEC_COUNT
};

struct codec_info {
	enum codec_id id;
	const char *name;      /* SDP encoding name: "G722", "PCMU", "PCMA",
				  "opus"                                */
	int pt;                /* static (or default dynamic) payload type  */
	uint32_t clock;        /* RTP clock rate (8000 for G.722, RFC 3551) */
	uint32_t srate;        /* real sample rate of the codec             */
	uint32_t ts_per_frame; /* RTP timestamp increment per 20 ms frame   */
};

struct codec_state;

const struct codec_info *codec_info(enum codec_id id);
/* Case-insensitive lookup by SDP name; NULL if unsupported. */
const struct codec_info *codec_find(const char *name);

int  codec_state_alloc(struct codec_state **csp, const struct codec_info *ci);
const struct codec_info *codec_state_info(const struct codec_state *cs);
/* Encode one 20 ms frame (AUDIO_FRAME_SAMPLES at 16 kHz). *lenp in: room,
 * out: bytes written. */
int  codec_encode(struct codec_state *cs, const int16_t *pcm,
		  uint8_t *out, size_t *lenp);
/* Decode one RTP payload into 16 kHz PCM; *np in: room, out: samples.
 * Malformed/oversized payloads return EBADMSG and leave state usable. */
int  codec_decode(struct codec_state *cs, const uint8_t *in, size_t len,
		  int16_t *pcm, size_t *np);
/* Opus: what the far end asked for (RFC 7587 fmtp): an average bitrate
 * cap (0 = ours, 24 kbit/s; at least 6000) and in-band FEC on or off.
 * 0 and nothing done for other codecs. */
int  codec_opus_set(struct codec_state *cs, uint32_t maxbitrate, bool fec);
/* Produce one concealment frame (AUDIO_FRAME_SAMPLES) for a lost packet. */
int  codec_conceal(struct codec_state *cs, int16_t *pcm);
/* Like codec_conceal, for a single lost packet when the next one (next,
 * len) is already here: Opus decodes the in-band FEC copy it carries
 * (falling back to its PLC when it has none); other codecs conceal. */
int  codec_conceal_fec(struct codec_state *cs, const uint8_t *next,
		       size_t len, int16_t *pcm);

#endif
