/*
 * wav.c  RIFF/WAVE reader (to 16 kHz mono PCM16) and a crash-tolerant
 *        PCM16 writer.
 *
 * The reader trusts nothing in the file: every size is checked against
 * the bytes actually present before it is used. The writer rewrites the
 * header on close and about once per second of audio, so a file cut off
 * by a crash still plays up to the last rewrite (and players that ignore
 * the header length get everything).
 *
 * Loading a prompt is done once, off the media path; a writer is used by
 * one thread at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <re.h>
#include <rem.h>
#include <speex/speex_resampler.h>
#include "media/wav.h"

enum {
	WAV_FMT_PCM = 1,
	WAV_FMT_ALAW = 6,
	WAV_FMT_ULAW = 7,
	WAV_FMT_EXTENSIBLE = 0xfffe,
	WAV_MIN_SRATE = 4000,
	WAV_MAX_SRATE = 192000,
	WAV_HDR_SIZE = 44,
	WAV_RESAMPLE_QUALITY = 5,        /* prompts: better than telephony */
	WAV_MAX_FILE = 256 * 1024 * 1024,
};

/* KSDATAFORMAT_SUBTYPE_* GUID after its leading 16-bit format code */
static const uint8_t guid_tail[14] = {
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00,
	0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71
};

struct wav_fmt {
	uint16_t format;
	uint16_t channels;
	uint32_t srate;
	uint16_t block_align;
	uint16_t bits;
};


static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}


static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		(uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}


static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}


static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}


static int fmt_parse(struct wav_fmt *f, const uint8_t *p, uint32_t size)
{
	if (size < 16)
		return EBADMSG;

	f->format = rd16(p);
	f->channels = rd16(p + 2);
	f->srate = rd32(p + 4);
	f->block_align = rd16(p + 12);
	f->bits = rd16(p + 14);

	if (f->format == WAV_FMT_EXTENSIBLE) {
		/* cbSize(2) validBits(2) channelMask(4) subFormat(16) */
		if (size < 40 || rd16(p + 16) < 22)
			return EBADMSG;
		if (memcmp(p + 26, guid_tail, sizeof(guid_tail)))
			return ENOTSUP;
		f->format = rd16(p + 24);
	}

	if (!f->channels || !f->srate || !f->bits || !f->block_align)
		return EBADMSG;

	switch (f->format) {

	case WAV_FMT_PCM:
		if (f->bits != 8 && f->bits != 16)
			return ENOTSUP;
		break;

	case WAV_FMT_ALAW:
	case WAV_FMT_ULAW:
		if (f->bits != 8)
			return EBADMSG;
		break;

	default:
		return ENOTSUP;
	}

	if (f->channels > 2)
		return ENOTSUP;
	if (f->srate < WAV_MIN_SRATE || f->srate > WAV_MAX_SRATE)
		return ENOTSUP;
	if (f->block_align != f->channels * f->bits / 8)
		return EBADMSG;

	return 0;
}


static inline int16_t sample_get(const struct wav_fmt *f, const uint8_t *p)
{
	switch (f->format) {

	case WAV_FMT_ALAW:
		return g711_alaw2pcm(*p);

	case WAV_FMT_ULAW:
		return g711_ulaw2pcm(*p);

	default:
		if (f->bits == 8)
			return (int16_t)((*p - 128) * 256);
		return (int16_t)rd16(p);
	}
}


