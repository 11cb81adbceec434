/*
 * stt_deepgram.c  Deepgram streaming recognition over a WebSocket:
 *                 {deepgram_url}/v1/listen?encoding=linear16&
 *                 sample_rate=16000&channels=1&interim_results=true&...
 *                 with Authorization: Token {key}.
 *
 * One connection per caller turn: start() connects (it runs when the
 * caller starts speaking, so the handshake overlaps the speech), feed()
 * sends the audio as binary frames and picks up interim results for the
 * partial handler without waiting, finish() sends CloseStream and
 * collects the final results (is_final; channel.alternatives[0]
 * .transcript, concatenated) until Deepgram's Metadata message or its
 * close, bounded by stt_timeout_ms.  Worker thread; one thread per
 * session at a time.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/engine.h"
#include "engines/netengine.h"

#define DEBUG_MODULE "stt_deepgram"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "stt_deepgram sends host-order samples as linear16 (little endian)"
#endif

/* written by init on the main thread, read-only afterwards */
static struct {
	struct net_engine net;
	char model[64];
} cfg;

struct dg_stt {
	struct ws_conn *ws;
	stt_partial_h *ph;
	void *arg;
	char final[1024];
	size_t flen;
	double conf_sum;
	unsigned nconf;
	bool metadata;          /* the server's last message arrived */
	int err;                /* a failure during start/feed */
};


static int dg_init(const struct conf *conf)
{
	int err;

	err = net_engine_conf(&cfg.net, conf, DEBUG_MODULE, "deepgram_url",
			      "deepgram_api_key", "api.deepgram.com", true,
			      "stt_timeout_ms");
	if (err)
		return err;
	str_ncpy(cfg.model, conf_str(conf, "deepgram_model"),
		 sizeof(cfg.model));
	if (strspn(cfg.model, "abcdefghijklmnopqrstuvwxyz0123456789-_.") !=
	    strlen(cfg.model) || !cfg.model[0]) {
		log_error(DEBUG_MODULE, NULL, "deepgram_model: \"%s\" is not "
			  "a model name", cfg.model);
		memset(&cfg, 0, sizeof(cfg));   /* no key kept */
		return EINVAL;
	}
	return 0;
}


static void dg_close(void)
{
	memset(&cfg, 0, sizeof(cfg));
}


static void sess_destructor(void *arg)
{
	struct dg_stt *s = arg;

	mem_deref(s->ws);
}


static int dg_alloc(void **stp, const struct conf *conf)
{
	struct dg_stt *s;

	(void)conf;
	if (!stp)
		return EINVAL;
	s = mem_zalloc(sizeof(*s), sess_destructor);
	if (!s)
		return ENOMEM;
	*stp = s;
	return 0;
}


static void append(struct dg_stt *s, const char *t)
{
	size_t l = strlen(t);

	if (!l)
		return;
	if (s->flen && s->flen + 1 < sizeof(s->final))
		s->final[s->flen++] = ' ';
	if (l > sizeof(s->final) - 1 - s->flen)
		l = sizeof(s->final) - 1 - s->flen;
	memcpy(s->final + s->flen, t, l);
	s->flen += l;
	s->final[s->flen] = '\0';
}


/* One message from Deepgram. */
static int msg_h(enum ws_opcode op, const uint8_t *p, size_t n, void *arg)
{
	struct dg_stt *s = arg;
	const struct odict_entry *e;
	struct odict *od = NULL;
	const char *type, *text;
	bool fin = false;

	if (op != WS_TEXT)
		return 0;
	if (net_json_decode(&od, (const char *)p, n)) {
		log_debug(DEBUG_MODULE, NULL, "ignored a non-JSON message");
		return 0;
	}
	type = net_json_str(od, "type");
	if (type && !strcmp(type, "Metadata")) {
		s->metadata = true;
		goto out;
	}
	if (!type || strcmp(type, "Results"))
		goto out;
	text = net_json_str(od, "channel.alternatives.0.transcript");
	if (!text)
		goto out;
	e = net_json_path(od, "is_final");
	fin = e && e->type == ODICT_BOOL && e->u.boolean;
	if (fin) {
		append(s, text);
		e = net_json_path(od, "channel.alternatives.0.confidence");
		if (e && *text && (e->type == ODICT_DOUBLE ||
				   e->type == ODICT_INT)) {
			s->conf_sum += e->type == ODICT_DOUBLE ? e->u.dbl :
				(double)e->u.integer;
			s->nconf++;
		}
	}
	else if (s->ph && *text) {
		char part[1024];

		re_snprintf(part, sizeof(part), "%s%s%s", s->final,
			 s->flen ? " " : "", text);
		s->ph(part, s->arg);
	}
 out:
	mem_deref(od);
	return 0;
}


