/*
 * screen.c  The injection screen: what a caller says (or untrusted text
 *           injected as context) is normalised, then judged ALLOW,
 *           CLARIFY or REFUSE by the rules documented in docs/trust.md.
 *
 * Normalisation defeats cheap disguises: Unicode folding (fullwidth,
 * accents, mathematical letters), Cyrillic/Greek homoglyphs, zero-width
 * characters, leetspeak, letters spelled out one by one or in the NATO
 * alphabet, and base64.  Each form is judged; the strictest verdict wins.
 *
 * Rules are a backstop, not the security boundary: the gate decides what
 * can happen whatever the brain was talked into.  Pure; any thread.
 */
#include <string.h>
#include <re.h>
#include "policy/policy.h"

enum {
	TEXT_MAX = 2048,
	WORDS_MAX = 400,
	NVARIANT = 5,
};

struct words {
	char buf[TEXT_MAX];
	const char *w[WORDS_MAX];
	size_t n;
};


/* ------------------------------------------------------ folding */

struct cpmap {
	uint16_t cp;
	char c;
};

/* letters that look like Latin ones (Cyrillic, Greek, IPA, ...) */
static const struct cpmap homoglyphs[] = {
	{0x0430, 'a'}, {0x0410, 'a'}, {0x0432, 'b'}, {0x0412, 'b'},
	{0x0435, 'e'}, {0x0415, 'e'}, {0x0451, 'e'}, {0x043a, 'k'},
	{0x041a, 'k'}, {0x043c, 'm'}, {0x041c, 'm'}, {0x043d, 'h'},
	{0x041d, 'h'}, {0x043e, 'o'}, {0x041e, 'o'}, {0x0440, 'p'},
	{0x0420, 'p'}, {0x0441, 'c'}, {0x0421, 'c'}, {0x0442, 't'},
	{0x0422, 't'}, {0x0443, 'y'}, {0x0423, 'y'}, {0x0445, 'x'},
	{0x0425, 'x'}, {0x0456, 'i'}, {0x0406, 'i'}, {0x0458, 'j'},
	{0x0408, 'j'}, {0x0455, 's'}, {0x0405, 's'}, {0x0501, 'd'},
	{0x051b, 'q'}, {0x051d, 'w'}, {0x0261, 'g'}, {0x0269, 'i'},
	{0x03b1, 'a'}, {0x0391, 'a'}, {0x03b2, 'b'}, {0x0392, 'b'},
	{0x03b5, 'e'}, {0x0395, 'e'}, {0x0397, 'h'}, {0x03b9, 'i'},
	{0x0399, 'i'}, {0x03ba, 'k'}, {0x039a, 'k'}, {0x039c, 'm'},
	{0x03bd, 'v'}, {0x039d, 'n'}, {0x03bf, 'o'}, {0x039f, 'o'},
	{0x03c1, 'p'}, {0x03a1, 'p'}, {0x03c4, 't'}, {0x03a4, 't'},
	{0x03c5, 'u'}, {0x03a5, 'y'}, {0x03c7, 'x'}, {0x03a7, 'x'},
	{0x0396, 'z'}, {0x0131, 'i'}, {0x0142, 'l'}, {0x0141, 'l'},
	{0x00df, 's'}, {0x0153, 'o'}, {0x0152, 'o'}, {0x00e6, 'a'},
	{0x00c6, 'a'}, {0x00f8, 'o'}, {0x00d8, 'o'}, {0x0111, 'd'},
	{0x2113, 'l'}, {0x212e, 'e'}, {0x2170, 'i'}, {0x217c, 'l'},
};

/* U+00C0..U+00FF without diacritics ('\0' = not a letter) */
static const char latin1[64] =
	"aaaaaaaceeeeiiii" "dnooooo\0ouuuuyts"
	"aaaaaaaceeeeiiii" "dnooooo\0ouuuuyty";


static uint32_t utf8_next(const char **sp, const char *end)
{
	const unsigned char *s = (const unsigned char *)*sp;
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80) {
		*sp += 1;
		return s[0];
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 1;
		cp = s[0] & 0x1f;
	}
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 2;
		cp = s[0] & 0x0f;
	}
	else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 3;
		cp = s[0] & 0x07;
	}
	else {
		*sp += 1;
		return 0xfffd;
	}
	if ((size_t)(end - (const char *)s) <= n) {
		*sp = end;
		return 0xfffd;
	}
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*sp += i;
			return 0xfffd;
		}
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	*sp += n + 1;
	return cp;
}


