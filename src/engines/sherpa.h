/*
 * sherpa.h  Our declarations of the parts of the sherpa-onnx C API the
 *           speech engines use, and the loader that dlopen()s it.
 *
 * sherpa-onnx ships from npm (sherpa-onnx-linux-x64@1.13.8) without
 * headers.  The structs below follow the public c-api.h of 1.13.x (field
 * order and types) and were checked against the 1.13.8 binary itself: the
 * test suite fills every field of the recognizer and TTS configs with a
 * marker, has the library print the config it parsed (debug = 1, no
 * model, so creation fails cleanly) and compares; the generation config
 * offsets were read off the disassembly.  See
 * docs/internals/sherpa-engines.md.
 *
 * Structs grow between releases (fields are appended): callers zero and
 * over-allocate them (the *_room unions) and the loader refuses a library
 * whose version is not 1.13.x.  Bad configs can make the library call
 * exit() or abort, so engines validate every path and value first.
 *
 * Threads: the loaders run on the main thread at start-up; the tables
 * they fill are read-only afterwards.
 */
#ifndef AGENTLINE_SHERPA_H
#define AGENTLINE_SHERPA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "engines/engine.h"

#define SHERPA_VERSION_PINNED "1.13.8"
#define SHERPA_VERSION_SERIES "1.13."

/* ------------------------------------------- streaming ASR (online) */

struct sherpa_online_transducer_config {
	const char *encoder;
	const char *decoder;
	const char *joiner;
};

struct sherpa_online_paraformer_config {
	const char *encoder;
	const char *decoder;
};

struct sherpa_online_model_file {      /* zipformer2 / NeMo / T-One CTC */
	const char *model;
};

struct sherpa_online_model_config {
	struct sherpa_online_transducer_config transducer;    /*   0 */
	struct sherpa_online_paraformer_config paraformer;    /*  24 */
	struct sherpa_online_model_file zipformer2_ctc;       /*  40 */
	const char *tokens;                                   /*  48 */
	int32_t num_threads;                                  /*  56 */
	const char *provider;                                 /*  64 */
	int32_t debug;                                        /*  72 */
	const char *model_type;                               /*  80 */
	const char *modeling_unit;                            /*  88 */
	const char *bpe_vocab;                                /*  96 */
	const char *tokens_buf;                               /* 104 */
	int32_t tokens_buf_size;                              /* 112 */
	struct sherpa_online_model_file nemo_ctc;             /* 120 */
	struct sherpa_online_model_file t_one_ctc;            /* 128 */
};                                                            /* 136 */

struct sherpa_feature_config {
	int32_t sample_rate;
	int32_t feature_dim;
};

struct sherpa_ctc_fst_config {
	const char *graph;
	int32_t max_active;
};

struct sherpa_homophone_config {
	const char *dict_dir;
	const char *lexicon;
	const char *rule_fsts;
};

struct sherpa_online_recognizer_config {
	struct sherpa_feature_config feat_config;             /*   0 */
	struct sherpa_online_model_config model_config;       /*   8 */
	const char *decoding_method;                          /* 144 */
	int32_t max_active_paths;                             /* 152 */
	int32_t enable_endpoint;                              /* 156 */
	float rule1_min_trailing_silence;                     /* 160 */
	float rule2_min_trailing_silence;                     /* 164 */
	float rule3_min_utterance_length;                     /* 168 */
	const char *hotwords_file;                            /* 176 */
	float hotwords_score;                                 /* 184 */
	struct sherpa_ctc_fst_config ctc_fst_decoder_config;  /* 192 */
	const char *rule_fsts;                                /* 208 */
	const char *rule_fars;                                /* 216 */
	float blank_penalty;                                  /* 224 */
	const char *hotwords_buf;                             /* 232 */
	int32_t hotwords_buf_size;                            /* 240 */
	struct sherpa_homophone_config hr;                    /* 248 */
};                                                            /* 272 */

/* zeroed room for fields a newer 1.13.x may append */
union sherpa_online_recognizer_config_room {
	struct sherpa_online_recognizer_config cfg;
	unsigned char room[2048];
};

/* Allocated by the library; we only read text (offset 0). */
struct sherpa_online_result {
	const char *text;
	const char *tokens;
	const char *const *tokens_arr;
	float *timestamps;
	int32_t count;
	const char *json;
};

struct sherpa_online_recognizer;   /* SherpaOnnxOnlineRecognizer */
struct sherpa_online_stream;       /* SherpaOnnxOnlineStream     */

