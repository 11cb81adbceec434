/*
 * test_vad.c  VAD engines on a synthetic telephone call: line noise and
 *             flite speech alternating, through the G.711 channel.  The
 *             engines' per-frame output goes through the hysteresis the
 *             turn logic uses (speech of at least 100 ms starts a segment,
 *             300 ms without speech ends it) and each segment boundary
 *             must lie within 300 ms of the truth.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <re.h>
#include "core/conf.h"
#include "engines/engine.h"
#include "media/codec.h"
#include "test.h"

/* from test_stt.c */
int test_speech_synth(int16_t **pcmp, size_t *np, const char *text);
int test_speech_phone(int16_t *pcm, size_t n, double noise_dbfs,
		      unsigned seed);
void test_speech_noise(int16_t *pcm, size_t n, double dbfs,
		       unsigned *seed);

enum {
	FRAME = AUDIO_FRAME_SAMPLES,
	FRAME_MS = AUDIO_PTIME,
	MIN_SPEECH_FRAMES = 100 / FRAME_MS,
	HANGOVER_FRAMES = 300 / FRAME_MS,
	MAX_SEGS = 16,
	TOLERANCE_MS = 300,
};

struct seg {
	double start, end;   /* seconds */
};

static const char *const phrases[] = {
	"I would like to book a table",
	"Yes please",
	"Can you call me back tomorrow",
	"Thank you goodbye",
};


/* First and last 10 ms block of clean speech above -45 dBFS. */
static void speech_bounds(const int16_t *x, size_t n, size_t *first,
			  size_t *last)
{
	const size_t blk = AUDIO_SRATE / 100;
	bool any = false;

	*first = 0;
	*last = n;
	for (size_t i = 0; i + blk <= n; i += blk) {
		double e = 0;

		for (size_t k = 0; k < blk; k++)
			e += (double)x[i + k] * x[i + k];
		e = 10 * log10(e / (double)blk / (32768.0 * 32768.0) + 1e-12);
		if (e < -45)
			continue;
		if (!any)
			*first = i;
		*last = i + blk;
		any = true;
	}
}


/* gaps of 1 s between phrases, 1 s before and after; whole frames */
static int call_build(int16_t **pcmp, size_t *np, struct seg *truth,
		      size_t *ntruth, double noise_dbfs)
{
	const size_t gap = AUDIO_SRATE;
	int16_t *clip[ARRAY_SIZE(phrases)] = {NULL};
	size_t len[ARRAY_SIZE(phrases)], first, last, total = gap, o;
	int16_t *pcm = NULL;
	int err = 0;

	for (size_t i = 0; i < ARRAY_SIZE(phrases); i++) {
		err = test_speech_synth(&clip[i], &len[i], phrases[i]);
		if (err)
			goto out;
	}

	/* clips are cut to their speech so that the gaps are exact */
	for (size_t i = 0; i < ARRAY_SIZE(phrases); i++) {
		speech_bounds(clip[i], len[i], &first, &last);
		memmove(clip[i], clip[i] + first,
			(last - first) * sizeof(int16_t));
		len[i] = last - first;
		total += len[i] + gap;
	}
	total += FRAME - total % FRAME;

	pcm = mem_zalloc(total * sizeof(*pcm), NULL);
	if (!pcm) {
		err = ENOMEM;
		goto out;
	}

	o = gap;
	for (size_t i = 0; i < ARRAY_SIZE(phrases); i++) {
		memcpy(pcm + o, clip[i], len[i] * sizeof(*pcm));
		truth[i].start = (double)o / AUDIO_SRATE;
		truth[i].end = (double)(o + len[i]) / AUDIO_SRATE;
		o += len[i] + gap;
	}
	*ntruth = ARRAY_SIZE(phrases);

	err = test_speech_phone(pcm, total, noise_dbfs, 42);
	if (err)
		goto out;

	*pcmp = pcm;
	*np = total;
	pcm = NULL;

 out:
	for (size_t i = 0; i < ARRAY_SIZE(phrases); i++)
		mem_deref(clip[i]);
	mem_deref(pcm);
	return err;
}


/* The turn logic's hysteresis over per-frame probabilities.  A segment
 * ends at its last speech frame (the hangover only decides it ended). */
static size_t segments(const float *prob, size_t nframes, float thr,
		       struct seg *out, size_t max)
{
	size_t nseg = 0, run = 0, silence = 0, start = 0, last = 0;
	bool speech = false;

	for (size_t i = 0; i < nframes; i++) {
		bool on = prob[i] >= thr;

		if (!speech) {
			run = on ? run + 1 : 0;
			if (run >= MIN_SPEECH_FRAMES) {
				speech = true;
				start = i + 1 - run;
				last = i;
				silence = 0;
			}
			continue;
		}
		if (on) {
			last = i;
			silence = 0;
			continue;
		}
		if (++silence < HANGOVER_FRAMES)
			continue;
		if (nseg < max) {
			out[nseg].start = (double)start * FRAME_MS / 1000;
			out[nseg].end = (double)(last + 1) * FRAME_MS / 1000;
		}
		++nseg;
		speech = false;
		run = 0;
	}
	if (speech) {
		if (nseg < max) {
			out[nseg].start = (double)start * FRAME_MS / 1000;
			out[nseg].end = (double)(last + 1) * FRAME_MS / 1000;
		}
		++nseg;
	}
	return nseg;
}


