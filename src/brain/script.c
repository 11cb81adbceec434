/*
 * script.c  `brain = script:FILE`: a caller that follows a script.  After
 *           each turn of the other party it speaks the next line of FILE;
 *           after the last line it hangs up.  agentline calling agentline
 *           with it is the demo (`make demo`) and an end-to-end test.
 *
 * FILE: one line per turn; blank lines and `#` comments are skipped.
 * `dtmf: 123#` presses keys (send_dtmf) instead of speaking, `hangup`
 * ends the call there, `confirm: 5551234` answers a read-back like a
 * person would: "yes" when the other party's last turn had those digits,
 * else "no" and the line before it is said again (at most 3 times).  A FILE that is not found as given is looked up
 * in the bundled playbooks/scripts/ folder (with or without .txt).
 *
 * Main thread only.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <re.h>
#include "brain/brain.h"
#include "brain/playbook.h"
#include "core/conf.h"
#include "core/log.h"
#include "sip/call.h"

#define MOD "script"

enum {
	SCRIPT_LINES_MAX = 64,
	SCRIPT_LINE_MAX = 500,
	/* the other party may say a few sentences with short gaps: wait
	 * for quiet before answering */
	SCRIPT_WAIT_MS = 400,
};

struct script {
	struct brain_host host;
	struct call *call;         /* NULL in `agentline pipeline`        */
	char callid[24];
	char lines[SCRIPT_LINES_MAX][SCRIPT_LINE_MAX];
	unsigned n, next;
	uint32_t turn_id;
	struct tmr tmr;
	bool hung_up;
	unsigned confirms;
	char heard[1024];          /* the other party's last turn         */
};


