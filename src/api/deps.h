/*
 * deps.h  SIP actions the API calls (call.c, being written by the actions
 *         helper), declared as in the helpers' contract and linked
 *         weakly: until they exist those endpoints answer 503.
 */
#ifndef AGENTLINE_API_DEPS_H
#define AGENTLINE_API_DEPS_H

#include <stdbool.h>
#include <stdint.h>

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

#endif
