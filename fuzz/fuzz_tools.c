/*
 * fuzz_tools.c  The tools executor on arbitrary tool names and JSON
 *               arguments (what a model, or a caller talking a model into
 *               it, can send): never crash, answer every call exactly
 *               once, and every answer is a JSON object (escaping holds
 *               for any argument text).
 *
 * Input: byte 0 picks the tool (or an unknown/odd name), the rest is the
 * arguments text.  The acting tools run against a fake call; the ones
 * that would start timers or calls are denied by the fake gate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "brain/tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct call *const FAKE = (struct call *)(uintptr_t)0x1000;
static unsigned ndone;
static bool bad_json;


static struct policy_call *f_policy(const struct call *c)
{
	(void)c;
	return NULL;
}

static int f_gate(struct policy_call *pc, const char *tool,
		  const char *target, const char **cat)
{
	(void)pc;
	(void)target;
	if (!strcmp(tool, "hang_up") || !strcmp(tool, "place_call") ||
	    !strncmp(tool, "transfer_", 9)) {
		*cat = "privilege";
		return EPERM;
	}
	return 0;
}

static int f_dtmf(struct call *c, const char *d)
{
	(void)c;
	return strlen(d) > 10 ? ENOTSUP : 0;
}

static int f_hold(struct call *c, bool h)
{
	(void)c;
	(void)h;
	return 0;
}

static int f_msg(const struct store_message *m, uint64_t *idp)
{
	(void)m;
	*idp = 1;
	return 0;
}

static const char *f_callid(const struct call *c)
{
	(void)c;
	return "fuzz";
}

static const struct tools_ops ops = {
	.policy = f_policy, .gate = f_gate, .send_dtmf = f_dtmf,
	.hold = f_hold, .message_add = f_msg, .callid = f_callid,
};


static void done_h(uint32_t turn, int err, const char *result, void *arg)
{
	struct odict *od = NULL;
	(void)turn;
	(void)err;
	(void)arg;

	++ndone;
	if (!result || json_decode_odict(&od, 8, result, strlen(result), 8))
		bad_json = true;
	mem_deref(od);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"hang_up", "report_call_result", "take_message", "send_dtmf",
		"hold_call", "resume_call", "open_entry", "place_call",
		"transfer_blind", "transfer_attended", "rm -rf", "",
		"send_dtmf\"", "hang_up_now", "HANG_UP", "\xff\xfe",
	};
	static bool init;
	struct tools *t = NULL;
	char *args;
	int err;

	if (!init) {
		(void)libre_init();
		tools_set_ops(&ops);
		init = true;
	}
	if (size < 1 || size > 16384)
		return 0;
	args = malloc(size);
	if (!args)
		return 0;
	memcpy(args, data + 1, size - 1);
	args[size - 1] = '\0';

	if (tools_alloc(&t, NULL, FAKE)) {
		free(args);
		return 0;
	}
	ndone = 0;
	bad_json = false;
	err = tools_run(t, 1, names[data[0] & 15], args, done_h, NULL);
	if ((err == 0 && ndone != 1) || (err != 0 && ndone != 0) || bad_json)
		abort();
	mem_deref(t);
	free(args);
	return 0;
}
