/*
 * wav.h  WAV files: read PCM (any rate, mono or stereo, 8/16-bit PCM,
 *        G.711 µ/A-law) into 16 kHz mono frames; write 16 kHz PCM16 mono or
 *        stereo files, e.g. the call recorder (caller left, agent right).
 *
 * Malformed files are rejected with a clear errno (EBADMSG, ENOTSUP).
 */
#ifndef AGENTLINE_WAV_H
#define AGENTLINE_WAV_H

#include <stddef.h>
#include <stdint.h>

/* Load a whole file converted to 16 kHz mono PCM16. *sampvp is a libre mem
 * object. Refuses files longer than max_secs. */
int wav_load16k(int16_t **sampvp, size_t *sampcp, const char *path,
		unsigned max_secs);
/* Same, from memory (used by the fuzzer). */
int wav_decode16k(int16_t **sampvp, size_t *sampcp, const uint8_t *buf,
		  size_t len, unsigned max_secs);

struct wav_writer;
int  wav_writer_open(struct wav_writer **wp, const char *path,
		     uint32_t srate, uint16_t channels);
/* Interleaved samples: frames * channels values. */
int  wav_writer_write(struct wav_writer *w, const int16_t *samples,
		      size_t frames);
/* Header is finalised on mem_deref (and periodically), so a crash leaves a
 * playable file. */

#endif
