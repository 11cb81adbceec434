/*
 * policy.c  Per-call trust state: classification of the caller, the gate
 *           every agent action passes, blind-transfer confirmation, rate
 *           limits, passphrase/PIN authentication and the screen every
 *           caller turn passes (with the optional guard_url classifier).
 *
 * Main thread only, except guard_work() (a worker thread, touching only
 * its own job).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "core/conf.h"
#include "core/events.h"
#include "core/log.h"
#include "core/worker.h"
#include "engines/netclient.h"
#include "policy/policy.h"
#include "policy/policy_int.h"

#define MOD "policy"

enum {
	MAX_CIDR = 32,
	ALLOW_MAX = 10000,
	NUM_LEN = 20,
	GLOBAL_RING = 10000,        /* irreversible_per_hour maximum */
	PIN_MAX = 32,
};

const char *const policy_tools[] = {
	"hang_up", "report_call_result", "take_message",
	"send_dtmf", "hold_call", "resume_call", "open_entry",
	"place_call", "transfer_blind", "transfer_attended",
	NULL,
};

static const int tool_tiers[] = {
	TIER_SAFE, TIER_SAFE, TIER_SAFE,
	TIER_ELEVATED, TIER_ELEVATED, TIER_ELEVATED, TIER_ELEVATED,
	TIER_IRREVERSIBLE, TIER_IRREVERSIBLE, TIER_IRREVERSIBLE,
};

struct cidr {
	struct sa addr;
	unsigned bits;
};

/* settings and tables, set by policy_init */
static struct {
	bool up;
	struct policy_groups *groups;
	struct cidr pai[MAX_CIDR];
	size_t npai;
	char (*allow)[NUM_LEN];      /* outbound allow-list, normalised  */
	size_t nallow;
	int outbound_privilege;
	char confirm_digit;
	uint32_t confirm_secs;
	uint32_t per_call, per_hour;
	uint64_t ring[GLOBAL_RING];  /* times of IRREVERSIBLE actions    */
	size_t ring_pos;
	/* auth */
	char *passphrase;            /* normalised                       */
	char *pin;
	uint32_t auth_max;
	char *auth_group;
	char *msg_prompt, *msg_ok, *msg_fail, *msg_reject;
	/* screen */
	bool screen;
	uint32_t max_refusals;
	char *msg_refuse, *msg_refuse_hangup;
	bool decline_answer;
	char *msg_decline;
	char *guard_url;
	struct net_opts guard_opts;
	struct strand *guard_strand;
} pol;

struct guard_job;

struct policy_call {
	struct caller_class cls;
	char number[NUM_LEN];
	char callid[16];
	bool outbound;
	bool degraded;
	/* rate limit and confirmation */
	unsigned irreversible;
	int confirmed_tool;          /* -1 none                          */
	uint64_t confirmed_until;
	int await_tool;              /* -1 none                          */
	gate_confirm_h *awaith;
	void *await_arg;
	struct tmr tmr_await;
	/* auth */
	bool auth_pending;
	unsigned attempts;
	char pinbuf[PIN_MAX];
	/* screen */
	unsigned refusals;
	struct guard_job *job;       /* guard request in flight          */
};


/* --------------------------------------------------------- helpers */

static int tool_index(const char *tool)
{
	if (!tool)
		return -1;
	for (int i = 0; policy_tools[i]; i++) {
		if (!strcmp(policy_tools[i], tool))
			return i;
	}
	return -1;
}


int policy_tool_tier(const char *tool)
{
	int i = tool_index(tool);

	return i < 0 ? -1 : tool_tiers[i];
}


static int cidr_parse(struct cidr *c, const char *s)
{
	struct pl ip, bits, item;

	pl_set_str(&item, s);
	if (re_regex(item.p, item.l, "[^/]+/[0-9]+", &ip, &bits)) {
		ip = item;
		bits = pl_null;
	}
	if (sa_set(&c->addr, &ip, 0))
		return EINVAL;
	c->bits = pl_isset(&bits) ? pl_u32(&bits) :
		(sa_af(&c->addr) == AF_INET ? 32 : 128);
	if (c->bits > (sa_af(&c->addr) == AF_INET ? 32u : 128u))
		return EINVAL;
	return 0;
}


static bool cidr_match(const struct sa *a, const struct cidr *c)
{
	const uint8_t *x, *y;
	unsigned bytes, rem;

	if (sa_af(a) != sa_af(&c->addr))
		return false;
	if (sa_af(a) == AF_INET) {
		x = (const uint8_t *)&a->u.in.sin_addr;
		y = (const uint8_t *)&c->addr.u.in.sin_addr;
	}
	else {
		x = a->u.in6.sin6_addr.s6_addr;
		y = c->addr.u.in6.sin6_addr.s6_addr;
	}
	bytes = c->bits / 8;
	rem = c->bits % 8;
	if (memcmp(x, y, bytes))
		return false;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff << (8 - rem));
		if ((x[bytes] & mask) != (y[bytes] & mask))
			return false;
	}
	return true;
}


