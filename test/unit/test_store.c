/*
 * test_store.c  The store on real SQLite files in a temp dir: schema
 *               migrations (empty, v1 -> latest, newer refused), calls
 *               recorded from the event bus, pagination, JSON escaping of
 *               hostile strings, ENOENT paths, crash recovery, retention
 *               (rows and files), messages, history, settings, scheduled
 *               calls, the single-process lock.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <re.h>
#include "core/events.h"
#include "store/store.h"
#include "store/store_be.h"
#include "test.h"


static int rm_ent(const char *path, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}


static void rm_rf(const char *dir)
{
	(void)nftw(dir, rm_ent, 16, FTW_DEPTH | FTW_PHYS);
}


static int tmpdir(char *buf, size_t sz)
{
	re_snprintf(buf, sz, "/tmp/store-XXXXXX");
	return mkdtemp(buf) ? 0 : errno;
}


static int sql(const char *dir, const char *q)
{
	char path[300];
	sqlite3 *db = NULL;
	int rc;

	re_snprintf(path, sizeof(path), "%s/agentline.db", dir);
	rc = sqlite3_open(path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, q, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : EIO;
}


static int64_t sql_int(const char *dir, const char *q)
{
	char path[300];
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	re_snprintf(path, sizeof(path), "%s/agentline.db", dir);
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, q, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}


static int parse(struct odict **op, const struct mbuf *mb)
{
	return json_decode_odict(op, 32, (const char *)mb->buf, mb->end, 8);
}


static const struct odict *oarr(const struct odict *o, const char *key)
{
	const struct odict_entry *e = odict_lookup(o, key);

	return e && (e->type == ODICT_ARRAY || e->type == ODICT_OBJECT) ?
		e->u.odict : NULL;
}


static const struct odict *item(const struct odict *arr, unsigned i)
{
	struct le *le = list_head(&arr->lst);
	const struct odict_entry *e;

	while (le && i--)
		le = le->next;
	if (!le)
		return NULL;
	e = le->data;
	return e->type == ODICT_OBJECT ? e->u.odict : NULL;
}


static int64_t onum(const struct odict *o, const char *key)
{
	const struct odict_entry *e = odict_lookup(o, key);

	if (!e)
		return -999;
	if (e->type == ODICT_INT)
		return e->u.integer;
	if (e->type == ODICT_DOUBLE)
		return (int64_t)e->u.dbl;
	if (e->type == ODICT_BOOL)
		return e->u.boolean;
	if (e->type == ODICT_NULL)
		return -1;
	return -998;
}


static void one_call(const char *id, bool end)
{
	events_emit("call_incoming", id, ",\"transport\":\"UDP\"");
	events_emit("call_answered", id, ",\"codec\":\"PCMU\",\"srtp\":false,"
		    "\"direction\":\"inbound\"");
	if (end)
		events_emit("call_ended", id, ",\"reason\":\"remote_bye\","
			    "\"rtp_rx\":10");
}


int test_store_migrate(void)
{
	char dir[64], path[128];
	struct mbuf *mb = NULL;
	int err = 0;

	TEST_ERR(tmpdir(dir, sizeof(dir)));
	re_snprintf(path, sizeof(path), "%s/agentline.db", dir);

	/* an empty directory gets the latest schema */
	TEST_ERR(store_open(dir));
	store_close();
	TEST_EQ(sql_int(dir, "SELECT version FROM schema_version"),
		store_sqlite_latest());
	TEST_EQ(sql_int(dir, "SELECT COUNT(*) FROM scheduled_calls"), 0);
	rm_rf(dir);

	/* a version 1 database with a call in it is migrated, the call
	 * kept */
	TEST_ERR(tmpdir(dir, sizeof(dir)));
	re_snprintf(path, sizeof(path), "%s/agentline.db", dir);
	TEST_ERR(store_sqlite_create_at(path, 1));
	TEST_EQ(sql_int(dir, "SELECT version FROM schema_version"), 1);
	TEST_ERR(sql(dir, "INSERT INTO calls (id, direction, started, ended,"
		     " live, outcome, end_reason) VALUES ('v1call', 'inbound',"
		     " 1000, 2000, 0, 'answered', 'remote_bye')"));
	TEST_ASSERT(sql(dir, "SELECT barge_ins FROM calls") != 0);
	TEST_ERR(store_open(dir));
	mb = mbuf_alloc(512);
	TEST_ASSERT(mb);
	err = store_call_json(mb, "v1call");
	store_close();
	if (!err) {
		mbuf_write_u8(mb, 0);
		TEST_ASSERT(strstr((char *)mb->buf, "\"id\":\"v1call\""));
		TEST_ASSERT(strstr((char *)mb->buf, "\"barge_ins\":0"));
	}
	mem_deref(mb);
	TEST_ERR(err);
	TEST_EQ(sql_int(dir, "SELECT version FROM schema_version"),
		store_sqlite_latest());

	/* a database from a newer agentline is refused, untouched */
	TEST_ERR(sql(dir, "UPDATE schema_version SET version = 999"));
	TEST_EQ(store_open(dir), ENOTSUP);
	TEST_ASSERT(!store_isopen());
	TEST_EQ(sql_int(dir, "SELECT version FROM schema_version"), 999);
	TEST_EQ(sql_int(dir, "SELECT COUNT(*) FROM calls"), 1);
	rm_rf(dir);
	return 0;
}


