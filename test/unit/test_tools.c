/*
 * test_tools.c  The tools executor against a fake call, gate and agent:
 *               denied tools do nothing, a cancelled turn drops its
 *               hang-up/transfer, the blind-transfer confirm key right /
 *               wrong / absent, hang-up drain bound, open_entry, events.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include "brain/tools.h"
#include "core/conf.h"
#include "core/events.h"
#include "core/worker.h"
#include "policy/policy.h"
#include "store/store.h"
#include "test.h"

/* --- the fake world --- */
static struct fake {
	/* gate script */
	int gate_err;
	const char *gate_cat;
	bool confirmed;            /* confirm_set was called           */
	unsigned ngate, ncommit;
	/* agent */
	unsigned nsay;
	char said[200];
	bool speaking;
	/* call */
	unsigned nhangup_agent;
	unsigned nhangup, ndtmf, nhold, nxfer, nconnect;
	char dtmf[64], xfer_target[128];
	bool held;
	int dtmf_err;
	call_xfer_h *xferh;
	void *xfer_arg;
	call_outcome_h *outh;
	void *out_arg;
	call_end_h *endh;
	void *end_arg;
	unsigned nmsg;
	char msg_audio[300];
	unsigned nxcancel;
	int xcancel_err;
	/* relay */
	unsigned nhttp;
	int http_status;
	char http_url[128], http_token[64], http_body[200];
	/* results */
	unsigned ndone;
	int done_err;
	char done_json[512];
	/* events */
	unsigned nev;
	char ev[4][400];
} fk;

static struct call *const FAKE_CALL = (struct call *)(uintptr_t)0x1000;
static struct call *const CHILD_CALL = (struct call *)(uintptr_t)0x2000;
static struct policy_call *const FAKE_PC =
	(struct policy_call *)(uintptr_t)0x3000;


static struct policy_call *f_policy(const struct call *c)
{
	return c == FAKE_CALL ? FAKE_PC : NULL;
}

static int f_gate(struct policy_call *pc, const char *tool,
		  const char *target, const char **cat)
{
	(void)pc;
	(void)target;
	++fk.ngate;
	if (!strcmp(tool, "transfer_blind") && fk.confirmed)
		return 0;
	if (!strcmp(tool, "transfer_blind") && !fk.gate_err) {
		*cat = "needs_confirmation";
		return EPERM;
	}
	if (fk.gate_err)
		*cat = fk.gate_cat;
	return fk.gate_err;
}

static void f_commit(struct policy_call *pc, const char *tool)
{
	(void)pc;
	(void)tool;
	++fk.ncommit;
}

static void f_confirm_set(struct policy_call *pc, const char *tool)
{
	(void)pc;
	(void)tool;
	fk.confirmed = true;
}

static char f_digit(void) { return '1'; }

static void f_say(struct agent *a, const char *text)
{
	(void)a;
	++fk.nsay;
	str_ncpy(fk.said, text, sizeof(fk.said));
}

static bool f_speaking(const struct agent *a)
{
	(void)a;
	return fk.speaking;
}

static void f_hangup(struct call *c, const char *reason)
{
	(void)c;
	(void)reason;
	++fk.nhangup;
}

static void f_hangup_agent(struct agent *a)
{
	(void)a;
	++fk.nhangup_agent;
}

static int f_send_dtmf(struct call *c, const char *d)
{
	(void)c;
	++fk.ndtmf;
	str_ncpy(fk.dtmf, d, sizeof(fk.dtmf));
	return fk.dtmf_err;
}

static int f_hold(struct call *c, bool hold)
{
	(void)c;
	++fk.nhold;
	fk.held = hold;
	return 0;
}

static int f_xfer(struct call *c, const char *target, call_xfer_h *h,
		  void *arg)
{
	(void)c;
	++fk.nxfer;
	str_ncpy(fk.xfer_target, target, sizeof(fk.xfer_target));
	fk.xferh = h;
	fk.xfer_arg = arg;
	return 0;
}

