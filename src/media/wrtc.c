/*
 * wrtc.c  WebRTC transport: ICE-lite and minimal full ICE on libre's STUN
 *         codec, consent freshness, DTLS-SRTP on libre's dtls_* and the
 *         RFC 7983 demultiplexer.  See wrtc.h and docs/internals/webrtc.md.
 *
 * Main thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/bn.h>
#include <re.h>
#include "core/log.h"
#include "media/wrtc.h"

#define MOD "wrtc"

enum {
	CONSENT_DEFAULT_MS = 30000,
	CHECK_PACE_MS      = 50,     /* full ICE: checks until one answers */
	CONSENT_EVERY_MS   = 5000,   /* RFC 7675: about every 5 s          */
	DTLS_TIMEOUT_MS    = 10000,  /* checked peer, no handshake yet     */
	MAX_CAND           = 8,
	CONSENT_PEND       = 4,      /* consent checks awaiting an answer  */
	MAX_CHECKED        = 4,      /* addresses that passed a check      */
	FP_MAX             = 32,
	DTLS_LAYER         = WRTC_LAYER + 5,  /* above us: we filter first */
	GATHER_LAYER       = WRTC_LAYER - 12, /* sees STUN before turnc */
	TURN_LAYER         = WRTC_LAYER - 10, /* unwraps before us      */
	MARK_LAYER         = WRTC_LAYER - 15, /* sees the TURN server   */
	RELAY_HEADROOM     = 64,     /* room for turnc's Send indication   */
	GATHER_MAX_SRV     = 4,
	GATHER_DEFAULT_MS  = 1500,
	GATHER_RETX_MS     = 250,
};

static const char srtp_profiles[] =
	"SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";

static struct {
	struct tls *tls;
	char *cert_pem;
	char *key_pem;
	char fp[8 + 3 * FP_MAX + 1];
} g;

struct pend {
	uint8_t tid[STUN_TID_SIZE];
	struct sa dst;
	bool relay;                 /* sent through our TURN allocation  */
	bool used;
};

struct checked {
	struct sa addr;
	bool relay;
};

struct wrtc {
	struct udp_sock *us;
	struct udp_helper *uh;
	struct dtls_sock *ds;
	struct tls_conn *tc;
	struct tls *tls;
	char *lufrag, *lpwd, *rufrag, *rpwd;
	char *user_in;              /* USERNAME expected in their checks */
	char *user_out;             /* USERNAME in our checks            */
	uint8_t rfp[FP_MAX];
	size_t rfplen;
	enum tls_fingerprint rfpt;
	enum wrtc_role role;
	bool controlling, lite;
	size_t rcandc;              /* remote candidates: pendv[0..rcandc) */
	uint32_t consent_ms;
	uint64_t tiebreak;

	struct sa peer;             /* first address that passed a check */
	bool peer_relay;            /* ... through our TURN relay         */
	bool rx_relay;              /* datagram in hand came via the relay */
	struct wrtc_gather *relay;  /* TURN allocation (wrtc_set_relay)   */
	struct checked chkv[MAX_CHECKED];  /* the peer may move among
					    * these until DTLS is up      */
	size_t chkc;
	bool checked;
	bool up;
	bool closed;
	/* one transaction per candidate (direct, then through the relay),
	 * retransmitted every 50 ms until answered (a slow answer still
	 * matches); then a small ring for consent checks */
	struct pend pendv[2 * MAX_CAND + CONSENT_PEND];
	size_t pendi;
	struct tmr tmr_check;
	struct tmr tmr_consent;
	struct tmr tmr_dtls;

	wrtc_estab_h *estabh;
	wrtc_rtp_h *rtph;
	wrtc_close_h *closeh;
	void *arg;
};


/* --- certificate --- */

static int pem_of(char **outp, int (*wr)(BIO *, void *), void *obj)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int err = ENOMEM;

	if (!bio)
		return ENOMEM;
	if (1 != wr(bio, obj))
		goto out;
	n = BIO_get_mem_data(bio, &p);
	if (n <= 0)
		goto out;
	*outp = mem_alloc((size_t)n + 1, NULL);
	if (!*outp)
		goto out;
	memcpy(*outp, p, (size_t)n);
	(*outp)[n] = '\0';
	err = 0;
 out:
	BIO_free(bio);
	return err;
}


static int write_cert(BIO *bio, void *obj)
{
	return PEM_write_bio_X509(bio, obj);
}


static int write_key(BIO *bio, void *obj)
{
	return PEM_write_bio_PrivateKey(bio, obj, NULL, NULL, 0, NULL, NULL);
}


/* A fresh P-256 self-signed certificate (Debian's OpenSSL 3 refuses
 * libre's 1024-bit RSA one: WEBRTC.md gotcha 1). */
static int cert_make(char **certp, char **keyp)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	BIGNUM *bn = NULL;
	int err = ENOMEM;

	pkey = EVP_EC_gen("P-256");
	x = X509_new();
	bn = BN_new();
	if (!pkey || !x || !bn)
		goto out;

	if (1 != X509_set_version(x, 2) ||
	    1 != BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -86400L) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400L) ||
	    1 != X509_set_pubkey(x, pkey))
		goto out;

	name = X509_get_subject_name(x);
	if (1 != X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					    (const unsigned char *)"agentline",
					    -1, -1, 0) ||
	    1 != X509_set_issuer_name(x, name) ||
	    0 == X509_sign(x, pkey, EVP_sha256()))
		goto out;

	err = pem_of(certp, write_cert, x);
	if (!err)
		err = pem_of(keyp, write_key, pkey);
 out:
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return err;
}


