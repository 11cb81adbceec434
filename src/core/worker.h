/*
 * worker.h  A small pool of worker threads for blocking work (inference,
 *           synthesis), with strands: jobs of one strand run one at a time
 *           and in order (a call's STT/TTS sessions are never used by two
 *           threads at once), jobs of different strands run in parallel.
 *
 * A job's `work` runs on a worker thread; its `done` runs afterwards on the
 * main thread (delivered with a libre mqueue).  The job holds a reference
 * to `arg` (a mem object) until `done` has run.
 */
#ifndef AGENTLINE_WORKER_H
#define AGENTLINE_WORKER_H

#include <stdbool.h>

struct strand;

/* worker thread: do the blocking part; return 0 or an errno */
typedef int  (work_h)(void *arg);
/* main thread: apply the result */
typedef void (work_done_h)(int err, void *arg);

/* Main thread, before workers_init: the worker threads run this much
 * nicer (0..19) than the thread that starts them, so the main loop -- RTP,
 * the VAD, playout -- gets the CPU first when inference cannot keep up:
 * replies come late, but the audio that is playing does not break up. */
int  workers_set_nice(int nice);
/* main thread, before any job; nthreads 1..64 */
int  workers_init(unsigned nthreads);
/* main thread: waits for running jobs, drops queued ones (done not run) */
void workers_close(void);
unsigned workers_count(void);

/* main thread */
int  strand_alloc(struct strand **sp);
/* Queue a job (main thread). arg must be a mem object or NULL. */
int  strand_run(struct strand *s, work_h *work, work_done_h *done,
		void *arg);
/* Jobs queued or running on this strand. */
unsigned strand_pending(const struct strand *s);

#endif
