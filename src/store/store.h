/*
 * store.h  Persistence: calls, turns, tool calls, messages, caller history,
 *          run-time settings and scheduled calls, in SQLite (WAL) under
 *          data_dir.  Calls, turns and tool calls are recorded from the
 *          event bus by the store itself; queries return JSON text for the
 *          control API.  The SQL lives in one backend (store_sqlite.c)
 *          behind an internal table of operations (store_be.h), so another
 *          backend (PostgreSQL) can follow.
 *
 * Every function returns 0 or an errno: ENOENT for a missing row, EINVAL
 * for bad arguments, ENODEV when the store is not open, EIO for a
 * database error (logged once).  Main thread only.
 */
#ifndef AGENTLINE_STORE_H
#define AGENTLINE_STORE_H

#include <stdbool.h>
#include <stdint.h>

struct mbuf;

/* Open (creating data_dir and agentline.db when missing), migrate the
 * schema, mark calls left live by a crash as ended ("crash"), and start
 * recording from the event bus.  Refuses a database written by a newer
 * agentline, and a data_dir another agentline is using. */
int  store_open(const char *data_dir);
void store_close(void);
bool store_isopen(void);

/* Delete calls (with turns, tool calls, recordings), messages (with
 * audio files) older than `days`, now and then once a day; 0 = keep
 * everything (the default until this is called). */
int  store_retention_set(unsigned days);

/* Caller facts that are not on the event bus (the normalised number is
 * personal data: it goes to the database, never to logs or events).
 * NULL / negative arguments leave a field unchanged. */
int  store_call_caller(const char *callid, const char *redacted,
		       const char *caller_key, const char *group,
		       int privilege);
int  store_call_recording(const char *callid, const char *path);

/* Messages taken for the owner */
struct store_message {
	const char *callid, *name, *callback, *text, *audio_path;
};
int  store_message_add(const struct store_message *m, uint64_t *idp);
int  store_message_read(uint64_t id, bool read);          /* ENOENT */
int  store_messages_json(struct mbuf *mb, unsigned offset, unsigned limit);
int  store_message_delete(uint64_t id);                    /* ENOENT */

/* Calls, newest first: {"total":N,"offset":O,"limit":L,"calls":[...]} */
int  store_calls_json(struct mbuf *mb, unsigned offset, unsigned limit);
/* One call with "turns" and "tool_calls" in order; ENOENT */
int  store_call_json(struct mbuf *mb, const char *callid);

/* Caller history (keep_history): one JSON document per caller key */
int  store_history_get(const char *key, char **jsonp);     /* ENOENT */
int  store_history_put(const char *key, const char *json);
int  store_history_json(struct mbuf *mb);
int  store_history_delete(const char *key);                /* ENOENT */

/* Settings changed at run time */
int  store_setting_get(const char *key, char **valp);      /* ENOENT */
int  store_setting_put(const char *key, const char *val);
/* Every saved setting, by key (to re-apply them at start-up) */
typedef void (store_setting_h)(const char *key, const char *val, void *arg);
int  store_settings_foreach(store_setting_h *h, void *arg);

/* Scheduled calls: queued -> started -> done, or cancelled */
int  store_sched_add(const char *json, uint64_t at_unix, uint64_t *idp);
int  store_sched_json(struct mbuf *mb);
/* ENOENT: no such call; EALREADY: already started, done or cancelled */
int  store_sched_cancel(uint64_t id);
typedef void (store_sched_h)(uint64_t id, const char *json, void *arg);
/* Calls h for each queued call due at now_unix and marks it started. */
int  store_sched_due(uint64_t now_unix, store_sched_h *h, void *arg);
int  store_sched_done(uint64_t id, const char *outcome);   /* ENOENT */

/* Write what is batched now (also done at the end of each main loop
 * iteration that recorded something). */
int  store_flush(void);

/* JSON string escaping (quotes not included) that is safe for any bytes:
 * invalid UTF-8 becomes U+FFFD. For re_hprintf's %H. */
struct re_printf;
int  store_json_str(struct re_printf *pf, const char *s);

#endif
