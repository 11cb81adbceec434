/*
 * sherpa.c  Loader for the sherpa-onnx C API (dlopen, symbol tables,
 *           version check) and the file checks the engines share.
 *
 * Main thread (start-up) unless stated otherwise.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include "core/log.h"
#include "engines/sherpa.h"

#define MOD "sherpa"

_Static_assert(sizeof(struct sherpa_online_model_config) == 136,
	       "sherpa-onnx online model config layout");
_Static_assert(offsetof(struct sherpa_online_model_config, tokens) == 48,
	       "sherpa-onnx online model config layout");
_Static_assert(offsetof(struct sherpa_online_model_config, provider) == 64,
	       "sherpa-onnx online model config layout");
_Static_assert(offsetof(struct sherpa_online_model_config, debug) == 72,
	       "sherpa-onnx online model config layout");
_Static_assert(offsetof(struct sherpa_online_model_config, nemo_ctc) == 120,
	       "sherpa-onnx online model config layout");
_Static_assert(offsetof(struct sherpa_online_recognizer_config,
			model_config) == 8,
	       "sherpa-onnx online recognizer config layout");
_Static_assert(offsetof(struct sherpa_online_recognizer_config,
			decoding_method) == 144,
	       "sherpa-onnx online recognizer config layout");
_Static_assert(offsetof(struct sherpa_online_recognizer_config,
			hotwords_file) == 176,
	       "sherpa-onnx online recognizer config layout");
_Static_assert(offsetof(struct sherpa_online_recognizer_config,
			ctc_fst_decoder_config) == 192,
	       "sherpa-onnx online recognizer config layout");
_Static_assert(offsetof(struct sherpa_online_recognizer_config,
			blank_penalty) == 224,
	       "sherpa-onnx online recognizer config layout");
_Static_assert(offsetof(struct sherpa_online_recognizer_config, hr) == 248,
	       "sherpa-onnx online recognizer config layout");
_Static_assert(sizeof(struct sherpa_online_recognizer_config) == 272,
	       "sherpa-onnx online recognizer config layout");
_Static_assert(offsetof(struct sherpa_online_result, count) == 32 &&
	       sizeof(struct sherpa_online_result) == 48,
	       "sherpa-onnx online result layout");

_Static_assert(sizeof(struct sherpa_tts_vits_config) == 56,
	       "sherpa-onnx TTS VITS config layout");
_Static_assert(offsetof(struct sherpa_tts_vits_config, dict_dir) == 48,
	       "sherpa-onnx TTS VITS config layout");
_Static_assert(sizeof(struct sherpa_tts_kokoro_config) == 64,
	       "sherpa-onnx TTS Kokoro config layout");
_Static_assert(offsetof(struct sherpa_tts_kokoro_config, lexicon) == 48,
	       "sherpa-onnx TTS Kokoro config layout");
_Static_assert(offsetof(struct sherpa_tts_model_config, num_threads) == 56,
	       "sherpa-onnx TTS model config layout");
_Static_assert(offsetof(struct sherpa_tts_model_config, provider) == 64,
	       "sherpa-onnx TTS model config layout");
_Static_assert(offsetof(struct sherpa_tts_model_config, matcha) == 72,
	       "sherpa-onnx TTS model config layout");
_Static_assert(offsetof(struct sherpa_tts_model_config, kokoro) == 128,
	       "sherpa-onnx TTS model config layout");
_Static_assert(offsetof(struct sherpa_tts_model_config, kitten) == 192,
	       "sherpa-onnx TTS model config layout");
_Static_assert(offsetof(struct sherpa_tts_model_config, zipvoice) == 232,
	       "sherpa-onnx TTS model config layout");
_Static_assert(offsetof(struct sherpa_tts_model_config, pocket) == 296,
	       "sherpa-onnx TTS model config layout");
_Static_assert(offsetof(struct sherpa_tts_model_config, supertonic) == 360,
	       "sherpa-onnx TTS model config layout");
_Static_assert(sizeof(struct sherpa_tts_model_config) == 416,
	       "sherpa-onnx TTS model config layout");
_Static_assert(offsetof(struct sherpa_tts_config, rule_fsts) == 416 &&
	       offsetof(struct sherpa_tts_config, max_num_sentences) == 424 &&
	       offsetof(struct sherpa_tts_config, rule_fars) == 432 &&
	       offsetof(struct sherpa_tts_config, silence_scale) == 440 &&
	       sizeof(struct sherpa_tts_config) == 448,
	       "sherpa-onnx TTS config layout");
_Static_assert(offsetof(struct sherpa_generation_config, sid) == 8 &&
	       offsetof(struct sherpa_generation_config,
			reference_audio) == 16 &&
	       offsetof(struct sherpa_generation_config,
			reference_sample_rate) == 28 &&
	       offsetof(struct sherpa_generation_config,
			reference_text) == 32 &&
	       offsetof(struct sherpa_generation_config, num_steps) == 40 &&
	       offsetof(struct sherpa_generation_config, extra) == 48 &&
	       sizeof(struct sherpa_generation_config) == 56,
	       "sherpa-onnx generation config layout");
_Static_assert(sizeof(struct sherpa_generated_audio) == 16,
	       "sherpa-onnx generated audio layout");


bool sherpa_file_ok(const char *path)
{
	struct stat st;

	return path && *path && !stat(path, &st) && S_ISREG(st.st_mode) &&
		st.st_size > 0;
}


bool sherpa_dir_ok(const char *path)
{
	struct stat st;

	return path && *path && !stat(path, &st) && S_ISDIR(st.st_mode);
}


static bool varint_read(FILE *f, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		int c = getc(f);

		if (c == EOF)
			return false;
		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return true;
	}
	return false;
}


/* A varint from the buffer [*p, end). */
static bool buf_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t c = *(*p)++;

		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return true;
	}
	return false;
}


