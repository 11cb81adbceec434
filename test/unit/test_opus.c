/*
 * test_opus.c  Opus behind the codec interface: a 1 kHz tone survives the
 *              round trip (level, frequency), in-band FEC rebuilds a single
 *              lost frame better than concealment, a DTX sender's gaps are
 *              not losses, stereo streams decode to mono, bad packets are
 *              refused.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <re.h>
#include <opus.h>
#include "media/codec.h"
#include "media/jitbuf.h"
#include "test.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum { FRAMES = 50, SKIP = 10, N = AUDIO_FRAME_SAMPLES };


static bool verbose(void)
{
	return getenv("AGENTLINE_TEST_VERBOSE") != NULL;
}


static void sine(int16_t *x, size_t n, size_t offset, double f, double amp,
		 double srate)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (int16_t)lrint(amp * sin(2 * M_PI * f *
					(double)(offset + i) / srate));
}


/* Amplitude of the best-fitting sinusoid at f (delay independent). */
static double tone_amp(const int16_t *x, size_t n, double f)
{
	double a = 0, b = 0;

	for (size_t i = 0; i < n; i++) {
		double w = 2 * M_PI * f * (double)i / AUDIO_SRATE;
		a += x[i] * sin(w);
		b += x[i] * cos(w);
	}
	a *= 2.0 / (double)n;
	b *= 2.0 / (double)n;
	return sqrt(a * a + b * b);
}


