#!/bin/bash
# agentline benchmarks, measured from the wire on loopback (make bench).
#
#  1. call setup rate: SIPp's built-in uac (answer, 2 s hold, BYE) against
#     agentline, SIPp's own uas (upper bound) and baresip (auto answer);
#     rates step up until a step has a failed call or falls behind.
#  2. concurrent echo calls with RTP both ways (SIPp uac streaming a looping
#     u-law WAV) against agentline and SIPp's uas -rtp_echo: CPU and RSS per
#     call, and the pacing of the responder's outbound RTP from a capture.
#
# Builds nothing and installs nothing: build/agentline, sipp, dumpcap,
# baresip and (optionally) perf must already be there (make bench runs
# scripts/setup.sh and the build first). Raw results go to a fresh temp
# directory, printed at the end; docs/benchmarks.md records numbers.
#
# Knobs (environment):
#   AGENTLINE=build/agentline   BENCH_OUT=DIR (default: mktemp -d)
#   BENCH_ONLY=cps|conc         CPS_RATES="50 100 200 300 400 500 700 1000"
#   CPS_SECS=10                 CPS_PEERS="agentline sipp-uas baresip"
#   CONC_CALLS="100 500 1000"   CONC_PEERS="agentline sipp-uas-echo"
#   CONC_WINDOW=10 (capture seconds)   BENCH_KEEP_PCAP=1 (keep captures)
#   BENCH_PERF=1: profile agentline with perf (if installed) at its first
#   failing call rate and at the largest CONC_CALLS, after the capture
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
AGENTLINE=${AGENTLINE:-$ROOT/build/agentline}
PY=/usr/bin/python3
LIB="$PY $BENCH/benchlib.py"
OUT=${BENCH_OUT:-$(mktemp -d /tmp/agentline-bench.XXXXXX)}
[ -n "$OUT" ] || { echo "bench: no output directory" >&2; exit 1; }
RES=$OUT/results.jsonl
CPS_RATES=${CPS_RATES:-"50 100 200 300 400 500 700 1000"}
CPS_SECS=${CPS_SECS:-10}
CPS_PEERS=${CPS_PEERS:-"agentline sipp-uas baresip"}
CONC_CALLS=${CONC_CALLS:-"100 500 1000"}
CONC_PEERS=${CONC_PEERS:-"agentline sipp-uas-echo"}
CONC_WINDOW=${CONC_WINDOW:-10}
CONC_RAMP=50                       # calls per second while ramping up
BENCH_PERF=${BENCH_PERF:-1}
BENCH_ONLY=${BENCH_ONLY:-}

# loopback ports
AL_SIP=45070; BS_SIP=45072; UAS_SIP=45073; UAC_SIP=45090
UAC_MEDIA=47000                    # SIPp uac: media / rtp_stream socket
UAS_MEDIA=47100                   # SIPp uas -rtp_echo socket
AL_RTP_MIN=20000; AL_RTP_MAX=40000

mkdir -p "$OUT"
: > "$RES"
PIDS=()

die() { echo "bench: $*" >&2; exit 1; }
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

for t in sipp dumpcap sox ss; do
	command -v $t >/dev/null || die "$t missing (run scripts/setup.sh)"
done
[ -x "$AGENTLINE" ] || die "$AGENTLINE missing (run make build)"
[ -x "$PY" ] || die "$PY missing"
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge 4096 ] || die "ulimit -n is $(ulimit -n); need 4096+"