static void f_abandon(struct call *c)
{
	(void)c;
	fk.xferh = NULL;
}

static int f_xfer_cancel(struct call *c)
{
	(void)c;
	++fk.nxcancel;
	return fk.xcancel_err;
}

static int f_connect(struct call **cp, const char *uri, call_outcome_h *h,
		     void *arg)
{
	(void)uri;
	++fk.nconnect;
	fk.outh = h;
	fk.out_arg = arg;
	*cp = CHILD_CALL;
	return 0;
}

static void f_set_end(struct call *c, call_end_h *h, void *arg)
{
	(void)c;
	fk.endh = h;
	fk.end_arg = arg;
}

static const char *f_callid(const struct call *c)
{
	return c == CHILD_CALL ? "child" : "parent";
}

static int f_msg(const struct store_message *m, uint64_t *idp)
{
	++fk.nmsg;
	str_ncpy(fk.msg_audio, m->audio_path ? m->audio_path : "",
		 sizeof(fk.msg_audio));
	*idp = 7;
	return 0;
}

/* worker thread */
static int f_http(const char *url, const char *token, const char *body,
		  int *statusp)
{
	++fk.nhttp;
	str_ncpy(fk.http_url, url, sizeof(fk.http_url));
	str_ncpy(fk.http_token, token, sizeof(fk.http_token));
	str_ncpy(fk.http_body, body, sizeof(fk.http_body));
	*statusp = fk.http_status;
	return 0;
}

static const struct tools_ops fake_ops = {
	.policy = f_policy, .gate = f_gate, .commit = f_commit,
	.confirm_set = f_confirm_set, .confirm_digit = f_digit,
	.say = f_say, .speaking = f_speaking, .hangup = f_hangup,
	.hangup_agent = f_hangup_agent,
	.send_dtmf = f_send_dtmf, .hold = f_hold, .xfer_blind = f_xfer,
	.xfer_attended = f_xfer, .xfer_abandon = f_abandon,
	.xfer_cancel = f_xfer_cancel,
	.connect = f_connect, .set_end = f_set_end, .callid = f_callid,
	.message_add = f_msg, .http_post = f_http,
};


static void done_h(uint32_t turn, int err, const char *result, void *arg)
{
	(void)turn;
	(void)arg;
	++fk.ndone;
	fk.done_err = err;
	str_ncpy(fk.done_json, result ? result : "", sizeof(fk.done_json));
}


static void event_h(const char *json, void *arg)
{
	(void)arg;
	if (!strstr(json, "\"tool_call\"") && !strstr(json, "call_result"))
		return;
	if (fk.nev < 4)
		str_ncpy(fk.ev[fk.nev], json, sizeof(fk.ev[0]));
	++fk.nev;
}


static void stop_tmr(void *arg)
{
	(void)arg;
	re_cancel();
}


static void run_ms(unsigned ms)
{
	struct tmr t;

	tmr_init(&t);
	tmr_start(&t, ms, stop_tmr, NULL);
	re_main(NULL);
	tmr_cancel(&t);
}


static int setup(struct conf **confp, struct tools **tp, const char *extra)
{
	struct conf *conf = NULL;
	int err;

	memset(&fk, 0, sizeof(fk));
	err = conf_alloc(&conf);
	if (!err)
		err = conf_set_arg(conf, "hang_up_drain_ms=400", NULL, NULL);
	if (!err && conf_opt_find("transfer_confirm_secs"))
		err = conf_set_arg(conf, "transfer_confirm_secs=1", NULL,
				   NULL);
	if (!err && extra)
		err = conf_parse_buf(conf, extra, strlen(extra), "test",
				     NULL, NULL);
	if (!err)
		err = tools_init(conf);
	if (err) {
		mem_deref(conf);
		return err;
	}
	tools_set_ops(&fake_ops);
	(void)events_subscribe(event_h, NULL);
	*confp = conf;
	return tools_alloc(tp, NULL, FAKE_CALL);
}


