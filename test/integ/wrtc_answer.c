/*
 * wrtc_answer.c  Helper of integ.webrtc_sdp_chrome: answers a browser's
 *                WebRTC offer with an agentline media stream, exactly as
 *                a call does (mstream_offer_decode), and runs its media.
 *
 * Usage: wrtc-answer OFFER_FILE ANSWER_FILE SECONDS
 * Waits for OFFER_FILE, writes the answer to ANSWER_FILE (atomically),
 * sends a 440 Hz tone for SECONDS and prints one line of results:
 *   codec=opus webrtc=1 tx=N rx=N loud=N fail=REASON
 * (loud: received 20 ms frames with audio). Exit 1 if the offer was
 * refused, with "refused SCODE REASON" on stderr.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "core/log.h"
#include "media/stream.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static struct tmr tmr;
static unsigned loud;
static char fail_reason[64] = "-";


static void stop(void *arg)
{
	(void)arg;
	re_cancel();
}


static void audio_h(const int16_t *pcm, size_t n, uint64_t ts, void *arg)
{
	double e = 0;
	(void)ts;
	(void)arg;

	for (size_t i = 0; i < n; i++)
		e += (double)pcm[i] * pcm[i];
	if (sqrt(e / (double)n) > 300)
		++loud;
}


static void fail_h(int err, const char *reason, void *arg)
{
	(void)err;
	(void)arg;
	str_ncpy(fail_reason, reason, sizeof(fail_reason));
}


static int write_atomic(const char *path, struct mbuf *mb)
{
	char tmp[512];
	FILE *f;

	re_snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return errno;
	fwrite(mbuf_buf(mb), 1, mbuf_get_left(mb), f);
	fclose(f);
	return rename(tmp, path) ? errno : 0;
}


int main(int argc, char *argv[])
{
	static int16_t tone[8 * AUDIO_SRATE];
	static char buf[65536];
	struct mstream_cfg cfg;
	struct mstream *ms = NULL;
	struct mbuf *offer = NULL, *answer = NULL;
	struct mstream_stats st;
	const char *reason = NULL;
	uint16_t scode = 0;
	size_t n;
	FILE *f;
	int err, waited = 0;

	if (argc < 4)
		return 2;
	if (libre_init() || mclock_init() || wrtc_init())
		return 1;
	log_set_level(LOG_LVL_WARN);

	while (access(argv[1], R_OK)) {
		if (++waited > 600)
			return 1;
		usleep(50000);
	}
	f = fopen(argv[1], "r");
	if (!f)
		return 1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	offer = mbuf_alloc(n + 1);
	if (!offer)
		return 1;
	(void)mbuf_write_mem(offer, (uint8_t *)buf, n);
	offer->pos = 0;

	memset(&cfg, 0, sizeof(cfg));
	sa_set_str(&cfg.laddr, "127.0.0.1", 0);
	cfg.port_min = 20000;
	cfg.port_max = 59999;
	(void)sdpneg_prefs_parse(&cfg.prefs, "G722,PCMU,PCMA");
	cfg.rtp_timeout_secs = 60;
	cfg.jitter_min_ms = 40;
	cfg.jitter_max_ms = 200;

	err = mstream_alloc(&ms, &cfg, "chrome", NULL, NULL);
	if (err)
		return 1;
	mstream_set_audio_handler(ms, audio_h, NULL);
	mstream_set_fail_handler(ms, fail_h, NULL);
	err = mstream_offer_decode(ms, offer, &answer, &scode, &reason);
	if (err) {
		fprintf(stderr, "refused %u %s\n", scode, reason ? reason : "");
		return 1;
	}
	if (write_atomic(argv[2], answer))
		return 1;

	for (size_t i = 0; i < ARRAY_SIZE(tone); i++)
		tone[i] = (int16_t)lrint(8000 * sin(2 * M_PI * 440 *
						    (double)i / AUDIO_SRATE));
	(void)mstream_start(ms);
	(void)mstream_play(ms, tone, ARRAY_SIZE(tone));
	tmr_start(&tmr, (uint64_t)atoi(argv[3]) * 1000, stop, NULL);
	re_main(NULL);

	mstream_stats(ms, &st);
	printf("codec=%s webrtc=%d tx=%llu rx=%llu loud=%u fail=%s\n",
	       mstream_media(ms)->codec->name, mstream_media(ms)->webrtc,
	       (unsigned long long)st.tx_packets,
	       (unsigned long long)st.rx_packets, loud, fail_reason);
	fflush(stdout);

	mem_deref(ms);
	mem_deref(answer);
	mem_deref(offer);
	mclock_close();
	wrtc_close();
	libre_close();
	return 0;
}
