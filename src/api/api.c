/*
 * api.c  The control server on libre's HTTP server: listening (optionally
 *        TLS), the bearer token (generated into data_dir when none is
 *        configured), browser sessions, limits (connections, body size,
 *        per-client rate), Idempotency-Key replay, and dispatch to the
 *        routes, WebSockets and /metrics.
 *
 * libre's server buffers a request until its body is complete (at most
 * 512 KiB, then it drops the connection) and hands it over in one piece;
 * a connection is counted from its first request (a tcp helper on the
 * connection uncounts it when libre frees it) and one that never sends a
 * request is closed by libre after 10 s.
 *
 * Main thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "store/store.h"
#include "api/api.h"
#include "api/apiint.h"
#include "api/api_www.h"

#define MOD "api"

enum {
	TOKEN_BYTES     = 32,
	SESSION_SECS    = 12 * 3600,
	SESSIONS_MAX    = 64,
	CLIENTS_MAX     = 256,
	IDEM_MAX        = 256,
	IDEM_SECS       = 600,
	IDEM_KEY_MAX    = 128,
	WS_KEEPALIVE_MS = 25000,
};

struct api_state api;

struct session {
	struct le le;
	uint8_t hash[SHA256_DIGEST_LENGTH];
	uint64_t expires;            /* unix seconds */
};

/* Per-client (peer IP) request budget: a token bucket. */
struct client {
	struct le le;
	struct sa addr;
	double tokens;
	uint64_t last_ms;
};

/* A remembered response to a request with an Idempotency-Key. */
struct idem {
	struct le le;
	char *key;                   /* method + path + key              */
	uint16_t status;
	struct mbuf *body;
	uint64_t expires_ms;
};

/* A connection we counted. */
struct conn_mark {
	int fd;                      /* -1 = free slot */
	struct sa peer;
};

static struct {
	struct http_sock *sock;
	uint8_t token_hash[SHA256_DIGEST_LENGTH];
	bool have_token;
	struct list sessions;
	struct list clients;
	struct list idems;
	uint32_t max_conns;
	struct conn_mark *marks;     /* max_conns + 1 slots */
	uint32_t nmarks;
	char tlsfile[512];           /* combined cert+key we wrote        */
} srv;


static void reply_err(struct http_conn *conn, uint16_t status,
		      const char *code, const char *msg, const char *extra);


static uint64_t now_unix(void)
{
	return (uint64_t)time(NULL);
}


/* ---- token and sessions */

static void hash_str(uint8_t *md, const char *s, size_t len)
{
	SHA256((const unsigned char *)s, len, md);
}


/* Constant time whatever the lengths: compare fixed-size digests. */
static bool token_ok(const char *s, size_t len)
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	if (!srv.have_token || !s)
		return false;
	hash_str(md, s, len);
	return 0 == CRYPTO_memcmp(md, srv.token_hash, sizeof(md));
}


static const char *data_dir(const struct conf *conf)
{
	if (conf_opt_find("data_dir") && conf_isset(conf, "data_dir") &&
	    *conf_str(conf, "data_dir"))
		return conf_str(conf, "data_dir");
	return ".";
}


/* Read data_dir/control_token, or create it (mode 0600) with a fresh
 * random token.  The token itself is never logged or printed. */
