/*
 * api.h  The control server: REST (calls, instructions, context, config,
 *        messages, history, registrations), the events WebSocket, the
 *        agent takeover WebSocket, /metrics, webhooks and scheduled calls.
 *        Every endpoint except /health needs the bearer token.
 *
 * Main thread only.
 */
#ifndef AGENTLINE_API_H
#define AGENTLINE_API_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct mbuf;

/* Start listening on control_listen (unset or empty = no server; the
 * metrics and webhooks still run).  Generates data_dir/control_token when
 * no control_token is configured. */
int  api_init(const struct conf *conf);
void api_close(void);

/*
 * One request after authentication and limits: route it and write the
 * JSON response body into mb.  Returns the HTTP status.  idem is the
 * Idempotency-Key header or NULL.  The fuzzing entry point; also works
 * before api_init (actions that need the SIP stack answer 503).
 */
uint16_t api_route(struct mbuf *mb, const char *method, const char *path,
		   const char *query, const uint8_t *body, size_t len,
		   const char *idem);

/* %H printer of a C string as a JSON string ("null" for NULL). */
struct re_printf;
int  api_jstr_h(struct re_printf *pf, void *arg);

/* CLI client: send one request to the running daemon (control_listen,
 * token from the config or data_dir/control_token).  Prints the body to
 * stdout; returns 0 for 2xx, ECONNREFUSED if no daemon runs, else EIO. */
int  api_client(const struct conf *conf, const char *method,
		const char *path, const char *body, struct mbuf *out,
		uint16_t *statusp);

#endif
