/*
 * stt_sherpa.c  Streaming STT with a sherpa-onnx online transducer
 *               (Zipformer and the like), C API loaded with dlopen.
 *
 * The model folder (stt_sherpa_model_dir) holds encoder*.onnx,
 * decoder*.onnx, joiner*.onnx and tokens.txt, as sherpa-onnx's released
 * streaming models do; where both exist we take the int8 encoder and
 * joiner and the float decoder (the upstream examples' choice).  Every
 * file is checked before the library sees it, metadata included: bad
 * configs and models can make it exit() or abort (see engines/sherpa.h).
 *
 * One recognizer per process, created at init (a broken model fails
 * start-up, not the first call); one stream per turn: start() creates
 * it, finish() pads 0.5 s of silence, marks the input finished, decodes
 * the rest and reads the text.  A stream cannot take audio again after
 * "input finished" (its feature extractor is not reset), so each turn
 * gets a fresh one; creating one only allocates decoder state.
 *
 * The model is open vocabulary: YESNO, DIGITS and WORDS turns map the
 * transcript onto the turn's answers (sherpa_text_to_mode()).
 *
 * Threads: init/close on the main thread.  A session is used by one
 * worker thread at a time; sessions of different calls decode their own
 * streams on the shared recognizer concurrently (onnxruntime sessions
 * are thread-safe for Run; sherpa-onnx's own servers do the same).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/engine.h"
#include "engines/sherpa.h"

#define MOD "stt"

enum {
	SSTT_SRATE = 16000,
	SSTT_FEATURE_DIM = 80,
	SSTT_PATH_MAX = 512,
	SSTT_BLOCK = 320,            /* samples converted per block        */
	SSTT_TAIL_MS = 500,          /* silence fed before input finished:
				      * a chunk is decoded once T frames
				      * past its start exist (T = 45 in
				      * the test model); with 0.4 s up to
				      * 40 ms of the turn's end was lost */
	SSTT_WORDS_MAX = 1024,       /* bytes of one turn's WORDS list     */
};

static const char key_dir[] = "stt_sherpa_model_dir";
static const char folder_help[] = "a streaming transducer model folder: "
	"encoder*.onnx, decoder*.onnx, joiner*.onnx, tokens.txt";

/* set by init, read-only while sessions exist (main thread) */
static struct sherpa_asr_state {
	struct sherpa_asr_api api;
	const struct sherpa_online_recognizer *rec;
	char encoder[SSTT_PATH_MAX];
	char decoder[SSTT_PATH_MAX];
	char joiner[SSTT_PATH_MAX];
	char tokens[SSTT_PATH_MAX];
} asr;

struct sherpa_stt {
	const struct sherpa_online_stream *stream;   /* current turn */
	enum stt_mode mode;
	char words[SSTT_WORDS_MAX];   /* WORDS: the list, '\0' separated */
	size_t nwords;
	stt_partial_h *ph;
	void *arg;
	char partial[256];
	float block[SSTT_BLOCK];
};


/* The best file of dir named <prefix>*.onnx: int8 or not as preferred,
 * then the first by name.  Returns the number of candidates. */
static unsigned model_find(const char *dir, const char *prefix,
			   bool want_int8, char *out, size_t sz)
{
	char pattern[64], best[256] = "";
	int best_rank = -1;
	unsigned cnt = 0;
	struct dirent *de;
	DIR *d;

	out[0] = '\0';
	d = opendir(dir);
	if (!d)
		return 0;
	(void)re_snprintf(pattern, sizeof(pattern), "%s*.onnx", prefix);
	while ((de = readdir(d))) {
		int rank;

		if (fnmatch(pattern, de->d_name, 0) ||
		    strlen(de->d_name) >= sizeof(best))
			continue;
		++cnt;
		rank = (strstr(de->d_name, ".int8.") != NULL) == want_int8;
		if (rank > best_rank ||
		    (rank == best_rank && strcmp(de->d_name, best) < 0)) {
			best_rank = rank;
			str_ncpy(best, de->d_name, sizeof(best));
		}
	}
	closedir(d);

	if (cnt && re_snprintf(out, sz, "%s/%s", dir, best) < 0)
		return 0;
	return cnt;
}