static int check_call(const char *dir)
{
	struct mbuf *mb = mbuf_alloc(1024);
	struct odict *o = NULL;
	const struct odict *turns, *tools, *t;
	int err;

	(void)dir;
	if (!mb)
		return ENOMEM;
	err = store_call_json(mb, "c0ffee01");
	if (!err)
		err = parse(&o, mb);
	mem_deref(mb);
	TEST_ERR(err);
	TEST_STREQ(odict_string(o, "id"), "c0ffee01");
	TEST_STREQ(odict_string(o, "direction"), "inbound");
	TEST_STREQ(odict_string(o, "codec"), "PCMU");
	TEST_STREQ(odict_string(o, "transport"), "UDP");
	TEST_STREQ(odict_string(o, "outcome"), "answered");
	TEST_STREQ(odict_string(o, "end_reason"), "remote_bye");
	TEST_STREQ(odict_string(o, "caller"), "\xe2\x80\xa6" "42");
	TEST_ASSERT(!odict_lookup(o, "caller_number"));
	TEST_STREQ(odict_string(o, "group"), "family");
	TEST_EQ(onum(o, "privilege"), 2);
	TEST_EQ(onum(o, "live"), 0);
	TEST_EQ(onum(o, "srtp"), 0);
	TEST_EQ(onum(o, "barge_ins"), 1);
	TEST_ASSERT(onum(o, "duration_ms") >= 0);
	TEST_ASSERT(onum(o, "started") > 1700000000);
	TEST_ASSERT(onum(o, "ended") >= onum(o, "answered"));
	turns = oarr(o, "turns");
	tools = oarr(o, "tool_calls");
	TEST_ASSERT(turns && tools);
	TEST_EQ(odict_count(turns, false), 2);
	t = item(turns, 0);
	TEST_ASSERT(t);
	TEST_EQ(onum(t, "turn"), 1);
	TEST_STREQ(odict_string(t, "transcript"), "hello there");
	TEST_STREQ(odict_string(t, "reply"), "You said hello there");
	TEST_EQ(onum(t, "stt_ms"), 210);
	TEST_EQ(onum(t, "voice_to_voice_ms"), 1100);
	TEST_EQ(onum(t, "interrupted"), 0);
	t = item(turns, 1);
	TEST_ASSERT(t);
	TEST_EQ(onum(t, "turn"), 2);
	TEST_EQ(onum(t, "interrupted"), 1);
	TEST_EQ(onum(t, "brain_ms"), -1);   /* unset: null */
	TEST_EQ(odict_count(tools, false), 2);
	t = item(tools, 0);
	TEST_STREQ(odict_string(t, "tool"), "take_message");
	TEST_STREQ(odict_string(t, "decision"), "allow");
	TEST_EQ(onum(t, "ok"), 1);
	t = item(tools, 1);
	TEST_STREQ(odict_string(t, "tool"), "transfer_blind");
	TEST_STREQ(odict_string(t, "category"), "privilege");
	TEST_EQ(onum(t, "ok"), 0);
	mem_deref(o);
	return 0;
}


int test_store_events(void)
{
	char dir[64];
	int err;

	TEST_ERR(tmpdir(dir, sizeof(dir)));
	TEST_ERR(store_open(dir));
	events_emit("call_incoming", "c0ffee01", ",\"transport\":\"UDP\"");
	TEST_ERR(store_call_caller("c0ffee01", "\xe2\x80\xa6" "42",
				   "+4915112345642", "family", 2));
	events_emit("call_answered", "c0ffee01", ",\"codec\":\"PCMU\","
		    "\"srtp\":false,\"direction\":\"inbound\"");
	/* turn 2 arrives first: stored in turn order anyway */
	events_emit("turn", "c0ffee01", ",\"turn\":2,\"transcript\":\"bye\","
		    "\"reply\":\"\",\"vad_end_ms\":700,\"stt_ms\":200,"
		    "\"brain_ms\":-1,\"tts_first_audio_ms\":-1,"
		    "\"voice_to_voice_ms\":-1,\"interrupted\":true");
	events_emit("turn", "c0ffee01", ",\"turn\":1,\"transcript\":\"hello"
		    " there\",\"reply\":\"You said hello there\","
		    "\"vad_end_ms\":700,\"stt_ms\":210,\"brain_ms\":5,"
		    "\"tts_first_audio_ms\":150,\"voice_to_voice_ms\":1100,"
		    "\"interrupted\":false");
	events_emit("tool_call", "c0ffee01", ",\"turn\":1,\"tool\":"
		    "\"take_message\",\"decision\":\"allow\",\"category\":"
		    "\"\",\"ok\":true");
	events_emit("tool_call", "c0ffee01", ",\"turn\":2,\"tool\":"
		    "\"transfer_blind\",\"decision\":\"deny\",\"category\":"
		    "\"privilege\",\"ok\":false");
	events_emit("barge_in", "c0ffee01", NULL);
	events_emit("dtmf", "c0ffee01", ",\"digit\":\"5\"");   /* ignored */
	events_emit("call_ended", "c0ffee01", ",\"reason\":\"remote_bye\"");
	/* a late event still belongs to the call that just ended */
	events_emit("barge_in", "c0ffee01", NULL);
	TEST_ERR(store_flush());
	/* visible to another connection once flushed */
	TEST_EQ(sql_int(dir, "SELECT COUNT(*) FROM turns"), 2);
	TEST_EQ(sql_int(dir, "SELECT COUNT(*) FROM calls"), 1);
	TEST_EQ(sql_int(dir, "SELECT barge_ins FROM calls"), 2);
	TEST_ERR(sql(dir, "UPDATE calls SET barge_ins = 1"));

	err = check_call(dir);
	if (!err) {
		/* the same call id later is a new call, history kept */
		one_call("c0ffee01", true);
		store_flush();
		if (sql_int(dir, "SELECT COUNT(*) FROM calls WHERE"
			    " id = 'c0ffee01'") != 2)
			err = 1;
	}
	store_close();
	if (!err) {
		/* and survives a reopen */
		err = store_open(dir);
		if (!err)
			err = sql_int(dir, "SELECT COUNT(*) FROM calls") == 2 ?
				0 : 1;
		store_close();
	}
	rm_rf(dir);
	return err;
}


