/*
 * ua.c  The SIP user agent on libre: transports, TLS verification,
 *       admission of inbound calls, OPTIONS, drain, outbound calls.
 */
#include <string.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <re.h>
#include "core/conf.h"
#include "core/events.h"
#include "core/log.h"
#include "media/stream.h"
#include "policy/policy.h"
#include "sip/call.h"
#include "sip/reg.h"
#include "sip/ua.h"
#include "sip/ws.h"
#include "store/store.h"

#define MOD "sip"

enum {
	MAX_LISTEN = 16,
	MAX_ALLOW = 64,
	FD_MAX = 65536,
};

struct cidr {
	struct sa addr;
	unsigned bits;
};

struct listen_ent {
	enum sip_transp tp;
	struct sa addr;
};

static struct {
	struct sip *sip;
	struct sipsess_sock *sock;
	struct sip_lsnr *lsnr;
	struct dnsc *dnsc;
	struct tls *tls;
	struct listen_ent listen[MAX_LISTEN];
	size_t nlisten;
	struct cidr allow[MAX_ALLOW];
	size_t nallow;
	struct sa registrar;     /* resolved sip_host, if any */
	bool have_registrar;
	struct mstream_cfg mcfg;
	struct call_params prm;
	char *app;
	char *record_dir;
	char *host;              /* sip_host for TLS name checks */
	char *ice[4];            /* STUN/TURN URLs, TURN user and password */
	uint32_t max_calls;
	uint32_t drain_secs;
	enum sip_transp reg_tp;
	bool draining;
	struct tmr tmr_drain;
	uint64_t drain_deadline;
	ua_exit_h *exith;
	void *exit_arg;
	bool sip_closed;      /* sip_close(false) consumed our reference */
	bool sip_exited;      /* ...and libre handed it back via exith   */
} ua;


struct sip *ua_sip(void)
{
	return ua.sip;
}


struct sipsess_sock *ua_sessock(void)
{
	return ua.sock;
}



/* --- configuration helpers --- */

static int parse_transport(enum sip_transp *tp, const struct pl *pl)
{
	if (!pl_strcasecmp(pl, "udp"))
		*tp = SIP_TRANSP_UDP;
	else if (!pl_strcasecmp(pl, "tcp"))
		*tp = SIP_TRANSP_TCP;
	else if (!pl_strcasecmp(pl, "tls"))
		*tp = SIP_TRANSP_TLS;
	else if (!pl_strcasecmp(pl, "wss"))
		*tp = SIP_TRANSP_WSS;
	else
		return EINVAL;
	return 0;
}


static int parse_listen(const char *list)
{
	struct pl rest, item, proto, addr;

	pl_set_str(&rest, list);
	ua.nlisten = 0;
	while (rest.l && ua.nlisten < MAX_LISTEN) {
		struct listen_ent *le = &ua.listen[ua.nlisten];

		if (re_regex(rest.p, rest.l, "[^,]+", &item))
			break;
		pl_advance(&rest, item.l + (item.l < rest.l ? 1 : 0));
		while (item.l && item.p[0] == ' ')
			pl_advance(&item, 1);
		if (re_regex(item.p, item.l, "[a-z]+:[^ ]+", &proto, &addr))
			return EINVAL;
		if (parse_transport(&le->tp, &proto))
			return EINVAL;
		if (sa_decode(&le->addr, addr.p, addr.l))
			return EINVAL;
		ua.nlisten++;
	}
	return ua.nlisten ? 0 : EINVAL;
}


