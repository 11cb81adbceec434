/*
 * api_webhook.c  Call lifecycle events as signed JSON POSTs to
 *                event_webhook_url (and _2, _3, ...), on libre's
 *                asynchronous HTTP client: never blocks the main loop, so
 *                never a call.
 *
 * Body: {"event":..,"call":..,"ts":..,"delivery":N,"data":{the bus event,
 * DTMF masked}} (+ "duration_secs" and "direction" on call_ended).
 * Headers: X-Agentline-Event, X-Agentline-Delivery, X-Agentline-Timestamp
 * and, with event_webhook_secret, X-Agentline-Signature:
 * sha256=hex(HMAC-SHA256(secret, timestamp + "." + body)).
 * Retries: connection errors, timeouts (10 s), 429 and 5xx, after 1, 2, 4,
 * 8 and 16 s; then the delivery is dropped with a warning.  At most
 * QUEUE_MAX deliveries wait; the oldest goes first when full.
 * api_webhook_post() sends other JSON (outbound task call results) the
 * same way to a URL of its own, with an optional bearer token.
 *
 * Main thread only.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "api/apiint.h"

#define MOD "webhook"

enum {
	URLS_MAX     = 16,
	QUEUE_MAX    = 256,
	ATTEMPTS     = 6,
	ATTEMPT_MS   = 10000,
	URL_MAX      = 1024,
};

struct delivery {
	struct le le;
	unsigned url;                /* index into wh.urls                */
	char *dest;                  /* else this URL (api_webhook_post)  */
	char *token;                 /* its bearer token, or NULL         */
	uint64_t id;
	char event[32];
	char *body;
	unsigned attempt;
	struct http_req *req;
	struct tmr tmr;
	uint64_t ts;                 /* X-Agentline-Timestamp             */
	bool answered;               /* this attempt has its outcome      */
	int err;
	uint16_t scode;
};

static struct {
	struct dnsc *dnsc;
	struct http_cli *cli;
	char *urls[URLS_MAX];
	unsigned nurls;
	char *secret;
	struct list queue;
	uint64_t seq;
	uint64_t sent, failed, dropped;
} wh;

static void attempt(void *arg);


static const char *const lifecycle[] = {
	"call_incoming", "call_outgoing", "call_answered", "call_outcome",
	"call_rejected", "call_ended", "message_taken", "registered",
	"registration_failed",
};


static void delivery_destructor(void *arg)
{
	struct delivery *d = arg;

	tmr_cancel(&d->tmr);
	list_unlink(&d->le);
	mem_deref(d->req);
	mem_deref(d->body);
	mem_deref(d->dest);
	mem_deref(d->token);
}


/* "webhook 2" or "outbound_result_url" in log lines */
static int dest_h(struct re_printf *pf, void *arg)
{
	const struct delivery *d = arg;

	if (d->dest)
		return re_hprintf(pf, "%s", d->event);
	return re_hprintf(pf, "webhook %u", d->url + 1);
}


static int auth_h(struct re_printf *pf, void *arg)
{
	const struct delivery *d = arg;

	if (!d->token)
		return 0;
	return re_hprintf(pf, "Authorization: Bearer %s\r\n", d->token);
}


/* Outside libre's handlers: drop the request, then done or retry. */
static void finish(void *arg)
{
	struct delivery *d = arg;
	char why[64];
	uint32_t delay;

	d->req = mem_deref(d->req);
	if (!d->err && d->scode >= 200 && d->scode < 300) {
		++wh.sent;
		mem_deref(d);
		return;
	}
	if (!d->err && d->scode >= 400 && d->scode < 500 &&
	    d->scode != 429) {
		++wh.failed;
		log_warn(MOD, NULL, "%H refused delivery %llu (%s): "
			 "HTTP %u", dest_h, d, (unsigned long long)d->id,
			 d->event, d->scode);
		mem_deref(d);
		return;
	}
	if (d->err)
		re_snprintf(why, sizeof(why), "%m", d->err);
	else
		re_snprintf(why, sizeof(why), "HTTP %u", d->scode);
	if (d->attempt >= ATTEMPTS) {
		++wh.failed;
		log_warn(MOD, NULL, "delivery %llu (%s) to %H dropped "
			 "after %u attempts: %s", (unsigned long long)d->id,
			 d->event, dest_h, d, d->attempt, why);
		mem_deref(d);
		return;
	}
	delay = 1000u << (d->attempt - 1);
	log_info(MOD, NULL, "delivery %llu (%s) to %H: %s; retry in "
		 "%u s", (unsigned long long)d->id, d->event, dest_h, d, why,
		 delay / 1000);
	tmr_start(&d->tmr, delay, attempt, d);
}


