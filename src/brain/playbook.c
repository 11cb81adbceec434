/*
 * playbook.c  Playbook files (the loader the LLM brain uses for its
 *             prompt) and `brain = playbook`: the offline receptionist.
 *
 * The receptionist is a small state machine that works with the offline
 * engines: the free-speech answers (name, reason) are best-effort
 * transcripts, so the audio of each is kept with the message; the
 * callback number is heard with the digits grammar (or typed on the
 * keypad), read back digit by digit and confirmed with the yes/no
 * grammar.  The message is stored through the take_message tool, then
 * the brain says goodbye and hangs up through the hang_up tool.
 *
 * Main thread only.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <re.h>
#include "brain/brain.h"
#include "brain/playbook.h"
#include "core/conf.h"
#include "core/events.h"
#include "core/log.h"
#include "media/wav.h"
#if __has_include("store/store.h")
#include "store/store.h"
#define PLAYBOOK_HAVE_STORE 1
#endif

#define MOD "playbook"

enum {
	PB_FILE_MAX = 64 * 1024,
	PB_NAME_MAX = 64,
	NUMBER_MIN = 3,              /* digits for a callback number     */
	NUMBER_MAX = 20,
	TRIES_MAX = 3,               /* asking again before moving on    */
	DTMF_GAP_MS = 3000,          /* keypad: end of the number        */
	AUDIO_MAX_SECS = 120,
};


/* ------------------------------------------------------------ loader */

const char *playbook_bundled_dir(void)
{
	return AGENTLINE_DATADIR "/../playbooks";
}


static bool name_valid(const char *name)
{
	size_t n = 0;

	if (!name || !*name)
		return false;
	for (; name[n]; n++) {
		if (!isalnum((unsigned char)name[n]) && name[n] != '_' &&
		    name[n] != '-')
			return false;
	}
	return n <= PB_NAME_MAX;
}


static void playbook_destructor(void *data)
{
	struct playbook *pb = data;

	mem_deref(pb->name);
	mem_deref(pb->title);
	mem_deref(pb->greeting);
	mem_deref(pb->text);
	mem_deref(pb->path);
}


/* The file of playbook `name`: the user folder first, then the bundled
 * one.  0 and the path in buf, or ENOENT. */
static int playbook_path(char *buf, size_t sz, const struct conf *conf,
			 const char *name)
{
	const char *user = conf ? conf_str(conf, "playbooks_dir") : NULL;
	const char *dirs[2] = {user, playbook_bundled_dir()};
	struct stat sb;

	for (size_t i = 0; i < 2; i++) {
		if (!dirs[i] || !*dirs[i])
			continue;
		re_snprintf(buf, sz, "%s/%s.txt", dirs[i], name);
		if (!stat(buf, &sb) && S_ISREG(sb.st_mode))
			return 0;
	}
	return ENOENT;
}


static int read_file(char **bufp, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f)
		return errno ? errno : ENOENT;
	buf = mem_alloc(PB_FILE_MAX + 1, NULL);
	if (!buf) {
		fclose(f);
		return ENOMEM;
	}
	n = fread(buf, 1, PB_FILE_MAX + 1, f);
	fclose(f);
	if (n > PB_FILE_MAX) {
		mem_deref(buf);
		return EFBIG;
	}
	buf[n] = '\0';
	*bufp = buf;
	return 0;
}


