/*
 * frame.h  Frames and processors of a call's pipeline.
 *
 * A pipeline is a chain of processors.  Frames travel downstream (caller
 * audio → transcript → reply → speech) or upstream (acks, errors) in two
 * lanes: system frames (speech started/stopped, interrupt, DTMF, hangup,
 * bot started/stopped, error) are handed to the next processor at once;
 * data frames (audio, end of turn, transcript, reply text) wait in the
 * next processor's bounded FIFO while it is busy.  Every frame carries the
 * generation it belongs to; an interrupt starts a new generation and
 * everything of an older one is dropped wherever it shows up.
 *
 * Main thread only.
 */
#ifndef AGENTLINE_FRAME_H
#define AGENTLINE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum frame_type {
	/* system lane */
	FRAME_SPEECH_START = 0,
	FRAME_SPEECH_STOP,
	FRAME_INTERRUPT,
	FRAME_DTMF,
	FRAME_HANGUP,
	FRAME_ERROR,
	FRAME_BOT_STARTED,
	FRAME_BOT_STOPPED,
	FRAME_SYSTEM_MAX,
	/* data lane */
	FRAME_AUDIO = 100,     /* caller audio, 16 kHz                      */
	FRAME_END_OF_TURN,     /* the caller finished speaking               */
	FRAME_TRANSCRIPT,      /* text: what the caller said                 */
	FRAME_REPLY,           /* text: a chunk of the agent's reply         */
	FRAME_REPLY_END,       /* the reply is complete                      */
	FRAME_SAY,             /* text to speak as is (greeting, filler)     */
};

enum frame_dir {
	FRAME_DOWN = 0,
	FRAME_UP,
};

struct frame {
	enum frame_type type;
	uint32_t gen;          /* generation (reply) it belongs to          */
	uint64_t ts_ms;        /* media time                                 */
	int16_t *pcm;          /* FRAME_AUDIO                                */
	size_t n;
	char *text;            /* TRANSCRIPT, REPLY, SAY, ERROR              */
	char digit;            /* DTMF                                       */
	int flags;             /* FRAME_SAY: SAY_* flags                     */
};

enum {
	SAY_FILLER = 1 << 0,   /* stopped by the real reply                 */
	SAY_HANGUP = 1 << 1,   /* hang up once it has been played           */
};

bool frame_is_system(enum frame_type t);
/* Reply frames (REPLY, REPLY_END, SAY) belong to a generation and are
 * dropped once it is interrupted; the caller's frames never are. */
bool frame_is_reply(enum frame_type t);
const char *frame_type_name(enum frame_type t);
int  frame_alloc(struct frame **fp, enum frame_type type, uint32_t gen);
int  frame_audio(struct frame **fp, const int16_t *pcm, size_t n,
		 uint64_t ts_ms, uint32_t gen);
int  frame_text(struct frame **fp, enum frame_type type, const char *text,
		uint32_t gen);

/* ----------------------------------------------------------- processors */

struct pipeline;
struct proc;

struct proc_ops {
	const char *name;
	/* handle one frame (it is borrowed: mem_ref to keep it) */
	void (*process)(struct proc *p, struct frame *f, enum frame_dir dir);
	/* drop in-flight work of older generations */
	void (*interrupt)(struct proc *p);
};

/* Observer of every system frame and every frame leaving either end. */
typedef void (pipeline_sink_h)(struct frame *f, enum frame_dir dir,
			       void *arg);

int  pipeline_alloc(struct pipeline **plp, size_t fifo_max);
/* Append a processor; st is its state, borrowed: it must outlive the
 * pipeline. */
int  pipeline_add(struct pipeline *pl, const struct proc_ops *ops, void *st,
		  struct proc **pp);
void pipeline_set_sink(struct pipeline *pl, pipeline_sink_h *downh,
		       pipeline_sink_h *uph, pipeline_sink_h *systemh,
		       void *arg);
/* Feed a frame into the first (DOWN) or last (UP) processor. */
void pipeline_input(struct pipeline *pl, struct frame *f, enum frame_dir d);
/* New generation: flush every FIFO, interrupt every processor, and send
 * FRAME_INTERRUPT through the chain. Returns the new generation. */
uint32_t pipeline_interrupt(struct pipeline *pl);
uint32_t pipeline_gen(const struct pipeline *pl);
uint64_t pipeline_dropped(const struct pipeline *pl);

/* For processors */
void *proc_state(const struct proc *p);
struct pipeline *proc_pipeline(const struct proc *p);
/* Send a frame on from p in dir (system frames at once, data via FIFO). */
void proc_push(struct proc *p, struct frame *f, enum frame_dir dir);
/* Mark p busy (its FIFO holds data frames) or idle (drains the FIFO). */
void proc_set_busy(struct proc *p, bool busy);
bool proc_busy(const struct proc *p);
size_t proc_queued(const struct proc *p);

#endif
