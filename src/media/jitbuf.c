/*
 * jitbuf.c  Fixed-size receive jitter buffer.
 *
 * The ring is a window of max_frames consecutive sequence numbers starting
 * at next_seq (the next packet to play); slot head holds next_seq. Sequence
 * numbers are compared as int16_t differences, so 65535 -> 0 wraps
 * naturally. All slots and payload storage are allocated once.
 *
 * Used by one thread at a time (the call's media thread).
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "media/jitbuf.h"

enum {
	JITBUF_MAX_FRAMES = 1024,
	JITBUF_RESYNC_GAP = 100,   /* seq jump that means a new stream */
};

struct slot {
	uint32_t ts;
	uint16_t seq;
	uint16_t used;
	size_t len;
	uint8_t *payload;          /* points into jitbuf.storage */
};

enum { SHRINK_AFTER = 50 };  /* gets (1 s) of spare depth before shrinking */

struct jitbuf {
	struct slot *slots;
	uint8_t *storage;
	unsigned cap;
	unsigned min_frames;
	size_t max_payload;

	bool started;              /* next_seq is valid */
	bool playing;              /* prefill done */
	bool released;             /* a seq was played or lost: no going back */
	uint16_t next_seq;
	unsigned head;             /* slot index of next_seq */
	uint16_t high_seq;         /* highest buffered seq (depth > 0) */
	unsigned excess;           /* consecutive gets with spare depth */

	struct jitbuf_stats st;
};


static void destructor(void *arg)
{
	struct jitbuf *jb = arg;

	mem_deref(jb->slots);
	mem_deref(jb->storage);
}


int jitbuf_alloc(struct jitbuf **jbp, unsigned min_frames,
		 unsigned max_frames, size_t max_payload)
{
	struct jitbuf *jb;
	int err = 0;

	if (!jbp || !max_frames || max_frames > JITBUF_MAX_FRAMES ||
	    min_frames > max_frames || !max_payload ||
	    max_payload > 65536)
		return EINVAL;

	jb = mem_zalloc(sizeof(*jb), destructor);
	if (!jb)
		return ENOMEM;

	jb->cap = max_frames;
	jb->min_frames = min_frames ? min_frames : 1;
	jb->max_payload = max_payload;
	jb->slots = mem_zalloc(max_frames * sizeof(*jb->slots), NULL);
	jb->storage = mem_alloc(max_frames * max_payload, NULL);
	if (!jb->slots || !jb->storage) {
		err = ENOMEM;
		goto out;
	}

	for (unsigned i = 0; i < max_frames; i++)
		jb->slots[i].payload = jb->storage + i * max_payload;

 out:
	if (err)
		mem_deref(jb);
	else
		*jbp = jb;

	return err;
}


static inline struct slot *slot_at(const struct jitbuf *jb, unsigned off)
{
	return &jb->slots[(jb->head + off) % jb->cap];
}


/* Drop the head slot and move the window one sequence number on. */
static void advance(struct jitbuf *jb)
{
	struct slot *s = slot_at(jb, 0);

	if (s->used) {
		s->used = 0;
		--jb->st.depth;
	}
	jb->head = (jb->head + 1) % jb->cap;
	++jb->next_seq;
	jb->released = true;
}


static void reset(struct jitbuf *jb)
{
	for (unsigned i = 0; i < jb->cap; i++)
		jb->slots[i].used = 0;

	jb->st.depth = 0;
	jb->started = false;
	jb->playing = false;
	jb->released = false;
	jb->head = 0;
}


/* Skip leading holes so playout (re)starts at the first packet we have. */
static void skip_holes(struct jitbuf *jb)
{
	while (jb->st.depth && !slot_at(jb, 0)->used)
		advance(jb);
}


