/*
 * llmstream.c  SSE parser and chat.completion.chunk assembly (pure).
 *
 * SSE (WHATWG): lines end in CRLF, LF or CR; "data:" lines (one optional
 * space after the colon) are joined with "\n"; a blank line dispatches
 * the event; ":" lines are comments; other fields (event, id, retry) are
 * ignored.  A line over SSE_LINE_MAX is dropped whole.
 */
#include <string.h>
#include <re.h>
#include "brain/llmstream.h"
#include "engines/netclient.h"


int sse_init(struct sse_parser *p)
{
	if (!p)
		return EINVAL;
	memset(p, 0, sizeof(*p));
	p->line = mem_alloc(SSE_LINE_MAX, NULL);
	p->data = mem_alloc(SSE_EVENT_MAX + 1, NULL);
	if (!p->line || !p->data) {
		sse_reset(p);
		return ENOMEM;
	}
	return 0;
}


void sse_reset(struct sse_parser *p)
{
	if (!p)
		return;
	mem_deref(p->line);
	mem_deref(p->data);
	memset(p, 0, sizeof(*p));
}


static int dispatch(struct sse_parser *p, sse_event_h *h, void *arg)
{
	int err = 0;

	if (p->has_data) {
		p->data[p->dlen] = '\0';
		if (h)
			err = h(p->data, p->dlen, arg);
	}
	p->dlen = 0;
	p->has_data = false;
	return err;
}


/* One complete line (without its end). */
static int line_done(struct sse_parser *p, sse_event_h *h, void *arg)
{
	const char *v;
	size_t n = p->llen, vl;

	p->llen = 0;
	if (p->line_over) {
		p->line_over = false;
		return 0;
	}
	if (!n)
		return dispatch(p, h, arg);
	if (p->line[0] == ':')
		return 0;   /* comment (keep-alive) */
	if (n < 4 || memcmp(p->line, "data", 4) || (n > 4 && p->line[4] != ':'))
		return 0;   /* another field, or "data" without a value */
	v = p->line + 4;
	vl = n - 4;
	if (vl && *v == ':') {
		v++;
		vl--;
	}
	if (vl && *v == ' ') {
		v++;
		vl--;
	}
	if (p->dlen + (p->has_data ? 1 : 0) + vl > SSE_EVENT_MAX) {
		p->dlen = 0;
		p->has_data = false;
		return EOVERFLOW;
	}
	if (p->has_data)
		p->data[p->dlen++] = '\n';
	memcpy(p->data + p->dlen, v, vl);
	p->dlen += vl;
	p->has_data = true;
	return 0;
}


int sse_feed(struct sse_parser *p, const uint8_t *buf, size_t len,
	     sse_event_h *h, void *arg)
{
	int err;

	if (!p || !p->line || (!buf && len))
		return EINVAL;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = buf[i];

		if (!p->bom_checked) {
			/* a UTF-8 BOM at the very start is skipped */
			if (p->llen == 0 && c == 0xef) {
				p->line[p->llen++] = (char)c;
				continue;
			}
			if (p->llen == 1 && (uint8_t)p->line[0] == 0xef &&
			    c == 0xbb) {
				p->line[p->llen++] = (char)c;
				continue;
			}
			if (p->llen == 2 && (uint8_t)p->line[0] == 0xef &&
			    c == 0xbf) {
				p->llen = 0;
				p->bom_checked = true;
				continue;
			}
			p->bom_checked = true;
		}
		if (c == '\n' && p->cr) {
			p->cr = false;   /* the LF of a CRLF */
			continue;
		}
		p->cr = false;
		if (c == '\r' || c == '\n') {
			p->cr = c == '\r';
			err = line_done(p, h, arg);
			if (err)
				return err;
			continue;
		}
		if (p->llen >= SSE_LINE_MAX) {
			p->line_over = true;
			continue;
		}
		p->line[p->llen++] = (char)c;
	}
	return 0;
}


int sse_end(struct sse_parser *p, sse_event_h *h, void *arg)
{
	int err = 0;

	if (!p || !p->line)
		return EINVAL;
	if (p->llen || p->line_over)
		err = line_done(p, h, arg);
	if (!err)
		err = dispatch(p, h, arg);
	return err;
}


/* -------------------------------------------------------- assembly */

void llm_answer_init(struct llm_answer *a)
{
	if (a)
		memset(a, 0, sizeof(*a));
}