/* Copy s with {owner} replaced, trimmed of surrounding white space. */
static int fill(char **dstp, const char *s, size_t len, const char *owner)
{
	struct mbuf *mb = mbuf_alloc(len + 64);
	const char *end;
	int err = 0;

	if (!mb)
		return ENOMEM;
	while (len && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	end = s + len;
	while (s < end && !err) {
		const char *ph = NULL;

		for (const char *q = s; q + 7 <= end; q++) {
			if (!memcmp(q, "{owner}", 7)) {
				ph = q;
				break;
			}
		}
		if (!ph) {
			err = mbuf_write_mem(mb, (const uint8_t *)s,
					     (size_t)(end - s));
			break;
		}
		err  = mbuf_write_mem(mb, (const uint8_t *)s, (size_t)(ph - s));
		err |= mbuf_write_str(mb, owner);
		s = ph + 7;
	}
	if (!err) {
		mb->pos = 0;
		err = mbuf_strdup(mb, dstp, mb->end);
	}
	mem_deref(mb);
	return err;
}


static int load(struct playbook **pbp, const struct conf *conf,
		const char *name, unsigned depth)
{
	const char *lang = conf ? conf_str(conf, "language") : NULL;
	const char *owner = conf ? conf_str(conf, "greeting_owner") : NULL;
	char path[512], gkey[32], *buf = NULL, *p, *base = NULL;
	const char *greet = NULL, *greet_lang = NULL, *title = NULL;
	size_t greet_len = 0, greet_lang_len = 0, title_len = 0, base_len = 0;
	struct playbook *pb;
	int err;

	if (!name || !*name)
		name = conf ? conf_str(conf, "playbook") : NULL;
	if (!name_valid(name))
		return EINVAL;
	if (!owner)
		owner = "the owner";
	re_snprintf(gkey, sizeof(gkey), "greeting_%s", lang ? lang : "en");

	err = playbook_path(path, sizeof(path), conf, name);
	if (err)
		return err;
	err = read_file(&buf, path);
	if (err)
		return err;

	/* header: comments and key: value lines up to the first blank line */
	p = buf;
	while (*p) {
		char *eol = strchr(p, '\n');
		char *colon;
		size_t klen;

		if (!eol)
			eol = p + strlen(p);
		if (eol == p || (eol == p + 1 && *p == '\r')) {
			p = *eol ? eol + 1 : eol;
			break;
		}
		if (*p == '#')
			goto next;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon)
			break;   /* no header: the line belongs to the text */
		klen = (size_t)(colon - p);
		colon++;
		while (colon < eol && (*colon == ' ' || *colon == '\t'))
			colon++;
		if (klen == 5 && !strncmp(p, "title", 5)) {
			title = colon;
			title_len = (size_t)(eol - colon);
		}
		else if (klen == 8 && !strncmp(p, "greeting", 8)) {
			greet = colon;
			greet_len = (size_t)(eol - colon);
		}
		else if (klen == strlen(gkey) && !strncmp(p, gkey, klen)) {
			greet_lang = colon;
			greet_lang_len = (size_t)(eol - colon);
		}
		else if (klen == 8 && !strncmp(p, "playbook", 8)) {
			base = colon;
			base_len = (size_t)(eol - colon);
		}
		else {
			/* not a header key: the text starts here */
			bool word = true;
			for (size_t i = 0; i < klen; i++)
				if (!islower((unsigned char)p[i]) &&
				    p[i] != '_')
					word = false;
			if (!word)
				break;
		}
 next:
		p = *eol ? eol + 1 : eol;
	}

	pb = mem_zalloc(sizeof(*pb), playbook_destructor);
	if (!pb) {
		err = ENOMEM;
		goto out;
	}
	if (greet_lang) {
		greet = greet_lang;
		greet_len = greet_lang_len;
	}
	err  = str_dup(&pb->name, name);
	err |= str_dup(&pb->path, path);
	err |= fill(&pb->title, title ? title : "", title_len, owner);
	err |= fill(&pb->greeting, greet ? greet : "", greet_len, owner);
	err |= fill(&pb->text, p, strlen(p), owner);
	if (err) {
		err = ENOMEM;
		goto out;
	}

	/* a persona file may borrow the instructions of another playbook
	 * (`playbook: reception`) and only change the greeting */
	if (base && !*pb->text && depth < 2) {
		char bname[PB_NAME_MAX + 1];
		struct playbook *bp = NULL;

		while (base_len && isspace((unsigned char)base[base_len - 1]))
			base_len--;
		if (base_len > PB_NAME_MAX) {
			err = EINVAL;
			goto out;
		}
		memcpy(bname, base, base_len);
		bname[base_len] = '\0';
		err = load(&bp, conf, bname, depth + 1);
		if (err)
			goto out;
		mem_deref(pb->text);
		pb->text = mem_ref(bp->text);
		if (!*pb->greeting) {
			mem_deref(pb->greeting);
			pb->greeting = mem_ref(bp->greeting);
		}
		if (!*pb->title) {
			mem_deref(pb->title);
			pb->title = mem_ref(bp->title);
		}
		mem_deref(bp);
	}

 out:
	mem_deref(buf);
	if (err)
		mem_deref(pb);
	else
		*pbp = pb;
	return err;
}


