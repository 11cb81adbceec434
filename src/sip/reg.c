/*
 * reg.c  SIP accounts and registrations with our own backoff.
 *
 * libre's sipreg refreshes a registration and retries digest challenges;
 * on a final failure we drop it and start a fresh one after a backoff of
 * 1 s doubling to 30 s with jitter, so a wrong password never turns into a
 * tight loop and a dropped connection is re-established promptly.
 */
#include <string.h>
#include <re.h>
#include "core/conf.h"
#include "core/events.h"
#include "core/log.h"
#include "sip/reg.h"
#include "sip/ua.h"
#include "sip/ws.h"

#define MOD "reg"

enum {
	REG_MAX_ACCOUNTS = 100,
	BACKOFF_MIN_MS = 1000,
	BACKOFF_MAX_MS = 30000,
	KEEPALIVE_SECS = 30,
};

struct account {
	struct le le;
	unsigned n;             /* 0 = unnumbered keys, else key suffix  */
	char tag[8];            /* log id: "ext1"                        */
	char *ext, *user, *pass;
	char *aor, *reg_uri, *route, *host;
	/* registration state */
	struct sipreg *reg;
	struct sip_keepalive *ka;
	struct tmr tmr;
	unsigned failc;
	uint32_t expires;
	unsigned auth_tries;    /* challenges answered in this attempt    */
	unsigned ws_gen;        /* WebSocket the registration stands on   */
	bool registered;
	bool shutting_down;
	uint16_t last_code;
};

static struct list accounts;


uint32_t reg_backoff_ms(unsigned failc)
{
	uint64_t d = BACKOFF_MIN_MS;
	uint32_t jittered;

	if (failc > 1)
		d <<= (failc - 1 > 5 ? 5 : failc - 1);
	if (d > BACKOFF_MAX_MS)
		d = BACKOFF_MAX_MS;
	/* jitter: 75 %..125 %, clamped to the range */
	jittered = (uint32_t)(d * (750 + rand_u16() % 501) / 1000);
	if (jittered < BACKOFF_MIN_MS)
		jittered = BACKOFF_MIN_MS;
	if (jittered > BACKOFF_MAX_MS)
		jittered = BACKOFF_MAX_MS;
	return jittered;
}


static void account_destructor(void *arg)
{
	struct account *acc = arg;

	tmr_cancel(&acc->tmr);
	list_unlink(&acc->le);
	mem_deref(acc->ka);
	mem_deref(acc->reg);
	mem_deref(acc->ext);
	mem_deref(acc->user);
	if (acc->pass) {
		memset(acc->pass, 0, strlen(acc->pass));
		mem_deref(acc->pass);
	}
	mem_deref(acc->aor);
	mem_deref(acc->reg_uri);
	mem_deref(acc->route);
	mem_deref(acc->host);
}


int account_auth_handler(char **username, char **password,
			 const char *realm, void *arg)
{
	struct account *acc = arg;
	int err;
	(void)realm;

	if (!acc || !acc->pass)
		return EAUTH;
	err  = str_dup(username, acc->user);
	err |= str_dup(password, acc->pass);
	return err;
}


/* libre's sipreg forgets the realm before each 401, so it would answer
 * a rejected password again and again (~15 REGISTERs) until its loop
 * detection stops it. Answer at most two challenges per attempt (one
 * more for a stale nonce); the next one fails the attempt at once. */
static int reg_auth_handler(char **username, char **password,
			    const char *realm, void *arg)
{
	struct account *acc = arg;

	if (++acc->auth_tries > 2)
		return EAUTH;
	return account_auth_handler(username, password, realm, arg);
}


static const char *failure_text(int err, const struct sip_msg *msg)
{
	if (!msg) {
		switch (err) {
		case ETIMEDOUT:
			return "no response from the registrar (timeout)";
		case ECONNREFUSED:
			return "connection refused by the registrar";
		case ECONNRESET:
		case EPIPE:
			return "connection to the registrar dropped or TLS "
				"handshake failed (see certificate messages)";
		default:
			return "transport error";
		}
	}
	switch (msg->scode) {
	case 401:
	case 407:
		return "wrong credentials (username or password rejected)";
	case 403:
		return "wrong credentials or account not allowed (forbidden)";
	case 404:
		return "unknown extension (the registrar does not know it)";
	case 423:
		return "interval too brief, even after using Min-Expires";
	case 503:
		return "registrar unavailable";
	default:
		return "registrar refused the registration";
	}
}


static void start_tmr_handler(void *arg);
static void drop_tmr_handler(void *arg);


static void keepalive_handler(int err, void *arg)
{
	struct account *acc = arg;

	if (acc->shutting_down)
		return;
	log_warn(MOD, acc->tag, "connection to the registrar lost (%m): "
		 "registering again", err);
	acc->registered = false;
	events_emit("registration_failed", NULL,
		    ",\"account\":\"%s\",\"code\":0,\"reason\":\"connection "
		    "lost\"", acc->tag);
	tmr_start(&acc->tmr, 0, drop_tmr_handler, acc);
}


