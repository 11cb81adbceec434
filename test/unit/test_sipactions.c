/*
 * test_sipactions.c  The SIP actions on real calls: agentline's UA calls a
 *                    SIPp UAS (or two) on loopback and the test drives
 *                    call_send_dtmf / call_hold / call_transfer_* directly.
 *                    SIPp scenarios check what arrives (the re-INVITE
 *                    directions, REFER headers, Replaces) and fail on
 *                    anything unexpected; RFC 4733 packets are captured
 *                    at the far end's RTP port and checked byte by byte.
 *                    Skipped (passes) without sipp.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <re.h>
#include "core/conf.h"
#include "pipeline/app.h"
#include "sip/call.h"
#include "sip/ua.h"
#include "test.h"

extern char **environ;

enum { MAX_PKTS = 2000 };

struct rtp_pkt {
	uint8_t pt;
	bool marker;
	uint32_t ts;
	uint8_t ev[4];
	uint64_t at;
};

static struct {
	struct udp_sock *us;
	struct rtp_pkt pkts[MAX_PKTS];
	size_t n;
	/* outbound call */
	bool answered, outcome_seen;
	enum call_outcome outcome;
	/* transfer */
	bool xfer_done;
	int xfer_err;
	uint16_t xfer_scode;
	char dir[64];
	pid_t pids[4];             /* sipp instances still running        */
	size_t npids;
} w;


static void rtp_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	const uint8_t *p = mbuf_buf(mb);
	size_t len = mbuf_get_left(mb);
	struct rtp_pkt *k;
	(void)src;
	(void)arg;

	if (len < 12 || w.n >= MAX_PKTS || (p[0] >> 6) != 2)
		return;
	k = &w.pkts[w.n++];
	k->pt = p[1] & 0x7f;
	k->marker = (p[1] & 0x80) != 0;
	k->ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		(uint32_t)p[6] << 8 | p[7];
	if (len >= 16)
		memcpy(k->ev, p + 12, 4);
	k->at = tmr_jiffies();
}


static void stop_tmr(void *arg)
{
	(void)arg;
	re_cancel();
}


static void run_ms(unsigned ms)
{
	struct tmr t;

	tmr_init(&t);
	tmr_start(&t, ms, stop_tmr, NULL);
	re_main(NULL);
	tmr_cancel(&t);
}


static bool run_until(bool *flag, unsigned ms)
{
	for (unsigned i = 0; i < ms / 20 && !*flag; i++)
		run_ms(20);
	return *flag;
}


static uint16_t free_udp_port(void)
{
	struct udp_sock *us = NULL;
	struct sa sa;
	uint16_t port = 0;

	sa_set_str(&sa, "127.0.0.1", 0);
	if (0 == udp_listen(&us, &sa, NULL, NULL) &&
	    0 == udp_local_get(us, &sa))
		port = sa_port(&sa);
	mem_deref(us);
	return port;
}


static bool have_sipp(void)
{
	return 0 == access("/usr/bin/sipp", X_OK);
}


/* Write a scenario and start `sipp` as a UAS on port. */
static int sipp_start(pid_t *pidp, const char *dir, const char *name,
		      const char *xml, uint16_t port)
{
	char path[300], ports[16], trace[300];
	char *argv[20];
	FILE *f;
	int n = 0;

	re_snprintf(path, sizeof(path), "%s/%s.xml", dir, name);
	f = fopen(path, "w");
	if (!f)
		return errno;
	fputs(xml, f);
	fclose(f);
	re_snprintf(ports, sizeof(ports), "%u", port);
	re_snprintf(trace, sizeof(trace), "%s/%s_errors.log", dir, name);
	argv[n++] = "sipp";
	argv[n++] = "-sf";
	argv[n++] = path;
	argv[n++] = "-i";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = ports;
	argv[n++] = "-m";
	argv[n++] = "1";
	argv[n++] = "-nostdin";
	argv[n++] = "-timeout";
	argv[n++] = "25s";
	argv[n++] = "-trace_err";
	argv[n++] = "-error_file";
	argv[n++] = trace;
	argv[n] = NULL;

	{
		posix_spawn_file_actions_t fa;
		int err;

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null",
						 O_WRONLY, 0);
		err = posix_spawnp(pidp, "sipp", &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		if (err)
			return err;
	}
	if (w.npids < ARRAY_SIZE(w.pids))
		w.pids[w.npids++] = *pidp;
	run_ms(300);   /* let it bind */
	return 0;
}


