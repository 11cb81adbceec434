/*
 * number.c  Phone number normalisation to E.164 for caller matching.
 *
 * Deliberately small: no numbering-plan database.  A number is accepted
 * when it is international (+, 00, or the country's own international
 * prefix) or national with a default country, and has 6..15 digits.
 * Pure functions, any thread.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <re.h>
#include "policy/policy.h"
#include "policy/policy_int.h"

enum {
	E164_MIN = 6,    /* shortest accepted full number (digits)      */
	E164_MAX = 15,
	IN_MAX = 256,
};

struct country {
	const char *iso;
	const char *cc;        /* calling code                         */
	const char *trunk;     /* national trunk prefix, "" if none    */
	const char *intl;      /* international access prefix         */
};

static const struct country countries[] = {
	{"US", "1", "1", "011"}, {"CA", "1", "1", "011"},
	{"GB", "44", "0", "00"}, {"UK", "44", "0", "00"},
	{"DE", "49", "0", "00"}, {"AT", "43", "0", "00"},
	{"CH", "41", "0", "00"}, {"FR", "33", "0", "00"},
	{"NL", "31", "0", "00"}, {"BE", "32", "0", "00"},
	{"IT", "39", "", "00"},  {"ES", "34", "", "00"},
	{"PT", "351", "", "00"}, {"IE", "353", "0", "00"},
	{"SE", "46", "0", "00"}, {"NO", "47", "", "00"},
	{"DK", "45", "", "00"},  {"FI", "358", "0", "00"},
	{"PL", "48", "", "00"},  {"CZ", "420", "", "00"},
	{"AU", "61", "0", "0011"}, {"NZ", "64", "0", "00"},
	{"JP", "81", "0", "010"}, {"IN", "91", "0", "00"},
	{"BR", "55", "0", "00"}, {"MX", "52", "", "00"},
	{"ZA", "27", "0", "00"}, {"IL", "972", "0", "00"},
};


static bool is_sep(char c)
{
	return c == ' ' || c == '.' || c == '-' || c == '/' || c == '(' ||
		c == ')' || c == '\t';
}


static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}


/* Country from "US" or "49"/"+49"; a bare calling code gets trunk "0"
 * and international prefix "00". */
static bool country_get(struct country *c, const char *dc)
{
	if (!dc || !*dc)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(countries); i++) {
		if (!strcasecmp(countries[i].iso, dc)) {
			*c = countries[i];
			return true;
		}
	}
	if (*dc == '+')
		++dc;
	if (all_digits(dc) && strlen(dc) <= 3 && dc[0] != '0') {
		c->iso = "";
		c->cc = dc;
		c->trunk = "0";
		c->intl = "00";
		return true;
	}
	return false;
}


bool policy_country_valid(const char *dc)
{
	struct country c;

	return country_get(&c, dc);
}


/* Strip a URI down to its user part: tel:, sip:, sips:, <...>, params. */
static void uri_user(char *buf, size_t sz, const char *in)
{
	const char *p = in, *e;
	size_t n;

	while (*p == ' ' || *p == '<' || *p == '"')
		++p;
	if (!strncasecmp(p, "tel:", 4))
		p += 4;
	else if (!strncasecmp(p, "sips:", 5))
		p += 5;
	else if (!strncasecmp(p, "sip:", 4))
		p += 4;
	e = p + strcspn(p, "@;>?,");
	n = (size_t)(e - p);
	if (n >= sz)
		n = sz - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}


