/*
 * log.h  Operator log: levels, text or JSON lines, secret redaction.
 *
 * Any thread may log; a line is written with one write(2) so lines from
 * different threads never interleave.  Callers never pass secrets or full
 * phone numbers; log_redact() is a second line of defence that masks every
 * value registered with log_secret_add().
 */
#ifndef AGENTLINE_LOG_H
#define AGENTLINE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_DEBUG = 0,
	LOG_LVL_INFO,
	LOG_LVL_WARN,
	LOG_LVL_ERROR,
};

enum log_format {
	LOG_FMT_TEXT = 0,
	LOG_FMT_JSON,
};

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_set_format(enum log_format fmt);
void log_set_fd(int fd);
int  log_level_parse(enum log_level *lvlp, const char *s);

/* Register a value that must never appear in a log line (main thread,
 * before other threads start). Values shorter than 3 chars are ignored. */
void log_secret_add(const char *value);
void log_secret_clear(void);
void log_redact(char *buf, size_t len);

/* Mask a phone number/user part to its last two characters: "***42" */
const char *log_mask_number(char *buf, size_t sz, const char *num);

/* fmt is a libre re_printf format: %m is an errno value, %J a struct sa *,
 * %r a struct pl *. */
void log_msg(enum log_level lvl, const char *module, const char *callid,
	     const char *fmt, ...);

#define log_debug(mod, cid, ...) \
	do { if (log_get_level() <= LOG_LVL_DEBUG) \
		log_msg(LOG_LVL_DEBUG, mod, cid, __VA_ARGS__); } while (0)
#define log_info(mod, cid, ...)  log_msg(LOG_LVL_INFO, mod, cid, __VA_ARGS__)
#define log_warn(mod, cid, ...)  log_msg(LOG_LVL_WARN, mod, cid, __VA_ARGS__)
#define log_error(mod, cid, ...) log_msg(LOG_LVL_ERROR, mod, cid, __VA_ARGS__)

#endif