static int token_from_file(const char *dir)
{
	char path[512], buf[256];
	uint8_t rnd[TOKEN_BYTES];
	ssize_t n;
	int fd, err = 0;

	if (re_snprintf(path, sizeof(path), "%s/control_token", dir) < 0)
		return ENAMETOOLONG;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct stat st;

		if (0 == fstat(fd, &st) && (st.st_mode & 077))
			log_warn(MOD, NULL, "%s is readable by others: "
				 "chmod 600 it", path);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return EINVAL;
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
				 buf[n - 1] == ' '))
			--n;
		if (n < 16) {
			log_error(MOD, NULL, "%s: token too short", path);
			return EINVAL;
		}
		hash_str(srv.token_hash, buf, (size_t)n);
		log_secret_add(buf);
		memset(buf, 0, sizeof(buf));
		srv.have_token = true;
		log_info(MOD, NULL, "control API token: read from %s", path);
		return 0;
	}

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return EIO;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(buf + 2 * i, 3, "%02x", rnd[i]);

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = errno;
		log_error(MOD, NULL, "cannot create %s: %m", path, err);
		return err;
	}
	(void)fchmod(fd, 0600);
	n = write(fd, buf, 2 * TOKEN_BYTES);
	if (n != 2 * TOKEN_BYTES || write(fd, "\n", 1) != 1)
		err = EIO;
	if (close(fd) && !err)
		err = errno;
	if (err) {
		(void)unlink(path);
		return err;
	}
	hash_str(srv.token_hash, buf, 2 * TOKEN_BYTES);
	log_secret_add(buf);
	memset(buf, 0, sizeof(buf));
	memset(rnd, 0, sizeof(rnd));
	srv.have_token = true;
	log_info(MOD, NULL, "control API token: generated into %s "
		 "(mode 0600)", path);
	return 0;
}


static void sessions_expire(void)
{
	uint64_t now = now_unix();
	struct le *le = srv.sessions.head;

	while (le) {
		struct session *s = le->data;

		le = le->next;
		if (s->expires <= now)
			mem_deref(s);
	}
}


static void session_destructor(void *arg)
{
	struct session *s = arg;

	list_unlink(&s->le);
}


/* Issue a session cookie value (hex) into buf. */
static int session_new(char *buf, size_t sz)
{
	uint8_t rnd[TOKEN_BYTES];
	struct session *s;

	if (sz < 2 * TOKEN_BYTES + 1)
		return EINVAL;
	sessions_expire();
	if (list_count(&srv.sessions) >= SESSIONS_MAX)
		mem_deref(list_head(&srv.sessions)->data);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return EIO;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(buf + 2 * i, 3, "%02x", rnd[i]);
	s = mem_zalloc(sizeof(*s), session_destructor);
	if (!s)
		return ENOMEM;
	hash_str(s->hash, buf, 2 * TOKEN_BYTES);
	s->expires = now_unix() + SESSION_SECS;
	list_append(&srv.sessions, &s->le, s);
	return 0;
}


static struct session *session_find(const struct pl *val)
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	sessions_expire();
	hash_str(md, val->p, val->l);
	for (struct le *le = srv.sessions.head; le; le = le->next) {
		struct session *s = le->data;

		if (0 == CRYPTO_memcmp(md, s->hash, sizeof(md)))
			return s;
	}
	return NULL;
}


/* The agentline_session cookie's value, if any. */
static bool cookie_session(const struct http_msg *msg, struct pl *val)
{
	const struct http_hdr *h = http_msg_xhdr(msg, "Cookie");

	if (!h)
		return false;
	return 0 == re_regex(h->val.p, h->val.l,
			     "agentline_session=[0-9a-f]+", val);
}


/* A browser session is only good from our own pages: an Origin header
 * (sent with every cross-site fetch and WebSocket) must name this host. */
static bool same_origin(const struct http_msg *msg)
{
	const struct http_hdr *o = http_msg_xhdr(msg, "Origin");
	const struct http_hdr *h = http_msg_hdr(msg, HTTP_HDR_HOST);
	struct pl host;

	if (!o)
		return true;
	if (!h)
		return false;
	host = o->val;
	for (size_t i = 0; i + 2 < o->val.l; i++) {
		if (!memcmp(o->val.p + i, "://", 3)) {
			pl_advance(&host, i + 3);
			break;
		}
	}
	if (host.l == o->val.l)
		return false;       /* "null" or no scheme */
	for (size_t i = 0; i < host.l; i++) {
		if (host.p[i] == '/') {
			host.l = i;
			break;
		}
	}
	return 0 == pl_cmp(&host, &h->val);
}


