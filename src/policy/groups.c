/*
 * groups.c  The caller-groups file: parse, validate, classify.
 *
 *   {"groups":[{"name","privilege_level","persona","channel",
 *               "allowed_tools":[..],"declined_at_sip"}],
 *    "lists":{"<group>":["+15555550100","+15550*"]},
 *    "default_group","match_order":[..],"normalization":"e164",
 *    "default_country":"US"}
 *
 * Validation is strict (unknown keys are errors: a typo in a security
 * file should not silently change who may do what).  Error messages name
 * the JSON path and never contain a full number.  Pure; any thread.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "policy/policy.h"
#include "policy/policy_int.h"

enum {
	GROUPS_MAX = 64,
	NUMBERS_MAX = 100000,
	DOC_MAX = 4 << 20,
	NAME_MAX_LEN = 64,
	NUM_LEN = 20,
};

struct pgroup {
	char *name, *persona, *channel;
	int privilege;
	bool declined;
	bool has_tools;           /* allowed_tools given: narrow to mask */
	uint32_t tools;           /* bit per policy_tools[] index        */
	char (*nums)[NUM_LEN];    /* normalised, maybe '*'-suffixed     */
	size_t nnums;
};

struct policy_groups {
	struct pgroup *v;
	size_t n;
	size_t dflt;
	size_t order[GROUPS_MAX];
	size_t norder;
	char *country;
};


static void groups_destructor(void *arg)
{
	struct policy_groups *g = arg;

	for (size_t i = 0; i < g->n; i++) {
		mem_deref(g->v[i].name);
		mem_deref(g->v[i].persona);
		mem_deref(g->v[i].channel);
		mem_deref(g->v[i].nums);
	}
	mem_deref(g->v);
	mem_deref(g->country);
}


static int fail(char *err, size_t errsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return EINVAL;
}


static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > NAME_MAX_LEN)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return false;
	}
	return true;
}


/* a key given twice in one object (JSON allows it, we do not: which one
 * would count?) */
static const char *dup_key(const struct odict *o)
{
	for (struct le *a = o->lst.head; a; a = a->next) {
		const struct odict_entry *ea = a->data;

		for (struct le *b = a->next; b; b = b->next) {
			const struct odict_entry *eb = b->data;

			if (!strcmp(ea->key, eb->key))
				return ea->key;
		}
	}
	return NULL;
}


static ssize_t group_idx(const struct policy_groups *g, const char *name)
{
	for (size_t i = 0; i < g->n; i++) {
		if (!strcmp(g->v[i].name, name))
			return (ssize_t)i;
	}
	return -1;
}


static int str_field(char **dst, const struct odict_entry *e,
		     const char *what, char *err, size_t errsz)
{
	if (e->type != ODICT_STRING)
		return fail(err, errsz, "%s must be a string", what);
	if (strlen(e->u.str) > 256)
		return fail(err, errsz, "%s is too long", what);
	return str_dup(dst, e->u.str);
}


