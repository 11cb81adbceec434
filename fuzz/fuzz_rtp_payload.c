/*
 * fuzz_rtp_payload.c  Remote-controlled RTP payloads through every codec's
 *                     decoder, the RFC 4733 receiver and the jitter
 *                     buffer.
 *
 * Input: a sequence of records [seq hi][seq lo][flags][len][payload...],
 * where flags bit 0 is the RTP marker and bit 1 asks for a concealment
 * frame; the last record takes what is left.
 */
#include <stdint.h>
#include <stddef.h>
#include <re.h>
#include "media/codec.h"
#include "media/dtmf.h"
#include "media/jitbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void digit_handler(char digit, unsigned duration_ms, void *arg)
{
	unsigned *count = arg;

	(void)digit;
	(void)duration_ms;
	++*count;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int16_t pcm[2 * CODEC_MAX_PAYLOAD];
	static uint8_t buf[CODEC_MAX_PAYLOAD];
	struct codec_state *cs[CODEC_COUNT] = {NULL};
	struct dtmf_rx *rx = NULL;
	struct jitbuf *jb = NULL;
	unsigned digits = 0;
	size_t pos = 0;
	int err = 0;

	for (int i = 0; i < CODEC_COUNT; i++)
		err |= codec_state_alloc(&cs[i], codec_info((enum codec_id)i));
	err |= dtmf_rx_alloc(&rx, 8000, digit_handler, &digits);
	err |= jitbuf_alloc(&jb, 3, 16, 200);
	if (err)
		goto out;

	while (size - pos >= 4) {
		uint16_t seq = (uint16_t)(data[pos] << 8 | data[pos + 1]);
		uint8_t flags = data[pos + 2];
		bool marker = flags & 1;
		size_t len = data[pos + 3];
		const uint8_t *p = data + pos + 4;
		size_t n;

		pos += 4;
		if (len > size - pos)
			len = size - pos;
		pos += len;

		for (int i = 0; i < CODEC_COUNT; i++) {
			n = ARRAY_SIZE(pcm);
			(void)codec_decode(cs[i], p, len, pcm, &n);
			if (flags & 2)
				(void)codec_conceal(cs[i], pcm);
			if (flags & 4)
				(void)codec_conceal_fec(cs[i], p, len, pcm);
		}

		(void)dtmf_rx_packet(rx, (uint32_t)seq * 160, marker, p, len);

		(void)jitbuf_put(jb, seq, (uint32_t)seq * 160, p, len);
		n = sizeof(buf);
		if (JITBUF_FRAME == jitbuf_get(jb, buf, &n) && n) {
			size_t m = ARRAY_SIZE(pcm);
			(void)codec_decode(cs[seq % CODEC_COUNT], buf, n,
					   pcm, &m);
		}
	}
	dtmf_rx_flush(rx);

 out:
	for (int i = 0; i < CODEC_COUNT; i++)
		mem_deref(cs[i]);
	mem_deref(rx);
	mem_deref(jb);

	return 0;
}
