/*
 * tts_espeak.c  espeak-ng TTS: many languages (de, fr, ...), robotic.
 *
 * espeak-ng keeps process-global state (one instance, one voice, one
 * synth callback), so every synthesis runs under one mutex: calls are
 * serialised, which costs little as a sentence takes ~3 ms.  Synchronous
 * mode: espeak_Synth() returns when done, having called synth_cb with
 * 22.05 kHz chunks of ~20 ms, which are resampled to 16 kHz (speexdsp,
 * one resampler per session, flushed at the end of each sentence).
 * The handler returning true makes synth_cb return 1, which aborts.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <espeak-ng/speak_lib.h>
#include <speex/speex_resampler.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/engine.h"

#define DEBUG_MODULE "tts_espeak"

enum {
	OUT_RATE = 16000,
	BUF_MS = 20,            /* espeak callback chunk */
	RS_CHUNK = 512,
	VOICE_MAX = 64,
};

/* under lock */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool inited;
static int in_rate;             /* espeak's output rate (22050) */
static char cur_voice[VOICE_MAX];
static int cur_wpm;

struct espeak_sess {
	char voice[VOICE_MAX];  /* tts_voice, "" = by language */
	int wpm;
	SpeexResamplerState *rs;

	/* during one synth call, under lock */
	tts_audio_h *audioh;
	void *arg;
	bool stopped;
	uint64_t in_total, out_total;
};


static bool selected(const struct conf *conf)
{
	const char *tts = conf ? conf_str(conf, "tts") : NULL;

	return tts && !strcmp(tts, "espeak");
}


static void resample_out(struct espeak_sess *s, const int16_t *pcm, size_t n)
{
	int16_t out[RS_CHUNK];

	s->in_total += n;
	while (!s->stopped && n) {
		spx_uint32_t in_len = (spx_uint32_t)n, out_len = RS_CHUNK;

		speex_resampler_process_int(s->rs, 0, pcm, &in_len, out,
					    &out_len);
		pcm += in_len;
		n -= in_len;
		if (out_len) {
			s->out_total += out_len;
			if (s->audioh(out, out_len, s->arg))
				s->stopped = true;
		}
		if (!in_len && !out_len)
			break;
	}
}


/* End of a sentence: push the resampler's tail out, cut to the length
 * the input implies. */
static void resample_flush(struct espeak_sess *s)
{
	uint64_t want = s->in_total * OUT_RATE / (uint64_t)in_rate;
	int lat = speex_resampler_get_input_latency(s->rs);
	int16_t zeros[RS_CHUNK] = {0}, out[RS_CHUNK];

	while (lat > 0 && s->out_total < want && !s->stopped) {
		spx_uint32_t in_len = (spx_uint32_t)(lat < RS_CHUNK ?
						     lat : RS_CHUNK);
		spx_uint32_t out_len = RS_CHUNK;

		speex_resampler_process_int(s->rs, 0, zeros, &in_len, out,
					    &out_len);
		lat -= (int)in_len;
		if (out_len > want - s->out_total)
			out_len = (spx_uint32_t)(want - s->out_total);
		s->out_total += out_len;
		if (out_len && s->audioh(out, out_len, s->arg))
			s->stopped = true;
	}
}


/* espeak's synth callback (the synthesising thread, under lock). */
static int synth_cb(short *wav, int numsamples, espeak_EVENT *events)
{
	struct espeak_sess *s = events ? events->user_data : NULL;

	if (!s)
		return 0;
	if (s->stopped)
		return 1;
	if (wav && numsamples > 0)
		resample_out(s, wav, (size_t)numsamples);
	return s->stopped ? 1 : 0;
}


/* Under lock. */
static int ensure_init(void)
{
	int r;

	if (inited)
		return 0;
	r = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, BUF_MS, NULL, 0);
	if (r <= 0)
		return ENOENT;
	in_rate = r;
	espeak_SetSynthCallback(synth_cb);
	cur_voice[0] = '\0';
	cur_wpm = 0;
	inited = true;
	return 0;
}


/* Under lock. */
static int set_voice(const char *v)
{
	if (!strcmp(cur_voice, v))
		return 0;
	if (espeak_SetVoiceByName(v) != EE_OK) {
		cur_voice[0] = '\0';
		return ENOENT;
	}
	str_ncpy(cur_voice, v, sizeof(cur_voice));
	return 0;
}