static int parse_group(struct policy_groups *g, size_t idx,
		       const struct odict_entry *ge, char *err, size_t errsz)
{
	struct pgroup *pg = &g->v[idx];
	char what[96];
	bool have_level = false;
	struct le *le;
	int e;

	if (ge->type != ODICT_OBJECT)
		return fail(err, errsz, "groups[%zu] must be an object", idx);
	if (dup_key(ge->u.odict))
		return fail(err, errsz, "groups[%zu].%s given twice", idx,
			    dup_key(ge->u.odict));

	for (le = ge->u.odict->lst.head; le; le = le->next) {
		const struct odict_entry *f = le->data;

		snprintf(what, sizeof(what), "groups[%zu].%s", idx, f->key);
		if (!strcmp(f->key, "name")) {
			if (f->type != ODICT_STRING || !name_ok(f->u.str))
				return fail(err, errsz, "%s must be a name of "
					    "1..64 letters, digits, _ - .",
					    what);
			if (pg->name)
				return fail(err, errsz, "%s given twice",
					    what);
			e = str_dup(&pg->name, f->u.str);
			if (e)
				return e;
		}
		else if (!strcmp(f->key, "privilege_level")) {
			if (f->type != ODICT_INT || f->u.integer < 0 ||
			    f->u.integer > 3)
				return fail(err, errsz, "%s must be an integer "
					    "0..3", what);
			pg->privilege = (int)f->u.integer;
			have_level = true;
		}
		else if (!strcmp(f->key, "persona")) {
			e = str_field(&pg->persona, f, what, err, errsz);
			if (e)
				return e;
		}
		else if (!strcmp(f->key, "channel")) {
			e = str_field(&pg->channel, f, what, err, errsz);
			if (e)
				return e;
		}
		else if (!strcmp(f->key, "declined_at_sip")) {
			if (f->type != ODICT_BOOL)
				return fail(err, errsz, "%s must be true or "
					    "false", what);
			pg->declined = f->u.boolean;
		}
		else if (!strcmp(f->key, "allowed_tools")) {
			struct le *te;
			size_t k = 0;

			if (f->type != ODICT_ARRAY)
				return fail(err, errsz, "%s must be an array "
					    "of tool names", what);
			pg->has_tools = true;
			for (te = f->u.odict->lst.head; te; te = te->next, k++) {
				const struct odict_entry *t = te->data;
				int ti = -1;

				if (t->type == ODICT_STRING) {
					for (int j = 0; policy_tools[j]; j++) {
						if (!strcmp(policy_tools[j],
							    t->u.str))
							ti = j;
					}
				}
				if (ti < 0)
					return fail(err, errsz, "%s[%zu]: unknown "
						    "tool name (known: hang_up "
						    "report_call_result "
						    "take_message send_dtmf "
						    "hold_call resume_call "
						    "open_entry place_call "
						    "transfer_blind "
						    "transfer_attended)",
						    what, k);
				pg->tools |= 1u << ti;
			}
		}
		else {
			return fail(err, errsz, "%s: unknown key", what);
		}
	}
	if (!pg->name)
		return fail(err, errsz, "groups[%zu]: \"name\" is missing",
			    idx);
	if (!have_level)
		return fail(err, errsz, "groups[%zu] (%s): \"privilege_level\" "
			    "is missing", idx, pg->name);
	for (size_t i = 0; i < idx; i++) {
		if (!strcmp(g->v[i].name, pg->name))
			return fail(err, errsz, "groups[%zu]: duplicate group "
				    "name \"%s\"", idx, pg->name);
	}
	if (!pg->persona)
		e = str_dup(&pg->persona, pg->name);
	else
		e = 0;
	if (!e && !pg->channel)
		e = str_dup(&pg->channel, "phone");
	return e;
}


static int parse_list(struct policy_groups *g, const struct odict_entry *le_,
		      const char *country, size_t *total, char *err,
		      size_t errsz)
{
	ssize_t gi = group_idx(g, le_->key);
	struct pgroup *pg;
	struct le *le;
	size_t k = 0, n;

	if (gi < 0)
		return fail(err, errsz, "lists.%s: unknown group (not in "
			    "\"groups\")", le_->key);
	if (le_->type != ODICT_ARRAY)
		return fail(err, errsz, "lists.%s must be an array of numbers",
			    le_->key);
	pg = &g->v[gi];
	if (pg->nums)
		return fail(err, errsz, "lists.%s given twice", le_->key);
	n = list_count(&le_->u.odict->lst);
	*total += n;
	if (*total > NUMBERS_MAX)
		return fail(err, errsz, "lists: more than %d numbers",
			    NUMBERS_MAX);
	if (!n)
		return 0;
	pg->nums = mem_zalloc(n * sizeof(*pg->nums), NULL);
	if (!pg->nums)
		return ENOMEM;
	for (le = le_->u.odict->lst.head; le; le = le->next, k++) {
		const struct odict_entry *e = le->data;
		char red[16];

		if (e->type != ODICT_STRING)
			return fail(err, errsz, "lists.%s[%zu] must be a "
				    "string", le_->key, k);
		if (policy_number_normalise(pg->nums[k], NUM_LEN, e->u.str,
					    country, true)) {
			policy_number_redact(red, sizeof(red), e->u.str);
			return fail(err, errsz, "lists.%s[%zu] (%s): malformed "
				    "number: use E.164 (+ then 6..15 digits), a "
				    "prefix ending in * (+1555*) or a "
				    "national number with default_country",
				    le_->key, k, red);
		}
		if (pg->nums[k][0] == '+' && pg->nums[k][1] == '*')
			return fail(err, errsz, "lists.%s[%zu]: a bare \"+*\" "
				    "prefix matches everyone; use "
				    "default_group", le_->key, k);
	}
	pg->nnums = n;
	return 0;
}


