/*
 * sdpneg.c  SDP offer/answer for one audio stream.
 */
#include <string.h>
#include <re.h>
#include "media/sdpneg.h"

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


static int add_formats(struct sdp_media *m, const struct sdpneg_prefs *prefs,
		       const struct codec_info *only)
{
	char id[8];
	int err = 0;

	for (size_t i = 0; i < prefs->codecc; i++) {
		const struct codec_info *ci = codec_info(prefs->codecv[i]);
		if (!ci || (only && only != ci))
			continue;
		re_snprintf(id, sizeof(id), "%d", ci->pt);
		err |= sdp_format_add(NULL, m, false, id, ci->name, ci->clock,
				      1, NULL, NULL, NULL, false, NULL);
	}
	re_snprintf(id, sizeof(id), "%d", SDPNEG_TE_PT);
	err |= sdp_format_add(NULL, m, false, id, "telephone-event", 8000, 1,
			      NULL, NULL, NULL, false, "0-15");
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


int sdpneg_offer(struct sdp_session **sessp, struct mbuf **mbp,
		 const struct sa *laddr, const struct sdpneg_prefs *prefs,
		 struct sdpneg_result *res)
{
	struct sdp_session *sess = NULL;
	struct sdp_media *m;
	int err;

	if (!sessp || !mbp || !laddr || !prefs || !res)
		return EINVAL;

	err = sdp_session_alloc(&sess, laddr);
	if (err)
		return err;

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


static void fill_common(struct sdpneg_result *res, struct sdp_media *m)
{
	const struct sdp_format *te;

	res->raddr = *sdp_media_raddr(m);
	sdp_media_raddr_rtcp(m, &res->raddr_rtcp);
	res->dir = sdp_media_dir(m);

	te = sdp_media_rformat(m, "telephone-event");
	res->te_tx_pt = te ? te->pt : -1;
	res->te_rx_pt = te ? te->pt : -1;
}


int sdpneg_decode_answer(struct sdp_session *sess, struct mbuf *mb,
			 const struct sdpneg_prefs *prefs,
			 struct sdpneg_result *res)
{
	struct crypto_pick cp;
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
	fill_common(res, m);

	memset(&cp, 0, sizeof(cp));
	res->srtp = false;
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
	struct crypto_pick cp;
	const char *reason = NULL;
	bool savp, want_srtp;
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
	err = sdp_media_add(&pm, probe, sdp_media_audio, sa_port(laddr),
			    sdp_proto_rtpavp);
	if (!err)
		err = sdp_media_set_alt_protos(pm, 2, sdp_proto_rtpavp,
					       sdp_proto_rtpsavp);
	if (!err)
		err = add_formats(pm, prefs, NULL);
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
		reason = "no usable audio stream (RTP/AVP or RTP/SAVP)";
		goto refuse;
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
	(void)sdp_media_rattr_apply(pm, "crypto", crypto_handler, &cp);

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
	err = sdp_session_alloc(&sess, laddr);
	if (err)
		goto out;
	err = sdp_media_add(&m, sess, sdp_media_audio, sa_port(laddr),
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
	if (!sa_isset(sdp_media_raddr(m), SA_ADDR)) {
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
	}
	fill_common(res, m);

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
