/*
 * test_netengines.c  Network speech engines and their client
 *                    (src/engines/netclient.c, stt_openai, tts_openai,
 *                    tts_elevenlabs, stt_deepgram).
 *
 * The parsers are tested directly; the engines against local fake
 * servers that speak the real wire protocols (test/integ/servers/,
 * python3 stdlib, 127.0.0.1, random port).  Each server checks and
 * records what it received (method, path, auth, body fields, multipart,
 * WAV header, WebSocket masking), and is told how to misbehave (slow,
 * 500, 401, malformed JSON, truncated body, reset, close mid-stream).
 * Logs are captured to check that keys never appear.  Tests that need a
 * server are skipped (pass, with a message) when /usr/bin/python3 is
 * missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "engines/engine.h"
#include "engines/netclient.h"
#include "test.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define PYTHON "/usr/bin/python3"
#define KEY "sk-test-Zq8Vw3Secret9"

enum { RATE = 16000, CAP = RATE * 20 };

struct srv {
	pid_t pid;
	int port;
	char rec[64];
	char url[64];
};

struct logcap {
	char path[64];
	int fd;
};


static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


static bool have_python(void)
{
	if (access(PYTHON, X_OK) == 0)
		return true;
	fprintf(stderr, "skipped: %s is missing (needed for the fake "
		"servers)\n", PYTHON);
	return false;
}


/* Start test/integ/servers/<script> --mode mode [extra...]. */
static int srv_start(struct srv *s, const char *script, const char *mode,
		     const char *extra1, const char *extra2)
{
	char path[512], line[64];
	int pfd[2], fd;
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/../integ/servers/%s", test_datadir,
		 script);
	snprintf(s->rec, sizeof(s->rec), "/tmp/al_netrec_XXXXXX");
	fd = mkstemp(s->rec);
	if (fd < 0)
		return errno;
	close(fd);
	if (pipe(pfd))
		return errno;
	s->pid = fork();
	if (s->pid < 0)
		return errno;
	if (s->pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execl(PYTHON, PYTHON, path, "--mode", mode, "--record",
		      s->rec, "--key", KEY, extra1, extra2, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (n < sizeof(line) - 1) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, 10000) <= 0)
			break;
		r = read(pfd[0], line + n, 1);
		if (r <= 0 || line[n] == '\n')
			break;
		++n;
	}
	close(pfd[0]);
	line[n] = '\0';
	if (1 != sscanf(line, "PORT %d", &s->port)) {
		fprintf(stderr, "fake server %s did not start\n", script);
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		return EIO;
	}
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
	return 0;
}


static void srv_stop(struct srv *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	unlink(s->rec);
}


/* The server's record file (caller frees with mem_deref). */
static char *srv_record(const struct srv *s, unsigned want_lines)
{
	for (int i = 0; i < 100; i++) {
		char *buf = NULL;
		unsigned lines = 0;
		FILE *f = fopen(s->rec, "r");
		long sz;

		if (f) {
			fseek(f, 0, SEEK_END);
			sz = ftell(f);
			fseek(f, 0, SEEK_SET);
			buf = mem_zalloc((size_t)sz + 1, NULL);
			if (buf && sz > 0 &&
			    fread(buf, 1, (size_t)sz, f) != (size_t)sz)
				buf[0] = '\0';
			fclose(f);
		}
		for (char *p = buf; p && *p; p++)
			lines += *p == '\n';
		if (buf && lines >= want_lines)
			return buf;
		mem_deref(buf);
		usleep(20000);
	}
	return mem_zalloc(1, NULL);
}


static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		++n;
	return n;
}


static int log_begin(struct logcap *lc)
{
	snprintf(lc->path, sizeof(lc->path), "/tmp/al_netlog_XXXXXX");
	lc->fd = mkstemp(lc->path);
	if (lc->fd < 0)
		return errno;
	log_set_fd(lc->fd);
	return 0;
}


/* Stop capturing; the captured text (mem object). */
static char *log_end(struct logcap *lc)
{
	char *buf = mem_zalloc(65536, NULL);
	ssize_t n;

	log_set_fd(2);
	if (buf) {
		lseek(lc->fd, 0, SEEK_SET);
		n = read(lc->fd, buf, 65535);
		buf[n > 0 ? n : 0] = '\0';
		/* show it in the test output too */
		fputs(buf, stderr);
	}
	close(lc->fd);
	unlink(lc->path);
	return buf;
}


static int mkconf(struct conf **confp, const char *const *kv)
{
	struct conf *conf;
	int err;

	err = conf_alloc(&conf);
	if (err)
		return err;
	for (; kv && kv[0]; kv += 2)
		err |= conf_set(conf, kv[0], kv[1], "test", NULL, NULL);
	if (err || conf_validate(conf, NULL, NULL)) {
		mem_deref(conf);
		return EINVAL;
	}
	*confp = conf;
	return 0;
}