int policy_number_normalise(char *out, size_t sz, const char *in,
			    const char *default_country, bool allow_prefix)
{
	char user[IN_MAX], digits[IN_MAX], res[32];
	struct country c;
	bool plus = false, star = false, have_c;
	size_t nd = 0, len;
	const char *d;

	if (!out || !sz || !in)
		return EINVAL;
	*out = '\0';
	if (strlen(in) >= IN_MAX)
		return ERANGE;
	uri_user(user, sizeof(user), in);

	/* visual separators allowed; anything else makes it a non-number */
	for (const char *p = user; *p; p++) {
		if (is_sep(*p))
			continue;
		if (*p == '+' && !plus && nd == 0) {
			plus = true;
			continue;
		}
		if (*p == '*' && allow_prefix && !p[1] && !star) {
			star = true;
			continue;
		}
		if (*p < '0' || *p > '9')
			return EINVAL;
		if (nd >= sizeof(digits) - 1)
			return ERANGE;
		digits[nd++] = *p;
	}
	digits[nd] = '\0';
	if (!nd)
		return EINVAL;

	have_c = country_get(&c, default_country);
	d = digits;
	if (plus) {
		/* already international */
	}
	else if (have_c && *c.intl && !strncmp(d, c.intl, strlen(c.intl)) &&
		 strlen(d) > strlen(c.intl)) {
		d += strlen(c.intl);
	}
	else if (!strncmp(d, "00", 2) && strlen(d) > 2) {
		d += 2;
	}
	else if (have_c) {
		/* national: strip the trunk prefix, prepend the country */
		char nat[IN_MAX];
		size_t tl = strlen(c.trunk);

		if (!strcmp(c.cc, "1")) {
			/* NANP: 10 digits, or 1 + 10 digits */
			if (strlen(d) == 11 && d[0] == '1')
				d += 1;
			else if (strlen(d) != 10 && !star)
				return ERANGE;
		}
		else if (tl && !strncmp(d, c.trunk, tl)) {
			d += tl;
		}
		else if (tl) {
			/* a subscriber number without area code is not
			 * something we can place internationally */
			return EINVAL;
		}
		if (re_snprintf(nat, sizeof(nat), "%s%s", c.cc, d) < 0)
			return ERANGE;
		len = strlen(nat);
		if (len > E164_MAX || (!star && len < E164_MIN))
			return ERANGE;
		if (re_snprintf(res, sizeof(res), "+%s%s", nat,
				star ? "*" : "") < 0)
			return ERANGE;
		goto done;
	}
	else {
		return EINVAL;
	}

	len = strlen(d);
	if (!len || d[0] == '0')
		return EINVAL;
	if (len > E164_MAX || (!star && len < E164_MIN))
		return ERANGE;
	if (re_snprintf(res, sizeof(res), "+%s%s", d, star ? "*" : "") < 0)
		return ERANGE;

 done:
	if (strlen(res) >= sz)
		return ERANGE;
	strcpy(out, res);
	return 0;
}


void policy_number_redact(char *out, size_t sz, const char *number)
{
	size_t n;

	if (!out || !sz)
		return;
	*out = '\0';
	if (!number || !*number)
		return;
	n = strlen(number);
	/* "…" is three bytes of UTF-8 */
	(void)re_snprintf(out, sz, "\xe2\x80\xa6%s", n > 2 ? number + n - 2 :
			  number);
}


unsigned policy_redact_numbers(char *text)
{
	unsigned count = 0;
	char *r = text, *w = text;

	if (!text)
		return 0;
	while (*r) {
		char *p = r, last2[3] = "";
		size_t digits = 0;
		char *end = r;

		if (*p == '+')
			++p;
		/* digits with single separators between them */
		while (*p) {
			if (*p >= '0' && *p <= '9') {
				last2[0] = last2[1];
				last2[1] = *p;
				digits++;
				end = ++p;
				continue;
			}
			if (digits && strchr(" -.()/", *p)) {
				/* up to two separators: "(555) 555" */
				char *q = p + 1;

				if (*q && strchr(" -.()/", *q))
					++q;
				if (*q >= '0' && *q <= '9') {
					p = q;
					continue;
				}
				break;
			}
			if (!digits && *p == '(' && p[1] >= '0' && p[1] <= '9') {
				++p;
				continue;
			}
			break;
		}
		/* an ISO date (2026-11-22) is not a number */
		if (digits == 8 && end - r == 10 && r[4] == '-' && r[7] == '-')
			digits = 0;
		/* a word boundary before: not the tail of a longer token */
		if (digits >= 7 && (r == text || !((r[-1] >= 'a' &&
			r[-1] <= 'z') || (r[-1] >= 'A' && r[-1] <= 'Z')))) {
			last2[2] = '\0';
			*w++ = '\xe2';
			*w++ = '\x80';
			*w++ = '\xa6';
			*w++ = last2[0];
			*w++ = last2[1];
			r = end;
			count++;
			continue;
		}
		/* copy what was looked at up to the next candidate start */
		if (end > r) {
			while (r < end)
				*w++ = *r++;
		}
		else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return count;
}