static void resp_handler(int err, const struct http_msg *msg, void *arg)
{
	struct delivery *d = arg;

	if (d->answered)
		return;
	d->answered = true;
	d->err = err ? err : (msg ? 0 : EPROTO);
	d->scode = msg ? msg->scode : 0;
	tmr_start(&d->tmr, 0, finish, d);
}


static void attempt_timeout(void *arg)
{
	struct delivery *d = arg;

	d->answered = true;
	d->err = ETIMEDOUT;
	finish(d);
}


static int sign_h(struct re_printf *pf, void *arg)
{
	const struct delivery *d = arg;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char ts[24];
	int err;

	if (!wh.secret)
		return 0;
	re_snprintf(ts, sizeof(ts), "%llu", (unsigned long long)d->ts);
	{
		/* HMAC over "timestamp.body" */
		size_t tl = strlen(ts), bl = strlen(d->body);
		unsigned char *buf = mem_alloc(tl + 1 + bl, NULL);

		if (!buf)
			return ENOMEM;
		memcpy(buf, ts, tl);
		buf[tl] = '.';
		memcpy(buf + tl + 1, d->body, bl);
		if (!HMAC(EVP_sha256(), wh.secret, (int)strlen(wh.secret),
			  buf, tl + 1 + bl, md, &mdlen))
			mdlen = 0;
		mem_deref(buf);
	}
	err = re_hprintf(pf, "X-Agentline-Signature: sha256=");
	for (unsigned i = 0; i < mdlen; i++)
		err |= re_hprintf(pf, "%02x", md[i]);
	return err | re_hprintf(pf, "\r\n");
}


static void attempt(void *arg)
{
	struct delivery *d = arg;
	int err;

	++d->attempt;
	d->answered = false;
	d->err = 0;
	d->scode = 0;
	d->ts = (uint64_t)time(NULL);
	err = http_request(&d->req, wh.cli, "POST",
			   d->dest ? d->dest : wh.urls[d->url],
			   resp_handler, NULL, d,
			   "User-Agent: agentline/" AGENTLINE_VERSION "\r\n"
			   "Content-Type: application/json\r\n"
			   "X-Agentline-Event: %s\r\n"
			   "X-Agentline-Delivery: %llu\r\n"
			   "X-Agentline-Timestamp: %llu\r\n"
			   "%H%H"
			   "Content-Length: %zu\r\n"
			   "\r\n"
			   "%s",
			   d->event, (unsigned long long)d->id,
			   (unsigned long long)d->ts, sign_h, d, auth_h, d,
			   strlen(d->body), d->body);
	if (err) {
		d->answered = true;
		d->err = err;
		tmr_start(&d->tmr, 0, finish, d);
		return;
	}
	tmr_start(&d->tmr, ATTEMPT_MS, attempt_timeout, d);
}


/* At most QUEUE_MAX deliveries wait: the oldest goes. */
static void queue_make_room(void)
{
	while (list_count(&wh.queue) >= QUEUE_MAX) {
		struct delivery *old = list_ledata(list_head(&wh.queue));

		++wh.dropped;
		log_warn(MOD, NULL, "webhook queue full: delivery %llu (%s) "
			 "dropped", (unsigned long long)old->id, old->event);
		mem_deref(old);
	}
}


int api_webhook_post(const char *url, const char *token, const char *event,
		     const char *body)
{
	struct delivery *d;
	int err;

	if (!url || !event || !body)
		return EINVAL;
	if (!wh.cli)
		return ENOTCONN;
	queue_make_room();
	d = mem_zalloc(sizeof(*d), delivery_destructor);
	if (!d)
		return ENOMEM;
	d->id = ++wh.seq;
	str_ncpy(d->event, event, sizeof(d->event));
	err = str_dup(&d->dest, url);
	if (!err && token && *token)
		err = str_dup(&d->token, token);
	if (!err)
		err = str_dup(&d->body, body);
	if (err) {
		mem_deref(d);
		return err;
	}
	tmr_init(&d->tmr);
	list_append(&wh.queue, &d->le, d);
	tmr_start(&d->tmr, 0, attempt, d);
	return 0;
}


static bool wanted(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(lifecycle); i++)
		if (!strcmp(name, lifecycle[i]))
			return true;
	return false;
}