/* tokens.txt lines are "<token> <id>"; look at the first one. */
static bool tokens_ok(const char *path)
{
	char line[256];
	bool ok = false;
	FILE *f;

	if (!sherpa_file_ok(path))
		return false;
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(line, sizeof(line), f)) {
		char *sp = strrchr(line, ' ');

		ok = sp && sp != line && isdigit((unsigned char)sp[1]);
	}
	fclose(f);
	return ok;
}


/* Metadata each streaming transducer type of sherpa-onnx 1.13 reads
 * without a default (online-<type>-transducer-model.cc): without it the
 * library exit()s the process; without model_type it crashes. */
static const struct {
	const char *type;
	const char *keys[11];
} enc_meta[] = {
	{"zipformer2", {"encoder_dims", "query_head_dims", "value_head_dims",
			"num_heads", "num_encoder_layers",
			"cnn_module_kernels", "left_context_len", "T",
			"decode_chunk_len", NULL}},
	{"zipformer", {"encoder_dims", "attention_dims", "num_encoder_layers",
		       "cnn_module_kernels", "left_context_len", "T",
		       "decode_chunk_len", NULL}},
	{"conformer", {"num_encoder_layers", "T", "decode_chunk_len",
		       "left_context", "encoder_dim", "pad_length",
		       "cnn_module_kernel", NULL}},
	{"ebranchformer", {"decode_chunk_len", "T", "num_hidden_layers",
			   "hidden_size", "intermediate_size",
			   "csgu_kernel_size", "merge_conv_kernel",
			   "left_context_len", "num_heads", "head_dim", NULL}},
	{"lstm", {"num_encoder_layers", "T", "decode_chunk_len",
		  "rnn_hidden_size", "d_model", NULL}},
};


/* Main thread.  The models' metadata as sherpa-onnx requires it. */
static int meta_check(void)
{
	static const char *const dec_keys[] = {
		"vocab_size", "context_size", NULL
	};
	const char *const *keys = NULL;
	const char *missing;
	char type[64];

	if (sherpa_onnx_meta(asr.encoder, "model_type", type, sizeof(type))) {
		log_error(MOD, NULL, "%s: %s has no model_type in its "
			  "metadata: not a sherpa-onnx transducer export",
			  key_dir, asr.encoder);
		return EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(enc_meta); i++) {
		if (!strcmp(type, enc_meta[i].type))
			keys = enc_meta[i].keys;
	}
	if (!keys) {
		log_error(MOD, NULL, "%s: %s is a \"%s\" model; sherpa-onnx "
			  "streams zipformer2, zipformer, conformer, "
			  "ebranchformer and lstm transducers", key_dir,
			  asr.encoder, type);
		return EINVAL;
	}

	missing = sherpa_onnx_meta_missing(asr.encoder, keys);
	if (missing) {
		bool offline = !strcmp(missing, "T") ||
			!strcmp(missing, "decode_chunk_len");

		log_error(MOD, NULL, "%s: %s lacks \"%s\" in its metadata%s",
			  key_dir, asr.encoder, missing, offline ?
			  ": a non-streaming model? stt = sherpa needs a "
			  "streaming one (sherpa-onnx-streaming-*)" : "");
		return EINVAL;
	}
	missing = sherpa_onnx_meta_missing(asr.decoder, dec_keys);
	if (missing) {
		log_error(MOD, NULL, "%s: %s lacks \"%s\" in its metadata",
			  key_dir, asr.decoder, missing);
		return EINVAL;
	}
	return 0;
}


/* Main thread.  Fills asr.* paths from the folder, naming the key in
 * every message. */
