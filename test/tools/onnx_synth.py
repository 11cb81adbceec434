#!/usr/bin/env python3
"""onnx_synth.py  Generate small, structurally valid ONNX models that the
sherpa-onnx 1.13 C API loads and runs, so that the stt_sherpa and
tts_sherpa engines' inference paths can be tested without a real model
(none can be downloaded here).  Standard library only: the protobuf wire
format of onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto,
ValueInfoProto, StringStringEntryProto) is encoded by hand.

    onnx_synth.py vits OUTDIR        VITS TTS folder (lexicon front end)
    onnx_synth.py zipformer2 OUTDIR  streaming transducer folder
    onnx_synth.py piper OUTDIR [ESPEAK_NG_DATA]   Piper voice (espeak-ng)
    onnx_synth.py kokoro OUTDIR [ESPEAK_NG_DATA]  Kokoro v0.19-like model
    onnx_synth.py kokoro-v2 OUTDIR [...]  the same marked version 2
        (multi-lingual: sherpa-onnx then wants lexicon files)
    onnx_synth.py all OUTDIR [ESPEAK_NG_DATA]     all of them: OUTDIR/vits,
        OUTDIR/vits-slow (the same, slower per run), OUTDIR/piper,
        OUTDIR/kokoro, OUTDIR/zipformer2; ESPEAK_NG_DATA is linked as
        espeak-ng-data/ into the Piper and Kokoro folders
    --drop-meta PART:KEY (before the kind, repeatable) leaves a metadata
        key out of a model (PART: vits piper kokoro encoder decoder
        joiner), making models sherpa-onnx refuses by exiting

What the models compute (test/unit/test_sherpa_infer.c checks exactly
this; Piper and Kokoro are described at their functions):

VITS (sherpa-onnx/csrc/offline-tts-vits-model.cc, RunVits): inputs x
[1,N] int64, x_length [1], noise_scale [1], length_scale [1],
noise_scale_w [1], sid [1]; output y [1,1,T], a sine of amplitude 0.5 at
VITS_F0 + VITS_F_STEP * sid Hz, T = ceil(N * VITS_SAMPLES_PER_TOKEN *
length_scale) samples at VITS_RATE.  Metadata: comment "agentline test"
(not piper/coqui/icefall, so the lexicon front end is used), language
English, n_speakers VITS_SPEAKERS, add_blank 0.

Zipformer2 transducer (online-zipformer2-transducer-model.cc): metadata
for one stack of one layer; the encoder takes x [N,T=45,80] and the 8
cached states (passed through unchanged) and gives one output frame per
chunk of decode_chunk_len = 32 feature frames: [speech, high], speech =
the chunk's largest log-mel energy is above STT_SPEECH_LOGMEL, high =
speech and the loudest mel bin is in the upper half (>= 40, ~1.9 kHz).
sherpa-onnx computes the 80-bin fbank on samples in [-1, 1]: silence
gives the floor (about -15.9), a 400 Hz tone at -20 dBFS just above 0
(measured; 10 dB is 2.3), so the threshold of -5 puts the edge between
-45 and -50 dBFS (measured); -20 dBFS is speech, -70 dBFS is not, and a
feed scaling 16-bit samples wrongly by 2^15 either way lands on the
wrong side.
The decoder maps the last token to two one-hot rows, the next token of
chain LOW and of chain HIGH; the joiner picks the LOW row on a low-pitch
speech frame, the HIGH row on a high-pitch one, blank otherwise.  Greedy
search thus emits, one token per speech chunk (320 ms):
    low tone  (e.g. 400 Hz):  HELLO WORLD     -> "hello world"
    high tone (e.g. 3 kHz):   YES ONE TWO     -> "yes one two"
    silence, quiet tone:      nothing         -> ""
"""

import math
import os
import struct
import sys

# ------------------------------------------------------ protobuf wire

def _varint(v):
    out = bytearray()
    if v < 0:
        v += 1 << 64
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint((field << 3) | wire)


def f_int(field, v):
    return _key(field, 0) + _varint(v)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return _key(field, 2) + _varint(len(data)) + data


