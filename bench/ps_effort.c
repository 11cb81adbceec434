/*
 * ps_effort.c  Decode WAV files (16 kHz mono PCM16) with pocketsphinx and
 *              the given extra arguments; print "file<TAB>hypothesis" per
 *              file and the process CPU time spent decoding on stderr.
 *              Used by bench/ps_effort.sh.
 *
 * usage: ps_effort MODEL_DIR FEAT_PARAMS [-arg value ...] -- FILE.wav ...
 */
#include <pocketsphinx.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_ARGS = 64, MAX_SAMPLES = 16000 * 60, CHUNK = 320 };

static int16_t buf[MAX_SAMPLES];


static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


int main(int argc, char **argv)
{
	char hmm[512], lm[512], dict[512];
	const char *argv2[MAX_ARGS];
	int n = 0, i;
	double cpu = 0;
	cmd_ln_t *config;
	ps_decoder_t *ps;

	if (argc < 4) {
		fprintf(stderr, "usage: %s MODEL_DIR FEAT_PARAMS [-arg v]... "
			"-- FILE.wav...\n", argv[0]);
		return 2;
	}
	snprintf(hmm, sizeof(hmm), "%s/en-us", argv[1]);
	snprintf(lm, sizeof(lm), "%s/en-us.lm.bin", argv[1]);
	snprintf(dict, sizeof(dict), "%s/cmudict-en-us.dict", argv[1]);
	argv2[n++] = "-hmm";        argv2[n++] = hmm;
	argv2[n++] = "-lm";         argv2[n++] = lm;
	argv2[n++] = "-dict";       argv2[n++] = dict;
	argv2[n++] = "-featparams"; argv2[n++] = argv[2];
	argv2[n++] = "-samprate";   argv2[n++] = "16000";
	argv2[n++] = "-logfn";      argv2[n++] = "/dev/null";
	for (i = 3; i < argc && strcmp(argv[i], "--"); i++) {
		if (n >= MAX_ARGS - 1)
			return 2;
		argv2[n++] = argv[i];
	}
	i++;

	config = cmd_ln_parse_r(NULL, ps_args(), n, (char **)argv2, TRUE);
	if (!config) {
		fprintf(stderr, "pocketsphinx rejected the arguments\n");
		return 2;
	}
	ps = ps_init(config);
	if (!ps)
		return 1;

	for (; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		const char *hyp;
		int32 score;
		size_t ns;
		double t0;

		if (!f || fseek(f, 44, SEEK_SET)) {
			fprintf(stderr, "%s: cannot read\n", argv[i]);
			return 1;
		}
		ns = fread(buf, sizeof(buf[0]), MAX_SAMPLES, f);
		fclose(f);

		t0 = cpu_now();
		ps_start_utt(ps);
		for (size_t o = 0; o < ns; o += CHUNK)
			ps_process_raw(ps, buf + o,
				       ns - o < CHUNK ? ns - o : CHUNK,
				       FALSE, FALSE);
		ps_end_utt(ps);
		cpu += cpu_now() - t0;
		hyp = ps_get_hyp(ps, &score);
		printf("%s\t%s\n", argv[i], hyp ? hyp : "");
	}
	fprintf(stderr, "%.3f\n", cpu);
	ps_free(ps);
	cmd_ln_free_r(config);
	return 0;
}
