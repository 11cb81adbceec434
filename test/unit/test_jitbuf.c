/*
 * test_jitbuf.c  Jitter buffer: prefill, reordering, duplicates, losses,
 *                16-bit wraparound, overflow, underflow and resync.
 */
#include <errno.h>
#include <re.h>
#include "media/jitbuf.h"
#include "test.h"


/* payload carries the sequence number so the output order is visible */
static int put(struct jitbuf *jb, uint16_t seq)
{
	uint8_t p[3] = {(uint8_t)(seq >> 8), (uint8_t)seq, 0x5a};

	return jitbuf_put(jb, seq, (uint32_t)seq * 160, p, sizeof(p));
}


/* next result: a sequence number, -1 for LOST, -2 for EMPTY */
static int get(struct jitbuf *jb)
{
	uint8_t buf[16];
	size_t len = sizeof(buf);

	switch (jitbuf_get(jb, buf, &len)) {

	case JITBUF_FRAME:
		if (len != 3 || buf[2] != 0x5a)
			return -3;
		return buf[0] << 8 | buf[1];

	case JITBUF_LOST:
		return -1;

	default:
		return -2;
	}
}


int test_jitbuf_order(void)
{
	struct jitbuf *jb = NULL;
	struct jitbuf_stats st;
	uint8_t big[200] = {0};
	int err = 0;

	TEST_EQ(jitbuf_alloc(&jb, 5, 4, 160), EINVAL);
	TEST_ERR(jitbuf_alloc(&jb, 3, 16, 160));

	/* prefill: nothing until 3 frames are in, early reorder is fixed */
	TEST_EQ(get(jb), -2);
	TEST_ERR(put(jb, 11));
	TEST_EQ(get(jb), -2);
	TEST_ERR(put(jb, 10));
	TEST_EQ(get(jb), -2);
	TEST_ERR(put(jb, 13));
	TEST_ERR(put(jb, 12));
	TEST_EQ(put(jb, 12), EALREADY);               /* duplicate */
	TEST_EQ(jitbuf_put(jb, 14, 0, big, sizeof(big)), EMSGSIZE);

	TEST_EQ(get(jb), 10);
	TEST_EQ(get(jb), 11);
	TEST_EQ(put(jb, 10), EALREADY);               /* late */
	TEST_ERR(put(jb, 15));                        /* 14 lost */
	TEST_EQ(get(jb), 12);
	TEST_EQ(get(jb), 13);
	TEST_EQ(get(jb), -1);
	TEST_EQ(put(jb, 14), EALREADY);               /* too late now */
	TEST_EQ(get(jb), 15);

	jitbuf_stats(jb, &st);
	TEST_EQ(st.n_put, 5);
	TEST_EQ(st.n_get, 5);
	TEST_EQ(st.n_lost, 1);
	TEST_EQ(st.n_dup, 1);
	TEST_EQ(st.n_late, 2);
	TEST_EQ(st.depth, 0);

	/* underflow, then a fresh prefill before playing again */
	TEST_EQ(get(jb), -2);
	jitbuf_stats(jb, &st);
	TEST_EQ(st.n_underflow, 1);
	TEST_ERR(put(jb, 16));
	TEST_ERR(put(jb, 17));
	TEST_EQ(get(jb), -2);
	TEST_ERR(put(jb, 18));
	TEST_EQ(get(jb), 16);

	mem_deref(jb);
	return err;
}


int test_jitbuf_wrap(void)
{
	struct jitbuf *jb = NULL;
	int err = 0;

	TEST_ERR(jitbuf_alloc(&jb, 2, 8, 16));

	TEST_ERR(put(jb, 65534));
	TEST_ERR(put(jb, 0));
	TEST_ERR(put(jb, 65535));
	TEST_ERR(put(jb, 2));
	TEST_EQ(get(jb), 65534);
	TEST_EQ(get(jb), 65535);
	TEST_EQ(get(jb), 0);
	TEST_EQ(put(jb, 65535), EALREADY);
	TEST_EQ(get(jb), -1);                         /* 1 missing */
	TEST_EQ(get(jb), 2);

	/* long run across the wrap, reordered in pairs */
	for (uint32_t s = 3; s < 3 + 70000; s += 2) {
		TEST_ERR(put(jb, (uint16_t)(s + 1)));
		TEST_ERR(put(jb, (uint16_t)s));
		TEST_EQ(get(jb), (uint16_t)s);
		TEST_EQ(get(jb), (uint16_t)(s + 1));
	}

	mem_deref(jb);
	return err;
}


int test_jitbuf_overflow(void)
{
	struct jitbuf *jb = NULL;
	struct jitbuf_stats st;
	int err = 0;

	TEST_ERR(jitbuf_alloc(&jb, 1, 4, 16));

	for (uint16_t s = 100; s < 108; s++)
		TEST_ERR(put(jb, s));
	jitbuf_stats(jb, &st);
	TEST_EQ(st.n_overflow, 4);
	TEST_EQ(st.depth, 4);
	for (uint16_t s = 104; s < 108; s++)
		TEST_EQ(get(jb), s);

	/* a jump far ahead is a new stream: resync and prefill again */
	TEST_ERR(put(jb, 5000));
	TEST_EQ(get(jb), 5000);
	TEST_ERR(put(jb, 5001));
	TEST_EQ(get(jb), 5001);

	/* so is a jump far back (sender restarted its counter) */
	TEST_ERR(put(jb, 7));
	TEST_EQ(get(jb), 7);

	jitbuf_flush(jb);
	jitbuf_stats(jb, &st);
	TEST_EQ(st.depth, 0);
	TEST_EQ(get(jb), -2);
	TEST_ERR(put(jb, 9));
	TEST_EQ(get(jb), 9);

	mem_deref(jb);
	return err;
}


/* A sender that started early leaves spare depth; it drains back to the
 * configured minimum (one frame dropped per second of spare depth). */
int test_jitbuf_shrink(void)
{
	struct jitbuf *jb = NULL;
	struct jitbuf_stats st;
	uint8_t pl[160], out[160];
	uint16_t seq = 100;
	uint32_t ts = 0;
	int err = 0;

	memset(pl, 0x55, sizeof(pl));
	TEST_ERR(jitbuf_alloc(&jb, 2, 20, sizeof(pl)));
	/* 7 packets arrive before playout starts */
	for (int i = 0; i < 7; i++, seq++, ts += 160)
		jitbuf_put(jb, seq, ts, pl, sizeof(pl));
	/* then one in, one out, for 10 s */
	for (int i = 0; i < 500; i++, seq++, ts += 160) {
		size_t len = sizeof(out);
		jitbuf_put(jb, seq, ts, pl, sizeof(pl));
		if (jitbuf_get(jb, out, &len) == JITBUF_EMPTY && i > 10) {
			err = 1;
			break;
		}
	}
	jitbuf_stats(jb, &st);
	mem_deref(jb);
	TEST_EQ(err, 0);
	TEST_ASSERT(st.depth <= 3);
	TEST_ASSERT(st.n_shrink >= 4 && st.n_shrink <= 6);
	return 0;
}