static int parse_allow(const char *list)
{
	struct pl rest, item, ip, bits;

	ua.nallow = 0;
	if (!list)
		return 0;
	pl_set_str(&rest, list);
	while (rest.l && ua.nallow < MAX_ALLOW) {
		struct cidr *c = &ua.allow[ua.nallow];

		if (re_regex(rest.p, rest.l, "[^,]+", &item))
			break;
		pl_advance(&rest, item.l + (item.l < rest.l ? 1 : 0));
		while (item.l && item.p[0] == ' ')
			pl_advance(&item, 1);
		while (item.l && item.p[item.l - 1] == ' ')
			item.l--;
		if (!item.l)
			continue;
		if (re_regex(item.p, item.l, "[^/]+/[0-9]+", &ip, &bits)) {
			ip = item;
			bits = pl_null;
		}
		if (sa_set(&c->addr, &ip, 0))
			return EINVAL;
		c->bits = pl_isset(&bits) ? pl_u32(&bits) :
			(sa_af(&c->addr) == AF_INET ? 32 : 128);
		ua.nallow++;
	}
	return 0;
}


static bool addr_in_cidr(const struct sa *a, const struct cidr *c)
{
	const uint8_t *x, *y;
	unsigned bytes, rem;
	struct sa mapped;

	if (sa_af(a) != sa_af(&c->addr)) {
		/* an IPv4-mapped IPv6 source against an IPv4 rule */
		if (sa_af(a) == AF_INET6 && sa_is_linklocal(a) == false &&
		    IN6_IS_ADDR_V4MAPPED(&a->u.in6.sin6_addr) &&
		    sa_af(&c->addr) == AF_INET) {
			sa_init(&mapped, AF_INET);
			memcpy(&mapped.u.in.sin_addr,
			       &a->u.in6.sin6_addr.s6_addr[12], 4);
			a = &mapped;
		}
		else {
			return false;
		}
	}
	if (sa_af(a) == AF_INET) {
		x = (const uint8_t *)&a->u.in.sin_addr;
		y = (const uint8_t *)&c->addr.u.in.sin_addr;
		if (c->bits > 32)
			return false;
	}
	else {
		x = a->u.in6.sin6_addr.s6_addr;
		y = c->addr.u.in6.sin6_addr.s6_addr;
		if (c->bits > 128)
			return false;
	}
	bytes = c->bits / 8;
	rem = c->bits % 8;
	if (memcmp(x, y, bytes))
		return false;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff << (8 - rem));
		if ((x[bytes] & mask) != (y[bytes] & mask))
			return false;
	}
	return true;
}


static bool inbound_allowed(const struct sa *src)
{
	if (ua.have_registrar && sa_cmp(src, &ua.registrar, SA_ADDR))
		return true;
	for (size_t i = 0; i < ua.nallow; i++) {
		if (addr_in_cidr(src, &ua.allow[i]))
			return true;
	}
	return false;
}


/* --- TLS: verify the server we connect to (libre 1.1.0 does not) --- */

static int tls_verify_cb(int ok, X509_STORE_CTX *xctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xctx,
				SSL_get_ex_data_X509_STORE_CTX_idx());

	/* as a server we accept any client certificate (SIP clients rarely
	 * present one); only servers we connect to are verified */
	if (ssl && SSL_is_server(ssl))
		return 1;
	if (!ok) {
		int e = X509_STORE_CTX_get_error(xctx);
		log_error(MOD, NULL, "TLS: server certificate rejected: %s "
			  "(depth %d)", X509_verify_cert_error_string(e),
			  X509_STORE_CTX_get_error_depth(xctx));
	}
	return ok;
}