int policy_groups_parse(struct policy_groups **gp, const char *json,
			size_t len, char *err, size_t errsz)
{
	struct policy_groups *g = NULL;
	struct odict *od = NULL;
	const struct odict_entry *groups = NULL, *lists = NULL, *dflt = NULL;
	const struct odict_entry *order = NULL, *country = NULL;
	struct le *le;
	size_t n, k, total = 0;
	int e;

	if (err && errsz)
		*err = '\0';
	if (!gp || !json)
		return EINVAL;
	if (len > DOC_MAX) {
		fail(err, errsz, "file larger than %d bytes", DOC_MAX);
		return EOVERFLOW;
	}
	while (len && (json[len - 1] == ' ' || json[len - 1] == '\n' ||
		       json[len - 1] == '\r' || json[len - 1] == '\t'))
		--len;
	e = len && json[0] == '{' ? json_decode_odict(&od, 16, json, len, 8) :
		EBADMSG;
	if (e) {
		e = fail(err, errsz, "not valid JSON (or nested deeper than "
			 "8 levels)");
		goto out;
	}

	if (dup_key(od)) {
		e = fail(err, errsz, "%s given twice", dup_key(od));
		goto out;
	}
	for (le = od->lst.head; le; le = le->next) {
		const struct odict_entry *t = le->data;

		if (!strcmp(t->key, "groups"))
			groups = t;
		else if (!strcmp(t->key, "lists"))
			lists = t;
		else if (!strcmp(t->key, "default_group"))
			dflt = t;
		else if (!strcmp(t->key, "match_order"))
			order = t;
		else if (!strcmp(t->key, "default_country"))
			country = t;
		else if (!strcmp(t->key, "normalization")) {
			if (t->type != ODICT_STRING ||
			    strcmp(t->u.str, "e164")) {
				e = fail(err, errsz, "normalization: only "
					 "\"e164\" is supported");
				goto out;
			}
		}
		else {
			e = fail(err, errsz, "%s: unknown key (known: groups, "
				 "lists, default_group, match_order, "
				 "normalization, default_country)", t->key);
			goto out;
		}
	}

	g = mem_zalloc(sizeof(*g), groups_destructor);
	if (!g) {
		e = ENOMEM;
		goto out;
	}

	if (country) {
		if (country->type != ODICT_STRING ||
		    !policy_country_valid(country->u.str)) {
			e = fail(err, errsz, "default_country: unknown country "
				 "(an ISO code like \"US\", \"DE\" or a "
				 "calling code like \"49\")");
			goto out;
		}
		e = str_dup(&g->country, country->u.str);
		if (e)
			goto out;
	}

	if (!groups || groups->type != ODICT_ARRAY) {
		e = fail(err, errsz, "\"groups\" (an array of groups) is "
			 "missing");
		goto out;
	}
	n = list_count(&groups->u.odict->lst);
	if (n > GROUPS_MAX) {
		e = fail(err, errsz, "groups: more than %d groups",
			 GROUPS_MAX);
		goto out;
	}
	/* one spare slot for the built-in receptionist */
	g->v = mem_zalloc((n + 1) * sizeof(*g->v), NULL);
	if (!g->v) {
		e = ENOMEM;
		goto out;
	}
	for (le = groups->u.odict->lst.head, k = 0; le; le = le->next, k++) {
		g->n = k + 1;
		e = parse_group(g, k, le->data, err, errsz);
		if (e)
			goto out;
	}

	if (lists) {
		if (lists->type != ODICT_OBJECT) {
			e = fail(err, errsz, "lists must be an object "
				 "{\"group\": [numbers]}");
			goto out;
		}
		if (dup_key(lists->u.odict)) {
			e = fail(err, errsz, "lists.%s given twice",
				 dup_key(lists->u.odict));
			goto out;
		}
		for (le = lists->u.odict->lst.head; le; le = le->next) {
			e = parse_list(g, le->data, g->country, &total, err,
				       errsz);
			if (e)
				goto out;
		}
	}

	if (order) {
		if (order->type != ODICT_ARRAY) {
			e = fail(err, errsz, "match_order must be an array of "
				 "group names");
			goto out;
		}
		k = 0;
		for (le = order->u.odict->lst.head; le; le = le->next, k++) {
			const struct odict_entry *o = le->data;
			ssize_t gi = o->type == ODICT_STRING ?
				group_idx(g, o->u.str) : -1;

			if (gi < 0) {
				e = fail(err, errsz, "match_order[%zu]: unknown "
					 "group", k);
				goto out;
			}
			for (size_t j = 0; j < g->norder; j++) {
				if (g->order[j] == (size_t)gi) {
					e = fail(err, errsz, "match_order[%zu]:"
						 " \"%s\" listed twice", k,
						 g->v[gi].name);
					goto out;
				}
			}
			if (g->norder >= GROUPS_MAX) {
				e = fail(err, errsz, "match_order too long");
				goto out;
			}
			g->order[g->norder++] = (size_t)gi;
		}
		/* every group with a list must be ordered explicitly */
		for (size_t i = 0; i < g->n; i++) {
			bool in = false;

			for (size_t j = 0; j < g->norder; j++)
				in = in || g->order[j] == i;
			if (g->v[i].nnums && !in) {
				e = fail(err, errsz, "match_order: group \"%s\" "
					 "has a list but is not in "
					 "match_order", g->v[i].name);
				goto out;
			}
		}
	}
	else {
		for (size_t i = 0; i < g->n; i++)
			g->order[g->norder++] = i;
	}

	if (dflt) {
		ssize_t gi = dflt->type == ODICT_STRING ?
			group_idx(g, dflt->u.str) : -1;

		if (gi < 0) {
			e = fail(err, errsz, "default_group: unknown group");
			goto out;
		}
		g->dflt = (size_t)gi;
	}
	else {
		ssize_t gi = group_idx(g, "receptionist");

		if (gi < 0) {
			struct pgroup *pg = &g->v[g->n];

			e  = str_dup(&pg->name, "receptionist");
			e |= str_dup(&pg->persona, "receptionist");
			e |= str_dup(&pg->channel, "phone");
			g->n++;
			if (e) {
				e = ENOMEM;
				goto out;
			}
			gi = (ssize_t)g->n - 1;
		}
		g->dflt = (size_t)gi;
	}
	if (g->v[g->dflt].privilege > 0) {
		e = fail(err, errsz, "default_group \"%s\" has privilege_level "
			 "%d: unknown callers must be unprivileged (level 0)",
			 g->v[g->dflt].name, g->v[g->dflt].privilege);
		goto out;
	}

 out:
	mem_deref(od);
	if (e)
		mem_deref(g);
	else
		*gp = g;
	return e;
}