static int tls_make(struct tls **tlsp, const char *profiles)
{
	struct tls *tls;
	int err;

	err = tls_alloc(&tls, TLS_METHOD_DTLS, NULL, NULL);
	if (err)
		return err;
	err = tls_set_certificate_pem(tls, g.cert_pem, strlen(g.cert_pem),
				      g.key_pem, strlen(g.key_pem));
	if (err)
		goto out;
	/* without it browsers send no certificate (gotcha 2) */
	tls_set_verify_client(tls);
	err = tls_set_srtp(tls, profiles);
 out:
	if (err)
		mem_deref(tls);
	else
		*tlsp = tls;
	return err;
}


int wrtc_init(void)
{
	uint8_t md[32];
	char *p;
	int err;

	if (g.tls)
		return 0;

	err = cert_make(&g.cert_pem, &g.key_pem);
	if (err)
		goto out;
	err = tls_make(&g.tls, srtp_profiles);
	if (err)
		goto out;
	err = tls_fingerprint(g.tls, TLS_FINGERPRINT_SHA256, md, sizeof(md));
	if (err)
		goto out;

	p = g.fp + re_snprintf(g.fp, sizeof(g.fp), "sha-256 ");
	for (size_t i = 0; i < sizeof(md); i++)
		p += re_snprintf(p, 4, "%s%02X", i ? ":" : "", md[i]);
 out:
	if (err) {
		log_error(MOD, NULL, "cannot make the DTLS certificate: %m",
			  err);
		wrtc_close();
	}
	return err;
}


void wrtc_close(void)
{
	g.tls = mem_deref(g.tls);
	if (g.key_pem)
		memset(g.key_pem, 0, strlen(g.key_pem));
	g.key_pem = mem_deref(g.key_pem);
	g.cert_pem = mem_deref(g.cert_pem);
	g.fp[0] = '\0';
}


const char *wrtc_fingerprint(void)
{
	return g.tls ? g.fp : NULL;
}


void wrtc_ice_credentials(char *ufrag, size_t usz, char *pwd, size_t psz)
{
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789+/";
	uint8_t r[32];
	size_t i;

	rand_bytes(r, sizeof(r));
	for (i = 0; ufrag && usz && i < 8 && i < usz - 1; i++)
		ufrag[i] = alpha[r[i] & 63];
	if (ufrag && usz)
		ufrag[i] = '\0';
	for (i = 0; pwd && psz && i < 24 && i < psz - 1; i++)
		pwd[i] = alpha[r[8 + i] & 63];
	if (pwd && psz)
		pwd[i] = '\0';
}


/* --- demultiplexer --- */

enum wrtc_kind wrtc_classify(const uint8_t *p, size_t n)
{
	if (!p || n < 1)
		return WRTC_OTHER;

	if (p[0] <= 3)
		return n >= STUN_HEADER_SIZE ? WRTC_STUN : WRTC_OTHER;
	if (p[0] >= 20 && p[0] <= 63)
		return WRTC_DTLS;
	if (p[0] >= 128 && p[0] <= 191) {
		if (n < 2)
			return WRTC_OTHER;
		/* rtcp-mux: RTCP packet types 192-223 (RFC 5761) */
		if (p[1] >= 192 && p[1] <= 223)
			return WRTC_RTCP;
		return n >= 12 ? WRTC_RTP : WRTC_OTHER;
	}
	return WRTC_OTHER;
}


/* --- session --- */

static bool relay_marked(const struct wrtc_gather *gt);

static void fail(struct wrtc *w, int err, const char *reason)
{
	wrtc_close_h *closeh = w->closeh;

	if (w->closed)
		return;
	w->closed = true;
	w->up = false;
	tmr_cancel(&w->tmr_check);
	tmr_cancel(&w->tmr_consent);
	tmr_cancel(&w->tmr_dtls);
	/* safe inside libre's DTLS callbacks: they return right after
	 * calling us (or hold their own reference across estabh) */
	w->tc = mem_deref(w->tc);

	/* the stream logs it with the call id */
	log_debug(MOD, NULL, "WebRTC transport closed: %s (%m)", reason, err);
	w->closeh = NULL;
	if (closeh)
		closeh(err, reason, w->arg);
}


static void consent_timeout(void *arg)
{
	struct wrtc *w = arg;

	fail(w, ETIMEDOUT, w->checked ? "consent lost" : "ice failed");
}


/* OpenSSL's own retransmissions give up only after a minute or more:
 * a peer that passes checks but never completes DTLS ends sooner. */
static void dtls_timeout(void *arg)
{
	struct wrtc *w = arg;

	if (!w->up)
		fail(w, ETIMEDOUT, "dtls failed");
}


static void consent_refresh(struct wrtc *w)
{
	tmr_start(&w->tmr_consent, w->consent_ms, consent_timeout, w);
}


/* libre's turnc (below us) wraps a datagram into a Send indication when
 * it has room in front for one and sends it raw otherwise: the headroom
 * is how we pick the route. */
static int headroom_set(struct mbuf *mb, size_t want)
{
	size_t left = mbuf_get_left(mb);
	int err;

	if (mb->pos == want)
		return 0;
	if (want + left > mb->size) {
		err = mbuf_resize(mb, want + left);
		if (err)
			return err;
	}
	memmove(mb->buf + want, mb->buf + mb->pos, left);
	mb->pos = want;
	mb->end = want + left;
	return 0;
}


