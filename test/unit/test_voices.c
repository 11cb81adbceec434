/*
 * test_voices.c  TTS round trip per built-in voice: phrases synthesised
 *                through the real tts_ops (flite slt, kal16, rms, awb;
 *                espeak-ng en-us), padded with line noise, sent through
 *                the telephone channel (16 kHz -> PCMU -> 16 kHz) and
 *                recognised by pocketsphinx in grammar modes (yes/no and
 *                a list of 8 words), one decoder per voice as in a call.
 *
 * Each phrase is heard on a quiet (-60 dBFS) and a noisy (-35 dBFS)
 * line.  Prints each voice's accuracy and asserts a per-voice floor set
 * from what was measured (see docs/internals/sherpa-engines.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/conf.h"
#include "engines/engine.h"
#include "media/codec.h"
#include "test.h"

/* from test_stt.c */
int test_speech_phone(int16_t *pcm, size_t n, double noise_dbfs,
		      unsigned seed);

enum {
	SRATE = AUDIO_SRATE,
	PAD_MS = 300,
	CAP = SRATE * 6,          /* longest phrase we keep, samples */
};

/* a quiet line and a noisy one */
static const double line_noise_dbfs[] = {-60.0, -35.0};

struct phrase {
	enum stt_mode mode;
	const char *say;
	const char *expect;
};

static const char *const words8[] = {
	"billing", "sales", "support", "cancel",
	"weather", "appointment", "hospital", "delivery", NULL,
};

static const struct phrase phrases[] = {
	{STT_MODE_YESNO, "yes", "yes"},
	{STT_MODE_YESNO, "no", "no"},
	{STT_MODE_YESNO, "yeah", "yes"},
	{STT_MODE_YESNO, "nope", "no"},
	{STT_MODE_YESNO, "correct", "yes"},
	{STT_MODE_YESNO, "no.", "no"},
	{STT_MODE_WORDS, "billing", "billing"},
	{STT_MODE_WORDS, "sales", "sales"},
	{STT_MODE_WORDS, "support", "support"},
	{STT_MODE_WORDS, "cancel", "cancel"},
	{STT_MODE_WORDS, "weather", "weather"},
	{STT_MODE_WORDS, "appointment", "appointment"},
	{STT_MODE_WORDS, "hospital", "hospital"},
	{STT_MODE_WORDS, "delivery", "delivery"},
};

struct voice {
	const char *engine;
	const char *voice;
	unsigned min_yesno;       /* floors: exact of 12 and of 16 */
	unsigned min_words;
};

/*
 * Floors: the measured count minus one, so one more error than today's
 * fails.  Measured (both noise levels, 2-core VM, Release and ASan
 * builds alike; the run is deterministic):
 *   slt 12/12 yes/no, 15/16 words; kal16 11/12, 15/16; rms 12/12, 14/16;
 *   awb 12/12, 15/16; espeak-ng en-us 12/12, 14/16.
 * espeak-ng was expected to do worse; on these single-word grammars it
 * does not (it does on sentences, see SPEECH-ENGINES.md).
 */
static const struct voice voices[] = {
	{"flite",  "slt",   11, 14},
	{"flite",  "kal16", 10, 14},
	{"flite",  "rms",   11, 13},
	{"flite",  "awb",   11, 14},
	{"espeak", "en-us", 11, 13},
};

struct capture {
	int16_t *pcm;
	size_t n;
	size_t pad;
};


static bool capture_h(const int16_t *pcm, size_t n, void *arg)
{
	struct capture *c = arg;

	if (c->pad + c->n + n > CAP)
		n = CAP - c->pad - c->n;
	memcpy(c->pcm + c->pad + c->n, pcm, n * sizeof(*pcm));
	c->n += n;
	return false;
}


static int make_conf(struct conf **confp, const struct voice *v)
{
	struct conf *conf = NULL;
	int err;

	err = conf_alloc(&conf);
	if (err)
		return err;
	err |= conf_set(conf, "tts", v->engine, "test", NULL, NULL);
	err |= conf_set(conf, "tts_voice", v->voice, "test", NULL, NULL);
	if (err || conf_validate(conf, NULL, NULL)) {
		mem_deref(conf);
		return EINVAL;
	}
	*confp = conf;
	return 0;
}


/* Say p with the voice's session, through the telephone channel, and
 * recognise it with the call's decoder. */
static int round_trip(const struct tts_ops *tts, void *tst,
		      const struct stt_ops *stt, void *sst,
		      const struct phrase *p, double noise, unsigned seed,
		      struct stt_result *res, int16_t *buf)
{
	struct stt_turn turn = {.mode = p->mode, .language = "en",
		.words = p->mode == STT_MODE_WORDS ? words8 : NULL};
	struct capture c = {.pcm = buf, .n = 0,
		.pad = SRATE * PAD_MS / 1000};
	size_t total;
	int err;

