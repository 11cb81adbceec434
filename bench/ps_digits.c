/*
 * ps_digits.c  pocketsphinx grammar accuracy over the telephone channel,
 *              per flite voice and per configuration, on a larger set
 *              than the unit tests (docs/internals/stt-and-vad.md,
 *              "Digits: what was tried").
 *
 * Speech: flite voices (tts_ops, as a call speaks), 300 ms of line noise
 * each side, through PCMU (16 kHz -> 8 kHz mu-law -> 16 kHz, the codec a
 * call uses).  One decoder per voice, utterances in sequence, as in a
 * call.  Each configuration is one argument:
 *
 *   "LABEL|PRE|ARGS|WORDS"
 *     PRE   front-end before the decoder (see pre_parse): none,
 *           fold:G:FC, shift:G:F0, abs:G, sq:G, noise:DBFS
 *     ARGS  extra pocketsphinx arguments ("-topn 4 -pbeam 1e-30")
 *     WORDS extra pronunciations "six(2)=S IH K S;oh(2)=OW"
 *   "engine" alone: agentline's stt_pocketsphinx as built (PRE none).
 *
 * Environment: MODE=digits|yesno|free|mixed  VOICES=slt,kal16,rms,awb
 *   (mixed, engine only: digits and sentences alternate in one call;
 *   "total" is digits exact, "WER" the sentences')
 *   N=48 (digit strings)  SEED=0 (another set of strings)  SET=test (test_stt_digits' 12 strings)  NOISE=-60 (dBFS line noise)  DWIP=0.2
 *   CODEC=PCMU|G722  VERBOSE=1 (print each error)
 *   RAW=file.raw TEXT="expected words" (16 kHz s16le mono: that audio
 *   as the first utterance of a call, e.g. what a live call's
 *   recogniser was fed)
 *   PHONE=1 (PCMU as a caller's phone sends it: a sharp 8 kHz filter
 *   before mu-law, like sox in the integration tests; default: the
 *   audio went through agentline's own encoder)
 *
 * Built by `cmake --build BUILD --target ps-digits` (not by default).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include <rem.h>
#include <speex/speex_resampler.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/jsgf.h>
#include "core/conf.h"
#include "engines/engine.h"
#include "media/codec.h"

enum {
	SRATE = AUDIO_SRATE,
	FRAME = AUDIO_FRAME_SAMPLES,
	PAD = SRATE * 300 / 1000,
	CAP = SRATE * 12,
	MAX_UTT = 64,
	MAX_VOICES = 8,
	MAX_ARGS = 64,
	WARM = SRATE * 3,
};

#define MODEL "/usr/share/pocketsphinx/model/en-us"

struct utt {
	char say[128];
	char expect[128];
	int16_t *pcm;
	size_t n;
};

static struct utt utts[MAX_VOICES][MAX_UTT];
static const char *voice_name[MAX_VOICES];
static size_t nvoices, nutt;
static const char *mode = "digits";
static int verbose;
static bool use_test;
static uint64_t set_seed;
static double dwip = 0.2;
static const char *search = "digits";


static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


/* ------------------------------------------------------------ test set */

static const char *const digit_word[] = {
	"zero", "one", "two", "three", "four", "five", "six", "seven",
	"eight", "nine",
};

/* test_stt_digits' strings */
static const char *const test_set[][2] = {
	{"four one five", "415"}, {"two oh seven three", "2073"},
	{"nine nine one", "991"},
	{"eight six seven five three oh nine", "8675309"},
	{"one two three four", "1234"}, {"zero", "0"},
	{"five five five one two one two", "5551212"},
	{"three one four one five", "31415"}, {"six oh two", "602"},
	{"seven seven", "77"}, {"four eight one five one six", "481516"},
	{"two", "2"},
};

static const char *const yesno_set[][2] = {
	{"yes", "yes"}, {"no", "no"}, {"yeah", "yes"}, {"nope", "no"},
	{"yes.", "yes"}, {"no.", "no"}, {"yep", "yes"}, {"no!", "no"},
	{"correct", "yes"}, {"sure", "yes"}, {"right", "yes"},
	{"yes!", "yes"},
};

