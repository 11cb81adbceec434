/*
 * fuzz_netclient.c  What the network engines parse from a server: the
 *                   HTTP response parser (status line, headers,
 *                   Content-Length / chunked / until-close bodies), the
 *                   WebSocket frame parser (fragments, control frames),
 *                   the JSON answers (paths the engines read) and the
 *                   streamed PCM/WAV body decoder.
 *
 * Input: byte 0 picks the parser, byte 1 the size of the pieces the rest
 * is fed in (as a socket would deliver it); never a crash, leak, or
 * read beyond what was given.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <re.h>
#include "engines/netclient.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t body_bytes;


static bool body_h(const uint8_t *p, size_t n, void *arg)
{
	(void)arg;
	body_bytes += n;
	/* read every byte we were given */
	for (size_t i = 0; i < n; i += 61)
		body_bytes += p[i] & 1;
	return body_bytes > (1u << 20);
}


static int msg_h(enum ws_opcode op, const uint8_t *p, size_t n, void *arg)
{
	(void)arg;
	if (n)
		body_bytes += p[0] + p[n - 1] + (unsigned)op;
	return 0;
}


static bool pcm_h(const int16_t *pcm, size_t n, void *arg)
{
	size_t *left = arg;

	if (n)
		body_bytes += (size_t)(uint16_t)pcm[n - 1];
	if (*left <= n)
		return true;
	*left -= n;
	return false;
}


static void fuzz_http(const uint8_t *d, size_t n, size_t step)
{
	struct http_parser *p = malloc(sizeof(*p));
	struct pl v;
	int err = 0;

	if (!p)
		return;
	http_parser_init(p, false);
	for (size_t i = 0; i < n && !err && !http_parser_done(p); i += step) {
		size_t used = 0, k = n - i < step ? n - i : step;

		err = http_parser_feed(p, d + i, k, &used, body_h, NULL);
		if (used > k)
			abort();
	}
	if (!err)
		(void)http_parser_eof(p);
	(void)http_parser_header(p, "Content-Type", &v);
	(void)http_parser_header(p, "Sec-WebSocket-Accept", &v);
	free(p);
}


static void fuzz_ws(const uint8_t *d, size_t n, size_t step)
{
	struct ws_parser wp;
	int err = 0;

	ws_parser_init(&wp, 4096);
	for (size_t i = 0; i < n && !err; i += step) {
		size_t k = n - i < step ? n - i : step;
		err = ws_parser_feed(&wp, d + i, k, msg_h, NULL);
	}
	ws_parser_reset(&wp);
}


static void fuzz_json(const uint8_t *d, size_t n)
{
	struct odict *od = NULL;

	if (net_json_decode(&od, (const char *)d, n))
		return;
	(void)net_json_str(od, "text");
	(void)net_json_str(od, "type");
	(void)net_json_str(od, "channel.alternatives.0.transcript");
	(void)net_json_path(od, "channel.alternatives.0.confidence");
	(void)net_json_path(od, "is_final");
	mem_deref(od);
}


static void fuzz_pcm(const uint8_t *d, size_t n, size_t step)
{
	struct net_pcm *pc = NULL;
	size_t left = 16000;
	int err = 0;

	if (net_pcm_alloc(&pc, 24000, pcm_h, &left))
		return;
	for (size_t i = 0; i < n && !err; i += step) {
		size_t k = n - i < step ? n - i : step;
		bool stop = false;

		err = net_pcm_feed(pc, d + i, k, &stop);
		if (stop)
			break;
	}
	if (!err)
		(void)net_pcm_end(pc);
	mem_deref(pc);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t step;

	if (size < 2)
		return 0;
	step = data[1] ? data[1] : 4096;
	switch (data[0] & 3) {
	case 0: fuzz_http(data + 2, size - 2, step); break;
	case 1: fuzz_ws(data + 2, size - 2, step); break;
	case 2: fuzz_json(data + 2, size - 2); break;
	case 3: fuzz_pcm(data + 2, size - 2, step); break;
	}
	return 0;
}