/* Wait for sipp to exit: its exit code (0 = every message as scripted),
 * or -1 after a timeout (then it is killed). */
static void sipp_forget(pid_t pid)
{
	for (size_t i = 0; i < w.npids; i++) {
		if (w.pids[i] == pid)
			w.pids[i] = 0;
	}
}


static int sipp_wait(pid_t pid, unsigned ms)
{
	int st = 0;

	for (unsigned i = 0; i < ms / 50; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			sipp_forget(pid);
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		run_ms(50);
	}
	kill(pid, SIGKILL);
	(void)waitpid(pid, &st, 0);
	sipp_forget(pid);
	return -1;
}


static void outcome_h(struct call *call, enum call_outcome o,
		      uint16_t scode, void *arg)
{
	(void)call;
	(void)scode;
	(void)arg;
	w.outcome_seen = true;
	w.outcome = o;
	w.answered = o == CALL_OUTCOME_ANSWERED;
}


static void xfer_h(int err, uint16_t scode, void *arg)
{
	(void)arg;
	w.xfer_done = true;
	w.xfer_err = err;
	w.xfer_scode = scode;
}


static int world_start(struct conf **confp, uint16_t *sipportp)
{
	struct conf *conf = NULL;
	char kv[120];
	struct sa sa;
	uint16_t port = free_udp_port();
	int err;

	memset(&w, 0, sizeof(w));
	re_snprintf(w.dir, sizeof(w.dir), "/tmp/agentline-sipact-XXXXXX");
	if (!mkdtemp(w.dir))
		return errno;

	err = conf_alloc(&conf);
	re_snprintf(kv, sizeof(kv), "sip_listen=udp:127.0.0.1:%u", port);
	err |= conf_set_arg(conf, kv, NULL, NULL);
	err |= conf_set_arg(conf, "app=echo", NULL, NULL);
	err |= conf_set_arg(conf, "media_srtp=off", NULL, NULL);
	err |= conf_set_arg(conf, "rtp_port_min=42000", NULL, NULL);
	err |= conf_set_arg(conf, "rtp_port_max=42998", NULL, NULL);
	if (!err && conf_validate(conf, NULL, NULL))
		err = EINVAL;
	if (!err)
		err = ua_init(conf);
	if (err) {
		mem_deref(conf);
		return err;
	}

	/* the far end's RTP port: we capture what agentline sends */
	sa_set_str(&sa, "127.0.0.1", 0);
	err = udp_listen(&w.us, &sa, rtp_recv, NULL);
	if (err)
		return err;
	*confp = conf;
	*sipportp = port;
	return 0;
}


static void world_stop(struct conf *conf)
{
	for (size_t i = 0; i < w.npids; i++) {
		int st;
		if (!w.pids[i])
			continue;
		kill(w.pids[i], SIGKILL);
		(void)waitpid(w.pids[i], &st, 0);
	}
	w.npids = 0;
	ua_close();
	w.us = mem_deref(w.us);
	mem_deref(conf);
}


static uint16_t rtp_port(void)
{
	struct sa sa;

	return udp_local_get(w.us, &sa) ? 0 : sa_port(&sa);
}


/* A UAS answering with audio at our capture port; te: offer
 * telephone-event.  `middle` runs between the ACK and the BYE. */