# CPU time of a process, all its threads, in ns; 0 once gone. This is what
# utime+stime count, read from schedstat because clock ticks (10 ms) are too
# coarse for a responder that spends 50 ms in a whole step.
cpu_ns()
{
	cat /proc/"$1"/task/*/schedstat 2>/dev/null |
		awk '{ s += $1 } END { printf "%.0f", s }'
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
now() { date +%s.%N; }
# CPU% of one core: pct NS0 NS1 T0 T1
pct() { awk -v a="$1" -v b="$2" -v t0="$3" -v t1="$4" \
	'BEGIN { d = t1 - t0; printf "%.2f", (d > 0 ? (b - a) / 1e7 / d : 0) }'; }

wait_udp()
{
	local port=$1 i
	for i in $(seq 100); do
		ss -Hlun "sport = :$port" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# --- responders ---------------------------------------------------------------

PEER_PID=
start_agentline()      # max_calls
{
	"$AGENTLINE" run --set sip_listen=udp:127.0.0.1:$AL_SIP \
		--set app=echo --set max_calls="$1" \
		--set rtp_port_min=$AL_RTP_MIN --set rtp_port_max=$AL_RTP_MAX \
		--set events_file="$OUT/events-$2.jsonl" --set log_level=warn \
		2>"$OUT/agentline-$2.err" &
	PEER_PID=$!
	PIDS+=("$PEER_PID")
	wait_udp $AL_SIP || die "agentline did not start (see $OUT/agentline-$2.err)"
}

start_sipp_uas()       # tag, extra options
{
	local tag=$1
	shift
	sipp -sn uas -i 127.0.0.1 -p $UAS_SIP -mp $UAS_MEDIA -cp 47890 \
		-nostdin "$@" >"$OUT/sipp-uas-$tag.log" 2>&1 &
	PEER_PID=$!
	PIDS+=("$PEER_PID")
	wait_udp $UAS_SIP || die "sipp uas did not start"
}

start_baresip()
{
	local d=$OUT/baresip
	mkdir -p "$d"
	# what baresip sends: a 3 s tone, longer than the 2 s hold
	sox -q -n -r 8000 -c 1 -b 16 -e signed "$d/in.wav" synth 3 sine 440 vol 0.5
	cat >"$d/config" <<-EOF
	poll_method		epoll
	sip_listen		127.0.0.1:$BS_SIP
	net_interface		127.0.0.1
	call_max_calls		4000
	audio_player		alsa,null
	audio_source		aufile,$d/in.wav
	rtp_ports		50000-60000
	module_path		/usr/lib/baresip/modules
	module			g711.so
	module			aufile.so
	module_app		account.so
	EOF
	# 1.0.0 core has no global auto-answer switch; the account does
	echo "<sip:echo@127.0.0.1>;regint=0;answermode=auto" >"$d/accounts"
	HOME=$d baresip -f "$d" </dev/null >"$OUT/baresip.log" 2>&1 &
	PEER_PID=$!
	PIDS+=("$PEER_PID")
	wait_udp $BS_SIP || die "baresip did not start (see $OUT/baresip.log)"
}

PEER_RC=
stop_peer()            # sets PEER_RC to the exit status
{
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 200); do       # agentline drains for drain_secs (10)
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	PEER_RC=$?
}

perf_report()          # perf.data out.txt: shares by library, then by symbol
{
	{
		echo "## by dso"
		perf report -i "$1" --stdio --no-children --sort dso \
			--percent-limit 0.5 2>/dev/null | grep -E '^ +[0-9]'
		echo "## by symbol"
		perf report -i "$1" --stdio --no-children --sort dso,symbol \
			--percent-limit 0.3 2>/dev/null | grep -E '^ +[0-9]'
	} >"$2"
}

# --- 1. call setup rate -------------------------------------------------------

cps_step()             # peer port user rate -> 0 if the step passed
{
	local peer=$1 port=$2 user=$3 rate=$4 m uac a0 a1 u0 u1 t0 t1 rc st
	local csv=$OUT/cps-$peer-$rate.csv
	m=$((rate * CPS_SECS))
	rm -f "$csv"
	sipp -sn uac "127.0.0.1:$port" -s "$user" -i 127.0.0.1 -p $UAC_SIP \
		-mp $UAC_MEDIA -cp 47888 -r "$rate" -l 4000 -m "$m" -d 2000 \
		-recv_timeout 10000 -timeout $((CPS_SECS + 60))s -nostdin \
		-trace_stat -fd 1 -stf "$csv" \
		>"$OUT/cps-$peer-$rate.log" 2>&1 &
	uac=$!
	PIDS+=("$uac")
	# CPU over the steady part: calls arriving at the rate, ~2 s worth up
	sleep 3
	a0=$(cpu_ns "$PEER_PID"); u0=$(cpu_ns $uac); t0=$(now)
	sleep $((CPS_SECS - 4))
	a1=$(cpu_ns "$PEER_PID"); u1=$(cpu_ns $uac); t1=$(now)
	wait $uac
	rc=$?
	st=$($LIB sippstat "$csv")
	$PY - "$peer" "$rate" "$m" "$rc" "$(pct "$a0" "$a1" "$t0" "$t1")" \
		"$(pct "$u0" "$u1" "$t0" "$t1")" "$st" >>"$RES" <<-'EOF'
	import json, sys
	peer, rate, m, rc, cpu, ucpu, st = sys.argv[1:]
	r = json.loads(st)
	r.update(bench="cps", peer=peer, rate=int(rate), calls=int(m),
	         sipp_rc=int(rc), cpu_pct=float(cpu), uac_cpu_pct=float(ucpu))
	r["pass"] = (r["sipp_rc"] == 0 and r["failed"] == 0 and
	             r["ok"] == r["calls"] and r["achieved"] >= 0.95 * r["rate"])
	print(json.dumps(r))
	EOF
	tail -1 "$RES" | $PY -c 'import json,sys; r=json.load(sys.stdin);
print("  %-9s %5d cps: achieved %.1f, ok %d/%d, failed %d, peer CPU %.1f%%, uac CPU %.1f%% -> %s"
 % (r["peer"], r["rate"], r["achieved"], r["ok"], r["calls"], r["failed"],
    r["cpu_pct"], r["uac_cpu_pct"], "pass" if r["pass"] else "FAIL"))' >&2
	tail -1 "$RES" | grep -q '"pass": true'
}

# profile agentline (perf, cpu-clock, 5 s) under a SIPp uac at RATE calls/s
cps_profile()          # rate
{
	local rate=$1 uac prof=$OUT/perf-agentline-cps-$1.txt
	command -v perf >/dev/null || return 0
	start_agentline 4000 cps-profile
	sipp -sn uac "127.0.0.1:$AL_SIP" -s agent -i 127.0.0.1 -p $UAC_SIP \
		-mp $UAC_MEDIA -cp 47888 -r "$rate" -l 4000 \
		-m $((rate * CPS_SECS)) -d 2000 -recv_timeout 10000 \
		-timeout $((CPS_SECS + 60))s -nostdin \
		>"$OUT/cps-profile-$rate.log" 2>&1 &
	uac=$!
	PIDS+=("$uac")
	sleep 3
	if perf record -q -e cpu-clock -F 999 -p "$PEER_PID" \
		-o "$OUT/perf-cps.data" -- sleep 5 >/dev/null 2>&1; then
		perf_report "$OUT/perf-cps.data" "$prof"
	else
		echo "perf record failed" >"$prof"
	fi
	wait $uac
	stop_peer "$PEER_PID"
	log "cps: profile at $rate cps in $prof (agentline exit $PEER_RC)"
}

bench_cps()
{
	local peer port user rate prof_rate
	for peer in $CPS_PEERS; do
		case $peer in
		agentline)
			start_agentline 4000 cps; port=$AL_SIP; user=agent ;;
		sipp-uas)
			start_sipp_uas cps; port=$UAS_SIP; user=agent ;;
		baresip)
			if ! command -v baresip >/dev/null; then
				log "baresip missing: skipped"; continue
			fi
			start_baresip; port=$BS_SIP; user=echo ;;
		*) die "unknown CPS peer $peer" ;;
		esac
		log "cps: $peer (pid $PEER_PID)"
		for rate in $CPS_RATES; do
			prof_rate=$rate
			cps_step "$peer" "$port" "$user" "$rate" || break
			sleep 1
		done
		stop_peer "$PEER_PID"
		log "cps: $peer stopped, exit $PEER_RC"
		sleep 1
		# where the time goes at the first failing (or the top) rate
		if [ "$peer" = agentline ] && [ "$BENCH_PERF" = 1 ]; then
			cps_profile "$prof_rate"
			sleep 1
		fi
	done
}

# --- 2. concurrent echo calls -------------------------------------------------

conc_run()             # peer calls
{
	local peer=$1 n=$2 port range filter ramp pause uac i up idle rss
	local a0 a1 u0 u1 t0 t1 rc st cap drops prof="" ex
	local csv=$OUT/conc-$peer-$n.csv pcap=$OUT/conc-$peer-$n.pcap
	case $peer in
	agentline)
		start_agentline 2000 "conc-$n"; port=$AL_SIP
		range=$AL_RTP_MIN-$AL_RTP_MAX ;;
	sipp-uas-echo)
		start_sipp_uas "echo-$n" -rtp_echo; port=$UAS_SIP
		range=$UAS_MEDIA-$UAS_MEDIA ;;
	*) die "unknown concurrency peer $peer" ;;
	esac
	# both directions: the responder's RTP and what the caller sent it
	filter="udp and ((src portrange $range and dst port $UAC_MEDIA) or"
	filter="$filter (src port $UAC_MEDIA and dst portrange $range))"
	sleep 1
	idle=$(rss_kb "$PEER_PID")
	ramp=$(( (n + CONC_RAMP - 1) / CONC_RAMP ))
	# every call stays up through the settle, capture and profile windows
	pause=$(( (ramp + 6 + CONC_WINDOW + 8) * 1000 ))
	log "conc: $peer, $n calls (ramp ${ramp}s, hold $((pause / 1000))s)"
	rm -f "$csv"
	(cd "$OUT" && exec sipp "127.0.0.1:$port" -sf "$BENCH/uac_rtp.xml" \
		-s agent -i 127.0.0.1 -p $UAC_SIP -mp $UAC_MEDIA -cp 47888 \
		-m "$n" -l "$n" -r $CONC_RAMP -d "$pause" \
		-recv_timeout 20000 -timeout $((ramp * 2 + pause / 1000 + 60))s \
		-nostdin -trace_stat -fd 1 -stf "$csv" \
		>"$OUT/conc-$peer-$n.log" 2>&1) &
	uac=$!
	PIDS+=("$uac")
	# wait for the ramp: until every call is up (or 10 s past the ramp)
	for i in $(seq $((ramp + 10))); do
		sleep 1
		[ $i -lt "$ramp" ] && continue
		up=$($LIB sippstat "$csv" 2>/dev/null | $PY -c \
			'import json,sys; print(json.load(sys.stdin)["current"])' \
			2>/dev/null || echo 0)
		[ "${up:-0}" -ge "$n" ] && break
	done
	sleep 2
	up=$($LIB sippstat "$csv" | $PY -c \
		'import json,sys; print(json.load(sys.stdin)["current"])')
	a0=$(cpu_ns "$PEER_PID"); u0=$(cpu_ns $uac); t0=$(now)
	dumpcap -q -i lo -P -s 96 -B 64 -f "$filter" \
		-a duration:"$CONC_WINDOW" -w "$pcap" 2>"$pcap.txt"
	a1=$(cpu_ns "$PEER_PID"); u1=$(cpu_ns $uac); t1=$(now)
	rss=$(rss_kb "$PEER_PID")
	drops=$(sed -n 's/.*received\/dropped on interface.*: [0-9]*\/\([0-9]*\).*/\1/p' \
		"$pcap.txt" | head -1)
	if [ "$BENCH_PERF" = 1 ] && [ "$peer" = agentline ] &&
	   [ "$n" = "${CONC_CALLS##* }" ] && command -v perf >/dev/null; then
		prof=$OUT/perf-agentline-$n.txt
		if perf record -q -e cpu-clock -F 999 -p "$PEER_PID" \
			-o "$OUT/perf.data" -- sleep 5 >/dev/null 2>&1; then
			perf_report "$OUT/perf.data" "$prof"
		else
			echo "perf record failed" >"$prof"
		fi
	fi
	wait $uac
	rc=$?
	stop_peer "$PEER_PID"
	ex=$PEER_RC
	st=$($LIB sippstat "$csv")
	log "conc: $peer $n: $st"
	$PY - "$peer" "$n" "$up" "$rc" "$(pct "$a0" "$a1" "$t0" "$t1")" \
		"$(pct "$u0" "$u1" "$t0" "$t1")" "$idle" "$rss" "${drops:-}" \
		"$ex" "$st" "$($LIB jitter "$pcap" 20 "$range")" \
		"$($LIB jitter "$pcap" 20 "$UAC_MEDIA")" "$prof" >>"$RES" <<-'EOF'
	import json, sys
	(peer, n, up, rc, cpu, ucpu, idle, rss, drops, ex, st, jit, jin,
	 prof) = sys.argv[1:]
	r = json.loads(st)
	r.update(bench="conc", peer=peer, calls=int(n), up=int(up),
	         sipp_rc=int(rc), cpu_pct=float(cpu), uac_cpu_pct=float(ucpu),
	         rss_idle_kb=int(idle), rss_kb=int(rss),
	         cap_drops=int(drops) if drops else None, exit=int(ex),
	         jitter=json.loads(jit), jitter_in=json.loads(jin),
	         perf=prof or None)
	print(json.dumps(r))
	EOF
	# the capture is large; keep it only when asked
	[ -n "${BENCH_KEEP_PCAP:-}" ] || rm -f "$pcap"
	sleep 1
}