def f_float(field, v):
    return _key(field, 5) + struct.pack("<f", v)


# ONNX TensorProto.DataType
FLOAT, INT64, BOOL = 1, 7, 9
# AttributeProto.AttributeType
A_FLOAT, A_INT, A_INTS = 1, 2, 7


def tensor(name, dtype, dims, values):
    """TensorProto with raw_data (little endian)."""
    fmt = {FLOAT: "<f", INT64: "<q"}[dtype]
    raw = b"".join(struct.pack(fmt, v) for v in values)
    msg = b"".join(f_int(1, d) for d in dims)
    msg += f_int(2, dtype) + f_bytes(8, name) + f_bytes(9, raw)
    return msg


def attr(name, value):
    if isinstance(value, float):
        return f_bytes(1, name) + f_float(2, value) + f_int(20, A_FLOAT)
    if isinstance(value, int):
        return f_bytes(1, name) + f_int(3, value) + f_int(20, A_INT)
    packed = b"".join(_varint(v) for v in value)
    return f_bytes(1, name) + f_bytes(8, packed) + f_int(20, A_INTS)


def node(op, inputs, outputs, **attrs):
    msg = b"".join(f_bytes(1, i) for i in inputs)
    msg += b"".join(f_bytes(2, o) for o in outputs)
    msg += f_bytes(3, outputs[0] + "_" + op) + f_bytes(4, op)
    msg += b"".join(f_bytes(5, attr(k, v)) for k, v in attrs.items())
    return msg


def value_info(name, dtype, dims):
    """dims: ints (fixed) or strings (symbolic)."""
    shape = b""
    for d in dims:
        dim = f_int(1, d) if isinstance(d, int) else f_bytes(2, d)
        shape += f_bytes(1, dim)
    tensor_type = f_int(1, dtype) + f_bytes(2, shape)
    return f_bytes(1, name) + f_bytes(2, f_bytes(1, tensor_type))


class Graph:
    def __init__(self, name):
        self.name = name
        self.nodes = []
        self.inits = []
        self.inputs = []
        self.outputs = []
        self.n = 0

    def const(self, dtype, dims, values):
        self.n += 1
        name = "c%d" % self.n
        self.inits.append(tensor(name, dtype, dims, values))
        return name

    def op(self, op, inputs, out=None, **attrs):
        if out is None:
            self.n += 1
            out = "t%d" % self.n
        self.nodes.append(node(op, inputs, [out], **attrs))
        return out

    def input(self, name, dtype, dims):
        self.inputs.append(value_info(name, dtype, dims))
        return name

    def output(self, name, dtype, dims):
        self.outputs.append(value_info(name, dtype, dims))

    def encode(self):
        msg = b"".join(f_bytes(1, n) for n in self.nodes)
        msg += f_bytes(2, self.name)
        msg += b"".join(f_bytes(5, t) for t in self.inits)
        msg += b"".join(f_bytes(11, v) for v in self.inputs)
        msg += b"".join(f_bytes(12, v) for v in self.outputs)
        return msg


# (part, key) pairs of metadata to leave out (--drop-meta part:key), to
# make models sherpa-onnx would refuse by exiting the process
DROP_META = set()


def model(graph, meta, part, opset=17):
    meta = {k: v for k, v in meta.items() if (part, k) not in DROP_META}
    msg = f_int(1, 8)                                    # ir_version
    msg += f_bytes(2, "agentline-onnx-synth")           # producer_name
    msg += f_bytes(7, graph.encode())                   # graph
    msg += f_bytes(8, f_bytes(1, "") + f_int(2, opset))  # opset_import
    for k, v in meta.items():                           # metadata_props
        msg += f_bytes(14, f_bytes(1, k) + f_bytes(2, str(v)))
    return msg


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- VITS

VITS_RATE = 22050
VITS_SAMPLES_PER_TOKEN = 2205      # 0.1 s of audio per token
VITS_F0 = 440.0
VITS_F_STEP = 220.0                # per speaker id
VITS_SPEAKERS = 3
VITS_AMPLITUDE = 0.5
VITS_SLOW_MATMULS = 3              # vits-slow: ~0.8 GFLOP per sentence

