#!/bin/bash
# agentline LLM brain benchmark: time from the model's first streamed
# sentence to the agent's first audio, and voice to voice, with the
# scripted OpenAI-compatible server (test/integ/servers/openai_llm.py) set
# to a fixed first-token delay.  Runs `agentline pipeline` in real time
# (caller WAV in, agent WAV out on one timeline); see bench/llmbench.py
# for what each number means.  Builds and installs nothing: needs
# build/agentline, flite, sox.  Results: docs/benchmarks.md "LLM brain".
#
# With sipp and dumpcap installed the same caller also goes over a real
# SIP call and the RTP is captured on lo ("on the wire" numbers).
#
# Knobs (environment): AGENTLINE=build/agentline  BENCH_OUT=DIR
#   TURNS=10  FIRST_TOKEN_MS=300  VAD=auto  PAUSE_S=6  WIRE=1|0
#   FIRST_SENTENCE="Sure, I can help with that."
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AGENTLINE=${AGENTLINE:-$ROOT/build/agentline}
OUT=${BENCH_OUT:-$(mktemp -d /tmp/agentline-bench-llm.XXXXXX)}
if [ -z "${WIRE:-}" ]; then
	WIRE=0
	command -v sipp >/dev/null && command -v dumpcap >/dev/null && WIRE=1
fi
export WIRE
echo "# TURNS=${TURNS:-10} FIRST_TOKEN_MS=${FIRST_TOKEN_MS:-300}" \
	"VAD=${VAD:-auto} WIRE=$WIRE $ROOT/bench/llmbench.py $AGENTLINE" \
	"$ROOT $OUT"
exec /usr/bin/python3 "$ROOT/bench/llmbench.py" "$AGENTLINE" "$ROOT" "$OUT"
