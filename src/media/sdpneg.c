/*
 * sdpneg.c  SDP offer/answer for one audio stream.
 *
 * WebRTC-style SDP rides on the same libre session: the audio m-line
 * takes UDP/TLS/RTP/SAVPF as a further protocol, and the ICE/DTLS
 * attributes are plain session and media attributes (what Chrome needs
 * in an answer is listed in ../shared/notes/WEBRTC.md, item 7). libre
 * declines other m-lines with port 0 but writes nothing else for them;
 * JSEP wants their a=mid back in a BUNDLE answer (add_declined_mids).
 */
#include <string.h>
#include <re.h>
#include "media/sdpneg.h"

const char sdpneg_proto_webrtc[] = "UDP/TLS/RTP/SAVPF";

enum {
	ICE_PRIO_HOST  = 2130706431,  /* RFC 8445 5.1.2.1, type pref 126 */
	ICE_PRIO_SRFLX = 1694498815,  /* type pref 100 */
	ICE_PRIO_RELAY = 16777215,    /* type pref 0 */
	MAX_MLINES = 16,              /* declined m-lines we give a=mid */
};

static const char *suite_name(enum srtp_suite s)
{
	return s == SRTP_AES_CM_128_HMAC_SHA1_32 ?
		"AES_CM_128_HMAC_SHA1_32" : "AES_CM_128_HMAC_SHA1_80";
}


int sdpneg_prefs_parse(struct sdpneg_prefs *prefs, const char *codecs)
{
	struct pl rest, item;

	if (!prefs || !codecs)
		return EINVAL;

	prefs->codecc = 0;
	pl_set_str(&rest, codecs);
	while (rest.l) {
		const struct codec_info *ci;
		char name[16];
		bool dup = false;

		if (re_regex(rest.p, rest.l, "[^,]+", &item))
			break;
		pl_advance(&rest, item.l + (item.l < rest.l ? 1 : 0));
		while (item.l && (item.p[0] == ' ' || item.p[0] == '\t'))
			pl_advance(&item, 1);
		while (item.l && (item.p[item.l-1] == ' ' ||
				  item.p[item.l-1] == '\t'))
			--item.l;
		if (item.l >= sizeof(name))
			return EINVAL;
		pl_strcpy(&item, name, sizeof(name));
		ci = codec_find(name);
		if (!ci)
			return ENOTSUP;
		for (size_t i = 0; i < prefs->codecc; i++)
			dup |= prefs->codecv[i] == ci->id;
		if (!dup && prefs->codecc < CODEC_COUNT)
			prefs->codecv[prefs->codecc++] = ci->id;
	}

	return prefs->codecc ? 0 : EINVAL;
}


/* WebRTC: Opus first, then the configured codecs in their order. */
static void webrtc_prefs(struct sdpneg_prefs *out,
			 const struct sdpneg_prefs *in)
{
	*out = *in;
	out->codecc = 0;
	out->codecv[out->codecc++] = CODEC_OPUS;
	for (size_t i = 0; i < in->codecc && out->codecc < CODEC_COUNT; i++) {
		if (in->codecv[i] != CODEC_OPUS)
			out->codecv[out->codecc++] = in->codecv[i];
	}
}


/* only: the answer's one codec, with telephone-event at its clock (RFC
 * 4733 events share the audio's timestamps); NULL: every codec and an
 * event format for each clock in use. */
static int add_formats(struct sdp_media *m, const struct sdpneg_prefs *prefs,
		       const struct codec_info *only)
{
	bool te8k = false, te48k = false;
	char id[8];
	int err = 0;

	for (size_t i = 0; i < prefs->codecc; i++) {
		const struct codec_info *ci = codec_info(prefs->codecv[i]);
		if (!ci || (only && only != ci))
			continue;
		re_snprintf(id, sizeof(id), "%d", ci->pt);
		if (ci->id == CODEC_OPUS) {
			/* RFC 7587: always "/2"; we send mono, take both */
			err |= sdp_format_add(NULL, m, false, id, ci->name,
					      ci->clock, 2, NULL, NULL, NULL,
					      false,
					      "minptime=10;useinbandfec=1");
			te48k = true;
		}
		else {
			err |= sdp_format_add(NULL, m, false, id, ci->name,
					      ci->clock, 1, NULL, NULL, NULL,
					      false, NULL);
			te8k = true;
		}
	}
	if (te48k) {
		re_snprintf(id, sizeof(id), "%d", SDPNEG_TE48_PT);
		err |= sdp_format_add(NULL, m, false, id, "telephone-event",
				      48000, 1, NULL, NULL, NULL, false,
				      "0-15");
	}
	if (te8k || !te48k) {
		re_snprintf(id, sizeof(id), "%d", SDPNEG_TE_PT);
		err |= sdp_format_add(NULL, m, false, id, "telephone-event",
				      8000, 1, NULL, NULL, NULL, false,
				      "0-15");
	}
	return err;
}