int playbook_load(struct playbook **pbp, const struct conf *conf,
		  const char *name)
{
	if (!pbp)
		return EINVAL;
	return load(pbp, conf, name, 0);
}


const char *playbook_for_persona(const struct conf *conf,
				 const char *persona)
{
	char path[512];

	if (name_valid(persona) &&
	    !playbook_path(path, sizeof(path), conf, persona))
		return persona;
	return conf ? conf_str(conf, "playbook") : "reception";
}


/* ------------------------------------------------ what the caller says */

/* Spoken digit words (also the words pocketsphinx's language model tends
 * to put in their place) to digits, appended to out. */
static const struct {
	const char *word;
	char digit;
} digit_words[] = {
	{"zero", '0'}, {"oh", '0'}, {"o", '0'}, {"null", '0'},
	{"one", '1'}, {"won", '1'}, {"eins", '1'}, {"ein", '1'},
	{"two", '2'}, {"to", '2'}, {"too", '2'}, {"zwei", '2'}, {"zwo", '2'},
	{"three", '3'}, {"drei", '3'},
	{"four", '4'}, {"for", '4'}, {"vier", '4'},
	{"five", '5'}, {"fuenf", '5'}, {"fünf", '5'},
	{"six", '6'}, {"sechs", '6'},
	{"seven", '7'}, {"sieben", '7'},
	{"eight", '8'}, {"ate", '8'}, {"acht", '8'},
	{"nine", '9'}, {"neun", '9'},
};


/* Next word of s (letters, digits, apostrophes; UTF-8 kept) into w. */
static const char *next_word(const char *s, char *w, size_t sz)
{
	size_t n = 0;

	while (*s && !(isalnum((unsigned char)*s) || (*s & 0x80)))
		s++;
	while (*s && (isalnum((unsigned char)*s) || (*s & 0x80) ||
		      *s == '\'')) {
		if (n + 1 < sz)
			w[n++] = (char)tolower((unsigned char)*s);
		s++;
	}
	w[n] = '\0';
	return n ? s : NULL;
}


/* Digits said as words or figures; "double five" doubles the next.  The
 * number is only taken when the words are (almost) all digits, so that
 * a sentence is not read as a number. */
static size_t digits_parse(char *out, size_t sz, const char *text,
			   bool strict)
{
	char w[32];
	size_t n = 0, words = 0, other = 0;
	unsigned times = 1;
	const char *s = text;

	while ((s = next_word(s, w, sizeof(w)))) {
		char d = 0;

		words++;
		if (!strcmp(w, "double") || !strcmp(w, "doppel")) {
			times = 2;
			continue;
		}
		if (!strcmp(w, "triple")) {
			times = 3;
			continue;
		}
		if (isdigit((unsigned char)w[0])) {
			for (size_t i = 0; w[i] && n + 1 < sz; i++)
				if (isdigit((unsigned char)w[i]))
					out[n++] = w[i];
			times = 1;
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(digit_words); i++) {
			if (!strcmp(w, digit_words[i].word)) {
				d = digit_words[i].digit;
				break;
			}
		}
		if (!d) {
			other++;
			times = 1;
			continue;
		}
		/* "o" and "to"/"for" only count between digits */
		while (times-- && n + 1 < sz)
			out[n++] = d;
		times = 1;
	}
	out[n] = '\0';
	if (strict && other > 2 && other * 2 > words)
		n = 0;   /* mostly not digits: not a number */
	out[n] = '\0';
	return n;
}