int test_store_pagination(void)
{
	char dir[64], id[16];
	struct mbuf *mb = NULL;
	struct odict *o = NULL;
	const struct odict *calls;
	int err = 0;

	TEST_ERR(tmpdir(dir, sizeof(dir)));
	TEST_ERR(store_open(dir));
	for (unsigned i = 0; i < 7; i++) {
		re_snprintf(id, sizeof(id), "call%04u", i);
		one_call(id, i != 6);
	}
	mb = mbuf_alloc(256);
	if (!mb) {
		err = ENOMEM;
		goto out;
	}
	err = store_calls_json(mb, 0, 3);
	err = err ? err : parse(&o, mb);
	if (err)
		goto out;
	calls = oarr(o, "calls");
	if (!calls || odict_count(calls, false) != 3 ||
	    onum(o, "total") != 7 || onum(o, "limit") != 3 ||
	    strcmp(odict_string(item(calls, 0), "id"), "call0006") ||
	    strcmp(odict_string(item(calls, 2), "id"), "call0004") ||
	    onum(item(calls, 0), "live") != 1 ||
	    odict_lookup(item(calls, 0), "caller_number")) {
		err = 1;
		goto out;
	}
	o = mem_deref(o);
	mbuf_rewind(mb);
	err = store_calls_json(mb, 6, 3);
	err = err ? err : parse(&o, mb);
	if (err)
		goto out;
	calls = oarr(o, "calls");
	if (!calls || odict_count(calls, false) != 1 ||
	    strcmp(odict_string(item(calls, 0), "id"), "call0000"))
		err = 2;
	o = mem_deref(o);
	mbuf_rewind(mb);
	/* past the end: empty page, total still right */
	err = err ? err : store_calls_json(mb, 50, 0);
	err = err ? err : parse(&o, mb);
	if (!err && (odict_count(oarr(o, "calls"), false) != 0 ||
		     onum(o, "total") != 7 || onum(o, "limit") != 50))
		err = 3;
 out:
	mem_deref(o);
	mem_deref(mb);
	store_close();
	rm_rf(dir);
	return err;
}


static int esc(char **p, const char *s)
{
	return re_sdprintf(p, "\"%H\"", store_json_str, s);
}


int test_store_json_escape(void)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{"plain", "\"plain\""},
		{"q\"b\\", "\"q\\\"b\\\\\""},
		{"a\nb\r\t\x01\x1f\x7f",
		 "\"a\\nb\\r\\t\\u0001\\u001f\\u007f\""},
		{"caf\xc3\xa9 \xf0\x9f\x93\x9e",
		 "\"caf\xc3\xa9 \xf0\x9f\x93\x9e\""},
		{"\xff" "x", "\"\xef\xbf\xbdx\""},                /* bad lead */
		{"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},     /* overlong */
		{"\xed\xa0\x80",                                 /* surrogate */
		 "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
		{"\xe2\x82", "\"\xef\xbf\xbd\xef\xbf\xbd\""},    /* truncated */
		{"\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		 "\xef\xbf\xbd\""},                               /* > 10FFFF */
		{"</script>", "\"</script>\""},
	};
	char dir[64], *s = NULL, hostile[600];
	struct mbuf *mb = NULL;
	struct odict *o = NULL;
	const struct odict *t;
	int err = 0;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		TEST_ERR(esc(&s, v[i].in));
		if (strcmp(s, v[i].out)) {
			fprintf(stderr, "escape %zu: got %s\n", i, s);
			mem_deref(s);
			return 1;
		}
		s = mem_deref(s);
	}
	/* a long string crosses the escaper's internal buffer */
	memset(hostile, '"', sizeof(hostile) - 1);
	hostile[sizeof(hostile) - 1] = '\0';
	TEST_ERR(esc(&s, hostile));
	TEST_EQ(strlen(s), 2 * (sizeof(hostile) - 1) + 2);
	s = mem_deref(s);

	/* end to end: hostile bytes in a transcript come back as JSON
	 * that parses */
	TEST_ERR(tmpdir(dir, sizeof(dir)));
	TEST_ERR(store_open(dir));
	one_call("hostile1", false);
	events_emit("turn", "hostile1", ",\"turn\":1,\"transcript\":"
		    "\"\\\"},{\\\"x\\\":1 \\\\ \\u0000x\\u0007\\n\","
		    "\"reply\":\"\xff\xfe ok\",\"interrupted\":false");
	store_flush();
	mb = mbuf_alloc(256);
	err = mb ? store_call_json(mb, "hostile1") : ENOMEM;
	err = err ? err : parse(&o, mb);
	if (!err) {
		t = item(oarr(o, "turns"), 0);
		if (!t || !odict_string(t, "reply") ||
		    strcmp(odict_string(t, "reply"),
			   "\xef\xbf\xbd\xef\xbf\xbd ok") ||
		    !odict_string(t, "transcript") ||
		    strncmp(odict_string(t, "transcript"),
			    "\"},{\"x\":1 \\ ", 12))
			err = 1;
	}
	mem_deref(o);
	mem_deref(mb);
	store_close();
	rm_rf(dir);
	return err;
}


