/*
 * test_playq.c  Playout queue: framing, capacity, wraparound, flush with
 *               a click-free fade, and a producer/consumer thread pair.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <re.h>
#include "media/playq.h"
#include "test.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum { FRAME = 320 };


int test_playq_basic(void)
{
	struct playq *pq = NULL;
	int16_t in[1000], out[FRAME];

	for (int i = 0; i < 1000; i++)
		in[i] = (int16_t)(i + 1);

	TEST_EQ(playq_alloc(&pq, 0), EINVAL);
	TEST_ERR(playq_alloc(&pq, 1000));  /* not a power of two */

	TEST_ASSERT(!playq_pull(pq, out, FRAME));
	for (int i = 0; i < FRAME; i++)
		TEST_EQ(out[i], 0);

	TEST_EQ(playq_push(pq, in, 1000), 1000);
	TEST_EQ(playq_push(pq, in, 10), 0);       /* full at capacity */
	TEST_EQ(playq_level(pq), 1000);

	/* frames come out in order; the last one is padded with silence */
	for (int fr = 0; fr < 4; fr++) {
		bool audio = playq_pull(pq, out, FRAME);
		TEST_ASSERT(audio);
		for (int i = 0; i < FRAME; i++) {
			int k = fr * FRAME + i;
			TEST_EQ(out[i], k < 1000 ? k + 1 : 0);
		}
	}
	TEST_EQ(playq_level(pq), 0);

	/* many laps around the ring */
	for (int lap = 0; lap < 100; lap++) {
		TEST_EQ(playq_push(pq, in, 333), 333);
		TEST_EQ(playq_push(pq, in + 333, 333), 333);
		TEST_ASSERT(playq_pull(pq, out, FRAME));
		TEST_EQ(out[0], 1);
		TEST_EQ(out[FRAME - 1], FRAME);
		TEST_ASSERT(playq_pull(pq, out, FRAME));
		TEST_EQ(out[0], FRAME + 1);
		TEST_ASSERT(playq_pull(pq, out, FRAME));
		TEST_EQ(out[0], 2 * FRAME + 1);
		TEST_EQ(out[2 * 333 - 2 * FRAME - 1], 666);
		TEST_EQ(out[2 * 333 - 2 * FRAME], 0);
	}

	mem_deref(pq);
	return 0;
}


static int max_step(const int16_t *x, size_t n, int16_t prev)
{
	int m = abs(x[0] - prev);

	for (size_t i = 1; i < n; i++) {
		int d = abs(x[i] - x[i - 1]);
		if (d > m)
			m = d;
	}

	return m;
}


int test_playq_flush(void)
{
	static int16_t tone[16000], tone2[FRAME];
	struct playq *pq = NULL;
	int16_t out[FRAME], prev;
	/* a 400 Hz tone at 12000 moves at most 2*pi*400/16000*12000 ~ 1885
	 * per sample; anything much larger is a click */
	const int bound = 2000;

	for (size_t i = 0; i < ARRAY_SIZE(tone); i++)
		tone[i] = (int16_t)lrint(12000 * sin(2 * M_PI * 400 *
						     (double)i / 16000));
	for (size_t i = 0; i < FRAME; i++)
		tone2[i] = 1000;

	TEST_ERR(playq_alloc(&pq, 16000));
	TEST_EQ(playq_push(pq, tone, ARRAY_SIZE(tone)), ARRAY_SIZE(tone));

	/* stop mid-cycle: frames of 320 do not hold whole 400 Hz periods
	 * (40 samples), so end inside one */
	for (int i = 0; i < 3; i++)
		TEST_ASSERT(playq_pull(pq, out, FRAME - 17));
	prev = out[FRAME - 18];
	TEST_ASSERT(abs(prev) > 3000);

	playq_flush(pq, 160);
	/* pushed after the flush (before the consumer saw it): survives */
	TEST_EQ(playq_push(pq, tone2, FRAME), FRAME);

	TEST_ASSERT(playq_pull(pq, out, FRAME));
	TEST_ASSERT(max_step(out, FRAME, prev) <= bound);
	TEST_ASSERT(abs(out[0]) > 2000);            /* continues the tone */
	for (int i = 160; i < FRAME; i++)
		TEST_EQ(out[i], 0);
	TEST_EQ(playq_level(pq), FRAME);
	TEST_ASSERT(playq_pull(pq, out, FRAME));
	TEST_EQ(out[0], 1000);
	TEST_ASSERT(!playq_pull(pq, out, FRAME));

	/* flush with new audio pushed after it: old fades, new plays */
	TEST_EQ(playq_push(pq, tone, 4000), 4000);
	TEST_ASSERT(playq_pull(pq, out, FRAME));
	prev = out[FRAME - 1];
	playq_flush(pq, 80);
	TEST_EQ(playq_push(pq, tone2, FRAME), FRAME);
	TEST_ASSERT(playq_pull(pq, out, FRAME));
	TEST_ASSERT(max_step(out, FRAME, prev) <= bound);
	for (int i = 80; i < FRAME; i++)
		TEST_EQ(out[i], 0);
	TEST_ASSERT(playq_pull(pq, out, FRAME));
	TEST_EQ(out[0], 1000);
	TEST_EQ(out[FRAME - 1], 1000);

	/* flush on an empty queue costs nothing */
	playq_flush(pq, 160);
	TEST_ASSERT(!playq_pull(pq, out, FRAME));
	TEST_EQ(playq_push(pq, tone2, FRAME), FRAME);
	TEST_ASSERT(playq_pull(pq, out, FRAME));
	TEST_EQ(out[0], 1000);

	mem_deref(pq);
	return 0;
}


struct spsc {
	struct playq *pq;
	size_t total;
};


static void *producer(void *arg)
{
	struct spsc *t = arg;
	int16_t buf[97];
	size_t next = 0;

	while (next < t->total) {
		size_t n = 0, k;

		while (n < ARRAY_SIZE(buf) && next + n < t->total) {
			buf[n] = (int16_t)((next + n) % 30000 + 1);
			++n;
		}
		k = playq_push(t->pq, buf, n);
		next += k;
		if (!k)
			sched_yield();
	}

	return NULL;
}


/* The consumer must see 1, 2, 3 ... with no gap, repeat or tear. */
int test_playq_threads(void)
{
	struct spsc t = {NULL, 2000000};
	pthread_t th;
	int16_t out[FRAME];
	size_t seen = 0;
	int err = 0;

	TEST_ERR(playq_alloc(&t.pq, 1024));
	TEST_ERR(pthread_create(&th, NULL, producer, &t));

	while (seen < t.total && !err) {
		if (!playq_pull(t.pq, out, FRAME)) {
			sched_yield();
			continue;
		}
		for (int i = 0; i < FRAME && seen < t.total; i++) {
			if (!out[i])
				break;  /* silence pads a short frame */
			if (out[i] != (int16_t)(seen % 30000 + 1)) {
				err = EPROTO;
				break;
			}
			++seen;
		}
	}

	pthread_join(th, NULL);
	mem_deref(t.pq);
	TEST_ERR(err);
	TEST_EQ(seen, t.total);

	return 0;
}
