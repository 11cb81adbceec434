/*
 * tts_flite.c  flite TTS: the default voice, 16 kHz, streaming.
 *
 * Voices slt (default), kal16, rms, awb are compiled into their libraries
 * and registered once in init (main thread).  flite's register functions
 * return one process-wide voice object per voice, so sessions share it:
 * everything per synthesis (streaming callback, rate) is set on the
 * utterance's own features, never on the voice, and the voice is only
 * read.  Measured with helgrind and a 4-thread stress (kal16 output
 * bit-exact, slt lengths exact), this needs no lock; see
 * docs/internals/tts-and-text.md.
 *
 * Audio is delivered from flite's audio_streaming_info callback as it is
 * produced; a handler that returns true stops synthesis at the next
 * chunk (CST_AUDIO_STREAM_STOP) and is not called again.
 */
#include <errno.h>
#include <string.h>
#include <flite/flite.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/engine.h"
#include "engines/ttsout.h"

#define DEBUG_MODULE "tts_flite"

enum {
	OUT_RATE = 16000,
};

cst_voice *register_cmu_us_slt(const char *voxdir);
cst_voice *register_cmu_us_kal16(const char *voxdir);
cst_voice *register_cmu_us_rms(const char *voxdir);
cst_voice *register_cmu_us_awb(const char *voxdir);
void unregister_cmu_us_slt(cst_voice *vox);
void unregister_cmu_us_kal16(cst_voice *vox);
void unregister_cmu_us_rms(cst_voice *vox);
void unregister_cmu_us_awb(cst_voice *vox);

static struct {
	const char *name;
	cst_voice *(*reg)(const char *voxdir);
	void (*unreg)(cst_voice *vox);
	cst_voice *vox;          /* written in init/close (main thread) */
} voices[] = {
	{"slt", register_cmu_us_slt, unregister_cmu_us_slt, NULL},
	{"kal16", register_cmu_us_kal16, unregister_cmu_us_kal16, NULL},
	{"rms", register_cmu_us_rms, unregister_cmu_us_rms, NULL},
	{"awb", register_cmu_us_awb, unregister_cmu_us_awb, NULL},
};

#define NVOICES (sizeof(voices) / sizeof(voices[0]))

static bool inited;

struct flite_sess {
	cst_voice *vox;
	float stretch;           /* duration_stretch = 100 / tts_rate */

	/* during one synth call (its worker thread) */
	tts_audio_h *audioh;
	void *arg;
	bool failed;             /* no resampler for the voice's rate */
	struct ttsout *out;      /* at the rate of the last wave */
};


static int voice_index(const char *name)
{
	if (!name || !*name)
		return 0;
	if (!strncmp(name, "cmu_us_", 7))
		name += 7;
	for (size_t i = 0; i < NVOICES; i++) {
		if (!strcmp(voices[i].name, name))
			return (int)i;
	}
	return -1;
}


static bool selected(const struct conf *conf)
{
	const char *tts = conf ? conf_str(conf, "tts") : NULL;

	return !tts || !*tts || !strcmp(tts, "flite");
}


/* Main thread, once. */
static int flite_init_engine(const struct conf *conf)
{
	const char *v = conf ? conf_str(conf, "tts_voice") : NULL;

	if (selected(conf) && voice_index(v) < 0) {
		log_error(DEBUG_MODULE, NULL, "tts_voice: \"%s\" is not a "
			  "flite voice (slt, kal16, rms, awb)", v);
		return EINVAL;
	}
	if (inited)
		return 0;
	flite_init();
	for (size_t i = 0; i < NVOICES; i++) {
		voices[i].vox = voices[i].reg(NULL);
		if (!voices[i].vox) {
			log_error(DEBUG_MODULE, NULL, "cannot register flite "
				  "voice %s", voices[i].name);
			return ENOENT;
		}
	}
	inited = true;
	return 0;
}


/* Main thread, after every session is gone. */
static void flite_close_engine(void)
{
	if (!inited)
		return;
	for (size_t i = 0; i < NVOICES; i++) {
		voices[i].unreg(voices[i].vox);
		voices[i].vox = NULL;
	}
	inited = false;
}