static int folder_scan(const char *dir)
{
	static const struct {
		const char *prefix;
		bool int8;
		size_t off;
	} parts[] = {
		{"encoder", true,  offsetof(struct sherpa_asr_state, encoder)},
		{"decoder", false, offsetof(struct sherpa_asr_state, decoder)},
		{"joiner",  true,  offsetof(struct sherpa_asr_state, joiner)},
	};

	if (!dir || !*dir) {
		log_error(MOD, NULL, "%s is not set (%s)", key_dir,
			  folder_help);
		return EINVAL;
	}
	if (!sherpa_dir_ok(dir)) {
		log_error(MOD, NULL, "%s: \"%s\" is not a folder (%s)",
			  key_dir, dir, folder_help);
		return ENOENT;
	}
	if (strlen(dir) > SSTT_PATH_MAX - 64) {
		log_error(MOD, NULL, "%s: path too long", key_dir);
		return ENAMETOOLONG;
	}

	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		char *out = (char *)&asr + parts[i].off;
		unsigned n = model_find(dir, parts[i].prefix, parts[i].int8,
					out, SSTT_PATH_MAX);

		if (!n) {
			log_error(MOD, NULL, "%s: \"%s\" has no %s*.onnx (%s)",
				  key_dir, dir, parts[i].prefix, folder_help);
			return ENOENT;
		}
		if (!sherpa_onnx_file_ok(out)) {
			log_error(MOD, NULL, "%s: %s is not an ONNX model "
				  "(empty, truncated or a Git LFS pointer?)",
				  key_dir, out);
			return EINVAL;
		}
		if (n > 1)
			log_info(MOD, NULL, "%s: %u %s files, using %s",
				 key_dir, n, parts[i].prefix, out);
	}

	(void)re_snprintf(asr.tokens, sizeof(asr.tokens), "%s/tokens.txt",
			  dir);
	if (!tokens_ok(asr.tokens)) {
		log_error(MOD, NULL, "%s: \"%s\" has no usable tokens.txt "
			  "(lines of \"<token> <id>\")", key_dir, dir);
		return ENOENT;
	}
	return meta_check();
}


static void config_fill(struct sherpa_online_recognizer_config *c)
{
	c->feat_config.sample_rate = SSTT_SRATE;
	c->feat_config.feature_dim = SSTT_FEATURE_DIM;
	c->model_config.transducer.encoder = asr.encoder;
	c->model_config.transducer.decoder = asr.decoder;
	c->model_config.transducer.joiner = asr.joiner;
	c->model_config.tokens = asr.tokens;
	c->model_config.num_threads = 1;   /* many calls share the cores */
	c->model_config.provider = "cpu";
	c->model_config.debug = 0;
	c->decoding_method = "greedy_search";
	c->max_active_paths = 4;
	c->enable_endpoint = 0;            /* our VAD ends the turn */
}


static void asr_close(void)
{
	if (asr.rec && asr.api.recognizer_destroy)
		asr.api.recognizer_destroy(asr.rec);
	memset(&asr, 0, sizeof(asr));
}


static int asr_init(const struct conf *conf)
{
	union sherpa_online_recognizer_config_room c;
	const char *dir = conf_str(conf, key_dir);
	int err;

	if (asr.rec)
		return 0;

	err = folder_scan(dir);
	if (err)
		goto out;

	err = sherpa_asr_api_load(&asr.api, conf_str(conf, "sherpa_lib"));
	if (err)
		goto out;

	memset(&c, 0, sizeof(c));
	config_fill(&c.cfg);
	asr.rec = asr.api.recognizer_create(&c.cfg);
	if (!asr.rec) {
		log_error(MOD, NULL, "%s: sherpa-onnx could not load the "
			  "model in \"%s\"", key_dir, dir);
		err = EINVAL;
		goto out;
	}

	log_info(MOD, NULL, "sherpa-onnx %s streaming STT: %s",
		 asr.api.version, asr.encoder);
 out:
	if (err)
		asr_close();
	return err;
}


static void stream_drop(struct sherpa_stt *s)
{
	if (s->stream)
		asr.api.stream_destroy(s->stream);
	s->stream = NULL;
}


static void sess_destructor(void *arg)
{
	stream_drop(arg);
}


static int asr_alloc(void **stp, const struct conf *conf)
{
	struct sherpa_stt *s;

	if (!stp)
		return EINVAL;
	if (!asr.rec)
		return EINVAL;   /* init was not called or failed */

	s = mem_zalloc(sizeof(*s), sess_destructor);
	if (!s)
		return ENOMEM;
	*stp = s;
	return 0;
}