static void reg_resp_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct account *acc = arg;
	uint32_t delay;

	if (acc->shutting_down)
		return;

	if (!err && msg && msg->scode >= 200 && msg->scode < 300) {
		uint32_t exp = sipreg_proxy_expires(acc->reg);

		if (!acc->registered) {
			log_info(MOD, acc->tag,
				 "SIP registration established (expires %u s)",
				 exp);
			events_emit("registered", NULL,
				    ",\"account\":\"%s\",\"expires\":%u",
				    acc->tag, exp);
		}
		else {
			log_debug(MOD, acc->tag, "registration refreshed "
				  "(expires %u s)", exp);
		}
		acc->registered = true;
		acc->ws_gen = ws_generation();
		acc->failc = 0;
		acc->auth_tries = 0;
		acc->last_code = msg->scode;

		/* notice a dropped TCP/TLS connection without waiting for
		 * the next refresh */
		if (!acc->ka && (msg->tp == SIP_TRANSP_TCP ||
				 msg->tp == SIP_TRANSP_TLS))
			(void)sip_keepalive_start(&acc->ka, ua_sip(), msg,
						  KEEPALIVE_SECS,
						  keepalive_handler, acc);
		return;
	}

	if (msg && msg->scode < 200)
		return;

	acc->registered = false;
	acc->auth_tries = 0;
	acc->failc++;
	delay = reg_backoff_ms(acc->failc);
	if (err)
		log_warn(MOD, acc->tag, "SIP registration failed: %s (%m); "
			 "retrying in %u.%u s", failure_text(err, msg), err,
			 delay / 1000, (delay % 1000) / 100);
	else
		log_warn(MOD, acc->tag, "SIP registration failed: %s (%u); "
			 "retrying in %u.%u s", failure_text(err, msg),
			 msg ? msg->scode : 0, delay / 1000,
			 (delay % 1000) / 100);
	events_emit("registration_failed", NULL,
		    ",\"account\":\"%s\",\"code\":%u,\"reason\":\"%s\","
		    "\"retry_ms\":%u", acc->tag, msg ? msg->scode : 0,
		    failure_text(err, msg), delay);
	acc->last_code = msg ? msg->scode : 0;

	/* libre would retry on its own schedule: replace it with ours */
	tmr_start(&acc->tmr, 0, drop_tmr_handler, acc);
}


static int account_register(struct account *acc)
{
	int err;

	acc->auth_tries = 0;
	err = sipreg_register(&acc->reg, ua_sip(), acc->reg_uri, acc->aor,
			      NULL, acc->aor,
			      acc->expires,
			      acc->ext, NULL, 0, 0,
			      reg_auth_handler, acc, false,
			      reg_resp_handler, acc, NULL, "%s", "");
	if (err)
		log_warn(MOD, acc->tag, "cannot send REGISTER: %m", err);
	return err;
}


static void start_tmr_handler(void *arg)
{
	struct account *acc = arg;

	if (acc->shutting_down)
		return;
	if (account_register(acc)) {
		acc->failc++;
		tmr_start(&acc->tmr, reg_backoff_ms(acc->failc),
			  start_tmr_handler, acc);
	}
}


static void drop_tmr_handler(void *arg)
{
	struct account *acc = arg;

	acc->ka = mem_deref(acc->ka);
	acc->reg = mem_deref(acc->reg);
	tmr_start(&acc->tmr, reg_backoff_ms(acc->failc ? acc->failc : 1),
		  start_tmr_handler, acc);
}


static int host_fmt(char *buf, size_t sz, const char *host, int64_t port)
{
	bool v6 = strchr(host, ':') && host[0] != '[';

	if (port > 0)
		return re_snprintf(buf, sz, "%s%s%s:%lld", v6 ? "[" : "", host,
				   v6 ? "]" : "", (long long)port) < 0;
	return re_snprintf(buf, sz, "%s%s%s", v6 ? "[" : "", host,
			   v6 ? "]" : "") < 0;
}