static int convert(int16_t **sampvp, size_t *sampcp, const struct wav_fmt *f,
		   const uint8_t *data, size_t frames)
{
	SpeexResamplerState *rs = NULL;
	int16_t *mono = NULL, *out = NULL;
	size_t outc;
	int err = 0, serr;

	mono = mem_alloc((frames ? frames : 1) * sizeof(int16_t), NULL);
	if (!mono)
		return ENOMEM;

	for (size_t i = 0; i < frames; i++) {
		const uint8_t *p = data + i * f->block_align;

		if (f->channels == 2) {
			int32_t l = sample_get(f, p);
			int32_t r = sample_get(f, p + f->bits / 8);

			mono[i] = (int16_t)((l + r) / 2);
		}
		else {
			mono[i] = sample_get(f, p);
		}
	}

	if (f->srate == 16000) {
		out = mono;
		mono = NULL;
		outc = frames;
		goto out;
	}

	outc = (size_t)((uint64_t)frames * 16000 / f->srate);
	out = mem_alloc((outc ? outc : 1) * sizeof(int16_t), NULL);
	rs = speex_resampler_init(1, f->srate, 16000, WAV_RESAMPLE_QUALITY,
				  &serr);
	if (!out || !rs) {
		err = ENOMEM;
		goto out;
	}

	if (outc) {
		/* skip the filter's leading zeros, then push its latency
		 * worth of silence so the tail comes out too */
		spx_uint32_t ilen = (spx_uint32_t)frames;
		spx_uint32_t olen = (spx_uint32_t)outc;
		size_t done;

		speex_resampler_skip_zeros(rs);
		speex_resampler_process_int(rs, 0, mono, &ilen, out, &olen);
		done = olen;

		while (done < outc) {
			static const int16_t zeros[64];
			spx_uint32_t zl = 64;

			olen = (spx_uint32_t)(outc - done);
			speex_resampler_process_int(rs, 0, zeros, &zl,
						    out + done, &olen);
			if (!olen)
				break;
			done += olen;
		}
		for (; done < outc; done++)
			out[done] = 0;
	}

 out:
	if (rs)
		speex_resampler_destroy(rs);
	mem_deref(mono);
	if (err) {
		mem_deref(out);
	}
	else {
		*sampvp = out;
		*sampcp = outc;
	}

	return err;
}


int wav_decode16k(int16_t **sampvp, size_t *sampcp, const uint8_t *buf,
		  size_t len, unsigned max_secs)
{
	struct wav_fmt fmt = {0};
	const uint8_t *data = NULL;
	uint32_t data_size = 0;
	bool have_fmt = false;
	size_t pos, frames;
	int err;

	if (!sampvp || !sampcp || (!buf && len))
		return EINVAL;

	if (len < 12)
		return EBADMSG;
	if (memcmp(buf, "RIFF", 4) || memcmp(buf + 8, "WAVE", 4))
		return EBADMSG;

	/* The RIFF size is often wrong in the wild; chunks are bounded by
	 * the real buffer length instead. */
	pos = 12;
	while (len - pos >= 8) {
		const uint8_t *id = buf + pos;
		uint32_t size = rd32(buf + pos + 4);

		pos += 8;

		if (!memcmp(id, "fmt ", 4)) {
			if (size > len - pos)
				return EBADMSG;
			if (have_fmt)
				return EBADMSG;
			err = fmt_parse(&fmt, buf + pos, size);
			if (err)
				return err;
			have_fmt = true;
		}
		else if (!memcmp(id, "data", 4)) {
			if (size > len - pos)
				return EBADMSG;  /* truncated */
			if (data)
				return EBADMSG;
			data = buf + pos;
			data_size = size;
			if (have_fmt)
				break;
		}
		else if (size > len - pos) {
			return EBADMSG;
		}

		/* chunks are padded to even length */
		pos += size;
		if ((size & 1) && pos < len)
			++pos;
	}

	if (!have_fmt || !data)
		return EBADMSG;

	frames = data_size / fmt.block_align;
	if (frames > (uint64_t)max_secs * fmt.srate)
		return EFBIG;

	return convert(sampvp, sampcp, &fmt, data, frames);
}