/* Copy a turn's WORDS list, bounded. */
static int words_copy(struct sherpa_stt *s, const char *const *words)
{
	size_t o = 0;

	s->nwords = 0;
	for (size_t i = 0; words && words[i]; i++) {
		size_t l = strlen(words[i]);

		if (!l)
			continue;
		if (o + l + 1 > sizeof(s->words))
			return E2BIG;
		memcpy(s->words + o, words[i], l + 1);
		o += l + 1;
		++s->nwords;
	}
	return s->nwords ? 0 : EINVAL;
}


static int asr_start(void *st, const struct stt_turn *turn,
		     stt_partial_h *ph, void *arg)
{
	struct sherpa_stt *s = st;
	int err;

	if (!s || !turn)
		return EINVAL;

	stream_drop(s);
	s->mode = turn->mode;
	if (s->mode == STT_MODE_WORDS) {
		err = words_copy(s, turn->words);
		if (err)
			return err;
	}
	s->ph = ph;
	s->arg = arg;
	s->partial[0] = '\0';

	s->stream = asr.api.stream_create(asr.rec);
	return s->stream ? 0 : ENOMEM;
}


/* Decode what is ready; report a changed partial. */
static void decode_ready(struct sherpa_stt *s)
{
	const struct sherpa_online_result *r;
	bool decoded = false;

	while (asr.api.is_ready(asr.rec, s->stream)) {
		asr.api.decode(asr.rec, s->stream);
		decoded = true;
	}
	if (!decoded || !s->ph)
		return;

	r = asr.api.result_get(asr.rec, s->stream);
	if (!r)
		return;
	if (r->text && r->text[0] && strncmp(r->text, s->partial,
					      sizeof(s->partial) - 1)) {
		char low[sizeof(s->partial)];

		str_ncpy(s->partial, r->text, sizeof(s->partial));
		(void)sherpa_text_to_mode(STT_MODE_FREE, NULL, 0, r->text,
					  low, sizeof(low));
		s->ph(low, s->arg);
	}
	asr.api.result_destroy(r);
}


static void samples_push(struct sherpa_stt *s, const int16_t *pcm, size_t n)
{
	while (n) {
		size_t m = n < SSTT_BLOCK ? n : SSTT_BLOCK;

		for (size_t i = 0; i < m; i++)
			s->block[i] = pcm ? (float)pcm[i] / 32768.0f : 0.0f;
		asr.api.accept_waveform(s->stream, SSTT_SRATE, s->block,
					(int32_t)m);
		if (pcm)
			pcm += m;
		n -= m;
	}
}


static int asr_feed(void *st, const int16_t *pcm, size_t n)
{
	struct sherpa_stt *s = st;

	if (!s || (!pcm && n))
		return EINVAL;
	if (!s->stream)
		return EPROTO;   /* no turn started */

	samples_push(s, pcm, n);
	decode_ready(s);
	return 0;
}


static int asr_finish(void *st, struct stt_result *res)
{
	const struct sherpa_online_result *r;
	struct sherpa_stt *s = st;
	int err;

	if (!s || !res)
		return EINVAL;
	if (!s->stream)
		return EPROTO;   /* no turn started */

	res->text[0] = '\0';
	res->confidence = -1.0f;

	samples_push(s, NULL, SSTT_SRATE * SSTT_TAIL_MS / 1000);
	asr.api.input_finished(s->stream);
	while (asr.api.is_ready(asr.rec, s->stream))
		asr.api.decode(asr.rec, s->stream);

	r = asr.api.result_get(asr.rec, s->stream);
	if (!r) {
		err = ENOMEM;
		goto out;
	}
	err = sherpa_text_to_mode(s->mode, s->mode == STT_MODE_WORDS ?
				  s->words : NULL, s->nwords,
				  r->text ? r->text : "", res->text,
				  sizeof(res->text));
	asr.api.result_destroy(r);
 out:
	stream_drop(s);
	return err;
}


static void asr_cancel(void *st)
{
	struct sherpa_stt *s = st;

	if (s)
		stream_drop(s);
}


