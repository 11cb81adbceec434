/*
 * jitbuf.h  Receive jitter buffer for one RTP stream: fixed capacity ring
 *           of payload slots (no allocation per packet), reorders by
 *           sequence number, reports losses so the caller can conceal.
 *
 * Used by one thread at a time (the call's media thread).
 */
#ifndef AGENTLINE_JITBUF_H
#define AGENTLINE_JITBUF_H

#include <stddef.h>
#include <stdint.h>

struct jitbuf;

enum jitbuf_res {
	JITBUF_FRAME = 0,  /* a packet was returned                         */
	JITBUF_LOST,       /* the next packet is missing: conceal one frame  */
	JITBUF_EMPTY,      /* nothing buffered (not started or underflow)    */
};

struct jitbuf_stats {
	uint32_t n_put, n_get, n_lost, n_late, n_dup, n_overflow, n_underflow;
	uint32_t depth;    /* frames currently buffered */
	uint32_t n_shrink; /* frames dropped to bring the depth down */
};

/* min_frames: frames buffered before playout starts (prefill),
 * max_frames: capacity; payloads larger than max_payload are rejected. */
int  jitbuf_alloc(struct jitbuf **jbp, unsigned min_frames,
		  unsigned max_frames, size_t max_payload);
/* Returns 0, or EALREADY (duplicate/late), EMSGSIZE (too big). */
int  jitbuf_put(struct jitbuf *jb, uint16_t seq, uint32_t ts,
		const uint8_t *payload, size_t len);
/* Called once per 20 ms tick. On JITBUF_FRAME copies the payload into
 * buf (room *lenp) and sets *lenp. */
enum jitbuf_res jitbuf_get(struct jitbuf *jb, uint8_t *buf, size_t *lenp);
/* Copy the packet the next jitbuf_get would return, without taking it:
 * after JITBUF_LOST, Opus rebuilds the lost frame from the FEC copy in
 * the next packet. ENOENT when that packet is not here. */
int  jitbuf_peek(const struct jitbuf *jb, uint8_t *buf, size_t *lenp);
void jitbuf_flush(struct jitbuf *jb);
void jitbuf_stats(const struct jitbuf *jb, struct jitbuf_stats *st);

#endif
