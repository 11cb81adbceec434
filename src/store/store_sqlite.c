/*
 * store_sqlite.c  The SQLite backend of the store: every SQL statement of
 *                 agentline lives in this file.
 *
 * One connection on the main thread, in WAL mode with synchronous=NORMAL:
 * a commit appends to the WAL without fsync, so it costs tens of
 * microseconds and survives a crash of the process (kill -9); only a
 * power cut can lose the last commits.  The fsyncs happen at checkpoints,
 * which a helper thread runs with its own connection four times a second
 * (PASSIVE: it never blocks the writer), so the main thread never waits
 * for the disk.  Statements are prepared once and cached.
 *
 * Calls are rows keyed by an internal number; the call id of the SIP
 * layer finds the live row, so a call id that comes round again later
 * starts a new row instead of overwriting history.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <re.h>
#include "core/log.h"
#include "store/store.h"
#include "store/store_be.h"

#define MOD "store"

enum {
	CKPT_INTERVAL_MS = 250,
	BUSY_TIMEOUT_MS  = 200,
	LATE_EVENT_MS    = 60000,   /* events after the end still attach */
	SCHED_LIST_MAX   = 1000,
};

/* ------------------------------------------------------------ schema */

/* Migration n (1-based) takes the schema from version n-1 to n.  Never
 * edit a released step: add a new one. */
static const char *const migrations[] = {
	/* 1: calls, turns, tool calls, messages, history, settings */
	"CREATE TABLE calls ("
	" n INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL,"
	" direction TEXT,"
	" caller_redacted TEXT,"
	" caller_key TEXT,"
	" caller_group TEXT,"
	" privilege INTEGER,"
	" codec TEXT,"
	" transport TEXT,"
	" srtp INTEGER,"
	" started INTEGER,"
	" answered INTEGER,"
	" ended INTEGER,"
	" updated INTEGER,"
	" outcome TEXT,"
	" sip_code INTEGER,"
	" end_reason TEXT,"
	" duration_ms INTEGER,"
	" recording TEXT,"
	" live INTEGER NOT NULL DEFAULT 1);"
	"CREATE INDEX calls_id ON calls(id);"
	"CREATE INDEX calls_started ON calls(started);"
	"CREATE TABLE turns ("
	" call INTEGER NOT NULL REFERENCES calls(n) ON DELETE CASCADE,"
	" n INTEGER NOT NULL,"
	" transcript TEXT,"
	" reply TEXT,"
	" vad_end_ms INTEGER,"
	" stt_ms INTEGER,"
	" brain_ms INTEGER,"
	" tts_first_audio_ms INTEGER,"
	" voice_to_voice_ms INTEGER,"
	" interrupted INTEGER,"
	" ts INTEGER,"
	" PRIMARY KEY (call, n));"
	"CREATE TABLE tool_calls ("
	" id INTEGER PRIMARY KEY,"
	" call INTEGER NOT NULL REFERENCES calls(n) ON DELETE CASCADE,"
	" turn INTEGER,"
	" tool TEXT,"
	" decision TEXT,"
	" category TEXT,"
	" ok INTEGER,"
	" ts INTEGER);"
	"CREATE INDEX tool_calls_call ON tool_calls(call);"
	"CREATE TABLE messages ("
	" id INTEGER PRIMARY KEY,"
	" call TEXT,"
	" name TEXT,"
	" callback TEXT,"
	" text TEXT,"
	" audio_path TEXT,"
	" ts INTEGER NOT NULL,"
	" read INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE caller_history ("
	" key TEXT PRIMARY KEY,"
	" json TEXT NOT NULL,"
	" updated INTEGER);"
	"CREATE TABLE settings ("
	" key TEXT PRIMARY KEY,"
	" value TEXT NOT NULL,"
	" updated INTEGER);",

	/* 2: barge-in count, scheduled calls, indexes for the start-up
	 * recovery and retention */
	"ALTER TABLE calls ADD COLUMN barge_ins INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX calls_live ON calls(live) WHERE live = 1;"
	"CREATE INDEX messages_ts ON messages(ts);"
	"CREATE TABLE scheduled_calls ("
	" id INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL,"
	" json TEXT NOT NULL,"
	" state TEXT NOT NULL DEFAULT 'queued',"
	" outcome TEXT,"
	" created INTEGER,"
	" updated INTEGER);"
	"CREATE INDEX scheduled_calls_due ON scheduled_calls(state, at);",
};

#define SCHEMA_LATEST (sizeof(migrations) / sizeof(migrations[0]))

/* -------------------------------------------------------- statements */

enum stmt_id {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_CALL_FIND, S_CALL_INSERT, S_CALL_UPDATE, S_CALL_BARGE,
	S_TURN_PUT, S_TOOL_ADD, S_CALL_TOUCH,
	S_RECOVER,
	S_PURGE_FILES, S_PURGE_TOOLS, S_PURGE_TURNS, S_PURGE_CALLS,
	S_PURGE_MSG_FILES, S_PURGE_MSGS,
	S_CALLS_COUNT, S_CALLS_LIST, S_CALL_GET, S_TURNS_GET, S_TOOLS_GET,
	S_MSG_ADD, S_MSG_READ, S_MSG_COUNT, S_MSG_LIST, S_MSG_AUDIO,
	S_MSG_DELETE,
	S_HIST_GET, S_HIST_PUT, S_HIST_DEL, S_HIST_LIST,
	S_SET_GET, S_SET_PUT, S_SET_DEL, S_SET_LIST,
	S_SCHED_ADD, S_SCHED_LIST, S_SCHED_STATE, S_SCHED_CANCEL,
	S_SCHED_DUE, S_SCHED_START, S_SCHED_DONE, S_SCHED_RECOVER,
	S_COUNT
};

