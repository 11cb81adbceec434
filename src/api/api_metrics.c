/*
 * api_metrics.c  Prometheus text exposition (format 0.0.4) computed from
 *                the event bus: calls by direction and end reason, live
 *                calls, turns, barge-ins, tool calls and gate denials,
 *                registration state, a voice-to-voice histogram, uptime.
 *
 * Label values come from our own events but are escaped anyway, and each
 * labelled family keeps at most LABELS_MAX series.
 *
 * Main thread only.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "api/apiint.h"

#define WH "agentline_webhook_deliveries_total"

enum {
	LABELS_MAX = 64,
	NBUCKETS   = 9,
};

/* One labelled counter family: "a=x,b=y" -> value. */
struct series {
	char labels[LABELS_MAX][96];
	uint64_t val[LABELS_MAX];
	unsigned n;
};

static const double v2v_bounds[NBUCKETS] = {
	0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
};

static struct {
	struct series calls;         /* direction, reason                */
	struct series answered;      /* direction                        */
	struct series tools;         /* tool, decision                   */
	struct series denials;       /* category                         */
	struct series regs;          /* account -> 0/1 (a gauge)         */
	struct series rejected;      /* code                             */
	struct series outcomes;      /* outbound: outcome                */
	uint64_t turns, barge_ins, dtmf, messages;
	uint64_t v2v_buckets[NBUCKETS];
	uint64_t v2v_count;
	double v2v_sum;
	double start_unix;
	uint64_t start_ms;
} m;


/* Label value: keep it short and printable; quotes and backslashes go. */
static void lv(char *dst, size_t sz, const char *s)
{
	size_t o = 0;

	for (; s && *s && o + 1 < sz && o < 40; s++) {
		char c = *s;

		if ((unsigned char)c < 0x20 || c == '"' || c == '\\' ||
		    (unsigned char)c >= 0x7f)
			c = '_';
		dst[o++] = c;
	}
	dst[o] = '\0';
	if (!o)
		str_ncpy(dst, "unknown", sz);
}


static uint64_t *series_at(struct series *s, const char *labels)
{
	for (unsigned i = 0; i < s->n; i++)
		if (!strcmp(s->labels[i], labels))
			return &s->val[i];
	if (s->n >= LABELS_MAX)
		return NULL;
	str_ncpy(s->labels[s->n], labels, sizeof(s->labels[0]));
	s->val[s->n] = 0;
	return &s->val[s->n++];
}


static void inc(struct series *s, const char *labels)
{
	uint64_t *v = series_at(s, labels);

	if (v)
		++*v;
}


static void set(struct series *s, const char *labels, uint64_t val)
{
	uint64_t *v = series_at(s, labels);

	if (v)
		*v = val;
}


static double num(const struct odict *od, const char *key, bool *have)
{
	const struct odict_entry *e = odict_lookup(od, key);

	*have = true;
	if (e && e->type == ODICT_INT)
		return (double)e->u.integer;
	if (e && e->type == ODICT_DOUBLE)
		return e->u.dbl;
	*have = false;
	return 0;
}


void api_metrics_event(const char *name, const struct odict *od)
{
	char a[48], b[48], labels[96];
	const char *callid = odict_string(od, "call");
	bool have;

	if (!strcmp(name, "call_ended")) {
		lv(a, sizeof(a), api_live_direction(callid));
		lv(b, sizeof(b), odict_string(od, "reason"));
		re_snprintf(labels, sizeof(labels),
			    "direction=\"%s\",reason=\"%s\"", a, b);
		inc(&m.calls, labels);
	}
	else if (!strcmp(name, "call_rejected")) {
		bool h;
		double code = num(od, "code", &h);

		re_snprintf(labels, sizeof(labels), "code=\"%u\"",
			    h ? (unsigned)code : 0);
		inc(&m.rejected, labels);
	}
	else if (!strcmp(name, "call_outcome")) {
		lv(a, sizeof(a), odict_string(od, "outcome"));
		re_snprintf(labels, sizeof(labels), "outcome=\"%s\"", a);
		inc(&m.outcomes, labels);
	}
	else if (!strcmp(name, "call_answered")) {
		lv(a, sizeof(a), odict_string(od, "direction"));
		re_snprintf(labels, sizeof(labels), "direction=\"%s\"", a);
		inc(&m.answered, labels);
	}
	else if (!strcmp(name, "turn")) {
		double v2v = num(od, "voice_to_voice_ms", &have);

		++m.turns;
		if (have && v2v >= 0) {
			double s = v2v / 1000.0;

			for (unsigned i = 0; i < NBUCKETS; i++)
				if (s <= v2v_bounds[i])
					++m.v2v_buckets[i];
			++m.v2v_count;
			m.v2v_sum += s;
		}
	}
	else if (!strcmp(name, "barge_in")) {
		++m.barge_ins;
	}
	else if (!strcmp(name, "dtmf")) {
		++m.dtmf;
	}
	else if (!strcmp(name, "message_taken")) {
		++m.messages;
	}
	else if (!strcmp(name, "tool_call")) {
		const char *dec = odict_string(od, "decision");

		lv(a, sizeof(a), odict_string(od, "tool"));
		lv(b, sizeof(b), dec);
		re_snprintf(labels, sizeof(labels),
			    "tool=\"%s\",decision=\"%s\"", a, b);
		inc(&m.tools, labels);
		if (dec && !strcmp(dec, "deny")) {
			lv(a, sizeof(a), odict_string(od, "category"));
			re_snprintf(labels, sizeof(labels),
				    "category=\"%s\"", a);
			inc(&m.denials, labels);
		}
	}
	else if (!strcmp(name, "registered") ||
		 !strcmp(name, "registration_failed")) {
		lv(a, sizeof(a), odict_string(od, "account"));
		re_snprintf(labels, sizeof(labels), "account=\"%s\"", a);
		set(&m.regs, labels, !strcmp(name, "registered") ? 1 : 0);
	}
}