static int send_raw(struct wrtc *w, const struct sa *dst, struct mbuf *mb,
		    bool relay)
{
	int err;

	if (!w->us)
		return ENOTCONN;
	err = headroom_set(mb, relay ? RELAY_HEADROOM : 0);
	if (err)
		return err;
	/* below our own helper and the stream's SRTP helper above it */
	return udp_send_helper(w->us, dst, mb, w->uh);
}


/* Everything sent on the socket above us (DTLS, the stream's RTP):
 * through the relay exactly when the peer was reached through it. */
static bool helper_send(int *err, struct sa *dst, struct mbuf *mb, void *arg)
{
	struct wrtc *w = arg;
	bool relay;

	if (!w->relay)
		return false;
	relay = w->checked && w->peer_relay && sa_cmp(dst, &w->peer, SA_ALL);
	if (relay || mb->pos >= 4)
		*err = headroom_set(mb, relay ? RELAY_HEADROOM : 0);
	return false;
}


static void check_send(struct wrtc *w, struct pend *pe)
{
	/* peer-reflexive priority (RFC 8445 5.1.2): type 110, comp 1 */
	const uint32_t prio = (110u << 24) | (65535u << 8) | 255u;
	const struct sa *dst = &pe->dst;
	struct mbuf *mb;
	int err;

	mb = mbuf_alloc(256);
	if (!mb)
		return;
	err = stun_msg_encode(mb, STUN_METHOD_BINDING, STUN_CLASS_REQUEST,
			      pe->tid, NULL, (const uint8_t *)w->rpwd,
			      strlen(w->rpwd), true, 0x00, 5,
			      STUN_ATTR_USERNAME, w->user_out,
			      STUN_ATTR_PRIORITY, &prio,
			      STUN_ATTR_CONTROLLING,
			      w->controlling ? &w->tiebreak : NULL,
			      STUN_ATTR_CONTROLLED,
			      w->controlling ? NULL : &w->tiebreak,
			      STUN_ATTR_USE_CAND,
			      w->controlling ? &w->tiebreak : NULL);
	if (!err) {
		mb->pos = 0;
		err = send_raw(w, dst, mb, pe->relay);
	}
	if (err)
		log_debug(MOD, NULL, "ICE check to %J: %m", dst, err);
	mem_deref(mb);
}


static void check_timer(void *arg)
{
	struct wrtc *w = arg;
	struct pend *pe;
	uint32_t every;

	if (!w->checked) {
		for (size_t i = 0; i < w->rcandc; i++) {
			check_send(w, &w->pendv[i]);
			if (w->relay)
				check_send(w, &w->pendv[MAX_CAND + i]);
		}
		tmr_start(&w->tmr_check, CHECK_PACE_MS, check_timer, w);
		return;
	}

	/* consent freshness: three tries per timeout, at most every 5 s */
	pe = &w->pendv[2 * MAX_CAND + w->pendi];
	w->pendi = (w->pendi + 1) % CONSENT_PEND;
	rand_bytes(pe->tid, sizeof(pe->tid));
	pe->dst = w->peer;
	pe->relay = w->peer_relay;
	pe->used = true;
	check_send(w, pe);
	every = w->consent_ms / 3;
	if (every > CONSENT_EVERY_MS)
		every = CONSENT_EVERY_MS;
	if (every < CHECK_PACE_MS)
		every = CHECK_PACE_MS;
	tmr_start(&w->tmr_check, every, check_timer, w);
}


static void dtls_estab_handler(void *arg)
{
	struct wrtc *w = arg;
	uint8_t md[FP_MAX], cli[64], srv[64];
	struct wrtc_keys keys;
	size_t klen;
	int err;

	err = tls_peer_fingerprint(w->tc, w->rfpt, md, w->rfplen);
	if (err || memcmp(md, w->rfp, w->rfplen)) {
		fail(w, EACCES, "fingerprint mismatch");
		return;
	}

	memset(&keys, 0, sizeof(keys));
	/* DTLS completes without a shared profile (gotcha 3) */
	err = tls_srtp_keyinfo(w->tc, &keys.suite, cli, sizeof(cli),
			       srv, sizeof(srv));
	if (err) {
		fail(w, EPROTO, "no common SRTP profile");
		return;
	}
	switch (keys.suite) {

	case SRTP_AES_CM_128_HMAC_SHA1_80:
	case SRTP_AES_CM_128_HMAC_SHA1_32: klen = 16 + 14; break;
	case SRTP_AES_256_CM_HMAC_SHA1_80:
	case SRTP_AES_256_CM_HMAC_SHA1_32: klen = 32 + 14; break;
	case SRTP_AES_128_GCM:             klen = 16 + 12; break;
	case SRTP_AES_256_GCM:             klen = 32 + 12; break;
	default:
		fail(w, EPROTO, "no common SRTP profile");
		return;
	}

	/* the DTLS client encrypts with the client key */
	memcpy(keys.tx, w->role == WRTC_ACTIVE ? cli : srv, klen);
	memcpy(keys.rx, w->role == WRTC_ACTIVE ? srv : cli, klen);
	keys.txlen = keys.rxlen = klen;
	keys.peer = w->peer;
	memset(cli, 0, sizeof(cli));
	memset(srv, 0, sizeof(srv));

	w->up = true;
	tmr_cancel(&w->tmr_dtls);
	log_debug(MOD, NULL, "DTLS-SRTP up with %J (%s)", &w->peer,
		 srtp_suite_name(keys.suite));
	if (w->estabh)
		w->estabh(&keys, w->arg);
	memset(&keys, 0, sizeof(keys));
}


static void dtls_recv_handler(struct mbuf *mb, void *arg)
{
	(void)mb;
	(void)arg;
	/* data channels are not offered: application data is dropped */
}


