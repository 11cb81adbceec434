/*
 * test_mstream_rtcp.c  A plain RTP call whose far end sends from another
 *                      port than its SDP names: the stream latches RTP
 *                      and RTCP to where media really comes from, and the
 *                      RTCP it then sends there carries an SDES CNAME
 *                      (libre's rtcp_start with a NULL cname dropped it).
 */
#include <string.h>
#include <re.h>
#include "media/stream.h"
#include "test.h"

struct peer {
	struct udp_sock *rtp, *rtcp;
	unsigned rtcp_pkts;
	unsigned sdes_cname;       /* SDES chunks with a non-empty CNAME */
	unsigned sdes_no_cname;    /* SDES chunks without one            */
};


static void stop_tmr(void *arg)
{
	(void)arg;
	re_cancel();
}


static void rtcp_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct peer *p = arg;
	(void)src;

	++p->rtcp_pkts;
	while (mbuf_get_left(mb) >= 4) {
		struct rtcp_msg *msg = NULL;

		if (rtcp_decode(&msg, mb))
			break;
		if (msg->hdr.pt == RTCP_SDES) {
			for (uint32_t i = 0; i < msg->hdr.count; i++) {
				const struct rtcp_sdes *sd = &msg->r.sdesv[i];
				bool cname = false;

				for (uint32_t k = 0; k < sd->n; k++)
					if (sd->itemv[k].type ==
					    RTCP_SDES_CNAME &&
					    sd->itemv[k].length > 0)
						cname = true;
				if (cname)
					++p->sdes_cname;
				else
					++p->sdes_no_cname;
			}
		}
		mem_deref(msg);
	}
	if (p->sdes_cname + p->sdes_no_cname >= 1)
		re_cancel();
}


static void rtp_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	(void)src;
	(void)mb;
	(void)arg;
}


static void send_rtp(void *arg);
static struct tmr tmr_send;
static struct sa send_dst;
static uint16_t seq;


static void send_rtp(void *arg)
{
	struct peer *p = arg;
	struct mbuf *mb = mbuf_alloc(12 + 160);

	if (mb) {
		/* V=2, PT 0 (PCMU), seq, ts, ssrc; 160 bytes of silence */
		(void)mbuf_write_u8(mb, 0x80);
		(void)mbuf_write_u8(mb, 0);
		(void)mbuf_write_u16(mb, htons(seq));
		(void)mbuf_write_u32(mb, htonl((uint32_t)seq * 160));
		(void)mbuf_write_u32(mb, htonl(0x1234abcd));
		(void)mbuf_fill(mb, 0xff, 160);
		mb->pos = 0;
		(void)udp_send(p->rtp, &send_dst, mb);
		mem_deref(mb);
		++seq;
	}
	tmr_start(&tmr_send, 20, send_rtp, p);
}


int test_mstream_rtcp_cname_after_latch(void)
{
	struct peer p;
	struct mstream *ms = NULL;
	struct mstream_cfg cfg;
	struct mbuf *offer = NULL, *answer = NULL;
	struct sa a_rtp, a_rtcp, laddr;
	const char *reason = NULL;
	uint16_t scode = 0;
	struct tmr t;
	int err = 0;

	memset(&p, 0, sizeof(p));
	memset(&cfg, 0, sizeof(cfg));
	tmr_init(&t);
	tmr_init(&tmr_send);

	/* the far end: RTP/RTCP socket pair it really sends from */
	sa_set_str(&a_rtp, "127.0.0.1", 0);
	TEST_ERR(udp_listen(&p.rtp, &a_rtp, rtp_recv, &p));
	TEST_ERR(udp_local_get(p.rtp, &a_rtp));
	a_rtcp = a_rtp;
	sa_set_port(&a_rtcp, sa_port(&a_rtp) + 1);
	err = udp_listen(&p.rtcp, &a_rtcp, rtcp_recv, &p);
	if (err) {
		/* port+1 taken: not this test's business */
		mem_deref(p.rtp);
		return 0;
	}

	sa_set_str(&cfg.laddr, "127.0.0.1", 0);
	cfg.port_min = 43000;
	cfg.port_max = 43999;
	TEST_ERR(sdpneg_prefs_parse(&cfg.prefs, "PCMU"));
	cfg.rtp_timeout_secs = 10;
	cfg.jitter_min_ms = 40;
	cfg.jitter_max_ms = 200;
	TEST_ERR(mclock_init());
	TEST_ERR(mstream_alloc(&ms, &cfg, "rtcp-test", NULL, NULL));

	/* its SDP names another port (a NAT, a media relay) */
	offer = mbuf_alloc(512);
	TEST_ASSERT(offer != NULL);
	TEST_ERR(mbuf_printf(offer,
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
		"c=IN IP4 127.0.0.1\r\nt=0 0\r\n"
		"m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
		"a=sendrecv\r\n"));
	offer->pos = 0;
	err = mstream_offer_decode(ms, offer, &answer, &scode, &reason);
	TEST_ERR(err);
	TEST_ERR(mstream_start(ms));

	/* send RTP to the stream from the real address */
	laddr = cfg.laddr;
	sa_set_port(&laddr, mstream_lport(ms));
	send_dst = laddr;
	tmr_start(&tmr_send, 0, send_rtp, &p);
	tmr_start(&t, 15000, stop_tmr, NULL);
	re_main(NULL);
	tmr_cancel(&t);
	tmr_cancel(&tmr_send);

	TEST_ASSERT(p.rtcp_pkts > 0);
	TEST_EQ(p.sdes_no_cname, 0);
	TEST_ASSERT(p.sdes_cname > 0);

	mstream_stop(ms);
	mem_deref(ms);
	mem_deref(offer);
	mem_deref(answer);
	mem_deref(p.rtp);
	mem_deref(p.rtcp);
	mclock_close();
	return 0;
}
