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
#include "engines/netclient.h"

#define DEBUG_MODULE "tts_elevenlabs"

enum {
	PCM_RATE = 16000,          /* output_format=pcm_16000 */
};

/* written by init on the main thread, read-only afterwards */
static struct {
	char url[512];
	char key[512];
	char model[128];
	char voice[128];          /* voice id, URL-safe */
	struct net_opts opts;
	char ca[512];
} cfg;

struct el_tts {
	int dummy;
};

struct synth {
	struct net_pcm *pc;
	tts_audio_h *audioh;
	void *arg;
	int err;
};


static int el_tts_init(const struct conf *conf)
{
	const char *ca, *v;
	int err;


	err = net_check_setup(conf, DEBUG_MODULE, "elevenlabs_url",
			      "elevenlabs_api_key", "api.elevenlabs.io",
			      false);
	if (err)
		return err;
	v = conf_str(conf, "elevenlabs_voice_id");
	if (!v || !*v || strspn(v, "abcdefghijklmnopqrstuvwxyz"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
	    strlen(v) || strlen(v) >= sizeof(cfg.voice)) {
		log_error(DEBUG_MODULE, NULL, "elevenlabs_voice_id: \"%s\" is "
			  "not a voice id (letters, digits, _ and -)",
			  v ? v : "");
		return EINVAL;
	}
	str_ncpy(cfg.url, conf_str(conf, "elevenlabs_url"), sizeof(cfg.url));
	str_ncpy(cfg.key, conf_str(conf, "elevenlabs_api_key") ?
		 conf_str(conf, "elevenlabs_api_key") : "", sizeof(cfg.key));
	str_ncpy(cfg.model, conf_str(conf, "elevenlabs_model"),
		 sizeof(cfg.model));
	str_ncpy(cfg.voice, v, sizeof(cfg.voice));
	net_opts_conf(&cfg.opts, conf, "tts_timeout_ms");
	ca = cfg.opts.ca_file;
	str_ncpy(cfg.ca, ca ? ca : "", sizeof(cfg.ca));
	cfg.opts.ca_file = cfg.ca;
	return 0;
}


static void el_tts_close(void)
{
	memset(&cfg, 0, sizeof(cfg));
}


static int el_tts_alloc(void **stp, const struct conf *conf)
{
	struct el_tts *s;

	(void)conf;
	if (!stp)
		return EINVAL;
	s = mem_zalloc(sizeof(*s), NULL);
	if (!s)
		return ENOMEM;
	*stp = s;
	return 0;
}


static bool audio_h(const int16_t *pcm, size_t n, void *arg)
{
	struct synth *sy = arg;

	return sy->audioh(pcm, n, sy->arg);
}


static bool body_h(const uint8_t *p, size_t n, void *arg)
{
	struct synth *sy = arg;
	bool stop = false;

	sy->err = net_pcm_feed(sy->pc, p, n, &stop);
	return sy->err || stop;
}


/* Worker thread; one call per session at a time. */
static int el_tts_synth(void *st, const char *text, const char *language,
			    tts_audio_h *audioh, void *arg)
{
	struct synth sy = {NULL, audioh, arg, 0};
	struct net_resp resp;
	struct net_req req;
	char url[800], auth[600] = "";
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
	err = net_pcm_alloc(&sy.pc, PCM_RATE, audio_h, &sy);
	if (err)
		goto out;

	snprintf(url, sizeof(url), "%s/v1/text-to-speech/%s/stream"
		 "?output_format=pcm_16000", cfg.url, cfg.voice);
	if (cfg.key[0])
		snprintf(auth, sizeof(auth), "xi-api-key: %s\r\n", cfg.key);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.headers = auth;
	req.ctype = "application/json";
	req.body = body;
	req.len = strlen(body);

	err = net_http(&cfg.opts, &req, &resp, body_h, &sy);
	if (sy.err) {
		log_warn(DEBUG_MODULE, NULL, "speech: bad audio in the "
			 "response: %s", net_last_error());
		err = sy.err;
		goto out;
	}
	if (err == ECANCELED && net_pcm_stopped(sy.pc)) {
		err = 0;           /* the handler asked to stop */
		goto out;
	}
	if (err) {
		log_warn(DEBUG_MODULE, NULL, "speech request failed after %u "
			 "attempt(s)%s: %m%s%s", resp.attempts,
			 resp.delivered ? ", audio cut" : "", err,
			 net_last_error()[0] ? " - " : "", net_last_error());
		if (resp.delivered)
			(void)net_pcm_end(sy.pc);
		goto out;
	}
	if (resp.status != 200) {
		net_scrub(resp.err, cfg.key);
		log_warn(DEBUG_MODULE, NULL, "speech: HTTP %d%s%s",
			 resp.status, resp.err[0] ? ": " : "", resp.err);
		err = resp.status == 401 || resp.status == 403 ? EACCES :
			EPROTO;
		goto out;
	}
	err = net_pcm_end(sy.pc);
	if (!err && !net_pcm_samples_out(sy.pc)) {
		log_warn(DEBUG_MODULE, NULL, "speech: response without audio");
		err = ENODATA;
	}

 out:
	mem_deref(sy.pc);
	mem_deref(body);
	memset(auth, 0, sizeof(auth));
	return err;
}


const struct tts_ops tts_elevenlabs = {
	.name  = "elevenlabs",
	.init  = el_tts_init,
	.close = el_tts_close,
	.alloc = el_tts_alloc,
	.synth = el_tts_synth,
};
