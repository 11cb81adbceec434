/*
 * ws.c  SIP over secure WebSocket: the gateway connection on libre's
 *       WSS client transport, made safe and configurable.
 *
 * libre 1.1.0 (src/sip/transp.c) calls websock_connect() with the URL
 * "wss://ADDR:PORT/" and an HTTP client of its own whose TLS context
 * verifies nothing.  We define websock_connect(), tls_set_servername()
 * and http_req_set_conn_handler() here; the dynamic linker binds libre's
 * calls to ours (they go through its PLT), and ours call libre's through
 * dlsym(RTLD_NEXT).  While ws_init() is in effect:
 *  - the URL becomes wss://sip_host:PORT/sip_ws_path, sent with our HTTP
 *    client (sip_tls_ca or the system store, SNI);
 *  - OpenSSL verifies the chain and that the certificate names sip_host
 *    during the handshake (tls_set_servername), and the result is checked
 *    again when the HTTP connection is handed to the WebSocket; an
 *    untrusted server never receives a SIP message (the REGISTER fails
 *    with a transport error);
 *  - whatever next hop libre asked for, the connection goes to the
 *    gateway (a WebSocket client has no other peer);
 *  - reg.c hears when the connection opens and closes.
 * Outside ws_init() both functions pass straight through.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "core/log.h"
#include "sip/ws.h"

#define MOD "ws"

enum {
	/* libre closes a client WebSocket this long after opening it,
	 * whatever the traffic (transp.c TCP_IDLE_TIMEOUT, never restarted
	 * for WebSockets), without telling anyone */
	LIBRE_WS_LIFETIME_MS = 900 * 1000,
	RENEW_SLACK_MS = 200,
};

typedef int (websock_connect_f)(struct websock_conn **connp,
				struct websock *sock, struct http_cli *cli,
				const char *uri, unsigned kaint,
				websock_estab_h *estabh, websock_recv_h *recvh,
				websock_close_h *closeh, void *arg,
				const char *fmt, ...);
typedef void (set_conn_handler_f)(struct http_req *req, http_conn_h *connh);
typedef int (set_servername_f)(struct tls_conn *tc, const char *servername);

/* One WebSocket libre opened to the gateway. */
struct wsc {
	struct le le;
	struct websock_conn *wc;    /* libre's; only compared, never used */
	websock_estab_h *estabh;    /* libre's handlers we stand in for   */
	websock_recv_h *recvh;
	websock_close_h *closeh;
	void *arg;
	bool untrusted;
	bool http;                  /* TLS up, HTTP answered              */
	bool estab;
	struct tmr tmr_renew;       /* libre's lifetime is over           */
};

static struct {
	bool active;
	struct sip *sip;
	struct http_cli *cli;
	char *url;                  /* wss://host:port/path               */
	char *host;                 /* sip_host without brackets          */
	struct sa addr;             /* the gateway, with port             */
	struct list conns;          /* struct wsc                         */
	struct wsc *pending;        /* inside websock_connect()           */
	http_conn_h *ws_connh;      /* libre websock's HTTP conn handler  */
	ws_conn_h *h;
	void *arg;
	unsigned gen;
	unsigned nup;               /* established connections now        */
	uint32_t ka_ms;
	struct tmr tmr_ka;
} ws;


static void *real_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		/* cannot happen with libre linked in; fail loudly */
		log_error(MOD, NULL, "libre symbol %s not found", name);
		abort();
	}
	return p;
}


static void wsc_destructor(void *arg)
{
	struct wsc *c = arg;

	tmr_cancel(&c->tmr_renew);
	list_unlink(&c->le);
	if (ws.pending == c)
		ws.pending = NULL;
}


static struct wsc *wsc_find(const struct websock_conn *wc)
{
	for (struct le *le = ws.conns.head; le; le = le->next) {
		struct wsc *c = le->data;
		if (c->wc == wc)
			return c;
	}
	return NULL;
}


static void send_crlf(void)
{
	static const char crlf[] = "\r\n\r\n";
	struct mbuf mb;

	mb.buf = (uint8_t *)(uintptr_t)crlf;
	mb.size = mb.end = 4;
	mb.pos = 0;
	/* through the stack: if libre has dropped the connection meanwhile,
	 * this opens a new one and the registrations follow (ws_conn_h up) */
	if (sip_send(ws.sip, NULL, SIP_TRANSP_WSS, &ws.addr, &mb))
		log_debug(MOD, NULL, "keepalive not sent");
}


static void keepalive_handler(void *arg)
{
	(void)arg;

	if (!ws.nup)
		return;
	send_crlf();
	tmr_start(&ws.tmr_ka, ws.ka_ms, keepalive_handler, NULL);
}


/* libre has just closed this connection on its own (15 min after it was
 * opened, without an event): open the next one at once, so the gateway
 * reaches us again within milliseconds rather than at the next keepalive.
 * If the connection is in fact still there, the CRLF simply goes over it;
 * websock_connect() forgets this one when libre opens the next. */
