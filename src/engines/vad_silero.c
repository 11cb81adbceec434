/*
 * vad_silero.c  Silero VAD (v5) through the sherpa-onnx C API, loaded with
 *               dlopen; and "auto", which picks Silero when its files are
 *               installed and the energy VAD otherwise.
 *
 * sherpa-onnx ships from npm (sherpa-onnx-linux-x64@1.13.8) without
 * headers, so the few declarations we need are written here (the library
 * is opened through engines/sherpa.c, shared with stt_sherpa/tts_sherpa).
 * The config struct grows between releases: we zero and over-allocate it
 * and write the fields at the offsets checked against the 1.13.8 binary (see
 * shared/notes/SPEECH-ENGINES.md; re-check them when the version in
 * scripts/setup.sh changes).  Some bad configs make the library call
 * exit(), so every value is validated before a detector is created, and
 * the detector only ever runs at 16 kHz with a 512-sample window.
 *
 * Output is 0/1: the detector's "speech detected" state, which already
 * has Silero's probability threshold (vad_threshold) and short minimum
 * speech/silence durations applied.  Our 320-sample frames are collected
 * into 512-sample windows, so the state changes every 32 ms.
 *
 * Near-silent windows (RMS below -58 dBFS: a VoIP line between words)
 * are not given to the model while the detector says "no speech": the
 * answer would be "no speech" again, and the model costs ~0.5 ms per
 * window on the media thread of every call.  Once speech is detected every
 * window is run, so the detector still ends the segment itself.
 *
 * Threads: init/close on the main thread; one instance per call, used by
 * one thread at a time.  Finished speech segments are popped and freed on
 * every window so the detector's buffer stays bounded.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/engine.h"
#include "engines/sherpa.h"

#define MOD "vad"

#ifndef AGENTLINE_DEPSDIR
#define AGENTLINE_DEPSDIR "deps"
#endif

enum {
	SVAD_SRATE = 16000,
	SVAD_WINDOW = 512,       /* the only window Silero v5 takes at 16k */
	SVAD_GATE_RMS = 40,      /* -58 dBFS: quieter windows are skipped   */
	SVAD_PATH_MAX = 512,
};

#define SVAD_MIN_SILENCE 0.05f   /* s; our turn logic adds its hangover */
#define SVAD_MIN_SPEECH  0.03f
#define SVAD_MAX_SPEECH  30.0f   /* s; the library splits longer speech */
#define SVAD_BUFFER_SECS 40.0f

/* ---- our declarations of the sherpa-onnx 1.13.x C API (no header) ---- */

struct sherpa_silero_config {
	const char *model;
	float threshold;
	float min_silence_duration;
	float min_speech_duration;
	int32_t window_size;
	float max_speech_duration;
};

struct sherpa_vad_config {
	struct sherpa_silero_config silero;    /* offset 0               */
	int32_t sample_rate;                   /* 32                     */
	int32_t num_threads;                   /* 36                     */
	const char *provider;                  /* 40                     */
	int32_t debug;                         /* 48                     */
	struct sherpa_silero_config ten_vad;   /* 56 (unused), size 88   */
};

/* zeroed room for fields a newer release may append */
union sherpa_vad_config_room {
	struct sherpa_vad_config cfg;
	unsigned char room[512];
};

_Static_assert(offsetof(struct sherpa_vad_config, sample_rate) == 32,
	       "sherpa-onnx VAD config layout");
_Static_assert(offsetof(struct sherpa_vad_config, num_threads) == 36,
	       "sherpa-onnx VAD config layout");
_Static_assert(offsetof(struct sherpa_vad_config, provider) == 40,
	       "sherpa-onnx VAD config layout");
_Static_assert(offsetof(struct sherpa_vad_config, debug) == 48,
	       "sherpa-onnx VAD config layout");
_Static_assert(offsetof(struct sherpa_vad_config, ten_vad) == 56,
	       "sherpa-onnx VAD config layout");
_Static_assert(sizeof(struct sherpa_vad_config) == 88,
	       "sherpa-onnx VAD config layout");

struct sherpa_vad;       /* SherpaOnnxVoiceActivityDetector */
struct sherpa_segment;   /* SherpaOnnxSpeechSegment         */

static struct {
	void *dl;
	const struct sherpa_vad *(*create)(const struct sherpa_vad_config *,
					   float buffer_size_in_seconds);
	void (*destroy)(const struct sherpa_vad *);
	void (*accept)(const struct sherpa_vad *, const float *, int32_t);
	int32_t (*empty)(const struct sherpa_vad *);
	int32_t (*detected)(const struct sherpa_vad *);
	void (*pop)(const struct sherpa_vad *);
	const struct sherpa_segment *(*front)(const struct sherpa_vad *);
	void (*segment_destroy)(const struct sherpa_segment *);
	void (*reset)(const struct sherpa_vad *);