static bool authorized(const struct http_msg *msg)
{
	const struct http_hdr *h;
	struct pl tok, val;

	h = http_msg_hdr(msg, HTTP_HDR_AUTHORIZATION);
	if (h && h->val.l > 7 && !strncasecmp(h->val.p, "Bearer ", 7)) {
		tok.p = h->val.p + 7;
		tok.l = h->val.l - 7;
		while (tok.l && *tok.p == ' ') {
			++tok.p;
			--tok.l;
		}
		while (tok.l && tok.p[tok.l - 1] == ' ')
			--tok.l;
		return token_ok(tok.p, tok.l);
	}

	if (cookie_session(msg, &val) && session_find(&val))
		return same_origin(msg);
	return false;
}


/* ---- limits */

/* Count connections from their first request: a connection is live while
 * its socket still has the peer it had (libre tells us nothing when it
 * frees one). */
static bool conn_live(const struct conn_mark *m)
{
	struct sa now;

	sa_init(&now, AF_UNSPEC);
	now.len = sizeof(now.u);
	if (getpeername(m->fd, &now.u.sa, &now.len))
		return false;
	return sa_cmp(&now, &m->peer, SA_ALL);
}


static bool conn_admit(struct http_conn *conn)
{
	struct tcp_conn *tc = http_conn_tcp(conn);
	const struct sa *peer = http_conn_peer(conn);
	uint32_t live = 0;
	int fd;

	if (!tc)
		return false;
	fd = tcp_conn_fd(tc);
	for (uint32_t i = 0; i < srv.nmarks; i++) {
		struct conn_mark *m = &srv.marks[i];

		if (m->fd < 0)
			continue;
		if (!conn_live(m)) {
			m->fd = -1;
			continue;
		}
		if (m->fd == fd && sa_cmp(&m->peer, peer, SA_ALL))
			return true;
		++live;
	}
	if (live >= srv.max_conns) {
		reply_err(conn, 503, "too_many_connections", "connection "
			  "limit reached; close idle connections",
			  "Connection: close\r\nRetry-After: 1\r\n");
		http_conn_close(conn);
		return false;
	}
	for (uint32_t i = 0; i < srv.nmarks; i++) {
		if (srv.marks[i].fd < 0) {
			srv.marks[i].fd = fd;
			srv.marks[i].peer = *peer;
			return true;
		}
	}
	return true;
}


static void client_destructor(void *arg)
{
	struct client *c = arg;

	list_unlink(&c->le);
}


static struct client *client_get(const struct sa *peer)
{
	struct client *c;
	uint64_t now = tmr_jiffies();

	for (struct le *le = srv.clients.head; le; le = le->next) {
		c = le->data;
		if (sa_cmp(&c->addr, peer, SA_ADDR)) {
			/* most recently used last */
			list_unlink(&c->le);
			list_append(&srv.clients, &c->le, c);
			return c;
		}
	}
	if (list_count(&srv.clients) >= CLIENTS_MAX)
		mem_deref(list_head(&srv.clients)->data);
	c = mem_zalloc(sizeof(*c), client_destructor);
	if (!c)
		return NULL;
	c->addr = *peer;
	c->tokens = api.rate_per_min;
	c->last_ms = now;
	list_append(&srv.clients, &c->le, c);
	return c;
}


/* Token bucket: rate_per_min requests, refilled continuously. */
bool api_rate_take(const struct sa *peer)
{
	struct client *c = client_get(peer);
	uint64_t now = tmr_jiffies();
	double cap = api.rate_per_min;

	if (!c)
		return false;
	c->tokens += (double)(now - c->last_ms) * cap / 60000.0;
	if (c->tokens > cap)
		c->tokens = cap;
	c->last_ms = now;
	if (c->tokens < 1.0)
		return false;
	c->tokens -= 1.0;
	return true;
}


/* ---- idempotency */

static void idem_destructor(void *arg)
{
	struct idem *i = arg;

	list_unlink(&i->le);
	mem_deref(i->key);
	mem_deref(i->body);
}


static struct idem *idem_find(const char *key)
{
	uint64_t now = tmr_jiffies();
	struct le *le = srv.idems.head;