int test_store_enoent(void)
{
	char dir[64], *v = NULL;
	struct mbuf *mb = mbuf_alloc(64);
	int err = 0;

	TEST_ASSERT(mb);
	/* not open */
	if (store_call_json(mb, "x") != ENODEV ||
	    store_setting_put("a", "b") != ENODEV ||
	    store_retention_set(1) != ENODEV) {
		mem_deref(mb);
		return 1;
	}
	TEST_ERR(tmpdir(dir, sizeof(dir)));
	TEST_ERR(store_open(dir));
	TEST_EQ(store_open(dir), EALREADY);
	{
		const int got[] = {
			store_call_json(mb, "nosuchcall"),
			(int)mb->end,
			store_call_json(mb, ""),
			store_message_delete(12345),
			store_message_read(12345, true),
			store_history_get("nobody", &v),
			store_history_delete("nobody"),
			store_history_put("k", "{not json"),
			store_history_put("", "{}"),
			store_setting_get("nokey", &v),
			store_sched_cancel(777),
			store_sched_done(777, "answered"),
			store_sched_add("nope", 1, NULL),
		};
		const int want[] = {ENOENT, 0, EINVAL, ENOENT, ENOENT,
				    ENOENT, ENOENT, EINVAL, EINVAL, ENOENT,
				    ENOENT, ENOENT, EINVAL};

		for (size_t i = 0; i < sizeof(got) / sizeof(got[0]); i++) {
			if (got[i] != want[i]) {
				fprintf(stderr, "check %zu: got %d, want %d\n",
					i, got[i], want[i]);
				err = 1;
			}
		}
	}
	mem_deref(v);
	mem_deref(mb);
	store_close();
	rm_rf(dir);
	return err;
}


int test_store_crash_recovery(void)
{
	char dir[64];
	int err = 0;

	TEST_ERR(tmpdir(dir, sizeof(dir)));
	TEST_ERR(store_open(dir));
	one_call("done0001", true);
	one_call("live0001", false);
	events_emit("turn", "live0001", ",\"turn\":1,\"transcript\":\"hi\","
		    "\"reply\":\"hello\",\"interrupted\":false");
	events_emit("call_incoming", "ring0001", NULL);   /* never answered */
	store_flush();
	/* what a crash leaves: close without ending the live calls */
	store_close();
	TEST_EQ(sql_int(dir, "SELECT COUNT(*) FROM calls WHERE live = 1"), 2);
	TEST_ERR(sql(dir, "INSERT INTO scheduled_calls (at, json, state)"
		     " VALUES (1, '{}', 'started')"));

	TEST_ERR(store_open(dir));
	store_close();
	if (sql_int(dir, "SELECT COUNT(*) FROM calls") != 3 ||
	    sql_int(dir, "SELECT COUNT(*) FROM calls WHERE live = 1") != 0 ||
	    sql_int(dir, "SELECT COUNT(*) FROM calls WHERE end_reason ="
		    " 'crash'") != 2 ||
	    sql_int(dir, "SELECT COUNT(*) FROM calls WHERE id = 'done0001'"
		    " AND end_reason = 'remote_bye'") != 1 ||
	    sql_int(dir, "SELECT COUNT(*) FROM calls WHERE id = 'live0001'"
		    " AND outcome = 'answered' AND ended >= answered AND"
		    " duration_ms >= 0") != 1 ||
	    sql_int(dir, "SELECT COUNT(*) FROM calls WHERE id = 'ring0001'"
		    " AND outcome = 'unanswered'") != 1 ||
	    sql_int(dir, "SELECT COUNT(*) FROM turns") != 1 ||
	    sql_int(dir, "SELECT COUNT(*) FROM scheduled_calls WHERE"
		    " state = 'done' AND outcome = 'crash'") != 1)
		err = 1;

	/* a second open is idempotent */
	if (!err) {
		TEST_ERR(store_open(dir));
		store_close();
		if (sql_int(dir, "SELECT COUNT(*) FROM calls WHERE"
			    " end_reason = 'crash'") != 2)
			err = 2;
	}
	rm_rf(dir);
	return err;
}