# tokens.txt: " " (the word separator Lexicon needs) and letters
VITS_TOKENS = [" ", ".", ",", "!", "?"] + [chr(c) for c in range(97, 123)]
VITS_WORDS = ["hello", "world", "yes", "no", "one", "two", "three",
              "agent", "line", "test", "speech", "long", "sentence",
              "the", "first", "second", "third", "is", "a", "this"]


def vits(outdir, slow=0):
    """slow > 0: each run also does slow 512x512 matrix products whose
    result is multiplied by 0 (a model that takes time per sentence, to
    see whether generation really stops)."""
    os.makedirs(outdir, exist_ok=True)
    g = Graph("agentline-vits")
    x = g.input("x", INT64, [1, "N"])
    x_length = g.input("x_length", INT64, [1])
    noise_scale = g.input("noise_scale", FLOAT, [1])
    length_scale = g.input("length_scale", FLOAT, [1])
    noise_scale_w = g.input("noise_scale_w", FLOAT, [1])
    sid = g.input("sid", INT64, [1])

    # T = N * samples_per_token * length_scale (+ 0 * noise scales)
    n = g.op("Cast", [x_length], to=FLOAT)
    t = g.op("Mul", [n, g.const(FLOAT, [1], [VITS_SAMPLES_PER_TOKEN])])
    t = g.op("Mul", [t, length_scale])
    noise = g.op("Add", [noise_scale, noise_scale_w])
    noise = g.op("Mul", [noise, g.const(FLOAT, [1], [0.0])])
    t = g.op("Add", [t, noise])
    # x itself: its token values do not matter, only that it is read
    xsum = g.op("ReduceSum", [x], keepdims=0)
    xsum = g.op("Cast", [xsum], to=FLOAT)
    xsum = g.op("Mul", [xsum, g.const(FLOAT, [], [0.0])])
    limit = g.op("Squeeze", [t, g.const(INT64, [1], [0])])
    limit = g.op("Add", [limit, xsum])
    if slow:
        # W = 1/512 everywhere (from x_length, so not constant-folded):
        # W @ W == W, finite however many times
        k = g.op("Mul", [n, g.const(FLOAT, [1], [0.0])])
        k = g.op("Add", [k, g.const(FLOAT, [1], [1.0 / 512])])
        m = g.op("Expand", [k, g.const(INT64, [2], [512, 512])])
        w0 = m
        for _ in range(slow):
            m = g.op("MatMul", [m, w0])
        m = g.op("ReduceSum", [m], keepdims=0)
        m = g.op("Mul", [m, g.const(FLOAT, [], [0.0])])
        limit = g.op("Add", [limit, m])
    idx = g.op("Range", [g.const(FLOAT, [], [0.0]), limit,
                         g.const(FLOAT, [], [1.0])])
    # frequency from the speaker id
    f = g.op("Cast", [sid], to=FLOAT)
    f = g.op("Mul", [f, g.const(FLOAT, [1], [VITS_F_STEP])])
    f = g.op("Add", [f, g.const(FLOAT, [1], [VITS_F0])])
    w = g.op("Mul", [f, g.const(FLOAT, [1], [2 * math.pi / VITS_RATE])])
    ph = g.op("Mul", [idx, w])
    s = g.op("Sin", [ph])
    s = g.op("Mul", [s, g.const(FLOAT, [1], [VITS_AMPLITUDE])])
    g.op("Unsqueeze", [s, g.const(INT64, [2], [0, 1])], out="y")
    g.output("y", FLOAT, [1, 1, "T"])

    meta = {
        "model_type": "vits",
        "comment": "agentline test",
        "language": "English",
        "sample_rate": VITS_RATE,
        "add_blank": 0,
        "n_speakers": VITS_SPEAKERS,
        "punctuation": ". , ! ?",
    }
    write(os.path.join(outdir, "model.onnx"), model(g, meta, "vits"))

    with open(os.path.join(outdir, "tokens.txt"), "w") as f:
        for i, tok in enumerate(VITS_TOKENS):
            f.write("%s %d\n" % (tok, i))
    with open(os.path.join(outdir, "lexicon.txt"), "w") as f:
        for word in VITS_WORDS:
            f.write("%s %s\n" % (word, " ".join(word)))


