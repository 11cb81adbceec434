/*
 * tts_sherpa.c  Offline TTS with sherpa-onnx (Kokoro, or VITS such as
 *               Piper voices), C API loaded with dlopen.
 *
 * The model folder (tts_sherpa_model_dir) is one of sherpa-onnx's
 * released TTS packages:
 *   kokoro  model.onnx (or the one *.onnx), voices.bin, tokens.txt,
 *           espeak-ng-data/, optional lexicon*.txt (multi-lingual)
 *   vits    the model *.onnx, tokens.txt, and espeak-ng-data/ (Piper)
 *           or lexicon.txt
 * tts_sherpa_kind = auto picks kokoro when voices.bin is present.  Every
 * file is checked before the library sees it, the model's metadata and
 * the size of voices.bin included (bad ones make the library exit()).
 *
 * One engine per process, created at init (a broken model fails
 * start-up); tts_sherpa_speaker is checked against its speaker count.
 * Generation streams through the library's chunk callback (one chunk per
 * sentence batch); chunks are converted to 16-bit, resampled from the
 * model's rate (Kokoro 24 kHz, Piper 16/22.05 kHz) to 16 kHz with
 * speexdsp (one resampler per session, flushed after each sentence) and
 * handed to the caller.  The handler returning true makes the callback
 * return 0, which stops generation.
 *
 * Threads: init/close on the main thread.  A session is used by one
 * worker thread at a time; sessions of different calls generate on the
 * shared engine concurrently (its model state is read-only; sherpa-onnx
 * serialises its own espeak-ng front end).
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/engine.h"
#include "engines/sherpa.h"
#include "engines/ttsout.h"

#define MOD "tts_sherpa"

enum {
	PATH_MAX_ = 512,
	LEXICON_MAX = 2048,    /* comma-separated lexicon list */
	CHUNK = 512,
	SPEAKER_MAX = 100000,
};

enum tts_kind {
	KIND_AUTO = 0,
	KIND_KOKORO,
	KIND_VITS,
};

static const char key_dir[] = "tts_sherpa_model_dir";

/* set by init, read-only while sessions exist (main thread) */
static struct {
	struct sherpa_tts_api api;
	const struct sherpa_tts *tts;
	enum tts_kind kind;
	int rate;              /* model output rate */
	int speakers;
	int speaker;
	char model[PATH_MAX_];
	char tokens[PATH_MAX_];
	char voices[PATH_MAX_];
	char data_dir[PATH_MAX_];
	char lexicon[LEXICON_MAX];
} eng;

struct sherpa_tts_sess {
	struct ttsout *out;        /* model rate -> 16 kHz */
	float speed;
};


static int path_join(char *out, size_t sz, const char *dir, const char *name)
{
	int r = re_snprintf(out, sz, "%s/%s", dir, name);

	return r < 0 || (size_t)r >= sz ? ENAMETOOLONG : 0;
}


/* The model: model.onnx, else the only *.onnx that is not int8, else the
 * only int8 one. */
static int model_pick(const char *dir)
{
	char plain[256] = "", int8[256] = "";
	unsigned nplain = 0, nint8 = 0;
	struct dirent *de;
	DIR *d;

	if (!path_join(eng.model, sizeof(eng.model), dir, "model.onnx") &&
	    sherpa_file_ok(eng.model))
		return 0;
	eng.model[0] = '\0';

	d = opendir(dir);
	if (!d)
		return ENOENT;
	while ((de = readdir(d))) {
		bool is8;

		if (fnmatch("*.onnx", de->d_name, 0) ||
		    strlen(de->d_name) >= sizeof(plain))
			continue;
		is8 = strstr(de->d_name, ".int8.") != NULL;
		str_ncpy(is8 ? int8 : plain, de->d_name, sizeof(plain));
		if (is8)
			++nint8;
		else
			++nplain;
	}
	closedir(d);

	if (nplain == 1)
		return path_join(eng.model, sizeof(eng.model), dir, plain);
	if (!nplain && nint8 == 1)
		return path_join(eng.model, sizeof(eng.model), dir, int8);
	if (!nplain && !nint8) {
		log_error(MOD, NULL, "%s: \"%s\" has no .onnx model", key_dir,
			  dir);
		return ENOENT;
	}
	log_error(MOD, NULL, "%s: \"%s\" has several .onnx files; name the "
		  "one to use model.onnx", key_dir, dir);
	return EINVAL;
}


/* lexicon*.txt files, comma separated (Kokoro multi-lingual); "" if
 * none. */
