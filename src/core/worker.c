/*
 * worker.c  Worker threads with strands; results return to the main loop
 *           through a libre mqueue.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <re.h>
#include "core/log.h"
#include "core/worker.h"

#define MOD "worker"

enum { MAX_THREADS = 64, STRAND_MAX_JOBS = 256 };

struct job {
	struct le le;
	struct strand *strand;
	work_h *work;
	work_done_h *done;
	void *arg;
	int err;
};

struct strand {
	struct le le;          /* in pool.ready while it has runnable jobs */
	/* under pool.lock */
	struct list jobs;
	bool running;          /* a worker is executing one of its jobs    */
	bool closed;           /* owner released it                        */
	unsigned pending;      /* queued + running                         */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t threads[MAX_THREADS];
	unsigned nthreads;
	struct list ready;     /* strands with queued jobs, not running   */
	struct list posted;    /* jobs done, result not yet on main: freed
				  by workers_close if the loop never ran
				  their done (mqueue drops its messages) */
	bool quit;
	struct mqueue *mq;     /* main thread side                        */
	bool up;
	int nice;              /* workers' niceness above the main thread */
	int base_nice;         /* the main thread's, at workers_init      */
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};


static void job_destructor(void *data)
{
	struct job *job = data;

	list_unlink(&job->le);
	mem_deref(job->arg);
	mem_deref(job->strand);
}


/* A strand is released by its owner with mem_deref; jobs still queued keep
 * it alive (each job holds a reference). */
static void strand_destructor(void *data)
{
	struct strand *s = data;

	pthread_mutex_lock(&pool.lock);
	list_unlink(&s->le);
	pthread_mutex_unlock(&pool.lock);
}


static void *worker_main(void *arg)
{
	(void)arg;

	/* Linux: a thread's own id sets the niceness of that thread only */
	if (pool.nice) {
		int nice = pool.base_nice + pool.nice;

		if (nice > 19)
			nice = 19;
		if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
				nice))
			log_warn(MOD, NULL, "worker priority not lowered: %m",
				 errno);
	}

	pthread_mutex_lock(&pool.lock);
	for (;;) {
		struct strand *s;
		struct job *job;

		while (!pool.quit && !pool.ready.head)
			pthread_cond_wait(&pool.cond, &pool.lock);
		if (pool.quit)
			break;

		s = pool.ready.head->data;
		list_unlink(&s->le);
		job = s->jobs.head->data;
		list_unlink(&job->le);
		s->running = true;
		pthread_mutex_unlock(&pool.lock);

		job->err = job->work ? job->work(job->arg) : 0;

		pthread_mutex_lock(&pool.lock);
		s->running = false;
		if (s->jobs.head)
			list_append(&pool.ready, &s->le, s);
		list_append(&pool.posted, &job->le, job);
		if (mqueue_push(pool.mq, 0, job)) {
			/* cannot report back: the job stays on pool.posted
			 * and workers_close frees it */
			log_error(MOD, NULL, "cannot deliver a job result");
		}
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}


static void mq_handler(int id, void *data, void *arg)
{
	struct job *job = data;
	(void)id;
	(void)arg;

	pthread_mutex_lock(&pool.lock);
	list_unlink(&job->le);
	if (job->strand->pending)
		job->strand->pending--;
	pthread_mutex_unlock(&pool.lock);
	if (job->done)
		job->done(job->err, job->arg);
	mem_deref(job);
}


int workers_set_nice(int nice)
{
	if (nice < 0 || nice > 19)
		return EINVAL;
	pool.nice = nice;
	return 0;
}


int workers_init(unsigned nthreads)
{
	int err;

	if (pool.up)
		return 0;
	if (nthreads < 1 || nthreads > MAX_THREADS)
		return EINVAL;

	errno = 0;
	pool.base_nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
	if (errno)
		pool.base_nice = 0;

	list_init(&pool.ready);
	list_init(&pool.posted);
	pool.quit = false;
	err = mqueue_alloc(&pool.mq, mq_handler, NULL);
	if (err)
		return err;

	for (unsigned i = 0; i < nthreads; i++) {
		err = pthread_create(&pool.threads[i], NULL, worker_main, NULL);
		if (err) {
			pool.nthreads = i;
			workers_close();
			return err;
		}
	}
	pool.nthreads = nthreads;
	pool.up = true;
	return 0;
}


void workers_close(void)
{
	struct le *le;

	pthread_mutex_lock(&pool.lock);
	pool.quit = true;
	pthread_cond_broadcast(&pool.cond);
	pthread_mutex_unlock(&pool.lock);

	for (unsigned i = 0; i < pool.nthreads; i++)
		pthread_join(pool.threads[i], NULL);
	pool.nthreads = 0;

	/* drop queued jobs of strands that never ran them */
	{
		struct list dropped = LIST_INIT;

		pthread_mutex_lock(&pool.lock);
		while ((le = pool.ready.head)) {
			struct strand *s = le->data;
			list_unlink(&s->le);
			while (s->jobs.head) {
				struct job *job = s->jobs.head->data;
				list_unlink(&job->le);
				list_append(&dropped, &job->le, job);
			}
		}
		pthread_mutex_unlock(&pool.lock);
		list_flush(&dropped);
	}

	/* results posted but not yet delivered: the queue drops its
	 * messages unread, so free those jobs here (their done is not run) */
	pool.mq = mem_deref(pool.mq);
	{
		struct list posted = LIST_INIT;

		pthread_mutex_lock(&pool.lock);
		while ((le = pool.posted.head)) {
			list_unlink(le);
			list_append(&posted, le, le->data);
		}
		pthread_mutex_unlock(&pool.lock);
		list_flush(&posted);
	}
	pool.up = false;
}


unsigned workers_count(void)
{
	return pool.nthreads;
}


int strand_alloc(struct strand **sp)
{
	struct strand *s;

	if (!sp)
		return EINVAL;
	s = mem_zalloc(sizeof(*s), strand_destructor);
	if (!s)
		return ENOMEM;
	list_init(&s->jobs);
	*sp = s;
	return 0;
}


int strand_run(struct strand *s, work_h *work, work_done_h *done, void *arg)
{
	struct job *job;

	if (!s || !pool.up)
		return EINVAL;

	job = mem_zalloc(sizeof(*job), job_destructor);
	if (!job)
		return ENOMEM;
	job->strand = mem_ref(s);
	job->work = work;
	job->done = done;
	job->arg = mem_ref(arg);

	pthread_mutex_lock(&pool.lock);
	if (s->pending >= STRAND_MAX_JOBS) {
		pthread_mutex_unlock(&pool.lock);
		mem_deref(job);
		return EOVERFLOW;
	}
	s->pending++;
	list_append(&s->jobs, &job->le, job);
	if (!s->running && !list_contains(&pool.ready, &s->le))
		list_append(&pool.ready, &s->le, s);
	pthread_cond_signal(&pool.cond);
	pthread_mutex_unlock(&pool.lock);
	return 0;
}


unsigned strand_pending(const struct strand *s)
{
	unsigned n;

	if (!s)
		return 0;
	pthread_mutex_lock(&pool.lock);
	n = s->pending;
	pthread_mutex_unlock(&pool.lock);
	return n;
}
