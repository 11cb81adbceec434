/*
 * engine.h  Speech engines behind one registry of vtables: VAD, STT, TTS.
 *
 * An engine kind is selected by name from configuration (vad = silero,
 * stt = pocketsphinx, tts = flite, ...).  engine_init() runs once at
 * start-up on the main thread: it checks that the selected engine's model
 * folder / key / URL exists and fails with a message naming the setting.
 *
 * Threads: a VAD instance is used on the main thread (media tick; it must
 * be cheap).  STT and TTS sessions are blocking and run on a worker thread:
 * one call's session is only ever used by one thread at a time (the
 * pipeline serialises a call's jobs), but sessions of different calls run
 * concurrently, so engines with process-global state (espeak-ng) must
 * serialise internally.
 *
 * All audio is 16-bit PCM at 16 kHz mono unless stated otherwise.
 * Every object returned is a libre mem object: release with mem_deref().
 */
#ifndef AGENTLINE_ENGINE_H
#define AGENTLINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;

enum engine_kind {
	ENGINE_VAD = 0,
	ENGINE_STT,
	ENGINE_TTS,
};

/* ---------------------------------------------------------------- VAD */

struct vad_ops {
	const char *name;
	/* once at start-up: validate config, load shared model data */
	int  (*init)(const struct conf *conf);
	void (*close)(void);
	/* per call */
	int  (*alloc)(void **stp, const struct conf *conf);
	/* Feed one frame (any n, typically 320). Writes the current speech
	 * probability 0..1 (engines without a probability write 0 or 1). */
	int  (*process)(void *st, const int16_t *pcm, size_t n, float *probp);
	void (*reset)(void *st);
};

/* Silero only: windows the model was run on (the rest were near-silent
 * and skipped); for tests and benchmarks. */
unsigned long vad_silero_runs(const void *st);

/* ---------------------------------------------------------------- STT */

/* What the recogniser should listen for in this turn. */
enum stt_mode {
	STT_MODE_FREE = 0,   /* open vocabulary (language model)        */
	STT_MODE_YESNO,      /* yes / no                                  */
	STT_MODE_DIGITS,     /* digit strings                             */
	STT_MODE_WORDS,      /* one of stt_turn.words                     */
};

struct stt_turn {
	enum stt_mode mode;
	const char *const *words;  /* STT_MODE_WORDS: NULL-terminated list */
	const char *language;      /* "en", "de", ...                      */
};

struct stt_result {
	char text[1024];           /* final transcript, "" if nothing heard */
	float confidence;          /* 0..1, or -1 if unknown                */
};

/* Partial results (optional); called on the worker thread. */
typedef void (stt_partial_h)(const char *text, void *arg);

struct stt_ops {
	const char *name;
	int  (*init)(const struct conf *conf);
	void (*close)(void);
	/* per call (a decoder that adapts over the call) */
	int  (*alloc)(void **stp, const struct conf *conf);
	int  (*start)(void *st, const struct stt_turn *turn,
		      stt_partial_h *ph, void *arg);
	int  (*feed)(void *st, const int16_t *pcm, size_t n);
	/* end of the caller's turn: final result */
	int  (*finish)(void *st, struct stt_result *res);
	/* drop the current utterance (interrupt/hangup) */
	void (*cancel)(void *st);
};

/* ---------------------------------------------------------------- TTS */

/* Synthesised audio, 16 kHz PCM, in chunks as it is produced (worker
 * thread). Return true to stop synthesis (barge-in). */
typedef bool (tts_audio_h)(const int16_t *pcm, size_t n, void *arg);

struct tts_ops {
	const char *name;
	int  (*init)(const struct conf *conf);
	void (*close)(void);
	int  (*alloc)(void **stp, const struct conf *conf);
	/* Speak one sentence of already normalised text; blocks until done
	 * or cancelled by the handler. language "en", "de", ... */
	int  (*synth)(void *st, const char *text, const char *language,
		      tts_audio_h *audioh, void *arg);
};

/* ----------------------------------------------------------- registry */

/* Built-in registry; NULL if no such engine. */
const struct vad_ops *vad_find(const char *name);
const struct stt_ops *stt_find(const char *name);
const struct tts_ops *tts_find(const char *name);
/* Comma-separated names of the registered engines of a kind (for help
 * and error messages). */
const char *engine_names(enum engine_kind kind);

#endif
