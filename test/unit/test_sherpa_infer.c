/*
 * test_sherpa_infer.c  Recognition and synthesis through the real
 *                      sherpa-onnx 1.13.8 library, with models generated
 *                      at test time by test/tools/onnx_synth.py: small,
 *                      valid ONNX graphs with the inputs, outputs and
 *                      metadata sherpa-onnx requires, whose output is
 *                      known exactly (see the generator's header).
 *
 * TTS (VITS with lexicon, Piper, Kokoro): the audio is a sine of
 * amplitude 0.5 whose pitch comes from the speaker id (VITS, Piper) or
 * the speaker's voices.bin row (Kokoro), 0.1 s per token times
 * length_scale (1 / speed).  The tests check what our engine makes of
 * it: length and pitch after resampling to 16 kHz, the speaker id and
 * speed reaching the model, stopping from the handler, the speaker
 * count, sessions on two threads.
 *
 * STT (streaming zipformer2 transducer): one output frame per 32-frame
 * chunk; a loud low tone emits HELLO, WORLD (one token per chunk), a loud
 * high tone YES, ONE, TWO, silence or a quiet tone nothing.  The tests
 * check start/feed/finish, partial results, the turn-mode mapping,
 * cancel, the end of a turn, sessions on two threads sharing the
 * recognizer, and that feed scales 16-bit samples as the library expects.
 *
 * Models lacking metadata sherpa-onnx requires (it would exit or crash)
 * must be refused at init.
 *
 * Needs deps/sherpa-onnx (scripts/setup.sh) and python3; skips when the
 * library is missing (Piper, Kokoro and the metadata guards also without
 * Debian's espeak-ng-data).
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/engine.h"
#include "engines/sherpa.h"
#include "test.h"

/* what onnx_synth.py builds */
enum {
	VITS_RATE = 22050,
	VITS_PER_TOKEN = 2205,
	VITS_SPEAKERS = 3,
	SRATE = 16000,
	FRAME = 320,                 /* 20 ms, as the pipeline feeds */
	PCM_MAX = SRATE * 16,        /* 16 s of collected TTS audio */
	PARTIAL_MAX = 8,
};

#define VITS_F0 440.0
#define VITS_F_STEP 220.0
#define VITS_AMPLITUDE 0.5
#define LOW_HZ 400.0
#define HIGH_HZ 3000.0
/* Debian's espeak-ng-data (libespeak-ng1 depends on it), for Piper and
 * Kokoro */
#define ESPEAK_DATA "/usr/lib/x86_64-linux-gnu/espeak-ng-data"


/* LeakSanitizer (ASan builds) reads this at exit.  sherpa-onnx 1.13.8's
 * own espeak-ng leaks 1344 bytes each time it phonemises for a Piper voice
 * (espeak_SetVoiceByName, from piper::phonemize_eSpeak; measured in
 * test_sherpa_tts_piper: 14 calls, 18816 bytes).  Only leaks allocated
 * inside that library are ignored; ours are still reported. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libsherpa-onnx-c-api.so\n";
}


static const char *lib_path(void)
{
	const char *lib = conf_str(NULL, "sherpa_lib");

	return sherpa_file_ok(lib) ? lib : NULL;
}


static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) ? errno : 0;
}


static void models_remove(const char *dir)
{
	if (dir[0])
		(void)nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}


/* Run the generator with args (shell words, quoted by the caller). */
static int synth_run(const char *args)
{
	char cmd[1024];
	int r;

	re_snprintf(cmd, sizeof(cmd), "python3 '%s/../tools/onnx_synth.py' "
		    "%s", test_datadir, args);
	r = system(cmd);
	if (r) {
		fprintf(stderr, "  %s: exit %d\n", cmd, r);
		return EIO;
	}
	return 0;
}


/* Generate the models into a new folder under the working directory
 * (the build tree under ctest). */
static int models_make(char *dir, size_t sz)
{
	char args[512];
	int err;

	str_ncpy(dir, "sherpa-models-XXXXXX", sz);
	if (!mkdtemp(dir)) {
		dir[0] = '\0';
		return errno;
	}
	re_snprintf(args, sizeof(args), "all '%s' %s", dir,
		    sherpa_dir_ok(ESPEAK_DATA) ? ESPEAK_DATA : "");
	err = synth_run(args);
	if (err) {
		models_remove(dir);
		dir[0] = '\0';
	}
	return err;
}


static int conf_make(struct conf **confp, const char *const *kv)
{
	struct conf *conf = NULL;
	int err;

	err = conf_alloc(&conf);
	for (size_t i = 0; !err && kv[i]; i += 2)
		err = conf_set(conf, kv[i], kv[i + 1], "test", NULL, NULL);
	if (!err && conf_validate(conf, NULL, NULL))
		err = EINVAL;
	if (err) {
		mem_deref(conf);
		return err;
	}
	*confp = conf;
	return 0;
}


/* ---------------------------------------------------------------- TTS */

struct collect {
	int16_t *pcm;
	size_t n;
	unsigned calls;
	size_t stop_after;       /* handler returns true at >= this, or 0 */
	bool off_thread;         /* set if called on another thread */
	pthread_t thread;
};


static bool collect_h(const int16_t *pcm, size_t n, void *arg)
{
	struct collect *c = arg;
	size_t m = n;

	if (!pthread_equal(pthread_self(), c->thread))
		c->off_thread = true;
	if (c->n + m > PCM_MAX)
		m = PCM_MAX - c->n;
	memcpy(c->pcm + c->n, pcm, m * sizeof(*pcm));
	c->n += m;
	++c->calls;
	return c->stop_after && c->n >= c->stop_after;
}


/* Frequency from upward zero crossings, RMS, peak. */
static void pcm_measure(const int16_t *pcm, size_t n, double *hz,
			double *rms, int *peak)
{
	unsigned ups = 0;
	double sum = 0;
	int pk = 0;
	size_t first = 0, last = 0;

	for (size_t i = 0; i < n; i++) {
		int v = pcm[i] < 0 ? -pcm[i] : pcm[i];

		sum += (double)pcm[i] * pcm[i];
		if (v > pk)
			pk = v;
		if (i && pcm[i - 1] < 0 && pcm[i] >= 0) {
			if (!ups)
				first = i;
			last = i;
			++ups;
		}
	}
	*hz = ups > 1 ? (double)(ups - 1) * SRATE / (double)(last - first) :
		0;
	*rms = n ? sqrt(sum / (double)n) : 0;
	*peak = pk;
}