/* Main thread, once. */
static int espeak_init_engine(const struct conf *conf)
{
	const char *v = conf ? conf_str(conf, "tts_voice") : NULL;
	int err;

	pthread_mutex_lock(&lock);
	err = ensure_init();
	if (!err && selected(conf) && v && *v && set_voice(v)) {
		log_error(DEBUG_MODULE, NULL, "tts_voice: espeak-ng has no "
			  "voice \"%s\" (try en-us, en+m3, de)", v);
		err = EINVAL;
	}
	pthread_mutex_unlock(&lock);
	if (err == ENOENT)
		log_error(DEBUG_MODULE, NULL, "espeak-ng: cannot initialise "
			  "(espeak-ng-data missing?)");
	return err;
}


/* espeak-ng 1.51 keeps an internal thread even in synchronous mode, and
 * espeak_Terminate() deadlocks on it once the engine has been initialised
 * and terminated before in the same process. It is initialised once and
 * left to the process exit. */
static void espeak_close_engine(void)
{
}


static void sess_destructor(void *arg)
{
	struct espeak_sess *s = arg;

	if (s->rs)
		speex_resampler_destroy(s->rs);
}


static int espeak_alloc(void **stp, const struct conf *conf)
{
	struct espeak_sess *s;
	int64_t rate = 100;
	int err, rate_in;

	if (!stp)
		return EINVAL;

	pthread_mutex_lock(&lock);
	err = ensure_init();
	rate_in = in_rate;
	pthread_mutex_unlock(&lock);
	if (err)
		return err;

	s = mem_zalloc(sizeof(*s), sess_destructor);
	if (!s)
		return ENOMEM;
	if (conf) {
		rate = conf_int(conf, "tts_rate");
		if (selected(conf) && conf_str(conf, "tts_voice"))
			str_ncpy(s->voice, conf_str(conf, "tts_voice"),
				 sizeof(s->voice));
	}
	if (rate < 50 || rate > 200)
		rate = 100;
	s->wpm = (int)(espeakRATE_NORMAL * rate / 100);
	if (s->wpm < espeakRATE_MINIMUM)
		s->wpm = espeakRATE_MINIMUM;
	s->rs = speex_resampler_init(1, (spx_uint32_t)rate_in, OUT_RATE, 5,
				     &err);
	if (!s->rs) {
		mem_deref(s);
		return ENOMEM;
	}
	*stp = s;
	return 0;
}


/* The espeak voice for a language: tts_voice when it speaks that
 * language, else en-us / de / the language tag itself. */
static void pick_voice(const struct espeak_sess *s, const char *language,
		       char *v, size_t sz)
{
	size_t l;

	if (!language || !*language)
		language = "en";
	l = strcspn(language, "-_");
	if (s->voice[0] && !strncmp(s->voice, language, l) &&
	    (s->voice[l] == '\0' || s->voice[l] == '-' || s->voice[l] == '+')) {
		str_ncpy(v, s->voice, sz);
		return;
	}
	if (!strncmp(language, "en", 2))
		str_ncpy(v, "en-us", sz);   /* "en-gb" fails in 1.51 */
	else
		str_ncpy(v, language, sz);
}


/* Worker thread; blocks other espeak sessions for its duration. */
static int espeak_synth(void *st, const char *text, const char *language,
			tts_audio_h *audioh, void *arg)
{
	struct espeak_sess *s = st;
	char v[VOICE_MAX];
	espeak_ERROR r;
	int err = 0;

	if (!s || !text || !audioh)
		return EINVAL;
	pick_voice(s, language, v, sizeof(v));

	pthread_mutex_lock(&lock);
	err = ensure_init();
	if (!err && set_voice(v)) {
		/* "de-de" and the like: retry with the bare language */
		size_t l = strcspn(v, "-_+");

		v[l] = '\0';
		err = set_voice(v) ? ENOTSUP : 0;
	}
	if (err)
		goto out;
	if (cur_wpm != s->wpm) {
		espeak_SetParameter(espeakRATE, s->wpm, 0);
		cur_wpm = s->wpm;
	}
	s->audioh = audioh;
	s->arg = arg;
	s->stopped = false;
	s->in_total = s->out_total = 0;
	speex_resampler_reset_mem(s->rs);
	speex_resampler_skip_zeros(s->rs);

	r = espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0,
			 espeakCHARS_UTF8, NULL, s);
	if (r != EE_OK && !s->stopped)
		err = EIO;
	else if (!s->stopped)
		resample_flush(s);
 out:
	pthread_mutex_unlock(&lock);
	return err;
}


const struct tts_ops tts_espeak = {
	.name  = "espeak",
	.init  = espeak_init_engine,
	.close = espeak_close_engine,
	.alloc = espeak_alloc,
	.synth = espeak_synth,
};