	while (le) {
		struct idem *i = le->data;

		le = le->next;
		if (i->expires_ms <= now) {
			mem_deref(i);
			continue;
		}
		if (!strcmp(i->key, key))
			return i;
	}
	return NULL;
}


static void idem_put(const char *key, uint16_t status, struct mbuf *body)
{
	struct idem *i;

	if (list_count(&srv.idems) >= IDEM_MAX)
		mem_deref(list_head(&srv.idems)->data);
	i = mem_zalloc(sizeof(*i), idem_destructor);
	if (!i)
		return;
	if (str_dup(&i->key, key)) {
		mem_deref(i);
		return;
	}
	i->status = status;
	i->body = mem_ref(body);
	i->expires_ms = tmr_jiffies() + IDEM_SECS * 1000ull;
	list_append(&srv.idems, &i->le, i);
}


/* ---- responses */

static const char *reason_of(uint16_t s)
{
	switch (s) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default:  return "Status";
	}
}


static void reply_mb(struct http_conn *conn, uint16_t status,
		     const char *ctype, const struct mbuf *mb,
		     const char *extra)
{
	(void)http_reply(conn, status, reason_of(status),
			 "Content-Type: %s\r\n"
			 "Content-Length: %zu\r\n"
			 "Cache-Control: no-store\r\n"
			 "X-Content-Type-Options: nosniff\r\n"
			 "%s"
			 "\r\n"
			 "%b",
			 ctype, mb ? mb->end : (size_t)0,
			 extra ? extra : "",
			 mb ? mb->buf : NULL, mb ? mb->end : (size_t)0);
}


static void reply_err(struct http_conn *conn, uint16_t status,
		      const char *code, const char *msg, const char *extra)
{
	struct mbuf *mb = mbuf_alloc(256);

	if (!mb)
		return;
	(void)api_err(mb, status, code, "%s", msg);
	reply_mb(conn, status, "application/json", mb, extra);
	mem_deref(mb);
}


/* ---- request handling */

static void handle_login(struct http_conn *conn, const struct http_msg *msg)
{
	struct odict *od = NULL;
	struct mbuf *mb = mbuf_alloc(256);
	const char *tok;
	char sid[2 * TOKEN_BYTES + 1], hdr[256];
	uint16_t st;

	if (!mb)
		return;
	st = api_parse_body(&od, mb, msg->mb ? mbuf_buf(msg->mb) : NULL,
			    msg->mb ? mbuf_get_left(msg->mb) : 0);
	if (st) {
		reply_mb(conn, st, "application/json", mb, NULL);
		goto out;
	}
	tok = odict_string(od, "token");
	if (!tok || !token_ok(tok, strlen(tok))) {
		reply_err(conn, 401, "unauthorized", "wrong token", NULL);
		goto out;
	}
	if (session_new(sid, sizeof(sid))) {
		reply_err(conn, 500, "internal", "cannot create a session",
			  NULL);
		goto out;
	}
	re_snprintf(hdr, sizeof(hdr), "Set-Cookie: agentline_session=%s; "
		    "HttpOnly; SameSite=Strict; Path=/; Max-Age=%u\r\n",
		    sid, SESSION_SECS);
	mbuf_reset(mb);
	(void)mbuf_printf(mb, "{\"ok\":true,\"expires_in\":%u}",
			  SESSION_SECS);
	reply_mb(conn, 200, "application/json", mb, hdr);
 out:
	memset(sid, 0, sizeof(sid));
	mem_deref(od);
	mem_deref(mb);
}


static void handle_logout(struct http_conn *conn, const struct http_msg *msg)
{
	struct session *s;
	struct pl val;

	if (cookie_session(msg, &val) && (s = session_find(&val)))
		mem_deref(s);
	reply_err(conn, 200, "ok", "signed out",
		  "Set-Cookie: agentline_session=; HttpOnly; "
		  "SameSite=Strict; Path=/; Max-Age=0\r\n");
}


