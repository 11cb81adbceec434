/*
 * ttsout.h  Output stage shared by the local TTS engines: takes the
 *           engine's 16-bit mono PCM at its own rate, resamples it to
 *           16 kHz with speexdsp (pass-through when already 16 kHz) and
 *           hands it to the tts_audio_h in chunks, stopping for good once
 *           the handler returns true (barge-in).
 *
 * One per session, used by one worker thread at a time.  At the end of a
 * sentence ttsout_flush() pushes the resampler's tail out, cut to the
 * length the input implies.
 */
#ifndef AGENTLINE_TTSOUT_H
#define AGENTLINE_TTSOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "engines/engine.h"

struct ttsout;

/* A resampler from in_rate to 16 kHz (none when in_rate is 16 kHz).
 * Returns EINVAL or ENOMEM. */
int  ttsout_alloc(struct ttsout **op, unsigned in_rate);
/* Start a sentence: handler set, counters and stop flag cleared, the
 * resampler's history cleared; with skip_zeros its initial latency is
 * skipped as well, so output starts with the first input sample. */
void ttsout_start(struct ttsout *o, tts_audio_h *audioh, void *arg,
		  bool skip_zeros);
/* Resample and deliver n samples; nothing once stopped. */
void ttsout_push(struct ttsout *o, const int16_t *pcm, size_t n);
/* End of the sentence: the resampler's tail (nothing in pass-through). */
void ttsout_flush(struct ttsout *o);
bool ttsout_stopped(const struct ttsout *o);
unsigned ttsout_rate(const struct ttsout *o);
/* Input samples pushed since ttsout_start(). */
uint64_t ttsout_samples_in(const struct ttsout *o);

#endif