static int tls_setup(const struct conf *conf)
{
	const char *cert = conf_str(conf, "sip_tls_cert");
	const char *key = conf_str(conf, "sip_tls_key");
	const char *ca = conf_str(conf, "sip_tls_ca");
	SSL_CTX *ctx;
	int err;

	err = tls_alloc(&ua.tls, TLS_METHOD_SSLV23, NULL, NULL);
	if (err)
		return err;
	ctx = tls_openssl_context(ua.tls);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);

	if (cert && *cert) {
		if (1 != SSL_CTX_use_certificate_chain_file(ctx, cert) ||
		    1 != SSL_CTX_use_PrivateKey_file(ctx, key && *key ?
						     key : cert,
						     SSL_FILETYPE_PEM) ||
		    1 != SSL_CTX_check_private_key(ctx)) {
			log_error(MOD, NULL, "TLS: cannot load certificate/key "
				  "(sip_tls_cert, sip_tls_key)");
			return EINVAL;
		}
	}
	else {
		err = tls_set_selfsigned_rsa(ua.tls, "agentline", 2048);
		if (err)
			return err;
	}

	if (ca && *ca) {
		if (1 != SSL_CTX_load_verify_locations(ctx, ca, NULL)) {
			log_error(MOD, NULL, "TLS: cannot load CA file "
				  "(sip_tls_ca)");
			return EINVAL;
		}
	}
	else {
		SSL_CTX_set_default_verify_paths(ctx);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_verify_cb);

	/* host name check against sip_host (the PBX we register with) */
	if (ua.host && *ua.host) {
		X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(ctx);
		struct sa tmp;
		char h[256];

		str_ncpy(h, ua.host, sizeof(h));
		if (h[0] == '[') {
			memmove(h, h + 1, strlen(h));
			h[strcspn(h, "]")] = '\0';
		}
		if (0 == sa_set_str(&tmp, h, 0))
			X509_VERIFY_PARAM_set1_ip_asc(vp, h);
		else
			X509_VERIFY_PARAM_set1_host(vp, h, 0);
		X509_VERIFY_PARAM_set_hostflags(vp,
			X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	}
	return 0;
}


/* --- requests outside a session --- */

/* libre decodes requests without From/To/Call-ID; RFC 3261 wants 400 */
static bool reply_if_incomplete(const struct sip_msg *msg)
{
	if (pl_isset(&msg->from.auri) && pl_isset(&msg->to.auri) &&
	    pl_isset(&msg->callid) && pl_isset(&msg->cseq.met))
		return false;
	log_debug(MOD, NULL, "%r from %J without From/To/Call-ID/CSeq: 400",
		  &msg->met, &msg->src);
	(void)sip_reply(ua.sip, msg, 400, "Missing Mandatory Header");
	return true;
}



static bool request_handler(const struct sip_msg *msg, void *arg)
{
	(void)arg;

	if (!pl_strcmp(&msg->met, "OPTIONS")) {
		if (reply_if_incomplete(msg))
			return true;
		if (ua.draining) {
			(void)sip_reply(ua.sip, msg, 503,
					"Service Unavailable");
			return true;
		}
		(void)sip_treplyf(NULL, NULL, ua.sip, msg, false, 200, "OK",
				  "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, "
				  "INFO\r\n"
				  "Accept: application/sdp\r\n"
				  "Content-Length: 0\r\n\r\n");
		return true;
	}
	return false;
}


/* Classify the caller (caller groups); a declined_at_sip group gets 603
 * before any media.  Returns true if the INVITE was answered here. */
static bool admit_caller(const struct sip_msg *msg, struct call_params *prm)
{
	const struct caller_class *cc;
	char grp[80];
	int err;

	err = policy_call_alloc(&prm->policy, msg, NULL, false);
	if (err) {
		(void)sip_treply(NULL, ua.sip, msg, 503, "Service Unavailable");
		return true;
	}
	cc = policy_call_class(prm->policy);
	if (!cc->declined)
		return false;
	if (policy_decline_answers() && prm->app &&
	    !strcmp(prm->app, "agent")) {
		/* decline_mode = answer: the agent says decline_message and
		 * hangs up; nothing the caller says reaches a brain */
		log_info(MOD, NULL, "INVITE from %s: group %s is declined: "
			 "answering with decline_message", *cc->redacted ?
			 cc->redacted : "withheld", cc->group);
		return false;
	}
	log_info(MOD, NULL, "INVITE from %s declined: group %s is "
		 "declined_at_sip", *cc->redacted ? cc->redacted : "withheld",
		 cc->group);
	events_emit("call_rejected", NULL, ",\"code\":603,\"reason\":"
		    "\"declined\",\"group\":\"%s\"",
		    events_esc(grp, sizeof(grp), cc->group));
	(void)sip_treply(NULL, ua.sip, msg, 603, "Decline");
	prm->policy = mem_deref(prm->policy);
	return true;
}


