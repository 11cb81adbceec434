/*
 * main.c  Unit test runner: `agentline-test NAME` runs one test,
 *         `agentline-test` runs all. Each test is checked for leaks of
 *         libre mem objects.
 */
#include <stdlib.h>
#include <re.h>
#include "test.h"

const char *test_datadir = "test/data";

struct test_ent {
	const char *name;
	int (*fn)(void);
};

static const struct test_ent tests[] = {
#define TEST(name) {#name, name},
#include "tests.def"
#undef TEST
};


static int run_one(const struct test_ent *t)
{
	struct memstat before, after;
	bool stats;
	int err;

	/* the packaged libre is built without mem statistics (ENOSYS):
	 * then LeakSanitizer in the ASan build is the leak check */
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	stats = 0 == mem_get_stat(&before);
	err = t->fn();
	stats = stats && 0 == mem_get_stat(&after);
	if (!err && stats && after.blocks_cur != before.blocks_cur) {
		fprintf(stderr, "%s: leaked %zu mem blocks\n", t->name,
			after.blocks_cur - before.blocks_cur);
		mem_debug();
		err = 1;
	}
	fprintf(stderr, "%-40s %s\n", t->name, err ? "FAIL" : "ok");
	return err;
}


int main(int argc, char *argv[])
{
	size_t n = sizeof(tests) / sizeof(tests[0]);
	int fails = 0;
	const char *dd = getenv("AGENTLINE_TEST_DATA");

	if (dd)
		test_datadir = dd;

	if (libre_init())
		return 1;

	if (argc > 1 && 0 == strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", tests[i].name);
		goto out;
	}

	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && strcmp(argv[1], tests[i].name))
			continue;
		if (run_one(&tests[i]))
			++fails;
	}
 out:
	libre_close();
	tmr_debug();
	return fails ? 1 : 0;
}
