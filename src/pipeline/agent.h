/*
 * agent.h  The agent pipeline of one call (app = agent):
 *
 *   caller audio → echo canceller → VAD → end of turn → STT → brain
 *                → text for the phone → sentences → TTS → playout
 *
 * with turn-taking around it: greeting on answer, barge-in (gated, full,
 * off), comfort filler while the brain thinks, silence reprompts and a
 * goodbye, "sorry, I didn't catch that", a maximum call duration.
 *
 * The agent talks to its call through a port (the RTP stream of a real
 * call, or files in `agentline pipeline`).  Main thread only, except where
 * a port function says otherwise.
 */
#ifndef AGENTLINE_AGENT_H
#define AGENTLINE_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct agent;
struct call;

struct playq;

/* Agent audio goes straight into the call's playout queue (from a worker
 * thread; the agent keeps a reference so it outlives running jobs); the
 * rest goes through the port, on the main thread. */
struct port_ops {
	/* drop queued audio, fading out what plays (main thread) */
	void   (*flush)(void *port, unsigned fade_ms);
	/* samples still queued (any thread) */
	size_t (*level)(void *port);
	/* end the call (main thread) */
	void   (*hangup)(void *port, const char *reason);
};

/* Per-turn report (also the JSON line of `agentline pipeline`). */
struct agent_turn {
	uint32_t turn;
	const char *transcript;
	const char *reply;
	int64_t vad_end_ms;          /* end of speech → end of turn decided  */
	int64_t stt_ms;              /* end of turn → transcript             */
	int64_t brain_ms;            /* transcript → first reply text        */
	int64_t tts_first_audio_ms;  /* first reply text → first audio      */
	int64_t voice_to_voice_ms;   /* end of speech → first agent audio   */
	bool interrupted;
};

typedef void (agent_turn_h)(const struct agent_turn *t, void *arg);

/* The turn as JSON members (`"turn":1,"transcript":"..",...`), without
 * braces: the body of the `turn` event and of `agentline pipeline`'s
 * lines. */
int agent_turn_json(char *buf, size_t sz, const struct agent_turn *t);

/* Start-up (main thread): resolve engines and settings; errors name the
 * setting. */
int  agent_init(const struct conf *conf);
void agent_close(void);

/* call: the SIP call (NULL in `agentline pipeline`): the brain learns
 * the caller's class from it and tools act on it. */
int  agent_alloc(struct agent **ap, const struct port_ops *ops, void *port,
		 struct playq *pq, const char *callid, bool outbound,
		 struct call *call);
void agent_set_turn_handler(struct agent *a, agent_turn_h *h, void *arg);
/* Greet (on answer). */
void agent_start(struct agent *a);
/* One caller frame (main thread, every 20 ms). */
void agent_audio(struct agent *a, const int16_t *pcm, size_t n,
		 uint64_t ts_ms);
/* What we sent in that tick: the echo canceller's reference. */
void agent_sent(struct agent *a, const int16_t *pcm, size_t n);
/* A keypad digit: digits up to '#' or a 2 s pause make one turn. */
void agent_dtmf(struct agent *a, char digit);
/* Speak now, outside a turn (operator "say"). */
void agent_say(struct agent *a, const char *text);
/* A tool asked for from outside the brain (POST /api/calls/{id}/tools/..):
 * the same executor and trust gate as the brain's tool calls (tools_run);
 * done as there.  ENOSYS without an executor. */
typedef void (agent_tool_h)(uint32_t turn_id, int err, const char *result,
			    void *arg);
int  agent_tool(struct agent *a, const char *name, const char *args,
		agent_tool_h *done, void *arg);
/* End the call through the port now (the hang_up tool when there is no
 * SIP call, as in `agentline pipeline`); from a timer. */
void agent_hangup(struct agent *a);
/* Take-over by voice (control centre): quiet = stop speaking now (queued
 * audio flushed), drop the turn in flight, replies, fillers and
 * reprompts, keep transcribing (turns are recorded, no brain answers
 * them); false hands the call back. */
void agent_set_quiet(struct agent *a, bool quiet);
/* Quiet and no synthesis job left running: nothing of ours can reach the
 * playout queue any more, so another producer may use it. */
bool agent_quiet_settled(const struct agent *a);
/* Is anything still to be said (TTS busy or audio queued)? */
bool agent_speaking(const struct agent *a);
/* Nothing in flight: not hearing a turn, not recognising, not thinking,
 * not speaking. */
bool agent_idle(const struct agent *a);

#endif
