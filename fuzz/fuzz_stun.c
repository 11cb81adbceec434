/*
 * fuzz_stun.c  STUN input of the WebRTC transport (wrtc_stun_input): ICE
 *              checks and responses as a browser or gateway would send
 *              them, into an ICE-lite and a full-ICE instance.
 *
 * Input: [mode][rest].  mode & 1 == 0: rest is the datagram as received.
 * mode & 1 == 1: rest is [type hi][type lo][attributes...] and the harness
 * adds the header, a valid MESSAGE-INTEGRITY (the lite side's ice-pwd) and
 * FINGERPRINT, so the fuzzer gets past authentication (USERNAME must
 * still be "LUFR:RUFR").
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <re.h>
#include "media/wrtc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char lpwd[] = "local-password-1234567";


/* CRC-32 (IEEE) for FINGERPRINT; libre's crc32 is zlib's, which the
 * fuzz targets do not link. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return c ^ 0xffffffffu;
}


static int sign(struct mbuf *mb, const uint8_t *p, size_t n)
{
	static const uint8_t tid[STUN_TID_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8,
						  9, 10, 11, 12};
	uint8_t mi[20];
	uint32_t fp;
	int err;

	if (n < 2 || n > 1200)
		return EINVAL;
	/* header with the length up to and including MESSAGE-INTEGRITY */
	err  = mbuf_write_u8(mb, p[0] & 0x3f);
	err |= mbuf_write_u8(mb, p[1]);
	err |= mbuf_write_u16(mb, htons((uint16_t)(n - 2 + 24)));
	err |= mbuf_write_u32(mb, htonl(0x2112a442));
	err |= mbuf_write_mem(mb, tid, sizeof(tid));
	err |= mbuf_write_mem(mb, p + 2, n - 2);
	if (err)
		return err;
	hmac_sha1((const uint8_t *)lpwd, strlen(lpwd), mb->buf, mb->end,
		  mi, sizeof(mi));
	err  = mbuf_write_u16(mb, htons(STUN_ATTR_MSG_INTEGRITY));
	err |= mbuf_write_u16(mb, htons(20));
	err |= mbuf_write_mem(mb, mi, sizeof(mi));
	/* now the length including FINGERPRINT */
	mb->pos = 2;
	err |= mbuf_write_u16(mb, htons((uint16_t)(n - 2 + 24 + 8)));
	mb->pos = mb->end;
	fp = crc32_ieee(mb->buf, mb->end) ^ 0x5354554e;
	err |= mbuf_write_u16(mb, htons(STUN_ATTR_FINGERPRINT));
	err |= mbuf_write_u16(mb, htons(4));
	err |= mbuf_write_u32(mb, htonl(fp));
	return err;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	static const char rfp[] =
		"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
	struct wrtc *lite = NULL, *full = NULL;
	struct wrtc_params p;
	struct mbuf *mb = NULL;
	struct sa src, src2, cand;

	if (!init) {
		(void)libre_init();
		if (wrtc_init())
			return 0;
		init = true;
	}
	if (size < 1)
		return 0;

	memset(&p, 0, sizeof(p));
	p.lufrag = "LUFR"; p.lpwd = lpwd;
	p.rufrag = "RUFR"; p.rpwd = "remote-password-123456";
	p.rfp_alg = "sha-256"; p.rfp = rfp;
	p.lite = true;
	(void)sa_set_str(&src, "192.0.2.9", 4000);
	(void)sa_set_str(&cand, "192.0.2.9", 4000);
	(void)sa_set_str(&src2, "2001:db8::9", 4001);
	if (wrtc_alloc(&lite, NULL, &p, NULL, NULL, NULL, NULL))
		goto out;
	p.lite = false;
	p.controlling = true;
	p.role = WRTC_ACTIVE;
	p.rcandv = &cand;
	p.rcandc = 1;
	if (wrtc_alloc(&full, NULL, &p, NULL, NULL, NULL, NULL))
		goto out;

	mb = mbuf_alloc(size + 64);
	if (!mb)
		goto out;
	if (data[0] & 1) {
		if (sign(mb, data + 1, size - 1))
			goto out;
	}
	else if (mbuf_write_mem(mb, data + 1, size - 1)) {
		goto out;
	}

	mb->pos = 0;
	wrtc_stun_input(lite, &src, mb);
	mb->pos = 0;
	wrtc_stun_input(full, &src, mb);
	/* again: a second check from the checked peer (consent path), then
	 * from another address (checked set, nomination moves the peer) */
	mb->pos = 0;
	wrtc_stun_input(lite, &src, mb);
	mb->pos = 0;
	wrtc_stun_input(lite, &src2, mb);

 out:
	mem_deref(mb);
	mem_deref(lite);
	mem_deref(full);
	return 0;
}