enum { META_PREFIX = 4096 };   /* bytes of one metadata entry looked at */

/* One StringStringEntryProto (key = 1, value = 2), of which the first
 * n bytes were read into buf.  If its key is key, copy the value to out:
 * 0, or E2BIG when it does not fit or was not read; ENOENT for another
 * key or an empty value (sherpa-onnx treats an empty value as
 * missing). */
static int meta_entry(const uint8_t *buf, size_t n, const char *key,
		      char *out, size_t sz)
{
	const uint8_t *p = buf, *end = buf + n, *k = NULL, *v = NULL;
	uint64_t klen = 0, vlen = 0;

	while (p < end) {
		uint64_t tag, l;

		if (!buf_varint(&p, end, &tag))
			break;
		if ((tag & 7) != 2) {
			size_t skip = (tag & 7) == 1 ? 8 : 4;

			/* not ours: a varint or fixed field, skipped */
			if ((tag & 7) == 0 && buf_varint(&p, end, &l))
				continue;
			if (((tag & 7) == 1 || (tag & 7) == 5) &&
			    (size_t)(end - p) >= skip) {
				p += skip;
				continue;
			}
			break;
		}
		if (!buf_varint(&p, end, &l))
			break;
		if ((tag >> 3) == 1) {
			k = p;
			klen = l;
		}
		else if ((tag >> 3) == 2) {
			v = p;
			vlen = l;
		}
		if (l > (uint64_t)(end - p))
			break;   /* beyond what was read */
		p += l;
	}

	if (!k || klen != strlen(key) || klen > (uint64_t)(end - k) ||
	    memcmp(k, key, klen))
		return ENOENT;
	if (!v || !vlen)
		return ENOENT;
	if (vlen >= sz || vlen > (uint64_t)(end - v))
		return E2BIG;
	memcpy(out, v, vlen);
	out[vlen] = '\0';
	return 0;
}


