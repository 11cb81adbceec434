/*
 * fuzz_textnorm.c  Text normaliser and sentence splitter on arbitrary
 *                  bytes, both languages: never crash, overrun, leak or
 *                  emit invalid UTF-8 from valid input.
 *
 * Input: byte 0 picks the language (bit 0) and the output size (bits
 * 1-7); the splitter gets the rest in chunks whose sizes come from the
 * bytes themselves, so chunk boundaries fall anywhere.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "pipeline/textnorm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sentsplit *ss = NULL;
	const char *lang;
	char *text, out[2048], sent[512];
	size_t outsz, pos = 0;

	if (size < 1 || size > 65536)
		return 0;
	lang = (data[0] & 1) ? "de" : "en";
	outsz = 1 + (size_t)(data[0] >> 1) * 16;   /* 1 .. 2033 */
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';

	(void)textnorm(out, outsz, text, lang);
	if (strlen(out) >= outsz)
		abort();

	if (sentsplit_alloc(&ss, 32 + (size_t)(data[0] & 0x3f) * 8)) {
		free(text);
		return 0;
	}
	while (pos < size - 1) {
		size_t chunk = 1 + (unsigned char)text[pos] % 23;

		if (chunk > size - 1 - pos)
			chunk = size - 1 - pos;
		pos += sentsplit_pushn(ss, text + pos, chunk);
		while (sentsplit_next(ss, sent, sizeof(sent)))
			(void)textnorm(out, sizeof(out), sent, lang);
	}
	while (sentsplit_flush(ss, sent, sizeof(sent)))
		(void)textnorm(out, sizeof(out), sent, lang);
	mem_deref(ss);
	free(text);
	return 0;
}
