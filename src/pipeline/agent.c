/*
 * agent.c  The agent pipeline of one call and its turn-taking.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <re.h>
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>
#include "brain/brain.h"
#include "core/conf.h"
#include "core/events.h"
#include "core/log.h"
#include "core/worker.h"
#include "engines/engine.h"
#include "pipeline/agent.h"
#include "pipeline/amd.h"
#include "media/playq.h"
#include "media/wav.h"
#include "pipeline/frame.h"
#include "pipeline/textnorm.h"
/* the tools executor (actions) and the caller's class (policy) land in
 * their own modules; until they do, calls get no tools and the default
 * class */
#if defined(__has_include)
#if __has_include("brain/tools.h")
#include "brain/tools.h"
#define AGENT_HAVE_TOOLS 1
#endif
#if __has_include("policy/policy.h")
#include "policy/policy.h"
#include "sip/call.h"
#define AGENT_HAVE_POLICY 1
#endif
#endif

#define MOD "agent"

enum {
	FRAME_SAMPLES = 320,
	PREROLL_FRAMES = 15,        /* 300 ms of audio before speech start */
	STT_BATCH_FRAMES = 5,       /* feed the recogniser every 100 ms    */
	FIFO_MAX = 512,
	MAX_FILLERS = 8,
	TEXT_MAX = 4096,
	AEC_TAIL = 3200,            /* 200 ms echo tail                    */
	AEC_REF_FRAMES = 4,         /* frames sent, not yet cancelled      */
	AEC_IDLE_MS = 400,          /* sent silence that idles the AEC     */
	AEC_QUIET_PEAK = 8,         /* a sent frame this quiet is silence  */
	TTS_LEAD_SILENCE = 64,      /* about -54 dBFS                      */
	ONSET_MIN_MS = 60,          /* energy onset that barges in (full)  */
	TAIL_MAX_MS = 240,          /* model VAD's tail trusted to energy  */
	TAIL_FEED_MS = 300,         /* pause heard by STT before it waits  */
	TAIL_HOLD_FRAMES = 50,      /* pause held back from STT (1 s)      */
	TAIL_WARM_MS = 4000,        /* heard by STT before pauses are held */
	DTMF_MAX = 32,              /* digits of one keypad turn           */
	DTMF_GAP_MS = 2000,         /* pause that ends a keypad turn       */
	UTT_MAX_SAMPLES = 16000 * 30, /* kept audio of one utterance      */
};

enum barge_mode { BARGE_GATED = 0, BARGE_FULL, BARGE_OFF };

/* Settings shared by all calls (agent_init). */
static struct {
	bool up;
	const struct vad_ops *vad;
	const struct vad_ops *onset;    /* full barge-in with a model VAD */
	const struct stt_ops *stt;
	const struct tts_ops *tts;
	const struct tts_ops *tts_fallback;
	const struct brain_ops *brain;
	const struct conf *conf;
	char language[8];
	char greeting_in[512], greeting_out[512];
	char fillers[MAX_FILLERS][128];
	unsigned nfillers;
	enum barge_mode barge;
	uint32_t barge_min_ms;
	uint32_t min_speech_ms, hangover_ms;
	float threshold;
	uint32_t filler_delay_ms, filler_repeat_ms;
	uint32_t reprompt_secs, reprompt_max;
	uint32_t max_call_secs;
	bool aec;
	char audio_dir[256];        /* kept caller audio (keep_audio)      */
} cfg;

struct agent;

/* Jobs outlive their agent (a hangup while a job runs): they hold this
 * handle, which the agent clears when it goes. */
struct agent_ref {
	struct agent *a;
};

/* what a worker job needs; holds the agent's engine state alive */
struct stt_sess {
	const struct stt_ops *ops;
	void *st;
	bool started;
	/* latest partial result; worker side only (jobs of a strand run
	 * one at a time), handed to main through the job */
	char partial[256];
	bool partial_new;
};

struct tts_sess {
	const struct tts_ops *ops;
	void *st;
	const struct tts_ops *fallback;
	void *fst;
	atomic_uint gen;            /* current generation (cancel older)  */
	struct playq *pq;
	atomic_bool audio_out;      /* a job queued audio (main reads)    */
};

struct stt_job {
	struct stt_sess *sess;
	int16_t *pcm;
	size_t n;
	bool finish;
	struct stt_turn turn;
	struct stt_result res;
	uint32_t turn_id;
	struct agent_ref *ref;
	int16_t *utt;               /* keep_audio: the whole utterance    */
	size_t utt_n;
	char audio_path[300];       /* written here if utt               */
	char partial[256];          /* a new partial result, or ""        */
};

struct tts_job {
	struct tts_sess *sess;
	char *text;
	uint32_t gen;
	const char *lang;
	int flags;
	bool played;                /* some audio reached the port        */
	bool failed_over;
	struct agent_ref *ref;
	uint32_t turn_id;
};

struct agent {
	struct agent_ref *ref;
	char callid[16];
	bool outbound;
	bool closing;
	const struct port_ops *port;
	void *portarg;
	struct pipeline *pl;
	struct proc *p_vad, *p_stt, *p_brain, *p_tts;
	struct strand *strand;
	/* echo canceller */
	SpeexEchoState *echo;
	SpeexPreprocessState *pre;
	/* VAD + hysteresis */
	void *vad_st;
	void *onset_st;               /* energy VAD for fast barge-in     */
	uint32_t onset_ms;
	bool loud;                    /* this frame: the energy VAD voiced */
	uint32_t quiet_ms;            /* since a frame both VADs voiced    */
	int16_t raw[FRAME_SAMPLES];   /* this frame before echo cancelling */
	/* echo canceller's reference: frames sent, oldest first */
	int16_t aec_ref[AEC_REF_FRAMES][FRAME_SAMPLES];
	unsigned ref_n;
	uint32_t ref_quiet_ms;        /* we have sent silence for this long */
	bool vad_raw;                 /* ...and the VAD should judge it    */
	bool in_speech;
	uint32_t speech_ms, silence_ms;
	uint64_t last_speech_wall;
	struct frame *preroll[PREROLL_FRAMES];
	unsigned preroll_n, preroll_pos;
	struct frame *tail[TAIL_HOLD_FRAMES];   /* pause not yet fed to STT */
	unsigned tail_n;
	uint32_t stt_heard_ms;        /* audio given to the recogniser     */
	/* STT */
	struct stt_sess *stt;
	int16_t batch[FRAME_SAMPLES * STT_BATCH_FRAMES];
	size_t batch_n;
	bool stt_busy;
	/* brain */
	void *brain_st;
	struct brain_host host;
	uint32_t turn_id;
	struct call *call;            /* NULL in `agentline pipeline`    */
	struct tools *tools;          /* the tool executor, if any       */
	struct screen_turn *screen;   /* caller turn at the policy gate  */
	enum stt_mode listen_mode;    /* for the next utterance          */
	char *pending;                /* the turn in flight, until its reply
					 starts (joined with the next)   */
	enum brain_input pending_kind;
	bool reply_started, in_flight;
	char dtmf[DTMF_MAX + 1];      /* keypad digits being collected   */
	size_t dtmf_n;
	struct tmr tmr_dtmf;
	int16_t *utt;                 /* keep_audio: this utterance      */
	size_t utt_n;
	unsigned utt_seq;
	char *audio_path;             /* of the last transcript          */
	struct {                      /* what struct brain_call points at */
		char group[32], persona[32], redacted[16], key[40];
		char dialled[40];
		char *objective;
	} bc;
	/* TTS */
	struct tts_sess *tts;
	struct sentsplit *split;
	unsigned tts_jobs;           /* queued or running                  */
	bool hangup_after;
	bool bot_speaking;
	struct amd *amd;             /* outbound task call: listening for
					an answering machine            */
	bool amd_machine;            /* a machine answered: no turns     */
	bool quiet;                  /* an operator has the call: say
					nothing, answer nothing         */
	/* turn bookkeeping (wall ms) */
	struct {
		uint32_t id;
		uint64_t speech_end, eot, transcript, first_text;
		uint64_t first_audio;
		char transcript_text[1024];
		char reply[1024];
		bool reported, interrupted;
	} t;
	/* turns whose end was heard but whose transcript has not come back
	 * yet (they overlap when the caller speaks again meanwhile) */
	struct {
		uint64_t speech_end, eot;
	} eotq[8];
	unsigned eotq_head, eotq_n;
	uint32_t turn_seq;
	/* transcript_partial events: last sent (redacted) and when */
	char partial_last[256];
	uint64_t partial_ms;
	agent_turn_h *turnh;
	void *turn_arg;
	/* timers */
	struct tmr tmr_barge, tmr_filler, tmr_reprompt, tmr_max, tmr_hangup;
	unsigned reprompts;
	unsigned filler_idx;
};


static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


/* ------------------------------------------------------------ prompts */

static const char *prompt(const char *key)
{
	bool de = !strcmp(cfg.language, "de");

	if (!strcmp(key, "sorry"))
		return de ? "Entschuldigung, das habe ich nicht verstanden."
			: "Sorry, I didn't catch that.";
	if (!strcmp(key, "reprompt"))
		return de ? "Sind Sie noch da?" : "Are you still there?";
	if (!strcmp(key, "goodbye"))
		return de ? "Ich lege jetzt auf. Auf Wiederhören."
			: "I'll hang up now. Goodbye.";
	if (!strcmp(key, "closing"))
		return de ? "Wir haben die maximale Gesprächsdauer erreicht. "
			"Auf Wiederhören."
			: "We have reached the maximum call length. Goodbye.";
	return "";
}