/* One code point to a folded ASCII char: a-z, 0-9, a few symbols kept
 * for the leet pass, ' ' for anything else, '\0' to drop it. */
static char fold_cp(uint32_t cp)
{
	if (cp < 0x80) {
		char c = (char)cp;

		if (c >= 'A' && c <= 'Z')
			return (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			return c;
		if (c == '\'' )
			return '\0';
		if (c == '@' || c == '$' || c == '|' || c == '!')
			return c;
		return ' ';
	}
	if (cp >= 0xff01 && cp <= 0xff5e)           /* fullwidth */
		return fold_cp(cp - 0xfee0);
	if (cp >= 0xc0 && cp <= 0xff)
		return latin1[cp - 0xc0] ? latin1[cp - 0xc0] : ' ';
	if (cp == 0xad || (cp >= 0x200b && cp <= 0x200f) ||
	    (cp >= 0x2060 && cp <= 0x2064) || cp == 0xfeff ||
	    (cp >= 0x0300 && cp <= 0x036f) || (cp >= 0xfe00 && cp <= 0xfe0f))
		return '\0';                          /* invisible, marks */
	if (cp == 0x2019 || cp == 0x2018)
		return '\0';                          /* typographic ' */
	if (cp >= 0x1d400 && cp <= 0x1d6a3) {         /* math letters */
		unsigned k = (cp - 0x1d400) % 52;
		return (char)(k < 26 ? 'a' + k : 'a' + k - 26);
	}
	if (cp >= 0x1d7ce && cp <= 0x1d7ff)           /* math digits */
		return (char)('0' + (cp - 0x1d7ce) % 10);
	if (cp >= 0x24b6 && cp <= 0x24cf)             /* circled A-Z */
		return (char)('a' + cp - 0x24b6);
	if (cp >= 0x24d0 && cp <= 0x24e9)             /* circled a-z */
		return (char)('a' + cp - 0x24d0);
	if (cp >= 0x1f130 && cp <= 0x1f149)           /* squared A-Z */
		return (char)('a' + cp - 0x1f130);
	if (cp >= 0x1f150 && cp <= 0x1f169)
		return (char)('a' + cp - 0x1f150);
	if (cp >= 0x1f170 && cp <= 0x1f189)
		return (char)('a' + cp - 0x1f170);
	if (cp >= 0x1f1e6 && cp <= 0x1f1ff)           /* regional ind. */
		return (char)('a' + cp - 0x1f1e6);
	for (size_t i = 0; i < ARRAY_SIZE(homoglyphs); i++) {
		if (homoglyphs[i].cp == cp)
			return homoglyphs[i].c;
	}
	return ' ';
}


/* Fold text into out: lower-case ASCII words separated by single
 * spaces; leet symbols kept only if leet (then mapped to letters). */
static void fold(char *out, size_t sz, const char *in, size_t len,
		 int leet)
{
	const char *p = in, *end = in + len;
	size_t n = 0;
	bool space = true;

	while (p < end && n + 2 < sz) {
		char c = fold_cp(utf8_next(&p, end));

		if (!c)
			continue;
		if (leet) {
			switch (c) {
			case '0': c = 'o'; break;
			case '1': c = leet == 2 ? 'l' : 'i'; break;
			case '!': case '|': c = 'i'; break;
			case '3': c = 'e'; break;
			case '4': case '@': c = 'a'; break;
			case '5': case '$': c = 's'; break;
			case '7': c = 't'; break;
			case '8': c = 'b'; break;
			default: break;
			}
		}
		else if (c == '@' || c == '$' || c == '|' || c == '!') {
			c = ' ';
		}
		if (c == ' ') {
			if (!space)
				out[n++] = ' ';
			space = true;
			continue;
		}
		out[n++] = c;
		space = false;
	}
	while (n && out[n - 1] == ' ')
		--n;
	out[n] = '\0';
}


/* ------------------------------------------------------ words */

static void words_split(struct words *ws, const char *text)
{
	char *s;

	str_ncpy(ws->buf, text, sizeof(ws->buf));
	ws->n = 0;
	s = ws->buf;
	while (*s && ws->n < WORDS_MAX) {
		while (*s == ' ')
			*s++ = '\0';
		if (!*s)
			break;
		ws->w[ws->n++] = s;
		while (*s && *s != ' ')
			++s;
	}
	while (*s) {
		if (*s == ' ')
			*s = '\0';
		++s;
	}
}


static const char *const nato[] = {
	"alfa", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
	"hotel", "india", "juliett", "kilo", "lima", "mike", "november",
	"oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform",
	"victor", "whiskey", "xray", "yankee", "zulu", NULL,
};


static char nato_letter(const char *w)
{
	if (!strcmp(w, "alpha"))
		return 'a';
	if (!strcmp(w, "juliet"))
		return 'j';
	if (!strcmp(w, "whisky"))
		return 'w';
	for (int i = 0; nato[i]; i++) {
		if (!strcmp(nato[i], w))
			return nato[i][0];
	}
	return 0;
}


/* Append " word" (no space first) within sz, always terminated. */
static void append(char *out, size_t sz, size_t *np, const char *w)
{
	size_t n = *np, l = strlen(w);

	if (n && n + 1 < sz)
		out[n++] = ' ';
	if (n + l >= sz)
		l = n < sz ? sz - n - 1 : 0;
	memcpy(out + n, w, l);
	n += l;
	out[n] = '\0';
	*np = n;
}


/* Letters spelled one by one ("i g n o r e") or in the NATO alphabet:
 * runs of three or more become a word.  Other words are kept. */
static void despell(char *out, size_t sz, const char *folded)
{
	struct words ws;
	size_t n = 0;

	words_split(&ws, folded);
	out[0] = '\0';
	for (size_t i = 0; i < ws.n && n + 2 < sz;) {
		size_t j = i;
		char run[128];
		size_t rn = 0;

		while (j < ws.n && rn + 1 < sizeof(run)) {
			char l = strlen(ws.w[j]) == 1 && ws.w[j][0] >= 'a' &&
				ws.w[j][0] <= 'z' ? ws.w[j][0] :
				nato_letter(ws.w[j]);
			if (!l)
				break;
			run[rn++] = l;
			j++;
		}
		if (rn >= 3) {
			run[rn] = '\0';
			append(out, sz, &n, run);
			i = j;
			continue;
		}
		append(out, sz, &n, ws.w[i]);
		i++;
	}
}


/* Append base64-looking tokens (16+ chars) that decode to mostly
 * printable text; returns true if any did. */
static bool unbase64(char *out, size_t sz, const char *text)
{
	const char *p = text;
	size_t n = 0;
	bool found = false;

	out[0] = '\0';
	while (*p) {
		size_t l = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"
				  "pqrstuvwxyz0123456789+/=");
		if (l >= 16 && l <= 1400) {
			uint8_t dec[1100];
			size_t dl = sizeof(dec), printable = 0;

			if (0 == base64_decode(p, l, dec, &dl) && dl >= 8) {
				for (size_t i = 0; i < dl; i++) {
					if ((dec[i] >= 0x20 && dec[i] < 0x7f) ||
					    dec[i] == '\n')
						printable++;
				}
				if (printable * 10 >= dl * 9 && n + dl + 2 < sz) {
					out[n++] = ' ';
					for (size_t i = 0; i < dl; i++)
						out[n++] = dec[i] >= 0x20 &&
							dec[i] < 0x7f ?
							(char)dec[i] : ' ';
					out[n] = '\0';
					found = true;
				}
			}
		}
		p += l ? l : 1;
	}
	return found;
}


