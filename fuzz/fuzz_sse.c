/*
 * fuzz_sse.c  The LLM brain's stream parsers on arbitrary bytes: the SSE
 *             parser fed in chunks whose sizes come from the input, every
 *             event applied to the chat-chunk assembler (text deltas,
 *             tool-call deltas by index).  Never crash, overrun or leak;
 *             assembled tool calls stay within their bounds.
 *
 * Input: byte 0 sets the chunk size (1..256); the rest is the stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "brain/llmstream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t text_total;


static void text_handler(const char *text, size_t len, void *arg)
{
	(void)arg;
	if (strlen(text) != len)
		abort();
	text_total += len;
}


static int event_handler(const char *data, size_t len, void *arg)
{
	struct llm_answer *a = arg;
	int err;

	if (data[len] != '\0' || len > SSE_EVENT_MAX)
		abort();
	err = llm_answer_event(a, data, len, text_handler, NULL);
	return err == EPROTO ? err : 0;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sse_parser p;
	struct llm_answer a;
	size_t step, pos = 1;

	if (size < 1 || size > 262144)
		return 0;
	step = 1 + data[0];
	if (sse_init(&p))
		return 0;
	llm_answer_init(&a);
	while (pos < size) {
		size_t k = size - pos < step ? size - pos : step;

		if (sse_feed(&p, data + pos, k, event_handler, &a))
			break;
		pos += k;
	}
	(void)sse_end(&p, event_handler, &a);
	if (a.ntools > LLM_TOOLS_MAX)
		abort();
	for (unsigned i = 0; i < LLM_TOOLS_MAX; i++) {
		const struct llm_tool_call *t = &a.tools[i];

		if (t->alen > LLM_ARGS_MAX || (t->args &&
					       strlen(t->args) != t->alen) ||
		    strlen(t->name) >= sizeof(t->name) ||
		    strlen(t->id) >= sizeof(t->id))
			abort();
	}
	sse_reset(&p);
	llm_answer_reset(&a);
	return 0;
}
