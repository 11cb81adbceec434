/*
 * api_cli.c  The CLI's side of the control API: one blocking HTTP/1.1
 *            request to the running daemon (control_listen, plain or TLS)
 *            with the configured or generated token.  Runs before (and
 *            without) re_main, so blocking is fine here.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <re.h>
#include "core/conf.h"
#include "api/api.h"

enum {
	CLI_TIMEOUT_MS = 10000,
	CLI_RESP_MAX   = 4 << 20,
};


static int read_token(const struct conf *conf, char *buf, size_t sz)
{
	char path[512];
	FILE *f;
	size_t n;

	if (conf_isset(conf, "control_token") &&
	    *conf_str(conf, "control_token")) {
		str_ncpy(buf, conf_str(conf, "control_token"), sz);
		return 0;
	}
	re_snprintf(path, sizeof(path), "%s/control_token",
		    conf_opt_find("data_dir") && *conf_str(conf, "data_dir") ?
		    conf_str(conf, "data_dir") : ".");
	f = fopen(path, "r");
	if (!f)
		return errno;
	n = fread(buf, 1, sz - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return n ? 0 : EINVAL;
}


static int connect_to(const struct sa *sa)
{
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int fd, err = 0, soerr = 0;

	fd = socket(sa_af(sa), SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	if (connect(fd, &sa->u.sa, sa->len) && errno != EINPROGRESS) {
		err = errno;
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, CLI_TIMEOUT_MS) != 1) {
		err = ETIMEDOUT;
		goto out;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) || soerr) {
		err = soerr ? soerr : errno;
		goto out;
	}
	(void)fcntl(fd, F_SETFL, 0);
 out:
	if (err) {
		close(fd);
		return -err;
	}
	return fd;
}


struct io {
	int fd;
	SSL *ssl;
};


static int io_write(struct io *io, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = io->ssl ? SSL_write(io->ssl, p, (int)n) :
			write(io->fd, p, n);

		if (w <= 0)
			return EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}


static ssize_t io_read(struct io *io, uint8_t *p, size_t n)
{
	struct pollfd pfd = {io->fd, POLLIN, 0};

	if (!(io->ssl && SSL_pending(io->ssl)) &&
	    poll(&pfd, 1, CLI_TIMEOUT_MS) != 1)
		return -1;
	return io->ssl ? SSL_read(io->ssl, p, (int)n) : read(io->fd, p, n);
}


static bool response_complete(const struct mbuf *mb)
{
	const uint8_t *h = memmem(mb->buf, mb->end, "\r\n\r\n", 4);
	char head[4096];
	const char *p;
	size_t hlen;

	if (!h)
		return false;
	hlen = (size_t)(h - mb->buf) + 4;
	if (hlen >= sizeof(head))
		return false;
	memcpy(head, mb->buf, hlen);
	head[hlen] = '\0';
	for (p = head; p && *p; p = strstr(p, "\r\n")) {
		p += (p != head) ? 2 : 0;
		if (!strncasecmp(p, "Content-Length:", 15))
			return mb->end >= hlen + strtoul(p + 15, NULL, 10);
		if (p == head)
			++p;
	}
	return false;
}


int api_client(const struct conf *conf, const char *method, const char *path,
	       const char *body, struct mbuf *out, uint16_t *statusp)
{
	const char *listen = conf_str(conf, "control_listen");
	bool tls = conf_isset(conf, "control_tls_cert") &&
		*conf_str(conf, "control_tls_cert");
	char token[256];
	struct mbuf *req = NULL, *resp = NULL;
	struct io io = {-1, NULL};
	SSL_CTX *ctx = NULL;
	struct sa sa;
	struct pl ver, scode, reason;
	const uint8_t *hend;
	int err;

	if (!listen || !*listen)
		return ENOTCONN;
	err = sa_decode(&sa, listen, strlen(listen));
	if (err)
		return err;
	/* a daemon on all interfaces is reachable on loopback */
	if (sa_is_any(&sa))
		sa_set_str(&sa, sa_af(&sa) == AF_INET6 ? "::1" : "127.0.0.1",
			   sa_port(&sa));
	err = read_token(conf, token, sizeof(token));
	if (err) {
		fprintf(stderr, "agentline: no control token: set "
			"control_token or run the daemon once to create "
			"data_dir/control_token\n");
		return EACCES;
	}

	io.fd = connect_to(&sa);
	if (io.fd < 0) {
		err = -io.fd;
		goto out;
	}
	if (tls) {
		ctx = SSL_CTX_new(TLS_client_method());
		if (!ctx || !SSL_CTX_load_verify_locations(
			    ctx, conf_str(conf, "control_tls_cert"), NULL)) {
			err = EPROTO;
			goto out;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		io.ssl = SSL_new(ctx);
		if (!io.ssl || !SSL_set_fd(io.ssl, io.fd) ||
		    SSL_connect(io.ssl) != 1) {
			err = EPROTO;
			goto out;
		}
	}

	req = mbuf_alloc(1024);
	resp = mbuf_alloc(4096);
	if (!req || !resp) {
		err = ENOMEM;
		goto out;
	}
	err = mbuf_printf(req, "%s %s HTTP/1.1\r\nHost: %J\r\n"
			  "Authorization: Bearer %s\r\n"
			  "Connection: close\r\n"
			  "Content-Type: application/json\r\n"
			  "Content-Length: %zu\r\n\r\n%s", method, path, &sa,
			  token, body ? strlen(body) : (size_t)0,
			  body ? body : "");
	memset(token, 0, sizeof(token));
	if (!err)
		err = io_write(&io, req->buf, req->end);
	if (err)
		goto out;

	for (;;) {
		uint8_t buf[4096];
		ssize_t n = io_read(&io, buf, sizeof(buf));

		if (n < 0) {
			err = ETIMEDOUT;
			goto out;
		}
		if (n == 0)
			break;
		if (resp->end + (size_t)n > CLI_RESP_MAX) {
			err = EOVERFLOW;
			goto out;
		}
		(void)mbuf_write_mem(resp, buf, (size_t)n);
		/* the server keeps the connection: stop at Content-Length */
		if (response_complete(resp))
			break;
	}
	if (re_regex((char *)resp->buf, resp->end,
		     "HTTP/[^ ]+ [0-9]+ [^\r]*", &ver, &scode, &reason) ||
	    resp->buf != (const uint8_t *)ver.p - 5) {
		err = EPROTO;
		goto out;
	}
	*statusp = (uint16_t)pl_u32(&scode);
	hend = (const uint8_t *)memmem(resp->buf, resp->end, "\r\n\r\n", 4);
	if (hend && out) {
		hend += 4;
		(void)mbuf_write_mem(out, hend, resp->end -
				     (size_t)(hend - resp->buf));
	}
 out:
	if (io.ssl)
		SSL_free(io.ssl);
	if (ctx)
		SSL_CTX_free(ctx);
	if (io.fd >= 0)
		close(io.fd);
	mem_deref(req);
	mem_deref(resp);
	return err;
}
