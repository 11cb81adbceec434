/*
 * stt_pocketsphinx.c  Offline STT with CMU pocketsphinx (en-us model).
 *
 * One decoder per call: its cepstral mean adapts to the caller's line over
 * the call.  Telephone audio (8 kHz, G.711, upsampled to 16 kHz by the
 * codec) needs a telephone starting value for cepstral mean normalisation;
 * the model's own feat.params would override -cmninit, so we ship a copy
 * with the telephone value (data/pocketsphinx/feat.params) and pass it as
 * -featparams.
 *
 * Narrowband speech (a G.711 call: nothing above 4 kHz) is given an
 * artificial high band before the wideband model hears it: the band
 * 3..4 kHz is mirrored onto 4..5 kHz at -12 dB (spectral folding).  The
 * engine tells narrowband from wideband by the audio itself (energy above
 * 6.5 kHz), so a PSTN call carried over Opus is folded too and a G.722
 * call is not.  Only the digits grammar hears the folded signal: it gains
 * most (docs/internals/stt-and-vad.md, "Digits"), while free speech on a
 * live call was heard worse with it.  Folded and plain turns each keep
 * their own cepstral mean (cmn_select).
 *
 * Modes: FREE searches the language model, loaded into the decoder on the
 * first FREE turn (a grammar-only call then costs ~1/3 of the memory).
 * YESNO, DIGITS and WORDS use JSGF grammars built at run time; each
 * grammar search is kept in the decoder and reused (WORDS: the last few
 * word lists, keyed by their text).
 *
 * Threads: init/close on the main thread; a session is used by one worker
 * thread at a time.  pocketsphinx keeps no shared mutable state between
 * decoders apart from its logger, which init silences once.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <re.h>
#include <pocketsphinx.h>
#include <sphinxbase/ckd_alloc.h>
#include <sphinxbase/err.h>
#include <sphinxbase/feat.h>
#include <sphinxbase/jsgf.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/engine.h"

#define MOD "stt"

#ifndef AGENTLINE_DATADIR
#define AGENTLINE_DATADIR "data"
#endif

enum {
	PS_PATH_MAX = 512,
	PS_WORDS_CACHE = 8,          /* WORDS grammars kept per decoder   */
	PS_GRAMMAR_MAX = 8192,       /* bytes of one generated grammar    */
	PS_PARTIAL_EVERY = 10,       /* frames between partial results    */
	PS_WARM_SAMPLES = 16000 * 3, /* speech heard before CMN is settled */
	PS_REPLAY_MAX = 16000 * 15,  /* longest utterance decoded twice    */
	PS_CHUNK = 320,              /* front-end block, samples          */
	PS_BAND_FRAMES = 50,         /* loud blocks measured per call     */
	PS_CEP_MAX = 32,             /* cepstral coefficients kept        */
};

/* -wip of the digits search: the probability of inserting a word (the
 * default is 0.65); smaller = fewer inserted words */
#define PS_DIGITS_WIP 0.2f
/* -pip of the digits search: phone insertion probability (default 1) */
#define PS_DIGITS_PIP 0.5f
/* -pip of the yes/no search */
#define PS_YESNO_PIP 3.0f

/* Spectral folding: gain of the mirrored band (-12 dB), the high-pass
 * that picks what is mirrored (3 kHz, 4th order), and the narrowband test:
 * blocks louder than -45 dBFS, energy above 6.5 kHz (4th order) under
 * -55 dB of the whole band.  Measured per utterance: G.711 speech
 * -59..-83 dB (our upsampler's images), G.722 speech -20..-52 dB
 * (bench/ps_digits.c BANDSTAT=6500, PHONE=0/1). */
#define PS_FOLD_GAIN 0.25f
#define PS_FOLD_HZ 3000.0
#define PS_BAND_HZ 6500.0
#define PS_BAND_LOUD (32768.0 * 32768.0 * 3.16e-5)
#define PS_BAND_RATIO 3.16e-6

/* Telephone pronunciations of digits, as words of their own so only the
 * narrowband digits grammar has them: without the band above 4 kHz the
 * model hears /s/ as /th/, and the /th/ of "three" and the /r/ of "four"
 * are lost.  On wideband speech they cost accuracy
 * (docs/internals/stt-and-vad.md, "Digits"). */
