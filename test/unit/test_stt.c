/*
 * test_stt.c  pocketsphinx on telephone audio: utterances synthesised
 *             with flite (slt voice), sent through the G.711 channel
 *             (16 kHz -> 8 kHz mu-law -> 16 kHz, as a PCMU call delivers
 *             them) and recognised per mode.  Yes/no and digits must be
 *             at least 90% exact; free speech reports its word error rate
 *             and only fails when it is far off.
 *
 * Also home of the synthetic-caller helpers test_vad.c uses.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include <flite/flite.h>
#include "core/conf.h"
#include "engines/engine.h"
#include "media/codec.h"
#include "test.h"

/* shared with test_vad.c */
int test_speech_synth(int16_t **pcmp, size_t *np, const char *text);
int test_speech_phone(int16_t *pcm, size_t n, double noise_dbfs,
		      unsigned seed);
void test_speech_noise(int16_t *pcm, size_t n, double dbfs,
		       unsigned *seed);

cst_voice *register_cmu_us_slt(const char *voxdir);

enum {
	PAD_MS = 300,      /* line noise before and after each utterance */
	SRATE = AUDIO_SRATE,
};

#define LINE_NOISE_DBFS -60.0


static cst_voice *voice_slt(void)
{
	static cst_voice *voice;

	if (!voice) {
		flite_init();
		voice = register_cmu_us_slt(NULL);
	}
	return voice;
}


/* 16 kHz speech for text, a libre mem buffer. */
int test_speech_synth(int16_t **pcmp, size_t *np, const char *text)
{
	cst_voice *voice = voice_slt();
	cst_wave *w;
	int16_t *pcm;

	if (!voice)
		return ENOENT;
	w = flite_text_to_wave(text, voice);
	if (!w)
		return EINVAL;
	if (w->sample_rate != SRATE || w->num_channels != 1 ||
	    w->num_samples <= 0) {
		delete_wave(w);
		return EINVAL;
	}

	pcm = mem_alloc((size_t)w->num_samples * sizeof(*pcm), NULL);
	if (!pcm) {
		delete_wave(w);
		return ENOMEM;
	}
	memcpy(pcm, w->samples, (size_t)w->num_samples * sizeof(*pcm));
	*np = (size_t)w->num_samples;
	*pcmp = pcm;
	delete_wave(w);
	return 0;
}


/* Deterministic uniform white noise, added in place. */
void test_speech_noise(int16_t *pcm, size_t n, double dbfs, unsigned *seed)
{
	/* uniform in [-a, a] has RMS a / sqrt(3) */
	double a = 32768.0 * pow(10.0, dbfs / 20.0) * sqrt(3.0);

	for (size_t i = 0; i < n; i++) {
		double r, v;

		*seed = *seed * 1103515245u + 12345u;
		r = (double)((*seed >> 8) & 0xffff) / 32767.5 - 1.0;
		v = pcm[i] + a * r;
		pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
	}
}


/* The telephone channel in place: line noise, then PCMU encode and decode
 * (8 kHz, 300..3400 Hz, mu-law), whole 20 ms frames (n % 320 == 0). */
int test_speech_phone(int16_t *pcm, size_t n, double noise_dbfs,
		      unsigned seed)
{
	struct codec_state *enc = NULL, *dec = NULL;
	uint8_t pl[CODEC_MAX_PAYLOAD];
	int err;

	if (n % AUDIO_FRAME_SAMPLES)
		return EINVAL;

	test_speech_noise(pcm, n, noise_dbfs, &seed);

	err  = codec_state_alloc(&enc, codec_info(CODEC_PCMU));
	err |= codec_state_alloc(&dec, codec_info(CODEC_PCMU));
	if (err) {
		err = ENOMEM;
		goto out;
	}

	for (size_t i = 0; i < n; i += AUDIO_FRAME_SAMPLES) {
		size_t len = sizeof(pl), m = AUDIO_FRAME_SAMPLES;

		err = codec_encode(enc, pcm + i, pl, &len);
		if (err)
			goto out;
		err = codec_decode(dec, pl, len, pcm + i, &m);
		if (err)
			goto out;
		if (m != AUDIO_FRAME_SAMPLES) {
			err = EPROTO;
			goto out;
		}
	}

 out:
	mem_deref(enc);
	mem_deref(dec);
	return err;
}