char *screen_normalise(char *out, size_t sz, const char *text)
{
	char a[TEXT_MAX], b[TEXT_MAX], dec[TEXT_MAX];

	if (!out || !sz)
		return out;
	out[0] = '\0';
	if (!text)
		return out;
	fold(a, sizeof(a), text, strlen(text), 0);
	despell(b, sizeof(b), a);
	if (unbase64(dec, sizeof(dec), text)) {
		fold(a, sizeof(a), dec, strlen(dec), 0);
		(void)re_snprintf(out, sz, "%s | %s", b, a);
	}
	else {
		str_ncpy(out, b, sz);
	}
	return out;
}


/* ------------------------------------------------------ rules */

/* word sets; an entry ending in '*' matches as a prefix */
static const char *const v_override[] = {
	"ignore*", "disregard*", "forget*", "override*", "bypass*", "skip*",
	"abandon*", "discard*", "overwrite*", "suspend*", "disable*",
	"deactivate*", "violate*", "circumvent*", "nullify", "unlearn",
	NULL,
};
static const char *const o_rules[] = {
	"instruction*", "rule*", "prompt*", "guideline*", "direction*",
	"programming", "restriction*", "directive*", "guardrail*", "filter*", "safeguard*", "training",
	"constraint*", "limitation*", "protocol*", "safety", "system",
	"commands", "setup", "configuration", "limits", "boundaries",
	"conditioning", "preprompt", "context", "persona", NULL,
};
static const char *const roles[] = {
	"system", "operator", "administrator", "admin", "owner",
	"developer*", "creator", "programmer", "supervisor", "root",
	"sysadmin", "openai", "anthropic", "maintainer", "superuser",
	NULL,
};
static const char *const claims[] = {
	"this is", "i am", "im", "i m", "speaking as", "acting as", "act as",
	"as your", "as the", "pretend to be", "pretend you are",
	"pretend youre", "roleplay as", "role play as", "you are talking to",
	"youre talking to", "on behalf of", "message from", "note from",
	"instruction from", "orders from", "authorized by", "authorised by",
	"switch to", "enter", "enable", "activate", "you are now", "become", "behave as",
	"behave like", "respond as", NULL,
};
static const char *const read_verbs[] = {
	"tell", "read*", "give", "say", "repeat", "spell*", "reveal*",
	"share", "show", "print", "list", "dump", "recite", "send",
	"output", "disclose", "leak", "provide", "expose", "what", "whats",
	"display", "copy", "email", "text", "confirm", "verify", "let",
	"need", "want", "know", "remind", "forward", "describe", "which",
	"summari*", "quote", "write", NULL,
};
static const char *const secrets[] = {
	"password*", "passphrase*", "passcode*", "passwort", "pin",
	"pins", "pincode", "secret*", "apikey*", "token*", "credential*",
	"configuration", "config", "prompt", "codeword",
	"accesscode", "doorcode", "gatecode", "securitycode",
	"entrycode", "login*", "keys", NULL,
};
static const char *const other_data[] = {
	"other callers", "other caller", "previous caller",
	"previous callers", "last caller", "earlier caller", "who called",
	"who else called", "who has called", "who just called",
	"who was calling", "call log", "call logs", "call history",
	"call records", "caller list", "list of callers", "callers list",
	"messages left", "their messages", "other messages",
	"everyone s messages", "all the messages", "all messages",
	"voicemails", "phone numbers of", "contact list",
	"address book", "phone book", "phonebook", "home address",
	"owners number", "owners phone", "owners address", "owners home",
	"personal number", "private number", "mobile number of",
	"cell number of", "whose number", "anyone else s", "someone else s",
	"other people s", "other peoples", "other customers",
	"previous conversation", "last conversation",
	"conversation before", "transcript", "transcripts",
	"recordings", "schedule of", "calendar of",
	"where is the owner", "when is the owner", "your instructions",
	"your prompt", "your rules", "your guidelines",
	"your configuration", "your programming", "your system",
	"how you were programmed", "how were you programmed",
	"what you were told", NULL,
};
static const char *const override_phrases[] = {
	"new instructions", "updated instructions", "new rules",
	"from now on you", "from now on your", "from now on ignore",
	"you are now", "you will now", "developer mode", "god mode",
	"jailbreak", "jail break", "dan mode", "do anything now",
	"no restrictions", "without restrictions", "unrestricted",
	"unfiltered", "no rules", "without any rules", "without rules",
	"system override", "override code", "admin override",
	"operator override", "maintenance mode", "debug mode",
	"diagnostic mode", "sudo", "root access", "admin access",
	"admin mode", "your real instructions", "your true purpose",
	"your real purpose", "your new task", "your new role",
	"your new job", "your new purpose", "your new instructions",
	"whatever i say", "whatever i tell you", "do what i tell you",
	"everything i say", "anything i say", "anything i ask",
	"ignore the above", "everything above", "all previous",
	"all prior", "you must obey",
	"obey me", "obey my", "you have to obey", "comply with my",
	"you must comply", "do as i say", "do what i say",
	"i command you", "i order you", "authorization code",
	"authorisation code", "security override", "override the",
	"end of prompt", "end of instructions", "start new session",
	"reset yourself", "if you had no rules", "no longer bound",
	"not bound by", "break character", "out of character",
	"stay in character", "opposite mode", NULL,
};
static const char *const roleplay[] = {
	"pretend", "roleplay", "role play", "lets play a game",
	"play a game", "imagine you are", "imagine youre", "act like",
	"act as", "as an ai", "as a language model", "ignore everything",
	"ignore all", "forget everything", "forget all", "you were told",
	"ignore what", "hypothetically",
	"repeat after me", "say exactly", "say the following",
	"read this out", "read this aloud", "say these words",
	"translate the following", "complete the sentence", NULL,
};
static const char *const dial[] = {
	"call*", "dial*", "phone", "ring", "transfer*", "connect*",
	"forward*", "patch*", "redirect*", "conference", "bridge",
	"divert*", "reroute", NULL,
};
static const char *const dial_phrases[] = {
	"put me through", "put through", "put me on to", "hook me up",
	"get me through", "let me speak to", "let me talk to", NULL,
};
/* "call" as a noun or a callback is not a request to dial someone:
 * "can't take your call right now" is what every receptionist says. */