static void teardown(struct conf *conf, struct tools *t)
{
	mem_deref(t);
	events_unsubscribe(event_h, NULL);
	tools_close();
	tools_set_ops(NULL);
	mem_deref(conf);
}


int test_tools_gate_deny(void)
{
	struct conf *conf = NULL;
	struct tools *t = NULL;
	int err;

	TEST_ERR(setup(&conf, &t, NULL));
	fk.gate_err = EPERM;
	fk.gate_cat = "privilege";

	/* every acting tool, denied: nothing happens on the call */
	err = tools_run(t, 1, "transfer_blind", "{\"target\":\"200\"}",
			done_h, NULL);
	err |= tools_run(t, 1, "place_call",
			 "{\"number\":\"+15555550100\",\"objective\":\"x\"}",
			 done_h, NULL);
	err |= tools_run(t, 1, "send_dtmf", "{\"digits\":\"123\"}", done_h,
			 NULL);
	err |= tools_run(t, 1, "hold_call", "{}", done_h, NULL);
	err |= tools_run(t, 1, "hang_up", "{}", done_h, NULL);
	if (err)
		goto out;
	run_ms(50);
	if (fk.ndone != 5 || fk.done_err != EPERM || fk.nxfer || fk.nconnect
	    || fk.ndtmf || fk.nhold || fk.nhangup || fk.nsay || fk.ncommit ||
	    !strstr(fk.done_json, "\"category\":\"privilege\"") ||
	    !strstr(fk.ev[0], "\"decision\":\"deny\"") ||
	    !strstr(fk.ev[0], "\"ok\":false")) {
		fprintf(stderr, "deny: done %u (%s) xfer %u connect %u\n",
			fk.ndone, fk.done_json, fk.nxfer, fk.nconnect);
		err = EINVAL;
		goto out;
	}

	/* unknown tool and bad arguments never reach the gate */
	fk.ngate = 0;
	err = tools_run(t, 2, "rm_rf", "{}", done_h, NULL);
	if (err || !strstr(fk.done_json, "unknown_tool"))
		goto bad;
	err = tools_run(t, 2, "send_dtmf", "{\"digits\":\"12x\"}", done_h,
			NULL);
	if (err || !strstr(fk.done_json, "bad_arguments"))
		goto bad;
	err = tools_run(t, 2, "transfer_blind", "not json", done_h, NULL);
	if (err || !strstr(fk.done_json, "bad_arguments") || fk.ngate)
		goto bad;

	/* allowed: the action runs and the result says so */
	fk.gate_err = 0;
	err = tools_run(t, 3, "send_dtmf", "{\"digits\":\"12#\"}", done_h,
			NULL);
	if (err || fk.ndtmf != 1 || strcmp(fk.dtmf, "12#") || fk.done_err)
		goto bad;
	fk.dtmf_err = ENOTSUP;
	err = tools_run(t, 3, "send_dtmf", "{\"digits\":\"1\"}", done_h,
			NULL);
	if (err || !strstr(fk.done_json, "not_supported"))
		goto bad;
	err = tools_run(t, 3, "hold_call", NULL, done_h, NULL);
	if (err || !fk.held || fk.done_err)
		goto bad;
	err = tools_run(t, 3, "take_message", "{\"name\":\"Ann\","
			"\"callback_number\":\"5550100\",\"message\":\"hi\"}",
			done_h, NULL);
	if (err || fk.nmsg != 1 || !strstr(fk.done_json, "\"id\":7"))
		goto bad;
	goto out;

 bad:
	fprintf(stderr, "done: %u %d %s\n", fk.ndone, fk.done_err,
		fk.done_json);
	err = EINVAL;
 out:
	teardown(conf, t);
	return err;
}