const struct stt_ops stt_sherpa = {
	.name   = "sherpa",
	.init   = asr_init,
	.close  = asr_close,
	.alloc  = asr_alloc,
	.start  = asr_start,
	.feed   = asr_feed,
	.finish = asr_finish,
	.cancel = asr_cancel,
};


/* ------------------------------------------------- text to turn mode */

/* Next word of text (ASCII letters, digits, apostrophes), lower case.
 * Returns the position after it, or NULL at the end. */
static const char *word_next(const char *p, char *w, size_t sz)
{
	size_t l = 0;

	while (*p && !isalnum((unsigned char)*p) && *p != '\'' &&
	       !((unsigned char)*p & 0x80))
		++p;
	if (!*p)
		return NULL;
	while (*p && (isalnum((unsigned char)*p) || *p == '\'' ||
		      ((unsigned char)*p & 0x80))) {
		if (l + 1 < sz)
			w[l++] = (char)tolower((unsigned char)*p);
		++p;
	}
	w[l] = '\0';
	return p;
}


static bool word_in(const char *w, const char *const *set)
{
	for (size_t i = 0; set[i]; i++) {
		if (!strcmp(w, set[i]))
			return true;
	}
	return false;
}


static int digit_of(const char *w)
{
	static const char *const names[] = {
		"zero", "one", "two", "three", "four",
		"five", "six", "seven", "eight", "nine",
	};

	if (!strcmp(w, "oh") || !strcmp(w, "o"))
		return 0;
	for (int i = 0; i < 10; i++) {
		if (!strcmp(w, names[i]))
			return i;
	}
	return -1;
}


/* Does the phrase (words separated by spaces) start at text word i?
 * Compares word by word, case-insensitively. */
static bool phrase_at(const char *text, const char *phrase)
{
	char a[64], b[64];
	const char *t = text, *p = phrase;

	for (;;) {
		p = word_next(p, b, sizeof(b));
		if (!p)
			return true;
		t = word_next(t, a, sizeof(a));
		if (!t || strcmp(a, b))
			return false;
	}
}


int sherpa_text_to_mode(enum stt_mode mode, const char *words,
			size_t nwords, const char *text, char *out,
			size_t sz)
{
	static const char *const yes[] = {
		"yes", "yeah", "yep", "correct", "right", "sure", NULL
	};
	static const char *const no[] = {"no", "nope", NULL};
	const char *p = text;
	char w[64];
	size_t o = 0;

	if (!text || !out || !sz)
		return EINVAL;
	out[0] = '\0';

	switch (mode) {

	case STT_MODE_FREE:
		while ((p = word_next(p, w, sizeof(w)))) {
			int r = re_snprintf(out + o, sz - o, "%s%s",
					    o ? " " : "", w);
			if (r < 0)
				break;
			o += (size_t)r;
		}
		return 0;

	case STT_MODE_YESNO:
		while ((p = word_next(p, w, sizeof(w)))) {
			if (word_in(w, yes) || word_in(w, no)) {
				str_ncpy(out, word_in(w, yes) ? "yes" : "no",
					 sz);
				break;
			}
		}
		return 0;

	case STT_MODE_DIGITS:
		while ((p = word_next(p, w, sizeof(w))) && o + 1 < sz) {
			int d = digit_of(w);

			if (d >= 0) {
				out[o++] = (char)('0' + d);
				continue;
			}
			for (const char *c = w; *c && o + 1 < sz; c++) {
				if (isdigit((unsigned char)*c))
					out[o++] = *c;
			}
		}
		out[o] = '\0';
		return 0;

	case STT_MODE_WORDS:
		if (!words || !nwords)
			return EINVAL;
		/* the listed phrase that starts earliest in the text */
		for (const char *t = text; t; t = word_next(t, w, sizeof(w))) {
			const char *c = words;

			for (size_t i = 0; i < nwords; i++) {
				if (phrase_at(t, c)) {
					str_ncpy(out, c, sz);
					return 0;
				}
				c += strlen(c) + 1;
			}
		}
		return 0;
	}
	return EINVAL;
}
