/*
 * amd.c  Answering-machine detection (see amd.h): energy for speech and
 *        pauses, Goertzel bins for the beep.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "pipeline/amd.h"

enum {
	RATE          = 16000,
	TONE_LO_HZ    = 400,
	TONE_HI_HZ    = 2000,
	TONE_STEP_HZ  = 25,
	TONE_DRIFT_HZ = 50,       /* a beep holds its frequency           */
	TONE_MAX_MS   = 2500,     /* longer: a dial or fax tone, no beep  */
	WORD_MIN_MS   = 100,      /* a click is not a word                */
};

#define SPEECH_DB     (-45.0)   /* never speech below this (dBFS)      */
#define FLOOR_DB      (10.0)    /* speech: this far above the floor    */
#define TONE_DB       (-40.0)   /* a beep is at least this loud        */
#define TONE_SHARE    (0.6)     /* of the frame energy in one bin      */

enum amd_state { ST_LISTEN = 0, ST_MACHINE, ST_DONE };

struct amd {
	struct amd_params p;
	enum amd_state st;
	bool beep_pending;        /* MACHINE raised, BEEP on next frame  */
	const char *reason;
	unsigned elapsed_ms;
	double floor_db;
	/* speech */
	unsigned stretch_ms;      /* the spoken stretch so far           */
	unsigned gap_ms;          /* non-speech since the last speech    */
	unsigned spoken_ms;       /* all speech heard                    */
	bool tone_gap;            /* a tone since the last speech        */
	/* tone */
	unsigned tone_ms, tone_hz;
	unsigned beep_hz, beep_ms;
};


static const struct amd_params defaults = {
	.greeting_ms = 4000,
	.pause_ms    = 700,
	.beep_min_ms = 200,
	.nobeep_ms   = 3000,
	.window_ms   = 30000,
};


int amd_alloc(struct amd **ap, const struct amd_params *params)
{
	struct amd *a;

	if (!ap)
		return EINVAL;
	a = mem_zalloc(sizeof(*a), NULL);
	if (!a)
		return ENOMEM;
	a->p = params ? *params : defaults;
	if (!a->p.greeting_ms || !a->p.pause_ms || !a->p.beep_min_ms ||
	    !a->p.window_ms) {
		mem_deref(a);
		return EINVAL;
	}
	a->floor_db = -70.0;
	a->reason = "";
	*ap = a;
	return 0;
}


/* |X(f)|^2 of the frame at frequency f (Goertzel). */
static double goertzel(const int16_t *x, size_t n, double f)
{
	double w = 2.0 * M_PI * f / RATE, c = 2.0 * cos(w);
	double s1 = 0, s2 = 0;

	for (size_t i = 0; i < n; i++) {
		double s0 = x[i] + c * s1 - s2;

		s2 = s1;
		s1 = s0;
	}
	return s1 * s1 + s2 * s2 - c * s1 * s2;
}


/* The frequency holding most of the frame's energy, 0 if none does. */
static unsigned tone_of(const int16_t *x, size_t n, double sumsq)
{
	double best = 0;
	unsigned hz = 0;

	for (unsigned f = TONE_LO_HZ; f <= TONE_HI_HZ; f += TONE_STEP_HZ) {
		double pw = goertzel(x, n, f);

		if (pw > best) {
			best = pw;
			hz = f;
		}
	}
	/* a sinusoid on the bin gives |X|^2 = sumsq * n / 2 */
	if (sumsq <= 0 || best / (sumsq * (double)n / 2.0) < TONE_SHARE)
		return 0;
	return hz;
}


static enum amd_event decide(struct amd *a, enum amd_state st,
			     enum amd_event ev, const char *reason)
{
	a->st = st;
	a->reason = reason;
	return ev;
}


/* A tone that just ended: was it the beep? */
static bool beep_ended(struct amd *a, unsigned hz)
{
	bool beep;

	if (!a->tone_ms || (hz && (unsigned)abs((int)hz - (int)a->tone_hz) <=
			    TONE_DRIFT_HZ))
		return false;   /* no tone, or it goes on */
	beep = a->tone_ms >= a->p.beep_min_ms && a->tone_ms <= TONE_MAX_MS;
	if (beep) {
		a->beep_hz = a->tone_hz;
		a->beep_ms = a->tone_ms;
	}
	a->tone_ms = 0;
	return beep;
}


