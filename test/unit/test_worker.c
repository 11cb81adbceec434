/*
 * test_worker.c  The worker pool frees every job at workers_close: a job
 *                whose result was posted but never delivered (the main
 *                loop did not run again) and one still queued; neither
 *                done handler runs.  A call that ends while its STT
 *                warm-up runs leaves exactly such a job at exit.
 *                Workers run nicer than the main thread when asked.
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <re.h>
#include "core/worker.h"
#include "test.h"

static unsigned freed, dones, works;


static void arg_destructor(void *data)
{
	(void)data;
	++freed;
}


static int slow_work(void *arg)
{
	(void)arg;
	usleep(50 * 1000);
	__atomic_add_fetch(&works, 1, __ATOMIC_SEQ_CST);
	return 0;
}


static void done_h(int err, void *arg)
{
	(void)err;
	(void)arg;
	++dones;
}


int test_worker_close_frees_jobs(void)
{
	struct strand *a = NULL, *b = NULL;
	void *x, *y, *z;

	freed = dones = works = 0;
	TEST_ERR(workers_init(1));
	TEST_ERR(strand_alloc(&a));
	TEST_ERR(strand_alloc(&b));
	x = mem_zalloc(8, arg_destructor);
	y = mem_zalloc(8, arg_destructor);
	z = mem_zalloc(8, arg_destructor);
	TEST_ASSERT(x && y && z);

	/* x runs and posts its result; y waits behind it on the same
	 * strand and runs next; z is queued on another strand behind the
	 * one thread */
	TEST_ERR(strand_run(a, slow_work, done_h, x));
	TEST_ERR(strand_run(a, slow_work, done_h, y));
	TEST_ERR(strand_run(b, slow_work, done_h, z));
	mem_deref(x);
	mem_deref(y);
	mem_deref(z);

	/* let the first job finish (its result sits in the queue, the main
	 * loop never runs) */
	for (int i = 0; i < 100 &&
	     __atomic_load_n(&works, __ATOMIC_SEQ_CST) < 1; i++)
		usleep(10 * 1000);
	TEST_ASSERT(__atomic_load_n(&works, __ATOMIC_SEQ_CST) >= 1);

	workers_close();
	mem_deref(a);
	mem_deref(b);

	TEST_EQ(dones, 0);
	TEST_EQ(freed, 3);
	return 0;
}


static int seen_nice = 1000;


static int nice_work(void *arg)
{
	int v;

	(void)arg;
	errno = 0;
	v = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
	if (errno)
		v = 999;
	__atomic_store_n(&seen_nice, v, __ATOMIC_SEQ_CST);
	return 0;
}


int test_worker_nice(void)
{
	struct strand *a = NULL;
	int base, expect;

	errno = 0;
	base = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
	TEST_EQ(errno, 0);
	expect = base + 7 > 19 ? 19 : base + 7;

	TEST_EQ(workers_set_nice(20), EINVAL);
	TEST_EQ(workers_set_nice(-1), EINVAL);
	TEST_ERR(workers_set_nice(7));
	TEST_ERR(workers_init(1));
	TEST_ERR(strand_alloc(&a));
	TEST_ERR(strand_run(a, nice_work, NULL, NULL));
	for (int i = 0; i < 200 && __atomic_load_n(&seen_nice,
				__ATOMIC_SEQ_CST) == 1000; i++)
		usleep(10 * 1000);
	workers_close();
	mem_deref(a);
	TEST_ERR(workers_set_nice(0));

	TEST_EQ(__atomic_load_n(&seen_nice, __ATOMIC_SEQ_CST), expect);
	/* the main thread keeps its own priority */
	errno = 0;
	TEST_EQ(getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)), base);
	return 0;
}