static const char *const free_set[] = {
	"hello can you hear me",
	"i would like to book a table for two people tonight",
	"please tell her that i called about the meeting",
	"what time do you open tomorrow morning",
	"my name is john and i need to speak to someone",
	"can you call me back later this afternoon",
	"is the package ready for pick up",
	"i want to leave a message for the doctor",
	"the weather is nice today",
	"thank you very much goodbye",
	"how much does the blue jacket cost",
	"could you please repeat that",
	"i am calling about my order",
	"yes that would be great",
	"no thanks i am fine",
	"where is the nearest train station",
};


/* splitmix64 */
static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}


/* Deterministic digit strings of 1..7 digits; 0 said "oh" or "zero". */
static void digits_make(size_t i, char *say, size_t sz, char *expect)
{
	uint64_t s0 = (uint64_t)i + 1 + set_seed, s = mix(&s0);
	size_t len, o = 0;

	len = 1 + mix(&s) % 7;
	for (size_t k = 0; k < len; k++) {
		uint64_t r = mix(&s);
		unsigned d = (unsigned)(r % 10);
		const char *w;

		w = digit_word[d];
		if (d == 0 && ((r >> 20) & 1))
			w = "oh";
		o += (size_t)snprintf(say + o, sz - o, "%s%s", k ? " " : "",
				      w);
		expect[k] = (char)('0' + d);
	}
	expect[len] = '\0';
}


struct capture {
	int16_t *pcm;
	size_t n;
};


static bool capture_h(const int16_t *pcm, size_t n, void *arg)
{
	struct capture *c = arg;

	if (PAD + c->n + n > CAP - PAD - FRAME)
		n = CAP - PAD - FRAME - PAD - c->n;
	memcpy(c->pcm + PAD + c->n, pcm, n * sizeof(*pcm));
	c->n += n;
	return false;
}


static void noise_add(int16_t *pcm, size_t n, double dbfs, unsigned *seed)
{
	double a = 32768.0 * pow(10.0, dbfs / 20.0) * sqrt(3.0);

	for (size_t i = 0; i < n; i++) {
		double r, v;

		*seed = *seed * 1103515245u + 12345u;
		r = (double)((*seed >> 8) & 0xffff) / 32767.5 - 1.0;
		v = pcm[i] + a * r;
		pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
	}
}


static int hqdown;

/* A caller's phone: a sharp 8 kHz anti-alias filter (speex quality 10,
 * like sox), mu-law; then agentline's own decoder. */
static int channel_phone(int16_t *pcm, size_t n)
{
	SpeexResamplerState *rs = speex_resampler_init(1, SRATE, 8000, 10,
							NULL);
	struct codec_state *dec = NULL;
	int16_t *nb = mem_zalloc(n / 2 * sizeof(*nb) + 64, NULL);
	spx_uint32_t ilen = (spx_uint32_t)n, olen = (spx_uint32_t)(n / 2);
	int err = 0;

	if (!rs || !nb)
		return ENOMEM;
	speex_resampler_skip_zeros(rs);
	speex_resampler_process_int(rs, 0, pcm, &ilen, nb, &olen);
	speex_resampler_destroy(rs);
	err = codec_state_alloc(&dec, codec_info(CODEC_PCMU));
	for (size_t i = 0; !err && i < n / 2; i += FRAME / 2) {
		uint8_t pl[FRAME / 2];
		size_t m = FRAME;

		for (size_t k = 0; k < FRAME / 2; k++)
			pl[k] = g711_pcm2ulaw(nb[i + k] == INT16_MIN ?
					      -INT16_MAX : nb[i + k]);
		err = codec_decode(dec, pl, sizeof(pl), pcm + 2 * i, &m);
	}
	mem_deref(dec);
	mem_deref(nb);
	return err;
}


static int channel(int16_t *pcm, size_t n, enum codec_id id)
{
	struct codec_state *enc = NULL, *dec = NULL;
	uint8_t pl[CODEC_MAX_PAYLOAD];
	int err;

	if (hqdown && id == CODEC_PCMU)
		return channel_phone(pcm, n);

	err  = codec_state_alloc(&enc, codec_info(id));
	err |= codec_state_alloc(&dec, codec_info(id));
	for (size_t i = 0; !err && i < n; i += FRAME) {
		size_t len = sizeof(pl), m = FRAME;

		err = codec_encode(enc, pcm + i, pl, &len);
		if (!err)
			err = codec_decode(dec, pl, len, pcm + i, &m);
	}
	mem_deref(enc);
	mem_deref(dec);
	return err;
}