size_t playbook_digits(char *out, size_t sz, const char *text)
{
	return digits_parse(out, sz, text, false);
}


static bool has_word(const char *text, const char *const *list)
{
	char w[32];
	const char *s = text;

	while ((s = next_word(s, w, sizeof(w)))) {
		for (size_t i = 0; list[i]; i++)
			if (!strcmp(w, list[i]))
				return true;
	}
	return false;
}


static bool has_phrase(const char *text, const char *const *list)
{
	char low[512];
	size_t i;

	for (i = 0; text[i] && i + 1 < sizeof(low); i++)
		low[i] = (char)tolower((unsigned char)text[i]);
	low[i] = '\0';
	for (i = 0; list[i]; i++)
		if (strstr(low, list[i]))
			return true;
	return false;
}


/* 1 yes, 0 no, -1 neither */
static int parse_yesno(const char *text)
{
	static const char *const no[] = {"no", "nope", "wrong", "not",
		"incorrect", "nein", "falsch", "nicht", NULL};
	static const char *const yes[] = {"yes", "yeah", "yep", "yup",
		"correct", "right", "sure", "okay", "ok", "exactly", "ja",
		"richtig", "genau", "stimmt", NULL};

	if (has_word(text, no))
		return 0;
	if (has_word(text, yes))
		return 1;
	return -1;
}


static bool wants_repeat(const char *text)
{
	static const char *const phrases[] = {"repeat", "say that again",
		"say again", "pardon", "come again", "what did you say",
		"wiederholen", "wie bitte", "nochmal", "noch mal", NULL};

	return has_phrase(text, phrases);
}


/* "hi, this is Alice Walker" -> "Alice Walker" */
static void clean_name(char *out, size_t sz, const char *text)
{
	static const char *const lead[] = {"hello ", "hi ", "hey ",
		"good morning ", "good afternoon ", "good evening ", "yes ",
		"this is ", "my name is ", "my name's ", "it's ", "it is ",
		"i am ", "i'm ", "the name is ", "name is ", "hallo ",
		"guten tag ", "hier ist ", "ich bin ", "mein name ist ",
		"ich heiße ", NULL};
	const char *s = text;
	bool again = true;

	while (again) {
		again = false;
		while (*s == ' ' || *s == ',' || *s == '.')
			s++;
		for (size_t i = 0; lead[i]; i++) {
			size_t n = strlen(lead[i]);
			if (!strncasecmp(s, lead[i], n)) {
				s += n;
				again = true;
			}
		}
	}
	str_ncpy(out, *s ? s : text, sz);
	/* drop a trailing full stop */
	for (size_t n = strlen(out); n && (out[n - 1] == '.' ||
					   out[n - 1] == ' '); n--)
		out[n - 1] = '\0';
}


/* ------------------------------------------------------ the receptionist */

enum pb_state {
	ST_NAME = 0,
	ST_REASON,
	ST_NUMBER,
	ST_CONFIRM,
	ST_DONE,
};

struct pbrain {
	struct brain_host host;
	const struct conf *conf;
	struct playbook *pb;
	char callid[24];
	bool de;
	bool outbound;
	bool started;              /* start() spoke the greeting          */
	enum pb_state st;
	unsigned tries;
	uint32_t turn_id;          /* the turn being answered             */
	char name[128];
	char reason[1024];
	char number[NUMBER_MAX + 1];
	char dtmf[NUMBER_MAX + 2];
	char audio_name[512];
	char audio_reason[512];
	char message_audio[560];
	char last[700];            /* the last question, for "repeat"     */
	struct tmr tmr_dtmf;
	bool stored;
};


