/*
 * brain.h  The seam between hearing and speaking.  A turn goes in (the
 *          caller's final transcript, or keypad digits); a stream of reply
 *          text (spoken sentence by sentence as it arrives) and tool calls
 *          come out.  Engines: `parrot` (says back what it heard), `llm`
 *          (OpenAI-compatible), `playbook` (offline receptionist),
 *          `script:FILE` (caller side, for demos and tests); an external
 *          agent that took the call over gets turns first (see
 *          brain_set_external).
 *
 * Main thread only: a brain that blocks does its work elsewhere and calls
 * the host back on the main thread.
 *
 * Generations: every turn has an id.  cancel() (barge-in, a newer turn,
 * hang-up) ends the current turn: its later reply chunks are dropped by
 * the host, and its pending tool calls are cancelled — their done handlers
 * are never called and their actions do not run (an interrupted reply
 * never hangs up on a live caller).
 */
#ifndef AGENTLINE_BRAIN_H
#define AGENTLINE_BRAIN_H

#include <stdbool.h>
#include <stdint.h>

struct conf;
struct call;

/* What the brain knows about the call.  Everything here describes the
 * call; none of it is an instruction (prompts present it as untrusted
 * facts).  Strings live as long as the brain state. */
struct brain_call {
	const char *callid;
	const char *language;
	bool outbound;
	struct call *call;            /* NULL in `agentline pipeline`       */
	const char *group;            /* caller group (policy)              */
	const char *persona;          /* persona name of that group         */
	int privilege;                /* 0..3                               */
	const char *caller_redacted;  /* "…42", "" when withheld            */
	const char *caller_key;       /* normalised number, NULL if unknown  */
	const char *dialled;          /* the extension that was called      */
	const char *objective;        /* outbound task call, else NULL      */
};

enum brain_input {
	BRAIN_SPEECH = 0,             /* text = final transcript            */
	BRAIN_DTMF,                   /* text = the digits pressed          */
};

struct brain_turn {
	uint32_t id;
	enum brain_input kind;
	const char *text;
	const char *audio_path;       /* WAV of the caller's utterance, if
					 the brain asked to keep audio     */
	uint64_t ts_ms;               /* wall clock when the turn ended     */
};

/* A chunk of the reply for turn `turn_id`; final=true ends the reply
 * (text may be NULL then). */
typedef void (brain_reply_h)(uint32_t turn_id, const char *text, bool final,
			     void *arg);
/* A tool call's outcome: err 0 and a JSON object, or err != 0 and a JSON
 * object {"error":{"category":..,"message":..}} the model can explain
 * (a gate denial, a SIP failure).  Main thread. */
typedef void (brain_tool_h)(uint32_t turn_id, int err, const char *result,
			    void *arg);

/* What the call offers the brain (implemented by the agent pipeline). */
struct brain_host {
	brain_reply_h *reply;
	/* Run tool `name` with JSON `args` for turn `turn_id`, through the
	 * trust gate.  Returns 0 (done will be called once, unless the turn
	 * is cancelled first) or an errno (done is not called). */
	int  (*tool)(void *arg, uint32_t turn_id, const char *name,
		     const char *args, brain_tool_h *done, void *done_arg);
	/* How to hear the next utterance: "free", "digits", "yesno"
	 * (grammar recognisers where the STT engine has them). */
	void (*listen)(void *arg, const char *mode);
	/* Give this turn to the configured brain (an external agent that
	 * timed out or released the call). */
	void (*fallback)(void *arg, const struct brain_turn *turn);
	void *arg;
};

struct brain_ops {
	const char *name;
	int  (*alloc)(void **stp, const struct conf *conf,
		      const struct brain_call *call,
		      const struct brain_host *host);
	/* Optional: the call was answered.  Return 0 if the brain spoke
	 * first itself (through host->reply with turn id 0), ENOTSUP to let
	 * the agent play its greeting. */
	int  (*start)(void *st);
	/* A turn; the reply goes through host->reply (now or later). */
	int  (*turn)(void *st, const struct brain_turn *turn);
	/* Drop the reply in progress and its pending tool calls. */
	void (*cancel)(void *st);
	/* Optional: true if turns should carry audio_path. */
	bool keep_audio;
};

/* `script:FILE` and other parameterised names resolve by prefix. */
const struct brain_ops *brain_find(const char *name);
const char *brain_names(void);

/* --- operator input, per call (API, agent WebSocket); read at prompt
 *     assembly.  callid NULL = the base instructions for every call. */
enum brain_scope {
	BRAIN_SCOPE_BASE = 0,         /* every call from now on             */
	BRAIN_SCOPE_CALL,             /* this call                          */
	BRAIN_SCOPE_TURN,             /* this call's next turn only         */
};

/* Set (text) or clear (NULL) instructions; 0, EINVAL or ENOMEM. */
int  brain_instructions_set(const char *callid, enum brain_scope scope,
			    const char *text);
/* The instructions for the next turn of callid, joined base + call +
 * turn (turn-scoped text is consumed); caller frees with mem_deref. */
char *brain_instructions_take(const char *callid);
/* Injected context (facts for the model).  trusted=false marks text
 * from an untrusted source: it is screened and presented as untrusted. */
int  brain_context_add(const char *callid, const char *text, bool trusted);
void brain_context_clear(const char *callid);
/* The injected context of callid for the prompt: trusted facts first,
 * then untrusted text, each block labelled; NULL if none.  Caller frees
 * with mem_deref. */
char *brain_context_get(const char *callid);
/* The task of an outbound call (place_call, API, CLI): set by whoever
 * places the call, right after call_connect(), read when the call is
 * answered (struct brain_call.objective).  NULL clears. */
int  brain_objective_set(const char *callid, const char *objective);
const char *brain_objective(const char *callid);
/* The call ended: forget its instructions, context and objective. */
void brain_call_forget(const char *callid);

/* --- external agents (the agent WebSocket): a call taken over gets its
 *     turns here first.  The handler returns ENOENT if the call is not
 *     taken over (the configured brain answers), else 0 and replies
 *     through host->reply, or calls host->fallback on timeout. */
typedef int (brain_external_h)(const char *callid,
			       const struct brain_turn *turn,
			       const struct brain_host *host, void *arg);
void brain_set_external(brain_external_h *h, void *arg);
/* Used by the agent: offer a turn to the external agent first. */
int  brain_external_turn(const char *callid, const struct brain_turn *turn,
			 const struct brain_host *host);

#endif
