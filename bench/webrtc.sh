#!/bin/bash
# Media cost of a WebRTC call (Opus encode/decode + DTLS-SRTP + ICE) against
# a G.711 call (PCMU over plain RTP) and a G.711 call over SDES-SRTP, in the
# same run: CPU (% of one core) and RSS per call, and the ratios to G.711.
# Each run is one process holding CALLS calls, both ends of each call being
# agentline media streams on loopback that send a tone both ways; "per
# call" is per stream, i.e. one call's media on agentline's side.  Modes run
# interleaved, ROUNDS times, and the median is reported.
# Results: docs/benchmarks.md "WebRTC media cost".
#
# Knobs (environment): CALLS="1 10 50"  SECS=10  ROUNDS=3
#   BUILD=build (cmake build directory; webrtc-bench is built there)
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
CALLS=${CALLS:-"1 10 50"}
SECS=${SECS:-10}
ROUNDS=${ROUNDS:-3}

cmake --build "$BUILD" --target webrtc-bench >/dev/null
BIN=$BUILD/webrtc-bench
OUT=$(mktemp /tmp/agentline-bench-webrtc.XXXXXX)

for n in $CALLS; do
	for r in $(seq "$ROUNDS"); do
		for mode in g711 sdes webrtc; do
			"$BIN" "$mode" "$n" "$SECS" | tee -a "$OUT"
		done
	done
done

python3 - "$OUT" <<'EOF'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    kv = dict(re.findall(r'(\w+)=([\d./]+)', line))
    mode = line.split()[0]
    key = (int(kv['calls']), mode)
    rows.setdefault(key, []).append(
        (float(kv['cpu_pct_per_call']), float(kv['rss_kib_per_call']),
         kv['streams_up'], kv['frames_pct']))
print()
print('calls  mode    CPU %/call  RSS KiB/call  CPU x G.711  RSS x G.711  up      ticks kept %')
for calls in sorted({c for c, _ in rows}):
    base = rows.get((calls, 'g711'))
    bc = statistics.median(r[0] for r in base) if base else None
    bm = statistics.median(r[1] for r in base) if base else None
    for mode in ('g711', 'sdes', 'webrtc'):
        rs = rows.get((calls, mode))
        if not rs:
            continue
        c = statistics.median(r[0] for r in rs)
        m = statistics.median(r[1] for r in rs)
        print('%5d  %-6s  %10.3f  %12.1f  %11.2f  %11.2f  %-7s %s' % (
            calls, mode, c, m, c / bc if bc else 0,
            m / bm if bm else 0, rs[-1][2],
            '/'.join(r[3] for r in rs)))
EOF
echo "raw: $OUT"