/* Expected 16 kHz length of model output of n samples at 22.05 kHz. */
static size_t at16k(size_t n)
{
	return (size_t)((n * (uint64_t)SRATE + VITS_RATE / 2) / VITS_RATE);
}


static int synth_check(const struct tts_ops *ops, void *st, const char *text,
		       size_t tokens, double scale, unsigned sid,
		       struct collect *c)
{
	size_t want = at16k((size_t)ceil(tokens * VITS_PER_TOKEN * scale));
	double hz, rms, want_hz = VITS_F0 + VITS_F_STEP * sid;
	int peak;

	c->n = 0;
	c->calls = 0;
	c->thread = pthread_self();
	TEST_ERR(ops->synth(st, text, "en", collect_h, c));
	pcm_measure(c->pcm, c->n, &hz, &rms, &peak);
	if ((size_t)labs((long)c->n - (long)want) > 2 ||
	    fabs(hz - want_hz) > want_hz * 0.01 ||
	    fabs(rms - VITS_AMPLITUDE * 32767 / sqrt(2)) > 300 ||
	    peak > VITS_AMPLITUDE * 32767 * 1.05 ||
	    peak < VITS_AMPLITUDE * 32767 * 0.95) {
		fprintf(stderr, "  \"%s\": %zu samples (want %zu), %.1f Hz "
			"(want %.1f), rms %.0f, peak %d\n", text, c->n, want,
			hz, want_hz, rms, peak);
		return EPROTO;
	}
	TEST_ASSERT(!c->off_thread);
	return 0;
}


/*
 * Synthesis through tts_sherpa with the generated VITS model (lexicon
 * front end): audio length and pitch after resampling 22.05 -> 16 kHz,
 * speaker id and speed passed to the model, several sentences, text the
 * front end cannot convert, blank text.
 */
int test_sherpa_tts_synth(void)
{
	const struct tts_ops *ops = tts_find("sherpa");
	struct conf *conf = NULL, *fast = NULL;
	struct collect c;
	char dir[64] = "", mdir[128];
	void *st = NULL, *st2 = NULL;
	int err;

	TEST_ASSERT(ops != NULL);
	if (!lib_path()) {
		fprintf(stderr, "  SKIP: sherpa-onnx not in deps/ (run "
			"scripts/setup.sh)\n");
		return 0;
	}
	memset(&c, 0, sizeof(c));
	c.pcm = mem_zalloc(PCM_MAX * sizeof(*c.pcm), NULL);
	TEST_ASSERT(c.pcm != NULL);

	err = models_make(dir, sizeof(dir));
	if (err)
		goto out;
	re_snprintf(mdir, sizeof(mdir), "%s/vits", dir);

	{
		const char *kv[] = {"tts", "sherpa", "tts_sherpa_model_dir",
				    mdir, "tts_sherpa_speaker", "1", NULL};
		const char *kv2[] = {"tts_rate", "200", NULL};

		err = conf_make(&conf, kv);
		if (!err)
			err = conf_make(&fast, kv2);
	}
	if (err)
		goto out;

	err = ops->init(conf);
	if (err)
		goto out;
	err = ops->alloc(&st, conf);
	if (err)
		goto out;

	/* "hello world": h e l l o ' ' w o r l d = 11 tokens, speaker 1 */
	err = synth_check(ops, st, "hello world", 11, 1.0, 1, &c);
	if (err)
		goto out;
	/* case does not matter to the front end */
	if (!err)
		err = synth_check(ops, st, "Hello WORLD", 11, 1.0, 1, &c);
	/* tts_rate 200: length_scale 1/2 */
	if (!err)
		err = ops->alloc(&st2, fast);
	if (!err)
		err = synth_check(ops, st2, "hello world", 11, 0.5, 1, &c);

	/* two sentences (two chunks from the library): "hello. world." is
	 * h e l l o ' ' . ' ' and w o r l d ' ' . ' ' (punctuation is a
	 * token of this model) */
	if (!err)
		err = synth_check(ops, st, "hello. world.", 16, 1.0, 1, &c);

	/* words the front end cannot say: an error, so that the pipeline's
	 * fallback voice says them */
	if (!err) {
		c.n = 0;
		if (ops->synth(st, "zzz qqq", "en", collect_h, &c) != EIO ||
		    c.n)
			err = EPROTO;
	}

	/* blank text: nothing, no error */
	if (!err) {
		c.n = 0;
		err = ops->synth(st, " \t", "en", collect_h, &c);
		if (!err && c.n)
			err = EPROTO;
	}
 out:
	mem_deref(st2);
	mem_deref(st);
	ops->close();
	mem_deref(fast);
	mem_deref(conf);
	models_remove(dir);
	mem_deref(c.pcm);
	TEST_ERR(err);
	return 0;
}


/* init with tts_sherpa_speaker = speaker; 0 or the error. */
static int speaker_init(const struct tts_ops *ops, const char *mdir,
			const char *speaker, struct conf **confp)
{
	const char *kv[] = {"tts", "sherpa", "tts_sherpa_model_dir", mdir,
			    "tts_sherpa_kind", "vits", "tts_sherpa_speaker",
			    speaker, NULL};
	int err;

	*confp = NULL;
	err = conf_make(confp, kv);
	if (!err)
		err = ops->init(*confp);
	if (err)
		*confp = mem_deref(*confp);
	return err;
}


/*
 * The speaker setting against the model's speaker count (3 here): the
 * last one speaks at its own pitch, one more is refused at start-up
 * naming the setting.
 */