	/* settings, fixed at init (main thread) */
	char model[SVAD_PATH_MAX];
	float threshold;
} sherpa;

struct svad {
	const struct sherpa_vad *vad;
	float win[SVAD_WINDOW];
	size_t nwin;
	float energy;            /* sum of squares of win[0..nwin)          */
	float prob;
	unsigned long runs;      /* windows the model ran on                */
};


static bool file_exists(const char *path)
{
	struct stat st;

	return path && *path && !stat(path, &st) && S_ISREG(st.st_mode);
}


/* Paths of the library and model from config (defaults under deps/). */
static void paths_get(const struct conf *conf, const char **libp,
		      const char **modelp)
{
	*libp = conf_str(conf, "sherpa_lib");
	*modelp = conf_str(conf, "vad_model");
}


/* The library stays mapped after close: onnxruntime keeps process-wide
 * state (thread pools, allocators) that does not survive dlclose(); a
 * later init dlopen()s the same handle again. */
static void sherpa_unload(void)
{
	memset(&sherpa, 0, sizeof(sherpa));
}


static int sherpa_load(const char *lib)
{
	const struct sherpa_sym tab[] = {
		{(void **)&sherpa.create,
		 "SherpaOnnxCreateVoiceActivityDetector"},
		{(void **)&sherpa.destroy,
		 "SherpaOnnxDestroyVoiceActivityDetector"},
		{(void **)&sherpa.accept,
		 "SherpaOnnxVoiceActivityDetectorAcceptWaveform"},
		{(void **)&sherpa.empty,
		 "SherpaOnnxVoiceActivityDetectorEmpty"},
		{(void **)&sherpa.detected,
		 "SherpaOnnxVoiceActivityDetectorDetected"},
		{(void **)&sherpa.pop, "SherpaOnnxVoiceActivityDetectorPop"},
		{(void **)&sherpa.front,
		 "SherpaOnnxVoiceActivityDetectorFront"},
		{(void **)&sherpa.segment_destroy,
		 "SherpaOnnxDestroySpeechSegment"},
		{(void **)&sherpa.reset,
		 "SherpaOnnxVoiceActivityDetectorReset"},
	};
	const char *missing;
	int err;

	err = sherpa_lib_open(&sherpa.dl, lib);
	if (err)
		return err;

	missing = sherpa_lib_resolve(sherpa.dl, tab, ARRAY_SIZE(tab));
	if (missing) {
		log_error(MOD, NULL, "sherpa_lib: %s lacks %s (expected "
			  "sherpa-onnx 1.13.x)", lib, missing);
		sherpa_unload();
		return ENOTSUP;
	}
	return 0;
}


/* Any thread.  Every value the library would exit() on is fixed here. */
static const struct sherpa_vad *detector_create(void)
{
	union sherpa_vad_config_room c;

	if (!sherpa.create || !sherpa.model[0])
		return NULL;
	if (!(sherpa.threshold > 0.0f && sherpa.threshold < 1.0f))
		return NULL;

	memset(&c, 0, sizeof(c));
	c.cfg.silero.model = sherpa.model;
	c.cfg.silero.threshold = sherpa.threshold;
	c.cfg.silero.min_silence_duration = SVAD_MIN_SILENCE;
	c.cfg.silero.min_speech_duration = SVAD_MIN_SPEECH;
	c.cfg.silero.window_size = SVAD_WINDOW;
	c.cfg.silero.max_speech_duration = SVAD_MAX_SPEECH;
	c.cfg.sample_rate = SVAD_SRATE;
	c.cfg.num_threads = 1;
	c.cfg.provider = "cpu";
	c.cfg.debug = 0;

	return sherpa.create(&c.cfg, SVAD_BUFFER_SECS);
}


static int svad_init(const struct conf *conf)
{
	const struct sherpa_vad *probe;
	const char *lib, *model;
	int64_t thr = conf_int(conf, "vad_threshold");
	int err;

	if (sherpa.dl)
		return 0;

	paths_get(conf, &lib, &model);
	if (!file_exists(lib)) {
		log_error(MOD, NULL, "sherpa_lib: %s not found (run "
			  "scripts/setup.sh, or set vad = energy)",
			  lib ? lib : "(unset)");
		return ENOENT;
	}
	if (!file_exists(model)) {
		log_error(MOD, NULL, "vad_model: %s not found (run "
			  "scripts/setup.sh, or set vad = energy)",
			  model ? model : "(unset)");
		return ENOENT;
	}
	if (thr < 1 || thr > 99) {
		log_error(MOD, NULL, "vad_threshold: %lld is out of range "
			  "1..99", (long long)thr);
		return EINVAL;
	}
	if (strlen(model) >= sizeof(sherpa.model)) {
		log_error(MOD, NULL, "vad_model: path too long");
		return ENAMETOOLONG;
	}

	err = sherpa_load(lib);
	if (err)
		return err;

	str_ncpy(sherpa.model, model, sizeof(sherpa.model));
	sherpa.threshold = (float)thr / 100.0f;

	/* fail at start-up, not on the first call, if the model is bad */
	probe = detector_create();
	if (!probe) {
		log_error(MOD, NULL, "vad_model: %s could not be loaded",
			  model);
		sherpa_unload();
		return EINVAL;
	}
	sherpa.destroy(probe);

	log_info(MOD, NULL, "Silero VAD: model %s, threshold %.2f", model,
		 (double)sherpa.threshold);
	return 0;
}