/* lower-case letters and digits, words separated by one space, with a
 * space at both ends (so containment is by whole words) */
static void words_norm(char *out, size_t sz, const char *in)
{
	size_t n = 0;
	bool space = true;

	if (!sz)
		return;
	if (n + 1 < sz)
		out[n++] = ' ';
	for (; in && *in && n + 2 < sz; in++) {
		char c = *in;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (unsigned char)c >= 0x80) {
			out[n++] = c;
			space = false;
		}
		else if (c == '\'') {
			continue;
		}
		else if (!space) {
			out[n++] = ' ';
			space = true;
		}
	}
	if (!space && n + 1 < sz)
		out[n++] = ' ';
	out[n] = '\0';
}


static bool ct_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = (unsigned char)(la != lb);

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}


static const char *cstr(const struct conf *conf, const char *key)
{
	const char *s = conf_str(conf, key);

	return s ? s : "";
}


/* ------------------------------------------------------------ init */

static int load_allow_item(const char *item, const char *what)
{
	char buf[NUM_LEN], red[16];
	int err;

	if (pol.nallow >= ALLOW_MAX) {
		log_error(MOD, NULL, "%s: more than %d numbers", what,
			  ALLOW_MAX);
		return EOVERFLOW;
	}
	err = policy_number_normalise(buf, sizeof(buf), item,
				      policy_groups_country(pol.groups),
				      false);
	if (err) {
		policy_number_redact(red, sizeof(red), item);
		log_error(MOD, NULL, "%s: malformed number (%s): use E.164 "
			  "(+ then 6..15 digits)", what, red);
		return EINVAL;
	}
	str_ncpy(pol.allow[pol.nallow++], buf, NUM_LEN);
	return 0;
}


static int load_allow(const struct conf *conf)
{
	const char *list = cstr(conf, "outbound_allow");
	const char *file = cstr(conf, "outbound_allow_file");
	char line[256];
	FILE *f;
	int err = 0;

	pol.allow = mem_zalloc(ALLOW_MAX * NUM_LEN, NULL);
	if (!pol.allow)
		return ENOMEM;

	while (*list) {
		size_t n = strcspn(list, ",");
		char item[128];

		if (n < sizeof(item)) {
			memcpy(item, list, n);
			item[n] = '\0';
			for (char *s = item; *s == ' ';)
				memmove(s, s + 1, strlen(s));
			while (*item && item[strlen(item) - 1] == ' ')
				item[strlen(item) - 1] = '\0';
			if (*item)
				err = load_allow_item(item, "outbound_allow");
		}
		else {
			log_error(MOD, NULL, "outbound_allow: item too long");
			err = EINVAL;
		}
		if (err)
			return err;
		list += n;
		if (*list == ',')
			++list;
	}

	if (!*file)
		return 0;
	f = fopen(file, "r");
	if (!f) {
		log_error(MOD, NULL, "outbound_allow_file: cannot read: %m",
			  errno);
		return EINVAL;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		char *s = line;

		line[strcspn(line, "\r\n#")] = '\0';
		while (*s == ' ' || *s == '\t')
			++s;
		while (*s && (s[strlen(s) - 1] == ' ' ||
			      s[strlen(s) - 1] == '\t'))
			s[strlen(s) - 1] = '\0';
		if (*s)
			err = load_allow_item(s, "outbound_allow_file");
	}
	fclose(f);
	return err;
}


static int dup_norm(char **dst, const char *s)
{
	char buf[512];

	words_norm(buf, sizeof(buf), s);
	return str_dup(dst, buf);
}


void policy_close(void)
{
	pol.groups = mem_deref(pol.groups);
	pol.allow = mem_deref(pol.allow);
	pol.passphrase = mem_deref(pol.passphrase);
	pol.pin = mem_deref(pol.pin);
	pol.auth_group = mem_deref(pol.auth_group);
	pol.msg_prompt = mem_deref(pol.msg_prompt);
	pol.msg_ok = mem_deref(pol.msg_ok);
	pol.msg_fail = mem_deref(pol.msg_fail);
	pol.msg_reject = mem_deref(pol.msg_reject);
	pol.msg_refuse = mem_deref(pol.msg_refuse);
	pol.msg_refuse_hangup = mem_deref(pol.msg_refuse_hangup);
	pol.msg_decline = mem_deref(pol.msg_decline);
	pol.guard_url = mem_deref(pol.guard_url);
	pol.guard_strand = mem_deref(pol.guard_strand);
	memset(&pol, 0, sizeof(pol));
}