static char *uas_xml(bool te, const char *middle)
{
	char *x = NULL;

	(void)re_sdprintf(&x,
	"<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n"
	"<scenario name=\"uas\">\n"
	"<recv request=\"INVITE\" rrs=\"true\">\n"
	" <action><ereg regexp=\".*\" search_in=\"hdr\" header=\"From:\""
	" assign_to=\"remote_from\"/>\n"
	"  <assign assign_to=\"d\" value=\"0\"/>\n"
	"  <assign assign_to=\"r\" value=\"0\"/>\n"
	"  <assign assign_to=\"b\" value=\"0\"/></action>\n"
	"</recv>\n"
	"<send><![CDATA[\n"
	"SIP/2.0 200 OK\n"
	"[last_Via:]\n"
	"[last_From:]\n"
	"[last_To:];tag=[pid]SIPpTag01[call_number]\n"
	"[last_Call-ID:]\n"
	"[last_CSeq:]\n"
	"Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>\n"
	"Content-Type: application/sdp\n"
	"Content-Length: [len]\n"
	"\n"
	"v=0\n"
	"o=- 1 1 IN IP4 127.0.0.1\n"
	"s=-\n"
	"c=IN IP4 127.0.0.1\n"
	"t=0 0\n"
	"m=audio %u RTP/AVP 0%s\n"
	"a=rtpmap:0 PCMU/8000\n"
	"%s"
	"a=sendrecv\n"
	"]]></send>\n"
	"<recv request=\"ACK\"/>\n"
	"%s"
	"<recv request=\"BYE\" timeout=\"20000\"/>\n"
	"<send><![CDATA[\n"
	"SIP/2.0 200 OK\n"
	"[last_Via:]\n"
	"[last_From:]\n"
	"[last_To:]\n"
	"[last_Call-ID:]\n"
	"[last_CSeq:]\n"
	"Content-Length: 0\n"
	"\n"
	"]]></send>\n"
	"<Reference variables=\"remote_from,d,r,b\"/>\n"
	"</scenario>\n",
	rtp_port(), te ? " 101" : "",
	te ? "a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15\n" : "",
	middle);
	return x;
}


static int place(uint16_t sipp_port, const char *user, struct call **cp)
{
	char uri[100];
	int err;

	re_snprintf(uri, sizeof(uri), "sip:%s@127.0.0.1:%u", user,
		    sipp_port);
	err = ua_connect(cp, uri, 0, outcome_h, NULL);
	if (err)
		return err;
	return run_until(&w.answered, 5000) ? 0 : ETIMEDOUT;
}


int test_sip_dtmf_send(void)
{
	struct conf *conf = NULL;
	struct call *call = NULL;
	uint16_t port, sp;
	pid_t pid;
	char *xml = NULL;
	unsigned nev = 0, ends = 0;
	int err, rc;

	if (!have_sipp()) {
		fprintf(stderr, "sipp not installed: skipped\n");
		return 0;
	}
	TEST_ERR(world_start(&conf, &port));
	sp = free_udp_port();
	xml = uas_xml(true, "");
	err = sipp_start(&pid, w.dir, "dtmf", xml, sp);
	if (err)
		goto out;
	err = place(sp, "dtmf", &call);
	if (err)
		goto out;

	TEST_ASSERT(call_find(call_id(call)) == call);
	run_ms(200);
	err = call_send_dtmf(call, "1x");
	if (err != EINVAL) {
		err = EINVAL;
		goto out;
	}
	err = call_send_dtmf(call, "15#");
	if (err)
		goto out;
	run_ms(1500);
	call_hangup(call, NULL);
	rc = sipp_wait(pid, 5000);
	if (rc) {
		fprintf(stderr, "sipp exit %d (see %s)\n", rc, w.dir);
		err = EPROTO;
		goto out;
	}

	/* the far end saw three events, each: marker on its first packet,
	 * one timestamp, growing duration, three end packets, ~100 ms */
	{
		static const uint8_t want[] = {1, 5, 11};
		uint32_t ts = 0, lastdur = 0;
		int cur = -1;

		for (size_t i = 0; i < w.n; i++) {
			const struct rtp_pkt *k = &w.pkts[i];
			uint32_t dur = (uint32_t)k->ev[2] << 8 | k->ev[3];
			bool end = (k->ev[1] & 0x80) != 0;

			if (k->pt != 101)
				continue;
			if (cur < 0 || (k->ts != ts)) {
				/* a new event */
				if (cur >= 0 && ends != 3)
					goto bad;
				TEST_ASSERT(k->marker);
				TEST_ASSERT(nev < 3);
				TEST_EQ(k->ev[0], want[nev]);
				++nev;
				cur = k->ev[0];
				ts = k->ts;
				lastdur = 0;
				ends = 0;
			}
			else {
				TEST_ASSERT(!k->marker);
				TEST_EQ(k->ev[0], cur);
			}
			TEST_ASSERT(dur >= lastdur);
			lastdur = dur;
			if (end) {
				++ends;
				TEST_EQ(dur, 800);   /* 100 ms at 8 kHz */
			}
			else {
				TEST_ASSERT(ends == 0);
			}
		}
		TEST_EQ(nev, 3);
		TEST_EQ(ends, 3);
	}
	goto out;

 bad:
	fprintf(stderr, "event %u had %u end packets\n", nev, ends);
	err = EPROTO;
 out:
	mem_deref(xml);
	world_stop(conf);
	return err;
}


