/*
 * test_api.c  Control API without sockets: route errors and shapes, DTMF
 *             masking, the metrics exposition fed with bus events.
 */
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "api/api.h"
#include "api/apiint.h"
#include "test.h"


static uint16_t route(struct mbuf *mb, const char *method, const char *path,
		      const char *body)
{
	mbuf_reset(mb);
	return api_route(mb, method, path, NULL, (const uint8_t *)body,
			 body ? strlen(body) : 0, NULL);
}


static bool body_has(const struct mbuf *mb, const char *s)
{
	char buf[2048];
	size_t n = mb->end < sizeof(buf) - 1 ? mb->end : sizeof(buf) - 1;

	memcpy(buf, mb->buf, n);
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}


int test_api_route_errors(void)
{
	struct memstat before, after;
	bool have_stat = 0 == mem_get_stat(&before);
	struct mbuf *mb;

	mb = mbuf_alloc(512);
	TEST_ASSERT(mb != NULL);

	TEST_EQ(route(mb, "GET", "/api/nope", NULL), 404);
	TEST_ASSERT(body_has(mb, "{\"error\":{\"code\":\"not_found\","));
	TEST_EQ(route(mb, "DELETE", "/api/calls", NULL), 405);
	TEST_ASSERT(body_has(mb, "use GET, POST"));
	TEST_EQ(route(mb, "POST", "/api/calls", "{\"number\":"), 400);
	TEST_ASSERT(body_has(mb, "\"code\":\"bad_json\""));
	TEST_EQ(route(mb, "POST", "/api/calls", "[]"), 400);
	TEST_ASSERT(body_has(mb, "must be a JSON object"));
	TEST_EQ(route(mb, "POST", "/api/calls", "{\"number\":\"a b\"}"), 400);
	TEST_ASSERT(body_has(mb, "\\\"number\\\" must be"));
	TEST_EQ(route(mb, "POST", "/api/calls",
		      "{\"number\":\"100\",\"at\":\"2026-13-01T00:00:00Z\"}"),
		400);
	TEST_ASSERT(body_has(mb, "RFC 3339"));
	/* not running (no api_init): actions answer 503 */
	TEST_EQ(route(mb, "POST", "/api/calls", "{\"number\":\"100\"}"), 503);
	TEST_EQ(route(mb, "POST", "/api/calls/x/hangup", NULL), 503);
	TEST_EQ(route(mb, "POST", "/api/calls/x/dtmf",
		      "{\"digits\":\"12x\"}"), 400);
	TEST_EQ(route(mb, "POST", "/api/instructions", "{}"), 400);
	TEST_ASSERT(body_has(mb, "\\\"text\\\" is required"));
	TEST_EQ(route(mb, "GET", "/api/calls/a%2Fb", NULL), 404);
	TEST_EQ(route(mb, "GET", "/api/calls/1/2/3/4/5/6/7", NULL), 404);
	/* no store open: the list still answers, empty */
	TEST_EQ(route(mb, "GET", "/api/calls", NULL), 200);
	TEST_ASSERT(body_has(mb, "{\"live\":[],\"total\":0,"));
	TEST_EQ(route(mb, "GET", "/api/registrations", NULL), 200);
	TEST_ASSERT(body_has(mb, "[]"));

	mem_deref(mb);
	api_route_close();
	if (have_stat && 0 == mem_get_stat(&after))
		TEST_EQ(after.blocks_cur, before.blocks_cur);
	return 0;
}


int test_api_mask(void)
{
	char *m;

	m = api_event_mask("{\"event\":\"dtmf\",\"digit\":\"5\",\"x\":1}");
	TEST_STREQ(m, "{\"event\":\"dtmf\",\"digit\":\"*\",\"x\":1}");
	mem_deref(m);
	m = api_event_mask("{\"digits\":\"1234#\",\"digit\":\"\\\"\"}");
	TEST_STREQ(m, "{\"digits\":\"*****\",\"digit\":\"**\"}");
	mem_deref(m);
	m = api_event_mask("{\"event\":\"turn\",\"transcript\":\"digit\"}");
	TEST_STREQ(m, "{\"event\":\"turn\",\"transcript\":\"digit\"}");
	mem_deref(m);
	return 0;
}


static void feed(const char *name, const char *json)
{
	struct odict *od = NULL;

	if (0 == json_decode_odict(&od, 8, json, strlen(json), 4))
		api_metrics_event(name, od);
	mem_deref(od);
}


int test_api_metrics(void)
{
	char *text = NULL;

	TEST_ERR(api_metrics_init());
	feed("turn", "{\"voice_to_voice_ms\":800}");
	feed("turn", "{\"voice_to_voice_ms\":2500}");
	feed("tool_call", "{\"tool\":\"transfer_blind\",\"decision\":\"deny\","
	     "\"category\":\"privilege\"}");
	feed("tool_call", "{\"tool\":\"hang_up\",\"decision\":\"allow\"}");
	feed("registered", "{\"account\":\"acct1\"}");
	feed("barge_in", "{}");
	feed("call_answered", "{\"direction\":\"inbound\"}");
	feed("call_ended", "{\"reason\":\"rem\\\"ote\"}");
	feed("call_outcome", "{\"outcome\":\"busy\",\"sip_code\":486}");
	TEST_ERR(re_sdprintf(&text, "%H", api_metrics_print, NULL));
	TEST_ASSERT(strstr(text, "agentline_turns_total 2\n"));
	TEST_ASSERT(strstr(text, "agentline_voice_to_voice_seconds_bucket"
			   "{le=\"1.00\"} 1\n"));
	TEST_ASSERT(strstr(text, "agentline_voice_to_voice_seconds_bucket"
			   "{le=\"3.00\"} 2\n"));
	TEST_ASSERT(strstr(text, "agentline_voice_to_voice_seconds_count 2\n"));
	if (!strstr(text, "agentline_voice_to_voice_seconds_sum 3.300\n"))
		fprintf(stderr, "%s", text);
	TEST_ASSERT(strstr(text, "agentline_voice_to_voice_seconds_sum "
			   "3.300\n"));
	TEST_ASSERT(strstr(text, "agentline_gate_denials_total"
			   "{category=\"privilege\"} 1\n"));
	TEST_ASSERT(strstr(text, "agentline_tool_calls_total{tool=\"hang_up\","
			   "decision=\"allow\"} 1\n"));
	TEST_ASSERT(strstr(text, "agentline_registered{account=\"acct1\"} "
			   "1\n"));
	TEST_ASSERT(strstr(text, "agentline_barge_ins_total 1\n"));
	TEST_ASSERT(strstr(text, "agentline_outbound_outcomes_total"
			   "{outcome=\"busy\"} 1\n"));
	/* label values never break the format */
	TEST_ASSERT(strstr(text, "reason=\"rem_ote\"} 1\n"));
	mem_deref(text);
	api_metrics_close();
	return 0;
}