static void conn_handler(const struct sip_msg *msg, void *arg)
{
	struct call *call;
	char cuser[64];
	(void)arg;

	if (reply_if_incomplete(msg))
		return;

	/* over WebSocket only the gateway can reach us: ws.c connects
	 * nowhere else */
	if (!inbound_allowed(&msg->src) && msg->tp != SIP_TRANSP_WSS &&
	    msg->tp != SIP_TRANSP_WS) {
		log_warn(MOD, NULL, "INVITE from %j refused: not in "
			 "sip_inbound_allow", &msg->src);
		events_emit("call_rejected", NULL,
			    ",\"code\":403,\"reason\":\"source not allowed\"");
		(void)sip_treply(NULL, ua.sip, msg, 403, "Forbidden");
		return;
	}
	if (ua.draining) {
		events_emit("call_rejected", NULL,
			    ",\"code\":503,\"reason\":\"shutting down\"");
		(void)sip_treplyf(NULL, NULL, ua.sip, msg, false, 503,
				  "Service Unavailable",
				  "Retry-After: 30\r\nContent-Length: 0\r\n\r\n");
		return;
	}
	if (call_count() >= ua.max_calls) {
		log_info(MOD, NULL, "INVITE refused: max_calls (%u) reached",
			 ua.max_calls);
		events_emit("call_rejected", NULL,
			    ",\"code\":486,\"reason\":\"max_calls\"");
		(void)sip_treply(NULL, ua.sip, msg, 486, "Busy Here");
		return;
	}

	if (pl_isset(&msg->uri.user) && msg->uri.user.l < sizeof(cuser))
		pl_strcpy(&msg->uri.user, cuser, sizeof(cuser));
	else
		str_ncpy(cuser, "agent", sizeof(cuser));

	{
		char rec[512];
		struct call_params prm = ua.prm;
		struct mstream_cfg mcfg = ua.mcfg;

		prm.media = &mcfg;
		if (admit_caller(msg, &prm))
			return;
		if (ua.record_dir) {
			re_snprintf(rec, sizeof(rec), "%s/%llu-%08x.wav",
				    ua.record_dir,
				    (unsigned long long)time(NULL),
				    rand_u32());
			mcfg.record_path = rec;
		}
		if (call_accept(&call, msg, &prm, cuser)) {
			mem_deref(prm.policy);
			return;
		}
		mem_deref(prm.policy);   /* the call holds its own reference */
		/* so the control centre finds the call's recording */
		if (ua.record_dir)
			(void)store_call_recording(call_id(call), rec);
	}

}


static void exit_handler(void *arg)
{
	ua_exit_h *h = ua.exith;
	(void)arg;

	/* all SIP transactions (BYEs, un-REGISTERs) are done; libre keeps
	 * one reference for us to release */
	if (!arg)
		ua.sip_exited = true;
	tmr_cancel(&ua.tmr_drain);
	ua.exith = NULL;
	if (h)
		h(ua.exit_arg);
}