int test_sherpa_tts_speakers(void)
{
	const struct tts_ops *ops = tts_find("sherpa");
	struct conf *conf = NULL;
	struct collect c;
	char dir[64] = "", mdir[128], tmp[64], out[2048];
	void *st = NULL;
	int fd, err;

	TEST_ASSERT(ops != NULL);
	if (!lib_path()) {
		fprintf(stderr, "  SKIP: sherpa-onnx not in deps/ (run "
			"scripts/setup.sh)\n");
		return 0;
	}
	memset(&c, 0, sizeof(c));
	c.pcm = mem_zalloc(PCM_MAX * sizeof(*c.pcm), NULL);
	TEST_ASSERT(c.pcm != NULL);
	err = models_make(dir, sizeof(dir));
	if (err)
		goto out;
	re_snprintf(mdir, sizeof(mdir), "%s/vits", dir);

	err = speaker_init(ops, mdir, "2", &conf);
	if (!err)
		err = ops->alloc(&st, conf);
	if (!err)
		err = synth_check(ops, st, "test", 4, 1.0, 2, &c);
	st = mem_deref(st);
	ops->close();
	conf = mem_deref(conf);
	if (!err)
		err = speaker_init(ops, mdir, "0", &conf);
	if (!err)
		err = ops->alloc(&st, conf);
	if (!err)
		err = synth_check(ops, st, "one two", 7, 1.0, 0, &c);
	st = mem_deref(st);
	ops->close();
	conf = mem_deref(conf);
	if (err)
		goto out;

	str_ncpy(tmp, "/tmp/agentline-sherpa-XXXXXX", sizeof(tmp));
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = errno;
		goto out;
	}
	log_set_fd(fd);
	err = speaker_init(ops, mdir, "3", &conf);
	log_set_fd(2);
	out[0] = '\0';
	if (lseek(fd, 0, SEEK_SET) == 0) {
		ssize_t n = read(fd, out, sizeof(out) - 1);

		out[n > 0 ? n : 0] = '\0';
	}
	close(fd);
	unlink(tmp);
	if (err != EINVAL || !strstr(out, "tts_sherpa_speaker: 3") ||
	    !strstr(out, "3 speaker(s) (0..2)")) {
		fprintf(stderr, "  speaker 3: err %d, log: %s\n", err, out);
		err = EPROTO;
	}
	else {
		err = 0;
	}
	/* refused: no engine, no session */
	if (!err && ops->alloc(&st, NULL) != EINVAL)
		err = EPROTO;
 out:
	mem_deref(st);
	ops->close();
	mem_deref(conf);
	models_remove(dir);
	mem_deref(c.pcm);
	TEST_ERR(err);
	return 0;
}


static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}


/*
 * The handler returning true stops synthesis for real: nothing more
 * reaches it, synth returns 0 at once, and the library generates no
 * further sentence (with vits-slow each sentence costs ~10 ms of
 * onnxruntime time here, so a 24-sentence text that is stopped in its first
 * sentence must return in a fraction of the time the whole text takes).
 * The session speaks again afterwards.
 */
int test_sherpa_tts_stop(void)
{
	const struct tts_ops *ops = tts_find("sherpa");
	struct conf *conf = NULL;
	struct collect c;
	char dir[64] = "", mdir[128], text[512] = "";
	uint64_t t0, full = 0, stopped = 0;
	void *st = NULL;
	int err;

	TEST_ASSERT(ops != NULL);
	if (!lib_path()) {
		fprintf(stderr, "  SKIP: sherpa-onnx not in deps/ (run "
			"scripts/setup.sh)\n");
		return 0;
	}
	memset(&c, 0, sizeof(c));
	c.pcm = mem_zalloc(PCM_MAX * sizeof(*c.pcm), NULL);
	TEST_ASSERT(c.pcm != NULL);
	err = models_make(dir, sizeof(dir));
	if (err)
		goto out;
	re_snprintf(mdir, sizeof(mdir), "%s/vits-slow", dir);
	err = speaker_init(ops, mdir, "0", &conf);
	if (!err)
		err = ops->alloc(&st, conf);
	if (err)
		goto out;

	/* 24 sentences of "yes." (y e s ' ' . ' ' = 6 tokens): 144 */
	for (int i = 0; i < 24; i++)
		strcat(text, "yes. ");

	/* whole text, then stopped in the first sentence, twice each */
	for (int round = 0; !err && round < 2; round++) {
		t0 = now_us();
		err = synth_check(ops, st, text, 144, 1.0, 0, &c);
		full += now_us() - t0;
		if (err)
			break;

		c.n = 0;
		c.stop_after = 1000;
		t0 = now_us();
		err = ops->synth(st, text, "en", collect_h, &c);
		stopped += now_us() - t0;
		c.stop_after = 0;
		if (!err && (c.n < 1000 || c.n > 1000 + 512)) {
			fprintf(stderr, "  stopped after %zu samples\n", c.n);
			err = EPROTO;
		}
	}
	if (!err && stopped * 4 > full) {
		fprintf(stderr, "  stopped synthesis took %llu us, the whole "
			"text %llu us: generation went on\n",
			(unsigned long long)stopped, (unsigned long long)full);
		err = EPROTO;
	}
	if (!err)
		err = synth_check(ops, st, "yes", 3, 1.0, 0, &c);
	if (!err)
		fprintf(stderr, "  whole text %llu us, stopped %llu us\n",
			(unsigned long long)full / 2,
			(unsigned long long)stopped / 2);
 out:
	mem_deref(st);
	ops->close();
	mem_deref(conf);
	models_remove(dir);
	mem_deref(c.pcm);
	TEST_ERR(err);
	return 0;
}


struct tts_worker {
	const struct tts_ops *ops;
	void *st;
	pthread_barrier_t *barrier;
	const char *text[2];
	size_t tokens[2];
	double scale;
	unsigned runs;
	unsigned ok;
	struct collect c;
};


static void *tts_worker_main(void *arg)
{
	struct tts_worker *w = arg;

	pthread_barrier_wait(w->barrier);
	for (unsigned i = 0; i < w->runs; i++) {
		if (!synth_check(w->ops, w->st, w->text[i & 1],
				 w->tokens[i & 1], w->scale, 0, &w->c))
			++w->ok;
	}
	return NULL;
}


/*
 * Two calls' sessions synthesise on two threads at once on the shared
 * engine, at different speeds: each gets its own audio, whole.
 */