/* ----------------------------------------------------------- TTS side */

static void tts_sess_destructor(void *data)
{
	struct tts_sess *s = data;

	mem_deref(s->st);
	mem_deref(s->fst);
	mem_deref(s->pq);
}


static void tts_job_destructor(void *data)
{
	struct tts_job *j = data;

	mem_deref(j->sess);
	mem_deref(j->text);
	mem_deref(j->ref);
}


static bool tts_audio_handler(const int16_t *pcm, size_t n, void *arg)
{
	struct tts_job *j = arg;
	struct tts_sess *s = j->sess;

	unsigned waited = 0;

	if (atomic_load(&s->gen) != j->gen)
		return true;   /* interrupted: stop synthesis */
	if (!j->played) {
		/* voices start with a few hundred ms of silence: the first
		 * audible sample should be the first one sent */
		while (n && pcm[0] < TTS_LEAD_SILENCE &&
		       pcm[0] > -TTS_LEAD_SILENCE) {
			pcm++;
			n--;
		}
		if (!n)
			return false;
	}
	while (n) {
		size_t put = playq_push(s->pq, pcm, n);
		if (!put) {
			/* the queue holds a few seconds: wait for playout
			 * (this is a worker thread), stop if interrupted */
			struct timespec ts = {0, 20 * 1000000};
			if (atomic_load(&s->gen) != j->gen ||
			    ++waited > 3000)
				return true;
			nanosleep(&ts, NULL);
			continue;
		}
		waited = 0;
		pcm += put;
		n -= put;
	}
	j->played = true;
	atomic_store(&s->audio_out, true);
	return false;
}


/* worker thread */
static int tts_work(void *arg)
{
	struct tts_job *j = arg;
	struct tts_sess *s = j->sess;
	int err;

	if (atomic_load(&s->gen) != j->gen)
		return ECANCELED;
	err = s->ops->synth(s->st, j->text, j->lang, tts_audio_handler, j);
	if (err && !j->played && s->fallback && s->fst &&
	    atomic_load(&s->gen) == j->gen) {
		j->failed_over = true;
		err = s->fallback->synth(s->fst, j->text, j->lang,
					 tts_audio_handler, j);
	}
	return err;
}


static void agent_check_hangup(struct agent *a);
static void filler_tmr_handler(void *arg);


/* main thread */
static void tts_done(int err, void *arg)
{
	struct tts_job *j = arg;
	struct agent *a = j->ref->a;

	if (!a)
		return;
	if (a->tts_jobs)
		a->tts_jobs--;
	if (j->failed_over)
		log_warn(MOD, a->callid, "TTS failed (%m): used the fallback "
			 "voice", err);
	else if (err && err != ECANCELED)
		log_warn(MOD, a->callid, "TTS failed: %m", err);
	if (j->flags & SAY_HANGUP)
		a->hangup_after = true;
	if (!a->tts_jobs)
		proc_set_busy(a->p_tts, false);
}


static int speak(struct agent *a, const char *text, int flags)
{
	struct tts_job *j;
	char *norm;
	int err;

	if (!text || !*text || a->quiet)
		return 0;
	norm = mem_zalloc(TEXT_MAX, NULL);
	if (!norm)
		return ENOMEM;
	err = textnorm(norm, TEXT_MAX, text, cfg.language);
	if (err || !*norm) {
		mem_deref(norm);
		return err;
	}

	j = mem_zalloc(sizeof(*j), tts_job_destructor);
	if (!j) {
		mem_deref(norm);
		return ENOMEM;
	}
	j->sess = mem_ref(a->tts);
	j->text = norm;
	j->gen = atomic_load(&a->tts->gen);
	j->lang = cfg.language;
	j->flags = flags;
	j->ref = mem_ref(a->ref);
	j->turn_id = a->turn_id;

	err = strand_run(a->strand, tts_work, tts_done, j);
	if (!err)
		a->tts_jobs++;
	mem_deref(j);
	return err;
}


static void tts_process(struct proc *p, struct frame *f, enum frame_dir d)
{
	struct agent *a = proc_state(p);
	char sentence[TEXT_MAX];

	switch (f->type) {

	case FRAME_SAY:
		speak(a, f->text, f->flags);
		break;

	case FRAME_REPLY:
		sentsplit_push(a->split, f->text);
		while (sentsplit_next(a->split, sentence, sizeof(sentence)))
			speak(a, sentence, 0);
		break;

	case FRAME_REPLY_END:
		if (sentsplit_flush(a->split, sentence, sizeof(sentence)))
			speak(a, sentence, 0);
		break;

	default:
		proc_push(p, f, d);
		return;
	}
}


static void tts_interrupt(struct proc *p)
{
	struct agent *a = proc_state(p);

	atomic_store(&a->tts->gen, pipeline_gen(a->pl));
	sentsplit_reset(a->split);
	a->hangup_after = false;
}


static const struct proc_ops tts_proc = {"tts", tts_process, tts_interrupt};


/* --------------------------------------------------------- brain side */

static void turn_report(struct agent *a)
{
	struct agent_turn t;

	if (a->t.reported || !a->t.id)
		return;
	a->t.reported = true;
	memset(&t, 0, sizeof(t));
	t.turn = a->t.id;
	t.transcript = a->t.transcript_text;
	t.reply = a->t.reply;
	t.interrupted = a->t.interrupted;
#define D(x, y) ((x) && (y) ? (int64_t)(x) - (int64_t)(y) : -1)
	t.vad_end_ms = D(a->t.eot, a->t.speech_end);
	t.stt_ms = D(a->t.transcript, a->t.eot);
	t.brain_ms = D(a->t.first_text, a->t.transcript);
	t.tts_first_audio_ms = D(a->t.first_audio, a->t.first_text);
	t.voice_to_voice_ms = D(a->t.first_audio, a->t.speech_end);
#undef D
	log_info(MOD, a->callid, "turn %u: v2v %lld ms (vad %lld, stt %lld, "
		 "brain %lld, tts %lld)%s", t.turn,
		 (long long)t.voice_to_voice_ms, (long long)t.vad_end_ms,
		 (long long)t.stt_ms, (long long)t.brain_ms,
		 (long long)t.tts_first_audio_ms,
		 t.interrupted ? " interrupted" : "");
	if (a->turnh)
		a->turnh(&t, a->turn_arg);
}


int agent_turn_json(char *buf, size_t sz, const struct agent_turn *t)
{
	char tr[2100], rp[2100];

	return re_snprintf(buf, sz, "\"turn\":%u,\"transcript\":\"%s\","
			   "\"reply\":\"%s\",\"vad_end_ms\":%lld,"
			   "\"stt_ms\":%lld,\"brain_ms\":%lld,"
			   "\"tts_first_audio_ms\":%lld,"
			   "\"voice_to_voice_ms\":%lld,\"interrupted\":%s",
			   t->turn, events_esc(tr, sizeof(tr), t->transcript),
			   events_esc(rp, sizeof(rp), t->reply),
			   (long long)t->vad_end_ms, (long long)t->stt_ms,
			   (long long)t->brain_ms,
			   (long long)t->tts_first_audio_ms,
			   (long long)t->voice_to_voice_ms,
			   t->interrupted ? "true" : "false");
}


static void brain_reply_handler(uint32_t turn_id, const char *text,
				bool final, void *arg)
{
	struct agent *a = arg;
	struct frame *f = NULL;

	if (a->closing || turn_id != a->turn_id)
		return;   /* an interrupted turn */
	if (text && *text) {
		/* the reply has started: a new utterance is a new turn */
		a->reply_started = true;
		a->pending = mem_deref(a->pending);
		if (!a->t.first_text)
			a->t.first_text = wall_ms();
		str_ncpy(a->t.reply + strlen(a->t.reply), text,
			 sizeof(a->t.reply) - strlen(a->t.reply));
		if (0 == frame_text(&f, FRAME_REPLY, text,
				    pipeline_gen(a->pl))) {
			proc_push(a->p_brain, f, FRAME_DOWN);
			mem_deref(f);
		}
	}
	if (final) {
		a->in_flight = false;
		a->pending = mem_deref(a->pending);
	}
	if (final && 0 == frame_alloc(&f, FRAME_REPLY_END,
				      pipeline_gen(a->pl))) {
		proc_push(a->p_brain, f, FRAME_DOWN);
		mem_deref(f);
	}
	/* a reply with nothing (left) to say ends the turn now */
	if (final && !agent_speaking(a))
		turn_report(a);
}


static void say(struct agent *a, const char *text, int flags)
{
	struct frame *f = NULL;

	if (!text || !*text)
		return;
	if (0 == frame_text(&f, FRAME_SAY, text, pipeline_gen(a->pl))) {
		f->flags = flags;
		proc_push(a->p_brain, f, FRAME_DOWN);
		mem_deref(f);
	}
}


/* Drop the turn in flight: its late replies and pending tool calls. */
static void brain_cancel(struct agent *a)
{
	a->turn_id++;   /* late replies of the old turn are ignored */
	a->in_flight = false;
#ifdef AGENT_HAVE_TOOLS
	tools_cancel(a->tools);
#endif
	if (cfg.brain->cancel)
		cfg.brain->cancel(a->brain_st);
}


/* Hand a turn to the brain (an external agent first).  A caller who
 * speaks again before the reply has started gets one turn with both
 * utterances: nothing said is dropped. */