static int add_transports(void)
{
	bool have_tp[SIP_TRANSPC] = {false};
	int err = 0;

	for (size_t i = 0; i < ua.nlisten; i++) {
		struct listen_ent *le = &ua.listen[i];

		if (le->tp == SIP_TRANSP_TLS)
			err = sip_transp_add(ua.sip, le->tp, &le->addr,
					     ua.tls);
		else
			err = sip_transp_add(ua.sip, le->tp, &le->addr);
		if (err) {
			log_error(MOD, NULL, "cannot listen on %s:%J: %m",
				  sip_transp_name(le->tp), &le->addr, err);
			return err;
		}
		have_tp[le->tp] = true;
	}

	/* SIP over secure WebSocket: client transports only (RFC 7118: the
	 * gateway reaches us over our own connection).  A plain WS one too,
	 * so a gateway's Record-Route with ";transport=ws" (Kamailio writes
	 * that for WSS as well) is routable; ws.c sends every WebSocket to
	 * the configured gateway URL, over TLS. */
	if (ua.host && ua.reg_tp == SIP_TRANSP_WSS) {
		int af = ua.have_registrar ? sa_af(&ua.registrar) : AF_INET;
		struct sa la;

		/* the address only names us in Via/Contact (RFC 7118) */
		if (ua.have_registrar && sa_is_loopback(&ua.registrar))
			(void)sa_set_str(&la, af == AF_INET ?
					 "127.0.0.1" : "::1", 0);
		else if (net_default_source_addr_get(af, &la))
			(void)sa_set_str(&la, af == AF_INET ?
					 "127.0.0.1" : "::1", 0);
		err = sip_transp_add_websock(ua.sip, SIP_TRANSP_WSS, &la,
					     false, NULL);
		if (!err)
			err = sip_transp_add_websock(ua.sip, SIP_TRANSP_WS,
						     &la, false, NULL);
		if (err) {
			log_error(MOD, NULL, "cannot add wss transport: %m",
				  err);
			return err;
		}
		return 0;
	}

	/* registering over a transport we don't listen on: add a client
	 * side transport on an ephemeral port of the same address family */
	if (ua.have_registrar && !have_tp[ua.reg_tp]) {
		struct sa la;

		sa_init(&la, sa_af(&ua.registrar));
		if (sa_is_loopback(&ua.registrar))
			(void)sa_set_str(&la, sa_af(&ua.registrar) == AF_INET ?
					 "127.0.0.1" : "::1", 0);
		if (ua.reg_tp == SIP_TRANSP_TLS)
			err = sip_transp_add(ua.sip, ua.reg_tp, &la, ua.tls);
		else
			err = sip_transp_add(ua.sip, ua.reg_tp, &la);
		if (err) {
			log_error(MOD, NULL, "cannot add %s transport: %m",
				  sip_transp_name(ua.reg_tp), err);
			return err;
		}
	}
	return 0;
}


static int resolve_registrar(const char *host)
{
	struct addrinfo hints, *res = NULL;
	char h[256];

	str_ncpy(h, host, sizeof(h));
	if (h[0] == '[') {
		memmove(h, h + 1, strlen(h));
		h[strcspn(h, "]")] = '\0';
	}
	if (0 == sa_set_str(&ua.registrar, h, 0)) {
		ua.have_registrar = true;
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(h, NULL, &hints, &res) || !res) {
		log_warn(MOD, NULL, "cannot resolve sip_host now; INVITEs from "
			 "the PBX must match sip_inbound_allow");
		return 0;
	}
	(void)sa_set_sa(&ua.registrar, res->ai_addr);
	freeaddrinfo(res);
	ua.have_registrar = true;
	return 0;
}