static int voice_synth(size_t v, const char *voice, double noise,
		       enum codec_id id)
{
	const struct tts_ops *tts = tts_find("flite");
	struct conf *conf = NULL;
	void *tst = NULL;
	int err;

	err = conf_alloc(&conf);
	if (err)
		return err;
	err = conf_set(conf, "tts_voice", voice, "bench", NULL, NULL);
	if (!err)
		err = tts->init(conf);
	if (!err)
		err = tts->alloc(&tst, conf);

	for (size_t i = 0; !err && i < nutt; i++) {
		struct utt *u = &utts[v][i];
		struct capture c;
		unsigned seed = (unsigned)(i + 1 + 1000 * v);
		size_t total;

		if (!strcmp(mode, "mixed")) {
			/* a call: digits, then a sentence, and so on */
			if (i % 2)
				str_ncpy(u->say, free_set[(i / 2) % 16],
					 sizeof(u->say));
			else
				digits_make(i / 2, u->say, sizeof(u->say),
					    u->expect);
			if (i % 2)
				str_ncpy(u->expect, u->say,
					 sizeof(u->expect));
		}
		else if (!strcmp(mode, "digits") && use_test) {
			str_ncpy(u->say, test_set[i][0], sizeof(u->say));
			str_ncpy(u->expect, test_set[i][1],
				 sizeof(u->expect));
		}
		else if (!strcmp(mode, "digits")) {
			digits_make(i, u->say, sizeof(u->say), u->expect);
		}
		else if (!strcmp(mode, "yesno")) {
			str_ncpy(u->say, yesno_set[i][0], sizeof(u->say));
			str_ncpy(u->expect, yesno_set[i][1],
				 sizeof(u->expect));
		}
		else {
			str_ncpy(u->say, free_set[i], sizeof(u->say));
			str_ncpy(u->expect, free_set[i], sizeof(u->expect));
		}

		u->pcm = mem_zalloc(CAP * sizeof(int16_t), NULL);
		if (!u->pcm) {
			err = ENOMEM;
			break;
		}
		c.pcm = u->pcm;
		c.n = 0;
		err = tts->synth(tst, u->say, "en", capture_h, &c);
		if (err)
			break;
		total = PAD + c.n + PAD;
		total += FRAME - total % FRAME;
		noise_add(u->pcm, total, noise, &seed);
		err = channel(u->pcm, total, id);
		u->n = total;
	}

	mem_deref(tst);
	tts->close();
	mem_deref(conf);
	return err;
}


/* ------------------------------------------------------------ front end */

struct biquad {
	double b0, b1, b2, a1, a2;
	double x1, x2, y1, y2;
};


static void biquad_hp(struct biquad *q, double fc)
{
	double w = 2 * M_PI * fc / SRATE, c = cos(w);
	double al = sin(w) / (2 * M_SQRT1_2), a0 = 1 + al;

	memset(q, 0, sizeof(*q));
	q->b0 = (1 + c) / 2 / a0;
	q->b1 = -(1 + c) / a0;
	q->b2 = (1 + c) / 2 / a0;
	q->a1 = -2 * c / a0;
	q->a2 = (1 - al) / a0;
}


static void biquad_lp(struct biquad *q, double fc)
{
	double w = 2 * M_PI * fc / SRATE, c = cos(w);
	double al = sin(w) / (2 * M_SQRT1_2), a0 = 1 + al;

	memset(q, 0, sizeof(*q));
	q->b0 = (1 - c) / 2 / a0;
	q->b1 = (1 - c) / a0;
	q->b2 = (1 - c) / 2 / a0;
	q->a1 = -2 * c / a0;
	q->a2 = (1 - al) / a0;
}


static double biquad_run(struct biquad *q, double x)
{
	double y = q->b0 * x + q->b1 * q->x1 + q->b2 * q->x2 -
		q->a1 * q->y1 - q->a2 * q->y2;

	q->x2 = q->x1;
	q->x1 = x;
	q->y2 = q->y1;
	q->y1 = y;
	return y;
}


enum pre_kind { PRE_NONE, PRE_FOLD, PRE_SHIFT, PRE_ABS, PRE_SQ, PRE_NOISE };