static double goertzel(const int16_t *x, size_t n, double f)
{
	double coeff = 2 * cos(2 * M_PI * f / AUDIO_SRATE), s1 = 0, s2 = 0;

	for (size_t i = 0; i < n; i++) {
		double s0 = x[i] + coeff * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}


static double rms(const int16_t *x, size_t n)
{
	double e = 0;

	for (size_t i = 0; i < n; i++)
		e += (double)x[i] * x[i];
	return sqrt(e / (double)n);
}


/* Error energy of y against the reference x, as SNR in dB. */
static double snr_db(const int16_t *ref, const int16_t *y, size_t n)
{
	double s = 0, e = 0;

	for (size_t i = 0; i < n; i++) {
		double d = (double)ref[i] - y[i];
		s += (double)ref[i] * ref[i];
		e += d * d;
	}
	return 10 * log10((s + 1) / (e + 1));
}


int test_opus_roundtrip(void)
{
	static int16_t out[FRAMES * N];
	const struct codec_info *ci = codec_find("opus");
	struct codec_state *enc = NULL, *dec = NULL;
	int16_t in[N];
	uint8_t pkt[CODEC_MAX_PAYLOAD];
	const double amp = 8000;
	size_t k = 0, bytes = 0;
	double a, db, p1k, p500, p2k;
	int err = 0;

	TEST_ASSERT(ci != NULL);
	TEST_EQ(ci->id, CODEC_OPUS);
	TEST_EQ(ci->clock, 48000);
	TEST_EQ(ci->ts_per_frame, 960);
	TEST_EQ(ci->pt, 111);

	TEST_ERR(codec_state_alloc(&enc, ci));
	TEST_ERR(codec_state_alloc(&dec, ci));

	for (size_t fr = 0; fr < FRAMES && !err; fr++) {
		size_t len = sizeof(pkt), n = N;

		sine(in, N, fr * N, 1004, amp, AUDIO_SRATE);
		err = codec_encode(enc, in, pkt, &len);
		if (!err)
			err = codec_decode(dec, pkt, len, out + k, &n);
		if (!err && n != N)
			err = EPROTO;
		if (fr >= SKIP) {
			k += n;
			bytes += len;
		}
	}
	mem_deref(enc);
	mem_deref(dec);
	TEST_ERR(err);

	a = tone_amp(out, k, 1004);
	db = 20 * log10(a / amp);
	p1k = goertzel(out, k, 1004);
	p500 = goertzel(out, k, 500);
	p2k = goertzel(out, k, 2000);
	if (verbose())
		fprintf(stderr, "opus: 1004 Hz level %+.2f dB, %.1f kbit/s, "
			"500 Hz %.1f dB, 2 kHz %.1f dB below\n", db,
			bytes * 8.0 / ((FRAMES - SKIP) * 0.02) / 1000,
			10 * log10(p1k / (p500 + 1)),
			10 * log10(p1k / (p2k + 1)));
	TEST_ASSERT(fabs(db) < 2.0);
	TEST_ASSERT(p1k > 1000 * p500);
	TEST_ASSERT(p1k > 1000 * p2k);
	/* about the configured 24 kbit/s, not a runaway VBR */
	TEST_ASSERT(bytes < (FRAMES - SKIP) * 100);

	return 0;
}


/* A signal concealment cannot predict: a tone gliding in pitch with a
 * changing level, like a voiced syllable. */
static void glide(int16_t *x, size_t fr)
{
	static double phase;

	if (fr == 0)
		phase = 0;
	for (size_t i = 0; i < N; i++) {
		double t = (double)(fr * N + i) / AUDIO_SRATE;
		double f = 250 + 400 * t;
		double amp = 6000 + 4000 * sin(2 * M_PI * 3 * t);

		phase += 2 * M_PI * f / AUDIO_SRATE;
		x[i] = (int16_t)lrint(amp * (sin(phase) +
					     0.4 * sin(3 * phase)) / 1.4);
	}
}


int test_opus_fec(void)
{
	enum { LOST = 30, TOTAL = 40 };
	static uint8_t pkts[TOTAL][CODEC_MAX_PAYLOAD];
	static size_t lens[TOTAL];
	struct codec_state *enc = NULL, *ref = NULL, *plc = NULL, *fec = NULL;
	const struct codec_info *ci = codec_info(CODEC_OPUS);
	int16_t in[N], r[N], p[N], f[N], g722[N];
	double snr_plc, snr_fec;
	int err = 0;

	TEST_ERR(codec_state_alloc(&enc, ci));
	TEST_ERR(codec_state_alloc(&ref, ci));
	TEST_ERR(codec_state_alloc(&plc, ci));
	TEST_ERR(codec_state_alloc(&fec, ci));

	for (size_t fr = 0; fr < TOTAL && !err; fr++) {
		glide(in, fr);
		lens[fr] = sizeof(pkts[fr]);
		err = codec_encode(enc, in, pkts[fr], &lens[fr]);
	}

	/* three decoders: no loss; packet LOST missing and concealed; packet
	 * LOST missing and rebuilt from the FEC in packet LOST + 1 */
	for (size_t fr = 0; fr < TOTAL && !err; fr++) {
		size_t n1 = N, n2 = N, n3 = N;

		err |= codec_decode(ref, pkts[fr], lens[fr], r, &n1);
		if (fr == LOST) {
			err |= codec_conceal(plc, p);
			err |= codec_conceal_fec(fec, pkts[fr + 1],
						 lens[fr + 1], f);
			break;
		}
		err |= codec_decode(plc, pkts[fr], lens[fr], p, &n2);
		err |= codec_decode(fec, pkts[fr], lens[fr], f, &n3);
	}
	TEST_ERR(err);

	snr_plc = snr_db(r, p, N);
	snr_fec = snr_db(r, f, N);
	if (verbose())
		fprintf(stderr, "opus single loss: PLC %.1f dB, FEC %.1f dB "
			"(SNR against the undamaged decode)\n",
			snr_plc, snr_fec);
	TEST_ASSERT(snr_fec > snr_plc + 6);
	TEST_ASSERT(snr_fec > 5);
	TEST_ASSERT(rms(f, N) > 0.5 * rms(r, N));

	/* the packet after the loss still decodes normally */
	{
		size_t n = N;
		TEST_ERR(codec_decode(fec, pkts[LOST + 1], lens[LOST + 1], f,
				      &n));
		TEST_EQ(n, N);
	}

	/* other codecs: codec_conceal_fec is plain concealment */
	{
		struct codec_state *g = NULL;
		TEST_ERR(codec_state_alloc(&g, codec_info(CODEC_G722)));
		TEST_ERR(codec_conceal_fec(g, pkts[0], lens[0], g722));
		TEST_ASSERT(rms(g722, N) < 1);
		mem_deref(g);
	}

	mem_deref(enc);
	mem_deref(ref);
	mem_deref(plc);
	mem_deref(fec);
	return 0;
}


/* A DTX sender (Chrome with usedtx=1) stops sending during silence: the
 * sequence numbers run on, the timestamps jump. Run the stream's receive
 * step (jitter buffer, then decode / conceal / silence) over talk, a 1 s
 * gap, talk: nothing is lost or concealed, the gap is silent and the
 * tone comes back at its level. */
int test_opus_dtx(void)
{
	enum { TALK = 25, GAP = 50 };
	OpusEncoder *oe;
	struct codec_state *dec = NULL;
	struct jitbuf *jb = NULL;
	struct jitbuf_stats js;
	int16_t out[N];
	static int16_t tail[TALK * N];
	uint8_t pkt[CODEC_MAX_PAYLOAD], buf[CODEC_MAX_PAYLOAD];
	uint16_t seq = 1000;
	uint32_t ts = 0;
	unsigned sent = 0, dropped = 0, concealed = 0, loud_in_gap = 0;
	size_t tk = 0;
	int oerr, err = 0;

	oe = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &oerr);
	TEST_ASSERT(oe != NULL);
	TEST_EQ(opus_encoder_ctl(oe, OPUS_SET_DTX(1)), OPUS_OK);
	TEST_ERR(codec_state_alloc(&dec, codec_info(CODEC_OPUS)));
	TEST_ERR(jitbuf_alloc(&jb, 2, 50, CODEC_MAX_PAYLOAD));

	for (unsigned fr = 0; fr < TALK + GAP + TALK && !err; fr++) {
		int16_t in48[960];
		bool talk = fr < TALK || fr >= TALK + GAP;
		size_t len = sizeof(buf), n = N;
		int k;

		if (talk)
			sine(in48, 960, fr * 960, 1004, 8000, 48000);
		else
			memset(in48, 0, sizeof(in48));

		k = opus_encode(oe, in48, 960, pkt, sizeof(pkt));
		if (k < 0) {
			err = EPROTO;
			break;
		}
		/* DTX: a packet of 2 bytes or less need not be sent */
		if (k > 2) {
			(void)jitbuf_put(jb, seq++, ts, pkt, (size_t)k);
			++sent;
		}
		else {
			++dropped;
		}
		ts += 960;

		switch (jitbuf_get(jb, buf, &len)) {
		case JITBUF_FRAME:
			err = codec_decode(dec, buf, len, out, &n);
			break;
		case JITBUF_LOST:
			++concealed;
			err = codec_conceal(dec, out);
			break;
		default:
			memset(out, 0, sizeof(out));
			break;
		}

		if (fr >= TALK + 10 && fr < TALK + GAP && rms(out, N) > 100)
			++loud_in_gap;
		if (fr >= TALK + GAP && tk < TALK * N) {
			memcpy(tail + tk, out, sizeof(out));
			tk += N;
		}
	}
	opus_encoder_destroy(oe);
	TEST_ERR(err);

	jitbuf_stats(jb, &js);
	if (verbose())
		fprintf(stderr, "opus DTX: %u sent, %u not sent, lost %u, "
			"concealed %u, tone after gap %.0f\n", sent, dropped,
			js.n_lost, concealed,
			tone_amp(tail + 10 * N, tk - 10 * N, 1004));
	TEST_ASSERT(dropped > GAP / 2);     /* the sender really used DTX */
	TEST_EQ(js.n_lost, 0);
	TEST_EQ(concealed, 0);
	TEST_EQ(loud_in_gap, 0);
	TEST_ASSERT(fabs(20 * log10(tone_amp(tail + 10 * N, tk - 10 * N,
					      1004) / 8000)) < 3);

	mem_deref(dec);
	mem_deref(jb);
	return 0;
}