static int dg_start(void *st, const struct stt_turn *turn,
		    stt_partial_h *ph, void *arg)
{
	struct dg_stt *s = st;
	char url[800], auth[600], lang[16] = "en";
	int status = 0, err;

	if (!s)
		return EINVAL;
	s->ws = mem_deref(s->ws);
	s->ph = ph;
	s->arg = arg;
	s->final[0] = '\0';
	s->flen = 0;
	s->conf_sum = 0;
	s->nconf = 0;
	s->metadata = false;
	s->err = 0;
	if (turn && turn->language && *turn->language &&
	    strspn(turn->language, "abcdefghijklmnopqrstuvwxyz"
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZ-") == strlen(turn->language))
		str_ncpy(lang, turn->language, sizeof(lang));

	snprintf(url, sizeof(url), "%s/v1/listen?encoding=linear16&"
		 "sample_rate=16000&channels=1&interim_results=true&"
		 "punctuate=true&model=%s&language=%s", cfg.net.url,
		 cfg.model, lang);
	net_engine_auth(&cfg.net, "Authorization: Token ", auth,
			sizeof(auth));
	err = ws_connect(&s->ws, url, auth, &cfg.net.opts, &status);
	memset(auth, 0, sizeof(auth));
	if (err) {
		if (status && status != 101)
			log_warn(DEBUG_MODULE, NULL, "connect refused: HTTP %d%s",
				 status, status == 401 ? " (check "
				 "deepgram_api_key)" : "");
		else
			log_warn(DEBUG_MODULE, NULL, "connect failed: %m%s%s",
				 err, net_last_error()[0] ? " - " : "",
				 net_last_error());
		s->err = status == 401 || status == 403 ? EACCES : err;
		return s->err;
	}
	return 0;
}


static void stream_ended(struct dg_stt *s, int err)
{
	if (err == ENOTCONN && ws_close_code(s->ws) == 1000)
		return;
	if (err == ENOTCONN)
		log_warn(DEBUG_MODULE, NULL, "server closed the stream (code "
			 "%u)", ws_close_code(s->ws));
	else
		log_warn(DEBUG_MODULE, NULL, "stream failed: %m%s%s", err,
			 net_last_error()[0] ? " - " : "", net_last_error());
	s->err = err == ENOTCONN ? ECONNRESET : err;
}


static int dg_feed(void *st, const int16_t *pcm, size_t n)
{
	struct dg_stt *s = st;
	int err;

	if (!s || (!pcm && n))
		return EINVAL;
	if (s->err)
		return s->err;
	if (!s->ws)
		return ENOTCONN;
	if (!n)
		return 0;
	err = ws_send(s->ws, WS_BINARY, pcm, n * sizeof(int16_t));
	if (err) {
		/* the server may have said why before it went: read its
		 * close frame if it is there */
		int e2;

		do {
			e2 = ws_poll(s->ws, 0, msg_h, s);
		} while (!e2);
		stream_ended(s, e2 == ENOTCONN ? ENOTCONN : err);
		return s->err;
	}
	/* interim results that have arrived meanwhile, without waiting */
	do {
		err = ws_poll(s->ws, 0, msg_h, s);
	} while (!err);
	if (err != ETIMEDOUT) {
		stream_ended(s, err);
		return s->err;
	}
	return 0;
}


static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


/* Worker thread. */
static int dg_finish(void *st, struct stt_result *res)
{
	static const char closemsg[] = "{\"type\":\"CloseStream\"}";
	struct dg_stt *s = st;
	uint64_t t_end;
	int err = 0;

	if (!s || !res)
		return EINVAL;
	memset(res, 0, sizeof(*res));
	res->confidence = -1;
	if (!s->ws && !s->err)
		return ENOTCONN;

	if (!s->err) {
		err = ws_send(s->ws, WS_TEXT, closemsg, sizeof(closemsg) - 1);
		if (err)
			stream_ended(s, err);
	}
	t_end = now_ms() + cfg.net.opts.total_ms;
	while (!s->err && !s->metadata) {
		uint64_t t = now_ms();

		if (t >= t_end) {
			log_warn(DEBUG_MODULE, NULL, "no final result within "
				 "stt_timeout_ms");
			s->err = ETIMEDOUT;
			break;
		}
		err = ws_poll(s->ws, (uint32_t)(t_end - t), msg_h, s);
		if (err && err != ETIMEDOUT) {
			if (err != ENOTCONN || ws_close_code(s->ws) != 1000)
				stream_ended(s, err);
			break;
		}
	}
	err = s->err;
	s->ws = mem_deref(s->ws);
	str_ncpy(res->text, s->final, sizeof(res->text));
	if (s->nconf)
		res->confidence = (float)(s->conf_sum / s->nconf);
	if (err && s->flen) {
		log_warn(DEBUG_MODULE, NULL, "using the %zu characters "
			 "recognised before the failure", s->flen);
		err = 0;
	}
	s->err = 0;
	return err;
}


static void dg_cancel(void *st)
{
	struct dg_stt *s = st;

	if (!s)
		return;
	s->ws = mem_deref(s->ws);
	s->err = 0;
	s->flen = 0;
	s->final[0] = '\0';
}


const struct stt_ops stt_deepgram = {
	.name   = "deepgram",
	.init   = dg_init,
	.close  = dg_close,
	.alloc  = dg_alloc,
	.start  = dg_start,
	.feed   = dg_feed,
	.finish = dg_finish,
	.cancel = dg_cancel,
};
