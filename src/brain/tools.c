/*
 * tools.c  The tools executor: JSON arguments -> trust gate -> action on
 *          the call -> JSON result (docs/tools.md).
 *
 * Every asynchronous action is a job in one global list, found again by
 * its id: callbacks from SIP, workers and other calls carry the id, never
 * a pointer, so a job that was cancelled or whose call ended is simply
 * not found.  Main thread only (the relay POST runs on a worker).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "brain/tools.h"
#include "core/conf.h"
#include "core/events.h"
#include "core/log.h"
#include "core/worker.h"
#include "engines/netclient.h"
#include "pipeline/agent.h"
#include "policy/policy.h"
#include "sip/call.h"
#include "sip/ua.h"
#include "store/store.h"

#define MOD "tools"

enum {
	ARGS_MAX = 8192,           /* bytes of JSON arguments              */
	DRAIN_POLL_MS = 100,
	ENTRY_MAX = 16,
	TARGET_MAX = 256,
	DIGITS_MAX = 32,
	HTTP_TIMEOUT_MS = 5000,
};

struct entry {
	char *name, *dtmf, *url, *token;
};

static struct {
	uint32_t drain_ms;
	uint32_t confirm_secs;
	char *farewell;
	char *confirm_msg;
	struct entry entries[ENTRY_MAX];
	size_t nentries;
	const struct tools_ops *ops;
	struct list jobs;          /* every live job                      */
	uint32_t next_id;
	struct strand *strand;     /* relay POSTs                          */
	char audio_dir[PATH_MAX];  /* where kept caller audio lives       */
} g = {
	.drain_ms = 3000,
	.confirm_secs = 10,
};

struct tools {
	struct agent *a;
	struct call *call;
	char callid[16];
};

enum job_kind {
	JOB_HANGUP = 0,            /* farewell playing, then BYE          */
	JOB_CONFIRM,               /* waiting for the confirm digit       */
	JOB_XFER,                  /* REFER sent / consult leg ringing    */
	JOB_PLACE,                 /* outbound task call running          */
	JOB_HTTP,                  /* relay POST in flight                */
};

struct job {
	struct le le;
	uint32_t id;
	enum job_kind kind;
	struct tools *t;           /* NULL once detached (cancelled turn,
				      or the call that asked ended)       */
	uint32_t turn_id;
	char tool[24];
	char callid[16];           /* the call that asked                 */
	char *target;
	brain_tool_h *done;
	void *done_arg;
	struct tmr tmr;
	uint64_t started;
	/* place_call */
	char childid[16];
	char *objective;
	char *result_outcome, *result_summary;
	enum call_outcome outcome;
	uint16_t scode;
};


/* --- the real functions behind the test seam ------------------------ */

static int real_connect(struct call **callp, const char *uri,
			call_outcome_h *h, void *arg)
{
	return ua_connect(callp, uri, 0, h, arg);
}


static int real_http_post(const char *url, const char *token,
			  const char *body, int *statusp)
{
	struct net_opts o;
	struct net_req req;
	struct net_resp resp;
	char hdr[600];
	int err;

	memset(&o, 0, sizeof(o));
	o.connect_ms = HTTP_TIMEOUT_MS;
	o.first_byte_ms = HTTP_TIMEOUT_MS;
	o.total_ms = HTTP_TIMEOUT_MS;
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	hdr[0] = '\0';
	if (token && *token)
		re_snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n",
			    token);
	req.method = "POST";
	req.url = url;
	req.headers = hdr;
	req.ctype = "application/json";
	req.body = body;
	req.len = strlen(body);
	err = net_http(&o, &req, &resp, NULL, NULL);
	*statusp = resp.status;
	return err;
}


static const struct tools_ops real_ops = {
	.policy = call_policy,
	.gate = gate_check,
	.commit = gate_commit,
	.confirm_set = gate_confirm_set,
	.confirm_digit = gate_confirm_digit,
	.say = agent_say,
	.speaking = agent_speaking,
	.hangup = call_hangup,
	.hangup_agent = agent_hangup,
	.send_dtmf = call_send_dtmf,
	.hold = call_hold,
	.xfer_blind = call_transfer_blind,
	.xfer_attended = call_transfer_attended,
	.xfer_abandon = call_transfer_abandon,
	.xfer_cancel = call_transfer_cancel,
	.connect = real_connect,
	.set_end = call_set_end_handler,
	.callid = call_id,
	.message_add = store_message_add,
	.http_post = real_http_post,
};

/* member m of the ops in use (test double first, then the real one) */
#define OPS(m) ((g.ops && g.ops->m) ? g.ops->m : real_ops.m)


void tools_set_ops(const struct tools_ops *ops)
{
	g.ops = ops;
}


/* --- settings -------------------------------------------------------- */

static void entries_clear(void)
{
	for (size_t i = 0; i < g.nentries; i++) {
		struct entry *e = &g.entries[i];
		e->name = mem_deref(e->name);
		e->dtmf = mem_deref(e->dtmf);
		e->url = mem_deref(e->url);
		e->token = mem_deref(e->token);
	}
	g.nentries = 0;
}


static int dup_opt(char **dst, const struct conf *conf, const char *key)
{
	const char *v = conf_str(conf, key);

	*dst = NULL;
	return v && *v ? str_dup(dst, v) : 0;
}