enum amd_event amd_frame(struct amd *a, const int16_t *pcm, size_t n)
{
	double sumsq = 0, db;
	unsigned ms, hz = 0;
	bool speech, beep;

	if (!a || !pcm || !n || a->st == ST_DONE)
		return AMD_EV_NONE;
	if (a->beep_pending) {
		a->beep_pending = false;
		return decide(a, ST_DONE, AMD_EV_BEEP, a->reason);
	}
	ms = (unsigned)(n * 1000 / RATE);
	a->elapsed_ms += ms;

	for (size_t i = 0; i < n; i++)
		sumsq += (double)pcm[i] * pcm[i];
	db = sumsq > 0 ? 10.0 * log10(sumsq / (double)n / (32768.0 * 32768.0))
		: -100.0;
	if (db > TONE_DB)
		hz = tone_of(pcm, n, sumsq);

	/* the tone: a beep is reported when it ends */
	beep = beep_ended(a, hz);
	if (hz) {
		if (!a->tone_ms)
			a->tone_hz = hz;
		a->tone_ms += ms;
	}

	/* speech: loud enough, above the line's floor, not a tone */
	speech = !hz && db > SPEECH_DB && db > a->floor_db + FLOOR_DB;
	if (!speech && !hz) {
		a->floor_db += 0.05 * (db - a->floor_db);
		if (a->floor_db < -90.0)
			a->floor_db = -90.0;
	}
	if (hz)
		a->tone_gap = true;
	if (speech) {
		/* short gaps belong to the stretch; a tone breaks it */
		if (a->stretch_ms && !a->tone_gap)
			a->stretch_ms += a->gap_ms;
		else if (a->tone_gap)
			a->stretch_ms = 0;
		a->tone_gap = false;
		a->stretch_ms += ms;
		a->spoken_ms += ms;
		a->gap_ms = 0;
	}
	else {
		a->gap_ms += ms;
	}

	if (a->st == ST_LISTEN) {
		if (beep && a->spoken_ms >= WORD_MIN_MS) {
			/* a short greeting, then the beep */
			a->beep_pending = true;
			return decide(a, ST_MACHINE, AMD_EV_MACHINE,
				      "short_greeting_beep");
		}
		if (a->stretch_ms >= a->p.greeting_ms)
			return decide(a, ST_MACHINE, AMD_EV_MACHINE,
				      "greeting");
		/* a tone in progress may be the beep: wait for its end */
		if (a->stretch_ms && a->gap_ms >= a->p.pause_ms &&
		    !a->tone_ms) {
			if (a->stretch_ms >= WORD_MIN_MS)
				return decide(a, ST_DONE, AMD_EV_HUMAN,
					      "pause");
			a->stretch_ms = 0;   /* a click: keep listening */
		}
		if (a->elapsed_ms >= a->p.window_ms)
			return decide(a, ST_DONE, AMD_EV_HUMAN, "window");
		return AMD_EV_NONE;
	}

	/* ST_MACHINE: wait for the end of the greeting */
	if (beep)
		return decide(a, ST_DONE, AMD_EV_BEEP, "beep");
	if (a->p.nobeep_ms && !a->tone_ms && a->gap_ms >= a->p.nobeep_ms)
		return decide(a, ST_DONE, AMD_EV_BEEP, "silence");
	if (a->elapsed_ms >= a->p.window_ms)
		return decide(a, ST_DONE, AMD_EV_BEEP, "window");
	return AMD_EV_NONE;
}


const char *amd_reason(const struct amd *a)
{
	return a ? a->reason : "";
}


unsigned amd_beep_hz(const struct amd *a)
{
	return a ? a->beep_hz : 0;
}


unsigned amd_beep_ms(const struct amd *a)
{
	return a ? a->beep_ms : 0;
}


unsigned amd_elapsed_ms(const struct amd *a)
{
	return a ? a->elapsed_ms : 0;
}