/* A stereo sender (stereo=1 / sprop-stereo=1) decodes to our mono frame:
 * a tone on the left and silence on the right becomes the tone at half
 * level (libopus's downmix), nothing else. */
int test_opus_stereo(void)
{
	OpusEncoder *oe;
	struct codec_state *dec = NULL;
	static int16_t out[FRAMES * N];
	uint8_t pkt[CODEC_MAX_PAYLOAD];
	size_t k = 0;
	double a;
	int oerr, err = 0;

	oe = opus_encoder_create(48000, 2, OPUS_APPLICATION_AUDIO, &oerr);
	TEST_ASSERT(oe != NULL);
	TEST_EQ(opus_encoder_ctl(oe, OPUS_SET_BITRATE(64000)), OPUS_OK);
	TEST_ERR(codec_state_alloc(&dec, codec_info(CODEC_OPUS)));

	for (size_t fr = 0; fr < FRAMES && !err; fr++) {
		int16_t mono[960], st[2 * 960];
		size_t n = N;
		int len;

		sine(mono, 960, fr * 960, 1004, 8000, 48000);
		for (size_t i = 0; i < 960; i++) {
			st[2 * i] = mono[i];
			st[2 * i + 1] = 0;
		}
		len = opus_encode(oe, st, 960, pkt, sizeof(pkt));
		TEST_ASSERT(len > 0);
		err = codec_decode(dec, pkt, (size_t)len, out + k, &n);
		if (!err && n != N)
			err = EPROTO;
		if (fr >= SKIP)
			k += n;
	}
	opus_encoder_destroy(oe);
	mem_deref(dec);
	TEST_ERR(err);

	a = tone_amp(out, k, 1004);
	if (verbose())
		fprintf(stderr, "opus stereo->mono: 1004 Hz at %+.2f dB\n",
			20 * log10(a / 8000));
	TEST_ASSERT(fabs(20 * log10(a / 4000)) < 2.0);
	TEST_ASSERT(goertzel(out, k, 1004) > 1000 * goertzel(out, k, 2000));

	return 0;
}