static int entry_load(const struct conf *conf, unsigned n)
{
	struct entry *e;
	char k[64];
	int err;

	if (g.nentries >= ENTRY_MAX)
		return 0;
	e = &g.entries[g.nentries];
#define KEY(base) (n ? (re_snprintf(k, sizeof(k), "%s_%u", base, n), k) \
		   : base)
	err  = dup_opt(&e->name, conf, KEY("entry_name"));
	err |= dup_opt(&e->dtmf, conf, KEY("entry_dtmf"));
	err |= dup_opt(&e->url, conf, KEY("entry_url"));
	err |= dup_opt(&e->token, conf, KEY("entry_token"));
#undef KEY
	++g.nentries;   /* cleared by entries_clear on error too */
	if (err)
		return err;
	if (!e->name) {
		log_error(MOD, NULL, "entry %u: entry_name is not set", n);
		return EINVAL;
	}
	if (!e->dtmf == !e->url) {
		log_error(MOD, NULL, "entry %s: set exactly one of entry_dtmf"
			  " and entry_url", e->name);
		return EINVAL;
	}
	if (e->dtmf && strspn(e->dtmf, "0123456789*#ABCDabcd") !=
	    strlen(e->dtmf)) {
		log_error(MOD, NULL, "entry %s: entry_dtmf may only hold "
			  "0-9 * # A-D", e->name);
		return EINVAL;
	}
	if (e->url && strncmp(e->url, "https://", 8) &&
	    strncmp(e->url, "http://", 7)) {
		log_error(MOD, NULL, "entry %s: entry_url must be an http(s)"
			  " URL", e->name);
		return EINVAL;
	}
	return 0;
}


int tools_init(const struct conf *conf)
{
	unsigned nv[ENTRY_MAX];
	size_t n;
	int err = 0;

	tools_close();
	if (!conf)
		return EINVAL;

	g.drain_ms = (uint32_t)conf_int(conf, "hang_up_drain_ms");
	if (conf_opt_find("transfer_confirm_secs"))
		g.confirm_secs = (uint32_t)conf_int(conf,
						    "transfer_confirm_secs");
	if (!g.confirm_secs)
		g.confirm_secs = 10;
	/* the agent keeps caller audio under data_dir/audio (or a /tmp
	 * folder of this process without data_dir) */
	if (conf_str(conf, "data_dir") && *conf_str(conf, "data_dir"))
		re_snprintf(g.audio_dir, sizeof(g.audio_dir), "%s/audio",
			    conf_str(conf, "data_dir"));
	else
		re_snprintf(g.audio_dir, sizeof(g.audio_dir),
			    "/tmp/agentline-audio-%d", (int)getpid());
	err |= dup_opt(&g.farewell, conf, "hang_up_farewell");
	err |= dup_opt(&g.confirm_msg, conf, "transfer_confirm_message");
	if (err)
		goto out;

	if (conf_isset(conf, "entry_name") || conf_isset(conf, "entry_dtmf")
	    || conf_isset(conf, "entry_url")) {
		err = entry_load(conf, 0);
		if (err)
			goto out;
	}
	n = conf_numbered(conf, "entry_name", nv, ARRAY_SIZE(nv));
	for (size_t i = 0; i < n && !err; i++)
		err = entry_load(conf, nv[i]);
	if (err)
		goto out;
	for (size_t i = 0; i < g.nentries; i++) {
		for (size_t j = 0; j < i; j++) {
			if (!str_casecmp(g.entries[i].name,
					 g.entries[j].name)) {
				log_error(MOD, NULL, "entry %s is defined "
					  "twice", g.entries[i].name);
				err = EINVAL;
				goto out;
			}
		}
	}
	if (g.nentries)
		log_info(MOD, NULL, "open_entry: %zu entr%s configured",
			 g.nentries, g.nentries == 1 ? "y" : "ies");
 out:
	if (err)
		entries_clear();
	return err;
}


static void job_free(struct job *j);


void tools_close(void)
{
	struct le *le;

	while ((le = g.jobs.head)) {
		struct job *j = le->data;
		j->t = NULL;
		j->done = NULL;
		job_free(j);
	}
	entries_clear();
	g.farewell = mem_deref(g.farewell);
	g.confirm_msg = mem_deref(g.confirm_msg);
	g.strand = mem_deref(g.strand);
}


/* --- jobs ------------------------------------------------------------ */

static void job_free(struct job *j)
{
	tmr_cancel(&j->tmr);
	list_unlink(&j->le);
	mem_deref(j);
}


static void job_destructor(void *arg)
{
	struct job *j = arg;

	tmr_cancel(&j->tmr);
	list_unlink(&j->le);
	mem_deref(j->target);
	mem_deref(j->objective);
	mem_deref(j->result_outcome);
	mem_deref(j->result_summary);
}


static struct job *job_find(uint32_t id)
{
	struct le *le;

	LIST_FOREACH(&g.jobs, le) {
		struct job *j = le->data;
		if (j->id == id)
			return j;
	}
	return NULL;
}


static void *id_arg(const struct job *j)
{
	return (void *)(uintptr_t)j->id;
}


static struct job *arg_job(void *arg)
{
	return job_find((uint32_t)(uintptr_t)arg);
}