/* Run ops over a call; compare segments with the truth. */
static int vad_check(const struct vad_ops *ops, double noise_dbfs)
{
	struct seg truth[MAX_SEGS], found[MAX_SEGS];
	size_t n = 0, ntruth = 0, nframes, nseg;
	int16_t *pcm = NULL;
	float *prob = NULL;
	void *st = NULL;
	double worst = 0;
	int err;

	err = call_build(&pcm, &n, truth, &ntruth, noise_dbfs);
	if (err)
		return err;

	nframes = n / FRAME;
	prob = mem_zalloc(nframes * sizeof(*prob), NULL);
	if (!prob) {
		err = ENOMEM;
		goto out;
	}

	err = ops->alloc(&st, NULL);
	if (err)
		goto out;
	for (size_t i = 0; !err && i < nframes; i++) {
		err = ops->process(st, pcm + i * FRAME, FRAME, &prob[i]);
		if (!err && !(prob[i] >= 0 && prob[i] <= 1))
			err = ERANGE;
	}
	if (err)
		goto out;

	nseg = segments(prob, nframes, 0.5f, found, MAX_SEGS);
	for (size_t i = 0; i < nseg && i < MAX_SEGS; i++)
		fprintf(stderr, "  %s @ %.0f dBFS noise: segment %.2f-%.2f s"
			" (truth %.2f-%.2f)\n", ops->name, noise_dbfs,
			found[i].start, found[i].end,
			i < ntruth ? truth[i].start : -1,
			i < ntruth ? truth[i].end : -1);
	if (nseg != ntruth) {
		fprintf(stderr, "  %s: %zu segments, expected %zu\n",
			ops->name, nseg, ntruth);
		err = EPROTO;
		goto out;
	}
	for (size_t i = 0; i < nseg; i++) {
		double ds = fabs(found[i].start - truth[i].start);
		double de = fabs(found[i].end - truth[i].end);

		worst = ds > worst ? ds : worst;
		worst = de > worst ? de : worst;
	}
	fprintf(stderr, "  %s @ %.0f dBFS noise: worst boundary error "
		"%.0f ms\n", ops->name, noise_dbfs, worst * 1e3);
	if (worst * 1000 > TOLERANCE_MS)
		err = EPROTO;

	/* reset returns to silence */
	if (!err) {
		float p = 1;
		int16_t zero[FRAME] = {0};

		ops->reset(st);
		for (int i = 0; !err && i < 10; i++)
			err = ops->process(st, zero, FRAME, &p);
		if (!err && p >= 0.5f)
			err = EPROTO;
	}

 out:
	mem_deref(st);
	mem_deref(prob);
	mem_deref(pcm);
	return err;
}


/* Noise only, stepping from -60 to -40 dBFS: never speech for long. */
static int vad_noise_only(const struct vad_ops *ops)
{
	enum { SECS = 6 };
	size_t n = SECS * AUDIO_SRATE, nseg;
	float prob[SECS * 1000 / FRAME_MS];
	struct seg found[MAX_SEGS];
	unsigned seed = 7;
	int16_t *pcm;
	void *st = NULL;
	int err;

	pcm = mem_zalloc(n * sizeof(*pcm), NULL);
	if (!pcm)
		return ENOMEM;
	/* quiet line for 3 s, then 20 dB noisier */
	test_speech_noise(pcm + 3 * AUDIO_SRATE, 3 * AUDIO_SRATE, -40,
			  &seed);
	err = test_speech_phone(pcm, n, -60, 9);
	if (!err)
		err = ops->alloc(&st, NULL);
	for (size_t i = 0; !err && i < ARRAY_SIZE(prob); i++)
		err = ops->process(st, pcm + i * FRAME, FRAME, &prob[i]);
	if (!err) {
		nseg = segments(prob, ARRAY_SIZE(prob), 0.5f, found,
				MAX_SEGS);
		/* a 20 dB noise step may open one segment while the floor
		 * catches up (its window is 1 s), no more */
		for (size_t i = 0; i < nseg && i < MAX_SEGS; i++) {
			fprintf(stderr, "  %s noise only: segment %.2f-%.2f "
				"s\n", ops->name, found[i].start,
				found[i].end);
			if (found[i].end - found[i].start > 1.2)
				err = EPROTO;
		}
		if (nseg > 1)
			err = EPROTO;
	}

	mem_deref(st);
	mem_deref(pcm);
	return err;
}