# ---------------------------------------------------------- zipformer2

STT_T = 45                 # frames the encoder takes (ChunkSize)
STT_CHUNK = 32             # frames it consumes (ChunkShift)
STT_FEAT = 80
STT_SPEECH_LOGMEL = -5.0  # log-mel energy above which a chunk is speech
STT_HIGH_BIN = 40          # mel bins >= this are "high pitch"
STT_TOKENS = ["<blk>", "<sos/eos>", "<unk>", "\u2581HELLO", "\u2581WORLD",
              "\u2581YES", "\u2581NO", "\u2581ONE", "\u2581TWO"]
STT_LOW_CHAIN = ["\u2581HELLO", "\u2581WORLD"]
STT_HIGH_CHAIN = ["\u2581YES", "\u2581ONE", "\u2581TWO"]
STT_CONTEXT = 2


def zipformer2(outdir):
    os.makedirs(outdir, exist_ok=True)
    V = len(STT_TOKENS)
    tid = {t: i for i, t in enumerate(STT_TOKENS)}

    # encoder: one stack of one layer; state shapes as sherpa makes them
    # (GetEncoderInitStates), all symbolic here and passed through
    dims = {"encoder_dims": 32, "query_head_dims": 4, "value_head_dims": 4,
            "num_heads": 2, "num_encoder_layers": 1,
            "cnn_module_kernels": 3, "left_context_len": 4}
    g = Graph("agentline-zipformer2-encoder")
    x = g.input("x", FLOAT, ["N", STT_T, STT_FEAT])
    states = [
        ("cached_key_0", FLOAT, ["L", "N", "K"]),
        ("cached_nonlin_attn_0", FLOAT, [1, "N", "L", "A"]),
        ("cached_val1_0", FLOAT, ["L", "N", "K"]),
        ("cached_val2_0", FLOAT, ["L", "N", "K"]),
        ("cached_conv1_0", FLOAT, ["N", "D", "C"]),
        ("cached_conv2_0", FLOAT, ["N", "D", "C"]),
        ("embed_states", FLOAT, ["N", 128, 3, "E"]),
        ("processed_lens", INT64, ["N"]),
    ]
    for name, dtype, shape in states:
        g.input(name, dtype, shape)

    xs = g.op("Slice", [x, g.const(INT64, [1], [0]),
                        g.const(INT64, [1], [STT_CHUNK]),
                        g.const(INT64, [1], [1])])
    xs = g.op("Reshape", [xs, g.const(INT64, [4], [0, 1, STT_CHUNK,
                                                   STT_FEAT])])
    per_bin = g.op("ReduceMax", [xs], axes=[2], keepdims=0)   # [N,1,80]
    lo = g.op("Slice", [per_bin, g.const(INT64, [1], [0]),
                        g.const(INT64, [1], [STT_HIGH_BIN]),
                        g.const(INT64, [1], [2])])
    hi = g.op("Slice", [per_bin, g.const(INT64, [1], [STT_HIGH_BIN]),
                        g.const(INT64, [1], [STT_FEAT]),
                        g.const(INT64, [1], [2])])
    lo = g.op("ReduceMax", [lo], axes=[2], keepdims=1)        # [N,1,1]
    hi = g.op("ReduceMax", [hi], axes=[2], keepdims=1)
    top = g.op("Max", [lo, hi])
    speech = g.op("Greater", [top, g.const(FLOAT, [1],
                                             [STT_SPEECH_LOGMEL])])
    speech = g.op("Cast", [speech], to=FLOAT)
    high = g.op("Greater", [hi, lo])
    high = g.op("Cast", [high], to=FLOAT)
    high = g.op("Mul", [high, speech])
    g.op("Concat", [speech, high], out="encoder_out", axis=2)  # [N,1,2]
    g.output("encoder_out", FLOAT, ["N", 1, 2])
    for name, dtype, shape in states:
        out = "new_" + name
        g.op("Identity", [name], out=out)
        g.output(out, dtype, shape)

    meta = {"model_type": "zipformer2", "version": "1",
            "model_author": "agentline test", "comment": "agentline test",
            "T": STT_T, "decode_chunk_len": STT_CHUNK}
    meta.update({k: str(v) for k, v in dims.items()})
    write(os.path.join(outdir, "encoder-epoch-99-avg-1.onnx"),
          model(g, meta, "encoder"))

    # decoder: last context token -> [onehot(next_low), onehot(next_high)]
    table = [[0.0] * (2 * V) for _ in range(V)]
    for chain, off in ((STT_LOW_CHAIN, 0), (STT_HIGH_CHAIN, V)):
        ids = [0] + [tid[t] for t in chain] + [0]
        nxt = {ids[i]: ids[i + 1] for i in range(len(ids) - 1)}
        for last in range(V):
            table[last][off + nxt.get(last, 0)] = 1.0
    g = Graph("agentline-zipformer2-decoder")
    y = g.input("y", INT64, ["N", STT_CONTEXT])
    last = g.op("Gather", [y, g.const(INT64, [], [STT_CONTEXT - 1])],
                axis=1)
    rows = g.const(FLOAT, [V, 2 * V], [v for r in table for v in r])
    g.op("Gather", [rows, last], out="decoder_out", axis=0)
    g.output("decoder_out", FLOAT, ["N", 2 * V])
    meta = {"model_type": "zipformer2", "vocab_size": V,
            "context_size": STT_CONTEXT}
    write(os.path.join(outdir, "decoder-epoch-99-avg-1.onnx"),
          model(g, meta, "decoder"))

    # joiner: low-pitch speech -> LOW row, high-pitch -> HIGH row, blank
    # has a bias of 0.5 (wins when the chosen row is blank or no speech)
    g = Graph("agentline-zipformer2-joiner")
    enc = g.input("encoder_out", FLOAT, ["N", 2])
    dec = g.input("decoder_out", FLOAT, ["N", 2 * V])
    one, two = g.const(INT64, [1], [1]), g.const(INT64, [1], [2])
    zero = g.const(INT64, [1], [0])
    sp = g.op("Slice", [enc, zero, one, one])
    hi = g.op("Slice", [enc, one, two, one])
    lo = g.op("Sub", [sp, hi])
    row_lo = g.op("Slice", [dec, zero, g.const(INT64, [1], [V]), one])
    row_hi = g.op("Slice", [dec, g.const(INT64, [1], [V]),
                            g.const(INT64, [1], [2 * V]), one])
    a = g.op("Mul", [lo, row_lo])
    b = g.op("Mul", [hi, row_hi])
    s = g.op("Add", [a, b])
    bias = g.const(FLOAT, [V], [0.5] + [0.0] * (V - 1))
    g.op("Add", [s, bias], out="logit")
    g.output("logit", FLOAT, ["N", V])
    meta = {"model_type": "zipformer2", "joiner_dim": 2 * V}
    write(os.path.join(outdir, "joiner-epoch-99-avg-1.onnx"),
          model(g, meta, "joiner"))

    with open(os.path.join(outdir, "tokens.txt"), "w",
              encoding="utf-8") as f:
        for i, tok in enumerate(STT_TOKENS):
            f.write("%s %d\n" % (tok, i))