static int family(struct re_printf *pf, const char *name, const char *type,
		  const char *help, const struct series *s)
{
	int err = re_hprintf(pf, "# HELP %s %s\n# TYPE %s %s\n", name, help,
			     name, type);

	for (unsigned i = 0; i < s->n; i++)
		err |= re_hprintf(pf, "%s{%s} %llu\n", name, s->labels[i],
				  (unsigned long long)s->val[i]);
	return err;
}


static int scalar(struct re_printf *pf, const char *name, const char *type,
		  const char *help, uint64_t v)
{
	return re_hprintf(pf, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name,
			  help, name, type, name, (unsigned long long)v);
}


int api_metrics_print(struct re_printf *pf, void *arg)
{
	char num[32], up[32], start[32];
	uint64_t sent, failed, dropped;
	unsigned live = 0;
	int err = 0;

	(void)arg;
	live = api_live_count();
	err |= family(pf, "agentline_calls_total", "counter",
		      "Calls ended, by direction and end reason.", &m.calls);
	err |= family(pf, "agentline_calls_answered_total", "counter",
		      "Calls answered, by direction.", &m.answered);
	err |= family(pf, "agentline_calls_rejected_total", "counter",
		      "Inbound calls refused, by SIP status.", &m.rejected);
	err |= family(pf, "agentline_outbound_outcomes_total", "counter",
		      "Outbound call attempts, by outcome (answered, busy, "
		      "no_answer, declined, failed).", &m.outcomes);
	err |= scalar(pf, "agentline_calls_active", "gauge",
		      "Calls in progress.", live);
	err |= scalar(pf, "agentline_turns_total", "counter",
		      "Caller turns answered by the agent.", m.turns);
	err |= scalar(pf, "agentline_barge_ins_total", "counter",
		      "Times the caller interrupted the agent.", m.barge_ins);
	err |= scalar(pf, "agentline_dtmf_total", "counter",
		      "Keypad digits received.", m.dtmf);
	err |= scalar(pf, "agentline_messages_total", "counter",
		      "Messages taken.", m.messages);
	err |= family(pf, "agentline_tool_calls_total", "counter",
		      "Tool calls, by tool and gate decision.", &m.tools);
	err |= family(pf, "agentline_gate_denials_total", "counter",
		      "Tool calls the trust gate denied, by category.",
		      &m.denials);
	err |= family(pf, "agentline_registered", "gauge",
		      "1 while the SIP account is registered.", &m.regs);

	api_webhook_stats(&sent, &failed, &dropped);
	err |= re_hprintf(pf, "# HELP agentline_webhook_deliveries_total "
			  "Webhook deliveries by result.\n"
			  "# TYPE %s counter\n", WH);
	err |= re_hprintf(pf, "%s{result=\"sent\"} %llu\n"
			  "%s{result=\"failed\"} %llu\n"
			  "%s{result=\"dropped\"} %llu\n",
			  WH, (unsigned long long)sent,
			  WH, (unsigned long long)failed,
			  WH, (unsigned long long)dropped);
	err |= re_hprintf(pf, "# HELP agentline_voice_to_voice_seconds End of "
			  "caller speech to first agent audio.\n"
			  "# TYPE agentline_voice_to_voice_seconds "
			  "histogram\n");
	for (unsigned i = 0; i < NBUCKETS; i++)
		err |= re_hprintf(pf, "agentline_voice_to_voice_seconds_bucket"
				  "{le=\"%.2f\"} %llu\n", v2v_bounds[i],
				  (unsigned long long)m.v2v_buckets[i]);
	/* libre's %f truncates: format floats with the C library */
	snprintf(num, sizeof(num), "%.3f", m.v2v_sum);
	err |= re_hprintf(pf, "agentline_voice_to_voice_seconds_bucket"
			  "{le=\"+Inf\"} %llu\n"
			  "agentline_voice_to_voice_seconds_sum %s\n"
			  "agentline_voice_to_voice_seconds_count %llu\n",
			  (unsigned long long)m.v2v_count, num,
			  (unsigned long long)m.v2v_count);

	snprintf(up, sizeof(up), "%.3f",
		 (double)(tmr_jiffies() - m.start_ms) / 1000.0);
	snprintf(start, sizeof(start), "%.3f", m.start_unix);
	err |= re_hprintf(pf, "# HELP agentline_uptime_seconds Seconds since "
			  "the process started.\n"
			  "# TYPE agentline_uptime_seconds gauge\n"
			  "agentline_uptime_seconds %s\n"
			  "# HELP process_start_time_seconds Start time of the "
			  "process since the Unix epoch.\n"
			  "# TYPE process_start_time_seconds gauge\n"
			  "process_start_time_seconds %s\n", up, start);
	return err;
}


int api_metrics_init(void)
{
	struct timespec ts;

	memset(&m, 0, sizeof(m));
	clock_gettime(CLOCK_REALTIME, &ts);
	m.start_unix = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	m.start_ms = tmr_jiffies();
	return 0;
}


void api_metrics_close(void)
{
}