struct pre {
	enum pre_kind kind;
	double g;        /* linear gain of the added high band */
	double f;        /* FC (fold) or F0 (shift) */
	double f2;       /* optional low-pass of the image, 0 = none */
};


static int pre_parse(struct pre *p, const char *s)
{
	double a = 0, b = 0, c = 0;

	memset(p, 0, sizeof(*p));
	if (!*s || !strcmp(s, "none"))
		return 0;
	if (sscanf(s, "fold:%lf:%lf:%lf", &a, &b, &c) >= 1 &&
	    !strncmp(s, "fold", 4))
		p->kind = PRE_FOLD;
	else if (!strncmp(s, "shift", 5) &&
		 sscanf(s, "shift:%lf:%lf", &a, &b) == 2)
		p->kind = PRE_SHIFT;
	else if (!strncmp(s, "abs", 3) && sscanf(s, "abs:%lf", &a) == 1)
		p->kind = PRE_ABS;
	else if (!strncmp(s, "sq", 2) && sscanf(s, "sq:%lf", &a) == 1)
		p->kind = PRE_SQ;
	else if (!strncmp(s, "noise", 5) && sscanf(s, "noise:%lf", &a) == 1)
		p->kind = PRE_NOISE;
	else
		return EINVAL;
	p->g = pow(10.0, a / 20.0);
	p->f = b;
	p->f2 = c;
	return 0;
}


/* In place, whole utterance, fresh state. */
static void pre_run(const struct pre *p, int16_t *pcm, size_t n)
{
	struct biquad h1, h2, l1, l2;
	unsigned seed = 7;

	if (p->kind == PRE_NONE)
		return;

	if (p->kind == PRE_FOLD) {
		biquad_hp(&h1, p->f > 0 ? p->f : 100);
		biquad_hp(&h2, p->f > 0 ? p->f : 100);
	}
	else {
		/* a 4th-order high-pass just above the telephone band */
		biquad_hp(&h1, 4200);
		biquad_hp(&h2, 4200);
	}
	if (p->f2 > 0) {
		biquad_lp(&l1, p->f2);
		biquad_lp(&l2, p->f2);
	}

	for (size_t i = 0; i < n; i++) {
		double x = pcm[i], z = 0, y;

		switch (p->kind) {
		case PRE_FOLD:
			/* (-1)^n mirrors 0..4 kHz onto 8..4 kHz */
			z = biquad_run(&h2, biquad_run(&h1, x));
			z = (i & 1) ? -z : z;
			if (p->f2 > 0)
				z = biquad_run(&l2, biquad_run(&l1, z));
			break;
		case PRE_SHIFT:
			z = 2 * x * cos(2 * M_PI * p->f * (double)i / SRATE);
			z = biquad_run(&h2, biquad_run(&h1, z));
			break;
		case PRE_ABS:
			z = biquad_run(&h2, biquad_run(&h1, fabs(x)));
			break;
		case PRE_SQ:
			z = biquad_run(&h2, biquad_run(&h1,
						      x * fabs(x) / 8192.0));
			break;
		case PRE_NOISE:
			seed = seed * 1103515245u + 12345u;
			z = ((double)((seed >> 8) & 0xffff) / 32767.5 - 1.0) *
				32768.0 * sqrt(3.0);
			z = biquad_run(&h2, biquad_run(&h1, z));
			break;
		default:
			break;
		}
		y = x + p->g * z;
		pcm[i] = (int16_t)(y > 32767 ? 32767 : y < -32768 ? -32768 :
				   lrint(y));
	}
}


/* ------------------------------------------------------------- decoder */

static const char jsgf_digits[] =
	"#JSGF V1.0;\ngrammar digits;\npublic <digits> = <digit>+;\n"
	"<digit> = zero | oh | one | two | three | four | five | six"
	" | seven | eight | nine;\n";

static const char jsgf_yesno[] =
	"#JSGF V1.0;\ngrammar yesno;\npublic <answer> = <yes> | <no>;\n"
	"<yes> = yes | yeah | yep | correct | right | sure;\n"
	"<no> = no | nope;\n";


