/*
 * call.h  One call: its SIP session, its media stream and what answers it.
 *         Root of the call's ownership tree.  Main thread only.
 */
#ifndef AGENTLINE_CALL_H
#define AGENTLINE_CALL_H

#include <stdbool.h>
#include <stdint.h>
#include "sip/ua.h"

struct sip_msg;
struct mbuf;
struct mstream;
struct mstream_cfg;
struct policy_call;

enum call_state {
	CALL_STATE_INCOMING = 0,
	CALL_STATE_OUTGOING,
	CALL_STATE_RINGING,       /* outbound: got 18x                  */
	CALL_STATE_ESTABLISHED,
	CALL_STATE_CLOSED,
};

struct call_params {
	const struct mstream_cfg *media;
	const char *app;             /* echo | playback:FILE | tone:HZ     */
	uint32_t answer_delay_ms;
	uint32_t ring_timeout_secs;
	struct policy_call *policy;  /* trust state; the call takes a ref   */
	bool dtmf_event_digits;      /* dtmf events show the key, not "*"  */
};

/* Inbound: accept an INVITE (answers 100/180/200 or refuses). */
int  call_accept(struct call **callp, const struct sip_msg *msg,
		 const struct call_params *prm, const char *cuser);
/* Outbound INVITE. */
int  call_connect(struct call **callp, const char *to_uri,
		  const char *from_name, const char *from_uri,
		  const char *cuser, const char *route,
		  void *auth_arg, const struct call_params *prm,
		  call_outcome_h *outcomeh, void *arg);

/* The control centre's softphone: a call signalled over the API
 * WebSocket, not SIP.  offer: the browser's SDP; *answerp: ours.  The
 * call runs prm->app like a SIP call, appears in call_find/foreach,
 * events (call_incoming with channel "webrtc"), the store and the API.
 * byeh is called once when the call ends from our side (agent hang_up,
 * API hangup, max duration, media failure) and also, with "remote_bye",
 * after call_hangup() for the page's own "hangup".  SIP-only actions
 * (hold, transfers) return ENOTSUP; call_send_dtmf works (RFC 4733). */
typedef void (call_local_bye_h)(const char *reason, void *arg);
int  call_accept_local(struct call **callp, struct mbuf *offer,
		       struct mbuf **answerp, const struct call_params *prm,
		       const char *caller_name, call_local_bye_h *byeh,
		       void *arg);
/* A softphone call (no SIP session)? */
bool call_is_local(const struct call *call);

/* Hang up with BYE (or CANCEL / 480 before answer). */
void call_hangup(struct call *call, const char *reason);
/* Called once when the call has ended, just before it is freed. */
typedef void (call_end_h)(struct call *call, void *arg);
void call_set_end_handler(struct call *call, call_end_h *h, void *arg);
const char *call_id(const struct call *call);
enum call_state call_state(const struct call *call);
struct mstream *call_media(struct call *call);
bool call_is_outbound(const struct call *call);

unsigned call_count(void);
/* Digit of a SIP INFO DTMF body (application/dtmf-relay or
 * application/dtmf): 0, ENOTSUP (other type) or EBADMSG. */
int  sip_info_dtmf(const struct sip_msg *msg, char *digitp);
void call_hangup_all(const char *reason);
/* Free the calls that ended but are not torn down yet (at exit). */
void call_reap_all(void);

/* What answers the call keeps its state here (a mem object the call
 * owns; replaced/freed by the next set). */
void call_set_appstate(struct call *call, void *state);
void *call_appstate(const struct call *call);

/* --- SIP actions on a live call (docs/internals/sip.md) ---
 * Main thread only. */
/* A live (not ending) call by id, or NULL. */
struct call *call_find(const char *id);
typedef void (call_apply_h)(struct call *call, void *arg);
/* Each live call; h may hang the call up. */
void call_foreach(call_apply_h *h, void *arg);
/* Queue digits (0-9 * # A-D) as RFC 4733 telephone-events on the call's
 * RTP stream.  ENOTSUP if the far end did not negotiate
 * telephone-event, ENOTCONN if not established, EINVAL bad digit,
 * EOVERFLOW queue full. */
int  call_send_dtmf(struct call *call, const char *digits);
/* Hold (re-INVITE a=sendonly, stop sending) or resume (a=sendrecv). */
int  call_hold(struct call *call, bool hold);
/* The final status of a transfer: err 0 and the 2xx of the NOTIFY
 * sipfrag, or an errno (EPERM/ENOENT/EBUSY/ETIMEDOUT/ENOTSUP/EPROTO/
 * ECONNRESET) with the SIP code if one was seen (REFER refused, sipfrag
 * final >= 300, consult leg not answered).  Never called once the call
 * has ended.  On success the call is hung up right after h. */
typedef void (call_xfer_h)(int err, uint16_t scode, void *arg);
/* REFER (Refer-To: target, Referred-By: us).  target: a SIP/tel URI or a
 * number/extension at the far end's domain.  EALREADY while one runs. */
int  call_transfer_blind(struct call *call, const char *target,
			 call_xfer_h *h, void *arg);
/* Call target (ua_connect); once it answers, REFER the far end to it
 * with Replaces naming the consult dialog. */
int  call_transfer_attended(struct call *call, const char *target,
			    call_xfer_h *h, void *arg);
/* Forget the handler of a running transfer (its requester went away). */
void call_transfer_abandon(struct call *call);
/* Take back an attended transfer whose consult leg has not been answered
 * yet (CANCEL / BYE to the target, no REFER, h not called): 0, or
 * EALREADY once the REFER is out (or for a blind transfer), ENOENT. */
int  call_transfer_cancel(struct call *call);

/* Provided by the app layer (src/pipeline/app.c): attach what answers. */
int  app_attach(struct call *call, const char *spec);
void app_detach(struct call *call);
void app_dtmf(struct call *call, char digit);

#endif