static void dtls_close_handler(int err, void *arg)
{
	struct wrtc *w = arg;

	fail(w, err ? err : ECONNRESET, "dtls failed");
}


static void dtls_conn_handler(const struct sa *peer, void *arg)
{
	struct wrtc *w = arg;
	int err;

	/* libre reports any sender: only the checked peer (gotcha 4) */
	if (w->closed || w->role != WRTC_PASSIVE || w->tc || !w->checked ||
	    !sa_cmp(peer, &w->peer, SA_ALL)) {
		log_debug(MOD, NULL, "DTLS from %J ignored", peer);
		return;
	}

	err = dtls_accept(&w->tc, w->tls, w->ds, dtls_estab_handler,
			  dtls_recv_handler, dtls_close_handler, w);
	if (err)
		fail(w, err, "dtls failed");
}


static void peer_checked(struct wrtc *w, const struct sa *src)
{
	int err;

	w->checked = true;
	w->peer = *src;
	w->peer_relay = w->rx_relay;
	log_debug(MOD, NULL, "ICE: %J passed the check%s", src,
		  w->peer_relay ? " (through the TURN relay)" : "");
	consent_refresh(w);
	tmr_start(&w->tmr_dtls, min(w->consent_ms, (uint32_t)DTLS_TIMEOUT_MS),
		  dtls_timeout, w);

	if (!w->lite) {
		tmr_cancel(&w->tmr_check);
		check_timer(w);
	}

	if (w->role == WRTC_ACTIVE && w->ds && !w->tc) {
		err = dtls_connect(&w->tc, w->tls, w->ds, &w->peer,
				   dtls_estab_handler, dtls_recv_handler,
				   dtls_close_handler, w);
		if (err)
			fail(w, err, "dtls failed");
	}
}


static bool checked_has(const struct wrtc *w, const struct sa *a, bool relay)
{
	for (size_t i = 0; i < w->chkc; i++) {
		if (w->chkv[i].relay == relay &&
		    sa_cmp(&w->chkv[i].addr, a, SA_ALL))
			return true;
	}
	return false;
}


static void checked_add(struct wrtc *w, const struct sa *a)
{
	if (checked_has(w, a, w->rx_relay) || w->chkc >= MAX_CHECKED)
		return;
	w->chkv[w->chkc].addr = *a;
	w->chkv[w->chkc].relay = w->rx_relay;
	++w->chkc;
}


/* Until DTLS is up the peer may move to another address that passed a
 * check: the one the remote nominates (USE-CANDIDATE) or the one its
 * DTLS comes from (a controlling agent may switch its selected pair
 * before it nominates).  After that, never: the stream has keys->peer. */
static void peer_move(struct wrtc *w, const struct sa *a)
{
	if (w->up || !w->checked ||
	    (sa_cmp(a, &w->peer, SA_ALL) && w->rx_relay == w->peer_relay))
		return;
	w->peer = *a;
	w->peer_relay = w->rx_relay;
	if (w->tc)
		dtls_set_peer(w->tc, a);
	log_debug(MOD, NULL, "ICE: peer moves to %J", a);
}


static void stun_send_reply(struct wrtc *w, const struct sa *dst,
			    const struct stun_msg *req, uint16_t scode,
			    const char *reason)
{
	struct stun_errcode ec = {scode, (char *)reason};
	struct mbuf *mb = mbuf_alloc(128);
	int err;

	if (!mb)
		return;
	err = stun_msg_encode(mb, STUN_METHOD_BINDING,
			      scode ? STUN_CLASS_ERROR_RESP :
			      STUN_CLASS_SUCCESS_RESP,
			      stun_msg_tid(req), scode ? &ec : NULL,
			      scode == 401 ? NULL : (const uint8_t *)w->lpwd,
			      scode == 401 ? 0 : strlen(w->lpwd), true, 0x00,
			      1, STUN_ATTR_XOR_MAPPED_ADDR,
			      scode ? NULL : dst);
	if (!err) {
		mb->pos = 0;
		(void)send_raw(w, dst, mb, w->rx_relay);
	}
	mem_deref(mb);
}


static void stun_request_input(struct wrtc *w, const struct sa *src,
			       const struct stun_msg *msg,
			       const struct stun_unknown_attr *ua)
{
	struct stun_attr *user;

	if (stun_msg_method(msg) != STUN_METHOD_BINDING)
		return;
	/* ICE checks carry FINGERPRINT (RFC 8445 7.1.1) */
	if (stun_msg_chk_fingerprint(msg))
		return;

	user = stun_msg_attr(msg, STUN_ATTR_USERNAME);
	if (!user || !user->v.username ||
	    strcmp(user->v.username, w->user_in)) {
		stun_send_reply(w, src, msg, 401, "Unauthorized");
		return;
	}
	if (stun_msg_chk_mi(msg, (const uint8_t *)w->lpwd,
			    strlen(w->lpwd))) {
		stun_send_reply(w, src, msg, 401, "Unauthorized");
		return;
	}
	if (ua->typec) {
		stun_send_reply(w, src, msg, 420, "Unknown Attribute");
		return;
	}

	stun_send_reply(w, src, msg, 0, NULL);

	checked_add(w, src);
	if (w->checked) {
		if (!w->controlling && stun_msg_attr(msg, STUN_ATTR_USE_CAND))
			peer_move(w, src);
		if (w->lite && sa_cmp(src, &w->peer, SA_ALL) &&
		    w->rx_relay == w->peer_relay)
			consent_refresh(w);
	}
	else {
		/* last: it may end in closeh, which may free w */
		peer_checked(w, src);
	}
}