static int touch_file(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return errno;
	fputs("RIFF", f);
	fclose(f);
	return 0;
}


int test_store_retention(void)
{
	char dir[64], old_rec[128], new_rec[128], old_msg[128];
	struct store_message m;
	uint64_t id1 = 0, id2 = 0;
	int err = 0;

	TEST_ERR(tmpdir(dir, sizeof(dir)));
	re_snprintf(old_rec, sizeof(old_rec), "%s/old.wav", dir);
	re_snprintf(new_rec, sizeof(new_rec), "%s/new.wav", dir);
	re_snprintf(old_msg, sizeof(old_msg), "%s/msg.wav", dir);
	TEST_ERR(touch_file(old_rec));
	TEST_ERR(touch_file(new_rec));
	TEST_ERR(touch_file(old_msg));

	TEST_ERR(store_open(dir));
	one_call("oldcall1", false);
	events_emit("turn", "oldcall1", ",\"turn\":1,\"transcript\":\"x\","
		    "\"interrupted\":false");
	events_emit("tool_call", "oldcall1", ",\"turn\":1,\"tool\":"
		    "\"hang_up\",\"decision\":\"allow\",\"ok\":true");
	TEST_ERR(store_call_recording("oldcall1", old_rec));
	events_emit("call_ended", "oldcall1", ",\"reason\":\"local_bye\"");
	one_call("newcall1", true);
	TEST_ERR(store_call_recording("newcall1", new_rec));
	one_call("livecall", false);
	memset(&m, 0, sizeof(m));
	m.callid = "oldcall1";
	m.name = "Ann";
	m.text = "call back";
	m.audio_path = old_msg;
	TEST_ERR(store_message_add(&m, &id1));
	m.audio_path = NULL;
	TEST_ERR(store_message_add(&m, &id2));
	store_flush();

	/* age the old call and the first message by 40 days; the live
	 * call too (a long call is never cut) */
	err = sql(dir, "UPDATE calls SET started = started - 3456000000,"
		  " answered = answered - 3456000000, ended = ended -"
		  " 3456000000 WHERE id IN ('oldcall1', 'livecall');"
		  "UPDATE messages SET ts = ts - 3456000000 WHERE id = 1");
	if (!err)
		err = store_retention_set(30);
	if (!err && (sql_int(dir, "SELECT COUNT(*) FROM calls") != 2 ||
		     sql_int(dir, "SELECT COUNT(*) FROM calls WHERE id ="
			     " 'oldcall1'") != 0 ||
		     sql_int(dir, "SELECT COUNT(*) FROM turns") != 0 ||
		     sql_int(dir, "SELECT COUNT(*) FROM tool_calls") != 0 ||
		     sql_int(dir, "SELECT COUNT(*) FROM messages") != 1 ||
		     access(old_rec, F_OK) == 0 ||
		     access(old_msg, F_OK) == 0 ||
		     access(new_rec, F_OK) != 0))
		err = 1;
	/* 0 = keep everything */
	if (!err)
		err = store_retention_set(0);
	store_close();
	rm_rf(dir);
	return err;
}


static void due_h(uint64_t id, const char *json, void *arg)
{
	unsigned *n = arg;

	(void)id;
	if (json && strstr(json, "\"number\""))
		++*n;
}


static void kv_collect(const char *key, const char *val, void *arg)
{
	(void)mbuf_printf(arg, "%s=%s;", key, val);
}