static int lexicons_find(const char *dir)
{
	struct dirent *de;
	size_t o = 0;
	DIR *d;

	eng.lexicon[0] = '\0';
	d = opendir(dir);
	if (!d)
		return ENOENT;
	while ((de = readdir(d))) {
		int r;

		if (fnmatch("lexicon*.txt", de->d_name, 0))
			continue;
		r = re_snprintf(eng.lexicon + o, sizeof(eng.lexicon) - o,
				"%s%s/%s", o ? "," : "", dir, de->d_name);
		if (r < 0 || o + (size_t)r >= sizeof(eng.lexicon) - 1) {
			closedir(d);
			log_error(MOD, NULL, "%s: too many lexicon files",
				  key_dir);
			return ENAMETOOLONG;
		}
		o += (size_t)r;
	}
	closedir(d);
	return 0;
}


/* espeak-ng-data as sherpa-onnx checks it (it would refuse without). */
static bool espeak_data_ok(const char *dir)
{
	static const char *const need[] = {
		"phontab", "phonindex", "phondata", "intonations",
	};
	char p[PATH_MAX_];

	if (!sherpa_dir_ok(dir))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(need); i++) {
		if (path_join(p, sizeof(p), dir, need[i]) ||
		    !sherpa_file_ok(p))
			return false;
	}
	return true;
}


/* Main thread.  The model's metadata as sherpa-onnx requires it: a
 * missing key, a voices.bin of the wrong size or a multi-lingual Kokoro
 * without lexicon make the library exit() the process. */
static int meta_check(void)
{
	static const char *const vits_keys[] = {
		"sample_rate", "n_speakers", "language", "comment", NULL
	};
	static const char *const kokoro_keys[] = {
		"sample_rate", "n_speakers", "has_espeak", "style_dim", NULL
	};
	const char *missing;
	char v[64];
	unsigned d0, d1, d2;
	int speakers;
	uint64_t want;
	struct stat st;

	missing = sherpa_onnx_meta_missing(eng.model, eng.kind == KIND_KOKORO ?
					   kokoro_keys : vits_keys);
	if (missing) {
		log_error(MOD, NULL, "%s: %s lacks \"%s\" in its metadata: "
			  "not a sherpa-onnx %s model", key_dir, eng.model,
			  missing, eng.kind == KIND_KOKORO ? "Kokoro" :
			  "VITS/Piper");
		return EINVAL;
	}
	if (eng.kind != KIND_KOKORO)
		return 0;

	/* voices.bin: n_speakers x style_dim[0] x style_dim[2] floats */
	(void)sherpa_onnx_meta(eng.model, "n_speakers", v, sizeof(v));
	speakers = atoi(v);
	(void)sherpa_onnx_meta(eng.model, "style_dim", v, sizeof(v));
	if (sscanf(v, "%u,%u,%u", &d0, &d1, &d2) != 3 || d1 != 1 ||
	    speakers < 1) {
		log_error(MOD, NULL, "%s: %s has style_dim \"%s\" and "
			  "n_speakers %d; sherpa-onnx wants 3 numbers, the "
			  "second 1, and speakers", key_dir, eng.model, v,
			  speakers);
		return EINVAL;
	}
	want = (uint64_t)speakers * d0 * d2 * sizeof(float);
	memset(&st, 0, sizeof(st));
	if (stat(eng.voices, &st) || (uint64_t)st.st_size != want) {
		log_error(MOD, NULL, "%s: %s has %lld bytes, %s expects %llu "
			  "(%d speakers x %u x %u floats): voices.bin of "
			  "another model?", key_dir, eng.voices,
			  (long long)st.st_size, eng.model,
			  (unsigned long long)want, speakers, d0, d2);
		return EINVAL;
	}

	/* version >= 2: multi-lingual, needs its lexicon files */
	if (!sherpa_onnx_meta(eng.model, "version", v, sizeof(v)) &&
	    atoi(v) >= 2 && !eng.lexicon[0]) {
		log_error(MOD, NULL, "%s: %s is a multi-lingual Kokoro "
			  "(version %s) and the folder has no lexicon*.txt",
			  key_dir, eng.model, v);
		return ENOENT;
	}
	return 0;
}


/* Main thread.  Fills eng.* from the folder, naming the key in every
 * message. */