static int job_alloc(struct job **jp, struct tools *t, enum job_kind kind,
		     uint32_t turn_id, const char *tool, brain_tool_h *done,
		     void *done_arg)
{
	struct job *j = mem_zalloc(sizeof(*j), job_destructor);

	if (!j)
		return ENOMEM;
	j->id = ++g.next_id ? g.next_id : ++g.next_id;
	j->kind = kind;
	j->t = t;
	j->turn_id = turn_id;
	str_ncpy(j->tool, tool, sizeof(j->tool));
	str_ncpy(j->callid, t ? t->callid : "-", sizeof(j->callid));
	j->done = done;
	j->done_arg = done_arg;
	j->started = tmr_jiffies();
	list_append(&g.jobs, &j->le, j);
	*jp = j;
	return 0;
}


/* --- results --------------------------------------------------------- */

static void emit(const char *callid, uint32_t turn, const char *tool,
		 bool allowed, const char *category, bool ok)
{
	char tn[48];

	events_emit("tool_call", callid,
		    ",\"turn\":%u,\"tool\":\"%s\",\"decision\":\"%s\","
		    "\"category\":\"%s\",\"ok\":%s", turn,
		    events_esc(tn, sizeof(tn), tool),
		    allowed ? "allow" : "deny", category ? category : "",
		    ok ? "true" : "false");
}


static bool tool_known(const char *name);


static int error_json(char **jsonp, const char *category, const char *msg)
{
	char c[64], m[400];

	return re_sdprintf(jsonp, "{\"error\":{\"category\":\"%s\","
			   "\"message\":\"%s\"}}",
			   events_esc(c, sizeof(c), category),
			   events_esc(m, sizeof(m), msg));
}


/* Answer a tool call: json is the result object (ok) or, with err set,
 * an error object made from category/message. */
static void answer(const char *callid, uint32_t turn, const char *tool,
		   bool allowed, brain_tool_h *done, void *done_arg, int err,
		   const char *category, const char *msg, const char *json)
{
	char *ej = NULL;

	emit(callid, turn, tool, allowed, err ? category : "", !err);
	/* a name the model made up is not written to the log */
	if (!tool_known(tool))
		tool = "(unknown tool)";
	if (err) {
		log_info(MOD, callid, "%s: %s (%s)", tool,
			 allowed ? "failed" : "denied", category);
		if (error_json(&ej, category, msg))
			ej = NULL;
	}
	else {
		log_info(MOD, callid, "%s: done", tool);
	}
	if (done)
		done(turn, err, err ? (ej ? ej : "{}") : json, done_arg);
	mem_deref(ej);
}


/* A detached job's outcome still reaches the conversation, as a fact. */
static void to_context(const struct job *j, const char *what)
{
	char *text = NULL;

	if (!call_find(j->callid))
		return;
	if (re_sdprintf(&text, "Result of the earlier %s: %s", j->tool,
			what))
		return;
	(void)brain_context_add(j->callid, text, true);
	mem_deref(text);
}


/* Finish a job (frees it). */
static void job_finish(struct job *j, int err, const char *category,
		       const char *msg, const char *json)
{
	if (j->t && j->done) {
		answer(j->callid, j->turn_id, j->tool, true, j->done,
		       j->done_arg, err, category, msg, json);
	}
	else {
		emit(j->callid, j->turn_id, j->tool, true,
		     err ? category : "", !err);
		to_context(j, err ? msg : json);
	}
	job_free(j);
}


/* --- argument helpers ------------------------------------------------ */

static const char *arg_str(const struct odict *od, const char *key)
{
	const struct odict_entry *e = od ? odict_lookup(od, key) : NULL;

	if (!e || e->type != ODICT_STRING)
		return NULL;
	return e->u.str;
}


/* take_message's audio_path: only a WAV the agent kept itself, never a
 * path a model made up (the API serves message audio). */
static bool audio_ok(const char *path)
{
	char rp[PATH_MAX], rd[PATH_MAX];
	size_t n;

	if (!path || !*g.audio_dir || !realpath(path, rp) ||
	    !realpath(g.audio_dir, rd))
		return false;
	n = strlen(rd);
	return !strncmp(rp, rd, n) && rp[n] == '/' &&
		strlen(rp) > 4 && !strcmp(rp + strlen(rp) - 4, ".wav");
}


static bool digits_ok(const char *d)
{
	size_t n = d ? strlen(d) : 0;

	return n > 0 && n <= DIGITS_MAX &&
		strspn(d, "0123456789*#ABCDabcd") == n;
}


/* --- hang_up --------------------------------------------------------- */

static void drain_tmr(void *arg)
{
	struct job *j = arg;
	struct tools *t = j->t;
	bool timeout = tmr_jiffies() - j->started >= g.drain_ms;

	if (t && OPS(speaking)(t->a) && !timeout) {
		tmr_start(&j->tmr, DRAIN_POLL_MS, drain_tmr, j);
		return;
	}
	if (timeout)
		log_info(MOD, j->callid, "hang_up: farewell still playing "
			 "after %u ms: hanging up", g.drain_ms);
	if (!t) {
		job_free(j);
		return;
	}
	{
		struct call *call = t->call;
		struct agent *a = t->a;
		/* the result first: hanging up frees this executor */
		job_finish(j, 0, NULL, NULL, "{\"ok\":true}");
		if (call)
			OPS(hangup)(call, "agent_hangup");
		else   /* `agentline pipeline`: through the agent's port */
			OPS(hangup_agent)(a);
	}
}


