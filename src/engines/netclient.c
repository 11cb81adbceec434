/*
 * netclient.c  Blocking HTTP/1.1 + WebSocket client for worker threads.
 *
 * Every function here may be called from any thread; objects are used by
 * one thread at a time (the engine session's).  Nothing logs: errors are
 * returned, with a short detail in net_last_error() (thread-local).
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <speex/speex_resampler.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/netclient.h"

#define DEBUG_MODULE "netclient"

enum {
	DEF_CONNECT_MS = 3000,
	DEF_FIRST_MS = 5000,
	DEF_TOTAL_MS = 30000,
	RETRY_PAUSE_MS = 200,
	JSON_MAX = 256 * 1024,
	JSON_DEPTH = 16,
	RBUF = 8192,
	WS_MAX_MSG = 256 * 1024,
	PCM_HDR_MAX = 4096,
	PCM_BLOCK = 1024,
};

static _Thread_local char lasterr[160];

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";


static void seterr(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void seterr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lasterr, sizeof(lasterr), fmt, ap);
	va_end(ap);
}


const char *net_last_error(void)
{
	return lasterr;
}


static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}


/* ----------------------------------------------------------- config */

/* Main thread (engine init/alloc). */
void net_opts_conf(struct net_opts *o, const struct conf *conf,
		   const char *total_key)
{
	memset(o, 0, sizeof(*o));
	if (!conf)
		return;
	o->connect_ms = (uint32_t)conf_int(conf, "net_connect_timeout_ms");
	o->first_byte_ms = (uint32_t)conf_int(conf,
					      "net_first_byte_timeout_ms");
	o->total_ms = total_key ? (uint32_t)conf_int(conf, total_key) : 0;
	o->retries = (unsigned)conf_int(conf, "net_retries");
	o->ca_file = conf_str(conf, "net_ca_file");
}


/* Main thread (engine init). */
int net_check_setup(const struct conf *conf, const char *module,
		    const char *url_key, const char *key_key,
		    const char *cloud_host, bool ws)
{
	const char *url = conf ? conf_str(conf, url_key) : NULL;
	const char *key = conf ? conf_str(conf, key_key) : NULL;
	struct net_url u;

	if (!url || net_url_parse(&u, url, NULL) || u.ws != ws) {
		log_error(module, NULL, "%s: \"%s\" is not a %s URL", url_key,
			  url ? url : "", ws ? "ws:// or wss://" :
			  "http:// or https://");
		return EINVAL;
	}
	if ((!key || !*key) && !strcasecmp(u.host, cloud_host)) {
		log_error(module, NULL, "%s is not set (required for %s; a "
			  "self-hosted %s may need none)", key_key, cloud_host,
			  url_key);
		return EINVAL;
	}
	return 0;
}


void net_scrub(char *s, const char *secret)
{
	size_t sl;
	char *p;

	if (!s || !secret || (sl = strlen(secret)) < 3)
		return;
	while ((p = strstr(s, secret)) != NULL) {
		memcpy(p, "***", 3);
		memmove(p + 3, p + sl, strlen(p + sl) + 1);
	}
}


/* ------------------------------------------------------------- URL */

int net_url_parse(struct net_url *u, const char *base, const char *path)
{
	const char *p, *hs, *he, *ps;
	size_t hl, bl;
	unsigned long port = 0;
	int n;

	if (!u || !base)
		return EINVAL;
	memset(u, 0, sizeof(*u));
	if (!strncasecmp(base, "https://", 8)) {
		u->tls = true;
		p = base + 8;
	}
	else if (!strncasecmp(base, "http://", 7)) {
		p = base + 7;
	}
	else if (!strncasecmp(base, "wss://", 6)) {
		u->tls = u->ws = true;
		p = base + 6;
	}
	else if (!strncasecmp(base, "ws://", 5)) {
		u->ws = true;
		p = base + 5;
	}
	else {
		seterr("URL must start with http://, https://, ws:// or "
		       "wss://");
		return EINVAL;
	}

	ps = p + strcspn(p, "/?#");
	if (*p == '[') {
		hs = p + 1;
		he = memchr(hs, ']', (size_t)(ps - hs));
		if (!he)
			goto bad;
		p = he + 1;
	}
	else {
		hs = p;
		he = memchr(hs, ':', (size_t)(ps - hs));
		if (!he)
			he = ps;
		p = he;
	}
	hl = (size_t)(he - hs);
	if (!hl || hl >= sizeof(u->host))
		goto bad;
	for (size_t i = 0; i < hl; i++) {
		char c = hs[i];
		if (!(isalnum((unsigned char)c) || c == '.' || c == '-' ||
		      c == ':' || c == '_' || c == '%'))
			goto bad;
	}
	memcpy(u->host, hs, hl);
	u->host[hl] = '\0';

	if (p < ps && *p == ':') {
		char *end;
		if (p + 1 == ps)
			goto bad;
		port = strtoul(p + 1, &end, 10);
		if (end != ps || port == 0 || port > 65535)
			goto bad;
	}
	else if (p != ps) {
		goto bad;
	}
	u->port = port ? (uint16_t)port : (u->tls ? 443 : 80);

	/* base path prefix without a trailing slash, then path */
	bl = strlen(ps);
	if (bl && ps[0] != '/')
		goto bad;
	while (bl && ps[bl - 1] == '/')
		--bl;
	n = snprintf(u->path, sizeof(u->path), "%.*s%s", (int)bl, ps,
		     path && *path ? path : (bl ? "" : "/"));
	if (n < 0 || (size_t)n >= sizeof(u->path))
		goto bad;
	if (!u->path[0] || u->path[0] != '/')
		goto bad;
	for (const char *c = u->path; *c; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			goto bad;
	}
	return 0;

 bad:
	seterr("malformed URL");
	return EINVAL;
}


/* --------------------------------------------------- response parser */

void http_parser_init(struct http_parser *p, bool head_request)
{
	if (!p)
		return;
	memset(p, 0, sizeof(*p));
	p->state = HP_HEAD;
	p->no_body = head_request;
}


bool http_parser_done(const struct http_parser *p)
{
	return p && p->state == HP_DONE;
}


/* Next line of the header block from *pos; false at the end. */
static bool next_line(const char *head, size_t *pos, struct pl *line)
{
	const char *s = head + *pos, *e;

	if (!*s)
		return false;
	e = strchr(s, '\n');
	if (!e)
		e = s + strlen(s);
	*pos = (size_t)(e - head) + (*e ? 1 : 0);
	line->p = s;
	line->l = (size_t)(e - s);
	if (line->l && s[line->l - 1] == '\r')
		--line->l;
	return true;
}


static void pl_trim_ws(struct pl *v)
{
	while (v->l && (v->p[0] == ' ' || v->p[0] == '\t')) {
		v->p++;
		v->l--;
	}
	while (v->l && (v->p[v->l - 1] == ' ' || v->p[v->l - 1] == '\t'))
		v->l--;
}


bool http_parser_header(const struct http_parser *p, const char *name,
			struct pl *val)
{
	size_t pos = 0, nl;
	struct pl line;