static int folder_scan(const char *dir, const char *kind)
{
	char voices[PATH_MAX_];
	int err;

	if (!dir || !*dir) {
		log_error(MOD, NULL, "%s is not set (a Kokoro or VITS/Piper "
			  "model folder)", key_dir);
		return EINVAL;
	}
	if (!sherpa_dir_ok(dir)) {
		log_error(MOD, NULL, "%s: \"%s\" is not a folder", key_dir,
			  dir);
		return ENOENT;
	}
	if (strlen(dir) > PATH_MAX_ - 64) {
		log_error(MOD, NULL, "%s: path too long", key_dir);
		return ENAMETOOLONG;
	}

	(void)path_join(voices, sizeof(voices), dir, "voices.bin");
	if (kind && !strcmp(kind, "kokoro"))
		eng.kind = KIND_KOKORO;
	else if (kind && !strcmp(kind, "vits"))
		eng.kind = KIND_VITS;
	else
		eng.kind = sherpa_file_ok(voices) ? KIND_KOKORO : KIND_VITS;

	err = model_pick(dir);
	if (err)
		return err;
	if (!sherpa_onnx_file_ok(eng.model)) {
		log_error(MOD, NULL, "%s: %s is not an ONNX model (empty, "
			  "truncated or a Git LFS pointer?)", key_dir,
			  eng.model);
		return EINVAL;
	}

	(void)path_join(eng.tokens, sizeof(eng.tokens), dir, "tokens.txt");
	if (!sherpa_file_ok(eng.tokens)) {
		log_error(MOD, NULL, "%s: \"%s\" has no tokens.txt", key_dir,
			  dir);
		return ENOENT;
	}

	(void)path_join(eng.data_dir, sizeof(eng.data_dir), dir,
			"espeak-ng-data");
	if (!espeak_data_ok(eng.data_dir))
		eng.data_dir[0] = '\0';
	err = lexicons_find(dir);
	if (err)
		return err;

	if (eng.kind == KIND_KOKORO) {
		str_ncpy(eng.voices, voices, sizeof(eng.voices));
		if (!sherpa_file_ok(eng.voices)) {
			log_error(MOD, NULL, "%s: \"%s\" has no voices.bin "
				  "(needed for a Kokoro model)", key_dir,
				  dir);
			return ENOENT;
		}
		if (!eng.data_dir[0]) {
			log_error(MOD, NULL, "%s: \"%s\" has no complete "
				  "espeak-ng-data/ (needed for a Kokoro "
				  "model)", key_dir, dir);
			return ENOENT;
		}
	}
	else if (!eng.data_dir[0] && !eng.lexicon[0]) {
		log_error(MOD, NULL, "%s: \"%s\" has neither espeak-ng-data/ "
			  "nor lexicon.txt (needed for a VITS model)",
			  key_dir, dir);
		return ENOENT;
	}
	return meta_check();
}


static void config_fill(struct sherpa_tts_config *c)
{
	c->model.num_threads = 1;     /* many calls share the cores */
	c->model.provider = "cpu";
	c->model.debug = 0;
	c->max_num_sentences = 1;     /* a chunk per sentence: early audio */

	if (eng.kind == KIND_KOKORO) {
		c->model.kokoro.model = eng.model;
		c->model.kokoro.voices = eng.voices;
		c->model.kokoro.tokens = eng.tokens;
		c->model.kokoro.data_dir = eng.data_dir;
		c->model.kokoro.length_scale = 1.0f;
		c->model.kokoro.lexicon = eng.lexicon[0] ? eng.lexicon : NULL;
		return;
	}

	c->model.vits.model = eng.model;
	c->model.vits.tokens = eng.tokens;
	c->model.vits.data_dir = eng.data_dir[0] ? eng.data_dir : NULL;
	/* with espeak-ng-data the lexicon is not used */
	c->model.vits.lexicon = !eng.data_dir[0] ? eng.lexicon : NULL;
	c->model.vits.noise_scale = 0.667f;
	c->model.vits.noise_scale_w = 0.8f;
	c->model.vits.length_scale = 1.0f;
}


static void tts_close(void)
{
	if (eng.tts && eng.api.destroy)
		eng.api.destroy(eng.tts);
	memset(&eng, 0, sizeof(eng));
}


