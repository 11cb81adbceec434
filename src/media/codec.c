/*
 * codec.c  G.722, PCMU and PCMA on 20 ms frames of 16 kHz PCM.
 *
 * G.722 runs natively at 16 kHz (spandsp, 64 kbit/s). G.711 runs at 8 kHz
 * (librem tables) with one speexdsp resampler per direction, so filter
 * memory carries across frames and there is no click at frame edges.
 *
 * Concealment is the same for all codecs and works on the 16 kHz output:
 * the pitch period of the last 40 ms is found by normalised
 * autocorrelation and repeated (the classic G.711 Appendix I idea), with
 * a gain that falls from 1 to 0 over PLC_FADE_FRAMES lost frames; the
 * first good frame after a loss is cross-faded in. The decoders are not
 * advanced during a loss, which is what most endpoints do as well.
 * (spandsp's plc is not used: its plc_fillin memcpy()s overlapping
 * buffers, which ASan rightly reports.)
 *
 * Opus (RFC 7587) runs at 16 kHz inside libopus: the RTP clock is 48 kHz
 * (960 per 20 ms frame) whatever the internal rate, and a mono 16 kHz
 * decoder takes any Opus stream, stereo included (libopus downmixes).
 * Our encoder sends mono wideband speech with in-band FEC (LBRR); a
 * single loss is rebuilt from the FEC copy in the next packet
 * (codec_conceal_fec), longer losses use libopus's own concealment. A
 * sender using DTX simply sends nothing: that is a gap, not a loss, and
 * the stream plays silence for it.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include <rem.h>
#include <spandsp/telephony.h>
#include <spandsp/g722.h>
#include <speex/speex_resampler.h>
#include <opus.h>
#include "media/codec.h"

enum {
	G711_FRAME = AUDIO_FRAME_SAMPLES / 2,   /* 160 at 8 kHz */
	RESAMPLE_QUALITY = 1,                   /* 16 taps: ample for 300-3400 Hz */
	PLC_HIST = 2 * AUDIO_FRAME_SAMPLES,     /* 40 ms of output */
	PLC_MIN_PITCH = 40,                     /* 400 Hz */
	PLC_MAX_PITCH = 320,                    /* 50 Hz */
	PLC_WINDOW = 160,                       /* correlation window */
	PLC_FADE_FRAMES = 5,                    /* 100 ms to silence */
	PLC_XFADE = 48,                         /* 3 ms fade back in */
	OPUS_BITRATE = 24000,                   /* wideband speech + LBRR */
	OPUS_COMPLEXITY = 5,
	OPUS_LOSS_PERC = 10,                    /* what LBRR is sized for */
	OPUS_MAX_FRAME = AUDIO_SRATE * 120 / 1000, /* 120 ms packet */
};

struct codec_state {
	const struct codec_info *ci;

	/* G.722 */
	g722_encode_state_t *g722_enc;
	g722_decode_state_t *g722_dec;

	/* G.711 */
	SpeexResamplerState *down;              /* 16k -> 8k, encoder */
	SpeexResamplerState *up;                /* 8k -> 16k, decoder */

	/* Opus */
	OpusEncoder *opus_enc;
	OpusDecoder *opus_dec;

	/* concealment */
	int16_t hist[PLC_HIST];                 /* last decoded output */
	size_t hist_n;                          /* valid samples in hist */
	unsigned pitch;                         /* period being repeated */
	unsigned phase;                         /* position in that period */
	unsigned n_lost;                        /* consecutive concealed */
};

static const struct codec_info codecs[CODEC_COUNT] = {
	{CODEC_G722, "G722", 9, 8000, 16000, 160},
	{CODEC_PCMU, "PCMU", 0, 8000,  8000, 160},
	{CODEC_PCMA, "PCMA", 8, 8000,  8000, 160},
	{CODEC_OPUS, "opus", 111, 48000, 48000, 960},
};


const struct codec_info *codec_info(enum codec_id id)
{
	if ((unsigned)id >= CODEC_COUNT)
		return NULL;

	return &codecs[id];
}


const struct codec_info *codec_find(const char *name)
{
	if (!name)
		return NULL;

	for (size_t i = 0; i < CODEC_COUNT; i++) {
		if (0 == str_casecmp(name, codecs[i].name))
			return &codecs[i];
	}

	return NULL;
}


static void destructor(void *arg)
{
	struct codec_state *cs = arg;

	if (cs->g722_enc)
		g722_encode_free(cs->g722_enc);
	if (cs->g722_dec)
		g722_decode_free(cs->g722_dec);
	if (cs->down)
		speex_resampler_destroy(cs->down);
	if (cs->up)
		speex_resampler_destroy(cs->up);
	if (cs->opus_enc)
		opus_encoder_destroy(cs->opus_enc);
	if (cs->opus_dec)
		opus_decoder_destroy(cs->opus_dec);
}


