/*
 * fuzz_store_json.c  The store's JSON string escaper (store_json_str) on
 *                    arbitrary bytes: the output is always one valid JSON
 *                    string (valid UTF-8, no raw control characters,
 *                    accepted by libre's decoder), and valid UTF-8 input
 *                    comes back unchanged when decoded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* strict UTF-8 (no overlongs, surrogates or > U+10FFFF) */
static bool utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i];
		size_t need;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1; cp = c & 0x1f; min = 0x80;
		}
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2; cp = c & 0x0f; min = 0x800;
		}
		else if (c >= 0xf0 && c <= 0xf4) {
			need = 3; cp = c & 0x07; min = 0x10000;
		}
		else {
			return false;
		}
		if (i + need >= n)
			return false;
		for (size_t k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct odict *o = NULL;
	char *in, *out = NULL;
	size_t len;

	if (size > 65536)
		return 0;
	in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	len = strlen(in);            /* a C string ends at the first NUL */

	if (re_sdprintf(&out, "{\"s\":\"%H\"}", store_json_str, in)) {
		free(in);
		return 0;
	}
	for (const char *p = out; *p; p++) {
		if ((unsigned char)*p < 0x20)
			abort();
	}
	if (!utf8_valid((const unsigned char *)out, strlen(out)))
		abort();
	if (json_decode_odict(&o, 4, out, strlen(out), 4))
		abort();
	if (!odict_string(o, "s"))
		abort();
	if (utf8_valid((const unsigned char *)in, len) &&
	    strcmp(odict_string(o, "s"), in))
		abort();
	mem_deref(o);
	mem_deref(out);
	free(in);
	return 0;
}