int test_sherpa_tts_threads(void)
{
	const struct tts_ops *ops = tts_find("sherpa");
	static const char *const slow[] = {"tts_rate", "100", NULL};
	static const char *const fast[] = {"tts_rate", "200", NULL};
	struct conf *conf = NULL, *rate[2] = {NULL, NULL};
	pthread_barrier_t barrier;
	struct tts_worker w[2];
	char dir[64] = "", mdir[128];
	pthread_t th[2];
	int err;

	TEST_ASSERT(ops != NULL);
	if (!lib_path()) {
		fprintf(stderr, "  SKIP: sherpa-onnx not in deps/ (run "
			"scripts/setup.sh)\n");
		return 0;
	}
	memset(w, 0, sizeof(w));
	err = models_make(dir, sizeof(dir));
	if (err)
		goto out;
	re_snprintf(mdir, sizeof(mdir), "%s/vits", dir);
	err = speaker_init(ops, mdir, "0", &conf);
	if (!err)
		err = conf_make(&rate[0], slow);
	if (!err)
		err = conf_make(&rate[1], fast);
	for (int i = 0; !err && i < 2; i++) {
		w[i].ops = ops;
		w[i].barrier = &barrier;
		w[i].scale = i ? 0.5 : 1.0;
		w[i].runs = 8;
		w[i].text[0] = "this is a test";
		w[i].tokens[0] = 14;
		w[i].text[1] = "hello world";
		w[i].tokens[1] = 11;
		w[i].c.pcm = mem_zalloc(PCM_MAX * sizeof(int16_t), NULL);
		err = w[i].c.pcm ? ops->alloc(&w[i].st, rate[i]) : ENOMEM;
	}
	if (err)
		goto out;

	pthread_barrier_init(&barrier, NULL, 2);
	for (int i = 0; i < 2; i++)
		TEST_ERR(pthread_create(&th[i], NULL, tts_worker_main, &w[i]));
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < 2; i++) {
		if (w[i].ok != w[i].runs) {
			fprintf(stderr, "  thread %d: %u of %u right\n", i,
				w[i].ok, w[i].runs);
			err = EPROTO;
		}
	}
 out:
	for (int i = 0; i < 2; i++) {
		mem_deref(w[i].st);
		mem_deref(w[i].c.pcm);
		mem_deref(rate[i]);
	}
	ops->close();
	mem_deref(conf);
	models_remove(dir);
	TEST_ERR(err);
	return 0;
}


/*
 * A Piper voice (comment "piper"): sherpa-onnx phonemises with its own
 * espeak-ng from the folder's espeak-ng-data/ (Debian's, linked), and
 * the model gets bos, pad, (phoneme, pad) * n, eos; our engine passes
 * data_dir and no lexicon.  The exact phonemes are espeak-ng's, so the
 * length is checked as a whole number of tokens (1600 samples each at
 * 16 kHz) in a plausible range.
 */
int test_sherpa_tts_piper(void)
{
	const struct tts_ops *ops = tts_find("sherpa");
	static const char *const texts[2] = {
		"Hello world.", "Hello world, this is a longer test."
	};
	struct conf *conf = NULL;
	pthread_barrier_t barrier;
	struct tts_worker w[2];
	struct collect c;
	char dir[64] = "", mdir[128];
	double hz, rms;
	size_t tokens[2] = {0, 0};
	pthread_t th[2];
	void *st = NULL;
	int peak, err;

	TEST_ASSERT(ops != NULL);
	if (!lib_path() || !sherpa_dir_ok(ESPEAK_DATA)) {
		fprintf(stderr, "  SKIP: sherpa-onnx not in deps/ or no "
			"%s\n", ESPEAK_DATA);
		return 0;
	}
	memset(&c, 0, sizeof(c));
	memset(w, 0, sizeof(w));
	c.pcm = mem_zalloc(PCM_MAX * sizeof(*c.pcm), NULL);
	TEST_ASSERT(c.pcm != NULL);
	err = models_make(dir, sizeof(dir));
	if (err)
		goto out;
	re_snprintf(mdir, sizeof(mdir), "%s/piper", dir);
	err = speaker_init(ops, mdir, "0", &conf);
	if (!err)
		err = ops->alloc(&st, conf);

	for (int i = 0; !err && i < 2; i++) {
		c.n = 0;
		c.thread = pthread_self();
		err = ops->synth(st, texts[i], "en", collect_h, &c);
		if (err)
			break;
		pcm_measure(c.pcm, c.n, &hz, &rms, &peak);
		tokens[i] = (c.n + 800) / 1600;
		fprintf(stderr, "  piper: %zu samples = %zu tokens, %.1f Hz\n",
			c.n, tokens[i], hz);
		if ((size_t)labs((long)c.n - (long)(tokens[i] * 1600)) > 2 ||
		    tokens[i] < 10 || tokens[i] > 200 ||
		    fabs(hz - VITS_F0) > VITS_F0 * 0.01)
			err = EPROTO;
	}
	/* more text, more phonemes */
	if (!err && tokens[1] < tokens[0] + 10)
		err = EPROTO;

	/* the same on two threads at once: sherpa-onnx serialises its
	 * espeak-ng; every result as on one thread */
	for (int i = 0; !err && i < 2; i++) {
		w[i].ops = ops;
		w[i].barrier = &barrier;
		w[i].scale = 1.0;
		w[i].runs = 6;
		w[i].text[i] = texts[0];
		w[i].tokens[i] = tokens[0];
		w[i].text[!i] = texts[1];
		w[i].tokens[!i] = tokens[1];
		w[i].c.pcm = mem_zalloc(PCM_MAX * sizeof(int16_t), NULL);
		err = w[i].c.pcm ? ops->alloc(&w[i].st, conf) : ENOMEM;
	}
	if (!err) {
		pthread_barrier_init(&barrier, NULL, 2);
		for (int i = 0; i < 2; i++)
			TEST_ERR(pthread_create(&th[i], NULL, tts_worker_main,
						&w[i]));
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&barrier);
		for (int i = 0; i < 2; i++) {
			if (w[i].ok != w[i].runs) {
				fprintf(stderr, "  thread %d: %u of %u "
					"right\n", i, w[i].ok, w[i].runs);
				err = EPROTO;
			}
		}
	}
 out:
	for (int i = 0; i < 2; i++) {
		mem_deref(w[i].st);
		mem_deref(w[i].c.pcm);
	}
	mem_deref(st);
	ops->close();
	mem_deref(conf);
	models_remove(dir);
	mem_deref(c.pcm);
	TEST_ERR(err);
	return 0;
}


/* Synthesise text; the number of tokens of unit samples at 16 kHz (1600
 * = 0.1 s at speed 1) it made, its pitch, or -1 if the audio is not a
 * whole number of tokens. */