int policy_init(const struct conf *conf)
{
	const char *file, *pai, *digit;
	char err[512];
	int e;

	policy_close();
	if (!conf)
		return EINVAL;

	file = cstr(conf, "caller_groups_file");
	if (*file) {
		e = policy_groups_load(&pol.groups, file, err, sizeof(err));
		if (e) {
			log_error(MOD, NULL, "caller_groups_file: %s", err);
			goto out;
		}
	}
	else {
		e = policy_groups_builtin(&pol.groups);
		if (e)
			goto out;
	}

	pai = cstr(conf, "trust_pai_from");
	while (*pai) {
		size_t n = strcspn(pai, ",");
		char item[80];

		while (n && *pai == ' ') {
			++pai;
			--n;
		}
		if (n && n < sizeof(item)) {
			memcpy(item, pai, n);
			item[n] = '\0';
			while (*item && item[strlen(item) - 1] == ' ')
				item[strlen(item) - 1] = '\0';
			if (pol.npai >= MAX_CIDR ||
			    cidr_parse(&pol.pai[pol.npai], item)) {
				log_error(MOD, NULL, "trust_pai_from: cannot "
					  "parse \"%s\" (CIDR, up to %d)",
					  item, MAX_CIDR);
				e = EINVAL;
				goto out;
			}
			pol.npai++;
		}
		pai += n;
		if (*pai == ',')
			++pai;
	}

	e = load_allow(conf);
	if (e)
		goto out;

	pol.outbound_privilege = (int)conf_int(conf, "outbound_privilege");
	digit = cstr(conf, "transfer_confirm_digit");
	pol.confirm_digit = digit[0];
	pol.confirm_secs = (uint32_t)conf_int(conf, "transfer_confirm_secs");
	pol.per_call = (uint32_t)conf_int(conf, "irreversible_per_call");
	pol.per_hour = (uint32_t)conf_int(conf, "irreversible_per_hour");

	if (*cstr(conf, "auth_passphrase")) {
		e = dup_norm(&pol.passphrase, cstr(conf, "auth_passphrase"));
		if (e)
			goto out;
		if (!strcmp(pol.passphrase, " ") || !*pol.passphrase) {
			log_error(MOD, NULL, "auth_passphrase: needs letters "
				  "or digits");
			e = EINVAL;
			goto out;
		}
	}
	if (*cstr(conf, "auth_pin")) {
		e = str_dup(&pol.pin, cstr(conf, "auth_pin"));
		if (e)
			goto out;
	}
	pol.auth_max = (uint32_t)conf_int(conf, "auth_max_attempts");
	if (*cstr(conf, "auth_group")) {
		if (!policy_groups_find(pol.groups, cstr(conf, "auth_group"),
					NULL)) {
			log_error(MOD, NULL, "auth_group: no such group in "
				  "caller_groups_file");
			e = EINVAL;
			goto out;
		}
		e = str_dup(&pol.auth_group, cstr(conf, "auth_group"));
		if (e)
			goto out;
	}
	e  = str_dup(&pol.msg_prompt, cstr(conf, "auth_prompt_message"));
	e |= str_dup(&pol.msg_ok, cstr(conf, "auth_success_message"));
	e |= str_dup(&pol.msg_fail, cstr(conf, "auth_failure_message"));
	e |= str_dup(&pol.msg_reject, cstr(conf, "auth_reject_message"));
	e |= str_dup(&pol.msg_refuse, cstr(conf, "screen_refuse_message"));
	e |= str_dup(&pol.msg_refuse_hangup,
		     cstr(conf, "screen_hangup_message"));
	e |= str_dup(&pol.msg_decline, cstr(conf, "decline_message"));
	pol.decline_answer = !strcmp(cstr(conf, "decline_mode"), "answer");
	if (e) {
		e = ENOMEM;
		goto out;
	}
	pol.screen = conf_bool(conf, "screen");
	pol.max_refusals = (uint32_t)conf_int(conf, "screen_max_refusals");

	if (*cstr(conf, "guard_url")) {
		struct net_url u;

		if (net_url_parse(&u, cstr(conf, "guard_url"), "")) {
			log_error(MOD, NULL, "guard_url: not an http(s) URL");
			e = EINVAL;
			goto out;
		}
		e = str_dup(&pol.guard_url, cstr(conf, "guard_url"));
		if (!e)
			e = strand_alloc(&pol.guard_strand);
		if (e)
			goto out;
		net_opts_conf(&pol.guard_opts, conf, "guard_timeout_ms");
	}

	pol.up = true;
	{
		struct caller_class dc;

		memset(&dc, 0, sizeof(dc));
		policy_groups_classify(pol.groups, NULL, &dc);
		log_info(MOD, NULL, "trust: %s, unknown callers are \"%s\", "
			 "outbound allow-list %zu number(s)%s%s%s",
			 *file ? "caller groups loaded" :
			 "no caller_groups_file (everyone is receptionist)",
			 dc.group, pol.nallow,
			 pol.nallow ? "" : " (outbound dialing off)",
			 pol.passphrase || pol.pin ? ", caller auth on" : "",
			 pol.guard_url ? ", guard_url on" : "");
	}

 out:
	if (e)
		policy_close();
	return e;
}