static void turn_submit(struct agent *a, enum brain_input kind,
			const char *text, const char *audio_path)
{
	struct brain_turn bt;
	char *joined = NULL;
	int err;

	if (a->quiet || a->amd_machine)
		return;   /* an operator answers, or a machine: no turn */
	tmr_cancel(&a->tmr_filler);
	if (kind == BRAIN_SPEECH && a->pending && !a->reply_started &&
	    a->pending_kind == BRAIN_SPEECH) {
		if (a->in_flight)
			brain_cancel(a);
		if (re_sdprintf(&joined, "%s %s", a->pending, text))
			joined = NULL;
		else
			text = joined;
		log_info(MOD, a->callid, "the caller spoke again before the "
			 "reply: one turn with both utterances");
	}
	else if (a->in_flight) {
		brain_cancel(a);
	}

	a->turn_id++;
	a->pending = mem_deref(a->pending);
	if (str_dup(&a->pending, text))
		a->pending = NULL;
	a->pending_kind = kind;
	a->reply_started = false;
	a->in_flight = true;
	if (cfg.nfillers && cfg.filler_delay_ms)
		tmr_start(&a->tmr_filler, cfg.filler_delay_ms,
			  filler_tmr_handler, a);

	memset(&bt, 0, sizeof(bt));
	bt.id = a->turn_id;
	bt.kind = kind;
	bt.text = text;
	bt.audio_path = audio_path;
	bt.ts_ms = (uint64_t)time(NULL) * 1000;
	err = brain_external_turn(a->callid, &bt, &a->host);
	if (err == ENOENT)
		err = cfg.brain->turn(a->brain_st, &bt);
	if (err) {
		log_warn(MOD, a->callid, "brain: turn failed: %m", err);
		a->in_flight = false;
		a->pending = mem_deref(a->pending);
		say(a, prompt("sorry"), 0);
	}
	mem_deref(joined);
}


/* --- the trust gate for caller turns (policy helper) ---
 * Every fresh caller turn (speech or keypad) passes policy_turn() first:
 * passphrase/PIN auth, the injection screen, a blind-transfer confirm
 * key.  Only what it lets through reaches turn_submit(). */
struct screen_turn {
	struct agent_ref *ref;
	enum brain_input kind;
	char *audio;
	bool auth_pending;        /* the caller was not authenticated yet */
};


static void screen_turn_destructor(void *data)
{
	struct screen_turn *st = data;

	mem_deref(st->ref);
	mem_deref(st->audio);
}


static void screen_turn_drop(struct agent *a)
{
	policy_turn_cancel(call_policy(a->call));
	a->screen = mem_deref(a->screen);
}


static void screen_turn_h(enum policy_turn_action act, const char *text,
			  void *arg)
{
	struct screen_turn *st = arg;
	struct agent *a = st->ref->a;

	if (!a || a->closing || a->screen != st)
		return;
	switch (act) {
	case POLICY_PASS:
		turn_submit(a, st->kind, text, st->audio);
		break;
	case POLICY_SAY:
		say(a, text, 0);
		/* just authenticated: now the agent engages (the greeting or
		 * the brain's own opening that screen_start held back) */
		if (st->auth_pending &&
		    !policy_auth_pending(call_policy(a->call)))
			agent_start(a);
		break;
	case POLICY_SAY_HANGUP:
		say(a, *text ? text : prompt("goodbye"), SAY_HANGUP);
		break;
	}
}


static void screen_submit(struct agent *a, enum brain_input kind,
			  const char *text, const char *audio_path)
{
	struct policy_call *pc = call_policy(a->call);
	struct screen_turn *st;

	if (!pc) {                  /* `agentline pipeline`: no call */
		turn_submit(a, kind, text, audio_path);
		return;
	}
	screen_turn_drop(a);
	st = mem_zalloc(sizeof(*st), screen_turn_destructor);
	if (!st || (audio_path && str_dup(&st->audio, audio_path))) {
		mem_deref(st);
		say(a, prompt("sorry"), 0);
		return;
	}
	st->ref = mem_ref(a->ref);
	st->kind = kind;
	st->auth_pending = policy_auth_pending(pc);
	a->screen = st;
	/* what is said for the passphrase is a secret: the turn record
	 * (event, store) never carries it */
	if (policy_auth_pending(pc) && kind == BRAIN_SPEECH)
		str_ncpy(a->t.transcript_text, "(passphrase)",
			 sizeof(a->t.transcript_text));
	if (policy_turn(pc, kind == BRAIN_DTMF, text, screen_turn_h, st)) {
		a->screen = mem_deref(a->screen);
		say(a, prompt("sorry"), 0);
	}
}


/* Before the agent engages: decline_mode = answer says one line instead
 * of a greeting, then BYE; a caller who must authenticate first hears the
 * auth prompt (the greeting follows the right passphrase or PIN). */
static bool screen_start(struct agent *a)
{
	struct policy_call *pc = call_policy(a->call);
	const char *line = policy_decline_line(pc);

	if (line) {
		say(a, line, SAY_HANGUP);
		return true;
	}
	if (policy_auth_pending(pc)) {
		say(a, policy_auth_prompt(pc), 0);
		return true;
	}
	return false;
}


static void dtmf_flush(struct agent *a)
{
	tmr_cancel(&a->tmr_dtmf);
	if (!a->dtmf_n)
		return;
	a->dtmf[a->dtmf_n] = '\0';
	a->dtmf_n = 0;

	/* a turn record without the digits (they are never logged) */
	turn_report(a);
	memset(&a->t, 0, sizeof(a->t));
	a->t.id = ++a->turn_seq;
	a->t.transcript = wall_ms();
	str_ncpy(a->t.transcript_text, "(keypad)",
		 sizeof(a->t.transcript_text));
	if (a->quiet)
		turn_report(a);   /* the operator answers keys too */
	else
		screen_submit(a, BRAIN_DTMF, a->dtmf, NULL);
	memset(a->dtmf, 0, sizeof(a->dtmf));
}


static void dtmf_tmr_handler(void *arg)
{
	dtmf_flush(arg);
}


/* Keypad digits make one turn: up to '#' or a short pause. */
static void dtmf_collect(struct agent *a, char digit)
{
	tmr_cancel(&a->tmr_reprompt);
	a->reprompts = 0;
	if (digit == '#') {
		if (!a->dtmf_n)
			a->dtmf[a->dtmf_n++] = digit;
		dtmf_flush(a);
		return;
	}
	a->dtmf[a->dtmf_n++] = digit;
	if (a->dtmf_n >= DTMF_MAX)
		dtmf_flush(a);
	else
		tmr_start(&a->tmr_dtmf, DTMF_GAP_MS, dtmf_tmr_handler, a);
}


static void brain_process(struct proc *p, struct frame *f, enum frame_dir d)
{
	struct agent *a = proc_state(p);
	char *audio = a->audio_path;

	if (f->type == FRAME_DTMF && d == FRAME_DOWN) {
		dtmf_collect(a, f->digit);
		proc_push(p, f, d);
		return;
	}
	if (f->type != FRAME_TRANSCRIPT) {
		proc_push(p, f, d);
		return;
	}

	a->audio_path = NULL;
	tmr_cancel(&a->tmr_filler);
	if (a->quiet) {
		/* an operator has the call: the caller's words are recorded
		 * (the turn record), no brain answers them */
		turn_report(a);
		mem_deref(audio);
		return;
	}
	if (!*f->text) {
		/* nothing heard: a turn a barge-in cut short is still owed
		 * its answer */
		if (a->pending && !a->in_flight && !a->reply_started) {
			char *text = a->pending;

			a->pending = NULL;
			turn_submit(a, a->pending_kind, text, NULL);
			mem_deref(text);
		}
		else {
			say(a, prompt("sorry"), 0);
		}
		mem_deref(audio);
		return;
	}
	screen_submit(a, BRAIN_SPEECH, f->text, audio);
	mem_deref(audio);
}


/* An external agent gave up on a turn: the configured brain takes it. */
static void brain_fallback(void *arg, const struct brain_turn *turn)
{
	struct agent *a = arg;

	if (a->closing || turn->id != a->turn_id)
		return;
	if (cfg.brain->turn(a->brain_st, turn))
		say(a, prompt("sorry"), 0);
}


static int brain_tool(void *arg, uint32_t turn_id, const char *name,
		      const char *args, brain_tool_h *done, void *done_arg)
{
	struct agent *a = arg;

	struct frame *f = NULL;

	if (a->closing || turn_id != a->turn_id)
		return ECANCELED;
	/* what the reply said before the tool call is spoken now, not held
	 * back for a sentence end that may come after the action (a
	 * farewell before hang_up) */
	if (0 == frame_alloc(&f, FRAME_REPLY_END, pipeline_gen(a->pl))) {
		proc_push(a->p_brain, f, FRAME_DOWN);
		mem_deref(f);
	}
#ifdef AGENT_HAVE_TOOLS
	if (a->tools)
		return tools_run(a->tools, turn_id, name, args, done,
				 done_arg);
#else
	(void)name;
	(void)args;
	(void)done;
	(void)done_arg;
#endif
	return ENOSYS;
}


static void brain_listen(void *arg, const char *mode)
{
	struct agent *a = arg;

	if (!mode || !strcmp(mode, "free"))
		a->listen_mode = STT_MODE_FREE;
	else if (!strcmp(mode, "digits"))
		a->listen_mode = STT_MODE_DIGITS;
	else if (!strcmp(mode, "yesno"))
		a->listen_mode = STT_MODE_YESNO;
	else
		log_warn(MOD, a->callid, "brain: unknown listen mode \"%s\"",
			 mode);
}