static long synth_tokens(const struct tts_ops *ops, void *st,
			 const char *text, long unit, struct collect *c,
			 double *hz)
{
	double rms;
	int peak;
	long tokens;

	c->n = 0;
	c->thread = pthread_self();
	if (ops->synth(st, text, "en", collect_h, c))
		return -1;
	pcm_measure(c->pcm, c->n, hz, &rms, &peak);
	tokens = ((long)c->n + unit / 2) / unit;
	if (labs((long)c->n - tokens * unit) > 2 ||
	    fabs(rms - VITS_AMPLITUDE * 32767 / sqrt(2)) > 300) {
		fprintf(stderr, "  \"%s\": %zu samples, rms %.0f\n", text,
			c->n, rms);
		return -1;
	}
	return tokens;
}


/*
 * A Kokoro (v0.19-like, espeak-ng front end) model at 24 kHz: our engine
 * picks the Kokoro config by voices.bin, the speaker selects the
 * voices.bin row (the row sets the pitch here: 300 + 200 * speaker Hz),
 * tts_rate reaches the model's speed input, 24 -> 16 kHz resampling
 * (2400 samples per token become 1600).
 */
int test_sherpa_tts_kokoro(void)
{
	const struct tts_ops *ops = tts_find("sherpa");
	const char *text = "Hello world, this is a test.";
	struct conf *conf = NULL, *fast = NULL;
	struct collect c;
	char dir[64] = "", mdir[128];
	void *st = NULL, *st2 = NULL;
	long tokens, tokens2;
	double hz;
	int err;

	TEST_ASSERT(ops != NULL);
	if (!lib_path() || !sherpa_dir_ok(ESPEAK_DATA)) {
		fprintf(stderr, "  SKIP: sherpa-onnx not in deps/ or no "
			"%s\n", ESPEAK_DATA);
		return 0;
	}
	memset(&c, 0, sizeof(c));
	c.pcm = mem_zalloc(PCM_MAX * sizeof(*c.pcm), NULL);
	TEST_ASSERT(c.pcm != NULL);
	err = models_make(dir, sizeof(dir));
	if (err)
		goto out;
	re_snprintf(mdir, sizeof(mdir), "%s/kokoro", dir);
	{
		const char *kv[] = {"tts", "sherpa", "tts_sherpa_model_dir",
				    mdir, "tts_sherpa_speaker", "1", NULL};
		const char *kv2[] = {"tts_rate", "200", NULL};

		err = conf_make(&conf, kv);
		if (!err)
			err = conf_make(&fast, kv2);
	}
	if (!err)
		err = ops->init(conf);
	if (!err)
		err = ops->alloc(&st, conf);
	if (!err)
		err = ops->alloc(&st2, fast);
	if (err)
		goto out;

	tokens = synth_tokens(ops, st, text, 1600, &c, &hz);
	fprintf(stderr, "  kokoro: %ld tokens, %.1f Hz\n", tokens, hz);
	if (tokens < 10 || tokens > 200 || fabs(hz - 500.0) > 5.0)
		err = EPROTO;
	/* twice the speed: half the tokens' length (N * 2400 / 2) */
	if (!err) {
		tokens2 = synth_tokens(ops, st2, text, 800, &c, &hz);
		if (tokens2 != tokens || fabs(hz - 500.0) > 5.0) {
			fprintf(stderr, "  kokoro at rate 200: %zu samples "
				"(want %ld), %.1f Hz\n", c.n, tokens * 800,
				hz);
			err = EPROTO;
		}
	}
 out:
	mem_deref(st2);
	mem_deref(st);
	ops->close();
	mem_deref(fast);
	mem_deref(conf);
	models_remove(dir);
	mem_deref(c.pcm);
	TEST_ERR(err);
	return 0;
}


/* ---------------------------------------------------------------- STT */

struct partials {
	char text[PARTIAL_MAX][64];
	unsigned n;
};


static void partial_h(const char *text, void *arg)
{
	struct partials *p = arg;

	if (p->n < PARTIAL_MAX)
		str_ncpy(p->text[p->n], text, sizeof(p->text[0]));
	++p->n;
}


/* One segment of a test utterance: a tone (hz > 0) or silence. */
struct seg {
	double hz;
	double dbfs;
	unsigned ms;
};


/* Feed segments in pieces of step samples (the pipeline feeds 20 ms),
 * continuous phase. */
static int feed_step(const struct stt_ops *ops, void *st,
		     const struct seg *segs, size_t nsegs, size_t step)
{
	int16_t *pcm;
	size_t total = 0, o = 0;
	double phase = 0;
	int err = 0;

	for (size_t s = 0; s < nsegs; s++)
		total += (size_t)segs[s].ms * SRATE / 1000;
	pcm = mem_zalloc((total + 1) * sizeof(*pcm), NULL);
	if (!pcm)
		return ENOMEM;
	for (size_t s = 0; s < nsegs; s++) {
		size_t n = (size_t)segs[s].ms * SRATE / 1000;
		double amp = 32767.0 * pow(10.0, segs[s].dbfs / 20.0);

		for (size_t i = 0; i < n; i++, o++) {
			pcm[o] = segs[s].hz > 0 ?
				(int16_t)lrint(amp * sin(phase)) : 0;
			phase += 2 * M_PI * segs[s].hz / SRATE;
		}
	}
	for (o = 0; !err && o < total; o += step)
		err = ops->feed(st, pcm + o, total - o < step ? total - o :
				step);
	mem_deref(pcm);
	return err;
}


static int feed_segs(const struct stt_ops *ops, void *st,
		     const struct seg *segs, size_t nsegs)
{
	return feed_step(ops, st, segs, nsegs, FRAME);
}


/* A whole turn: start, feed, finish; the final text in out. */
static int turn_run(const struct stt_ops *ops, void *st, enum stt_mode mode,
		    const char *const *words, const struct seg *segs,
		    size_t nsegs, struct partials *p, char *out, size_t sz)
{
	struct stt_turn turn = {mode, words, "en"};
	struct stt_result res;

	if (p)
		memset(p, 0, sizeof(*p));
	TEST_ERR(ops->start(st, &turn, p ? partial_h : NULL, p));
	TEST_ERR(feed_segs(ops, st, segs, nsegs));
	memset(&res, 0x55, sizeof(res));
	TEST_ERR(ops->finish(st, &res));
	TEST_ASSERT(res.confidence == -1.0f);
	str_ncpy(out, res.text, sz);
	return 0;
}