static void stun_response_input(struct wrtc *w, const struct sa *src,
				const struct stun_msg *msg)
{
	struct pend *pe = NULL;

	if (stun_msg_method(msg) != STUN_METHOD_BINDING)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(w->pendv); i++) {
		if (w->pendv[i].used &&
		    !memcmp(w->pendv[i].tid, stun_msg_tid(msg),
			    STUN_TID_SIZE)) {
			pe = &w->pendv[i];
			break;
		}
	}
	/* symmetric: the answer comes from where the check went, the way
	 * it went */
	if (!pe || !sa_cmp(&pe->dst, src, SA_ALL) || pe->relay != w->rx_relay)
		return;
	if (stun_msg_chk_fingerprint(msg) ||
	    stun_msg_chk_mi(msg, (const uint8_t *)w->rpwd, strlen(w->rpwd)))
		return;
	if (stun_msg_class(msg) != STUN_CLASS_SUCCESS_RESP)
		return;

	checked_add(w, src);
	if (!w->checked)
		peer_checked(w, src);
	else if (sa_cmp(src, &w->peer, SA_ALL) && pe->relay == w->peer_relay)
		consent_refresh(w);
}


void wrtc_stun_input(struct wrtc *w, const struct sa *src, struct mbuf *mb)
{
	struct stun_unknown_attr ua;
	struct stun_msg *msg = NULL;
	size_t pos;

	if (!w || !src || !mb || w->closed)
		return;

	pos = mb->pos;
	if (stun_msg_decode(&msg, mb, &ua) || !stun_msg_mcookie(msg))
		goto out;

	switch (stun_msg_class(msg)) {

	case STUN_CLASS_REQUEST:
		stun_request_input(w, src, msg, &ua);
		break;

	case STUN_CLASS_SUCCESS_RESP:
	case STUN_CLASS_ERROR_RESP:
		if (!w->lite)
			stun_response_input(w, src, msg);
		break;

	default:
		break;   /* indications (keepalives) */
	}
 out:
	mem_deref(msg);
	mb->pos = pos;
}


bool wrtc_input(struct wrtc *w, struct sa *src, struct mbuf *mb)
{
	enum wrtc_kind kind;
	bool from_peer;

	if (!w || !src || !mb)
		return false;

	kind = wrtc_classify(mbuf_buf(mb), mbuf_get_left(mb));
	w->rx_relay = relay_marked(w->relay);
	from_peer = w->checked && sa_cmp(src, &w->peer, SA_ALL) &&
		w->rx_relay == w->peer_relay;

	switch (kind) {

	case WRTC_STUN:
		wrtc_stun_input(w, src, mb);
		return true;

	case WRTC_DTLS:
		/* on to libre's DTLS helper above us, from the peer only */
		if (!from_peer && !w->closed && !w->up &&
		    checked_has(w, src, w->rx_relay)) {
			peer_move(w, src);
			from_peer = true;
		}
		return w->closed || !from_peer;

	case WRTC_RTP:
	case WRTC_RTCP:
		if (w->closed || !w->up || !from_peer)
			return true;
		if (!w->rtph)
			return false;
		w->rtph(src, mb, w->arg);
		return true;

	default:
		return true;
	}
}


static bool helper_recv(struct sa *src, struct mbuf *mb, void *arg)
{
	return wrtc_input(arg, src, mb);
}


static void destructor(void *arg)
{
	struct wrtc *w = arg;

	tmr_cancel(&w->tmr_check);
	tmr_cancel(&w->tmr_consent);
	tmr_cancel(&w->tmr_dtls);
	mem_deref(w->tc);
	mem_deref(w->ds);
	mem_deref(w->uh);
	mem_deref(w->relay);
	mem_deref(w->us);
	mem_deref(w->tls);
	mem_deref(w->lufrag);
	mem_deref(w->rufrag);
	if (w->lpwd)
		memset(w->lpwd, 0, strlen(w->lpwd));
	if (w->rpwd)
		memset(w->rpwd, 0, strlen(w->rpwd));
	mem_deref(w->lpwd);
	mem_deref(w->rpwd);
	mem_deref(w->user_in);
	mem_deref(w->user_out);
}


/* "AB:CD:..." into bytes; exactly n of them. */
static int fp_decode(uint8_t *md, size_t n, const char *s)
{
	size_t i = 0;

	while (*s && i < n) {
		int hi = ch_hex(s[0]), lo;

		if (!isxdigit((unsigned char)s[0]) ||
		    !isxdigit((unsigned char)s[1]))
			return EINVAL;
		lo = ch_hex(s[1]);
		md[i++] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (*s == ':')
			++s;
		else if (*s)
			return EINVAL;
	}
	return (i == n && !*s) ? 0 : EINVAL;
}


