/*
 * wrtc.h  WebRTC transport for one call's UDP socket: ICE (lite, and a
 *         minimal full ICE when we offer towards a gateway), consent
 *         freshness (RFC 7675), DTLS-SRTP (RFC 5763/5764) key derivation
 *         and the STUN/DTLS/RTP demultiplexer (RFC 7983).
 *
 * One P-256 self-signed certificate serves every DTLS session; it is made
 * by wrtc_init() at start-up.  A wrtc sits on the call's single socket
 * (rtcp-mux) as a udp_helper below the stream's own helpers; the stream
 * gets SRTP keys and the checked peer address through wrtc_estab_h and
 * learns of failure through wrtc_close_h.  See docs/internals/webrtc.md.
 *
 * Main thread only.
 */
#ifndef AGENTLINE_WRTC_H
#define AGENTLINE_WRTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <re.h>

struct wrtc;
struct wrtc_gather;

/* Make the certificate and the DTLS context (tls_alloc(TLS_METHOD_DTLS),
 * tls_set_certificate_pem, tls_set_verify_client, SRTP profiles
 * "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80").  Idempotent. */
int  wrtc_init(void);
void wrtc_close(void);
/* "sha-256 AB:CD:..." for a=fingerprint (valid after wrtc_init, else
 * NULL). */
const char *wrtc_fingerprint(void);

enum wrtc_role { WRTC_PASSIVE = 0, WRTC_ACTIVE };   /* our DTLS role */

struct wrtc_params {
	const char *lufrag, *lpwd;     /* ours (see wrtc_ice_credentials) */
	const char *rufrag, *rpwd;     /* theirs, from the SDP            */
	const char *rfp_alg;           /* "sha-256" | "sha-1"; anything
					* else: wrtc_alloc fails closed   */
	const char *rfp;               /* "AB:CD:..." from the SDP        */
	enum wrtc_role role;
	bool controlling;              /* we are the ICE offerer (full ICE,
					* towards a gateway)              */
	bool lite;                     /* true: ICE-lite (answer checks
					* only)                           */
	const struct sa *rcandv;       /* remote candidates (full ICE)    */
	size_t rcandc;
	uint32_t consent_timeout_ms;   /* 0 = 30000                       */
};

/* Result handed to the stream once DTLS is up: keys for libre srtp_alloc.
 * tx/rx are master key followed by master salt (txlen/rxlen bytes). */
struct wrtc_keys {
	enum srtp_suite suite;
	uint8_t tx[64]; size_t txlen;  /* key+salt we encrypt with        */
	uint8_t rx[64]; size_t rxlen;  /* key+salt we decrypt with        */
	struct sa peer;                /* address that passed the check;
					* send media here only            */
};

typedef void (wrtc_estab_h)(const struct wrtc_keys *keys, void *arg);
/* The session ended: err and a short reason for the log/hangup
 * ("fingerprint mismatch", "no common SRTP profile", "consent lost",
 * "dtls failed", "ice failed").  Called at most once; the wrtc may be
 * dereferenced from inside the handler. */
typedef void (wrtc_close_h)(int err, const char *reason, void *arg);
/* Media (RTP/RTCP, still SRTP-encrypted: decrypting is the stream's job)
 * from the checked peer after DTLS is up.  STUN and DTLS never reach it.
 * With rtph NULL such packets continue up the socket's helper stack
 * instead (e.g. to the stream's SRTP helper and libre's rtp socket). */
typedef void (wrtc_rtp_h)(const struct sa *src, struct mbuf *mb, void *arg);

/* Attach to the call's one UDP socket (rtcp-mux): a udp_helper (layer
 * WRTC_LAYER) demultiplexes by first byte (RFC 7983: 0-3 STUN, 20-63
 * DTLS, 128-191 RTP/RTCP); DTLS is accepted (passive) or started (active)
 * only from an address that passed a STUN check; RTP from other
 * addresses, or before DTLS is up, is dropped.  A checked peer that has
 * not completed DTLS within min(10 s, consent timeout) is "dtls failed".  us may be NULL for tests
 * and fuzzing (STUN handling only, nothing is sent).
 * Errors: EINVAL (missing credentials or fingerprint), EPROTONOSUPPORT
 * (fingerprint hash other than sha-256/sha-1: fail closed), ENOENT
 * (wrtc_init not called). */
