/*
 * tools.h  The tools executor: every tool call a brain makes
 *          (brain_host.tool) runs here.  It parses the JSON arguments,
 *          asks the trust gate (policy), emits the `tool_call` event, does
 *          the action on the call (SIP actions in sip/call.h, the store,
 *          the agent's voice) and answers through `done` with a JSON
 *          object, or {"error":{"category":..,"message":..}}.
 *
 * Tools (docs/tools.md): hang_up report_call_result take_message send_dtmf
 * hold_call resume_call open_entry place_call transfer_blind
 * transfer_attended.
 *
 * A cancelled turn (tools_cancel) drops its pending actions: a hang-up
 * still waiting for its farewell, a transfer waiting for the caller's
 * confirm digit or for the consult leg never happens, and `done` is not
 * called.  Actions already on the wire (a REFER sent, a call placed) are
 * not undone; their outcome goes to the call's context instead.
 *
 * Main thread only.
 */
#ifndef AGENTLINE_TOOLS_H
#define AGENTLINE_TOOLS_H

#include <stdbool.h>
#include <stdint.h>
#include "brain/brain.h"
#include "sip/call.h"

struct conf;
struct agent;
struct call;
struct tools;

/* Start-up: settings (hang_up_drain_ms, entries, ...).  Without it the
 * defaults apply and open_entry is disabled. */
int  tools_init(const struct conf *conf);
void tools_close(void);

/* call may be NULL (`agentline pipeline`): then only tools that need no
 * call work (report_call_result, take_message, and hang_up through the
 * agent's port). */
int  tools_alloc(struct tools **tp, struct agent *a, struct call *call);
/* = brain_host.tool: 0 (done is called once, later or now, unless the
 * turn is cancelled first) or an errno (done is not called). */
int  tools_run(struct tools *t, uint32_t turn_id, const char *name,
	       const char *args_json, brain_tool_h *done, void *done_arg);
/* The turn was cancelled: drop pending actions, done is not called. */
void tools_cancel(struct tools *t);
/* A keypad digit from the caller.  Returns true if the executor used it
 * (the answer to a transfer confirmation): the agent must then not make
 * a turn of it.  The agent calls this first in agent_dtmf(). */
bool tools_dtmf(struct tools *t, char digit);
/* The OpenAI "tools" array (JSON Schema of each tool). */
const char *tools_schema_json(void);
/* The "tools" array to offer the model on a call: with a call (call
 * true), only the tools its caller may use at all (gate_offered: level,
 * allowed_tools, degraded; pc NULL offers none); without one, the tools
 * that need no call.  The gate still decides every call.  NULL if there
 * are none; else free with mem_deref. */
struct policy_call;
char *tools_schema_for(struct policy_call *pc, bool call);
/* The result of a call (report_call_result, or the agent's answering-
 * machine detection): event call_result, and the report of the
 * place_call that placed it. */
void tools_call_result(const char *callid, const char *outcome,
		       const char *summary);
/* The objective of a call placed by place_call (also set with
 * brain_objective_set), NULL if none. */
const char *tools_call_objective(const char *callid);

/* --- test seam: what the executor calls.  NULL members (or
 *     tools_set_ops(NULL)) mean the real functions. --- */
struct policy_call;
struct store_message;
struct tools_ops {
	struct policy_call *(*policy)(const struct call *call);
	int  (*gate)(struct policy_call *pc, const char *tool,
		     const char *target, const char **categoryp);
	void (*commit)(struct policy_call *pc, const char *tool);
	void (*confirm_set)(struct policy_call *pc, const char *tool);
	char (*confirm_digit)(void);
	void (*say)(struct agent *a, const char *text);
	bool (*speaking)(const struct agent *a);
	void (*hangup)(struct call *call, const char *reason);
	void (*hangup_agent)(struct agent *a);
	int  (*send_dtmf)(struct call *call, const char *digits);
	int  (*hold)(struct call *call, bool hold);
	int  (*xfer_blind)(struct call *call, const char *target,
			   call_xfer_h *h, void *arg);
	int  (*xfer_attended)(struct call *call, const char *target,
			      call_xfer_h *h, void *arg);
	void (*xfer_abandon)(struct call *call);
	int  (*xfer_cancel)(struct call *call);
	int  (*connect)(struct call **callp, const char *uri,
			call_outcome_h *h, void *arg);
	void (*set_end)(struct call *call, call_end_h *h, void *arg);
	const char *(*callid)(const struct call *call);
	int  (*message_add)(const struct store_message *m, uint64_t *idp);
	/* blocking, worker thread: POST body to url with a bearer token;
	 * *statusp = HTTP status */
	int  (*http_post)(const char *url, const char *token,
			  const char *body, int *statusp);
};
void tools_set_ops(const struct tools_ops *ops);

#endif
