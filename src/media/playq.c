/*
 * playq.c  Lock-free single-producer single-consumer playout ring.
 *
 * head and tail are free-running sample counters (the ring size is a power
 * of two, so index = counter & mask). The producer only writes head, the
 * consumer only writes tail. A flush from any thread records the head it
 * saw and bumps a generation counter; the consumer applies it on its next
 * pull, so audio pushed after the flush survives and the ring is never
 * written by two threads.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <re.h>
#include "media/playq.h"

enum {
	PLAYQ_MAX_CAPACITY = 16 * 1024 * 1024,
};

struct playq {
	int16_t *ring;
	size_t size;                 /* power of two >= capacity */
	size_t mask;
	size_t capacity;             /* as requested: max queued samples */

	/* atomic */
	atomic_size_t head;          /* written by the producer only */
	atomic_size_t tail;          /* written by the consumer only */
	atomic_size_t flush_pos;     /* head when flush was requested */
	atomic_size_t flush_fade;
	atomic_uint flush_gen;

	/* consumer thread */
	unsigned flush_seen;
};


static void destructor(void *arg)
{
	struct playq *pq = arg;

	mem_deref(pq->ring);
}


int playq_alloc(struct playq **pqp, size_t capacity_samples)
{
	struct playq *pq;
	size_t size = 1;

	if (!pqp || !capacity_samples ||
	    capacity_samples > PLAYQ_MAX_CAPACITY)
		return EINVAL;

	while (size < capacity_samples)
		size <<= 1;

	pq = mem_zalloc(sizeof(*pq), destructor);
	if (!pq)
		return ENOMEM;

	/* not zeroed: only samples between tail and head are ever read, and
	 * untouched pages cost no memory */
	pq->ring = mem_alloc(size * sizeof(int16_t), NULL);
	if (!pq->ring) {
		mem_deref(pq);
		return ENOMEM;
	}

	pq->size = size;
	pq->mask = size - 1;
	pq->capacity = capacity_samples;
	atomic_init(&pq->head, 0);
	atomic_init(&pq->tail, 0);
	atomic_init(&pq->flush_pos, 0);
	atomic_init(&pq->flush_fade, 0);
	atomic_init(&pq->flush_gen, 0);

	*pqp = pq;

	return 0;
}


/* Producer thread only. */
size_t playq_push(struct playq *pq, const int16_t *pcm, size_t n)
{
	size_t head, tail, room, idx, first;

	if (!pq || !pcm)
		return 0;

	head = atomic_load_explicit(&pq->head, memory_order_relaxed);
	tail = atomic_load_explicit(&pq->tail, memory_order_acquire);
	room = pq->capacity - (head - tail);
	if (n > room)
		n = room;
	if (!n)
		return 0;

	idx = head & pq->mask;
	first = pq->size - idx;
	if (first > n)
		first = n;
	memcpy(pq->ring + idx, pcm, first * sizeof(int16_t));
	memcpy(pq->ring, pcm + first, (n - first) * sizeof(int16_t));

	atomic_store_explicit(&pq->head, head + n, memory_order_release);

	return n;
}


static void ring_read(const struct playq *pq, size_t tail, int16_t *out,
		      size_t n)
{
	size_t idx = tail & pq->mask;
	size_t first = pq->size - idx;

	if (first > n)
		first = n;
	memcpy(out, pq->ring + idx, first * sizeof(int16_t));
	memcpy(out + first, pq->ring, (n - first) * sizeof(int16_t));
}


/* Consumer thread only. */
bool playq_pull(struct playq *pq, int16_t *frame, size_t n)
{
	size_t head, tail, avail, k;
	unsigned gen;

	if (!frame)
		return false;
	if (!pq) {
		memset(frame, 0, n * sizeof(int16_t));
		return false;
	}

	head = atomic_load_explicit(&pq->head, memory_order_acquire);
	tail = atomic_load_explicit(&pq->tail, memory_order_relaxed);

	gen = atomic_load_explicit(&pq->flush_gen, memory_order_acquire);
	if (gen != pq->flush_seen) {
		size_t pos = atomic_load_explicit(&pq->flush_pos,
						  memory_order_relaxed);
		size_t fade = atomic_load_explicit(&pq->flush_fade,
						   memory_order_relaxed);
		size_t old = pos - tail;

		pq->flush_seen = gen;

		/* pos behind tail (already played): nothing to drop */
		if (old && old <= head - tail) {
			if (fade > n)
				fade = n;
			if (fade > old)
				fade = old;

			ring_read(pq, tail, frame, fade);
			for (size_t i = 0; i < fade; i++) {
				frame[i] = (int16_t)((int32_t)frame[i] *
					   (int32_t)(fade - i) /
					   (int32_t)(fade + 1));
			}
			memset(frame + fade, 0,
			       (n - fade) * sizeof(int16_t));

			atomic_store_explicit(&pq->tail, pos,
					      memory_order_release);
			return fade > 0;
		}
	}

	avail = head - tail;
	k = avail < n ? avail : n;
	ring_read(pq, tail, frame, k);
	memset(frame + k, 0, (n - k) * sizeof(int16_t));

	atomic_store_explicit(&pq->tail, tail + k, memory_order_release);

	return k > 0;
}


/* Any thread. */
void playq_flush(struct playq *pq, size_t fade_samples)
{
	if (!pq)
		return;

	atomic_store_explicit(&pq->flush_pos,
			      atomic_load_explicit(&pq->head,
						   memory_order_acquire),
			      memory_order_relaxed);
	atomic_store_explicit(&pq->flush_fade, fade_samples,
			      memory_order_relaxed);
	atomic_fetch_add_explicit(&pq->flush_gen, 1, memory_order_release);
}


/* Any thread; a snapshot that may be stale by the time it is used. */
size_t playq_level(const struct playq *pq)
{
	size_t tail, head;

	if (!pq)
		return 0;

	tail = atomic_load_explicit(&((struct playq *)pq)->tail,
				    memory_order_acquire);
	head = atomic_load_explicit(&((struct playq *)pq)->head,
				    memory_order_acquire);

	return head - tail;
}