static int crypto_attr(struct sdp_media *m, unsigned tag,
		       enum srtp_suite suite, const uint8_t *key)
{
	char b64[64];
	size_t len = sizeof(b64) - 1;
	int err;

	err = base64_encode(key, SRTP_KEYLEN, b64, &len);
	if (err)
		return err;
	b64[len] = '\0';
	return sdp_media_set_lattr(m, false, "crypto", "%u %s inline:%s",
				   tag, suite_name(suite), b64);
}


static bool find_remote_match(const struct sdp_format *f,
			      const struct codec_info *ci)
{
	if (f->pt >= 0 && f->pt < 96)
		return f->pt == ci->pt;
	return f->name && !str_casecmp(f->name, ci->name) &&
		f->srate == ci->clock;
}


/* A remote format for codec ci: static payload types need no rtpmap. */
static const struct sdp_format *find_remote(const struct sdp_media *m,
					    const struct codec_info *ci)
{
	struct le *le;

	for (le = list_head(sdp_media_format_lst(m, false)); le;
	     le = le->next) {
		const struct sdp_format *f = le->data;

		if (find_remote_match(f, ci))
			return f;
	}
	return NULL;
}


static const struct codec_info *format_codec(const struct sdp_format *f)
{
	for (int i = 0; i < CODEC_COUNT; i++) {
		const struct codec_info *ci = codec_info((enum codec_id)i);
		if (ci && find_remote_match(f, ci))
			return ci;
	}
	return NULL;
}


/* libre keeps media in the local list until it was encoded or matched,
 * then in the session list: look in both. */
static struct sdp_media *first_audio(struct sdp_session *sess)
{
	for (int local = 0; local < 2; local++) {
		struct le *le;

		for (le = list_head(sdp_session_medial(sess, local)); le;
		     le = le->next) {
			struct sdp_media *m = le->data;
			if (!str_casecmp(sdp_media_name(m), sdp_media_audio))
				return m;
		}
	}
	return NULL;
}


/* What the remote's Opus fmtp asks of our encoder (RFC 7587 6.1). */
static void opus_params(struct sdpneg_result *res,
			const struct sdp_format *rf)
{
	struct pl pl, v;

	res->opus_maxbitrate = 0;
	res->opus_fec = false;
	if (!res->codec || res->codec->id != CODEC_OPUS || !rf ||
	    !rf->params)
		return;
	pl_set_str(&pl, rf->params);
	if (fmt_param_get(&pl, "maxaveragebitrate", &v))
		res->opus_maxbitrate = pl_u32(&v);
	if (fmt_param_get(&pl, "useinbandfec", &v))
		res->opus_fec = !pl_strcmp(&v, "1");
}


static void fill_common(struct sdpneg_result *res, struct sdp_media *m)
{
	const struct sdp_format *te;

	res->raddr = *sdp_media_raddr(m);
	sdp_media_raddr_rtcp(m, &res->raddr_rtcp);
	res->dir = sdp_media_dir(m);

	te = sdp_media_rformat(m, "telephone-event");
	res->te_tx_pt = te ? te->pt : -1;
	res->te_rx_pt = te ? te->pt : -1;
	res->te_clock = te && te->srate ? te->srate :
		(res->codec ? res->codec->clock : 8000);

	/* rtcp-mux: RTCP shares the RTP address */
	if (res->webrtc)
		res->raddr_rtcp = res->raddr;
}


/* --- WebRTC attributes --- */

