/*
 * test_textnorm.c  Text normaliser golden cases (en, de): markdown, emoji,
 *                  URLs, stage directions, numbers, times, money, phones;
 *                  the sentence splitter fed in chunks split anywhere,
 *                  including inside UTF-8 sequences.
 */
#include <errno.h>
#include <stdlib.h>
#include <re.h>
#include "pipeline/textnorm.h"
#include "test.h"

struct golden {
	const char *in;
	const char *out;
};

static const struct golden en_cases[] = {
	{"Hello **world**, this is _great_ and `code` here.",
	 "Hello world, this is great and code here."},
	{"# Heading\n- first item\n- second item\n1. Buy milk\n"
	 "2. Call Dr. Smith",
	 "Heading. first item. second item. Buy milk. Call Doctor Smith."},
	{"See [our docs](https://example.com/docs) or visit "
	 "https://foo.bar/x?y=1.",
	 "See our docs or visit a link."},
	{"*laughs* Sure, I can help! (sighs) Let me check [pause] the "
	 "calendar.",
	 "Sure, I can help! Let me check the calendar."},
	{"That is *really* important \xf0\x9f\x98\x80\xf0\x9f\x91\x8d "
	 "\xe2\x9c\x85 ok.",
	 "That is really important ok."},
	{"I have 3 apples, 1,234 pears and 3.14 liters.",
	 "I have three apples, one thousand two hundred thirty four pears "
	 "and three point one four liters."},
	{"The 1st, 2nd, 3rd, 11th, 21st and 102nd place.",
	 "The first, second, third, eleventh, twenty first and one hundred "
	 "second place."},
	{"Meet me at 14:30 or 9:05 or 12:00 or 2:30 pm or 3pm.",
	 "Meet me at two thirty p m or nine oh five a m or twelve p m or "
	 "two thirty p m or three p m."},
	{"It costs $12.50, $1, $0.99 and $2.5 million.",
	 "It costs twelve dollars and fifty cents, one dollar, ninety nine "
	 "cents and two point five million dollars."},
	{"Growth was 15% and 2.5 %.",
	 "Growth was fifteen percent and two point five percent."},
	{"Call +49 151 2345678 or 555-123-4567.",
	 "Call plus four nine, one five one, two three four, five six seven "
	 "eight or five five five, one two three, four five six seven."},
	{"(555) 123-4567", "five five five, one two three, four five six "
	 "seven"},
	{"In 1999 and since 2024, 2024 people came.",
	 "In nineteen ninety nine and since twenty twenty four, two thousand "
	 "twenty four people came."},
	{"On 2024-03-15 write to john.doe@example.com or go to example.org.",
	 "On March fifteenth twenty twenty four write to john dot doe at "
	 "example dot com or go to example dot org."},
	{"It is -5 or 20\xc2\xb0" "C, 5-10 people, #1, ~30 min.",
	 "It is minus five or twenty degrees Celsius, five to ten people, "
	 "number one, about thirty min."},
	{"e.g. apples, i.e. fruit, etc.",
	 "for example apples, that is fruit, et cetera."},
	{"Well... maybe\xe2\x80\xa6 \xe2\x80\x9cquoted\xe2\x80\x9d "
	 "\xe2\x80\x94 more.",
	 "Well... maybe... quoted, more."},
	{"<b>bold</b> & <https://x.com>", "bold and a link"},
	{"```\nrm -rf /\n```\nDone.", "Done."},
	{"| a | b |\n|---|---|\n| 1 | 2 |", "a, b. one, two"},
	{"007", "zero zero seven"},
	{"", ""},
};

