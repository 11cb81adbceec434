/*
 * test_dtmf.c  RFC 4733 receive (each digit once, on its end packets),
 *              send (packet sequence and timing) and in-band detection of
 *              generated dual tones, with no false digits on a 1 kHz tone,
 *              silence or noise.
 */
#include <errno.h>
#include <math.h>
#include <re.h>
#include "media/dtmf.h"
#include "test.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

struct collect {
	char digits[64];
	unsigned durations[64];
	size_t n;
};


static void digit_handler(char digit, unsigned duration_ms, void *arg)
{
	struct collect *c = arg;

	if (c->n < sizeof(c->digits) - 1) {
		c->durations[c->n] = duration_ms;
		c->digits[c->n++] = digit;
		c->digits[c->n] = '\0';
	}
}


static int rx_event(struct dtmf_rx *rx, uint32_t ts, bool marker, int ev,
		    bool end, uint16_t duration)
{
	uint8_t p[4] = {(uint8_t)ev, (uint8_t)((end ? 0x80 : 0) | 10),
			(uint8_t)(duration >> 8), (uint8_t)duration};

	return dtmf_rx_packet(rx, ts, marker, p, sizeof(p));
}


int test_dtmf_rx(void)
{
	struct collect c = {{0}, {0}, 0};
	struct dtmf_rx *rx = NULL;
	uint8_t bad[5] = {0};
	int err = 0;

	TEST_EQ(dtmf_char2event('0'), 0);
	TEST_EQ(dtmf_char2event('*'), 10);
	TEST_EQ(dtmf_char2event('#'), 11);
	TEST_EQ(dtmf_char2event('d'), 15);
	TEST_EQ(dtmf_char2event('E'), -1);
	TEST_EQ(dtmf_event2char(11), '#');
	TEST_EQ(dtmf_event2char(16), '\0');

	TEST_ERR(dtmf_rx_alloc(&rx, 8000, digit_handler, &c));

	/* '5': start, updates, end sent three times -> reported once */
	TEST_ERR(rx_event(rx, 1000, true, 5, false, 160));
	TEST_ERR(rx_event(rx, 1000, false, 5, false, 320));
	TEST_ERR(rx_event(rx, 1000, false, 5, false, 480));
	TEST_EQ(c.n, 0);
	TEST_ERR(rx_event(rx, 1000, false, 5, true, 800));
	TEST_ERR(rx_event(rx, 1000, false, 5, true, 800));
	TEST_ERR(rx_event(rx, 1000, false, 5, true, 800));
	TEST_STREQ(c.digits, "5");
	TEST_EQ(c.durations[0], 100);

	/* same digit again is a new timestamp: a second '5' */
	TEST_ERR(rx_event(rx, 2000, true, 5, false, 160));
	TEST_ERR(rx_event(rx, 2000, false, 5, true, 480));
	TEST_ERR(rx_event(rx, 2000, false, 5, true, 480));
	TEST_STREQ(c.digits, "55");
	TEST_EQ(c.durations[1], 60);

	/* '#' whose end packets are all lost: reported when '1' starts */
	TEST_ERR(rx_event(rx, 3000, true, 11, false, 160));
	TEST_ERR(rx_event(rx, 3000, false, 11, false, 320));
	TEST_STREQ(c.digits, "55");
	TEST_ERR(rx_event(rx, 4000, true, 1, false, 160));
	TEST_STREQ(c.digits, "55#");
	TEST_EQ(c.durations[2], 40);
	/* the end of '1' arrives first (reordered), then a stale update */
	TEST_ERR(rx_event(rx, 4000, false, 1, true, 640));
	TEST_ERR(rx_event(rx, 4000, false, 1, false, 320));
	TEST_ERR(rx_event(rx, 4000, false, 1, true, 640));
	TEST_STREQ(c.digits, "55#1");

	/* event 16 (flash) and others above 15 are not digits */
	TEST_ERR(rx_event(rx, 5000, true, 16, false, 160));
	TEST_ERR(rx_event(rx, 5000, false, 16, true, 800));
	TEST_ERR(rx_event(rx, 6000, true, 200, false, 160));
	TEST_ERR(rx_event(rx, 7000, true, 15, false, 160));
	TEST_STREQ(c.digits, "55#1");

	/* malformed */
	TEST_EQ(dtmf_rx_packet(rx, 8000, false, bad, 3), EBADMSG);
	TEST_EQ(dtmf_rx_packet(rx, 8000, false, bad, 5), EBADMSG);
	TEST_EQ(dtmf_rx_packet(rx, 8000, false, bad, 0), EBADMSG);
	TEST_STREQ(c.digits, "55#1");

	/* teardown reports the pending 'D' exactly once */
	dtmf_rx_flush(rx);
	dtmf_rx_flush(rx);
	TEST_STREQ(c.digits, "55#1D");

	mem_deref(rx);
	return err;
}