static void sess_destructor(void *arg)
{
	struct flite_sess *s = arg;

	mem_deref(s->out);
}


static int flite_alloc(void **stp, const struct conf *conf)
{
	struct flite_sess *s;
	const char *v = NULL;
	int64_t rate = 100;
	int idx, err;

	if (!stp)
		return EINVAL;
	if (!inited)
		return EPERM;
	if (conf) {
		rate = conf_int(conf, "tts_rate");
		if (selected(conf))
			v = conf_str(conf, "tts_voice");
	}
	idx = voice_index(v);
	if (idx < 0)
		idx = 0;
	if (rate < 50 || rate > 200)
		rate = 100;

	s = mem_zalloc(sizeof(*s), sess_destructor);
	if (!s)
		return ENOMEM;
	s->vox = voices[idx].vox;
	s->stretch = 100.0f / (float)rate;
	err = ttsout_alloc(&s->out, OUT_RATE);
	if (err) {
		mem_deref(s);
		return err;
	}
	*stp = s;
	return 0;
}


/* The output stage for a wave at rate, made afresh when the rate
 * changes (its latency skipped); false if that failed. */
static bool out_rate(struct flite_sess *s, int rate)
{
	struct ttsout *o;

	if (rate <= 0)
		return false;
	if (ttsout_rate(s->out) == (unsigned)rate)
		return true;
	if (ttsout_alloc(&o, (unsigned)rate))
		return false;
	mem_deref(s->out);
	s->out = o;
	ttsout_start(o, s->audioh, s->arg, true);
	return true;
}


/* flite's streaming callback (worker thread). */
static int stream_h(const cst_wave *w, int start, int size, int last,
		    cst_audio_streaming_info *asi)
{
	struct flite_sess *s = asi->userdata;

	if (s->failed || ttsout_stopped(s->out))
		return CST_AUDIO_STREAM_STOP;
	if (size > 0 && w && w->samples) {
		if (!out_rate(s, w->sample_rate)) {
			s->failed = true;
			return CST_AUDIO_STREAM_STOP;
		}
		ttsout_push(s->out, w->samples + start, (size_t)size);
		if (last)
			ttsout_flush(s->out);
	}
	else if (last && w && w->sample_rate != OUT_RATE &&
		 ttsout_rate(s->out) != OUT_RATE) {
		if (out_rate(s, w->sample_rate))
			ttsout_flush(s->out);
	}
	return ttsout_stopped(s->out) ? CST_AUDIO_STREAM_STOP :
		CST_AUDIO_STREAM_CONT;
}


/* Worker thread; one call per session at a time. */
static int flite_synth(void *st, const char *text, const char *language,
		       tts_audio_h *audioh, void *arg)
{
	struct flite_sess *s = st;
	cst_audio_streaming_info *asi;
	cst_utterance *u;

	if (!s || !text || !audioh)
		return EINVAL;
	if (language && *language && strncmp(language, "en", 2))
		return ENOTSUP;   /* English voices only: use espeak */

	s->audioh = audioh;
	s->arg = arg;
	s->failed = false;
	/* a kept resampler is cleared but its latency not skipped again */
	ttsout_start(s->out, audioh, arg, false);

	u = new_utterance();
	if (!u)
		return ENOMEM;
	utt_set_input_text(u, text);
	utt_init(u, s->vox);

	asi = new_audio_streaming_info();
	if (!asi) {
		delete_utterance(u);
		return ENOMEM;
	}
	asi->asc = stream_h;
	asi->userdata = s;
	/* owned by the utterance's features from here on */
	feat_set(u->features, "streaming_info", audio_streaming_info_val(asi));
	feat_set_float(u->features, "duration_stretch", s->stretch);

	utt_synth(u);
	delete_utterance(u);
	return 0;
}


const struct tts_ops tts_flite = {
	.name  = "flite",
	.init  = flite_init_engine,
	.close = flite_close_engine,
	.alloc = flite_alloc,
	.synth = flite_synth,
};