/* text spoken, padded with PAD_MS of silence each side, through the
 * telephone channel; whole frames. */
static int utterance(int16_t **pcmp, size_t *np, const char *text,
		     unsigned seed)
{
	size_t pad = SRATE * PAD_MS / 1000, n, total;
	int16_t *speech = NULL, *pcm;
	int err;

	err = test_speech_synth(&speech, &n, text);
	if (err)
		return err;

	total = pad + n + pad;
	total += AUDIO_FRAME_SAMPLES - total % AUDIO_FRAME_SAMPLES;
	pcm = mem_zalloc(total * sizeof(*pcm), NULL);
	if (!pcm) {
		mem_deref(speech);
		return ENOMEM;
	}
	memcpy(pcm + pad, speech, n * sizeof(*pcm));
	mem_deref(speech);

	err = test_speech_phone(pcm, total, LINE_NOISE_DBFS, seed);
	if (err) {
		mem_deref(pcm);
		return err;
	}
	*pcmp = pcm;
	*np = total;
	return 0;
}


static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


static long rss_kb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (2 != fscanf(f, "%ld %ld", &pages, &rss))
		rss = 0;
	fclose(f);
	return rss * 4;
}


struct run_stats {
	double audio_s;
	double cpu_s;
};


/* Recognise one utterance in 20 ms frames, as the pipeline feeds it. */
static int recognise(const struct stt_ops *ops, void *st,
		     const struct stt_turn *turn, const char *text,
		     unsigned seed, struct stt_result *res,
		     struct run_stats *rs)
{
	int16_t *pcm = NULL;
	size_t n = 0;
	double t0;
	int err;

	err = utterance(&pcm, &n, text, seed);
	if (err)
		return err;

	t0 = now_s();
	err = ops->start(st, turn, NULL, NULL);
	for (size_t i = 0; !err && i < n; i += AUDIO_FRAME_SAMPLES)
		err = ops->feed(st, pcm + i, AUDIO_FRAME_SAMPLES);
	if (!err)
		err = ops->finish(st, res);
	if (rs) {
		rs->cpu_s += now_s() - t0;
		rs->audio_s += (double)n / SRATE;
	}

	mem_deref(pcm);
	return err;
}


struct sample {
	const char *say;
	const char *expect;
};


static int grammar_run(enum stt_mode mode, const struct sample *sv,
		       size_t cnt, const char *what, unsigned min_pct)
{
	const struct stt_ops *ops = stt_find("pocketsphinx");
	struct stt_turn turn = {.mode = mode, .language = "en"};
	struct stt_result res;
	struct run_stats rs = {0, 0};
	void *st = NULL;
	unsigned exact = 0;
	long rss0;
	double t0, tstart;
	int err;

	TEST_ASSERT(ops != NULL);
	TEST_ERR(ops->init(NULL));

	rss0 = rss_kb();
	t0 = now_s();
	err = ops->alloc(&st, NULL);
	TEST_ERR(err);
	tstart = now_s() - t0;

	for (size_t i = 0; i < cnt; i++) {
		memset(&res, 0, sizeof(res));
		err = recognise(ops, st, &turn, sv[i].say, (unsigned)i + 1,
				&res, &rs);
		if (err)
			break;
		if (!strcmp(res.text, sv[i].expect))
			++exact;
		else
			fprintf(stderr, "  %s: said \"%s\", heard \"%s\"\n",
				what, sv[i].say, res.text);
	}

	fprintf(stderr, "  %s over the telephone channel: %u of %zu exact "
		"(%.0f%%); decoder start %.0f ms, +%ld kB RSS, RTF %.3f\n",
		what, exact, cnt, 100.0 * exact / (double)cnt, tstart * 1e3,
		rss_kb() - rss0, rs.cpu_s / rs.audio_s);

	mem_deref(st);
	ops->close();
	TEST_ERR(err);
	TEST_ASSERT(exact * 100 >= cnt * min_pct);
	return 0;
}