	if (!p || !name || p->state == HP_HEAD)
		return false;
	nl = strlen(name);
	if (!next_line(p->head, &pos, &line))   /* status line */
		return false;
	while (next_line(p->head, &pos, &line)) {
		if (line.l > nl && line.p[nl] == ':' &&
		    !strncasecmp(line.p, name, nl)) {
			if (val) {
				val->p = line.p + nl + 1;
				val->l = line.l - nl - 1;
				pl_trim_ws(val);
			}
			return true;
		}
	}
	return false;
}


static bool is_tchar(char c)
{
	return isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c);
}


/* Whole header block received: validate, find the body framing. */
static int head_done(struct http_parser *p)
{
	size_t pos = 0;
	struct pl line, v;
	bool chunked = false, te = false;
	uint64_t clen = 0;
	bool has_len = false;
	unsigned nhdr = 0;

	if (!next_line(p->head, &pos, &line))
		return EBADMSG;
	if (line.l < 12 || strncmp(line.p, "HTTP/1.", 7) ||
	    !isdigit((unsigned char)line.p[7]) || line.p[8] != ' ' ||
	    !isdigit((unsigned char)line.p[9]) ||
	    !isdigit((unsigned char)line.p[10]) ||
	    !isdigit((unsigned char)line.p[11]) ||
	    (line.l > 12 && line.p[12] != ' ')) {
		seterr("malformed status line");
		return EBADMSG;
	}
	p->status = (line.p[9] - '0') * 100 + (line.p[10] - '0') * 10 +
		(line.p[11] - '0');
	if (p->status < 100) {
		seterr("malformed status line");
		return EBADMSG;
	}

	while (next_line(p->head, &pos, &line)) {
		size_t i = 0;

		if (!line.l)
			break;
		if (++nhdr > 100) {
			seterr("too many headers");
			return EOVERFLOW;
		}
		while (i < line.l && is_tchar(line.p[i]))
			++i;
		if (!i || i >= line.l || line.p[i] != ':') {
			seterr("malformed header line");
			return EBADMSG;
		}
		v.p = line.p + i + 1;
		v.l = line.l - i - 1;
		pl_trim_ws(&v);
		if (i == 17 && !strncasecmp(line.p, "transfer-encoding", 17)) {
			te = true;
			chunked = v.l >= 7 &&
				!strncasecmp(v.p + v.l - 7, "chunked", 7);
		}
		else if (i == 14 &&
			 !strncasecmp(line.p, "content-length", 14)) {
			uint64_t x = 0;
			if (!v.l || v.l > 13) {
				seterr("bad Content-Length");
				return EBADMSG;
			}
			for (size_t k = 0; k < v.l; k++) {
				if (!isdigit((unsigned char)v.p[k])) {
					seterr("bad Content-Length");
					return EBADMSG;
				}
				x = x * 10 + (uint64_t)(v.p[k] - '0');
			}
			if (has_len && x != clen) {
				seterr("conflicting Content-Length");
				return EBADMSG;
			}
			clen = x;
			has_len = true;
		}
	}

	/* interim responses (100 Continue, 103): wait for the real one */
	if (p->status < 200 && p->status != 101) {
		p->hlen = 0;
		p->line_len = 0;
		p->head[0] = '\0';
		return 0;
	}

	if (p->no_body || p->status == 101 || p->status == 204 ||
	    p->status == 304)
		p->state = HP_DONE;
	else if (te && chunked)
		p->state = HP_CHUNK_SIZE;
	else if (te)
		p->state = HP_BODY_CLOSE;
	else if (has_len) {
		p->remain = clen;
		p->state = clen ? HP_BODY_LEN : HP_DONE;
	}
	else
		p->state = HP_BODY_CLOSE;
	p->llen = 0;
	return 0;
}


static int deliver(struct http_parser *p, const uint8_t *b, size_t n,
		   net_body_h *bodyh, void *arg)
{
	if (!n)
		return 0;
	p->body_total += n;
	if (bodyh && bodyh(b, n, arg))
		return ECANCELED;
	return 0;
}


static int chunk_size(struct http_parser *p)
{
	struct pl v;
	uint64_t x = 0;
	char *semi;

	p->line[p->llen] = '\0';
	semi = strchr(p->line, ';');
	v.p = p->line;
	v.l = semi ? (size_t)(semi - p->line) : p->llen;
	if (v.l && v.p[v.l - 1] == '\r')
		--v.l;
	pl_trim_ws(&v);
	if (!v.l || v.l > 10) {
		seterr("bad chunk size");
		return v.l > 10 ? EOVERFLOW : EBADMSG;
	}
	for (size_t i = 0; i < v.l; i++) {
		char c = v.p[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else {
			seterr("bad chunk size");
			return EBADMSG;
		}
		x = x * 16 + d;
	}
	p->llen = 0;
	p->remain = x;
	if (x) {
		p->state = HP_CHUNK_DATA;
	}
	else {
		p->state = HP_TRAILER;
		p->trail_len = 0;
		p->line_len = 0;
	}
	return 0;
}


int http_parser_feed(struct http_parser *p, const uint8_t *buf, size_t len,
		     size_t *usedp, net_body_h *bodyh, void *arg)
{
	size_t i = 0;
	int err = 0;

	if (!p || (!buf && len))
		return EINVAL;

	while (i < len && p->state != HP_DONE && !err) {
		switch (p->state) {

		case HP_HEAD: {
			char c = (char)buf[i++];
			bool empty;

			if (c == '\0') {
				seterr("NUL in response header");
				err = EBADMSG;
				break;
			}
			/* tolerate blank lines before the status line */
			if (p->hlen == 0 && (c == '\r' || c == '\n'))
				break;
			if (p->hlen + 2 >= sizeof(p->head)) {
				seterr("response header too large");
				err = EOVERFLOW;
				break;
			}
			p->head[p->hlen++] = c;
			p->head[p->hlen] = '\0';
			if (c != '\n') {
				p->line_len++;
				break;
			}
			empty = p->line_len == 0 ||
				(p->line_len == 1 && p->head[p->hlen - 2] ==
				 '\r');
			p->line_len = 0;
			if (empty)
				err = head_done(p);
			break;
		}

		case HP_BODY_LEN: {
			size_t n = (size_t)min_u64(len - i, p->remain);

			p->remain -= n;
			if (!p->remain)
				p->state = HP_DONE;
			err = deliver(p, buf + i, n, bodyh, arg);
			i += n;
			break;
		}

		case HP_BODY_CLOSE:
			err = deliver(p, buf + i, len - i, bodyh, arg);
			i = len;
			break;

		case HP_CHUNK_SIZE: {
			char c = (char)buf[i++];

			if (c == '\n') {
				err = chunk_size(p);
				break;
			}
			if (c == '\0' || p->llen + 1 >= sizeof(p->line)) {
				seterr("bad chunk size line");
				err = c ? EOVERFLOW : EBADMSG;
				break;
			}
			p->line[p->llen++] = c;
			break;
		}

		case HP_CHUNK_DATA: {
			size_t n = (size_t)min_u64(len - i, p->remain);

			p->remain -= n;
			if (!p->remain) {
				p->state = HP_CHUNK_CRLF;
				p->crlf = 0;
			}
			err = deliver(p, buf + i, n, bodyh, arg);
			i += n;
			break;
		}

		case HP_CHUNK_CRLF: {
			char c = (char)buf[i++];

			if (c == '\r' && !p->crlf) {
				p->crlf = 1;
			}
			else if (c == '\n') {
				p->state = HP_CHUNK_SIZE;
				p->llen = 0;
			}
			else {
				seterr("chunk data not followed by CRLF");
				err = EBADMSG;
			}
			break;
		}

		case HP_TRAILER: {
			char c = (char)buf[i++];

			if (++p->trail_len > NET_TRAIL_MAX) {
				seterr("chunked trailer too large");
				err = EOVERFLOW;
				break;
			}
			if (c == '\n') {
				if (p->line_len == 0)
					p->state = HP_DONE;
				p->line_len = 0;
			}
			else if (c != '\r') {
				p->line_len++;
			}
			break;
		}

		case HP_DONE:
			break;
		}
	}

	if (usedp)
		*usedp = i;
	return err;
}


int http_parser_eof(struct http_parser *p)
{
	if (!p)
		return EINVAL;
	if (p->state == HP_BODY_CLOSE)
		p->state = HP_DONE;
	if (p->state == HP_DONE)
		return 0;
	seterr(p->state == HP_HEAD ? "connection closed before the "
	       "response header" : "response body truncated");
	return EPIPE;
}


/* ------------------------------------------------------- connection */

struct netconn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};


