/*
 * brain.h  The seam between hearing and speaking: a transcript goes in,
 *          reply text comes out (streamed in chunks, sentence boundaries
 *          found downstream).  Engines: `parrot` (built in, says back what
 *          it heard); the LLM, the external agent and the playbook plug in
 *          here later.
 *
 * Main thread only: a brain that blocks must do its work elsewhere and
 * call the reply handler on the main thread.
 */
#ifndef AGENTLINE_BRAIN_H
#define AGENTLINE_BRAIN_H

#include <stdbool.h>
#include <stdint.h>

struct conf;

struct brain_call {
	const char *callid;
	const char *language;
	bool outbound;
};

/* A chunk of the reply for turn `turn_id`; final=true ends the reply
 * (text may be NULL then). */
typedef void (brain_reply_h)(uint32_t turn_id, const char *text, bool final,
			     void *arg);

struct brain_ops {
	const char *name;
	int  (*alloc)(void **stp, const struct conf *conf,
		      const struct brain_call *call);
	/* The caller said `transcript`; reply through h (now or later). */
	int  (*turn)(void *st, uint32_t turn_id, const char *transcript,
		     brain_reply_h *h, void *arg);
	/* Drop the reply in progress (barge-in, hangup). */
	void (*cancel)(void *st);
};

const struct brain_ops *brain_find(const char *name);
const char *brain_names(void);

#endif
