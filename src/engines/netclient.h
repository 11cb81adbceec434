/*
 * netclient.h  Blocking HTTP/1.1 and WebSocket client for the network
 *              speech engines (worker threads only).
 *
 * One request = one connection (Connection: close): the engines make a
 * request per sentence / utterance and a WebSocket per turn, so pooling
 * would buy little and cost state.  Sockets are non-blocking underneath
 * and every wait is a poll() bounded by three timeouts: connect (TCP and
 * TLS handshake), first byte (request sent -> first response byte) and
 * total (the whole exchange).  TLS is OpenSSL with certificate and host
 * name verification against the system store or a CA file, and SNI.
 *
 * The response and frame parsers are pure (no I/O), incremental and
 * bounded, so they can be fuzzed (fuzz/fuzz_netclient.c): any input gives
 * 0 or an error, never a crash or unbounded allocation.
 *
 * Errors are positive errno values: ETIMEDOUT (a timeout fired), EBADMSG
 * (malformed response or frame), EOVERFLOW (response part over a limit),
 * EPIPE (connection closed early / truncated body), ECONNREFUSED etc.
 * from the socket, EAUTH-like TLS failures as EPROTO, ECANCELED when a
 * body handler asked to stop.  No function logs; callers decide.
 */
#ifndef AGENTLINE_NETCLIENT_H
#define AGENTLINE_NETCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct mbuf;
struct odict;
struct odict_entry;
struct pl;

enum {
	NET_HEAD_MAX  = 16384,   /* status line + headers                 */
	NET_LINE_MAX  = 256,     /* chunk-size line                        */
	NET_TRAIL_MAX = 4096,    /* chunked trailers                       */
	NET_ERRBODY   = 512,     /* kept of a non-2xx body (for messages)  */
	NET_HOST_MAX  = 256,
	NET_PATH_MAX  = 2048,
};

/* Timeouts in ms (0 = default: 3000 / 5000 / 30000) and TLS trust. */
struct net_opts {
	uint32_t connect_ms;
	uint32_t first_byte_ms;
	uint32_t total_ms;
	unsigned retries;        /* extra attempts on connect failure/5xx */
	const char *ca_file;     /* PEM bundle; NULL/"" = system store     */
};

struct net_url {
	bool tls;                /* https:// or wss://                     */
	bool ws;                 /* ws:// or wss://                        */
	char host[NET_HOST_MAX]; /* without brackets for IPv6              */
	uint16_t port;
	char path[NET_PATH_MAX]; /* path + query, at least "/"             */
};

/* Timeouts, retries and CA file from the net_* keys; total_key names
 * the engine's total timeout (stt_timeout_ms, tts_timeout_ms).  The
 * CA path points into conf, which must outlive the options. */
void net_opts_conf(struct net_opts *o, const struct conf *conf,
		   const char *total_key);
/* Start-up check shared by the engines: a key is required when the URL
 * is the public cloud default.  Logs and returns EINVAL naming the
 * setting; also rejects a malformed URL. */
int  net_check_setup(const struct conf *conf, const char *module,
		     const char *url_key, const char *key_key,
		     const char *cloud_host, bool ws);
/* Replace every occurrence of secret in s by "***" (before logging
 * text that came from a server). */
void net_scrub(char *s, const char *secret);

/* Parse base ("https://host[:port][/prefix]") and append path ("/v1/..",
 * may carry a query).  Accepts http, https, ws, wss.  Returns EINVAL. */
int net_url_parse(struct net_url *u, const char *base, const char *path);

/* Called with response body bytes of a 2xx response as they arrive
 * (decoded from chunked).  Return true to stop (ECANCELED). */
typedef bool (net_body_h)(const uint8_t *p, size_t n, void *arg);

/* ------------------------------------------------ response parser */

enum http_pstate {
	HP_HEAD = 0, HP_BODY_LEN, HP_BODY_CLOSE, HP_CHUNK_SIZE,
	HP_CHUNK_DATA, HP_CHUNK_CRLF, HP_TRAILER, HP_DONE,
};

/* Embedded by callers (stack or session), no allocation. */
struct http_parser {
	enum http_pstate state;
	bool no_body;            /* HEAD request                           */
	int status;
	char head[NET_HEAD_MAX]; /* status line + headers, NUL-terminated  */
	size_t hlen;
	size_t line_len;         /* bytes in the current header line       */
	char line[NET_LINE_MAX];
	size_t llen;
	size_t trail_len;
	unsigned crlf;           /* CR/LF bytes seen after chunk data      */
	uint64_t remain;         /* body or chunk bytes still to come      */
	uint64_t body_total;
};

void http_parser_init(struct http_parser *p, bool head_request);
/* Feed received bytes; *usedp (may be NULL) gets how many were consumed
 * (less than len only once the response is complete).  bodyh may be
 * NULL.  Returns 0, EBADMSG, EOVERFLOW or ECANCELED. */
int  http_parser_feed(struct http_parser *p, const uint8_t *buf,
		      size_t len, size_t *usedp, net_body_h *bodyh,
		      void *arg);
/* The peer closed the connection: 0 if the response is complete
 * (or delimited by close), EPIPE if truncated. */
int  http_parser_eof(struct http_parser *p);
bool http_parser_done(const struct http_parser *p);
/* Value of a response header (case-insensitive name, first match). */
bool http_parser_header(const struct http_parser *p, const char *name,
			struct pl *val);

/* ------------------------------------------------------ HTTP client */