static const struct golden de_cases[] = {
	{"Hallo **Welt**, das ist z.B. super, d.h. gut, usw.",
	 "Hallo Welt, das ist zum Beispiel super, das hei\xc3\x9f" "t gut, "
	 "und so weiter."},
	{"Um 14:30 Uhr oder 9:05 oder 1:00 oder 20:00.",
	 "Um vierzehn Uhr drei\xc3\x9fig oder neun Uhr f\xc3\xbcnf oder ein "
	 "Uhr oder zwanzig Uhr."},
	{"Das kostet 12,50 \xe2\x82\xac, 1 \xe2\x82\xac, 0,50 \xe2\x82\xac "
	 "oder 3,99 EUR.",
	 "Das kostet zw\xc3\xb6lf Euro f\xc3\xbcnfzig, ein Euro, "
	 "f\xc3\xbcnfzig Cent oder drei Euro neunundneunzig."},
	{"Am 1. Mai, der 3. Platz, am 15.03.2024.",
	 "Am ersten Mai, der dritte Platz, am f\xc3\xbcnfzehnten M\xc3\xa4rz "
	 "zweitausendvierundzwanzig."},
	{"3 \xc3\x84pfel, 1.234 Birnen, 3,5 Liter.",
	 "drei \xc3\x84pfel, eintausendzweihundertvierunddrei\xc3\x9fig "
	 "Birnen, drei Komma f\xc3\xbcnf Liter."},
	{"Rufen Sie +49 151 2345678 an.",
	 "Rufen Sie plus vier neun, eins f\xc3\xbcnf eins, zwo drei vier, "
	 "f\xc3\xbcnf sechs sieben acht an."},
	{"Im Jahr 1999, 21 Leute, 101 Dalmatiner, 1000000 Euro.",
	 "Im Jahr neunzehnhundertneunundneunzig, einundzwanzig Leute, "
	 "einhunderteins Dalmatiner, eine Million Euro."},
	{"Wachstum 15 % und 2,5%.",
	 "Wachstum f\xc3\xbcnfzehn Prozent und zwei Komma f\xc3\xbcnf "
	 "Prozent."},
	{"Besuchen Sie https://example.de oder max@example.de.",
	 "Besuchen Sie einen Link oder max \xc3\xa4t example Punkt de."},
	{"*lacht* Gerne! (seufzt) Stra\xc3\x9f" "e.",
	 "Gerne! Stra\xc3\x9f" "e."},
	{"Tel. 1234567", "Telefon eins zwo drei, vier f\xc3\xbcnf sechs "
	 "sieben"},
};


static int check_cases(const struct golden *c, size_t n, const char *lang)
{
	char out[1024];

	for (size_t i = 0; i < n; i++) {
		int err = textnorm(out, sizeof(out), c[i].in, lang);

		if (err || strcmp(out, c[i].out)) {
			fprintf(stderr, "[%s] in:  \"%s\"\n     out: \"%s\" "
				"(%d)\n     exp: \"%s\"\n", lang, c[i].in, out,
				err, c[i].out);
			return 1;
		}
	}
	return 0;
}


int test_textnorm_en(void)
{
	return check_cases(en_cases, sizeof(en_cases) / sizeof(en_cases[0]),
			   "en");
}


int test_textnorm_de(void)
{
	return check_cases(de_cases, sizeof(de_cases) / sizeof(de_cases[0]),
			   "de-DE");
}


static bool utf8_valid(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u) {
		size_t l = *u < 0x80 ? 1 : (*u & 0xe0) == 0xc0 ? 2 :
			(*u & 0xf0) == 0xe0 ? 3 : (*u & 0xf8) == 0xf0 ? 4 : 0;

		if (!l)
			return false;
		for (size_t k = 1; k < l; k++) {
			if ((u[k] & 0xc0) != 0x80)
				return false;
		}
		u += l;
	}
	return true;
}


int test_textnorm_limits(void)
{
	char out[32], big[4096];

	/* too small: ENOSPC, a whole-word prefix, NUL-terminated */
	TEST_EQ(textnorm(out, sizeof(out), "one two three four five six "
			 "seven eight nine ten", "en"), ENOSPC);
	TEST_ASSERT(strlen(out) < sizeof(out));
	TEST_STREQ(out, "one two three four five six");
	TEST_EQ(textnorm(out, 1, "hello", "en"), ENOSPC);
	TEST_STREQ(out, "");
	TEST_EQ(textnorm(NULL, 5, "x", "en"), EINVAL);
	TEST_EQ(textnorm(out, sizeof(out), NULL, "en"), EINVAL);

	/* invalid UTF-8 and controls are dropped; output stays valid */
	TEST_ERR(textnorm(big, sizeof(big), "a\xff\xfe b\xc3 c\x01\xe2\x82 d"
			  "\xed\xa0\x80 e", "de"));
	TEST_ASSERT(utf8_valid(big));
	TEST_STREQ(big, "a b c d e");

	/* a long number is spelled digit by digit */
	TEST_ERR(textnorm(big, sizeof(big), "1234567890123456", "en"));
	TEST_STREQ(big, "one two three four five six seven eight nine zero "
		   "one two three four five six");
	/* flite cannot speak German text: a language default is English */
	TEST_ERR(textnorm(big, sizeof(big), "5", NULL));
	TEST_STREQ(big, "five");
	return 0;
}