static const char *const digit_prons[][2] = {
	{"four_tel",  "F AO"},
	{"six_tel",   "TH IH K S"},
	{"seven_tel", "TH EH V AH N"},
	{"three_tel", "R IY"},
};

static const char search_lm[]     = "lm";
static const char search_yesno[]  = "yesno";
static const char search_digits[] = "digits";
static const char search_digits_tel[] = "digits_tel";

/* Second-order section (RBJ cookbook), direct form I. */
struct biquad {
	float b0, b1, b2, a1, a2;
};

struct biquad_state {
	float x1, x2, y1, y2;
};

/* set by init (main thread, before any session exists) */
static struct biquad hp_fold, hp_band;

static struct {
	char hmm[PS_PATH_MAX];
	char lm[PS_PATH_MAX];
	char dict[PS_PATH_MAX];
	char featparams[PS_PATH_MAX];
} paths;

/* Search effort (docs/benchmarks.md, "pocketsphinx search effort"). */
static struct {
	char maxhmmpf[16];
	char maxwpf[16];
	bool fwdflat;
} tuning = {"4000", "8", false};

/* Word-exit beams, with -maxwpf: fewer words leave the search each frame
 * (pocketsphinx's defaults are 7e-29; with -maxhmmpf 4000 -maxwpf 8 this
 * is 0.6-0.7x the CPU of 8000 alone at +0.5 points of word error rate on
 * phone speech, bench/ps_effort.sh) */
#define PS_WBEAM "1e-20"

struct ps_stt {
	ps_decoder_t *ps;
	bool lm_loaded;
	bool in_utt;
	enum stt_mode mode;
	stt_partial_h *ph;
	void *arg;
	unsigned nfeed;
	char partial[256];
	/* WORDS grammars: search name "w<n>" for words_key[n] */
	char *words_key[PS_WORDS_CACHE];
	unsigned words_next;
	/* Cepstral mean normalisation starts from -cmninit and only adapts
	 * at the end of an utterance, so a decoder's first answers are
	 * heard badly (names worst).  Until enough speech was heard, the
	 * utterance is kept and decoded again once the mean has adapted. */
	size_t warm;                 /* samples heard so far             */
	int16_t *replay;             /* this utterance, while not warm   */
	size_t nreplay;
	bool replay_lost;            /* too long to keep                 */
	/* narrowband front end */
	struct biquad_state fold[2];
	struct biquad_state band[2];
	bool odd;                    /* parity of the next sample        */
	unsigned band_loud;          /* loud blocks measured             */
	double band_hi, band_all;    /* their energy above 6.5 kHz, all  */
	/* The cepstral mean of the other front end (folded digits turns
	 * or plain turns): each keeps its own, as if two channels */
	struct {
		mfcc_t mean[PS_CEP_MAX];
		mfcc_t sum[PS_CEP_MAX];
		int32 nframe;
		bool set;
	} cmn_other;
	bool cmn_folded;             /* the decoder's mean is the fold's */
};


static bool file_exists(const char *path, bool dir)
{
	struct stat st;

	if (stat(path, &st))
		return false;
	return dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}


static void biquad_highpass(struct biquad *q, double hz)
{
	double w = 2 * M_PI * hz / 16000.0, c = cos(w);
	double al = sin(w) / (2 * M_SQRT1_2), a0 = 1 + al;

	q->b0 = (float)((1 + c) / 2 / a0);
	q->b1 = (float)(-(1 + c) / a0);
	q->b2 = (float)((1 + c) / 2 / a0);
	q->a1 = (float)(-2 * c / a0);
	q->a2 = (float)((1 - al) / a0);
}


static inline float biquad_run(const struct biquad *q,
			       struct biquad_state *s, float x)
{
	float y = q->b0 * x + q->b1 * s->x1 + q->b2 * s->x2 -
		q->a1 * s->y1 - q->a2 * s->y2;

	s->x2 = s->x1;
	s->x1 = x;
	s->y2 = s->y1;
	s->y1 = y;
	return y;
}


static bool band_is_narrow(const struct ps_stt *st)
{
	return !st->band_loud || st->band_hi < st->band_all * PS_BAND_RATIO;
}


/* Narrowband test on one block: true while the call's loud blocks have
 * (almost) nothing above 6.5 kHz, or none was heard yet.  Measures the
 * first PS_BAND_FRAMES loud blocks of a call, then keeps its answer. */
