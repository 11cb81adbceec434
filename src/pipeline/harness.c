/*
 * harness.c  The agent pipeline over files.
 */
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "core/events.h"
#include "core/log.h"
#include "media/codec.h"
#include "media/playq.h"
#include "media/wav.h"
#include "pipeline/agent.h"
#include "pipeline/harness.h"

#define MOD "harness"

enum { MAX_IN_SECS = 600 };

struct harness {
	int16_t *in;
	size_t in_n, pos;
	struct playq *pq;
	struct wav_writer *out;
	struct agent *agent;
	struct codec_state *line;    /* simulated telephone line, or NULL */
	struct tmr tmr;
	bool fast;
	bool hung_up;
	uint64_t frames, idle_frames, tail_frames;
	unsigned turns;
};


static void port_flush(void *port, unsigned fade_ms)
{
	struct harness *h = port;
	playq_flush(h->pq, (size_t)fade_ms * AUDIO_SRATE / 1000);
}


static size_t port_level(void *port)
{
	struct harness *h = port;
	return playq_level(h->pq);
}


static void port_hangup(void *port, const char *reason)
{
	struct harness *h = port;

	log_info(MOD, NULL, "the agent hung up (%s)", reason);
	h->hung_up = true;
}


static const struct port_ops file_port = {port_flush, port_level,
					  port_hangup};


static void turn_handler(const struct agent_turn *t, void *arg)
{
	struct harness *h = arg;
	char json[4800];

	h->turns++;
	if (agent_turn_json(json, sizeof(json), t) > 0) {
		printf("{%s}\n", json);
		fflush(stdout);
	}
}


static void tick(void *arg)
{
	struct harness *h = arg;
	int16_t rx[AUDIO_FRAME_SAMPLES], tx[AUDIO_FRAME_SAMPLES];
	size_t n = 0;

	memset(rx, 0, sizeof(rx));
	if (h->pos < h->in_n) {
		n = h->in_n - h->pos;
		if (n > AUDIO_FRAME_SAMPLES)
			n = AUDIO_FRAME_SAMPLES;
		memcpy(rx, h->in + h->pos, n * sizeof(int16_t));
		h->pos += n;
	}

	/* through the simulated line: what the caller's phone would send */
	if (h->line) {
		uint8_t pl[CODEC_MAX_PAYLOAD];
		size_t len = sizeof(pl), m = AUDIO_FRAME_SAMPLES;
		if (codec_encode(h->line, rx, pl, &len) ||
		    codec_decode(h->line, pl, len, rx, &m))
			memset(rx, 0, sizeof(rx));
	}

	/* the same order as a call's media tick: receive, then send */
	agent_audio(h->agent, rx, AUDIO_FRAME_SAMPLES,
		    h->frames * AUDIO_PTIME);
	(void)playq_pull(h->pq, tx, AUDIO_FRAME_SAMPLES);
	agent_sent(h->agent, tx, AUDIO_FRAME_SAMPLES);
	if (h->out)
		(void)wav_writer_write(h->out, tx, AUDIO_FRAME_SAMPLES);
	h->frames++;

	/* after the input: wait until the agent has finished talking */
	if (h->pos >= h->in_n) {
		if (!agent_idle(h->agent))
			h->idle_frames = 0;
		else
			h->idle_frames++;
	}
	if (h->hung_up || (h->pos >= h->in_n &&
			   h->idle_frames > h->tail_frames)) {
		re_cancel();
		return;
	}
	tmr_start(&h->tmr, h->fast ? 0 : AUDIO_PTIME, tick, h);
}


int harness_run(const struct conf *conf, const char *in_wav,
		const char *out_wav, const char *codec, bool fast,
		unsigned tail_secs)
{
	struct harness h;
	int err;

	memset(&h, 0, sizeof(h));
	h.fast = fast;
	h.tail_frames = (uint64_t)tail_secs * 1000 / AUDIO_PTIME;
	tmr_init(&h.tmr);

	err = wav_load16k(&h.in, &h.in_n, in_wav, MAX_IN_SECS);
	if (err) {
		log_error(MOD, NULL, "cannot read %s: %m", in_wav, err);
		return err;
	}
	if (codec && strcmp(codec, "none")) {
		const struct codec_info *ci = codec_find(codec);
		if (!ci) {
			log_error(MOD, NULL, "--codec: \"%s\" is not G722, "
				  "PCMU, PCMA or none", codec);
			err = EINVAL;
			goto out;
		}
		err = codec_state_alloc(&h.line, ci);
		if (err)
			goto out;
	}
	err = agent_init(conf);
	if (err)
		goto out;
	err = playq_alloc(&h.pq, (size_t)AUDIO_SRATE * 120);
	if (err)
		goto out;
	if (out_wav) {
		err = wav_writer_open(&h.out, out_wav, AUDIO_SRATE, 1);
		if (err) {
			log_error(MOD, NULL, "cannot write %s: %m", out_wav,
				  err);
			goto out;
		}
	}
	err = agent_alloc(&h.agent, &file_port, &h, h.pq, "file", false,
			  NULL);
	if (err)
		goto out;
	agent_set_turn_handler(h.agent, turn_handler, &h);
	agent_start(h.agent);

	tmr_start(&h.tmr, 0, tick, &h);
	err = re_main(NULL);

 out:
	tmr_cancel(&h.tmr);
	h.agent = mem_deref(h.agent);
	agent_close();
	mem_deref(h.out);
	mem_deref(h.line);
	mem_deref(h.pq);
	mem_deref(h.in);
	return err;
}
