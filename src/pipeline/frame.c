/*
 * frame.c  Frames, processors and the two-lane pipeline.
 */
#include <string.h>
#include <re.h>
#include "pipeline/frame.h"

struct proc {
	struct le le;
	const struct proc_ops *ops;
	struct pipeline *pl;
	void *st;
	struct list fifo;      /* queued data frames (struct qent)          */
	size_t nqueued;
	bool busy;
	bool draining;
};

struct qent {
	struct le le;
	struct frame *f;
	enum frame_dir dir;
};

struct pipeline {
	struct list procs;
	size_t fifo_max;
	uint32_t gen;
	uint64_t dropped;
	pipeline_sink_h *downh, *uph, *systemh;
	void *arg;
};


bool frame_is_system(enum frame_type t)
{
	return t < FRAME_SYSTEM_MAX;
}


bool frame_is_reply(enum frame_type t)
{
	return t == FRAME_REPLY || t == FRAME_REPLY_END || t == FRAME_SAY;
}


const char *frame_type_name(enum frame_type t)
{
	switch (t) {
	case FRAME_SPEECH_START: return "speech_start";
	case FRAME_SPEECH_STOP:  return "speech_stop";
	case FRAME_INTERRUPT:    return "interrupt";
	case FRAME_DTMF:         return "dtmf";
	case FRAME_HANGUP:       return "hangup";
	case FRAME_ERROR:        return "error";
	case FRAME_BOT_STARTED:  return "bot_started";
	case FRAME_BOT_STOPPED:  return "bot_stopped";
	case FRAME_AUDIO:        return "audio";
	case FRAME_END_OF_TURN:  return "end_of_turn";
	case FRAME_TRANSCRIPT:   return "transcript";
	case FRAME_REPLY:        return "reply";
	case FRAME_REPLY_END:    return "reply_end";
	case FRAME_SAY:          return "say";
	default:                 return "?";
	}
}


static void frame_destructor(void *data)
{
	struct frame *f = data;

	mem_deref(f->pcm);
	mem_deref(f->text);
}


int frame_alloc(struct frame **fp, enum frame_type type, uint32_t gen)
{
	struct frame *f;

	if (!fp)
		return EINVAL;
	f = mem_zalloc(sizeof(*f), frame_destructor);
	if (!f)
		return ENOMEM;
	f->type = type;
	f->gen = gen;
	*fp = f;
	return 0;
}


int frame_audio(struct frame **fp, const int16_t *pcm, size_t n,
		uint64_t ts_ms, uint32_t gen)
{
	struct frame *f;
	int err;

	err = frame_alloc(&f, FRAME_AUDIO, gen);
	if (err)
		return err;
	f->pcm = mem_alloc(n * sizeof(int16_t), NULL);
	if (!f->pcm) {
		mem_deref(f);
		return ENOMEM;
	}
	memcpy(f->pcm, pcm, n * sizeof(int16_t));
	f->n = n;
	f->ts_ms = ts_ms;
	*fp = f;
	return 0;
}


int frame_text(struct frame **fp, enum frame_type type, const char *text,
	       uint32_t gen)
{
	struct frame *f;
	int err;

	err = frame_alloc(&f, type, gen);
	if (err)
		return err;
	err = str_dup(&f->text, text ? text : "");
	if (err) {
		mem_deref(f);
		return err;
	}
	*fp = f;
	return 0;
}


static void qent_destructor(void *data)
{
	struct qent *q = data;

	list_unlink(&q->le);
	mem_deref(q->f);
}


static void proc_destructor(void *data)
{
	struct proc *p = data;

	list_flush(&p->fifo);
	list_unlink(&p->le);
}


static void pipeline_destructor(void *data)
{
	struct pipeline *pl = data;

	list_flush(&pl->procs);
}


int pipeline_alloc(struct pipeline **plp, size_t fifo_max)
{
	struct pipeline *pl;

	if (!plp)
		return EINVAL;
	pl = mem_zalloc(sizeof(*pl), pipeline_destructor);
	if (!pl)
		return ENOMEM;
	list_init(&pl->procs);
	pl->fifo_max = fifo_max ? fifo_max : 256;
	pl->gen = 1;
	*plp = pl;
	return 0;
}


int pipeline_add(struct pipeline *pl, const struct proc_ops *ops, void *st,
		 struct proc **pp)
{
	struct proc *p;

	if (!pl || !ops || !ops->process)
		return EINVAL;
	p = mem_zalloc(sizeof(*p), proc_destructor);
	if (!p)
		return ENOMEM;
	p->ops = ops;
	p->pl = pl;
	p->st = st;
	list_init(&p->fifo);
	list_append(&pl->procs, &p->le, p);
	if (pp)
		*pp = p;
	return 0;
}