struct capture {
	int16_t *pcm;
	size_t n;
	size_t chunks;
	size_t stop_at;          /* return true once n >= stop_at */
	double t_stop;
};


static bool capture_h(const int16_t *pcm, size_t n, void *arg)
{
	struct capture *c = arg;

	if (c->n + n > CAP)
		n = CAP - c->n;
	memcpy(c->pcm + c->n, pcm, n * sizeof(*pcm));
	c->n += n;
	c->chunks++;
	if (c->stop_at && c->n >= c->stop_at) {
		if (!c->t_stop)
			c->t_stop = now();
		return true;
	}
	return false;
}


static double goertzel(const int16_t *x, size_t n, double f)
{
	double w = 2 * M_PI * f / RATE, c = 2 * cos(w), s1 = 0, s2 = 0;

	for (size_t i = 0; i < n; i++) {
		double s0 = x[i] + c * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	return (s1 * s1 + s2 * s2 - c * s1 * s2) / ((double)n * n);
}


/* One synthesis with a fresh engine instance; returns synth's result. */
static int tts_run(const char *engine, const char *const *kv,
		   struct capture *cap, double *secsp)
{
	const struct tts_ops *ops = tts_find(engine);
	struct conf *conf = NULL;
	void *st = NULL;
	double t0;
	int err;

	if (!ops)
		return ENOENT;
	err = mkconf(&conf, kv);
	if (err)
		return err;
	err = ops->init(conf);
	if (!err)
		err = ops->alloc(&st, conf);
	if (err)
		goto out;
	t0 = now();
	err = ops->synth(st, "Gr\xc3\xbc\xc3\x9f" "e, \"world\"!", "en",
			 capture_h, cap);
	if (secsp)
		*secsp = now() - t0;
 out:
	mem_deref(st);
	if (ops->close)
		ops->close();
	mem_deref(conf);
	return err;
}


/* Sine of f Hz at 16 kHz. */
static void fill_sine(int16_t *p, size_t n, double f)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (int16_t)(6000 * sin(2 * M_PI * f * (double)i / RATE));
}


/* ------------------------------------------------------------ parser */

struct body_acc {
	char buf[256];
	size_t n;
};


static bool body_acc_h(const uint8_t *p, size_t n, void *arg)
{
	struct body_acc *b = arg;

	if (b->n + n >= sizeof(b->buf))
		return true;
	memcpy(b->buf + b->n, p, n);
	b->n += n;
	b->buf[b->n] = '\0';
	return false;
}


/* Feed a response in pieces of `step` bytes; returns parser error. */
static int parse_resp(const char *r, size_t step, struct body_acc *b,
		      struct http_parser *p, bool eof)
{
	size_t len = strlen(r);
	int err = 0;

	http_parser_init(p, false);
	memset(b, 0, sizeof(*b));
	for (size_t i = 0; i < len && !err; i += step) {
		size_t k = len - i < step ? len - i : step;
		err = http_parser_feed(p, (const uint8_t *)r + i, k, NULL,
				       body_acc_h, b);
	}
	if (!err && eof)
		err = http_parser_eof(p);
	return err;
}


struct ws_acc {
	char text[256];
	unsigned msgs, pings;
	enum ws_opcode last;
};


static int ws_acc_h(enum ws_opcode op, const uint8_t *p, size_t n,
		    void *arg)
{
	struct ws_acc *a = arg;

	a->last = op;
	if (op == WS_PING) {
		a->pings++;
		return 0;
	}
	a->msgs++;
	if (n < sizeof(a->text)) {
		memcpy(a->text, p, n);
		a->text[n] = '\0';
	}
	return 0;
}