int test_dtmf_tx(void)
{
	struct collect c = {{0}, {0}, 0};
	struct dtmf_tx *tx = NULL;
	struct dtmf_rx *rx = NULL;
	uint8_t p[4];
	bool marker, end;
	uint32_t ago;
	unsigned tick = 0, packets = 0;
	char many[66];
	int err = 0;

	TEST_ERR(dtmf_tx_alloc(&tx, 8000));
	TEST_ERR(dtmf_rx_alloc(&rx, 8000, digit_handler, &c));
	TEST_ASSERT(!dtmf_tx_busy(tx));
	TEST_ASSERT(!dtmf_tx_poll(tx, p, &marker, &ago, &end));

	TEST_EQ(dtmf_tx_queue(tx, "12x"), EINVAL);
	TEST_ASSERT(!dtmf_tx_busy(tx));
	TEST_ERR(dtmf_tx_queue(tx, "7#"));
	TEST_ASSERT(dtmf_tx_busy(tx));

	/* digit '7': 5 tone packets with growing duration, 3 ends */
	for (unsigned k = 0; k < 8; k++) {
		TEST_ASSERT(dtmf_tx_poll(tx, p, &marker, &ago, &end));
		TEST_EQ(p[0], 7);
		TEST_EQ(p[1] & 0x3f, 10);
		TEST_EQ(marker, k == 0);
		TEST_EQ(ago, k);
		TEST_EQ(end, k >= 5);
		TEST_EQ(!!(p[1] & 0x80), k >= 5);
		TEST_EQ(p[2] << 8 | p[3], 160 * (k < 5 ? k + 1 : 5));
	}
	/* 60 ms gap */
	for (unsigned k = 0; k < 3; k++)
		TEST_ASSERT(!dtmf_tx_poll(tx, p, &marker, &ago, &end));
	TEST_ASSERT(dtmf_tx_poll(tx, p, &marker, &ago, &end));
	TEST_EQ(p[0], 11);
	TEST_ASSERT(marker);

	/* feed the rest into a receiver, as an RTP sender would */
	tick = 100;
	TEST_ERR(dtmf_rx_packet(rx, (tick - ago) * 160, marker, p, 4));
	while (dtmf_tx_busy(tx)) {
		++tick;
		if (dtmf_tx_poll(tx, p, &marker, &ago, &end)) {
			++packets;
			TEST_ERR(dtmf_rx_packet(rx, (tick - ago) * 160,
						marker, p, 4));
		}
		TEST_ASSERT(tick < 200);
	}
	TEST_EQ(packets, 7);
	TEST_STREQ(c.digits, "#");
	TEST_EQ(c.durations[0], 100);

	/* bounded queue: 64 digits fit, all-or-nothing beyond */
	memset(many, '1', 64);
	many[64] = '\0';
	TEST_ERR(dtmf_tx_queue(tx, many));
	TEST_EQ(dtmf_tx_queue(tx, "2"), EOVERFLOW);

	mem_deref(tx);
	mem_deref(rx);
	return err;
}


static const struct {
	char c;
	double lo, hi;
} dtmf_freqs[] = {
	{'1', 697, 1209}, {'2', 697, 1336}, {'3', 697, 1477},
	{'A', 697, 1633}, {'4', 770, 1209}, {'5', 770, 1336},
	{'6', 770, 1477}, {'B', 770, 1633}, {'7', 852, 1209},
	{'8', 852, 1336}, {'9', 852, 1477}, {'C', 852, 1633},
	{'*', 941, 1209}, {'0', 941, 1336}, {'#', 941, 1477},
	{'D', 941, 1633},
};


/* 100 ms tone + 100 ms silence per digit at 16 kHz; each component at
 * -16 dBFS so the pair peaks at -10 dBFS. */
static size_t gen_dtmf(int16_t *x, size_t max, const char *digits)
{
	const double amp = 32767 * pow(10, -16.0 / 20);
	size_t n = 0;

	for (const char *d = digits; *d; d++) {
		double lo = 0, hi = 0;

		for (size_t i = 0; i < ARRAY_SIZE(dtmf_freqs); i++) {
			if (dtmf_freqs[i].c == *d) {
				lo = dtmf_freqs[i].lo;
				hi = dtmf_freqs[i].hi;
			}
		}
		for (size_t i = 0; i < 1600 && n < max; i++, n++) {
			double t = (double)i / 16000;
			x[n] = (int16_t)lrint(amp * (sin(2 * M_PI * lo * t) +
						     sin(2 * M_PI * hi * t)));
		}
		for (size_t i = 0; i < 1600 && n < max; i++, n++)
			x[n] = 0;
	}

	return n;
}


/* Feed in odd-sized chunks, as a real caller might. */
static void feed(struct dtmf_inband *d, const int16_t *x, size_t n)
{
	size_t chunk = 137;

	for (size_t i = 0; i < n; i += chunk)
		dtmf_inband_feed(d, x + i, n - i < chunk ? n - i : chunk);
}


int test_dtmf_inband(void)
{
	static int16_t x[16000 * 4];
	struct collect c = {{0}, {0}, 0};
	struct dtmf_inband *d = NULL;
	uint32_t lcg = 12345;
	size_t n;

	TEST_ERR(dtmf_inband_alloc(&d, digit_handler, &c));

	n = gen_dtmf(x, ARRAY_SIZE(x), "159#*0D");
	feed(d, x, n);
	TEST_STREQ(c.digits, "159#*0D");

	/* every digit, and the same digit twice in a row */
	c.n = 0;
	c.digits[0] = '\0';
	n = gen_dtmf(x, ARRAY_SIZE(x), "0123456789*#ABCD");
	feed(d, x, n);
	n = gen_dtmf(x, ARRAY_SIZE(x), "33");
	feed(d, x, n);
	TEST_STREQ(c.digits, "0123456789*#ABCD33");

	/* 1 kHz tone, silence and white noise: nothing */
	c.n = 0;
	c.digits[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(x); i++)
		x[i] = (int16_t)lrint(10000 * sin(2 * M_PI * 1000 *
						  (double)i / 16000));
	feed(d, x, ARRAY_SIZE(x));
	memset(x, 0, sizeof(x));
	feed(d, x, ARRAY_SIZE(x));
	for (size_t i = 0; i < ARRAY_SIZE(x); i++) {
		lcg = lcg * 1664525u + 1013904223u;
		x[i] = (int16_t)((int32_t)(lcg >> 16) - 32768) / 4;
	}
	feed(d, x, ARRAY_SIZE(x));
	TEST_EQ(c.n, 0);

	mem_deref(d);
	return 0;
}
