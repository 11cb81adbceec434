/*
 * test_pacer.c  The media clock's deadlines: no drift over a 30-minute
 *               call whatever the wake-up jitter, no bursts, resync after
 *               a stall.
 */
#include <stdlib.h>
#include "media/pacer.h"
#include "test.h"


int test_pacer_no_drift(void)
{
	const uint32_t period = 20000;
	const uint64_t start = 1000000;
	const uint64_t end = start + 30ull * 60 * 1000000; /* 30 minutes */
	struct pacer p;
	uint64_t now = start, late, maxlate = 0, last_tick = 0;
	uint64_t min_gap = UINT64_MAX;
	unsigned seed = 7;

	pacer_init(&p, now, period);
	while (now < end) {
		/* the loop wakes when told, 0..3 ms late, rarely 1 ms early */
		uint64_t wait = pacer_wait(&p, now);
		uint64_t jitter = (uint64_t)(rand_r(&seed) % 3000);
		now += wait + jitter;
		if (rand_r(&seed) % 50 == 0 && now > 400)
			now -= 400;
		while (pacer_due(&p, now, &late)) {
			if (late > maxlate)
				maxlate = late;
			if (last_tick && now - last_tick < min_gap)
				min_gap = now - last_tick;
			last_tick = now;
		}
	}
	/* exactly one tick per 20 ms of wall time: 90,000 in 30 minutes */
	TEST_ASSERT(p.ticks >= 89999 && p.ticks <= 90000);
	TEST_EQ(p.resyncs, 0);
	TEST_ASSERT(maxlate < 3500);
	/* never two packets closer than the jitter allows */
	TEST_ASSERT(min_gap >= period - 3500);
	return 0;
}


int test_pacer_stall_resync(void)
{
	struct pacer p;
	uint64_t now = 0, late = 0;
	unsigned burst = 0;

	pacer_init(&p, now, 20000);
	now = 20000;
	TEST_ASSERT(pacer_due(&p, now, &late));
	TEST_EQ(late, 0);
	TEST_ASSERT(!pacer_due(&p, now, &late));
	TEST_EQ(pacer_wait(&p, now), 20000);

	/* early by less than 0.5 ms counts; by more does not */
	TEST_ASSERT(!pacer_due(&p, 39000, &late));
	TEST_ASSERT(pacer_due(&p, 39600, &late));

	/* a 50 ms hiccup is caught up (2 ticks), keeping the schedule */
	now = 60000 + 50000;
	while (pacer_due(&p, now, &late))
		burst++;
	TEST_EQ(burst, 3);
	TEST_EQ(p.resyncs, 0);

	/* a 1 s stall resynchronises: one tick, no burst of 50 */
	now += 1000000;
	burst = 0;
	while (pacer_due(&p, now, &late))
		burst++;
	TEST_EQ(burst, 1);
	TEST_EQ(p.resyncs, 1);
	TEST_EQ(pacer_wait(&p, now), 20000);
	return 0;
}
