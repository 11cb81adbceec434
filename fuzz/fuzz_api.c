/*
 * fuzz_api.c  libFuzzer target for the control API's JSON request
 *             handlers: the input is "METHOD PATH[?QUERY]\n" then the
 *             body; it is routed as an authenticated request (no live
 *             calls, no SIP stack) with a live configuration for PATCH.
 *             Any crash, sanitizer report, a response that is not a JSON
 *             object or array, or a leaked mem block is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/conf.h"
#include "core/log.h"
#include "brain/brain.h"
#include "api/api.h"
#include "api/apiint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void api_route_close(void);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf *conf;
	static bool init;
	struct memstat before, after;
	char line[512], method[16], path[400], *q, *sp;
	const uint8_t *nl;
	struct mbuf *mb;
	size_t ll;
	uint16_t st;
	bool have_stat;

	if (!init) {
		init = true;
		(void)libre_init();
		log_set_level(LOG_LVL_ERROR);
		if (0 == conf_alloc(&conf))
			(void)conf_validate(conf, NULL, NULL);
	}
	api.conf = conf;

	nl = memchr(data, '\n', size);
	ll = nl ? (size_t)(nl - data) : size;
	if (ll >= sizeof(line))
		return 0;
	memcpy(line, data, ll);
	line[ll] = '\0';
	sp = strchr(line, ' ');
	if (!sp || (size_t)(sp - line) >= sizeof(method) ||
	    strlen(sp + 1) >= sizeof(path))
		return 0;
	memcpy(method, line, (size_t)(sp - line));
	method[sp - line] = '\0';
	strcpy(path, sp + 1);
	q = strchr(path, '?');
	if (q)
		*q++ = '\0';

	have_stat = 0 == mem_get_stat(&before);
	mb = mbuf_alloc(256);
	if (!mb)
		return 0;
	st = api_route(mb, method, path, q, nl ? nl + 1 : NULL,
		       nl ? size - ll - 1 : 0, NULL);
	if (st < 200 || st > 599 || mb->end < 2 ||
	    !((mb->buf[0] == '{' && mb->buf[mb->end - 1] == '}') ||
	      (mb->buf[0] == '[' && mb->buf[mb->end - 1] == ']')))
		abort();
	mem_deref(mb);

	/* state the routes keep between requests */
	api_route_close();
	(void)brain_instructions_set(NULL, BRAIN_SCOPE_BASE, NULL);

	if (have_stat && 0 == mem_get_stat(&after) &&
	    after.blocks_cur != before.blocks_cur)
		abort();  /* leaked libre mem blocks */
	return 0;
}