int test_store_roundtrip(void)
{
	char dir[64], *v = NULL;
	struct store_message m;
	struct mbuf *mb = mbuf_alloc(256);
	struct odict *o = NULL;
	uint64_t id = 0, s1 = 0, s2 = 0;
	unsigned due = 0;
	int err = 0;

	TEST_ASSERT(mb);
	TEST_ERR(tmpdir(dir, sizeof(dir)));
	TEST_ERR(store_open(dir));

	/* messages */
	memset(&m, 0, sizeof(m));
	m.callid = "abcd0001";
	m.name = "Bob \"the\" builder";
	m.callback = "+491701234567";
	m.text = "please call back\n";
	err |= store_message_add(&m, &id);
	err |= id != 1;
	err |= store_message_read(id, true);
	err |= store_messages_json(mb, 0, 10);
	err |= parse(&o, mb);
	if (!err) {
		const struct odict *msg = item(oarr(o, "messages"), 0);
		err |= !msg || onum(msg, "read") != 1 ||
			strcmp(odict_string(msg, "name"),
			       "Bob \"the\" builder") ||
			strcmp(odict_string(msg, "callback"),
			       "+491701234567") ||
			onum(o, "total") != 1;
	}
	o = mem_deref(o);
	mbuf_rewind(mb);
	err |= store_message_delete(id);
	err |= store_message_delete(id) != ENOENT;

	/* history */
	err |= store_history_put("+491701234567", "{\"calls\":3}");
	err |= store_history_put("+491701234567", "{\"calls\":4}");
	err |= store_history_get("+491701234567", &v);
	err |= !v || strcmp(v, "{\"calls\":4}");
	v = mem_deref(v);
	err |= store_history_json(mb);
	err |= parse(&o, mb);
	if (!err) {
		const struct odict *h = item(oarr(o, "callers"), 0);
		const struct odict *doc = h ? oarr(h, "history") : NULL;
		err |= !doc || onum(doc, "calls") != 4;
	}
	o = mem_deref(o);
	mbuf_rewind(mb);
	err |= store_history_delete("+491701234567");

	/* settings */
	err |= store_setting_put("greeting_incoming", "Hi 'there'; --");
	err |= store_setting_get("greeting_incoming", &v);
	err |= !v || strcmp(v, "Hi 'there'; --");
	v = mem_deref(v);

	err |= store_setting_put("max_calls", "7");
	{
		struct mbuf *kv = mbuf_alloc(64);

		err |= !kv || store_settings_foreach(kv_collect, kv);
		if (kv) {
			mbuf_write_u8(kv, 0);
			err |= strcmp((char *)kv->buf, "greeting_incoming=Hi "
				      "'there'; --;max_calls=7;");
		}
		mem_deref(kv);
	}

	/* scheduled calls: due ones once, cancel, done */
	err |= store_sched_add("{\"number\":\"+4930123\"}", 1000, &s1);
	err |= store_sched_add("{\"number\":\"+4930124\"}", 5000, &s2);
	err |= store_sched_due(2000, due_h, &due);
	err |= due != 1;
	err |= store_sched_due(2000, due_h, &due);
	err |= due != 1;
	err |= store_sched_cancel(s1) != EALREADY;
	err |= store_sched_done(s1, "answered");
	err |= store_sched_cancel(s2);
	err |= store_sched_due(9000, due_h, &due);
	err |= due != 1;
	err |= store_sched_json(mb);
	err |= parse(&o, mb);
	if (!err) {
		const struct odict *a = oarr(o, "scheduled");
		const struct odict *r1 = a ? item(a, 0) : NULL;
		const struct odict *r2 = a ? item(a, 1) : NULL;
		err |= !r1 || !r2 ||
			strcmp(odict_string(r1, "state"), "done") ||
			strcmp(odict_string(r1, "outcome"), "answered") ||
			strcmp(odict_string(r2, "state"), "cancelled") ||
			!oarr(r1, "request");
	}
	o = mem_deref(o);
	mem_deref(mb);
	store_close();
	rm_rf(dir);
	return err ? 1 : 0;
}


int test_store_lock(void)
{
	char dir[64], reason[256];
	void *a = NULL, *b = NULL;
	int err;

	TEST_ERR(tmpdir(dir, sizeof(dir)));
	TEST_ERR(store_sqlite.open(&a, dir, reason, sizeof(reason)));
	err = store_sqlite.open(&b, dir, reason, sizeof(reason));
	store_sqlite.close(a);
	TEST_EQ(err, EBUSY);
	TEST_ASSERT(strstr(reason, "in use"));
	/* free again once the first has closed */
	TEST_ERR(store_sqlite.open(&b, dir, reason, sizeof(reason)));
	store_sqlite.close(b);
	/* the database is private to its owner */
	{
		char path[128];
		struct stat sb;

		re_snprintf(path, sizeof(path), "%s/agentline.db", dir);
		TEST_ERR(stat(path, &sb) ? errno : 0);
		TEST_EQ(sb.st_mode & 077, 0);
	}
	rm_rf(dir);
	return 0;
}


/* Cost of recording on the main thread: a call's events (incoming,
 * answered, two turns, a tool call, ended) for 300 calls, committed per
 * call as the main loop would; prints microseconds per event. */