static void brain_interrupt(struct proc *p)
{
	struct agent *a = proc_state(p);

	/* a turn whose reply had not started stays pending: the caller's
	 * next utterance joins it */
	brain_cancel(a);
}


static const struct proc_ops brain_proc = {"brain", brain_process,
					   brain_interrupt};


/* ----------------------------------------------------------- STT side */

static void stt_sess_destructor(void *data)
{
	struct stt_sess *s = data;

	mem_deref(s->st);
}


static void stt_job_destructor(void *data)
{
	struct stt_job *j = data;

	mem_deref(j->sess);
	mem_deref(j->pcm);
	mem_deref(j->ref);
	mem_deref(j->utt);
}


/* worker thread: keep_audio */
static void utt_write(struct stt_job *j)
{
	struct wav_writer *w = NULL;

	if (wav_writer_open(&w, j->audio_path, 16000, 1) ||
	    wav_writer_write(w, j->utt, j->utt_n))
		j->audio_path[0] = '\0';
	mem_deref(w);
}


/* worker thread (inside stt_work): remember the latest partial */
static void stt_partial_handler(const char *text, void *arg)
{
	struct stt_sess *s = arg;

	str_ncpy(s->partial, text, sizeof(s->partial));
	s->partial_new = true;
}


/* worker thread */
/* Worker: make the call's recogniser (stt_warm, or the first STT job
 * if the warm-up failed). */
static int stt_sess_ensure(struct stt_sess *s)
{
	if (s->st)
		return 0;
	return s->ops->alloc(&s->st, cfg.conf);
}


static int stt_warm_work(void *arg)
{
	return stt_sess_ensure(arg);
}


static void stt_warm_done(int err, void *arg)
{
	(void)arg;
	if (err)
		log_warn(MOD, NULL, "speech recogniser failed to start: %m",
			 err);
}


/* Queue the recogniser's construction on the call's strand, behind the
 * greeting's first synthesis, ahead of any STT job. */
static void stt_warm(struct agent *a)
{
	if (a->stt && !a->stt->st)
		(void)strand_run(a->strand, stt_warm_work, stt_warm_done,
				 a->stt);
}


static int stt_work(void *arg)
{
	struct stt_job *j = arg;
	struct stt_sess *s = j->sess;
	int err = 0;

	err = stt_sess_ensure(s);
	if (err)
		return err;
	if (!s->started) {
		s->partial_new = false;
		err = s->ops->start(s->st, &j->turn, stt_partial_handler, s);
		if (err)
			return err;
		s->started = true;
	}
	if (j->n)
		err = s->ops->feed(s->st, j->pcm, j->n);
	if (s->partial_new && !j->finish)
		str_ncpy(j->partial, s->partial, sizeof(j->partial));
	s->partial_new = false;
	if (j->finish) {
		err = s->ops->finish(s->st, &j->res);
		s->started = false;
		if (j->utt)
			utt_write(j);
	}
	return err;
}


/* main thread: a partial transcript on the event bus, at most every
 * PARTIAL_MIN_MS and only when it changed; dictated numbers redacted */
static void partial_emit(struct agent *a, const char *text)
{
	enum { PARTIAL_MIN_MS = 300 };
	char red[256], esc[600];
	uint64_t now = wall_ms();

	if (a->closing || (a->partial_ms && now - a->partial_ms <
			   PARTIAL_MIN_MS))
		return;
	/* before the caller is authenticated they may be saying the
	 * passphrase: nothing of it goes on the bus */
	if (policy_auth_pending(call_policy(a->call)))
		return;
	str_ncpy(red, text, sizeof(red));
	(void)policy_redact_numbers(red);
	if (!strcmp(red, a->partial_last))
		return;
	str_ncpy(a->partial_last, red, sizeof(a->partial_last));
	a->partial_ms = now;
	events_emit("transcript_partial", a->callid,
		    ",\"turn\":%u,\"text\":\"%s\"", a->turn_seq + 1,
		    events_esc(esc, sizeof(esc), red));
}


/* main thread */
static void stt_done(int err, void *arg)
{
	struct stt_job *j = arg;
	struct agent *a = j->ref->a;
	struct frame *f = NULL;

	if (a && !j->finish && !err && j->partial[0])
		partial_emit(a, j->partial);
	if (!a || !j->finish)
		return;
	if (err) {
		log_warn(MOD, a->callid, "STT failed: %m", err);
		j->res.text[0] = '\0';
	}
	a->stt_busy = false;
	a->partial_last[0] = '\0';   /* the next turn's partials are new */

	/* this transcript starts the next turn record; report the previous
	 * one if it never got to speak */
	turn_report(a);
	memset(&a->t, 0, sizeof(a->t));
	a->t.id = ++a->turn_seq;
	if (a->eotq_n) {
		a->t.speech_end = a->eotq[a->eotq_head].speech_end;
		a->t.eot = a->eotq[a->eotq_head].eot;
		a->eotq_head = (a->eotq_head + 1) % 8;
		a->eotq_n--;
	}
	a->t.transcript = wall_ms();
	str_ncpy(a->t.transcript_text, j->res.text,
		 sizeof(a->t.transcript_text));
	a->audio_path = mem_deref(a->audio_path);
	if (j->utt && j->audio_path[0] &&
	    str_dup(&a->audio_path, j->audio_path))
		a->audio_path = NULL;
	if (0 == frame_text(&f, FRAME_TRANSCRIPT, j->res.text,
			    pipeline_gen(a->pl))) {
		proc_push(a->p_stt, f, FRAME_DOWN);
		mem_deref(f);
	}
	proc_set_busy(a->p_stt, false);
}


static void stt_submit(struct agent *a, bool finish)
{
	struct stt_job *j = mem_zalloc(sizeof(*j), stt_job_destructor);

	if (!j)
		return;
	j->sess = mem_ref(a->stt);
	j->ref = mem_ref(a->ref);
	j->finish = finish;
	j->turn.mode = a->listen_mode;   /* taken at the utterance's start */
	j->turn.language = cfg.language;
	if (finish) {
		a->listen_mode = STT_MODE_FREE;   /* for one utterance */
		if (a->utt && a->utt_n) {
			j->utt = a->utt;
			j->utt_n = a->utt_n;
			re_snprintf(j->audio_path, sizeof(j->audio_path),
				    "%s/%s-%u.wav", cfg.audio_dir, a->callid,
				    ++a->utt_seq);
		}
		else {
			mem_deref(a->utt);
		}
		a->utt = NULL;
		a->utt_n = 0;
	}
	if (a->batch_n) {
		j->pcm = mem_alloc(a->batch_n * sizeof(int16_t), NULL);
		if (j->pcm) {
			memcpy(j->pcm, a->batch, a->batch_n * sizeof(int16_t));
			j->n = a->batch_n;
		}
		a->batch_n = 0;
	}
	if (strand_run(a->strand, stt_work, stt_done, j) && finish) {
		/* could not queue: answer as if nothing was heard */
		struct stt_result none = {"", -1};
		j->res = none;
		stt_done(0, j);
	}
	mem_deref(j);
}


static void stt_process(struct proc *p, struct frame *f, enum frame_dir d)
{
	struct agent *a = proc_state(p);

	switch (f->type) {

	case FRAME_AUDIO:
		if (cfg.brain->keep_audio) {
			if (!a->utt)
				a->utt = mem_alloc(UTT_MAX_SAMPLES *
						   sizeof(int16_t), NULL);
			if (a->utt && a->utt_n + f->n <= UTT_MAX_SAMPLES) {
				memcpy(a->utt + a->utt_n, f->pcm,
				       f->n * sizeof(int16_t));
				a->utt_n += f->n;
			}
		}
		if (a->batch_n + f->n > sizeof(a->batch) / sizeof(int16_t))
			stt_submit(a, false);
		memcpy(a->batch + a->batch_n, f->pcm, f->n * sizeof(int16_t));
		a->batch_n += f->n;
		if (a->batch_n >= FRAME_SAMPLES * STT_BATCH_FRAMES)
			stt_submit(a, false);
		break;

	case FRAME_END_OF_TURN:
		a->stt_busy = true;
		proc_set_busy(p, true);   /* the next turn's audio waits */
		stt_submit(a, true);
		break;

	default:
		proc_push(p, f, d);
		break;
	}
}


static const struct proc_ops stt_proc = {"stt", stt_process, NULL};


/* ----------------------------------------------------------- VAD side */

static void barge_in(struct agent *a);
static void barge_tmr_handler(void *arg);


static void push_down(struct agent *a, struct proc *from, enum frame_type t)
{
	struct frame *f = NULL;

	if (0 == frame_alloc(&f, t, pipeline_gen(a->pl))) {
		proc_push(from, f, FRAME_DOWN);
		mem_deref(f);
	}
}


/* A pause inside a turn: the recogniser hears its first TAIL_FEED_MS at
 * once (enough to close the last word); the rest is held back and fed
 * only if the caller speaks again.  A turn that ends drops it, so the
 * hangover's silence (700 ms by default, a quarter of a short turn's
 * audio) is not decoded at the end of every turn. */
static void tail_release(struct agent *a, struct proc *p)
{
	for (unsigned i = 0; i < a->tail_n; i++) {
		proc_push(p, a->tail[i], FRAME_DOWN);
		a->tail[i] = mem_deref(a->tail[i]);
	}
	a->tail_n = 0;
}