int test_stt_yesno(void)
{
	static const struct sample sv[] = {
		{"yes", "yes"}, {"no", "no"}, {"yeah", "yes"},
		{"nope", "no"}, {"yes.", "yes"}, {"no.", "no"},
		{"yep", "yes"}, {"no!", "no"}, {"correct", "yes"},
		{"no", "no"}, {"sure", "yes"}, {"yes!", "yes"},
	};

	return grammar_run(STT_MODE_YESNO, sv, ARRAY_SIZE(sv), "yes/no", 90);
}


int test_stt_digits(void)
{
	static const struct sample sv[] = {
		{"four one five", "415"},
		{"two oh seven three", "2073"},
		{"nine nine one", "991"},
		{"eight six seven five three oh nine", "8675309"},
		{"one two three four", "1234"},
		{"zero", "0"},
		{"five five five one two one two", "5551212"},
		{"three one four one five", "31415"},
		{"six oh two", "602"},
		{"seven seven", "77"},
		{"four eight one five one six", "481516"},
		{"two", "2"},
	};

	/* Measured 11 of 12 (92%; "six oh two" -> "802"), 8 of 12 before
	 * the narrowband front end and telephone pronunciations (bench:
	 * 64-70% -> 90-94% exact on 240 strings, docs/internals/
	 * stt-and-vad.md).  The issue asks for 90%. */
	return grammar_run(STT_MODE_DIGITS, sv, ARRAY_SIZE(sv), "digits",
			   90);
}


int test_stt_words(void)
{
	static const char *const words[] = {
		"sales", "Support", "front desk", "billing",
		"notaword-xyzzy", NULL,
	};
	static const char *const words2[] = {"sales", "billing", NULL};
	const struct stt_ops *ops = stt_find("pocketsphinx");
	struct stt_turn turn = {.mode = STT_MODE_WORDS, .words = words};
	struct stt_result res;
	void *st = NULL;
	int err;

	TEST_ASSERT(ops != NULL);
	TEST_ERR(ops->init(NULL));
	TEST_ERR(ops->alloc(&st, NULL));

	memset(&res, 0, sizeof(res));
	err = recognise(ops, st, &turn, "front desk", 7, &res, NULL);
	if (!err && strcmp(res.text, "front desk"))
		err = EPROTO;
	fprintf(stderr, "  words: heard \"%s\"\n", res.text);

	/* the same list again reuses the cached search */
	if (!err)
		err = recognise(ops, st, &turn, "billing", 8, &res, NULL);
	if (!err && strcmp(res.text, "billing"))
		err = EPROTO;

	/* a list without any dictionary word is refused */
	if (!err) {
		static const char *const bad[] = {"xyzzy-qwv", NULL};
		struct stt_turn t2 = {.mode = STT_MODE_WORDS, .words = bad};
		if (ops->start(st, &t2, NULL, NULL) != EINVAL)
			err = EPROTO;
	}
	if (!err) {
		turn.words = words2;
		err = recognise(ops, st, &turn, "sales", 9, &res, NULL);
		if (!err && strcmp(res.text, "sales"))
			err = EPROTO;
	}

	/* feeding without a turn, finishing twice */
	if (!err && ops->feed(st, NULL, 0) != EPROTO)
		err = EPROTO;
	if (!err && ops->finish(st, &res) != EPROTO)
		err = EPROTO;

	mem_deref(st);
	ops->close();
	TEST_ERR(err);
	return 0;
}


/* Word-level edit distance. */
static size_t wer_edits(const char *ref, const char *hyp, size_t *nref)
{
	char rb[512], hb[512];
	const char *r[64], *h[64];
	size_t nr = 0, nh = 0, d[65][65];
	char *save = NULL, *tok;

	str_ncpy(rb, ref, sizeof(rb));
	str_ncpy(hb, hyp, sizeof(hb));
	for (char *p = rb; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		else if (*p == '.' || *p == ',' || *p == '?')
			*p = ' ';
	}
	for (tok = strtok_r(rb, " ", &save); tok && nr < 64;
	     tok = strtok_r(NULL, " ", &save))
		r[nr++] = tok;
	for (tok = strtok_r(hb, " ", &save); tok && nh < 64;
	     tok = strtok_r(NULL, " ", &save))
		h[nh++] = tok;

	for (size_t i = 0; i <= nr; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= nh; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= nr; i++) {
		for (size_t j = 1; j <= nh; j++) {
			size_t sub = d[i - 1][j - 1] + (strcmp(r[i - 1],
							    h[j - 1]) != 0);
			size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
			size_t m = sub < del ? sub : del;
			d[i][j] = m < ins ? m : ins;
		}
	}
	*nref = nr;
	return d[nr][nh];
}


