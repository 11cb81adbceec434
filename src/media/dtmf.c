/*
 * dtmf.c  RFC 4733 telephone-event receive and send, and in-band DTMF
 *         detection (librem's Goertzel detector at 16 kHz).
 *
 * Each object is used by one thread at a time. Digits are never logged.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include <rem.h>
#include "media/dtmf.h"

enum {
	EVENT_MAX_DIGIT = 15,      /* 0-9 * # A-D; higher are not digits */
	TX_QUEUE = 64,             /* digits */
	TX_TONE_FRAMES = 5,        /* 100 ms of tone */
	TX_END_PACKETS = 3,
	TX_GAP_FRAMES = 3,         /* 60 ms between digits */
	TX_VOLUME = 10,            /* -10 dBm0 */
};

static const char event_chars[] = "0123456789*#ABCD";


int dtmf_char2event(char c)
{
	const char *p;

	if (c >= 'a' && c <= 'd')
		c = (char)(c - 'a' + 'A');
	if (!c)
		return -1;

	p = strchr(event_chars, c);

	return p ? (int)(p - event_chars) : -1;
}


char dtmf_event2char(int ev)
{
	if (ev < 0 || ev > EVENT_MAX_DIGIT)
		return '\0';

	return event_chars[ev];
}


/* --- RFC 4733 receive --- */

struct dtmf_rx {
	dtmf_digit_h *digith;
	void *arg;
	uint32_t clock;

	bool active;               /* an event with timestamp ts was seen */
	bool done;                 /* ... and was reported (or ignored) */
	uint32_t ts;
	uint8_t event;
	uint16_t duration;         /* longest duration seen, RTP units */
};


int dtmf_rx_alloc(struct dtmf_rx **rxp, uint32_t clock,
		  dtmf_digit_h *digith, void *arg)
{
	struct dtmf_rx *rx;

	if (!rxp || !clock)
		return EINVAL;

	rx = mem_zalloc(sizeof(*rx), NULL);
	if (!rx)
		return ENOMEM;

	rx->clock = clock;
	rx->digith = digith;
	rx->arg = arg;

	*rxp = rx;

	return 0;
}


static void rx_report(struct dtmf_rx *rx)
{
	unsigned ms = (unsigned)((uint64_t)rx->duration * 1000 / rx->clock);

	rx->done = true;
	if (rx->event > EVENT_MAX_DIGIT)
		return;

	if (rx->digith)
		rx->digith(dtmf_event2char(rx->event), ms, rx->arg);
}


int dtmf_rx_packet(struct dtmf_rx *rx, uint32_t rtp_ts, bool marker,
		   const uint8_t *payload, size_t len)
{
	uint8_t event;
	uint16_t duration;
	bool end;

	(void)marker;  /* a new event is recognised by its new timestamp */

	if (!rx || !payload)
		return EINVAL;
	if (len < 4 || len % 4)
		return EBADMSG;

	event = payload[0];
	end = (payload[1] & 0x80) != 0;
	duration = (uint16_t)(payload[2] << 8 | payload[3]);

	if (!rx->active || rtp_ts != rx->ts) {

		/* the previous event never sent its end: it still counts */
		if (rx->active && !rx->done)
			rx_report(rx);

		rx->active = true;
		rx->done = false;
		rx->ts = rtp_ts;
		rx->event = event;
		rx->duration = 0;
	}
	else if (event != rx->event) {
		/* same timestamp, other event: not a valid update */
		return 0;
	}

	if (rx->done)
		return 0;  /* retransmitted end packet */

	if (duration > rx->duration)
		rx->duration = duration;

	if (end)
		rx_report(rx);

	return 0;
}


void dtmf_rx_flush(struct dtmf_rx *rx)
{
	if (!rx || !rx->active || rx->done)
		return;

	rx_report(rx);
}


/* --- RFC 4733 send --- */

struct dtmf_tx {
	uint32_t ts_per_frame;

	char queue[TX_QUEUE];
	unsigned q_head;           /* next digit to send */
	unsigned q_count;

	bool sending;              /* inside an event */
	uint8_t event;
	unsigned frame;            /* frames since the event started */
	unsigned gap;              /* silent ticks left before next event */
};