static void tail_drop(struct agent *a)
{
	for (unsigned i = 0; i < a->tail_n; i++)
		a->tail[i] = mem_deref(a->tail[i]);
	a->tail_n = 0;
}


static void tail_hold(struct agent *a, struct proc *p, struct frame *f)
{
	if (a->tail_n == TAIL_HOLD_FRAMES) {
		/* a pause longer than the buffer: the oldest goes on */
		proc_push(p, a->tail[0], FRAME_DOWN);
		mem_deref(a->tail[0]);
		memmove(a->tail, a->tail + 1,
			(TAIL_HOLD_FRAMES - 1) * sizeof(a->tail[0]));
		a->tail_n--;
	}
	a->tail[a->tail_n++] = mem_ref(f);
}


static void vad_process(struct proc *p, struct frame *f, enum frame_dir d)
{
	struct agent *a = proc_state(p);
	float prob = 0;
	bool voiced;
	uint32_t fms;

	if (f->type != FRAME_AUDIO) {
		proc_push(p, f, d);
		return;
	}

	fms = (uint32_t)(f->n * 1000 / 16000);

	/* barge-in reacts to the energy onset (full: at once; gated: the
	 * gate starts there): a model VAD (silero) confirms speech only
	 * after ~100-200 ms */
	if (a->onset_st) {
		float op = 0;
		if (cfg.onset->process(a->onset_st, a->vad_raw &&
				       f->n == FRAME_SAMPLES ? a->raw : f->pcm,
				       f->n, &op))
			op = 0;
		a->loud = op >= cfg.threshold;
		a->onset_ms = a->loud ? a->onset_ms + fms : 0;
		if (a->onset_ms >= ONSET_MIN_MS &&
		    a->onset_ms - fms < ONSET_MIN_MS && agent_speaking(a)) {
			if (cfg.barge == BARGE_FULL)
				barge_in(a);
			else if (!tmr_isrunning(&a->tmr_barge))
				tmr_start(&a->tmr_barge,
					  cfg.barge_min_ms > ONSET_MIN_MS ?
					  cfg.barge_min_ms - ONSET_MIN_MS : 0,
					  barge_tmr_handler, a);
		}
	}

	if (cfg.vad->process(a->vad_st, a->vad_raw && f->n == FRAME_SAMPLES ?
			     a->raw : f->pcm, f->n, &prob))
		prob = 0;
	voiced = prob >= cfg.threshold;

	if (!a->in_speech) {
		/* keep a little audio from before speech was confirmed */
		if (a->preroll[a->preroll_pos])
			mem_deref(a->preroll[a->preroll_pos]);
		a->preroll[a->preroll_pos] = mem_ref(f);
		a->preroll_pos = (a->preroll_pos + 1) % PREROLL_FRAMES;
		if (a->preroll_n < PREROLL_FRAMES)
			a->preroll_n++;

		a->speech_ms = voiced ? a->speech_ms + fms : 0;
		if (a->speech_ms < cfg.min_speech_ms)
			return;

		a->in_speech = true;
		a->silence_ms = 0;
		a->quiet_ms = 0;
		push_down(a, p, FRAME_SPEECH_START);
		for (unsigned i = 0; i < a->preroll_n; i++) {
			unsigned k = (a->preroll_pos + PREROLL_FRAMES -
				      a->preroll_n + i) % PREROLL_FRAMES;
			proc_push(p, a->preroll[k], FRAME_DOWN);
			a->preroll[k] = mem_deref(a->preroll[k]);
		}
		a->preroll_n = 0;
		a->last_speech_wall = wall_ms();
		return;
	}

	/* a call's first seconds are heard whole: pocketsphinx decodes them
	 * again with the cepstral mean they adapted, and the closing
	 * silence is part of that mean (held back, first sentences over
	 * WebRTC were heard worse: "hello can you hear me" -> "uni") */
	if (voiced || a->silence_ms < TAIL_FEED_MS ||
	    a->stt_heard_ms < TAIL_WARM_MS) {
		if (voiced)
			tail_release(a, p);
		proc_push(p, f, FRAME_DOWN);
		a->stt_heard_ms += fms;
	}
	else {
		tail_hold(a, p, f);
	}
	/* A model VAD (silero) keeps saying "speech" for ~200 ms through the
	 * soft end of the last word, after the energy has fallen.  The
	 * hangover counts from the last frame both VADs voiced, but never
	 * trusts the energy VAD for more than TAIL_MAX_MS of the model's
	 * own speech, so a quiet caller is not cut off and a noisy line
	 * (energy always "voiced") ends turns as the model VAD alone would. */
	if (voiced && (!a->onset_st || a->loud)) {
		a->quiet_ms = 0;
		a->last_speech_wall = wall_ms();
	}
	else {
		a->quiet_ms += fms;
	}
	if (voiced) {
		a->silence_ms = 0;
		return;
	}
	a->silence_ms += fms;
	if (a->silence_ms < cfg.hangover_ms &&
	    (a->quiet_ms < cfg.hangover_ms ||
	     a->silence_ms + TAIL_MAX_MS < cfg.hangover_ms))
		return;

	/* the caller finished: end of turn */
	tail_drop(a);
	a->in_speech = false;
	a->speech_ms = 0;
	push_down(a, p, FRAME_SPEECH_STOP);
	if (a->eotq_n < 8) {
		unsigned k = (a->eotq_head + a->eotq_n) % 8;
		a->eotq[k].speech_end = a->last_speech_wall;
		a->eotq[k].eot = wall_ms();
		a->eotq_n++;
	}
	push_down(a, p, FRAME_END_OF_TURN);
}


static const struct proc_ops vad_proc = {"vad", vad_process, NULL};


/* ------------------------------------------------------- turn-taking */

static void barge_in(struct agent *a)
{
	/* quiet: what plays is an operator's voice, not ours to cut */
	if (a->quiet || !agent_speaking(a))
		return;
	log_debug(MOD, a->callid, "barge-in");
	events_emit("barge_in", a->callid, NULL);
	a->t.interrupted = true;
	pipeline_interrupt(a->pl);
	a->port->flush(a->portarg, 20);
	a->bot_speaking = false;
}


static void barge_tmr_handler(void *arg)
{
	struct agent *a = arg;

	/* still talking (the model VAD agrees, or the energy onset goes on) */
	if (a->in_speech || a->onset_ms >= cfg.barge_min_ms / 2)
		barge_in(a);
}


static void filler_tmr_handler(void *arg)
{
	struct agent *a = arg;

	if (!cfg.nfillers || a->t.first_audio || a->in_speech)
		return;
	say(a, cfg.fillers[a->filler_idx++ % cfg.nfillers], SAY_FILLER);
	if (cfg.filler_repeat_ms)
		tmr_start(&a->tmr_filler, cfg.filler_repeat_ms,
			  filler_tmr_handler, a);
}


static void reprompt_tmr_handler(void *arg)
{
	struct agent *a = arg;

	if (a->in_speech || agent_speaking(a) || a->stt_busy ||
	    a->in_flight || a->quiet)
		return;
	if (a->reprompts >= cfg.reprompt_max) {
		log_info(MOD, a->callid, "caller silent: saying goodbye");
		say(a, prompt("goodbye"), SAY_HANGUP);
		return;
	}
	a->reprompts++;
	say(a, prompt("reprompt"), 0);
}


static void hangup_tmr_handler(void *arg);


static void max_tmr_handler(void *arg)
{
	struct agent *a = arg;

	log_info(MOD, a->callid, "maximum call duration reached");
	if (a->quiet) {
		/* nobody would say the closing line: end it now */
		tmr_start(&a->tmr_hangup, 0, hangup_tmr_handler, a);
		return;
	}
	pipeline_interrupt(a->pl);
	a->port->flush(a->portarg, 20);
	say(a, prompt("closing"), SAY_HANGUP);
}


static void system_handler(struct frame *f, enum frame_dir dir, void *arg)
{
	struct agent *a = arg;
	(void)dir;

	switch (f->type) {

	case FRAME_SPEECH_START:
		tmr_cancel(&a->tmr_reprompt);
		a->reprompts = 0;
		if (!agent_speaking(a) || cfg.barge == BARGE_OFF ||
		    a->amd_machine)
			break;
		if (cfg.barge == BARGE_FULL)
			barge_in(a);
		else if (!tmr_isrunning(&a->tmr_barge))
			tmr_start(&a->tmr_barge, cfg.barge_min_ms,
				  barge_tmr_handler, a);
		break;

	case FRAME_SPEECH_STOP:
		tmr_cancel(&a->tmr_barge);
		break;

	default:
		break;
	}
}


bool agent_speaking(const struct agent *a)
{
	return a && (a->tts_jobs || proc_queued(a->p_tts) ||
		     a->port->level(a->portarg) > 0);
}


bool agent_idle(const struct agent *a)
{
	return a && !a->in_speech && !a->stt_busy && !agent_speaking(a) &&
		!a->in_flight &&
		!proc_queued(a->p_stt) && !proc_queued(a->p_brain) &&
		!strand_pending(a->strand);
}


static void hangup_tmr_handler(void *arg)
{
	struct agent *a = arg;

	/* may free the agent: nothing touches it after this */
	a->port->hangup(a->portarg, "local_bye");
}