int test_sip_dtmf_unsupported(void)
{
	struct conf *conf = NULL;
	struct call *call = NULL;
	uint16_t port, sp;
	pid_t pid;
	char *xml = NULL;
	int err, rc;

	if (!have_sipp())
		return 0;
	TEST_ERR(world_start(&conf, &port));
	sp = free_udp_port();
	xml = uas_xml(false, "");
	err = sipp_start(&pid, w.dir, "note", xml, sp);
	if (!err)
		err = place(sp, "note", &call);
	if (err)
		goto out;
	err = call_send_dtmf(call, "1");
	if (err != ENOTSUP) {
		fprintf(stderr, "send_dtmf without telephone-event: %d\n",
			err);
		err = EINVAL;
		goto out;
	}
	err = 0;
	call_hangup(call, NULL);
	rc = sipp_wait(pid, 5000);
	if (rc)
		err = EPROTO;
 out:
	mem_deref(xml);
	world_stop(conf);
	return err;
}


static size_t audio_between(uint64_t from, uint64_t to)
{
	size_t n = 0;

	for (size_t i = 0; i < w.n; i++) {
		if (w.pkts[i].pt == 0 && w.pkts[i].at >= from &&
		    w.pkts[i].at < to)
			++n;
	}
	return n;
}


/* answer a re-INVITE whose SDP must carry `dir`, with `answer_dir` */
#define REINVITE(dir, answer_dir)					\
	"<recv request=\"INVITE\">\n"					\
	" <action><ereg regexp=\"a=" dir "\" search_in=\"body\""	\
	" check_it=\"true\" assign_to=\"d\"/></action>\n"		\
	"</recv>\n"							\
	"<send><![CDATA[\n"						\
	"SIP/2.0 200 OK\n"						\
	"[last_Via:]\n"							\
	"[last_From:]\n"						\
	"[last_To:]\n"							\
	"[last_Call-ID:]\n"						\
	"[last_CSeq:]\n"						\
	"Contact: <sip:sipp@[local_ip]:[local_port]>\n"			\
	"Content-Type: application/sdp\n"				\
	"Content-Length: [len]\n"					\
	"\n"								\
	"v=0\n"								\
	"o=- 1 2 IN IP4 127.0.0.1\n"					\
	"s=-\n"								\
	"c=IN IP4 127.0.0.1\n"						\
	"t=0 0\n"							\
	"m=audio [$port] RTP/AVP 0 101\n"				\
	"a=rtpmap:0 PCMU/8000\n"					\
	"a=rtpmap:101 telephone-event/8000\n"				\
	"a=" answer_dir "\n"						\
	"]]></send>\n"							\
	"<recv request=\"ACK\"/>\n"


/* While we hold it, the far end sends its own re-INVITE (a session
 * refresh offering sendrecv): our answer must keep a=sendonly. */
#define PEER_REINVITE							\
	"<send retrans=\"500\"><![CDATA[\n"				\
	"INVITE [next_url] SIP/2.0\n"					\
	"Via: SIP/2.0/[transport] [local_ip]:[local_port];"		\
	"branch=[branch]\n"						\
	"From: <sip:sipp@[local_ip]:[local_port]>;"			\
	"tag=[pid]SIPpTag01[call_number]\n"				\
	"To:[$remote_from]\n"						\
	"Call-ID: [call_id]\n"						\
	"CSeq: 1 INVITE\n"						\
	"Contact: <sip:sipp@[local_ip]:[local_port]>\n"			\
	"Max-Forwards: 70\n"						\
	"Content-Type: application/sdp\n"				\
	"Content-Length: [len]\n"					\
	"\n"								\
	"v=0\n"								\
	"o=- 1 3 IN IP4 127.0.0.1\n"					\
	"s=-\n"								\
	"c=IN IP4 127.0.0.1\n"						\
	"t=0 0\n"							\
	"m=audio [$port] RTP/AVP 0 101\n"				\
	"a=rtpmap:0 PCMU/8000\n"					\
	"a=rtpmap:101 telephone-event/8000\n"				\
	"a=sendrecv\n"							\
	"]]></send>\n"							\
	"<recv response=\"100\" optional=\"true\"/>\n"			\
	"<recv response=\"200\">\n"					\
	" <action><ereg regexp=\"a=sendonly\" search_in=\"body\""	\
	" check_it=\"true\" assign_to=\"d\"/></action>\n"		\
	"</recv>\n"							\
	"<send><![CDATA[\n"						\
	"ACK [next_url] SIP/2.0\n"					\
	"Via: SIP/2.0/[transport] [local_ip]:[local_port];"		\
	"branch=[branch]\n"						\
	"From: <sip:sipp@[local_ip]:[local_port]>;"			\
	"tag=[pid]SIPpTag01[call_number]\n"				\
	"To:[$remote_from]\n"						\
	"Call-ID: [call_id]\n"						\
	"CSeq: 1 ACK\n"							\
	"Max-Forwards: 70\n"						\
	"Content-Length: 0\n"						\
	"\n"								\
	"]]></send>\n"


