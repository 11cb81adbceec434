/*
 * api_files.c  Audio the control centre plays: GET /api/calls/{id}/recording
 *              and GET /api/messages/{id}/audio.  The path comes from the
 *              database (never from the request), must be a regular .wav
 *              file, and is served in pieces of at most CHUNK_MAX bytes
 *              (HTTP Range, 206) so a long recording never sits in memory
 *              whole.
 *
 * Main thread only (reads are local files, bounded).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include <re.h>
#include "store/store.h"
#include "api/apiint.h"

enum {
	CHUNK_MAX  = 2 * 1024 * 1024,
	LIST_MAX   = 500,
};


/* The "key" string member of the object with "id": id in a JSON list
 * member `list` of the store's answer (or of the object itself). */
static int path_of(char *buf, size_t sz, struct mbuf *mb, const char *list,
		   uint64_t id, const char *key)
{
	struct odict *od = NULL;
	const struct odict_entry *e;
	const char *p = NULL;
	int err;

	err = json_decode_odict(&od, 16, (const char *)mb->buf, mb->end, 6);
	if (err)
		return err;
	if (!list) {
		p = odict_string(od, key);
	}
	else if ((e = odict_get_type(od, ODICT_ARRAY, list))) {
		for (struct le *le = e->u.odict->lst.head; le; le = le->next) {
			const struct odict_entry *x = le->data;
			uint64_t n;

			if (x->type != ODICT_OBJECT)
				continue;
			if (odict_get_number(x->u.odict, &n, "id") && n == id) {
				p = odict_string(x->u.odict, key);
				break;
			}
		}
	}
	if (p && *p)
		str_ncpy(buf, p, sz);
	else
		err = ENOENT;
	mem_deref(od);
	return err;
}


static void reply_json_err(struct http_conn *conn, uint16_t st,
			   const char *code, const char *msg)
{
	struct mbuf *mb = mbuf_alloc(256);

	if (!mb)
		return;
	(void)api_err(mb, st, code, "%s", msg);
	(void)http_reply(conn, st, st == 404 ? "Not Found" :
			 st == 416 ? "Range Not Satisfiable" : "Error",
			 "Content-Type: application/json\r\n"
			 "Content-Length: %zu\r\n"
			 "Cache-Control: no-store\r\n\r\n%b",
			 mb->end, mb->buf, mb->end);
	mem_deref(mb);
}


/* bytes=a-b | bytes=a- ; false if absent or unusable */
static bool range_parse(const struct http_msg *msg, uint64_t size,
			uint64_t *a, uint64_t *b)
{
	const struct http_hdr *h = http_msg_xhdr(msg, "Range");
	char v[64];
	char *end;

	if (!h || h->val.l >= sizeof(v))
		return false;
	pl_strcpy(&h->val, v, sizeof(v));
	if (strncasecmp(v, "bytes=", 6))
		return false;
	*a = strtoull(v + 6, &end, 10);
	if (end == v + 6 || *end != '-')
		return false;
	*b = end[1] ? strtoull(end + 1, NULL, 10) : size - 1;
	if (*b >= size)
		*b = size - 1;
	return true;
}


static void send_file(struct http_conn *conn, const struct http_msg *msg,
		      const char *path, bool head)
{
	struct stat st;
	uint64_t a = 0, b = 0, n;
	bool ranged;
	struct mbuf *mb = NULL;
	size_t plen = strlen(path);
	int fd;

	if (plen < 5 || strcasecmp(path + plen - 4, ".wav")) {
		reply_json_err(conn, 404, "not_found", "no audio file");
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0) {
		if (fd >= 0)
			close(fd);
		reply_json_err(conn, 404, "not_found", "the audio file is "
			       "gone");
		return;
	}
	ranged = range_parse(msg, (uint64_t)st.st_size, &a, &b);
	if (ranged && a >= (uint64_t)st.st_size) {
		close(fd);
		reply_json_err(conn, 416, "bad_range", "range beyond the "
			       "file");
		return;
	}
	if (!ranged)
		b = (uint64_t)st.st_size - 1;
	if (b < a)
		b = a;
	/* cap one answer; players ask for the rest */
	if (b - a + 1 > CHUNK_MAX) {
		b = a + CHUNK_MAX - 1;
		ranged = true;
	}
	n = b - a + 1;
	if (!head) {
		mb = mbuf_alloc((size_t)n);
		if (!mb || pread(fd, mb->buf, (size_t)n, (off_t)a) !=
		    (ssize_t)n) {
			close(fd);
			mem_deref(mb);
			reply_json_err(conn, 500, "internal", "cannot read "
				       "the file");
			return;
		}
		mb->end = (size_t)n;
	}
	close(fd);
	if (ranged)
		(void)http_reply(conn, 206, "Partial Content",
				 "Content-Type: audio/wav\r\n"
				 "Accept-Ranges: bytes\r\n"
				 "Content-Range: bytes %llu-%llu/%llu\r\n"
				 "Content-Length: %llu\r\n"
				 "Cache-Control: private, max-age=3600\r\n"
				 "\r\n%b",
				 (unsigned long long)a, (unsigned long long)b,
				 (unsigned long long)st.st_size,
				 (unsigned long long)n,
				 mb ? mb->buf : NULL, mb ? mb->end : 0);
	else
		(void)http_reply(conn, 200, "OK",
				 "Content-Type: audio/wav\r\n"
				 "Accept-Ranges: bytes\r\n"
				 "Content-Length: %llu\r\n"
				 "Cache-Control: private, max-age=3600\r\n"
				 "\r\n%b",
				 (unsigned long long)n,
				 mb ? mb->buf : NULL, mb ? mb->end : 0);
	mem_deref(mb);
}


/* path = pre + middle + post with a non-empty middle copied to buf. */
static bool match(const char *path, const char *pre, const char *post,
		  char *buf, size_t sz)
{
	size_t l = strlen(path), a = strlen(pre), b = strlen(post);

	if (l <= a + b || l - a - b >= sz || strncmp(path, pre, a) ||
	    strcmp(path + l - b, post))
		return false;
	memcpy(buf, path + a, l - a - b);
	buf[l - a - b] = '\0';
	return true;
}


bool api_files_serve(struct http_conn *conn, const struct http_msg *msg,
		     const char *method, const char *path)
{
	char id[128], file[1024];
	struct mbuf *mb;
	bool head = !strcmp(method, "HEAD");
	int err = ENOENT;
	uint64_t n = 0;
	bool rec;

	if (strcmp(method, "GET") && !head)
		return false;
	if (match(path, "/api/calls/", "/recording", id, sizeof(id)) &&
	    !strchr(id, '/')) {
		rec = true;
	}
	else if (match(path, "/api/messages/", "/audio", id, sizeof(id)) &&
		 strspn(id, "0123456789") == strlen(id)) {
		rec = false;
		n = strtoull(id, NULL, 10);
	}
	else {
		return false;
	}

	mb = mbuf_alloc(4096);
	if (!mb)
		return true;
	if (rec) {
		if (0 == store_call_json(mb, id))
			err = path_of(file, sizeof(file), mb, NULL, 0,
				      "recording");
	}
	else if (0 == store_messages_json(mb, 0, LIST_MAX)) {
		err = path_of(file, sizeof(file), mb, "messages", n,
			      "audio_path");
	}
	mem_deref(mb);
	if (err)
		reply_json_err(conn, 404, "not_found", rec ? "no recording "
			       "for that call" : "no audio for that message");
	else
		send_file(conn, msg, file, head);
	return true;
}