int wrtc_alloc(struct wrtc **wp, struct udp_sock *us,
	       const struct wrtc_params *p, wrtc_estab_h *estabh,
	       wrtc_rtp_h *rtph, wrtc_close_h *closeh, void *arg)
{
	struct wrtc *w;
	int err;

	if (!wp || !p || !p->lufrag || !p->lpwd || !p->rufrag || !p->rpwd ||
	    !p->rfp_alg || !p->rfp || !*p->lufrag || !*p->lpwd ||
	    !*p->rufrag || !*p->rpwd)
		return EINVAL;
	if (!g.tls)
		return ENOENT;

	w = mem_zalloc(sizeof(*w), destructor);
	if (!w)
		return ENOMEM;

	/* fail closed on any hash we cannot compute */
	if (!str_casecmp(p->rfp_alg, "sha-256")) {
		w->rfpt = TLS_FINGERPRINT_SHA256;
		w->rfplen = 32;
	}
	else if (!str_casecmp(p->rfp_alg, "sha-1")) {
		w->rfpt = TLS_FINGERPRINT_SHA1;
		w->rfplen = 20;
	}
	else {
		err = EPROTONOSUPPORT;
		goto out;
	}
	err = fp_decode(w->rfp, w->rfplen, p->rfp);
	if (err)
		goto out;

	err  = str_dup(&w->lufrag, p->lufrag);
	err |= str_dup(&w->lpwd, p->lpwd);
	err |= str_dup(&w->rufrag, p->rufrag);
	err |= str_dup(&w->rpwd, p->rpwd);
	err |= re_sdprintf(&w->user_in, "%s:%s", p->lufrag, p->rufrag);
	err |= re_sdprintf(&w->user_out, "%s:%s", p->rufrag, p->lufrag);
	if (err) {
		err = ENOMEM;
		goto out;
	}

	w->role = p->role;
	w->controlling = p->controlling;
	w->lite = p->lite;
	w->rcandc = 0;
	for (size_t i = 0; p->rcandv && i < p->rcandc; i++) {
		if (w->rcandc >= MAX_CAND)
			break;
		if (!sa_isset(&p->rcandv[i], SA_ALL))
			continue;
		w->pendv[w->rcandc].dst = p->rcandv[i];
		w->pendv[w->rcandc].used = true;
		rand_bytes(w->pendv[w->rcandc].tid, STUN_TID_SIZE);
		++w->rcandc;
	}
	w->consent_ms = p->consent_timeout_ms ? p->consent_timeout_ms :
		CONSENT_DEFAULT_MS;
	w->tiebreak = rand_u64();
	w->tls = mem_ref(g.tls);
	w->estabh = estabh;
	w->rtph = rtph;
	w->closeh = closeh;
	w->arg = arg;
	tmr_init(&w->tmr_check);
	tmr_init(&w->tmr_consent);
	tmr_init(&w->tmr_dtls);

	if (us) {
		w->us = mem_ref(us);
		err = udp_register_helper(&w->uh, us, WRTC_LAYER, helper_send,
					  helper_recv, w);
		if (err)
			goto out;
		err = dtls_listen(&w->ds, NULL, us, 2, DTLS_LAYER,
				  dtls_conn_handler, w);
		if (err)
			goto out;
	}

	/* until a check passes this is the ICE timeout */
	consent_refresh(w);
	if (!w->lite)
		tmr_start(&w->tmr_check, 0, check_timer, w);

 out:
	if (err)
		mem_deref(w);
	else
		*wp = w;
	return err;
}


int wrtc_set_srtp_profiles(struct wrtc *w, const char *profiles)
{
	struct tls *tls;
	int err;

	if (!w || !profiles || !g.tls)
		return EINVAL;
	if (w->tc)
		return EALREADY;
	err = tls_make(&tls, profiles);
	if (err)
		return err;
	mem_deref(w->tls);
	w->tls = tls;
	return 0;
}


bool wrtc_established(const struct wrtc *w)
{
	return w && w->up;
}


const struct sa *wrtc_peer(const struct wrtc *w)
{
	return w && w->checked ? &w->peer : NULL;
}


/* --- full-ICE gathering: server-reflexive and relayed candidates --- */

struct wrtc_gather {
	struct udp_sock *us;
	struct udp_helper *uh;      /* srflx answers (until finished)    */
	struct sa srvv[GATHER_MAX_SRV];
	size_t srvc, srvi;
	unsigned tries;
	uint8_t tid[STUN_TID_SIZE];
	struct tmr tmr_retx;
	struct tmr tmr_total;
	struct tmr tmr_free;
	struct sa srflx;
	bool got;

	/* TURN: kept for the call once allocated */
	struct turnc *turnc;
	struct udp_helper *uh_mark;
	struct sa turn_srv;
	struct sa relay;
	bool got_relay;
	bool turn_pending;
	bool rx_relay;              /* datagram in hand came from srv    */
	int turn_err;

	wrtc_gather_h *h;
	void *arg;
};


static bool relay_marked(const struct wrtc_gather *gt)
{
	return gt && gt->rx_relay;
}


static void gather_destructor(void *arg)
{
	struct wrtc_gather *g2 = arg;

	tmr_cancel(&g2->tmr_retx);
	tmr_cancel(&g2->tmr_total);
	tmr_cancel(&g2->tmr_free);
	mem_deref(g2->uh);
	mem_deref(g2->turnc);
	mem_deref(g2->uh_mark);
	mem_deref(g2->us);
}


/* A failed TURN client must leave the socket: its send helper would
 * wrap any datagram with room in front towards the server. Freed from
 * a timer, never from inside its own handler. */
static void turn_free(void *arg)
{
	struct wrtc_gather *g2 = arg;

	g2->turnc = mem_deref(g2->turnc);
	g2->uh_mark = mem_deref(g2->uh_mark);
}


/* Only ever from a timer: the handler may free the gather, and nothing
 * of turnc's or the socket's may be on the stack then. */