int test_stt_free(void)
{
	static const char *const sentences[] = {
		"I would like to make an appointment",
		"Please call me back tomorrow morning",
		"What time does the office open",
		"I need to speak to someone about my bill",
		"Can you tell me where you are located",
		"My name is John Smith",
		"I want to cancel my order",
		"Is the doctor available today",
		"Thank you very much",
		"Could you send me an email",
	};
	const struct stt_ops *ops = stt_find("pocketsphinx");
	struct stt_turn turn = {.mode = STT_MODE_FREE, .language = "en"};
	struct stt_result res;
	struct run_stats rs = {0, 0};
	size_t edits = 0, words = 0;
	void *st = NULL;
	double t0, tload;
	long rss0;
	int err = 0;

	TEST_ASSERT(ops != NULL);
	TEST_ERR(ops->init(NULL));

	rss0 = rss_kb();
	TEST_ERR(ops->alloc(&st, NULL));

	/* the first FREE turn loads the language model */
	t0 = now_s();
	err = ops->start(st, &turn, NULL, NULL);
	tload = now_s() - t0;
	if (!err)
		ops->cancel(st);

	for (size_t i = 0; !err && i < ARRAY_SIZE(sentences); i++) {
		size_t nref;

		memset(&res, 0, sizeof(res));
		err = recognise(ops, st, &turn, sentences[i],
				(unsigned)i + 100, &res, &rs);
		if (err)
			break;
		edits += wer_edits(sentences[i], res.text, &nref);
		words += nref;
		fprintf(stderr, "  free: \"%s\" -> \"%s\" (conf %.2f)\n",
			sentences[i], res.text, (double)res.confidence);
	}

	if (!err)
		fprintf(stderr, "  free speech over the telephone channel: "
			"WER %.0f%% (%zu/%zu); language model load %.0f ms, "
			"decoder +%ld kB RSS, RTF %.3f\n",
			100.0 * (double)edits / (double)words, edits, words,
			tload * 1e3, rss_kb() - rss0, rs.cpu_s / rs.audio_s);

	mem_deref(st);
	ops->close();
	TEST_ERR(err);
	/* loose: catches a broken channel or settings, not a regression */
	TEST_ASSERT(edits * 100 < words * 75);
	return 0;
}


static void conf_errh(const char *line, void *arg)
{
	(void)arg;
	fprintf(stderr, "  conf: %s\n", line);
}


int test_stt_config(void)
{
	const struct stt_ops *ops = stt_find("pocketsphinx");
	struct conf *conf = NULL;
	int err = 0;

	TEST_ASSERT(ops != NULL);
	TEST_ASSERT(stt_find("nonesuch") == NULL);
	TEST_ASSERT(strstr(engine_names(ENGINE_STT), "pocketsphinx"));

	TEST_ERR(conf_alloc(&conf));

	/* an unknown engine name is a config error */
	if (0 == conf_set(conf, "stt", "whisper", "test", NULL, NULL) &&
	    0 == conf_validate(conf, NULL, NULL))
		err = EPROTO;

	/* a missing model folder fails init */
	if (!err)
		err = conf_set(conf, "stt", "pocketsphinx", "test",
			       conf_errh, NULL);
	if (!err)
		err = conf_set(conf, "stt_model_dir", "/nonexistent/model",
			       "test", conf_errh, NULL);
	if (!err && ops->init(conf) != ENOENT)
		err = EPROTO;

	mem_deref(conf);
	TEST_ERR(err);
	return 0;
}