static int run_hang_up(struct tools *t, struct job *j, const char *reason)
{
	(void)reason;   /* the model's words: not logged */
	/* a reply still playing has its own goodbye; a silent hang-up
	 * gets the farewell line */
	if (g.farewell && !OPS(speaking)(t->a))
		OPS(say)(t->a, g.farewell);
	tmr_start(&j->tmr, DRAIN_POLL_MS, drain_tmr, j);
	return 0;
}


/* --- transfers ------------------------------------------------------- */

static const char *xfer_category(int err)
{
	switch (err) {
	case EPERM:      return "refused";
	case ENOENT:     return "not_found";
	case EBUSY:      return "busy";
	case ETIMEDOUT:  return "no_answer";
	case ENOTSUP:    return "not_supported";
	case ECONNRESET: return "hung_up";
	default:         return "failed";
	}
}


static void xfer_done(int err, uint16_t scode, void *arg)
{
	struct job *j = arg_job(arg);
	char json[96], msg[160];

	if (!j)
		return;
	if (!err) {
		re_snprintf(json, sizeof(json),
			    "{\"ok\":true,\"sip_code\":%u}", scode);
		job_finish(j, 0, NULL, NULL, json);
		return;
	}
	re_snprintf(msg, sizeof(msg), "the transfer did not complete "
		    "(%s, SIP %u); the caller is still on this call",
		    xfer_category(err), scode);
	job_finish(j, err, xfer_category(err), msg, NULL);
}


static void xfer_start(struct job *j)
{
	struct tools *t = j->t;
	bool attended = !strcmp(j->tool, "transfer_attended");
	int err;

	j->kind = JOB_XFER;
	err = attended ?
		OPS(xfer_attended)(t->call, j->target, xfer_done, id_arg(j)) :
		OPS(xfer_blind)(t->call, j->target, xfer_done, id_arg(j));
	if (err) {
		job_finish(j, err, err == EINVAL ? "bad_arguments" :
			   "failed", err == EINVAL ? "the target is not a "
			   "number, extension or SIP URI" :
			   "the transfer could not be started", NULL);
		return;
	}
	OPS(commit)(OPS(policy)(t->call), j->tool);
}


static void confirm_tmr(void *arg)
{
	struct job *j = arg;

	log_info(MOD, j->callid, "transfer not confirmed in %u s",
		 g.confirm_secs);
	job_finish(j, EPERM, "not_confirmed", "the caller did not press the "
		   "confirm key in time; nothing was transferred", NULL);
}


static struct job *confirm_job(const struct tools *t)
{
	struct le *le;

	LIST_FOREACH(&g.jobs, le) {
		struct job *j = le->data;
		if (j->t == t && j->kind == JOB_CONFIRM)
			return j;
	}
	return NULL;
}


static int ask_confirm(struct tools *t, struct job *j)
{
	char d = OPS(confirm_digit)();
	char line[300];
	const char *tpl = g.confirm_msg ? g.confirm_msg :
		"To confirm the transfer, press {digit}.";
	const char *p;
	size_t n = 0;

	if (!d)
		return EINVAL;
	if (confirm_job(t))
		return EALREADY;

	/* {digit} in the configured line becomes the key to press */
	for (p = tpl; *p && n + 8 < sizeof(line); ) {
		if (!strncmp(p, "{digit}", 7)) {
			const char *w = d == '*' ? "star" :
				d == '#' ? "pound" : NULL;
			if (w) {
				str_ncpy(line + n, w, sizeof(line) - n);
				n += strlen(w);
			}
			else {
				line[n++] = d;
			}
			p += 7;
		}
		else {
			line[n++] = *p++;
		}
	}
	line[n] = '\0';

	j->kind = JOB_CONFIRM;
	OPS(say)(t->a, line);
	tmr_start(&j->tmr, g.confirm_secs * 1000ull, confirm_tmr, j);
	log_info(MOD, t->callid, "%s: waiting %u s for the confirm key",
		 j->tool, g.confirm_secs);
	return 0;
}


bool tools_dtmf(struct tools *t, char digit)
{
	struct job *j;
	struct policy_call *pc;
	const char *cat = NULL;

	if (!t)
		return false;
	j = confirm_job(t);
	if (!j)
		return false;

	tmr_cancel(&j->tmr);
	if (digit != OPS(confirm_digit)()) {
		log_info(MOD, t->callid, "%s: not confirmed (other key)",
			 j->tool);
		job_finish(j, EPERM, "not_confirmed", "the caller pressed a "
			   "different key; nothing was transferred", NULL);
		return true;
	}

	pc = OPS(policy)(t->call);
	OPS(confirm_set)(pc, j->tool);
	if (OPS(gate)(pc, j->tool, j->target, &cat)) {
		job_finish(j, EPERM, cat ? cat : "denied", "the transfer is "
			   "not allowed on this call", NULL);
		return true;
	}
	log_info(MOD, t->callid, "%s: confirmed by the caller", j->tool);
	xfer_start(j);
	return true;
}


/* --- place_call ------------------------------------------------------ */

static struct job *place_job(const char *childid)
{
	struct le *le;

	LIST_FOREACH(&g.jobs, le) {
		struct job *j = le->data;
		if (j->kind == JOB_PLACE && !strcmp(j->childid, childid))
			return j;
	}
	return NULL;
}


const char *tools_call_objective(const char *callid)
{
	const struct job *j = callid ? place_job(callid) : NULL;

	return j ? j->objective : NULL;
}