struct net_req {
	const char *method;      /* "POST"                                 */
	const char *url;         /* full URL                               */
	const char *headers;     /* extra lines, each ending in \r\n       */
	const char *ctype;       /* Content-Type of body, or NULL          */
	const void *body;
	size_t len;
};

struct net_resp {
	int status;              /* 0 if no response                       */
	char ctype[96];
	char err[NET_ERRBODY];   /* start of a non-2xx body, printable     */
	bool delivered;          /* bodyh was called at least once         */
	unsigned attempts;
};

/* One request, retried (opts->retries) on connect failure or a 5xx
 * status before any body byte was delivered.  Returns 0 when a complete
 * response arrived (check resp->status; bodyh only sees 2xx bodies). */
int net_http(const struct net_opts *opts, const struct net_req *req,
	     struct net_resp *resp, net_body_h *bodyh, void *arg);

/* multipart/form-data: boundary is written into buf (>= 40 bytes). */
void net_multipart_boundary(char *buf, size_t sz);
int  net_multipart_field(struct mbuf *mb, const char *boundary,
			 const char *name, const char *filename,
			 const char *ctype, const void *p, size_t n);
int  net_multipart_end(struct mbuf *mb, const char *boundary);

/* -------------------------------------------------------- WebSocket */

enum ws_opcode {
	WS_CONT = 0x0, WS_TEXT = 0x1, WS_BINARY = 0x2,
	WS_CLOSE = 0x8, WS_PING = 0x9, WS_PONG = 0xa,
};

/* A complete message (fragments joined) or control frame. */
typedef int (ws_msg_h)(enum ws_opcode op, const uint8_t *p, size_t n,
		       void *arg);

struct ws_parser {
	unsigned state;
	uint8_t hdr[14];
	size_t hlen, hneed;
	bool fin;
	uint8_t opcode;
	uint64_t plen, pgot;
	uint8_t ctl[125];
	uint8_t *msg;            /* mem object, grows up to msg_max        */
	size_t msg_len, msg_cap, msg_max;
	uint8_t msg_op;          /* opcode of the message being joined     */
};

void ws_parser_init(struct ws_parser *p, size_t max_msg);
void ws_parser_reset(struct ws_parser *p);   /* frees the buffer */
/* Server-to-client frames: unmasked, RSV 0, known opcodes, control
 * frames unfragmented and <= 125 bytes.  Returns 0, EBADMSG, EOVERFLOW
 * or the first non-zero value returned by h. */
int  ws_parser_feed(struct ws_parser *p, const uint8_t *buf, size_t len,
		    ws_msg_h *h, void *arg);

struct ws_conn;

/* Connect and handshake (101 + Sec-WebSocket-Accept check).  headers:
 * extra lines ending in \r\n.  On a refused upgrade *statusp (may be
 * NULL) gets the HTTP status and EPROTO is returned. */
int  ws_connect(struct ws_conn **wsp, const char *url, const char *headers,
		const struct net_opts *opts, int *statusp);
/* One masked frame (text or binary or close). */
int  ws_send(struct ws_conn *ws, enum ws_opcode op, const void *p,
	     size_t n);
/* Wait up to wait_ms for data and hand complete messages to h (pings
 * are answered here, pongs dropped).  Returns 0 if something was read,
 * ETIMEDOUT if nothing arrived, ENOTCONN after the peer's close frame
 * (see ws_close_code) or EPIPE/ECONNRESET when the socket ended. */
int  ws_poll(struct ws_conn *ws, uint32_t wait_ms, ws_msg_h *h, void *arg);
bool ws_closed(const struct ws_conn *ws);
uint16_t ws_close_code(const struct ws_conn *ws);

/* Detail of the last error on this thread ("certificate verify failed",
 * "bad chunk size", ...), "" if none; never contains header values. */
const char *net_last_error(void);

/* ----------------------------------------------------------- JSON */

/* Decode a JSON document (bounded: len <= 256 KiB, depth 16). */
int net_json_decode(struct odict **op, const char *p, size_t len);
/* Walk "a.b.0.c" through objects and arrays; NULL if absent. */
const struct odict_entry *net_json_path(const struct odict *o,
					const char *path);
/* String at path, or NULL. */
const char *net_json_str(const struct odict *o, const char *path);

/* ------------------------------------------- PCM body -> 16 kHz audio */

/* Turns a byte stream of 16-bit little-endian PCM (raw at a given rate,
 * or a WAV file whose header says the rate) into 16 kHz chunks for a
 * tts_audio_h, resampling with speexdsp when needed. */
struct net_pcm;
typedef bool (net_pcm_h)(const int16_t *pcm, size_t n, void *arg);

int  net_pcm_alloc(struct net_pcm **pp, unsigned raw_rate, net_pcm_h *h,
		   void *arg);
/* Feed body bytes; true once the handler asked to stop. EBADMSG for a
 * WAV that is not 16-bit PCM mono/stereo. */
int  net_pcm_feed(struct net_pcm *pc, const uint8_t *p, size_t n,
		  bool *stopp);
/* End of body: flush the resampler. */
int  net_pcm_end(struct net_pcm *pc);
bool net_pcm_stopped(const struct net_pcm *pc);
uint64_t net_pcm_samples_out(const struct net_pcm *pc);

/* WAV (RIFF, PCM16 mono) header for n samples at rate into hdr[44]. */
void net_wav_header(uint8_t hdr[44], uint32_t rate, uint32_t samples);

#endif
