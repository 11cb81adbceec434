/*
 * textnorm.c  Text normaliser for TTS (English, German).
 *
 * One pass over the input: a scanner looks at each position, recognises
 * markup (dropped), URLs, numbers in their various shapes and words, and
 * writes words and a little punctuation into a bounded output builder
 * that puts exactly one space between words and collapses punctuation.
 * Every look-ahead is bounded, so the cost is linear in the input.
 *
 * Any thread; no global mutable state.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "pipeline/textnorm.h"

enum lang { LANG_EN = 0, LANG_DE };

/* ------------------------------------------------------------ output */

struct ob {
	char *p;
	size_t sz;
	size_t len;
	bool full;
};


static void ob_raw(struct ob *ob, const char *s, size_t n)
{
	if (ob->full)
		return;
	if (ob->len + n + 1 > ob->sz) {
		ob->full = true;
		return;
	}
	memcpy(ob->p + ob->len, s, n);
	ob->len += n;
	ob->p[ob->len] = '\0';
}


static char ob_last(const struct ob *ob)
{
	return ob->len ? ob->p[ob->len - 1] : '\0';
}


/* One word, separated from the previous one by a space. */
static void ob_word(struct ob *ob, const char *s)
{
	size_t n = strlen(s);

	if (!n || ob->full)
		return;
	if (ob->len && ob->len + n + 2 > ob->sz) {
		ob->full = true;
		return;
	}
	if (ob->len)
		ob_raw(ob, " ", 1);
	ob_raw(ob, s, n);
}


static bool is_punct(char c)
{
	return c && strchr(",;:.!?", c) != NULL;
}


/* Punctuation: never at the start, never doubled; a sentence end
 * replaces a pending comma. */
static void ob_punct(struct ob *ob, char c)
{
	char last = ob_last(ob);

	if (!ob->len || ob->full)
		return;
	if (c == ',' || c == ';' || c == ':') {
		if (is_punct(last))
			return;
		ob_raw(ob, &c, 1);
		return;
	}
	if (last == ',' || last == ';' || last == ':') {
		ob->p[ob->len - 1] = c;
		return;
	}
	if (is_punct(last))
		return;
	ob_raw(ob, &c, 1);
}


static void ob_ellipsis(struct ob *ob)
{
	char last = ob_last(ob);

	if (!ob->len || ob->full || last == '.' || last == '!' ||
	    last == '?')
		return;
	if (is_punct(last)) {
		--ob->len;
		ob->p[ob->len] = '\0';
	}
	ob_raw(ob, "...", 3);
}


/* The last word written, lower-cased ASCII (for context rules). */
static void ob_lastword(const struct ob *ob, char *buf, size_t sz)
{
	size_t e = ob->len, b;

	while (e && is_punct(ob->p[e - 1]))
		--e;
	b = e;
	while (b && ob->p[b - 1] != ' ')
		--b;
	if (e != ob->len || e - b >= sz) {
		/* punctuation in between: no context */
		buf[0] = '\0';
		return;
	}
	for (size_t i = 0; i < e - b; i++) {
		char c = ob->p[b + i];
		buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	buf[e - b] = '\0';
}


/* Small string builder for number words. */
struct sb {
	char b[512];
	size_t n;
};


static void sb_cat(struct sb *sb, const char *s)
{
	size_t n = strlen(s);

	if (sb->n + n + 1 > sizeof(sb->b))
		return;
	memcpy(sb->b + sb->n, s, n + 1);
	sb->n += n;
}


static void sb_word(struct sb *sb, const char *s)
{
	if (sb->n && sb->b[sb->n - 1] != ' ')
		sb_cat(sb, " ");
	sb_cat(sb, s);
}


/* ------------------------------------------------------ number words */

static const char *const en_small[] = {
	"zero", "one", "two", "three", "four", "five", "six", "seven",
	"eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen",
	"fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
};
static const char *const en_tens[] = {
	"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
	"eighty", "ninety",
};
static const char *const de_small[] = {
	"null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben",
	"acht", "neun", "zehn", "elf", "zwölf", "dreizehn", "vierzehn",
	"fünfzehn", "sechzehn", "siebzehn", "achtzehn", "neunzehn",
};
static const char *const de_tens[] = {
	"", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig",
	"siebzig", "achtzig", "neunzig",
};
static const char *const en_months[] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};
static const char *const de_months[] = {
	"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli",
	"August", "September", "Oktober", "November", "Dezember",
};

#define NUM_MAX 999999999999ULL   /* spoken as words up to here */


static void en_cardinal(struct sb *sb, uint64_t v)
{
	static const struct {
		uint64_t n;
		const char *w;
	} big[] = {
		{1000000000ULL, "billion"}, {1000000, "million"},
		{1000, "thousand"}, {100, "hundred"},
	};

	if (v < 20) {
		sb_word(sb, en_small[v]);
		return;
	}
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		if (v >= big[i].n) {
			en_cardinal(sb, v / big[i].n);
			sb_word(sb, big[i].w);
			if (v % big[i].n)
				en_cardinal(sb, v % big[i].n);
			return;
		}
	}
	sb_word(sb, en_tens[v / 10]);
	if (v % 10)
		sb_word(sb, en_small[v % 10]);
}


/* The last word of sb turned into its ordinal. */
static void en_ordinalise(struct sb *sb)
{
	static const struct {
		const char *c, *o;
	} irr[] = {
		{"one", "first"}, {"two", "second"}, {"three", "third"},
		{"five", "fifth"}, {"eight", "eighth"}, {"nine", "ninth"},
		{"twelve", "twelfth"},
	};
	char *w = strrchr(sb->b, ' ');
	size_t wl;

	w = w ? w + 1 : sb->b;
	wl = strlen(w);
	for (size_t i = 0; i < sizeof(irr) / sizeof(irr[0]); i++) {
		if (!strcmp(w, irr[i].c)) {
			sb->n = (size_t)(w - sb->b);
			sb->b[sb->n] = '\0';
			sb_cat(sb, irr[i].o);
			return;
		}
	}
	if (wl && w[wl - 1] == 'y') {
		sb->n--;
		sb->b[sb->n] = '\0';
		sb_cat(sb, "ieth");
		return;
	}
	sb_cat(sb, "th");
}


static void de_below100(struct sb *sb, unsigned v, bool final)
{
	if (v == 1) {
		sb_cat(sb, final ? "eins" : "ein");
		return;
	}
	if (v < 20) {
		sb_cat(sb, de_small[v]);
		return;
	}
	if (v % 10) {
		sb_cat(sb, v % 10 == 1 ? "ein" : de_small[v % 10]);
		sb_cat(sb, "und");
	}
	sb_cat(sb, de_tens[v / 10]);
}


static void de_below1000(struct sb *sb, unsigned v, bool final)
{
	if (v >= 100) {
		sb_cat(sb, v / 100 == 1 ? "ein" : de_small[v / 100]);
		sb_cat(sb, "hundert");
	}
	if (v % 100)
		de_below100(sb, v % 100, final);
}


/* German cardinal; `final` = a trailing 1 is "eins" (else "ein"). */
static void de_cardinal(struct sb *sb, uint64_t v, bool final)
{
	static const struct {
		uint64_t n;
		const char *one, *many;
	} big[] = {
		{1000000000ULL, "eine Milliarde", "Milliarden"},
		{1000000, "eine Million", "Millionen"},
	};

	if (sb->n && sb->b[sb->n - 1] != ' ')
		sb_cat(sb, " ");
	if (v == 0) {
		sb_cat(sb, "null");
		return;
	}
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		if (v >= big[i].n) {
			uint64_t m = v / big[i].n;

			if (m == 1) {
				sb_cat(sb, big[i].one);
			}
			else {
				de_cardinal(sb, m, false);
				sb_cat(sb, " ");
				sb_cat(sb, big[i].many);
			}
			if (v % big[i].n) {
				sb_cat(sb, " ");
				de_cardinal(sb, v % big[i].n, final);
			}
			return;
		}
	}
	if (v >= 1000) {
		de_below1000(sb, (unsigned)(v / 1000), false);
		sb_cat(sb, "tausend");
	}
	if (v % 1000)
		de_below1000(sb, (unsigned)(v % 1000), final);
}