#define CALL_COLS "id, direction, caller_redacted, caller_key, " \
	"caller_group, privilege, codec, transport, srtp, started, " \
	"answered, ended, updated, outcome, sip_code, end_reason, " \
	"duration_ms, recording, barge_ins, live"

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_CALL_FIND] = "SELECT n, live, ended FROM calls WHERE id = ?1"
		" ORDER BY n DESC LIMIT 1",
	[S_CALL_INSERT] = "INSERT INTO calls (id, started, updated, live)"
		" VALUES (?1, ?2, ?2, 1)",
	[S_CALL_UPDATE] = "UPDATE calls SET"
		" direction = COALESCE(?2, direction),"
		" caller_redacted = COALESCE(?3, caller_redacted),"
		" caller_key = COALESCE(?4, caller_key),"
		" caller_group = COALESCE(?5, caller_group),"
		" privilege = COALESCE(?6, privilege),"
		" codec = COALESCE(?7, codec),"
		" transport = COALESCE(?8, transport),"
		" srtp = COALESCE(?9, srtp),"
		" answered = COALESCE(answered, ?10),"
		" ended = COALESCE(?11, ended),"
		" updated = MAX(COALESCE(updated, 0), COALESCE(?12, 0)),"
		" outcome = COALESCE(?13, outcome, CASE WHEN ?17 = 0 THEN"
		"  CASE WHEN COALESCE(answered, ?10) IS NOT NULL"
		"  THEN 'answered' ELSE 'unanswered' END END),"
		" sip_code = COALESCE(?14, sip_code),"
		" end_reason = COALESCE(?15, end_reason),"
		" recording = COALESCE(?16, recording),"
		" duration_ms = CASE WHEN ?17 = 0 AND live = 1 THEN"
		"  COALESCE(?11, ended) - COALESCE(answered, ?10)"
		"  ELSE duration_ms END,"
		" live = CASE WHEN ?17 = 0 THEN 0 ELSE live END"
		" WHERE n = ?1",
	[S_CALL_BARGE] = "UPDATE calls SET barge_ins = barge_ins + 1,"
		" updated = MAX(COALESCE(updated, 0), ?2) WHERE n = ?1",
	[S_TURN_PUT] = "INSERT INTO turns (call, n, transcript, reply,"
		" vad_end_ms, stt_ms, brain_ms, tts_first_audio_ms,"
		" voice_to_voice_ms, interrupted, ts)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
		" ON CONFLICT (call, n) DO UPDATE SET"
		" transcript = excluded.transcript, reply = excluded.reply,"
		" vad_end_ms = excluded.vad_end_ms,"
		" stt_ms = excluded.stt_ms, brain_ms = excluded.brain_ms,"
		" tts_first_audio_ms = excluded.tts_first_audio_ms,"
		" voice_to_voice_ms = excluded.voice_to_voice_ms,"
		" interrupted = excluded.interrupted, ts = excluded.ts",
	[S_TOOL_ADD] = "INSERT INTO tool_calls (call, turn, tool, decision,"
		" category, ok, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_CALL_TOUCH] = "UPDATE calls SET"
		" updated = MAX(COALESCE(updated, 0), ?2) WHERE n = ?1",
	[S_RECOVER] = "UPDATE calls SET live = 0, end_reason = 'crash',"
		" ended = COALESCE(updated, started),"
		" duration_ms = COALESCE(updated, started) - answered,"
		" outcome = COALESCE(outcome, CASE WHEN answered IS NOT NULL"
		"  THEN 'answered' ELSE 'unanswered' END)"
		" WHERE live = 1",
	[S_PURGE_FILES] = "SELECT recording FROM calls WHERE live = 0"
		" AND COALESCE(ended, started) < ?1 AND recording IS NOT NULL",
	[S_PURGE_TOOLS] = "DELETE FROM tool_calls WHERE call IN (SELECT n"
		" FROM calls WHERE live = 0 AND COALESCE(ended, started) < ?1)",
	[S_PURGE_TURNS] = "DELETE FROM turns WHERE call IN (SELECT n"
		" FROM calls WHERE live = 0 AND COALESCE(ended, started) < ?1)",
	[S_PURGE_CALLS] = "DELETE FROM calls WHERE live = 0"
		" AND COALESCE(ended, started) < ?1",
	[S_PURGE_MSG_FILES] = "SELECT audio_path FROM messages"
		" WHERE ts < ?1 AND audio_path IS NOT NULL",
	[S_PURGE_MSGS] = "DELETE FROM messages WHERE ts < ?1",
	[S_CALLS_COUNT] = "SELECT COUNT(*) FROM calls",
	[S_CALLS_LIST] = "SELECT " CALL_COLS " FROM calls"
		" ORDER BY n DESC LIMIT ?1 OFFSET ?2",
	[S_CALL_GET] = "SELECT " CALL_COLS ", n FROM calls WHERE id = ?1"
		" ORDER BY n DESC LIMIT 1",
	[S_TURNS_GET] = "SELECT n, transcript, reply, vad_end_ms, stt_ms,"
		" brain_ms, tts_first_audio_ms, voice_to_voice_ms,"
		" interrupted, ts FROM turns WHERE call = ?1 ORDER BY n",
	[S_TOOLS_GET] = "SELECT turn, tool, decision, category, ok, ts"
		" FROM tool_calls WHERE call = ?1 ORDER BY id",
	[S_MSG_ADD] = "INSERT INTO messages (call, name, callback, text,"
		" audio_path, ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_MSG_READ] = "UPDATE messages SET read = ?2 WHERE id = ?1",
	[S_MSG_COUNT] = "SELECT COUNT(*) FROM messages",
	[S_MSG_LIST] = "SELECT id, call, name, callback, text, audio_path,"
		" ts, read FROM messages ORDER BY id DESC LIMIT ?1 OFFSET ?2",
	[S_MSG_AUDIO] = "SELECT audio_path FROM messages WHERE id = ?1",
	[S_MSG_DELETE] = "DELETE FROM messages WHERE id = ?1",
	[S_HIST_GET] = "SELECT json FROM caller_history WHERE key = ?1",
	[S_HIST_PUT] = "INSERT INTO caller_history (key, json, updated)"
		" VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET"
		" json = excluded.json, updated = excluded.updated",
	[S_HIST_DEL] = "DELETE FROM caller_history WHERE key = ?1",
	[S_HIST_LIST] = "SELECT key, json, updated FROM caller_history"
		" ORDER BY updated DESC, key",
	[S_SET_GET] = "SELECT value FROM settings WHERE key = ?1",
	[S_SET_PUT] = "INSERT INTO settings (key, value, updated)"
		" VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET"
		" value = excluded.value, updated = excluded.updated",
	[S_SET_DEL] = "DELETE FROM settings WHERE key = ?1",
	[S_SET_LIST] = "SELECT key, value, updated FROM settings"
		" ORDER BY key",
	[S_SCHED_ADD] = "INSERT INTO scheduled_calls (at, json, state,"
		" created, updated) VALUES (?1, ?2, 'queued', ?3, ?3)",
	[S_SCHED_LIST] = "SELECT id, at, json, state, outcome, created"
		" FROM scheduled_calls ORDER BY at, id LIMIT ?1",
	[S_SCHED_STATE] = "SELECT state FROM scheduled_calls WHERE id = ?1",
	[S_SCHED_CANCEL] = "UPDATE scheduled_calls SET state = 'cancelled'"
		" WHERE id = ?1 AND state = 'queued'",
	[S_SCHED_DUE] = "SELECT id, at, json, state, outcome, created"
		" FROM scheduled_calls WHERE state = 'queued' AND at <= ?1"
		" ORDER BY at, id LIMIT ?2",
	[S_SCHED_START] = "UPDATE scheduled_calls SET state = 'started'"
		" WHERE id = ?1",
	[S_SCHED_DONE] = "UPDATE scheduled_calls SET state = 'done',"
		" outcome = ?2 WHERE id = ?1",
	[S_SCHED_RECOVER] = "UPDATE scheduled_calls SET state = 'done',"
		" outcome = 'crash' WHERE state = 'started'",
};