int test_sip_hold(void)
{
	struct conf *conf = NULL;
	struct call *call = NULL;
	uint16_t port, sp;
	pid_t pid;
	char *xml = NULL, *mid = NULL;
	uint64_t t0, t1, t2, t3;
	size_t before, held, after;
	int err, rc;

	if (!have_sipp())
		return 0;
	TEST_ERR(world_start(&conf, &port));
	sp = free_udp_port();
	/* [$port] is not a SIPp keyword: put the number in */
	err = re_sdprintf(&mid, "%s%s%s", REINVITE("sendonly", "recvonly"),
			  PEER_REINVITE, REINVITE("sendrecv", "sendrecv"));
	if (err)
		goto out;
	{
		char num[8], *p;

		re_snprintf(num, sizeof(num), "%u", rtp_port());
		while ((p = strstr(mid, "[$port]"))) {
			memmove(p + strlen(num), p + 7, strlen(p + 7) + 1);
			memcpy(p, num, strlen(num));
		}
	}
	xml = uas_xml(true, mid);
	err = sipp_start(&pid, w.dir, "hold", xml, sp);
	if (!err)
		err = place(sp, "hold", &call);
	if (err)
		goto out;

	t0 = tmr_jiffies();
	run_ms(500);
	t1 = tmr_jiffies();
	err = call_hold(call, true);
	if (err) {
		fprintf(stderr, "call_hold: %d\n", err);
		goto out;
	}
	TEST_EQ(call_hold(call, true), 0);   /* already: no second INVITE */
	run_ms(800);
	t2 = tmr_jiffies();
	err = call_hold(call, false);
	if (err)
		goto out;
	run_ms(600);
	t3 = tmr_jiffies();
	call_hangup(call, NULL);
	rc = sipp_wait(pid, 5000);
	if (rc) {
		fprintf(stderr, "sipp exit %d (see %s)\n", rc, w.dir);
		err = EPROTO;
		goto out;
	}

	/* sending stops on hold and comes back on resume */
	before = audio_between(t0, t1);
	held = audio_between(t1 + 100, t2);
	after = audio_between(t2 + 200, t3);
	if (before < 15 || held > 0 || after < 12) {
		fprintf(stderr, "RTP packets: before %zu, held %zu, after "
			"%zu\n", before, held, after);
		err = EPROTO;
	}
 out:
	mem_deref(mid);
	mem_deref(xml);
	world_stop(conf);
	return err;
}


/* The transferee: takes the REFER (headers checked), 202, NOTIFY 100
 * then 200 (message/sipfrag), then our BYE. */
#define TRANSFEREE(refer_to_re)						\
	"<recv request=\"REFER\">\n"					\
	" <action>\n"							\
	"  <ereg regexp=\"" refer_to_re "\" search_in=\"hdr\""		\
	"   header=\"Refer-To:\" check_it=\"true\" assign_to=\"r\"/>\n"	\
	"  <ereg regexp=\"sip:\" search_in=\"hdr\""			\
	"   header=\"Referred-By:\" check_it=\"true\" assign_to=\"b\"/>\n" \
	" </action>\n"							\
	"</recv>\n"							\
	"<send><![CDATA[\n"						\
	"SIP/2.0 202 Accepted\n"					\
	"[last_Via:]\n"							\
	"[last_From:]\n"						\
	"[last_To:]\n"							\
	"[last_Call-ID:]\n"						\
	"[last_CSeq:]\n"						\
	"Contact: <sip:sipp@[local_ip]:[local_port]>\n"			\
	"Content-Length: 0\n"						\
	"\n"								\
	"]]></send>\n"							\
	NOTIFY("1", "active;expires=60", "100 Trying")			\
	NOTIFY("2", "terminated;reason=noresource", "200 OK")

