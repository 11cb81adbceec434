/*
 * textnorm.h  Text made fit for the phone before TTS, and a sentence
 *             splitter that turns a streamed LLM reply into sentences.
 *
 * textnorm() strips markdown, emoji, symbols, URLs and stage directions
 * and spells numbers, times, money, percentages and phone numbers as
 * words, for English ("en", the default) or German ("de*").  The
 * splitter buffers arbitrary chunks (any byte boundary, also inside a
 * UTF-8 sequence) and yields each sentence as soon as it is complete.
 *
 * Both are pure functions of their inputs: any thread, no locks; one
 * sentsplit object is used by one thread at a time.
 */
#ifndef AGENTLINE_TEXTNORM_H
#define AGENTLINE_TEXTNORM_H

#include <stdbool.h>
#include <stddef.h>

/* Normalise NUL-terminated UTF-8 `in` (invalid bytes are dropped) into
 * `out`.  Returns 0, EINVAL on bad arguments, or ENOSPC when the result
 * did not fit (out then holds a whole-word prefix, NUL-terminated). */
int textnorm(char *out, size_t outsz, const char *in, const char *language);


enum {
	SENTSPLIT_MAXLEN_DEFAULT = 250,  /* bytes per sentence, default  */
	SENTSPLIT_MAXLEN_MIN     = 32,
	SENTSPLIT_MAXLEN_MAX     = 4096,
};

struct sentsplit;

/* maxlen 0 = default.  A sentence longer than maxlen is cut at a comma
 * or space (at a character boundary as a last resort).  The object holds
 * at most 2 * maxlen bytes of pending text. */
int    sentsplit_alloc(struct sentsplit **ssp, size_t maxlen);
/* Append a NUL-terminated chunk; returns the number of bytes taken,
 * which is less than strlen(chunk) only when the buffer is full: then
 * sentsplit_next() yields a sentence and the rest can be pushed after. */
size_t sentsplit_push(struct sentsplit *ss, const char *chunk);
size_t sentsplit_pushn(struct sentsplit *ss, const char *chunk, size_t len);
/* Next complete sentence into buf (trimmed, NUL-terminated, cut at a
 * character boundary if sz is too small).  False if none is complete. */
bool   sentsplit_next(struct sentsplit *ss, char *buf, size_t sz);
/* End of the reply: like sentsplit_next, but the pending text counts as
 * complete.  Call until it returns false. */
bool   sentsplit_flush(struct sentsplit *ss, char *buf, size_t sz);
/* Drop everything pending (barge-in). */
void   sentsplit_reset(struct sentsplit *ss);

#endif