int policy_groups_load(struct policy_groups **gp, const char *path,
		       char *err, size_t errsz)
{
	struct mbuf *mb = NULL;
	FILE *f;
	char buf[4096];
	size_t n;
	int e = 0;

	if (!gp || !path)
		return EINVAL;
	f = fopen(path, "rb");
	if (!f) {
		e = errno;
		(void)re_snprintf(err, errsz, "cannot read: %m", e);
		return e;
	}
	mb = mbuf_alloc(8192);
	if (!mb) {
		fclose(f);
		return ENOMEM;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (mb->end + n > DOC_MAX) {
			e = fail(err, errsz, "file larger than %d bytes",
				 DOC_MAX);
			break;
		}
		e = mbuf_write_mem(mb, (uint8_t *)buf, n);
		if (e)
			break;
	}
	fclose(f);
	if (!e)
		e = policy_groups_parse(gp, (const char *)mb->buf, mb->end,
					err, errsz);
	mem_deref(mb);
	return e;
}


int policy_groups_builtin(struct policy_groups **gp)
{
	static const char doc[] = "{\"groups\":[{\"name\":\"receptionist\","
		"\"privilege_level\":0}]}";

	return policy_groups_parse(gp, doc, sizeof(doc) - 1, NULL, 0);
}


static bool num_match(const char *pat, const char *num)
{
	size_t n = strlen(pat);

	if (n && pat[n - 1] == '*')
		return !strncmp(pat, num, n - 1);
	return !strcmp(pat, num);
}


static void fill(const struct policy_groups *g, size_t i,
		 struct caller_class *cls)
{
	cls->group = g->v[i].name;
	cls->persona = g->v[i].persona;
	cls->channel = g->v[i].channel;
	cls->privilege = g->v[i].privilege;
	cls->declined = g->v[i].declined;
}


void policy_groups_classify(const struct policy_groups *g, const char *number,
			    struct caller_class *cls)
{
	if (!g || !cls)
		return;
	fill(g, g->dflt, cls);
	cls->number = number;
	policy_number_redact(cls->redacted, sizeof(cls->redacted), number);
	if (!number)
		return;
	for (size_t k = 0; k < g->norder; k++) {
		const struct pgroup *pg = &g->v[g->order[k]];

		for (size_t j = 0; j < pg->nnums; j++) {
			if (num_match(pg->nums[j], number)) {
				fill(g, g->order[k], cls);
				return;
			}
		}
	}
}


const char *policy_groups_country(const struct policy_groups *g)
{
	return g ? g->country : NULL;
}


bool policy_groups_find(const struct policy_groups *g, const char *name,
			struct caller_class *cls)
{
	ssize_t gi;

	if (!g || !name)
		return false;
	gi = group_idx(g, name);
	if (gi < 0)
		return false;
	if (cls)
		fill(g, (size_t)gi, cls);
	return true;
}


/* The i-th group in file order (softphone group list); false past the
 * end. */
bool policy_groups_at(const struct policy_groups *g, size_t i,
		      struct caller_class *cls)
{
	if (!g || i >= g->n)
		return false;
	if (cls)
		fill(g, i, cls);
	return true;
}


bool policy_groups_tool_allowed(const struct policy_groups *g,
				const char *group, const char *tool)
{
	ssize_t gi;

	if (!g || !group || !tool)
		return false;
	gi = group_idx(g, group);
	if (gi < 0)
		return false;
	if (!g->v[gi].has_tools)
		return true;
	for (int j = 0; policy_tools[j]; j++) {
		if (!strcmp(policy_tools[j], tool))
			return (g->v[gi].tools >> j) & 1;
	}
	return false;
}