int test_netclient_parse(void)
{
	static const char chunked[] =
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		"Content-Type: audio/pcm\r\n\r\n"
		"5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n"
		"0\r\nX-Trailer: 1\r\n\r\n";
	struct http_parser *p = mem_zalloc(sizeof(*p), NULL);
	struct ws_parser wp;
	struct ws_acc wa;
	struct body_acc b;
	struct net_url u;
	struct odict *od = NULL;
	struct pl v;
	int err = 0;

	TEST_ASSERT(p != NULL);

	/* Content-Length, byte by byte; 100 Continue skipped */
	err = parse_resp("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
			 "Content-Length: 4\r\nX-A:  b \r\n\r\nbody", 1, &b, p,
			 false);
	if (err)
		goto out;
	TEST_ASSERT(http_parser_done(p));
	TEST_EQ(p->status, 200);
	TEST_STREQ(b.buf, "body");
	TEST_ASSERT(http_parser_header(p, "x-a", &v) && !pl_strcmp(&v, "b"));

	/* chunked, every split size */
	for (size_t step = 1; step < sizeof(chunked); step += 7) {
		err = parse_resp(chunked, step, &b, p, false);
		if (err)
			goto out;
		TEST_ASSERT(http_parser_done(p));
		TEST_STREQ(b.buf, "hello 0123456789");
	}
	/* until close */
	TEST_EQ(parse_resp("HTTP/1.0 200 OK\r\n\r\nabc", 3, &b, p, true), 0);
	TEST_STREQ(b.buf, "abc");

	/* malformed / truncated / oversized */
	TEST_EQ(parse_resp("HTTP/1.1 2x0 OK\r\n\r\n", 4, &b, p, false),
		EBADMSG);
	TEST_EQ(parse_resp("ICY 200 OK\r\n\r\n", 4, &b, p, false), EBADMSG);
	TEST_EQ(parse_resp("HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", 4, &b, p,
			   false), EBADMSG);
	TEST_EQ(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
			   4, &b, p, false), EBADMSG);
	TEST_EQ(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab",
			   4, &b, p, true), EPIPE);
	TEST_EQ(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
			   "\r\n\r\nzz\r\n", 4, &b, p, false), EBADMSG);
	TEST_EQ(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
			   "\r\n\r\nfffffffffffffffff\r\n", 4, &b, p, false),
		EOVERFLOW);
	TEST_EQ(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
			   "\r\n\r\n3\r\nabcX", 4, &b, p, false), EBADMSG);
	TEST_EQ(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
			   "\r\n\r\n9\r\nabc", 4, &b, p, true), EPIPE);
	TEST_EQ(parse_resp("HTTP/1.1 200", 4, &b, p, true), EPIPE);
	{
		char *big = mem_zalloc(NET_HEAD_MAX + 64, NULL);
		TEST_ASSERT(big != NULL);
		memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
		memset(big + 20, 'a', NET_HEAD_MAX + 20);
		err = parse_resp(big, 1000, &b, p, false);
		mem_deref(big);
		TEST_EQ(err, EOVERFLOW);
		err = 0;
	}

	/* WebSocket frames from a server */
	ws_parser_init(&wp, 64);
	memset(&wa, 0, sizeof(wa));
	{
		/* "Hel" + ping + "lo" (fragmented), then binary 0 bytes */
		static const uint8_t f[] = {
			0x01, 3, 'H', 'e', 'l',
			0x89, 2, 'h', 'b',
			0x80, 2, 'l', 'o',
			0x82, 0,
		};
		for (size_t i = 0; i < sizeof(f); i++) {
			err = ws_parser_feed(&wp, f + i, 1, ws_acc_h, &wa);
			if (err)
				break;
		}
		TEST_EQ(err, 0);
		TEST_EQ(wa.pings, 1);
		TEST_EQ(wa.msgs, 2);
		TEST_EQ(wa.last, WS_BINARY);
	}
	ws_parser_reset(&wp);
	{
		static const uint8_t f[] = {0x81, 2, 'h', 'i'};
		TEST_EQ(ws_parser_feed(&wp, f, sizeof(f), ws_acc_h, &wa), 0);
		TEST_STREQ(wa.text, "hi");
	}
	{
		static const uint8_t masked[] = {0x81, 0x82, 1, 2, 3, 4, 0, 0};
		static const uint8_t rsv[] = {0xc1, 0};
		static const uint8_t bigctl[] = {0x89, 126, 0, 200};
		static const uint8_t cont[] = {0x80, 0};
		static const uint8_t op3[] = {0x83, 0};
		static const uint8_t over[] = {0x82, 127, 0, 0, 0, 0, 0, 0,
					       1, 0};
		ws_parser_reset(&wp);
		TEST_EQ(ws_parser_feed(&wp, masked, sizeof(masked), ws_acc_h,
				       &wa), EBADMSG);
		ws_parser_reset(&wp);
		TEST_EQ(ws_parser_feed(&wp, rsv, sizeof(rsv), ws_acc_h, &wa),
			EBADMSG);
		ws_parser_reset(&wp);
		TEST_EQ(ws_parser_feed(&wp, bigctl, sizeof(bigctl), ws_acc_h,
				       &wa), EBADMSG);
		ws_parser_reset(&wp);
		TEST_EQ(ws_parser_feed(&wp, cont, sizeof(cont), ws_acc_h,
				       &wa), EBADMSG);
		ws_parser_reset(&wp);
		TEST_EQ(ws_parser_feed(&wp, op3, sizeof(op3), ws_acc_h, &wa),
			EBADMSG);
		ws_parser_reset(&wp);
		TEST_EQ(ws_parser_feed(&wp, over, sizeof(over), ws_acc_h,
				       &wa), EOVERFLOW);
	}
	ws_parser_reset(&wp);

	/* URLs */
	TEST_EQ(net_url_parse(&u, "https://api.openai.com", "/v1/x?a=b"), 0);
	TEST_ASSERT(u.tls && !u.ws && u.port == 443);
	TEST_STREQ(u.host, "api.openai.com");
	TEST_STREQ(u.path, "/v1/x?a=b");
	TEST_EQ(net_url_parse(&u, "http://[::1]:8000/base/", "/v1"), 0);
	TEST_STREQ(u.host, "::1");
	TEST_EQ(u.port, 8000);
	TEST_STREQ(u.path, "/base/v1");
	TEST_EQ(net_url_parse(&u, "wss://h", NULL), 0);
	TEST_ASSERT(u.ws && u.tls && u.port == 443 && !strcmp(u.path, "/"));
	TEST_EQ(net_url_parse(&u, "ftp://h", NULL), EINVAL);
	TEST_EQ(net_url_parse(&u, "http://h:99999", NULL), EINVAL);
	TEST_EQ(net_url_parse(&u, "http://h x", NULL), EINVAL);
	TEST_EQ(net_url_parse(&u, "http://", NULL), EINVAL);

	/* JSON paths through objects and arrays */
	{
		static const char j[] = "{\"channel\":{\"alternatives\":"
			"[{\"transcript\":\"hi \\u00fc\"}]},\"is_final\":true}";
		TEST_EQ(net_json_decode(&od, j, strlen(j)), 0);
		TEST_STREQ(net_json_str(od, "channel.alternatives.0.transcript"),
			   "hi \xc3\xbc");
		TEST_ASSERT(!net_json_str(od, "channel.alternatives.1.x"));
		TEST_ASSERT(!net_json_str(od, "is_final.x"));
		od = mem_deref(od);
		TEST_ASSERT(net_json_decode(&od, "{\"a\":", 5) != 0);
	}

	/* multipart */
	{
		struct mbuf *mb = mbuf_alloc(256);
		char bnd[64];
		TEST_ASSERT(mb != NULL);
		net_multipart_boundary(bnd, sizeof(bnd));
		TEST_ASSERT(strlen(bnd) >= 30);
		err = net_multipart_field(mb, bnd, "model", NULL, NULL, "m",
					  1);
		err |= net_multipart_end(mb, bnd);
		TEST_EQ(err, 0);
		mbuf_write_u8(mb, 0);
		TEST_ASSERT(strstr((char *)mb->buf, "name=\"model\"\r\n\r\nm\r\n"));
		TEST_ASSERT(strstr((char *)mb->buf, "--\r\n"));
		mem_deref(mb);
	}
 out:
	mem_deref(od);
	mem_deref(p);
	return err;
}


