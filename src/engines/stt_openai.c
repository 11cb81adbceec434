/*
 * stt_openai.c  OpenAI-compatible transcription: POST
 *               {stt_url}/v1/audio/transcriptions (multipart: file = the
 *               utterance as a 16 kHz mono WAV, model, language) and
 *               read {"text": "..."}.
 *
 * Works with OpenAI, faster-whisper-server / speaches, whisper.cpp's
 * server and mlx-audio, which serve the same endpoint.  Not streaming:
 * feed() only buffers (bounded by MAX_SECS), finish() makes the request
 * on the worker thread, retried once on a connect failure or 5xx.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/engine.h"
#include "engines/netengine.h"

#define DEBUG_MODULE "stt_openai"

enum {
	RATE = 16000,
	MAX_SECS = 60,            /* longer utterances are cut          */
	RESP_MAX = 64 * 1024,     /* JSON answer                        */
};

/* written by init on the main thread, read-only afterwards */
static struct {
	struct net_engine net;
	char model[128];
} cfg;

struct openai_stt {
	int16_t *pcm;             /* mem object, MAX_SECS of audio      */
	size_t n;
	bool cut;
	char language[16];
};

struct resp_buf {
	char *p;
	size_t n;
	bool over;
};


static int openai_stt_init(const struct conf *conf)
{
	int err;

	err = net_engine_conf(&cfg.net, conf, DEBUG_MODULE, "stt_url",
			      "stt_api_key", "api.openai.com", false,
			      "stt_timeout_ms");
	if (err)
		return err;
	str_ncpy(cfg.model, conf_str(conf, "stt_model"), sizeof(cfg.model));
	return 0;
}


static void openai_stt_close(void)
{
	memset(&cfg, 0, sizeof(cfg));
}


static void sess_destructor(void *arg)
{
	struct openai_stt *s = arg;

	mem_deref(s->pcm);
}


static int openai_stt_alloc(void **stp, const struct conf *conf)
{
	struct openai_stt *s;

	(void)conf;
	if (!stp)
		return EINVAL;
	s = mem_zalloc(sizeof(*s), sess_destructor);
	if (!s)
		return ENOMEM;
	s->pcm = mem_alloc(RATE * MAX_SECS * sizeof(int16_t), NULL);
	if (!s->pcm) {
		mem_deref(s);
		return ENOMEM;
	}
	*stp = s;
	return 0;
}


static int openai_stt_start(void *st, const struct stt_turn *turn,
			    stt_partial_h *ph, void *arg)
{
	struct openai_stt *s = st;

	(void)ph;
	(void)arg;
	if (!s)
		return EINVAL;
	s->n = 0;
	s->cut = false;
	str_ncpy(s->language, turn && turn->language ? turn->language : "",
		 sizeof(s->language));
	return 0;
}


static int openai_stt_feed(void *st, const int16_t *pcm, size_t n)
{
	struct openai_stt *s = st;
	size_t room;

	if (!s || (!pcm && n))
		return EINVAL;
	room = RATE * MAX_SECS - s->n;
	if (n > room) {
		n = room;
		s->cut = true;
	}
	memcpy(s->pcm + s->n, pcm, n * sizeof(int16_t));
	s->n += n;
	return 0;
}


static bool resp_h(const uint8_t *p, size_t n, void *arg)
{
	struct resp_buf *r = arg;

	if (r->n + n > RESP_MAX) {
		r->over = true;
		return true;
	}
	memcpy(r->p + r->n, p, n);
	r->n += n;
	return false;
}


static void trim_copy(char *dst, size_t sz, const char *src)
{
	size_t l;

	while (*src == ' ' || *src == '\n' || *src == '\t' || *src == '\r')
		++src;
	str_ncpy(dst, src, sz);
	l = strlen(dst);
	while (l && (dst[l - 1] == ' ' || dst[l - 1] == '\n' ||
		     dst[l - 1] == '\t' || dst[l - 1] == '\r'))
		dst[--l] = '\0';
}


