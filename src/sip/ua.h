/*
 * ua.h  The SIP user agent: transports (UDP/TCP/TLS with server certificate
 *       verification), registrations, inbound admission (allow-list,
 *       max_calls, drain), OPTIONS, and outbound calls.  Built on libre's
 *       sip/sipsess/sipreg; no SIP parsing of our own.
 *
 * Main thread only.
 */
#ifndef AGENTLINE_UA_H
#define AGENTLINE_UA_H

#include <stdbool.h>
#include <stdint.h>

struct conf;
struct call;

enum call_outcome {
	CALL_OUTCOME_ANSWERED = 0,
	CALL_OUTCOME_BUSY,
	CALL_OUTCOME_NO_ANSWER,
	CALL_OUTCOME_DECLINED,
	CALL_OUTCOME_FAILED,
};

/* Final outcome of an outbound call attempt (once per call). */
typedef void (call_outcome_h)(struct call *call, enum call_outcome outcome,
			      uint16_t scode, void *arg);
/* A call ended (inbound or outbound); the call is freed after this. */
typedef void (ua_exit_h)(void *arg);

int  ua_init(const struct conf *conf);
void ua_close(void);
/* Graceful drain: 503 for new INVITEs, unregister, BYE calls after
 * drain_secs; exith is called once everything is done. */
void ua_shutdown(ua_exit_h *exith, void *arg);
/* Print listening addresses and how to call us (for `run`). */
void ua_print_banner(void);

/* Place a call to a SIP URI (or a bare extension/number when an account
 * is registered: it is dialled through the PBX). account 0 = first. */
int  ua_connect(struct call **callp, const char *uri, unsigned account,
		call_outcome_h *outcomeh, void *arg);
const char *call_outcome_name(enum call_outcome o);

/* internal, for call.c and reg.c */
struct sip *ua_sip(void);
struct sipsess_sock *ua_sessock(void);

#endif