/* ------------------------------------------------------ per call */

static void call_destructor(void *arg);
static void await_settle(struct policy_call *pc, bool ok);


/* the identity of an INVITE: P-Asserted-Identity from a trusted PBX,
 * else the From user */
static void invite_identity(char *buf, size_t sz,
			    const struct sip_msg *msg, bool *pai_used)
{
	const struct sip_hdr *pai;
	bool trusted = false;

	*buf = '\0';
	*pai_used = false;
	pai = sip_msg_hdr(msg, SIP_HDR_P_ASSERTED_IDENTITY);
	for (size_t i = 0; pai && i < pol.npai; i++)
		trusted = trusted || cidr_match(&msg->src, &pol.pai[i]);
	if (pai && trusted) {
		struct pl v = pai->val, in;

		if (!re_regex(v.p, v.l, "<[^>]+>", &in))
			v = in;
		if (v.l < sz) {
			pl_strcpy(&v, buf, sz);
			*pai_used = true;
			return;
		}
	}
	if (pl_isset(&msg->from.uri.user) && msg->from.uri.user.l < sz)
		pl_strcpy(&msg->from.uri.user, buf, sz);
}


int policy_call_alloc(struct policy_call **pcp,
		      const struct sip_msg *invite_or_NULL,
		      const char *remote_number, bool outbound)
{
	struct policy_call *pc;
	char ident[256] = "";
	bool pai_used = false;
	const struct policy_groups *g = pol.groups;
	struct policy_groups *tmp = NULL;
	int err = 0;

	if (!pcp)
		return EINVAL;
	pc = mem_zalloc(sizeof(*pc), call_destructor);
	if (!pc)
		return ENOMEM;
	str_ncpy(pc->callid, "-", sizeof(pc->callid));
	tmr_init(&pc->tmr_await);
	pc->outbound = outbound;
	pc->confirmed_tool = -1;
	pc->await_tool = -1;

	if (!g) {
		err = policy_groups_builtin(&tmp);
		if (err)
			goto out;
		g = tmp;
	}
	if (invite_or_NULL)
		invite_identity(ident, sizeof(ident), invite_or_NULL,
				&pai_used);
	else if (remote_number)
		str_ncpy(ident, remote_number, sizeof(ident));

	if (*ident && 0 == policy_number_normalise(pc->number,
					sizeof(pc->number), ident,
					policy_groups_country(g), false))
		policy_groups_classify(g, pc->number, &pc->cls);
	else
		policy_groups_classify(g, NULL, &pc->cls);

	if (outbound) {
		/* our own task call: outbound_privilege, which a listed
		 * callee's group can only lower (a number proves nothing, so
		 * it never raises); never declined (we are calling them) */
		struct caller_class dc;

		memset(&dc, 0, sizeof(dc));
		policy_groups_classify(g, NULL, &dc);
		if (!strcmp(dc.group, pc->cls.group) ||
		    pc->cls.privilege > pol.outbound_privilege)
			pc->cls.privilege = pol.outbound_privilege;
		pc->cls.declined = false;
	}
	if (!pol.up) {
		/* nothing configured: safest behaviour */
		pc->cls.privilege = 0;
	}
	pc->auth_pending = !outbound && (pol.passphrase || pol.pin);
	if (pc->cls.declined) {
		/* answered only to be declined: nothing above SAFE, ever */
		pc->degraded = true;
		pc->auth_pending = false;
	}
	(void)pai_used;

 out:
	/* strings of a temporary table: classification falls back to
	 * constants so they outlive it */
	if (tmp) {
		pc->cls.group = "receptionist";
		pc->cls.persona = "receptionist";
		pc->cls.channel = "phone";
		pc->cls.privilege = 0;
		pc->cls.declined = false;
		mem_deref(tmp);
	}
	if (err)
		mem_deref(pc);
	else
		*pcp = pc;
	return err;
}


bool policy_group_at(size_t i, struct caller_class *cls)
{
	struct caller_class tmp;

	if (!pol.groups) {
		/* nothing configured: the built-in receptionist only */
		if (i)
			return false;
		if (cls) {
			memset(cls, 0, sizeof(*cls));
			cls->group = "receptionist";
			cls->persona = "receptionist";
			cls->channel = "phone";
		}
		return true;
	}
	if (!policy_groups_at(pol.groups, i, cls ? cls : &tmp))
		return false;
	if (cls)
		cls->number = NULL;
	return true;
}


