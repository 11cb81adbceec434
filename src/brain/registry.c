/*
 * registry.c  Brain lookup by name, and the hook through which an
 *             external agent (the agent WebSocket) takes turns first.
 *             Main thread only.
 */
#include <string.h>
#include <re.h>
#include "brain/brain.h"

extern const struct brain_ops brain_parrot;
extern const struct brain_ops brain_playbook;
extern const struct brain_ops brain_script;
extern const struct brain_ops brain_llm;

static const struct brain_ops *brains[] = {&brain_playbook, &brain_parrot,
					   &brain_script, &brain_llm, NULL};

static struct {
	brain_external_h *h;
	void *arg;
} ext;


const struct brain_ops *brain_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; brains[i]; i++) {
		size_t n = strlen(brains[i]->name);

		if (!strcmp(brains[i]->name, name))
			return brains[i];
		/* parameterised: "script:FILE" finds "script:" */
		if (n && brains[i]->name[n - 1] == ':' &&
		    !strncmp(brains[i]->name, name, n))
			return brains[i];
	}
	return NULL;
}


const char *brain_names(void)
{
	static char names[128];

	if (!names[0]) {
		for (size_t i = 0; brains[i]; i++)
			re_snprintf(names + strlen(names),
				    sizeof(names) - strlen(names), "%s%s",
				    i ? ", " : "", brains[i]->name);
	}
	return names;
}


void brain_set_external(brain_external_h *h, void *arg)
{
	ext.h = h;
	ext.arg = arg;
}


/* Offer the turn to an external agent; ENOENT if none has the call. */
int brain_external_turn(const char *callid, const struct brain_turn *turn,
			const struct brain_host *host)
{
	if (!ext.h)
		return ENOENT;
	return ext.h(callid, turn, host, ext.arg);
}