static const char *const call_nouns[] = {
	"your call", "the call", "this call", "a call", "my call",
	"our call", "his call", "her call", "their call", "call back",
	"calling back", "call you back", "call me back", NULL,
};
static const char *const urgency[] = {
	"urgent*", "emergency", "immediately", "asap", "hurry", "quick*",
	"instantly", "dying", "critical", "right away", "right now",
	"do it now", "now now", "at once", "life or death", "or else",
	"no time", "this instant", "without delay", "straight away",
	"straightaway", "before it s too late", "before its too late",
	"deadline", "desperate*", "emergencies", NULL,
};
static const char *const authority[] = {
	"police", "fbi", "irs", "ceo", "boss", "owner said", "owner wants",
	"owner told", "owner asked", "authorized", "authorised",
	"authorization", "authorisation", "approved", "permission",
	"override", "legal", "lawyer", "court", "government", "bank",
	"security team", "it department", "your owner", "your boss",
	"your creator", "your developer", "management", NULL,
};
static const char *const syntax_marks[] = {
	"<|", "|>", "[inst]", "[/inst]", "<<sys>>", "<system", "</system",
	"[system", "system:", "assistant:", "user:", "### instruction",
	"###instruction", "<s>", "</s>", "{{", "}}", "\\n\\n", "```",
	"developer:", "[admin", "<admin", "admin:", "operator:",
	"root:", "sudo ", "<!--", "-->", NULL,
};