int test_store_cost(void)
{
	char dir[64], id[16];
	struct timespec a, b;
	uint64_t t0, t1;
	unsigned nev = 0;
	int err = 0;

	TEST_ERR(tmpdir(dir, sizeof(dir)));
	TEST_ERR(store_open(dir));
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (unsigned i = 0; i < 300; i++) {
		re_snprintf(id, sizeof(id), "cost%04u", i);
		one_call(id, false);
		events_emit("turn", id, ",\"turn\":1,\"transcript\":\"hello "
			    "can you hear me\",\"reply\":\"You said hello can "
			    "you hear me\",\"vad_end_ms\":700,\"stt_ms\":90,"
			    "\"brain_ms\":1,\"tts_first_audio_ms\":30,"
			    "\"voice_to_voice_ms\":820,\"interrupted\":false");
		events_emit("turn", id, ",\"turn\":2,\"transcript\":\"bye\","
			    "\"reply\":\"Goodbye\",\"interrupted\":false");
		events_emit("tool_call", id, ",\"turn\":2,\"tool\":\"hang_up\","
			    "\"decision\":\"allow\",\"category\":\"\","
			    "\"ok\":true");
		events_emit("call_ended", id, ",\"reason\":\"local_bye\"");
		nev += 6;
		err |= store_flush();   /* one commit per loop iteration */
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	t0 = (uint64_t)a.tv_sec * 1000000 + (uint64_t)a.tv_nsec / 1000;
	t1 = (uint64_t)b.tv_sec * 1000000 + (uint64_t)b.tv_nsec / 1000;
	fprintf(stderr, "store: %u events in %llu us: %.1f us/event "
		"(commit per call)\n", nev, (unsigned long long)(t1 - t0),
		(double)(t1 - t0) / nev);
	if (sql_int(dir, "SELECT COUNT(*) FROM turns") != 600)
		err = 1;
	store_close();
	rm_rf(dir);
	/* generous: a slow CI disk must not fail it, a blocking fsync per
	 * commit (~ms) would */
	TEST_ASSERT((t1 - t0) / nev < 1000);
	return err;
}


int test_store_outbound(void)
{
	char dir[64];
	int err = 0;

	TEST_ERR(tmpdir(dir, sizeof(dir)));
	TEST_ERR(store_open(dir));
	events_emit("call_outcome", "out00001", ",\"outcome\":\"answered\","
		    "\"sip_code\":200");
	events_emit("call_answered", "out00001", ",\"codec\":\"G722\","
		    "\"srtp\":true,\"direction\":\"outbound\"");
	events_emit("call_ended", "out00001", ",\"reason\":\"local_bye\"");
	events_emit("call_outcome", "out00002", ",\"outcome\":\"busy\","
		    "\"sip_code\":486");
	events_emit("call_ended", "out00002", ",\"reason\":\"busy\"");
	/* refused at the media stage: its own row, never live */
	events_emit("call_incoming", "rej00001", ",\"transport\":\"TCP\"");
	events_emit("call_rejected", "rej00001", ",\"code\":488,"
		    "\"reason\":\"no common codec\"");
	store_flush();
	store_close();
	if (sql_int(dir, "SELECT COUNT(*) FROM calls WHERE id = 'out00001'"
		    " AND direction = 'outbound' AND outcome = 'answered' AND"
		    " sip_code = 200 AND codec = 'G722' AND srtp = 1 AND"
		    " live = 0 AND duration_ms >= 0") != 1 ||
	    sql_int(dir, "SELECT COUNT(*) FROM calls WHERE id = 'out00002'"
		    " AND direction = 'outbound' AND outcome = 'busy' AND"
		    " sip_code = 486 AND answered IS NULL AND"
		    " duration_ms IS NULL AND live = 0") != 1 ||
	    sql_int(dir, "SELECT COUNT(*) FROM calls WHERE id = 'rej00001'"
		    " AND outcome = 'rejected' AND sip_code = 488 AND"
		    " end_reason = 'rejected' AND live = 0") != 1 ||
	    sql_int(dir, "SELECT COUNT(*) FROM calls") != 3)
		err = 1;
	rm_rf(dir);
	return err;
}


/* Fault injection: a backend that fails (ENOMEM) from the n-th write or
 * query on.  Recording keeps going without crashing, queries fail
 * cleanly and leave the buffer as it was, and once the faults stop the
 * store works again. */
static struct store_be faulty;
static int fault_countdown = -1;


static bool fault(void)
{
	if (fault_countdown < 0)
		return false;
	if (fault_countdown == 0)
		return true;
	--fault_countdown;
	return false;
}


static int f_call_update(void *ctx, const struct store_call *c)
{
	return fault() ? ENOMEM : store_sqlite.call_update(ctx, c);
}


static int f_turn_put(void *ctx, const char *callid,
		      const struct store_turn *t)
{
	return fault() ? ENOMEM : store_sqlite.turn_put(ctx, callid, t);
}


static int f_calls_list(void *ctx, unsigned offset, unsigned limit,
			uint64_t *totalp, store_call_h *h, void *arg)
{
	return fault() ? ENOMEM : store_sqlite.calls_list(ctx, offset, limit,
							  totalp, h, arg);
}


static int f_message_add(void *ctx, const struct store_message *m,
			 int64_t ts, uint64_t *idp)
{
	return fault() ? ENOMEM : store_sqlite.message_add(ctx, m, ts, idp);
}


static int f_commit(void *ctx)
{
	return fault() ? ENOMEM : store_sqlite.commit(ctx);
}


int test_store_faults(void)
{
	char dir[64];
	struct store_message m;
	struct mbuf *mb = mbuf_alloc(64);
	int err = 0;

	TEST_ASSERT(mb);
	faulty = store_sqlite;
	faulty.call_update = f_call_update;
	faulty.turn_put = f_turn_put;
	faulty.calls_list = f_calls_list;
	faulty.message_add = f_message_add;
	faulty.commit = f_commit;
	store_be_use(&faulty);
	memset(&m, 0, sizeof(m));
	m.text = "hi";

	TEST_ERR(tmpdir(dir, sizeof(dir)));
	err = store_open(dir);
	/* 4 writes and a commit per call: fail each, then the query */
	for (int n = 0; n < 6 && !err; n++) {
		char id[16];

		re_snprintf(id, sizeof(id), "fault%03d", n);
		fault_countdown = n;
		one_call(id, false);
		events_emit("turn", id, ",\"turn\":1,\"transcript\":\"x\","
			    "\"interrupted\":false");
		events_emit("call_ended", id, ",\"reason\":\"remote_bye\"");
		(void)store_flush();
		mbuf_write_str(mb, "keep");
		if (store_calls_json(mb, 0, 10) != ENOMEM || mb->end != 4) {
			err = 1;
			break;
		}
		if (store_message_add(&m, NULL) != ENOMEM)
			err = 2;
		mbuf_rewind(mb);
	}
	fault_countdown = -1;
	/* healthy again */
	if (!err) {
		one_call("healthy1", true);
		err = store_flush();
		err = err ? err : store_calls_json(mb, 0, 10);
		err = err ? err : store_message_add(&m, NULL);
		if (!err && sql_int(dir, "SELECT COUNT(*) FROM calls WHERE id"
				    " = 'healthy1' AND live = 0") != 1)
			err = 3;
	}
	store_close();
	store_be_use(NULL);
	mem_deref(mb);
	rm_rf(dir);
	return err;
}


static int golden(const struct mbuf *mb, const char *name)
{
	char path[512], *want = NULL;
	FILE *f;
	long n;
	int err = 0;

	re_snprintf(path, sizeof(path), "%s/store/%s", test_datadir, name);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "golden %s missing; got:\n%.*s\n", path,
			(int)mb->end, (const char *)mb->buf);
		return ENOENT;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	want = malloc((size_t)n + 1);
	if (!want || fread(want, 1, (size_t)n, f) != (size_t)n)
		err = EIO;
	fclose(f);
	/* the file ends with a newline, the JSON does not */
	if (!err && (n < 1 || (size_t)n - 1 != mb->end ||
		     memcmp(want, mb->buf, mb->end))) {
		fprintf(stderr, "%s differs; got:\n%.*s\n", name, (int)mb->end,
			(const char *)mb->buf);
		err = 1;
	}
	free(want);
	return err;
}