/* German ordinal with ending "e", "en" or "er". */
static void de_ordinal(struct sb *sb, uint64_t v, const char *ending)
{
	unsigned r = (unsigned)(v % 100);

	if (v == 0) {
		sb_word(sb, "nullte");
		return;
	}
	if (r && r < 20) {
		if (v - r)
			de_cardinal(sb, v - r, false);
		else if (sb->n && sb->b[sb->n - 1] != ' ')
			sb_cat(sb, " ");
		switch (r) {
		case 1: sb_cat(sb, "erst"); break;
		case 3: sb_cat(sb, "dritt"); break;
		case 7: sb_cat(sb, "siebt"); break;
		case 8: sb_cat(sb, "acht"); break;
		default:
			sb_cat(sb, de_small[r]);
			sb_cat(sb, "t");
			break;
		}
	}
	else {
		de_cardinal(sb, v, false);
		sb_cat(sb, "st");
	}
	sb_cat(sb, ending);
}


static void cardinal(struct sb *sb, enum lang lang, uint64_t v)
{
	if (lang == LANG_DE)
		de_cardinal(sb, v, true);
	else
		en_cardinal(sb, v);
}


static void year_words(struct sb *sb, enum lang lang, unsigned y)
{
	if (lang == LANG_DE) {
		if (y >= 1100 && y < 2000) {
			if (sb->n)
				sb_cat(sb, " ");
			de_below100(sb, y / 100, false);
			sb_cat(sb, "hundert");
			if (y % 100)
				de_below100(sb, y % 100, true);
			return;
		}
		de_cardinal(sb, y, true);
		return;
	}
	if (y >= 2000 && y < 2010) {
		en_cardinal(sb, y);
		return;
	}
	en_cardinal(sb, y / 100);
	if (y % 100 == 0) {
		sb_word(sb, "hundred");
		return;
	}
	if (y % 100 < 10)
		sb_word(sb, "oh");
	en_cardinal(sb, y % 100);
}


static const char *digit_word(enum lang lang, unsigned d, bool phone)
{
	if (lang == LANG_DE)
		return (phone && d == 2) ? "zwo" : de_small[d];
	return en_small[d];
}


/* ----------------------------------------------------------- scanner */

enum line_kind { LINE_TEXT = 0, LINE_HEAD, LINE_ITEM };

struct tn {
	const char *s;
	size_t n;
	size_t i;
	enum lang lang;
	struct ob ob;
	bool line_start;
	bool in_fence;
	enum line_kind line_kind;
	size_t link_close;   /* index of a link's ']' (0 = none)  */
	size_t link_end;     /* index after its ')'                */
};


static char at(const struct tn *tn, size_t i)
{
	return i < tn->n ? tn->s[i] : '\0';
}


static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}


static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}


static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}


static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}


static unsigned atoi_n(const char *s, size_t n)
{
	unsigned v = 0;

	for (size_t k = 0; k < n; k++)
		v = v * 10 + (unsigned)(s[k] - '0');
	return v;
}


static bool eq_ci(const char *a, const char *b)
{
	while (*a && lower(*a) == lower(*b)) {
		++a;
		++b;
	}
	return *a == *b;
}


/* Decode one UTF-8 sequence at s[i]; returns its length (0 = invalid,
 * overlong, surrogate or truncated). */