/* ------------------------------------------------------------ split */

struct sents {
	char v[16][512];
	size_t n;
};


static int split_all(struct sents *out, const char *text,
		     const size_t *cuts, size_t ncuts, size_t maxlen)
{
	struct sentsplit *ss = NULL;
	size_t len = strlen(text), pos = 0;
	char buf[512];
	int err;

	memset(out, 0, sizeof(*out));
	err = sentsplit_alloc(&ss, maxlen);
	if (err)
		return err;
	for (size_t c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : len;

		while (pos < end) {
			pos += sentsplit_pushn(ss, text + pos, end - pos);
			while (sentsplit_next(ss, buf, sizeof(buf))) {
				if (out->n < 16)
					str_ncpy(out->v[out->n++], buf, 512);
			}
		}
	}
	while (sentsplit_flush(ss, buf, sizeof(buf))) {
		if (out->n < 16)
			str_ncpy(out->v[out->n++], buf, 512);
	}
	mem_deref(ss);
	return 0;
}


static int check_split(const char *text, const char *const *exp,
		       size_t nexp)
{
	struct sents whole, parts;
	size_t len = strlen(text);

	TEST_ERR(split_all(&whole, text, NULL, 0, 0));
	if (whole.n != nexp) {
		for (size_t i = 0; i < whole.n; i++)
			fprintf(stderr, "  got [%s]\n", whole.v[i]);
	}
	TEST_EQ(whole.n, nexp);
	for (size_t i = 0; i < nexp; i++)
		TEST_STREQ(whole.v[i], exp[i]);

	/* one cut anywhere, and byte by byte: the same sentences */
	for (size_t c = 1; c < len; c++) {
		TEST_ERR(split_all(&parts, text, &c, 1, 0));
		TEST_EQ(parts.n, nexp);
		for (size_t i = 0; i < nexp; i++)
			TEST_STREQ(parts.v[i], exp[i]);
	}
	{
		size_t *cuts = malloc(len * sizeof(*cuts));

		TEST_ASSERT(cuts != NULL);
		for (size_t c = 0; c + 1 < len; c++)
			cuts[c] = c + 1;
		if (split_all(&parts, text, cuts, len ? len - 1 : 0, 0)) {
			free(cuts);
			return 1;
		}
		free(cuts);
	}
	TEST_EQ(parts.n, nexp);
	for (size_t i = 0; i < nexp; i++)
		TEST_STREQ(parts.v[i], exp[i]);
	return 0;
}


int test_sentsplit_basic(void)
{
	static const char text[] =
		"Hello Dr. Smith. How are you?! I'm fine! The price is 3.5 "
		"dollars, e.g. cheap. Well... maybe not. Wait... Yes. "
		"Am 3. Mai geht z.B. alles. Visit example.com now.\n"
		"- first item\n- second item\n\n**Bold** end";
	static const char *const exp[] = {
		"Hello Dr. Smith.", "How are you?!", "I'm fine!",
		"The price is 3.5 dollars, e.g. cheap.",
		"Well... maybe not.", "Wait...", "Yes.",
		"Am 3. Mai geht z.B. alles.", "Visit example.com now.",
		"- first item", "- second item", "**Bold** end",
	};

	return check_split(text, exp, sizeof(exp) / sizeof(exp[0]));
}