static int opus_setup(struct codec_state *cs)
{
	int oerr;

	cs->opus_enc = opus_encoder_create(AUDIO_SRATE, 1,
					   OPUS_APPLICATION_VOIP, &oerr);
	if (!cs->opus_enc)
		return ENOMEM;
	cs->opus_dec = opus_decoder_create(AUDIO_SRATE, 1, &oerr);
	if (!cs->opus_dec)
		return ENOMEM;

	oerr  = opus_encoder_ctl(cs->opus_enc, OPUS_SET_BITRATE(OPUS_BITRATE));
	oerr |= opus_encoder_ctl(cs->opus_enc,
				 OPUS_SET_COMPLEXITY(OPUS_COMPLEXITY));
	oerr |= opus_encoder_ctl(cs->opus_enc, OPUS_SET_INBAND_FEC(1));
	oerr |= opus_encoder_ctl(cs->opus_enc,
				 OPUS_SET_PACKET_LOSS_PERC(OPUS_LOSS_PERC));
	oerr |= opus_encoder_ctl(cs->opus_enc,
				 OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	oerr |= opus_encoder_ctl(cs->opus_enc, OPUS_SET_DTX(0));

	return oerr == OPUS_OK ? 0 : EINVAL;
}


int codec_opus_set(struct codec_state *cs, uint32_t maxbitrate, bool fec)
{
	opus_int32 rate = OPUS_BITRATE;
	int oerr;

	if (!cs)
		return EINVAL;
	if (!cs->opus_enc)
		return 0;
	if (maxbitrate && maxbitrate < (uint32_t)rate)
		rate = maxbitrate < 6000 ? 6000 : (opus_int32)maxbitrate;

	oerr  = opus_encoder_ctl(cs->opus_enc, OPUS_SET_BITRATE(rate));
	oerr |= opus_encoder_ctl(cs->opus_enc, OPUS_SET_INBAND_FEC(fec));
	oerr |= opus_encoder_ctl(cs->opus_enc, OPUS_SET_PACKET_LOSS_PERC(
					 fec ? OPUS_LOSS_PERC : 0));
	return oerr == OPUS_OK ? 0 : EINVAL;
}


int codec_state_alloc(struct codec_state **csp, const struct codec_info *ci)
{
	struct codec_state *cs;
	int err = 0, serr;

	if (!csp || !ci || (unsigned)ci->id >= CODEC_COUNT ||
	    ci != &codecs[ci->id])
		return EINVAL;

	cs = mem_zalloc(sizeof(*cs), destructor);
	if (!cs)
		return ENOMEM;

	cs->ci = ci;

	switch (ci->id) {

	case CODEC_G722:
		cs->g722_enc = g722_encode_init(NULL, 64000, 0);
		cs->g722_dec = g722_decode_init(NULL, 64000, 0);
		if (!cs->g722_enc || !cs->g722_dec)
			err = ENOMEM;
		break;

	case CODEC_PCMU:
	case CODEC_PCMA:
		cs->down = speex_resampler_init(1, AUDIO_SRATE, 8000,
						RESAMPLE_QUALITY, &serr);
		cs->up = speex_resampler_init(1, 8000, AUDIO_SRATE,
					      RESAMPLE_QUALITY, &serr);
		if (!cs->down || !cs->up)
			err = ENOMEM;
		break;

	case CODEC_OPUS:
		err = opus_setup(cs);
		break;

	default:
		err = EINVAL;
		break;
	}

	if (err)
		mem_deref(cs);
	else
		*csp = cs;

	return err;
}


const struct codec_info *codec_state_info(const struct codec_state *cs)
{
	return cs ? cs->ci : NULL;
}


/* Resample exactly inc samples to exactly outc samples; the integer ratio
 * makes the resampler's output count match, padding is only defensive. */
static void resample(SpeexResamplerState *rs, const int16_t *in, size_t inc,
		     int16_t *out, size_t outc)
{
	spx_uint32_t ilen = (spx_uint32_t)inc;
	spx_uint32_t olen = (spx_uint32_t)outc;

	speex_resampler_process_int(rs, 0, in, &ilen, out, &olen);
	for (size_t i = olen; i < outc; i++)
		out[i] = olen ? out[olen - 1] : 0;
}


/* Any thread, one at a time per codec_state. */
int codec_encode(struct codec_state *cs, const int16_t *pcm,
		 uint8_t *out, size_t *lenp)
{
	int16_t nb[G711_FRAME];
	int n;

	if (!cs || !pcm || !out || !lenp)
		return EINVAL;

	switch (cs->ci->id) {

	case CODEC_G722:
		if (*lenp < AUDIO_FRAME_SAMPLES / 2)
			return EOVERFLOW;
		n = g722_encode(cs->g722_enc, out, pcm, AUDIO_FRAME_SAMPLES);
		if (n < 0)
			return EPROTO;
		*lenp = (size_t)n;
		return 0;

	case CODEC_PCMU:
	case CODEC_PCMA:
		if (*lenp < G711_FRAME)
			return EOVERFLOW;
		resample(cs->down, pcm, AUDIO_FRAME_SAMPLES, nb, G711_FRAME);
		/* librem's encoders negate the sample: -32768 would give
		 * µ-law silence and an out-of-bounds A-law table read */
		for (size_t i = 0; i < G711_FRAME; i++) {
			if (nb[i] == INT16_MIN)
				nb[i] = -INT16_MAX;
		}
		if (cs->ci->id == CODEC_PCMU) {
			for (size_t i = 0; i < G711_FRAME; i++)
				out[i] = g711_pcm2ulaw(nb[i]);
		}
		else {
			for (size_t i = 0; i < G711_FRAME; i++)
				out[i] = g711_pcm2alaw(nb[i]);
		}
		*lenp = G711_FRAME;
		return 0;

	case CODEC_OPUS:
		n = opus_encode(cs->opus_enc, pcm, AUDIO_FRAME_SAMPLES, out,
				(opus_int32)(*lenp > CODEC_MAX_PAYLOAD ?
					     CODEC_MAX_PAYLOAD : *lenp));
		if (n == OPUS_BUFFER_TOO_SMALL)
			return EOVERFLOW;
		if (n <= 0)
			return EPROTO;
		*lenp = (size_t)n;
		return 0;

	default:
		return EINVAL;
	}
}


static void hist_push(struct codec_state *cs, const int16_t *pcm, size_t n)
{
	if (n >= PLC_HIST) {
		memcpy(cs->hist, pcm + n - PLC_HIST, sizeof(cs->hist));
		cs->hist_n = PLC_HIST;
		return;
	}

	memmove(cs->hist, cs->hist + n, (PLC_HIST - n) * sizeof(int16_t));
	memcpy(cs->hist + PLC_HIST - n, pcm, n * sizeof(int16_t));
	cs->hist_n = cs->hist_n + n > PLC_HIST ? PLC_HIST : cs->hist_n + n;
}


/* Lag with the best normalised correlation between the newest window of
 * the history and the window one lag earlier. */
static unsigned pitch_find(const struct codec_state *cs)
{
	const int16_t *end = cs->hist + PLC_HIST - PLC_WINDOW;
	unsigned best = PLC_MAX_PITCH;
	double best_score = -1;
	unsigned max = PLC_MAX_PITCH;

	if (max > PLC_HIST - PLC_WINDOW)
		max = PLC_HIST - PLC_WINDOW;

	for (unsigned lag = PLC_MIN_PITCH; lag <= max; lag++) {
		const int16_t *x = end - lag;
		double xy = 0, xx = 1;
		double score;

		for (unsigned i = 0; i < PLC_WINDOW; i++) {
			xy += (double)x[i] * end[i];
			xx += (double)x[i] * x[i];
		}
		score = xy > 0 ? xy * xy / xx : -xy * xy / xx;
		if (score > best_score) {
			best_score = score;
			best = lag;
		}
	}

	return best;
}


/* Next n samples of the repeated period at gains g0 -> g1 (Q15). */
static void plc_synth(struct codec_state *cs, int16_t *out, size_t n,
		      int32_t g0, int32_t g1)
{
	const int16_t *period = cs->hist + PLC_HIST - cs->pitch;

	for (size_t i = 0; i < n; i++) {
		int32_t g = g0 + (g1 - g0) * (int32_t)i / (int32_t)n;

		out[i] = (int16_t)((period[cs->phase] * g) >> 15);
		if (++cs->phase >= cs->pitch)
			cs->phase = 0;
	}
}


static int32_t plc_gain(unsigned lost)
{
	if (lost >= PLC_FADE_FRAMES)
		return 0;

	return 32768 * (int32_t)(PLC_FADE_FRAMES - lost) / PLC_FADE_FRAMES;
}


/* After a loss: fade from the concealment into the new audio. */
static void plc_recover(struct codec_state *cs, int16_t *pcm, size_t n)
{
	int16_t syn[PLC_XFADE];
	size_t k = n < PLC_XFADE ? n : PLC_XFADE;
	int32_t g = plc_gain(cs->n_lost);

	if (!cs->pitch || !g || !k)
		return;

	plc_synth(cs, syn, k, g, g);
	for (size_t i = 0; i < k; i++) {
		int32_t w = (int32_t)((i + 1) * 32768 / (k + 1));

		pcm[i] = (int16_t)((pcm[i] * w + syn[i] * (32768 - w)) >> 15);
	}
}


static int opus_dec(struct codec_state *cs, const uint8_t *in, size_t len,
		    int16_t *pcm, size_t *np)
{
	int n;

	if (!in || len == 0 || len > CODEC_MAX_PAYLOAD)
		return EBADMSG;

	n = opus_packet_get_nb_samples(in, (opus_int32)len, AUDIO_SRATE);
	if (n <= 0 || n > OPUS_MAX_FRAME)
		return EBADMSG;
	if (*np < (size_t)n)
		return EOVERFLOW;

	n = opus_decode(cs->opus_dec, in, (opus_int32)len, pcm, n, 0);
	if (n < 0)
		return EBADMSG;

	*np = (size_t)n;
	cs->n_lost = 0;
	return 0;
}


int codec_decode(struct codec_state *cs, const uint8_t *in, size_t len,
		 int16_t *pcm, size_t *np)
{
	int16_t nb[CODEC_MAX_PAYLOAD];
	int n;

	if (!cs || !pcm || !np)
		return EINVAL;

	if (cs->ci->id == CODEC_OPUS)
		return opus_dec(cs, in, len, pcm, np);

	/* Both codecs give 2 samples at 16 kHz per payload byte, so any
	 * whole ptime (10, 20, 30 ms ...) is accepted. */
	if (!in || len == 0 || len > CODEC_MAX_PAYLOAD)
		return EBADMSG;
	if (*np < 2 * len)
		return EOVERFLOW;

	switch (cs->ci->id) {

	case CODEC_G722:
		n = g722_decode(cs->g722_dec, pcm, in, (int)len);
		if (n < 0)
			return EBADMSG;
		*np = (size_t)n;
		break;

	case CODEC_PCMU:
		for (size_t i = 0; i < len; i++)
			nb[i] = g711_ulaw2pcm(in[i]);
		goto g711;

	case CODEC_PCMA:
		for (size_t i = 0; i < len; i++)
			nb[i] = g711_alaw2pcm(in[i]);
	g711:
		resample(cs->up, nb, len, pcm, 2 * len);
		*np = 2 * len;
		break;

	default:
		return EINVAL;
	}

	if (cs->n_lost)
		plc_recover(cs, pcm, *np);
	hist_push(cs, pcm, *np);
	cs->n_lost = 0;

	return 0;
}


int codec_conceal(struct codec_state *cs, int16_t *pcm)
{
	if (!cs || !pcm)
		return EINVAL;

	if (cs->ci->id == CODEC_OPUS) {
		int n = opus_decode(cs->opus_dec, NULL, 0, pcm,
				    AUDIO_FRAME_SAMPLES, 0);
		if (n != AUDIO_FRAME_SAMPLES) {
			memset(pcm, 0, AUDIO_FRAME_SAMPLES * sizeof(int16_t));
			return n < 0 ? EPROTO : 0;
		}
		++cs->n_lost;
		return 0;
	}

	if (cs->hist_n < PLC_HIST || cs->n_lost >= PLC_FADE_FRAMES) {
		memset(pcm, 0, AUDIO_FRAME_SAMPLES * sizeof(int16_t));
		cs->n_lost = PLC_FADE_FRAMES;
		return 0;
	}

	if (!cs->n_lost) {
		cs->pitch = pitch_find(cs);
		cs->phase = 0;
	}

	plc_synth(cs, pcm, AUDIO_FRAME_SAMPLES, plc_gain(cs->n_lost),
		  plc_gain(cs->n_lost + 1));
	++cs->n_lost;

	return 0;
}


int codec_conceal_fec(struct codec_state *cs, const uint8_t *next,
		      size_t len, int16_t *pcm)
{
	int n;

	if (!cs || !pcm)
		return EINVAL;

	if (cs->ci->id != CODEC_OPUS || !next || !len ||
	    len > CODEC_MAX_PAYLOAD)
		return codec_conceal(cs, pcm);

	/* decode_fec=1 rebuilds the previous frame from the LBRR data of
	 * this packet (libopus conceals when there is none) and leaves the
	 * packet itself to be decoded normally next tick */
	n = opus_decode(cs->opus_dec, next, (opus_int32)len, pcm,
			AUDIO_FRAME_SAMPLES, 1);
	if (n != AUDIO_FRAME_SAMPLES)
		return codec_conceal(cs, pcm);

	++cs->n_lost;
	return 0;
}
