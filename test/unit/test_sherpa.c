/*
 * test_sherpa.c  sherpa-onnx streaming STT and offline TTS engines, the
 *                parts that need no model: every declared function
 *                resolves in the real library, our struct layouts match
 *                what the library parses (it prints the config it read
 *                when debug = 1 and creation then fails cleanly for lack
 *                of model files), the model file check, start-up errors
 *                naming the setting, and the mapping of open-vocabulary
 *                text onto turn modes.  Recognition and synthesis on
 *                generated models: test_sherpa_infer.c.
 *
 * Needs deps/sherpa-onnx (scripts/setup.sh); skips what needs it when it
 * is missing.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/engine.h"
#include "engines/sherpa.h"
#include "test.h"

enum { CAPTURE_MAX = 16384 };


static const char *lib_path(void)
{
	const char *lib = conf_str(NULL, "sherpa_lib");

	return sherpa_file_ok(lib) ? lib : NULL;
}


/* A temporary file for captured output; its fd, or -1. */
static int capture_open(char *path, size_t sz)
{
	str_ncpy(path, "/tmp/agentline-sherpa-XXXXXX", sz);
	return mkstemp(path);
}


/* Read back what fd collected (NUL-terminated, bounded) and remove it. */
static void capture_read(int fd, const char *path, char *buf, size_t sz)
{
	ssize_t n;

	buf[0] = '\0';
	if (lseek(fd, 0, SEEK_SET) == 0) {
		n = read(fd, buf, sz - 1);
		buf[n > 0 ? n : 0] = '\0';
	}
	close(fd);
	unlink(path);
}


static int write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	size_t w;

	if (!f)
		return errno;
	w = fwrite(data, 1, n, f);
	return fclose(f) || w != n ? EIO : 0;
}


static int make_dir(char *path, size_t sz)
{
	str_ncpy(path, "/tmp/agentline-model-XXXXXX", sz);
	return mkdtemp(path) ? 0 : errno;
}


/* rm -r of the test folders (one level plus espeak-ng-data/). */
static void dir_remove(const char *dir)
{
	static const char *const names[] = {
		"encoder-epoch-99-avg-1.onnx",
		"encoder-epoch-99-avg-1.int8.onnx",
		"decoder-epoch-99-avg-1.onnx",
		"joiner-epoch-99-avg-1.int8.onnx",
		"tokens.txt", "model.onnx", "voices.bin", "lexicon.txt",
		"espeak-ng-data/phontab", "espeak-ng-data/phonindex",
		"espeak-ng-data/phondata", "espeak-ng-data/intonations",
	};
	char p[512];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		re_snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	re_snprintf(p, sizeof(p), "%s/espeak-ng-data", dir);
	rmdir(p);
	rmdir(dir);
}


static int dir_file(const char *dir, const char *name, const void *data,
		    size_t n)
{
	char p[512];

	re_snprintf(p, sizeof(p), "%s/%s", dir, name);
	return write_file(p, data, n);
}


/* ------------------------------------------------------------ tests */

int test_sherpa_symbols(void)
{
	struct sherpa_asr_api asr;
	struct sherpa_tts_api tts;
	const char *lib = lib_path();
	char tmp[64];
	int fd, err;

	/* a missing or non-library file fails, naming sherpa_lib */
	fd = capture_open(tmp, sizeof(tmp));
	TEST_ASSERT(fd >= 0);
	err = sherpa_asr_api_load(&asr, "/nonexistent/libsherpa.so");
	if (err == ENOENT) {
		err = write_file(tmp, "not a library\n", 14);
		if (!err)
			err = sherpa_tts_api_load(&tts, tmp) == ENOENT ? 0 :
				EPROTO;
	}
	else {
		err = EPROTO;
	}
	close(fd);
	unlink(tmp);
	TEST_ERR(err);

	if (!lib) {
		fprintf(stderr, "  SKIP: sherpa-onnx not in deps/ (run "
			"scripts/setup.sh)\n");
		return 0;
	}

	/* every function stt_sherpa and tts_sherpa declare resolves */
	memset(&asr, 0, sizeof(asr));
	memset(&tts, 0, sizeof(tts));
	TEST_ERR(sherpa_asr_api_load(&asr, lib));
	TEST_ERR(sherpa_tts_api_load(&tts, lib));
	TEST_STREQ(asr.version, SHERPA_VERSION_PINNED);
	TEST_ASSERT(asr.recognizer_create && asr.recognizer_destroy &&
		    asr.stream_create && asr.stream_destroy &&
		    asr.accept_waveform && asr.is_ready && asr.decode &&
		    asr.result_get && asr.result_destroy &&
		    asr.input_finished);
	TEST_ASSERT(tts.create && tts.destroy && tts.sample_rate &&
		    tts.num_speakers && tts.generate && tts.audio_destroy);

	/* the library's own NULL guards (no model needed) */
	TEST_ASSERT(tts.generate(NULL, "x", NULL, NULL, NULL) == NULL);
	asr.recognizer_destroy(NULL);
	asr.stream_destroy(NULL);
	tts.destroy(NULL);
	return 0;
}