static bool cand_handler(const char *name, const char *value, void *arg)
{
	struct sdpneg_result *res = arg;
	struct pl comp, transp, addr, port;
	struct sa sa;
	(void)name;

	if (res->rcandc >= SDPNEG_MAX_CAND)
		return true;
	if (!value || re_regex(value, strlen(value),
			       "[^ ]+ [0-9]+ [^ ]+ [0-9]+ [^ ]+ [0-9]+ typ ",
			       NULL, &comp, &transp, NULL, &addr, &port))
		return false;
	if (comp.l > 3 || pl_u32(&comp) != 1 ||
	    pl_strcasecmp(&transp, "udp"))
		return false;
	if (port.l > 5 || !pl_u32(&port) || pl_u32(&port) > 65535)
		return false;
	/* an mDNS name (xxxx.local) is no address we can check */
	if (sa_set(&sa, &addr, (uint16_t)pl_u32(&port)))
		return false;

	res->rcandv[res->rcandc++] = sa;
	return false;
}


static int copy_attr(char *dst, size_t sz, const char *val)
{
	size_t n = strlen(val);

	if (!n || n >= sz)
		return EOVERFLOW;
	memcpy(dst, val, n + 1);
	return 0;
}


/* Read the peer's ICE and DTLS attributes for the audio m-line m (media
 * level, else session level). NULL when usable, else why not. */
static const char *webrtc_remote(struct sdpneg_result *res,
				 const struct sdp_session *sess,
				 const struct sdp_media *m, bool offer)
{
	const char *ufrag = sdp_media_session_rattr(m, sess, "ice-ufrag");
	const char *pwd = sdp_media_session_rattr(m, sess, "ice-pwd");
	const char *fp = sdp_media_session_rattr(m, sess, "fingerprint");
	const char *setup = sdp_media_session_rattr(m, sess, "setup");
	const char *mid = sdp_media_rattr(m, "mid");
	struct pl alg, hex;
	char prev[sizeof(res->rufrag) + sizeof(res->rpwd) + sizeof(res->rfp)];
	const enum wrtc_role prev_role = res->role;
	const bool had = res->webrtc && res->rufrag[0];

	/* the session so far, to tell a re-offer from an ICE restart */
	re_snprintf(prev, sizeof(prev), "%s %s %s", res->rufrag, res->rpwd,
		    res->rfp);
	res->rufrag[0] = res->rpwd[0] = '\0';
	res->rfp_alg[0] = res->rfp[0] = '\0';
	res->rcandc = 0;
	res->mid[0] = '\0';

	if (!fp)
		return "WebRTC SDP without a=fingerprint";
	if (!ufrag || !pwd)
		return "WebRTC SDP without ICE credentials";
	if (!sdp_media_rattr(m, "rtcp-mux"))
		return "WebRTC SDP without a=rtcp-mux";

	if (re_regex(fp, strlen(fp), "[^ ]+[ ]+[0-9A-Fa-f:]+", &alg, NULL,
		     &hex) || hex.l >= sizeof(res->rfp))
		return "malformed a=fingerprint";
	if (pl_strcasecmp(&alg, "sha-256") && pl_strcasecmp(&alg, "sha-1"))
		return "unsupported a=fingerprint hash";
	pl_strcpy(&alg, res->rfp_alg, sizeof(res->rfp_alg));
	pl_strcpy(&hex, res->rfp, sizeof(res->rfp));

	if (strlen(ufrag) < 4 || strlen(pwd) < 22 ||
	    copy_attr(res->rufrag, sizeof(res->rufrag), ufrag) ||
	    copy_attr(res->rpwd, sizeof(res->rpwd), pwd))
		return "bad ICE credentials";

	/* a=setup (RFC 5763): an offerer is actpass (or active); missing in
	 * an answer means active (RFC 4145). We take the other side. */
	if (!setup || !str_casecmp(setup, "active") ||
	    (offer && !str_casecmp(setup, "actpass")))
		res->role = WRTC_PASSIVE;
	else if (!str_casecmp(setup, "passive"))
		res->role = WRTC_ACTIVE;
	else
		return "unusable a=setup";

	/* a re-offer of the same ICE/DTLS session (hold, session refresh)
	 * keeps the DTLS roles it has (RFC 8842 5.5): actpass then means
	 * "as before" */
	if (offer && had && setup && !str_casecmp(setup, "actpass")) {
		char now[sizeof(prev)];

		re_snprintf(now, sizeof(now), "%s %s %s", res->rufrag,
			    res->rpwd, res->rfp);
		if (!strcmp(now, prev))
			res->role = prev_role;
	}

	if (mid && copy_attr(res->mid, sizeof(res->mid), mid))
		return "bad a=mid";

	res->rlite = sdp_session_rattr(sess, "ice-lite") != NULL;
	(void)sdp_media_rattr_apply(m, "candidate", cand_handler, res);

	return NULL;
}