static const char *line(const struct pbrain *b, const char *key)
{
	static const struct {
		const char *key, *en, *de;
	} lines[] = {
		{"ask_name", "May I have your name, please?",
		 "Darf ich um Ihren Namen bitten?"},
		{"ask_reason", "Thank you. What is your call about?",
		 "Danke. Worum geht es?"},
		{"ask_number", "And what number can you be called back on? "
		 "Please say the digits one by one, or type them on your "
		 "keypad.", "Und unter welcher Nummer können wir Sie "
		 "zurückrufen? Bitte sagen Sie die Ziffern einzeln, oder "
		 "tippen Sie sie ein."},
		{"number_again", "Sorry, I didn't get the number. Please say "
		 "it again, one digit at a time.", "Entschuldigung, die "
		 "Nummer habe ich nicht verstanden. Bitte sagen Sie sie noch "
		 "einmal, Ziffer für Ziffer."},
		{"number_no", "Sorry about that. Please say the number again, "
		 "one digit at a time.", "Entschuldigung. Bitte sagen Sie die "
		 "Nummer noch einmal, Ziffer für Ziffer."},
		{"no_number", "I'll take the message without a number.",
		 "Ich nehme die Nachricht ohne Nummer auf."},
		{"readback", "I have", "Ich habe"},
		{"is_right", "Is that right?", "Ist das richtig?"},
		{"say_yesno", "Please say yes or no.",
		 "Bitte sagen Sie ja oder nein."},
		{"name_again", "Sorry, I didn't catch your name. Could you "
		 "say it again?", "Entschuldigung, ich habe Ihren Namen nicht "
		 "verstanden. Noch einmal, bitte?"},
		{"goodbye", "Thank you. I'll pass your message on. Goodbye.",
		 "Danke. Ich gebe Ihre Nachricht weiter. Auf Wiederhören."},
		{"done", "Your message has been taken. Goodbye.",
		 "Ihre Nachricht ist aufgenommen. Auf Wiederhören."},
	};

	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		if (!strcmp(lines[i].key, key))
			return b->de ? lines[i].de : lines[i].en;
	return "";
}


static void say(struct pbrain *b, uint32_t turn_id, const char *text,
		bool remember)
{
	if (remember)
		str_ncpy(b->last, text, sizeof(b->last));
	b->host.reply(turn_id, text, false, b->host.arg);
	b->host.reply(turn_id, NULL, true, b->host.arg);
}


static void listen_mode(struct pbrain *b, const char *mode)
{
	if (b->host.listen)
		b->host.listen(b->host.arg, mode);
}


static void ask(struct pbrain *b, uint32_t turn_id, const char *text,
		const char *mode)
{
	listen_mode(b, mode);
	say(b, turn_id, text, true);
}


/* "I have five five five one two three four. Is that right?": the digits
 * in one run.  Pauses between groups (commas) made the caller side's
 * recogniser hear extra digits in the gaps (measured with flite and the
 * digits grammar: "seven nine nine, five five six zero" heard as
 * 79925560, in one run as 7995560). */
static void read_back(struct pbrain *b, uint32_t turn_id)
{
	static const char *const en[] = {"zero", "one", "two", "three",
		"four", "five", "six", "seven", "eight", "nine"};
	static const char *const de[] = {"null", "eins", "zwei", "drei",
		"vier", "fünf", "sechs", "sieben", "acht", "neun"};
	char text[600];
	size_t n = strlen(b->number), o;

	o = (size_t)re_snprintf(text, sizeof(text), "%s ",
				line(b, "readback"));
	for (size_t i = 0; i < n && o < sizeof(text) - 40; i++)
		o += (size_t)re_snprintf(text + o, sizeof(text) - o, "%s%s",
					 (b->de ? de : en)[b->number[i] - '0'],
					 i + 1 == n ? ". " : " ");
	re_snprintf(text + o, sizeof(text) - o, "%s", line(b, "is_right"));
	ask(b, turn_id, text, "yesno");
}


