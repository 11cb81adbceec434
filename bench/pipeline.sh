#!/bin/bash
# agentline speech pipeline benchmark: app=agent with the instant parrot
# brain and the default offline engines (vad auto, stt pocketsphinx,
# tts flite), on real SIP calls over loopback. SIPp streams caller speech
# that flite generates at run time; agentline records every call (caller
# left, agent right, both on the media clock) and logs a `turn` event per
# caller turn. Measured:
#
#  1. voice to voice over V2V_TURNS turns of one call: on the recording
#     (caller's last sample above the threshold -> agent's first sample)
#     and from the turn events (vad_end/stt/brain/tts_first_audio/v2v);
#     gateway-added delay per direction from a capture on lo;
#  2. barge-in stop time, full and gated (barge_in_min_speech_ms=300):
#     caller onset -> agent silent, on the recording;
#  3. capacity: CAP_STEPS concurrent calls, each caller talking (a 20 s
#     loop of sentences and pauses), for each of CAP_WORKERS: CPU%, RSS
#     per call, turn latency, underruns (all-zero frames inside a reply on
#     the recording) and lost turns (utterances without a reply / turn
#     events fewer than utterances);
#  4. the breakdown next to an anchor turn of 1,436 ms
#     (ASR 450 + LLM 356 + TTS 630) from a comparable local gateway.
#
# Builds and installs nothing: build/agentline, sipp, flite, sox, dumpcap
# and (optionally) perf must be there. Raw results (recordings, events,
# logs, captures, results.jsonl, perf reports) stay in a temp directory.
#
# Knobs (environment):
#   AGENTLINE=build/agentline  BENCH_OUT=DIR (default: mktemp -d)
#   PIPE_ONLY="v2v barge cap"  V2V_TURNS=22  BARGE_N=12
#   BARGE_RUNS="full gated" (MODE[,key=value...], e.g. full,echo_cancel=false)
#   CAP_STEPS="5 10 15 20 25 30"  CAP_WORKERS="2 4"  CAP_WINDOW=20 (s)
#   CAP_RAMP=5 (calls/s; 1 spreads 20 callers over the 20 s loop instead of
#   having them talk in step)  CAP_PERF_STEPS="20 30" (perf on the first
#   CAP_WORKERS value at these steps, after the window; empty = none)
#   CAP_SETTLE=0 (s between "all calls up" and the CPU window: 0 takes
#   the calls' start-up, recogniser construction included, into the
#   window; 40 or more measures talking calls in their steady state)
#   CAP_SET="key=value ..." (more settings for the capacity steps, e.g.
#   workers_nice=0)
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
AGENTLINE=${AGENTLINE:-$ROOT/build/agentline}
PY=/usr/bin/python3
LIB="$PY $BENCH/pipelinelib.py"
OUT=${BENCH_OUT:-$(mktemp -d /tmp/agentline-pipeline.XXXXXX)}
[ -n "$OUT" ] || { echo "pipeline: no output directory" >&2; exit 1; }
RES=$OUT/results.jsonl
PIPE_ONLY=${PIPE_ONLY:-"v2v barge cap"}
V2V_TURNS=${V2V_TURNS:-22}
BARGE_N=${BARGE_N:-12}
BARGE_RUNS=${BARGE_RUNS:-"full gated"}
CAP_STEPS=${CAP_STEPS:-"5 10 15 20 25 30"}
CAP_WORKERS=${CAP_WORKERS:-"2 4"}
CAP_WINDOW=${CAP_WINDOW:-20}
CAP_RAMP=${CAP_RAMP:-5}
CAP_SETTLE=${CAP_SETTLE:-0}
CAP_PERF_STEPS=${CAP_PERF_STEPS-"20 30"}
HANGOVER=700                       # vad_hangover_ms default (not changed)

# loopback ports (apart from bench/run.sh's)
AL_SIP=45170; UAC_SIP=45190; UAC_MEDIA=47200; UAC_CTRL=47988
AL_RTP_MIN=41000; AL_RTP_MAX=43000

mkdir -p "$OUT"
: > "$RES"
PIDS=()
CMDS=$OUT/commands.txt
: > "$CMDS"