/* Worker thread. */
static int openai_stt_finish(void *st, struct stt_result *res)
{
	struct openai_stt *s = st;
	struct mbuf *mb = NULL;
	struct odict *od = NULL;
	struct resp_buf rb = {NULL, 0, false};
	struct net_resp resp;
	char boundary[64], ctype[96], url[600];
	uint8_t wav[44];
	const char *text;
	int err;

	if (!s || !res)
		return EINVAL;
	memset(res, 0, sizeof(*res));
	res->confidence = -1;
	if (!s->n)
		return 0;
	if (s->cut)
		log_warn(DEBUG_MODULE, NULL, "utterance longer than %d s: "
			 "cut", MAX_SECS);

	mb = mbuf_alloc(s->n * 2 + 1024);
	rb.p = mem_alloc(RESP_MAX, NULL);
	if (!mb || !rb.p) {
		err = ENOMEM;
		goto out;
	}
	net_multipart_boundary(boundary, sizeof(boundary));
	net_wav_header(wav, RATE, (uint32_t)s->n);
	{
		/* the WAV is written in two parts: header, then samples */
		err = mbuf_printf(mb, "--%s\r\nContent-Disposition: "
				  "form-data; name=\"file\"; "
				  "filename=\"audio.wav\"\r\nContent-Type: "
				  "audio/wav\r\n\r\n", boundary);
		err |= mbuf_write_mem(mb, wav, sizeof(wav));
		err |= mbuf_write_mem(mb, (const uint8_t *)s->pcm,
				      s->n * sizeof(int16_t));
		err |= mbuf_write_str(mb, "\r\n");
		if (err) {
			err = ENOMEM;
			goto out;
		}
	}
	err = net_multipart_field(mb, boundary, "model", NULL, NULL,
				  cfg.model, strlen(cfg.model));
	if (!err && s->language[0])
		err = net_multipart_field(mb, boundary, "language", NULL, NULL,
					  s->language, strlen(s->language));
	if (!err)
		err = net_multipart_field(mb, boundary, "response_format",
					  NULL, NULL, "json", 4);
	if (!err)
		err = net_multipart_end(mb, boundary);
	if (err)
		goto out;

	snprintf(url, sizeof(url), "%s/v1/audio/transcriptions",
		 cfg.net.url);
	snprintf(ctype, sizeof(ctype), "multipart/form-data; boundary=%s",
		 boundary);
	err = net_engine_post(&cfg.net, url, "Authorization: Bearer ", ctype,
			      mb->buf, mb->end, &resp, resp_h, &rb);
	if (rb.over) {
		log_warn(DEBUG_MODULE, NULL, "transcription response larger "
			 "than %d bytes", RESP_MAX);
		err = EOVERFLOW;
		goto out;
	}
	if (err) {
		net_engine_log_fail(DEBUG_MODULE, "transcription", &resp, err,
				    false);
		goto out;
	}
	err = net_engine_status(&cfg.net, DEBUG_MODULE, "transcription",
				&resp);
	if (err)
		goto out;
	err = net_json_decode(&od, rb.p, rb.n);
	text = err ? NULL : net_json_str(od, "text");
	if (!text) {
		log_warn(DEBUG_MODULE, NULL, "transcription: response is not "
			 "JSON with a \"text\" string");
		err = EBADMSG;
		goto out;
	}
	trim_copy(res->text, sizeof(res->text), text);

 out:
	s->n = 0;
	mem_deref(od);
	mem_deref(rb.p);
	mem_deref(mb);
	return err;
}


static void openai_stt_cancel(void *st)
{
	struct openai_stt *s = st;

	if (s)
		s->n = 0;
}


const struct stt_ops stt_openai = {
	.name   = "openai",
	.init   = openai_stt_init,
	.close  = openai_stt_close,
	.alloc  = openai_stt_alloc,
	.start  = openai_stt_start,
	.feed   = openai_stt_feed,
	.finish = openai_stt_finish,
	.cancel = openai_stt_cancel,
};
