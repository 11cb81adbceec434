/*
 * test_amd.c  Answering-machine detection on synthetic audio (16 kHz):
 *             voiced noise bursts stand in for speech (a buzz at a
 *             gliding pitch plus noise: energy spread over many
 *             harmonics, as in speech), a sine for the beep.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "pipeline/amd.h"
#include "test.h"

enum { RATE = 16000, FRAME = 320 };

struct sig {
	int16_t *x;
	size_t n, cap;
	uint32_t seed;
	double phase;
};


static int sig_grow(struct sig *s, size_t n)
{
	if (s->n + n <= s->cap)
		return 0;
	s->cap = (s->n + n) * 2;
	s->x = s->x ? mem_realloc(s->x, s->cap * sizeof(int16_t)) :
		mem_alloc(s->cap * sizeof(int16_t), NULL);
	return s->x ? 0 : ENOMEM;
}


static double rnd(struct sig *s)
{
	s->seed = s->seed * 1103515245u + 12345u;
	return ((s->seed >> 8) & 0xffff) / 32768.0 - 1.0;
}


static int silence(struct sig *s, unsigned ms)
{
	size_t n = (size_t)ms * RATE / 1000;

	if (sig_grow(s, n))
		return ENOMEM;
	for (size_t i = 0; i < n; i++)	/* a quiet line, not digital zero */
		s->x[s->n++] = (int16_t)(rnd(s) * 30);
	return 0;
}


/* A syllable: a buzz whose pitch glides (110..190 Hz) through a
 * raised-cosine envelope, plus noise. */
static int syllable(struct sig *s, unsigned ms)
{
	size_t n = (size_t)ms * RATE / 1000;
	double f0 = 110 + 80 * fabs(rnd(s));

	if (sig_grow(s, n))
		return ENOMEM;
	for (size_t i = 0; i < n; i++) {
		double env = 0.5 - 0.5 * cos(2 * M_PI * (double)i / (double)n);
		double f = f0 * (1.0 + 0.3 * (double)i / (double)n);
		double saw;

		s->phase += f / RATE;
		s->phase -= floor(s->phase);
		saw = 2.0 * s->phase - 1.0;
		s->x[s->n++] = (int16_t)(env * (6000 * saw + 2500 * rnd(s)));
	}
	return 0;
}


/* Speech: syllables of 120-260 ms with 40-120 ms gaps, for ms. */
static int speech(struct sig *s, unsigned ms)
{
	unsigned done = 0;
	int err = 0;

	while (done < ms && !err) {
		unsigned syl = 120 + (unsigned)(140 * fabs(rnd(s)));
		unsigned gap = 40 + (unsigned)(80 * fabs(rnd(s)));

		err = syllable(s, syl) || silence(s, gap);
		done += syl + gap;
	}
	return err;
}


static int tone(struct sig *s, double hz, unsigned ms, double amp)
{
	size_t n = (size_t)ms * RATE / 1000;

	if (sig_grow(s, n))
		return ENOMEM;
	for (size_t i = 0; i < n; i++)
		s->x[s->n++] = (int16_t)(amp * sin(2 * M_PI * hz * (double)i /
						   RATE));
	return 0;
}


struct result {
	enum amd_event ev[4];
	unsigned at_ms[4];
	const char *reason[4];
	unsigned nev;
	unsigned beep_hz;
};


static int run(struct sig *s, struct result *r)
{
	struct amd *a = NULL;
	int err;

	memset(r, 0, sizeof(*r));
	err = amd_alloc(&a, NULL);
	if (err)
		return err;
	for (size_t i = 0; i + FRAME <= s->n; i += FRAME) {
		enum amd_event ev = amd_frame(a, s->x + i, FRAME);

		if (ev != AMD_EV_NONE && r->nev < 4) {
			r->ev[r->nev] = ev;
			r->reason[r->nev] = amd_reason(a);
			r->at_ms[r->nev++] = (unsigned)((i + FRAME) * 1000 /
							RATE);
		}
	}
	r->beep_hz = amd_beep_hz(a);
	mem_deref(a);
	return 0;
}


static void dump(const char *what, const struct result *r)
{
	fprintf(stderr, "%s:", what);
	for (unsigned i = 0; i < r->nev; i++)
		fprintf(stderr, " ev%d@%ums(%s)", r->ev[i], r->at_ms[i],
			r->reason[i]);
	fprintf(stderr, " beep %u Hz\n", r->beep_hz);
}


/* 6 s of continuous speech, 300 ms of silence, a 1 kHz beep of 500 ms:
 * a machine (at the greeting's 4 s), then the beep's end. */