/* net_pcm: WAV header in odd pieces, 24 kHz -> 16 kHz, stereo down-mix */
int test_netclient_pcm(void)
{
	struct capture cap = {0};
	struct net_pcm *pc = NULL;
	uint8_t hdr[44];
	int16_t *in;
	uint8_t *body;
	size_t n = 24000, blen;
	int err;

	cap.pcm = mem_zalloc(CAP * sizeof(int16_t), NULL);
	in = mem_zalloc(n * sizeof(int16_t), NULL);
	body = mem_zalloc(44 + n * 2, NULL);
	TEST_ASSERT(cap.pcm && in && body);
	for (size_t i = 0; i < n; i++)
		in[i] = (int16_t)(8000 * sin(2 * M_PI * 1000 * (double)i /
					     24000));
	net_wav_header(hdr, 24000, (uint32_t)n);
	memcpy(body, hdr, 44);
	memcpy(body + 44, in, n * 2);
	blen = 44 + n * 2;

	err = net_pcm_alloc(&pc, 16000, capture_h, &cap);
	TEST_ERR(err);
	for (size_t i = 0; i < blen && !err; i += 7)
		err = net_pcm_feed(pc, body + i, blen - i < 7 ? blen - i : 7,
				   NULL);
	if (!err)
		err = net_pcm_end(pc);
	pc = mem_deref(pc);
	TEST_ERR(err);
	TEST_ASSERT(cap.n > 15800 && cap.n <= 16000);
	TEST_ASSERT(goertzel(cap.pcm + 1000, 8000, 1000) >
		    100 * goertzel(cap.pcm + 1000, 8000, 1500));

	/* a WAV that is not PCM16 is refused */
	hdr[34] = 8;
	TEST_EQ(net_pcm_alloc(&pc, 16000, capture_h, &cap), 0);
	TEST_EQ(net_pcm_feed(pc, hdr, sizeof(hdr), NULL), EBADMSG);
	pc = mem_deref(pc);

	mem_deref(body);
	mem_deref(in);
	mem_deref(cap.pcm);
	return 0;
}


