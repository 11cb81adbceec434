/*
 * deps.h  Functions of other modules (actions, store, brain context,
 *         agent) that the API calls, declared as in the helpers'
 *         contract and linked weakly: an endpoint whose module is not
 *         linked answers 503 instead of failing the build.
 */
#ifndef AGENTLINE_API_DEPS_H
#define AGENTLINE_API_DEPS_H

#include <stdbool.h>
#include <stdint.h>
#include "brain/brain.h"

struct call;
struct mbuf;

/* src/sip/call.h (actions) */
struct call *call_find(const char *id);
typedef void (call_apply_h)(struct call *call, void *arg);
void call_foreach(call_apply_h *h, void *arg);
int  call_send_dtmf(struct call *call, const char *digits);
typedef void (call_xfer_h)(int err, uint16_t scode, void *arg);
int  call_transfer_blind(struct call *call, const char *target,
			 call_xfer_h *h, void *arg);
#pragma weak call_find
#pragma weak call_foreach
#pragma weak call_send_dtmf
#pragma weak call_transfer_blind

/* src/store/store.h (store) */
int  store_messages_json(struct mbuf *mb, unsigned offset, unsigned limit);
int  store_message_delete(uint64_t id);
int  store_calls_json(struct mbuf *mb, unsigned offset, unsigned limit);
int  store_call_json(struct mbuf *mb, const char *callid);
int  store_history_json(struct mbuf *mb);
int  store_history_delete(const char *key);
int  store_setting_get(const char *key, char **valp);
int  store_setting_put(const char *key, const char *val);
int  store_sched_add(const char *json, uint64_t at_unix, uint64_t *idp);
int  store_sched_json(struct mbuf *mb);
int  store_sched_cancel(uint64_t id);
typedef void (store_sched_h)(uint64_t id, const char *json, void *arg);
int  store_sched_due(uint64_t now_unix, store_sched_h *h, void *arg);
int  store_sched_done(uint64_t id, const char *outcome);
#pragma weak store_messages_json
#pragma weak store_message_delete
#pragma weak store_calls_json
#pragma weak store_call_json
#pragma weak store_history_json
#pragma weak store_history_delete
#pragma weak store_setting_get
#pragma weak store_setting_put
#pragma weak store_sched_add
#pragma weak store_sched_json
#pragma weak store_sched_cancel
#pragma weak store_sched_due
#pragma weak store_sched_done

/* src/brain (llm: context.c) */
#pragma weak brain_instructions_set
#pragma weak brain_instructions_take
#pragma weak brain_context_add
#pragma weak brain_context_clear

/* src/pipeline/app.c */
int  app_say(struct call *call, const char *text);
#pragma weak app_say

#endif
