/*
 * fuzz_screen.c  Injection screen on arbitrary bytes (invalid UTF-8,
 *                huge words, base64-looking runs): never crash, overrun
 *                or leak; the normalised form always fits its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[300], *text;
	const char *rule = NULL;
	size_t sz = size % sizeof(out) + 1;
	enum screen_verdict v;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	v = screen_text(text, &rule);
	if (v > SCREEN_REFUSE || !rule || (v == SCREEN_ALLOW && *rule))
		abort();
	screen_normalise(out, sz, text);
	if (strlen(out) >= sz)
		abort();
	free(text);
	return 0;
}