/* ------------------------------------------------------- stt openai */

static int stt_run(const char *engine, const char *const *kv,
		   const int16_t *pcm, size_t n, struct stt_result *res,
		   stt_partial_h *ph, void *arg, double *secsp)
{
	const struct stt_ops *ops = stt_find(engine);
	struct stt_turn turn = {STT_MODE_FREE, NULL, "en"};
	struct conf *conf = NULL;
	void *st = NULL;
	double t0;
	int err;

	if (!ops)
		return ENOENT;
	err = mkconf(&conf, kv);
	if (err)
		return err;
	err = ops->init(conf);
	if (!err)
		err = ops->alloc(&st, conf);
	if (err)
		goto out;
	t0 = now();
	err = ops->start(st, &turn, ph, arg);
	for (size_t i = 0; !err && i < n; i += 1600)
		err = ops->feed(st, pcm + i, n - i < 1600 ? n - i : 1600);
	{
		int e2 = ops->finish(st, res);
		if (!err)
			err = e2;
	}
	if (secsp)
		*secsp = now() - t0;
 out:
	mem_deref(st);
	if (ops->close)
		ops->close();
	mem_deref(conf);
	return err;
}


int test_net_stt_openai(void)
{
	static const char *modes[] = {"normal", "500once", "badjson",
				      "truncated", "401", "500"};
	int16_t *pcm;
	int err = 0;

	if (!have_python())
		return 0;
	pcm = mem_zalloc(RATE * sizeof(int16_t), NULL);
	TEST_ASSERT(pcm != NULL);
	fill_sine(pcm, RATE, 440);

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		struct stt_result res;
		struct logcap lc;
		struct srv s;
		char *rec, *log;
		int e;

		TEST_ERR(srv_start(&s, "fake_openai.py", modes[m], NULL,
				   NULL));
		{
			const char *kv[] = {"stt", "openai", "stt_url", s.url,
					    "stt_api_key", KEY,
					    "stt_model", "whisper-test",
					    "stt_timeout_ms", "5000", NULL};
			TEST_ERR(log_begin(&lc));
			e = stt_run("openai", kv, pcm, RATE, &res, NULL,
				    NULL, NULL);
			log = log_end(&lc);
		}
		rec = srv_record(&s, 1);
		srv_stop(&s);
		fprintf(stderr, "stt_openai %s: err=%d text=\"%s\"\n",
			modes[m], e, res.text);
		TEST_ASSERT(log && !strstr(log, KEY));
		/* every request was well-formed */
		TEST_ASSERT(count(rec, "\"ok\": true") >= 1);
		TEST_EQ(count(rec, "\"ok\": false"), 0);
		TEST_ASSERT(strstr(rec, "\"model\": \"whisper-test\""));
		TEST_ASSERT(strstr(rec, "\"language\": \"en\""));
		TEST_ASSERT(strstr(rec, "\"data\": 32000"));
		if (!strcmp(modes[m], "normal") ||
		    !strcmp(modes[m], "500once")) {
			TEST_EQ(e, 0);
			TEST_STREQ(res.text, "hello world");
			TEST_EQ(count(rec, "\"ok\": true"),
				modes[m][0] == '5' ? 2 : 1);
		}
		else if (!strcmp(modes[m], "401")) {
			TEST_EQ(e, EACCES);
			TEST_ASSERT(strstr(log, "HTTP 401"));
		}
		else if (!strcmp(modes[m], "500")) {
			TEST_EQ(e, EPROTO);
			TEST_EQ(count(rec, "\"ok\": true"), 2);  /* 1 retry */
			TEST_ASSERT(strstr(log, "HTTP 500"));
		}
		else {
			TEST_ASSERT(e != 0);
			TEST_STREQ(res.text, "");
		}
		mem_deref(rec);
		mem_deref(log);
	}
	mem_deref(pcm);
	return err;
}


/* ------------------------------------------------------- tts engines */

