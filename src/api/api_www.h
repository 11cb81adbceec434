/*
 * api_www.h  The control centre's static files (src/api/www), compiled
 *            into the binary by src/api/www/embed.cmake.  Main thread only.
 */
#ifndef AGENTLINE_API_WWW_H
#define AGENTLINE_API_WWW_H

#include <stdbool.h>
#include <stddef.h>

struct http_conn;

struct api_www_file {
	const char *path;             /* "/index.html"                    */
	const char *type;             /* Content-Type                     */
	const unsigned char *data;
	size_t len;
};

/* The generated table, ended by an entry with path NULL. */
extern const struct api_www_file api_www_files[];

/* Answer GET or HEAD of "/" or one of the files (no token needed: they
 * hold no data; everything they show comes from the API).  Returns false
 * when the request is not for one of them, and the caller goes on. */
bool api_www_serve(struct http_conn *conn, const char *method,
		   const char *path, const char *inm);

#endif