static void conn_destructor(void *arg)
{
	struct netconn *nc = arg;

	if (nc->ssl)
		SSL_free(nc->ssl);
	if (nc->ctx)
		SSL_CTX_free(nc->ctx);
	if (nc->fd >= 0)
		close(nc->fd);
}


static int wait_fd(int fd, short ev, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = ev};
		uint64_t t = now_ms();
		int r;

		if (t >= deadline)
			return ETIMEDOUT;
		r = poll(&pfd, 1, (int)min_u64(deadline - t, 60000));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return errno;
	}
}


static void ssl_seterr(const char *what, SSL *ssl)
{
	unsigned long e = ERR_peek_last_error();
	long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

	if (vr != X509_V_OK)
		seterr("%s: certificate verify failed (%s)", what,
		       X509_verify_cert_error_string(vr));
	else if (e)
		seterr("%s: %s", what, ERR_reason_error_string(e) ?
		       ERR_reason_error_string(e) : "TLS error");
	else
		seterr("%s failed", what);
	ERR_clear_error();
}


static int tls_start(struct netconn *nc, const struct net_url *u,
		     const struct net_opts *o, uint64_t deadline)
{
	struct in6_addr a6;
	struct in_addr a4;
	bool ip = inet_pton(AF_INET, u->host, &a4) == 1 ||
		inet_pton(AF_INET6, u->host, &a6) == 1;

	ERR_clear_error();
	nc->ctx = SSL_CTX_new(TLS_client_method());
	if (!nc->ctx)
		return ENOMEM;
	SSL_CTX_set_min_proto_version(nc->ctx, TLS1_2_VERSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* a truncated body is detected by the HTTP framing instead */
	SSL_CTX_set_options(nc->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	SSL_CTX_set_verify(nc->ctx, SSL_VERIFY_PEER, NULL);
	if (o->ca_file && *o->ca_file) {
		if (1 != SSL_CTX_load_verify_locations(nc->ctx, o->ca_file,
						       NULL)) {
			ssl_seterr("loading the CA file", NULL);
			return EINVAL;
		}
	}
	else if (1 != SSL_CTX_set_default_verify_paths(nc->ctx)) {
		ssl_seterr("loading the system CA store", NULL);
		return EINVAL;
	}
	nc->ssl = SSL_new(nc->ctx);
	if (!nc->ssl || 1 != SSL_set_fd(nc->ssl, nc->fd))
		return ENOMEM;
	if (ip) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(nc->ssl);
		if (1 != X509_VERIFY_PARAM_set1_ip_asc(vp, u->host))
			return EINVAL;
	}
	else {
		SSL_set_tlsext_host_name(nc->ssl, u->host);
		if (1 != SSL_set1_host(nc->ssl, u->host))
			return EINVAL;
	}

	for (;;) {
		int r = SSL_connect(nc->ssl), e, err;

		if (r == 1)
			return 0;
		e = SSL_get_error(nc->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			err = wait_fd(nc->fd, POLLIN, deadline);
		else if (e == SSL_ERROR_WANT_WRITE)
			err = wait_fd(nc->fd, POLLOUT, deadline);
		else {
			ssl_seterr("TLS handshake", nc->ssl);
			return EPROTO;
		}
		if (err) {
			if (err == ETIMEDOUT)
				seterr("TLS handshake timed out");
			return err;
		}
	}
}


static int conn_open(struct netconn **ncp, const struct net_url *u,
		     const struct net_opts *o, uint64_t deadline)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct netconn *nc;
	char port[8];
	int err = ECONNREFUSED, one = 1, r;

	nc = mem_zalloc(sizeof(*nc), conn_destructor);
	if (!nc)
		return ENOMEM;
	nc->fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", u->port);
	/* blocking name lookup (bounded by the resolver's own timeouts) */
	r = getaddrinfo(u->host, port, &hints, &res);
	if (r) {
		seterr("cannot resolve host: %s", gai_strerror(r));
		err = EHOSTUNREACH;
		goto out;
	}

	for (ai = res; ai; ai = ai->ai_next) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		nc->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
				SOCK_CLOEXEC, ai->ai_protocol);
		if (nc->fd < 0) {
			err = errno;
			continue;
		}
		if (0 == connect(nc->fd, ai->ai_addr, ai->ai_addrlen))
			break;
		err = errno;
		if (err == EINPROGRESS) {
			err = wait_fd(nc->fd, POLLOUT, deadline);
			if (!err && 0 == getsockopt(nc->fd, SOL_SOCKET,
						    SO_ERROR, &soerr, &sl))
				err = soerr;
			if (!err)
				break;
		}
		close(nc->fd);
		nc->fd = -1;
		if (err == ETIMEDOUT)
			break;
	}
	if (nc->fd < 0) {
		seterr(err == ETIMEDOUT ? "connect timed out" :
		       "connect failed: %s", strerror(err));
		goto out;
	}
	setsockopt(nc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	err = u->tls ? tls_start(nc, u, o, deadline) : 0;

 out:
	if (res)
		freeaddrinfo(res);
	if (err)
		mem_deref(nc);
	else
		*ncp = nc;
	return err;
}