static void ice_credentials(struct sdpneg_result *res)
{
	if (!res->lufrag[0] || !res->lpwd[0]) {
		rand_str(res->lufrag, 9);   /* 8 characters */
		rand_str(res->lpwd, 25);    /* 24 characters */
	}
}


/* Our ICE/DTLS attributes. Offer: full ICE, a=setup:actpass; answer:
 * ICE-lite, the role webrtc_remote chose. */
static int webrtc_local(struct sdp_session *sess, struct sdp_media *m,
			const struct sdpneg_prefs *prefs,
			struct sdpneg_result *res, const struct sa *laddr,
			bool offer)
{
	const char *mid = res->mid[0] ? res->mid : "0";
	int err = 0;

	if (!offer && !res->lfull)
		err |= sdp_session_set_lattr(sess, true, "ice-lite", NULL);
	err |= sdp_session_set_lattr(sess, true, "group", "BUNDLE %s", mid);
	err |= sdp_session_set_lattr(sess, true, "msid-semantic",
				     " WMS agentline");

	err |= sdp_media_set_lattr(m, true, "mid", "%s", mid);
	err |= sdp_media_set_lattr(m, true, "ice-ufrag", "%s", res->lufrag);
	err |= sdp_media_set_lattr(m, true, "ice-pwd", "%s", res->lpwd);
	err |= sdp_media_set_lattr(m, true, "fingerprint", "%s",
				   prefs->fingerprint);
	err |= sdp_media_set_lattr(m, true, "setup", "%s", offer ? "actpass" :
				   res->role == WRTC_ACTIVE ? "active" :
				   "passive");
	err |= sdp_media_set_lattr(m, true, "rtcp-mux", NULL);
	err |= sdp_media_set_lattr(m, false, "candidate",
				   "1 1 udp %u %j %u typ host",
				   ICE_PRIO_HOST, laddr, sa_port(laddr));
	if (offer && sa_isset(&prefs->srflx, SA_ALL))
		err |= sdp_media_set_lattr(m, false, "candidate",
					   "2 1 udp %u %j %u typ srflx "
					   "raddr %j rport %u",
					   ICE_PRIO_SRFLX, &prefs->srflx,
					   sa_port(&prefs->srflx), laddr,
					   sa_port(laddr));
	if (offer && sa_isset(&prefs->relay, SA_ALL)) {
		/* related address: the allocation's public side as far as
		 * we know it (RFC 8839 5.1) */
		const struct sa *rel = sa_isset(&prefs->srflx, SA_ALL) ?
			&prefs->srflx : laddr;

		err |= sdp_media_set_lattr(m, false, "candidate",
					   "3 1 udp %u %j %u typ relay "
					   "raddr %j rport %u",
					   ICE_PRIO_RELAY, &prefs->relay,
					   sa_port(&prefs->relay), rel,
					   sa_port(rel));
	}
	err |= sdp_media_set_lattr(m, true, "end-of-candidates", NULL);
	if (prefs->ssrc) {
		err |= sdp_media_set_lattr(m, true, "msid",
					   "agentline audio");
		err |= sdp_media_set_lattr(m, false, "ssrc",
					   "%u cname:agentline", prefs->ssrc);
		err |= sdp_media_set_lattr(m, false, "ssrc",
					   "%u msid:agentline audio",
					   prefs->ssrc);
	}

	if (!err && !res->mid[0])
		str_ncpy(res->mid, mid, sizeof(res->mid));
	return err;
}


/* The m-lines of an offer and their a=mid, in order. */
struct mlines {
	struct pl mid[MAX_MLINES];
	unsigned n;
};


