/*
 * llmstream.h  The streamed answer of an OpenAI-compatible chat completion
 *              (`stream: true`): a Server-Sent Events parser and the
 *              assembly of `chat.completion.chunk` deltas into reply text
 *              and tool calls.
 *
 * Both are pure (no I/O), incremental and bounded: bytes may be split
 * anywhere (inside a line, a CRLF, a UTF-8 sequence); any input gives 0
 * or an error, never a crash or unbounded allocation, so they are fuzzed
 * (fuzz/fuzz_sse.c).  One object is used by one thread at a time.
 */
#ifndef AGENTLINE_LLMSTREAM_H
#define AGENTLINE_LLMSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	SSE_LINE_MAX   = 65536,   /* one line (a data: field)                */
	SSE_EVENT_MAX  = 262144,  /* one event's joined data                 */
	LLM_TOOLS_MAX  = 8,       /* tool calls in one answer                */
	LLM_NAME_MAX   = 64,
	LLM_ID_MAX     = 96,
	LLM_ARGS_MAX   = 16384,   /* arguments JSON of one tool call         */
};

/* ------------------------------------------------------------- SSE */

/* One event: the data lines joined with "\n" (NUL-terminated).  Return
 * non-zero to stop parsing (returned by sse_feed). */
typedef int (sse_event_h)(const char *data, size_t len, void *arg);

struct sse_parser {
	char *line;               /* mem object, SSE_LINE_MAX                */
	size_t llen;
	bool line_over;           /* the current line was too long           */
	bool cr;                  /* last byte was CR (CRLF split)           */
	char *data;               /* mem object, SSE_EVENT_MAX + 1           */
	size_t dlen;
	bool has_data;
	bool bom_checked;
};

int  sse_init(struct sse_parser *p);
void sse_reset(struct sse_parser *p);    /* frees the buffers */
/* Feed bytes; events are dispatched on their blank line.  Returns 0,
 * EOVERFLOW (event over SSE_EVENT_MAX), or the handler's non-zero. */
int  sse_feed(struct sse_parser *p, const uint8_t *buf, size_t len,
	      sse_event_h *h, void *arg);
/* End of stream: a last event without its blank line is dispatched. */
int  sse_end(struct sse_parser *p, sse_event_h *h, void *arg);

/* ------------------------------------------------ chunk assembly */

struct llm_tool_call {
	char id[LLM_ID_MAX];
	char name[LLM_NAME_MAX];
	char *args;               /* mem object, LLM_ARGS_MAX + 1            */
	size_t alen;
	bool used;
	bool over;                /* arguments were cut                      */
};

/* What one streamed answer says. */
struct llm_answer {
	struct llm_tool_call tools[LLM_TOOLS_MAX];
	unsigned ntools;          /* highest index used + 1                  */
	bool done;                /* [DONE] seen                             */
	char finish[24];          /* finish_reason of choice 0, "" if none   */
	char error[256];          /* an error object in the stream           */
	unsigned chunks;          /* chunks parsed                           */
	unsigned bad;             /* chunks that were not valid JSON         */
};

/* Reply text as it arrives (content delta of choice 0). */
typedef void (llm_text_h)(const char *text, size_t len, void *arg);

void llm_answer_init(struct llm_answer *a);
void llm_answer_reset(struct llm_answer *a);   /* frees argument buffers */
/* Apply one SSE event's data: "[DONE]", a chunk, or an error object.
 * Returns 0, or EBADMSG for data that is not a JSON object (counted in
 * bad; the stream may go on), EPROTO for an error object (text in
 * error). */
int  llm_answer_event(struct llm_answer *a, const char *data, size_t len,
		      llm_text_h *texth, void *arg);

#endif