#define NOTIFY(cseq, state, frag)					\
	"<send><![CDATA[\n"						\
	"NOTIFY [next_url] SIP/2.0\n"					\
	"Via: SIP/2.0/[transport] [local_ip]:[local_port];"		\
	"branch=[branch]\n"						\
	"From: <sip:sipp@[local_ip]:[local_port]>;"			\
	"tag=[pid]SIPpTag01[call_number]\n"				\
	"To:[$remote_from]\n"						\
	"Call-ID: [call_id]\n"						\
	"CSeq: " cseq " NOTIFY\n"					\
	"Contact: <sip:sipp@[local_ip]:[local_port]>\n"			\
	"Max-Forwards: 70\n"						\
	"Event: refer\n"						\
	"Subscription-State: " state "\n"				\
	"Content-Type: message/sipfrag\n"				\
	"Content-Length: [len]\n"					\
	"\n"								\
	"SIP/2.0 " frag "\n"						\
	"]]></send>\n"							\
	"<recv response=\"200\"/>\n"


int test_sip_transfer_blind(void)
{
	struct conf *conf = NULL;
	struct call *call = NULL;
	uint16_t port, sp;
	pid_t pid;
	char *xml = NULL;
	int err, rc;

	if (!have_sipp())
		return 0;
	TEST_ERR(world_start(&conf, &port));
	sp = free_udp_port();
	xml = uas_xml(true,
		      TRANSFEREE("&lt;sip:200@127\\.0\\.0\\.1:[0-9]+&gt;"));
	err = sipp_start(&pid, w.dir, "blind", xml, sp);
	if (!err)
		err = place(sp, "blind", &call);
	if (err)
		goto out;

	err = call_transfer_blind(call, "200", xfer_h, NULL);
	if (err)
		goto out;
	TEST_EQ(call_transfer_blind(call, "201", xfer_h, NULL), EALREADY);
	if (!run_until(&w.xfer_done, 5000) || w.xfer_err ||
	    w.xfer_scode != 200) {
		fprintf(stderr, "transfer: done %d err %d scode %u\n",
			w.xfer_done, w.xfer_err, w.xfer_scode);
		err = EPROTO;
		goto out;
	}
	/* our leg is hung up after success: sipp sees the BYE */
	rc = sipp_wait(pid, 5000);
	if (rc) {
		fprintf(stderr, "sipp exit %d (see %s)\n", rc, w.dir);
		err = EPROTO;
	}
	TEST_EQ(call_count(), 0);
 out:
	mem_deref(xml);
	world_stop(conf);
	return err;
}


int test_sip_transfer_refused(void)
{
	static const char refuse[] =
		"<recv request=\"REFER\"/>\n"
		"<send><![CDATA[\n"
		"SIP/2.0 403 Forbidden\n"
		"[last_Via:]\n"
		"[last_From:]\n"
		"[last_To:]\n"
		"[last_Call-ID:]\n"
		"[last_CSeq:]\n"
		"Content-Length: 0\n"
		"\n"
		"]]></send>\n";
	struct conf *conf = NULL;
	struct call *call = NULL;
	uint16_t port, sp;
	pid_t pid;
	char *xml = NULL;
	int err, rc;

	if (!have_sipp())
		return 0;
	TEST_ERR(world_start(&conf, &port));
	sp = free_udp_port();
	{
		char twice[sizeof(refuse) * 2];

		re_snprintf(twice, sizeof(twice), "%s%s", refuse, refuse);
		xml = uas_xml(true, twice);
	}
	err = sipp_start(&pid, w.dir, "refused", xml, sp);
	if (!err)
		err = place(sp, "refused", &call);
	if (err)
		goto out;
	err = call_transfer_blind(call, "sip:200@127.0.0.1", xfer_h, NULL);
	if (err)
		goto out;
	if (!run_until(&w.xfer_done, 5000) || w.xfer_err != EPERM ||
	    w.xfer_scode != 403) {
		err = EPROTO;
		goto out;
	}
	/* the call stays up after a failed transfer, and may try again */
	run_ms(300);
	TEST_EQ(call_count(), 1);
	w.xfer_done = false;
	err = call_transfer_blind(call, "sip:201@127.0.0.1", xfer_h, NULL);
	if (err)
		goto out;
	if (!run_until(&w.xfer_done, 5000) || w.xfer_scode != 403) {
		err = EPROTO;
		goto out;
	}
	run_ms(100);
	TEST_EQ(call_count(), 1);
	call_hangup(call, NULL);
	rc = sipp_wait(pid, 5000);
	if (rc)
		err = EPROTO;
 out:
	mem_deref(xml);
	world_stop(conf);
	return err;
}