static void line_next(struct pl *rest, struct pl *line)
{
	const char *nl = memchr(rest->p, '\n', rest->l);

	line->p = rest->p;
	line->l = nl ? (size_t)(nl - rest->p) : rest->l;
	pl_advance(rest, line->l + (nl ? 1 : 0));
	if (line->l && line->p[line->l - 1] == '\r')
		line->l--;
}


static void offer_mids(const struct mbuf *offer, struct mlines *ml)
{
	struct pl rest, line;
	unsigned idx = 0;

	memset(ml, 0, sizeof(*ml));
	pl_set_mbuf(&rest, offer);
	while (rest.l) {
		line_next(&rest, &line);
		if (line.l > 2 && !memcmp(line.p, "m=", 2)) {
			idx = ml->n++;
		}
		else if (ml->n && idx < MAX_MLINES && line.l > 6 &&
			 !memcmp(line.p, "a=mid:", 6)) {
			ml->mid[idx].p = line.p + 6;
			ml->mid[idx].l = line.l - 6;
		}
	}
}


/* libre declines an m-line as "m=video 0 PROTO 0" and writes nothing
 * else; JSEP (RFC 8829 5.3.1) keeps each declined m-line's a=mid in a
 * BUNDLE answer. Chromium 156 accepts the answer without it, stricter
 * stacks may not. */
static int add_declined_mids(struct mbuf **mbp, const struct mbuf *offer)
{
	struct mlines ml;
	struct mbuf *out;
	struct pl rest, line;
	unsigned idx = 0;
	int err = 0;

	offer_mids(offer, &ml);

	out = mbuf_alloc(mbuf_get_left(*mbp) + 64);
	if (!out)
		return ENOMEM;

	pl_set_mbuf(&rest, *mbp);
	while (rest.l && !err) {
		struct pl port;

		line_next(&rest, &line);
		err = mbuf_printf(out, "%r\r\n", &line);
		if (line.l < 2 || memcmp(line.p, "m=", 2))
			continue;
		if (idx < MAX_MLINES && ml.mid[idx].l &&
		    !re_regex(line.p, line.l, "m=[^ ]+ [0-9]+ ", NULL,
			      &port) && !pl_strcmp(&port, "0"))
			err = mbuf_printf(out, "a=mid:%r\r\n", &ml.mid[idx]);
		++idx;
	}

	if (err) {
		mem_deref(out);
		return err;
	}
	out->pos = 0;
	mem_deref(*mbp);
	*mbp = out;
	return 0;
}


int sdpneg_offer(struct sdp_session **sessp, struct mbuf **mbp,
		 const struct sa *laddr, const struct sdpneg_prefs *prefs,
		 struct sdpneg_result *res)
{
	struct sdp_session *sess = NULL;
	struct sdpneg_prefs wprefs;
	struct sdp_media *m;
	int err;

	if (!sessp || !mbp || !laddr || !prefs || !res)
		return EINVAL;
	if (prefs->webrtc && !prefs->fingerprint)
		return EINVAL;

	err = sdp_session_alloc(&sess, laddr);
	if (err)
		return err;

	if (prefs->webrtc) {
		webrtc_prefs(&wprefs, prefs);
		/* the first offer makes us the full (controlling) agent */
		if (!res->lufrag[0])
			res->lfull = true;
		ice_credentials(res);
		res->mid[0] = '\0';
		err = sdp_media_add(&m, sess, sdp_media_audio, sa_port(laddr),
				    sdpneg_proto_webrtc);
		if (!err)
			err = add_formats(m, &wprefs, NULL);
		if (!err)
			err = sdp_media_set_lattr(m, true, "ptime", "20");
		if (!err)
			err = webrtc_local(sess, m, prefs, res, laddr, true);
		if (!err)
			err = sdp_encode(mbp, sess, true);
		goto out;
	}

	err = sdp_media_add(&m, sess, sdp_media_audio, sa_port(laddr),
			    prefs->srtp == SRTP_MANDATORY ?
			    sdp_proto_rtpsavp : sdp_proto_rtpavp);
	if (err)
		goto out;
	err = add_formats(m, prefs, NULL);
	if (err)
		goto out;
	(void)sdp_media_set_lattr(m, true, "ptime", "20");

