/*
 * events.c  Call event bus with an optional JSON-lines file sink.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/events.h"
#include "core/log.h"

#define EVENTS_MAX_SUBS 16

static FILE *events_fp;
static struct {
	events_h *h;
	void *arg;
} subs[EVENTS_MAX_SUBS];


int events_open_file(const char *path)
{
	events_close();
	events_fp = fopen(path, "a");
	if (!events_fp)
		return errno;
	setvbuf(events_fp, NULL, _IOLBF, 0);
	return 0;
}


void events_close(void)
{
	if (events_fp)
		fclose(events_fp);
	events_fp = NULL;
}


int events_subscribe(events_h *h, void *arg)
{
	for (size_t i = 0; i < EVENTS_MAX_SUBS; i++) {
		if (!subs[i].h) {
			subs[i].h = h;
			subs[i].arg = arg;
			return 0;
		}
	}
	return ENOMEM;
}


void events_unsubscribe(events_h *h, void *arg)
{
	for (size_t i = 0; i < EVENTS_MAX_SUBS; i++) {
		if (subs[i].h == h && subs[i].arg == arg)
			subs[i].h = NULL;
	}
}


const char *events_esc(char *buf, unsigned sz, const char *s)
{
	unsigned o = 0;

	if (!sz)
		return "";
	for (; s && *s && o + 7 < sz; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		}
		else if (c < 0x20 || c == 0x7f) {
			o += (unsigned)snprintf(buf + o, sz - o, "\\u%04x", c);
		}
		else {
			buf[o++] = (char)c;
		}
	}
	buf[o] = '\0';
	return buf;
}


void events_emit(const char *name, const char *callid, const char *fmt, ...)
{
	char *extra = NULL, *line = NULL;
	char cid[128];
	struct timespec now;
	va_list ap;
	int n;

	if (!events_fp) {
		bool any = false;
		for (size_t i = 0; i < EVENTS_MAX_SUBS; i++)
			any |= subs[i].h != NULL;
		if (!any)
			return;
	}

	/* Sized to fit: a long transcript or reply must not cut a line
	 * into broken JSON. */
	if (fmt) {
		va_start(ap, fmt);
		n = vasprintf(&extra, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	n = asprintf(&line, "{\"ts\":%lld.%03ld,\"event\":\"%s\"%s%s%s%s}",
		     (long long)now.tv_sec, now.tv_nsec / 1000000, name,
		     callid ? ",\"call\":\"" : "",
		     callid ? events_esc(cid, sizeof(cid), callid) : "",
		     callid ? "\"" : "", extra ? extra : "");
	free(extra);
	if (n < 0)
		return;

	if (events_fp)
		fprintf(events_fp, "%s\n", line);
	for (size_t i = 0; i < EVENTS_MAX_SUBS; i++) {
		if (subs[i].h)
			subs[i].h(line, subs[i].arg);
	}
	free(line);
}
