/*
 * ttsout.c  TTS output stage: resample to 16 kHz, deliver, stop on
 *           barge-in.  See ttsout.h.
 */
#include <errno.h>
#include <speex/speex_resampler.h>
#include <re.h>
#include "engines/ttsout.h"

enum {
	OUT_RATE = 16000,
	CHUNK = 512,              /* resampler output block (samples) */
	QUALITY = 5,
};

struct ttsout {
	SpeexResamplerState *rs;  /* NULL when the input is at 16 kHz */
	unsigned in_rate;

	/* during one sentence (its worker thread) */
	tts_audio_h *audioh;
	void *arg;
	bool stopped;
	uint64_t in_total, out_total;
};


static void destructor(void *arg)
{
	struct ttsout *o = arg;

	if (o->rs)
		speex_resampler_destroy(o->rs);
}


int ttsout_alloc(struct ttsout **op, unsigned in_rate)
{
	struct ttsout *o;
	int err = 0;

	if (!op || !in_rate)
		return EINVAL;
	o = mem_zalloc(sizeof(*o), destructor);
	if (!o)
		return ENOMEM;
	o->in_rate = in_rate;
	if (in_rate != OUT_RATE) {
		o->rs = speex_resampler_init(1, in_rate, OUT_RATE, QUALITY,
					     &err);
		if (!o->rs) {
			mem_deref(o);
			return ENOMEM;
		}
	}
	*op = o;
	return 0;
}


void ttsout_start(struct ttsout *o, tts_audio_h *audioh, void *arg,
		  bool skip_zeros)
{
	o->audioh = audioh;
	o->arg = arg;
	o->stopped = false;
	o->in_total = o->out_total = 0;
	if (o->rs) {
		speex_resampler_reset_mem(o->rs);
		if (skip_zeros)
			speex_resampler_skip_zeros(o->rs);
	}
}


void ttsout_push(struct ttsout *o, const int16_t *pcm, size_t n)
{
	int16_t out[CHUNK];

	o->in_total += n;
	if (!o->rs) {
		o->out_total += n;
		if (n && !o->stopped && o->audioh(pcm, n, o->arg))
			o->stopped = true;
		return;
	}
	while (!o->stopped && n) {
		spx_uint32_t in_len = (spx_uint32_t)n, out_len = CHUNK;

		speex_resampler_process_int(o->rs, 0, pcm, &in_len, out,
					    &out_len);
		pcm += in_len;
		n -= in_len;
		if (out_len) {
			o->out_total += out_len;
			if (o->audioh(out, out_len, o->arg))
				o->stopped = true;
		}
		if (!in_len && !out_len)
			break;
	}
}


void ttsout_flush(struct ttsout *o)
{
	uint64_t want;
	int16_t zeros[CHUNK] = {0}, out[CHUNK];
	int lat;

	if (!o->rs)
		return;
	want = o->in_total * OUT_RATE / o->in_rate;
	lat = speex_resampler_get_input_latency(o->rs);
	while (lat > 0 && o->out_total < want && !o->stopped) {
		spx_uint32_t in_len = (spx_uint32_t)(lat < CHUNK ? lat : CHUNK);
		spx_uint32_t out_len = CHUNK;

		speex_resampler_process_int(o->rs, 0, zeros, &in_len, out,
					    &out_len);
		lat -= (int)in_len;
		if (out_len > want - o->out_total)
			out_len = (spx_uint32_t)(want - o->out_total);
		o->out_total += out_len;
		if (out_len && o->audioh(out, out_len, o->arg))
			o->stopped = true;
	}
}


bool ttsout_stopped(const struct ttsout *o)
{
	return o->stopped;
}


unsigned ttsout_rate(const struct ttsout *o)
{
	return o->in_rate;
}


uint64_t ttsout_samples_in(const struct ttsout *o)
{
	return o->in_total;
}