static void place_report(struct job *j)
{
	char *json = NULL;
	char o[64], s[1200];

	if (re_sdprintf(&json, "{\"outcome\":\"%s\",\"sip_code\":%u,"
			"\"result\":\"%s\",\"summary\":\"%s\"}",
			call_outcome_name(j->outcome), j->scode,
			events_esc(o, sizeof(o), j->result_outcome ?
				   j->result_outcome : ""),
			events_esc(s, sizeof(s), j->result_summary ?
				   j->result_summary : "")))
		json = NULL;
	job_finish(j, 0, NULL, NULL, json ? json : "{}");
	mem_deref(json);
}


static void place_end(struct call *child, void *arg)
{
	struct job *j = arg_job(arg);
	(void)child;

	if (j)
		place_report(j);
}


static void place_outcome(struct call *child, enum call_outcome o,
			  uint16_t scode, void *arg)
{
	struct job *j = arg_job(arg);
	(void)child;

	if (!j)
		return;
	j->outcome = o;
	j->scode = scode;
	log_info(MOD, j->callid, "place_call: %s", call_outcome_name(o));
	/* answered: the report waits for the end of the call (the
	 * summary); otherwise it is final now */
	if (o != CALL_OUTCOME_ANSWERED) {
		OPS(set_end)(child, NULL, NULL);
		place_report(j);
	}
}


static int run_place_call(struct tools *t, struct job *j,
			  const char *objective)
{
	struct call *child = NULL;
	int err;

	if (objective && (err = str_dup(&j->objective, objective)))
		return err;
	j->kind = JOB_PLACE;
	err = OPS(connect)(&child, j->target, place_outcome, id_arg(j));
	if (err)
		return err;
	str_ncpy(j->childid, OPS(callid)(child), sizeof(j->childid));
	OPS(set_end)(child, place_end, id_arg(j));
	OPS(commit)(OPS(policy)(t->call), j->tool);
	/* the task call's brain gets it as struct brain_call.objective */
	if (objective)
		(void)brain_objective_set(j->childid, objective);
	log_info(MOD, t->callid, "place_call: calling out (call %s)",
		 j->childid);
	return 0;
}


/* report_call_result in a call placed by place_call goes back to the
 * job that placed it. */
static void remember_result(const char *callid, const char *outcome,
			    const char *summary)
{
	struct job *j = place_job(callid);

	if (!j)
		return;
	j->result_outcome = mem_deref(j->result_outcome);
	j->result_summary = mem_deref(j->result_summary);
	(void)str_dup(&j->result_outcome, outcome);
	if (summary)
		(void)str_dup(&j->result_summary, summary);
}


void tools_call_result(const char *callid, const char *outcome,
		       const char *summary)
{
	char o[64], s[1200];

	if (!callid || !outcome)
		return;
	events_emit("call_result", callid,
		    ",\"outcome\":\"%s\",\"summary\":\"%s\"",
		    events_esc(o, sizeof(o), outcome),
		    events_esc(s, sizeof(s), summary ? summary : ""));
	remember_result(callid, outcome, summary);
}


/* --- open_entry ------------------------------------------------------ */

struct http_job {
	uint32_t id;
	char *url, *token, *body;
	int status;
};


static void http_job_destructor(void *arg)
{
	struct http_job *h = arg;

	mem_deref(h->url);
	mem_deref(h->token);
	mem_deref(h->body);
}


static int http_work(void *arg)
{
	struct http_job *h = arg;

	return OPS(http_post)(h->url, h->token, h->body, &h->status);
}


static void http_done(int err, void *arg)
{
	struct http_job *h = arg;
	struct job *j = job_find(h->id);
	char msg[120];

	if (!j)
		return;
	if (!err && h->status >= 200 && h->status < 300) {
		job_finish(j, 0, NULL, NULL, "{\"ok\":true}");
		return;
	}
	if (err)
		re_snprintf(msg, sizeof(msg), "the door relay did not answer"
			    " (%m)", err);
	else
		re_snprintf(msg, sizeof(msg), "the door relay refused (HTTP "
			    "%d)", h->status);
	job_finish(j, err ? err : EPROTO, "failed", msg, NULL);
}


static const struct entry *entry_find(const char *name)
{
	for (size_t i = 0; name && i < g.nentries; i++) {
		if (!str_casecmp(g.entries[i].name, name))
			return &g.entries[i];
	}
	return NULL;
}


static int run_open_entry(struct tools *t, struct job *j,
			  const struct entry *e)
{
	struct http_job *h;
	char nm[80];
	int err;

	if (e->dtmf) {
		err = OPS(send_dtmf)(t->call, e->dtmf);
		if (err)
			return err;
		job_finish(j, 0, NULL, NULL, "{\"ok\":true}");
		return 0;
	}

	if (!g.strand && (err = strand_alloc(&g.strand)))
		return err;
	h = mem_zalloc(sizeof(*h), http_job_destructor);
	if (!h)
		return ENOMEM;
	h->id = j->id;
	err  = str_dup(&h->url, e->url);
	err |= str_dup(&h->token, e->token ? e->token : "");
	err |= re_sdprintf(&h->body, "{\"entry\":\"%s\",\"call\":\"%s\"}",
			   events_esc(nm, sizeof(nm), e->name), t->callid);
	if (!err) {
		j->kind = JOB_HTTP;
		err = strand_run(g.strand, http_work, http_done, h);
	}
	mem_deref(h);
	return err;
}