static bool word_in(const char *w, const char *const *set)
{
	for (size_t i = 0; set[i]; i++) {
		size_t n = strlen(set[i]);

		if (strchr(set[i], ' '))
			continue;
		if (set[i][n - 1] == '*') {
			if (!strncmp(w, set[i], n - 1))
				return true;
		}
		else if (!strcmp(w, set[i])) {
			return true;
		}
	}
	return false;
}


/* phrase (words separated by one space) in " text " */
static bool phrase_in(const char *sp, const char *phrase)
{
	char pat[128];

	if (re_snprintf(pat, sizeof(pat), " %s ", phrase) < 0)
		return false;
	return strstr(sp, pat) != NULL;
}


static bool any_phrase(const char *sp, const char *const *set)
{
	for (size_t i = 0; set[i]; i++) {
		if (set[i][strlen(set[i]) - 1] == '*') {
			char pre[64];
			str_ncpy(pre, set[i], sizeof(pre));
			pre[strlen(pre) - 1] = '\0';
			/* prefix: " pre" */
			{
				char pat[80];
				re_snprintf(pat, sizeof(pat), " %s", pre);
				if (strstr(sp, pat))
					return true;
			}
			continue;
		}
		if (phrase_in(sp, set[i]))
			return true;
	}
	return false;
}


/* a word of set a, then within gap words a word of set b */
static bool near(const struct words *ws, const char *const *a,
		 const char *const *b, size_t gap)
{
	for (size_t i = 0; i < ws->n; i++) {
		if (!word_in(ws->w[i], a))
			continue;
		for (size_t j = i + 1; j < ws->n && j <= i + gap; j++) {
			if (word_in(ws->w[j], b))
				return true;
		}
	}
	return false;
}