int test_sentsplit_utf8(void)
{
	static const char text[] =
		"Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen. Sch\xc3\xb6ne "
		"Stra\xc3\x9f" "e \xe2\x80\x9egro\xc3\x9f\xe2\x80\x9c! "
		"Emoji \xf0\x9f\x98\x80 ok? Ende\xe2\x80\xa6 Noch was.";
	static const char *const exp[] = {
		"Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen.",
		"Sch\xc3\xb6ne Stra\xc3\x9f" "e \xe2\x80\x9egro\xc3\x9f"
		"\xe2\x80\x9c!",
		"Emoji \xf0\x9f\x98\x80 ok?", "Ende\xe2\x80\xa6", "Noch was.",
	};

	return check_split(text, exp, sizeof(exp) / sizeof(exp[0]));
}


int test_sentsplit_incremental(void)
{
	struct sentsplit *ss = NULL;
	char buf[256];

	TEST_ERR(sentsplit_alloc(&ss, 0));
	sentsplit_push(ss, "Hello there");
	TEST_ASSERT(!sentsplit_next(ss, buf, sizeof(buf)));
	sentsplit_push(ss, ".");
	TEST_ASSERT(!sentsplit_next(ss, buf, sizeof(buf)));  /* 3.5 ? */
	sentsplit_push(ss, " ");
	/* a plain word before the dot: the sentence is out at once */
	TEST_ASSERT(sentsplit_next(ss, buf, sizeof(buf)));
	TEST_STREQ(buf, "Hello there.");
	sentsplit_push(ss, "Dr. ");
	TEST_ASSERT(!sentsplit_next(ss, buf, sizeof(buf)));
	sentsplit_push(ss, "No is in. Bye");
	TEST_ASSERT(sentsplit_next(ss, buf, sizeof(buf)));
	TEST_STREQ(buf, "Dr. No is in.");
	TEST_ASSERT(!sentsplit_next(ss, buf, sizeof(buf)));
	sentsplit_reset(ss);
	TEST_ASSERT(!sentsplit_flush(ss, buf, sizeof(buf)));
	/* only markup: nothing to speak */
	sentsplit_push(ss, "---\n** **\n");
	TEST_ASSERT(!sentsplit_flush(ss, buf, sizeof(buf)));
	/* small output buffer: cut at a character boundary */
	sentsplit_push(ss, "\xc3\xa4\xc3\xa4\xc3\xa4.");
	TEST_ASSERT(sentsplit_flush(ss, buf, 4));
	TEST_STREQ(buf, "\xc3\xa4");

	TEST_EQ(sentsplit_alloc(NULL, 0), EINVAL);
	mem_deref(ss);
	TEST_EQ(sentsplit_alloc(&ss, 5), EINVAL);
	return 0;
}


int test_sentsplit_long(void)
{
	struct sentsplit *ss = NULL;
	char text[6000], buf[512], joined[8000] = "";
	size_t len = 0, pos = 0, jl = 0, n = 0;

	/* 1 long sentence with commas, then 600 bytes of "ä" without space */
	while (len < 3000)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"word%zu and more, ", len);
	for (size_t i = 0; i < 300; i++) {
		text[len++] = '\xc3';
		text[len++] = '\xa4';
	}
	text[len] = '\0';

	TEST_ERR(sentsplit_alloc(&ss, 100));
	while (pos < len) {
		size_t took = sentsplit_pushn(ss, text + pos, len - pos);

		/* bounded: never more than 2 * maxlen pending */
		TEST_ASSERT(took <= 200);
		pos += took;
		while (sentsplit_next(ss, buf, sizeof(buf))) {
			TEST_ASSERT(strlen(buf) <= 100);
			TEST_ASSERT(utf8_valid(buf));
			jl += (size_t)snprintf(joined + jl, sizeof(joined) - jl,
					       "%s%s", jl ? " " : "", buf);
			++n;
		}
	}
	while (sentsplit_flush(ss, buf, sizeof(buf))) {
		TEST_ASSERT(utf8_valid(buf));
		jl += (size_t)snprintf(joined + jl, sizeof(joined) - jl,
				       "%s%s", jl ? " " : "", buf);
		++n;
	}
	mem_deref(ss);
	TEST_ASSERT(n >= 30);
	/* cut at spaces: nothing lost but the cut spaces, no word split */
	TEST_ASSERT(!strncmp(joined, text, 2990));
	return 0;
}