int test_tools_cancel(void)
{
	struct conf *conf = NULL;
	struct tools *t = NULL;
	unsigned nd;
	int err;

	TEST_ERR(setup(&conf, &t, NULL));

	/* hang_up while the reply still plays, then a barge-in: no BYE */
	fk.speaking = true;
	err = tools_run(t, 1, "hang_up", "{\"reason\":\"done\"}", done_h,
			NULL);
	if (err)
		goto out;
	run_ms(150);
	tools_cancel(t);
	run_ms(600);
	/* the reply still playing had its own goodbye: no farewell */
	if (fk.nhangup || fk.ndone || fk.nsay != 0) {
		fprintf(stderr, "cancel: hangup %u done %u\n", fk.nhangup,
			fk.ndone);
		err = EINVAL;
		goto out;
	}

	/* uncancelled, nothing playing: the farewell, then BYE once it
	 * has played */
	fk.speaking = false;
	err = tools_run(t, 2, "hang_up", "{}", done_h, NULL);
	if (err)
		goto out;
	fk.speaking = true;   /* the farewell */
	run_ms(150);
	fk.speaking = false;
	run_ms(200);
	if (fk.nhangup != 1 || fk.ndone != 1 || fk.done_err ||
	    fk.nsay != 1 || strcmp(fk.said, "Goodbye.")) {
		fprintf(stderr, "hang_up: hangup %u done %u\n", fk.nhangup,
			fk.ndone);
		err = EINVAL;
		goto out;
	}

	/* still speaking: BYE after hang_up_drain_ms all the same */
	fk.speaking = true;
	err = tools_run(t, 3, "hang_up", "{}", done_h, NULL);
	if (err)
		goto out;
	run_ms(250);
	if (fk.nhangup != 1)
		err = EINVAL;
	run_ms(350);
	if (err || fk.nhangup != 2) {
		fprintf(stderr, "drain bound: hangup %u\n", fk.nhangup);
		err = EINVAL;
		goto out;
	}

	/* a transfer waiting for its confirm key, cancelled: the key no
	 * longer transfers */
	err = tools_run(t, 4, "transfer_blind", "{\"target\":\"200\"}",
			done_h, NULL);
	if (err)
		goto out;
	tools_cancel(t);
	if (tools_dtmf(t, '1') || fk.nxfer) {
		err = EINVAL;
		goto out;
	}

	/* an attended transfer still ringing the target is taken back;
	 * one whose REFER is out reports to the context, not to done */
	fk.gate_err = 0;
	nd = fk.ndone;
	err = tools_run(t, 5, "transfer_attended", "{\"target\":\"300\"}",
			done_h, NULL);
	if (err || fk.nxfer != 1)
		goto bad;
	tools_cancel(t);
	if (fk.nxcancel != 1 || fk.ndone != nd)
		goto bad;
	fk.xcancel_err = EALREADY;
	err = tools_run(t, 6, "transfer_attended", "{\"target\":\"300\"}",
			done_h, NULL);
	if (err || fk.nxfer != 2)
		goto bad;
	tools_cancel(t);
	fk.xferh(0, 200, fk.xfer_arg);
	if (fk.nxcancel != 2 || fk.ndone != nd)
		goto bad;
	goto out;

 bad:
	fprintf(stderr, "attended cancel: xfer %u cancel %u done %u\n",
		fk.nxfer, fk.nxcancel, fk.ndone);
	err = EINVAL;

 out:
	teardown(conf, t);
	return err;
}