/* Read up to sz bytes; *np = 0 at end of stream. */
static int conn_read(struct netconn *nc, uint8_t *buf, size_t sz,
		     size_t *np, uint64_t deadline)
{
	for (;;) {
		short ev = POLLIN;
		int err;

		if (nc->ssl) {
			int r, e;

			ERR_clear_error();
			r = SSL_read(nc->ssl, buf, (int)min_u64(sz, INT32_MAX));
			if (r > 0) {
				*np = (size_t)r;
				return 0;
			}
			e = SSL_get_error(nc->ssl, r);
			if (e == SSL_ERROR_ZERO_RETURN) {
				*np = 0;
				return 0;
			}
			if (e == SSL_ERROR_WANT_WRITE)
				ev = POLLOUT;
			else if (e == SSL_ERROR_SYSCALL && !r) {
				*np = 0;
				return 0;
			}
			else if (e != SSL_ERROR_WANT_READ) {
				ssl_seterr("TLS read", NULL);
				return e == SSL_ERROR_SYSCALL && errno ?
					errno : EPROTO;
			}
		}
		else {
			ssize_t r = recv(nc->fd, buf, sz, 0);

			if (r >= 0) {
				*np = (size_t)r;
				return 0;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				seterr("receive failed: %s", strerror(errno));
				return errno;
			}
		}
		err = wait_fd(nc->fd, ev, deadline);
		if (err)
			return err;
	}
}


