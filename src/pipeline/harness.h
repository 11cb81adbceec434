/*
 * harness.h  `agentline pipeline`: the agent pipeline over files, in
 *            simulated real time (or as fast as possible), printing one
 *            JSON line per turn with its timings.  Main thread only; runs
 *            its own re_main loop.
 */
#ifndef AGENTLINE_HARNESS_H
#define AGENTLINE_HARNESS_H

#include <stdbool.h>

struct conf;

/* codec: the telephone line the caller's audio passes through first
 * ("PCMU", "PCMA", "G722" or "none"). */
int harness_run(const struct conf *conf, const char *in_wav,
		const char *out_wav, const char *codec, bool fast,
		unsigned tail_secs);

#endif
