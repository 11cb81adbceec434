/*
 * test_log.c  Secrets registered with the logger never reach a log line.
 */
#include <stdlib.h>
#include <unistd.h>
#include "core/log.h"
#include "test.h"


int test_log_redact(void)
{
	char buf[256];
	char out[1024] = "";
	int pfd[2];
	ssize_t n;

	log_secret_add("hunter2pass");
	snprintf(buf, sizeof(buf), "auth with hunter2pass and hunter2pass!");
	log_redact(buf, sizeof(buf));
	TEST_STREQ(buf, "auth with *** and ***!");

	TEST_ASSERT(0 == pipe(pfd));
	log_set_fd(pfd[1]);
	log_msg(LOG_LVL_WARN, "test", "c1", "password=%s", "hunter2pass");
	log_set_format(LOG_FMT_JSON);
	log_msg(LOG_LVL_WARN, "test", NULL, "quote \" %s", "hunter2pass");
	log_set_format(LOG_FMT_TEXT);
	log_set_fd(2);
	close(pfd[1]);
	n = read(pfd[0], out, sizeof(out) - 1);
	close(pfd[0]);
	TEST_ASSERT(n > 0);
	out[n] = '\0';
	TEST_ASSERT(NULL == strstr(out, "hunter2"));
	TEST_ASSERT(NULL != strstr(out, " c1: password=***"));
	TEST_ASSERT(NULL != strstr(out, "\"msg\":\"quote \\\" ***\""));

	TEST_STREQ(log_mask_number(buf, sizeof(buf), "+4915112345678"),
		   "***78");
	log_secret_clear();
	return 0;
}