/* --- the executor ---------------------------------------------------- */

static void tools_destructor(void *arg)
{
	struct tools *t = arg;
	struct le *le = g.jobs.head;

	/* the agent (and the call, soon) go away: nothing pending may act
	 * on them; running transfers and task calls report to nobody */
	while (le) {
		struct job *j = le->data;
		le = le->next;
		if (j->t != t)
			continue;
		j->t = NULL;
		j->done = NULL;
		if (j->kind == JOB_XFER && t->call)
			OPS(xfer_abandon)(t->call);
		if (j->kind != JOB_PLACE && j->kind != JOB_HTTP)
			job_free(j);
	}
}


int tools_alloc(struct tools **tp, struct agent *a, struct call *call)
{
	struct tools *t;

	if (!tp)
		return EINVAL;
	t = mem_zalloc(sizeof(*t), tools_destructor);
	if (!t)
		return ENOMEM;
	t->a = a;
	t->call = call;
	str_ncpy(t->callid, call ? OPS(callid)(call) : "-",
		 sizeof(t->callid));
	*tp = t;
	return 0;
}


void tools_cancel(struct tools *t)
{
	struct le *le = g.jobs.head;

	if (!t)
		return;
	while (le) {
		struct job *j = le->data;
		le = le->next;
		if (j->t != t)
			continue;
		switch (j->kind) {

		case JOB_HANGUP:
		case JOB_CONFIRM:
			/* not done yet: it never happens */
			log_info(MOD, t->callid, "%s: turn cancelled, "
				 "dropped", j->tool);
			emit(j->callid, j->turn_id, j->tool, true,
			     "cancelled", false);
			job_free(j);
			break;

		case JOB_XFER:
			/* an attended transfer still ringing the target is
			 * taken back; a REFER that is out is not */
			if (t->call && 0 == OPS(xfer_cancel)(t->call)) {
				log_info(MOD, t->callid, "%s: turn cancelled,"
					 " consult call ended", j->tool);
				emit(j->callid, j->turn_id, j->tool, true,
				     "cancelled", false);
				job_free(j);
				break;
			}
			j->done = NULL;
			break;

		default:
			/* on the wire already: its outcome goes to the
			 * conversation as context */
			j->done = NULL;
			break;
		}
	}
}


static const char *const tool_names[] = {
	"hang_up", "report_call_result", "take_message", "send_dtmf",
	"hold_call", "resume_call", "open_entry", "place_call",
	"transfer_blind", "transfer_attended",
};


static bool tool_known(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(tool_names); i++) {
		if (!strcmp(tool_names[i], name))
			return true;
	}
	return false;
}


static bool needs_call(const char *name)
{
	return strcmp(name, "report_call_result") &&
		strcmp(name, "take_message") && strcmp(name, "hang_up");
}


static const char *tool_target(const char *name, const struct odict *od)
{
	if (!strcmp(name, "place_call"))
		return arg_str(od, "number");
	if (!strcmp(name, "transfer_blind") ||
	    !strcmp(name, "transfer_attended"))
		return arg_str(od, "target");
	return NULL;
}


int tools_run(struct tools *t, uint32_t turn_id, const char *name,
	      const char *args_json, brain_tool_h *done, void *done_arg)
{
	struct odict *od = NULL;
	struct policy_call *pc;
	const char *cat = NULL, *target, *bad = NULL;
	struct job *j = NULL;
	size_t alen;
	char json[96];
	int err = 0;

	if (!t || !name || !done)
		return EINVAL;

#define DENY(c, m) do {							\
		answer(t->callid, turn_id, name, false, done, done_arg,	\
		       EPERM, (c), (m), NULL);				\
		err = 0;						\
		goto out;						\
	} while (0)
