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
	struct brain_host host;
};


static void parrot_destructor(void *data)
{
	struct parrot *p = data;

	tmr_cancel(&p->tmr);
}


static void delay_handler(void *arg)
{
	struct parrot *p = arg;

	p->host.reply(p->turn_id, p->reply, false, p->host.arg);
	p->host.reply(p->turn_id, NULL, true, p->host.arg);
}


static int parrot_alloc(void **stp, const struct conf *conf,
			const struct brain_call *call,
			const struct brain_host *host)
{
	struct parrot *p;

	if (!host || !host->reply)
		return EINVAL;
	p = mem_zalloc(sizeof(*p), parrot_destructor);
	if (!p)
		return ENOMEM;
	tmr_init(&p->tmr);
	p->host = *host;
	p->delay_ms = conf ? (uint32_t)conf_int(conf, "parrot_delay_ms") : 0;
	str_ncpy(p->lang, call && call->language ? call->language : "en",
		 sizeof(p->lang));
	*stp = p;
	return 0;
}


static int parrot_turn(void *st, const struct brain_turn *turn)
{
	struct parrot *p = st;
	bool de = !strcmp(p->lang, "de");

	if (turn->kind == BRAIN_DTMF)
		re_snprintf(p->reply, sizeof(p->reply), "%s.",
			    de ? "Sie haben eine Taste gedrückt" :
			    "You pressed a key");   /* digits are not echoed */
	else
		re_snprintf(p->reply, sizeof(p->reply), "%s %s.",
			    de ? "Sie sagten:" : "You said:", turn->text);
	p->turn_id = turn->id;
	if (p->delay_ms) {
		tmr_start(&p->tmr, p->delay_ms, delay_handler, p);
		return 0;
	}
	delay_handler(p);
	return 0;
}


static void parrot_cancel(void *st)
{
	struct parrot *p = st;

	tmr_cancel(&p->tmr);
}


const struct brain_ops brain_parrot = {
	.name = "parrot",
	.alloc = parrot_alloc,
	.turn = parrot_turn,
	.cancel = parrot_cancel,
};