void api_webhook_event(const char *name, const char *json)
{
	const char *callid = NULL;
	struct odict *od = NULL;
	char extra[128] = "";

	if (!wh.nurls || !wanted(name))
		return;
	if (!json_decode_odict(&od, 8, json, strlen(json), 4))
		callid = odict_string(od, "call");
	if (callid && !strcmp(name, "call_ended")) {
		double secs = api_live_age(callid);
		const char *dir = api_live_direction(callid);

		if (secs >= 0)
			re_snprintf(extra, sizeof(extra),
				    ",\"duration_secs\":%.1f,\"direction\":"
				    "\"%s\"", secs, dir ? dir : "inbound");
	}

	for (unsigned u = 0; u < wh.nurls; u++) {
		struct delivery *d;

		queue_make_room();
		d = mem_zalloc(sizeof(*d), delivery_destructor);
		if (!d)
			break;
		d->url = u;
		d->id = ++wh.seq;
		str_ncpy(d->event, name, sizeof(d->event));
		if (re_sdprintf(&d->body, "{\"event\":\"%s\",\"call\":%H,"
				"\"delivery\":%llu%s,\"data\":%s}", d->event,
				api_jstr_h, (void *)(uintptr_t)callid,
				(unsigned long long)d->id, extra, json)) {
			mem_deref(d);
			break;
		}
		tmr_init(&d->tmr);
		list_append(&wh.queue, &d->le, d);
		tmr_start(&d->tmr, 0, attempt, d);
	}
	mem_deref(od);
}


/* http://host:port needs a path for libre's client */
static int url_add(const char *url)
{
	char *u = NULL;
	const char *rest;
	int err;

	if (wh.nurls >= URLS_MAX)
		return E2BIG;
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		log_error(MOD, NULL, "event_webhook_url: \"%s\" is not an "
			  "http:// or https:// URL", url);
		return EINVAL;
	}
	rest = strstr(url, "://") + 3;
	err = re_sdprintf(&u, "%s%s", url, strchr(rest, '/') ? "" : "/");
	if (err)
		return err;
	wh.urls[wh.nurls++] = u;
	return 0;
}


static int client_alloc(const struct conf *conf)
{
	struct sa nsv[8];
	uint32_t nsc = ARRAY_SIZE(nsv);
	int err;

	if (dns_srv_get(NULL, 0, nsv, &nsc) || !nsc) {
		sa_set_str(&nsv[0], "127.0.0.1", 53);
		nsc = 1;
	}
	err = dnsc_alloc(&wh.dnsc, NULL, nsv, nsc);
	if (!err)
		err = http_client_alloc(&wh.cli, wh.dnsc);
	if (err)
		return err;
	if (conf_isset(conf, "net_ca_file") && *conf_str(conf, "net_ca_file"))
		(void)http_client_add_ca(wh.cli, conf_str(conf, "net_ca_file"));
	else
		(void)http_client_add_ca(wh.cli,
					 "/etc/ssl/certs/ca-certificates.crt");
	return 0;
}


int api_webhook_init(const struct conf *conf)
{
	unsigned nv[99];
	size_t n;
	int err = 0;

	memset(&wh, 0, sizeof(wh));
	list_init(&wh.queue);
	if (conf_isset(conf, "event_webhook_url") &&
	    *conf_str(conf, "event_webhook_url"))
		err = url_add(conf_str(conf, "event_webhook_url"));
	n = conf_numbered(conf, "event_webhook_url", nv, ARRAY_SIZE(nv));
	for (size_t i = 0; i < n && !err; i++) {
		char key[48];
		const char *v;

		re_snprintf(key, sizeof(key), "event_webhook_url_%u", nv[i]);
		v = conf_str(conf, key);
		if (v && *v)
			err = url_add(v);
	}
	if (err)
		goto out;
	if (!wh.nurls) {
		/* the client alone, for api_webhook_post() */
		if (conf_isset(conf, "outbound_result_url") &&
		    *conf_str(conf, "outbound_result_url"))
			err = client_alloc(conf);
		goto out;
	}
	if (conf_isset(conf, "event_webhook_secret") &&
	    *conf_str(conf, "event_webhook_secret"))
		err = str_dup(&wh.secret, conf_str(conf,
						   "event_webhook_secret"));
	else
		log_warn(MOD, NULL, "event_webhook_url without "
			 "event_webhook_secret: deliveries are unsigned");
	if (err)
		goto out;
	err = client_alloc(conf);
	if (err)
		goto out;
	log_info(MOD, NULL, "call events go to %u webhook%s%s", wh.nurls,
		 wh.nurls > 1 ? "s" : "", wh.secret ? ", signed" : "");
 out:
	if (err)
		api_webhook_close();
	return err;
}


void api_webhook_stats(uint64_t *sent, uint64_t *failed, uint64_t *dropped)
{
	*sent = wh.sent;
	*failed = wh.failed;
	*dropped = wh.dropped;
}


void api_webhook_close(void)
{
	list_flush(&wh.queue);
	wh.cli = mem_deref(wh.cli);
	wh.dnsc = mem_deref(wh.dnsc);
	for (unsigned i = 0; i < wh.nurls; i++)
		wh.urls[i] = mem_deref(wh.urls[i]);
	wh.nurls = 0;
	if (wh.secret)
		memset(wh.secret, 0, strlen(wh.secret));
	wh.secret = mem_deref(wh.secret);
}