/* a claim phrase followed within 3 words by a role */
static bool role_claim(const char *sp, const struct words *ws)
{
	for (size_t i = 0; claims[i]; i++) {
		char pat[64];
		const char *m;

		re_snprintf(pat, sizeof(pat), " %s ", claims[i]);
		for (m = strstr(sp, pat); m; m = strstr(m + 1, pat)) {
			const char *after = m + strlen(pat);
			struct words rest;

			words_split(&rest, after);
			for (size_t k = 0; k < rest.n && k < 3; k++) {
				if (word_in(rest.w[k], roles) &&
				    !(k + 1 < rest.n &&
				      !strcmp(rest.w[k + 1], "of")))
					return true;
			}
		}
	}
	(void)ws;
	return false;
}


/* a read-back verb, then within 6 words a secret not preceded by "my" */
static bool secret_readback(const struct words *ws)
{
	for (size_t j = 0; j < ws->n; j++) {
		if (!word_in(ws->w[j], secrets))
			continue;
		if (j && (!strcmp(ws->w[j - 1], "my") ||
			  !strcmp(ws->w[j - 1], "own")))
			continue;
		for (size_t i = j > 6 ? j - 6 : 0; i < j; i++) {
			if (word_in(ws->w[i], read_verbs))
				return true;
		}
	}
	return false;
}


static void rejoin(char *sp, size_t sz, const char *text)
{
	/* " text " with a few two-word terms joined */
	static const char *const joins[][2] = {
		{" api key", " apikey"}, {" pass word", " password"},
		{" pass phrase", " passphrase"}, {" pass code", " passcode"},
		{" pin code", " pincode"}, {" access code", " accesscode"},
		{" door code", " doorcode"}, {" gate code", " gatecode"},
		{" security code", " securitycode"},
		{" entry code", " entrycode"}, {" code word", " codeword"},
		{" secret key", " secret"}, {" log in", " login"},
		{" x ray", " xray"},
	};

	(void)re_snprintf(sp, sz, " %s ", text);
	for (size_t i = 0; i < ARRAY_SIZE(joins); i++) {
		char *m;
		size_t fl = strlen(joins[i][0]), tl = strlen(joins[i][1]);

		while ((m = strstr(sp, joins[i][0])) &&
		       (m[fl] == ' ' || m[fl] == 's')) {
			memcpy(m, joins[i][1], tl);
			memmove(m + tl, m + fl, strlen(m + fl) + 1);
		}
	}
}


static enum screen_verdict judge(const char *folded, const char **rule)
{
	char sp[TEXT_MAX + 4];
	struct words ws;
	bool d, u, a;

	rejoin(sp, sizeof(sp), folded);
	words_split(&ws, sp);

	if (near(&ws, v_override, o_rules, 5) ||
	    any_phrase(sp, override_phrases)) {
		*rule = "instruction_override";
		return SCREEN_REFUSE;
	}
	if (phrase_in(sp, "system prompt") || phrase_in(sp, "system message")
	    || phrase_in(sp, "initial prompt") ||
	    phrase_in(sp, "hidden prompt") || role_claim(sp, &ws)) {
		*rule = "role_claim";
		return SCREEN_REFUSE;
	}
	if (secret_readback(&ws)) {
		*rule = "secret_readback";
		return SCREEN_REFUSE;
	}
	if (any_phrase(sp, other_data)) {
		*rule = "other_callers_data";
		return SCREEN_REFUSE;
	}

	d = any_phrase(sp, dial_phrases);
	{
		struct words dw;
		char dt[TEXT_MAX + 4];

		str_ncpy(dt, sp, sizeof(dt));
		for (size_t i = 0; call_nouns[i]; i++) {
			char *m = dt;
			size_t l = strlen(call_nouns[i]);

			while ((m = strstr(m, call_nouns[i]))) {
				if ((m == dt || m[-1] == ' ') &&
				    (m[l] == ' ' || m[l] == '\0'))
					memset(m, '_', l);
				m += l;
			}
		}
		words_split(&dw, dt);
		for (size_t i = 0; i < dw.n && !d; i++)
			d = word_in(dw.w[i], dial);
	}
	u = false;
	for (size_t i = 0; i < ws.n && !u; i++)
		u = word_in(ws.w[i], urgency);
	u = u || any_phrase(sp, urgency);
	a = any_phrase(sp, authority);
	for (size_t i = 0; i < ws.n && !a; i++)
		a = word_in(ws.w[i], authority);
	if (d && u && a) {
		*rule = "pressure_dial";
		return SCREEN_REFUSE;
	}
	if (d && (u || a)) {
		*rule = u ? "urgent_dial" : "authority_dial";
		return SCREEN_CLARIFY;
	}
	if (any_phrase(sp, roleplay)) {
		*rule = "role_play";
		return SCREEN_CLARIFY;
	}
	*rule = "";
	return SCREEN_ALLOW;
}


