/*
 * app.h  What answers a call until the agent pipeline lands:
 *        `echo` (returns the caller's audio), `playback:FILE` (plays a WAV
 *        then hangs up), `tone:HZ` (a continuous tone).  Main thread only.
 */
#ifndef AGENTLINE_APP_H
#define AGENTLINE_APP_H

/* Validate the spec and preload what it needs (the WAV). */
int  app_init(const char *spec);
void app_close(void);

struct call;
/* Operator speech (API, agent WebSocket): say text on the call now,
 * outside a turn.  ENOTSUP unless the call runs the agent. */
int  app_say(struct call *call, const char *text);

#endif