static void agent_check_hangup(struct agent *a)
{
	if (a->hangup_after && !a->tts_jobs &&
	    a->port->level(a->portarg) == 0 && !a->closing) {
		a->hangup_after = false;
		/* not from inside our own frame handler: hanging up frees
		 * the agent */
		tmr_start(&a->tmr_hangup, 0, hangup_tmr_handler, a);
	}
}


/* Called every frame: notice when the agent starts/stops talking. */
static void track_speaking(struct agent *a)
{
	bool speaking = agent_speaking(a);

	if (atomic_exchange(&a->tts->audio_out, false) && !a->t.first_audio &&
	    a->t.first_text) {
		a->t.first_audio = wall_ms();
		tmr_cancel(&a->tmr_filler);
	}
	if (speaking == a->bot_speaking)
		return;
	a->bot_speaking = speaking;
	if (!speaking) {
		/* a filler that ends before the reply does not end the
		 * turn; a spoken reply does, even if the brain is still
		 * busy (a tool such as hang_up running) */
		if (!a->in_flight || a->reply_started)
			turn_report(a);
		agent_check_hangup(a);
		if (cfg.reprompt_secs && !a->closing && !a->quiet)
			tmr_start(&a->tmr_reprompt,
				  cfg.reprompt_secs * 1000ull,
				  reprompt_tmr_handler, a);
	}
	else {
		tmr_cancel(&a->tmr_reprompt);
	}
}


/* --- answering-machine detection (outbound task calls; amd.h) ---
 * A machine: the agent stops talking and takes no turns; after the beep
 * it says amd_message (the objective in it) and hangs up, or with
 * amd_action = hangup it hangs up at once.  The result goes to whoever
 * asked (tools_call_result, the "amd" event). */
static void amd_setup(struct agent *a)
{
	const char *act = conf_str(cfg.conf, "amd_action");
	struct amd_params p;

	if (!a->outbound || !a->bc.objective || !act || !strcmp(act, "off"))
		return;
	memset(&p, 0, sizeof(p));
	p.greeting_ms = (unsigned)conf_int(cfg.conf, "amd_greeting_ms");
	p.pause_ms = (unsigned)conf_int(cfg.conf, "amd_pause_ms");
	p.beep_min_ms = (unsigned)conf_int(cfg.conf, "amd_beep_min_ms");
	p.nobeep_ms = 3000;
	p.window_ms = (unsigned)conf_int(cfg.conf, "amd_window_secs") * 1000;
	if (amd_alloc(&a->amd, &p))
		log_warn(MOD, a->callid, "answering-machine detection off");
}


static void amd_message(struct agent *a, char *buf, size_t sz)
{
	const char *tpl = conf_str(cfg.conf, "amd_message");
	const char *ph = tpl ? strstr(tpl, "{objective}") : NULL;
	const char *obj = a->bc.objective ? a->bc.objective : "";
	size_t olen = strlen(obj);

	while (olen && (obj[olen - 1] == '.' || obj[olen - 1] == ' '))
		--olen;   /* the template has its own full stop */
	if (!tpl)
		buf[0] = '\0';
	else if (ph)
		re_snprintf(buf, sz, "%b%b%s", tpl, (size_t)(ph - tpl), obj,
			    olen, ph + 11);
	else
		str_ncpy(buf, tpl, sz);
}


/* The agent stops talking and forgets what it was about to say: timers
 * (filler, reprompt, barge-in) stop, the screened turn and the brain's
 * turn in flight are dropped, queued audio fades out, a pending hang-up
 * is called off.  (Answering machine heard; an operator takes over.) */
static void agent_silence(struct agent *a)
{
	tmr_cancel(&a->tmr_filler);
	tmr_cancel(&a->tmr_reprompt);
	tmr_cancel(&a->tmr_barge);
	screen_turn_drop(a);
	pipeline_interrupt(a->pl);
	a->port->flush(a->portarg, 20);
	brain_cancel(a);
	a->pending = mem_deref(a->pending);
	a->hangup_after = false;
}


static void amd_feed(struct agent *a, const int16_t *pcm, size_t n)
{
	const char *act = conf_str(cfg.conf, "amd_action");
	bool hangup = act && !strcmp(act, "hangup");
	enum amd_event ev = amd_frame(a->amd, pcm, n);
	char text[700];

	switch (ev) {

	case AMD_EV_HUMAN:
		log_info(MOD, a->callid, "answering-machine detection: a "
			 "person (%s, %u ms)", amd_reason(a->amd),
			 amd_elapsed_ms(a->amd));
		events_emit("amd", a->callid, ",\"result\":\"human\","
			    "\"reason\":\"%s\",\"ms\":%u",
			    amd_reason(a->amd), amd_elapsed_ms(a->amd));
		a->amd = mem_deref(a->amd);
		break;

	case AMD_EV_MACHINE:
		log_info(MOD, a->callid, "answering-machine detection: a "
			 "machine (%s, %u ms): %s", amd_reason(a->amd),
			 amd_elapsed_ms(a->amd), hangup ? "hanging up" :
			 "the message follows the beep");
		events_emit("amd", a->callid, ",\"result\":\"machine\","
			    "\"reason\":\"%s\",\"ms\":%u,\"action\":\"%s\"",
			    amd_reason(a->amd), amd_elapsed_ms(a->amd),
			    hangup ? "hangup" : "message");
		/* stop talking to the greeting; no turns from it */
		a->amd_machine = true;
		agent_silence(a);
		if (!hangup)
			break;
#ifdef AGENT_HAVE_TOOLS
		tools_call_result(a->callid, "machine", "answering machine: "
				  "hung up without a message");
#endif
		a->amd = mem_deref(a->amd);
		agent_hangup(a);
		break;

	case AMD_EV_BEEP:
		log_info(MOD, a->callid, "answering machine: greeting over "
			 "(%s, beep %u Hz %u ms, at %u ms): leaving the "
			 "message", amd_reason(a->amd), amd_beep_hz(a->amd),
			 amd_beep_ms(a->amd), amd_elapsed_ms(a->amd));
		events_emit("amd", a->callid, ",\"result\":\"beep\","
			    "\"reason\":\"%s\",\"beep_hz\":%u,\"ms\":%u",
			    amd_reason(a->amd), amd_beep_hz(a->amd),
			    amd_elapsed_ms(a->amd));
		a->amd = mem_deref(a->amd);
		amd_message(a, text, sizeof(text));
#ifdef AGENT_HAVE_TOOLS
		tools_call_result(a->callid, "machine", "answering machine: "
				  "message left after the beep");
#endif
		if (*text)
			say(a, text, SAY_HANGUP);
		else
			agent_hangup(a);
		break;

	default:
		break;
	}
}


void agent_audio(struct agent *a, const int16_t *pcm, size_t n,
		 uint64_t ts_ms)
{
	int16_t clean[FRAME_SAMPLES];
	struct frame *f = NULL;

	if (!a || a->closing || n != FRAME_SAMPLES)
		return;
	if (a->amd)
		amd_feed(a, pcm, n);   /* the line as heard */

	if (a->echo) {
		static const int16_t zero[FRAME_SAMPLES];
		const int16_t *ref = a->ref_n ? a->aec_ref[0] : zero;
		bool idle = a->ref_quiet_ms >= AEC_IDLE_MS;
		uint64_t ein = 0, eout = 0;

		/* The frame sent in the previous tick is the reference of
		 * the frame heard now (the canceller finds the line's delay
		 * within its tail).  After AEC_IDLE_MS of sent silence there
		 * is no echo to cancel and the canceller's history is all
		 * silence: it is skipped, and its state is what it would be
		 * had it run, so the next reply resumes it cleanly.  The
		 * residual echo suppressor (speex's preprocessor, with the
		 * denoiser it is part of) runs only while the canceller does:
		 * it cost as much as the canceller itself. */
		if (!idle) {
			speex_echo_cancellation(a->echo, pcm, ref, clean);
			speex_preprocess_run(a->pre, clean);
		}
		if (a->ref_n && --a->ref_n)
			memmove(a->aec_ref[0], a->aec_ref[1],
				a->ref_n * sizeof(a->aec_ref[0]));
		a->vad_raw = false;
		if (!idle) {
			for (size_t i = 0; i < n; i++) {
				ein += (uint64_t)((int32_t)pcm[i] * pcm[i]);
				eout += (uint64_t)((int32_t)clean[i] *
						   clean[i]);
			}
			/* a canceller that has not converged (or has nothing
			 * to cancel) can add a filtered copy of our own
			 * voice: then the VAD judges the line as it came in,
			 * so the agent does not interrupt itself; the
			 * recogniser keeps the cancelled signal (switching
			 * per frame would hurt it) */
			a->vad_raw = eout > ein;
			if (a->vad_raw)
				memcpy(a->raw, pcm, sizeof(a->raw));
			pcm = clean;
		}
	}
	if (0 == frame_audio(&f, pcm, n, ts_ms, pipeline_gen(a->pl))) {
		pipeline_input(a->pl, f, FRAME_DOWN);
		mem_deref(f);
	}
	track_speaking(a);
}


void agent_sent(struct agent *a, const int16_t *pcm, size_t n)
{
	int peak = 0;

	if (!a || !a->echo || n != FRAME_SAMPLES)
		return;
	for (size_t i = 0; i < n; i++) {
		int v = pcm[i] < 0 ? -pcm[i] : pcm[i];
		if (v > peak)
			peak = v;
	}
	a->ref_quiet_ms = peak <= AEC_QUIET_PEAK ?
		a->ref_quiet_ms + (uint32_t)(n * 1000 / 16000) : 0;
	if (a->ref_quiet_ms > 60000)
		a->ref_quiet_ms = 60000;
	if (a->ref_n == AEC_REF_FRAMES) {   /* not heard: keep the newest */
		memmove(a->aec_ref[0], a->aec_ref[1],
			(AEC_REF_FRAMES - 1) * sizeof(a->aec_ref[0]));
		a->ref_n--;
	}
	memcpy(a->aec_ref[a->ref_n++], pcm, n * sizeof(int16_t));
}


