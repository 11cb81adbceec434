/*
 * test_frame.c  Pipeline processors in the pipecat style: frames in,
 *               frames out, in order, per lane; interrupts drop the old
 *               generation's reply but never the caller's speech.
 */
#include <re.h>
#include "pipeline/frame.h"
#include "test.h"

struct rec {
	char log[1024];
	size_t len;
};

struct slow {
	bool hold;             /* stay busy after a REPLY until released */
	unsigned interrupts;
	struct proc *self;
};


static void rec_add(struct rec *r, const char *what, const struct frame *f)
{
	r->len += (size_t)re_snprintf(r->log + r->len, sizeof(r->log) - r->len,
				      "%s%s:%s%s%s", r->len ? " " : "", what,
				      frame_type_name(f->type),
				      f->text ? "=" : "",
				      f->text ? f->text : "");
}


static void pass_process(struct proc *p, struct frame *f, enum frame_dir d)
{
	proc_push(p, f, d);
}


static void slow_process(struct proc *p, struct frame *f, enum frame_dir d)
{
	struct slow *s = proc_state(p);

	proc_push(p, f, d);
	if (f->type == FRAME_REPLY && s->hold)
		proc_set_busy(p, true);
}


static void slow_interrupt(struct proc *p)
{
	struct slow *s = proc_state(p);
	s->interrupts++;
}


static const struct proc_ops pass_ops = {"pass", pass_process, NULL};
static const struct proc_ops slow_ops = {"slow", slow_process,
					 slow_interrupt};


static void down_h(struct frame *f, enum frame_dir d, void *arg)
{
	(void)d;
	rec_add(arg, "out", f);
}


static void input(struct pipeline *pl, enum frame_type t, const char *text,
		  uint32_t gen)
{
	struct frame *f = NULL;

	if (text)
		frame_text(&f, t, text, gen);
	else
		frame_alloc(&f, t, gen);
	pipeline_input(pl, f, FRAME_DOWN);
	mem_deref(f);
}


int test_frame_lanes(void)
{
	struct pipeline *pl = NULL;
	struct slow *s = mem_zalloc(sizeof(*s), NULL);
	struct rec r = {"", 0};
	int err = 0;

	TEST_ERR(pipeline_alloc(&pl, 4));
	pipeline_add(pl, &pass_ops, NULL, NULL);
	pipeline_add(pl, &slow_ops, s, &s->self);
	pipeline_add(pl, &pass_ops, NULL, NULL);
	pipeline_set_sink(pl, down_h, NULL, NULL, &r);

	/* data in order while idle */
	input(pl, FRAME_TRANSCRIPT, "hi", 1);
	input(pl, FRAME_REPLY, "a", 1);
	if (strcmp(r.log, "out:transcript=hi out:reply=a")) {
		err = 1; goto out;
	}
	/* slow is busy now: data queues, system frames overtake */
	s->hold = true;
	r.len = 0; r.log[0] = 0;
	input(pl, FRAME_REPLY, "b", 1);       /* processed, then busy */
	input(pl, FRAME_REPLY, "c", 1);       /* queued */
	input(pl, FRAME_SPEECH_START, NULL, 1);
	if (strcmp(r.log, "out:reply=b out:speech_start")) {
		err = 2; goto out;
	}
	/* releasing drains the FIFO in order */
	s->hold = false;
	proc_set_busy(s->self, false);
	if (strcmp(r.log, "out:reply=b out:speech_start out:reply=c")) {
		err = 3; goto out;
	}
 out:
	if (err)
		fprintf(stderr, "lanes step %d: %s\n", err, r.log);
	mem_deref(pl);
	mem_deref(s);
	return err;
}


int test_frame_interrupt(void)
{
	struct pipeline *pl = NULL;
	struct slow *s = mem_zalloc(sizeof(*s), NULL);
	struct rec r = {"", 0};
	uint32_t gen;
	int err = 0;

	TEST_ERR(pipeline_alloc(&pl, 3));
	pipeline_add(pl, &slow_ops, s, &s->self);
	pipeline_set_sink(pl, down_h, NULL, NULL, &r);

	s->hold = true;
	input(pl, FRAME_REPLY, "one", 1);        /* busy from here */
	input(pl, FRAME_REPLY, "two", 1);        /* queued, gen 1 */
	input(pl, FRAME_TRANSCRIPT, "caller", 1);/* queued, caller's */
	input(pl, FRAME_SAY, "filler", 1);       /* queued, gen 1 */
	r.len = 0; r.log[0] = 0;

	gen = pipeline_interrupt(pl);
	if (gen != 2 || s->interrupts != 1 ||
	    strcmp(r.log, "out:interrupt")) {
		err = 1; goto out;
	}
	/* a late result of the old generation is dropped on arrival */
	input(pl, FRAME_REPLY, "late", 1);
	input(pl, FRAME_REPLY, "new", 2);
	s->hold = false;
	proc_set_busy(s->self, false);
	if (strcmp(r.log, "out:interrupt out:transcript=caller "
		   "out:reply=new")) {
		err = 2; goto out;
	}
	if (pipeline_dropped(pl) != 3) {
		err = 3; goto out;
	}
 out:
	if (err)
		fprintf(stderr, "interrupt step %d: %s (dropped %llu)\n", err,
			r.log, (unsigned long long)pipeline_dropped(pl));
	mem_deref(pl);
	mem_deref(s);
	return err;
}


int test_frame_bounded(void)
{
	struct pipeline *pl = NULL;
	struct slow *s = mem_zalloc(sizeof(*s), NULL);
	struct rec r = {"", 0};
	char t[8];

	TEST_ERR(pipeline_alloc(&pl, 2));
	pipeline_add(pl, &slow_ops, s, &s->self);
	pipeline_set_sink(pl, down_h, NULL, NULL, &r);
	s->hold = true;
	for (int i = 0; i < 6; i++) {
		re_snprintf(t, sizeof(t), "%d", i);
		input(pl, FRAME_REPLY, t, 1);
	}
	/* 0 processed, FIFO of 2 keeps the newest two (4, 5) */
	TEST_EQ(proc_queued(s->self), 2);
	s->hold = false;
	proc_set_busy(s->self, false);
	TEST_STREQ(r.log, "out:reply=0 out:reply=4 out:reply=5");
	TEST_EQ(pipeline_dropped(pl), 3);
	mem_deref(pl);
	mem_deref(s);
	return 0;
}