static size_t utf8_dec(const char *s, size_t n, size_t i, uint32_t *cpp)
{
	const unsigned char *u = (const unsigned char *)s + i;
	size_t avail = n - i, len;
	uint32_t cp, min;

	if (u[0] < 0x80) {
		*cpp = u[0];
		return 1;
	}
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		len = 2; cp = u[0] & 0x1f; min = 0x80;
	}
	else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		len = 3; cp = u[0] & 0x0f; min = 0x800;
	}
	else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		len = 4; cp = u[0] & 0x07; min = 0x10000;
	}
	else {
		return 0;
	}
	if (avail < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((u[k] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (u[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cpp = cp;
	return len;
}


static bool cp_is_letter(uint32_t cp)
{
	if (cp < 0x80)
		return is_alpha((char)cp);
	return (cp >= 0xc0 && cp <= 0x24f && cp != 0xd7 && cp != 0xf7) ||
		(cp >= 0x370 && cp <= 0x1fff) ||
		(cp >= 0x3040 && cp <= 0xd7af) ||
		(cp >= 0xf900 && cp <= 0xfaff);
}


/* Letter (ASCII or UTF-8) at i: its byte length, else 0. */
static size_t letter_at(const struct tn *tn, size_t i)
{
	uint32_t cp;
	size_t l;

	if (i >= tn->n)
		return 0;
	l = utf8_dec(tn->s, tn->n, i, &cp);
	return (l && cp_is_letter(cp)) ? l : 0;
}


static bool is_lower_at(const struct tn *tn, size_t i)
{
	uint32_t cp;
	char c = at(tn, i);

	if (c >= 'a' && c <= 'z')
		return true;
	/* ä ö ü ß and other Latin-1 lower case letters */
	return utf8_dec(tn->s, tn->n, i < tn->n ? i : 0, &cp) == 2 &&
		i < tn->n && cp >= 0xdf && cp <= 0xff && cp != 0xf7;
}


static size_t skip_spaces(const struct tn *tn, size_t i)
{
	while (i < tn->n && is_space(tn->s[i]))
		++i;
	return i;
}


/* Case-insensitive ASCII prefix match at i. */
static bool match_ci(const struct tn *tn, size_t i, const char *p)
{
	size_t l = strlen(p);

	if (i + l > tn->n)
		return false;
	for (size_t k = 0; k < l; k++) {
		if (lower(tn->s[i + k]) != lower(p[k]))
			return false;
	}
	return true;
}


static bool match(const struct tn *tn, size_t i, const char *p)
{
	size_t l = strlen(p);

	return i + l <= tn->n && !memcmp(tn->s + i, p, l);
}


/* A month name starts at i (either language): its index, else -1. */
static int month_at(const struct tn *tn, size_t i)
{
	for (int m = 0; m < 12; m++) {
		const char *names[2] = {en_months[m], de_months[m]};

		for (int k = 0; k < 2; k++) {
			size_t l = strlen(names[k]);

			if (match(tn, i, names[k]) && !letter_at(tn, i + l))
				return m;
		}
	}
	return -1;
}


static void say(struct tn *tn, const char *en, const char *de)
{
	ob_word(&tn->ob, tn->lang == LANG_DE ? de : en);
}


static void say_sb(struct tn *tn, const struct sb *sb)
{
	ob_word(&tn->ob, sb->b);
}


/* --------------------------------------------------------- markup */

static size_t eol(const struct tn *tn, size_t i)
{
	while (i < tn->n && tn->s[i] != '\n')
		++i;
	return i;
}


/* A horizontal rule or table separator: only these chars. */
static bool line_only(const struct tn *tn, size_t i, const char *set,
		      unsigned minrun)
{
	size_t e = eol(tn, i);
	unsigned cnt = 0;

	for (size_t k = i; k < e; k++) {
		char c = tn->s[k];

		if (is_space(c))
			continue;
		if (!strchr(set, c))
			return false;
		++cnt;
	}
	return cnt >= minrun;
}


/* Does the line at i start a block (blank, heading, list item)? */
static bool line_is_block(const struct tn *tn, size_t i)
{
	char c, d;

	i = skip_spaces(tn, i);
	c = at(tn, i);
	d = at(tn, i + 1);
	if (c == '\0' || c == '\n' || c == '#' || c == '>' || c == '|')
		return true;
	if ((c == '-' || c == '*' || c == '+') && d == ' ')
		return true;
	if (match(tn, i, "\xe2\x80\xa2") || match(tn, i, "```"))
		return true;
	while (is_digit(at(tn, i)))
		++i;
	return is_digit(c) && (at(tn, i) == '.' || at(tn, i) == ')') &&
		at(tn, i + 1) == ' ';
}


static void line_start(struct tn *tn)
{
	size_t i = skip_spaces(tn, tn->i), k;

	tn->line_kind = LINE_TEXT;
	if (match(tn, i, "```") || match(tn, i, "~~~")) {
		tn->in_fence = !tn->in_fence;
		tn->i = eol(tn, i);
		return;
	}
	if (tn->in_fence) {
		tn->i = eol(tn, i);
		return;
	}
	while (at(tn, i) == '>')
		i = skip_spaces(tn, i + 1);
	if (line_only(tn, i, "-*_", 3) ||
	    (at(tn, i) == '|' && line_only(tn, i, "|-:", 3))) {
		tn->i = eol(tn, i);
		return;
	}
	k = i;
	while (at(tn, k) == '#' && k - i < 6)
		++k;
	if (k > i && (at(tn, k) == ' ' || at(tn, k) == '\n' ||
		      k >= tn->n)) {
		tn->line_kind = LINE_HEAD;
		tn->i = k;
		return;
	}
	if (strchr("-*+", at(tn, i)) && at(tn, i) && at(tn, i + 1) == ' ') {
		tn->line_kind = LINE_ITEM;
		tn->i = i + 2;
		return;
	}
	if (match(tn, i, "\xe2\x80\xa2")) {
		tn->line_kind = LINE_ITEM;
		tn->i = i + 3;
		return;
	}
	k = i;
	while (is_digit(at(tn, k)) && k - i < 3)
		++k;
	if (k > i && (at(tn, k) == '.' || at(tn, k) == ')') &&
	    at(tn, k + 1) == ' ' &&
	    month_at(tn, skip_spaces(tn, k + 1)) < 0) {
		tn->line_kind = LINE_ITEM;
		tn->i = k + 2;
		return;
	}
	if (at(tn, i) == '|')
		++i;
	tn->i = i;
}


static void end_line(struct tn *tn)
{
	size_t next = tn->i + 1;

	if (tn->line_kind != LINE_TEXT || line_is_block(tn, next))
		ob_punct(&tn->ob, '.');
	tn->i = next;
	tn->line_start = true;
}


static bool stage_word(const struct tn *tn, size_t i)
{
	static const char *const words[] = {
		"sigh", "laugh", "chuckl", "pause", "pausing", "smil",
		"cough", "clears", "whisper", "gasp", "giggl", "grin", "nod",
		"seufz", "lacht", "l\303\244chel", "r\xc3\xa4usper",
		"hustet", "fl\xc3\xbcster", "kicher", "grinst", "nickt",
		"beat", "silence", "inhales", "exhales", "music",
	};

	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		if (match_ci(tn, i, words[k]))
			return true;
	}
	return false;
}


/* '*': bold/italic delimiters are dropped; a lower-case *action* that
 * stands at a sentence boundary is a stage direction and dropped whole. */
static void star(struct tn *tn)
{
	size_t i = tn->i, j, b;
	bool left, right;

	if (at(tn, i + 1) == '*') {
		while (at(tn, i) == '*')
			++i;
		tn->i = i;
		return;
	}
	for (j = i + 1; j < tn->n && j - i < 80; j++) {
		if (tn->s[j] == '*' || tn->s[j] == '\n')
			break;
	}
	if (at(tn, j) != '*' || j == i + 1 || is_space(at(tn, i + 1)) ||
	    is_space(tn->s[j - 1]) || at(tn, j + 1) == '*') {
		tn->i = i + 1;
		return;
	}
	b = i;
	while (b && is_space(tn->s[b - 1]))
		--b;
	left = b == 0 || strchr(".!?:\n", tn->s[b - 1]);
	b = skip_spaces(tn, j + 1);
	right = b >= tn->n || strchr(".!?\n", tn->s[b]) ||
		(tn->s[b] >= 'A' && tn->s[b] <= 'Z');
	if ((is_lower_at(tn, i + 1) && (left || right)) ||
	    stage_word(tn, i + 1)) {
		tn->i = j + 1;
		ob_punct(&tn->ob, ',');
		return;
	}
	tn->i = i + 1;
}


/* '[': a link keeps its text; [pause], [1], [x] are dropped. */
static void bracket(struct tn *tn)
{
	size_t i = tn->i, j, k;

	for (j = i + 1; j < tn->n && j - i < 300; j++) {
		if (tn->s[j] == ']' || tn->s[j] == '[' || tn->s[j] == '\n')
			break;
	}
	if (at(tn, j) != ']') {
		tn->i = i + 1;
		return;
	}
	if (at(tn, j + 1) == '(') {
		for (k = j + 2; k < tn->n && k - j < 2000; k++) {
			if (tn->s[k] == ')' || tn->s[k] == '\n' ||
			    tn->s[k] == ' ')
				break;
		}
		if (at(tn, k) == ')') {
			if (j == i + 1) {
				tn->i = k + 1;
				return;
			}
			tn->link_close = j;
			tn->link_end = k + 1;
			tn->i = i + 1;
			return;
		}
	}
	if (j - i <= 64) {
		tn->i = j + 1;
		return;
	}
	tn->i = i + 1;
}


/* '(': (sighs) is dropped, other parentheses become pauses. */
static void paren(struct tn *tn)
{
	size_t i = tn->i, j;

	for (j = i + 1; j < tn->n && j - i < 40; j++) {
		if (tn->s[j] == ')' || tn->s[j] == '\n' || tn->s[j] == '(')
			break;
	}
	if (at(tn, j) == ')' && stage_word(tn, i + 1)) {
		tn->i = j + 1;
		return;
	}
	ob_punct(&tn->ob, ',');
	tn->i = i + 1;
}


/* '<': HTML-ish tags are dropped; <http://...> falls through to URL. */
static void angle(struct tn *tn)
{
	size_t i = tn->i, j;
	char c = at(tn, i + 1);

	if (is_alpha(c) || c == '/') {
		for (j = i + 1; j < tn->n && j - i < 64; j++) {
			char d = tn->s[j];

			if (d == '>' || d == '<' || d == '\n')
				break;
		}
		if (at(tn, j) == '>' && !match_ci(tn, i + 1, "http") &&
		    !match_ci(tn, i + 1, "www.")) {
			tn->i = j + 1;
			return;
		}
	}
	tn->i = i + 1;
}


/* ---------------------------------------------------- URLs, domains */

static bool url(struct tn *tn)
{
	size_t i = tn->i, e;

	if (!match_ci(tn, i, "http://") && !match_ci(tn, i, "https://") &&
	    !match_ci(tn, i, "ftp://") && !match_ci(tn, i, "www."))
		return false;
	for (e = i; e < tn->n; e++) {
		char c = tn->s[e];

		if ((unsigned char)c <= ' ' || strchr("<>\"'`)]", c))
			break;
	}
	while (e > i && strchr(".,;:!?*_", tn->s[e - 1]))
		--e;
	tn->i = e;
	say(tn, "a link", "einen Link");
	return true;
}


static bool is_tld(const char *s, size_t n)
{
	static const char *const tlds[] = {
		"com", "org", "net", "de", "io", "ai", "co", "uk", "eu", "at",
		"ch", "info", "gov", "edu", "app", "dev", "us", "biz",
	};

	for (size_t k = 0; k < sizeof(tlds) / sizeof(tlds[0]); k++) {
		if (strlen(tlds[k]) == n && !memcmp(tlds[k], s, n))
			return true;
	}
	return false;
}


/* name@example.com and example.com are spelled out. */
static bool domain(struct tn *tn)
{
	size_t i = tn->i, e, at_pos = 0, last_dot = 0, first_dot = 0;
	unsigned ats = 0;

	for (e = i; e < tn->n && e - i < 128; e++) {
		char c = tn->s[e];

		if (c == '@') {
			++ats;
			at_pos = e;
		}
		else if (c == '.') {
			if (!first_dot)
				first_dot = e;
			last_dot = e;
		}
		else if (!is_alpha(c) && !is_digit(c) && !strchr("_%+-", c)) {
			break;
		}
	}
	while (e > i && strchr(".-_", tn->s[e - 1]))
		--e;
	first_dot = last_dot = 0;
	for (size_t k = i; k < e; k++) {
		if (tn->s[k] != '.')
			continue;
		if (!first_dot)
			first_dot = k;
		last_dot = k;
	}
	if (!last_dot || last_dot >= e || ats > 1 || letter_at(tn, e))
		return false;
	if (last_dot + 1 >= e || !is_tld(tn->s + last_dot + 1,
					 e - last_dot - 1))
		return false;
	if (ats && (at_pos == i || at_pos > last_dot))
		return false;
	if (!ats && first_dot - i < 2)
		return false;
	for (size_t k = i; k < e; ) {
		char c = tn->s[k];
		char w[130];
		size_t l = 0;

		if (is_alpha(c)) {
			while (k < e && is_alpha(tn->s[k]) && l < 128)
				w[l++] = tn->s[k++];
			w[l] = '\0';
			ob_word(&tn->ob, w);
			continue;
		}
		if (is_digit(c))
			ob_word(&tn->ob, digit_word(tn->lang, (unsigned)(c - '0'),
						    false));
		else if (c == '.')
			say(tn, "dot", "Punkt");
		else if (c == '@')
			say(tn, "at", "\xc3\xa4t");
		else if (c == '-')
			say(tn, "dash", "Strich");
		else if (c == '_')
			say(tn, "underscore", "Unterstrich");
		else if (c == '+')
			say(tn, "plus", "plus");
		++k;
	}
	tn->i = e;
	return true;
}


/* ------------------------------------------------------ abbreviations */

struct abbr {
	const char *text;
	const char *say;
	unsigned lang;      /* 1 en, 2 de, 3 both */
	bool ci;            /* first letter case-insensitive */
};

static const struct abbr abbrs[] = {
	{"e.g.", "for example", 1, true},
	{"i.e.", "that is", 1, true},
	{"etc.", "et cetera", 3, false},
	{"vs.", "versus", 1, false},
	{"approx.", "approximately", 1, true},
	{"Dr.", "Doctor", 1, false},
	{"Mr.", "Mister", 1, false},
	{"Mrs.", "Missus", 1, false},
	{"Ms.", "Miz", 1, false},
	{"Prof.", "Professor", 3, false},
	{"Jr.", "Junior", 1, false},
	{"Sr.", "Senior", 1, false},
	{"a.m.", "a m", 1, false},
	{"p.m.", "p m", 1, false},
	{"z.B.", "zum Beispiel", 2, true},
	{"z. B.", "zum Beispiel", 2, true},
	{"d.h.", "das hei\xc3\x9ft", 2, true},
	{"d. h.", "das hei\xc3\x9ft", 2, true},
	{"u.a.", "unter anderem", 2, false},
	{"u. a.", "unter anderem", 2, false},
	{"usw.", "und so weiter", 2, false},
	{"bzw.", "beziehungsweise", 2, false},
	{"ca.", "circa", 3, true},
	{"Dr.", "Doktor", 2, false},
	{"Hr.", "Herr", 2, false},
	{"Hrn.", "Herrn", 2, false},
	{"Fr.", "Frau", 2, false},
	{"Nr.", "Nummer", 2, false},
	{"Str.", "Stra\303\237e", 2, false},
	{"Tel.", "Telefon", 2, false},
	{"evtl.", "eventuell", 2, false},
	{"ggf.", "gegebenenfalls", 2, false},
	{"inkl.", "inklusive", 2, false},
	{"vgl.", "vergleiche", 2, false},
	{"Mio.", "Millionen", 2, false},
	{"Mrd.", "Milliarden", 2, false},
	{"Std.", "Stunden", 2, false},
};


static bool abbrev(struct tn *tn)
{
	unsigned lbit = tn->lang == LANG_DE ? 2 : 1;
	size_t i = tn->i;

	for (size_t k = 0; k < sizeof(abbrs) / sizeof(abbrs[0]); k++) {
		const struct abbr *a = &abbrs[k];
		size_t l = strlen(a->text), e;

		if (!(a->lang & lbit))
			continue;
		if (a->ci ? (lower(at(tn, i)) != lower(a->text[0]) ||
			     !match(tn, i + 1, a->text + 1)) :
		    !match(tn, i, a->text))
			continue;
		if (letter_at(tn, i + l) || is_digit(at(tn, i + l)))
			continue;
		tn->i = i + l;
		ob_word(&tn->ob, a->say);
		/* an abbreviation that ends the text keeps its full stop */
		e = skip_spaces(tn, tn->i);
		if ((e >= tn->n || tn->s[e] == '\n') &&
		    (!strcmp(a->text, "etc.") || !strcmp(a->text, "usw.")))
			ob_punct(&tn->ob, '.');
		return true;
	}
	/* "No. 5" */
	if (tn->lang == LANG_EN && (match(tn, i, "No. ") ||
				    match(tn, i, "no. ")) &&
	    is_digit(at(tn, i + 4))) {
		tn->i = i + 3;
		ob_word(&tn->ob, "number");
		return true;
	}
	return false;
}


static void word(struct tn *tn)
{
	char w[256];
	size_t l = 0, i = tn->i, ll;

	if (abbrev(tn) || url(tn) || domain(tn))
		return;
	while (i < tn->n && l + 5 < sizeof(w)) {
		if ((ll = letter_at(tn, i))) {
			memcpy(w + l, tn->s + i, ll);
			l += ll;
			i += ll;
			continue;
		}
		if ((tn->s[i] == '\'' || tn->s[i] == '-') && l &&
		    letter_at(tn, i + 1)) {
			w[l++] = tn->s[i++];
			continue;
		}
		if (match(tn, i, "\xe2\x80\x99") && l && letter_at(tn, i + 3)) {
			w[l++] = '\'';
			i += 3;
			continue;
		}
		break;
	}
	w[l] = '\0';
	if (!l) {
		tn->i = i + 1;
		return;
	}
	tn->i = i;
	ob_word(&tn->ob, w);
}


/* ----------------------------------------------------------- numbers */

struct num {
	uint64_t ip;         /* integer part (valid if !longint)       */
	bool longint;        /* too long or leading zero: spell digits */
	size_t ipb, ipe;     /* integer digits (with separators)       */
	size_t fb, fe;       /* fraction digits, fb == fe if none      */
	bool grouped;        /* had thousands separators               */
	size_t end;
};


static size_t digits(const struct tn *tn, size_t i)
{
	size_t k = i;

	while (k < tn->n && is_digit(tn->s[k]))
		++k;
	return k - i;
}


static bool parse_num(const struct tn *tn, size_t i, struct num *nm)
{
	char gsep = tn->lang == LANG_DE ? '.' : ',';
	char dsep = tn->lang == LANG_DE ? ',' : '.';
	size_t d = digits(tn, i), nd = 0;

	memset(nm, 0, sizeof(*nm));
	if (!d)
		return false;
	nm->ipb = i;
	for (size_t k = i; ; ) {
		for (size_t m = 0; m < d; m++, k++) {
			if (nd < 18)
				nm->ip = nm->ip * 10 + (uint64_t)(tn->s[k] - '0');
			++nd;
		}
		if (d <= 3 && at(tn, k) == gsep && digits(tn, k + 1) == 3) {
			nm->grouped = true;
			d = 3;
			++k;
			continue;
		}
		nm->ipe = k;
		break;
	}
	nm->end = nm->ipe;
	if ((at(tn, nm->end) == dsep ||
	     (tn->lang == LANG_DE && !nm->grouped && at(tn, nm->end) == '.'))
	    && digits(tn, nm->end + 1)) {
		nm->fb = nm->end + 1;
		nm->fe = nm->fb + digits(tn, nm->fb);
		nm->end = nm->fe;
	}
	nm->longint = nd > 12 || (nd > 1 && tn->s[i] == '0' && !nm->grouped);
	return true;
}


static void spell_digits(struct sb *sb, enum lang lang, const char *s,
			 size_t b, size_t e)
{
	for (size_t k = b; k < e; k++) {
		if (is_digit(s[k]))
			sb_word(sb, digit_word(lang, (unsigned)(s[k] - '0'),
					       false));
	}
}


/* integer part, and ", point one four" style fraction */
static void num_words(struct sb *sb, const struct tn *tn,
		      const struct num *nm)
{
	if (nm->longint)
		spell_digits(sb, tn->lang, tn->s, nm->ipb, nm->ipe);
	else
		cardinal(sb, tn->lang, nm->ip);
	if (nm->fe > nm->fb) {
		sb_word(sb, tn->lang == LANG_DE ? "Komma" : "point");
		spell_digits(sb, tn->lang, tn->s, nm->fb, nm->fe);
	}
}


/* One group of a phone number, digit by digit in chunks of 3 (the last
 * up to 4) with a pause between chunks. */
static void phone_digits(struct sb *sb, const struct tn *tn, size_t b,
			 size_t e, bool after_plus)
{
	size_t len = e - b, p = b;

	while (len) {
		size_t take = len > 4 ? 3 : len;

		if (sb->n && !(after_plus && p == b))
			sb_cat(sb, ",");
		for (size_t m = 0; m < take; m++) {
			sb_word(sb, digit_word(tn->lang,
				(unsigned)(tn->s[p + m] - '0'), true));
		}
		p += take;
		len -= take;
	}
}


/* "Tel. 1234567", "phone 5551234": digits, not a million. */
static bool phone_context(const struct tn *tn, const struct num *nm)
{
	static const char *const words[] = {
		"phone", "telephone", "call", "fax", "number", "mobile",
		"telefon", "tel", "nummer", "handy", "rufnummer",
		"telefonnummer", "mobil",
	};
	char w[32];

	if (nm->grouped || nm->fe > nm->fb || nm->ipe - nm->ipb < 5)
		return false;
	ob_lastword(&tn->ob, w, sizeof(w));
	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++) {
		if (!strcmp(w, words[k]))
			return true;
	}
	return false;
}


/* The phone number shape: +49 151 2345678, (555) 123-4567,
 * 555-123-4567, 0151 2345678, 030/1234567. */
static bool phone(struct tn *tn)
{
	size_t i = tn->i, k = i, gb[8], ge[8], ng = 0, total = 0;
	size_t after = i;
	bool plus = false, parens = false, dash = false, space = false;
	bool dot = false, zero;
	struct sb sb;

	if (at(tn, k) == '+') {
		plus = true;
		++k;
	}
	while (ng < 8) {
		size_t d;
		char c;

		if (at(tn, k) == '(' && (d = digits(tn, k + 1)) &&
		    at(tn, k + 1 + d) == ')') {
			parens = parens || ng == 0;
			gb[ng] = k + 1;
			ge[ng] = k + 1 + d;
			k += d + 2;
		}
		else if ((d = digits(tn, k))) {
			gb[ng] = k;
			ge[ng] = k + d;
			k += d;
		}
		else {
			break;
		}
		total += ge[ng] - gb[ng];
		after = k;
		++ng;
		c = at(tn, k);
		if (c == ' ' && (is_digit(at(tn, k + 1)) ||
				 at(tn, k + 1) == '('))
			space = true;
		else if ((c == '-' || c == '/') && (is_digit(at(tn, k + 1)) ||
						    at(tn, k + 1) == '('))
			dash = true;
		else if (c == '.' && is_digit(at(tn, k + 1)))
			dot = true;
		else
			break;
		++k;
	}
	if (!ng || total < 7 || total > 20)
		return false;
	zero = tn->s[gb[0]] == '0';
	if (dot && (tn->lang == LANG_DE || ng < 3 || dash || space))
		return false;
	/* 2024-03-15 is a date, 1000-2000 a range */
	if (dash && !plus && !parens && !zero &&
	    (ng < 2 || (ng == 2 && (ge[0] - gb[0] != 3 ||
				    ge[1] - gb[1] != 4)) ||
	     (ng == 3 && ge[0] - gb[0] == 4)))
		return false;
	if (space && !plus && !parens && !zero)
		return false;
	if (!(plus || parens || dash || dot ||
	      (zero && (ng >= 2 || total >= 10))))
		return false;

	memset(&sb, 0, sizeof(sb));
	if (plus)
		sb_word(&sb, "plus");
	for (size_t g = 0; g < ng; g++)
		phone_digits(&sb, tn, gb[g], ge[g], plus && g == 0);
	ob_word(&tn->ob, sb.b);
	tn->i = after;
	return true;
}


/* German ordinal ending from the word before (case, roughly). */
static const char *de_ending(const struct tn *tn, const char *def)
{
	static const char *const dat[] = {
		"am", "vom", "zum", "im", "beim", "den", "dem", "ab", "bis",
		"seit", "zur", "des", "ihrem", "seinem",
	};
	static const char *const nom[] = {"der", "die", "das", "ihr",
					   "sein", "mein", "dein"};
	char w[32];

	ob_lastword(&tn->ob, w, sizeof(w));
	for (size_t k = 0; k < sizeof(dat) / sizeof(dat[0]); k++) {
		if (!strcmp(w, dat[k]))
			return "en";
	}
	for (size_t k = 0; k < sizeof(nom) / sizeof(nom[0]); k++) {
		if (!strcmp(w, nom[k]))
			return "e";
	}
	return def;
}


static bool date(struct tn *tn)
{
	size_t i = tn->i, e;
	unsigned y = 0, m, d;
	bool have_year = true;
	struct sb sb;
	const struct tn *t = tn;

	/* ISO 2024-03-15 */
	if (digits(t, i) == 4 && at(t, i + 4) == '-' &&
	    digits(t, i + 5) == 2 && at(t, i + 7) == '-' &&
	    digits(t, i + 8) == 2) {
		y = (unsigned)atoi_n(t->s + i, 4);
		m = (unsigned)atoi_n(t->s + i + 5, 2);
		d = (unsigned)atoi_n(t->s + i + 8, 2);
		e = i + 10;
	}
	/* 15.03.2024, 1.5.24 */
	else {
		size_t dl = digits(t, i), ml, yl;

		if (dl < 1 || dl > 2 || at(t, i + dl) != '.')
			return false;
		ml = digits(t, i + dl + 1);
		if (ml < 1 || ml > 2 || at(t, i + dl + 1 + ml) != '.')
			return false;
		yl = digits(t, i + dl + ml + 2);
		if (!yl && tn->lang == LANG_DE) {
			/* "am 15.3." */
			have_year = false;
		}
		else if (yl != 4 && yl != 2) {
			return false;
		}
		d = (unsigned)atoi_n(t->s + i, dl);
		m = (unsigned)atoi_n(t->s + i + dl + 1, ml);
		y = (unsigned)atoi_n(t->s + i + dl + ml + 2, yl);
		if (yl == 2)
			y += 2000;
		if (!have_year)
			y = 0;
		e = i + dl + ml + 2 + yl;
	}
	if (m < 1 || m > 12 || d < 1 || d > 31 || is_digit(at(t, e)))
		return false;
	memset(&sb, 0, sizeof(sb));
	if (tn->lang == LANG_DE) {
		de_ordinal(&sb, d, de_ending(tn, "er"));
		sb_word(&sb, de_months[m - 1]);
	}
	else {
		sb_word(&sb, en_months[m - 1]);
		en_cardinal(&sb, d);
		en_ordinalise(&sb);
	}
	if (have_year)
		year_words(&sb, tn->lang, y);
	say_sb(tn, &sb);
	tn->i = e;
	return true;
}


static bool ampm_at(const struct tn *tn, size_t i, size_t *endp, char *ap)
{
	static const char *const forms[] = {"a.m.", "p.m.", "am", "pm"};

	i = skip_spaces(tn, i);
	for (size_t k = 0; k < 4; k++) {
		size_t l = strlen(forms[k]);

		if (match_ci(tn, i, forms[k]) && !letter_at(tn, i + l)) {
			*ap = lower(forms[k][0]);
			*endp = i + l;
			return true;
		}
	}
	return false;
}


static void en_clock(struct sb *sb, unsigned h, unsigned min, char ap)
{
	unsigned h12 = h % 12 ? h % 12 : 12;

	if (!ap)
		ap = h >= 12 ? 'p' : 'a';
	en_cardinal(sb, h12);
	if (min) {
		if (min < 10)
			sb_word(sb, "oh");
		en_cardinal(sb, min);
	}
	sb_word(sb, ap == 'p' ? "p m" : "a m");
}


static bool clock_time(struct tn *tn)
{
	size_t i = tn->i, hl = digits(tn, i), e;
	unsigned h, min;
	char ap = 0;
	struct sb sb;

	if (hl < 1 || hl > 2 || at(tn, i + hl) != ':' ||
	    digits(tn, i + hl + 1) != 2)
		return false;
	h = (unsigned)atoi_n(tn->s + i, hl);
	min = (unsigned)atoi_n(tn->s + i + hl + 1, 2);
	e = i + hl + 3;
	if (h > 24 || min > 59)
		return false;
	if (at(tn, e) == ':' && digits(tn, e + 1) == 2)
		e += 3;   /* seconds are not spoken */
	if (is_digit(at(tn, e)))
		return false;
	memset(&sb, 0, sizeof(sb));
	if (tn->lang == LANG_DE) {
		size_t u = skip_spaces(tn, e);

		if (h == 1)
			sb_word(&sb, "ein");
		else
			de_cardinal(&sb, h, true);
		sb_word(&sb, "Uhr");
		if (min)
			de_cardinal(&sb, min, true);
		if (match(tn, u, "Uhr") && !letter_at(tn, u + 3))
			e = u + 3;
	}
	else {
		if (ampm_at(tn, e, &e, &ap) && h > 12)
			ap = 0;
		en_clock(&sb, h, min, ap);
	}
	say_sb(tn, &sb);
	tn->i = e;
	return true;
}


enum cur { CUR_NONE = 0, CUR_USD, CUR_EUR, CUR_GBP };


static enum cur cur_at(const struct tn *tn, size_t i, size_t *lenp)
{
	static const struct {
		const char *s;
		enum cur c;
		bool word;
	} cs[] = {
		{"$", CUR_USD, false}, {"\xe2\x82\xac", CUR_EUR, false},
		{"\xc2\xa3", CUR_GBP, false}, {"EUR", CUR_EUR, true},
		{"USD", CUR_USD, true}, {"GBP", CUR_GBP, true},
		{"Euros", CUR_EUR, true}, {"Euro", CUR_EUR, true},
		{"euros", CUR_EUR, true}, {"euro", CUR_EUR, true},
		{"Dollars", CUR_USD, true}, {"Dollar", CUR_USD, true},
		{"dollars", CUR_USD, true}, {"dollar", CUR_USD, true},
	};

	for (size_t k = 0; k < sizeof(cs) / sizeof(cs[0]); k++) {
		size_t l = strlen(cs[k].s);

		if (match(tn, i, cs[k].s) &&
		    !(cs[k].word && letter_at(tn, i + l))) {
			*lenp = l;
			return cs[k].c;
		}
	}
	return CUR_NONE;
}


static void money(struct tn *tn, struct sb *sb, const struct num *nm,
		  enum cur cur, const char *scale)
{
	static const char *const en_names[][4] = {
		{"", "", "", ""},
		{"dollar", "dollars", "cent", "cents"},
		{"euro", "euros", "cent", "cents"},
		{"pound", "pounds", "penny", "pence"},
	};
	static const char *const de_names[][2] = {
		{"", ""}, {"Dollar", "Cent"}, {"Euro", "Cent"},
		{"Pfund", "Pence"},
	};
	size_t fl = nm->fe - nm->fb;
	uint64_t cents = 0;
	bool de = tn->lang == LANG_DE;

	if (scale || fl > 2 || nm->longint) {
		num_words(sb, tn, nm);
		if (scale)
			sb_word(sb, scale);
		sb_word(sb, de ? de_names[cur][0] : en_names[cur][1]);
		return;
	}
	if (fl) {
		cents = (uint64_t)(tn->s[nm->fb] - '0') * 10;
		if (fl == 2)
			cents += (uint64_t)(tn->s[nm->fb + 1] - '0');
	}
	if (nm->ip || !cents) {
		if (de && nm->ip == 1)
			sb_word(sb, "ein");
		else
			cardinal(sb, tn->lang, nm->ip);
		sb_word(sb, de ? de_names[cur][0] :
			en_names[cur][nm->ip == 1 ? 0 : 1]);
		if (!cents)
			return;
		if (de) {
			cardinal(sb, tn->lang, cents);
			return;
		}
		sb_word(sb, "and");
	}
	cardinal(sb, tn->lang, cents);
	sb_word(sb, de ? de_names[cur][1] :
		en_names[cur][cents == 1 ? 2 : 3]);
}


static const char *scale_at(const struct tn *tn, size_t i, size_t *endp)
{
	static const char *const scales[] = {
		"thousand", "million", "billion", "trillion", "Millionen",
		"Million", "Milliarden", "Milliarde", "Mio.", "Mrd.",
	};
	static const char *const says[] = {
		"thousand", "million", "billion", "trillion", "Millionen",
		"Million", "Milliarden", "Milliarde", "Millionen",
		"Milliarden",
	};

	i = skip_spaces(tn, i);
	for (size_t k = 0; k < sizeof(scales) / sizeof(scales[0]); k++) {
		size_t l = strlen(scales[k]);

		if (match(tn, i, scales[k]) && !letter_at(tn, i + l)) {
			*endp = i + l;
			return says[k];
		}
	}
	return NULL;
}


static bool en_ordinal_suffix(const struct tn *tn, size_t i,
			      const struct num *nm)
{
	static const char *const sfx[] = {"st", "nd", "rd", "th"};

	if (nm->fe > nm->fb || nm->longint)
		return false;
	for (size_t k = 0; k < 4; k++) {
		if (match_ci(tn, i, sfx[k]) && !letter_at(tn, i + 2))
			return true;
	}
	return false;
}


static bool de_ordinal_dot(const struct tn *tn, const struct num *nm)
{
	size_t e = nm->end, w;

	if (at(tn, e) != '.' || nm->fe > nm->fb || nm->grouped ||
	    nm->longint || nm->ipe - nm->ipb > 3 || !is_space(at(tn, e + 1)))
		return false;
	w = skip_spaces(tn, e + 1);
	if (w >= tn->n || tn->s[w] == '\n')
		return false;
	if (month_at(tn, w) >= 0 || is_lower_at(tn, w))
		return true;
	return strcmp(de_ending(tn, "x"), "x") != 0 && letter_at(tn, w);
}


static bool year_context(const struct tn *tn, const struct num *nm)
{
	static const char *const en_w[] = {
		"in", "since", "until", "till", "by", "from", "of", "year",
		"before", "after", "around", "circa", "to", "and",
	};
	static const char *const de_w[] = {
		"im", "jahr", "jahre", "jahres", "seit", "bis", "von", "ab",
		"um", "anno", "und",
	};
	char w[32];

	if (nm->grouped || nm->longint || nm->fe > nm->fb ||
	    nm->ipe - nm->ipb != 4 || nm->ip < 1100 || nm->ip > 2099)
		return false;
	ob_lastword(&tn->ob, w, sizeof(w));
	for (size_t k = 0; k < 12; k++) {
		if (eq_ci(w, en_months[k]) || eq_ci(w, de_months[k]))
			return true;
	}
	if (tn->lang == LANG_DE) {
		for (size_t k = 0; k < sizeof(de_w) / sizeof(de_w[0]); k++) {
			if (!strcmp(w, de_w[k]))
				return true;
		}
		return false;
	}
	for (size_t k = 0; k < sizeof(en_w) / sizeof(en_w[0]); k++) {
		if (!strcmp(w, en_w[k]))
			return true;
	}
	return false;
}


/* At a digit, or a sign / currency symbol / '#' right before one. */
static void number(struct tn *tn)
{
	size_t i = tn->i, l, e;
	enum cur cur = CUR_NONE;
	bool neg = false;
	struct num nm;
	struct sb sb;
	const char *scale = NULL;
	char ap;

	memset(&sb, 0, sizeof(sb));
	if (phone(tn))
		return;
	if (tn->s[i] == '-') {
		neg = true;
		++i;
	}
	else if (tn->s[i] == '+') {
		++i;
		sb_word(&sb, "plus");
	}
	else if ((cur = cur_at(tn, i, &l)) != CUR_NONE) {
		i = skip_spaces(tn, i + l);
	}
	tn->i = i;
	if (!neg && !cur && (date(tn) || clock_time(tn)))
		return;
	if (!parse_num(tn, i, &nm)) {
		tn->i = i + 1;
		return;
	}
	e = nm.end;
	if (neg)
		sb_word(&sb, "minus");

	if (cur != CUR_NONE) {
		scale = scale_at(tn, e, &e);
		money(tn, &sb, &nm, cur, scale);
	}
	else if (en_ordinal_suffix(tn, e, &nm) && tn->lang == LANG_EN) {
		en_cardinal(&sb, nm.ip);
		en_ordinalise(&sb);
		e += 2;
	}
	else if (tn->lang == LANG_DE && de_ordinal_dot(tn, &nm)) {
		size_t w = skip_spaces(tn, e + 1);

		de_ordinal(&sb, nm.ip, de_ending(tn, month_at(tn, w) >= 0 ?
						 "en" : "e"));
		e += 1;
	}
	else if (at(tn, skip_spaces(tn, e)) == '%') {
		num_words(&sb, tn, &nm);
		sb_word(&sb, tn->lang == LANG_DE ? "Prozent" : "percent");
		e = skip_spaces(tn, e) + 1;
	}
	else if ((l = 0, cur = cur_at(tn, skip_spaces(tn, e), &l)) !=
		 CUR_NONE) {
		size_t ce = skip_spaces(tn, e) + l;

		money(tn, &sb, &nm, cur, NULL);
		e = ce;
	}
	else if (match(tn, skip_spaces(tn, e), "\xc2\xb0")) {
		size_t d = skip_spaces(tn, e) + 2;

		num_words(&sb, tn, &nm);
		sb_word(&sb, tn->lang == LANG_DE ? "Grad" :
			(nm.ip == 1 && nm.fe == nm.fb ? "degree" :
			 "degrees"));
		if ((at(tn, d) == 'C' || at(tn, d) == 'F') &&
		    !letter_at(tn, d + 1)) {
			sb_word(&sb, at(tn, d) == 'C' ? "Celsius" :
				"Fahrenheit");
			++d;
		}
		e = d;
	}
	else if (tn->lang == LANG_EN && !neg && nm.fe == nm.fb &&
		 !nm.grouped && nm.ip >= 1 && nm.ip <= 12 &&
		 ampm_at(tn, e, &e, &ap)) {
		en_clock(&sb, (unsigned)nm.ip, 0, ap);
	}
	else if (!neg && phone_context(tn, &nm)) {
		phone_digits(&sb, tn, nm.ipb, nm.ipe, false);
	}
	else if (!neg && year_context(tn, &nm)) {
		year_words(&sb, tn->lang, (unsigned)nm.ip);
	}
	else {
		num_words(&sb, tn, &nm);
	}
	say_sb(tn, &sb);

	/* ranges: 5-10, 9–17 */
	if ((at(tn, e) == '-' && is_digit(at(tn, e + 1))) ||
	    (match(tn, e, "\xe2\x80\x93") && is_digit(at(tn, e + 3)))) {
		say(tn, "to", "bis");
		e += at(tn, e) == '-' ? 1 : 3;
	}
	tn->i = e > tn->i ? e : tn->i + 1;
}


/* ---------------------------------------------------------- dispatch */

static void ascii(struct tn *tn)
{
	size_t i = tn->i;
	char c = tn->s[i], d = at(tn, i + 1);
	bool prev_gap = i == 0 || is_space(tn->s[i - 1]) ||
		strchr("([\"'/", tn->s[i - 1]);

	if (is_alpha(c)) {
		word(tn);
		return;
	}
	if (is_digit(c) || ((c == '$' || c == '+') && is_digit(d)) ||
	    (c == '$' && d == ' ' && is_digit(at(tn, i + 2))) ||
	    (c == '-' && is_digit(d) && prev_gap)) {
		number(tn);
		return;
	}
	tn->i = i + 1;
	switch (c) {

	case '#':
		if (is_digit(d))
			say(tn, "number", "Nummer");
		break;

	case '~':
		if (is_digit(d))
			say(tn, "about", "etwa");
		break;

	case '(':
		if (is_digit(d)) {
			tn->i = i;
			if (phone(tn))
				return;
			tn->i = i + 1;
		}
		tn->i = i;
		paren(tn);
		break;

	case ')':
	case '|':
		ob_punct(&tn->ob, ',');
		break;

	case '[':
		tn->i = i;
		bracket(tn);
		break;

	case '*':
		tn->i = i;
		star(tn);
		break;

	case '<':
		tn->i = i;
		angle(tn);
		break;

	case '.':
		if (d == '.' && at(tn, i + 2) == '.') {
			while (at(tn, tn->i) == '.')
				++tn->i;
			ob_ellipsis(&tn->ob);
			break;
		}
		ob_punct(&tn->ob, '.');
		break;

	case '!':
		if (d != '[')
			ob_punct(&tn->ob, '!');
		break;

	case '?':
	case ',':
	case ';':
	case ':':
		ob_punct(&tn->ob, c);
		break;

	case '&':
		say(tn, "and", "und");
		break;

	case '@':
		say(tn, "at", "\xc3\xa4t");
		break;

	case '%':
		say(tn, "percent", "Prozent");
		break;

	case '-':
		if ((prev_gap && (is_space(d) || d == '-')) || d == '-') {
			while (at(tn, tn->i) == '-')
				++tn->i;
			ob_punct(&tn->ob, ',');
		}
		break;

	default:
		/* quotes, *_`~^=\\/{} and control characters: a gap */
		break;
	}
}


static void utf8(struct tn *tn)
{
	uint32_t cp;
	size_t l = utf8_dec(tn->s, tn->n, tn->i, &cp), ce;
	enum cur cur;

	if (!l) {
		++tn->i;   /* invalid byte: dropped */
		return;
	}
	if (cp_is_letter(cp)) {
		word(tn);
		return;
	}
	cur = cur_at(tn, tn->i, &ce);
	if (cur != CUR_NONE &&
	    is_digit(at(tn, skip_spaces(tn, tn->i + ce)))) {
		number(tn);
		return;
	}
	tn->i += l;
	switch (cp) {

	case 0x2026:   /* … */
		ob_ellipsis(&tn->ob);
		break;

	case 0x2013:   /* – — ― */
	case 0x2014:
	case 0x2015:
	case 0x2022:   /* • mid-line */
		ob_punct(&tn->ob, ',');
		break;

	case 0x20ac:
		say(tn, "euros", "Euro");
		break;

	case 0xa3:
		say(tn, "pounds", "Pfund");
		break;

	default:
		/* emoji, symbols, quotes, spaces, private use: a gap */
		break;
	}
}


int textnorm(char *out, size_t outsz, const char *in, const char *language)
{
	struct tn tn;

	if (!out || !outsz || !in)
		return EINVAL;

	memset(&tn, 0, sizeof(tn));
	tn.s = in;
	tn.n = strlen(in);
	tn.lang = (language && lower(language[0]) == 'd' &&
		   lower(language[1]) == 'e') ? LANG_DE : LANG_EN;
	tn.ob.p = out;
	tn.ob.sz = outsz;
	tn.line_start = true;
	out[0] = '\0';

	while (tn.i < tn.n && !tn.ob.full) {
		unsigned char c = (unsigned char)tn.s[tn.i];

		if (tn.link_close && tn.i >= tn.link_close) {
			tn.i = tn.link_end;
			tn.link_close = 0;
			continue;
		}
		if (tn.line_start) {
			tn.line_start = false;
			line_start(&tn);
			continue;
		}
		if (c == '\n') {
			end_line(&tn);
			continue;
		}
		if (c < 0x80)
			ascii(&tn);
		else
			utf8(&tn);
	}
	if (tn.line_kind != LINE_TEXT)
		ob_punct(&tn.ob, '.');
	/* no trailing comma or colon */
	while (tn.ob.len && strchr(",;:", tn.ob.p[tn.ob.len - 1])) {
		tn.ob.p[--tn.ob.len] = '\0';
	}
	return tn.ob.full ? ENOSPC : 0;
}


/* ---------------------------------------------------- sentence split */

struct sentsplit {
	char *buf;           /* 2 * maxlen bytes, pending raw text      */
	size_t len;
	size_t cap;
	size_t maxlen;
};


static void sentsplit_destructor(void *arg)
{
	struct sentsplit *ss = arg;

	mem_deref(ss->buf);
}


int sentsplit_alloc(struct sentsplit **ssp, size_t maxlen)
{
	struct sentsplit *ss;

	if (!ssp)
		return EINVAL;
	if (!maxlen)
		maxlen = SENTSPLIT_MAXLEN_DEFAULT;
	if (maxlen < SENTSPLIT_MAXLEN_MIN || maxlen > SENTSPLIT_MAXLEN_MAX)
		return EINVAL;

	ss = mem_zalloc(sizeof(*ss), sentsplit_destructor);
	if (!ss)
		return ENOMEM;
	ss->maxlen = maxlen;
	ss->cap = 2 * maxlen;
	ss->buf = mem_alloc(ss->cap, NULL);
	if (!ss->buf) {
		mem_deref(ss);
		return ENOMEM;
	}
	*ssp = ss;
	return 0;
}


size_t sentsplit_pushn(struct sentsplit *ss, const char *chunk, size_t len)
{
	size_t n;

	if (!ss || !chunk)
		return 0;
	n = ss->cap - ss->len;
	if (n > len)
		n = len;
	for (size_t k = 0; k < n; k++) {
		char c = chunk[k];

		/* NUL and other controls become spaces; \n is kept */
		if ((unsigned char)c < 0x20 && c != '\n')
			c = ' ';
		ss->buf[ss->len + k] = c;
	}
	ss->len += n;
	return n;
}


size_t sentsplit_push(struct sentsplit *ss, const char *chunk)
{
	return chunk ? sentsplit_pushn(ss, chunk, strlen(chunk)) : 0;
}


void sentsplit_reset(struct sentsplit *ss)
{
	if (ss)
		ss->len = 0;
}


static bool ss_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}


static bool ss_closer(const char *b, size_t n, size_t i, size_t *lenp)
{
	static const char *const cl[] = {
		"\"", "'", ")", "]", "*", "_", "\xe2\x80\x9d", "\xe2\x80\x99",
		"\xe2\x80\x9c", "\xc2\xbb", "\xc2\xab",
	};

	for (size_t k = 0; k < sizeof(cl) / sizeof(cl[0]); k++) {
		size_t l = strlen(cl[k]);

		if (i + l <= n && !memcmp(b + i, cl[k], l)) {
			*lenp = l;
			return true;
		}
	}
	return false;
}


static bool ss_abbrev(const char *w, size_t l)
{
	static const char *const ab[] = {
		"dr", "mr", "mrs", "ms", "prof", "st", "jr", "sr", "vs",
		"e.g", "i.e", "z.b", "d.h", "u.a", "bzw", "ca", "nr", "hr",
		"hrn", "fr", "str", "tel", "evtl", "ggf", "inkl", "vgl", "no",
		"approx", "mio", "mrd", "std", "a.m", "p.m", "min", "max",
		"abs", "bsp", "geb", "jh", "mind", "zzgl", "u.s", "u.k",
	};
	char lw[16];

	if (l >= sizeof(lw))
		return false;
	for (size_t k = 0; k < l; k++)
		lw[k] = lower(w[k]);
	lw[l] = '\0';
	for (size_t k = 0; k < sizeof(ab) / sizeof(ab[0]); k++) {
		if (!strcmp(lw, ab[k]))
			return true;
	}
	return false;
}


static bool ss_month(const char *b, size_t n, size_t i)
{
	for (int m = 0; m < 12; m++) {
		const char *names[2] = {en_months[m], de_months[m]};

		for (int k = 0; k < 2; k++) {
			size_t l = strlen(names[k]);

			if (i + l <= n && !memcmp(b + i, names[k], l))
				return true;
		}
	}
	return false;
}


/*
 * Is the '.' at p the end of a sentence?  1 yes, 0 no, -1 undecided
 * (more text needed).  The word before it and the text after decide.
 */
static int ss_dot_ends(const struct sentsplit *ss, size_t p, bool final)
{
	const char *b = ss->buf;
	size_t n = ss->len, ws = p, w, q = p + 1, cl;
	bool digits_only = true, line_start, ellipsis;

	/* "...": ends unless a lower-case word follows */
	if (q < n && b[q] == '.')
		return 0;   /* decided at the last dot */
	while (q < n && ss_closer(b, n, q, &cl))
		q += cl;
	if (q >= n)
		return final ? 1 : -1;
	if (!ss_space(b[q]))
		return 0;   /* 3.5, e.g, example.com */
	if (b[q] == '\n')
		return 1;
	w = q;
	while (w < n && (b[w] == ' ' || b[w] == '\t'))
		++w;
	while (ws && !ss_space(b[ws - 1]) && !strchr("(\"'[", b[ws - 1]))
		--ws;
	line_start = ws == 0 || b[ws - 1] == '\n';
	if (ss_abbrev(b + ws, p - ws))
		return 0;
	/* initials "J. Smith" */
	if (p - ws == 1 && b[ws] >= 'A' && b[ws] <= 'Z')
		return 0;
	for (size_t k = ws; k < p; k++) {
		if (b[k] < '0' || b[k] > '9')
			digits_only = false;
	}
	digits_only = digits_only && p > ws && p - ws <= 3;
	ellipsis = p >= 2 && b[p - 1] == '.' && b[p - 2] == '.';
	/* these two depend on the next word: wait for it */
	if ((digits_only || ellipsis) && w >= n)
		return final ? 1 : -1;
	if (ellipsis) {
		/* continues into a lower-case word */
		return (b[w] >= 'a' && b[w] <= 'z') ? 0 : 1;
	}
	if (digits_only) {
		size_t we = w;

		/* "1. item" at line start, "am 3. Mai", "3. juni" */
		if (line_start)
			return 0;
		while (we < n && !ss_space(b[we]) && !is_punct(b[we]))
			++we;
		if (we >= n && !final)
			return -1;   /* "Ma" may become "Mai" */
		if (w < n && (ss_month(b, n, w) ||
			      (b[w] >= 'a' && b[w] <= 'z')))
			return 0;
	}
	return 1;
}


/* Length of the next complete sentence (end exclusive), 0 if none. */
static size_t ss_find(const struct sentsplit *ss, bool final)
{
	const char *b = ss->buf;
	size_t n = ss->len, lim = n < ss->maxlen ? n : ss->maxlen, cl;
	bool wait = false;

	for (size_t p = 0; p < lim; p++) {
		char c = b[p];
		int r;

		if (c == '\n')
			return p + 1;
		if (c == '!' || c == '?') {
			size_t q = p + 1;

			while (q < n && (b[q] == '!' || b[q] == '?'))
				++q;
			while (q < n && ss_closer(b, n, q, &cl))
				q += cl;
			if (q >= n) {
				if (final)
					return n;
				wait = true;
				break;
			}
			if (ss_space(b[q]))
				return q;
			p = q - 1;
			continue;
		}
		if (c == '.') {
			r = ss_dot_ends(ss, p, final);
			if (r < 0) {
				wait = true;
				break;
			}
			if (r > 0) {
				size_t q = p + 1;

				while (q < n && ss_closer(b, n, q, &cl))
					q += cl;
				return q;
			}
			continue;
		}
		if ((unsigned char)c == 0xe2 && p + 2 < n &&
		    (unsigned char)b[p + 1] == 0x80 &&
		    (unsigned char)b[p + 2] == 0xa6) {
			/* … */
			size_t q = p + 3;

			if (q >= n && final)
				return n;
			while (q < n && b[q] == ' ')
				++q;
			if (q >= n && !final) {
				wait = true;
				break;
			}
			if (q < n && b[q] >= 'a' && b[q] <= 'z') {
				p += 2;
				continue;
			}
			return p + 3;
		}
	}
	/* more text decides, unless there is no room left for it */
	if (wait && n < ss->maxlen)
		return 0;
	if (n >= ss->maxlen) {
		/* too long: cut at a comma, else a space, else a char */
		size_t cut = 0;

		for (size_t p = ss->maxlen; p > ss->maxlen / 2; p--) {
			if (strchr(",;:", b[p - 1]) && ss_space(b[p])) {
				cut = p;
				break;
			}
		}
		for (size_t p = ss->maxlen; !cut && p > ss->maxlen / 4; p--) {
			if (ss_space(b[p - 1]))
				cut = p;
		}
		if (!cut) {
			cut = ss->maxlen;
			while (cut > 1 &&
			       ((unsigned char)b[cut] & 0xc0) == 0x80)
				--cut;
		}
		return cut;
	}
	return final ? n : 0;
}


/* Anything worth speaking (letters, digits, non-ASCII)? */
static bool ss_speakable(const char *b, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)b[k];

		if (c >= 0x80 || is_alpha((char)c) || is_digit((char)c))
			return true;
	}
	return false;
}


static bool ss_take(struct sentsplit *ss, char *buf, size_t sz, bool final)
{
	if (!ss || !buf || !sz)
		return false;

	for (;;) {
		size_t end = ss_find(ss, final), b = 0, e = end, l;
		bool ok;

		if (!end)
			return false;
		while (b < e && ss_space(ss->buf[b]))
			++b;
		while (e > b && ss_space(ss->buf[e - 1]))
			--e;
		ok = ss_speakable(ss->buf + b, e - b);
		l = e - b;
		if (ok) {
			if (l >= sz) {
				l = sz - 1;
				while (l &&
				       ((unsigned char)ss->buf[b + l] & 0xc0) ==
				       0x80)
					--l;
			}
			memcpy(buf, ss->buf + b, l);
			buf[l] = '\0';
		}
		memmove(ss->buf, ss->buf + end, ss->len - end);
		ss->len -= end;
		if (ok)
			return true;
	}
}


bool sentsplit_next(struct sentsplit *ss, char *buf, size_t sz)
{
	return ss_take(ss, buf, sz, false);
}


bool sentsplit_flush(struct sentsplit *ss, char *buf, size_t sz)
{
	return ss_take(ss, buf, sz, true);
}
