#!/bin/bash
# pocketsphinx search effort: word error rate and CPU per configuration,
# against pocketsphinx's own defaults measured in the same run.  The test
# speech is 16 everyday caller sentences in four flite voices (64
# utterances, ~160 s), sent through the telephone channel (G.711 u-law,
# 8 kHz) and back to 16 kHz, decoded with agentline's feature parameters
# (data/pocketsphinx/feat.params) and the Debian en-us model.
# Configurations run interleaved, ROUNDS times each; CPU is process CPU
# time spent decoding (less sensitive to a busy machine than wall time).
# Results: docs/benchmarks.md "pocketsphinx search effort".
#
# Knobs (environment): ROUNDS=3  BENCH_OUT=DIR  PS_CONFIGS (see CONFIGS below)
#   MODEL=/usr/share/pocketsphinx/model/en-us
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$(mktemp -d /tmp/agentline-bench-ps.XXXXXX)}
MODEL=${MODEL:-/usr/share/pocketsphinx/model/en-us}
ROUNDS=${ROUNDS:-3}
mkdir -p "$OUT"
cc -O2 -o "$OUT/ps_effort" "$ROOT/bench/ps_effort.c" \
	$(pkg-config --cflags --libs pocketsphinx sphinxbase)

SENTENCES="hello can you hear me
i would like to book a table for two people tonight
please tell her that i called about the meeting
what time do you open tomorrow morning
my name is john and i need to speak to someone
can you call me back later this afternoon
is the package ready for pick up
i want to leave a message for the doctor
the weather is nice today
thank you very much goodbye
how much does the blue jacket cost
could you please repeat that
i am calling about my order
yes that would be great
no thanks i am fine
where is the nearest train station"

: > "$OUT/ref.tsv"
i=0
for v in slt rms awb kal; do
	while read -r s; do
		i=$((i + 1))
		flite -voice "$v" -t "$s" -o "$OUT/raw.wav"
		sox "$OUT/raw.wav" -r 8000 -e u-law "$OUT/ulaw.wav"
		sox "$OUT/ulaw.wav" -r 16000 -e signed -b 16 -c 1 "$OUT/u$i.wav"
		printf '%s\t%s\n' "$OUT/u$i.wav" "$s" >> "$OUT/ref.tsv"
	done <<< "$SENTENCES"
done
FILES=$(cut -f1 "$OUT/ref.tsv")

# PS_CONFIGS (one "name|arguments" per line) replaces the list below;
# "pocketsphinx defaults" is always measured as the reference.
CONFIGS=(
	"pocketsphinx defaults|"
	"agentline default|-maxhmmpf 8000 -fwdflat no"
	"-fwdflat no|-fwdflat no"
	"-maxhmmpf 8000|-maxhmmpf 8000"
	"-maxhmmpf 5000 -fwdflat no|-maxhmmpf 5000 -fwdflat no"
	"-maxhmmpf 3000 -fwdflat no|-maxhmmpf 3000 -fwdflat no"
)
if [ -n "${PS_CONFIGS:-}" ]; then
	CONFIGS=("pocketsphinx defaults|")
	while IFS= read -r c; do
		[ -n "$c" ] && CONFIGS+=("$c")
	done <<< "$PS_CONFIGS"
fi
for r in $(seq 1 "$ROUNDS"); do
	for c in "${CONFIGS[@]}"; do
		name=${c%%|*}; args=${c#*|}
		# shellcheck disable=SC2086
		"$OUT/ps_effort" "$MODEL" "$ROOT/data/pocketsphinx/feat.params" \
			$args -- $FILES > "$OUT/hyp.tsv" 2> "$OUT/cpu.txt"
		printf '%s\t%s\t%s\n' "$name" "$(tail -1 "$OUT/cpu.txt")" \
			"$OUT/hyp.tsv" >> "$OUT/runs.tsv"
		cp "$OUT/hyp.tsv" "$OUT/hyp-$r-${name// /_}.tsv"
		sed -i "s|$OUT/hyp.tsv\$|$OUT/hyp-$r-${name// /_}.tsv|" \
			"$OUT/runs.tsv"
	done
done

python3 - "$OUT" <<'PY'
import sys, statistics as st
out = sys.argv[1]
ref = dict(l.rstrip('\n').split('\t') for l in open(out + '/ref.tsv'))
def dist(a, b):
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        p = d[:]; d[0] = i
        for j, y in enumerate(b, 1):
            d[j] = min(p[j] + 1, d[j - 1] + 1, p[j - 1] + (x != y))
    return d[-1]
runs = {}
for l in open(out + '/runs.tsv'):
    name, cpu, hyp = l.rstrip('\n').split('\t')
    e = n = 0
    for h in open(hyp):
        f, t = (h.rstrip('\n').split('\t') + [''])[:2]
        r = ref[f].split(); e += dist(r, t.split()); n += len(r)
    runs.setdefault(name, []).append((float(cpu), e, n))
base = st.median(c for c, _, _ in runs['pocketsphinx defaults'])
print('%-28s %9s %9s %12s' % ('configuration', 'WER', 'CPU s', 'CPU vs dflt'))
for name, v in runs.items():
    cpu = st.median(c for c, _, _ in v)
    e, n = v[0][1], v[0][2]
    print('%-28s %8.1f%% %9.2f %11.2fx' % (name, 100 * e / n, cpu,
                                          cpu / base))
PY
echo "# raw: $OUT/runs.tsv"