/* The JSON the control API serves, fixed rows against golden files
 * (test/data/store/): field names, types, null for unset values, order
 * of turns and tool calls. */
int test_store_json_golden(void)
{
	char dir[64];
	struct mbuf *mb = mbuf_alloc(1024);
	int err;

	TEST_ASSERT(mb);
	TEST_ERR(tmpdir(dir, sizeof(dir)));
	TEST_ERR(store_open(dir));
	err = sql(dir,
		  "INSERT INTO calls (n, id, direction, caller_redacted,"
		  " caller_key, caller_group, privilege, codec, transport,"
		  " srtp, started, answered, ended, updated, outcome,"
		  " sip_code, end_reason, duration_ms, recording, live,"
		  " barge_ins) VALUES"
		  " (1, '1a2b3c4d', 'inbound', '…42', '+4915112345642',"
		  " 'family', 2, 'G722', 'TLS', 1, 1763780000000,"
		  " 1763780000250, 1763780061500, 1763780061500, 'answered',"
		  " NULL, 'remote_bye', 61250, '/rec/1.wav', 0, 1),"
		  " (2, '5e6f7a8b', 'outbound', NULL, NULL, NULL, NULL, NULL,"
		  " 'UDP', NULL, 1763780100000, NULL, NULL, 1763780100000,"
		  " 'busy', 486, NULL, NULL, NULL, 1, 0);"
		  "INSERT INTO turns VALUES (1, 1, 'hello', 'Hi! How can I"
		  " help?', 700, 95, 410, 120, 1325, 0, 1763780005000),"
		  " (1, 2, 'bye \"now\"', NULL, 700, 80, NULL, NULL, NULL, 1,"
		  " 1763780060000);"
		  "INSERT INTO tool_calls (call, turn, tool, decision,"
		  " category, ok, ts) VALUES (1, 2, 'hang_up', 'allow', '',"
		  " 1, 1763780060100), (1, 2, 'transfer_blind', 'deny',"
		  " 'privilege', 0, 1763780060050);");
	err = err ? err : store_call_json(mb, "1a2b3c4d");
	err = err ? err : golden(mb, "call.json");
	if (!err) {
		mbuf_rewind(mb);
		err = store_calls_json(mb, 0, 10);
		err = err ? err : golden(mb, "calls.json");
	}
	store_close();
	mem_deref(mb);
	rm_rf(dir);
	return err;
}


/* The checkpoint thread copies the WAL back into the database while
 * agentline runs (a WAL that is never checkpointed grows without bound:
 * 150 MB after 6000 calls before this was fixed). */
int test_store_checkpoint(void)
{
	char dir[64], db[128], id[16];
	struct stat sb;
	bool grew = false;
	int err = 0;

	TEST_ERR(tmpdir(dir, sizeof(dir)));
	re_snprintf(db, sizeof(db), "%s/agentline.db", dir);
	TEST_ERR(store_open(dir));
	for (unsigned i = 0; i < 300; i++) {
		re_snprintf(id, sizeof(id), "ckpt%04u", i);
		one_call(id, true);
		err |= store_flush();
	}
	/* the thread runs once a second; no main loop needed */
	for (int i = 0; i < 40 && !grew; i++) {
		usleep(100000);
		grew = 0 == stat(db, &sb) && sb.st_size >= 16 * 4096;
	}
	if (!grew)
		fprintf(stderr, "database still %lld bytes after 4 s\n",
			(long long)sb.st_size);
	store_close();
	rm_rf(dir);
	TEST_ASSERT(grew);
	return err;
}