int jitbuf_put(struct jitbuf *jb, uint16_t seq, uint32_t ts,
	       const uint8_t *payload, size_t len)
{
	struct slot *s;
	int d;

	if (!jb || (!payload && len))
		return EINVAL;
	if (len > jb->max_payload)
		return EMSGSIZE;

	if (!jb->started) {
		jb->started = true;
		jb->next_seq = seq;
		jb->head = 0;
	}

	d = (int16_t)(uint16_t)(seq - jb->next_seq);

	if (d < -JITBUF_RESYNC_GAP || d > JITBUF_RESYNC_GAP) {
		/* stream restart: the old window means nothing now */
		reset(jb);
		jb->started = true;
		jb->next_seq = seq;
		d = 0;
	}
	else if (d < 0) {
		unsigned span = jb->st.depth ?
			(uint16_t)(jb->high_seq - jb->next_seq) + 1u : 0;

		/* before playout, an early reordered packet may still move
		 * the window back if everything fits */
		if (jb->released || span + (unsigned)-d > jb->cap) {
			++jb->st.n_late;
			return EALREADY;
		}
		jb->head = (jb->head + jb->cap - (unsigned)-d % jb->cap) %
			jb->cap;
		jb->next_seq = seq;
		d = 0;
	}

	/* make room: drop the oldest until seq fits in the window */
	while ((unsigned)d >= jb->cap) {
		if (slot_at(jb, 0)->used)
			++jb->st.n_overflow;
		advance(jb);
		--d;
	}

	s = slot_at(jb, (unsigned)d);
	if (s->used) {
		++jb->st.n_dup;
		return EALREADY;
	}

	s->used = 1;
	s->seq = seq;
	s->ts = ts;
	s->len = len;
	if (len)
		memcpy(s->payload, payload, len);

	if (!jb->st.depth || (int16_t)(uint16_t)(seq - jb->high_seq) > 0)
		jb->high_seq = seq;
	++jb->st.depth;
	++jb->st.n_put;

	if (!jb->playing && jb->st.depth >= jb->min_frames) {
		skip_holes(jb);
		jb->playing = true;
	}

	return 0;
}


enum jitbuf_res jitbuf_get(struct jitbuf *jb, uint8_t *buf, size_t *lenp)
{
	struct slot *s;

	if (!jb || !jb->playing)
		return JITBUF_EMPTY;

	if (!jb->st.depth) {
		/* underflow: build up min_frames again before playing */
		jb->playing = false;
		++jb->st.n_underflow;
		return JITBUF_EMPTY;
	}

	/* a sender that started early (or a burst) leaves the buffer deeper
	 * than needed for the rest of the call: after a second of spare
	 * depth, drop one frame, so latency returns to min_frames */
	if (jb->st.depth > jb->min_frames + 1) {
		if (++jb->excess >= SHRINK_AFTER) {
			jb->excess = 0;
			advance(jb);
			++jb->st.n_shrink;
		}
	}
	else {
		jb->excess = 0;
	}

	s = slot_at(jb, 0);
	if (!s->used || !buf || !lenp || *lenp < s->len) {
		advance(jb);
		++jb->st.n_lost;
		return JITBUF_LOST;
	}

	memcpy(buf, s->payload, s->len);
	*lenp = s->len;
	advance(jb);
	++jb->st.n_get;

	return JITBUF_FRAME;
}


int jitbuf_peek(const struct jitbuf *jb, uint8_t *buf, size_t *lenp)
{
	const struct slot *s;

	if (!jb || !buf || !lenp)
		return EINVAL;
	if (!jb->playing || !jb->st.depth)
		return ENOENT;

	s = slot_at(jb, 0);
	if (!s->used)
		return ENOENT;
	if (*lenp < s->len)
		return EOVERFLOW;

	memcpy(buf, s->payload, s->len);
	*lenp = s->len;
	return 0;
}


void jitbuf_flush(struct jitbuf *jb)
{
	if (!jb)
		return;

	reset(jb);
}


void jitbuf_stats(const struct jitbuf *jb, struct jitbuf_stats *st)
{
	if (!jb || !st)
		return;

	*st = jb->st;
}