static void handle_metrics(struct http_conn *conn)
{
	struct mbuf *mb = mbuf_alloc(4096);

	if (!mb)
		return;
	(void)mbuf_printf(mb, "%H", api_metrics_print, NULL);
	reply_mb(conn, 200, "text/plain; version=0.0.4; charset=utf-8", mb,
		 NULL);
	mem_deref(mb);
}


static void handle_request(struct http_conn *conn, const struct http_msg *msg,
			   void *arg)
{
	const struct sa *peer = http_conn_peer(conn);
	const struct http_hdr *ih;
	char method[16], path[1024], query[1024], idem[IDEM_KEY_MAX + 1];
	char ikey[1200];
	struct mbuf *mb = NULL;
	struct idem *prev;
	const uint8_t *body;
	size_t blen;
	uint16_t st;

	(void)arg;

	if (!conn_admit(conn))
		return;

	if (msg->path.l >= sizeof(path) || msg->prm.l >= sizeof(query) ||
	    msg->met.l >= sizeof(method)) {
		reply_err(conn, 414, "uri_too_long", "request line too long",
			  NULL);
		return;
	}
	pl_strcpy(&msg->met, method, sizeof(method));
	pl_strcpy(&msg->path, path, sizeof(path));
	pl_strcpy(&msg->prm, query, sizeof(query));

	if (!strcmp(path, "/health")) {
		struct mbuf hb;
		static const char up[] = "{\"status\":\"up\"}";

		mbuf_init(&hb);
		hb.buf = (uint8_t *)(uintptr_t)up;
		hb.end = hb.size = sizeof(up) - 1;
		reply_mb(conn, 200, "application/json", &hb, NULL);
		return;
	}

	if (!api_rate_take(peer)) {
		reply_err(conn, 429, "rate_limited", "too many requests from "
			  "this client; slow down", "Retry-After: 1\r\n");
		return;
	}

	if (msg->clen > api.max_body) {
		char m[96];

		re_snprintf(m, sizeof(m), "request body over %u bytes",
			    api.max_body);
		reply_err(conn, 413, "too_large", m, "Connection: close\r\n");
		http_conn_close(conn);
		return;
	}

	/* the control centre's page, scripts and styles */
	if (strncmp(path, "/api/", 5)) {
		const struct http_hdr *h = http_msg_xhdr(msg, "If-None-Match");
		char inm[64] = "";

		if (h)
			pl_strcpy(&h->val, inm, sizeof(inm));
		if (api_www_serve(conn, method, path, inm))
			return;
	}

	if (!strcmp(path, "/api/login") && !strcmp(method, "POST")) {
		handle_login(conn, msg);
		return;
	}

	if (!authorized(msg)) {
		reply_err(conn, 401, "unauthorized", "missing or wrong bearer "
			  "token (Authorization: Bearer <control_token>)",
			  "WWW-Authenticate: Bearer realm=\"agentline\"\r\n");
		return;
	}

	if (!strcmp(path, "/api/logout")) {
		handle_logout(conn, msg);
		return;
	}
	if (api_files_serve(conn, msg, method, path))
		return;
	if (!strcmp(path, "/metrics")) {
		if (strcmp(method, "GET"))
			reply_err(conn, 405, "method_not_allowed",
				  "use GET", "Allow: GET\r\n");
		else
			handle_metrics(conn);
		return;
	}
	if (!strcmp(path, "/api/events") || !strcmp(path, "/api/agent/ws") ||
	    !strcmp(path, "/api/phone")) {
		int err;

		if (api.subscribers >= api.max_subscribers) {
			reply_err(conn, 429, "too_many_subscribers",
				  "WebSocket subscriber limit reached", NULL);
			return;
		}
		err = path[5] == 'e' ? api_events_accept(conn, msg) :
			path[5] == 'p' ? api_phone_accept(conn, msg) :
			api_agent_accept(conn, msg);
		if (err)
			reply_err(conn, 400, "websocket_required",
				  "this endpoint needs a WebSocket upgrade",
				  NULL);
		return;
	}

	body = msg->mb ? mbuf_buf(msg->mb) : NULL;
	blen = msg->mb ? mbuf_get_left(msg->mb) : 0;
	if (blen > msg->clen)
		blen = msg->clen;

	ih = http_msg_xhdr(msg, "Idempotency-Key");
	idem[0] = '\0';
	if (ih && strcmp(method, "GET")) {
		if (ih->val.l == 0 || ih->val.l > IDEM_KEY_MAX) {
			reply_err(conn, 400, "bad_request", "Idempotency-Key "
				  "must be 1..128 characters", NULL);
			return;
		}
		pl_strcpy(&ih->val, idem, sizeof(idem));
		re_snprintf(ikey, sizeof(ikey), "%s %s %s", method, path,
			    idem);
		prev = idem_find(ikey);
		if (prev) {
			reply_mb(conn, prev->status, "application/json",
				 prev->body, "Idempotent-Replayed: true\r\n");
			return;
		}
	}

	mb = mbuf_alloc(1024);
	if (!mb)
		return;
	st = api_route(mb, method, path, query[0] == '?' ? query + 1 : query,
		       body, blen,
		       idem[0] ? idem : NULL);
	if (st == 405) {
		reply_mb(conn, st, "application/json", mb, NULL);
		mem_deref(mb);
		return;
	}
	if (idem[0] && st < 500)
		idem_put(ikey, st, mb);
	reply_mb(conn, st, "application/json", mb, NULL);
	mem_deref(mb);
}


