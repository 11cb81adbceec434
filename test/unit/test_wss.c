/*
 * test_wss.c  The settings of SIP over secure WebSocket and ICE servers
 *             (sip_transport = wss, sip_ws_path, ice_*_urls).
 */
#include <string.h>
#include <re.h>
#include "core/conf.h"
#include "test.h"

struct werrs {
	unsigned n;
	char text[4096];
};


static void werrs_h(const char *line, void *arg)
{
	struct werrs *e = arg;
	size_t len = strlen(e->text);

	++e->n;
	snprintf(e->text + len, sizeof(e->text) - len, "%s\n", line);
}


/* 0 when key = value is accepted and validates, else 1 */
static int try_set(const char *key, const char *value)
{
	struct conf *conf = NULL;
	struct werrs e = {0};
	int bad;

	if (conf_alloc(&conf))
		return -1;
	bad = conf_set(conf, key, value, "test", werrs_h, &e) != 0;
	if (!bad)
		bad = conf_validate(conf, werrs_h, &e) != 0;
	mem_deref(conf);
	return bad;
}


int test_wss_conf(void)
{
	struct conf *conf = NULL;
	struct werrs e = {0};
	bool secret = true;

	/* accepted */
	TEST_EQ(try_set("sip_transport", "wss"), 0);
	TEST_EQ(try_set("sip_ws_path", "/ws"), 0);
	TEST_EQ(try_set("sip_ws_path", "/a/b?x=1"), 0);
	TEST_EQ(try_set("ice_stun_urls", "stun:stun.example.com"), 0);
	TEST_EQ(try_set("ice_stun_urls",
			"stun:192.0.2.1:3478,stun:[2001:db8::1]:3478"), 0);
	TEST_EQ(try_set("ice_turn_urls", "turn:turn.example.com:3478"
			"?transport=udp,turn:t2.example.com?transport=tcp"), 0);

	/* refused */
	TEST_EQ(try_set("sip_transport", "ws"), 1);
	TEST_EQ(try_set("sip_ws_path", "ws"), 1);
	TEST_EQ(try_set("sip_ws_path", "/a b"), 1);
	TEST_EQ(try_set("ice_stun_urls", "http://stun.example.com"), 1);
	TEST_EQ(try_set("ice_stun_urls", "stun:"), 1);
	TEST_EQ(try_set("ice_stun_urls", "stun:host?transport=udp"), 1);
	TEST_EQ(try_set("ice_turn_urls", "turn:host?transport=sctp"), 1);
	TEST_EQ(try_set("ice_turn_urls", "turn:user@host"), 1);
	TEST_EQ(try_set("ice_turn_urls", "turns:host"), 1);

	/* defaults; the TURN password is a secret */
	for (const struct conf_opt *o = conf_opts; o->key; o++) {
		if (!strcmp(o->key, "ice_turn_password") ||
		    !strcmp(o->key, "sip_ws_password"))
			secret = secret && (o->flags & CONF_F_SECRET);
	}
	TEST_ASSERT(secret);
	TEST_ERR(conf_alloc(&conf));
	if (conf_validate(conf, werrs_h, &e) ||
	    strcmp(conf_str(conf, "sip_ws_path"), "/") ||
	    conf_isset(conf, "sip_ws_password")) {
		fprintf(stderr, "wss defaults wrong: %s", e.text);
		mem_deref(conf);
		return 1;
	}
	mem_deref(conf);
	return 0;
}