static int stt_open(const struct stt_ops *ops, char *dir, size_t sz,
		    struct conf **confp)
{
	char mdir[128];
	int err;

	err = models_make(dir, sz);
	if (err)
		return err;
	re_snprintf(mdir, sizeof(mdir), "%s/zipformer2", dir);
	{
		const char *kv[] = {"stt", "sherpa", "stt_sherpa_model_dir",
				    mdir, NULL};

		err = conf_make(confp, kv);
	}
	if (!err)
		err = ops->init(*confp);
	return err;
}


#define SEGS(...) (const struct seg[]){__VA_ARGS__}, \
	ARRAY_SIZE(((const struct seg[]){__VA_ARGS__}))


/* the graph's token chains, as our engine reports them */
static const char low_text[] = "hello world";
static const char high_text[] = "yes one two";


static int expect_turn(const struct stt_ops *ops, void *st,
		       enum stt_mode mode, const char *const *words,
		       const struct seg *segs, size_t nsegs,
		       struct partials *p, const char *want)
{
	char text[256];

	TEST_ERR(turn_run(ops, st, mode, words, segs, nsegs, p, text,
			  sizeof(text)));
	TEST_STREQ(text, want);
	return 0;
}


/*
 * start/feed/finish through stt_sherpa with the generated transducer:
 * tones decode to the graph's token chains, silence and a quiet line to
 * "", partials grow a token per chunk, turn modes map the text, the tail
 * of a turn is decoded at finish, cancel drops a turn.
 */
int test_sherpa_stt_decode(void)
{
	const struct stt_ops *ops = stt_find("sherpa");
	static const char *const words[] = {"two", "yes", NULL};
	struct stt_turn turn = {STT_MODE_FREE, NULL, "en"};
	struct stt_result res;
	struct conf *conf = NULL;
	struct partials p;
	char dir[64] = "";
	int16_t pcm[FRAME];
	void *st = NULL;
	int err;

	TEST_ASSERT(ops != NULL);
	if (!lib_path()) {
		fprintf(stderr, "  SKIP: sherpa-onnx not in deps/ (run "
			"scripts/setup.sh)\n");
		return 0;
	}
	err = stt_open(ops, dir, sizeof(dir), &conf);
	if (!err)
		err = ops->alloc(&st, conf);
	if (err)
		goto out;

	/* no turn started */
	memset(pcm, 0, sizeof(pcm));
	if (ops->feed(st, pcm, FRAME) != EPROTO ||
	    ops->finish(st, &res) != EPROTO) {
		err = EPROTO;
		goto out;
	}

	/* a low tone at a speaking level: HELLO WORLD, one token per
	 * 320 ms chunk, so the partials are "hello", "hello world" */
	err = expect_turn(ops, st, STT_MODE_FREE, NULL,
			  SEGS({0, 0, 200}, {LOW_HZ, -20, 1000}, {0, 0, 300}),
			  &p, low_text);
	if (!err && (p.n != 2 || strcmp(p.text[0], "hello") ||
		     strcmp(p.text[1], low_text))) {
		fprintf(stderr, "  partials: %u \"%s\" \"%s\"\n", p.n,
			p.text[0], p.text[1]);
		err = EPROTO;
	}
	/* a high tone: YES ONE TWO */
	if (!err)
		err = expect_turn(ops, st, STT_MODE_FREE, NULL,
				  SEGS({0, 0, 200}, {HIGH_HZ, -20, 1200},
				       {0, 0, 300}), &p, high_text);
	if (!err && (p.n != 3 || strcmp(p.text[0], "yes") ||
		     strcmp(p.text[1], "yes one") ||
		     strcmp(p.text[2], high_text)))
		err = EPROTO;

	/* silence, and a tone at -70 dBFS (the graph's threshold is about
	 * -47 dBFS): nothing heard, no partial.  A feed that scaled the
	 * samples wrongly by 2^15 either way fails here or above. */
	if (!err)
		err = expect_turn(ops, st, STT_MODE_FREE, NULL,
				  SEGS({0, 0, 1500}), &p, "");
	if (!err && p.n)
		err = EPROTO;
	if (!err)
		err = expect_turn(ops, st, STT_MODE_FREE, NULL,
				  SEGS({LOW_HZ, -70, 1500}), &p, "");
	if (!err && p.n)
		err = EPROTO;

	/* turn modes map the open-vocabulary text */
	if (!err)
		err = expect_turn(ops, st, STT_MODE_YESNO, NULL,
				  SEGS({HIGH_HZ, -20, 1200}), NULL, "yes");
	if (!err)
		err = expect_turn(ops, st, STT_MODE_YESNO, NULL,
				  SEGS({LOW_HZ, -20, 1200}), NULL, "");
	if (!err)
		err = expect_turn(ops, st, STT_MODE_DIGITS, NULL,
				  SEGS({HIGH_HZ, -20, 1200}), NULL, "12");
	if (!err)
		err = expect_turn(ops, st, STT_MODE_WORDS, words,
				  SEGS({HIGH_HZ, -20, 1200}), NULL, "yes");

	/* speech up to the very end of the turn: finish's silent tail
	 * lets the last chunks be decoded.  A chunk is decoded once T = 45
	 * frames from its start are ready: a 20 ms burst ending at 1310..
	 * 1330 ms was lost with a 0.4 s tail, is heard with 0.5 s */
	if (!err)
		err = expect_turn(ops, st, STT_MODE_FREE, NULL,
				  SEGS({0, 0, 700}, {LOW_HZ, -20, 200}), NULL,
				  "hello");
	for (unsigned ms = 1290; !err && ms <= 1310; ms += 10) {
		err = expect_turn(ops, st, STT_MODE_FREE, NULL,
				  SEGS({0, 0, ms}, {LOW_HZ, -20, 20}), NULL,
				  "hello");
	}

	/* the whole turn in one feed, and in odd pieces */
	if (!err)
		err = ops->start(st, &turn, NULL, NULL);
	if (!err)
		err = feed_step(ops, st, SEGS({0, 0, 400}, {LOW_HZ, -20, 1000}),
				SRATE * 2);
	if (!err)
		err = ops->finish(st, &res);
	if (!err && strcmp(res.text, low_text)) {
		fprintf(stderr, "  one feed: \"%s\"\n", res.text);
		err = EPROTO;
	}
	if (!err)
		err = ops->start(st, &turn, NULL, NULL);
	if (!err)
		err = feed_step(ops, st,
				SEGS({0, 0, 400}, {HIGH_HZ, -20, 1200}), 7);
	if (!err)
		err = ops->finish(st, &res);
	if (!err && strcmp(res.text, high_text)) {
		fprintf(stderr, "  feeds of 7: \"%s\"\n", res.text);
		err = EPROTO;
	}

	/* cancel mid-utterance: the turn is gone, the next starts clean */
	if (!err)
		err = ops->start(st, &turn, partial_h, &p);
	if (!err)
		err = feed_segs(ops, st, SEGS({HIGH_HZ, -20, 800}));
	if (!err) {
		ops->cancel(st);
		ops->cancel(st);
		if (ops->feed(st, pcm, FRAME) != EPROTO ||
		    ops->finish(st, &res) != EPROTO)
			err = EPROTO;
	}
	if (!err)
		err = expect_turn(ops, st, STT_MODE_FREE, NULL,
				  SEGS({LOW_HZ, -20, 1000}), NULL, low_text);

	/* start again without finishing: the old turn is dropped */
	if (!err)
		err = ops->start(st, &turn, NULL, NULL);
	if (!err)
		err = feed_segs(ops, st, SEGS({HIGH_HZ, -20, 800}));
	if (!err)
		err = expect_turn(ops, st, STT_MODE_FREE, NULL,
				  SEGS({LOW_HZ, -20, 1000}), NULL, low_text);
 out:
	mem_deref(st);
	ops->close();
	mem_deref(conf);
	models_remove(dir);
	TEST_ERR(err);
	return 0;
}


