/*
 * api_calls.c  Operator actions on calls shared by REST, the agent
 *              WebSocket and the CLI: place a call (now, or from the
 *              scheduler), hang up, say.  Scheduled calls are kept by the
 *              store; a 5 s timer dispatches the due ones.
 *
 * Main thread only.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "core/events.h"
#include "core/log.h"
#include "sip/call.h"
#include "sip/ua.h"
#include "api/apiint.h"
#include "brain/brain.h"
#include "pipeline/app.h"
#include "store/store.h"

#define MOD "api"

enum { SCHED_TICK_MS = 5000 };

/* What we remember about a call we placed until it ends. */
struct dialled {
	uint64_t sched_id;
	char *id;
	bool reported;
};

static struct {
	struct tmr tmr;
	bool on;
} sched;


static void dialled_destructor(void *arg)
{
	struct dialled *d = arg;

	mem_deref(d->id);
}


static void dial_outcome(struct call *call, enum call_outcome o,
			 uint16_t scode, void *arg)
{
	struct dialled *d = arg;

	(void)call;
	(void)scode;
	if (d->sched_id && !d->reported)
		(void)store_sched_done(d->sched_id, call_outcome_name(o));
	d->reported = true;
}


static void dial_end(struct call *call, void *arg)
{
	struct dialled *d = arg;

	(void)call;
	if (d->sched_id && !d->reported)
		(void)store_sched_done(d->sched_id, "failed");
	mem_deref(d);
}


int api_dial(const char *number, const char *objective, const char *persona,
	     uint64_t sched_id, char *idbuf, size_t idsz)
{
	struct dialled *d;
	struct call *call = NULL;
	char masked[32];
	int err;

	if (!api.running)
		return ENOTCONN;
	d = mem_zalloc(sizeof(*d), dialled_destructor);
	if (!d)
		return ENOMEM;
	d->sched_id = sched_id;
	err = ua_connect(&call, number, 0, dial_outcome, d);
	if (err) {
		log_warn(MOD, NULL, "call to %s not placed: %m",
			 log_mask_number(masked, sizeof(masked), number),
			 err);
		mem_deref(d);
		return err;
	}
	call_set_end_handler(call, dial_end, d);
	str_ncpy(idbuf, call_id(call), idsz);
	(void)str_dup(&d->id, call_id(call));
	log_info(MOD, idbuf, "placing a call to %s for the API%s",
		 log_mask_number(masked, sizeof(masked), number),
		 sched_id ? " (scheduled)" : "");
	events_emit("call_outgoing", idbuf, ",\"direction\":\"outbound\","
		    "\"via\":\"api\",\"scheduled\":%s",
		    sched_id ? "true" : "false");
	if (objective && *objective)
		(void)brain_objective_set(idbuf, objective);
	if (persona && *persona) {
		char *text = NULL;

		if (0 == re_sdprintf(&text, "Act as the persona \"%s\".",
				     persona))
			(void)brain_instructions_set(idbuf, BRAIN_SCOPE_CALL,
						     text);
		mem_deref(text);
	}
	return 0;
}


int api_hangup(const char *callid)
{
	struct call *call = call_find(callid);

	if (!call)
		return ENOENT;
	log_info(MOD, callid, "hang-up requested through the API");
	call_hangup(call, "operator");
	return 0;
}


int api_say(const char *callid, const char *text)
{
	struct call *call = call_find(callid);

	if (!call)
		return ENOENT;
	return app_say(call, text);
}


static void sched_due(uint64_t id, const char *json, void *arg)
{
	struct odict *od = NULL;
	const char *num;
	char callid[128];
	int err;

	(void)arg;
	err = json_decode_odict(&od, 8, json, strlen(json), 4);
	num = err ? NULL : odict_string(od, "number");
	if (!num) {
		log_warn(MOD, NULL, "scheduled call %llu: bad record",
			 (unsigned long long)id);
		(void)store_sched_done(id, "failed");
		goto out;
	}
	err = api_dial(num, odict_string(od, "objective"),
		       odict_string(od, "persona"), id, callid,
		       sizeof(callid));
	if (err)
		(void)store_sched_done(id, "failed");
 out:
	mem_deref(od);
}


static void sched_tick(void *arg)
{
	(void)arg;
	(void)store_sched_due((uint64_t)time(NULL), sched_due, NULL);
	tmr_start(&sched.tmr, SCHED_TICK_MS, sched_tick, NULL);
}


int api_sched_init(void)
{
	tmr_init(&sched.tmr);
	tmr_start(&sched.tmr, 1000, sched_tick, NULL);
	sched.on = true;
	return 0;
}


void api_sched_close(void)
{
	if (sched.on)
		tmr_cancel(&sched.tmr);
	sched.on = false;
}