static int grammar_set(ps_decoder_t *ps, const char *name, const char *text,
		       double wip)
{
	cmd_ln_t *config = ps_get_config(ps);
	float32 owip = cmd_ln_float32_r(config, "-wip");
	jsgf_t *jsgf = jsgf_parse_string(text, NULL);
	fsg_model_t *fsg;
	int err = EINVAL;

	if (!jsgf)
		return EINVAL;
	if (wip > 0)
		cmd_ln_set_float32_r(config, "-wip", (float32)wip);
	fsg = jsgf_build_fsg(jsgf, jsgf_get_public_rule(jsgf),
			     ps_get_logmath(ps),
			     cmd_ln_float32_r(config, "-lw"));
	/* the search reads -wip when it is made, too */
	if (fsg && !ps_set_fsg(ps, name, fsg))
		err = 0;
	cmd_ln_set_float32_r(config, "-wip", owip);
	if (fsg)
		fsg_model_free(fsg);
	jsgf_grammar_free(jsgf);
	return err;
}


static ps_decoder_t *decoder_new(const char *args, const char *words)
{
	static char buf[1024], wbuf[1024];
	const char *argv[MAX_ARGS];
	int n = 0;
	cmd_ln_t *config;
	ps_decoder_t *ps;
	char *save = NULL;

	static const char *const def[] = {
		"-hmm", MODEL "/en-us",
		"-dict", MODEL "/cmudict-en-us.dict",
		"-featparams", AGENTLINE_DATADIR "/pocketsphinx/feat.params",
		"-samprate", "16000",
		"-logfn", "/dev/null",
		/* agentline's search effort (stt_pocketsphinx.c) */
		"-maxhmmpf", "4000",
		"-maxwpf", "8",
		"-wbeam", "1e-20",
		"-lponlybeam", "1e-20",
		"-fwdflat", "no",
	};

	str_ncpy(buf, args, sizeof(buf));
	for (char *t = strtok_r(buf, " ", &save); t && n < MAX_ARGS - 16;
	     t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	/* defaults unless given */
	for (size_t d = 0; d < ARRAY_SIZE(def); d += 2) {
		bool given = false;

		for (int k = 0; k < n; k += 2)
			given |= !strcmp(argv[k], def[d]);
		if (!given) {
			argv[n++] = def[d];
			argv[n++] = def[d + 1];
		}
	}

	config = cmd_ln_parse_r(NULL, ps_args(), n, (char **)argv, TRUE);
	if (!config)
		return NULL;
	ps = ps_init(config);
	cmd_ln_free_r(config);
	if (!ps)
		return NULL;

	str_ncpy(wbuf, words, sizeof(wbuf));
	save = NULL;
	for (char *t = strtok_r(wbuf, ";", &save); t;
	     t = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(t, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (ps_add_word(ps, t, eq + 1, TRUE) < 0)
			fprintf(stderr, "cannot add word %s\n", t);
	}

	if (!strcmp(mode, "digits")) {
		char g[1024];
		const char *extra = getenv("DIGITS_EXTRA");

		/* DIGITS_EXTRA: more alternatives for <digit> */
		str_ncpy(g, jsgf_digits, sizeof(g));
		if (extra && strlen(g) + strlen(extra) + 8 < sizeof(g)) {
			g[strlen(g) - 2] = '\0';
			strcat(g, " | ");
			strcat(g, extra);
			strcat(g, ";\n");
		}
		if (grammar_set(ps, "digits", g, dwip)) {
			ps_free(ps);
			return NULL;
		}
	}
	else if (!strcmp(mode, "yesno")) {
		if (grammar_set(ps, "yesno", jsgf_yesno, 0)) {
			ps_free(ps);
			return NULL;
		}
	}
	else {
		if (ps_set_lm_file(ps, "lm", MODEL "/en-us.lm.bin")) {
			ps_free(ps);
			return NULL;
		}
	}
	return ps;
}


static void normalise(const char *hyp, char *out, size_t sz)
{
	size_t o = 0;

	out[0] = '\0';
	if (!strcmp(mode, "yesno")) {
		bool no = !strcmp(hyp, "no") || !strcmp(hyp, "nope");
		str_ncpy(out, *hyp ? (no ? "no" : "yes") : "", sz);
		return;
	}
	if (strcmp(mode, "digits")) {
		str_ncpy(out, hyp, sz);
		return;
	}
	for (const char *p = hyp; *p && o + 1 < sz; ) {
		size_t len = strcspn(p, " "), skip = len;
		char d = '\0';

		/* "six_tel": a telephone pronunciation of "six" */
		if (memchr(p, '_', len))
			len = (size_t)((const char *)memchr(p, '_', len) - p);

		if (len == 2 && !strncmp(p, "oh", 2))
			d = '0';
		for (size_t i = 0; !d && i < 10; i++) {
			if (strlen(digit_word[i]) == len &&
			    !strncmp(p, digit_word[i], len))
				d = (char)('0' + i);
		}
		if (d) {
			out[o++] = d;
			out[o] = '\0';
		}
		p += skip;
		p += strspn(p, " ");
	}
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
			size_t sub = d[i - 1][j - 1] +
				(strcmp(r[i - 1], h[j - 1]) != 0);
			size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
			size_t m = sub < del ? sub : del;
			d[i][j] = m < ins ? m : ins;
		}
	}
	*nref = nr;
	return d[nr][nh];
}


