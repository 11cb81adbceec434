/*
 * api_webhook.c  Event webhooks (stub until the sender lands).
 */
#include <re.h>
#include "api/apiint.h"

int api_webhook_init(const struct conf *conf)
{
	(void)conf;
	return 0;
}


void api_webhook_close(void)
{
}


void api_webhook_event(const char *name, const char *json)
{
	(void)name;
	(void)json;
}