int policy_call_alloc_group(struct policy_call **pcp, const char *group)
{
	struct caller_class cls, best;
	struct policy_call *pc;
	bool found = false;

	if (!pcp)
		return EINVAL;
	memset(&best, 0, sizeof(best));
	for (size_t i = 0; policy_group_at(i, &cls); i++) {
		if (group && *group) {
			if (strcmp(cls.group, group))
				continue;
			if (cls.declined)
				return EPERM;
			best = cls;
			found = true;
			break;
		}
		if (cls.declined)
			continue;
		if (!found || cls.privilege > best.privilege) {
			best = cls;
			found = true;
		}
	}
	if (!found)
		return ENOENT;

	pc = mem_zalloc(sizeof(*pc), call_destructor);
	if (!pc)
		return ENOMEM;
	str_ncpy(pc->callid, "-", sizeof(pc->callid));
	tmr_init(&pc->tmr_await);
	pc->confirmed_tool = -1;
	pc->await_tool = -1;
	/* strings of pol.groups (or constants): they outlive the call */
	pc->cls = best;
	pc->cls.number = NULL;
	pc->cls.redacted[0] = '\0';
	if (!pol.up)
		pc->cls.privilege = 0;
	*pcp = pc;
	return 0;
}


const struct caller_class *policy_call_class(const struct policy_call *pc)
{
	return pc ? &pc->cls : NULL;
}


void policy_call_set_id(struct policy_call *pc, const char *callid)
{
	if (pc)
		str_ncpy(pc->callid, callid ? callid : "-",
			 sizeof(pc->callid));
}


bool policy_call_degraded(const struct policy_call *pc)
{
	return pc && pc->degraded;
}


bool policy_auth_pending(const struct policy_call *pc)
{
	return pc && pc->auth_pending;
}


bool policy_decline_answers(void)
{
	return pol.decline_answer;
}


const char *policy_decline_line(const struct policy_call *pc)
{
	if (!pc || !pc->cls.declined || !pol.decline_answer)
		return NULL;
	return pol.msg_decline && *pol.msg_decline ? pol.msg_decline :
		"Goodbye.";
}


const char *policy_auth_prompt(const struct policy_call *pc)
{
	if (!pc || !pc->auth_pending || !pol.msg_prompt)
		return NULL;
	return pol.msg_prompt;
}


/* ------------------------------------------------------------ gate */

static uint64_t now_ms(void)
{
	return tmr_jiffies();
}


static unsigned global_count(void)
{
	uint64_t now = now_ms();
	unsigned n = 0;

	for (size_t i = 0; i < GLOBAL_RING; i++) {
		if (pol.ring[i] && now - pol.ring[i] < 3600 * 1000ull)
			n++;
	}
	return n;
}


static bool on_allowlist(const char *target)
{
	char num[NUM_LEN];

	if (!target || policy_number_normalise(num, sizeof(num), target,
				policy_groups_country(pol.groups), false))
		return false;
	for (size_t i = 0; i < pol.nallow; i++) {
		if (!strcmp(pol.allow[i], num))
			return true;
	}
	return false;
}


static const char *gate_decide(struct policy_call *pc, int ti)
{
	int tier;

	if (ti < 0)
		return "unknown_tool";
	tier = tool_tiers[ti];
	if (pc->degraded && tier > TIER_SAFE)
		return "degraded";
	if ((tier == TIER_ELEVATED && pc->cls.privilege < 2) ||
	    (tier == TIER_IRREVERSIBLE && pc->cls.privilege < 3))
		return "privilege";
	if (pol.up && !policy_groups_tool_allowed(pol.groups, pc->cls.group,
						 policy_tools[ti]))
		return "tool_not_allowed";
	if (tier != TIER_IRREVERSIBLE)
		return NULL;
	if (!strcmp(policy_tools[ti], "transfer_blind")) {
		if (!pol.confirm_digit)
			return "disabled";
	}
	else if (!pol.nallow) {
		return "disabled";
	}
	if (pc->irreversible >= pol.per_call ||
	    global_count() >= pol.per_hour)
		return "rate_limited";
	return NULL;
}


int gate_check(struct policy_call *pc, const char *tool, const char *target,
	       const char **categoryp)
{
	int ti = tool_index(tool);
	const char *cat;
	char esc[64];

	if (!pc) {
		if (categoryp)
			*categoryp = "privilege";
		return EPERM;
	}
	cat = gate_decide(pc, ti);
	if (!cat && ti >= 0 && (!strcmp(policy_tools[ti], "place_call") ||
				!strcmp(policy_tools[ti],
					"transfer_attended"))) {
		if (!on_allowlist(target))
			cat = "not_on_allowlist";
	}
	if (!cat && ti >= 0 && !strcmp(policy_tools[ti], "transfer_blind")) {
		if (pc->confirmed_tool != ti ||
		    now_ms() > pc->confirmed_until)
			cat = "needs_confirmation";
	}

	if (categoryp)
		*categoryp = cat ? cat : "";
	events_esc(esc, sizeof(esc), ti >= 0 ? policy_tools[ti] : "?");
	events_emit("gate", pc->callid, ",\"tool\":\"%s\",\"decision\":\"%s\","
		    "\"category\":\"%s\",\"group\":\"%s\",\"privilege\":%d",
		    esc, cat ? "deny" : "allow", cat ? cat : "",
		    pc->cls.group, pc->cls.privilege);
	if (cat) {
		log_info(MOD, pc->callid, "gate: %s denied (%s; group %s, "
			 "level %d)", ti >= 0 ? policy_tools[ti] : "unknown "
			 "tool", cat, pc->cls.group, pc->cls.privilege);
		return EPERM;
	}
	return 0;
}