# --------------------------------------------------------------- Piper

def piper_tokens():
    """Piper's tokens.txt: one code point per line; pad/bos/eos, space,
    punctuation, letters and the IPA espeak-ng produces for English."""
    cps = [ord(c) for c in "_^$ !'(),-.:;?"]
    cps += list(range(0x61, 0x7B))
    cps += [0xE6, 0xE7, 0xF0, 0xF8, 0x127, 0x14B, 0x153]
    cps += list(range(0x250, 0x300))
    cps += [0x3B2, 0x3B8, 0x3C7, 0x1D7B, 0x2C71]
    return [chr(c) for c in cps]


def piper(outdir, espeak_data=None):
    """A Piper-style VITS (comment "piper", sherpa's espeak-ng front end):
    inputs input [1,N], input_lengths [1], scales [3] (noise, length,
    noise_w), sid [1]; output the same sine as vits(), 2205 samples per
    token times scales[1].  espeak_data: linked as espeak-ng-data/."""
    os.makedirs(outdir, exist_ok=True)
    g = Graph("agentline-piper")
    x = g.input("input", INT64, [1, "N"])
    x_length = g.input("input_lengths", INT64, [1])
    scales = g.input("scales", FLOAT, [3])
    sid = g.input("sid", INT64, [1])

    n = g.op("Cast", [x_length], to=FLOAT)
    t = g.op("Mul", [n, g.const(FLOAT, [1], [VITS_SAMPLES_PER_TOKEN])])
    ls = g.op("Slice", [scales, g.const(INT64, [1], [1]),
                        g.const(INT64, [1], [2]), g.const(INT64, [1], [0])])
    t = g.op("Mul", [t, ls])
    xsum = g.op("ReduceSum", [x], keepdims=0)
    xsum = g.op("Cast", [xsum], to=FLOAT)
    xsum = g.op("Mul", [xsum, g.const(FLOAT, [], [0.0])])
    limit = g.op("Squeeze", [t, g.const(INT64, [1], [0])])
    limit = g.op("Add", [limit, xsum])
    idx = g.op("Range", [g.const(FLOAT, [], [0.0]), limit,
                         g.const(FLOAT, [], [1.0])])
    f = g.op("Cast", [sid], to=FLOAT)
    f = g.op("Mul", [f, g.const(FLOAT, [1], [VITS_F_STEP])])
    f = g.op("Add", [f, g.const(FLOAT, [1], [VITS_F0])])
    w = g.op("Mul", [f, g.const(FLOAT, [1], [2 * math.pi / VITS_RATE])])
    ph = g.op("Mul", [idx, w])
    s = g.op("Sin", [ph])
    s = g.op("Mul", [s, g.const(FLOAT, [1], [VITS_AMPLITUDE])])
    g.op("Unsqueeze", [s, g.const(INT64, [3], [0, 1, 2])], out="output")
    g.output("output", FLOAT, [1, 1, 1, "T"])

    meta = {
        "model_type": "vits",
        "comment": "piper",
        "language": "English",
        "voice": "en-us",
        "sample_rate": VITS_RATE,
        "add_blank": 0,
        "n_speakers": 1,
    }
    write(os.path.join(outdir, "model.onnx"), model(g, meta, "piper"))
    with open(os.path.join(outdir, "tokens.txt"), "w",
              encoding="utf-8") as f:
        for i, tok in enumerate(piper_tokens()):
            f.write("%s %d\n" % (tok, i))
    if espeak_data:
        link = os.path.join(outdir, "espeak-ng-data")
        if not os.path.lexists(link):
            os.symlink(espeak_data, link)