int test_vad_energy(void)
{
	const struct vad_ops *ops = vad_find("energy");

	TEST_ASSERT(ops != NULL);
	TEST_ERR(ops->init(NULL));
	TEST_ERR(vad_check(ops, -60));
	TEST_ERR(vad_check(ops, -45));
	TEST_ERR(vad_noise_only(ops));
	ops->close();
	return 0;
}


static bool silero_files(void)
{
	struct stat st;
	const char *lib = conf_str(NULL, "sherpa_lib");
	const char *model = conf_str(NULL, "vad_model");

	return lib && model && !stat(lib, &st) && !stat(model, &st);
}


#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif


/* Near-silent windows are not given to the model while no speech is
 * detected; louder ones are, and speech is still found after silence. */
static int silero_gate(const struct vad_ops *ops)
{
	enum { SECS = 4, N = AUDIO_SRATE * SECS, WIN = 512 };
	static const double level[3] = {0, -70, -45};
	unsigned long runs[3];
	unsigned seed = 11;
	int16_t *pcm = mem_zalloc(N * sizeof(*pcm), NULL);
	int16_t *sp = NULL;
	size_t ns = 0;
	void *st = NULL;
	float p = 0, pmax = 0;
	int err;

	if (!pcm)
		return ENOMEM;
	err = ops->alloc(&st, NULL);
	/* digital silence and -70 dBFS are skipped, -45 dBFS is run */
	for (int pass = 0; !err && pass < 3; pass++) {
		unsigned long r0 = vad_silero_runs(st);

		memset(pcm, 0, N * sizeof(*pcm));
		if (level[pass] < 0)
			test_speech_noise(pcm, N, level[pass], &seed);
		for (size_t i = 0; !err && i + FRAME <= N; i += FRAME)
			err = ops->process(st, pcm + i, FRAME, &p);
		runs[pass] = vad_silero_runs(st) - r0;
	}
	if (!err) {
		fprintf(stderr, "  silero gate: model runs in %d s: silence "
			"%lu, -70 dBFS %lu, -45 dBFS %lu (of %d windows)\n",
			SECS, runs[0], runs[1], runs[2], N / WIN);
		if (runs[0] || runs[1] || runs[2] + 1 < N / WIN)
			err = EPROTO;
	}
	/* speech right after skipped silence is still detected */
	if (!err) {
		memset(pcm, 0, N * sizeof(*pcm));
		err = ops->process(st, pcm, FRAME, &p);
	}
	if (!err)
		err = test_speech_synth(&sp, &ns, "Hello, can you hear me?");
	for (size_t i = 0; !err && i + FRAME <= ns; i += FRAME) {
		err = ops->process(st, sp + i, FRAME, &p);
		pmax = p > pmax ? p : pmax;
	}
	if (!err && pmax < 0.5f)
		err = EPROTO;

	mem_deref(sp);
	mem_deref(st);
	mem_deref(pcm);
	return err;
}


int test_vad_silero(void)
{
	const struct vad_ops *ops = vad_find("silero");
	int err;

	TEST_ASSERT(ops != NULL);
	if (!silero_files()) {
		fprintf(stderr, "  SKIP: Silero VAD files not in deps/ "
			"(run scripts/setup.sh)\n");
		return 0;
	}

	TEST_ERR(ops->init(NULL));
	err = vad_check(ops, -60);
	if (!err)
		err = vad_check(ops, -45);
	if (!err)
		err = vad_noise_only(ops);
	if (!err)
		err = silero_gate(ops);
	ops->close();
	TEST_ERR(err);
	return 0;
}


int test_vad_select(void)
{
	const struct vad_ops *aut = vad_find("auto");
	const struct vad_ops *sil = vad_find("silero");
	struct conf *conf = NULL;
	void *st = NULL;
	float p = 1;
	int16_t zero[FRAME] = {0};
	int err = 0;

	TEST_ASSERT(aut != NULL && sil != NULL);
	TEST_ASSERT(vad_find("nonesuch") == NULL);

	/* auto always comes up: silero when installed, else energy */
	TEST_ERR(aut->init(NULL));
	err = aut->alloc(&st, NULL);
	if (!err)
		err = aut->process(st, zero, FRAME, &p);
	if (!err && p >= 0.5f)
		err = EPROTO;
	mem_deref(st);
	aut->close();
	TEST_ERR(err);

	/* silero selected with missing files fails naming the setting */
	TEST_ERR(conf_alloc(&conf));
	err = conf_set(conf, "vad_model", "/nonexistent/silero_vad.onnx",
		       "test", NULL, NULL);
	if (!err && sil->init(conf) != ENOENT)
		err = EPROTO;
	/* auto then falls back to energy */
	if (!err)
		err = aut->init(conf);
	if (!err) {
		st = NULL;
		err = aut->alloc(&st, conf);
		mem_deref(st);
		aut->close();
	}
	mem_deref(conf);
	TEST_ERR(err);
	return 0;
}
