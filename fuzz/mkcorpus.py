#!/usr/bin/env python3
"""Regenerate the seed corpora fuzz/corpus/wav and fuzz/corpus/rtp_payload.

Seeds are tiny on purpose; files found by fuzzing are added next to them
and never removed."""
import math
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def wav(fmt, ch, rate, bits, data, extra=b"", extensible=False):
    align = ch * bits // 8
    if extensible:
        sub = struct.pack("<H", fmt) + bytes.fromhex(
            "000000001000800000aa00389b71")
        fmtc = struct.pack("<HHIIHHHHI", 0xFFFE, ch, rate, rate * align,
                           align, bits, 22, bits, 4) + sub
    else:
        fmtc = struct.pack("<HHIIHH", fmt, ch, rate, rate * align, align,
                           bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmtc)) + fmtc + extra
    body += b"data" + struct.pack("<I", len(data)) + data
    if len(data) & 1:
        body += b"\0"
    return b"RIFF" + struct.pack("<I", len(body)) + body


def sine16(n, rate, f=1000.0, amp=8000):
    return b"".join(struct.pack("<h", int(amp * math.sin(
        2 * math.pi * f * i / rate))) for i in range(n))


def write(sub, name, blob):
    d = os.path.join(HERE, "corpus", sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(blob)


def main():
    s16 = sine16(160, 16000)
    write("wav", "pcm16_16k_mono.wav", wav(1, 1, 16000, 16, s16))
    write("wav", "pcm16_44k_stereo.wav",
          wav(1, 2, 44100, 16, sine16(200, 44100) * 1))
    write("wav", "ulaw_8k.wav", wav(7, 1, 8000, 8, bytes(range(0, 256, 3))))
    write("wav", "alaw_8k.wav", wav(6, 1, 8000, 8, bytes(range(1, 255, 5))))
    write("wav", "pcm8_11k.wav", wav(1, 1, 11025, 8, bytes(range(77))))
    write("wav", "extensible_48k.wav",
          wav(1, 2, 48000, 16, sine16(96, 48000), extensible=True))
    write("wav", "list_odd_chunk.wav",
          wav(1, 1, 16000, 16, s16[:64], extra=b"LIST\x05\0\0\0abcde\0"))
    good = wav(1, 1, 16000, 16, s16)
    write("wav", "truncated_data.wav", good[:-7])
    write("wav", "truncated_header.wav", good[:30])
    bad = bytearray(good)
    bad[40:44] = b"\xff\xff\xff\xff"
    write("wav", "absurd_data_size.wav", bytes(bad))
    write("wav", "float32.wav", wav(3, 1, 16000, 32, b"\0" * 64))
    write("wav", "no_fmt.wav", b"RIFF\x10\0\0\0WAVEdata\x04\0\0\0abcd")

    # rtp_payload records: seq(2) flags(1) len(1) payload
    def rec(seq, flags, payload):
        return struct.pack(">HBB", seq, flags, len(payload)) + payload

    g711 = bytes((i * 37) & 0xFF for i in range(160))
    write("rtp_payload", "frames_in_order.bin",
          b"".join(rec(s, 0, g711) for s in range(100, 106)))
    write("rtp_payload", "reorder_wrap.bin",
          b"".join(rec(s & 0xFFFF, 2 if s == 65535 else 0, g711[:80])
                   for s in (65533, 65535, 65534, 0, 2, 1, 1)))
    ev = b"".join(rec(7, 1 if i == 0 else 0,
                      struct.pack(">BBH", 5, (0x80 if i > 3 else 0) | 10,
                                  160 * min(i + 1, 5)))
                  for i in range(7))
    write("rtp_payload", "dtmf_events.bin", ev)
    write("rtp_payload", "empty_and_short.bin",
          rec(1, 0, b"") + rec(2, 0, b"\x01") + rec(3, 0, b"\x01\x02\x03"))
    write("rtp_payload", "oversize.bin", rec(9, 0, b"\xaa" * 255) * 3)


if __name__ == "__main__":
    main()
