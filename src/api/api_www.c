/*
 * api_www.c  Serves the control centre: the static HTML/JS/CSS in
 *            src/api/www, compiled in (see embed.cmake), with a content
 *            security policy that allows nothing but this origin and an
 *            ETag so browsers revalidate instead of downloading again.
 *
 * Main thread only.
 */
#include <stdint.h>
#include <string.h>
#include <re.h>
#include "api/api_www.h"

/* Scripts and styles from this origin only, never inline; WebSockets and
 * media (recordings) from this origin; no framing. */
#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' data:; media-src 'self' blob:; " \
	"connect-src 'self'; base-uri 'none'; form-action 'self'; " \
	"frame-ancestors 'none'"


static const struct api_www_file *www_find(const char *path)
{
	if (!strcmp(path, "/"))
		path = "/index.html";
	for (const struct api_www_file *f = api_www_files; f->path; f++) {
		if (!strcmp(f->path, path))
			return f;
	}
	return NULL;
}


static uint32_t fnv1a(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}


bool api_www_serve(struct http_conn *conn, const char *method,
		   const char *path, const char *inm)
{
	const struct api_www_file *f;
	bool head = !strcmp(method, "HEAD");
	char etag[16];

	if (!conn || !path || (!head && strcmp(method, "GET")))
		return false;
	f = www_find(path);
	if (!f)
		return false;

	re_snprintf(etag, sizeof(etag), "\"%08x\"", fnv1a(f->data, f->len));
	if (inm && strstr(inm, etag)) {
		(void)http_reply(conn, 304, "Not Modified",
				 "ETag: %s\r\n"
				 "Cache-Control: no-cache\r\n"
				 "Content-Length: 0\r\n"
				 "\r\n", etag);
		return true;
	}
	(void)http_reply(conn, 200, "OK",
			 "Content-Type: %s\r\n"
			 "Content-Length: %zu\r\n"
			 "ETag: %s\r\n"
			 "Cache-Control: no-cache\r\n"
			 "Content-Security-Policy: " CSP "\r\n"
			 "X-Content-Type-Options: nosniff\r\n"
			 "X-Frame-Options: DENY\r\n"
			 "Referrer-Policy: no-referrer\r\n"
			 "\r\n"
			 "%b",
			 f->type, f->len, etag,
			 f->data, head ? (size_t)0 : f->len);
	return true;
}