static int tts_engine_test(const char *engine, const char *script,
			   const char *urlkey, const char *keykey)
{
	static const char *modes[] = {"normal", "wav", "500once", "500", "401",
				      "truncated", "reset", "slow", "long"};
	struct capture cap = {0};
	int err = 0;

	cap.pcm = mem_zalloc(CAP * sizeof(int16_t), NULL);
	TEST_ASSERT(cap.pcm != NULL);

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		const char *mode = modes[m];
		struct logcap lc;
		struct srv s;
		char *rec, *log;
		double secs = 0;
		int e;

		if (!strcmp(mode, "wav") && !strcmp(engine, "elevenlabs"))
			continue;
		TEST_ERR(srv_start(&s, script, mode, "--delay-ms", "2000"));
		cap.n = cap.chunks = 0;
		cap.t_stop = 0;
		cap.stop_at = !strcmp(mode, "long") ? RATE / 5 : 0;
		{
			const char *kv[] = {"tts", engine, urlkey, s.url,
					    keykey, KEY,
					    "net_first_byte_timeout_ms", "500",
					    "tts_timeout_ms", "8000", NULL};
			TEST_ERR(log_begin(&lc));
			e = tts_run(engine, kv, &cap, &secs);
			log = log_end(&lc);
		}
		rec = srv_record(&s, !strcmp(mode, "long") ? 2 : 1);
		srv_stop(&s);
		fprintf(stderr, "%s %s: err=%d samples=%zu chunks=%zu "
			"%.0f ms\n", engine, mode, e, cap.n, cap.chunks,
			secs * 1000);
		TEST_ASSERT(log && !strstr(log, KEY));
		TEST_ASSERT(count(rec, "\"ok\": true") >= 1);
		TEST_EQ(count(rec, "\"ok\": false"), 0);
		if (!strcmp(engine, "openai"))
			TEST_ASSERT(strstr(rec, "\"input\": \"Gr\\u00fc\\u00dfe,"
					   " \\\"world\\\"!\""));
		else
			TEST_ASSERT(strstr(rec, "\"text\": \"Gr\\u00fc\\u00dfe,"
					   " \\\"world\\\"!\""));

		if (!strcmp(mode, "normal") || !strcmp(mode, "wav") ||
		    !strcmp(mode, "500once")) {
			TEST_EQ(e, 0);
			/* 1 s at the source rate -> 1 s at 16 kHz */
			TEST_ASSERT(cap.n > 15800 && cap.n <= 16000);
			TEST_ASSERT(cap.chunks > 5);     /* streamed */
			TEST_ASSERT(goertzel(cap.pcm + 2000, 8000, 1000) >
				    100 * goertzel(cap.pcm + 2000, 8000, 700));
			TEST_ASSERT(goertzel(cap.pcm + 2000, 8000, 1000) >
				    100 * goertzel(cap.pcm + 2000, 8000, 1400));
		}
		else if (!strcmp(mode, "500")) {
			TEST_EQ(e, EPROTO);
			TEST_EQ(cap.n, 0);
			TEST_EQ(count(rec, "\"ok\": true"), 2);
			TEST_ASSERT(strstr(log, "HTTP 500"));
		}
		else if (!strcmp(mode, "401")) {
			TEST_EQ(e, EACCES);
			TEST_EQ(count(rec, "\"ok\": true"), 1);  /* no retry */
			TEST_ASSERT(strstr(log, "HTTP 401"));
		}
		else if (!strcmp(mode, "truncated") ||
			 !strcmp(mode, "reset")) {
			/* audio stopped early, reported, not retried */
			TEST_ASSERT(e != 0);
			TEST_ASSERT(cap.n > 0 && cap.n < 12000);
			TEST_EQ(count(rec, "\"ok\": true"), 1);
			TEST_ASSERT(strstr(log, "audio cut"));
		}
		else if (!strcmp(mode, "slow")) {
			TEST_EQ(e, ETIMEDOUT);
			TEST_EQ(cap.n, 0);
			TEST_ASSERT(secs >= 0.45 && secs < 1.5);
			TEST_ASSERT(strstr(log, "first byte"));
		}
		else if (!strcmp(mode, "long")) {
			/* handler said stop: synth returns at once and the
			 * server sees the connection go away */
			TEST_EQ(e, 0);
			TEST_ASSERT(cap.t_stop > 0);
			TEST_ASSERT(now() - cap.t_stop < 2.5);
			TEST_ASSERT(secs < 1.5);
			TEST_ASSERT(strstr(rec, "client closed"));
		}
		mem_deref(rec);
		mem_deref(log);
	}
	mem_deref(cap.pcm);
	return err;
}


int test_net_tts_openai(void)
{
	if (!have_python())
		return 0;
	return tts_engine_test("openai", "fake_openai.py", "tts_url",
			       "tts_api_key");
}


int test_net_tts_elevenlabs(void)
{
	if (!have_python())
		return 0;
	return tts_engine_test("elevenlabs", "fake_elevenlabs.py",
			       "elevenlabs_url", "elevenlabs_api_key");
}