int test_tools_confirm(void)
{
	struct conf *conf = NULL;
	struct tools *t = NULL;
	unsigned nd;
	int err;

	TEST_ERR(setup(&conf, &t, NULL));

	/* right key: REFER, counted, result from the NOTIFY outcome */
	err = tools_run(t, 1, "transfer_blind", "{\"target\":\"200\"}",
			done_h, NULL);
	if (err)
		goto out;
	if (fk.nsay != 1 || !strstr(fk.said, "press 1") || fk.nxfer ||
	    fk.ndone) {
		fprintf(stderr, "ask: said '%s' xfer %u\n", fk.said,
			fk.nxfer);
		err = EINVAL;
		goto out;
	}
	if (tools_dtmf(t, '1') != true || fk.nxfer != 1 ||
	    strcmp(fk.xfer_target, "200") || fk.ncommit != 1 || fk.ndone ||
	    !fk.xferh) {
		err = EINVAL;
		goto out;
	}
	fk.xferh(0, 200, fk.xfer_arg);
	if (fk.ndone != 1 || fk.done_err ||
	    !strstr(fk.done_json, "\"sip_code\":200")) {
		err = EINVAL;
		goto out;
	}
	/* no confirmation pending: digits are the agent's again */
	if (tools_dtmf(t, '1')) {
		err = EINVAL;
		goto out;
	}

	/* wrong key: nothing transferred */
	fk.confirmed = false;
	err = tools_run(t, 2, "transfer_blind", "{\"target\":\"200\"}",
			done_h, NULL);
	if (err)
		goto out;
	nd = fk.ndone;
	if (!tools_dtmf(t, '9') || fk.nxfer != 1 || fk.ndone != nd + 1 ||
	    fk.done_err != EPERM ||
	    !strstr(fk.done_json, "not_confirmed")) {
		err = EINVAL;
		goto out;
	}

	/* no key at all: nothing transferred once the time is up */
	err = tools_run(t, 3, "transfer_blind", "{\"target\":\"200\"}",
			done_h, NULL);
	if (err)
		goto out;
	nd = fk.ndone;
	run_ms(conf_opt_find("transfer_confirm_secs") ? 1300 : 10300);
	if (fk.nxfer != 1 || fk.ndone != nd + 1 || fk.done_err != EPERM ||
	    !strstr(fk.done_json, "not_confirmed") || tools_dtmf(t, '1')) {
		fprintf(stderr, "absent: done %u %s\n", fk.ndone,
			fk.done_json);
		err = EINVAL;
		goto out;
	}

	/* the transfer fails at the far end: the error comes back */
	fk.confirmed = false;
	err = tools_run(t, 4, "transfer_blind", "{\"target\":\"200\"}",
			done_h, NULL);
	if (!err && (!tools_dtmf(t, '1') || !fk.xferh))
		err = EINVAL;
	if (err)
		goto out;
	fk.xferh(EBUSY, 486, fk.xfer_arg);
	if (fk.done_err != EBUSY || !strstr(fk.done_json, "busy"))
		err = EINVAL;

 out:
	teardown(conf, t);
	return err;
}


int test_tools_place_call(void)
{
	struct conf *conf = NULL;
	struct tools *t = NULL, *child = NULL;
	int err;

	TEST_ERR(setup(&conf, &t, NULL));

	err = tools_run(t, 1, "place_call", "{\"number\":\"+15555550100\","
			"\"objective\":\"book a table\"}", done_h, NULL);
	if (err)
		goto out;
	if (fk.nconnect != 1 || fk.ncommit != 1 || fk.ndone || !fk.outh ||
	    !fk.endh) {
		err = EINVAL;
		goto out;
	}
	/* answered; the task call's brain reports, then the call ends */
	fk.outh(CHILD_CALL, CALL_OUTCOME_ANSWERED, 200, fk.out_arg);
	err = tools_alloc(&child, NULL, CHILD_CALL);
	if (err)
		goto out;
	err = tools_run(child, 1, "report_call_result", "{\"outcome\":"
			"\"booked\",\"summary\":\"table for 2 at 8\"}", done_h,
			NULL);
	if (err)
		goto out;
	if (fk.ndone != 1) {
		err = EINVAL;
		goto out;
	}
	fk.endh(CHILD_CALL, fk.end_arg);
	if (fk.ndone != 2 || fk.done_err ||
	    !strstr(fk.done_json, "\"outcome\":\"answered\"") ||
	    !strstr(fk.done_json, "\"result\":\"booked\"") ||
	    !strstr(fk.done_json, "table for 2 at 8")) {
		fprintf(stderr, "place: %s\n", fk.done_json);
		err = EINVAL;
		goto out;
	}

	/* busy: reported at once */
	err = tools_run(t, 2, "place_call", "{\"number\":\"+15555550100\","
			"\"objective\":\"x\"}", done_h, NULL);
	if (err)
		goto out;
	fk.outh(CHILD_CALL, CALL_OUTCOME_BUSY, 486, fk.out_arg);
	if (fk.ndone != 3 || !strstr(fk.done_json, "\"outcome\":\"busy\""))
		err = EINVAL;

 out:
	mem_deref(child);
	teardown(conf, t);
	return err;
}


