/*
 * tts_elevenlabs.c  ElevenLabs streaming speech: POST
 *                   {elevenlabs_url}/v1/text-to-speech/{voice_id}/stream
 *                   ?output_format=pcm_16000 with xi-api-key and
 *                   {text, model_id}; raw PCM16 16 kHz streams back and
 *                   goes to the audio handler as it arrives.
 *
 * The request is retried once on a connect failure or a 5xx before any audio; once audio
 * was delivered a failure is returned as is (the agent cannot fall back
 * mid-sentence).  A handler returning true (barge-in) stops the download
 * at the next chunk and closes the connection.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/engine.h"
#include "engines/netengine.h"

#define DEBUG_MODULE "tts_elevenlabs"

enum {
	PCM_RATE = 16000,          /* output_format=pcm_16000 */
};

/* written by init on the main thread, read-only afterwards */
static struct {
	struct net_engine net;
	char model[128];
	char voice[128];          /* voice id, URL-safe */
} cfg;


static int el_tts_init(const struct conf *conf)
{
	const char *v;
	int err;

	err = net_engine_conf(&cfg.net, conf, DEBUG_MODULE, "elevenlabs_url",
			      "elevenlabs_api_key", "api.elevenlabs.io",
			      false, "tts_timeout_ms");
	if (err)
		return err;
	v = conf_str(conf, "elevenlabs_voice_id");
	if (!v || !*v || strspn(v, "abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
	    strlen(v) || strlen(v) >= sizeof(cfg.voice)) {
		log_error(DEBUG_MODULE, NULL, "elevenlabs_voice_id: \"%s\" is "
			  "not a voice id (letters, digits, _ and -)",
			  v ? v : "");
		memset(&cfg, 0, sizeof(cfg));   /* no key kept */
		return EINVAL;
	}
	str_ncpy(cfg.model, conf_str(conf, "elevenlabs_model"),
		 sizeof(cfg.model));
	str_ncpy(cfg.voice, v, sizeof(cfg.voice));
	return 0;
}


static void el_tts_close(void)
{
	memset(&cfg, 0, sizeof(cfg));
}


/* Worker thread; one call per session at a time. */
static int el_tts_synth(void *st, const char *text, const char *language,
			    tts_audio_h *audioh, void *arg)
{
	char url[800];
	char *body = NULL;
	int err;

	(void)language;
	if (!st || !text || !audioh)
		return EINVAL;
	if (!*text)
		return 0;

	err = re_sdprintf(&body, "{\"text\":\"%H\",\"model_id\":\"%H\"}",
			  utf8_encode, text, utf8_encode, cfg.model);
	if (err)
		return err;
	snprintf(url, sizeof(url), "%s/v1/text-to-speech/%s/stream"
		 "?output_format=pcm_16000", cfg.net.url, cfg.voice);
	err = net_engine_speak(&cfg.net, DEBUG_MODULE, url, "xi-api-key: ",
			       body, PCM_RATE, audioh, arg);
	mem_deref(body);
	return err;
}


const struct tts_ops tts_elevenlabs = {
	.name  = "elevenlabs",
	.init  = el_tts_init,
	.close = el_tts_close,
	.alloc = net_engine_tts_alloc,
	.synth = el_tts_synth,
};