/*
 * Walk the top-level protobuf fields of an ONNX ModelProto: each must
 * be a known wire type with a field number onnx uses (1..20), and the
 * last must end exactly at the end of the file.  Catches truncated
 * downloads, Git LFS pointers, HTML error pages and random bytes, all
 * of which make onnxruntime throw and the library abort the process.
 * Reads a few bytes per field (the graph is one field) and, with key,
 * the metadata entries (field 14): the value of key goes to out.
 * Returns 0 (valid; key found if asked), ENOENT (valid, no such key),
 * E2BIG (value too long for out) or EINVAL (not valid).
 */
static int onnx_walk(const char *path, const char *key, char *out,
		     size_t sz)
{
	struct stat st;
	uint64_t pos = 0, size;
	unsigned nfields = 0;
	int found = ENOENT;
	bool ok = false;
	FILE *f;

	if (!sherpa_file_ok(path) || stat(path, &st))
		return EINVAL;
	size = (uint64_t)st.st_size;
	f = fopen(path, "rb");
	if (!f)
		return EINVAL;

	while (pos < size) {
		uint64_t tag, len;
		unsigned field, wire;

		if (!varint_read(f, &tag))
			goto out;
		field = (unsigned)(tag >> 3);
		wire = (unsigned)(tag & 7);
		if (field < 1 || field > 20)
			goto out;

		switch (wire) {

		case 0:
			if (!varint_read(f, &len))
				goto out;
			break;

		case 1:
		case 5:
			if (fseeko(f, wire == 1 ? 8 : 4, SEEK_CUR))
				goto out;
			break;

		case 2:
			if (!varint_read(f, &len))
				goto out;
			if (len > size)
				goto out;
			if (field == 14 && key && found == ENOENT) {
				uint8_t buf[META_PREFIX];
				size_t n = len < sizeof(buf) ? (size_t)len :
					sizeof(buf);

				if (fread(buf, 1, n, f) != n)
					goto out;
				found = meta_entry(buf, n, key, out, sz);
				len -= n;
			}
			if (fseeko(f, (off_t)len, SEEK_CUR))
				goto out;
			break;

		default:
			goto out;
		}

		pos = (uint64_t)ftello(f);
		++nfields;
	}
	ok = pos == size && nfields > 0;
 out:
	fclose(f);
	if (!ok)
		return EINVAL;
	return key ? found : 0;
}


bool sherpa_onnx_file_ok(const char *path)
{
	return onnx_walk(path, NULL, NULL, 0) == 0;
}


int sherpa_onnx_meta(const char *path, const char *key, char *out,
		     size_t sz)
{
	if (!key || !*key || !out || !sz)
		return EINVAL;
	out[0] = '\0';
	return onnx_walk(path, key, out, sz);
}


const char *sherpa_onnx_meta_missing(const char *path,
				     const char *const *keys)
{
	char v[256];

	for (size_t i = 0; keys && keys[i]; i++) {
		int err = sherpa_onnx_meta(path, keys[i], v, sizeof(v));

		if (err && err != E2BIG)
			return keys[i];
	}
	return NULL;
}


int sherpa_lib_open(void **dlp, const char *path)
{
	void *dl;

	if (!dlp)
		return EINVAL;
	if (!sherpa_file_ok(path)) {
		log_error(MOD, NULL, "sherpa_lib: %s not found (run "
			  "scripts/setup.sh)", path && *path ? path :
			  "(unset)");
		return ENOENT;
	}

	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		log_error(MOD, NULL, "sherpa_lib: cannot load %s: %s", path,
			  dlerror());
		return ENOENT;
	}

	*dlp = dl;
	return 0;
}


const char *sherpa_lib_resolve(void *dl, const struct sherpa_sym *tab,
			       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		*tab[i].addr = dl ? dlsym(dl, tab[i].name) : NULL;
		if (!*tab[i].addr)
			return tab[i].name;
	}
	return NULL;
}


const char *sherpa_lib_version(void *dl)
{
	const char *(*version)(void);

	*(void **)(&version) = dl ? dlsym(dl, "SherpaOnnxGetVersionStr") :
		NULL;
	return version && version() ? version() : "";
}


/* Version gate shared by the ASR and TTS loaders: their config layouts
 * were checked against 1.13.8; 1.13.x only appends fields. */
