/*
 * test.h  Tiny retest-style unit test harness: one runner binary, each
 *         test a function returning 0 or an errno; CTest runs each by name.
 */
#ifndef AGENTLINE_TEST_H
#define AGENTLINE_TEST_H

#include <stdio.h>
#include <string.h>

#define TEST_ASSERT(cond) do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: assertion failed: %s\n", \
		__FILE__, __LINE__, #cond); return 1; } } while (0)
#define TEST_EQ(a, b) do { long long _a = (long long)(a), \
	_b = (long long)(b); if (_a != _b) { \
	fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", \
		__FILE__, __LINE__, #a, _a, _b); return 1; } } while (0)
#define TEST_STREQ(a, b) do { const char *_a = (a), *_b = (b); \
	if (!_a || !_b || strcmp(_a, _b)) { \
	fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", \
		__FILE__, __LINE__, #a, _a ? _a : "(null)", \
		_b ? _b : "(null)"); return 1; } } while (0)
#define TEST_ERR(e) do { int _e = (e); if (_e) { \
	fprintf(stderr, "%s:%d: %s failed: %d\n", \
		__FILE__, __LINE__, #e, _e); return _e; } } while (0)

/* Directory with test/data fixtures (set by the runner). */
extern const char *test_datadir;

#define TEST(name) int name(void);
#include "tests.def"
#undef TEST

#endif
