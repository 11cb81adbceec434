/*
 * store_be.h  The storage backend interface: what store.c (event
 *             recording, JSON, retention) needs from a database.  One
 *             table of operations per backend; rows travel as the plain
 *             structs below, so no SQL leaves the backend file.
 *
 * Times are Unix milliseconds (0 = unset).  Strings in rows handed to a
 * row handler are valid only during the call.  Main thread only (a
 * backend may run its own helper threads behind this interface).
 */
#ifndef AGENTLINE_STORE_BE_H
#define AGENTLINE_STORE_BE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_message;

/* A call record.  For store_be.call_update, NULL strings and negative
 * numbers mean "leave unchanged". */
struct store_call {
	const char *id;
	const char *direction;       /* inbound | outbound               */
	const char *caller_redacted;
	const char *caller_key;      /* never put in JSON for lists      */
	const char *group;
	int privilege;
	const char *codec;
	const char *transport;
	int srtp;                    /* 0/1, -1 unknown                   */
	int64_t started, answered, ended, updated;
	const char *outcome;         /* answered|busy|no_answer|...      */
	int sip_code;
	const char *end_reason;
	int64_t duration_ms;
	const char *recording;
	int barge_ins;
	bool live;
};

struct store_turn {
	unsigned n;
	const char *transcript, *reply;
	int64_t vad_end_ms, stt_ms, brain_ms, tts_first_audio_ms;
	int64_t voice_to_voice_ms;
	bool interrupted;
	int64_t ts;
};

struct store_tool {
	unsigned turn;
	const char *tool, *decision, *category;
	int ok;                      /* 0/1, -1 unknown (gate decision)   */
	int64_t ts;
};

struct store_msg_row {
	uint64_t id;
	const char *callid, *name, *callback, *text, *audio_path;
	int64_t ts;
	bool read;
};

struct store_sched_row {
	uint64_t id;
	int64_t at;                  /* Unix seconds                      */
	const char *json, *state, *outcome;
	int64_t created;
};

typedef void (store_call_h)(const struct store_call *c, void *arg);
typedef void (store_turn_h)(const struct store_turn *t, void *arg);
typedef void (store_tool_h)(const struct store_tool *t, void *arg);
typedef void (store_msg_h)(const struct store_msg_row *m, void *arg);
typedef void (store_kv_h)(const char *key, const char *val, int64_t updated,
			  void *arg);
typedef void (store_sched_row_h)(const struct store_sched_row *s, void *arg);
/* a file that belonged to a deleted row (recording, message audio) */
typedef void (store_file_h)(const char *path, void *arg);

struct store_be {
	const char *name;
	/* err gets a one-line reason on failure */
	int  (*open)(void **ctxp, const char *data_dir, char *err,
		     size_t errsz);
	void (*close)(void *ctx);
	int  (*begin)(void *ctx);
	int  (*commit)(void *ctx);

	/* Recording: find the live call with c->id (or add it) and apply
	 * the set fields; c->live false ends it. */
	int  (*call_update)(void *ctx, const struct store_call *c);
	int  (*call_barge_in)(void *ctx, const char *callid, int64_t ts);
	/* replaces a turn with the same number */
	int  (*turn_put)(void *ctx, const char *callid,
			 const struct store_turn *t);
	int  (*tool_add)(void *ctx, const char *callid,
			 const struct store_tool *t);
	/* calls still live: end them with reason "crash" at their last
	 * update; *np = how many */
	int  (*recover)(void *ctx, unsigned *np);
	/* delete calls and messages before `before` */
	int  (*purge)(void *ctx, int64_t before, store_file_h *fh, void *arg,
		      unsigned *ncallsp, unsigned *nmsgsp);

	int  (*calls_list)(void *ctx, unsigned offset, unsigned limit,
			   uint64_t *totalp, store_call_h *h, void *arg);
	/* newest call with this id; ENOENT */
	int  (*call_get)(void *ctx, const char *callid, store_call_h *ch,
			 store_turn_h *th, store_tool_h *toh, void *arg);

	int  (*message_add)(void *ctx, const struct store_message *m,
			    int64_t ts, uint64_t *idp);
	int  (*message_read)(void *ctx, uint64_t id, bool read);
	int  (*messages_list)(void *ctx, unsigned offset, unsigned limit,
			      uint64_t *totalp, store_msg_h *h, void *arg);
	/* *audiop: the audio file to remove (caller frees with mem_deref) */
	int  (*message_delete)(void *ctx, uint64_t id, char **audiop);

	int  (*kv_get)(void *ctx, bool history, const char *key,
		       char **valp);
	int  (*kv_put)(void *ctx, bool history, const char *key,
		       const char *val, int64_t ts);
	int  (*kv_delete)(void *ctx, bool history, const char *key);
	int  (*kv_list)(void *ctx, bool history, store_kv_h *h, void *arg);

	int  (*sched_add)(void *ctx, const char *json, int64_t at,
			  int64_t ts, uint64_t *idp);
	int  (*sched_list)(void *ctx, store_sched_row_h *h, void *arg);
	int  (*sched_cancel)(void *ctx, uint64_t id);
	/* queued rows with at <= now, oldest first, at most max; each is
	 * marked started */
	int  (*sched_due)(void *ctx, int64_t now, unsigned max,
			  store_sched_row_h *h, void *arg);
	int  (*sched_done)(void *ctx, uint64_t id, const char *outcome);
	/* scheduled calls left started by a crash: done, outcome "crash" */
	int  (*sched_recover)(void *ctx, unsigned *np);
};

extern const struct store_be store_sqlite;

/* The backend the next store_open uses; NULL = SQLite.  For tests (fault
 * injection) and, later, a backend chosen by configuration. */
void store_be_use(const struct store_be *be);

/* Test hooks of the SQLite backend: create a database at path with the
 * schema of `version` only (to test migrations); the latest version. */
int      store_sqlite_create_at(const char *path, unsigned version);
unsigned store_sqlite_latest(void);

#endif