int dtmf_tx_alloc(struct dtmf_tx **txp, uint32_t clock)
{
	struct dtmf_tx *tx;

	if (!txp || !clock || clock % 50)
		return EINVAL;

	tx = mem_zalloc(sizeof(*tx), NULL);
	if (!tx)
		return ENOMEM;

	tx->ts_per_frame = clock / 50;  /* 20 ms */

	*txp = tx;

	return 0;
}


int dtmf_tx_queue(struct dtmf_tx *tx, const char *digits)
{
	size_t n;

	if (!tx || !digits)
		return EINVAL;

	n = strlen(digits);
	for (size_t i = 0; i < n; i++) {
		if (dtmf_char2event(digits[i]) < 0)
			return EINVAL;
	}

	/* all or nothing, so a caller never sends half a PIN */
	if (n > TX_QUEUE - tx->q_count)
		return EOVERFLOW;

	for (size_t i = 0; i < n; i++) {
		unsigned pos = (tx->q_head + tx->q_count) % TX_QUEUE;

		tx->queue[pos] = digits[i];
		++tx->q_count;
	}

	return 0;
}


bool dtmf_tx_busy(const struct dtmf_tx *tx)
{
	return tx && (tx->sending || tx->q_count);
}


bool dtmf_tx_poll(struct dtmf_tx *tx, uint8_t out[4], bool *marker,
		  uint32_t *event_ts_frames_ago, bool *end)
{
	uint32_t duration;
	bool is_end;

	if (!tx || !out)
		return false;

	if (!tx->sending) {
		if (tx->gap) {
			--tx->gap;
			return false;
		}
		if (!tx->q_count)
			return false;

		tx->event = (uint8_t)dtmf_char2event(tx->queue[tx->q_head]);
		tx->q_head = (tx->q_head + 1) % TX_QUEUE;
		--tx->q_count;
		tx->sending = true;
		tx->frame = 0;
	}

	is_end = tx->frame >= TX_TONE_FRAMES;
	duration = tx->ts_per_frame *
		(is_end ? TX_TONE_FRAMES : tx->frame + 1);
	if (duration > 0xffff)
		duration = 0xffff;

	out[0] = tx->event;
	out[1] = (uint8_t)((is_end ? 0x80 : 0x00) | TX_VOLUME);
	out[2] = (uint8_t)(duration >> 8);
	out[3] = (uint8_t)duration;

	if (marker)
		*marker = tx->frame == 0;
	if (event_ts_frames_ago)
		*event_ts_frames_ago = tx->frame;
	if (end)
		*end = is_end;

	if (++tx->frame >= TX_TONE_FRAMES + TX_END_PACKETS) {
		tx->sending = false;
		tx->gap = TX_GAP_FRAMES;
	}

	return true;
}


/* --- in-band detection --- */

/*
 * librem's Goertzel detector runs directly at 16 kHz. spandsp's dtmf_rx
 * cannot be used in this binary: spandsp and librem both export
 * goertzel_init/goertzel_reset/goertzel_result with different signatures,
 * and with librem first in the link order spandsp's detector calls
 * librem's functions (it then misdetects and writes the wrong struct).
 */
struct dtmf_inband {
	dtmf_digit_h *digith;
	void *arg;
	struct dtmf_dec *dec;
};


static void inband_destructor(void *arg)
{
	struct dtmf_inband *d = arg;

	mem_deref(d->dec);
}


static void inband_handler(char digit, void *arg)
{
	struct dtmf_inband *d = arg;

	/* reported at detection, so the agent can react at once; the
	 * tone's length is not measured */
	if (d->digith && dtmf_char2event(digit) >= 0)
		d->digith(digit, 0, d->arg);
}


int dtmf_inband_alloc(struct dtmf_inband **dp, dtmf_digit_h *digith,
		      void *arg)
{
	struct dtmf_inband *d;
	int err;

	if (!dp)
		return EINVAL;

	d = mem_zalloc(sizeof(*d), inband_destructor);
	if (!d)
		return ENOMEM;

	d->digith = digith;
	d->arg = arg;

	err = dtmf_dec_alloc(&d->dec, 16000, 1, inband_handler, d);
	if (err)
		mem_deref(d);
	else
		*dp = d;

	return err;
}


void dtmf_inband_feed(struct dtmf_inband *d, const int16_t *pcm, size_t n)
{
	if (!d || !pcm || !n)
		return;

	dtmf_dec_probe(d->dec, pcm, n);
}