# -------------------------------------------------------------- Kokoro

KOKORO_RATE = 24000
KOKORO_PER_TOKEN = 2400            # 0.1 s per token
KOKORO_SPEAKERS = 2
KOKORO_STYLE_DIM = (510, 1, 4)     # max tokens, 1, style width
KOKORO_F0 = 300.0
KOKORO_F_STEP = 200.0              # per speaker (voices.bin row)


def kokoro(outdir, espeak_data=None, version=1):
    """Kokoro v0.19-like (sherpa's espeak-ng front end): inputs tokens
    [1,N] (0, ids, 0), style [1,4] (the voices.bin row of the speaker and
    length), speed [1]; output audio [T], a sine of amplitude 0.5 at
    style[0] Hz (voices.bin: KOKORO_F0 + KOKORO_F_STEP * speaker),
    T = N * KOKORO_PER_TOKEN / speed samples at 24 kHz."""
    os.makedirs(outdir, exist_ok=True)
    g = Graph("agentline-kokoro")
    x = g.input("tokens", INT64, [1, "N"])
    style = g.input("style", FLOAT, [1, KOKORO_STYLE_DIM[2]])
    speed = g.input("speed", FLOAT, [1])

    n = g.op("Shape", [x])
    n = g.op("Slice", [n, g.const(INT64, [1], [1]), g.const(INT64, [1], [2]),
                       g.const(INT64, [1], [0])])
    n = g.op("Cast", [n], to=FLOAT)
    t = g.op("Mul", [n, g.const(FLOAT, [1], [KOKORO_PER_TOKEN])])
    t = g.op("Div", [t, speed])
    xsum = g.op("ReduceSum", [x], keepdims=0)
    xsum = g.op("Cast", [xsum], to=FLOAT)
    xsum = g.op("Mul", [xsum, g.const(FLOAT, [], [0.0])])
    limit = g.op("Squeeze", [t, g.const(INT64, [1], [0])])
    limit = g.op("Add", [limit, xsum])
    idx = g.op("Range", [g.const(FLOAT, [], [0.0]), limit,
                         g.const(FLOAT, [], [1.0])])
    f = g.op("Slice", [style, g.const(INT64, [1], [0]),
                       g.const(INT64, [1], [1]), g.const(INT64, [1], [1])])
    f = g.op("Reshape", [f, g.const(INT64, [1], [1])])
    w = g.op("Mul", [f, g.const(FLOAT, [1], [2 * math.pi / KOKORO_RATE])])
    ph = g.op("Mul", [idx, w])
    s = g.op("Sin", [ph])
    g.op("Mul", [s, g.const(FLOAT, [1], [VITS_AMPLITUDE])], out="audio")
    g.output("audio", FLOAT, ["T"])

    meta = {
        "model_type": "kokoro",
        "version": version,
        "sample_rate": KOKORO_RATE,
        "n_speakers": KOKORO_SPEAKERS,
        "has_espeak": 1,
        "voice": "en-us",
        "style_dim": ",".join(str(d) for d in KOKORO_STYLE_DIM),
        "speaker_names": ",".join("s%d" % i
                                  for i in range(KOKORO_SPEAKERS)),
    }
    write(os.path.join(outdir, "model.onnx"), model(g, meta, "kokoro"))

    rows, width = KOKORO_STYLE_DIM[0], KOKORO_STYLE_DIM[2]
    with open(os.path.join(outdir, "voices.bin"), "wb") as f:
        for spk in range(KOKORO_SPEAKERS):
            row = [KOKORO_F0 + KOKORO_F_STEP * spk] + [0.0] * (width - 1)
            f.write(struct.pack("<%df" % width, *row) * rows)
    with open(os.path.join(outdir, "tokens.txt"), "w",
              encoding="utf-8") as f:
        for i, tok in enumerate(piper_tokens()):
            f.write("%s %d\n" % (tok, i))
    if espeak_data:
        link = os.path.join(outdir, "espeak-ng-data")
        if not os.path.lexists(link):
            os.symlink(espeak_data, link)