struct tally {
	unsigned exact, total;
	size_t edits, words;
	double cpu_dec, cpu_pre, audio;
};


static void score(struct tally *t, const struct utt *u, const char *text,
		  const char *voice)
{
	char a[256], b[256];
	size_t nref = 0, o = 0;

	/* digits: edits counted per digit */
	if (!strcmp(mode, "digits")) {
		for (const char *c = u->expect; *c && o + 3 < sizeof(a); c++)
			o += (size_t)snprintf(a + o, sizeof(a) - o, "%c ", *c);
		a[o] = '\0';
		o = 0;
		b[0] = '\0';
		for (const char *c = text; *c && o + 3 < sizeof(b); c++)
			o += (size_t)snprintf(b + o, sizeof(b) - o, "%c ", *c);
		t->edits += wer_edits(a, b, &nref);
		t->words += nref;
	}
	else {
		t->edits += wer_edits(u->expect, text, &nref);
		t->words += nref;
	}
	++t->total;
	if (!strcmp(text, u->expect))
		++t->exact;
	else if (verbose)
		fprintf(stderr, "    %s #%u: \"%s\" -> \"%s\"\n", voice, t->total, u->say,
			text);
}


/* One decoder for the voice's utterances, as agentline's session does
 * (live decoding in 20 ms chunks; while under WARM samples of speech,
 * decode the utterance again once its end has updated the mean). */
static int run_raw(size_t v, const struct pre *pre, const char *args,
		   const char *words, struct tally *t, int16_t *buf)
{
	ps_decoder_t *ps;
	size_t warm = 0;
	double c0;

	c0 = cpu_now();
	ps = decoder_new(args, words);
	if (!ps)
		return EINVAL;
	t->cpu_dec += cpu_now() - c0;

	for (size_t i = 0; i < nutt; i++) {
		const struct utt *u = &utts[v][i];
		const char *hyp;
		char text[256];

		memcpy(buf, u->pcm, u->n * sizeof(*buf));
		c0 = cpu_now();
		pre_run(pre, buf, u->n);
		t->cpu_pre += cpu_now() - c0;

		c0 = cpu_now();
		ps_set_search(ps, search);
		ps_start_utt(ps);
		for (size_t k = 0; k < u->n; k += FRAME)
			ps_process_raw(ps, buf + k, FRAME, FALSE, FALSE);
		ps_end_utt(ps);
		if (warm < WARM) {
			warm += u->n;
			ps_start_utt(ps);
			ps_process_raw(ps, buf, u->n, FALSE, TRUE);
			ps_end_utt(ps);
		}
		hyp = ps_get_hyp(ps, NULL);
		t->cpu_dec += cpu_now() - c0;
		t->audio += (double)u->n / SRATE;
		normalise(hyp ? hyp : "", text, sizeof(text));
		score(t, u, text, voice_name[v]);
	}
	ps_free(ps);
	return 0;
}


