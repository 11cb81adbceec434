/*
 * webrtc_cost.c  CPU and memory of N calls' media in one process, each
 *                call a pair of agentline media streams on loopback
 *                sending a tone both ways, in one of three modes:
 *
 *   g711    PCMU over plain RTP (a typical phone call)
 *   sdes    PCMU over SDES-SRTP (AES_CM_128_HMAC_SHA1_80)
 *   webrtc  Opus over DTLS-SRTP with ICE (what a browser call costs)
 *
 * Prints one line: mode, calls, CPU % of one core per call (both ends of
 * a call are ours, so per call means per stream: the cost of one call on
 * agentline's side), RSS in KiB per call, how many streams had media up,
 * and the share of 20 ms ticks the media clock kept. bench/webrtc.sh runs
 * the modes interleaved and prints ratios.
 *
 * Usage: webrtc-bench MODE CALLS SECONDS
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <re.h>
#include "core/log.h"
#include "media/stream.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum { MAX_CALLS = 500, TONE = 2 * AUDIO_SRATE };

static struct mstream *msv[2 * MAX_CALLS];
static size_t msc;
static int16_t tone[TONE];
static struct tmr tmr_feed, tmr_end, tmr_up;
static unsigned frames_rx;


static void audio_h(const int16_t *pcm, size_t n, uint64_t ts_ms, void *arg)
{
	(void)pcm;
	(void)n;
	(void)ts_ms;
	(void)arg;
	++frames_rx;
}


static void feed(void *arg)
{
	(void)arg;
	for (size_t i = 0; i < msc; i++) {
		if (mstream_play_level(msv[i]) < 2 * TONE)
			(void)mstream_play(msv[i], tone, TONE);
	}
	tmr_start(&tmr_feed, 500, feed, NULL);
}


static void stop(void *arg)
{
	(void)arg;
	re_cancel();
}


static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		(double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}


static long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VmRSS:", 6))
			kib = strtol(line + 6, NULL, 10);
	}
	fclose(f);
	return kib;
}


static int stream_alloc(struct mstream **msp, const char *mode, bool offerer,
			unsigned i)
{
	struct mstream_cfg cfg;
	char id[32];
	int err;

	memset(&cfg, 0, sizeof(cfg));
	sa_set_str(&cfg.laddr, "127.0.0.1", 0);
	cfg.port_min = 30000;
	cfg.port_max = 39999;
	err = sdpneg_prefs_parse(&cfg.prefs, "PCMU");
	if (err)
		return err;
	cfg.prefs.srtp = !strcmp(mode, "sdes") ? SRTP_MANDATORY : SRTP_OFF;
	cfg.rtp_timeout_secs = 60;
	cfg.jitter_min_ms = 40;
	cfg.jitter_max_ms = 200;
	cfg.webrtc = offerer && !strcmp(mode, "webrtc");
	re_snprintf(id, sizeof(id), "%s-%u", offerer ? "a" : "b", i);

	err = mstream_alloc(msp, &cfg, id, NULL, NULL);
	if (!err)
		mstream_set_audio_handler(*msp, audio_h, NULL);
	return err;
}


static int call_alloc(const char *mode, unsigned i)
{
	struct mstream *a = NULL, *b = NULL;
	struct mbuf *offer = NULL, *answer = NULL;
	const char *reason = NULL;
	uint16_t scode;
	int err;

	err  = stream_alloc(&a, mode, true, i);
	err |= stream_alloc(&b, mode, false, i);
	if (!err)
		err = mstream_offer(a, &offer);
	if (!err)
		err = mstream_offer_decode(b, offer, &answer, &scode, &reason);
	if (!err)
		err = mstream_answer_decode(a, answer);
	if (!err)
		err = mstream_start(a);
	if (!err)
		err = mstream_start(b);
	mem_deref(offer);
	mem_deref(answer);
	if (err) {
		mem_deref(a);
		mem_deref(b);
		return err;
	}
	msv[msc++] = a;
	msv[msc++] = b;
	return 0;
}


static void up_check(void *arg)
{
	struct mstream_stats st;
	size_t up = 0;
	(void)arg;

	for (size_t i = 0; i < msc; i++) {
		mstream_stats(msv[i], &st);
		up += st.rx_packets > 0;
	}
	if (up == msc) {
		re_cancel();
		return;
	}
	tmr_start(&tmr_up, 20, up_check, NULL);
}


int main(int argc, char *argv[])
{
	const char *mode = argc > 1 ? argv[1] : "g711";
	unsigned calls = argc > 2 ? (unsigned)atoi(argv[2]) : 1;
	double secs = argc > 3 ? atof(argv[3]) : 10;
	struct mstream_stats st;
	long rss0, rss1;
	double c0, c1;
	size_t up = 0;
	int err = 0;

	if (calls < 1 || calls > MAX_CALLS || secs <= 0 ||
	    (strcmp(mode, "g711") && strcmp(mode, "sdes") &&
	     strcmp(mode, "webrtc"))) {
		fprintf(stderr, "usage: %s g711|sdes|webrtc CALLS SECONDS\n",
			argv[0]);
		return 2;
	}
	for (size_t i = 0; i < TONE; i++)
		tone[i] = (int16_t)lrint(8000 * sin(2 * M_PI * 440 * (double)i /
						    AUDIO_SRATE));

	if (libre_init() || mclock_init())
		return 1;
	log_set_level(LOG_LVL_WARN);
	if (!strcmp(mode, "webrtc") && wrtc_init())
		return 1;

	/* everything one-off (libraries, certificate) is in rss0 */
	rss0 = rss_kib();
	for (unsigned i = 0; i < calls && !err; i++)
		err = call_alloc(mode, i);
	if (err) {
		fprintf(stderr, "call setup: %s\n", strerror(err));
		goto out;
	}
	feed(NULL);

	/* until every stream receives media (ICE + DTLS for webrtc), then
	 * a second to settle, then the measured window */
	tmr_start(&tmr_up, 20, up_check, NULL);
	tmr_start(&tmr_end, 10000, stop, NULL);
	re_main(NULL);
	tmr_cancel(&tmr_up);
	tmr_start(&tmr_end, 1000, stop, NULL);
	re_main(NULL);

	rss1 = rss_kib();
	c0 = cpu_s();
	frames_rx = 0;
	tmr_start(&tmr_end, (uint64_t)(secs * 1000), stop, NULL);
	re_main(NULL);
	c1 = cpu_s();

	for (size_t i = 0; i < msc; i++) {
		mstream_stats(msv[i], &st);
		up += st.rx_packets > 0 && st.tx_packets > 0;
	}
	/* CPU per call at the full 50 frames/s: normalised by the frames
	 * the media clock really ticked, so a machine too busy to keep the
	 * clock (other work on shared cores) does not make calls look
	 * cheaper; frames_pct says how much of the clock was kept */
	printf("%s calls=%u cpu_pct_per_call=%.3f rss_kib_per_call=%.1f "
	       "streams_up=%zu/%zu frames_pct=%.0f\n", mode, calls,
	       frames_rx ? 100.0 * (c1 - c0) * 50 / frames_rx : 0,
	       (double)(rss1 - rss0) / (double)msc, up, msc,
	       100.0 * frames_rx / (secs * 50 * (double)msc));

 out:
	tmr_cancel(&tmr_feed);
	tmr_cancel(&tmr_end);
	for (size_t i = 0; i < msc; i++)
		mem_deref(msv[i]);
	mclock_close();
	wrtc_close();
	libre_close();
	return err ? 1 : 0;
}