/* Does the library's printout contain key=value? */
static int printed(const char *out, const char *kv)
{
	if (strstr(out, kv))
		return 0;
	fprintf(stderr, "  sherpa-onnx did not parse %s\n", kv);
	return EPROTO;
}


/*
 * Fill every field of our recognizer and TTS configs with a distinct
 * value, let the 1.13.8 library print what it parsed (debug = 1; the
 * files do not exist, so creation fails cleanly with NULL) and compare.
 */
int test_sherpa_layout(void)
{
	union sherpa_online_recognizer_config_room rc;
	union sherpa_tts_config_room tc;
	struct sherpa_online_recognizer_config *r = &rc.cfg;
	struct sherpa_tts_model_config *m = &tc.cfg.model;
	struct sherpa_asr_api asr;
	struct sherpa_tts_api tts;
	const char *lib = lib_path();
	static const char *const asr_kv[] = {
		"sampling_rate=16001", "feature_dim=81",
		"encoder=\"M_ENC\"", "decoder=\"M_DEC\"", "joiner=\"M_JOIN\"",
		"encoder=\"M_PENC\"", "decoder=\"M_PDEC\"", "model=\"M_Z2C\"",
		"model=\"M_NEMO\"", "model=\"M_TONE\"", "provider=\"M_PROV\"",
		"tokens=\"M_TOK\"", "num_threads=3", "debug=True",
		"model_type=\"M_MT\"", "modeling_unit=\"M_MU\"",
		"bpe_vocab=\"M_BPE\"", "min_trailing_silence=1.25",
		"min_trailing_silence=2.5", "min_utterance_length=33.5",
		"graph=\"M_GRAPH\", max_active=1234", "enable_endpoint=True",
		"max_active_paths=7", "hotwords_score=4.75",
		"hotwords_file=\"M_HWF\"", "decoding_method=\"M_DM\"",
		"blank_penalty=0.375", "rule_fsts=\"M_RFST\"",
		"rule_fars=\"M_RFAR\"", "lexicon=\"M_HRLEX\"",
		"rule_fsts=\"M_HRFST\"",
	};
	static const char *const tts_kv[] = {
		"model=\"V_M\", lexicon=\"V_L\", tokens=\"V_T\", "
		"data_dir=\"V_D\", noise_scale=0.125, noise_scale_w=0.625, "
		"length_scale=1.375",
		"acoustic_model=\"MA_AM\", vocoder=\"MA_VOC\", "
		"lexicon=\"MA_L\", tokens=\"MA_T\", data_dir=\"MA_D\", "
		"noise_scale=0.875, length_scale=1.625",
		"model=\"K_M\", voices=\"K_V\", tokens=\"K_T\", "
		"lexicon=\"K_L\", data_dir=\"K_D\", length_scale=1.875, "
		"lang=\"K_LANG\"",
		"tokens=\"Z_T\", encoder=\"Z_E\", decoder=\"Z_DE\", "
		"vocoder=\"Z_V\", data_dir=\"Z_D\", lexicon=\"Z_L\", "
		"feat_scale=0.0625, t_shift=0.4375, target_rms=0.1875, "
		"guidance_scale=2.375",
		"model=\"KI_M\", voices=\"KI_V\", tokens=\"KI_T\", "
		"data_dir=\"KI_D\", length_scale=2.125",
		"lm_flow=\"P_LF\", lm_main=\"P_LM\", encoder=\"P_E\", "
		"decoder=\"P_D\", text_conditioner=\"P_TC\", "
		"vocab_json=\"P_VJ\", token_scores_json=\"P_TS\", "
		"voice_embedding_cache_capacity=77",
		"duration_predictor=\"S_DP\", text_encoder=\"S_TE\", "
		"vector_estimator=\"S_VE\", vocoder=\"S_V\", "
		"tts_json=\"S_TJ\", unicode_indexer=\"S_UI\", "
		"voice_style=\"S_VS\"",
		"num_threads=5, debug=True, provider=\"T_PROV\"",
		"rule_fsts=\"T_RFST\", rule_fars=\"T_RFAR\", "
		"max_num_sentences=9, silence_scale=0.3125",
	};
	const void *made_asr, *made_tts;
	char tmp[64], *out;
	int fd, saved, err = 0;

	if (!lib) {
		fprintf(stderr, "  SKIP: sherpa-onnx not in deps/\n");
		return 0;
	}
	TEST_ERR(sherpa_asr_api_load(&asr, lib));
	TEST_ERR(sherpa_tts_api_load(&tts, lib));

	memset(&rc, 0, sizeof(rc));
	r->feat_config.sample_rate = 16001;
	r->feat_config.feature_dim = 81;
	r->model_config.transducer.encoder = "M_ENC";
	r->model_config.transducer.decoder = "M_DEC";
	r->model_config.transducer.joiner = "M_JOIN";
	r->model_config.paraformer.encoder = "M_PENC";
	r->model_config.paraformer.decoder = "M_PDEC";
	r->model_config.zipformer2_ctc.model = "M_Z2C";
	r->model_config.tokens = "M_TOK";
	r->model_config.num_threads = 3;
	r->model_config.provider = "M_PROV";
	r->model_config.debug = 1;
	r->model_config.model_type = "M_MT";
	r->model_config.modeling_unit = "M_MU";
	r->model_config.bpe_vocab = "M_BPE";
	r->model_config.nemo_ctc.model = "M_NEMO";
	r->model_config.t_one_ctc.model = "M_TONE";
	r->decoding_method = "M_DM";
	r->max_active_paths = 7;
	r->enable_endpoint = 1;
	r->rule1_min_trailing_silence = 1.25f;
	r->rule2_min_trailing_silence = 2.5f;
	r->rule3_min_utterance_length = 33.5f;
	r->hotwords_file = "M_HWF";
	r->hotwords_score = 4.75f;
	r->ctc_fst_decoder_config.graph = "M_GRAPH";
	r->ctc_fst_decoder_config.max_active = 1234;
	r->rule_fsts = "M_RFST";
	r->rule_fars = "M_RFAR";
	r->blank_penalty = 0.375f;
	r->hr.lexicon = "M_HRLEX";
	r->hr.rule_fsts = "M_HRFST";

	memset(&tc, 0, sizeof(tc));
	m->vits = (struct sherpa_tts_vits_config){"V_M", "V_L", "V_T", "V_D",
		0.125f, 0.625f, 1.375f, NULL};
	m->num_threads = 5;
	m->debug = 1;
	m->provider = "T_PROV";
	m->matcha = (struct sherpa_tts_matcha_config){"MA_AM", "MA_VOC",
		"MA_L", "MA_T", "MA_D", 0.875f, 1.625f, NULL};
	m->kokoro = (struct sherpa_tts_kokoro_config){"K_M", "K_V", "K_T",
		"K_D", 1.875f, NULL, "K_L", "K_LANG"};
	m->kitten = (struct sherpa_tts_kitten_config){"KI_M", "KI_V", "KI_T",
		"KI_D", 2.125f};
	m->zipvoice = (struct sherpa_tts_zipvoice_config){"Z_T", "Z_E",
		"Z_DE", "Z_V", "Z_D", "Z_L", 0.0625f, 0.4375f, 0.1875f,
		2.375f};
	m->pocket = (struct sherpa_tts_pocket_config){"P_LF", "P_LM", "P_E",
		"P_D", "P_TC", "P_VJ", "P_TS", 77};
	m->supertonic = (struct sherpa_tts_supertonic_config){"S_DP", "S_TE",
		"S_VE", "S_V", "S_TJ", "S_UI", "S_VS"};
	tc.cfg.rule_fsts = "T_RFST";
	tc.cfg.max_num_sentences = 9;
	tc.cfg.rule_fars = "T_RFAR";
	tc.cfg.silence_scale = 0.3125f;

	/* the library logs to stderr: collect it */
	fd = capture_open(tmp, sizeof(tmp));
	TEST_ASSERT(fd >= 0);
	saved = dup(2);
	TEST_ASSERT(saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	made_asr = asr.recognizer_create(r);
	made_tts = tts.create(&tc.cfg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);

	out = mem_zalloc(CAPTURE_MAX, NULL);
	if (!out) {
		close(fd);
		unlink(tmp);
		return ENOMEM;
	}
	capture_read(fd, tmp, out, CAPTURE_MAX);

	if (made_asr || made_tts)
		err = EPROTO;     /* no model files: must fail cleanly */
	for (size_t i = 0; !err && i < ARRAY_SIZE(asr_kv); i++)
		err = printed(out, asr_kv[i]);
	for (size_t i = 0; !err && i < ARRAY_SIZE(tts_kv); i++)
		err = printed(out, tts_kv[i]);
	if (err)
		fprintf(stderr, "  library output:\n%s\n", out);
	mem_deref(out);
	TEST_ERR(err);
	return 0;
}


int test_sherpa_onnx_check(void)
{
	static const uint8_t good[] = {
		0x08, 0x07,                       /* ir_version = 7      */
		0x12, 0x03, 'a', 'b', 'c',        /* producer_name       */
		0x3a, 0x02, 0x0a, 0x00,           /* graph (2 bytes)     */
	};
	static const char lfs[] = "version https://git-lfs.github.com/spec/v1\n"
		"oid sha256:0123\nsize 12345\n";
	const char *silero = conf_str(NULL, "vad_model");
	char dir[64], p[128];
	int err;

	TEST_ERR(make_dir(dir, sizeof(dir)));
	re_snprintf(p, sizeof(p), "%s/model.onnx", dir);

	err = write_file(p, good, sizeof(good));
	if (!err && !sherpa_onnx_file_ok(p))
		err = EPROTO;
	/* truncated inside the graph field */
	if (!err)
		err = write_file(p, good, sizeof(good) - 1);
	if (!err && sherpa_onnx_file_ok(p))
		err = EPROTO;
	if (!err)
		err = write_file(p, lfs, sizeof(lfs) - 1);
	if (!err && sherpa_onnx_file_ok(p))
		err = EPROTO;
	if (!err)
		err = write_file(p, "\x08\x07garbage", 9);
	if (!err && sherpa_onnx_file_ok(p))
		err = EPROTO;
	if (!err)
		err = write_file(p, "", 0);
	if (!err && sherpa_onnx_file_ok(p))
		err = EPROTO;
	unlink(p);
	rmdir(dir);
	TEST_ERR(err);
	TEST_ASSERT(!sherpa_onnx_file_ok("/nonexistent.onnx"));

	/* a real ONNX model passes */
	if (sherpa_file_ok(silero))
		TEST_ASSERT(sherpa_onnx_file_ok(silero));
	return 0;
}


/* init of ops with conf; the log must name key.  Returns 0 when init
 * failed with want_err and said key. */
static int init_fails(const struct stt_ops *stt, const struct tts_ops *tts,
		      const struct conf *conf, int want_err, const char *key,
		      const char *also)
{
	char tmp[64], out[4096];
	int fd, err;

	fd = capture_open(tmp, sizeof(tmp));
	if (fd < 0)
		return errno;
	log_set_fd(fd);
	err = stt ? stt->init(conf) : tts->init(conf);
	log_set_fd(2);
	capture_read(fd, tmp, out, sizeof(out));

	if (!err) {
		if (stt)
			stt->close();
		else
			tts->close();
	}
	if (err != want_err || !strstr(out, key) ||
	    (also && !strstr(out, also))) {
		fprintf(stderr, "  init: err %d (want %d), log: %s", err,
			want_err, out);
		return EPROTO;
	}
	return 0;
}


static int conf_with(struct conf **confp, const char *k1, const char *v1,
		     const char *k2, const char *v2)
{
	struct conf *conf = NULL;
	int err;

	err = conf_alloc(&conf);
	if (!err && k1)
		err = conf_set(conf, k1, v1, "test", NULL, NULL);
	if (!err && k2)
		err = conf_set(conf, k2, v2, "test", NULL, NULL);
	if (!err && conf_validate(conf, NULL, NULL))
		err = EINVAL;
	if (err) {
		mem_deref(conf);
		return err;
	}
	*confp = conf;
	return 0;
}


static const uint8_t onnx_bytes[] = {
	0x08, 0x07, 0x3a, 0x02, 0x0a, 0x00,
};


int test_sherpa_stt_config(void)
{
	const struct stt_ops *ops = stt_find("sherpa");
	const char *key = "stt_sherpa_model_dir";
	struct conf *conf = NULL;
	char dir[64];
	void *st = NULL;
	int err;

	TEST_ASSERT(ops != NULL);
	TEST_ASSERT(strstr(engine_names(ENGINE_STT), "sherpa") != NULL);

	/* not set */
	TEST_ERR(conf_with(&conf, "stt", "sherpa", NULL, NULL));
	err = init_fails(ops, NULL, conf, EINVAL, key, "not set");
	conf = mem_deref(conf);
	TEST_ERR(err);

	/* no such folder */
	TEST_ERR(conf_with(&conf, "stt", "sherpa", key, "/nonexistent/m"));
	err = init_fails(ops, NULL, conf, ENOENT, key, "not a folder");
	conf = mem_deref(conf);
	TEST_ERR(err);

	/* a folder filled step by step: each missing part is named */
	TEST_ERR(make_dir(dir, sizeof(dir)));
	err = conf_with(&conf, "stt", "sherpa", key, dir);
	if (!err)
		err = init_fails(ops, NULL, conf, ENOENT, key, "encoder");
	if (!err)
		err = dir_file(dir, "encoder-epoch-99-avg-1.onnx", onnx_bytes,
			       sizeof(onnx_bytes));
	if (!err)
		err = init_fails(ops, NULL, conf, ENOENT, key, "decoder");
	if (!err)
		err = dir_file(dir, "decoder-epoch-99-avg-1.onnx", onnx_bytes,
			       sizeof(onnx_bytes));
	if (!err)
		err = init_fails(ops, NULL, conf, ENOENT, key, "joiner");
	if (!err)
		err = dir_file(dir, "joiner-epoch-99-avg-1.int8.onnx",
			       onnx_bytes, sizeof(onnx_bytes));
	/* the int8 encoder is preferred, and this one is an LFS stub */
	if (!err)
		err = dir_file(dir, "encoder-epoch-99-avg-1.int8.onnx",
			       "oid sha256:", 11);
	if (!err)
		err = init_fails(ops, NULL, conf, EINVAL, key,
				 "encoder-epoch-99-avg-1.int8.onnx is not "
				 "an ONNX model");
	if (!err)
		err = dir_file(dir, "encoder-epoch-99-avg-1.int8.onnx",
			       onnx_bytes, sizeof(onnx_bytes));
	if (!err)
		err = init_fails(ops, NULL, conf, ENOENT, key, "tokens.txt");
	if (!err)
		err = dir_file(dir, "tokens.txt", "no ids here\n", 12);
	if (!err)
		err = init_fails(ops, NULL, conf, ENOENT, key, "tokens.txt");
	/* complete, but the models are bare ONNX headers without metadata:
	 * refused before the library sees them (it would crash on an
	 * encoder without model_type; test_sherpa_meta_guard has more) */
	if (!err)
		err = dir_file(dir, "tokens.txt", "<blk> 0\n", 8);
	if (!err)
		err = init_fails(ops, NULL, conf, EINVAL, key,
				 "has no model_type in its metadata");

	/* no session without a successful init */
	if (!err && ops->alloc(&st, conf) != EINVAL)
		err = EPROTO;
	mem_deref(conf);
	dir_remove(dir);
	TEST_ERR(err);
	return 0;
}


int test_sherpa_tts_config(void)
{
	const struct tts_ops *ops = tts_find("sherpa");
	const char *key = "tts_sherpa_model_dir";
	struct conf *conf = NULL;
	char dir[64], p[128];
	void *st = NULL;
	int err;

	TEST_ASSERT(ops != NULL);

	TEST_ERR(conf_with(&conf, "tts", "sherpa", NULL, NULL));
	err = init_fails(NULL, ops, conf, EINVAL, key, "not set");
	conf = mem_deref(conf);
	TEST_ERR(err);

	TEST_ERR(conf_with(&conf, "tts", "sherpa", key, "/nonexistent/m"));
	err = init_fails(NULL, ops, conf, ENOENT, key, "not a folder");
	conf = mem_deref(conf);
	TEST_ERR(err);

	/* kind and speaker are validated by the config table */
	TEST_ASSERT(conf_with(&conf, "tts_sherpa_kind", "matcha", NULL,
			      NULL) != 0);
	TEST_ASSERT(conf_with(&conf, "tts_sherpa_speaker", "-1", NULL,
			      NULL) != 0);

	TEST_ERR(make_dir(dir, sizeof(dir)));
	err = conf_with(&conf, "tts", "sherpa", key, dir);
	if (!err)
		err = init_fails(NULL, ops, conf, ENOENT, key, "no .onnx");
	if (!err)
		err = dir_file(dir, "model.onnx", "<html>", 6);
	if (!err)
		err = init_fails(NULL, ops, conf, EINVAL, key,
				 "is not an ONNX model");
	if (!err)
		err = dir_file(dir, "model.onnx", onnx_bytes,
			       sizeof(onnx_bytes));
	if (!err)
		err = init_fails(NULL, ops, conf, ENOENT, key, "tokens.txt");
	if (!err)
		err = dir_file(dir, "tokens.txt", "a 1\n", 4);
	/* VITS (no voices.bin) needs espeak-ng-data/ or a lexicon */
	if (!err)
		err = init_fails(NULL, ops, conf, ENOENT, key,
				 "neither espeak-ng-data/ nor lexicon.txt");
	/* Kokoro (voices.bin present) needs complete espeak-ng-data/ */
	if (!err)
		err = dir_file(dir, "voices.bin", "v", 1);
	if (!err) {
		re_snprintf(p, sizeof(p), "%s/espeak-ng-data", dir);
		err = mkdir(p, 0700) ? errno : 0;
	}
	if (!err)
		err = dir_file(dir, "espeak-ng-data/phontab", "x", 1);
	if (!err)
		err = init_fails(NULL, ops, conf, ENOENT, key,
				 "no complete espeak-ng-data/");
	conf = mem_deref(conf);
	/* forced kind: vits ignores voices.bin and still wants a front end */
	if (!err)
		err = conf_with(&conf, key, dir, "tts_sherpa_kind", "vits");
	if (!err)
		err = init_fails(NULL, ops, conf, ENOENT, key,
				 "nor lexicon.txt");
	/* with a lexicon, the bare model's missing metadata is named (the
	 * library would exit the process) */
	if (!err)
		err = dir_file(dir, "lexicon.txt", "a a\n", 4);
	if (!err)
		err = init_fails(NULL, ops, conf, EINVAL, key,
				 "lacks \"sample_rate\" in its metadata");

	if (!err && ops->alloc(&st, conf) != EINVAL)
		err = EPROTO;
	mem_deref(conf);
	dir_remove(dir);
	TEST_ERR(err);
	return 0;
}


int test_sherpa_text_map(void)
{
	static const char words[] = "billing\0sales\0technical support\0";
	static const struct {
		enum stt_mode mode;
		const char *in;
		const char *out;
	} v[] = {
		{STT_MODE_FREE, "HELLO, HOW ARE YOU?", "hello how are you"},
		{STT_MODE_FREE, "  ", ""},
		{STT_MODE_YESNO, "YEAH SURE", "yes"},
		{STT_MODE_YESNO, "UH NO THANKS", "no"},
		{STT_MODE_YESNO, "MAYBE", ""},
		{STT_MODE_DIGITS, "TWO OH SEVEN THREE", "2073"},
		{STT_MODE_DIGITS, "my number is 45 six", "456"},
		{STT_MODE_DIGITS, "NONE", ""},
		{STT_MODE_WORDS, "I NEED TECHNICAL SUPPORT PLEASE",
		 "technical support"},
		{STT_MODE_WORDS, "SALES OR BILLING", "sales"},
		{STT_MODE_WORDS, "TECHNICAL HELP", ""},
	};
	char out[64];

	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		TEST_ERR(sherpa_text_to_mode(v[i].mode, words, 3, v[i].in, out,
					     sizeof(out)));
		TEST_STREQ(out, v[i].out);
	}
	TEST_EQ(sherpa_text_to_mode(STT_MODE_WORDS, NULL, 0, "x", out,
				    sizeof(out)), EINVAL);
	/* bounded output */
	TEST_ERR(sherpa_text_to_mode(STT_MODE_FREE, NULL, 0,
				     "ONE TWO THREE FOUR", out, 8));
	TEST_ASSERT(strlen(out) < 8);
	return 0;
}
