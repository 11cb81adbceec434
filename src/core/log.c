/*
 * log.c  Operator log lines (text or JSON) with redaction of secrets.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <re.h>
#include "core/events.h"
#include "core/log.h"

#define LOG_MAX_SECRETS 64
#define LOG_LINE_MAX 2048

static enum log_level log_lvl = LOG_LVL_INFO;
static enum log_format log_fmt = LOG_FMT_TEXT;
static int log_fd = 2;

/* under log_lock */
static char *log_secrets[LOG_MAX_SECRETS];
static size_t log_nsecrets;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *lvl_names[] = {"debug", "info", "warn", "error"};


void log_set_level(enum log_level lvl)
{
	log_lvl = lvl;
}


enum log_level log_get_level(void)
{
	return log_lvl;
}


void log_set_format(enum log_format fmt)
{
	log_fmt = fmt;
}


void log_set_fd(int fd)
{
	log_fd = fd;
}


int log_level_parse(enum log_level *lvlp, const char *s)
{
	if (!s)
		return 22;
	for (size_t i = 0; i < sizeof(lvl_names)/sizeof(lvl_names[0]); i++) {
		if (0 == strcmp(s, lvl_names[i])) {
			*lvlp = (enum log_level)i;
			return 0;
		}
	}
	return 22; /* EINVAL */
}


void log_secret_add(const char *value)
{
	if (!value || strlen(value) < 3)
		return;

	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < log_nsecrets; i++) {
		if (0 == strcmp(log_secrets[i], value))
			goto out;
	}
	if (log_nsecrets < LOG_MAX_SECRETS) {
		char *dup = strdup(value);
		if (dup)
			log_secrets[log_nsecrets++] = dup;
	}
 out:
	pthread_mutex_unlock(&log_lock);
}


void log_secret_clear(void)
{
	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < log_nsecrets; i++) {
		memset(log_secrets[i], 0, strlen(log_secrets[i]));
		free(log_secrets[i]);
		log_secrets[i] = NULL;
	}
	log_nsecrets = 0;
	pthread_mutex_unlock(&log_lock);
}


/* Replace every occurrence of a registered secret with "***". */
void log_redact(char *buf, size_t len)
{
	if (!buf || !len)
		return;

	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < log_nsecrets; i++) {
		const char *s = log_secrets[i];
		size_t sl = strlen(s);
		char *p;

		while ((p = strstr(buf, s)) != NULL) {
			size_t tail = strlen(p + sl);
			p[0] = '*'; p[1] = '*'; p[2] = '*';
			memmove(p + 3, p + sl, tail + 1);
		}
	}
	pthread_mutex_unlock(&log_lock);
}


const char *log_mask_number(char *buf, size_t sz, const char *num)
{
	size_t n;

	if (!buf || sz < 6)
		return "";
	if (!num || !*num) {
		snprintf(buf, sz, "-");
		return buf;
	}
	n = strlen(num);
	snprintf(buf, sz, "***%s", n > 2 ? num + n - 2 : num);
	return buf;
}



void log_msg(enum log_level lvl, const char *module, const char *callid,
	     const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	char line[LOG_LINE_MAX * 2];
	char ts[64];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n;

	if (lvl < log_lvl)
		return;

	va_start(ap, fmt);
	re_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_redact(msg, sizeof(msg));

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);

	if (log_fmt == LOG_FMT_JSON) {
		char emsg[LOG_LINE_MAX * 2 - 256];
		events_esc(emsg, sizeof(emsg), msg);
		n = snprintf(line, sizeof(line),
			     "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"%s\""
			     "%s%s%s,\"msg\":\"%s\"}\n",
			     ts, lvl_names[lvl], module ? module : "",
			     callid ? ",\"call\":\"" : "",
			     callid ? callid : "", callid ? "\"" : "", emsg);
	}
	else {
		n = snprintf(line, sizeof(line), "%s %-5s %s: %s%s%s\n",
			     ts, lvl_names[lvl], module ? module : "",
			     "", callid ? callid : "",
			     callid ? ": " : "");
		if (n > 0 && (size_t)n < sizeof(line)) {
			int m = snprintf(line + n - 1, sizeof(line) - (size_t)n + 1,
					 "%s\n", msg);
			n = n - 1 + m;
		}
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (write(log_fd, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}
