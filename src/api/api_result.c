/*
 * api_result.c  The result of each outbound task call (a call placed with
 *               an objective: place_call, the API, a scheduled call) as a
 *               JSON POST to outbound_result_url, through the webhooks'
 *               queue and retries (api_webhook_post): never blocks the
 *               main loop.
 *
 * Built from the event bus: call_outcome (answered / busy / no_answer /
 * declined / failed; the call is live then, so its objective and
 * redacted callee are taken), amd (a machine answered), call_result (the
 * agent's report_call_result summary), call_ended (→ the POST):
 *
 *   {"call_id":..,"number":"…99","objective":..,"outcome":"machine",
 *    "sip_code":200,"result":"machine","summary":..,"machine":true,
 *    "started":"2026-..Z","ended":"2026-..Z"}
 *
 * outcome: answered / busy / no_answer / declined / failed, or machine;
 * result and summary: what report_call_result (or the answering-machine
 * detection) said, null if nothing; started: when the call was answered
 * or failed (the task call's outcome), ended: when it ended.
 *
 * Main thread only.
 */
#include <string.h>
#include <time.h>
#include <re.h>
#include "api/apiint.h"
#include "brain/brain.h"
#include "brain/tools.h"
#include "core/conf.h"
#include "core/events.h"
#include "core/log.h"
#include "policy/policy.h"
#include "sip/call.h"

#define MOD "result"

enum {
	TASKS_MAX   = 256,
	SUMMARY_MAX = 1000,
};

struct task {
	struct le le;
	char callid[40];
	char number[16];             /* redacted                          */
	char outcome[16];
	char *objective;
	char *result;                /* report_call_result's outcome      */
	char *summary;
	bool machine;
	char amd_action[16];
	uint16_t scode;
	time_t started, ended;
};

static struct {
	char *url;
	char *token;
	struct list tasks;
	bool up;
} res;


static void task_destructor(void *arg)
{
	struct task *tk = arg;

	list_unlink(&tk->le);
	mem_deref(tk->objective);
	mem_deref(tk->result);
	mem_deref(tk->summary);
}


static struct task *task_find(const char *callid)
{
	for (struct le *le = res.tasks.head; le; le = le->next) {
		struct task *tk = le->data;

		if (!strcmp(tk->callid, callid))
			return tk;
	}
	return NULL;
}


