/*
 * test_tts.c  Built-in TTS engines (flite voices, espeak-ng en/de): each
 *             voice says a sentence of plausible length, loud enough and
 *             in the speech band; time to first chunk is printed;
 *             cancellation stops within one chunk; two threads
 *             synthesising at once get complete, correct-length audio.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <re.h>
#include "core/conf.h"
#include "engines/engine.h"
#include "test.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum {
	RATE = 16000,
	CAP = RATE * 10,
};

static const char sentence_en[] =
	"Hello, thank you for calling. How can I help you today?";
static const char sentence_de[] =
	"Guten Tag, vielen Dank f\xc3\xbcr Ihren Anruf. Wie kann ich "
	"helfen?";

struct capture {
	int16_t *pcm;
	size_t n;
	size_t chunks;
	size_t max_chunk;
	size_t stop_after;      /* return true after this many chunks */
	size_t calls_after_stop;
	double t0, t_first;
};


static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


static bool capture_h(const int16_t *pcm, size_t n, void *arg)
{
	struct capture *c = arg;

	if (c->stop_after && c->chunks >= c->stop_after) {
		++c->calls_after_stop;
		return true;
	}
	if (!c->chunks)
		c->t_first = now();
	++c->chunks;
	if (n > c->max_chunk)
		c->max_chunk = n;
	if (c->n + n > CAP)
		n = CAP - c->n;
	memcpy(c->pcm + c->n, pcm, n * sizeof(*pcm));
	c->n += n;
	return c->stop_after && c->chunks >= c->stop_after;
}


static double rms(const int16_t *p, size_t n)
{
	double e = 0;

	for (size_t i = 0; i < n; i++)
		e += (double)p[i] * p[i];
	return n ? sqrt(e / (double)n) : 0;
}


/* Share of the energy between lo and hi Hz (DFT of 512-sample frames,
 * Hann window). */
static double band_share(const int16_t *p, size_t n, double lo, double hi)
{
	enum { N = 512 };
	static double cosv[N], sinv[N], win[N];
	double in_band = 0, total = 0;

	for (size_t k = 0; k < N; k++) {
		cosv[k] = cos(2 * M_PI * (double)k / N);
		sinv[k] = sin(2 * M_PI * (double)k / N);
		win[k] = 0.5 - 0.5 * cos(2 * M_PI * (double)k / N);
	}
	for (size_t f = 0; f + N <= n; f += N) {
		for (size_t b = 1; b < N / 2; b++) {
			double re = 0, im = 0, e, hz = (double)b * RATE / N;

			for (size_t k = 0; k < N; k++) {
				double x = p[f + k] * win[k];
				size_t idx = (b * k) % N;

				re += x * cosv[idx];
				im -= x * sinv[idx];
			}
			e = re * re + im * im;
			total += e;
			if (hz >= lo && hz <= hi)
				in_band += e;
		}
	}
	return total > 0 ? in_band / total : 0;
}


static int make_conf(struct conf **confp, const char *tts,
		     const char *voice, const char *rate)
{
	struct conf *conf = NULL;
	int err;

	err = conf_alloc(&conf);
	if (err)
		return err;
	err |= conf_set(conf, "tts", tts, "test", NULL, NULL);
	err |= conf_set(conf, "tts_voice", voice, "test", NULL, NULL);
	err |= conf_set(conf, "tts_rate", rate, "test", NULL, NULL);
	if (err || conf_validate(conf, NULL, NULL)) {
		mem_deref(conf);
		return EINVAL;
	}
	*confp = conf;
	return 0;
}


/* Say text with a fresh session of the engine; fills c. */
static int say(const struct tts_ops *ops, const struct conf *conf,
	       const char *text, const char *lang, struct capture *c)
{
	void *st = NULL;
	int err;

	err = ops->alloc(&st, conf);
	if (err)
		return err;
	c->n = c->chunks = c->max_chunk = c->calls_after_stop = 0;
	c->t_first = 0;
	c->t0 = now();
	err = ops->synth(st, text, lang, capture_h, c);
	mem_deref(st);
	return err;
}


