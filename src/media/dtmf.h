/*
 * dtmf.h  DTMF: RFC 4733 telephone-event receive (a digit counts once, on
 *         its end packets) and send (paced packets with retransmitted
 *         end), plus in-band tone detection on 16 kHz PCM as a fallback.
 *
 * Each object is used by one thread at a time.
 */
#ifndef AGENTLINE_DTMF_H
#define AGENTLINE_DTMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* digit is one of 0-9 * # A-D; duration_ms as signalled or measured */
typedef void (dtmf_digit_h)(char digit, unsigned duration_ms, void *arg);

/* --- RFC 4733 receive --- */
struct dtmf_rx;
int  dtmf_rx_alloc(struct dtmf_rx **rxp, uint32_t clock,
		   dtmf_digit_h *digith, void *arg);
/* Feed one telephone-event RTP payload. Returns EBADMSG when malformed. */
int  dtmf_rx_packet(struct dtmf_rx *rx, uint32_t rtp_ts, bool marker,
		    const uint8_t *payload, size_t len);
/* Report an event still waiting for its end packet (call teardown). */
void dtmf_rx_flush(struct dtmf_rx *rx);

/* --- RFC 4733 send --- */
struct dtmf_tx;
int  dtmf_tx_alloc(struct dtmf_tx **txp, uint32_t clock);
/* Queue digits (0-9*#A-D, others rejected with EINVAL); bounded queue. */
int  dtmf_tx_queue(struct dtmf_tx *tx, const char *digits);
bool dtmf_tx_busy(const struct dtmf_tx *tx);
/* Called every 20 ms tick while busy. Writes one 4-byte event payload into
 * out and returns true if a packet must be sent now; *marker set on the
 * first packet of an event; *ts_offset_frames: the RTP timestamp of the
 * event is the timestamp of the frame where it started, given as frames
 * back from "now" (caller computes ts). *end true for end packets. */
bool dtmf_tx_poll(struct dtmf_tx *tx, uint8_t out[4], bool *marker,
		  uint32_t *event_ts_frames_ago, bool *end);

/* --- in-band detection (16 kHz PCM) ---
 * Each digit is reported once, when detected; duration_ms is 0 (not
 * measured). */
struct dtmf_inband;
int  dtmf_inband_alloc(struct dtmf_inband **dp, dtmf_digit_h *digith,
		       void *arg);
void dtmf_inband_feed(struct dtmf_inband *d, const int16_t *pcm, size_t n);

/* Character <-> RFC 4733 event code; -1 if invalid */
int  dtmf_char2event(char c);
char dtmf_event2char(int ev);

#endif
