/*
 * parrot.c  The built-in brain that says back what it heard.  Useful to
 *           check a line end to end, and to tune VAD/STT settings.
 */
#include <string.h>
#include <re.h>
#include "brain/brain.h"

struct parrot {
	char lang[8];
};


static int parrot_alloc(void **stp, const struct conf *conf,
			const struct brain_call *call)
{
	struct parrot *p = mem_zalloc(sizeof(*p), NULL);
	(void)conf;

	if (!p)
		return ENOMEM;
	str_ncpy(p->lang, call && call->language ? call->language : "en",
		 sizeof(p->lang));
	*stp = p;
	return 0;
}


static int parrot_turn(void *st, uint32_t turn_id, const char *transcript,
		       brain_reply_h *h, void *arg)
{
	struct parrot *p = st;
	char buf[1200];

	re_snprintf(buf, sizeof(buf), "%s %s.",
		    !strcmp(p->lang, "de") ? "Sie sagten:" : "You said:",
		    transcript);
	h(turn_id, buf, false, arg);
	h(turn_id, NULL, true, arg);
	return 0;
}


static void parrot_cancel(void *st)
{
	(void)st;
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
