/*
 * netengine.h  What the network speech engines (stt_openai, stt_deepgram,
 *              tts_openai, tts_elevenlabs) share: their URL / API key /
 *              network settings, the authenticated POST, the way a failed
 *              or refused request is logged and mapped to an error, and
 *              the streaming speech request of the HTTP TTS engines.
 *
 * Settings are written by the engine's init on the main thread and
 * read-only afterwards; the requests run on worker threads.  Messages are
 * logged under the calling engine's module name.
 */
#ifndef AGENTLINE_NETENGINE_H
#define AGENTLINE_NETENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include "engines/engine.h"
#include "engines/netclient.h"

struct conf;

/* Embedded in the engine's static settings. */
struct net_engine {
	char url[512];            /* base URL, no trailing path          */
	char key[512];            /* API key, "" if none                 */
	struct net_opts opts;     /* ca_file points at ca below          */
	char ca[512];
};

/* Main thread (engine init): net_check_setup() on url_key / key_key,
 * then the URL, the key and the net_* options with timeout_key as the
 * total timeout, copied out of conf.  EINVAL (logged) on a bad setup. */
int  net_engine_conf(struct net_engine *ne, const struct conf *conf,
		     const char *module, const char *url_key,
		     const char *key_key, const char *cloud_host, bool ws,
		     const char *timeout_key);
/* The key as one header line "<auth_prefix><key>\r\n" into buf ("" when
 * there is no key); the caller wipes buf after use. */
void net_engine_auth(const struct net_engine *ne, const char *auth_prefix,
		     char *buf, size_t sz);
/* net_http() POST of body to url with the key header. */
int  net_engine_post(const struct net_engine *ne, const char *url,
		     const char *auth_prefix, const char *ctype,
		     const void *body, size_t len, struct net_resp *resp,
		     net_body_h *bodyh, void *arg);
/* Log "<what> request failed after N attempt(s)[, audio cut]: <err>"
 * with the client's detail. */
void net_engine_log_fail(const char *module, const char *what,
			 const struct net_resp *resp, int err, bool cut);
/* 0 for HTTP 200; otherwise logs "<what>: HTTP <status>: <body>" (key
 * scrubbed out of the body) and returns EACCES (401, 403) or EPROTO. */
int  net_engine_status(const struct net_engine *ne, const char *module,
		       const char *what, struct net_resp *resp);

/* Worker thread: POST the JSON body to url and stream the answer (PCM16
 * raw at raw_rate, or WAV) to audioh at 16 kHz.  A handler returning
 * true stops the download and gives 0; ENODATA for a response without
 * audio. */
int  net_engine_speak(const struct net_engine *ne, const char *module,
		      const char *url, const char *auth_prefix,
		      const char *body, unsigned raw_rate,
		      tts_audio_h *audioh, void *arg);
/* A TTS session of an engine whose sessions hold no state. */
int  net_engine_tts_alloc(void **stp, const struct conf *conf);

#endif
