/*
 * test_api_tools.c  POST /api/calls/{id}/tools/{name} (Hermes plugin's
 *                   way in) without sockets: its route errors.  The gate
 *                   itself runs in test/integ/test_hermes.py.
 */
#include <string.h>
#include <re.h>
#include "api/api.h"
#include "api/apiint.h"
#include "test.h"


static uint16_t post(struct mbuf *mb, const char *method, const char *path,
		     const char *body)
{
	mbuf_reset(mb);
	return api_route(mb, method, path, NULL, (const uint8_t *)body,
			 body ? strlen(body) : 0, NULL);
}


static bool has(const struct mbuf *mb, const char *s)
{
	char buf[1024];
	size_t n = mb->end < sizeof(buf) - 1 ? mb->end : sizeof(buf) - 1;

	memcpy(buf, mb->buf, n);
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}


int test_api_route_tools(void)
{
	struct memstat before, after;
	bool have_stat = 0 == mem_get_stat(&before);
	struct mbuf *mb = mbuf_alloc(512);

	TEST_ASSERT(mb != NULL);
	/* only POST */
	TEST_EQ(post(mb, "GET", "/api/calls/x/tools/hang_up", NULL), 405);
	TEST_ASSERT(has(mb, "use POST"));
	/* a name that cannot be a tool never reaches the executor */
	TEST_EQ(post(mb, "POST", "/api/calls/x/tools/Hang-Up", "{}"), 404);
	TEST_ASSERT(has(mb, "no such tool"));
	TEST_EQ(post(mb, "POST", "/api/calls/x/tools/"
		     "abcdefghijklmnopqrstuvwxyzabcdefgh", "{}"), 404);
	/* the body is a JSON object when there is one */
	TEST_EQ(post(mb, "POST", "/api/calls/x/tools/send_dtmf", "[1]"), 400);
	TEST_ASSERT(has(mb, "bad_json"));
	/* no body is fine (tools without arguments); without api_init the
	 * call control answers 503, not 400 */
	TEST_EQ(post(mb, "POST", "/api/calls/x/tools/hold_call", NULL), 503);
	TEST_EQ(post(mb, "POST", "/api/calls/x/tools/send_dtmf",
		     "{\"digits\":\"1\"}"), 503);
	/* deeper paths stay unknown */
	TEST_EQ(post(mb, "POST", "/api/calls/x/tools/a/b", "{}"), 404);

	mem_deref(mb);
	api_route_close();
	if (have_stat && 0 == mem_get_stat(&after))
		TEST_EQ(after.blocks_cur, before.blocks_cur);
	return 0;
}