struct sherpa_asr_api {
	const char *version;
	const struct sherpa_online_recognizer *(*recognizer_create)(
		const struct sherpa_online_recognizer_config *config);
	void (*recognizer_destroy)(const struct sherpa_online_recognizer *r);
	const struct sherpa_online_stream *(*stream_create)(
		const struct sherpa_online_recognizer *r);
	void (*stream_destroy)(const struct sherpa_online_stream *s);
	void (*accept_waveform)(const struct sherpa_online_stream *s,
				int32_t sample_rate, const float *samples,
				int32_t n);
	int32_t (*is_ready)(const struct sherpa_online_recognizer *r,
			    const struct sherpa_online_stream *s);
	void (*decode)(const struct sherpa_online_recognizer *r,
		       const struct sherpa_online_stream *s);
	const struct sherpa_online_result *(*result_get)(
		const struct sherpa_online_recognizer *r,
		const struct sherpa_online_stream *s);
	void (*result_destroy)(const struct sherpa_online_result *res);
	void (*input_finished)(const struct sherpa_online_stream *s);
};

/* ------------------------------------------------ offline TTS */

struct sherpa_tts_vits_config {
	const char *model;                                    /*   0 */
	const char *lexicon;                                  /*   8 */
	const char *tokens;                                   /*  16 */
	const char *data_dir;                                 /*  24 */
	float noise_scale;                                    /*  32 */
	float noise_scale_w;                                  /*  36 */
	float length_scale;                                   /*  40 */
	const char *dict_dir;                                 /*  48 */
};                                                            /*  56 */

struct sherpa_tts_matcha_config {
	const char *acoustic_model;
	const char *vocoder;
	const char *lexicon;
	const char *tokens;
	const char *data_dir;
	float noise_scale;
	float length_scale;
	const char *dict_dir;
};                                                            /*  56 */

struct sherpa_tts_kokoro_config {
	const char *model;                                    /*   0 */
	const char *voices;                                   /*   8 */
	const char *tokens;                                   /*  16 */
	const char *data_dir;                                 /*  24 */
	float length_scale;                                   /*  32 */
	const char *dict_dir;                                 /*  40 */
	const char *lexicon;                                  /*  48 */
	const char *lang;                                     /*  56 */
};                                                            /*  64 */

struct sherpa_tts_kitten_config {
	const char *model;
	const char *voices;
	const char *tokens;
	const char *data_dir;
	float length_scale;
};                                                            /*  40 */

struct sherpa_tts_zipvoice_config {
	const char *tokens;
	const char *encoder;
	const char *decoder;
	const char *vocoder;
	const char *data_dir;
	const char *lexicon;
	float feat_scale;
	float t_shift;
	float target_rms;
	float guidance_scale;
};                                                            /*  64 */

struct sherpa_tts_pocket_config {
	const char *lm_flow;
	const char *lm_main;
	const char *encoder;
	const char *decoder;
	const char *text_conditioner;
	const char *vocab_json;
	const char *token_scores_json;
	int32_t voice_embedding_cache_capacity;
};                                                            /*  64 */

struct sherpa_tts_supertonic_config {
	const char *duration_predictor;
	const char *text_encoder;
	const char *vector_estimator;
	const char *vocoder;
	const char *tts_json;
	const char *unicode_indexer;
	const char *voice_style;
};                                                            /*  56 */

struct sherpa_tts_model_config {
	struct sherpa_tts_vits_config vits;                   /*   0 */
	int32_t num_threads;                                  /*  56 */
	int32_t debug;                                        /*  60 */
	const char *provider;                                 /*  64 */
	struct sherpa_tts_matcha_config matcha;               /*  72 */
	struct sherpa_tts_kokoro_config kokoro;               /* 128 */
	struct sherpa_tts_kitten_config kitten;               /* 192 */
	struct sherpa_tts_zipvoice_config zipvoice;           /* 232 */
	struct sherpa_tts_pocket_config pocket;               /* 296 */
	struct sherpa_tts_supertonic_config supertonic;       /* 360 */
};                                                            /* 416 */

struct sherpa_tts_config {
	struct sherpa_tts_model_config model;                 /*   0 */
	const char *rule_fsts;                                /* 416 */
	int32_t max_num_sentences;                            /* 424 */
	const char *rule_fars;                                /* 432 */
	float silence_scale;                                  /* 440 */
};                                                            /* 448 */

union sherpa_tts_config_room {
	struct sherpa_tts_config cfg;
	unsigned char room[4096];
};