static bool band_measure(struct ps_stt *st, const int16_t *pcm, size_t n)
{
	double hi = 0, all = 0;

	if (st->band_loud >= PS_BAND_FRAMES)
		return band_is_narrow(st);

	for (size_t i = 0; i < n; i++) {
		float x = pcm[i];
		float z = biquad_run(&hp_band, &st->band[1],
				     biquad_run(&hp_band, &st->band[0], x));

		hi += (double)z * z;
		all += (double)x * x;
	}
	if (all >= PS_BAND_LOUD * (double)n) {
		st->band_hi += hi;
		st->band_all += all;
		++st->band_loud;
	}
	return band_is_narrow(st);
}


/* Spectral folding in place: x + g * (-1)^n * highpass(x) mirrors
 * 3..4 kHz onto 4..5 kHz. */
static void band_fold(struct ps_stt *st, int16_t *pcm, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		float x = pcm[i];
		float z = biquad_run(&hp_fold, &st->fold[1],
				     biquad_run(&hp_fold, &st->fold[0], x));
		float y = x + (st->odd ? -PS_FOLD_GAIN : PS_FOLD_GAIN) * z;

		st->odd = !st->odd;
		pcm[i] = (int16_t)(y > 32767.0f ? 32767 :
				   y < -32768.0f ? -32768 : lrintf(y));
	}
}


/* Between utterances: give the decoder the cepstral mean of the front
 * end the next turn uses, keeping the other's.  Folding digits turns
 * only, with one mean for both, cost mixed calls 10-26 points of digits
 * and 4-8 of free-speech WER (docs/internals/stt-and-vad.md). */
static void cmn_select(struct ps_stt *st, bool folded)
{
	feat_t *feat = ps_get_feat(st->ps);
	cmn_t *c = feat ? feat->cmn_struct : NULL;
	mfcc_t mean[PS_CEP_MAX], sum[PS_CEP_MAX];
	int32 nframe;
	size_t n;

	if (folded == st->cmn_folded || !c || c->veclen <= 0 ||
	    c->veclen > PS_CEP_MAX)
		return;
	st->cmn_folded = folded;
	n = (size_t)c->veclen * sizeof(mfcc_t);

	memcpy(mean, c->cmn_mean, n);
	memcpy(sum, c->sum, n);
	nframe = c->nframe;
	if (st->cmn_other.set) {
		memcpy(c->cmn_mean, st->cmn_other.mean, n);
		memcpy(c->sum, st->cmn_other.sum, n);
		c->nframe = st->cmn_other.nframe;
	}
	memcpy(st->cmn_other.mean, mean, n);
	memcpy(st->cmn_other.sum, sum, n);
	st->cmn_other.nframe = nframe;
	st->cmn_other.set = true;
}


/* Live audio to the decoder through the front end, in blocks. */
static int process_live(struct ps_stt *st, const int16_t *pcm, size_t n)
{
	int16_t blk[PS_CHUNK];

	for (size_t i = 0; i < n; i += PS_CHUNK) {
		size_t m = n - i < PS_CHUNK ? n - i : PS_CHUNK;
		const int16_t *p = pcm + i;

		/* the band is learnt in every mode, folded for digits only:
		 * live calls' first sentences were heard worse folded
		 * ("hello can you hear me" -> "pull you mean",
		 * integ.agent_call) */
		if (band_measure(st, p, m) && st->mode == STT_MODE_DIGITS) {
			memcpy(blk, p, m * sizeof(*blk));
			band_fold(st, blk, m);
			p = blk;
		}
		if (ps_process_raw(st->ps, p, m, FALSE, FALSE) < 0)
			return EIO;
	}
	return 0;
}