#define FAIL(e, c, m) do {						\
		answer(t->callid, turn_id, name, true, done, done_arg,	\
		       (e), (c), (m), NULL);				\
		err = 0;						\
		goto out;						\
	} while (0)

	if (!tool_known(name))
		DENY("unknown_tool", "there is no tool with that name");

	alen = args_json ? strlen(args_json) : 0;
	if (alen > ARGS_MAX)
		FAIL(EINVAL, "bad_arguments", "the arguments are too long");
	if (alen && json_decode_odict(&od, 16, args_json, alen, 4))
		FAIL(EINVAL, "bad_arguments", "the arguments are not a JSON "
		     "object");

	if (needs_call(name) && !t->call)
		FAIL(ENOTCONN, "no_call", "there is no phone call to act on");

	/* arguments the action needs, before the gate sees the target */
	target = tool_target(name, od);
	if (target && (!*target || strlen(target) > TARGET_MAX))
		target = NULL;
	if (!strcmp(name, "place_call") && !target)
		bad = "number is required";
	else if (!strncmp(name, "transfer_", 9) && !target)
		bad = "target is required";
	else if (!strcmp(name, "send_dtmf") &&
		 !digits_ok(arg_str(od, "digits")))
		bad = "digits must be 1-32 of 0-9 * # A-D";
	else if (!strcmp(name, "open_entry") && !arg_str(od, "name"))
		bad = "name is required";
	else if (!strcmp(name, "report_call_result") &&
		 !arg_str(od, "outcome"))
		bad = "outcome is required";
	else if (!strcmp(name, "take_message") && !arg_str(od, "message"))
		bad = "message is required";
	if (bad)
		FAIL(EINVAL, "bad_arguments", bad);

	/* without a call (`agentline pipeline`) only SAFE tools get here
	 * (report, message, hang-up): there is no caller to gate */
	pc = t->call ? OPS(policy)(t->call) : NULL;
	err = t->call ? OPS(gate)(pc, name, target, &cat) : 0;
	if (err && !(cat && !strcmp(cat, "needs_confirmation") &&
		     !strcmp(name, "transfer_blind")))
		DENY(cat ? cat : "denied", "this action is not allowed on "
		     "this call");

	/* --- allowed (or waiting for the caller's confirmation) --- */

	if (!strcmp(name, "report_call_result")) {
		const char *oc = arg_str(od, "outcome");
		const char *sm = arg_str(od, "summary");

		tools_call_result(t->callid, oc, sm);
		answer(t->callid, turn_id, name, true, done, done_arg, 0,
		       NULL, NULL, "{\"ok\":true}");
		goto out;
	}
	if (!strcmp(name, "take_message")) {
		struct store_message m;
		uint64_t id = 0;

		memset(&m, 0, sizeof(m));
		m.callid = t->callid;
		m.name = arg_str(od, "name");
		m.callback = arg_str(od, "callback_number");
		m.text = arg_str(od, "message");
		m.audio_path = arg_str(od, "audio_path");
		if (m.audio_path && !audio_ok(m.audio_path)) {
			log_warn(MOD, t->callid, "take_message: audio_path "
				 "outside the kept-audio folder: ignored");
			m.audio_path = NULL;
		}
		err = OPS(message_add)(&m, &id);
		if (err)
			FAIL(err, "failed", "the message could not be stored");
		re_snprintf(json, sizeof(json), "{\"ok\":true,\"id\":%llu}",
			    (unsigned long long)id);
		answer(t->callid, turn_id, name, true, done, done_arg, 0,
		       NULL, NULL, json);
		goto out;
	}
	if (!strcmp(name, "send_dtmf")) {
		err = OPS(send_dtmf)(t->call, arg_str(od, "digits"));
		if (err == ENOTSUP)
			FAIL(err, "not_supported", "the far end did not agree"
			     " to RFC 4733 telephone-events, so keypad tones "
			     "cannot be sent on this call");
		if (err)
			FAIL(err, "failed", "the keypad tones could not be "
			     "sent");
		answer(t->callid, turn_id, name, true, done, done_arg, 0,
		       NULL, NULL, "{\"ok\":true}");
		goto out;
	}
	if (!strcmp(name, "hold_call") || !strcmp(name, "resume_call")) {
		err = OPS(hold)(t->call, !strcmp(name, "hold_call"));
		if (err)
			FAIL(err, "failed", "the call could not be put on hold"
			     " or resumed");
		answer(t->callid, turn_id, name, true, done, done_arg, 0,
		       NULL, NULL, "{\"ok\":true}");
		goto out;
	}
	if (!strcmp(name, "open_entry")) {
		const struct entry *e = entry_find(arg_str(od, "name"));

		if (!e)
			FAIL(ENOENT, g.nentries ? "unknown_entry" : "disabled",
			     g.nentries ? "no entry with that name is "
			     "configured" : "no entry is configured");
		err = job_alloc(&j, t, JOB_HTTP, turn_id, name, done,
				done_arg);
		if (err)
			goto out;
		err = run_open_entry(t, j, e);
		if (err) {
			job_finish(j, err, err == ENOTSUP ? "not_supported" :
				   "failed", err == ENOTSUP ? "the far end did "
				   "not agree to RFC 4733 telephone-events, so "
				   "the door code cannot be keyed on this call" :
				   "the entry could not be opened", NULL);
			err = 0;
		}
		goto out;
	}

	/* the rest are jobs that finish later */
	err = job_alloc(&j, t, JOB_HANGUP, turn_id, name, done, done_arg);
	if (err)
		goto out;
	if (target && (err = str_dup(&j->target, target))) {
		job_free(j);
		goto out;
	}

	if (!strcmp(name, "hang_up")) {
		err = run_hang_up(t, j, arg_str(od, "reason"));
	}
	else if (!strcmp(name, "place_call")) {
		err = run_place_call(t, j, arg_str(od, "objective"));
		if (err == EINVAL) {
			job_finish(j, err, "bad_arguments", "a number is "
				   "dialled through a registered SIP account; "
				   "without one the number must be a sip: URI",
				   NULL);
			j = NULL;
			err = 0;
		}
		else if (err) {
			job_finish(j, err, "failed", "the call could not be "
				   "placed", NULL);
			j = NULL;
			err = 0;
		}
	}
	else if (cat && !strcmp(cat, "needs_confirmation")) {
		err = ask_confirm(t, j);
		if (err) {
			job_finish(j, EPERM, err == EALREADY ?
				   "already_pending" : "needs_confirmation",
				   err == EALREADY ? "a transfer is already "
				   "waiting for confirmation" : "the transfer "
				   "needs a confirmation that cannot be asked"
				   " for on this call", NULL);
			j = NULL;
			err = 0;
		}
	}
	else {
		xfer_start(j);   /* finishes j on failure */
	}

 out:
#undef DENY
#undef FAIL
	mem_deref(od);
	return err;
}


/* The JSON Schema of each tool (one element of the OpenAI "tools"
 * array). */