int test_amd_machine(void)
{
	struct sig s = {.seed = 1};
	struct result r;
	int err;

	err = silence(&s, 400) || speech(&s, 6000) || silence(&s, 300);
	if (!err) {
		size_t beep_end;

		err = tone(&s, 1000, 500, 12000);
		beep_end = s.n * 1000 / RATE;
		err |= silence(&s, 3000);
		if (!err)
			err = run(&s, &r);
		if (!err) {
			dump("machine", &r);
			if (r.nev != 2 || r.ev[0] != AMD_EV_MACHINE ||
			    r.ev[1] != AMD_EV_BEEP ||
			    strcmp(r.reason[1], "beep") ||
			    r.at_ms[0] < 4000 || r.at_ms[0] > 5000 ||
			    r.at_ms[1] < beep_end ||
			    r.at_ms[1] > beep_end + 60 ||
			    r.beep_hz < 975 || r.beep_hz > 1025)
				err = EINVAL;
		}
	}
	mem_deref(s.x);
	return err;
}


/* Speech-like bursts with pauses between them: a person. */
int test_amd_human_bursts(void)
{
	struct sig s = {.seed = 2};
	struct result r;
	int err;

	err = silence(&s, 500) || speech(&s, 1200) || silence(&s, 1000) ||
		speech(&s, 1500) || silence(&s, 1200) || speech(&s, 900) ||
		silence(&s, 2000);
	if (!err)
		err = run(&s, &r);
	if (!err) {
		dump("bursts", &r);
		if (r.nev != 1 || r.ev[0] != AMD_EV_HUMAN ||
		    strcmp(r.reason[0], "pause") || r.at_ms[0] > 3000)
			err = EINVAL;
	}
	mem_deref(s.x);
	return err;
}


/* "Hello?" (two syllables) and then waiting: a person. */
int test_amd_human_hello(void)
{
	struct sig s = {.seed = 3};
	struct result r;
	int err;

	err = silence(&s, 700) || syllable(&s, 180) || silence(&s, 50) ||
		syllable(&s, 320) || silence(&s, 4000);
	if (!err)
		err = run(&s, &r);
	if (!err) {
		dump("hello", &r);
		if (r.nev != 1 || r.ev[0] != AMD_EV_HUMAN ||
		    r.at_ms[0] < 1200 || r.at_ms[0] > 2100)
			err = EINVAL;
	}
	mem_deref(s.x);
	return err;
}


/* A short greeting ended by a beep is a machine; a greeting with no
 * beep ends with silence; a long steady tone (no beep) and a line that
 * stays silent are not machines. */
int test_amd_edges(void)
{
	struct sig s = {.seed = 4};
	struct result r;
	int err;

	/* "Leave a message" (1.5 s), 200 ms, a 440 Hz beep of 800 ms */
	err = speech(&s, 1500) || silence(&s, 200) ||
		tone(&s, 440, 800, 9000) || silence(&s, 1000);
	if (!err)
		err = run(&s, &r);
	if (!err) {
		dump("short greeting + beep", &r);
		if (r.nev != 2 || r.ev[0] != AMD_EV_MACHINE ||
		    strcmp(r.reason[0], "short_greeting_beep") ||
		    r.ev[1] != AMD_EV_BEEP || r.beep_hz < 425 ||
		    r.beep_hz > 455)
			err = EINVAL;
	}
	if (err)
		goto out;

	/* a long greeting and no beep: speak after 3 s of silence */
	s.n = 0;
	err = speech(&s, 5000) || silence(&s, 4000);
	if (!err)
		err = run(&s, &r);
	if (!err) {
		dump("no beep", &r);
		if (r.nev != 2 || r.ev[0] != AMD_EV_MACHINE ||
		    r.ev[1] != AMD_EV_BEEP || strcmp(r.reason[1], "silence"))
			err = EINVAL;
	}
	if (err)
		goto out;

	/* a 4 s steady tone after a word (a fax or dial tone): too long for
	 * a beep, it makes no machine */
	s.n = 0;
	err = syllable(&s, 200) || tone(&s, 1400, 4000, 9000) ||
		silence(&s, 1000);
	if (!err)
		err = run(&s, &r);
	if (!err) {
		dump("long tone", &r);
		for (unsigned i = 0; i < r.nev; i++)
			if (r.ev[i] == AMD_EV_MACHINE || r.ev[i] == AMD_EV_BEEP)
				err = EINVAL;
		if (r.beep_hz)
			err = EINVAL;
	}
	if (err)
		goto out;

	/* silence for the whole window: a person who says nothing yet */
	s.n = 0;
	err = silence(&s, 31000);
	if (!err)
		err = run(&s, &r);
	if (!err) {
		dump("silent", &r);
		if (r.nev != 1 || r.ev[0] != AMD_EV_HUMAN ||
		    strcmp(r.reason[0], "window"))
			err = EINVAL;
	}
 out:
	mem_deref(s.x);
	return err;
}