bool gate_offered(const struct policy_call *pc, const char *tool)
{
	const char *cat;

	if (!pc)
		return false;
	cat = gate_decide((struct policy_call *)(uintptr_t)pc,
			  tool_index(tool));
	return !cat || !strcmp(cat, "rate_limited");
}


void gate_commit(struct policy_call *pc, const char *tool)
{
	int ti = tool_index(tool);

	if (!pc || ti < 0 || tool_tiers[ti] != TIER_IRREVERSIBLE)
		return;
	pc->irreversible++;
	pol.ring[pol.ring_pos] = now_ms() ? now_ms() : 1;
	pol.ring_pos = (pol.ring_pos + 1) % GLOBAL_RING;
	if (pc->confirmed_tool == ti)
		pc->confirmed_tool = -1;
}


char gate_confirm_digit(void)
{
	return pol.confirm_digit;
}


void gate_confirm_set(struct policy_call *pc, const char *tool)
{
	if (!pc)
		return;
	pc->confirmed_tool = tool_index(tool);
	pc->confirmed_until = now_ms() + pol.confirm_secs * 1000ull;
}


static void await_tmr_handler(void *arg)
{
	struct policy_call *pc = arg;

	log_info(MOD, pc->callid, "transfer not confirmed in time");
	await_settle(pc, false);
}


static void await_settle(struct policy_call *pc, bool ok)
{
	gate_confirm_h *h = pc->awaith;
	void *arg = pc->await_arg;
	int ti = pc->await_tool;

	if (ti < 0)
		return;
	tmr_cancel(&pc->tmr_await);
	pc->await_tool = -1;
	pc->awaith = NULL;
	if (ok)
		gate_confirm_set(pc, policy_tools[ti]);
	events_emit("gate_confirm", pc->callid, ",\"tool\":\"%s\","
		    "\"confirmed\":%s", policy_tools[ti], ok ? "true" : "false");
	if (h)
		h(ok, arg);
}


int gate_confirm_await(struct policy_call *pc, const char *tool,
		       gate_confirm_h *h, void *arg)
{
	int ti = tool_index(tool);

	if (!pc || ti < 0 || !pol.confirm_digit)
		return EINVAL;
	if (pc->await_tool >= 0)
		return EALREADY;
	pc->await_tool = ti;
	pc->awaith = h;
	pc->await_arg = arg;
	tmr_start(&pc->tmr_await, pol.confirm_secs * 1000ull,
		  await_tmr_handler, pc);
	return 0;
}


/* ---------------------------------------------------- guard_url */

struct guard_job {
	struct policy_call *pc;      /* NULL once cancelled (main)      */
	policy_turn_h *h;
	void *arg;
	char *text;
	char *url;
	struct net_opts opts;
	enum screen_verdict rules;
	const char *rule;
	/* worker result */
	enum screen_verdict verdict;
	int status;
};


static void guard_job_destructor(void *arg)
{
	struct guard_job *j = arg;

	mem_deref(j->text);
	mem_deref(j->url);
}


static bool guard_body(const uint8_t *p, size_t n, void *arg)
{
	struct mbuf *mb = arg;

	if (mb->end + n > 8192)
		return true;
	(void)mbuf_write_mem(mb, p, n);
	return false;
}


/* worker thread */
static int guard_work(void *arg)
{
	struct guard_job *j = arg;
	struct mbuf *body = mbuf_alloc(512), *resp = mbuf_alloc(512);
	struct net_resp r;
	struct net_req req;
	struct odict *od = NULL;
	const char *v;
	int err;

	if (!body || !resp) {
		err = ENOMEM;
		goto out;
	}
	err = mbuf_printf(body, "{\"text\":\"%H\"}", utf8_encode,
			  j->text);
	if (err)
		goto out;
	memset(&req, 0, sizeof(req));
	memset(&r, 0, sizeof(r));
	req.method = "POST";
	req.url = j->url;
	req.ctype = "application/json";
	req.body = body->buf;
	req.len = body->end;
	err = net_http(&j->opts, &req, &r, guard_body, resp);
	if (err)
		goto out;
	j->status = r.status;
	if (r.status < 200 || r.status > 299) {
		err = EPROTO;
		goto out;
	}
	err = net_json_decode(&od, (const char *)resp->buf, resp->end);
	if (err)
		goto out;
	v = net_json_str(od, "verdict");
	if (!v)
		err = EBADMSG;
	else if (!strcasecmp(v, "allow"))
		j->verdict = SCREEN_ALLOW;
	else if (!strcasecmp(v, "clarify"))
		j->verdict = SCREEN_CLARIFY;
	else if (!strcasecmp(v, "refuse"))
		j->verdict = SCREEN_REFUSE;
	else
		err = EBADMSG;
 out:
	mem_deref(od);
	mem_deref(body);
	mem_deref(resp);
	return err;
}