struct sq {
	/* main thread */
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
	int lockfd;
	char *path;

	/* checkpoint thread (its connection is opened on the main thread,
	 * then used by that thread only) */
	sqlite3 *ckpt_db;
	pthread_t ckpt_thread;
	bool ckpt_running;
	pthread_mutex_t mtx;
	pthread_cond_t cond;
	bool stop;               /* under mtx */
};


static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static int db_err(struct sq *sq, const char *what)
{
	int code = sqlite3_extended_errcode(sq->db);

	/* SQLite messages name tables and columns, never bound values */
	log_warn(MOD, NULL, "%s: %s (%d)", what, sqlite3_errmsg(sq->db),
		 code);
	switch (code & 0xff) {
	case SQLITE_NOMEM:  return ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return EBUSY;
	case SQLITE_FULL:   return ENOSPC;
	case SQLITE_READONLY: return EROFS;
	default:            return EIO;
	}
}


static sqlite3_stmt *stmt(struct sq *sq, enum stmt_id id)
{
	sqlite3_stmt *s = sq->st[id];

	if (!s) {
		if (SQLITE_OK != sqlite3_prepare_v3(sq->db, stmt_sql[id], -1,
						    SQLITE_PREPARE_PERSISTENT,
						    &s, NULL)) {
			(void)db_err(sq, "prepare");
			return NULL;
		}
		sq->st[id] = s;
	}
	return s;
}


static void done(sqlite3_stmt *s)
{
	if (!s)
		return;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}


static void bind_str(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, i);
}


/* negative = NULL */
static void bind_int(sqlite3_stmt *s, int i, int64_t v)
{
	if (v >= 0)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}


/* 0 = NULL (times) */
static void bind_time(sqlite3_stmt *s, int i, int64_t v)
{
	if (v > 0)
		sqlite3_bind_int64(s, i, v);
	else
		sqlite3_bind_null(s, i);
}


static const char *col_str(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}


static int64_t col_int(sqlite3_stmt *s, int i, int64_t dflt)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return dflt;
	return sqlite3_column_int64(s, i);
}


/* Run a statement that returns no rows. */
static int run(struct sq *sq, enum stmt_id id, sqlite3_stmt *s,
	       const char *what)
{
	int rc = sqlite3_step(s);
	int err = 0;

	(void)id;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = db_err(sq, what);
	done(s);
	return err;
}


static int exec(sqlite3 *db, const char *sql, char *err, size_t errsz)
{
	char *msg = NULL;

	if (SQLITE_OK == sqlite3_exec(db, sql, NULL, NULL, &msg))
		return 0;
	if (err)
		re_snprintf(err, errsz, "%s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return EIO;
}


/* ---------------------------------------------------------- migrate */

static int schema_version(sqlite3 *db, unsigned *vp)
{
	sqlite3_stmt *s = NULL;
	int err = 0;

	*vp = 0;
	if (SQLITE_OK != sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master"
					    " WHERE type = 'table' AND name ="
					    " 'schema_version'", -1, &s,
					    NULL))
		return EIO;
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		return 0;
	}
	sqlite3_finalize(s);
	if (SQLITE_OK != sqlite3_prepare_v2(db, "SELECT MAX(version) FROM"
					    " schema_version", -1, &s, NULL))
		return EIO;
	if (sqlite3_step(s) == SQLITE_ROW)
		*vp = (unsigned)sqlite3_column_int64(s, 0);
	else
		err = EIO;
	sqlite3_finalize(s);
	return err;
}


