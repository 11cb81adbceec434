/*
 * registry.c  The built-in speech engines, by kind and name.
 *
 * To add an engine: define `const struct xxx_ops <kind>_<name>` in its own
 * file under src/engines/ and list it below.
 */
#include <stdio.h>
#include <string.h>
#include "engines/engine.h"

/* engines register here (one extern line + one table entry each) */
extern const struct vad_ops vad_auto;
extern const struct vad_ops vad_energy;
extern const struct vad_ops vad_silero;
extern const struct stt_ops stt_pocketsphinx;
extern const struct stt_ops stt_sherpa;
extern const struct tts_ops tts_flite;
extern const struct tts_ops tts_espeak;
extern const struct tts_ops tts_sherpa;
extern const struct stt_ops stt_openai;
extern const struct stt_ops stt_deepgram;
extern const struct tts_ops tts_openai;
extern const struct tts_ops tts_elevenlabs;

static const struct vad_ops *vads[] = {
	&vad_auto,
	&vad_energy,
	&vad_silero,
	NULL
};

static const struct stt_ops *stts[] = {
	&stt_pocketsphinx,
	&stt_sherpa,
	&stt_openai,
	&stt_deepgram,
	NULL
};

static const struct tts_ops *ttss[] = {
	&tts_flite,
	&tts_espeak,
	&tts_sherpa,
	&tts_openai,
	&tts_elevenlabs,
	NULL
};


const struct vad_ops *vad_find(const char *name)
{
	for (size_t i = 0; name && vads[i]; i++) {
		if (!strcmp(vads[i]->name, name))
			return vads[i];
	}
	return NULL;
}


const struct stt_ops *stt_find(const char *name)
{
	for (size_t i = 0; name && stts[i]; i++) {
		if (!strcmp(stts[i]->name, name))
			return stts[i];
	}
	return NULL;
}


const struct tts_ops *tts_find(const char *name)
{
	for (size_t i = 0; name && ttss[i]; i++) {
		if (!strcmp(ttss[i]->name, name))
			return ttss[i];
	}
	return NULL;
}


const char *engine_names(enum engine_kind kind)
{
	static char buf[3][256];
	char *b = buf[kind];
	size_t o = 0;

	b[0] = '\0';
	for (size_t i = 0; ; i++) {
		const char *n = NULL;
		switch (kind) {
		case ENGINE_VAD: n = vads[i] ? vads[i]->name : NULL; break;
		case ENGINE_STT: n = stts[i] ? stts[i]->name : NULL; break;
		case ENGINE_TTS: n = ttss[i] ? ttss[i]->name : NULL; break;
		}
		if (!n)
			break;
		o += (size_t)snprintf(b + o, sizeof(buf[0]) - o, "%s%s",
				      o ? "|" : "", n);
		if (o >= sizeof(buf[0]))
			break;
	}
	return b;
}