static int conn_write(struct netconn *nc, const void *data, size_t n,
		      uint64_t deadline)
{
	const uint8_t *p = data;

	while (n) {
		short ev = POLLOUT;
		int err;

		if (nc->ssl) {
			int r, e;

			ERR_clear_error();
			r = SSL_write(nc->ssl, p, (int)min_u64(n, INT32_MAX));
			if (r > 0) {
				p += r;
				n -= (size_t)r;
				continue;
			}
			e = SSL_get_error(nc->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				ev = POLLIN;
			else if (e != SSL_ERROR_WANT_WRITE) {
				ssl_seterr("TLS write", NULL);
				return e == SSL_ERROR_SYSCALL && errno ?
					errno : EPIPE;
			}
		}
		else {
			ssize_t r = send(nc->fd, p, n, MSG_NOSIGNAL);

			if (r >= 0) {
				p += r;
				n -= (size_t)r;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				seterr("send failed: %s", strerror(errno));
				return errno;
			}
		}
		err = wait_fd(nc->fd, ev, deadline);
		if (err) {
			if (err == ETIMEDOUT)
				seterr("send timed out");
			return err;
		}
	}
	return 0;
}


static void opts_fill(struct net_opts *o, const struct net_opts *in)
{
	memset(o, 0, sizeof(*o));
	if (in)
		*o = *in;
	if (!o->connect_ms)
		o->connect_ms = DEF_CONNECT_MS;
	if (!o->first_byte_ms)
		o->first_byte_ms = DEF_FIRST_MS;
	if (!o->total_ms)
		o->total_ms = DEF_TOTAL_MS;
	if (o->retries > 3)
		o->retries = 3;
}


static int host_header(struct mbuf *mb, const struct net_url *u)
{
	bool v6 = strchr(u->host, ':') != NULL;
	bool defport = u->port == (u->tls ? 443 : 80);

	if (defport)
		return mbuf_printf(mb, "Host: %s%s%s\r\n", v6 ? "[" : "",
				   u->host, v6 ? "]" : "");
	return mbuf_printf(mb, "Host: %s%s%s:%u\r\n", v6 ? "[" : "", u->host,
			   v6 ? "]" : "", u->port);
}


/* ------------------------------------------------------ HTTP client */

struct attempt {
	struct http_parser *hp;
	struct net_resp *resp;
	net_body_h *bodyh;
	void *arg;
	size_t errlen;
};


static bool attempt_body(const uint8_t *p, size_t n, void *arg)
{
	struct attempt *at = arg;
	struct net_resp *r = at->resp;

	if (!r->status) {
		struct pl ct;

		r->status = at->hp->status;
		if (http_parser_header(at->hp, "Content-Type", &ct))
			pl_strcpy(&ct, r->ctype, sizeof(r->ctype));
	}
	if (r->status >= 200 && r->status < 300) {
		r->delivered = true;
		return at->bodyh ? at->bodyh(p, n, at->arg) : false;
	}
	for (size_t i = 0; i < n && at->errlen + 1 < sizeof(r->err); i++) {
		char c = (char)p[i];
		r->err[at->errlen++] = (c >= ' ' && c < 0x7f) ? c : ' ';
	}
	r->err[at->errlen] = '\0';
	return false;
}


static int http_attempt(const struct net_opts *o, const struct net_req *req,
			const struct net_url *u, struct net_resp *resp,
			net_body_h *bodyh, void *arg, uint64_t t_end,
			bool *retryp)
{
	struct http_parser *hp = NULL;
	struct netconn *nc = NULL;
	struct mbuf *mb = NULL;
	struct attempt at;
	uint8_t *rbuf = NULL;
	bool first = true;
	int err;

	*retryp = false;
	err = conn_open(&nc, u, o, min_u64(now_ms() + o->connect_ms, t_end));
	if (err) {
		*retryp = true;    /* nothing was sent yet */
		return err;
	}

	mb = mbuf_alloc(1024);
	hp = mem_alloc(sizeof(*hp), NULL);
	rbuf = mem_alloc(RBUF, NULL);
	if (!mb || !hp || !rbuf) {
		err = ENOMEM;
		goto out;
	}
	err  = mbuf_printf(mb, "%s %s HTTP/1.1\r\n", req->method, u->path);
	err |= host_header(mb, u);
	err |= mbuf_printf(mb, "User-Agent: agentline/%s\r\n"
			   "Accept: */*\r\nConnection: close\r\n",
			   AGENTLINE_VERSION);
	if (req->ctype)
		err |= mbuf_printf(mb, "Content-Type: %s\r\n", req->ctype);
	if (req->body || strcmp(req->method, "GET"))
		err |= mbuf_printf(mb, "Content-Length: %zu\r\n", req->len);
	if (req->headers)
		err |= mbuf_write_str(mb, req->headers);
	err |= mbuf_write_str(mb, "\r\n");
	if (err) {
		err = ENOMEM;
		goto out;
	}
	err = conn_write(nc, mb->buf, mb->end, t_end);
	if (!err && req->len)
		err = conn_write(nc, req->body, req->len, t_end);
	if (err)
		goto out;

	http_parser_init(hp, !strcmp(req->method, "HEAD"));
	memset(&at, 0, sizeof(at));
	at.hp = hp;
	at.resp = resp;
	at.bodyh = bodyh;
	at.arg = arg;

	while (!http_parser_done(hp)) {
		/* first byte, then the same bound between reads (idle) */
		uint64_t dl = min_u64(now_ms() + o->first_byte_ms, t_end);
		size_t n = 0;

		err = conn_read(nc, rbuf, RBUF, &n, dl);
		if (err == ETIMEDOUT)
			seterr(now_ms() >= t_end ? "total timeout" :
			       first ? "no response (first byte timeout)" :
			       "response stalled");
		if (err)
			break;
		if (!n) {
			err = http_parser_eof(hp);
			break;
		}
		first = false;
		err = http_parser_feed(hp, rbuf, n, NULL, attempt_body, &at);
		if (err)
			break;
	}
	if (!err || err == ECANCELED) {
		if (!resp->status && hp->state != HP_HEAD) {
			struct pl ct;
			resp->status = hp->status;
			if (http_parser_header(hp, "Content-Type", &ct))
				pl_strcpy(&ct, resp->ctype,
					  sizeof(resp->ctype));
		}
	}
	if (!err && resp->status >= 500 && !resp->delivered)
		*retryp = true;

 out:
	mem_deref(rbuf);
	mem_deref(hp);
	mem_deref(mb);
	mem_deref(nc);
	return err;
}


int net_http(const struct net_opts *opts, const struct net_req *req,
	     struct net_resp *resp, net_body_h *bodyh, void *arg)
{
	struct net_opts o;
	struct net_url u;
	uint64_t t_end;
	int err;

	if (!req || !req->method || !req->url || !resp)
		return EINVAL;
	lasterr[0] = '\0';
	opts_fill(&o, opts);
	memset(resp, 0, sizeof(*resp));
	err = net_url_parse(&u, req->url, NULL);
	if (err)
		return err;
	if (u.ws)
		return EINVAL;

	t_end = now_ms() + o.total_ms;
	for (unsigned a = 0; ; a++) {
		bool retry = false;

		memset(resp, 0, sizeof(*resp));
		resp->attempts = a + 1;
		err = http_attempt(&o, req, &u, resp, bodyh, arg, t_end,
				   &retry);
		if (!retry || a >= o.retries || resp->delivered ||
		    now_ms() + RETRY_PAUSE_MS >= t_end)
			break;
		{
			struct timespec ts = {0, RETRY_PAUSE_MS * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	return err;
}


/* -------------------------------------------------------- multipart */

void net_multipart_boundary(char *buf, size_t sz)
{
	uint8_t rnd[12];

	if (!buf || sz < 41)
		return;
	if (1 != RAND_bytes(rnd, sizeof(rnd)))
		memset(rnd, 0x5a, sizeof(rnd));
	snprintf(buf, sz, "agentline-%02x%02x%02x%02x%02x%02x%02x%02x"
		 "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
		 rnd[5], rnd[6], rnd[7], rnd[8], rnd[9], rnd[10], rnd[11]);
}


int net_multipart_field(struct mbuf *mb, const char *boundary,
			const char *name, const char *filename,
			const char *ctype, const void *p, size_t n)
{
	int err;

	if (!mb || !boundary || !name || (!p && n))
		return EINVAL;
	err = mbuf_printf(mb, "--%s\r\nContent-Disposition: form-data; "
			  "name=\"%s\"", boundary, name);
	if (filename)
		err |= mbuf_printf(mb, "; filename=\"%s\"", filename);
	err |= mbuf_write_str(mb, "\r\n");
	if (ctype)
		err |= mbuf_printf(mb, "Content-Type: %s\r\n", ctype);
	err |= mbuf_write_str(mb, "\r\n");
	if (n)
		err |= mbuf_write_mem(mb, p, n);
	err |= mbuf_write_str(mb, "\r\n");
	return err ? ENOMEM : 0;
}


int net_multipart_end(struct mbuf *mb, const char *boundary)
{
	if (!mb || !boundary)
		return EINVAL;
	return mbuf_printf(mb, "--%s--\r\n", boundary) ? ENOMEM : 0;
}


/* ------------------------------------------------ WebSocket parser */

enum { WSP_HDR = 0, WSP_PAYLOAD };


void ws_parser_init(struct ws_parser *p, size_t max_msg)
{
	if (!p)
		return;
	memset(p, 0, sizeof(*p));
	p->hneed = 2;
	p->msg_max = max_msg ? max_msg : WS_MAX_MSG;
}


void ws_parser_reset(struct ws_parser *p)
{
	size_t max;

	if (!p)
		return;
	max = p->msg_max;
	mem_deref(p->msg);
	ws_parser_init(p, max);
}


static int ws_header_done(struct ws_parser *p)
{
	uint8_t b0 = p->hdr[0], b1 = p->hdr[1];
	unsigned l7 = b1 & 0x7f;

	if (p->hlen == 2) {
		if (b0 & 0x70) {
			seterr("WebSocket frame with RSV bits");
			return EBADMSG;
		}
		if (b1 & 0x80) {
			seterr("masked WebSocket frame from the server");
			return EBADMSG;
		}
		if (l7 == 126) {
			p->hneed = 4;
			return 0;
		}
		if (l7 == 127) {
			p->hneed = 10;
			return 0;
		}
		p->plen = l7;
	}
	else if (p->hlen == 4) {
		p->plen = (uint64_t)p->hdr[2] << 8 | p->hdr[3];
	}
	else {
		p->plen = 0;
		for (int i = 2; i < 10; i++)
			p->plen = p->plen << 8 | p->hdr[i];
		if (p->plen >> 63) {
			seterr("bad WebSocket frame length");
			return EBADMSG;
		}
	}

	p->fin = b0 & 0x80;
	p->opcode = b0 & 0x0f;
	p->pgot = 0;
	switch (p->opcode) {

	case WS_CLOSE:
	case WS_PING:
	case WS_PONG:
		if (!p->fin || p->plen > 125 ||
		    (p->opcode == WS_CLOSE && p->plen == 1)) {
			seterr("bad WebSocket control frame");
			return EBADMSG;
		}
		break;

	case WS_CONT:
	case WS_TEXT:
	case WS_BINARY:
		if ((p->opcode == WS_CONT) != (p->msg_op != 0)) {
			seterr("bad WebSocket fragmentation");
			return EBADMSG;
		}
		if (p->plen > p->msg_max - p->msg_len) {
			seterr("WebSocket message too large");
			return EOVERFLOW;
		}
		if (p->msg_len + p->plen > p->msg_cap) {
			size_t want = p->msg_cap ? p->msg_cap * 2 : 4096;
			uint8_t *m;

			if (want < p->msg_len + p->plen)
				want = (size_t)(p->msg_len + p->plen);
			if (want > p->msg_max)
				want = p->msg_max;
			m = p->msg ? mem_realloc(p->msg, want) :
				mem_alloc(want, NULL);
			if (!m)
				return ENOMEM;
			p->msg = m;
			p->msg_cap = want;
		}
		if (p->opcode != WS_CONT)
			p->msg_op = p->opcode;
		break;

	default:
		seterr("unknown WebSocket opcode");
		return EBADMSG;
	}
	p->state = WSP_PAYLOAD;
	return 0;
}


static int ws_frame_done(struct ws_parser *p, ws_msg_h *h, void *arg)
{
	int err = 0;

	p->state = WSP_HDR;
	p->hlen = 0;
	p->hneed = 2;
	if (p->opcode >= WS_CLOSE)
		return h ? h((enum ws_opcode)p->opcode, p->ctl,
			     (size_t)p->plen, arg) : 0;
	if (p->fin) {
		enum ws_opcode op = (enum ws_opcode)p->msg_op;
		size_t n = p->msg_len;

		p->msg_op = 0;
		p->msg_len = 0;
		if (h)
			err = h(op, p->msg, n, arg);
	}
	return err;
}


int ws_parser_feed(struct ws_parser *p, const uint8_t *buf, size_t len,
		   ws_msg_h *h, void *arg)
{
	size_t i = 0;
	int err = 0;

	if (!p || (!buf && len))
		return EINVAL;

	while (!err && (i < len ||
			(p->state == WSP_PAYLOAD && p->pgot == p->plen))) {
		if (p->state == WSP_HDR) {
			p->hdr[p->hlen++] = buf[i++];
			if (p->hlen == p->hneed)
				err = ws_header_done(p);
			continue;
		}
		if (p->pgot < p->plen) {
			size_t n = (size_t)min_u64(len - i,
						   p->plen - p->pgot);
			uint8_t *dst = p->opcode >= WS_CLOSE ?
				p->ctl + p->pgot : p->msg + p->msg_len;

			memcpy(dst, buf + i, n);
			if (p->opcode < WS_CLOSE)
				p->msg_len += n;
			p->pgot += n;
			i += n;
		}
		if (p->pgot == p->plen)
			err = ws_frame_done(p, h, arg);
	}
	return err;
}


/* ------------------------------------------------ WebSocket client */

struct ws_conn {
	struct netconn *nc;
	struct net_opts opts;
	struct ws_parser wp;
	uint8_t *rbuf;
	uint8_t *pend;          /* bytes read with the handshake */
	size_t npend;
	bool closed;            /* peer's close frame or EOF */
	uint16_t close_code;
	ws_msg_h *h;
	void *arg;
};


static void ws_destructor(void *arg)
{
	struct ws_conn *ws = arg;

	if (ws->nc && !ws->closed) {
		/* best effort close frame, without waiting long */
		uint8_t f[6] = {0x88, 0x80, 0, 0, 0, 0};
		uint8_t mask[4];
		(void)RAND_bytes(mask, 4);
		memcpy(f + 2, mask, 4);
		(void)conn_write(ws->nc, f, sizeof(f), now_ms() + 100);
	}
	ws_parser_reset(&ws->wp);
	mem_deref(ws->rbuf);
	mem_deref(ws->pend);
	mem_deref(ws->nc);
}


static void b64(const uint8_t *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}


int ws_connect(struct ws_conn **wsp, const char *url, const char *headers,
	       const struct net_opts *opts, int *statusp)
{
	struct http_parser *hp = NULL;
	struct ws_conn *ws;
	struct mbuf *mb = NULL;
	struct net_url u;
	uint8_t key[16], sha[SHA_DIGEST_LENGTH];
	char key64[32], acc[64], expect[40];
	struct pl v;
	uint64_t t_end;
	int err;

	if (!wsp || !url)
		return EINVAL;
	lasterr[0] = '\0';
	if (statusp)
		*statusp = 0;
	err = net_url_parse(&u, url, NULL);
	if (err)
		return err;

	ws = mem_zalloc(sizeof(*ws), ws_destructor);
	if (!ws)
		return ENOMEM;
	opts_fill(&ws->opts, opts);
	ws->opts.ca_file = NULL;   /* not kept: only used to connect */
	ws_parser_init(&ws->wp, WS_MAX_MSG);
	ws->rbuf = mem_alloc(RBUF, NULL);
	hp = mem_alloc(sizeof(*hp), NULL);
	mb = mbuf_alloc(512);
	if (!ws->rbuf || !hp || !mb) {
		err = ENOMEM;
		goto out;
	}

	t_end = now_ms() + ws->opts.connect_ms + ws->opts.first_byte_ms;
	err = conn_open(&ws->nc, &u, &ws->opts,
			now_ms() + ws->opts.connect_ms);
	if (err)
		goto out;

	if (1 != RAND_bytes(key, sizeof(key))) {
		err = EIO;
		goto out;
	}
	b64(key, sizeof(key), key64);
	{
		char cat[96];
		snprintf(cat, sizeof(cat), "%s%s", key64, ws_guid);
		SHA1((const unsigned char *)cat, strlen(cat), sha);
		b64(sha, sizeof(sha), expect);
	}

	err  = mbuf_printf(mb, "GET %s HTTP/1.1\r\n", u.path);
	err |= host_header(mb, &u);
	err |= mbuf_printf(mb, "User-Agent: agentline/%s\r\n"
			   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
			   "Sec-WebSocket-Key: %s\r\n"
			   "Sec-WebSocket-Version: 13\r\n",
			   AGENTLINE_VERSION, key64);
	if (headers)
		err |= mbuf_write_str(mb, headers);
	err |= mbuf_write_str(mb, "\r\n");
	if (err) {
		err = ENOMEM;
		goto out;
	}
	err = conn_write(ws->nc, mb->buf, mb->end, t_end);
	if (err)
		goto out;

	http_parser_init(hp, false);
	while (hp->state == HP_HEAD) {
		size_t n = 0, used = 0;

		err = conn_read(ws->nc, ws->rbuf, RBUF, &n, t_end);
		if (err == ETIMEDOUT)
			seterr("no WebSocket handshake response");
		if (err)
			goto out;
		if (!n) {
			err = http_parser_eof(hp);
			if (!err)
				err = EPIPE;
			goto out;
		}
		err = http_parser_feed(hp, ws->rbuf, n, &used, NULL, NULL);
		if (err)
			goto out;
		if (hp->state != HP_HEAD && used < n && hp->status == 101) {
			ws->npend = n - used;
			ws->pend = mem_alloc(ws->npend, NULL);
			if (!ws->pend) {
				err = ENOMEM;
				goto out;
			}
			memcpy(ws->pend, ws->rbuf + used, ws->npend);
		}
	}
	if (statusp)
		*statusp = hp->status;
	if (hp->status != 101) {
		seterr("WebSocket upgrade refused: HTTP %d", hp->status);
		err = EPROTO;
		goto out;
	}
	if (!http_parser_header(hp, "Upgrade", &v) ||
	    pl_strcasecmp(&v, "websocket") ||
	    !http_parser_header(hp, "Sec-WebSocket-Accept", &v) ||
	    v.l >= sizeof(acc)) {
		seterr("bad WebSocket handshake response");
		err = EPROTO;
		goto out;
	}
	pl_strcpy(&v, acc, sizeof(acc));
	if (strcmp(acc, expect)) {
		seterr("Sec-WebSocket-Accept does not match the key");
		err = EPROTO;
		goto out;
	}

 out:
	mem_deref(mb);
	mem_deref(hp);
	if (err)
		mem_deref(ws);
	else
		*wsp = ws;
	return err;
}


int ws_send(struct ws_conn *ws, enum ws_opcode op, const void *data,
	    size_t n)
{
	uint8_t hdr[14], mask[4], blk[4096];
	const uint8_t *p = data;
	uint64_t dl;
	size_t hl = 2, off = 0;
	int err;

	if (!ws || (!data && n))
		return EINVAL;
	if (ws->closed)
		return ENOTCONN;
	if (1 != RAND_bytes(mask, sizeof(mask)))
		return EIO;
	hdr[0] = (uint8_t)(0x80 | (op & 0x0f));
	if (n < 126) {
		hdr[1] = (uint8_t)(0x80 | n);
	}
	else if (n <= 0xffff) {
		hdr[1] = 0x80 | 126;
		hdr[2] = (uint8_t)(n >> 8);
		hdr[3] = (uint8_t)n;
		hl = 4;
	}
	else {
		hdr[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			hdr[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	memcpy(hdr + hl, mask, 4);
	hl += 4;

	dl = now_ms() + ws->opts.first_byte_ms;
	err = conn_write(ws->nc, hdr, hl, dl);
	while (!err && off < n) {
		size_t k = n - off < sizeof(blk) ? n - off : sizeof(blk);

		for (size_t i = 0; i < k; i++)
			blk[i] = p[off + i] ^ mask[(off + i) & 3];
		err = conn_write(ws->nc, blk, k, dl);
		off += k;
	}
	return err;
}


static int ws_dispatch(enum ws_opcode op, const uint8_t *p, size_t n,
		       void *arg)
{
	struct ws_conn *ws = arg;

	switch (op) {

	case WS_PING:
		return ws_send(ws, WS_PONG, p, n);

	case WS_PONG:
		return 0;

	case WS_CLOSE: {
		uint8_t code[2] = {0x03, 0xe8};   /* 1000 */

		ws->close_code = n >= 2 ? (uint16_t)(p[0] << 8 | p[1]) : 1005;
		(void)ws_send(ws, WS_CLOSE, code, sizeof(code));
		ws->closed = true;
		return 0;
	}

	default:
		if (ws->closed)
			return 0;
		return ws->h ? ws->h(op, p, n, ws->arg) : 0;
	}
}


int ws_poll(struct ws_conn *ws, uint32_t wait_ms, ws_msg_h *h, void *arg)
{
	size_t n = 0;
	int err;

	if (!ws)
		return EINVAL;
	if (ws->closed)
		return ENOTCONN;
	ws->h = h;
	ws->arg = arg;

	if (ws->npend) {
		size_t k = ws->npend;

		ws->npend = 0;
		err = ws_parser_feed(&ws->wp, ws->pend, k, ws_dispatch, ws);
		ws->pend = mem_deref(ws->pend);
		if (err)
			return err;
		return ws->closed ? ENOTCONN : 0;
	}

	err = conn_read(ws->nc, ws->rbuf, RBUF, &n, now_ms() + wait_ms);
	if (err)
		return err;
	if (!n) {
		ws->closed = true;
		seterr("WebSocket connection closed without a close frame");
		return EPIPE;
	}
	err = ws_parser_feed(&ws->wp, ws->rbuf, n, ws_dispatch, ws);
	if (err)
		return err;
	return ws->closed ? ENOTCONN : 0;
}


bool ws_closed(const struct ws_conn *ws)
{
	return !ws || ws->closed;
}


uint16_t ws_close_code(const struct ws_conn *ws)
{
	return ws ? ws->close_code : 0;
}


/* ------------------------------------------------------------ JSON */

int net_json_decode(struct odict **op, const char *p, size_t len)
{
	if (!op || !p)
		return EINVAL;
	if (len > JSON_MAX)
		return EOVERFLOW;
	return json_decode_odict(op, 8, p, len, JSON_DEPTH);
}


const struct odict_entry *net_json_path(const struct odict *o,
					const char *path)
{
	const struct odict_entry *e = NULL;
	char key[64];

	if (!o || !path)
		return NULL;
	for (;;) {
		size_t n = strcspn(path, ".");

		if (!n || n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		e = odict_lookup(o, key);
		if (!e)
			return NULL;
		path += n;
		if (!*path)
			return e;
		++path;
		if (e->type != ODICT_OBJECT && e->type != ODICT_ARRAY)
			return NULL;
		o = e->u.odict;
	}
}


const char *net_json_str(const struct odict *o, const char *path)
{
	const struct odict_entry *e = net_json_path(o, path);

	return e && e->type == ODICT_STRING ? e->u.str : NULL;
}


/* ------------------------------------------------ PCM -> 16 kHz out */

struct net_pcm {
	net_pcm_h *h;
	void *arg;
	unsigned rate, channels;
	bool head_done, stopped;
	uint8_t *hdr;           /* WAV header bytes until "data" */
	size_t hlen;
	uint8_t part[4];        /* incomplete sample frame */
	size_t npart;
	SpeexResamplerState *rs;
	uint64_t in_total, out_total;
	int16_t in[PCM_BLOCK];
	int16_t out[PCM_BLOCK];
};


static void pcm_destructor(void *arg)
{
	struct net_pcm *pc = arg;

	if (pc->rs)
		speex_resampler_destroy(pc->rs);
	mem_deref(pc->hdr);
}


int net_pcm_alloc(struct net_pcm **pp, unsigned raw_rate, net_pcm_h *h,
		  void *arg)
{
	struct net_pcm *pc;

	if (!pp || !h || raw_rate < 8000 || raw_rate > 48000)
		return EINVAL;
	pc = mem_zalloc(sizeof(*pc), pcm_destructor);
	if (!pc)
		return ENOMEM;
	pc->hdr = mem_alloc(PCM_HDR_MAX, NULL);
	if (!pc->hdr) {
		mem_deref(pc);
		return ENOMEM;
	}
	pc->h = h;
	pc->arg = arg;
	pc->rate = raw_rate;
	pc->channels = 1;
	*pp = pc;
	return 0;
}


static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;
}


static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}


/* Samples at pc->rate: resample if needed and hand on. */
static void pcm_out(struct net_pcm *pc, const int16_t *s, size_t n)
{
	int err = 0;

	if (pc->stopped || !n)
		return;
	pc->in_total += n;
	if (pc->rate == 16000) {
		pc->out_total += n;
		if (pc->h(s, n, pc->arg))
			pc->stopped = true;
		return;
	}
	if (!pc->rs) {
		pc->rs = speex_resampler_init(1, pc->rate, 16000, 5, &err);
		if (!pc->rs) {
			pc->stopped = true;
			return;
		}
		speex_resampler_skip_zeros(pc->rs);
	}
	while (n && !pc->stopped) {
		spx_uint32_t il = (spx_uint32_t)n, ol = PCM_BLOCK;

		speex_resampler_process_int(pc->rs, 0, s, &il, pc->out, &ol);
		s += il;
		n -= il;
		if (ol) {
			pc->out_total += ol;
			if (pc->h(pc->out, ol, pc->arg))
				pc->stopped = true;
		}
		if (!il && !ol)
			break;
	}
}


/* Whole sample frames of bytes -> mono int16 blocks. */
static void pcm_bytes(struct net_pcm *pc, const uint8_t *p, size_t n)
{
	size_t fb = 2 * pc->channels;

	while (n && !pc->stopped) {
		size_t k = 0;

		if (pc->npart) {
			while (pc->npart < fb && n) {
				pc->part[pc->npart++] = *p++;
				--n;
			}
			if (pc->npart < fb)
				return;
			pc->in[k++] = (int16_t)(pc->channels == 2 ?
				((int16_t)rd16(pc->part) +
				 (int16_t)rd16(pc->part + 2)) / 2 :
				(int16_t)rd16(pc->part));
			pc->npart = 0;
		}
		while (k < PCM_BLOCK && n >= fb) {
			if (pc->channels == 2)
				pc->in[k++] = (int16_t)(((int16_t)rd16(p) +
					(int16_t)rd16(p + 2)) / 2);
			else
				pc->in[k++] = (int16_t)rd16(p);
			p += fb;
			n -= fb;
		}
		pcm_out(pc, pc->in, k);
		if (n && n < fb) {
			memcpy(pc->part, p, n);
			pc->npart = n;
			n = 0;
		}
	}
}


/* Look for the "data" chunk; 0 with head_done set when found. */
static int wav_head(struct net_pcm *pc, size_t *datap)
{
	size_t off = 12;
	bool fmt = false;

	if (memcmp(pc->hdr + 8, "WAVE", 4)) {
		seterr("RIFF body is not WAVE");
		return EBADMSG;
	}
	while (off + 8 <= pc->hlen) {
		const uint8_t *c = pc->hdr + off;
		uint32_t sz = rd32(c + 4);

		if (!memcmp(c, "fmt ", 4)) {
			uint16_t tag, ch, bits;
			uint32_t rate;

			if (sz < 16 || sz > 64)
				goto bad;
			if (off + 8 + sz > pc->hlen)
				return 0;   /* need more */
			tag = rd16(c + 8);
			ch = rd16(c + 10);
			rate = rd32(c + 12);
			bits = rd16(c + 22);
			if ((tag != 1 && tag != 0xfffe) || bits != 16 ||
			    (ch != 1 && ch != 2) || rate < 8000 ||
			    rate > 48000)
				goto bad;
			pc->channels = ch;
			pc->rate = rate;
			fmt = true;
		}
		else if (!memcmp(c, "data", 4)) {
			if (!fmt)
				goto bad;
			pc->head_done = true;
			*datap = off + 8;
			return 0;
		}
		if (sz > PCM_HDR_MAX)
			goto bad;
		off += 8 + sz + (sz & 1);
	}
	if (pc->hlen >= PCM_HDR_MAX)
		goto bad;
	return 0;
 bad:
	seterr("WAV body is not 16-bit PCM mono/stereo");
	return EBADMSG;
}


int net_pcm_feed(struct net_pcm *pc, const uint8_t *p, size_t n,
		 bool *stopp)
{
	int err = 0;

	if (!pc || (!p && n))
		return EINVAL;
	if (!pc->head_done) {
		size_t k = n < PCM_HDR_MAX - pc->hlen ? n :
			PCM_HDR_MAX - pc->hlen;
		size_t data = 0;

		memcpy(pc->hdr + pc->hlen, p, k);
		pc->hlen += k;
		if (pc->hlen < 12) {
			if (pc->hlen >= 4 && memcmp(pc->hdr, "RIFF", 4))
				goto raw;
			goto out;
		}
		if (memcmp(pc->hdr, "RIFF", 4))
			goto raw;
		err = wav_head(pc, &data);
		if (err || !pc->head_done) {
			if (!err && k < n) {
				seterr("WAV header too large");
				err = EBADMSG;
			}
			goto out;
		}
		/* data starts at `data` within hdr; the rest of hdr and
		 * of p (beyond k) is PCM */
		if (data < pc->hlen)
			pcm_bytes(pc, pc->hdr + data, pc->hlen - data);
		p += k;
		n -= k;
		goto pcm;
 raw:
		pc->head_done = true;
		pcm_bytes(pc, pc->hdr, pc->hlen);
		p += k;
		n -= k;
	}
 pcm:
	pcm_bytes(pc, p, n);
 out:
	if (stopp)
		*stopp = pc->stopped;
	return err;
}


int net_pcm_end(struct net_pcm *pc)
{
	int16_t zeros[256] = {0};
	uint64_t want;
	int lat;

	if (!pc)
		return EINVAL;
	if (!pc->head_done && pc->hlen) {
		if (pc->hlen >= 4 && !memcmp(pc->hdr, "RIFF", 4)) {
			seterr("truncated WAV header");
			return EBADMSG;
		}
		pc->head_done = true;
		pcm_bytes(pc, pc->hdr, pc->hlen);
	}
	if (!pc->rs || pc->stopped)
		return 0;
	want = pc->in_total * 16000 / pc->rate;
	lat = speex_resampler_get_input_latency(pc->rs);
	while (lat > 0 && pc->out_total < want && !pc->stopped) {
		spx_uint32_t il = (spx_uint32_t)(lat < 256 ? lat : 256);
		spx_uint32_t ol = PCM_BLOCK;

		speex_resampler_process_int(pc->rs, 0, zeros, &il, pc->out,
					    &ol);
		lat -= (int)il;
		if (ol > want - pc->out_total)
			ol = (spx_uint32_t)(want - pc->out_total);
		pc->out_total += ol;
		if (ol && pc->h(pc->out, ol, pc->arg))
			pc->stopped = true;
		if (!il)
			break;
	}
	return 0;
}


bool net_pcm_stopped(const struct net_pcm *pc)
{
	return !pc || pc->stopped;
}


uint64_t net_pcm_samples_out(const struct net_pcm *pc)
{
	return pc ? pc->out_total : 0;
}


void net_wav_header(uint8_t h[44], uint32_t rate, uint32_t samples)
{
	uint32_t bytes = samples * 2;

	memcpy(h, "RIFF", 4);
	h[4] = (uint8_t)(36 + bytes);
	h[5] = (uint8_t)((36 + bytes) >> 8);
	h[6] = (uint8_t)((36 + bytes) >> 16);
	h[7] = (uint8_t)((36 + bytes) >> 24);
	memcpy(h + 8, "WAVEfmt ", 8);
	h[16] = 16; h[17] = 0; h[18] = 0; h[19] = 0;
	h[20] = 1; h[21] = 0;                /* PCM */
	h[22] = 1; h[23] = 0;                /* mono */
	h[24] = (uint8_t)rate; h[25] = (uint8_t)(rate >> 8);
	h[26] = (uint8_t)(rate >> 16); h[27] = (uint8_t)(rate >> 24);
	h[28] = (uint8_t)(rate * 2); h[29] = (uint8_t)((rate * 2) >> 8);
	h[30] = (uint8_t)((rate * 2) >> 16);
	h[31] = (uint8_t)((rate * 2) >> 24);
	h[32] = 2; h[33] = 0;                /* block align */
	h[34] = 16; h[35] = 0;               /* bits */
	memcpy(h + 36, "data", 4);
	h[40] = (uint8_t)bytes; h[41] = (uint8_t)(bytes >> 8);
	h[42] = (uint8_t)(bytes >> 16); h[43] = (uint8_t)(bytes >> 24);
}