static void apply_verdict(struct policy_call *pc, enum screen_verdict v,
			  const char *rule, const char *text,
			  policy_turn_h *h, void *arg);


static void guard_done(int err, void *arg)
{
	struct guard_job *j = arg;
	struct policy_call *pc = j->pc;
	enum screen_verdict v = j->rules;
	const char *rule = j->rule;

	if (!pc)
		return;          /* cancelled or call gone */
	pc->job = NULL;
	j->pc = NULL;
	if (err) {
		log_warn(MOD, pc->callid, "guard_url failed (%m, status %d): "
			 "treating the turn as CLARIFY", err, j->status);
		if (v < SCREEN_CLARIFY) {
			v = SCREEN_CLARIFY;
			rule = "guard_failed";
		}
	}
	else if (j->verdict > v) {
		v = j->verdict;
		rule = "guard";
	}
	apply_verdict(pc, v, rule, j->text, j->h, j->arg);
	mem_deref(j);
}


/* ---------------------------------------------------- caller turns */

static void call_destructor(void *arg)
{
	struct policy_call *pc = arg;

	tmr_cancel(&pc->tmr_await);
	if (pc->job) {
		pc->job->pc = NULL;
		mem_deref(pc->job);
	}
}


void policy_turn_cancel(struct policy_call *pc)
{
	if (!pc)
		return;
	if (pc->job) {
		pc->job->pc = NULL;
		pc->job = mem_deref(pc->job);
	}
	await_settle(pc, false);
}


static void apply_verdict(struct policy_call *pc, enum screen_verdict v,
			  const char *rule, const char *text,
			  policy_turn_h *h, void *arg)
{
	if (v != SCREEN_ALLOW) {
		log_info(MOD, pc->callid, "screen: %s (rule %s)%s",
			 screen_verdict_name(v), rule,
			 pc->degraded ? "" : "; call degraded to SAFE actions");
		events_emit("screen", pc->callid, ",\"verdict\":\"%s\","
			    "\"rule\":\"%s\"", screen_verdict_name(v), rule);
		pc->degraded = true;
	}
	if (v == SCREEN_REFUSE) {
		pc->refusals++;
		if (pol.max_refusals && pc->refusals >= pol.max_refusals) {
			log_info(MOD, pc->callid, "screen: %u refusals in a "
				 "row: ending the call", pc->refusals);
			h(POLICY_SAY_HANGUP, pol.msg_refuse_hangup ?
			  pol.msg_refuse_hangup : "", arg);
			return;
		}
		h(POLICY_SAY, pol.msg_refuse ? pol.msg_refuse : "", arg);
		return;
	}
	if (v == SCREEN_ALLOW)
		pc->refusals = 0;
	h(POLICY_PASS, text, arg);
}


int policy_screen_context(struct policy_call *pc, const char *text)
{
	const char *rule = "";
	enum screen_verdict v;

	if (!text)
		return EINVAL;
	v = screen_text(text, &rule);
	if (v == SCREEN_ALLOW)
		return 0;
	log_info(MOD, pc ? pc->callid : NULL, "screen: untrusted context "
		 "%s (rule %s)", screen_verdict_name(v), rule);
	if (pc) {
		events_emit("screen", pc->callid, ",\"verdict\":\"%s\","
			    "\"rule\":\"%s\",\"source\":\"context\"",
			    screen_verdict_name(v), rule);
		pc->degraded = true;
	}
	return v == SCREEN_REFUSE ? EPERM : 0;
}


static void auth_ok(struct policy_call *pc, policy_turn_h *h, void *arg)
{
	struct caller_class gc;

	pc->auth_pending = false;
	memset(pc->pinbuf, 0, sizeof(pc->pinbuf));
	log_info(MOD, pc->callid, "caller authenticated");
	if (pol.auth_group && policy_groups_find(pol.groups, pol.auth_group,
						 &gc) &&
	    gc.privilege >= pc->cls.privilege) {
		pc->cls.group = gc.group;
		pc->cls.persona = gc.persona;
		pc->cls.channel = gc.channel;
		pc->cls.privilege = gc.privilege;
		log_info(MOD, pc->callid, "caller raised to group %s (level "
			 "%d)", gc.group, gc.privilege);
	}
	events_emit("auth", pc->callid, ",\"result\":\"ok\",\"group\":\"%s\","
		    "\"privilege\":%d", pc->cls.group, pc->cls.privilege);
	h(POLICY_SAY, pol.msg_ok ? pol.msg_ok : "", arg);
}