/* Bad payloads are refused and leave the decoder usable. */
int test_opus_malformed(void)
{
	static uint8_t big[CODEC_MAX_PAYLOAD + 1];
	struct codec_state *enc = NULL, *dec = NULL;
	int16_t in[N], out[2000];
	uint8_t pkt[CODEC_MAX_PAYLOAD];
	/* code 3 TOC claiming 48 frames of 60 ms: 2.88 s, invalid */
	const uint8_t bad[] = {0xfb, 0x30, 0x01, 0x02};
	size_t len = sizeof(pkt), n;

	TEST_ERR(codec_state_alloc(&enc, codec_info(CODEC_OPUS)));
	TEST_ERR(codec_state_alloc(&dec, codec_info(CODEC_OPUS)));

	sine(in, N, 0, 440, 6000, AUDIO_SRATE);
	TEST_ERR(codec_encode(enc, in, pkt, &len));

	n = 2000;
	TEST_EQ(codec_decode(dec, pkt, 0, out, &n), EBADMSG);
	TEST_EQ(codec_decode(dec, NULL, 10, out, &n), EBADMSG);
	TEST_EQ(codec_decode(dec, big, sizeof(big), out, &n), EBADMSG);
	TEST_EQ(codec_decode(dec, bad, sizeof(bad), out, &n), EBADMSG);
	n = 100;
	TEST_EQ(codec_decode(dec, pkt, len, out, &n), EOVERFLOW);
	n = 2000;
	TEST_ERR(codec_decode(dec, pkt, len, out, &n));
	TEST_EQ(n, N);

	mem_deref(enc);
	mem_deref(dec);
	return 0;
}


/* What the far end's fmtp asks for reaches the encoder: 12 kbit/s
 * without FEC makes packets of about 30 bytes (24 kbit/s with FEC: ~65),
 * and a tone still arrives. */
int test_opus_remote_params(void)
{
	const struct codec_info *ci = codec_find("opus");
	struct codec_state *enc = NULL, *dec = NULL;
	static int16_t out[FRAMES * N];
	int16_t in[N];
	uint8_t pkt[CODEC_MAX_PAYLOAD];
	size_t bytes_dflt = 0, bytes_low = 0, k = 0;
	int err = 0;

	TEST_ASSERT(ci != NULL);
	for (int pass = 0; pass < 2 && !err; pass++) {
		TEST_ERR(codec_state_alloc(&enc, ci));
		if (pass)
			err = codec_opus_set(enc, 12000, false);
		for (size_t fr = 0; fr < FRAMES && !err; fr++) {
			size_t len = sizeof(pkt);

			sine(in, N, fr * N, 1004, 8000, AUDIO_SRATE);
			err = codec_encode(enc, in, pkt, &len);
			if (fr >= SKIP)
				*(pass ? &bytes_low : &bytes_dflt) += len;
			if (pass && !err) {
				size_t n = N;
				if (!dec)
					err = codec_state_alloc(&dec, ci);
				if (!err)
					err = codec_decode(dec, pkt, len,
							   out + k, &n);
				if (!err && fr >= SKIP)
					k += n;
			}
		}
		enc = mem_deref(enc);
	}
	mem_deref(dec);
	TEST_ERR(err);

	fprintf(stderr, "  opus bytes/frame: %.1f default, %.1f at 12 kbit/s "
		"without FEC\n", (double)bytes_dflt / (FRAMES - SKIP),
		(double)bytes_low / (FRAMES - SKIP));
	/* 12 kbit/s = 30 bytes per 20 ms frame; VBR spends a little more
	 * on a pure tone (measured 36.6) */
	TEST_ASSERT(bytes_low <= (size_t)(FRAMES - SKIP) * 40);
	TEST_ASSERT(bytes_low * 3 < bytes_dflt * 2);
	TEST_ASSERT(20 * log10(tone_amp(out, k, 1004) / 8000) > -3);
	/* not Opus: nothing to set */
	{
		struct codec_state *g = NULL;
		TEST_ERR(codec_state_alloc(&g, codec_find("PCMU")));
		TEST_ERR(codec_opus_set(g, 12000, false));
		mem_deref(g);
	}
	return 0;
}