int test_sip_transfer_attended(void)
{
	struct conf *conf = NULL;
	struct call *call = NULL;
	uint16_t port, sa_port, sb_port;
	pid_t pa, pb;
	char *xa = NULL, *xb = NULL, target[80];
	int err, rc;

	if (!have_sipp())
		return 0;
	TEST_ERR(world_start(&conf, &port));
	sa_port = free_udp_port();
	sb_port = free_udp_port();
	/* Refer-To names the target with the consult dialog to replace:
	 * its Call-ID, the target's tag (SIPp's) and ours */
	xa = uas_xml(true, TRANSFEREE("&lt;sip:target@127\\.0\\.0\\.1:[0-9]+"
				      "\\?Replaces=[^%&gt;]+%3Bto-tag%3D[0-9]+"
				      "SIPpTag01[0-9]+%3Bfrom-tag%3D"
				      "[^%&gt;]+&gt;"));
	xb = uas_xml(true, "");
	err = sipp_start(&pa, w.dir, "transferee", xa, sa_port);
	if (!err)
		err = sipp_start(&pb, w.dir, "target", xb, sb_port);
	if (!err)
		err = place(sa_port, "transferee", &call);
	if (err)
		goto out;

	re_snprintf(target, sizeof(target), "sip:target@127.0.0.1:%u",
		    sb_port);
	err = call_transfer_attended(call, target, xfer_h, NULL);
	if (err)
		goto out;
	TEST_EQ(call_count(), 2);   /* the consult leg */
	if (!run_until(&w.xfer_done, 8000) || w.xfer_err ||
	    w.xfer_scode != 200) {
		fprintf(stderr, "attended: done %d err %d scode %u\n",
			w.xfer_done, w.xfer_err, w.xfer_scode);
		err = EPROTO;
		goto out;
	}
	/* both of our legs end */
	rc = sipp_wait(pa, 5000);
	if (!rc)
		rc = sipp_wait(pb, 5000);
	if (rc) {
		fprintf(stderr, "sipp exit %d (see %s)\n", rc, w.dir);
		err = EPROTO;
	}
	TEST_EQ(call_count(), 0);
 out:
	mem_deref(xa);
	mem_deref(xb);
	world_stop(conf);
	return err;
}


int test_sip_transfer_attended_busy(void)
{
	static const char busy[] =
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n"
		"<scenario name=\"busy\">\n"
		"<recv request=\"INVITE\"/>\n"
		"<send><![CDATA[\n"
		"SIP/2.0 486 Busy Here\n"
		"[last_Via:]\n"
		"[last_From:]\n"
		"[last_To:];tag=[pid]SIPpTag01[call_number]\n"
		"[last_Call-ID:]\n"
		"[last_CSeq:]\n"
		"Content-Length: 0\n"
		"\n"
		"]]></send>\n"
		"<recv request=\"ACK\"/>\n"
		"</scenario>\n";
	struct conf *conf = NULL;
	struct call *call = NULL;
	uint16_t port, sa_port, sb_port;
	pid_t pa, pb;
	char *xa = NULL, target[80];
	int err, rc;

	if (!have_sipp())
		return 0;
	TEST_ERR(world_start(&conf, &port));
	sa_port = free_udp_port();
	sb_port = free_udp_port();
	/* the transferee must not get a REFER: only our BYE at the end */
	xa = uas_xml(true, "");
	err = sipp_start(&pa, w.dir, "transferee", xa, sa_port);
	if (!err)
		err = sipp_start(&pb, w.dir, "busy", busy, sb_port);
	if (!err)
		err = place(sa_port, "transferee", &call);
	if (err)
		goto out;

	re_snprintf(target, sizeof(target), "sip:target@127.0.0.1:%u",
		    sb_port);
	err = call_transfer_attended(call, target, xfer_h, NULL);
	if (err)
		goto out;
	if (!run_until(&w.xfer_done, 5000) || w.xfer_err != EBUSY ||
	    w.xfer_scode != 486) {
		fprintf(stderr, "busy: done %d err %d scode %u\n",
			w.xfer_done, w.xfer_err, w.xfer_scode);
		err = EPROTO;
		goto out;
	}
	/* the caller stays with us */
	run_ms(300);
	TEST_EQ(call_count(), 1);
	TEST_EQ(call_find(call_id(call)) == call, 1);
	call_hangup(call, NULL);
	rc = sipp_wait(pa, 5000);
	if (!rc)
		rc = sipp_wait(pb, 5000);
	if (rc) {
		fprintf(stderr, "sipp exit %d (see %s)\n", rc, w.dir);
		err = EPROTO;
	}
 out:
	mem_deref(xa);
	world_stop(conf);
	return err;
}