static void gather_finish(struct wrtc_gather *g2)
{
	wrtc_gather_h *h = g2->h;
	struct sa srflx, relay;
	int err;

	tmr_cancel(&g2->tmr_retx);
	tmr_cancel(&g2->tmr_total);
	g2->uh = mem_deref(g2->uh);
	g2->h = NULL;
	if (g2->turn_pending) {
		g2->turn_pending = false;
		g2->turn_err = ETIMEDOUT;
	}
	if (g2->turnc && !g2->got_relay)
		tmr_start(&g2->tmr_free, 0, turn_free, g2);

	if (g2->turn_err)
		err = g2->turn_err;
	else if (g2->got || !g2->srvc)
		err = 0;
	else
		err = ETIMEDOUT;
	/* copies: the handler may free the gather first thing */
	srflx = g2->srflx;
	relay = g2->relay;
	if (h)
		h(err, g2->got ? &srflx : NULL, g2->got_relay ? &relay : NULL,
		  g2->arg);
}


static void gather_timeout(void *arg)
{
	gather_finish(arg);
}


static void gather_maybe_done(struct wrtc_gather *g2)
{
	bool stun_done = g2->got || g2->srvi >= g2->srvc;

	if (g2->h && stun_done && !g2->turn_pending)
		tmr_start(&g2->tmr_total, 0, gather_timeout, g2);
}


static void gather_send(void *arg)
{
	struct wrtc_gather *g2 = arg;
	struct mbuf *mb;

	/* two tries per server, then the next one */
	if (g2->tries >= 2) {
		g2->tries = 0;
		++g2->srvi;
	}
	if (g2->srvi >= g2->srvc) {
		g2->uh = mem_deref(g2->uh);
		gather_maybe_done(g2);
		return;
	}
	if (!g2->tries)
		rand_bytes(g2->tid, sizeof(g2->tid));
	++g2->tries;

	mb = mbuf_alloc(64);
	if (mb && !stun_msg_encode(mb, STUN_METHOD_BINDING,
				   STUN_CLASS_REQUEST, g2->tid, NULL, NULL,
				   0, true, 0x00, 0)) {
		mb->pos = 0;
		(void)udp_send_helper(g2->us, &g2->srvv[g2->srvi], mb,
				      g2->uh);
	}
	mem_deref(mb);
	tmr_start(&g2->tmr_retx, GATHER_RETX_MS, gather_send, g2);
}


static bool gather_recv(struct sa *src, struct mbuf *mb, void *arg)
{
	struct wrtc_gather *g2 = arg;
	struct stun_msg *msg = NULL;
	struct stun_attr *a;
	size_t pos = mb->pos;
	bool ours = false;

	if (g2->got || g2->srvi >= g2->srvc ||
	    !sa_cmp(src, &g2->srvv[g2->srvi], SA_ALL) ||
	    wrtc_classify(mbuf_buf(mb), mbuf_get_left(mb)) != WRTC_STUN)
		return false;
	if (stun_msg_decode(&msg, mb, NULL) ||
	    memcmp(stun_msg_tid(msg), g2->tid, STUN_TID_SIZE))
		goto out;
	ours = true;
	if (stun_msg_class(msg) != STUN_CLASS_SUCCESS_RESP)
		goto out;
	a = stun_msg_attr(msg, STUN_ATTR_XOR_MAPPED_ADDR);
	if (!a)
		a = stun_msg_attr(msg, STUN_ATTR_MAPPED_ADDR);
	if (!a || !sa_isset(&a->v.sa, SA_ALL))
		goto out;
	g2->srflx = a->v.sa;
	g2->got = true;
	tmr_cancel(&g2->tmr_retx);
 out:
	mem_deref(msg);
	mb->pos = pos;
	if (g2->got && ours)
		gather_maybe_done(g2);
	return ours;
}


/* Lowest on the socket: notes whether the datagram in hand came from the
 * TURN server, before turnc unwraps it and rewrites the source. */
static bool mark_recv(struct sa *src, struct mbuf *mb, void *arg)
{
	struct wrtc_gather *g2 = arg;

	(void)mb;
	g2->rx_relay = g2->got_relay && sa_cmp(src, &g2->turn_srv, SA_ALL);
	return false;
}


static void turn_handler(int err, uint16_t scode, const char *reason,
			 const struct sa *relay, const struct sa *mapped,
			 const struct stun_msg *msg, void *arg)
{
	struct wrtc_gather *g2 = arg;

	(void)mapped;
	(void)msg;
	if (!g2->turn_pending) {
		/* a refresh failed later: the relay is gone */
		if (err || scode)
			log_warn(MOD, NULL, "TURN allocation lost: %m %u %s",
				 err, scode, reason ? reason : "");
		return;
	}
	g2->turn_pending = false;
	if (err || scode || !relay || !sa_isset(relay, SA_ALL)) {
		g2->turn_err = err ? err : EPROTO;
		log_warn(MOD, NULL, "TURN allocation at %J failed: %m %u %s",
			 &g2->turn_srv, err, scode, reason ? reason : "");
	}
	else {
		g2->relay = *relay;
		g2->got_relay = true;
	}
	gather_maybe_done(g2);
}


/* "stun:HOST[:PORT]" or "turn:HOST[:PORT][?transport=udp]" -> address;
 * IPv6 literals in brackets. */