static int check_speech(const char *what, const struct capture *c,
			double t_end)
{
	double secs = (double)c->n / RATE, level = rms(c->pcm, c->n);
	double band = band_share(c->pcm, c->n, 100, 4000);

	printf("%-14s %.2f s audio, first chunk %.1f ms, whole %.1f ms, "
	       "%zu chunks (max %zu), rms %.0f, 100-4000 Hz %.0f%%\n", what,
	       secs, (c->t_first - c->t0) * 1e3, (t_end - c->t0) * 1e3,
	       c->chunks, c->max_chunk, level, band * 100);
	TEST_ASSERT(secs > 1.0 && secs < 6.0);
	TEST_ASSERT(level > 300);
	TEST_ASSERT(band > 0.75);
	TEST_ASSERT(c->chunks >= 3);
	return 0;
}


int test_tts_flite_voices(void)
{
	static const char *const voices[] = {"slt", "kal16", "rms", "awb"};
	const struct tts_ops *ops = tts_find("flite");
	struct capture c;
	struct conf *conf = NULL;
	size_t normal = 0;
	int err = 0;

	TEST_ASSERT(ops != NULL);
	memset(&c, 0, sizeof(c));
	c.pcm = malloc(CAP * sizeof(int16_t));
	TEST_ASSERT(c.pcm != NULL);

	for (size_t v = 0; v < 4 && !err; v++) {
		err = make_conf(&conf, "flite", voices[v], "100");
		if (!err)
			err = ops->init(conf);
		if (!err)
			err = say(ops, conf, sentence_en, "en", &c);
		if (!err)
			err = check_speech(voices[v], &c, now());
		conf = mem_deref(conf);
	}
	/* faster speech is shorter; German is not spoken by flite */
	if (!err)
		err = make_conf(&conf, "flite", "kal16", "100");
	if (!err && !(err = say(ops, conf, sentence_en, "en", &c)))
		normal = c.n;
	conf = mem_deref(conf);
	if (!err)
		err = make_conf(&conf, "flite", "kal16", "200");
	if (!err && !(err = say(ops, conf, sentence_en, "en-US", &c))) {
		printf("kal16 at 200%%: %zu vs %zu samples\n", c.n, normal);
		if (!(c.n < normal * 3 / 4))
			err = 1;
	}
	if (!err && say(ops, conf, sentence_de, "de", &c) != ENOTSUP)
		err = 1;
	conf = mem_deref(conf);
	/* a voice flite does not have is refused when flite is selected */
	if (!err && !make_conf(&conf, "flite", "nosuch", "100")) {
		if (ops->init(conf) != EINVAL)
			err = 1;
		conf = mem_deref(conf);
	}
	ops->close();
	free(c.pcm);
	return err;
}


int test_tts_flite_cancel(void)
{
	const struct tts_ops *ops = tts_find("flite");
	struct capture c;
	struct conf *conf = NULL;
	double t_full, t_cancel;
	int err;

	TEST_ASSERT(ops != NULL);
	memset(&c, 0, sizeof(c));
	c.pcm = malloc(CAP * sizeof(int16_t));
	TEST_ASSERT(c.pcm != NULL);
	err = make_conf(&conf, "flite", "slt", "100");
	if (!err)
		err = ops->init(conf);
	if (!err)
		err = say(ops, conf, sentence_en, "en", &c);
	t_full = now() - c.t0;

	c.stop_after = 1;
	if (!err)
		err = say(ops, conf, sentence_en, "en", &c);
	t_cancel = now() - c.t0;
	printf("slt: full %.1f ms, cancelled after first chunk %.1f ms, "
	       "%zu chunk(s), %zu call(s) after stop\n", t_full * 1e3,
	       t_cancel * 1e3, c.chunks, c.calls_after_stop);
	if (!err && (c.chunks != 1 || c.calls_after_stop != 0 ||
		     t_cancel > t_full * 0.75))
		err = 1;
	/* the session still works after a cancel */
	c.stop_after = 0;
	if (!err)
		err = say(ops, conf, sentence_en, "en", &c);
	if (!err)
		err = check_speech("slt again", &c, now());
	ops->close();
	mem_deref(conf);
	free(c.pcm);
	return err;
}


