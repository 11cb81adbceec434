/*
 * amd.h  Answering-machine detection for outbound task calls: listens to
 *        the callee's first seconds (16 kHz, 20 ms frames) and tells a
 *        person from a machine.
 *
 *   - a person says something short ("Hello?") and waits: a spoken
 *     stretch shorter than greeting_ms ended by a pause of pause_ms;
 *   - a machine plays a long greeting (greeting_ms of speech without a
 *     pause of pause_ms), then usually a beep: a steady tone of
 *     400-2000 Hz lasting beep_min_ms..1.5 s.
 *
 * Speech is frame energy above an adaptive floor; a tone is one Goertzel
 * bin (25 Hz steps over 400-2000 Hz) holding most of the frame's energy
 * at the same frequency, frame after frame.  A short greeting ended by a
 * beep is a machine too.  After the greeting, the beep's end (or, with no
 * beep, nobeep_ms of silence, or the end of the window) says when to
 * speak.
 *
 * Pure computation, no libre timers: one object per call, fed from the
 * main thread.
 */
#ifndef AGENTLINE_AMD_H
#define AGENTLINE_AMD_H

#include <stddef.h>
#include <stdint.h>

struct amd_params {
	unsigned greeting_ms;   /* speech without a pause: a machine    */
	unsigned pause_ms;      /* silence that ends a spoken stretch   */
	unsigned beep_min_ms;   /* shortest tone taken as the beep      */
	unsigned nobeep_ms;     /* after the greeting, silence this long
				   without a beep: speak anyway         */
	unsigned window_ms;     /* give up deciding after this long     */
};

enum amd_event {
	AMD_EV_NONE = 0,
	AMD_EV_HUMAN,           /* a person answered: detection ends    */
	AMD_EV_MACHINE,         /* a machine's greeting is playing      */
	AMD_EV_BEEP,            /* the greeting is over (beep ended, or
				   silence, or the window): speak now   */
};

struct amd;

/* params NULL = defaults (4000, 700, 200, 3000, 30000 ms). */
int  amd_alloc(struct amd **ap, const struct amd_params *params);
/* One frame of the callee's audio (16 kHz mono); returns what was decided
 * with it.  Every event comes once, in the order HUMAN, or MACHINE then
 * BEEP (MACHINE and BEEP may come from the same frame: the caller sees
 * MACHINE first and BEEP on the next frame).  After HUMAN or BEEP the
 * detector is done and returns AMD_EV_NONE. */
enum amd_event amd_frame(struct amd *a, const int16_t *pcm, size_t n);
/* Why the last event was raised: "greeting", "short_greeting_beep",
 * "beep", "silence", "window", "pause". */
const char *amd_reason(const struct amd *a);
/* The beep's frequency in Hz (0 if none was heard) and its length. */
unsigned amd_beep_hz(const struct amd *a);
unsigned amd_beep_ms(const struct amd *a);
/* Milliseconds of audio fed so far. */
unsigned amd_elapsed_ms(const struct amd *a);

#endif
