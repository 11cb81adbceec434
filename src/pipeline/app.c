/*
 * app.c  Built-in call apps on the per-call audio interface.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/events.h"
#include "core/log.h"
#include "media/codec.h"
#include "media/stream.h"
#include "media/wav.h"
#include "pipeline/agent.h"
#include "policy/policy.h"
#include "pipeline/app.h"
#include "sip/call.h"

#define MOD "app"

enum app_kind { APP_ECHO, APP_PLAYBACK, APP_TONE, APP_AGENT };

enum {
	PLAYBACK_MAX_SECS = 600,
	LEAD_SAMPLES = AUDIO_FRAME_SAMPLES * 5,  /* keep 100 ms queued */
};

struct app {
	struct call *call;
	struct mstream *ms;
	enum app_kind kind;
	struct agent *agent;
	size_t pos;
	double phase, step;
	bool done;
	bool quiet;               /* an operator speaks (take-over)      */
};

/* the preloaded playback file, shared by all calls */
static struct {
	int16_t *sampv;
	size_t sampc;
	char *path;
} cache;


static int parse(const char *spec, enum app_kind *kind, double *hz,
		 const char **file)
{
	if (!spec || !strcmp(spec, "echo")) {
		*kind = APP_ECHO;
		return 0;
	}
	if (!strcmp(spec, "agent")) {
		*kind = APP_AGENT;
		return 0;
	}
	if (!strncmp(spec, "playback:", 9) && spec[9]) {
		*kind = APP_PLAYBACK;
		*file = spec + 9;
		return 0;
	}
	if (!strncmp(spec, "tone:", 5)) {
		char *end;
		double f = strtod(spec + 5, &end);
		if (*end || f < 20 || f > 8000)
			return EINVAL;
		*kind = APP_TONE;
		*hz = f;
		return 0;
	}
	return EINVAL;
}


int app_init(const char *spec)
{
	enum app_kind kind;
	const char *file = NULL;
	double hz = 0;
	int err;

	err = parse(spec, &kind, &hz, &file);
	if (err) {
		log_error(MOD, NULL, "app: \"%s\" is not agent, echo, "
			  "playback:FILE or tone:HZ", spec ? spec : "");
		return err;
	}
	if (kind != APP_PLAYBACK)
		return 0;
	if (cache.path && !strcmp(cache.path, file))
		return 0;
	app_close();
	err = wav_load16k(&cache.sampv, &cache.sampc, file,
			  PLAYBACK_MAX_SECS);
	if (err) {
		log_error(MOD, NULL, "app: cannot load WAV \"%s\": %m", file,
			  err);
		return err;
	}
	return str_dup(&cache.path, file);
}


void app_close(void)
{
	cache.sampv = mem_deref(cache.sampv);
	cache.path = mem_deref(cache.path);
	cache.sampc = 0;
}


static void audio_handler(const int16_t *pcm, size_t n, uint64_t ts_ms,
			  void *arg)
{
	struct app *app = arg;
	int16_t buf[AUDIO_FRAME_SAMPLES];

	if (app->quiet && app->kind != APP_AGENT)
		return;   /* an operator has the line */
	switch (app->kind) {

	case APP_AGENT:
		agent_audio(app->agent, pcm, n, ts_ms);
		break;

	case APP_ECHO:
		(void)mstream_play(app->ms, pcm, n);
		break;

	case APP_TONE:
		while (mstream_play_level(app->ms) < LEAD_SAMPLES) {
			for (size_t i = 0; i < AUDIO_FRAME_SAMPLES; i++) {
				buf[i] = (int16_t)(8000.0 * sin(app->phase));
				app->phase += app->step;
				if (app->phase > 2 * M_PI)
					app->phase -= 2 * M_PI;
			}
			if (!mstream_play(app->ms, buf, AUDIO_FRAME_SAMPLES))
				break;
		}
		break;

	case APP_PLAYBACK:
		while (app->pos < cache.sampc &&
		       mstream_play_level(app->ms) < LEAD_SAMPLES) {
			size_t c = cache.sampc - app->pos;
			size_t put;
			if (c > AUDIO_FRAME_SAMPLES)
				c = AUDIO_FRAME_SAMPLES;
			put = mstream_play(app->ms, cache.sampv + app->pos, c);
			if (!put)
				break;
			app->pos += put;
		}
		if (!app->done && app->pos >= cache.sampc &&
		    mstream_play_level(app->ms) == 0) {
			app->done = true;
			log_info(MOD, call_id(app->call),
				 "playback finished: hanging up");
			call_hangup(app->call, "local_bye");
		}
		break;
	}
}