static int script_read(struct script *s, const char *path)
{
	char buf[SCRIPT_LINE_MAX + 2];
	FILE *f = fopen(path, "r");

	if (!f)
		return ENOENT;
	while (fgets(buf, sizeof(buf), f) && s->n < SCRIPT_LINES_MAX) {
		char *p = buf, *e;

		while (*p == ' ' || *p == '\t')
			p++;
		e = p + strlen(p);
		while (e > p && (e[-1] == '\n' || e[-1] == '\r' ||
				 e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (!*p || *p == '#')
			continue;
		str_ncpy(s->lines[s->n++], p, SCRIPT_LINE_MAX);
	}
	fclose(f);
	return s->n ? 0 : EINVAL;
}


static int script_open(struct script *s, const char *file)
{
	char path[512];
	struct stat sb;

	if (!stat(file, &sb) && S_ISREG(sb.st_mode))
		return script_read(s, file);
	re_snprintf(path, sizeof(path), "%s/scripts/%s",
		    playbook_bundled_dir(), file);
	if (!stat(path, &sb) && S_ISREG(sb.st_mode))
		return script_read(s, path);
	re_snprintf(path, sizeof(path), "%s/scripts/%s.txt",
		    playbook_bundled_dir(), file);
	if (!stat(path, &sb) && S_ISREG(sb.st_mode))
		return script_read(s, path);
	return ENOENT;
}


static void tool_done(uint32_t turn_id, int err, const char *result,
		      void *arg)
{
	struct script *s = arg;
	(void)turn_id;

	if (err)
		log_warn(MOD, s->callid, "tool failed: %s",
			 result ? result : "");
}


static void hang_up(struct script *s)
{
	int err = ENOSYS;

	if (s->hung_up)
		return;
	s->hung_up = true;
	if (s->host.tool)
		err = s->host.tool(s->host.arg, s->turn_id, "hang_up",
				   "{\"reason\":\"script finished\"}",
				   tool_done, s);
	if (!err)
		return;
	if (s->call) {
		/* FALLBACK: no tools executor on this call.  Nothing of ours
		 * is being said (this runs instead of a line), so end the
		 * call at once; it frees this brain: return right after */
		log_info(MOD, s->callid, "script finished: hanging up");
		call_hangup(s->call, "local_bye");
		return;
	}
	log_info(MOD, s->callid, "script finished; cannot hang up (%m): "
		 "waiting for the other side", err);
}


/* Did the read-back have the digits, in one run?  (What the recogniser
 * made of "I have" and "is that right" may surround them.) */
static bool digits_match(const char *want, const char *got)
{
	return *want && strstr(got, want);
}


/* Saying a number again after a wrong read-back, people group it
 * differently (and a synthetic voice would otherwise repeat the very
 * audio that was misheard): first three digits then pairs, then pairs
 * throughout.  0 if the line is not a spoken number. */
static int regroup(char *out, size_t sz, const char *line, unsigned retry)
{
	static const char *const words[] = {"zero", "one", "two", "three",
		"four", "five", "six", "seven", "eight", "nine"};
	char digits[64];
	size_t n = playbook_digits(digits, sizeof(digits), line), o = 0;
	size_t nwords = 0;

	for (const char *p = line; *p; p++)
		if (*p == ' ')
			nwords++;
	/* only lines that are all digits ("five five five, one two.") */
	if (n < 3 || nwords + 1 > n || !retry)
		return 0;
	for (size_t i = 0; i < n && o + 16 < sz; i++) {
		bool first3 = retry == 1 && i < 3;
		bool gap = i + 1 < n && (first3 ? i == 2 :
			   (i - (retry == 1 ? 3 : 0)) % 2 == 1);
		o += (size_t)re_snprintf(out + o, sz - o, "%s%s",
					 words[digits[i] - '0'],
					 i + 1 == n ? "." : gap ? ", " : " ");
	}
	return (int)o;
}


static void next_line(void *arg)
{
	struct script *s = arg;
	char again[SCRIPT_LINE_MAX];
	const char *l;

	if (s->next >= s->n) {
		hang_up(s);
		return;
	}
	l = s->lines[s->next++];
	log_info(MOD, s->callid, "line %u of %u", s->next, s->n);

	if (!strcasecmp(l, "hangup")) {
		hang_up(s);
		return;
	}
	if (!strncasecmp(l, "confirm:", 8)) {
		char want[64], got[64];
		bool ok;

		playbook_digits(want, sizeof(want), l + 8);
		playbook_digits(got, sizeof(got), s->heard);
		ok = digits_match(want, got);
		if (!ok && ++s->confirms < 3 && s->next >= 2) {
			s->next -= 2;   /* say the number again */
			l = "no.";
		}
		else {
			l = ok ? "yes." : "yes, thank you.";
			s->confirms = 0;
		}
		log_info(MOD, s->callid, "read-back %s", ok ? "right" :
			 "wrong");
	}
	else if (!strncasecmp(l, "dtmf:", 5)) {
		char args[SCRIPT_LINE_MAX + 32];
		const char *d = l + 5;
		int err = ENOSYS;

		while (*d == ' ')
			d++;
		re_snprintf(args, sizeof(args), "{\"digits\":\"%s\"}", d);
		if (s->host.tool)
			err = s->host.tool(s->host.arg, s->turn_id,
					   "send_dtmf", args, tool_done, s);
		if (err)
			log_warn(MOD, s->callid, "cannot press keys: %m", err);
		if (s->next < s->n && s->host.listen &&
		    !strncasecmp(s->lines[s->next], "confirm:", 8))
			s->host.listen(s->host.arg, "digits");
		s->host.reply(s->turn_id, NULL, true, s->host.arg);
		return;
	}
	if (s->confirms && regroup(again, sizeof(again), l, s->confirms))
		l = again;
	/* a read-back comes next: hear it with the digits grammar (the
	 * open vocabulary model hears "zero" as "era" and the like) */
	if (s->next < s->n && !strncasecmp(s->lines[s->next], "confirm:", 8)
	    && s->host.listen)
		s->host.listen(s->host.arg, "digits");
	s->host.reply(s->turn_id, l, false, s->host.arg);
	s->host.reply(s->turn_id, NULL, true, s->host.arg);
}


static void script_destructor(void *data)
{
	struct script *s = data;

	tmr_cancel(&s->tmr);
}


static int script_alloc(void **stp, const struct conf *conf,
			const struct brain_call *call,
			const struct brain_host *host)
{
	const char *spec = conf ? conf_str(conf, "brain") : NULL;
	struct script *s;
	int err;

	if (!host || !host->reply || !spec || strncmp(spec, "script:", 7))
		return EINVAL;
	s = mem_zalloc(sizeof(*s), script_destructor);
	if (!s)
		return ENOMEM;
	tmr_init(&s->tmr);
	s->host = *host;
	s->call = call ? call->call : NULL;
	str_ncpy(s->callid, call && call->callid ? call->callid : "-",
		 sizeof(s->callid));
	err = script_open(s, spec + 7);
	if (err) {
		log_warn(MOD, s->callid, "script %s: %m", spec + 7, err);
		mem_deref(s);
		return err;
	}
	*stp = s;
	return 0;
}


static int script_turn(void *st, const struct brain_turn *turn)
{
	struct script *s = st;

	/* answer once the other party has been quiet for a moment; a
	 * further turn meanwhile restarts the wait */
	s->turn_id = turn->id;
	if (turn->kind == BRAIN_SPEECH && turn->text)
		str_ncpy(s->heard, turn->text, sizeof(s->heard));
	tmr_start(&s->tmr, SCRIPT_WAIT_MS, next_line, s);
	return 0;
}


static void script_cancel(void *st)
{
	struct script *s = st;

	tmr_cancel(&s->tmr);
}


const struct brain_ops brain_script = {
	.name = "script:",
	.alloc = script_alloc,
	.turn = script_turn,
	.cancel = script_cancel,
};
