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
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/engine.h"
#include "engines/ttsout.h"

#define DEBUG_MODULE "tts_espeak"

enum {
	BUF_MS = 20,            /* espeak callback chunk */
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
	struct ttsout *out;     /* used during one synth call, under lock */
};


static bool selected(const struct conf *conf)
{
	const char *tts = conf ? conf_str(conf, "tts") : NULL;

	return tts && !strcmp(tts, "espeak");
}


/* espeak's synth callback (the synthesising thread, under lock). */
static int synth_cb(short *wav, int numsamples, espeak_EVENT *events)
{
	struct espeak_sess *s = events ? events->user_data : NULL;

	if (!s)
		return 0;
	if (ttsout_stopped(s->out))
		return 1;
	if (wav && numsamples > 0)
		ttsout_push(s->out, wav, (size_t)numsamples);
	return ttsout_stopped(s->out) ? 1 : 0;
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

	mem_deref(s->out);
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
	err = ttsout_alloc(&s->out, (unsigned)rate_in);
	if (err) {
		mem_deref(s);
		return err;
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
	ttsout_start(s->out, audioh, arg, true);

	r = espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0,
			 espeakCHARS_UTF8, NULL, s);
	if (r != EE_OK && !ttsout_stopped(s->out))
		err = EIO;
	else if (!ttsout_stopped(s->out))
		ttsout_flush(s->out);
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