static void auth_fail(struct policy_call *pc, policy_turn_h *h, void *arg)
{
	pc->attempts++;
	memset(pc->pinbuf, 0, sizeof(pc->pinbuf));
	log_info(MOD, pc->callid, "caller auth failed (attempt %u%s)",
		 pc->attempts, pol.auth_max ? "" : ", unlimited");
	if (pol.auth_max && pc->attempts >= pol.auth_max) {
		events_emit("auth", pc->callid, ",\"result\":\"rejected\","
			    "\"attempts\":%u", pc->attempts);
		h(POLICY_SAY_HANGUP, pol.msg_reject ? pol.msg_reject : "",
		  arg);
		return;
	}
	events_emit("auth", pc->callid, ",\"result\":\"failed\","
		    "\"attempts\":%u", pc->attempts);
	h(POLICY_SAY, pol.msg_fail ? pol.msg_fail : "", arg);
}


static void auth_turn(struct policy_call *pc, bool dtmf, const char *text,
		      policy_turn_h *h, void *arg)
{
	if (dtmf) {
		size_t n;

		if (!pol.pin) {
			h(POLICY_SAY, pol.msg_prompt ? pol.msg_prompt : "",
			  arg);
			return;
		}
		/* one keypad turn (the agent ends it at '#' or a pause) is
		 * one entry: no feedback on a partly right PIN */
		n = strcspn(text, "#");
		if (n >= sizeof(pc->pinbuf))
			n = sizeof(pc->pinbuf) - 1;
		memcpy(pc->pinbuf, text, n);
		pc->pinbuf[n] = '\0';
		if (ct_equal(pc->pinbuf, pol.pin))
			auth_ok(pc, h, arg);
		else
			auth_fail(pc, h, arg);
		return;
	}
	if (pol.passphrase) {
		char said[1024];

		words_norm(said, sizeof(said), text);
		if (strstr(said, pol.passphrase))
			auth_ok(pc, h, arg);
		else
			auth_fail(pc, h, arg);
		return;
	}
	/* PIN only: speech does not count as an attempt */
	h(POLICY_SAY, pol.msg_prompt ? pol.msg_prompt : "", arg);
}


int policy_turn(struct policy_call *pc, bool dtmf, const char *text,
		policy_turn_h *h, void *arg)
{
	enum screen_verdict v;
	const char *rule = "";
	struct guard_job *j;
	int err;

	if (!pc || !text || !h)
		return EINVAL;

	if (pc->job) {               /* a newer turn replaces the old one */
		pc->job->pc = NULL;
		pc->job = mem_deref(pc->job);
	}

	if (pc->cls.declined) {
		/* answered only to say no: a caller who talked over the line
		 * hears it again, then the call ends */
		h(POLICY_SAY_HANGUP, policy_decline_line(pc) ?
		  policy_decline_line(pc) : "", arg);
		return 0;
	}

	if (pc->await_tool >= 0) {
		if (dtmf) {
			await_settle(pc, text[0] && text[0] ==
				     pol.confirm_digit);
			h(POLICY_SAY, "", arg);
			return 0;
		}
		await_settle(pc, false);   /* speech: nobody confirmed */
	}

	if (pc->auth_pending) {
		auth_turn(pc, dtmf, text, h, arg);
		return 0;
	}

	if (dtmf) {                  /* digits carry no instructions */
		h(POLICY_PASS, text, arg);
		return 0;
	}

	v = pol.screen || !pol.up ? screen_text(text, &rule) : SCREEN_ALLOW;
	/* the rules already refuse: no need to ask the guard */
	if (!pol.guard_url || !pol.guard_strand || v == SCREEN_REFUSE) {
		apply_verdict(pc, v, rule, text, h, arg);
		return 0;
	}

	j = mem_zalloc(sizeof(*j), guard_job_destructor);
	if (!j)
		return ENOMEM;
	j->pc = pc;
	j->h = h;
	j->arg = arg;
	j->rules = v;
	j->rule = rule;
	j->opts = pol.guard_opts;
	err  = str_dup(&j->text, text);
	err |= str_dup(&j->url, pol.guard_url);
	if (err) {
		mem_deref(j);
		return ENOMEM;
	}
	/* one reference for the strand (freed after guard_done), one for
	 * the call (dropped on cancel) */
	err = strand_run(pol.guard_strand, guard_work, guard_done, j);
	if (err) {
		mem_deref(j);
		log_warn(MOD, pc->callid, "guard_url: cannot queue (%m): "
			 "treating the turn as CLARIFY", err);
		apply_verdict(pc, v > SCREEN_CLARIFY ? v : SCREEN_CLARIFY,
			      "guard_failed", text, h, arg);
		return 0;
	}
	pc->job = j;   /* strand_run took its own reference */
	return 0;
}