static int version_check(void *dl, const char *path, const char **verp)
{
	const char *v = sherpa_lib_version(dl);

	*verp = v;
	if (strncmp(v, SHERPA_VERSION_SERIES, strlen(SHERPA_VERSION_SERIES))) {
		log_error(MOD, NULL, "sherpa_lib: %s is sherpa-onnx \"%s\"; "
			  "only %sx is supported (struct layouts are pinned, "
			  "see docs/internals/sherpa-engines.md)", path, v,
			  SHERPA_VERSION_SERIES);
		return ENOTSUP;
	}
	if (strcmp(v, SHERPA_VERSION_PINNED))
		log_warn(MOD, NULL, "sherpa_lib: version %s, layouts were "
			 "checked against %s", v, SHERPA_VERSION_PINNED);
	return 0;
}


/* Open the library and resolve tab into the zeroed table a (sz bytes,
 * version at *verp), copied to api only when complete.  The library
 * stays loaded for the process. */
static int api_load(void *api, const void *a, size_t sz, const char *path,
		    const struct sherpa_sym *tab, size_t n,
		    const char **verp)
{
	const char *missing;
	void *dl = NULL;
	int err;

	if (!api)
		return EINVAL;
	err = sherpa_lib_open(&dl, path);
	if (err)
		return err;

	err = version_check(dl, path, verp);
	if (err)
		return err;

	missing = sherpa_lib_resolve(dl, tab, n);
	if (missing) {
		log_error(MOD, NULL, "sherpa_lib: %s lacks %s (expected "
			  "sherpa-onnx %s)", path, missing,
			  SHERPA_VERSION_PINNED);
		return ENOTSUP;
	}
	memcpy(api, a, sz);
	return 0;
}


#define SYM(api, field, name) {(void **)&(api)->field, name}

int sherpa_asr_api_load(struct sherpa_asr_api *api, const char *path)
{
	struct sherpa_asr_api a;
	const struct sherpa_sym tab[] = {
		SYM(&a, recognizer_create, "SherpaOnnxCreateOnlineRecognizer"),
		SYM(&a, recognizer_destroy,
		    "SherpaOnnxDestroyOnlineRecognizer"),
		SYM(&a, stream_create, "SherpaOnnxCreateOnlineStream"),
		SYM(&a, stream_destroy, "SherpaOnnxDestroyOnlineStream"),
		SYM(&a, accept_waveform,
		    "SherpaOnnxOnlineStreamAcceptWaveform"),
		SYM(&a, is_ready, "SherpaOnnxIsOnlineStreamReady"),
		SYM(&a, decode, "SherpaOnnxDecodeOnlineStream"),
		SYM(&a, result_get, "SherpaOnnxGetOnlineStreamResult"),
		SYM(&a, result_destroy,
		    "SherpaOnnxDestroyOnlineRecognizerResult"),
		SYM(&a, input_finished,
		    "SherpaOnnxOnlineStreamInputFinished"),
	};

	memset(&a, 0, sizeof(a));
	return api_load(api, &a, sizeof(a), path, tab, ARRAY_SIZE(tab),
			&a.version);
}


int sherpa_tts_api_load(struct sherpa_tts_api *api, const char *path)
{
	struct sherpa_tts_api a;
	const struct sherpa_sym tab[] = {
		SYM(&a, create, "SherpaOnnxCreateOfflineTts"),
		SYM(&a, destroy, "SherpaOnnxDestroyOfflineTts"),
		SYM(&a, sample_rate, "SherpaOnnxOfflineTtsSampleRate"),
		SYM(&a, num_speakers, "SherpaOnnxOfflineTtsNumSpeakers"),
		SYM(&a, generate, "SherpaOnnxOfflineTtsGenerateWithConfig"),
		SYM(&a, audio_destroy,
		    "SherpaOnnxDestroyOfflineTtsGeneratedAudio"),
	};

	memset(&a, 0, sizeof(a));
	return api_load(api, &a, sizeof(a), path, tab, ARRAY_SIZE(tab),
			&a.version);
}

#undef SYM