static int migrate(sqlite3 *db, unsigned target, char *err, size_t errsz)
{
	unsigned v;
	int e;

	if (schema_version(db, &v)) {
		re_snprintf(err, errsz, "cannot read the schema version: %s",
			    sqlite3_errmsg(db));
		return EIO;
	}
	if (v > SCHEMA_LATEST) {
		re_snprintf(err, errsz, "the database has schema version %u,"
			    " newer than this agentline knows (%u): upgrade"
			    " agentline or point data_dir elsewhere", v,
			    (unsigned)SCHEMA_LATEST);
		return ENOTSUP;
	}
	for (; v < target; v++) {
		char sql[192];

		e = exec(db, "BEGIN IMMEDIATE", err, errsz);
		if (e)
			return e;
		re_snprintf(sql, sizeof(sql),
			    "CREATE TABLE IF NOT EXISTS schema_version"
			    " (version INTEGER NOT NULL);"
			    "DELETE FROM schema_version;"
			    "INSERT INTO schema_version VALUES (%u)", v + 1);
		e = exec(db, migrations[v], err, errsz);
		if (!e)
			e = exec(db, sql, err, errsz);
		if (!e)
			e = exec(db, "COMMIT", err, errsz);
		if (e) {
			char m[256];

			str_ncpy(m, err, sizeof(m));
			(void)exec(db, "ROLLBACK", NULL, 0);
			re_snprintf(err, errsz, "migration to schema version"
				    " %u failed: %s", v + 1, m);
			return e;
		}
		log_info(MOD, NULL, "database schema now version %u", v + 1);
	}
	return 0;
}


/* -------------------------------------------------- checkpoint thread */

static void *ckpt_main(void *arg)
{
	struct sq *sq = arg;
	sqlite3 *db = sq->ckpt_db;

	pthread_mutex_lock(&sq->mtx);
	while (!sq->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += CKPT_INTERVAL_MS / 1000;
		ts.tv_nsec += (CKPT_INTERVAL_MS % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&sq->cond, &sq->mtx, &ts);
		if (sq->stop)
			break;
		pthread_mutex_unlock(&sq->mtx);
		/* PASSIVE: copies what no reader needs, never waits */
		(void)sqlite3_wal_checkpoint_v2(db, NULL,
						SQLITE_CHECKPOINT_PASSIVE,
						NULL, NULL);
		pthread_mutex_lock(&sq->mtx);
	}
	pthread_mutex_unlock(&sq->mtx);
	return NULL;
}


/* Main thread: the checkpoint connection and its thread; if either
 * fails, commits checkpoint by themselves again (SQLite's default), so
 * the WAL never grows without bound. */
static void ckpt_start(struct sq *sq)
{
	int e;

	/* A fresh connection has not looked at the file yet and reports
	 * "not in WAL mode" (checkpointing nothing): read the mode first. */
	if (SQLITE_OK != sqlite3_open_v2(sq->path, &sq->ckpt_db,
					 SQLITE_OPEN_READWRITE, NULL) ||
	    exec(sq->ckpt_db, "PRAGMA journal_mode=WAL", NULL, 0)) {
		log_warn(MOD, NULL, "checkpoint connection failed (%s): "
			 "checkpointing on commit", sq->ckpt_db ?
			 sqlite3_errmsg(sq->ckpt_db) : "no memory");
		goto fallback;
	}
	e = pthread_create(&sq->ckpt_thread, NULL, ckpt_main, sq);
	if (e) {
		log_warn(MOD, NULL, "checkpoint thread: %m: checkpointing on "
			 "commit", e);
		goto fallback;
	}
	sq->ckpt_running = true;
	return;

 fallback:
	sqlite3_close(sq->ckpt_db);
	sq->ckpt_db = NULL;
	(void)exec(sq->db, "PRAGMA wal_autocheckpoint=1000", NULL, 0);
}


/* ------------------------------------------------------ open / close */

static void sq_close(void *ctx)
{
	struct sq *sq = ctx;

	if (!sq)
		return;
	if (sq->ckpt_running) {
		pthread_mutex_lock(&sq->mtx);
		sq->stop = true;
		pthread_cond_signal(&sq->cond);
		pthread_mutex_unlock(&sq->mtx);
		pthread_join(sq->ckpt_thread, NULL);
		sq->ckpt_running = false;
	}
	if (sq->ckpt_db)
		sqlite3_close(sq->ckpt_db);
	for (size_t i = 0; i < S_COUNT; i++)
		sqlite3_finalize(sq->st[i]);
	/* the last connection checkpoints and removes the WAL */
	if (sq->db)
		sqlite3_close(sq->db);
	if (sq->lockfd >= 0)
		close(sq->lockfd);   /* releases the flock */
	pthread_mutex_destroy(&sq->mtx);
	pthread_cond_destroy(&sq->cond);
	mem_deref(sq->path);
	mem_deref(sq);
}


static int mkdir_p(const char *dir)
{
	char path[512];
	size_t n = str_len(dir);

	if (!n || n >= sizeof(path))
		return EINVAL;
	str_ncpy(path, dir, sizeof(path));
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return errno;
		if (i < n)
			path[i] = '/';
	}
	return 0;
}


static int db_setup(sqlite3 *db, char *err, size_t errsz)
{
	sqlite3_stmt *s = NULL;
	bool wal = false;
	int e;

	if (SQLITE_OK == sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL",
					    -1, &s, NULL) &&
	    sqlite3_step(s) == SQLITE_ROW)
		wal = !str_casecmp(col_str(s, 0), "wal");
	sqlite3_finalize(s);
	if (!wal) {
		re_snprintf(err, errsz, "cannot switch to WAL mode: %s",
			    sqlite3_errmsg(db));
		return EIO;
	}
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	/* checkpoints run on the helper thread, never on commit */
	e = exec(db, "PRAGMA synchronous=NORMAL;"
		 "PRAGMA foreign_keys=ON;"
		 "PRAGMA wal_autocheckpoint=0;"
		 "PRAGMA journal_size_limit=4194304;", err, errsz);
	return e;
}