static void svad_close(void)
{
	sherpa_unload();
}


static void svad_destructor(void *data)
{
	struct svad *v = data;

	if (v->vad && sherpa.destroy)
		sherpa.destroy(v->vad);
}


static int svad_alloc(void **stp, const struct conf *conf)
{
	struct svad *v;

	if (!stp)
		return EINVAL;
	if (!sherpa.dl)
		return EINVAL;  /* init was not called or failed */

	v = mem_zalloc(sizeof(*v), svad_destructor);
	if (!v)
		return ENOMEM;

	v->vad = detector_create();
	if (!v->vad) {
		mem_deref(v);
		return ENOMEM;
	}

	*stp = v;
	return 0;
}


static void segments_drop(const struct svad *v)
{
	while (!sherpa.empty(v->vad)) {
		const struct sherpa_segment *seg = sherpa.front(v->vad);

		if (seg)
			sherpa.segment_destroy(seg);
		sherpa.pop(v->vad);
	}
}


static int svad_process(void *arg, const int16_t *pcm, size_t n,
			float *probp)
{
	struct svad *v = arg;

	if (!v || (!pcm && n) || !probp)
		return EINVAL;

	static const float gate = (float)SVAD_GATE_RMS / 32768.0f *
		(float)SVAD_GATE_RMS / 32768.0f * SVAD_WINDOW;

	for (size_t i = 0; i < n; i++) {
		float x = (float)pcm[i] / 32768.0f;

		v->win[v->nwin++] = x;
		v->energy += x * x;
		if (v->nwin < SVAD_WINDOW)
			continue;

		v->nwin = 0;
		if (v->prob == 0 && v->energy < gate) {
			v->energy = 0;
			continue;
		}
		v->energy = 0;
		sherpa.accept(v->vad, v->win, SVAD_WINDOW);
		v->runs++;
		v->prob = sherpa.detected(v->vad) ? 1.0f : 0.0f;
		segments_drop(v);
	}

	*probp = v->prob;
	return 0;
}


static void svad_reset(void *arg)
{
	struct svad *v = arg;

	if (!v)
		return;
	segments_drop(v);
	sherpa.reset(v->vad);
	v->nwin = 0;
	v->energy = 0;
	v->prob = 0;
}


unsigned long vad_silero_runs(const void *st)
{
	const struct svad *v = st;

	return v ? v->runs : 0;
}


const struct vad_ops vad_silero = {
	.name    = "silero",
	.init    = svad_init,
	.close   = svad_close,
	.alloc   = svad_alloc,
	.process = svad_process,
	.reset   = svad_reset,
};


/* ------------------------------------------------------------- "auto" */

extern const struct vad_ops vad_energy;

/* chosen once by init on the main thread, read-only afterwards */
static const struct vad_ops *auto_ops;


static int vauto_init(const struct conf *conf)
{
	const char *lib, *model;
	int err;

	paths_get(conf, &lib, &model);
	if (file_exists(lib) && file_exists(model)) {
		err = vad_silero.init(conf);
		if (!err) {
			auto_ops = &vad_silero;
			log_info(MOD, NULL, "vad auto: using silero");
			return 0;
		}
		log_warn(MOD, NULL, "vad auto: silero failed to start (%m); "
			 "using energy", err);
	}
	else {
		log_info(MOD, NULL, "vad auto: using energy (silero files "
			 "not found: run scripts/setup.sh)");
	}

	err = vad_energy.init(conf);
	if (err)
		return err;
	auto_ops = &vad_energy;
	return 0;
}


static void vauto_close(void)
{
	if (auto_ops)
		auto_ops->close();
	auto_ops = NULL;
}


static int vauto_alloc(void **stp, const struct conf *conf)
{
	if (!auto_ops)
		return EINVAL;
	return auto_ops->alloc(stp, conf);
}


static int vauto_process(void *st, const int16_t *pcm, size_t n,
			 float *probp)
{
	if (!auto_ops)
		return EINVAL;
	return auto_ops->process(st, pcm, n, probp);
}


static void vauto_reset(void *st)
{
	if (auto_ops)
		auto_ops->reset(st);
}


const struct vad_ops vad_auto = {
	.name    = "auto",
	.init    = vauto_init,
	.close   = vauto_close,
	.alloc   = vauto_alloc,
	.process = vauto_process,
	.reset   = vauto_reset,
};