static void renew_handler(void *arg)
{
	struct wsc *c = arg;

	if (!c->estab)
		return;
	log_info(MOD, NULL, "WebSocket at libre's 15 min lifetime: "
		 "opening the next one");
	send_crlf();
}


/* The HTTP connection is handed to the WebSocket after the 101 reply and
 * before the WebSocket counts as established: check the certificate. */
static void conn_hook(struct tcp_conn *tc, struct tls_conn *sc, void *arg)
{
	struct wsc *c = wsc_find(arg);

	if (c)
		c->http = true;
	if (c && (!sc || tls_peer_verify(sc))) {
		c->untrusted = true;
		log_error(MOD, NULL, "WSS: the gateway's TLS certificate is "
			  "not trusted or does not name %s (check sip_tls_ca "
			  "and sip_host): disconnecting", ws.url);
	}
	ws.ws_connh(tc, sc, arg);
}


static void estab_handler(void *arg)
{
	struct wsc *c = arg;
	websock_close_h *closeh = c->closeh;
	void *carg = c->arg;

	if (c->untrusted) {
		/* libre's close handler frees its connection and fails what
		 * was queued on it; nothing was sent */
		mem_deref(c);
		closeh(EAUTH, carg);
		return;
	}
	c->estab = true;
	++ws.gen;
	++ws.nup;
	log_info(MOD, NULL, "WebSocket to the gateway open (%s)", ws.url);
	tmr_start(&ws.tmr_ka, ws.ka_ms, keepalive_handler, NULL);
	if (ws.h)
		ws.h(true, 0, ws.arg);
	c->estabh(c->arg);
}


static void recv_handler(const struct websock_hdr *hdr, struct mbuf *mb,
			 void *arg)
{
	struct wsc *c = arg;

	if (!c->untrusted)
		c->recvh(hdr, mb, c->arg);
}


static void close_handler(int err, void *arg)
{
	struct wsc *c = arg;
	websock_close_h *closeh = c->closeh;
	void *carg = c->arg;
	bool was_up = c->estab;
	bool c_http = c->http;

	mem_deref(c);
	if (was_up) {
		if (ws.nup)
			--ws.nup;
		if (!ws.nup)
			tmr_cancel(&ws.tmr_ka);
		log_warn(MOD, NULL, "WebSocket to the gateway closed (%m)",
			 err);
	}
	else if (err == EPROTO && !c_http) {
		/* OpenSSL ended the handshake: verification is on for the
		 * gateway, so this is mostly an untrusted certificate */
		log_error(MOD, NULL, "cannot open the WebSocket to the gateway "
			  "%s: TLS handshake failed; is its certificate "
			  "trusted (sip_tls_ca) and does it name %s?", ws.url,
			  ws.host);
	}
	else {
		log_warn(MOD, NULL, "cannot open the WebSocket to the gateway "
			 "%s (%m)", ws.url, err);
	}
	closeh(err, carg);
	if (was_up && ws.h)
		ws.h(false, err ? err : ECONNRESET, ws.arg);
}


int websock_connect(struct websock_conn **connp, struct websock *sock,
		    struct http_cli *cli, const char *uri, unsigned kaint,
		    websock_estab_h *estabh, websock_recv_h *recvh,
		    websock_close_h *closeh, void *arg,
		    const char *fmt, ...)
{
	static websock_connect_f *real;
	struct pl scheme, hostport;
	struct sa dst;
	struct wsc *c;
	char hdrs[512];
	va_list ap;
	int err;

	if (!real)
		*(void **)&real = real_sym("websock_connect");

	hdrs[0] = '\0';
	if (fmt) {
		va_start(ap, fmt);
		(void)re_vsnprintf(hdrs, sizeof(hdrs), fmt, ap);
		va_end(ap);
	}
	/* only libre's SIP transport asks for the "sip" subprotocol; any
	 * other WebSocket client in the process is left alone */
	if (!ws.active || !uri ||
	    !strstr(hdrs, "Sec-WebSocket-Protocol: sip\r\n"))
		return real(connp, sock, cli, uri, kaint, estabh, recvh,
			    closeh, arg, "%s", hdrs);

	/* libre asks for "ws[s]://ADDR:PORT/" of the next hop.  A WebSocket
	 * client has one peer, the gateway: whatever the address (another
	 * A record of sip_host, a Record-Route with ";transport=ws"), the
	 * connection goes to the configured URL, always over TLS. */
	if (re_regex(uri, strlen(uri), "[a-z]+://[^/]+", &scheme, &hostport)
	    || sa_decode(&dst, hostport.p, hostport.l)
	    || !sa_cmp(&dst, &ws.addr, SA_ALL))
		log_info(MOD, NULL, "next hop %s: sent over the gateway's "
			 "WebSocket (%s)", uri, ws.url);

	c = mem_zalloc(sizeof(*c), wsc_destructor);
	if (!c)
		return ENOMEM;
	c->estabh = estabh;
	c->recvh = recvh;
	c->closeh = closeh;
	c->arg = arg;

	ws.pending = c;
	err = real(connp, sock, ws.cli, ws.url, kaint, estab_handler,
		   recv_handler, close_handler, c, "%s", hdrs);
	ws.pending = NULL;
	if (err) {
		mem_deref(c);
		return err;
	}
	c->wc = *connp;
	tmr_init(&c->tmr_renew);
	tmr_start(&c->tmr_renew, LIBRE_WS_LIFETIME_MS + RENEW_SLACK_MS,
		  renew_handler, c);

	/* libre opens a connection only when it has none to the gateway:
	 * the ones we still track were dropped by libre without a close
	 * event (its idle timer) */
	while (ws.conns.head) {
		struct wsc *old = ws.conns.head->data;
		if (old->estab && ws.nup)
			--ws.nup;
		mem_deref(old);
	}
	list_append(&ws.conns, &c->le, c);
	log_debug(MOD, NULL, "connecting to %s", ws.url);
	return 0;
}