def main(argv):
    args = argv[1:]
    while len(args) >= 2 and args[0] == "--drop-meta":
        part, _, key = args[1].partition(":")
        DROP_META.add((part, key))
        args = args[2:]
    kinds = ("vits", "piper", "kokoro", "kokoro-v2", "zipformer2", "all")
    if len(args) not in (2, 3) or args[0] not in kinds:
        sys.stderr.write("usage: onnx_synth.py [--drop-meta PART:KEY]... "
                         "vits|piper|kokoro|kokoro-v2|zipformer2|all "
                         "OUTDIR [ESPEAK_NG_DATA]\n"
                         "  PART: vits piper kokoro encoder decoder "
                         "joiner\n")
        return 2
    kind, out = args[0], args[1]
    espeak_data = args[2] if len(args) == 3 else None
    if kind == "vits":
        vits(out)
    elif kind == "piper":
        piper(out, espeak_data)
    elif kind == "kokoro":
        kokoro(out, espeak_data)
    elif kind == "kokoro-v2":
        kokoro(out, espeak_data, version=2)
    elif kind == "zipformer2":
        zipformer2(out)
    else:
        vits(os.path.join(out, "vits"))
        vits(os.path.join(out, "vits-slow"), slow=VITS_SLOW_MATMULS)
        piper(os.path.join(out, "piper"), espeak_data)
        kokoro(os.path.join(out, "kokoro"), espeak_data)
        zipformer2(os.path.join(out, "zipformer2"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