/* ----------------------------------------------------- stt deepgram */

struct partials {
	unsigned n;
	char last[256];
};


static void partial_h(const char *text, void *arg)
{
	struct partials *p = arg;

	p->n++;
	str_ncpy(p->last, text, sizeof(p->last));
}


int test_net_stt_deepgram(void)
{
	static const char *modes[] = {"normal", "badjson", "closemid", "401",
				      "badaccept", "silent"};
	int16_t *pcm;
	size_t n = RATE * 3 / 2;

	if (!have_python())
		return 0;
	pcm = mem_zalloc(n * sizeof(int16_t), NULL);
	TEST_ASSERT(pcm != NULL);
	fill_sine(pcm, n, 440);

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		const char *mode = modes[m];
		struct partials parts = {0, ""};
		struct stt_result res;
		struct logcap lc;
		struct srv s;
		char *rec, *log, url[64];
		double secs = 0;
		int e;

		TEST_ERR(srv_start(&s, "fake_deepgram.py", mode, NULL, NULL));
		snprintf(url, sizeof(url), "ws://127.0.0.1:%d", s.port);
		{
			const char *kv[] = {"stt", "deepgram",
					    "deepgram_url", url,
					    "deepgram_api_key", KEY,
					    "deepgram_model", "nova-test",
					    "stt_timeout_ms", "1000", NULL};
			TEST_ERR(log_begin(&lc));
			e = stt_run("deepgram", kv, pcm, n, &res, partial_h,
				    &parts, &secs);
			log = log_end(&lc);
		}
		rec = srv_record(&s, 1);
		srv_stop(&s);
		fprintf(stderr, "deepgram %s: err=%d text=\"%s\" partials=%u "
			"%.0f ms\n", mode, e, res.text, parts.n, secs * 1000);
		TEST_ASSERT(log && !strstr(log, KEY));
		TEST_ASSERT(strstr(rec, "\"ok\": true"));
		TEST_ASSERT(strstr(rec, "\"model\": \"nova-test\""));
		TEST_ASSERT(strstr(rec, "\"language\": \"en\""));
		if (!strcmp(mode, "normal") || !strcmp(mode, "badjson")) {
			TEST_EQ(e, 0);
			TEST_STREQ(res.text, "hello world");
			TEST_ASSERT(res.confidence > 0.8f);
			TEST_ASSERT(parts.n >= 1);
			TEST_STREQ(parts.last, "hello");
			TEST_ASSERT(strstr(rec, "\"masked_all\": true"));
			TEST_ASSERT(strstr(rec, "\"pong\": true"));
			TEST_ASSERT(strstr(rec, "\"closestream\": true"));
			TEST_ASSERT(strstr(rec, "\"audio_bytes\": 48000"));
		}
		else if (!strcmp(mode, "closemid")) {
			TEST_ASSERT(e != 0);
			TEST_ASSERT(strstr(log, "code 1011"));
		}
		else if (!strcmp(mode, "401")) {
			TEST_EQ(e, EACCES);
			TEST_ASSERT(strstr(log, "HTTP 401"));
		}
		else if (!strcmp(mode, "badaccept")) {
			TEST_EQ(e, EPROTO);
			TEST_ASSERT(strstr(log, "Sec-WebSocket-Accept"));
		}
		else if (!strcmp(mode, "silent")) {
			TEST_EQ(e, ETIMEDOUT);
			TEST_ASSERT(secs < 2.5);
		}
		mem_deref(rec);
		mem_deref(log);
	}
	mem_deref(pcm);
	return 0;
}


/* ------------------------------------------------ start-up, connect */

static int init_with(int stt, const char *engine, const char *const *kv,
		     char **logp)
{
	struct conf *conf = NULL;
	struct logcap lc;
	int err;

	err = mkconf(&conf, kv);
	if (err)
		return err;
	TEST_ERR(log_begin(&lc));
	if (stt) {
		const struct stt_ops *o = stt_find(engine);
		err = o ? o->init(conf) : ENOENT;
		if (o && o->close)
			o->close();
	}
	else {
		const struct tts_ops *o = tts_find(engine);
		err = o ? o->init(conf) : ENOENT;
		if (o && o->close)
			o->close();
	}
	*logp = log_end(&lc);
	mem_deref(conf);
	return err;
}


