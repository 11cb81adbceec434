/*
 * tts_openai.c  OpenAI-compatible speech: POST {tts_url}/v1/audio/speech
 *               {model, input, voice, response_format: "pcm"} and stream
 *               the body (raw PCM16 24 kHz mono, or a WAV whose header
 *               says the format) through a speexdsp resampler to 16 kHz
 *               into the audio handler as it arrives.
 *
 * Works with OpenAI and self-hosted servers of the same endpoint
 * (Kokoro-FastAPI, openedai-speech, speaches, mlx-audio).  The request is
 * retried once on a connect failure or a 5xx before any audio; once audio
 * was delivered a failure is returned as is (the agent cannot fall back
 * mid-sentence).  A handler returning true (barge-in) stops the download
 * at the next chunk and closes the connection.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/conf.h"
#include "engines/engine.h"
#include "engines/netengine.h"

#define DEBUG_MODULE "tts_openai"

enum {
	PCM_RATE = 24000,          /* response_format=pcm */
};

/* written by init on the main thread, read-only afterwards */
static struct {
	struct net_engine net;
	char model[128];
	char voice[128];
} cfg;


static int openai_tts_init(const struct conf *conf)
{
	int err;

	err = net_engine_conf(&cfg.net, conf, DEBUG_MODULE, "tts_url",
			      "tts_api_key", "api.openai.com", false,
			      "tts_timeout_ms");
	if (err)
		return err;
	str_ncpy(cfg.model, conf_str(conf, "tts_model"), sizeof(cfg.model));
	str_ncpy(cfg.voice, conf_str(conf, "tts_openai_voice"),
		 sizeof(cfg.voice));
	return 0;
}


static void openai_tts_close(void)
{
	memset(&cfg, 0, sizeof(cfg));
}


/* Worker thread; one call per session at a time. */
static int openai_tts_synth(void *st, const char *text, const char *language,
			    tts_audio_h *audioh, void *arg)
{
	char url[600];
	char *body = NULL;
	int err;

	(void)language;
	if (!st || !text || !audioh)
		return EINVAL;
	if (!*text)
		return 0;

	err = re_sdprintf(&body, "{\"model\":\"%H\",\"input\":\"%H\","
			  "\"voice\":\"%H\",\"response_format\":\"pcm\"}",
			  utf8_encode, cfg.model, utf8_encode, text,
			  utf8_encode, cfg.voice);
	if (err)
		return err;
	snprintf(url, sizeof(url), "%s/v1/audio/speech", cfg.net.url);
	err = net_engine_speak(&cfg.net, DEBUG_MODULE, url,
			       "Authorization: Bearer ", body, PCM_RATE,
			       audioh, arg);
	mem_deref(body);
	return err;
}


const struct tts_ops tts_openai = {
	.name  = "openai",
	.init  = openai_tts_init,
	.close = openai_tts_close,
	.alloc = net_engine_tts_alloc,
	.synth = openai_tts_synth,
};