static int tts_init(const struct conf *conf)
{
	union sherpa_tts_config_room c;
	const char *dir = conf_str(conf, key_dir);
	int64_t speaker = conf_int(conf, "tts_sherpa_speaker");
	int err;

	if (eng.tts)
		return 0;

	if (speaker < 0 || speaker >= SPEAKER_MAX) {
		log_error(MOD, NULL, "tts_sherpa_speaker: %lld is out of "
			  "range", (long long)speaker);
		return EINVAL;
	}

	err = folder_scan(dir, conf_str(conf, "tts_sherpa_kind"));
	if (err)
		goto out;

	err = sherpa_tts_api_load(&eng.api, conf_str(conf, "sherpa_lib"));
	if (err)
		goto out;

	memset(&c, 0, sizeof(c));
	config_fill(&c.cfg);
	eng.tts = eng.api.create(&c.cfg);
	if (!eng.tts) {
		log_error(MOD, NULL, "%s: sherpa-onnx could not load the %s "
			  "model in \"%s\"", key_dir,
			  eng.kind == KIND_KOKORO ? "Kokoro" : "VITS", dir);
		err = EINVAL;
		goto out;
	}

	eng.rate = eng.api.sample_rate(eng.tts);
	eng.speakers = eng.api.num_speakers(eng.tts);
	if (eng.rate < 8000 || eng.rate > 192000) {
		log_error(MOD, NULL, "%s: model reports a sample rate of %d",
			  key_dir, eng.rate);
		err = EINVAL;
		goto out;
	}
	if (speaker >= (eng.speakers > 0 ? eng.speakers : 1)) {
		log_error(MOD, NULL, "tts_sherpa_speaker: %lld, but the model "
			  "has %d speaker(s) (0..%d)", (long long)speaker,
			  eng.speakers, eng.speakers > 0 ? eng.speakers - 1 :
			  0);
		err = EINVAL;
		goto out;
	}
	eng.speaker = (int)speaker;

	log_info(MOD, NULL, "sherpa-onnx %s %s TTS: %s, %d Hz, speaker %d "
		 "of %d", eng.api.version,
		 eng.kind == KIND_KOKORO ? "Kokoro" : "VITS", eng.model,
		 eng.rate, eng.speaker, eng.speakers);
 out:
	if (err)
		tts_close();
	return err;
}


static void sess_destructor(void *arg)
{
	struct sherpa_tts_sess *s = arg;

	mem_deref(s->out);
}


static int tts_alloc(void **stp, const struct conf *conf)
{
	struct sherpa_tts_sess *s;
	int64_t rate = conf ? conf_int(conf, "tts_rate") : 100;
	int err;

	if (!stp)
		return EINVAL;
	if (!eng.tts)
		return EINVAL;   /* init was not called or failed */

	s = mem_zalloc(sizeof(*s), sess_destructor);
	if (!s)
		return ENOMEM;
	if (rate < 50 || rate > 200)
		rate = 100;
	s->speed = (float)rate / 100.0f;

	err = ttsout_alloc(&s->out, (unsigned)eng.rate);
	if (err) {
		mem_deref(s);
		return err;
	}
	*stp = s;
	return 0;
}


/* The library's chunk callback (the synthesising worker thread). */
static int32_t chunk_h(const float *samples, int32_t n, float progress,
		       void *arg)
{
	struct sherpa_tts_sess *s = arg;
	int16_t pcm[CHUNK];

	(void)progress;
	for (int32_t i = 0; samples && i < n && !ttsout_stopped(s->out); ) {
		size_t m = (size_t)(n - i) < CHUNK ? (size_t)(n - i) : CHUNK;

		for (size_t k = 0; k < m; k++) {
			float v = samples[i + (int32_t)k] * 32767.0f;

			pcm[k] = (int16_t)(v > 32767.0f ? 32767 :
					   v < -32768.0f ? -32768 : v);
		}
		ttsout_push(s->out, pcm, m);
		i += (int32_t)m;
	}
	return ttsout_stopped(s->out) ? 0 : 1;
}


static bool text_blank(const char *t)
{
	for (; *t; t++) {
		if (*t != ' ' && *t != '\t' && *t != '\n' && *t != '\r')
			return false;
	}
	return true;
}


/* Worker thread. */
static int tts_synth(void *st, const char *text, const char *language,
		     tts_audio_h *audioh, void *arg)
{
	union sherpa_generation_config_room g;
	const struct sherpa_generated_audio *audio;
	struct sherpa_tts_sess *s = st;

	(void)language;   /* the model speaks the language it was made for */
	if (!s || !text || !audioh)
		return EINVAL;
	if (!eng.tts)
		return EINVAL;
	if (text_blank(text))
		return 0;

	ttsout_start(s->out, audioh, arg, true);

	memset(&g, 0, sizeof(g));
	g.cfg.speed = s->speed;
	g.cfg.sid = eng.speaker;
	g.cfg.silence_scale = 0.2f;

	audio = eng.api.generate(eng.tts, text, &g.cfg, chunk_h, s);
	if (audio)
		eng.api.audio_destroy(audio);
	else if (!ttsout_stopped(s->out) && !ttsout_samples_in(s->out))
		return EIO;

	if (!ttsout_stopped(s->out))
		ttsout_flush(s->out);
	return 0;
}


const struct tts_ops tts_sherpa = {
	.name  = "sherpa",
	.init  = tts_init,
	.close = tts_close,
	.alloc = tts_alloc,
	.synth = tts_synth,
};
