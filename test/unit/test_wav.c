/*
 * test_wav.c  WAV reader on fixtures built byte by byte (8 kHz µ-law,
 *             44.1 kHz stereo, 16 kHz mono, 8-bit, A-law, EXTENSIBLE,
 *             odd-sized unknown chunks), rejection of broken files, and
 *             the writer's header (also mid-recording).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>
#include <re.h>
#include <rem.h>
#include "media/wav.h"
#include "test.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

struct wbuf {
	uint8_t *b;
	size_t len, size;
};


static void put8(struct wbuf *w, uint8_t v)
{
	if (w->len < w->size)
		w->b[w->len] = v;
	++w->len;
}


static void put16(struct wbuf *w, uint16_t v)
{
	put8(w, (uint8_t)v);
	put8(w, (uint8_t)(v >> 8));
}


static void put32(struct wbuf *w, uint32_t v)
{
	put16(w, (uint16_t)v);
	put16(w, (uint16_t)(v >> 16));
}


static void putid(struct wbuf *w, const char *id)
{
	for (int i = 0; i < 4; i++)
		put8(w, (uint8_t)id[i]);
}


enum sig { SIG_SINE, SIG_RAMP, SIG_ANTI };

/* frame i, channel ch of the test signal as 16-bit PCM */
static int16_t sig_at(enum sig s, size_t i, unsigned ch, uint32_t srate)
{
	double v;

	switch (s) {

	case SIG_RAMP:
		return (int16_t)(i * 7);

	case SIG_ANTI:
		v = 10000 * sin(2 * M_PI * 1000 * (double)i / srate);
		return (int16_t)lrint(ch ? -v : v);

	default:
		return (int16_t)lrint(10000 * sin(2 * M_PI * 1000 *
						 (double)i / srate));
	}
}


/* Build a WAV: format 1/6/7 or 0xfffe (PCM subformat), an optional odd
 * "LIST" chunk before data. */
static size_t build(uint8_t *b, size_t size, uint16_t format,
		    uint16_t channels, uint32_t srate, uint16_t bits,
		    size_t frames, enum sig s, bool junk)
{
	struct wbuf w = {b, 0, size};
	uint16_t align = (uint16_t)(channels * bits / 8);
	uint32_t data = (uint32_t)(frames * align);

	putid(&w, "RIFF");
	put32(&w, 0);                  /* patched below */
	putid(&w, "WAVE");
	putid(&w, "fmt ");
	if (format == 0xfffe) {
		static const uint8_t tail[14] = {
			0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00,
			0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71};
		put32(&w, 40);
		put16(&w, format);
		put16(&w, channels);
		put32(&w, srate);
		put32(&w, srate * align);
		put16(&w, align);
		put16(&w, bits);
		put16(&w, 22);
		put16(&w, bits);
		put32(&w, channels == 2 ? 3 : 4);
		put16(&w, 1);
		for (int i = 0; i < 14; i++)
			put8(&w, tail[i]);
	}
	else {
		put32(&w, 16);
		put16(&w, format);
		put16(&w, channels);
		put32(&w, srate);
		put32(&w, srate * align);
		put16(&w, align);
		put16(&w, bits);
	}
	if (junk) {
		putid(&w, "LIST");
		put32(&w, 5);
		for (int i = 0; i < 5; i++)
			put8(&w, 'x');
		put8(&w, 0);           /* pad byte */
	}
	putid(&w, "data");
	put32(&w, data);
	for (size_t i = 0; i < frames; i++) {
		for (unsigned ch = 0; ch < channels; ch++) {
			int16_t v = sig_at(s, i, ch, srate);

			if (format == 7)
				put8(&w, g711_pcm2ulaw(v));
			else if (format == 6)
				put8(&w, g711_pcm2alaw(v));
			else if (bits == 8)
				put8(&w, (uint8_t)((v >> 8) + 128));
			else
				put16(&w, (uint16_t)v);
		}
	}
	if (w.len >= 8 && w.len <= size) {
		uint32_t r = (uint32_t)(w.len - 8);
		b[4] = (uint8_t)r;
		b[5] = (uint8_t)(r >> 8);
		b[6] = (uint8_t)(r >> 16);
		b[7] = (uint8_t)(r >> 24);
	}

	return w.len;
}


/* amplitude and SNR of the 1 kHz tone in x (16 kHz) */
static void tone_fit(const int16_t *x, size_t n, double *amp, double *snr)
{
	double a = 0, b = 0, sig = 0, res = 0;

	for (size_t i = 0; i < n; i++) {
		double t = 2 * M_PI * 1000 * (double)i / 16000;
		a += x[i] * sin(t);
		b += x[i] * cos(t);
	}
	a *= 2.0 / (double)n;
	b *= 2.0 / (double)n;
	for (size_t i = 0; i < n; i++) {
		double t = 2 * M_PI * 1000 * (double)i / 16000;
		double f = a * sin(t) + b * cos(t);
		sig += f * f;
		res += (x[i] - f) * (x[i] - f);
	}
	*amp = sqrt(a * a + b * b);
	*snr = 10 * log10(sig / (res + 1e-9));
}