static int account_alloc(const struct conf *conf, unsigned n,
			 const char *tparam)
{
	struct account *acc;
	char key[48], hp[300];
	const char *ext, *user, *pass, *host;
	int err;

	if (n)
		re_snprintf(key, sizeof(key), "sip_extension_%u", n);
	else
		str_ncpy(key, "sip_extension", sizeof(key));
	ext = conf_str(conf, key);
	if (!ext || !*ext)
		return 0;

	if (n)
		re_snprintf(key, sizeof(key), "sip_username_%u", n);
	else
		str_ncpy(key, "sip_username", sizeof(key));
	user = conf_str(conf, key);
	if (!user || !*user)
		user = ext;

	if (n)
		re_snprintf(key, sizeof(key), "sip_password_%u", n);
	else
		str_ncpy(key, "sip_password", sizeof(key));
	pass = conf_str(conf, key);
	if (ws_active()) {
		/* the gateway's WebRTC edge may have its own credential */
		const char *wp;

		if (n)
			re_snprintf(key, sizeof(key), "sip_ws_password_%u", n);
		else
			str_ncpy(key, "sip_ws_password", sizeof(key));
		wp = conf_str(conf, key);
		if (wp && *wp)
			pass = wp;
	}

	host = conf_str(conf, "sip_host");
	if (host_fmt(hp, sizeof(hp), host, conf_int(conf, "sip_port")))
		return EINVAL;

	acc = mem_zalloc(sizeof(*acc), account_destructor);
	if (!acc)
		return ENOMEM;
	acc->n = n;
	acc->expires = (uint32_t)conf_int(conf, "sip_register_expires");
	re_snprintf(acc->tag, sizeof(acc->tag), "acct%u", n);
	tmr_init(&acc->tmr);

	err  = str_dup(&acc->ext, ext);
	err |= str_dup(&acc->user, user);
	if (pass)
		err |= str_dup(&acc->pass, pass);
	err |= str_dup(&acc->host, host);
	err |= re_sdprintf(&acc->reg_uri, "sip:%s%s", hp, tparam);
	err |= re_sdprintf(&acc->route, "sip:%s%s;lr", hp, tparam);
	{
		char h2[300];
		host_fmt(h2, sizeof(h2), host, 0);
		err |= re_sdprintf(&acc->aor, "sip:%s@%s", ext, h2);
	}
	if (err) {
		mem_deref(acc);
		return err;
	}

	list_append(&accounts, &acc->le, acc);
	return 0;
}


/* SIP over WebSocket: the registrar reaches us only over our own
 * connection, so its loss is the registration's loss.  Down: register
 * again with backoff (the attempts fail while the gateway is away and the
 * delay grows).  Up on a new connection (libre replaced one it dropped):
 * registrations made on the old one no longer route, renew them now. */
static void ws_conn_handler(bool up, int err, void *arg)
{
	(void)arg;

	for (struct le *le = accounts.head; le; le = le->next) {
		struct account *acc = le->data;

		if (acc->shutting_down || !acc->registered)
			continue;
		if (up && acc->ws_gen == ws_generation())
			continue;
		acc->registered = false;
		if (up) {
			log_info(MOD, acc->tag, "new WebSocket to the "
				 "gateway: registering again");
			acc->reg = mem_deref(acc->reg);
			tmr_start(&acc->tmr, 0, start_tmr_handler, acc);
			continue;
		}
		log_warn(MOD, acc->tag, "WebSocket to the gateway lost (%m): "
			 "registering again", err);
		events_emit("registration_failed", NULL,
			    ",\"account\":\"%s\",\"code\":0,\"reason\":"
			    "\"connection lost\"", acc->tag);
		tmr_start(&acc->tmr, 0, drop_tmr_handler, acc);
	}
}


int reg_init(const struct conf *conf, const char *tparam)
{
	unsigned nv[REG_MAX_ACCOUNTS];
	size_t nc;
	int err;
	struct le *le;

	list_init(&accounts);
	if (!conf_str(conf, "sip_host") || !*conf_str(conf, "sip_host"))
		return 0;

	if (ws_active())
		ws_set_handler(ws_conn_handler, NULL);
	err = account_alloc(conf, 0, tparam);
	if (err)
		return err;
	nc = conf_numbered(conf, "sip_extension", nv, REG_MAX_ACCOUNTS);
	for (size_t i = 0; i < nc; i++) {
		err = account_alloc(conf, nv[i], tparam);
		if (err)
			return err;
	}

	for (le = accounts.head; le; le = le->next) {
		struct account *acc = le->data;
		if (account_register(acc)) {
			acc->failc = 1;
			tmr_start(&acc->tmr, reg_backoff_ms(1),
				  start_tmr_handler, acc);
		}
	}
	return 0;
}


void reg_shutdown(void)
{
	struct le *le;

	for (le = accounts.head; le; le = le->next) {
		struct account *acc = le->data;
		acc->shutting_down = true;
		tmr_cancel(&acc->tmr);
		acc->ka = mem_deref(acc->ka);
		/* deref of a registered sipreg sends REGISTER Expires: 0 and
		 * keeps it alive until the response */
		if (acc->registered)
			log_info(MOD, acc->tag, "removing registration");
		acc->reg = mem_deref(acc->reg);
		acc->registered = false;
	}
}


void reg_close(void)
{
	list_flush(&accounts);
}


unsigned reg_count(void)
{
	return list_count(&accounts);
}


const char *account_tag(const struct account *acc)
{
	return acc ? acc->tag : NULL;
}


bool account_registered(const struct account *acc)
{
	return acc && acc->registered;
}


struct account *account_get(unsigned idx)
{
	struct le *le = list_head(&accounts);

	while (le && idx--)
		le = le->next;
	return le ? le->data : NULL;
}


const char *account_aor(const struct account *acc)
{
	return acc ? acc->aor : NULL;
}


const char *account_user(const struct account *acc)
{
	return acc ? acc->ext : NULL;
}


const char *account_route(const struct account *acc)
{
	return acc ? acc->route : NULL;
}


const char *account_host(const struct account *acc)
{
	return acc ? acc->host : NULL;
}
