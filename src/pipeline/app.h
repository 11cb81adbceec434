/*
 * app.h  What answers a call until the agent pipeline lands:
 *        `echo` (returns the caller's audio), `playback:FILE` (plays a WAV
 *        then hangs up), `tone:HZ` (a continuous tone).  Main thread only.
 */
#ifndef AGENTLINE_APP_H
#define AGENTLINE_APP_H

#include <stdbool.h>
#include <stdint.h>

/* Validate the spec and preload what it needs (the WAV). */
int  app_init(const char *spec);
void app_close(void);

struct call;
/* Operator speech (API, agent WebSocket): say text on the call now,
 * outside a turn.  ENOTSUP unless the call runs the agent. */
int  app_say(struct call *call, const char *text);
/* A tool on the call through the agent's executor and trust gate
 * (agent_tool); ENOTSUP unless the call runs the agent. */
int  app_tool(struct call *call, const char *name, const char *args,
	      void (*done)(uint32_t turn_id, int err, const char *result,
			   void *arg), void *arg);

/* Take-over by voice: the app stops talking (agent_set_quiet) while an
 * operator's audio is played into the call; false hands it back.
 * ENOENT if nothing answers the call. */
int  app_set_quiet(struct call *call, bool quiet);
/* Quiet and nothing of the app's can reach the call's playout queue any
 * more: the operator's audio may go in (one producer at a time). */
bool app_quiet_settled(const struct call *call);

#endif
