/*
 * api_agent.c  Agent takeover WebSocket (stub until it lands).
 */
#include <errno.h>
#include <re.h>
#include "api/apiint.h"

int api_agent_init(void)
{
	return 0;
}


void api_agent_close(void)
{
}


int api_agent_accept(struct http_conn *conn, const struct http_msg *msg)
{
	(void)conn;
	(void)msg;
	return ENOSYS;
}


void api_agent_event(const char *name, const struct odict *od,
		     const char *json)
{
	(void)name;
	(void)od;
	(void)json;
}