static int check_tone(const uint8_t *b, size_t len, size_t expect_n,
		      double min_snr)
{
	int16_t *s = NULL;
	size_t n = 0;
	double amp, snr;
	int err;

	err = wav_decode16k(&s, &n, b, len, 10);
	if (err)
		return err;

	if (n != expect_n) {
		fprintf(stderr, "wav: %zu samples, expected %zu\n", n,
			expect_n);
		err = EPROTO;
		goto out;
	}

	/* skip the resampler's edges */
	tone_fit(s + 200, n - 400, &amp, &snr);
	if (fabs(20 * log10(amp / 10000)) > 1 || snr < min_snr) {
		fprintf(stderr, "wav: tone %.0f SNR %.1f dB\n", amp, snr);
		err = EPROTO;
	}

 out:
	mem_deref(s);
	return err;
}


int test_wav_read(void)
{
	static uint8_t b[300000];
	int16_t *s = NULL;
	size_t len, n;
	int err = 0;

	/* 8 kHz µ-law, 0.5 s */
	len = build(b, sizeof(b), 7, 1, 8000, 8, 4000, SIG_SINE, false);
	TEST_ERR(check_tone(b, len, 8000, 30));

	/* 8 kHz A-law with an odd unknown chunk */
	len = build(b, sizeof(b), 6, 1, 8000, 8, 4000, SIG_SINE, true);
	TEST_ERR(check_tone(b, len, 8000, 30));

	/* 44.1 kHz stereo PCM16, 1 s */
	len = build(b, sizeof(b), 1, 2, 44100, 16, 44100, SIG_SINE, false);
	TEST_ERR(check_tone(b, len, 16000, 40));

	/* 22.05 kHz 8-bit mono */
	len = build(b, sizeof(b), 1, 1, 22050, 8, 11025, SIG_SINE, true);
	TEST_ERR(check_tone(b, len, 8000, 25));

	/* 48 kHz EXTENSIBLE stereo */
	len = build(b, sizeof(b), 0xfffe, 2, 48000, 16, 24000, SIG_SINE,
		    false);
	TEST_ERR(check_tone(b, len, 8000, 40));

	/* stereo downmix is the average: opposite channels cancel */
	len = build(b, sizeof(b), 1, 2, 16000, 16, 1000, SIG_ANTI, false);
	TEST_ERR(wav_decode16k(&s, &n, b, len, 10));
	TEST_EQ(n, 1000);
	for (size_t i = 0; i < n; i++)
		TEST_ASSERT(abs(s[i]) <= 1);
	s = mem_deref(s);

	/* 16 kHz mono comes through bit exact */
	len = build(b, sizeof(b), 1, 1, 16000, 16, 3000, SIG_RAMP, true);
	TEST_ERR(wav_decode16k(&s, &n, b, len, 10));
	TEST_EQ(n, 3000);
	for (size_t i = 0; i < n; i++)
		TEST_EQ(s[i], (int16_t)(i * 7));
	s = mem_deref(s);

	/* empty data chunk is valid */
	len = build(b, sizeof(b), 1, 1, 16000, 16, 0, SIG_RAMP, false);
	TEST_ERR(wav_decode16k(&s, &n, b, len, 10));
	TEST_EQ(n, 0);
	s = mem_deref(s);

	return err;
}