int ua_init(const struct conf *conf)
{
	struct sa nsv[4];
	uint32_t nsc = 4;
	const char *host = conf_str(conf, "sip_host");
	const char *srtp = conf_str(conf, "media_srtp");
	const char *tps = conf_str(conf, "sip_transport");
	struct pl tpl;
	char tparam[32] = "";
	int err;

	memset(&ua, 0, sizeof(ua));
	tmr_init(&ua.tmr_drain);
	(void)fd_setsize(FD_MAX);

	ua.max_calls = (uint32_t)conf_int(conf, "max_calls");
	ua.drain_secs = (uint32_t)conf_int(conf, "drain_secs");

	err = parse_listen(conf_str(conf, "sip_listen"));
	if (err) {
		log_error(MOD, NULL, "sip_listen: cannot parse");
		return err;
	}
	err = parse_allow(conf_str(conf, "sip_inbound_allow"));
	if (err) {
		log_error(MOD, NULL, "sip_inbound_allow: cannot parse");
		return err;
	}

	pl_set_str(&tpl, tps ? tps : "tls");
	if (parse_transport(&ua.reg_tp, &tpl))
		ua.reg_tp = SIP_TRANSP_TLS;
	if (host && *host) {
		err = str_dup(&ua.host, host);
		if (err)
			return err;
		resolve_registrar(host);
		if (ua.reg_tp != SIP_TRANSP_UDP)
			re_snprintf(tparam, sizeof(tparam), ";transport=%s",
				    sip_transp_name(ua.reg_tp));
	}

	/* media settings shared by every call */
	memset(&ua.mcfg, 0, sizeof(ua.mcfg));
	ua.mcfg.laddr = ua.listen[0].addr;
	if (ua.have_registrar && sa_is_any(&ua.mcfg.laddr) == false &&
	    sa_af(&ua.mcfg.laddr) != sa_af(&ua.registrar))
		sa_init(&ua.mcfg.laddr, sa_af(&ua.registrar));
	if (sa_is_any(&ua.mcfg.laddr)) {
		/* listening on all addresses: use the default route's */
		struct sa def;
		if (0 == net_default_source_addr_get(sa_af(&ua.mcfg.laddr),
						     &def))
			ua.mcfg.laddr = def;
	}
	sa_set_port(&ua.mcfg.laddr, 0);
	ua.mcfg.port_min = (uint16_t)conf_int(conf, "rtp_port_min");
	ua.mcfg.port_max = (uint16_t)conf_int(conf, "rtp_port_max");
	ua.mcfg.rtp_timeout_secs = (uint32_t)conf_int(conf,
						      "rtp_timeout_secs");
	ua.mcfg.jitter_min_ms = (uint32_t)conf_int(conf, "jitter_min_ms");
	ua.mcfg.jitter_max_ms = (uint32_t)conf_int(conf, "jitter_max_ms");
	ua.mcfg.dtmf_inband = conf_bool(conf, "dtmf_inband");
	{
		/* full ICE when we offer WebRTC towards a gateway (wss) */
		static const char *keys[4] = {"ice_stun_urls", "ice_turn_urls",
			"ice_turn_username", "ice_turn_password"};

		for (size_t i = 0; i < 4; i++) {
			const char *v = conf_str(conf, keys[i]);
			if (v && *v && str_dup(&ua.ice[i], v))
				return ENOMEM;
		}
		ua.mcfg.ice_stun_urls = ua.ice[0];
		ua.mcfg.ice_turn_urls = ua.ice[1];
		ua.mcfg.ice_turn_user = ua.ice[2];
		ua.mcfg.ice_turn_pass = ua.ice[3];
	}
	err = sdpneg_prefs_parse(&ua.mcfg.prefs, conf_str(conf, "codecs"));
	if (err) {
		log_error(MOD, NULL, "codecs: cannot parse");
		return err;
	}
	if (!srtp || !strcmp(srtp, "auto")) {
		bool tls = ua.have_registrar ? (ua.reg_tp == SIP_TRANSP_TLS ||
						 ua.reg_tp == SIP_TRANSP_WSS) :
			false;
		ua.mcfg.prefs.srtp = tls ? SRTP_MANDATORY : SRTP_OPTIONAL;
	}
	else if (!strcmp(srtp, "mandatory"))
		ua.mcfg.prefs.srtp = SRTP_MANDATORY;
	else if (!strcmp(srtp, "off"))
		ua.mcfg.prefs.srtp = SRTP_OFF;
	else
		ua.mcfg.prefs.srtp = SRTP_OPTIONAL;

	if (conf_isset(conf, "record_dir") &&
	    *conf_str(conf, "record_dir")) {
		err = str_dup(&ua.record_dir, conf_str(conf, "record_dir"));
		if (err)
			return err;
	}
	err = str_dup(&ua.app, conf_str(conf, "app"));
	if (err)
		return err;
	ua.prm.app = ua.app;
	ua.prm.answer_delay_ms = (uint32_t)conf_int(conf, "answer_delay_ms");
	ua.prm.ring_timeout_secs = (uint32_t)conf_int(conf,
						      "ring_timeout_secs");

	err = dns_srv_get(NULL, 0, nsv, &nsc);
	if (err || !nsc) {
		(void)sa_set_str(&nsv[0], "127.0.0.1", 53);
		nsc = 1;
	}
	err = dnsc_alloc(&ua.dnsc, NULL, nsv, nsc);
	if (err)
		return err;

	err = tls_setup(conf);
	if (err)
		return err;

	err = policy_init(conf);
	if (err)
		return err;
	ua.prm.dtmf_event_digits = conf_bool(conf, "dtmf_event_digits");

	err = sip_alloc(&ua.sip, ua.dnsc, 64, 64, 64,
			conf_str(conf, "sip_user_agent"), exit_handler, NULL);
	if (err)
		return err;

	err = add_transports();
	if (err)
		return err;

	err = sip_listen(&ua.lsnr, ua.sip, true, request_handler, NULL);
	if (err)
		return err;
	err = sipsess_listen(&ua.sock, ua.sip, 1024, conn_handler, NULL);
	if (err)
		return err;

	err = mclock_init();
	if (err)
		return err;

	if (ua.reg_tp == SIP_TRANSP_WSS && ua.host) {
		struct ws_cfg wcfg;
		struct sa gw;
		int64_t port = conf_int(conf, "sip_port");

		/* sip_host not resolvable now: the HTTP client resolves the
		 * URL's name itself on each connection */
		if (ua.have_registrar)
			gw = ua.registrar;
		else
			sa_init(&gw, AF_INET);
		sa_set_port(&gw, sip_transp_port(SIP_TRANSP_WSS,
						 (uint16_t)port));
		memset(&wcfg, 0, sizeof(wcfg));
		wcfg.host = ua.host;
		wcfg.addr = &gw;
		wcfg.path = conf_str(conf, "sip_ws_path");
		wcfg.ca = conf_str(conf, "sip_tls_ca");
		err = ws_init(ua.sip, ua.dnsc, &wcfg);
		if (err)
			return err;
	}

	return reg_init(conf, tparam);
}