static int ps_init_engine(const struct conf *conf)
{
	const char *dir = conf_str(conf, "stt_model_dir");

	if (!dir || !*dir) {
		log_error(MOD, NULL, "stt_model_dir is not set");
		return EINVAL;
	}

	snprintf(tuning.maxhmmpf, sizeof(tuning.maxhmmpf), "%lld",
		 (long long)conf_int(conf, "stt_pocketsphinx_maxhmmpf"));
	snprintf(tuning.maxwpf, sizeof(tuning.maxwpf), "%lld",
		 (long long)conf_int(conf, "stt_pocketsphinx_maxwpf"));
	tuning.fwdflat = conf_bool(conf, "stt_pocketsphinx_fwdflat");

	snprintf(paths.hmm, sizeof(paths.hmm), "%s/en-us", dir);
	snprintf(paths.lm, sizeof(paths.lm), "%s/en-us.lm.bin", dir);
	snprintf(paths.dict, sizeof(paths.dict), "%s/cmudict-en-us.dict",
		 dir);
	snprintf(paths.featparams, sizeof(paths.featparams),
		 "%s/pocketsphinx/feat.params", AGENTLINE_DATADIR);

	if (!file_exists(paths.hmm, true) || !file_exists(paths.lm, false) ||
	    !file_exists(paths.dict, false)) {
		log_error(MOD, NULL, "stt_model_dir \"%s\" does not hold the "
			  "pocketsphinx en-us model (en-us/, en-us.lm.bin, "
			  "cmudict-en-us.dict); install pocketsphinx-en-us "
			  "or set stt_model_dir", dir);
		return ENOENT;
	}
	if (!file_exists(paths.featparams, false)) {
		log_error(MOD, NULL, "telephone feature parameters %s are "
			  "missing", paths.featparams);
		return ENOENT;
	}

	biquad_highpass(&hp_fold, PS_FOLD_HZ);
	biquad_highpass(&hp_band, PS_BAND_HZ);

	/* pocketsphinx logs a lot to stderr by default */
	err_set_logfp(NULL);

	log_info(MOD, NULL, "pocketsphinx: model %s", dir);
	return 0;
}


static void ps_close_engine(void)
{
}


static void stt_destructor(void *data)
{
	struct ps_stt *st = data;

	if (st->ps) {
		if (st->in_utt)
			ps_end_utt(st->ps);
		ps_free(st->ps);
	}
	for (size_t i = 0; i < PS_WORDS_CACHE; i++)
		mem_deref(st->words_key[i]);
	mem_deref(st->replay);
}


/* Worker thread. */
static int ps_alloc(void **stp, const struct conf *conf)
{
	struct ps_stt *st;
	cmd_ln_t *config;
	int err = 0;

	if (!stp)
		return EINVAL;
	if (!paths.hmm[0])
		return EINVAL;  /* init was not called */

	st = mem_zalloc(sizeof(*st), stt_destructor);
	if (!st)
		return ENOMEM;

	config = cmd_ln_init(NULL, ps_args(), TRUE,
			     "-hmm", paths.hmm,
			     "-dict", paths.dict,
			     "-featparams", paths.featparams,
			     "-samprate", "16000",
			     "-logfn", "/dev/null",
			     "-maxhmmpf", tuning.maxhmmpf,
			     "-maxwpf", tuning.maxwpf,
			     "-wbeam", PS_WBEAM,
			     "-lponlybeam", PS_WBEAM,
			     "-fwdflat", tuning.fwdflat ? "yes" : "no",
			     NULL);
	if (!config) {
		err = EINVAL;
		goto out;
	}

	st->ps = ps_init(config);
	cmd_ln_free_r(config);  /* the decoder keeps its own reference */
	if (!st->ps) {
		err = ENOMEM;
		goto out;
	}

	/* before any search exists: every search made later has them */
	for (size_t i = 0; i < ARRAY_SIZE(digit_prons); i++) {
		if (ps_add_word(st->ps, digit_prons[i][0], digit_prons[i][1],
				FALSE) < 0) {
			err = EINVAL;
			goto out;
		}
	}

 out:
	if (err)
		mem_deref(st);
	else
		*stp = st;
	return err;
}


/* What ps_set_jsgf_string() does, without its leak of the parsed
 * grammar (pocketsphinx 5prealpha never frees it). */
static int grammar_set(struct ps_stt *st, const char *name,
		       const char *text)
{
	jsgf_t *jsgf;
	jsgf_rule_t *rule;
	fsg_model_t *fsg = NULL;
	float32 lw;
	int err = EINVAL;

	jsgf = jsgf_parse_string(text, NULL);
	if (!jsgf)
		return EINVAL;

	rule = jsgf_get_public_rule(jsgf);
	if (!rule)
		goto out;

	lw = cmd_ln_float32_r(ps_get_config(st->ps), "-lw");
	fsg = jsgf_build_fsg(jsgf, rule, ps_get_logmath(st->ps), lw);
	if (!fsg)
		goto out;

	/* ps_set_fsg takes its own reference */
	if (!ps_set_fsg(st->ps, name, fsg))
		err = 0;

 out:
	if (fsg)
		fsg_model_free(fsg);
	jsgf_grammar_free(jsgf);
	return err;
}


