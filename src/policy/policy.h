/*
 * policy.h  Trust: who is calling (caller groups), what the agent may do on
 *           this call (the gate), and what a caller's words may reach the
 *           brain (passphrase / PIN, injection screen).  See docs/trust.md.
 *
 * A caller's number is a hint, never a login: it picks a caller group, the
 * group sets a privilege ceiling (0..3), a persona, a channel and the tools
 * allowed.  Every tool call passes gate_check(); every caller turn passes
 * policy_turn() before any brain sees it.
 *
 * Main thread only (policy_groups_parse and policy_number_normalise are
 * pure and may run anywhere).
 */
#ifndef AGENTLINE_POLICY_H
#define AGENTLINE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct sip_msg;
struct call;

struct caller_class {            /* result of classification */
	const char *group, *persona, *channel;
	int privilege;               /* 0..3 */
	bool declined;               /* declined_at_sip */
	const char *number;          /* normalised E.164, NULL if withheld/
					unparseable */
	char redacted[16];           /* "…42" or "" */
};

struct policy_call;              /* per-call trust state (mem object) */

/* Start-up: settings and the caller_groups_file (errors are logged and
 * name the problem).  Without policy_init every call is a receptionist
 * (level 0) call and IRREVERSIBLE actions are off. */
int  policy_init(const struct conf *conf);
void policy_close(void);

/* Classify a call.  Inbound: the From user part of invite, or its
 * P-Asserted-Identity when the request came from trust_pai_from;
 * remote_number (may be NULL) is used when there is no INVITE.  Outbound:
 * remote_number is the callee (number, tel: or sip: URI); its privilege
 * never exceeds outbound_privilege. */
int  policy_call_alloc(struct policy_call **pcp,
		       const struct sip_msg *invite_or_NULL,
		       const char *remote_number, bool outbound);
const struct caller_class *policy_call_class(const struct policy_call *pc);
/* The control centre's softphone: the signed-in owner calls in a caller
 * group they chose (not from a number).  group NULL or "" = the
 * highest-privilege group that is not declined.  No passphrase/PIN (the
 * control token signed them in).  ENOENT unknown group, EPERM a declined
 * one. */
int  policy_call_alloc_group(struct policy_call **pcp, const char *group);
/* The i-th caller group (i from 0), false past the end; for the
 * softphone's group list. */
bool policy_group_at(size_t i, struct caller_class *cls);
/* Set the call id used in logs and events (default "-"). */
void policy_call_set_id(struct policy_call *pc, const char *callid);

/* --- the gate -------------------------------------------------------- */

enum policy_tier { TIER_SAFE = 0, TIER_ELEVATED, TIER_IRREVERSIBLE };

/* Tier of a tool name; -1 for an unknown tool. */
int  policy_tool_tier(const char *tool);
/* The tool names, NULL-terminated. */
extern const char *const policy_tools[];

/* 0 = allow, EPERM = deny; *categoryp (may be NULL) = "privilege" |
 * "tool_not_allowed" | "not_on_allowlist" | "rate_limited" | "degraded" |
 * "disabled" | "unknown_tool" | "needs_confirmation" (blind transfer: the
 * caller must press transfer_confirm_digit first).  target: the number or
 * URI of place_call / transfer_*, else NULL.  A denial is logged with its
 * category (never the target) and emitted as event "gate". */
int  gate_check(struct policy_call *pc, const char *tool, const char *target,
		const char **categoryp);
/* Would the gate let this call use `tool` at all (its level, the group's
 * allowed_tools, degraded, the action configured)?  Targets, the blind
 * transfer's confirmation and rate limits are left to gate_check; no
 * event, no log.  For the tool list offered to a model. */
bool gate_offered(const struct policy_call *pc, const char *tool);
/* Count an executed IRREVERSIBLE action for the rate limits (and use up a
 * blind-transfer confirmation). */
void gate_commit(struct policy_call *pc, const char *tool);

/* Blind-transfer confirmation.  The tools executor, told
 * "needs_confirmation", asks the caller to press the digit and calls
 * gate_confirm_await(); the next DTMF turn through policy_turn() settles
 * it: the right digit within transfer_confirm_secs calls h(true) and lets
 * gate_check() allow `tool` once (until gate_commit or the time is up);
 * a wrong digit, speech, the timeout or policy_turn_cancel call h(false).
 * Returns 0, EINVAL (no confirm digit configured) or EALREADY. */
typedef void (gate_confirm_h)(bool confirmed, void *arg);
int  gate_confirm_await(struct policy_call *pc, const char *tool,
			gate_confirm_h *h, void *arg);
/* Mark `tool` confirmed now (for an executor that read the digit
 * itself); valid for transfer_confirm_secs, used up by gate_commit. */