	if (prefs->srtp != SRTP_OFF) {
		rand_bytes(res->lkey, sizeof(res->lkey));
		err  = crypto_attr(m, 1, SRTP_AES_CM_128_HMAC_SHA1_80,
				   res->lkey);
		err |= crypto_attr(m, 2, SRTP_AES_CM_128_HMAC_SHA1_32,
				   res->lkey);
		if (err)
			goto out;
	}

	err = sdp_encode(mbp, sess, true);
 out:
	if (err)
		mem_deref(sess);
	else
		*sessp = sess;
	return err;
}


struct crypto_pick {
	unsigned tag;
	enum srtp_suite suite;
	uint8_t key[SRTP_KEYLEN];
	bool found;
	bool want_tag;       /* answer: match our offered tag */
	unsigned match_tag;
};


static bool crypto_handler(const char *name, const char *value, void *arg)
{
	struct crypto_pick *cp = arg;
	struct pl tag, suite, key;
	char keyb64[64];
	uint8_t key_raw[64];
	size_t klen = sizeof(key_raw);
	enum srtp_suite s;
	(void)name;

	if (!value)
		return false;
	if (re_regex(value, strlen(value),
		     "[0-9]+[ \t]+[^ \t]+[ \t]+inline:[^|; \t]+",
		     &tag, NULL, &suite, NULL, &key))
		return false;

	if (0 == pl_strcasecmp(&suite, "AES_CM_128_HMAC_SHA1_80"))
		s = SRTP_AES_CM_128_HMAC_SHA1_80;
	else if (0 == pl_strcasecmp(&suite, "AES_CM_128_HMAC_SHA1_32"))
		s = SRTP_AES_CM_128_HMAC_SHA1_32;
	else
		return false;

	if (cp->want_tag && pl_u32(&tag) != cp->match_tag)
		return false;
	if (key.l >= sizeof(keyb64))
		return false;
	pl_strcpy(&key, keyb64, sizeof(keyb64));
	if (base64_decode(keyb64, strlen(keyb64), key_raw, &klen))
		return false;
	if (klen != SRTP_KEYLEN)
		return false;

	cp->tag = pl_u32(&tag);
	cp->suite = s;
	memcpy(cp->key, key_raw, SRTP_KEYLEN);
	cp->found = true;
	return true; /* stop at the first usable one: offerer's preference */
}


int sdpneg_decode_answer(struct sdp_session *sess, struct mbuf *mb,
			 const struct sdpneg_prefs *prefs,
			 struct sdpneg_result *res)
{
	struct crypto_pick cp;
	struct sdpneg_prefs wprefs;
	struct sdp_media *m;
	const struct sdp_format *rf = NULL;
	int err;

	if (!sess || !mb || !prefs || !res)
		return EINVAL;

	err = sdp_decode(sess, mb, false);
	if (err)
		return err;

	m = first_audio(sess);
	if (!m || !sdp_media_rport(m))
		return EPROTO;

	/* our WebRTC offer (first, or a re-offer from a session that
	 * answered one): libre zeroes the port of an answer in another
	 * protocol, so the answer is UDP/TLS/RTP/SAVPF too */
	res->webrtc = !str_casecmp(sdp_media_proto(m), sdpneg_proto_webrtc);
	if (res->webrtc) {
		if (webrtc_remote(res, sess, m, false))
			return EPROTO;
		webrtc_prefs(&wprefs, prefs);
		prefs = &wprefs;
	}

	/* the answerer chose: take the first remote format we support */
	for (struct le *le = list_head(sdp_media_format_lst(m, false)); le;
	     le = le->next) {
		const struct sdp_format *f = le->data;
		const struct codec_info *ci = format_codec(f);
		bool ours = false;

		if (!ci)
			continue;
		for (size_t i = 0; i < prefs->codecc; i++)
			ours |= prefs->codecv[i] == ci->id;
		if (ours) {
			rf = f;
			res->codec = ci;
			break;
		}
	}
	if (!rf)
		return EPROTO;

	res->tx_pt = rf->pt;
	res->rx_pt = rf->pt;
	opus_params(res, rf);
	fill_common(res, m);

