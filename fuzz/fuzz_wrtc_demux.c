/*
 * fuzz_wrtc_demux.c  The WebRTC demultiplexer entry (wrtc_classify and
 *                    wrtc_input) on datagrams from the checked peer and
 *                    from strangers.
 *
 * Input: records [src][len][bytes...]; src & 1 picks the checked peer or
 * a stranger, the last record takes what is left.  Before the records the
 * harness makes the peer pass a real ICE check.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <re.h>
#include "media/wrtc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char lpwd[] = "local-password-1234567";


static int check_from_peer(struct wrtc *w, const struct sa *peer)
{
	const uint32_t prio = 0x6e7fffff;
	uint8_t tid[STUN_TID_SIZE] = {0};
	struct mbuf *mb = mbuf_alloc(256);
	int err;

	if (!mb)
		return ENOMEM;
	err = stun_msg_encode(mb, STUN_METHOD_BINDING, STUN_CLASS_REQUEST,
			      tid, NULL, (const uint8_t *)lpwd, strlen(lpwd),
			      true, 0x00, 2, STUN_ATTR_USERNAME, "LUFR:RUFR",
			      STUN_ATTR_PRIORITY, &prio);
	mb->pos = 0;
	if (!err)
		wrtc_stun_input(w, peer, mb);
	mem_deref(mb);
	return err;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	static const char rfp[] =
		"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
	struct wrtc *w = NULL;
	struct wrtc_params p;
	struct sa peer, stranger;
	size_t pos = 0;

	if (!init) {
		(void)libre_init();
		if (wrtc_init())
			return 0;
		init = true;
	}

	memset(&p, 0, sizeof(p));
	p.lufrag = "LUFR"; p.lpwd = lpwd;
	p.rufrag = "RUFR"; p.rpwd = "remote-password-123456";
	p.rfp_alg = "sha-256"; p.rfp = rfp;
	p.lite = true;
	(void)sa_set_str(&peer, "192.0.2.9", 4000);
	(void)sa_set_str(&stranger, "198.51.100.1", 4000);
	if (wrtc_alloc(&w, NULL, &p, NULL, NULL, NULL, NULL))
		return 0;
	if (check_from_peer(w, &peer) || !wrtc_peer(w))
		goto out;

	while (size - pos >= 2) {
		struct sa src = (data[pos] & 1) ? stranger : peer;
		size_t n = data[pos + 1];
		struct mbuf *mb;

		pos += 2;
		if (n > size - pos || !n)
			n = size - pos;
		(void)wrtc_classify(data + pos, n);
		mb = mbuf_alloc(n ? n : 1);
		if (!mb)
			break;
		(void)mbuf_write_mem(mb, data + pos, n);
		mb->pos = 0;
		(void)wrtc_input(w, &src, mb);
		mem_deref(mb);
		pos += n;
	}

 out:
	mem_deref(w);
	return 0;
}
