/*
 * vad_energy.c  Energy VAD: frame level against an adaptive noise floor.
 *
 * Cheap and dependency-free (the fallback when Silero is not installed).
 * Each fed frame is DC/hum-filtered (first-order high-pass at ~100 Hz),
 * its level taken in dB full scale, and compared with a noise floor that
 * follows the minimum level over the last ~2 s (minimum statistics: the
 * floor drops at once with the noise, and rises within 2 s when the line
 * gets noisier, but not during speech, whose pauses keep the minimum low).
 * The speech probability is a logistic function of the level above that
 * floor, gated by an absolute level so that G.711's idle-channel noise and
 * digital silence never count as speech.
 *
 * Threads: one instance per call, used by one thread at a time.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/engine.h"

#define MOD "vad"

enum {
	EVAD_BIN_MS = 100,       /* minimum over this span is one bin     */
	EVAD_BINS = 10,          /* floor = minimum of the last 1 s       */
	EVAD_SRATE = 16000,
};

#define EVAD_SNR_MID   9.0f  /* dB above the floor for p = 0.5       */
#define EVAD_SNR_SLOPE 1.5f  /* dB per logistic unit                  */
#define EVAD_ABS_MID  -55.0f /* dBFS below which nothing is speech    */
#define EVAD_ABS_SLOPE 2.0f
#define EVAD_FLOOR_MIN -80.0f
#define EVAD_FLOOR_INIT -60.0f
#define EVAD_FLOOR_SEED_MAX -45.0f

struct evad {
	float hp_x, hp_y;        /* high-pass filter state                 */
	float bins[EVAD_BINS];   /* minimum level of each past bin (dB)    */
	unsigned bin;            /* current bin index                      */
	float bin_min;           /* minimum so far in the current bin      */
	size_t bin_samples;      /* samples counted into the current bin   */
	float floor;             /* noise floor (dB)                       */
	float level;             /* smoothed frame level (dB)              */
	bool primed;
};


static int evad_init(const struct conf *conf)
{
	return 0;
}


static void evad_close(void)
{
}


static void evad_reset(void *arg)
{
	struct evad *v = arg;

	if (!v)
		return;
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < EVAD_BINS; i++)
		v->bins[i] = EVAD_FLOOR_INIT;
	v->bin_min = 0;
	v->floor = EVAD_FLOOR_INIT;
	v->level = EVAD_FLOOR_MIN;
}


static int evad_alloc(void **stp, const struct conf *conf)
{
	struct evad *v;

	if (!stp)
		return EINVAL;
	v = mem_zalloc(sizeof(*v), NULL);
	if (!v)
		return ENOMEM;
	evad_reset(v);
	*stp = v;
	return 0;
}


static float logistic(float x)
{
	return 1.0f / (1.0f + expf(-x));
}


static void floor_update(struct evad *v, float db, size_t n)
{
	float m;

	if (db < v->bin_min)
		v->bin_min = db;
	v->bin_samples += n;

	if (v->bin_samples >= EVAD_SRATE * EVAD_BIN_MS / 1000) {
		v->bins[v->bin] = v->bin_min;
		v->bin = (v->bin + 1) % EVAD_BINS;
		v->bin_min = 0;
		v->bin_samples = 0;
	}

	m = v->bin_min;
	for (size_t i = 0; i < EVAD_BINS; i++)
		m = v->bins[i] < m ? v->bins[i] : m;
	if (m < EVAD_FLOOR_MIN)
		m = EVAD_FLOOR_MIN;

	/* falls at once, rises smoothly */
	v->floor = m < v->floor ? m : v->floor + 0.3f * (m - v->floor);
}


/* Any thread (one instance at a time); no allocation. */
static int evad_process(void *arg, const int16_t *pcm, size_t n,
			float *probp)
{
	struct evad *v = arg;
	double sum = 0;
	float db, p;

	if (!v || !pcm || !n || !probp)
		return EINVAL;

	for (size_t i = 0; i < n; i++) {
		/* y[n] = x[n] - x[n-1] + a y[n-1], a = 0.96: ~100 Hz */
		float x = pcm[i];
		float y = x - v->hp_x + 0.96f * v->hp_y;

		v->hp_x = x;
		v->hp_y = y;
		sum += (double)y * y;
	}

	db = (float)(10.0 * log10(sum / (double)n / (32768.0 * 32768.0) +
				  1e-10));

	if (!v->primed) {
		/* the first frame seeds the floor, but never above a quiet
		 * line's level: a call may start with speech */
		float seed = db < EVAD_FLOOR_SEED_MAX ? db : EVAD_FLOOR_SEED_MAX;

		seed = seed < EVAD_FLOOR_MIN ? EVAD_FLOOR_MIN : seed;
		for (size_t i = 0; i < EVAD_BINS; i++)
			v->bins[i] = seed;
		v->floor = seed;
		v->level = db;
		v->primed = true;
	}
	floor_update(v, db, n);

	/* quick attack, slower release: bridges single quiet frames */
	v->level = db > v->level ? db : 0.5f * (v->level + db);

	p = logistic((v->level - v->floor - EVAD_SNR_MID) / EVAD_SNR_SLOPE) *
	    logistic((v->level - EVAD_ABS_MID) / EVAD_ABS_SLOPE);

	*probp = p;
	return 0;
}


const struct vad_ops vad_energy = {
	.name    = "energy",
	.init    = evad_init,
	.close   = evad_close,
	.alloc   = evad_alloc,
	.process = evad_process,
	.reset   = evad_reset,
};