int test_wav_reject(void)
{
	static uint8_t b[100000];
	int16_t *s = NULL;
	size_t len, n = 0;

	len = build(b, sizeof(b), 1, 1, 16000, 16, 1000, SIG_RAMP, true);

	/* truncated anywhere: header, fmt, chunk, data */
	TEST_EQ(wav_decode16k(&s, &n, b, 0, 10), EBADMSG);
	TEST_EQ(wav_decode16k(&s, &n, b, 11, 10), EBADMSG);
	TEST_EQ(wav_decode16k(&s, &n, b, 30, 10), EBADMSG);
	TEST_EQ(wav_decode16k(&s, &n, b, 44, 10), EBADMSG);
	TEST_EQ(wav_decode16k(&s, &n, b, len - 1, 10), EBADMSG);
	TEST_EQ(wav_decode16k(&s, &n, b, len - 1000, 10), EBADMSG);

	/* not RIFF/WAVE */
	memcpy(b, "RIFX", 4);
	TEST_EQ(wav_decode16k(&s, &n, b, len, 10), EBADMSG);
	memcpy(b, "RIFF", 4);

	/* absurd data size */
	len = build(b, sizeof(b), 1, 1, 16000, 16, 100, SIG_RAMP, false);
	b[40] = b[41] = b[42] = b[43] = 0xff;
	TEST_EQ(wav_decode16k(&s, &n, b, len, 10), EBADMSG);

	/* block align inconsistent with channels * bits */
	len = build(b, sizeof(b), 1, 1, 16000, 16, 100, SIG_RAMP, false);
	b[32] = 4;
	TEST_EQ(wav_decode16k(&s, &n, b, len, 10), EBADMSG);

	/* zero channels */
	len = build(b, sizeof(b), 1, 1, 16000, 16, 100, SIG_RAMP, false);
	b[22] = 0;
	TEST_EQ(wav_decode16k(&s, &n, b, len, 10), EBADMSG);

	/* unsupported: float, 24-bit, 3 channels, 1 MHz */
	len = build(b, sizeof(b), 3, 1, 16000, 32, 100, SIG_RAMP, false);
	TEST_EQ(wav_decode16k(&s, &n, b, len, 10), ENOTSUP);
	len = build(b, sizeof(b), 1, 1, 16000, 24, 100, SIG_RAMP, false);
	TEST_EQ(wav_decode16k(&s, &n, b, len, 10), ENOTSUP);
	len = build(b, sizeof(b), 1, 3, 16000, 16, 100, SIG_RAMP, false);
	TEST_EQ(wav_decode16k(&s, &n, b, len, 10), ENOTSUP);
	len = build(b, sizeof(b), 1, 1, 1000000, 16, 100, SIG_RAMP, false);
	TEST_EQ(wav_decode16k(&s, &n, b, len, 10), ENOTSUP);

	/* longer than max_secs */
	len = build(b, sizeof(b), 1, 1, 16000, 16, 32001, SIG_RAMP, false);
	TEST_EQ(wav_decode16k(&s, &n, b, len, 2), EFBIG);
	TEST_ERR(wav_decode16k(&s, &n, b, len, 3));
	TEST_EQ(n, 32001);
	s = mem_deref(s);

	TEST_ASSERT(s == NULL);
	return 0;
}


static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		(uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}


int test_wav_writer(void)
{
	struct wav_writer *w = NULL;
	int16_t frame[2 * 320];
	uint8_t hdr[44];
	int16_t *s = NULL;
	size_t n = 0;
	char path[256];
	FILE *f;
	int err = 0;

	re_snprintf(path, sizeof(path), "/tmp/agentline_test_%d.wav",
		    (int)getpid());

	TEST_EQ(wav_writer_open(&w, path, 16000, 3), EINVAL);
	TEST_ERR(wav_writer_open(&w, path, 16000, 2));

	/* 1.5 s stereo: left a ramp, right its negation */
	for (int fr = 0; fr < 75; fr++) {
		for (int i = 0; i < 320; i++) {
			frame[2 * i] = (int16_t)(fr * 320 + i);
			frame[2 * i + 1] = (int16_t)-(fr * 320 + i);
		}
		TEST_ERR(wav_writer_write(w, frame, 320));
	}

	/* still open: the header already covers the first second */
	f = fopen(path, "rb");
	TEST_ASSERT(f != NULL);
	TEST_EQ(fread(hdr, 1, sizeof(hdr), f), sizeof(hdr));
	fclose(f);
	TEST_ASSERT(0 == memcmp(hdr, "RIFF", 4));
	TEST_ASSERT(0 == memcmp(hdr + 8, "WAVEfmt ", 8));
	TEST_ASSERT(rd32(hdr + 40) >= 16000 * 4);
	TEST_EQ(rd32(hdr + 4), 36 + rd32(hdr + 40));

	w = mem_deref(w);

	f = fopen(path, "rb");
	TEST_ASSERT(f != NULL);
	TEST_EQ(fread(hdr, 1, sizeof(hdr), f), sizeof(hdr));
	fclose(f);
	TEST_EQ(rd32(hdr + 40), 75 * 320 * 4);
	TEST_EQ(hdr[22], 2);
	TEST_EQ(rd32(hdr + 24), 16000);

	/* reads back; the opposite channels cancel in the downmix */
	err = wav_load16k(&s, &n, path, 10);
	unlink(path);
	TEST_ERR(err);
	TEST_EQ(n, 75 * 320);
	for (size_t i = 0; i < n; i++)
		TEST_EQ(s[i], 0);
	mem_deref(s);

	TEST_EQ(wav_load16k(&s, &n, "/nonexistent/x.wav", 10), ENOENT);

	return 0;
}