static int url_resolve(struct sa *sa, const char *url, size_t len,
		       const char *want)
{
	char host[256];
	struct pl h, port = PL_INIT, scheme, params = PL_INIT;
	struct addrinfo hints, *res = NULL;
	uint16_t pnum = STUN_PORT;
	int err;

	if (re_regex(url, len, "[a-z]+:", &scheme) || scheme.p != url)
		return EINVAL;
	if (pl_strcasecmp(&scheme, want))
		return ENOTSUP;
	url += scheme.l + 1;
	len -= scheme.l + 1;
	if (!re_regex(url, len, "?[^]*", &params) &&
	    pl_strcasecmp(&params, "transport=udp"))
		return ENOTSUP;
	if (pl_isset(&params))
		len = (size_t)(params.p - 1 - url);
	if (len && url[0] == '[') {
		if (re_regex(url, len, "\\[[^\\]]+\\][:]*[0-9]*", &h, NULL,
			     &port))
			return EINVAL;
	}
	else if (re_regex(url, len, "[^:?]+[:]*[0-9]*", &h, NULL, &port))
		return EINVAL;
	if (pl_isset(&port))
		pnum = (uint16_t)pl_u32(&port);
	if (!pnum)
		return EINVAL;
	if (pl_strcpy(&h, host, sizeof(host)))
		return EINVAL;
	if (!sa_set_str(sa, host, pnum))
		return 0;

	/* a name: resolved here, once per outbound offer */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(host, NULL, &hints, &res) || !res)
		return EADDRNOTAVAIL;
	err = sa_set_sa(sa, res->ai_addr);
	if (!err)
		sa_set_port(sa, pnum);
	freeaddrinfo(res);
	return err;
}


static bool url_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n';
}


/* Calls fn for each entry of a comma/space separated list until it
 * returns true. */
static void urls_foreach(const char *list,
			 bool (*fn)(const char *u, size_t n, void *arg),
			 void *arg)
{
	const char *s = list;

	while (s && *s) {
		size_t n = 0;

		while (*s && url_sep(*s))
			++s;
		while (s[n] && !url_sep(s[n]))
			++n;
		if (n && fn(s, n, arg))
			return;
		s += n;
	}
}


static bool stun_url_add(const char *u, size_t n, void *arg)
{
	struct wrtc_gather *g2 = arg;
	int err;

	if (g2->srvc >= GATHER_MAX_SRV)
		return true;
	err = url_resolve(&g2->srvv[g2->srvc], u, n, "stun");
	if (err)
		log_warn(MOD, NULL, "ice_stun_urls: cannot use \"%b\": %m",
			 u, n, err);
	else
		++g2->srvc;
	return false;
}


static bool turn_url_pick(const char *u, size_t n, void *arg)
{
	struct wrtc_gather *g2 = arg;
	int err;

	/* the first usable one */
	err = url_resolve(&g2->turn_srv, u, n, "turn");
	if (err) {
		log_warn(MOD, NULL, "ice_turn_urls: cannot use \"%b\": %m",
			 u, n, err);
		g2->turn_err = err;
		return false;
	}
	g2->turn_err = 0;
	return true;
}


int wrtc_gather(struct wrtc_gather **gp, struct udp_sock *us,
		const char *stun_urls, const char *turn_urls,
		const char *turn_user, const char *turn_pass,
		uint32_t timeout_ms, wrtc_gather_h *gatherh, void *arg)
{
	struct wrtc_gather *g2;
	int err = 0;

	if (!gp || !us || !gatherh)
		return EINVAL;

	g2 = mem_zalloc(sizeof(*g2), gather_destructor);
	if (!g2)
		return ENOMEM;
	g2->us = mem_ref(us);
	g2->h = gatherh;
	g2->arg = arg;
	tmr_init(&g2->tmr_retx);
	tmr_init(&g2->tmr_total);
	tmr_init(&g2->tmr_free);

	urls_foreach(stun_urls, stun_url_add, g2);
	urls_foreach(turn_urls, turn_url_pick, g2);

	if (sa_isset(&g2->turn_srv, SA_ALL) && !g2->turn_err) {
		err = udp_register_helper(&g2->uh_mark, us, MARK_LAYER, NULL,
					  mark_recv, g2);
		if (err)
			goto out;
		err = turnc_alloc(&g2->turnc, NULL, IPPROTO_UDP, us,
				  TURN_LAYER, &g2->turn_srv,
				  turn_user ? turn_user : "",
				  turn_pass ? turn_pass : "",
				  TURN_DEFAULT_LIFETIME, turn_handler, g2);
		if (err) {
			log_warn(MOD, NULL, "TURN client: %m", err);
			g2->turn_err = err;
			g2->uh_mark = mem_deref(g2->uh_mark);
			err = 0;
		}
		else {
			g2->turn_pending = true;
		}
	}

	if (g2->srvc) {
		err = udp_register_helper(&g2->uh, us, GATHER_LAYER, NULL,
					  gather_recv, g2);
		if (err)
			goto out;
		tmr_start(&g2->tmr_retx, 0, gather_send, g2);
	}
	/* also when nothing is pending: report from the loop, never
	 * re-entrantly */
	tmr_start(&g2->tmr_total, (g2->srvc || g2->turn_pending) ?
		  (timeout_ms ? timeout_ms : GATHER_DEFAULT_MS) : 0,
		  gather_timeout, g2);

 out:
	if (err)
		mem_deref(g2);
	else
		*gp = g2;
	return err;
}


int wrtc_set_relay(struct wrtc *w, struct wrtc_gather *gt)
{
	if (!w || !gt)
		return EINVAL;
	if (!gt->turnc || !gt->got_relay)
		return ENOENT;
	if (w->us != gt->us)
		return EINVAL;
	if (w->relay)
		return EALREADY;

	w->relay = mem_ref(gt);
	for (size_t i = 0; i < w->rcandc; i++) {
		struct pend *pe = &w->pendv[MAX_CAND + i];

		/* the server drops what comes from addresses without one */
		(void)turnc_add_perm(gt->turnc, &w->pendv[i].dst, NULL, NULL);
		pe->dst = w->pendv[i].dst;
		pe->relay = true;
		pe->used = true;
		rand_bytes(pe->tid, sizeof(pe->tid));
	}
	return 0;
}