static int sq_open(void **ctxp, const char *data_dir, char *err,
		   size_t errsz)
{
	struct sq *sq;
	char lockpath[512];
	int e;

	sq = mem_zalloc(sizeof(*sq), NULL);
	if (!sq)
		return ENOMEM;
	sq->lockfd = -1;
	pthread_mutex_init(&sq->mtx, NULL);
	pthread_cond_init(&sq->cond, NULL);

	e = mkdir_p(data_dir);
	if (e) {
		re_snprintf(err, errsz, "cannot create data_dir: %m", e);
		goto out;
	}
	re_snprintf(lockpath, sizeof(lockpath), "%s/agentline.lock",
		    data_dir);
	sq->lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sq->lockfd < 0) {
		e = errno;
		re_snprintf(err, errsz, "cannot open %s: %m", lockpath, e);
		goto out;
	}
	/* recovery marks live calls as crashed: only one process may */
	if (flock(sq->lockfd, LOCK_EX | LOCK_NB)) {
		e = errno == EWOULDBLOCK ? EBUSY : errno;
		re_snprintf(err, errsz, "data_dir %s is in use by another"
			    " agentline", data_dir);
		goto out;
	}
	e = re_sdprintf(&sq->path, "%s/agentline.db", data_dir);
	if (e)
		goto out;

	{
		mode_t old = umask(077);   /* personal data: owner only */

		e = sqlite3_open_v2(sq->path, &sq->db, SQLITE_OPEN_READWRITE |
				    SQLITE_OPEN_CREATE, NULL);
		umask(old);
	}
	if (e != SQLITE_OK) {
		re_snprintf(err, errsz, "cannot open %s: %s", sq->path,
			    sq->db ? sqlite3_errmsg(sq->db) : "no memory");
		e = EIO;
		goto out;
	}
	sqlite3_extended_result_codes(sq->db, 1);
	e = db_setup(sq->db, err, errsz);
	if (e)
		goto out;
	e = migrate(sq->db, SCHEMA_LATEST, err, errsz);
	if (e)
		goto out;

	ckpt_start(sq);

 out:
	if (e)
		sq_close(sq);
	else
		*ctxp = sq;
	return e;
}


int store_sqlite_create_at(const char *path, unsigned version)
{
	sqlite3 *db = NULL;
	char err[256];
	int e;

	if (version > SCHEMA_LATEST)
		return EINVAL;
	if (SQLITE_OK != sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
					 SQLITE_OPEN_CREATE, NULL)) {
		sqlite3_close(db);
		return EIO;
	}
	e = db_setup(db, err, sizeof(err));
	if (!e)
		e = migrate(db, version, err, sizeof(err));
	sqlite3_close(db);
	return e;
}


unsigned store_sqlite_latest(void)
{
	return SCHEMA_LATEST;
}


/* ------------------------------------------------------ transactions */

static int sq_begin(void *ctx)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s;

	/* a batch whose commit failed is still open: carry on in it, the
	 * next commit writes it */
	if (!sqlite3_get_autocommit(sq->db))
		return 0;
	s = stmt(sq, S_BEGIN);
	return s ? run(sq, S_BEGIN, s, "begin") : EIO;
}


static int sq_commit(void *ctx)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s;
	int err;

	if (sqlite3_get_autocommit(sq->db))
		return 0;
	s = stmt(sq, S_COMMIT);
	err = s ? run(sq, S_COMMIT, s, "commit") : EIO;
	if (err && !sqlite3_get_autocommit(sq->db)) {
		s = stmt(sq, S_ROLLBACK);
		if (s)
			(void)run(sq, S_ROLLBACK, s, "rollback");
	}
	return err;
}


/* ------------------------------------------------------------- calls */

/* The row of call id: the live one, else one that ended a moment ago
 * (late events), else a new one. */
static int call_row(struct sq *sq, const char *id, bool starting,
		    int64_t ts, int64_t *np)
{
	sqlite3_stmt *s = stmt(sq, S_CALL_FIND);
	int rc, err = 0;

	if (!s)
		return EIO;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		bool live = sqlite3_column_int(s, 1);
		int64_t ended = col_int(s, 2, 0);

		if (live || (!starting && ended >= ts - LATE_EVENT_MS)) {
			*np = sqlite3_column_int64(s, 0);
			done(s);
			return 0;
		}
	}
	else if (rc != SQLITE_DONE) {
		err = db_err(sq, "find call");
	}
	done(s);
	if (err)
		return err;

	s = stmt(sq, S_CALL_INSERT);
	if (!s)
		return EIO;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, ts);
	err = run(sq, S_CALL_INSERT, s, "add call");
	if (!err)
		*np = sqlite3_last_insert_rowid(sq->db);
	return err;
}


static int sq_call_update(void *ctx, const struct store_call *c)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s;
	int64_t n, ts = c->updated > 0 ? c->updated : now_ms();
	int err;

	/* only the first event of a call (started set) starts a new row */
	err = call_row(sq, c->id, c->started > 0,
		       c->started > 0 ? c->started : ts, &n);
	if (err)
		return err;
	s = stmt(sq, S_CALL_UPDATE);
	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, n);
	bind_str(s, 2, c->direction);
	bind_str(s, 3, c->caller_redacted);
	bind_str(s, 4, c->caller_key);
	bind_str(s, 5, c->group);
	bind_int(s, 6, c->privilege);
	bind_str(s, 7, c->codec);
	bind_str(s, 8, c->transport);
	bind_int(s, 9, c->srtp);
	bind_time(s, 10, c->answered);
	bind_time(s, 11, c->ended);
	bind_time(s, 12, ts);
	bind_str(s, 13, c->outcome);
	bind_int(s, 14, c->sip_code > 0 ? c->sip_code : -1);
	bind_str(s, 15, c->end_reason);
	bind_str(s, 16, c->recording);
	sqlite3_bind_int(s, 17, c->live ? 1 : 0);
	bind_time(s, 18, c->started);
	return run(sq, S_CALL_UPDATE, s, "update call");
}