int test_tts_espeak(void)
{
	const struct tts_ops *ops = tts_find("espeak");
	struct capture c;
	struct conf *conf = NULL;
	int err;

	TEST_ASSERT(ops != NULL);
	memset(&c, 0, sizeof(c));
	c.pcm = malloc(CAP * sizeof(int16_t));
	TEST_ASSERT(c.pcm != NULL);
	err = make_conf(&conf, "espeak", "", "100");
	if (!err)
		err = ops->init(conf);
	if (!err)
		err = say(ops, conf, sentence_en, "en", &c);
	if (!err)
		err = check_speech("espeak en-us", &c, now());
	if (!err)
		err = say(ops, conf, sentence_de, "de", &c);
	if (!err)
		err = check_speech("espeak de", &c, now());

	/* cancel after the first chunk, then it still speaks */
	c.stop_after = 1;
	if (!err)
		err = say(ops, conf, sentence_de, "de", &c);
	if (!err && (c.chunks != 1 || c.calls_after_stop != 0))
		err = 1;
	c.stop_after = 0;
	if (!err)
		err = say(ops, conf, sentence_en, "en", &c);
	if (!err)
		err = check_speech("espeak again", &c, now());
	conf = mem_deref(conf);

	/* a named voice; and an unknown one is refused */
	if (!err)
		err = make_conf(&conf, "espeak", "en+m3", "100");
	if (!err)
		err = ops->init(conf);
	if (!err)
		err = say(ops, conf, sentence_en, "en", &c);
	if (!err)
		err = check_speech("espeak en+m3", &c, now());
	conf = mem_deref(conf);
	if (!err && !make_conf(&conf, "espeak", "xx-nosuch", "100")) {
		if (ops->init(conf) != EINVAL)
			err = 1;
		conf = mem_deref(conf);
	}
	ops->close();
	free(c.pcm);
	return err;
}


struct job {
	const struct tts_ops *ops;
	const struct conf *conf;
	const char *text;
	const char *lang;
	struct capture c;
	size_t lens[3];
	int err;
};


static void *job_run(void *arg)
{
	struct job *j = arg;

	for (size_t i = 0; i < 3 && !j->err; i++) {
		j->err = say(j->ops, j->conf, j->text, j->lang, &j->c);
		j->lens[i] = j->c.n;
	}
	return NULL;
}


/* Two threads at once, each its own session; lengths as when alone
 * (flite slt varies its excitation noise, never its length). */
static int concurrent(const char *tts, const char *voice, const char *lang,
		      const char *text, bool exact)
{
	const struct tts_ops *ops = tts_find(tts);
	struct conf *conf = NULL;
	struct job j[2];
	pthread_t th[2];
	size_t alone;
	double t;
	int err;

	TEST_ASSERT(ops != NULL);
	TEST_ERR(make_conf(&conf, tts, voice, "100"));
	memset(j, 0, sizeof(j));
	for (int k = 0; k < 2; k++) {
		j[k].ops = ops;
		j[k].conf = conf;
		j[k].text = text;
		j[k].lang = lang;
		j[k].c.pcm = malloc(CAP * sizeof(int16_t));
	}
	err = (!j[0].c.pcm || !j[1].c.pcm) ? ENOMEM : ops->init(conf);
	if (!err)
		err = say(ops, conf, text, lang, &j[0].c);
	alone = j[0].c.n;
	t = now();
	for (int k = 0; !err && k < 2; k++)
		err = pthread_create(&th[k], NULL, job_run, &j[k]);
	for (int k = 0; !err && k < 2; k++)
		pthread_join(th[k], NULL);
	if (!err) {
		printf("%s %s: 2 threads x 3 sentences in %.1f ms\n", tts,
		       voice, (now() - t) * 1e3);
		for (int k = 0; k < 2; k++) {
			err |= j[k].err;
			for (int i = 0; i < 3; i++) {
				size_t d = j[k].lens[i] > alone ?
					j[k].lens[i] - alone :
					alone - j[k].lens[i];

				/* espeak-ng varies by a few ms run to run */
				if (d > (exact ? 0 : alone / 50)) {
					fprintf(stderr, "thread %d: %zu "
						"samples, alone %zu\n", k,
						j[k].lens[i], alone);
					err = 1;
				}
			}
		}
	}
	ops->close();
	free(j[0].c.pcm);
	free(j[1].c.pcm);
	mem_deref(conf);
	return err;
}


int test_tts_concurrent(void)
{
	TEST_ERR(concurrent("flite", "slt", "en", sentence_en, true));
	TEST_ERR(concurrent("flite", "kal16", "en", sentence_en, true));
	TEST_ERR(concurrent("espeak", "", "de", sentence_de, false));
	return 0;
}
