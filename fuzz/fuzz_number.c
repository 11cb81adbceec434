/*
 * fuzz_number.c  Phone number normaliser on arbitrary text: never crash
 *                or overrun; a result is always "+" and 1..15 digits
 *                (plus '*' only when prefixes were allowed) and
 *                normalising it again gives the same result; redacting
 *                numbers in free text never grows it.
 *
 * Input: byte 0 picks the default country and whether prefixes are
 * allowed; the rest is the number.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const countries[] = {
		NULL, "US", "DE", "GB", "IT", "31", "+49", "XX",
	};
	char in[512], out[24], again[24], red[16];
	const char *dc;
	bool prefix;
	size_t n, len;

	if (size < 1 || size > sizeof(in))
		return 0;
	dc = countries[data[0] & 7];
	prefix = data[0] & 8;
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';

	policy_number_redact(red, sizeof(red), in);
	{
		/* free-text redaction never grows the text */
		char txt[512];

		memcpy(txt, in, size);
		(void)policy_redact_numbers(txt);
		if (strlen(txt) > strlen(in))
			abort();
	}
	if (policy_number_normalise(out, (data[0] >> 4) + 8, in, dc, prefix))
		return 0;
	if (policy_number_normalise(out, sizeof(out), in, dc, prefix))
		return 0;
	len = strlen(out);
	if (out[0] != '+' || len < 2)
		abort();
	n = len - 1;
	if (out[len - 1] == '*') {
		if (!prefix)
			abort();
		n--;
	}
	if (n < 1 || n > 15 || strspn(out + 1, "0123456789") != n)
		abort();
	if (policy_number_normalise(again, sizeof(again), out, dc, prefix) ||
	    strcmp(again, out))
		abort();
	return 0;
}
