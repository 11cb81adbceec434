/*
 * netengine.c  Settings, requests and error reporting shared by the
 *              network speech engines.  See netengine.h.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/netengine.h"

struct speak {
	struct net_pcm *pc;
	tts_audio_h *audioh;
	void *arg;
	int err;
};

/* the state of a session that needs none */
struct net_engine_sess {
	int dummy;
};


/* Main thread (engine init). */
int net_engine_conf(struct net_engine *ne, const struct conf *conf,
		    const char *module, const char *url_key,
		    const char *key_key, const char *cloud_host, bool ws,
		    const char *timeout_key)
{
	const char *ca, *key;
	int err;

	err = net_check_setup(conf, module, url_key, key_key, cloud_host,
			      ws);
	if (err)
		return err;
	key = conf_str(conf, key_key);
	str_ncpy(ne->url, conf_str(conf, url_key), sizeof(ne->url));
	str_ncpy(ne->key, key ? key : "", sizeof(ne->key));
	net_opts_conf(&ne->opts, conf, timeout_key);
	ca = ne->opts.ca_file;
	str_ncpy(ne->ca, ca ? ca : "", sizeof(ne->ca));
	ne->opts.ca_file = ne->ca;
	return 0;
}


void net_engine_auth(const struct net_engine *ne, const char *auth_prefix,
		     char *buf, size_t sz)
{
	if (!sz)
		return;
	buf[0] = '\0';
	if (ne->key[0])
		snprintf(buf, sz, "%s%s\r\n", auth_prefix, ne->key);
}


/* Worker thread. */
int net_engine_post(const struct net_engine *ne, const char *url,
		    const char *auth_prefix, const char *ctype,
		    const void *body, size_t len, struct net_resp *resp,
		    net_body_h *bodyh, void *arg)
{
	struct net_req req;
	char auth[600];
	int err;

	net_engine_auth(ne, auth_prefix, auth, sizeof(auth));
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.url = url;
	req.headers = auth;
	req.ctype = ctype;
	req.body = body;
	req.len = len;

	err = net_http(&ne->opts, &req, resp, bodyh, arg);
	memset(auth, 0, sizeof(auth));
	return err;
}


void net_engine_log_fail(const char *module, const char *what,
			 const struct net_resp *resp, int err, bool cut)
{
	log_warn(module, NULL, "%s request failed after %u attempt(s)%s: "
		 "%m%s%s", what, resp->attempts, cut ? ", audio cut" : "",
		 err, net_last_error()[0] ? " - " : "", net_last_error());
}


int net_engine_status(const struct net_engine *ne, const char *module,
		      const char *what, struct net_resp *resp)
{
	if (resp->status == 200)
		return 0;
	net_scrub(resp->err, ne->key);
	log_warn(module, NULL, "%s: HTTP %d%s%s", what, resp->status,
		 resp->err[0] ? ": " : "", resp->err);
	return resp->status == 401 || resp->status == 403 ? EACCES : EPROTO;
}


static bool audio_h(const int16_t *pcm, size_t n, void *arg)
{
	struct speak *sp = arg;

	return sp->audioh(pcm, n, sp->arg);
}


static bool body_h(const uint8_t *p, size_t n, void *arg)
{
	struct speak *sp = arg;
	bool stop = false;

	sp->err = net_pcm_feed(sp->pc, p, n, &stop);
	return sp->err || stop;
}


/* Worker thread; once audio was delivered a failure is returned as is
 * (the agent cannot fall back mid-sentence). */
int net_engine_speak(const struct net_engine *ne, const char *module,
		     const char *url, const char *auth_prefix,
		     const char *body, unsigned raw_rate,
		     tts_audio_h *audioh, void *arg)
{
	struct speak sp = {NULL, audioh, arg, 0};
	struct net_resp resp;
	int err;

	err = net_pcm_alloc(&sp.pc, raw_rate, audio_h, &sp);
	if (err)
		return err;

	err = net_engine_post(ne, url, auth_prefix, "application/json", body,
			      strlen(body), &resp, body_h, &sp);
	if (sp.err) {
		log_warn(module, NULL, "speech: bad audio in the response: "
			 "%s", net_last_error());
		err = sp.err;
		goto out;
	}
	if (err == ECANCELED && net_pcm_stopped(sp.pc)) {
		err = 0;           /* the handler asked to stop */
		goto out;
	}
	if (err) {
		net_engine_log_fail(module, "speech", &resp, err,
				    resp.delivered);
		if (resp.delivered)
			(void)net_pcm_end(sp.pc);
		goto out;
	}
	err = net_engine_status(ne, module, "speech", &resp);
	if (err)
		goto out;
	err = net_pcm_end(sp.pc);
	if (!err && !net_pcm_samples_out(sp.pc)) {
		log_warn(module, NULL, "speech: response without audio");
		err = ENODATA;
	}

 out:
	mem_deref(sp.pc);
	return err;
}


int net_engine_tts_alloc(void **stp, const struct conf *conf)
{
	struct net_engine_sess *s;

	(void)conf;
	if (!stp)
		return EINVAL;
	s = mem_zalloc(sizeof(*s), NULL);
	if (!s)
		return ENOMEM;
	*stp = s;
	return 0;
}