static const char jsgf_yesno[] =
	"#JSGF V1.0;\n"
	"grammar yesno;\n"
	"public <answer> = <yes> | <no>;\n"
	"<yes> = yes | yeah | yep | correct | right | sure;\n"
	"<no> = no | nope;\n";

static const char jsgf_digits[] =
	"#JSGF V1.0;\n"
	"grammar digits;\n"
	"public <digits> = <digit>+;\n"
	"<digit> = zero | oh | one | two | three | four | five | six"
	" | seven | eight | nine;\n";

static const char jsgf_digits_tel[] =
	"#JSGF V1.0;\n"
	"grammar digits;\n"
	"public <digits> = <digit>+;\n"
	"<digit> = zero | oh | one | two | three | four | five | six"
	" | seven | eight | nine | three_tel | four_tel | six_tel"
	" | seven_tel;\n";


/* The fixed grammar search name, built on first use. */
static int search_fixed_ensure(struct ps_stt *st, const char *name,
			       const char *jsgf)
{
	cmd_ln_t *config;
	float32 wip, pip, nwip, npip;
	int err;

	if (ps_get_fsg(st->ps, name))
		return 0;

	/* A grammar search takes its word and phone insertion
	 * probabilities (-wip, -pip) from the decoder's config when it is
	 * built.  The digits search gets smaller ones, stronger penalties
	 * (digits were inserted at the pauses between digit groups, and
	 * short words came out as two); yes/no a larger -pip, which favours
	 * the longer answers ("correct" was heard as "no" on noisy lines);
	 * the others keep the defaults. */
	if (!strcmp(name, search_yesno)) {
		nwip = -1;
		npip = PS_YESNO_PIP;
	}
	else if (!strcmp(name, search_digits) ||
		 !strcmp(name, search_digits_tel)) {
		nwip = PS_DIGITS_WIP;
		npip = PS_DIGITS_PIP;
	}
	else {
		return grammar_set(st, name, jsgf);
	}

	config = ps_get_config(st->ps);
	wip = cmd_ln_float32_r(config, "-wip");
	pip = cmd_ln_float32_r(config, "-pip");
	if (nwip > 0)
		cmd_ln_set_float32_r(config, "-wip", nwip);
	cmd_ln_set_float32_r(config, "-pip", npip);
	err = grammar_set(st, name, jsgf);
	cmd_ln_set_float32_r(config, "-wip", wip);
	cmd_ln_set_float32_r(config, "-pip", pip);
	return err;
}


/* A phrase of dictionary words, lower case; false if any word is not in
 * the dictionary or has characters a grammar cannot hold. */
static bool phrase_usable(struct ps_stt *st, const char *phrase, char *out,
			  size_t outsz)
{
	char word[64];
	size_t o = 0, w = 0;
	bool any = false;

	for (const char *p = phrase; ; p++) {
		char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || c == '\'' ||
		    (c >= '0' && c <= '9')) {
			if (w + 1 >= sizeof(word))
				return false;
			word[w++] = c;
			continue;
		}
		if (c != '\0' && c != ' ' && c != '-')
			return false;
		if (w) {
			char *phones;

			word[w] = '\0';
			phones = ps_lookup_word(st->ps, word);
			if (!phones)
				return false;
			ckd_free(phones);  /* the caller owns it */
			if (o + w + 2 >= outsz)
				return false;
			o += (size_t)snprintf(out + o, outsz - o, "%s%s",
					      o ? " " : "", word);
			any = true;
			w = 0;
		}
		if (c == '\0')
			break;
	}
	return any;
}