bench_conc()
{
	local peer n
	[ -f "$OUT/bench_ulaw.wav" ] ||
		sox -q -n -r 8000 -c 1 -e u-law "$OUT/bench_ulaw.wav" \
			synth 10 sine 1000 vol 0.5 ||
		die "sox failed to make the u-law WAV"
	for n in $CONC_CALLS; do
		for peer in $CONC_PEERS; do
			conc_run "$peer" "$n"
		done
	done
}

# --- run ------------------------------------------------------------------------

# measure one binary throughout, even if the tree is rebuilt meanwhile
cp "$AGENTLINE" "$OUT/agentline" || die "cannot copy $AGENTLINE"
AGENTLINE_SRC=$AGENTLINE
AGENTLINE=$OUT/agentline

START=$(date +%s)
{
	echo "agentline benchmarks  $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
	echo "agentline: $AGENTLINE_SRC (HEAD $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'), built $(date -u -r "$AGENTLINE_SRC" '+%Y-%m-%d %H:%M UTC'), sha256 $(sha256sum "$AGENTLINE" | cut -c1-12))"
	echo "$(sipp -v 2>/dev/null | grep -o 'SIPp v[^ ]*' | head -1), baresip $(dpkg-query -W -f='${Version}' baresip-core 2>/dev/null || echo '?')"
} | tee "$OUT/machine.txt"

case $BENCH_ONLY in
cps) bench_cps ;;
conc) bench_conc ;;
"") bench_cps; bench_conc ;;
*) die "BENCH_ONLY is cps or conc" ;;
esac

$LIB table "$RES" | tee "$OUT/summary.txt"
for f in "$OUT"/perf-agentline-*.txt; do
	[ -f "$f" ] || continue
	echo
	case $f in
	*-cps-*) echo "perf (cpu-clock, 5 s) on agentline under SIPp uac at" \
		"$(basename "$f" .txt | sed 's/.*-//') calls/s: $f" ;;
	*) echo "perf (cpu-clock, 5 s) on agentline with" \
		"$(basename "$f" .txt | sed 's/.*-//') concurrent echo calls: $f" ;;
	esac
	sed -n '/^## by dso/,/^## by symbol/p' "$f" | sed -n '2,7p' |
		sed 's/^/  dso /'
	sed -n '/^## by symbol/,$p' "$f" | sed -n '2,13p' | cut -c1-90
done | tee -a "$OUT/summary.txt"
echo
echo "took $(( $(date +%s) - START )) s; raw results in $OUT"