	memset(&cp, 0, sizeof(cp));
	res->srtp = false;
	if (res->webrtc)
		return 0;   /* DTLS-SRTP: keys come from the handshake */
	if (0 == str_casecmp(sdp_media_proto(m), sdp_proto_rtpsavp) ||
	    sdp_media_rattr(m, "crypto")) {
		(void)sdp_media_rattr_apply(m, "crypto", crypto_handler, &cp);
		if (!cp.found)
			return EPROTO;
		res->srtp = true;
		res->suite = cp.suite;
		memcpy(res->rkey, cp.key, SRTP_KEYLEN);
	}
	if (prefs->srtp == SRTP_MANDATORY && !res->srtp)
		return EPROTO;

	return 0;
}


/* libre's SDP decoder truncates an out-of-range port and skips a bad
 * address silently: check the m= ports and c= addresses ourselves. */
static bool sdp_sane(const struct mbuf *mb)
{
	struct pl rest, line;

	pl_set_mbuf(&rest, mb);
	while (rest.l) {
		struct pl port, nettype, addr;
		const char *nl = memchr(rest.p, '\n', rest.l);

		line.p = rest.p;
		line.l = nl ? (size_t)(nl - rest.p) : rest.l;
		pl_advance(&rest, line.l + (nl ? 1 : 0));
		if (line.l && line.p[line.l - 1] == '\r')
			line.l--;

		if (line.l > 2 && !memcmp(line.p, "m=", 2)) {
			if (re_regex(line.p, line.l, "m=[^ ]+ [0-9]+[^ ]* ",
				     NULL, &port, NULL))
				return false;
			if (port.l > 5 || pl_u32(&port) > 65535)
				return false;
		}
		else if (line.l > 2 && !memcmp(line.p, "c=", 2)) {
			struct sa sa;
			if (re_regex(line.p, line.l, "c=IN IP[46]1 [^ /]+",
				     &nettype, &addr))
				return false;
			if (sa_set(&sa, &addr, 0))
				return false;
		}
	}
	return true;
}