int test_tools_entry(void)
{
	struct conf *conf = NULL;
	struct tools *t = NULL;
	int err;

	/* not configured: disabled */
	TEST_ERR(setup(&conf, &t, NULL));
	err = tools_run(t, 1, "open_entry", "{\"name\":\"front door\"}",
			done_h, NULL);
	if (!err && !strstr(fk.done_json, "disabled"))
		err = EINVAL;
	teardown(conf, t);
	if (err)
		return err;

	TEST_ERR(setup(&conf, &t, "entry_name = front door\n"
		       "entry_dtmf = *1#\n"
		       "entry_name_2 = gate\n"
		       "entry_url_2 = https://relay.invalid/open\n"));
	teardown(conf, t);
	conf = NULL;
	t = NULL;

	/* both a code and a URL for one entry: refused at start-up */
	memset(&fk, 0, sizeof(fk));
	TEST_ERR(conf_alloc(&conf));
	err = conf_set_arg(conf, "entry_name=door", NULL, NULL);
	err |= conf_set_arg(conf, "entry_dtmf=1", NULL, NULL);
	err |= conf_set_arg(conf, "entry_url=https://x.invalid/", NULL, NULL);
	if (!err && tools_init(conf) != EINVAL)
		err = EINVAL;
	/* and `agentline check` says so too */
	if (!err && conf_validate(conf, NULL, NULL) != 1)
		err = EINVAL;
	mem_deref(conf);
	tools_close();
	if (err)
		return err;

	TEST_ERR(setup(&conf, &t, "entry_name = front door\n"
		       "entry_dtmf = *1#\n"));
	err = tools_run(t, 1, "open_entry", "{\"name\":\"Front Door\"}",
			done_h, NULL);
	if (!err && (fk.ndtmf != 1 || strcmp(fk.dtmf, "*1#") ||
		     fk.done_err))
		err = EINVAL;
	if (!err)
		err = tools_run(t, 1, "open_entry", "{\"name\":\"garage\"}",
				done_h, NULL);
	if (!err && !strstr(fk.done_json, "unknown_entry"))
		err = EINVAL;
	/* a far end without telephone-event: said plainly */
	fk.dtmf_err = ENOTSUP;
	if (!err)
		err = tools_run(t, 1, "open_entry", "{\"name\":\"front "
				"door\"}", done_h, NULL);
	if (!err && (!strstr(fk.done_json, "not_supported") ||
		     !strstr(fk.done_json, "telephone-events")))
		err = EINVAL;
	teardown(conf, t);
	return err;
}


int test_tools_schema(void)
{
	struct odict *od = NULL;
	const char *s = tools_schema_json();
	int err;

	/* valid JSON, every tool present */
	err = json_decode_odict(&od, 16, s, strlen(s), 10);
	if (err)
		return err;
	mem_deref(od);
	TEST_ASSERT(strstr(s, "\"hang_up\"") && strstr(s, "\"transfer_"
		    "attended\"") && strstr(s, "\"open_entry\"") &&
		    strstr(s, "\"place_call\"") && strstr(s, "\"send_dtmf\""));
	return 0;
}


/* The tools offered to the model follow the caller's group and level;
 * names are checked as "name":"x" so a description cannot match. */
static bool offers(const char *s, const char *tool)
{
	char pat[64];

	re_snprintf(pat, sizeof(pat), "\"name\":\"%s\"", tool);
	return s && strstr(s, pat) != NULL;
}


static unsigned n_offered(const char *s)
{
	unsigned n = 0;

	for (size_t i = 0; policy_tools[i]; i++)
		n += offers(s, policy_tools[i]);
	return n;
}


int test_policy_setup(const char *const *kv);