void llm_answer_reset(struct llm_answer *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < LLM_TOOLS_MAX; i++)
		mem_deref(a->tools[i].args);
	memset(a, 0, sizeof(*a));
}


static void str_append(char *dst, size_t sz, const char *s)
{
	size_t l = strlen(dst);

	if (l + 1 < sz)
		str_ncpy(dst + l, s, sz - l);
}


static int tool_delta(struct llm_answer *a, const struct odict *tc,
		      unsigned pos)
{
	const struct odict_entry *e;
	struct llm_tool_call *t;
	const char *s;
	uint64_t idx = pos;

	e = odict_lookup(tc, "index");
	if (e && e->type == ODICT_INT) {
		if (e->u.integer < 0)
			return EBADMSG;
		idx = (uint64_t)e->u.integer;
	}
	if (idx >= LLM_TOOLS_MAX)
		return 0;   /* more calls than we run: ignored */
	t = &a->tools[idx];
	if (!t->args) {
		t->args = mem_alloc(LLM_ARGS_MAX + 1, NULL);
		if (!t->args)
			return ENOMEM;
		t->args[0] = '\0';
	}
	t->used = true;
	if (idx + 1 > a->ntools)
		a->ntools = (unsigned)idx + 1;

	s = odict_string(tc, "id");
	if (s && *s && !t->id[0])
		str_ncpy(t->id, s, sizeof(t->id));
	s = net_json_str(tc, "function.name");
	if (s)
		str_append(t->name, sizeof(t->name), s);
	s = net_json_str(tc, "function.arguments");
	if (s) {
		size_t l = strlen(s);

		if (t->alen + l > LLM_ARGS_MAX) {
			t->over = true;
			l = LLM_ARGS_MAX - t->alen;
		}
		memcpy(t->args + t->alen, s, l);
		t->alen += l;
		t->args[t->alen] = '\0';
	}
	return 0;
}


int llm_answer_event(struct llm_answer *a, const char *data, size_t len,
		     llm_text_h *texth, void *arg)
{
	const struct odict_entry *e, *choice = NULL;
	struct odict *o = NULL;
	const char *s;
	int err = 0;

	if (!a || (!data && len))
		return EINVAL;
	while (len && (*data == ' ' || *data == '\t')) {
		data++;
		len--;
	}
	if (len == 6 && !memcmp(data, "[DONE]", 6)) {
		a->done = true;
		return 0;
	}
	if (!len || *data != '{' || net_json_decode(&o, data, len) || !o) {
		a->bad++;
		mem_deref(o);
		return EBADMSG;
	}
	a->chunks++;

	e = odict_lookup(o, "error");
	if (e) {
		s = e->type == ODICT_STRING ? e->u.str :
			e->type == ODICT_OBJECT ?
			odict_string(e->u.odict, "message") : NULL;
		str_ncpy(a->error, s ? s : "error", sizeof(a->error));
		err = EPROTO;
		goto out;
	}

	e = odict_lookup(o, "choices");
	if (e && e->type == ODICT_ARRAY && e->u.odict->lst.head) {
		const struct odict_entry *c = e->u.odict->lst.head->data;

		if (c->type == ODICT_OBJECT)
			choice = c;
	}
	if (!choice)
		goto out;   /* usage-only chunk and the like */

	s = odict_string(choice->u.odict, "finish_reason");
	if (s)
		str_ncpy(a->finish, s, sizeof(a->finish));

	e = odict_lookup(choice->u.odict, "delta");
	if (!e || e->type != ODICT_OBJECT) {
		/* some servers send a whole message in the last chunk */
		e = odict_lookup(choice->u.odict, "message");
		if (!e || e->type != ODICT_OBJECT)
			goto out;
	}
	s = odict_string(e->u.odict, "content");
	if (s && *s && texth)
		texth(s, strlen(s), arg);

	e = odict_lookup(e->u.odict, "tool_calls");
	if (e && e->type == ODICT_ARRAY) {
		unsigned pos = 0;

		for (struct le *le = e->u.odict->lst.head; le; le = le->next) {
			const struct odict_entry *tc = le->data;

			if (tc->type == ODICT_OBJECT) {
				err = tool_delta(a, tc->u.odict, pos);
				if (err)
					goto out;
			}
			pos++;
		}
	}

 out:
	mem_deref(o);
	return err;
}
