/*
 * pacer.c  Deadline arithmetic of the media clock.
 */
#include "media/pacer.h"


void pacer_init(struct pacer *p, uint64_t now_us, uint32_t period_us)
{
	p->period_us = period_us;
	p->early_us = 500;
	p->resync_us = 10 * period_us;
	p->next_us = now_us + period_us;
	p->ticks = 0;
	p->resyncs = 0;
}


bool pacer_due(struct pacer *p, uint64_t now_us, uint64_t *late_us)
{
	uint64_t late;

	if (now_us + p->early_us < p->next_us)
		return false;

	late = now_us > p->next_us ? now_us - p->next_us : 0;
	if (late > p->resync_us) {
		/* the loop was blocked: start over rather than burst */
		p->next_us = now_us;
		p->resyncs++;
		late = 0;
	}
	if (late_us)
		*late_us = late;
	p->next_us += p->period_us;
	p->ticks++;
	return true;
}


uint64_t pacer_wait(const struct pacer *p, uint64_t now_us)
{
	return p->next_us > now_us ? p->next_us - now_us : 0;
}