static int run_engine(size_t v, struct tally *t)
{
	const struct stt_ops *ops = stt_find("pocketsphinx");
	enum stt_mode m = !strcmp(mode, "digits") ? STT_MODE_DIGITS :
		!strcmp(mode, "yesno") ? STT_MODE_YESNO : STT_MODE_FREE;
	struct stt_turn turn = {.mode = m, .language = "en"};
	struct stt_result res;
	void *st = NULL;
	double c0;
	int err;

	c0 = cpu_now();
	err = ops->alloc(&st, NULL);
	t->cpu_dec += cpu_now() - c0;
	for (size_t i = 0; !err && i < nutt; i++) {
		const struct utt *u = &utts[v][i];

		if (!strcmp(mode, "mixed"))
			turn.mode = i % 2 ? STT_MODE_FREE : STT_MODE_DIGITS;
		c0 = cpu_now();
		err = ops->start(st, &turn, NULL, NULL);
		for (size_t k = 0; !err && k < u->n; k += FRAME)
			err = ops->feed(st, u->pcm + k, FRAME);
		if (!err)
			err = ops->finish(st, &res);
		t->cpu_dec += cpu_now() - c0;
		t->audio += (double)u->n / SRATE;
		if (!err && !strcmp(mode, "mixed")) {
			size_t nref = 0;

			if (i % 2) {
				t->edits += wer_edits(u->expect, res.text,
						      &nref);
				t->words += nref;
			}
			else {
				++t->total;
				t->exact += !strcmp(res.text, u->expect);
			}
		}
		else if (!err)
			score(t, u, res.text, voice_name[v]);
	}
	mem_deref(st);
	return err;
}


/* BANDSTAT=1: energy above 4.4 kHz relative to the whole band, per
 * 20 ms frame louder than -45 dBFS (the engine's narrowband test). */
static double bandstat_hz = 4400;

static void band_stat(void)
{
	for (size_t v = 0; v < nvoices; v++) {
		double lo = 1e9, hi = -1e9, sum_lo = 1e9, sum_hi = -1e9;

		for (size_t i = 0; i < nutt; i++) {
			const struct utt *u = &utts[v][i];
			struct biquad h1, h2;
			double eh = 0, et = 0;

			biquad_hp(&h1, bandstat_hz);
			biquad_hp(&h2, bandstat_hz);
			for (size_t k = 0; k < u->n; k += FRAME) {
				double fh = 0, ft = 0, r;

				for (size_t j = k; j < k + FRAME; j++) {
					double x = u->pcm[j];
					double z = biquad_run(&h2,
						biquad_run(&h1, x));
					fh += z * z;
					ft += x * x;
				}
				if (ft / FRAME < 32768.0 * 32768.0 * 3.16e-5)
					continue;
				r = 10 * log10((fh + 1e-9) / ft);
				lo = r < lo ? r : lo;
				hi = r > hi ? r : hi;
				eh += fh;
				et += ft;
			}
			if (et > 0) {
				double r = 10 * log10((eh + 1e-9) / et);
				sum_lo = r < sum_lo ? r : sum_lo;
				sum_hi = r > sum_hi ? r : sum_hi;
			}
		}
		printf("%-6s frames %6.1f .. %6.1f dB, utterances %6.1f .. "
		       "%6.1f dB\n", voice_name[v], lo, hi, sum_lo, sum_hi);
	}
}