die() { echo "pipeline: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
cleanup()
{
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for t in sipp flite sox dumpcap ss; do
	command -v $t >/dev/null || die "$t missing (run scripts/setup.sh)"
done
[ -x "$AGENTLINE" ] || die "$AGENTLINE missing (run make build)"
ulimit -n "$(ulimit -Hn)" 2>/dev/null

cpu_ns()
{
	cat /proc/"$1"/task/*/schedstat 2>/dev/null |
		awk '{ s += $1 } END { printf "%.0f", s }'
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
now() { date +%s.%N; }
pct() { awk -v a="$1" -v b="$2" -v t0="$3" -v t1="$4" \
	'BEGIN { d = t1 - t0; printf "%.2f", (d > 0 ? (b - a) / 1e7 / d : 0) }'; }
wait_udp()
{
	local i
	for i in $(seq 100); do
		ss -Hlun "sport = :$1" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}
# the command line, once per kind, for the summary
note_cmd() { grep -qF -- "$1" "$CMDS" 2>/dev/null || echo "$1" >>"$CMDS"; }

# --- agentline ------------------------------------------------------------------

AL_PID=
start_al()             # tag, extra --set key=value...
{
	local tag=$1 d=$OUT/$1 a s
	shift
	mkdir -p "$d/rec"
	a=(run --set sip_listen=udp:127.0.0.1:$AL_SIP --set app=agent
	   --set codecs=PCMU --set max_calls=100
	   --set rtp_port_min=$AL_RTP_MIN --set rtp_port_max=$AL_RTP_MAX
	   --set greeting_incoming=Hi. --set filler_delay_ms=0 --set brain=parrot
	   --set silence_reprompt_secs=0 --set record_dir="$d/rec"
	   --set events_file="$d/events.jsonl" --set data_dir="$d/data"
	   --set log_level=info)
	for s in "$@"; do a+=(--set "$s"); done
	note_cmd "agentline ${a[*]}"
	"$AGENTLINE" "${a[@]}" >"$d/agentline.log" 2>&1 &
	AL_PID=$!
	PIDS+=("$AL_PID")
	wait_udp $AL_SIP || die "agentline did not start (see $d/agentline.log)"
}

AL_RC=
stop_al()
{
	local i
	kill -TERM "$AL_PID" 2>/dev/null
	for i in $(seq 200); do
		kill -0 "$AL_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$AL_PID" 2>/dev/null
	wait "$AL_PID" 2>/dev/null
	AL_RC=$?
}

# SIPp: uac_basic.xml (PCMU/PCMA + telephone-event offer) streaming
# DIR/NAME_ulaw.wav once (loop 1) or for ever (loop -1) until the hold ends
SIPP_PID=
start_sipp()           # dir name loop calls rate hold_ms
{
	local d=$1 name=$2 loop=$3 n=$4 rate=$5 hold=$6
	sed "s/tone_ulaw.wav,-1,0/${name}_ulaw.wav,$loop,0/" \
		"$ROOT/test/integ/scenarios/uac_basic.xml" >"$d/uac_$name.xml"
	local a=("127.0.0.1:$AL_SIP" -sf "$d/uac_$name.xml" -s agent
		 -i 127.0.0.1 -p $UAC_SIP -mi 127.0.0.1 -mp $UAC_MEDIA
		 -cp $UAC_CTRL -m "$n" -l "$n" -r "$rate" -d "$hold"
		 -recv_timeout 30000 -timeout $((hold / 1000 + n / rate + 60))s
		 -nostdin -trace_stat -fd 1 -stf "$d/sipp.csv")
	note_cmd "(cd $(basename "$d") && sipp ${a[*]})"
	(cd "$d" && exec sipp "${a[@]}" >"$d/sipp.log" 2>&1) &
	SIPP_PID=$!
	PIDS+=("$SIPP_PID")
}

sipp_current()
{
	$PY "$BENCH/benchlib.py" sippstat "$1" 2>/dev/null | $PY -c \
		'import json,sys; print(json.load(sys.stdin)["current"])' \
		2>/dev/null || echo 0
}

vad_of() { sed -n 's/.*agent: vad \([a-z]*\).*/\1/p' "$1" | head -1; }

# --- 1. voice to voice ------------------------------------------------------------

bench_v2v()
{
	local d=$OUT/v2v dur hold rc cap
	mkdir -p "$d"
	dur=$($LIB caller "$d" v2v v2v 2.0 5.0 "$V2V_TURNS" | $PY -c \
		'import json,sys; print(json.load(sys.stdin)["duration"])') ||
		die "caller speech generation failed"
	hold=$($PY -c "print(int(($dur + 3) * 1000))")
	log "v2v: $V2V_TURNS turns, one call, ${dur}s of caller audio"
	start_al v2v
	cap=$d/v2v.pcap
	note_cmd "dumpcap -q -i lo -P -f 'udp port $UAC_MEDIA' -w v2v.pcap"
	dumpcap -q -i lo -P -f "udp port $UAC_MEDIA" -w "$cap" \
		2>"$d/dumpcap.txt" &
	local dc=$!
	PIDS+=("$dc")
	sleep 1
	start_sipp "$d" v2v 1 1 1 "$hold"
	wait "$SIPP_PID"
	rc=$?
	sleep 1
	kill -INT "$dc" 2>/dev/null
	wait "$dc" 2>/dev/null
	stop_al
	log "v2v: sipp exit $rc, agentline exit $AL_RC"
	$LIB collect v2v "$OUT/v2v/events.jsonl" "$d/rec" sipp_rc=$rc \
		exit=$AL_RC vad="\"$(vad_of "$d/agentline.log")\"" workers=2 \
		vad_hangover_ms=$HANGOVER >>"$RES"
	local rec
	rec=$(ls "$d"/rec/*.wav 2>/dev/null | head -1)
	if [ -n "$rec" ]; then
		$LIB rxdelay "$cap" "$rec" $UAC_MEDIA | $PY -c '
import json,sys; r=json.load(sys.stdin); r["bench"]="rxdelay"; print(json.dumps(r))' >>"$RES"
	fi
}

# --- 2. barge-in ------------------------------------------------------------------

bench_barge()
{
	local run mode d dur hold rc sets
	for run in $BARGE_RUNS; do
		# MODE or MODE,key=value,...: extra settings for this run
		mode=${run%%,*}
		sets=()
		[ "$run" != "$mode" ] && IFS=, read -r -a sets <<<"${run#*,}"
		d=$OUT/barge-${run//[,=]/-}
		mkdir -p "$d"
		# each utterance after the first starts 2.6 s after the
		# previous one ended: while the agent repeats it back
		dur=$($LIB caller "$d" barge barge 2.0 2.6 $((BARGE_N + 1)) |
			$PY -c 'import json,sys; print(json.load(sys.stdin)["duration"])') ||
			die "caller speech generation failed"
		hold=$($PY -c "print(int(($dur + 4) * 1000))")
		log "barge-in ($mode): $BARGE_N, one call, ${dur}s"
		start_al "$(basename "$d")" barge_in_mode=$mode \
			barge_in_min_speech_ms=300 ${sets[@]+"${sets[@]}"}
		start_sipp "$d" barge 1 1 1 "$hold"
		wait "$SIPP_PID"
		rc=$?
		sleep 1
		stop_al
		$LIB collect barge "$d/events.jsonl" "$d/rec" mode="\"$mode\"" \
			settings="\"${run#"$mode"}\"" \
			barge_in_min_speech_ms=300 sipp_rc=$rc exit=$AL_RC \
			vad="\"$(vad_of "$d/agentline.log")\"" >>"$RES"
	done
}

# --- 3. capacity ------------------------------------------------------------------

bench_cap()
{
	local d w n tag ramp hold idle up i a0 a1 t0 t1 rss rc prof exp perf1 extra u0 u1
	d=$OUT/cap-audio
	mkdir -p "$d"
	# a 20 s loop: 1 s silence, then 3 x (sentence + 4.5 s pause)
	$LIB caller "$d" cap cap 1.0 4.5 3 20 >/dev/null ||
		die "caller speech generation failed"
	perf1=${CAP_WORKERS%% *}
	for w in $CAP_WORKERS; do
		for n in $CAP_STEPS; do
			tag=cap-w$w-$n
			mkdir -p "$OUT/$tag"
			cp "$d"/cap_ulaw.wav "$OUT/$tag/"
			ramp=$(( (n + CAP_RAMP - 1) / CAP_RAMP ))
			prof=
			if [ "$w" = "$perf1" ] && command -v perf >/dev/null &&
			   [[ " $CAP_PERF_STEPS " == *" $n "* ]]; then
				prof=$OUT/perf-$tag.txt
			fi
			extra=0
			[ -n "$prof" ] && extra=6
			hold=$(( (ramp + 3 + CAP_SETTLE + CAP_WINDOW + extra + 2) * 1000 ))
			# shellcheck disable=SC2086
			start_al "$tag" workers=$w ${CAP_SET:-}
			sleep 1
			idle=$(rss_kb "$AL_PID")
			log "cap: workers $w, $n calls (ramp ${ramp}s, hold $((hold / 1000))s)"
			start_sipp "$OUT/$tag" cap -1 "$n" "$CAP_RAMP" "$hold"
			for i in $(seq $((ramp + 10))); do
				sleep 1
				[ "$i" -lt "$ramp" ] && continue
				up=$(sipp_current "$OUT/$tag/sipp.csv")
				[ "${up:-0}" -ge "$n" ] && break
			done
			sleep $((2 + CAP_SETTLE))
			up=$(sipp_current "$OUT/$tag/sipp.csv")
			a0=$(cpu_ns "$AL_PID"); u0=$(cpu_ns "$SIPP_PID"); t0=$(now)
			sleep "$CAP_WINDOW"
			a1=$(cpu_ns "$AL_PID"); u1=$(cpu_ns "$SIPP_PID"); t1=$(now)
			rss=$(rss_kb "$AL_PID")
			if [ -n "$prof" ]; then
				if perf record -q -e cpu-clock -F 999 -p "$AL_PID" \
					-o "$OUT/perf-$tag.data" -- sleep 5 >/dev/null 2>&1; then
					{
						echo "## by dso"
						perf report -i "$OUT/perf-$tag.data" --stdio \
							--no-children --sort dso --percent-limit 0.5 \
							2>/dev/null | grep -E '^ +[0-9]'
						echo "## by symbol"
						perf report -i "$OUT/perf-$tag.data" --stdio \
							--no-children --sort dso,symbol \
							--percent-limit 0.5 2>/dev/null |
							grep -E '^ +[0-9]' | sed 's/[ -]*$//'
					} >"$prof"
				else
					echo "perf record failed" >"$prof"
				fi
			fi
			wait "$SIPP_PID"
			rc=$?
			sleep 1
			stop_al
			# utterances per call that ended >= 8 s before the call did
			exp=$($PY - "$d/cap.json" "$hold" "$n" <<-'EOF'
			import json, sys
			s = json.load(open(sys.argv[1]))
			hold, n = int(sys.argv[2]) / 1000.0, int(sys.argv[3])
			k, t = 0, 0.0
			while t < hold:
			    k += sum(1 for u in s["utterances"]
			             if t + u["end"] + 8 <= hold)
			    t += s["duration"]
			print(k * n)
			EOF
			)
			$LIB collect cap "$OUT/$tag/events.jsonl" "$OUT/$tag/rec" \
				workers=$w calls=$n up=${up:-0} sipp_rc=$rc \
				exit=$AL_RC cpu_pct="$(pct "$a0" "$a1" "$t0" "$t1")" \
				uac_cpu_pct="$(pct "$u0" "$u1" "$t0" "$t1")" \
				rss_idle_kb=$idle rss_kb=$rss expected_turns=$exp \
				loop_s=20 hold_s=$((hold / 1000)) settle_s=$CAP_SETTLE \
				perf="\"${prof}\"" \
				vad="\"$(vad_of "$OUT/$tag/agentline.log")\"" >>"$RES"
			tail -1 "$RES" | $PY -c 'import json,sys; r=json.load(sys.stdin)
print("  workers %s, %d calls: answered %d, CPU %.1f%%, turns %d/%d, unanswered %d, gaps %d, v2v p50 %s -> %s" % (r["workers"], r["calls"], r["calls_answered"], r["cpu_pct"], r["turn_events"], r["expected_turns"], r["unanswered"], r["gaps"], r["ev_voice_to_voice_ms"].get("p50"), "ok" if r["ok"] else "FAIL"))' >&2
			rm -f "$OUT/$tag/cap_ulaw.wav"
			sleep 1
		done
	done
}

# --- run ------------------------------------------------------------------------

cp "$AGENTLINE" "$OUT/agentline" || die "cannot copy $AGENTLINE"
AGENTLINE_SRC=$AGENTLINE
AGENTLINE=$OUT/agentline
START=$(date +%s)
{
	echo "agentline speech pipeline benchmark  $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
	echo "agentline: $AGENTLINE_SRC (HEAD $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'), built $(date -u -r "$AGENTLINE_SRC" '+%Y-%m-%d %H:%M UTC'), sha256 $(sha256sum "$AGENTLINE" | cut -c1-12))"
	echo "$(sipp -v 2>/dev/null | grep -o 'SIPp v[^ ]*' | head -1), flite $(dpkg-query -W -f='${Version}' flite 2>/dev/null || echo '?'), pocketsphinx $(dpkg-query -W -f='${Version}' libpocketsphinx3 2>/dev/null || echo '?')"
} | tee "$OUT/machine.txt"

for phase in $PIPE_ONLY; do
	case $phase in
	v2v) bench_v2v ;;
	barge) bench_barge ;;
	cap) bench_cap ;;
	*) die "PIPE_ONLY takes v2v, barge, cap" ;;
	esac
done

$LIB table "$RES" | tee "$OUT/summary.txt"
for f in "$OUT"/perf-*.txt; do
	[ -f "$f" ] || continue
	echo
	echo "perf (cpu-clock, 5 s, after the window) on agentline: $f"
	sed -n '/^## by dso/,/^## by symbol/p' "$f" | sed -n '2,7p' |
		sed 's/^/  dso /'
	sed -n '/^## by symbol/,$p' "$f" | sed -n '2,13p' | cut -c1-100
done | tee -a "$OUT/summary.txt"
{
	echo
	echo "Commands (run in $OUT; a step's directory for sipp):"
	sed 's/^/  /' "$CMDS"
} | tee -a "$OUT/summary.txt"
echo
echo "took $(( $(date +%s) - START )) s; raw results in $OUT"