int sdpneg_answer(struct sdp_session **sessp, struct mbuf **mbp,
		  const struct sa *laddr, const struct sdpneg_prefs *prefs,
		  struct mbuf *offer, bool keep_lkey,
		  struct sdpneg_result *res, uint16_t *scodep,
		  const char **reasonp)
{
	struct sdp_session *probe = NULL, *sess = NULL;
	struct sdp_media *m, *pm;
	const struct codec_info *chosen = NULL;
	struct sdpneg_prefs wprefs;
	struct crypto_pick cp;
	const char *reason = NULL;
	bool savp, want_srtp, webrtc;
	size_t pos;
	int err;

	if (!sessp || !mbp || !laddr || !prefs || !offer || !res || !scodep)
		return EINVAL;

	*scodep = 0;
	pos = offer->pos;

	if (!sdp_sane(offer)) {
		*scodep = 400;
		if (reasonp)
			*reasonp = "malformed SDP (bad port or address)";
		return EBADMSG;
	}

	/* pass 1: what does the offer contain? */
	err = sdp_session_alloc(&probe, laddr);
	if (err)
		return err;
	webrtc_prefs(&wprefs, prefs);
	err = sdp_media_add(&pm, probe, sdp_media_audio, sa_port(laddr),
			    sdp_proto_rtpavp);
	if (!err)
		err = sdp_media_set_alt_protos(pm, 3, sdp_proto_rtpavp,
					       sdp_proto_rtpsavp,
					       sdpneg_proto_webrtc);
	if (!err)
		err = add_formats(pm, &wprefs, NULL);
	if (err)
		goto out;

	err = sdp_decode(probe, offer, true);
	offer->pos = pos;
	if (err) {
		err = EBADMSG;
		reason = "malformed SDP";
		*scodep = 400;
		goto out;
	}

	if (!sdp_media_rport(pm)) {
		reason = "no usable audio stream (RTP/AVP, RTP/SAVP or "
			"UDP/TLS/RTP/SAVPF)";
		goto refuse;
	}

	webrtc = !str_casecmp(sdp_media_proto(pm), sdpneg_proto_webrtc);
	if (webrtc) {
		if (!prefs->fingerprint) {
			reason = "WebRTC offered but DTLS is not available";
			goto refuse;
		}
		reason = webrtc_remote(res, probe, pm, true);
		if (reason)
			goto refuse;
		prefs = &wprefs;
	}

	for (size_t i = 0; i < prefs->codecc && !chosen; i++) {
		const struct codec_info *ci = codec_info(prefs->codecv[i]);
		if (find_remote(pm, ci))
			chosen = ci;
	}
	if (!chosen) {
		reason = "no common codec";
		goto refuse;
	}

	savp = 0 == str_casecmp(sdp_media_proto(pm), sdp_proto_rtpsavp);
	memset(&cp, 0, sizeof(cp));
	if (!webrtc)
		(void)sdp_media_rattr_apply(pm, "crypto", crypto_handler,
					    &cp);

	/* WebRTC media is always encrypted (DTLS-SRTP): it satisfies every
	 * media_srtp setting */
	if (webrtc) {
		want_srtp = false;
		goto build;
	}
	if (savp && prefs->srtp == SRTP_OFF) {
		reason = "SRTP offered but media_srtp is off";
		goto refuse;
	}
	if (savp && !cp.found) {
		reason = "RTP/SAVP without a supported a=crypto";
		goto refuse;
	}
	if (!savp && prefs->srtp == SRTP_MANDATORY) {
		reason = "plain RTP offered but SRTP is mandatory";
		goto refuse;
	}
	want_srtp = savp || (cp.found && prefs->srtp == SRTP_OPTIONAL);

	/* pass 2: a session with only the chosen codec, in our order */
 build:
	err = sdp_session_alloc(&sess, laddr);
	if (err)
		goto out;
	err = sdp_media_add(&m, sess, sdp_media_audio, sa_port(laddr),
			    webrtc ? sdpneg_proto_webrtc :
			    savp ? sdp_proto_rtpsavp : sdp_proto_rtpavp);
	if (!err)
		err = add_formats(m, prefs, chosen);
	if (!err)
		(void)sdp_media_set_lattr(m, true, "ptime", "20");
	if (err)
		goto out;

	err = sdp_decode(sess, offer, true);
	offer->pos = pos;
	if (err) {
		err = EBADMSG;
		*scodep = 400;
		reason = "malformed SDP";
		goto out;
	}
	if (!sdp_media_rport(m)) {
		reason = "no usable audio stream";
		goto refuse;
	}
	/* WebRTC: the address comes from ICE (Chrome says 0.0.0.0:9) */
	if (!webrtc && !sa_isset(sdp_media_raddr(m), SA_ADDR)) {
		err = EBADMSG;
		*scodep = 400;
		reason = "malformed SDP (no connection address)";
		goto out;
	}

	res->codec = chosen;
	{
		const struct sdp_format *rf = find_remote(m, chosen);
		res->tx_pt = rf ? rf->pt : chosen->pt;
		res->rx_pt = res->tx_pt;
		opus_params(res, rf);
	}
	res->webrtc = webrtc;
	fill_common(res, m);

	if (webrtc) {
		res->srtp = false;
		/* answering first: ICE-lite, as a server */
		if (!res->lufrag[0])
			res->lfull = false;
		ice_credentials(res);
		err = webrtc_local(sess, m, prefs, res, laddr, false);
		if (!err)
			err = sdp_encode(mbp, sess, false);
		if (!err)
			err = add_declined_mids(mbp, offer);
		if (err)
			*mbp = mem_deref(*mbp);
		goto out;
	}

	res->srtp = want_srtp;
	if (want_srtp) {
		res->suite = cp.suite;
		memcpy(res->rkey, cp.key, SRTP_KEYLEN);
		if (!keep_lkey)
			rand_bytes(res->lkey, sizeof(res->lkey));
		err = crypto_attr(m, cp.tag, cp.suite, res->lkey);
		if (err)
			goto out;
	}

	err = sdp_encode(mbp, sess, false);
	goto out;

 refuse:
	err = EPROTO;
	*scodep = SDPNEG_NOT_ACCEPTABLE;

 out:
	mem_deref(probe);
	if (err) {
		mem_deref(sess);
		if (reasonp)
			*reasonp = reason;
	}
	else {
		*sessp = sess;
	}
	return err;
}