/* libre's https_listen wants the key in the certificate file: join a
 * separate key file into data_dir/control_tls.pem (mode 0600). */
static int tls_file(const struct conf *conf, const char **pathp)
{
	const char *cert = conf_str(conf, "control_tls_cert");
	const char *key = conf_isset(conf, "control_tls_key") ?
		conf_str(conf, "control_tls_key") : NULL;
	int fd, err = 0;

	if (!key || !*key || !strcmp(key, cert)) {
		*pathp = cert;
		return 0;
	}
	re_snprintf(srv.tlsfile, sizeof(srv.tlsfile), "%s/control_tls.pem",
		    data_dir(conf));
	(void)unlink(srv.tlsfile);
	fd = open(srv.tlsfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	for (int k = 0; k < 2 && !err; k++) {
		char buf[4096];
		ssize_t n;
		int in = open(k ? key : cert, O_RDONLY | O_CLOEXEC);

		if (in < 0) {
			err = errno;
			break;
		}
		while ((n = read(in, buf, sizeof(buf))) > 0) {
			if (write(fd, buf, (size_t)n) != n) {
				err = EIO;
				break;
			}
		}
		if (write(fd, "\n", 1) != 1)
			err = EIO;
		close(in);
	}
	close(fd);
	if (err) {
		(void)unlink(srv.tlsfile);
		srv.tlsfile[0] = '\0';
		return err;
	}
	*pathp = srv.tlsfile;
	return 0;
}


static int listen_start(const struct conf *conf)
{
	const char *addr = conf_str(conf, "control_listen");
	struct sa laddr;
	const char *cert = NULL;
	bool tls = conf_isset(conf, "control_tls_cert") &&
		*conf_str(conf, "control_tls_cert");
	int err;

	err = sa_decode(&laddr, addr, strlen(addr));
	if (err) {
		log_error(MOD, NULL, "control_listen \"%s\": expected "
			  "ADDR:PORT", addr);
		return err;
	}
	if (tls) {
		err = tls_file(conf, &cert);
		if (err) {
			log_error(MOD, NULL, "control_tls_cert/key: %m", err);
			return err;
		}
		err = https_listen(&srv.sock, &laddr, cert, handle_request,
				   NULL);
	}
	else {
		err = http_listen(&srv.sock, &laddr, handle_request, NULL);
	}
	if (err == EADDRINUSE && !conf_isset(conf, "control_listen")) {
		/* only the default address: a second instance still runs */
		log_warn(MOD, NULL, "control API: %J is in use (another "
			 "agentline?); running without the API — set "
			 "control_listen", &laddr);
		return 0;
	}
	if (err) {
		log_error(MOD, NULL, "control API: cannot listen on %J: %m",
			  &laddr, err);
		return err;
	}
	if (!sa_is_loopback(&laddr))
		log_warn(MOD, NULL, "control API listens on %J, beyond this "
			 "machine%s", &laddr, tls ? "" : ", without TLS");
	log_info(MOD, NULL, "control API on %s://%J", tls ? "https" : "http",
		 &laddr);
	return 0;
}


/* Re-apply a run-time setting saved by PATCH /api/config. */
static void setting_restore(const char *key, const char *val, void *arg)
{
	const struct conf_opt *o = conf_opt_find(key);

	(void)arg;
	if (!o || !(o->flags & CONF_F_RUNTIME) || (o->flags & CONF_F_SECRET))
		return;
	if (0 == conf_set(api.conf, key, val, "saved by the API", NULL, NULL))
		log_info(MOD, NULL, "setting %s restored (changed through the "
			 "API)", key);
}


int api_init(const struct conf *conf)
{
	bool serve;
	int err;

	if (!conf)
		return EINVAL;
	memset(&api, 0, sizeof(api));
	api.conf = (struct conf *)(uintptr_t)conf;
	api.max_body = (uint32_t)conf_int(conf, "control_max_body_bytes");
	api.max_subscribers = (uint32_t)conf_int(conf,
						 "control_max_subscribers");
	api.rate_per_min = (uint32_t)conf_int(conf, "control_rate_per_min");
	api.start_ms = tmr_jiffies();
	srv.max_conns = (uint32_t)conf_int(conf, "control_max_connections");
	list_init(&srv.sessions);
	list_init(&srv.clients);
	list_init(&srv.idems);
	srv.nmarks = srv.max_conns + 1;
	srv.marks = mem_zalloc(srv.nmarks * sizeof(*srv.marks), NULL);
	if (!srv.marks)
		return ENOMEM;
	for (uint32_t i = 0; i < srv.nmarks; i++)
		srv.marks[i].fd = -1;

	err  = api_metrics_init();
	err |= api_events_init();
	if (err)
		goto out;
	err = api_webhook_init(conf);
	if (err)
		goto out;
	err = api_result_init(conf);
	if (err)
		goto out;
	err = api_agent_init();
	if (err)
		goto out;
	api.running = true;
	(void)store_settings_foreach(setting_restore, NULL);
	err = api_sched_init();
	if (err)
		goto out;

	serve = conf_isset(conf, "control_listen") &&
		*conf_str(conf, "control_listen");
	if (!serve)
		return 0;

	if (conf_isset(conf, "control_token") &&
	    *conf_str(conf, "control_token")) {
		const char *t = conf_str(conf, "control_token");

		if (strlen(t) < 16) {
			log_error(MOD, NULL, "control_token: use at least 16 "
				  "characters");
			err = EINVAL;
			goto out;
		}
		hash_str(srv.token_hash, t, strlen(t));
		srv.have_token = true;
	}
	else {
		err = token_from_file(data_dir(conf));
		if (err)
			goto out;
	}

	err = websock_alloc(&api.ws, NULL, NULL);
	if (err)
		goto out;
	err = listen_start(conf);
 out:
	if (err)
		api_close();
	return err;
}


void api_close(void)
{
	srv.sock = mem_deref(srv.sock);
	api_phone_close();
	api_agent_close();
	api_events_close();
	api_sched_close();
	api_result_close();
	api_webhook_close();
	api_metrics_close();
	api_route_close();
	if (api.ws) {
		websock_shutdown(api.ws);
		api.ws = mem_deref(api.ws);
	}
	srv.marks = mem_deref(srv.marks);
	srv.nmarks = 0;
	list_flush(&srv.sessions);
	list_flush(&srv.clients);
	list_flush(&srv.idems);
	if (srv.tlsfile[0])
		(void)unlink(srv.tlsfile);
	srv.tlsfile[0] = '\0';
	memset(srv.token_hash, 0, sizeof(srv.token_hash));
	srv.have_token = false;
	api.running = false;
}