enum { WRTC_LAYER = -20 };
int  wrtc_alloc(struct wrtc **wp, struct udp_sock *us,
		const struct wrtc_params *p, wrtc_estab_h *estabh,
		wrtc_rtp_h *rtph, wrtc_close_h *closeh, void *arg);
/* Restrict this session's SRTP profiles (OpenSSL names, colon separated),
 * e.g. to refuse AES-CM; call before DTLS starts.  Mainly for tests. */
int  wrtc_set_srtp_profiles(struct wrtc *w, const char *profiles);
/* Fresh random ICE ufrag (>= 4 chars, we use 8) and pwd (>= 22 chars, we
 * use 24), from the ICE alphabet [A-Za-z0-9+/]. */
void wrtc_ice_credentials(char *ufrag, size_t usz, char *pwd, size_t psz);

/* The verdict of one datagram's first bytes, for the fuzzer and the
 * stream (RTCP: second byte 192-223 with rtcp-mux, RFC 5761). */
enum wrtc_kind { WRTC_STUN, WRTC_DTLS, WRTC_RTP, WRTC_RTCP, WRTC_OTHER };
enum wrtc_kind wrtc_classify(const uint8_t *p, size_t n);

/* Handle one STUN datagram exactly as the socket would (fuzz entry; no
 * socket needed when w was made by wrtc_alloc with us = NULL). */
void wrtc_stun_input(struct wrtc *w, const struct sa *src, struct mbuf *mb);
/* Handle one datagram as the socket's helper would; true if consumed. */
bool wrtc_input(struct wrtc *w, struct sa *src, struct mbuf *mb);
bool wrtc_established(const struct wrtc *w);
/* The address media goes to: the first that passed a connectivity
 * check, possibly moved to the nominated one before DTLS is up (NULL
 * before any check passed). */
const struct sa *wrtc_peer(const struct wrtc *w);

/* Full-ICE candidate gathering on the stream's socket, before the offer
 * is sent towards a gateway.
 *
 * stun_urls: "stun:HOST[:PORT]" entries separated by commas or spaces
 * (port 3478 by default; HOST an IP literal or a name, resolved with a
 * blocking getaddrinfo).  A Binding request goes to each server in turn
 * (two tries, 250 ms apart) until one answers; its XOR-MAPPED-ADDRESS is
 * the server-reflexive candidate.
 *
 * turn_urls: the first usable "turn:HOST[:PORT][?transport=udp]" gets a
 * TURN allocation (libre turnc, long-term credentials turn_user and
 * turn_pass) on the same socket; its XOR-RELAYED-ADDRESS is the relayed
 * candidate.  TCP/TLS transports (turns:, ?transport=tcp) are not
 * supported and are skipped with a warning.
 *
 * gatherh is called exactly once, from the loop, after every server
 * answered or failed or timeout_ms (0 = 1500) passed: srflx/relay are
 * NULL when not obtained; err is 0 when nothing failed, else the TURN
 * error (e.g. ETIMEDOUT, EPROTO for a refusal) or ETIMEDOUT when no STUN
 * server answered.
 *
 * Lifetime: with a relay, keep the gather for the whole call (it owns
 * the allocation and refreshes it) and hand it to the call's wrtc with
 * wrtc_set_relay(); without one it may be dereferenced right after the
 * handler.  Dereference *gp to cancel (the handler is then not called). */
typedef void (wrtc_gather_h)(int err, const struct sa *srflx,
			     const struct sa *relay, void *arg);
int  wrtc_gather(struct wrtc_gather **gp, struct udp_sock *us,
		 const char *stun_urls, const char *turn_urls,
		 const char *turn_user, const char *turn_pass,
		 uint32_t timeout_ms, wrtc_gather_h *gatherh, void *arg);
/* Use the gather's TURN relay for this session (full ICE): permissions
 * for the remote candidates, checks through the relay besides the direct
 * ones, and when the relayed pair is the one that answers first, DTLS and
 * the stream's RTP go through the relay too (chosen per datagram by the
 * wrtc's helper; the stream needs no change).  Same socket as wrtc_alloc;
 * call right after it.  ENOENT when the gather has no relay. */
int  wrtc_set_relay(struct wrtc *w, struct wrtc_gather *g);

#endif