static int touch(struct sq *sq, int64_t n, int64_t ts)
{
	sqlite3_stmt *s = stmt(sq, S_CALL_TOUCH);

	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, n);
	sqlite3_bind_int64(s, 2, ts);
	return run(sq, S_CALL_TOUCH, s, "touch call");
}


static int sq_call_barge_in(void *ctx, const char *callid, int64_t ts)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s;
	int64_t n;
	int err;

	err = call_row(sq, callid, false, ts, &n);
	if (err)
		return err;
	s = stmt(sq, S_CALL_BARGE);
	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, n);
	sqlite3_bind_int64(s, 2, ts);
	return run(sq, S_CALL_BARGE, s, "barge-in");
}


static int sq_turn_put(void *ctx, const char *callid,
		       const struct store_turn *t)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s;
	int64_t n;
	int err;

	err = call_row(sq, callid, false, t->ts, &n);
	if (err)
		return err;
	s = stmt(sq, S_TURN_PUT);
	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, n);
	sqlite3_bind_int64(s, 2, t->n);
	bind_str(s, 3, t->transcript);
	bind_str(s, 4, t->reply);
	bind_int(s, 5, t->vad_end_ms);
	bind_int(s, 6, t->stt_ms);
	bind_int(s, 7, t->brain_ms);
	bind_int(s, 8, t->tts_first_audio_ms);
	bind_int(s, 9, t->voice_to_voice_ms);
	sqlite3_bind_int(s, 10, t->interrupted);
	bind_time(s, 11, t->ts);
	err = run(sq, S_TURN_PUT, s, "add turn");
	return err ? err : touch(sq, n, t->ts);
}


static int sq_tool_add(void *ctx, const char *callid,
		       const struct store_tool *t)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s;
	int64_t n;
	int err;

	err = call_row(sq, callid, false, t->ts, &n);
	if (err)
		return err;
	s = stmt(sq, S_TOOL_ADD);
	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, n);
	sqlite3_bind_int64(s, 2, t->turn);
	bind_str(s, 3, t->tool);
	bind_str(s, 4, t->decision);
	bind_str(s, 5, t->category);
	bind_int(s, 6, t->ok);
	bind_time(s, 7, t->ts);
	err = run(sq, S_TOOL_ADD, s, "add tool call");
	return err ? err : touch(sq, n, t->ts);
}


static int sq_recover(void *ctx, unsigned *np)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s = stmt(sq, S_RECOVER);
	int err;

	if (!s)
		return EIO;
	err = run(sq, S_RECOVER, s, "recover calls");
	if (!err && np)
		*np = (unsigned)sqlite3_changes(sq->db);
	return err;
}


static int each_file(struct sq *sq, enum stmt_id id, int64_t before,
		     store_file_h *fh, void *arg)
{
	sqlite3_stmt *s = stmt(sq, id);
	int rc;

	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, before);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *p = col_str(s, 0);
		if (p && *p && fh)
			fh(p, arg);
	}
	done(s);
	return rc == SQLITE_DONE ? 0 : db_err(sq, "purge");
}


static int del_before(struct sq *sq, enum stmt_id id, int64_t before,
		      unsigned *np)
{
	sqlite3_stmt *s = stmt(sq, id);
	int err;

	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, before);
	err = run(sq, id, s, "purge");
	if (!err && np)
		*np = (unsigned)sqlite3_changes(sq->db);
	return err;
}


static int sq_purge(void *ctx, int64_t before, store_file_h *fh, void *arg,
		    unsigned *ncallsp, unsigned *nmsgsp)
{
	struct sq *sq = ctx;
	int err;

	err = each_file(sq, S_PURGE_FILES, before, fh, arg);
	err = err ? err : del_before(sq, S_PURGE_TOOLS, before, NULL);
	err = err ? err : del_before(sq, S_PURGE_TURNS, before, NULL);
	err = err ? err : del_before(sq, S_PURGE_CALLS, before, ncallsp);
	err = err ? err : each_file(sq, S_PURGE_MSG_FILES, before, fh, arg);
	err = err ? err : del_before(sq, S_PURGE_MSGS, before, nmsgsp);
	return err;
}


static int count(struct sq *sq, enum stmt_id id, uint64_t *np)
{
	sqlite3_stmt *s = stmt(sq, id);
	int err = 0;

	if (!s)
		return EIO;
	if (sqlite3_step(s) == SQLITE_ROW)
		*np = (uint64_t)sqlite3_column_int64(s, 0);
	else
		err = db_err(sq, "count");
	done(s);
	return err;
}


static void row_call(sqlite3_stmt *s, struct store_call *c)
{
	memset(c, 0, sizeof(*c));
	c->id = col_str(s, 0);
	c->direction = col_str(s, 1);
	c->caller_redacted = col_str(s, 2);
	c->caller_key = col_str(s, 3);
	c->group = col_str(s, 4);
	c->privilege = (int)col_int(s, 5, -1);
	c->codec = col_str(s, 6);
	c->transport = col_str(s, 7);
	c->srtp = (int)col_int(s, 8, -1);
	c->started = col_int(s, 9, 0);
	c->answered = col_int(s, 10, 0);
	c->ended = col_int(s, 11, 0);
	c->updated = col_int(s, 12, 0);
	c->outcome = col_str(s, 13);
	c->sip_code = (int)col_int(s, 14, -1);
	c->end_reason = col_str(s, 15);
	c->duration_ms = col_int(s, 16, -1);
	c->recording = col_str(s, 17);
	c->barge_ins = (int)col_int(s, 18, 0);
	c->live = col_int(s, 19, 0) != 0;
}