void http_req_set_conn_handler(struct http_req *req, http_conn_h *connh)
{
	static set_conn_handler_f *real;

	if (!real)
		*(void **)&real = real_sym("http_req_set_conn_handler");
	if (ws.active && ws.pending && connh) {
		ws.ws_connh = connh;
		connh = conn_hook;
	}
	real(req, connh);
}


/* libre's HTTP client names the server (SNI) right after starting TLS and
 * before the handshake: for the gateway, also make OpenSSL verify the
 * certificate chain (sip_tls_ca) and that it names sip_host, so the
 * handshake itself fails for anything else. */
int tls_set_servername(struct tls_conn *tc, const char *servername)
{
	static set_servername_f *real;
	int err;

	if (!real)
		*(void **)&real = real_sym("tls_set_servername");
	err = real(tc, servername);
	if (err || !ws.active || !servername || !ws.host)
		return err;
	if (!strcmp(servername, ws.host) ||
	    (servername[0] == '[' && !strncmp(servername + 1, ws.host,
					      strlen(ws.host)))) {
		err = tls_set_verify_server(tc, ws.host);
		if (err)
			log_error(MOD, NULL, "cannot enable certificate "
				  "verification (%m)", err);
	}
	return err;
}


int ws_init(struct sip *sip, struct dnsc *dnsc, const struct ws_cfg *cfg)
{
	const char *ca = cfg->ca;
	bool v6;
	int err;

	if (!sip || !dnsc || !cfg || !cfg->host || !cfg->addr)
		return EINVAL;

	memset(&ws, 0, sizeof(ws));
	tmr_init(&ws.tmr_ka);
	list_init(&ws.conns);
	ws.sip = sip;
	ws.addr = *cfg->addr;
	ws.ka_ms = (cfg->keepalive_secs ? cfg->keepalive_secs : 30) * 1000;

	v6 = strchr(cfg->host, ':') && cfg->host[0] != '[';
	err = re_sdprintf(&ws.url, "wss://%s%s%s:%u%s", v6 ? "[" : "",
			  cfg->host, v6 ? "]" : "", sa_port(cfg->addr),
			  cfg->path && *cfg->path ? cfg->path : "/");
	if (err)
		goto out;

	err = http_client_alloc(&ws.cli, dnsc);
	if (err)
		goto out;
	if (!ca || !*ca) {
		static const char *sys[] = {
			"/etc/ssl/certs/ca-certificates.crt",
			"/etc/pki/tls/certs/ca-bundle.crt",
		};
		ca = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(sys) && !ca; i++) {
			if (0 == access(sys[i], R_OK))
				ca = sys[i];
		}
	}
	if (ca) {
		err = http_client_add_ca(ws.cli, ca);
		if (err) {
			log_error(MOD, NULL, "cannot load CA file (sip_tls_ca)");
			goto out;
		}
	}
	/* the name the certificate must carry (http_client_set_tls_hostname
	 * always fails in 1.1.0; tls_set_servername below does the check) */
	err = str_dup(&ws.host, cfg->host);
	if (err)
		goto out;
	if (ws.host[0] == '[') {
		memmove(ws.host, ws.host + 1, strlen(ws.host));
		ws.host[strcspn(ws.host, "]")] = '\0';
	}
	ws.active = true;

 out:
	if (err)
		ws_close();
	return err;
}


void ws_close(void)
{
	ws.active = false;
	tmr_cancel(&ws.tmr_ka);
	list_flush(&ws.conns);
	ws.cli = mem_deref(ws.cli);
	ws.url = mem_deref(ws.url);
	ws.host = mem_deref(ws.host);
	ws.h = NULL;
	ws.nup = 0;
}


void ws_set_handler(ws_conn_h *h, void *arg)
{
	ws.h = h;
	ws.arg = arg;
}


unsigned ws_generation(void)
{
	return ws.gen;
}


bool ws_active(void)
{
	return ws.active;
}