void agent_dtmf(struct agent *a, char digit)
{
	struct frame *f = NULL;

#ifdef AGENT_HAVE_TOOLS
	/* the answer to a transfer confirmation is not a turn */
	if (a && tools_dtmf(a->tools, digit))
		return;
#endif
	if (!a || 0 != frame_alloc(&f, FRAME_DTMF, pipeline_gen(a->pl)))
		return;
	f->digit = digit;
	pipeline_input(a->pl, f, FRAME_DOWN);
	mem_deref(f);
}


void agent_set_turn_handler(struct agent *a, agent_turn_h *h, void *arg)
{
	if (!a)
		return;
	a->turnh = h;
	a->turn_arg = arg;
}


static void agent_greet(struct agent *a)
{
	const char *g;
	char text[600];

	if (cfg.max_call_secs)
		tmr_start(&a->tmr_max, cfg.max_call_secs * 1000ull,
			  max_tmr_handler, a);
	if (screen_start(a))
		return;
	/* a brain that speaks first (a playbook's own greeting, an outbound
	 * task call's opening) replaces the configured greeting */
	if (cfg.brain->start && 0 == cfg.brain->start(a->brain_st)) {
		a->in_flight = true;   /* turn 0 */
		return;
	}
	g = a->outbound ? cfg.greeting_out : cfg.greeting_in;
	if (*g) {
		/* {owner} placeholder */
		const char *ph = strstr(g, "{owner}");
		const char *owner = conf_str(cfg.conf, "greeting_owner");
		if (ph)
			re_snprintf(text, sizeof(text), "%b%s%s",
				    g, (size_t)(ph - g), owner ? owner : "",
				    ph + 7);
		else
			str_ncpy(text, g, sizeof(text));
		say(a, text, 0);
	}
}


void agent_start(struct agent *a)
{
	if (!a)
		return;
	agent_greet(a);
	stt_warm(a);
}


void agent_set_quiet(struct agent *a, bool quiet)
{
	if (!a || a->closing || a->quiet == quiet)
		return;
	a->quiet = quiet;
	if (!quiet) {
		log_info(MOD, a->callid, "the operator released the call: "
			 "the agent answers again");
		if (cfg.reprompt_secs)
			tmr_start(&a->tmr_reprompt,
				  cfg.reprompt_secs * 1000ull,
				  reprompt_tmr_handler, a);
		return;
	}
	log_info(MOD, a->callid, "an operator speaks on the call: the agent "
		 "is quiet");
	/* the turn in progress ends here (cut short if we were speaking):
	 * what follows belongs to the operator */
	if (agent_speaking(a))
		a->t.interrupted = true;
	turn_report(a);
	agent_silence(a);
	a->bot_speaking = false;
}


bool agent_quiet_settled(const struct agent *a)
{
	return a && a->quiet && !a->tts_jobs;
}


void agent_hangup(struct agent *a)
{
	if (!a || a->closing)
		return;
	/* not from the caller's stack: hanging up frees the agent */
	tmr_start(&a->tmr_hangup, 0, hangup_tmr_handler, a);
}


void agent_say(struct agent *a, const char *text)
{
	if (!a || a->closing)
		return;
	say(a, text, 0);
}


int agent_tool(struct agent *a, const char *name, const char *args,
	       agent_tool_h *done, void *arg)
{
	if (!a || a->closing)
		return ECANCELED;
#ifdef AGENT_HAVE_TOOLS
	if (a->tools)
		return tools_run(a->tools, a->turn_id, name, args, done, arg);
#else
	(void)name;
	(void)args;
	(void)done;
	(void)arg;
#endif
	return ENOSYS;
}


static void agent_destructor(void *data)
{
	struct agent *a = data;

	/* a turn whose reply was still open when the call ended (a
	 * hang_up, or the caller hanging up) is reported with what was
	 * said so far */
	turn_report(a);
	a->closing = true;
	if (a->ref)
		a->ref->a = NULL;
	mem_deref(a->ref);
	tmr_cancel(&a->tmr_barge);
	tmr_cancel(&a->tmr_filler);
	tmr_cancel(&a->tmr_reprompt);
	tmr_cancel(&a->tmr_max);
	tmr_cancel(&a->tmr_hangup);
	tmr_cancel(&a->tmr_dtmf);
	mem_deref(a->amd);
	/* the tools first: a pending action must not outlive the brain */
	mem_deref(a->tools);
	screen_turn_drop(a);
	if (a->tts)
		atomic_store(&a->tts->gen, 0xffffffffu);
	mem_deref(a->pl);
	for (unsigned i = 0; i < PREROLL_FRAMES; i++)
		mem_deref(a->preroll[i]);
	tail_drop(a);
	mem_deref(a->strand);
	mem_deref(a->stt);
	mem_deref(a->tts);
	mem_deref(a->split);
	mem_deref(a->vad_st);
	mem_deref(a->onset_st);
	mem_deref(a->brain_st);
	mem_deref(a->pending);
	mem_deref(a->utt);
	mem_deref(a->audio_path);
	mem_deref(a->bc.objective);
	if (a->callid[0])
		brain_call_forget(a->callid);
	if (a->echo)
		speex_echo_state_destroy(a->echo);
	if (a->pre)
		speex_preprocess_state_destroy(a->pre);
}


/* What the brain gets to know about the call: the caller's class from
 * the trust policy (defaults without one), the task of an outbound call. */
static void brain_call_fill(struct agent *a, struct brain_call *bc)
{
	const char *objective = brain_objective(a->callid);

#ifdef AGENT_HAVE_TOOLS
	if (!objective)   /* a call placed by the place_call tool */
		objective = tools_call_objective(a->callid);
#endif

	memset(bc, 0, sizeof(*bc));
	bc->callid = a->callid;
	bc->language = cfg.language;
	bc->outbound = a->outbound;
	bc->call = a->call;
	str_ncpy(a->bc.group, "receptionist", sizeof(a->bc.group));
	str_ncpy(a->bc.persona, "receptionist", sizeof(a->bc.persona));
	bc->privilege = 0;
#ifdef AGENT_HAVE_POLICY
	if (a->call) {
		const struct caller_class *cc =
			policy_call_class(call_policy(a->call));

		if (cc) {
			if (cc->group)
				str_ncpy(a->bc.group, cc->group,
					 sizeof(a->bc.group));
			if (cc->persona)
				str_ncpy(a->bc.persona, cc->persona,
					 sizeof(a->bc.persona));
			bc->privilege = cc->privilege;
			str_ncpy(a->bc.redacted, cc->redacted,
				 sizeof(a->bc.redacted));
			if (cc->number) {
				str_ncpy(a->bc.key, cc->number,
					 sizeof(a->bc.key));
				bc->caller_key = a->bc.key;
			}
		}
	}
#endif
	bc->group = a->bc.group;
	bc->persona = a->bc.persona;
	bc->caller_redacted = a->bc.redacted;
	bc->dialled = a->bc.dialled[0] ? a->bc.dialled : NULL;
	if (objective && !str_dup(&a->bc.objective, objective))
		bc->objective = a->bc.objective;
}


int agent_alloc(struct agent **ap, const struct port_ops *ops, void *port,
		struct playq *pq, const char *callid, bool outbound,
		struct call *call)
{
	struct brain_call bc;
	struct agent *a;
	int err;

	if (!ap || !ops || !pq || !cfg.up)
		return EINVAL;

	a = mem_zalloc(sizeof(*a), agent_destructor);
	if (!a)
		return ENOMEM;
	a->port = ops;
	a->portarg = port;
	a->outbound = outbound;
	a->call = call;
	str_ncpy(a->callid, callid ? callid : "-", sizeof(a->callid));
	tmr_init(&a->tmr_barge);
	tmr_init(&a->tmr_filler);
	tmr_init(&a->tmr_reprompt);
	tmr_init(&a->tmr_max);
	tmr_init(&a->tmr_hangup);
	tmr_init(&a->tmr_dtmf);

	a->ref = mem_zalloc(sizeof(*a->ref), NULL);
	a->stt = mem_zalloc(sizeof(*a->stt), stt_sess_destructor);
	a->tts = mem_zalloc(sizeof(*a->tts), tts_sess_destructor);
	if (!a->ref || !a->stt || !a->tts) {
		err = ENOMEM;
		goto out;
	}
	a->ref->a = a;
	a->stt->ops = cfg.stt;
	a->tts->ops = cfg.tts;
	a->tts->pq = mem_ref(pq);
	atomic_init(&a->tts->gen, 1);
	atomic_init(&a->tts->audio_out, false);

	err = cfg.vad->alloc(&a->vad_st, cfg.conf);
	if (!err && cfg.onset)
		err = cfg.onset->alloc(&a->onset_st, cfg.conf);
	/* the recogniser is made on the worker (stt_warm): pocketsphinx
	 * takes 150-270 ms to build a decoder, which must not stall the
	 * media of every other call */
	if (!err)
		err = cfg.tts->alloc(&a->tts->st, cfg.conf);
	if (!err && cfg.tts_fallback) {
		a->tts->fallback = cfg.tts_fallback;
		if (cfg.tts_fallback->alloc(&a->tts->fst, cfg.conf))
			a->tts->fallback = NULL;
	}
	if (err) {
		log_warn(MOD, a->callid, "speech engines failed to start: %m",
			 err);
		goto out;
	}