	memset(buf, 0, (CAP + AUDIO_FRAME_SAMPLES) * sizeof(*buf));
	err = tts->synth(tst, p->say, "en", capture_h, &c);
	if (err)
		return err;
	if (!c.n)
		return ENODATA;

	total = c.pad + c.n + c.pad;
	if (total > CAP)
		total = CAP;
	total += AUDIO_FRAME_SAMPLES - total % AUDIO_FRAME_SAMPLES;
	err = test_speech_phone(buf, total, noise, seed);
	if (err)
		return err;

	memset(res, 0, sizeof(*res));
	err = stt->start(sst, &turn, NULL, NULL);
	for (size_t i = 0; !err && i < total; i += AUDIO_FRAME_SAMPLES)
		err = stt->feed(sst, buf + i, AUDIO_FRAME_SAMPLES);
	if (!err)
		err = stt->finish(sst, res);
	return err;
}


/* Counts of exact results per noise level. */
struct score {
	unsigned yesno[ARRAY_SIZE(line_noise_dbfs)];
	unsigned words[ARRAY_SIZE(line_noise_dbfs)];
};


static int voice_run(const struct voice *v, const struct stt_ops *stt,
		     int16_t *buf, struct score *sc)
{
	const struct tts_ops *tts = tts_find(v->engine);
	struct conf *conf = NULL;
	void *tst = NULL, *sst = NULL;
	struct stt_result res;
	int err;

	memset(sc, 0, sizeof(*sc));
	if (!tts)
		return ENOENT;
	err = make_conf(&conf, v);
	if (err)
		return err;
	err = tts->init(conf);
	if (err)
		goto out;
	err = tts->alloc(&tst, conf);
	if (!err)
		err = stt->alloc(&sst, NULL);

	for (size_t k = 0; !err && k < ARRAY_SIZE(line_noise_dbfs); k++) {
		for (size_t i = 0; !err && i < ARRAY_SIZE(phrases); i++) {
			const struct phrase *p = &phrases[i];

			err = round_trip(tts, tst, stt, sst, p,
					 line_noise_dbfs[k],
					 (unsigned)(i + 11 + 100 * k), &res,
					 buf);
			if (err)
				break;
			if (!strcmp(res.text, p->expect)) {
				if (p->mode == STT_MODE_YESNO)
					++sc->yesno[k];
				else
					++sc->words[k];
				continue;
			}
			fprintf(stderr, "    %s/%s at %.0f dBFS: said \"%s\", "
				"heard \"%s\"\n", v->engine, v->voice,
				line_noise_dbfs[k], p->say, res.text);
		}
	}

	mem_deref(sst);
	mem_deref(tst);
	tts->close();
 out:
	mem_deref(conf);
	return err;
}


int test_voices_roundtrip(void)
{
	const struct stt_ops *stt = stt_find("pocketsphinx");
	const size_t nlevels = ARRAY_SIZE(line_noise_dbfs);
	unsigned nyesno = 0, nwords = 0;
	struct score sc;
	int16_t *buf;
	int err = 0;
	bool below = false;

	TEST_ASSERT(stt != NULL);
	for (size_t i = 0; i < ARRAY_SIZE(phrases); i++) {
		if (phrases[i].mode == STT_MODE_YESNO)
			++nyesno;
		else
			++nwords;
	}

	TEST_ERR(stt->init(NULL));
	buf = mem_alloc((CAP + AUDIO_FRAME_SAMPLES) * sizeof(*buf), NULL);
	if (!buf) {
		stt->close();
		return ENOMEM;
	}

	fprintf(stderr, "  exact results through PCMU, pocketsphinx grammars "
		"(line noise %.0f dBFS | %.0f dBFS):\n", line_noise_dbfs[0],
		line_noise_dbfs[1]);
	fprintf(stderr, "  voice           yes/no (of %u)   words (of %u)"
		"   total   floor yes/no, words\n", nyesno, nwords);
	for (size_t i = 0; !err && i < ARRAY_SIZE(voices); i++) {
		const struct voice *v = &voices[i];
		unsigned yn = 0, w = 0;

		err = voice_run(v, stt, buf, &sc);
		if (err) {
			fprintf(stderr, "  %s/%s: failed (%d)\n", v->engine,
				v->voice, err);
			break;
		}
		for (size_t k = 0; k < nlevels; k++) {
			yn += sc.yesno[k];
			w += sc.words[k];
		}
		fprintf(stderr, "  %-6s %-6s   %2u | %2u          %2u | %2u"
			"         %3.0f%%    %u/%u, %u/%u\n", v->engine,
			v->voice, sc.yesno[0], sc.yesno[1], sc.words[0],
			sc.words[1], 100.0 * (yn + w) /
			(double)(nlevels * (nyesno + nwords)),
			v->min_yesno, (unsigned)(nlevels * nyesno),
			v->min_words, (unsigned)(nlevels * nwords));
		if (yn < v->min_yesno || w < v->min_words)
			below = true;
	}

	mem_deref(buf);
	stt->close();
	TEST_ERR(err);
	TEST_ASSERT(!below);
	return 0;
}