static int time_h(struct re_printf *pf, void *arg)
{
	const time_t *t = arg;
	struct tm tm;
	char buf[32];

	if (!*t || !gmtime_r(t, &tm))
		return re_hprintf(pf, "null");
	strftime(buf, sizeof(buf), "\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
	return re_hprintf(pf, "%s", buf);
}


static void post(struct task *tk)
{
	char *body = NULL;
	int err;

	err = re_sdprintf(&body, "{\"call_id\":%H,\"number\":%H,"
			  "\"objective\":%H,\"outcome\":%H,\"sip_code\":%u,"
			  "\"result\":%H,\"summary\":%H,\"machine\":%s,"
			  "\"started\":%H,\"ended\":%H}",
			  api_jstr_h, tk->callid, api_jstr_h, tk->number,
			  api_jstr_h, tk->objective, api_jstr_h, tk->outcome,
			  tk->scode, api_jstr_h, tk->result,
			  api_jstr_h, tk->summary,
			  tk->machine ? "true" : "false",
			  time_h, &tk->started, time_h, &tk->ended);
	if (!err)
		err = api_webhook_post(res.url, res.token, "outbound_result",
				       body);
	if (err)
		log_warn(MOD, tk->callid, "outbound result not sent: %m",
			 err);
	else
		log_info(MOD, tk->callid, "outbound result (%s) queued for "
			 "outbound_result_url", tk->outcome);
	mem_deref(body);
}


static void on_outcome(const char *callid, const struct odict *od)
{
	const char *objective = brain_objective(callid);
	const char *o = odict_string(od, "outcome");
	struct call *call = call_find(callid);
	struct task *tk;

	if (!objective)
		objective = tools_call_objective(callid);
	if (!objective || task_find(callid))
		return;               /* not a task call */
	if (list_count(&res.tasks) >= TASKS_MAX)
		mem_deref(list_ledata(list_head(&res.tasks)));
	tk = mem_zalloc(sizeof(*tk), task_destructor);
	if (!tk)
		return;
	str_ncpy(tk->callid, callid, sizeof(tk->callid));
	str_ncpy(tk->outcome, o ? o : "failed", sizeof(tk->outcome));
	(void)str_dup(&tk->objective, objective);
	{
		uint64_t code = 0;

		(void)odict_get_number(od, &code, "sip_code");
		tk->scode = (uint16_t)code;
	}
	tk->started = time(NULL);
	if (call) {
		const struct policy_call *pc = call_policy(call);
		const struct caller_class *cls =
			pc ? policy_call_class(pc) : NULL;

		if (cls)
			str_ncpy(tk->number, cls->redacted,
				 sizeof(tk->number));
	}
	list_append(&res.tasks, &tk->le, tk);
}


static void bus_handler(const char *json, void *arg)
{
	struct odict *od = NULL;
	const char *name, *callid;
	struct task *tk;
	(void)arg;

	if (!res.up || json_decode_odict(&od, 16, json, strlen(json), 4))
		goto out;
	name = odict_string(od, "event");
	callid = odict_string(od, "call");
	if (!name || !callid)
		goto out;

	if (!strcmp(name, "call_outcome")) {
		on_outcome(callid, od);
		goto out;
	}
	tk = task_find(callid);
	if (!tk)
		goto out;
	if (!strcmp(name, "amd")) {
		const char *r = odict_string(od, "result");
		const char *a = odict_string(od, "action");

		if (r && !strcmp(r, "machine")) {
			tk->machine = true;
			str_ncpy(tk->outcome, "machine", sizeof(tk->outcome));
			str_ncpy(tk->amd_action, a ? a : "",
				 sizeof(tk->amd_action));
		}
	}
	else if (!strcmp(name, "call_result")) {
		const char *s = odict_string(od, "summary");
		const char *o = odict_string(od, "outcome");

		tk->result = mem_deref(tk->result);
		tk->summary = mem_deref(tk->summary);
		if (o)
			(void)str_dup(&tk->result, o);
		if (s)
			(void)re_sdprintf(&tk->summary, "%b", s,
					  min(strlen(s), (size_t)SUMMARY_MAX));
	}
	else if (!strcmp(name, "call_ended")) {
		tk->ended = time(NULL);
		if (tk->machine && !tk->summary)
			(void)re_sdprintf(&tk->summary, "answering machine: %s",
					  !strcmp(tk->amd_action, "message") ?
					  "message left after the beep" :
					  "hung up without a message");
		post(tk);
		mem_deref(tk);
	}
 out:
	mem_deref(od);
}


int api_result_init(const struct conf *conf)
{
	int err;

	memset(&res, 0, sizeof(res));
	list_init(&res.tasks);
	if (!conf_isset(conf, "outbound_result_url") ||
	    !*conf_str(conf, "outbound_result_url"))
		return 0;
	{
		/* libre's client wants a path after host:port */
		const char *u = conf_str(conf, "outbound_result_url");
		const char *rest = strstr(u, "://");

		err = re_sdprintf(&res.url, "%s%s", u, rest &&
				  strchr(rest + 3, '/') ? "" : "/");
	}
	if (!err && conf_isset(conf, "outbound_result_token") &&
	    *conf_str(conf, "outbound_result_token"))
		err = str_dup(&res.token, conf_str(conf,
						   "outbound_result_token"));
	if (!err)
		err = events_subscribe(bus_handler, NULL);
	if (err) {
		api_result_close();
		return err;
	}
	res.up = true;
	log_info(MOD, NULL, "outbound task call results go to "
		 "outbound_result_url%s", res.token ? " (bearer token)" : "");
	return 0;
}


void api_result_close(void)
{
	if (res.up)
		events_unsubscribe(bus_handler, NULL);
	res.up = false;
	list_flush(&res.tasks);
	res.url = mem_deref(res.url);
	if (res.token)
		memset(res.token, 0, strlen(res.token));
	res.token = mem_deref(res.token);
}