static int search_words_ensure(struct ps_stt *st,
			       const char *const *words, char *name,
			       size_t namesz)
{
	char *jsgf = NULL, *key = NULL;
	char phrase[256];
	size_t o = 0, n = 0;
	int err = 0;

	if (!words || !words[0])
		return EINVAL;

	jsgf = mem_alloc(PS_GRAMMAR_MAX, NULL);
	if (!jsgf)
		return ENOMEM;

	/* the key is the list as given; the grammar only has usable words */
	err = re_sdprintf(&key, "%s", words[0]);
	for (size_t i = 1; !err && words[i]; i++) {
		char *k = NULL;
		err = re_sdprintf(&k, "%s\n%s", key, words[i]);
		mem_deref(key);
		key = k;
	}
	if (err)
		goto out;

	for (unsigned i = 0; i < PS_WORDS_CACHE; i++) {
		if (st->words_key[i] && !strcmp(st->words_key[i], key)) {
			snprintf(name, namesz, "w%u", i);
			goto out;
		}
	}

	o = (size_t)snprintf(jsgf, PS_GRAMMAR_MAX,
			     "#JSGF V1.0;\ngrammar words;\npublic <w> = ");
	for (size_t i = 0; words[i]; i++) {
		if (!phrase_usable(st, words[i], phrase, sizeof(phrase)))
			continue;
		o += (size_t)snprintf(jsgf + o, PS_GRAMMAR_MAX - o, "%s%s",
				      n ? " | " : "", phrase);
		if (o >= PS_GRAMMAR_MAX - 4) {
			err = E2BIG;
			goto out;
		}
		++n;
	}
	if (!n) {
		err = EINVAL;   /* no word of the list is in the dictionary */
		goto out;
	}
	snprintf(jsgf + o, PS_GRAMMAR_MAX - o, ";\n");

	snprintf(name, namesz, "w%u", st->words_next);
	err = grammar_set(st, name, jsgf);
	if (err)
		goto out;
	mem_deref(st->words_key[st->words_next]);
	st->words_key[st->words_next] = key;
	key = NULL;
	st->words_next = (st->words_next + 1) % PS_WORDS_CACHE;

 out:
	mem_deref(key);
	mem_deref(jsgf);
	return err;
}


/* Worker thread. */
static int ps_start(void *arg, const struct stt_turn *turn,
		    stt_partial_h *ph, void *harg)
{
	struct ps_stt *st = arg;
	const char *search = NULL;
	char name[16];
	int err = 0;

	if (!st || !turn)
		return EINVAL;
	if (turn->language && strncmp(turn->language, "en", 2))
		return ENOTSUP;

	if (st->in_utt) {
		ps_end_utt(st->ps);
		st->in_utt = false;
	}

	switch (turn->mode) {
	case STT_MODE_FREE:
		if (!st->lm_loaded) {
			if (ps_set_lm_file(st->ps, search_lm, paths.lm))
				return ENOENT;
			st->lm_loaded = true;
		}
		search = search_lm;
		break;
	case STT_MODE_YESNO:
		err = search_fixed_ensure(st, search_yesno, jsgf_yesno);
		search = search_yesno;
		break;
	case STT_MODE_DIGITS:
		search = band_is_narrow(st) ? search_digits_tel :
			search_digits;
		err = search_fixed_ensure(st, search, search == search_digits ?
					  jsgf_digits : jsgf_digits_tel);
		break;
	case STT_MODE_WORDS:
		err = search_words_ensure(st, turn->words, name,
					  sizeof(name));
		search = name;
		break;
	default:
		return EINVAL;
	}
	if (err)
		return err;

	if (ps_set_search(st->ps, search))
		return EINVAL;
	cmn_select(st, turn->mode == STT_MODE_DIGITS && band_is_narrow(st));
	if (ps_start_utt(st->ps))
		return EINVAL;

	st->in_utt = true;
	st->mode = turn->mode;
	st->ph = ph;
	st->arg = harg;
	st->nfeed = 0;
	st->partial[0] = '\0';
	st->nreplay = 0;
	st->replay_lost = false;
	if (st->warm < PS_WARM_SAMPLES && !st->replay)
		st->replay = mem_alloc(PS_REPLAY_MAX * sizeof(int16_t), NULL);
	return 0;
}


/* Worker thread. */
static int ps_feed(void *arg, const int16_t *pcm, size_t n)
{
	struct ps_stt *st = arg;
	const char *hyp;

	if (!st || (!pcm && n))
		return EINVAL;
	if (!st->in_utt)
		return EPROTO;
	if (!n)
		return 0;

	if (process_live(st, pcm, n))
		return EIO;
	if (st->replay && !st->replay_lost) {
		if (st->nreplay + n <= PS_REPLAY_MAX) {
			memcpy(st->replay + st->nreplay, pcm,
			       n * sizeof(int16_t));
			st->nreplay += n;
		}
		else {
			st->replay_lost = true;
		}
	}

	if (!st->ph || ++st->nfeed % PS_PARTIAL_EVERY)
		return 0;

	hyp = ps_get_hyp(st->ps, NULL);
	if (hyp && *hyp && strncmp(hyp, st->partial, sizeof(st->partial))) {
		str_ncpy(st->partial, hyp, sizeof(st->partial));
		st->ph(st->partial, st->arg);
	}
	return 0;
}