int main(int argc, char **argv)
{
	char vbuf[256], *save = NULL;
	const char *e;
	double noise = -60;
	enum codec_id cid = CODEC_PCMU;
	size_t n = 48;
	int16_t *buf;
	int err;

	if (argc < 2) {
		fprintf(stderr, "usage: %s \"LABEL|PRE|ARGS|WORDS\"... | "
			"engine\n", argv[0]);
		return 2;
	}
	if ((e = getenv("MODE")))
		mode = e;
	if ((e = getenv("N")))
		n = (size_t)atoi(e);
	if ((e = getenv("NOISE")))
		noise = atof(e);
	if ((e = getenv("DWIP")))
		dwip = atof(e);
	if ((e = getenv("VERBOSE")))
		verbose = atoi(e);
	if ((e = getenv("PHONE")))
		hqdown = atoi(e);
	if ((e = getenv("CODEC")) && !strcmp(e, "G722"))
		cid = CODEC_G722;
	str_ncpy(vbuf, getenv("VOICES") ? getenv("VOICES") :
		 "slt,kal16,rms,awb", sizeof(vbuf));

	if ((e = getenv("SEED")))
		set_seed = strtoull(e, NULL, 10) * 1000;
	if ((e = getenv("SET")) && !strcmp(e, "test")) {
		use_test = true;
		n = ARRAY_SIZE(test_set);
	}
	if (!strcmp(mode, "yesno")) {
		n = ARRAY_SIZE(yesno_set);
		search = "yesno";
	}
	else if (!strcmp(mode, "free")) {
		n = ARRAY_SIZE(free_set);
		search = "lm";
	}
	nutt = n > MAX_UTT ? MAX_UTT : n;

	err = libre_init();
	if (err)
		return 1;
	err_set_logfp(NULL);
	/* RAW=file.raw (16 kHz s16le mono) TEXT=expected: that audio alone,
	 * as one utterance of a call (MODE=free) */
	if ((e = getenv("RAW"))) {
		FILE *f = fopen(e, "rb");
		struct utt *u = &utts[0][0];

		if (!f)
			return 1;
		u->pcm = mem_zalloc(CAP * sizeof(int16_t), NULL);
		u->n = fread(u->pcm, sizeof(int16_t), CAP, f);
		u->n -= u->n % FRAME;
		fclose(f);
		str_ncpy(u->say, getenv("TEXT") ? getenv("TEXT") : "",
			 sizeof(u->say));
		str_ncpy(u->expect, u->say, sizeof(u->expect));
		voice_name[0] = "raw";
		nvoices = 1;
		nutt = 1;
		vbuf[0] = '\0';
	}
	for (char *t = strtok_r(vbuf, ",", &save); t && nvoices < MAX_VOICES;
	     t = strtok_r(NULL, ",", &save)) {
		voice_name[nvoices] = t;
		err = voice_synth(nvoices, t, noise, cid);
		if (err) {
			fprintf(stderr, "voice %s: %s\n", t, strerror(err));
			return 1;
		}
		++nvoices;
	}

	{
		struct conf *conf = NULL;
		const struct stt_ops *ops = stt_find("pocketsphinx");
		if (conf_alloc(&conf) || ops->init(conf))
			return 1;
		mem_deref(conf);
	}

	if ((e = getenv("BANDSTAT"))) {
		bandstat_hz = atof(e);
		band_stat();
	}
	buf = mem_alloc(CAP * sizeof(*buf), NULL);
	printf("# mode %s, %zu utterances x %zu voices, line noise %.0f "
	       "dBFS, %s\n", mode, nutt, nvoices, noise,
	       cid == CODEC_PCMU ? "PCMU" : "G722");
	printf("%-28s", "config");
	for (size_t v = 0; v < nvoices; v++)
		printf(" %6s", voice_name[v]);
	printf("  %6s %6s  %8s %8s\n", "total", "WER", "RTFdec", "RTFpre");

	for (int a = 1; a < argc; a++) {
		char cfg[1024], *f[4] = {"", "", "", ""}, *p = cfg;
		struct tally all;
		struct pre pre;

		memset(&all, 0, sizeof(all));
		str_ncpy(cfg, argv[a], sizeof(cfg));
		for (int k = 0; k < 4 && p; k++) {
			f[k] = p;
			p = strchr(p, '|');
			if (p)
				*p++ = '\0';
		}
		if (pre_parse(&pre, f[1])) {
			fprintf(stderr, "bad PRE %s\n", f[1]);
			return 2;
		}
		printf("%-28s", f[0]);
		fflush(stdout);
		for (size_t v = 0; v < nvoices; v++) {
			struct tally t;

			memset(&t, 0, sizeof(t));
			if (!strcmp(f[0], "engine"))
				err = run_engine(v, &t);
			else
				err = run_raw(v, &pre, f[2], f[3], &t, buf);
			if (err) {
				printf(" failed (%d)\n", err);
				break;
			}
			printf(" %3u/%-2u", t.exact, t.total);
			fflush(stdout);
			all.exact += t.exact;
			all.total += t.total;
			all.edits += t.edits;
			all.words += t.words;
			all.cpu_dec += t.cpu_dec;
			all.cpu_pre += t.cpu_pre;
			all.audio += t.audio;
		}
		if (all.total)
			printf("  %5.1f%% %5.1f%%  %8.4f %8.5f\n",
			       100.0 * all.exact / all.total,
			       100.0 * (double)all.edits / (double)all.words,
			       all.cpu_dec / all.audio,
			       all.cpu_pre / all.audio);
		fflush(stdout);
	}

	mem_deref(buf);
	for (size_t v = 0; v < nvoices; v++)
		for (size_t i = 0; i < nutt; i++)
			mem_deref(utts[v][i].pcm);
	libre_close();
	return 0;
}
