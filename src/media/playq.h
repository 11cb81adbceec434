/*
 * playq.h  Agent playout queue: the pipeline pushes 16 kHz PCM of any
 *          length; the media tick pulls exactly one 20 ms frame every
 *          20 ms. Flushing fades out the current frame so a barge-in never
 *          clicks. Single producer / single consumer across threads,
 *          lock-free, fixed capacity set at creation.
 */
#ifndef AGENTLINE_PLAYQ_H
#define AGENTLINE_PLAYQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct playq;

int    playq_alloc(struct playq **pqp, size_t capacity_samples);
/* Producer: append up to n samples; returns samples accepted (may be less
 * when full). */
size_t playq_push(struct playq *pq, const int16_t *pcm, size_t n);
/* Consumer: fill one frame of n samples; returns true if any real audio
 * was in it (rest is silence). */
bool   playq_pull(struct playq *pq, int16_t *frame, size_t n);
/* Any thread: drop queued audio; the next pulled frame fades out the
 * first fade_samples of what was playing. */
void   playq_flush(struct playq *pq, size_t fade_samples);
size_t playq_level(const struct playq *pq);

#endif