static int sq_calls_list(void *ctx, unsigned offset, unsigned limit,
			 uint64_t *totalp, store_call_h *h, void *arg)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s;
	int rc, err;

	err = count(sq, S_CALLS_COUNT, totalp);
	if (err)
		return err;
	s = stmt(sq, S_CALLS_LIST);
	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, limit);
	sqlite3_bind_int64(s, 2, offset);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_call c;

		row_call(s, &c);
		h(&c, arg);
	}
	done(s);
	return rc == SQLITE_DONE ? 0 : db_err(sq, "list calls");
}


static int sq_call_get(void *ctx, const char *callid, store_call_h *ch,
		       store_turn_h *th, store_tool_h *toh, void *arg)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s = stmt(sq, S_CALL_GET);
	struct store_call c;
	int64_t n;
	int rc;

	if (!s)
		return EIO;
	sqlite3_bind_text(s, 1, callid, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		done(s);
		return rc == SQLITE_DONE ? ENOENT : db_err(sq, "get call");
	}
	row_call(s, &c);
	n = sqlite3_column_int64(s, 20);
	ch(&c, arg);
	done(s);

	s = stmt(sq, S_TURNS_GET);
	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, n);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_turn t;

		t.n = (unsigned)sqlite3_column_int64(s, 0);
		t.transcript = col_str(s, 1);
		t.reply = col_str(s, 2);
		t.vad_end_ms = col_int(s, 3, -1);
		t.stt_ms = col_int(s, 4, -1);
		t.brain_ms = col_int(s, 5, -1);
		t.tts_first_audio_ms = col_int(s, 6, -1);
		t.voice_to_voice_ms = col_int(s, 7, -1);
		t.interrupted = col_int(s, 8, 0) != 0;
		t.ts = col_int(s, 9, 0);
		th(&t, arg);
	}
	done(s);
	if (rc != SQLITE_DONE)
		return db_err(sq, "get turns");

	s = stmt(sq, S_TOOLS_GET);
	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, n);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_tool t;

		t.turn = (unsigned)col_int(s, 0, 0);
		t.tool = col_str(s, 1);
		t.decision = col_str(s, 2);
		t.category = col_str(s, 3);
		t.ok = (int)col_int(s, 4, -1);
		t.ts = col_int(s, 5, 0);
		toh(&t, arg);
	}
	done(s);
	return rc == SQLITE_DONE ? 0 : db_err(sq, "get tool calls");
}


/* ---------------------------------------------------------- messages */

static int sq_message_add(void *ctx, const struct store_message *m,
			  int64_t ts, uint64_t *idp)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s = stmt(sq, S_MSG_ADD);
	int err;

	if (!s)
		return EIO;
	bind_str(s, 1, m->callid);
	bind_str(s, 2, m->name);
	bind_str(s, 3, m->callback);
	bind_str(s, 4, m->text);
	bind_str(s, 5, m->audio_path);
	sqlite3_bind_int64(s, 6, ts);
	err = run(sq, S_MSG_ADD, s, "add message");
	if (!err && idp)
		*idp = (uint64_t)sqlite3_last_insert_rowid(sq->db);
	return err;
}


static int changed(struct sq *sq, int err)
{
	if (err)
		return err;
	return sqlite3_changes(sq->db) ? 0 : ENOENT;
}


static int sq_message_read(void *ctx, uint64_t id, bool read)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s = stmt(sq, S_MSG_READ);

	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	sqlite3_bind_int(s, 2, read);
	return changed(sq, run(sq, S_MSG_READ, s, "mark message"));
}


static int sq_messages_list(void *ctx, unsigned offset, unsigned limit,
			    uint64_t *totalp, store_msg_h *h, void *arg)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s;
	int rc, err;

	err = count(sq, S_MSG_COUNT, totalp);
	if (err)
		return err;
	s = stmt(sq, S_MSG_LIST);
	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, limit);
	sqlite3_bind_int64(s, 2, offset);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_msg_row m;

		m.id = (uint64_t)sqlite3_column_int64(s, 0);
		m.callid = col_str(s, 1);
		m.name = col_str(s, 2);
		m.callback = col_str(s, 3);
		m.text = col_str(s, 4);
		m.audio_path = col_str(s, 5);
		m.ts = col_int(s, 6, 0);
		m.read = col_int(s, 7, 0) != 0;
		h(&m, arg);
	}
	done(s);
	return rc == SQLITE_DONE ? 0 : db_err(sq, "list messages");
}


static int sq_message_delete(void *ctx, uint64_t id, char **audiop)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s = stmt(sq, S_MSG_AUDIO);
	int rc, err = 0;

	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *p = col_str(s, 0);
		if (p && *p && audiop)
			err = str_dup(audiop, p);
	}
	else {
		err = rc == SQLITE_DONE ? ENOENT : db_err(sq, "message");
	}
	done(s);
	if (err)
		return err;
	s = stmt(sq, S_MSG_DELETE);
	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	return changed(sq, run(sq, S_MSG_DELETE, s, "delete message"));
}


/* ------------------------------------------- caller history, settings */

static int sq_kv_get(void *ctx, bool history, const char *key, char **valp)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s = stmt(sq, history ? S_HIST_GET : S_SET_GET);
	int rc, err;

	if (!s)
		return EIO;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		err = str_dup(valp, col_str(s, 0) ? col_str(s, 0) : "");
	else
		err = rc == SQLITE_DONE ? ENOENT : db_err(sq, "get");
	done(s);
	return err;
}


static int sq_kv_put(void *ctx, bool history, const char *key,
		     const char *val, int64_t ts)
{
	struct sq *sq = ctx;
	enum stmt_id id = history ? S_HIST_PUT : S_SET_PUT;
	sqlite3_stmt *s = stmt(sq, id);

	if (!s)
		return EIO;
	bind_str(s, 1, key);
	bind_str(s, 2, val);
	sqlite3_bind_int64(s, 3, ts);
	return run(sq, id, s, "put");
}


