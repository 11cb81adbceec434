/*
 * parrot.c  The built-in brain that says back what it heard.  Useful to
 *           check a line end to end, and to tune VAD/STT settings.
 */
#include <string.h>
#include <re.h>
#include "brain/brain.h"
#include "core/conf.h"

/* parrot_delay_ms makes it answer late, like a slow LLM: to tune and test
 * fillers and barge-in without a network. */
struct parrot {
	char lang[8];
	uint32_t delay_ms;
	struct tmr tmr;
	uint32_t turn_id;
	char reply[1200];
	brain_reply_h *h;
	void *arg;
};


static void parrot_destructor(void *data)
{
	struct parrot *p = data;

	tmr_cancel(&p->tmr);
}


static void delay_handler(void *arg)
{
	struct parrot *p = arg;

	p->h(p->turn_id, p->reply, false, p->arg);
	p->h(p->turn_id, NULL, true, p->arg);
}


static int parrot_alloc(void **stp, const struct conf *conf,
			const struct brain_call *call)
{
	struct parrot *p = mem_zalloc(sizeof(*p), parrot_destructor);

	if (!p)
		return ENOMEM;
	tmr_init(&p->tmr);
	p->delay_ms = conf ? (uint32_t)conf_int(conf, "parrot_delay_ms") : 0;
	str_ncpy(p->lang, call && call->language ? call->language : "en",
		 sizeof(p->lang));
	*stp = p;
	return 0;
}


static int parrot_turn(void *st, uint32_t turn_id, const char *transcript,
		       brain_reply_h *h, void *arg)
{
	struct parrot *p = st;

	re_snprintf(p->reply, sizeof(p->reply), "%s %s.",
		    !strcmp(p->lang, "de") ? "Sie sagten:" : "You said:",
		    transcript);
	if (p->delay_ms) {
		p->turn_id = turn_id;
		p->h = h;
		p->arg = arg;
		tmr_start(&p->tmr, p->delay_ms, delay_handler, p);
		return 0;
	}
	h(turn_id, p->reply, false, arg);
	h(turn_id, NULL, true, arg);
	return 0;
}


static void parrot_cancel(void *st)
{
	struct parrot *p = st;

	tmr_cancel(&p->tmr);
}


const struct brain_ops brain_parrot = {
	"parrot", parrot_alloc, parrot_turn, parrot_cancel
};

static const struct brain_ops *brains[] = {&brain_parrot, NULL};


const struct brain_ops *brain_find(const char *name)
{
	for (size_t i = 0; name && brains[i]; i++) {
		if (!strcmp(brains[i]->name, name))
			return brains[i];
	}
	return NULL;
}


const char *brain_names(void)
{
	return "parrot";
}