/* Letters only, word breaks gone ("i g n o r e  a l l" spelled with
 * spaces between words as well): an override verb followed closely by
 * what it overrides, or a read-back of a secret. */
static const char *squashed(const char *folded)
{
	static const char *const verbs[] = {
		"ignore", "disregard", "forget", "override", "bypass",
		"circumvent", NULL,
	};
	static const char *const objs[] = {
		"instruction", "rules", "prompt", "guideline", "restriction",
		"programming", "directive", "safeguard", NULL,
	};
	static const char *const reads[] = {
		"reveal", "tellme", "readme", "spell", "giveme", "whatis",
		"whats", "repeat", NULL,
	};
	static const char *const secret_words[] = {
		"password", "passphrase", "passcode", "apikey", "systemprompt",
		"doorcode", "accesscode", NULL,
	};
	char sq[TEXT_MAX];
	size_t n = 0;

	for (const char *p = folded; *p && n + 1 < sizeof(sq); p++) {
		if (*p != ' ')
			sq[n++] = *p;
	}
	sq[n] = '\0';
	for (size_t i = 0; verbs[i]; i++) {
		for (const char *m = strstr(sq, verbs[i]); m;
		     m = strstr(m + 1, verbs[i])) {
			for (size_t j = 0; objs[j]; j++) {
				const char *o = strstr(m, objs[j]);
				if (o && o - m < 40)
					return "instruction_override";
			}
		}
	}
	for (size_t i = 0; reads[i]; i++) {
		for (const char *m = strstr(sq, reads[i]); m;
		     m = strstr(m + 1, reads[i])) {
			for (size_t j = 0; secret_words[j]; j++) {
				const char *o = strstr(m, secret_words[j]);
				if (o && o - m < 24)
					return "secret_readback";
			}
		}
	}
	return NULL;
}


static bool has_syntax_marks(const char *text)
{
	char low[TEXT_MAX];
	size_t n;

	str_ncpy(low, text, sizeof(low));
	n = strlen(low);
	for (size_t i = 0; i < n; i++) {
		if (low[i] >= 'A' && low[i] <= 'Z')
			low[i] = (char)(low[i] - 'A' + 'a');
	}
	for (size_t i = 0; syntax_marks[i]; i++) {
		if (strstr(low, syntax_marks[i]))
			return true;
	}
	return false;
}


enum screen_verdict screen_text(const char *text, const char **rulep)
{
	char forms[NVARIANT][TEXT_MAX];
	enum screen_verdict best = SCREEN_ALLOW;
	const char *best_rule = "";
	size_t nf = 0, len;
	bool encoded;
	char dec[TEXT_MAX];

	if (rulep)
		*rulep = "";
	if (!text)
		return SCREEN_ALLOW;
	len = strlen(text);
	if (len > TEXT_MAX - 1)
		len = TEXT_MAX - 1;

	if (has_syntax_marks(text)) {
		if (rulep)
			*rulep = "prompt_syntax";
		return SCREEN_REFUSE;
	}

	fold(forms[nf++], TEXT_MAX, text, len, 0);
	despell(forms[nf], TEXT_MAX, forms[0]);
	nf++;
	fold(forms[nf++], TEXT_MAX, text, len, 1);
	fold(forms[nf++], TEXT_MAX, text, len, 2);
	encoded = unbase64(dec, sizeof(dec), text);
	if (encoded)
		fold(forms[nf++], TEXT_MAX, dec, strlen(dec), 0);

	for (size_t i = 0; i < nf; i++) {
		const char *rule = squashed(forms[i]);
		enum screen_verdict v = rule ? SCREEN_REFUSE :
			judge(forms[i], &rule);

		if (v > best) {
			best = v;
			best_rule = rule;
		}
	}
	if (encoded && best < SCREEN_CLARIFY) {
		best = SCREEN_CLARIFY;
		best_rule = "encoded_text";
	}
	if (rulep)
		*rulep = best_rule;
	return best;
}


const char *screen_verdict_name(enum screen_verdict v)
{
	switch (v) {
	case SCREEN_ALLOW:   return "ALLOW";
	case SCREEN_CLARIFY: return "CLARIFY";
	default:             return "REFUSE";
	}
}