/* One WAV with the caller's name and reason, next to the kept audio. */
static void message_audio(struct pbrain *b)
{
	const char *srcs[2] = {b->audio_name, b->audio_reason};
	struct wav_writer *w = NULL;
	const char *slash;
	int err = 0;

	b->message_audio[0] = '\0';
	if (!b->audio_reason[0] || !b->audio_name[0]) {
		str_ncpy(b->message_audio, b->audio_reason[0] ?
			 b->audio_reason : b->audio_name,
			 sizeof(b->message_audio));
		return;
	}
	slash = strrchr(b->audio_reason, '/');
	re_snprintf(b->message_audio, sizeof(b->message_audio),
		    "%b%s-message.wav", b->audio_reason,
		    slash ? (size_t)(slash - b->audio_reason + 1) : (size_t)0,
		    b->callid);
	err = wav_writer_open(&w, b->message_audio, 16000, 1);
	for (size_t i = 0; i < 2 && !err; i++) {
		int16_t *pcm = NULL;
		size_t n = 0;

		if (wav_load16k(&pcm, &n, srcs[i], AUDIO_MAX_SECS))
			continue;
		err = wav_writer_write(w, pcm, n);
		mem_deref(pcm);
	}
	mem_deref(w);
	if (err) {
		log_warn(MOD, b->callid, "message audio: %m", err);
		str_ncpy(b->message_audio, b->audio_reason,
			 sizeof(b->message_audio));
	}
}


/* Fallback when the call has no tools executor (e.g. an older host):
 * store the message directly. */
static int store_direct(struct pbrain *b)
{
#ifdef PLAYBOOK_HAVE_STORE
	struct store_message m;
	uint64_t id = 0;

	memset(&m, 0, sizeof(m));
	m.callid = b->callid;
	m.name = b->name;
	m.callback = b->number;
	m.text = b->reason;
	m.audio_path = b->message_audio[0] ? b->message_audio : NULL;
	return store_message_add(&m, &id);
#else
	char nm[300], tx[2100], au[1200];

	/* no store module in this build: the message goes to the event
	 * bus only (events_file) */
	events_emit("message_taken", b->callid, ",\"name\":\"%s\","
		    "\"callback\":\"%s\",\"text\":\"%s\",\"audio_path\":\"%s\"",
		    events_esc(nm, sizeof(nm), b->name), b->number,
		    events_esc(tx, sizeof(tx), b->reason),
		    events_esc(au, sizeof(au), b->message_audio));
	return 0;
#endif
}


static void hangup_done(uint32_t turn_id, int err, const char *result,
			void *arg)
{
	struct pbrain *b = arg;
	(void)turn_id;

	if (err)
		log_warn(MOD, b->callid, "hang_up refused: %s",
			 result ? result : "");
}


static void hang_up(struct pbrain *b, uint32_t turn_id)
{
	int err = ENOSYS;

	if (b->host.tool)
		err = b->host.tool(b->host.arg, turn_id, "hang_up",
				   "{\"reason\":\"message taken\"}",
				   hangup_done, b);
	if (err)
		log_info(MOD, b->callid, "cannot hang up (%m): the caller "
			 "ends the call", err);
}


static void message_done(uint32_t turn_id, int err, const char *result,
			 void *arg)
{
	struct pbrain *b = arg;

	if (err)   /* a denial or a store error: the gate has the last word */
		log_warn(MOD, b->callid, "take_message failed: %s",
			 result ? result : "");
	b->stored = true;
	hang_up(b, turn_id);
}


static void store_message(struct pbrain *b, uint32_t turn_id)
{
	char nm[300], tx[2100], au[1200], args[3800];
	int err = ENOSYS;

	b->st = ST_DONE;
	message_audio(b);
	say(b, turn_id, line(b, "goodbye"), false);

	re_snprintf(args, sizeof(args), "{\"name\":\"%s\","
		    "\"callback_number\":\"%s\",\"message\":\"%s\","
		    "\"audio_path\":\"%s\"}",
		    events_esc(nm, sizeof(nm), b->name), b->number,
		    events_esc(tx, sizeof(tx), b->reason),
		    events_esc(au, sizeof(au), b->message_audio));
	log_info(MOD, b->callid, "message from a caller (callback number "
		 "ending %s)", strlen(b->number) >= 2 ?
		 b->number + strlen(b->number) - 2 : "-");
	if (b->host.tool)
		err = b->host.tool(b->host.arg, turn_id, "take_message", args,
				   message_done, b);
	if (err == ENOSYS) {
		/* FALLBACK: no tools executor on this call (host.tool unset,
		 * or a host without one): store the message ourselves */
		err = store_direct(b);
		if (err)
			log_warn(MOD, b->callid, "message lost: %m", err);
		b->stored = true;
		hang_up(b, turn_id);
	}
	else if (err) {
		log_warn(MOD, b->callid, "take_message not run: %m", err);
		hang_up(b, turn_id);
	}
}


