/*
 * fuzz_conf.c  libFuzzer target for the config parser: parse a buffer as
 *              a config file, validate it, print it, free it.  Any crash,
 *              sanitizer report or leaked mem block is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "core/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void err_h(const char *line, void *arg)
{
	size_t *total = arg;

	/* touch the whole line so ASan checks it is a valid string */
	*total += strlen(line);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memstat before, after;
	struct conf *conf = NULL;
	char *printed = NULL;
	unsigned nv[99];
	size_t total = 0;
	bool have_stat;

	have_stat = 0 == mem_get_stat(&before);

	if (conf_alloc(&conf))
		return 0;

	(void)conf_parse_buf(conf, (const char *)data, size, "fuzz", err_h,
			     &total);
	(void)conf_validate(conf, err_h, &total);

	(void)conf_str(conf, "sip_listen");
	(void)conf_int(conf, "rtp_port_min");
	(void)conf_bool(conf, "dtmf_inband");
	(void)conf_numbered(conf, "sip_extension", nv, 99);
	if (0 == re_sdprintf(&printed, "%H", conf_print, conf))
		printed = mem_deref(printed);

	conf = mem_deref(conf);

	if (have_stat && 0 == mem_get_stat(&after) &&
	    after.blocks_cur != before.blocks_cur)
		abort();  /* leaked libre mem blocks */

	return 0;
}