/* Any thread; blocking file I/O, so never on the media thread. */
int wav_load16k(int16_t **sampvp, size_t *sampcp, const char *path,
		unsigned max_secs)
{
	uint8_t *buf = NULL;
	struct stat st;
	FILE *f;
	int err = 0;

	if (!sampvp || !sampcp || !path)
		return EINVAL;

	f = fopen(path, "rb");
	if (!f)
		return errno;

	if (fstat(fileno(f), &st)) {
		err = errno;
		goto out;
	}
	if (st.st_size < 0 || st.st_size > WAV_MAX_FILE) {
		err = EFBIG;
		goto out;
	}

	buf = mem_alloc(st.st_size ? (size_t)st.st_size : 1, NULL);
	if (!buf) {
		err = ENOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		err = EIO;
		goto out;
	}

	err = wav_decode16k(sampvp, sampcp, buf, (size_t)st.st_size,
			    max_secs);

 out:
	mem_deref(buf);
	fclose(f);
	return err;
}


/* --- writer --- */

struct wav_writer {
	FILE *f;
	uint32_t srate;
	uint16_t channels;
	uint64_t data_bytes;
	uint64_t since_hdr;        /* frames since the last header rewrite */
	bool failed;
};


static int header_write(struct wav_writer *w)
{
	uint8_t h[WAV_HDR_SIZE];
	uint32_t data = (uint32_t)w->data_bytes;
	uint16_t align = (uint16_t)(2 * w->channels);

	memcpy(h, "RIFF", 4);
	wr32(h + 4, 36 + data);
	memcpy(h + 8, "WAVEfmt ", 8);
	wr32(h + 16, 16);
	wr16(h + 20, WAV_FMT_PCM);
	wr16(h + 22, w->channels);
	wr32(h + 24, w->srate);
	wr32(h + 28, w->srate * align);
	wr16(h + 32, align);
	wr16(h + 34, 16);
	memcpy(h + 36, "data", 4);
	wr32(h + 40, data);

	if (fseek(w->f, 0, SEEK_SET) ||
	    fwrite(h, 1, sizeof(h), w->f) != sizeof(h) ||
	    fseek(w->f, 0, SEEK_END) ||
	    fflush(w->f))
		return EIO;

	return 0;
}


static void writer_destructor(void *arg)
{
	struct wav_writer *w = arg;

	if (!w->f)
		return;

	(void)header_write(w);
	fclose(w->f);
}


int wav_writer_open(struct wav_writer **wp, const char *path,
		    uint32_t srate, uint16_t channels)
{
	struct wav_writer *w;
	int err;

	if (!wp || !path || !srate || srate > WAV_MAX_SRATE ||
	    channels < 1 || channels > 2)
		return EINVAL;

	w = mem_zalloc(sizeof(*w), writer_destructor);
	if (!w)
		return ENOMEM;

	w->srate = srate;
	w->channels = channels;
	w->f = fopen(path, "wb");
	if (!w->f) {
		err = errno;
		goto out;
	}

	err = header_write(w);

 out:
	if (err)
		mem_deref(w);
	else
		*wp = w;

	return err;
}


int wav_writer_write(struct wav_writer *w, const int16_t *samples,
		     size_t frames)
{
	uint8_t buf[1024];
	size_t n, done = 0;
	int err;

	if (!w || (!samples && frames))
		return EINVAL;
	if (w->failed)
		return EIO;

	n = frames * w->channels;
	if (w->data_bytes + 2 * (uint64_t)n > UINT32_MAX - 36)
		return EFBIG;

	/* explicit little endian, whatever the host */
	while (done < n) {
		size_t k = n - done;

		if (k > sizeof(buf) / 2)
			k = sizeof(buf) / 2;
		for (size_t i = 0; i < k; i++)
			wr16(buf + 2 * i, (uint16_t)samples[done + i]);
		if (fwrite(buf, 2, k, w->f) != k) {
			w->failed = true;
			return EIO;
		}
		done += k;
	}

	w->data_bytes += 2 * (uint64_t)n;
	w->since_hdr += frames;
	if (w->since_hdr >= w->srate) {
		w->since_hdr = 0;
		err = header_write(w);
		if (err) {
			w->failed = true;
			return err;
		}
	}

	return 0;
}