static void number_heard(struct pbrain *b, uint32_t turn_id,
			 const char *digits)
{
	size_t n = strlen(digits);

	if (n >= NUMBER_MIN && n <= NUMBER_MAX) {
		str_ncpy(b->number, digits, sizeof(b->number));
		b->st = ST_CONFIRM;
		b->tries = 0;
		read_back(b, turn_id);
		return;
	}
	if (++b->tries >= TRIES_MAX) {
		b->number[0] = '\0';
		say(b, turn_id, line(b, "no_number"), false);
		store_message(b, turn_id);
		return;
	}
	ask(b, turn_id, line(b, "number_again"), "digits");
}


static void dtmf_tmr_handler(void *arg)
{
	struct pbrain *b = arg;
	char digits[sizeof(b->dtmf)];

	str_ncpy(digits, b->dtmf, sizeof(digits));
	b->dtmf[0] = '\0';
	if (b->st == ST_NUMBER)
		number_heard(b, b->turn_id, digits);
}


static void on_dtmf(struct pbrain *b, const char *keys)
{
	for (const char *k = keys; *k; k++) {
		size_t n = strlen(b->dtmf);

		if (b->st == ST_CONFIRM) {
			/* 1 = yes, 2 = no, as on most menus */
			if (*k == '1' || *k == '#') {
				store_message(b, b->turn_id);
			}
			else if (*k == '2' || *k == '*') {
				b->st = ST_NUMBER;
				ask(b, b->turn_id, line(b, "number_no"),
				    "digits");
			}
			return;
		}
		if (b->st != ST_NUMBER)
			return;   /* keys only mean something here */
		if (*k == '*') {
			b->dtmf[0] = '\0';
			continue;
		}
		if (*k == '#') {
			tmr_cancel(&b->tmr_dtmf);
			dtmf_tmr_handler(b);
			return;
		}
		if (isdigit((unsigned char)*k) && n + 1 < sizeof(b->dtmf)) {
			b->dtmf[n] = *k;
			b->dtmf[n + 1] = '\0';
		}
	}
	if (b->dtmf[0])
		tmr_start(&b->tmr_dtmf, DTMF_GAP_MS, dtmf_tmr_handler, b);
}


static void pbrain_destructor(void *data)
{
	struct pbrain *b = data;

	tmr_cancel(&b->tmr_dtmf);
	mem_deref(b->pb);
}


static int pbrain_alloc(void **stp, const struct conf *conf,
			const struct brain_call *call,
			const struct brain_host *host)
{
	struct pbrain *b;
	const char *name;
	int err;

	if (!host || !host->reply)
		return EINVAL;
	b = mem_zalloc(sizeof(*b), pbrain_destructor);
	if (!b)
		return ENOMEM;
	tmr_init(&b->tmr_dtmf);
	b->host = *host;
	b->conf = conf;
	b->de = call && call->language && !strcmp(call->language, "de");
	b->outbound = call && call->outbound;
	str_ncpy(b->callid, call && call->callid ? call->callid : "-",
		 sizeof(b->callid));
	name = playbook_for_persona(conf, call ? call->persona : NULL);
	err = playbook_load(&b->pb, conf, name);
	if (err) {
		/* the receptionist works without a file (built-in lines) */
		log_warn(MOD, b->callid, "playbook \"%s\": %m; using the "
			 "built-in greeting", name ? name : "", err);
		b->pb = NULL;
	}
	*stp = b;
	return 0;
}