/* SherpaOnnxGenerationConfig, offsets read off the 1.13.8 disassembly */
struct sherpa_generation_config {
	float silence_scale;                                  /*   0 */
	float speed;                                          /*   4 */
	int32_t sid;                                          /*   8 */
	const float *reference_audio;                         /*  16 */
	int32_t reference_audio_len;                          /*  24 */
	int32_t reference_sample_rate;                        /*  28 */
	const char *reference_text;                           /*  32 */
	int32_t num_steps;                                    /*  40 */
	const char *extra;                                    /*  48 */
};                                                            /*  56 */

union sherpa_generation_config_room {
	struct sherpa_generation_config cfg;
	unsigned char room[512];
};

/* Allocated by the library; freed with audio_destroy. */
struct sherpa_generated_audio {
	const float *samples;
	int32_t n;
	int32_t sample_rate;
};

struct sherpa_tts;                 /* SherpaOnnxOfflineTts */

/* Chunk callback: return 1 to continue, 0 to stop generation. */
typedef int32_t (sherpa_tts_progress_h)(const float *samples, int32_t n,
					float progress, void *arg);

struct sherpa_tts_api {
	const char *version;
	const struct sherpa_tts *(*create)(
		const struct sherpa_tts_config *config);
	void (*destroy)(const struct sherpa_tts *tts);
	int32_t (*sample_rate)(const struct sherpa_tts *tts);
	int32_t (*num_speakers)(const struct sherpa_tts *tts);
	const struct sherpa_generated_audio *(*generate)(
		const struct sherpa_tts *tts, const char *text,
		const struct sherpa_generation_config *config,
		sherpa_tts_progress_h *cb, void *arg);
	void (*audio_destroy)(const struct sherpa_generated_audio *audio);
};

/* ------------------------------------------------------ loader */

/* One symbol to resolve into *addr (a function pointer field). */
struct sherpa_sym {
	void **addr;
	const char *name;
};

/* dlopen() the C API library at path (the sherpa_lib key); logs a
 * message naming sherpa_lib on failure.  The library is never closed:
 * onnxruntime's process-wide state does not survive dlclose(). */
int  sherpa_lib_open(void **dlp, const char *path);
/* Resolve every symbol of tab; returns NULL or the first missing name. */
const char *sherpa_lib_resolve(void *dl, const struct sherpa_sym *tab,
			       size_t n);
/* The library's version string ("1.13.8"), or "" if it has none. */
const char *sherpa_lib_version(void *dl);

/* Open path and fill api; refuses (ENOTSUP) a version other than 1.13.x
 * and logs what is wrong naming sherpa_lib. */
int  sherpa_asr_api_load(struct sherpa_asr_api *api, const char *path);
int  sherpa_tts_api_load(struct sherpa_tts_api *api, const char *path);

/* A regular, non-empty file / a directory. */
bool sherpa_file_ok(const char *path);
bool sherpa_dir_ok(const char *path);
/* Plausible ONNX model: the file's top-level protobuf fields parse and
 * end exactly at its end.  A cheap guard: onnxruntime throws on a
 * malformed model and the library then aborts the process. */
bool sherpa_onnx_file_ok(const char *path);
/* The value of a metadata key of an ONNX model (ModelProto
 * metadata_props), NUL-terminated in out.  ENOENT if the model has no
 * such key or its value is empty (sherpa-onnx treats both as missing),
 * E2BIG if the value does not fit in sz, EINVAL if the file is not a
 * plausible ONNX model.  Any thread. */
int  sherpa_onnx_meta(const char *path, const char *key, char *out,
		      size_t sz);
/* The first of the NULL-terminated keys the model's metadata lacks, or
 * NULL.  sherpa-onnx exit()s the process (or crashes) on a model without
 * a key it requires, so the engines check first. */
const char *sherpa_onnx_meta_missing(const char *path,
				     const char *const *keys);

/* ------------------------------------------- open vocabulary to mode */

/* Map an open-vocabulary transcript onto a turn's mode (any thread):
 * FREE lower-cases it and keeps the words; YESNO gives "yes", "no" or "";
 * DIGITS a digit string ("zero"/"oh" .. "nine" and digits); WORDS the
 * listed phrase (words: nwords '\0'-separated phrases) that starts
 * earliest in the text, or "". */
int  sherpa_text_to_mode(enum stt_mode mode, const char *words,
			 size_t nwords, const char *text, char *out,
			 size_t sz);

#endif