void ua_print_banner(void)
{
	for (size_t i = 0; i < ua.nlisten; i++) {
		struct sa la;
		if (sip_transp_laddr(ua.sip, &la, ua.listen[i].tp, NULL))
			la = ua.listen[i].addr;
		log_info(MOD, NULL, "listening on %s:%J",
			 sip_transp_name(ua.listen[i].tp), &ua.listen[i].addr);
	}
	if (ua.nlisten) {
		const struct listen_ent *le = &ua.listen[0];
		log_info(MOD, NULL, "call me: sip:agent@%J%s (answers with app "
			 "\"%s\")", &le->addr,
			 le->tp == SIP_TRANSP_UDP ? "" :
			 le->tp == SIP_TRANSP_TCP ? ";transport=tcp" :
			 ";transport=tls", ua.app);
	}
	if (reg_count())
		log_info(MOD, NULL, "registering %u account(s) with the PBX",
			 reg_count());
	else
		log_info(MOD, NULL, "direct mode: INVITEs accepted from "
			 "sip_inbound_allow only");
}



static void drain_check(void *arg);


static void force_exit(void *arg)
{
	(void)arg;
	log_warn(MOD, NULL, "SIP transactions still pending: exiting anyway");
	exit_handler(&ua);
}


static void finish_shutdown(void)
{
	tmr_cancel(&ua.tmr_drain);
	ua.sock = mem_deref(ua.sock);
	ua.lsnr = mem_deref(ua.lsnr);
	tmr_start(&ua.tmr_drain, 5000, force_exit, NULL);
	/* drops our reference; exit_handler runs when the last
	 * transaction holding the stack is done */
	ua.sip_closed = true;
	sip_close(ua.sip, false);
}