int test_tools_schema_offered(void)
{
	static const char doc[] =
		"{\"groups\":["
		" {\"name\":\"l0\",\"privilege_level\":0},"
		" {\"name\":\"l2\",\"privilege_level\":2},"
		" {\"name\":\"l3\",\"privilege_level\":3},"
		" {\"name\":\"narrow\",\"privilege_level\":3,"
		"  \"allowed_tools\":[\"hang_up\",\"place_call\"]}],"
		" \"lists\":{\"l2\":[\"+15555550102\"],"
		"  \"l3\":[\"+15555550103\"],"
		"  \"narrow\":[\"+15555550104\"]},"
		" \"default_group\":\"l0\"}";
	const char *kv[] = {
		"caller_groups_file", "schema_groups.json",
		"outbound_allow", "+15555550700",
		"transfer_confirm_digit", "1",
		NULL,
	};
	static const struct {
		const char *number;
		unsigned n;              /* tools offered */
		const char *yes, *no;
	} cases[] = {
		{"+15555550199", 3, "take_message", "send_dtmf"},
		{"+15555550102", 7, "hold_call", "place_call"},
		{"+15555550103", 10, "transfer_blind", NULL},
		{"+15555550104", 2, "place_call", "take_message"},
	};
	struct policy_call *pc = NULL;
	struct odict *od = NULL;
	char *s = NULL;
	FILE *f;
	int err = 0;

	/* no SIP call: the tools that need none */
	s = tools_schema_for(NULL, false);
	TEST_ASSERT(s && n_offered(s) == 3 && offers(s, "hang_up") &&
		    offers(s, "report_call_result") &&
		    offers(s, "take_message"));
	s = mem_deref(s);
	/* a call without a trust state: nothing */
	TEST_ASSERT(tools_schema_for(NULL, true) == NULL);

	f = fopen("schema_groups.json", "w");
	if (!f)
		return errno;
	fputs(doc, f);
	fclose(f);
	TEST_ERR(test_policy_setup(kv));

	for (size_t i = 0; i < ARRAY_SIZE(cases) && !err; i++) {
		err = policy_call_alloc(&pc, NULL, cases[i].number, false);
		if (err)
			break;
		s = tools_schema_for(pc, true);
		if (!s || json_decode_odict(&od, 16, s, strlen(s), 10) ||
		    n_offered(s) != cases[i].n ||
		    !offers(s, cases[i].yes) ||
		    (cases[i].no && offers(s, cases[i].no))) {
			fprintf(stderr, "case %zu: %s\n", i, s ? s : "(null)");
			err = EINVAL;
		}
		od = mem_deref(od);
		s = mem_deref(s);
		pc = mem_deref(pc);
	}
	policy_close();
	(void)unlink("schema_groups.json");
	return err;
}


int test_tools_entry_relay(void)
{
	struct conf *conf = NULL;
	struct tools *t = NULL;
	int err;

	TEST_ERR(workers_init(1));
	err = setup(&conf, &t, "entry_name = gate\n"
		    "entry_url = https://relay.invalid/open\n"
		    "entry_token = s3cret-relay-token\n");
	if (err) {
		workers_close();
		return err;
	}
	fk.http_status = 204;
	err = tools_run(t, 1, "open_entry", "{\"name\":\"gate\"}", done_h,
			NULL);
	if (err)
		goto out;
	run_ms(300);
	if (fk.nhttp != 1 || fk.ndone != 1 || fk.done_err ||
	    strcmp(fk.http_url, "https://relay.invalid/open") ||
	    strcmp(fk.http_token, "s3cret-relay-token") ||
	    !strstr(fk.http_body, "\"entry\":\"gate\"") ||
	    !strstr(fk.http_body, "\"call\":\"parent\"")) {
		fprintf(stderr, "relay: http %u done %u %s\n", fk.nhttp,
			fk.ndone, fk.done_json);
		err = EINVAL;
		goto out;
	}
	/* refused by the relay: an error the model can explain, without
	 * the token */
	fk.http_status = 403;
	err = tools_run(t, 2, "open_entry", "{\"name\":\"gate\"}", done_h,
			NULL);
	if (err)
		goto out;
	run_ms(300);
	if (fk.ndone != 2 || !fk.done_err || !strstr(fk.done_json, "403") ||
	    strstr(fk.done_json, "s3cret"))
		err = EINVAL;
	/* a cancelled turn: the POST may already run, its result goes
	 * nowhere near done */
	fk.http_status = 200;
	if (!err)
		err = tools_run(t, 3, "open_entry", "{\"name\":\"gate\"}",
				done_h, NULL);
	tools_cancel(t);
	run_ms(300);
	if (!err && fk.ndone != 2)
		err = EINVAL;
 out:
	teardown(conf, t);
	workers_close();
	return err;
}