void pipeline_set_sink(struct pipeline *pl, pipeline_sink_h *downh,
		       pipeline_sink_h *uph, pipeline_sink_h *systemh,
		       void *arg)
{
	if (!pl)
		return;
	pl->downh = downh;
	pl->uph = uph;
	pl->systemh = systemh;
	pl->arg = arg;
}


void *proc_state(const struct proc *p)
{
	return p ? p->st : NULL;
}


struct pipeline *proc_pipeline(const struct proc *p)
{
	return p ? p->pl : NULL;
}


uint32_t pipeline_gen(const struct pipeline *pl)
{
	return pl ? pl->gen : 0;
}


uint64_t pipeline_dropped(const struct pipeline *pl)
{
	return pl ? pl->dropped : 0;
}


bool proc_busy(const struct proc *p)
{
	return p && p->busy;
}


size_t proc_queued(const struct proc *p)
{
	return p ? p->nqueued : 0;
}


static void proc_drain(struct proc *p)
{
	if (p->draining)
		return;
	p->draining = true;
	mem_ref(p);
	while (!p->busy && p->fifo.head) {
		struct qent *q = p->fifo.head->data;
		struct frame *f = mem_ref(q->f);
		enum frame_dir dir = q->dir;

		p->nqueued--;
		mem_deref(q);
		if (f->gen >= p->pl->gen || !frame_is_reply(f->type))
			p->ops->process(p, f, dir);
		else
			p->pl->dropped++;
		mem_deref(f);
	}
	p->draining = false;
	mem_deref(p);
}


/* Deliver f to target (NULL = leave the pipeline at that end). */
static void deliver(struct pipeline *pl, struct proc *target,
		    struct frame *f, enum frame_dir dir)
{
	struct qent *q;

	if (!target) {
		/* the observer sees each system frame once, as it leaves */
		if (frame_is_system(f->type) && pl->systemh)
			pl->systemh(f, dir, pl->arg);
		pipeline_sink_h *h = dir == FRAME_DOWN ? pl->downh : pl->uph;
		if (h)
			h(f, dir, pl->arg);
		return;
	}

	if (frame_is_system(f->type)) {
		target->ops->process(target, f, dir);
		return;
	}

	/* data lane: bounded FIFO; when full the oldest frame goes */
	if (target->nqueued >= pl->fifo_max && target->fifo.head) {
		mem_deref(target->fifo.head->data);
		target->nqueued--;
		pl->dropped++;
	}
	q = mem_zalloc(sizeof(*q), qent_destructor);
	if (!q)
		return;
	q->f = mem_ref(f);
	q->dir = dir;
	list_append(&target->fifo, &q->le, q);
	target->nqueued++;
	proc_drain(target);
}


void proc_push(struct proc *p, struct frame *f, enum frame_dir dir)
{
	struct le *next;

	if (!p || !f)
		return;
	next = dir == FRAME_DOWN ? p->le.next : p->le.prev;
	deliver(p->pl, next ? next->data : NULL, f, dir);
}


void pipeline_input(struct pipeline *pl, struct frame *f, enum frame_dir d)
{
	struct le *first;

	if (!pl || !f)
		return;
	first = d == FRAME_DOWN ? pl->procs.head : pl->procs.tail;
	deliver(pl, first ? first->data : NULL, f, d);
}


void proc_set_busy(struct proc *p, bool busy)
{
	if (!p)
		return;
	p->busy = busy;
	if (!busy)
		proc_drain(p);
}


uint32_t pipeline_interrupt(struct pipeline *pl)
{
	struct frame *f = NULL;
	struct le *le;

	if (!pl)
		return 0;
	pl->gen++;

	/* drop the queued reply of the older generation; what the caller
	 * says (audio, end of turn, transcript) stays: it is the barge-in */
	for (le = pl->procs.head; le; le = le->next) {
		struct proc *p = le->data;
		struct le *qe = p->fifo.head;

		while (qe) {
			struct qent *q = qe->data;
			qe = qe->next;
			if (!frame_is_reply(q->f->type))
				continue;
			mem_deref(q);
			p->nqueued--;
			pl->dropped++;
		}
	}
	for (le = pl->procs.head; le; le = le->next) {
		struct proc *p = le->data;
		if (p->ops->interrupt)
			p->ops->interrupt(p);
	}
	if (0 == frame_alloc(&f, FRAME_INTERRUPT, pl->gen)) {
		pipeline_input(pl, f, FRAME_DOWN);
		mem_deref(f);
	}
	return pl->gen;
}