static void sent_handler(const int16_t *pcm, size_t n, uint64_t ts_ms,
			 void *arg)
{
	struct app *app = arg;
	(void)ts_ms;

	agent_sent(app->agent, pcm, n);
}


/* the agent's port onto a real call */
static void port_flush(void *port, unsigned fade_ms)
{
	struct app *app = port;
	mstream_flush(app->ms, fade_ms);
}


static size_t port_level(void *port)
{
	struct app *app = port;
	return mstream_play_level(app->ms);
}


static void port_hangup(void *port, const char *reason)
{
	struct app *app = port;
	call_hangup(app->call, reason);
}


static const struct port_ops call_port = {port_flush, port_level,
					  port_hangup};


static void turn_handler(const struct agent_turn *t, void *arg)
{
	struct app *app = arg;
	char json[4800];

	if (agent_turn_json(json, sizeof(json), t) > 0) {
		/* numbers a caller dictates stay out of events and records */
		(void)policy_redact_numbers(json);
		events_emit("turn", call_id(app->call), ",%s", json);
	}
}


void app_dtmf(struct call *call, char digit)
{
	struct app *app = call_appstate(call);

	if (app && app->kind == APP_AGENT)
		agent_dtmf(app->agent, digit);
}


int app_say(struct call *call, const char *text)
{
	struct app *app = call_appstate(call);

	if (!text || !*text)
		return EINVAL;
	if (!app || app->kind != APP_AGENT || !app->agent)
		return ENOTSUP;
	agent_say(app->agent, text);
	return 0;
}


int app_tool(struct call *call, const char *name, const char *args,
	     void (*done)(uint32_t turn_id, int err, const char *result,
			  void *arg), void *arg)
{
	struct app *app = call_appstate(call);

	if (!app || app->kind != APP_AGENT || !app->agent)
		return ENOTSUP;
	return agent_tool(app->agent, name, args, done, arg);
}


int app_set_quiet(struct call *call, bool quiet)
{
	struct app *app = call_appstate(call);

	if (!app)
		return ENOENT;
	if (app->kind == APP_AGENT)
		agent_set_quiet(app->agent, quiet);
	else if (quiet)
		mstream_flush(app->ms, 20);
	app->quiet = quiet;
	return 0;
}


bool app_quiet_settled(const struct call *call)
{
	const struct app *app = call_appstate(call);

	if (!app || !app->quiet)
		return false;
	return app->kind != APP_AGENT || agent_quiet_settled(app->agent);
}


static void app_destructor(void *arg)
{
	struct app *app = arg;

	mstream_set_audio_handler(app->ms, NULL, NULL);
	mstream_set_sent_handler(app->ms, NULL, NULL);
	mem_deref(app->agent);
}


int app_attach(struct call *call, const char *spec)
{
	struct app *app;
	const char *file = NULL;
	double hz = 440;
	int err;

	if (call_appstate(call))
		return 0;

	app = mem_zalloc(sizeof(*app), app_destructor);
	if (!app)
		return ENOMEM;
	err = parse(spec, &app->kind, &hz, &file);
	if (err)
		goto out;
	if (app->kind == APP_PLAYBACK &&
	    (!cache.path || strcmp(cache.path, file))) {
		err = ENOENT;
		goto out;
	}
	app->call = call;
	app->ms = call_media(call);
	app->step = 2 * M_PI * hz / AUDIO_SRATE;
	if (app->kind == APP_AGENT) {
		err = agent_alloc(&app->agent, &call_port, app,
				  mstream_playq(app->ms), call_id(call),
				  call_is_outbound(call), call);
		if (err)
			goto out;
		mstream_set_sent_handler(app->ms, sent_handler, app);
		agent_set_turn_handler(app->agent, turn_handler, app);
		agent_start(app->agent);
	}
	mstream_set_audio_handler(app->ms, audio_handler, app);
	call_set_appstate(call, app);

 out:
	if (err)
		mem_deref(app);
	return err;
}


void app_detach(struct call *call)
{
	call_set_appstate(call, NULL);
}