	brain_call_fill(a, &bc);
	amd_setup(a);
	a->host.reply = brain_reply_handler;
	a->host.fallback = brain_fallback;
	a->host.tool = brain_tool;
	a->host.listen = brain_listen;
	a->host.arg = a;
#ifdef AGENT_HAVE_TOOLS
	err = tools_alloc(&a->tools, a, call);
	if (err) {
		log_warn(MOD, a->callid, "tools failed to start: %m", err);
		goto out;
	}
#endif
	err = cfg.brain->alloc(&a->brain_st, cfg.conf, &bc, &a->host);
	if (err) {
		log_warn(MOD, a->callid, "brain %s failed to start: %m",
			 cfg.brain->name, err);
		goto out;
	}

	err = sentsplit_alloc(&a->split, 300);
	if (err)
		goto out;
	err = strand_alloc(&a->strand);
	if (err)
		goto out;

	if (cfg.aec) {
		int rate = 16000;
		a->echo = speex_echo_state_init(FRAME_SAMPLES, AEC_TAIL);
		a->pre = speex_preprocess_state_init(FRAME_SAMPLES, rate);
		if (!a->echo || !a->pre) {
			err = ENOMEM;
			goto out;
		}
		speex_echo_ctl(a->echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
		speex_preprocess_ctl(a->pre, SPEEX_PREPROCESS_SET_ECHO_STATE,
				     a->echo);
	}

	err = pipeline_alloc(&a->pl, FIFO_MAX);
	if (err)
		goto out;
	err  = pipeline_add(a->pl, &vad_proc, a, &a->p_vad);
	err |= pipeline_add(a->pl, &stt_proc, a, &a->p_stt);
	err |= pipeline_add(a->pl, &brain_proc, a, &a->p_brain);
	err |= pipeline_add(a->pl, &tts_proc, a, &a->p_tts);
	if (err)
		goto out;
	pipeline_set_sink(a->pl, NULL, NULL, system_handler, a);

 out:
	if (err)
		mem_deref(a);
	else
		*ap = a;
	return err;
}


static void parse_fillers(const char *list)
{
	const char *p = list;

	cfg.nfillers = 0;
	while (p && *p && cfg.nfillers < MAX_FILLERS) {
		const char *e = strchr(p, '|');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len && len < sizeof(cfg.fillers[0])) {
			memcpy(cfg.fillers[cfg.nfillers], p, len);
			cfg.fillers[cfg.nfillers][len] = '\0';
			cfg.nfillers++;
		}
		p = e ? e + 1 : NULL;
	}
}


int agent_init(const struct conf *conf)
{
	const char *vad = conf_str(conf, "vad");
	const char *stt = conf_str(conf, "stt");
	const char *tts = conf_str(conf, "tts");
	const char *fb = conf_str(conf, "tts_fallback");
	const char *brain = conf_str(conf, "brain");
	const char *barge = conf_str(conf, "barge_in_mode");
	int err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.conf = conf;
	str_ncpy(cfg.language, conf_str(conf, "language"),
		 sizeof(cfg.language));

	/* vad = auto: silero when it can start, else energy */
	if (!vad || !strcmp(vad, "auto")) {
		cfg.vad = vad_find("silero");
		if (!cfg.vad || cfg.vad->init(conf)) {
			cfg.vad = vad_find("energy");
			if (!cfg.vad || cfg.vad->init(conf)) {
				log_error(MOD, NULL, "vad: no engine available");
				return ENOENT;
			}
		}
	}
	else {
		cfg.vad = vad_find(vad);
		if (!cfg.vad) {
			log_error(MOD, NULL, "vad: unknown engine \"%s\" "
				  "(have %s)", vad, engine_names(ENGINE_VAD));
			return ENOENT;
		}
		err = cfg.vad->init(conf);
		if (err)
			return err;
	}

	cfg.stt = stt_find(stt);
	if (!cfg.stt) {
		log_error(MOD, NULL, "stt: unknown engine \"%s\" (have %s)",
			  stt ? stt : "", engine_names(ENGINE_STT));
		return ENOENT;
	}
	err = cfg.stt->init(conf);
	if (err)
		return err;

	/* flite speaks English only: another language needs espeak (or a
	 * model voice) */
	if (tts && !strcmp(tts, "flite") && strcmp(cfg.language, "en")) {
		log_info(MOD, NULL, "tts: flite speaks English only; using "
			 "espeak for language %s", cfg.language);
		tts = "espeak";
	}
	cfg.tts = tts_find(tts);
	if (!cfg.tts) {
		log_error(MOD, NULL, "tts: unknown engine \"%s\" (have %s)",
			  tts ? tts : "", engine_names(ENGINE_TTS));
		return ENOENT;
	}
	err = cfg.tts->init(conf);
	if (err)
		return err;
	if (fb && !strcmp(fb, "auto"))
		fb = strcmp(tts, "flite") && strcmp(tts, "espeak") ?
			"flite" : "none";
	if (fb && *fb && strcmp(fb, "none") && strcmp(fb, tts)) {
		cfg.tts_fallback = tts_find(fb);
		if (!cfg.tts_fallback) {
			log_error(MOD, NULL, "tts_fallback: unknown engine "
				  "\"%s\"", fb);
			return ENOENT;
		}
		err = cfg.tts_fallback->init(conf);
		if (err)
			return err;
	}

	cfg.brain = brain_find(brain);
	if (!cfg.brain) {
		log_error(MOD, NULL, "brain: unknown \"%s\" (have %s)",
			  brain ? brain : "", brain_names());
		return ENOENT;
	}

	str_ncpy(cfg.greeting_in, conf_str(conf, "greeting_incoming"),
		 sizeof(cfg.greeting_in));
	str_ncpy(cfg.greeting_out, conf_str(conf, "greeting_outgoing"),
		 sizeof(cfg.greeting_out));
	parse_fillers(conf_str(conf, "fillers"));
	cfg.barge = !strcmp(barge, "full") ? BARGE_FULL :
		!strcmp(barge, "off") ? BARGE_OFF : BARGE_GATED;
	if (cfg.barge != BARGE_OFF && strcmp(cfg.vad->name, "energy")) {
		cfg.onset = vad_find("energy");
		if (cfg.onset && cfg.onset->init && cfg.onset->init(conf))
			cfg.onset = NULL;
	}
	cfg.barge_min_ms = (uint32_t)conf_int(conf, "barge_in_min_speech_ms");
	cfg.min_speech_ms = (uint32_t)conf_int(conf, "vad_min_speech_ms");
	cfg.hangover_ms = (uint32_t)conf_int(conf, "vad_hangover_ms");
	cfg.threshold = (float)conf_int(conf, "vad_threshold") / 100.0f;
	cfg.filler_delay_ms = (uint32_t)conf_int(conf, "filler_delay_ms");
	cfg.filler_repeat_ms = (uint32_t)conf_int(conf, "filler_repeat_ms");
	cfg.reprompt_secs = (uint32_t)conf_int(conf, "silence_reprompt_secs");
	cfg.reprompt_max = (uint32_t)conf_int(conf, "silence_reprompt_max");
	cfg.max_call_secs = (uint32_t)conf_int(conf, "max_call_secs");
	cfg.aec = conf_bool(conf, "echo_cancel");
	if (cfg.brain->keep_audio) {
		const char *dd = conf_str(conf, "data_dir");

		if (dd && *dd) {
			(void)mkdir(dd, 0700);   /* the store may not have */
			re_snprintf(cfg.audio_dir, sizeof(cfg.audio_dir),
				    "%s/audio", dd);
			(void)mkdir(cfg.audio_dir, 0700);
		}
		else {
			re_snprintf(cfg.audio_dir, sizeof(cfg.audio_dir),
				    "/tmp/agentline-audio-%d", (int)getpid());
			(void)mkdir(cfg.audio_dir, 0700);
		}
	}

	err = workers_set_nice((int)conf_int(conf, "workers_nice"));
	if (!err)
		err = workers_init((unsigned)conf_int(conf, "workers"));
	if (err)
		return err;
#ifdef AGENT_HAVE_TOOLS
	err = tools_init(conf);
	if (err)
		return err;
#endif

	log_info(MOD, NULL, "agent: vad %s, stt %s, tts %s%s%s, brain %s, "
		 "language %s, barge-in %s", cfg.vad->name, cfg.stt->name,
		 cfg.tts->name, cfg.tts_fallback ? " (fallback " : "",
		 cfg.tts_fallback ? cfg.tts_fallback->name : "",
		 cfg.brain->name, cfg.language, barge);
	cfg.up = true;
	return 0;
}


void agent_close(void)
{
	if (!cfg.up)
		return;
	workers_close();
#ifdef AGENT_HAVE_TOOLS
	tools_close();
#endif
	if (cfg.vad && cfg.vad->close)
		cfg.vad->close();
	if (cfg.stt && cfg.stt->close)
		cfg.stt->close();
	if (cfg.tts && cfg.tts->close)
		cfg.tts->close();
	if (cfg.tts_fallback && cfg.tts_fallback->close)
		cfg.tts_fallback->close();
	cfg.up = false;
}