static int sq_kv_delete(void *ctx, bool history, const char *key)
{
	struct sq *sq = ctx;
	enum stmt_id id = history ? S_HIST_DEL : S_SET_DEL;
	sqlite3_stmt *s = stmt(sq, id);

	if (!s)
		return EIO;
	bind_str(s, 1, key);
	return changed(sq, run(sq, id, s, "delete"));
}


static int sq_kv_list(void *ctx, bool history, store_kv_h *h, void *arg)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s = stmt(sq, history ? S_HIST_LIST : S_SET_LIST);
	int rc;

	if (!s)
		return EIO;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		h(col_str(s, 0), col_str(s, 1), col_int(s, 2, 0), arg);
	done(s);
	return rc == SQLITE_DONE ? 0 : db_err(sq, "list");
}


/* --------------------------------------------------- scheduled calls */

static int sq_sched_add(void *ctx, const char *json, int64_t at,
			int64_t ts, uint64_t *idp)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s = stmt(sq, S_SCHED_ADD);
	int err;

	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, at);
	bind_str(s, 2, json);
	sqlite3_bind_int64(s, 3, ts);
	err = run(sq, S_SCHED_ADD, s, "schedule call");
	if (!err && idp)
		*idp = (uint64_t)sqlite3_last_insert_rowid(sq->db);
	return err;
}


static void row_sched(sqlite3_stmt *s, struct store_sched_row *r)
{
	r->id = (uint64_t)sqlite3_column_int64(s, 0);
	r->at = col_int(s, 1, 0);
	r->json = col_str(s, 2);
	r->state = col_str(s, 3);
	r->outcome = col_str(s, 4);
	r->created = col_int(s, 5, 0);
}


static int sq_sched_list(void *ctx, store_sched_row_h *h, void *arg)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s = stmt(sq, S_SCHED_LIST);
	int rc;

	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, SCHED_LIST_MAX);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_sched_row r;

		row_sched(s, &r);
		h(&r, arg);
	}
	done(s);
	return rc == SQLITE_DONE ? 0 : db_err(sq, "list scheduled calls");
}


static int sq_sched_cancel(void *ctx, uint64_t id)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s = stmt(sq, S_SCHED_STATE);
	int rc, err = 0;

	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *st = col_str(s, 0);
		if (!st || strcmp(st, "queued"))
			err = EALREADY;
	}
	else {
		err = rc == SQLITE_DONE ? ENOENT : db_err(sq, "sched state");
	}
	done(s);
	if (err)
		return err;
	s = stmt(sq, S_SCHED_CANCEL);
	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	return run(sq, S_SCHED_CANCEL, s, "cancel scheduled call");
}


struct due {
	struct le le;
	struct store_sched_row r;
	char *json;
};


static void due_destructor(void *arg)
{
	struct due *d = arg;

	list_unlink(&d->le);
	mem_deref(d->json);
}


static int sq_sched_due(void *ctx, int64_t now, unsigned max,
			store_sched_row_h *h, void *arg)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s = stmt(sq, S_SCHED_DUE);
	struct list rows = LIST_INIT;
	struct le *le;
	int rc, err = 0;

	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, max);
	/* copy first: the handler may call back into the store */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct due *d = mem_zalloc(sizeof(*d), due_destructor);

		if (!d) {
			err = ENOMEM;
			break;
		}
		row_sched(s, &d->r);
		list_append(&rows, &d->le, d);
		err = str_dup(&d->json, d->r.json ? d->r.json : "{}");
		if (err)
			break;
		d->r.json = d->json;
		d->r.state = "started";
		d->r.outcome = NULL;
	}
	if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = db_err(sq, "due calls");
	done(s);

	for (le = rows.head; le && !err; le = le->next) {
		struct due *d = le->data;

		s = stmt(sq, S_SCHED_START);
		if (!s) {
			err = EIO;
			break;
		}
		sqlite3_bind_int64(s, 1, (int64_t)d->r.id);
		err = run(sq, S_SCHED_START, s, "start scheduled call");
	}
	if (!err) {
		for (le = rows.head; le; le = le->next) {
			struct due *d = le->data;
			h(&d->r, arg);
		}
	}
	list_flush(&rows);
	return err;
}


static int sq_sched_done(void *ctx, uint64_t id, const char *outcome)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s = stmt(sq, S_SCHED_DONE);

	if (!s)
		return EIO;
	sqlite3_bind_int64(s, 1, (int64_t)id);
	bind_str(s, 2, outcome);
	return changed(sq, run(sq, S_SCHED_DONE, s, "scheduled call done"));
}


static int sq_sched_recover(void *ctx, unsigned *np)
{
	struct sq *sq = ctx;
	sqlite3_stmt *s = stmt(sq, S_SCHED_RECOVER);
	int err;

	if (!s)
		return EIO;
	err = run(sq, S_SCHED_RECOVER, s, "recover scheduled calls");
	if (!err && np)
		*np = (unsigned)sqlite3_changes(sq->db);
	return err;
}


const struct store_be store_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.call_update = sq_call_update,
	.call_barge_in = sq_call_barge_in,
	.turn_put = sq_turn_put,
	.tool_add = sq_tool_add,
	.recover = sq_recover,
	.purge = sq_purge,
	.calls_list = sq_calls_list,
	.call_get = sq_call_get,
	.message_add = sq_message_add,
	.message_read = sq_message_read,
	.messages_list = sq_messages_list,
	.message_delete = sq_message_delete,
	.kv_get = sq_kv_get,
	.kv_put = sq_kv_put,
	.kv_delete = sq_kv_delete,
	.kv_list = sq_kv_list,
	.sched_add = sq_sched_add,
	.sched_list = sq_sched_list,
	.sched_cancel = sq_sched_cancel,
	.sched_due = sq_sched_due,
	.sched_done = sq_sched_done,
	.sched_recover = sq_sched_recover,
};