static const struct {
	const char *name;
	const char *json;
} schemas[] = {
	{"hang_up",
	"{\"type\":\"function\",\"function\":{\"name\":\"hang_up\","
	"\"description\":\"End the call politely once the conversation is "
	"over (a short farewell is spoken first).\",\"parameters\":{"
	"\"type\":\"object\",\"properties\":{\"reason\":{\"type\":\"string\","
	"\"description\":\"Why the call ends\"}},\"required\":[]}}}"},
	{"report_call_result",
	"{\"type\":\"function\",\"function\":{\"name\":\"report_call_result\","
	"\"description\":\"Record the outcome of this call (for whoever asked"
	" for it).\",\"parameters\":{\"type\":\"object\",\"properties\":{"
	"\"outcome\":{\"type\":\"string\",\"description\":\"Short outcome, "
	"e.g. done, failed, message_left\"},\"summary\":{\"type\":\"string\","
	"\"description\":\"What was said or agreed\"}},"
	"\"required\":[\"outcome\"]}}}"},
	{"take_message",
	"{\"type\":\"function\",\"function\":{\"name\":\"take_message\","
	"\"description\":\"Store a message for the owner.\",\"parameters\":{"
	"\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
	"\"callback_number\":{\"type\":\"string\"},\"message\":{\"type\":"
	"\"string\"}},\"required\":[\"message\"]}}}"},
	{"send_dtmf",
	"{\"type\":\"function\",\"function\":{\"name\":\"send_dtmf\","
	"\"description\":\"Press keys on the phone keypad (to navigate a "
	"menu).\",\"parameters\":{\"type\":\"object\",\"properties\":{"
	"\"digits\":{\"type\":\"string\",\"pattern\":\"^[0-9*#A-D]{1,32}$\""
	"}},\"required\":[\"digits\"]}}}"},
	{"hold_call",
	"{\"type\":\"function\",\"function\":{\"name\":\"hold_call\","
	"\"description\":\"Put the other party on hold.\",\"parameters\":{"
	"\"type\":\"object\",\"properties\":{},\"required\":[]}}}"},
	{"resume_call",
	"{\"type\":\"function\",\"function\":{\"name\":\"resume_call\","
	"\"description\":\"Take the other party off hold.\",\"parameters\":{"
	"\"type\":\"object\",\"properties\":{},\"required\":[]}}}"},
	{"open_entry",
	"{\"type\":\"function\",\"function\":{\"name\":\"open_entry\","
	"\"description\":\"Open a configured door or gate by its name.\","
	"\"parameters\":{\"type\":\"object\",\"properties\":{\"name\":{"
	"\"type\":\"string\"}},\"required\":[\"name\"]}}}"},
	{"place_call",
	"{\"type\":\"function\",\"function\":{\"name\":\"place_call\","
	"\"description\":\"Call someone with a task; the outcome is reported"
	" back when that call ends.\",\"parameters\":{\"type\":\"object\","
	"\"properties\":{\"number\":{\"type\":\"string\",\"description\":"
	"\"Phone number, extension or SIP URI\"},\"objective\":{\"type\":"
	"\"string\",\"description\":\"What to achieve on the call\"}},"
	"\"required\":[\"number\",\"objective\"]}}}"},
	{"transfer_blind",
	"{\"type\":\"function\",\"function\":{\"name\":\"transfer_blind\","
	"\"description\":\"Transfer the caller to another number (the "
	"caller confirms with a key press first).\",\"parameters\":{"
	"\"type\":\"object\",\"properties\":{\"target\":{\"type\":\"string\""
	"}},\"required\":[\"target\"]}}}"},
	{"transfer_attended",
	"{\"type\":\"function\",\"function\":{\"name\":\"transfer_attended\","
	"\"description\":\"Call the target first, then connect the caller to"
	" it.\",\"parameters\":{\"type\":\"object\",\"properties\":{\"target\""
	":{\"type\":\"string\"}},\"required\":[\"target\"]}}}"},
};


/* The array of every tool (all), or of those this call may offer: with a
 * call, those its caller may use (gate_offered); without one, those that
 * need no call.  NULL when empty or out of memory. */
static char *schema_build(struct policy_call *pc, bool call, bool all)
{
	struct mbuf *mb = mbuf_alloc(4096);
	char *s = NULL;
	unsigned n = 0;
	int err;

	if (!mb)
		return NULL;
	err = mbuf_write_u8(mb, '[');
	for (size_t i = 0; i < ARRAY_SIZE(schemas) && !err; i++) {
		if (!all && (call ? !gate_offered(pc, schemas[i].name) :
			     needs_call(schemas[i].name)))
			continue;
		err = mbuf_printf(mb, "%s%s", n++ ? "," : "",
				  schemas[i].json);
	}
	err |= mbuf_write_str(mb, "]");
	if (!err && n) {
		mb->pos = 0;
		err = mbuf_strdup(mb, &s, mb->end);
	}
	mem_deref(mb);
	if (err)
		s = mem_deref(s);
	return s;
}


const char *tools_schema_json(void)
{
	static char all[8192];       /* built once; main thread */
	char *s;

	if (all[0])
		return all;
	s = schema_build(NULL, false, true);
	str_ncpy(all, s ? s : "[]", sizeof(all));
	mem_deref(s);
	return all;
}


char *tools_schema_for(struct policy_call *pc, bool call)
{
	return schema_build(pc, call, false);
}