static void drain_check(void *arg)
{
	(void)arg;

	if (call_count() == 0) {
		finish_shutdown();
		return;
	}
	if (tmr_jiffies() >= ua.drain_deadline) {
		log_info(MOD, NULL, "drain time over: hanging up %u call(s)",
			 call_count());
		call_hangup_all("shutdown");
	}
	tmr_start(&ua.tmr_drain, 50, drain_check, NULL);
}


void ua_shutdown(ua_exit_h *exith, void *arg)
{
	if (ua.draining)
		return;
	ua.draining = true;
	ua.exith = exith;
	ua.exit_arg = arg;

	log_info(MOD, NULL, "shutting down: %u call(s) in progress, "
		 "draining up to %u s", call_count(), ua.drain_secs);
	reg_shutdown();
	ua.drain_deadline = tmr_jiffies() + ua.drain_secs * 1000ull;
	tmr_start(&ua.tmr_drain, 0, drain_check, NULL);
}


void ua_close(void)
{
	call_hangup_all("shutdown");
	call_reap_all();
	mclock_close();
	tmr_cancel(&ua.tmr_drain);
	reg_close();
	ua.sock = mem_deref(ua.sock);
	ua.lsnr = mem_deref(ua.lsnr);
	if (ua.sip && !ua.sip_closed) {
		sip_close(ua.sip, true);
		ua.sip = mem_deref(ua.sip);
	}
	else if (ua.sip) {
		if (!ua.sip_exited)
			sip_close(ua.sip, true); /* flush what is pending */
		if (ua.sip_exited)
			ua.sip = mem_deref(ua.sip);
		ua.sip = NULL;
	}
	ws_close();     /* after libre dropped its WebSockets */
	ua.dnsc = mem_deref(ua.dnsc);
	ua.tls = mem_deref(ua.tls);
	ua.app = mem_deref(ua.app);
	ua.record_dir = mem_deref(ua.record_dir);
	ua.host = mem_deref(ua.host);
	for (size_t i = 0; i < ARRAY_SIZE(ua.ice); i++) {
		if (ua.ice[i] && i == 3)
			memset(ua.ice[i], 0, strlen(ua.ice[i]));
		ua.ice[i] = mem_deref(ua.ice[i]);
	}
	policy_close();
}


int ua_connect(struct call **callp, const char *uri, unsigned account,
	       call_outcome_h *outcomeh, void *arg)
{
	struct account *acc = account_get(account);
	struct call_params prm = ua.prm;
	struct mstream_cfg mcfg = ua.mcfg;
	char to[512], from[300];
	const char *route = NULL;
	void *auth = NULL;

	if (!uri || !*uri)
		return EINVAL;
	/* over a WebRTC gateway's WebSocket we offer what a browser would:
	 * UDP/TLS/RTP/SAVPF, full ICE (controlling), DTLS-SRTP, Opus */
	mcfg.webrtc = acc && ua.reg_tp == SIP_TRANSP_WSS;
	prm.media = &mcfg;

	if (acc) {
		/* dial through the PBX */
		if (0 == strncmp(uri, "sip:", 4) ||
		    0 == strncmp(uri, "sips:", 5))
			str_ncpy(to, uri, sizeof(to));
		else
			re_snprintf(to, sizeof(to), "sip:%s@%s", uri,
				    account_host(acc));
		str_ncpy(from, account_aor(acc), sizeof(from));
		route = account_route(acc);
		auth = acc;
	}
	else {
		if (strncmp(uri, "sip:", 4) && strncmp(uri, "sips:", 5))
			return EINVAL;
		str_ncpy(to, uri, sizeof(to));
		re_snprintf(from, sizeof(from), "sip:agent@%j",
			    &ua.listen[0].addr);
	}

	{
		int err;

		/* the callee is classified like a caller, never above
		 * outbound_privilege */
		err = policy_call_alloc(&prm.policy, NULL, to, true);
		if (err)
			return err;
		err = call_connect(callp, to, "agentline", from,
				   acc ? account_user(acc) : "agent", route,
				   auth, &prm, outcomeh, arg);
		mem_deref(prm.policy);
		return err;
	}
}