int test_net_startup(void)
{
	static const struct {
		int stt;
		const char *engine, *urlkey, *keykey, *custom;
	} e[] = {
		{1, "openai", "stt_url", "stt_api_key", "http://127.0.0.1:9"},
		{0, "openai", "tts_url", "tts_api_key", "http://127.0.0.1:9"},
		{0, "elevenlabs", "elevenlabs_url", "elevenlabs_api_key",
		 "http://127.0.0.1:9"},
		{1, "deepgram", "deepgram_url", "deepgram_api_key",
		 "ws://127.0.0.1:9"},
	};

	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		char *log = NULL;
		const char *none[] = {NULL};
		const char *custom[] = {e[i].urlkey, e[i].custom, NULL};
		const char *bad[] = {e[i].urlkey, "ftp://x", NULL};
		const char *keyed[] = {e[i].keykey, KEY, NULL};

		/* cloud default without a key: fails naming the key */
		TEST_EQ(init_with(e[i].stt, e[i].engine, none, &log), EINVAL);
		TEST_ASSERT(log && strstr(log, e[i].keykey));
		log = mem_deref(log);
		/* a custom URL needs no key */
		TEST_EQ(init_with(e[i].stt, e[i].engine, custom, &log), 0);
		log = mem_deref(log);
		/* a malformed URL names the URL key */
		TEST_EQ(init_with(e[i].stt, e[i].engine, bad, &log), EINVAL);
		TEST_ASSERT(log && strstr(log, e[i].urlkey));
		log = mem_deref(log);
		/* cloud default with a key */
		TEST_EQ(init_with(e[i].stt, e[i].engine, keyed, &log), 0);
		TEST_ASSERT(!strstr(log, KEY));
		log = mem_deref(log);
	}
	return 0;
}


/* Nothing listens: refused fast, retried once; https to a plain port
 * fails the TLS handshake; an unroutable address times out. */
int test_net_connect_errors(void)
{
	struct capture cap = {0};
	char url[64];
	double secs = 0;
	int fd, port, e;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	cap.pcm = mem_zalloc(CAP * sizeof(int16_t), NULL);
	TEST_ASSERT(cap.pcm != NULL);

	/* a port that was free a moment ago */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	TEST_ASSERT(0 == bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	TEST_ASSERT(0 == getsockname(fd, (struct sockaddr *)&sin, &sl));
	port = ntohs(sin.sin_port);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	{
		const char *kv[] = {"tts", "openai", "tts_url", url, NULL};
		e = tts_run("openai", kv, &cap, &secs);
	}
	TEST_EQ(e, ECONNREFUSED);
	TEST_ASSERT(secs < 1.0);

	/* TLS to a plain HTTP listener: handshake error, not a hang */
	if (have_python()) {
		struct srv s;
		TEST_ERR(srv_start(&s, "fake_openai.py", "normal", NULL, NULL));
		snprintf(url, sizeof(url), "https://127.0.0.1:%d", s.port);
		{
			const char *kv[] = {"tts", "openai", "tts_url", url,
					    "net_first_byte_timeout_ms", "500",
					    "net_connect_timeout_ms", "1000",
					    NULL};
			e = tts_run("openai", kv, &cap, &secs);
		}
		srv_stop(&s);
		fprintf(stderr, "https to plain HTTP: err=%d %.0f ms\n", e,
			secs * 1000);
		TEST_ASSERT(e != 0);
		TEST_ASSERT(secs < 5);
	}

	/* connect timeout: a listener whose accept queue is full drops
	 * further SYNs, so the connect hangs */
	{
		int lfd = socket(AF_INET, SOCK_STREAM, 0), cfd[4];

		sin.sin_port = 0;
		TEST_ASSERT(0 == bind(lfd, (struct sockaddr *)&sin,
				      sizeof(sin)));
		TEST_ASSERT(0 == listen(lfd, 0));
		sl = sizeof(sin);
		TEST_ASSERT(0 == getsockname(lfd, (struct sockaddr *)&sin,
					     &sl));
		for (int i = 0; i < 4; i++) {
			cfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK,
					0);
			(void)connect(cfd[i], (struct sockaddr *)&sin,
				      sizeof(sin));
		}
		usleep(50000);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d",
			 ntohs(sin.sin_port));
		{
			const char *kv[] = {"tts", "openai", "tts_url", url,
					    "net_connect_timeout_ms", "300",
					    "net_first_byte_timeout_ms", "300",
					    "net_retries", "0", NULL};
			e = tts_run("openai", kv, &cap, &secs);
		}
		for (int i = 0; i < 4; i++)
			close(cfd[i]);
		close(lfd);
	}
	fprintf(stderr, "full backlog: err=%d %.0f ms\n", e, secs * 1000);
	TEST_EQ(e, ETIMEDOUT);
	TEST_ASSERT(secs > 0.25 && secs < 1.0);
	TEST_EQ(cap.n, 0);
	mem_deref(cap.pcm);
	return 0;
}
