/*
 * pacer.h  Deadline arithmetic of the 20 ms media clock: deadlines are
 *          start + n * period on a monotonic clock (no drift), a wake-up up
 *          to `early_us` before its deadline counts, and a stall longer
 *          than `resync_us` restarts the schedule instead of bursting.
 *          Pure logic (time is passed in) so it is tested without sleeping.
 */
#ifndef AGENTLINE_PACER_H
#define AGENTLINE_PACER_H

#include <stdbool.h>
#include <stdint.h>

struct pacer {
	uint64_t next_us;     /* deadline of the next tick            */
	uint32_t period_us;
	uint32_t early_us;
	uint32_t resync_us;
	uint64_t ticks;       /* ticks run                            */
	uint64_t resyncs;
};

void pacer_init(struct pacer *p, uint64_t now_us, uint32_t period_us);
/* Is a tick due at now_us? If so, advances the schedule and stores how
 * late it is in *late_us. */
bool pacer_due(struct pacer *p, uint64_t now_us, uint64_t *late_us);
/* Microseconds from now_us until the next deadline (0 if already due). */
uint64_t pacer_wait(const struct pacer *p, uint64_t now_us);

#endif