struct worker {
	const struct stt_ops *ops;
	void *st;
	pthread_barrier_t *barrier;
	bool high_first;
	unsigned turns;
	unsigned ok;
	unsigned partials_elsewhere;
	pthread_t self;
};


static void partial_thread_h(const char *text, void *arg)
{
	struct worker *w = arg;

	(void)text;
	if (!pthread_equal(pthread_self(), w->self))
		++w->partials_elsewhere;
}


static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->self = pthread_self();
	pthread_barrier_wait(w->barrier);
	for (unsigned i = 0; i < w->turns; i++) {
		bool high = (i & 1) ^ w->high_first;
		struct stt_turn turn = {STT_MODE_FREE, NULL, "en"};
		struct seg s[] = {{0, 0, 100},
				  {high ? HIGH_HZ : LOW_HZ, -20, 1200},
				  {0, 0, 200}};
		struct stt_result res;

		if (w->ops->start(w->st, &turn, partial_thread_h, w) ||
		    feed_segs(w->ops, w->st, s, ARRAY_SIZE(s)) ||
		    w->ops->finish(w->st, &res))
			break;
		if (!strcmp(res.text, high ? high_text : low_text))
			++w->ok;
		else
			fprintf(stderr, "  turn %u: \"%s\"\n", i, res.text);
	}
	return NULL;
}


/*
 * Two calls' sessions decode on two threads at once on the shared
 * recognizer, alternating tones so that a mix-up of streams or state
 * would show in the text.
 */
int test_sherpa_stt_threads(void)
{
	const struct stt_ops *ops = stt_find("sherpa");
	struct worker w[2];
	pthread_barrier_t barrier;
	pthread_t th[2];
	struct conf *conf = NULL;
	char dir[64] = "";
	int err;

	TEST_ASSERT(ops != NULL);
	if (!lib_path()) {
		fprintf(stderr, "  SKIP: sherpa-onnx not in deps/ (run "
			"scripts/setup.sh)\n");
		return 0;
	}
	memset(w, 0, sizeof(w));
	err = stt_open(ops, dir, sizeof(dir), &conf);
	for (int i = 0; !err && i < 2; i++) {
		w[i].ops = ops;
		w[i].barrier = &barrier;
		w[i].high_first = i == 1;
		w[i].turns = 6;
		err = ops->alloc(&w[i].st, conf);
	}
	if (err)
		goto out;

	pthread_barrier_init(&barrier, NULL, 2);
	for (int i = 0; i < 2; i++)
		TEST_ERR(pthread_create(&th[i], NULL, worker_main, &w[i]));
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);

	for (int i = 0; i < 2; i++) {
		if (w[i].ok != w[i].turns || w[i].partials_elsewhere) {
			fprintf(stderr, "  thread %d: %u of %u turns right, "
				"%u partials on another thread\n", i, w[i].ok,
				w[i].turns, w[i].partials_elsewhere);
			err = EPROTO;
		}
	}
 out:
	for (int i = 0; i < 2; i++)
		mem_deref(w[i].st);
	ops->close();
	mem_deref(conf);
	models_remove(dir);
	TEST_ERR(err);
	return 0;
}


/* ------------------------------------------------ metadata guards */

/* init of stt or tts (one of them) with key = dir; 0 when it failed with
 * want_err and the log said each of the NULL-terminated phrases. */
static int init_refused(const struct stt_ops *stt, const struct tts_ops *tts,
			const char *dir, int want_err,
			const char *const *phrases)
{
	const char *kv[] = {stt ? "stt_sherpa_model_dir" :
			    "tts_sherpa_model_dir", dir, NULL};
	struct conf *conf = NULL;
	char tmp[64], out[4096] = "";
	int fd, err;
	bool said = true;

	TEST_ERR(conf_make(&conf, kv));
	str_ncpy(tmp, "/tmp/agentline-sherpa-XXXXXX", sizeof(tmp));
	fd = mkstemp(tmp);
	if (fd < 0) {
		mem_deref(conf);
		return errno;
	}
	log_set_fd(fd);
	err = stt ? stt->init(conf) : tts->init(conf);
	log_set_fd(2);
	if (lseek(fd, 0, SEEK_SET) == 0) {
		ssize_t n = read(fd, out, sizeof(out) - 1);

		out[n > 0 ? n : 0] = '\0';
	}
	close(fd);
	unlink(tmp);
	if (!err) {
		if (stt)
			stt->close();
		else
			tts->close();
	}
	mem_deref(conf);

	for (size_t i = 0; phrases[i]; i++)
		said = said && strstr(out, phrases[i]);
	if (err != want_err || !said) {
		fprintf(stderr, "  %s: err %d (want %d), log: %s", dir, err,
			want_err, out);
		return EPROTO;
	}
	return 0;
}