int test_tools_message_audio(void)
{
	char dir[] = "/tmp/agentline-test-tools-XXXXXX";
	char audio[300], wav[340], cfg[400], args[800];
	struct conf *conf = NULL;
	struct tools *t = NULL;
	FILE *f;
	int err;

	TEST_ASSERT(mkdtemp(dir) != NULL);
	re_snprintf(audio, sizeof(audio), "%s/audio", dir);
	TEST_ASSERT(0 == mkdir(audio, 0700));
	re_snprintf(wav, sizeof(wav), "%s/c1-3.wav", audio);
	f = fopen(wav, "w");
	TEST_ASSERT(f != NULL);
	fclose(f);
	re_snprintf(cfg, sizeof(cfg), "data_dir = %s\n", dir);
	TEST_ERR(setup(&conf, &t, cfg));

	/* the agent's own kept audio goes with the message */
	re_snprintf(args, sizeof(args), "{\"message\":\"hi\","
		    "\"audio_path\":\"%s\"}", wav);
	err = tools_run(t, 1, "take_message", args, done_h, NULL);
	if (!err && strcmp(fk.msg_audio, wav))
		err = EINVAL;
	/* any other file is dropped (the message is still stored) */
	if (!err)
		err = tools_run(t, 1, "take_message", "{\"message\":\"x\","
				"\"audio_path\":\"/etc/passwd\"}", done_h,
				NULL);
	if (!err && (fk.nmsg != 2 || *fk.msg_audio))
		err = EINVAL;
	re_snprintf(args, sizeof(args), "{\"message\":\"x\","
		    "\"audio_path\":\"%s/../../../etc/passwd.wav\"}",
		    audio);
	if (!err)
		err = tools_run(t, 1, "take_message", args, done_h, NULL);
	if (!err && (fk.nmsg != 3 || *fk.msg_audio))
		err = EINVAL;

	teardown(conf, t);
	(void)unlink(wav);
	(void)rmdir(audio);
	(void)rmdir(dir);
	return err;
}


/* `agentline pipeline`: no SIP call; hang_up goes through the agent,
 * the acting tools say there is no call */
int test_tools_no_call(void)
{
	struct conf *conf = NULL;
	struct tools *t = NULL, *p = NULL;
	int err;

	TEST_ERR(setup(&conf, &t, NULL));
	err = tools_alloc(&p, (struct agent *)(uintptr_t)0x4000, NULL);
	if (err)
		goto out;
	err = tools_run(p, 1, "send_dtmf", "{\"digits\":\"1\"}", done_h,
			NULL);
	if (err || !strstr(fk.done_json, "no_call") || fk.ndtmf)
		goto bad;
	err = tools_run(p, 2, "hang_up", "{}", done_h, NULL);
	if (err)
		goto out;
	run_ms(250);
	if (fk.nhangup_agent != 1 || fk.nhangup || fk.done_err ||
	    fk.nsay != 1 || fk.ngate)
		goto bad;
	goto out;
 bad:
	fprintf(stderr, "no call: %u %u %s\n", fk.nhangup_agent,
		fk.nhangup, fk.done_json);
	err = EINVAL;
 out:
	mem_deref(p);
	teardown(conf, t);
	return err;
}
