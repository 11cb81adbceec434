/*
 * ws.h  SIP over secure WebSocket (RFC 7118) towards a WebRTC gateway,
 *       on libre 1.1.0's WS/WSS client transport.
 *
 * libre connects to "wss://ADDR:PORT/" with a TLS client that verifies
 * nothing.  ws.c interposes websock_connect() (and the HTTP connection
 * hook it installs) so the connection goes to the configured host name and
 * sip_ws_path, through our own HTTP client that trusts sip_tls_ca and
 * checks the host name; an untrusted server never sees a SIP message.  It
 * also reports the connection going up and down (reg.c re-registers), and
 * sends CRLF keepalives (RFC 5626 section 4.4.1) on the open connection.
 *
 * Main thread only.
 */
#ifndef AGENTLINE_WS_H
#define AGENTLINE_WS_H

#include <stdbool.h>
#include <stdint.h>

struct sip;
struct sa;
struct dnsc;

/* The gateway's WebSocket came up (up = true, a new connection: the
 * registrations made on an older one are gone) or went down (err). */
typedef void (ws_conn_h)(bool up, int err, void *arg);

struct ws_cfg {
	const char *host;      /* sip_host: URL host and certificate name */
	const struct sa *addr; /* sip_host resolved, with the port        */
	const char *path;      /* sip_ws_path                             */
	const char *ca;        /* sip_tls_ca; NULL = system store         */
	uint32_t keepalive_secs;
};

int  ws_init(struct sip *sip, struct dnsc *dnsc, const struct ws_cfg *cfg);
void ws_close(void);
void ws_set_handler(ws_conn_h *h, void *arg);
/* Connections established so far (a registration remembers the value
 * it was made on). 0 = none yet. */
unsigned ws_generation(void);
bool ws_active(void);

#endif
