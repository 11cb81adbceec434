/*
 * apiint.h  Internals shared by the files of src/api/.  Main thread only.
 */
#ifndef AGENTLINE_APIINT_H
#define AGENTLINE_APIINT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

struct conf;
struct mbuf;
struct odict;
struct re_printf;
struct http_conn;
struct http_msg;
struct websock;

/* Settings read at start (limits) and the live configuration. */
struct api_state {
	struct conf *conf;            /* live, PATCH /api/config edits it */
	bool running;                 /* api_init done: actions allowed   */
	struct websock *ws;           /* libre WebSocket context          */
	uint32_t max_body;
	uint32_t max_subscribers;
	uint32_t rate_per_min;
	uint32_t subscribers;         /* open WebSockets (both kinds)     */
	uint64_t start_ms;
};

extern struct api_state api;

/* JSON answer helpers (api_route.c); each returns the status. */
/* fmt is a libre format (%m = errno text). */
uint16_t api_err(struct mbuf *mb, uint16_t status, const char *code,
		 const char *fmt, ...);
/* JSON string, escaped, with quotes ("null" for NULL). */
int  api_jstr(struct re_printf *pf, const char *s);
int  api_jstr_h(struct re_printf *pf, void *arg);    /* %H form */
/* Parse a JSON object body; on failure writes a 400 and returns it. */
uint16_t api_parse_body(struct odict **odp, struct mbuf *mb,
			const uint8_t *body, size_t len);

/* Events bus fan-out (api_events.c). */
int  api_events_init(void);
void api_events_close(void);
int  api_events_accept(struct http_conn *conn, const struct http_msg *msg);
/* Copy of an event line with DTMF digits masked (mem object). */
char *api_event_mask(const char *json);
/* Live calls seen on the bus (for GET /api/calls): arg NULL prints the
 * array of all, else the object of call id arg. */
int  api_live_json(struct re_printf *pf, void *arg);
/* ["id",...] of the live calls */
int  api_live_ids_json(struct re_printf *pf, void *arg);
bool api_live_known(const char *callid);
void api_live_set_takeover(const char *callid, bool on);
const char *api_live_direction(const char *callid);
unsigned api_live_count(void);
double api_live_age(const char *callid);
/* The id of the first live call into buf; ENOENT if none. */
int  api_live_first(char *buf, size_t sz);
/* Registrations seen on the bus. */
int  api_regs_json(struct re_printf *pf, void *arg);

/* Per-client request budget (api.c); false = over the rate. */
struct sa;
bool api_rate_take(const struct sa *peer);

/* Operator context copies (api_route.c). */
int  api_context_add(const char *callid, const char *text, bool trusted);
void api_context_clear(const char *callid);
void api_call_forget(const char *callid);
void api_route_close(void);

/* Recording and message audio (api_files.c): true if it answered. */
bool api_files_serve(struct http_conn *conn, const struct http_msg *msg,
		     const char *method, const char *path);

/* Prometheus metrics (api_metrics.c). */
int  api_metrics_init(void);
void api_metrics_close(void);
int  api_metrics_print(struct re_printf *pf, void *arg);
/* One bus event, parsed (called by api_events.c). */
void api_metrics_event(const char *name, const struct odict *od);
void api_webhook_event(const char *name, const char *json);
void api_agent_event(const char *name, const struct odict *od,
		     const char *json);

/* Agent takeover WebSocket (api_agent.c). */
int  api_agent_init(void);
void api_agent_close(void);
int  api_agent_accept(struct http_conn *conn, const struct http_msg *msg);

/* Control-centre softphone WebSocket (api_phone.c). */
int  api_phone_accept(struct http_conn *conn, const struct http_msg *msg);
void api_phone_close(void);

/* Webhooks (api_webhook.c). */
int  api_webhook_init(const struct conf *conf);
void api_webhook_close(void);
void api_webhook_stats(uint64_t *sent, uint64_t *failed, uint64_t *dropped);
/* One JSON POST to url (+ "Authorization: Bearer token" unless NULL),
 * queued and retried like the webhooks; ENOTCONN if there is no client
 * (neither event_webhook_url nor outbound_result_url set). */
int  api_webhook_post(const char *url, const char *token, const char *event,
		      const char *body);
/* Outbound task call results to outbound_result_url (api_result.c). */
int  api_result_init(const struct conf *conf);
void api_result_close(void);

/* Place a call now (POST /api/calls, agent dial, scheduler).  Writes the
 * new call id into idbuf.  sched_id != 0 reports the outcome to the
 * scheduler's record. */
int  api_dial(const char *number, const char *objective, const char *persona,
	      uint64_t sched_id, char *idbuf, size_t idsz);
int  api_sched_init(void);
void api_sched_close(void);

/* Operator actions shared by REST and the agent WebSocket. */
int  api_hangup(const char *callid);
int  api_say(const char *callid, const char *text);

#endif