/* A target that rings and never answers: CANCEL -> 200, 487, ACK. */
static const char ring_xml[] =
	"<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n"
	"<scenario name=\"ring\">\n"
	"<recv request=\"INVITE\"/>\n"
	"<send><![CDATA[\n"
	"SIP/2.0 180 Ringing\n"
	"[last_Via:]\n"
	"[last_From:]\n"
	"[last_To:];tag=[pid]SIPpTag01[call_number]\n"
	"[last_Call-ID:]\n"
	"[last_CSeq:]\n"
	"Content-Length: 0\n"
	"\n"
	"]]></send>\n"
	"<recv request=\"CANCEL\" timeout=\"20000\"/>\n"
	"<send><![CDATA[\n"
	"SIP/2.0 200 OK\n"
	"[last_Via:]\n"
	"[last_From:]\n"
	"[last_To:];tag=[pid]SIPpTag01[call_number]\n"
	"[last_Call-ID:]\n"
	"[last_CSeq:]\n"
	"Content-Length: 0\n"
	"\n"
	"]]></send>\n"
	"<send retrans=\"500\"><![CDATA[\n"
	"SIP/2.0 487 Request Terminated\n"
	"[last_Via:]\n"
	"[last_From:]\n"
	"[last_To:];tag=[pid]SIPpTag01[call_number]\n"
	"[last_Call-ID:]\n"
	"CSeq: [cseq] INVITE\n"
	"Content-Length: 0\n"
	"\n"
	"]]></send>\n"
	"<recv request=\"ACK\"/>\n"
	"</scenario>\n";


/* While the consult leg rings: the transfer is taken back (cancel=true)
 * or the caller's call ends; either way the target gets a CANCEL, no
 * REFER is sent and the handler is not called. */
static int attended_abort(bool cancel)
{
	struct conf *conf = NULL;
	struct call *call = NULL;
	uint16_t port, sa_port, sb_port;
	pid_t pa, pb;
	char *xa = NULL, target[80];
	int err, rc;

	if (!have_sipp())
		return 0;
	TEST_ERR(world_start(&conf, &port));
	sa_port = free_udp_port();
	sb_port = free_udp_port();
	xa = uas_xml(true, "");
	err = sipp_start(&pa, w.dir, "transferee", xa, sa_port);
	if (!err)
		err = sipp_start(&pb, w.dir, "ring", ring_xml, sb_port);
	if (!err)
		err = place(sa_port, "transferee", &call);
	if (err)
		goto out;

	re_snprintf(target, sizeof(target), "sip:target@127.0.0.1:%u",
		    sb_port);
	err = call_transfer_attended(call, target, xfer_h, NULL);
	if (err)
		goto out;
	run_ms(600);
	TEST_EQ(call_count(), 2);
	if (cancel) {
		TEST_EQ(call_transfer_cancel(call), 0);
		TEST_EQ(call_transfer_cancel(call), ENOENT);
		run_ms(400);
		TEST_EQ(call_count(), 1);   /* the caller stays */
		call_hangup(call, NULL);
	}
	else {
		call_hangup(call, NULL);
	}
	rc = sipp_wait(pb, 5000);
	if (!rc)
		rc = sipp_wait(pa, 5000);
	if (rc) {
		fprintf(stderr, "sipp exit %d (see %s)\n", rc, w.dir);
		err = EPROTO;
		goto out;
	}
	TEST_EQ(w.xfer_done, false);
	TEST_EQ(call_count(), 0);
 out:
	mem_deref(xa);
	world_stop(conf);
	return err;
}


int test_sip_transfer_attended_cancel(void)
{
	return attended_abort(true);
}


int test_sip_transfer_attended_hangup(void)
{
	return attended_abort(false);
}