/* Grammar output in the form the brain wants: "yes"/"no", digit string. */
static void text_normalise(enum stt_mode mode, const char *hyp, char *out,
			   size_t outsz)
{
	static const char *const digits[] = {
		"zero", "one", "two", "three", "four", "five", "six",
		"seven", "eight", "nine",
	};
	size_t o = 0;

	if (mode == STT_MODE_YESNO) {
		bool no = !strcmp(hyp, "no") || !strcmp(hyp, "nope");
		str_ncpy(out, *hyp ? (no ? "no" : "yes") : "", outsz);
		return;
	}
	if (mode != STT_MODE_DIGITS) {
		str_ncpy(out, hyp, outsz);
		return;
	}

	out[0] = '\0';
	for (const char *p = hyp; *p && o + 1 < outsz; ) {
		size_t len = strcspn(p, " "), skip = len;
		const char *u = memchr(p, '_', len);
		char d = '\0';

		/* "six_tel" is "six" as heard over the telephone */
		if (u)
			len = (size_t)(u - p);
		if (len == 2 && !strncmp(p, "oh", 2))
			d = '0';
		for (size_t i = 0; !d && i < 10; i++) {
			if (strlen(digits[i]) == len &&
			    !strncmp(p, digits[i], len))
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


/* Worker thread. */
static int ps_finish(void *arg, struct stt_result *res)
{
	struct ps_stt *st = arg;
	const char *hyp;
	int32 score;
	int32 prob;

	if (!st || !res)
		return EINVAL;
	if (!st->in_utt)
		return EPROTO;

	st->in_utt = false;
	if (ps_end_utt(st->ps) < 0)
		return EIO;

	/* ps_end_utt has folded this utterance into the cepstral mean:
	 * while the decoder is new, hear it again with the adapted mean
	 * (whole utterance at once).  Costs one more decode of the first
	 * few seconds of speech of a call only. */
	if (st->replay && !st->replay_lost && st->nreplay) {
		st->warm += st->nreplay;
		/* the band may have been told only during this utterance */
		if (st->mode == STT_MODE_DIGITS) {
			bool tel = band_is_narrow(st);
			const char *name = tel ? search_digits_tel :
				search_digits;

			if (!search_fixed_ensure(st, name, tel ?
						 jsgf_digits_tel : jsgf_digits))
				(void)ps_set_search(st->ps, name);
		}
		if (0 == ps_start_utt(st->ps)) {
			/* the replay is ours: folded in place, with what the
			 * call's band turned out to be */
			if (band_is_narrow(st) &&
			    st->mode == STT_MODE_DIGITS) {
				memset(st->fold, 0, sizeof(st->fold));
				band_fold(st, st->replay, st->nreplay);
			}
			(void)ps_process_raw(st->ps, st->replay, st->nreplay,
					     FALSE, TRUE);
			(void)ps_end_utt(st->ps);
		}
		if (st->warm >= PS_WARM_SAMPLES)
			st->replay = mem_deref(st->replay);
	}

	/* a wideband call has one front end, one mean: the one adapted */
	if (st->cmn_folded && st->band_loud && !band_is_narrow(st)) {
		st->cmn_folded = false;
		st->cmn_other.set = false;
	}

	hyp = ps_get_hyp(st->ps, &score);
	text_normalise(st->mode, hyp ? hyp : "", res->text,
		       sizeof(res->text));

	res->confidence = -1;
	if (hyp && *hyp) {
		prob = ps_get_prob(st->ps);
		if (prob <= 0) {
			double p = logmath_exp(ps_get_logmath(st->ps), prob);
			if (p >= 0 && p <= 1)
				res->confidence = (float)p;
		}
	}
	return 0;
}


/* Worker thread. */
static void ps_cancel(void *arg)
{
	struct ps_stt *st = arg;

	if (!st || !st->in_utt)
		return;
	ps_end_utt(st->ps);
	st->in_utt = false;
}


const struct stt_ops stt_pocketsphinx = {
	.name   = "pocketsphinx",
	.init   = ps_init_engine,
	.close  = ps_close_engine,
	.alloc  = ps_alloc,
	.start  = ps_start,
	.feed   = ps_feed,
	.finish = ps_finish,
	.cancel = ps_cancel,
};