#define PHRASES(...) (const char *const[]){__VA_ARGS__, NULL}

/* The metadata reader on 600 damaged copies of a model (bytes changed,
 * cut short): no crash, no read out of bounds (ASan), and an answer
 * that is one of its documented ones. */
static int meta_mutate(const char *model)
{
	uint8_t *orig = NULL, *buf = NULL;
	char copy[160], val[16];
	uint32_t rnd = 12345;
	long n;
	FILE *f;
	int err = 0;

	f = fopen(model, "rb");
	if (!f)
		return errno;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	orig = mem_alloc((size_t)n, NULL);
	buf = mem_alloc((size_t)n, NULL);
	if (!orig || !buf || fread(orig, 1, (size_t)n, f) != (size_t)n)
		err = ENOMEM;
	fclose(f);
	re_snprintf(copy, sizeof(copy), "/tmp/agentline-sherpa-%d.onnx",
		    (int)getpid());

	for (int i = 0; !err && i < 600; i++) {
		size_t len = (size_t)n;
		int r;

		memcpy(buf, orig, len);
		for (int k = 0; k < 1 + i % 4; k++) {
			rnd = rnd * 1103515245 + 12345;
			buf[(rnd >> 8) % len] = (uint8_t)(rnd >> 24);
		}
		if (i % 3 == 0)
			len = (rnd >> 4) % len;
		f = fopen(copy, "wb");
		if (!f) {
			err = errno;
			break;
		}
		fwrite(buf, 1, len, f);
		fclose(f);
		r = sherpa_onnx_meta(copy, i % 2 ? "T" : "model_type", val,
				     sizeof(val));
		if (r && r != ENOENT && r != EINVAL && r != E2BIG)
			err = EPROTO;
		if (!r && strlen(val) >= sizeof(val))
			err = EPROTO;
		(void)sherpa_onnx_file_ok(copy);
	}
	unlink(copy);
	mem_deref(buf);
	mem_deref(orig);
	return err;
}

/*
 * Models sherpa-onnx would refuse by exiting the process (a required
 * metadata key missing, a voices.bin of the wrong size, a multi-lingual
 * Kokoro without lexicon) or by crashing (no model_type) are refused at
 * init with a message naming the setting, the file and the key.  The
 * metadata reader itself on the generated models.
 */
int test_sherpa_meta_guard(void)
{
	static const struct {
		const char *args;       /* generator arguments */
		const char *sub;        /* folder made */
		bool stt;
		int err;
		const char *say1, *say2;
	} v[] = {
		{"--drop-meta encoder:T zipformer2", "z-t", true, EINVAL,
		 "lacks \"T\"", "non-streaming"},
		{"--drop-meta encoder:model_type zipformer2", "z-type", true,
		 EINVAL, "no model_type", "encoder-epoch-99-avg-1.onnx"},
		{"--drop-meta encoder:cnn_module_kernels zipformer2", "z-cnn",
		 true, EINVAL, "lacks \"cnn_module_kernels\"", "encoder"},
		{"--drop-meta decoder:context_size zipformer2", "z-ctx", true,
		 EINVAL, "lacks \"context_size\"", "decoder-epoch"},
		{"--drop-meta vits:language vits", "v-lang", false, EINVAL,
		 "lacks \"language\"", "VITS/Piper"},
		{"--drop-meta kokoro:style_dim kokoro", "k-style", false,
		 EINVAL, "lacks \"style_dim\"", "Kokoro"},
		{"kokoro-v2", "k-v2", false, ENOENT, "multi-lingual Kokoro",
		 "no lexicon"},
	};
	const struct stt_ops *stt = stt_find("sherpa");
	const struct tts_ops *tts = tts_find("sherpa");
	char dir[64] = "", sub[128], args[512], val[64];
	int err = 0;

	TEST_ASSERT(stt && tts);
	if (!lib_path() || !sherpa_dir_ok(ESPEAK_DATA)) {
		fprintf(stderr, "  SKIP: sherpa-onnx not in deps/ or no "
			"%s\n", ESPEAK_DATA);
		return 0;
	}
	err = models_make(dir, sizeof(dir));
	if (err)
		goto out;

	/* the reader: values, absent keys, a value too long for out */
	re_snprintf(sub, sizeof(sub), "%s/zipformer2/encoder-epoch-99-avg-1"
		    ".onnx", dir);
	if (sherpa_onnx_meta(sub, "T", val, sizeof(val)) ||
	    strcmp(val, "45") ||
	    sherpa_onnx_meta(sub, "model_type", val, sizeof(val)) ||
	    strcmp(val, "zipformer2") ||
	    sherpa_onnx_meta(sub, "no_such_key", val, sizeof(val)) != ENOENT ||
	    sherpa_onnx_meta(sub, "model_type", val, 4) != E2BIG ||
	    sherpa_onnx_meta("/nonexistent.onnx", "T", val, sizeof(val)) !=
	    EINVAL) {
		fprintf(stderr, "  metadata reader: \"%s\"\n", val);
		err = EPROTO;
		goto out;
	}

	err = meta_mutate(sub);
	if (err)
		goto out;

	for (size_t i = 0; !err && i < ARRAY_SIZE(v); i++) {
		re_snprintf(sub, sizeof(sub), "%s/%s", dir, v[i].sub);
		re_snprintf(args, sizeof(args), "%s '%s' %s", v[i].args, sub,
			    ESPEAK_DATA);
		err = synth_run(args);
		if (!err)
			err = init_refused(v[i].stt ? stt : NULL,
					   v[i].stt ? NULL : tts, sub,
					   v[i].err,
					   PHRASES(v[i].say1, v[i].say2));
	}

	/* a voices.bin of another model (size) */
	if (!err) {
		re_snprintf(sub, sizeof(sub), "%s/kokoro/voices.bin", dir);
		err = truncate(sub, 4096) ? errno : 0;
	}
	if (!err) {
		re_snprintf(sub, sizeof(sub), "%s/kokoro", dir);
		err = init_refused(NULL, tts, sub, EINVAL,
				   PHRASES("has 4096 bytes", "expects 16320",
					   "voices.bin of another model"));
	}
 out:
	models_remove(dir);
	TEST_ERR(err);
	return 0;
}