void gate_confirm_set(struct policy_call *pc, const char *tool);
/* The configured confirm digit, '\0' if none. */
char gate_confirm_digit(void);

/* --- caller turns ---------------------------------------------------- */

/* A caller turn passes screen (+ passphrase/PIN auth) before any brain
 * sees it; async only if guard_url is set; h on main thread. */
enum policy_turn_action { POLICY_PASS, POLICY_SAY, POLICY_SAY_HANGUP };
/* PASS: text = what goes to the brain; SAY/SAY_HANGUP: text = the line to
 * speak ("" = say nothing: the turn was consumed, e.g. a confirm digit) */
typedef void (policy_turn_h)(enum policy_turn_action act, const char *text,
			     void *arg);
int  policy_turn(struct policy_call *pc, bool dtmf, const char *text,
		 policy_turn_h *h, void *arg);
void policy_turn_cancel(struct policy_call *pc);
bool policy_call_degraded(const struct policy_call *pc);
/* Screen untrusted injected context (brain_context_add(.., false)) for a
 * call: 0 = accept (CLARIFY degrades the call), EPERM = refuse (the call
 * is degraded too).  pc NULL: screened without a call. */
int  policy_screen_context(struct policy_call *pc, const char *text);
/* Auth still pending (the agent may speak auth_prompt_message). */
bool policy_auth_pending(const struct policy_call *pc);
const char *policy_auth_prompt(const struct policy_call *pc);
/* decline_mode = answer: true if declined calls are answered (with one
 * line, then hung up) instead of getting 603. */
bool policy_decline_answers(void);
/* The line to say instead of a greeting on a declined call that was
 * answered (decline_mode = answer), else NULL.  Its turns never reach a
 * brain. */
const char *policy_decline_line(const struct policy_call *pc);

/* on struct call (policy owns these hunks in call.h/call.c) */
struct policy_call *call_policy(const struct call *call);

/* --- building blocks (pure; tests and fuzz targets) ------------------ */

/* Normalise a phone number to E.164 ("+15555550100"): tel:/sip: URIs
 * (user part; sip:alice@host is not a number), separators (space . - / ( )),
 * "00"/"011" international prefixes, national formats with
 * default_country (ISO code "US", "DE", ... or a calling code "49", may be
 * NULL).  allow_prefix: a trailing '*' is kept ("+1555*").  Returns 0,
 * EINVAL (not a number) or ERANGE (too short/long). */
int  policy_number_normalise(char *out, size_t sz, const char *in,
			     const char *default_country, bool allow_prefix);
/* "…42": the last two digits only ("" for NULL). */
void policy_number_redact(char *out, size_t sz, const char *number);
/* In place: every phone-number-like run in free text (7+ digits, maybe
 * with a leading + and single separators: space - . ( ) /) becomes
 * "…42".  For transcripts and replies in events and records.  Returns the
 * number of runs replaced. */
unsigned policy_redact_numbers(char *text);

struct policy_groups;
/* Parse and validate a caller-groups document.  On error returns EINVAL
 * (EOVERFLOW if too large) with a message naming the problem in err. */
int  policy_groups_parse(struct policy_groups **gp, const char *json,
			 size_t len, char *err, size_t errsz);
/* Read and parse a file (err as above; also unreadable file). */
int  policy_groups_load(struct policy_groups **gp, const char *path,
			char *err, size_t errsz);
/* The built-in table: everyone is `receptionist` at level 0. */
int  policy_groups_builtin(struct policy_groups **gp);
/* Classify a normalised number (NULL = withheld: the default group);
 * cls strings point into g and number. */
void policy_groups_classify(const struct policy_groups *g, const char *number,
			    struct caller_class *cls);
const char *policy_groups_country(const struct policy_groups *g);
/* Group by name, privilege and allowed tools (NULL list = all tools). */
bool policy_groups_find(const struct policy_groups *g, const char *name,
			struct caller_class *cls);
/* The i-th group in file order, false past the end. */
bool policy_groups_at(const struct policy_groups *g, size_t i,
		      struct caller_class *cls);
bool policy_groups_tool_allowed(const struct policy_groups *g,
				const char *group, const char *tool);

/* Injection screen (docs/trust.md lists the rules). */
enum screen_verdict { SCREEN_ALLOW = 0, SCREEN_CLARIFY, SCREEN_REFUSE };
/* Classify text; rule (may be NULL) gets the name of the rule that fired
 * ("" for ALLOW). */
enum screen_verdict screen_text(const char *text, const char **rule);
const char *screen_verdict_name(enum screen_verdict v);
/* The normalised form the rules see (folding, homoglyphs, spelled-out
 * letters, base64 decoded and appended).  Returns out. */
char *screen_normalise(char *out, size_t sz, const char *text);

#endif