static int pbrain_start(void *st)
{
	struct pbrain *b = st;
	char text[1200];
	const char *g = b->pb ? b->pb->greeting : "";
	const char *custom = b->conf ? conf_str(b->conf,
						"greeting_incoming") : NULL;

	/* a call we placed: greeting_outgoing (the agent's) is said, not a
	 * receptionist's welcome */
	if (b->outbound)
		return ENOTSUP;
	/* the operator's own greeting wins over the playbook's */
	if (b->conf && conf_isset(b->conf, "greeting_incoming") && custom) {
		const char *owner = conf_str(b->conf, "greeting_owner");
		const char *ph = strstr(custom, "{owner}");
		if (ph)
			re_snprintf(text, sizeof(text), "%b%s%s", custom,
				    (size_t)(ph - custom), owner ? owner : "",
				    ph + 7);
		else
			str_ncpy(text, custom, sizeof(text));
		g = text;
	}
	b->started = true;
	b->st = ST_NAME;
	{
		char full[1400];
		re_snprintf(full, sizeof(full), "%s%s%s", g, *g ? " " : "",
			    line(b, "ask_name"));
		ask(b, 0, full, "free");
	}
	return 0;
}


static int pbrain_turn(void *st, const struct brain_turn *turn)
{
	struct pbrain *b = st;
	const char *text = turn->text ? turn->text : "";

	b->turn_id = turn->id;

	if (turn->kind == BRAIN_DTMF) {
		on_dtmf(b, text);
		return 0;
	}
	if (b->st != ST_DONE && b->last[0] && wants_repeat(text)) {
		say(b, turn->id, b->last, false);
		return 0;
	}

	switch (b->st) {

	case ST_NAME:
		clean_name(b->name, sizeof(b->name), text);
		if (!b->name[0]) {
			ask(b, turn->id, line(b, "name_again"), "free");
			break;
		}
		str_ncpy(b->audio_name, turn->audio_path ? turn->audio_path :
			 "", sizeof(b->audio_name));
		b->st = ST_REASON;
		ask(b, turn->id, line(b, "ask_reason"), "free");
		break;

	case ST_REASON:
		str_ncpy(b->reason, text, sizeof(b->reason));
		str_ncpy(b->audio_reason, turn->audio_path ?
			 turn->audio_path : "", sizeof(b->audio_reason));
		b->st = ST_NUMBER;
		b->tries = 0;
		ask(b, turn->id, line(b, "ask_number"), "digits");
		break;

	case ST_NUMBER: {
		char digits[NUMBER_MAX + 8];

		if (!digits_parse(digits, sizeof(digits), text, true))
			digits[0] = '\0';
		b->dtmf[0] = '\0';
		tmr_cancel(&b->tmr_dtmf);
		number_heard(b, turn->id, digits);
		break;
	}

	case ST_CONFIRM:
		switch (parse_yesno(text)) {

		case 1:
			store_message(b, turn->id);
			break;

		case 0:
			b->st = ST_NUMBER;
			b->tries = 0;
			ask(b, turn->id, line(b, "number_no"), "digits");
			break;

		default:
			if (++b->tries >= TRIES_MAX) {
				/* keep what we heard rather than lose it */
				store_message(b, turn->id);
				break;
			}
			{
				char q[760];
				re_snprintf(q, sizeof(q), "%s %s",
					    line(b, "say_yesno"), b->last);
				listen_mode(b, "yesno");
				say(b, turn->id, q, false);
			}
			break;
		}
		break;

	case ST_DONE:
		say(b, turn->id, line(b, "done"), false);
		if (b->stored)
			hang_up(b, turn->id);
		break;
	}
	return 0;
}


static void pbrain_cancel(void *st)
{
	(void)st;
	/* replies are whole lines said at once: nothing is in flight; the
	 * host drops pending tool calls of the cancelled turn */
}


const struct brain_ops brain_playbook = {
	.name = "playbook",
	.alloc = pbrain_alloc,
	.start = pbrain_start,
	.turn = pbrain_turn,
	.cancel = pbrain_cancel,
	.keep_audio = true,
};
