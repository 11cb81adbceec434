#!/usr/bin/python3
"""Helpers for bench/run.sh (Python 3 standard library only).

  benchlib.py sippstat CSV...           totals of SIPp -trace_stat files (JSON)
  benchlib.py jitter PCAP [PTIME_MS [LO-HI]]
                                        RTP pacing of every stream (only
                                        packets from source ports LO..HI)
  benchlib.py table RESULTS.jsonl       summary tables and ratios

Every measurement is a JSON object on one line of RESULTS.jsonl; the
table command only formats what run.sh recorded.
"""

import json
import statistics
import struct
import sys


# -- SIPp statistics ---------------------------------------------------------

def _epoch(field):
    """SIPp writes a time as 'YYYY-MM-DD<TAB>HH:MM:SS.us<TAB>epoch'."""
    return float(field.split("\t")[-1])


def sippstat(paths):
    """Sums the final rows of one or more SIPp stat files.

    created/ok/failed/retrans come from the last row; 'achieved' is the
    creation rate between the first and last row taken while calls were
    still being created (per-second rows, so whole seconds are measured).
    'current' is the sum of the newest rows' CurrentCall.
    """
    out = {"created": 0, "ok": 0, "failed": 0, "retrans": 0,
           "current": 0, "achieved": 0.0}
    for path in paths:
        with open(path, encoding="latin-1") as f:
            lines = [l.rstrip("\n") for l in f if l.strip()]
        if len(lines) < 2:
            continue
        head = lines[0].rstrip(";").split(";")
        rows = [dict(zip(head, l.rstrip(";").split(";"))) for l in lines[1:]]
        last = rows[-1]
        total = int(last["TotalCallCreated"])
        out["created"] += total
        out["ok"] += int(last["SuccessfulCall(C)"])
        out["failed"] += int(last["FailedCall(C)"])
        out["retrans"] += int(last["Retransmissions(C)"])
        out["current"] += int(last["CurrentCall"])
        # rows strictly inside the creation phase
        ramp = [(_epoch(r["CurrentTime"]), int(r["TotalCallCreated"]))
                for r in rows if 0 < int(r["TotalCallCreated"]) < total]
        if len(ramp) >= 2 and ramp[-1][0] > ramp[0][0]:
            out["achieved"] += ((ramp[-1][1] - ramp[0][1]) /
                                (ramp[-1][0] - ramp[0][0]))
    out["achieved"] = round(out["achieved"], 1)
    return out


# -- pcap reading --------------------------------------------------------------

def read_pcap(path):
    """Yields (time_s, src, dst, udp_payload) for IPv4/IPv6 UDP packets."""
    with open(path, "rb") as f:
        gh = f.read(24)
        if len(gh) < 24:
            return
        magic = struct.unpack("<I", gh[:4])[0]
        if magic in (0xa1b2c3d4, 0xa1b23c4d):
            end = "<"
        elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
            end = ">"
        else:
            raise SystemExit("%s: not a classic pcap file (use dumpcap -P)"
                             % path)
        tdiv = 1e9 if magic in (0xa1b23c4d, 0x4d3cb2a1) else 1e6
        linktype = struct.unpack(end + "I", gh[20:24])[0]
        l2 = {1: 14, 113: 16, 276: 20, 0: 4, 101: 0}.get(linktype)
        if l2 is None:
            raise SystemExit("%s: link type %d not handled" % (path, linktype))
        rec = struct.Struct(end + "IIII")
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            sec, frac, incl, _ = rec.unpack(h)
            data = f.read(incl)
            ip = data[l2:]
            if not ip:
                continue
            ver = ip[0] >> 4
            if ver == 4:
                ihl = (ip[0] & 15) * 4
                if ip[9] != 17:
                    continue
                src_ip, dst_ip = ip[12:16], ip[16:20]
                udp = ip[ihl:]
            elif ver == 6:
                if ip[6] != 17:
                    continue
                src_ip, dst_ip = ip[8:24], ip[24:40]
                udp = ip[40:]
            else:
                continue
            if len(udp) < 8:
                continue
            sport, dport = struct.unpack("!HH", udp[:4])
            yield (sec + frac / tdiv, (src_ip, sport), (dst_ip, dport),
                   udp[8:])


def _pct(sorted_vals, p):
    if not sorted_vals:
        return 0.0
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 *
                                                   (len(sorted_vals) - 1)))))
    return sorted_vals[k]


def jitter(path, ptime_ms=20.0, sports=None):
    """Pacing of each outbound RTP stream in a capture.

    A stream is (source, destination, SSRC). For each stream the intervals
    between consecutive packets are compared with the packet time; the
    deviations of all streams are pooled for p50/p99/max. A 'burst' is an
    interval below half the packet time. 'drift' compares a stream's
    packet count with its duration: (packets - 1) * ptime / duration.
    sports=(lo, hi) keeps packets whose UDP source port is in lo..hi.
    'tick' clusters all packets separated by gaps under 2 ms: for a
    sender that serves every stream from one timer, its span is the time
    one tick takes to send everything.
    """
    streams = {}
    times = []
    rtcp = 0
    for t, src, dst, pl in read_pcap(path):
        if len(pl) < 12 or pl[0] >> 6 != 2:
            continue
        if sports and not sports[0] <= src[1] <= sports[1]:
            continue
        if 72 <= (pl[1] & 0x7f) <= 76:          # RTCP SR/RR/SDES/BYE/APP
            rtcp += 1
            continue
        seq, _, ssrc = struct.unpack("!HII", pl[2:12])
        streams.setdefault((src, dst, ssrc), []).append((t, seq))
        times.append(t)

    pt = ptime_ms / 1000.0
    devs, worst_p99 = [], 0.0
    bursts = streams_burst = gaps = 0
    counts, drifts = [], []
    for pkts in streams.values():
        if len(pkts) < 3:
            continue
        pkts.sort()
        sdev = []
        for (t0, s0), (t1, s1) in zip(pkts, pkts[1:]):
            iv = t1 - t0
            sdev.append(abs(iv - pt) * 1000.0)
            if iv < pt / 2:
                bursts += 1
            gaps += max(0, ((s1 - s0) & 0xffff) - 1)
        if any(b - a < pt / 2 for (a, _), (b, _) in zip(pkts, pkts[1:])):
            streams_burst += 1
        devs.extend(sdev)
        sdev.sort()
        worst_p99 = max(worst_p99, _pct(sdev, 99))
        counts.append(len(pkts))
        dur = pkts[-1][0] - pkts[0][0]
        if dur > 0:
            drifts.append((len(pkts) - 1) * pt / dur)
    devs.sort()

    times.sort()
    spans, sizes = [], []
    if times:
        start = prev = times[0]
        n = 1
        for t in times[1:]:
            if t - prev > 0.002:
                spans.append((prev - start) * 1000.0)
                sizes.append(n)
                start, n = t, 0
            prev = t
            n += 1
        spans.append((prev - start) * 1000.0)
        sizes.append(n)
    spans.sort()

    window = (times[-1] - times[0]) if len(times) > 1 else 0.0
    counts.sort()
    return {
        "streams": len(counts),
        "packets": len(times),
        "rtcp": rtcp,
        "window_s": round(window, 3),
        "expected_per_stream": round(window / pt, 1) if window else 0,
        "pkts_min": counts[0] if counts else 0,
        "pkts_median": statistics.median(counts) if counts else 0,
        "pkts_max": counts[-1] if counts else 0,
        "dev_p50_ms": round(_pct(devs, 50), 3),
        "dev_p99_ms": round(_pct(devs, 99), 3),
        "dev_max_ms": round(devs[-1], 3) if devs else 0.0,
        "worst_stream_p99_ms": round(worst_p99, 3),
        "bursts": bursts,
        "streams_with_burst": streams_burst,
        "seq_gaps": gaps,
        "drift_min": round(min(drifts), 5) if drifts else 0,
        "drift_max": round(max(drifts), 5) if drifts else 0,
        "tick_span_p50_ms": round(_pct(spans, 50), 3),
        "tick_span_max_ms": round(spans[-1], 3) if spans else 0.0,
        "tick_size_median": statistics.median(sizes) if sizes else 0,
    }


# -- summary ----------------------------------------------------------------

def _fmt(v, nd=1):
    if v is None or v == "":
        return "-"
    if isinstance(v, float):
        return ("%%.%df" % nd) % v
    return str(v)


def _print_table(title, cols, rows):
    print("\n" + title)
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
              for i, c in enumerate(cols)]
    line = "  ".join(c.rjust(w) for c, w in zip(cols, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths)))


def _ratio(a, b):
    try:
        return "%.2f" % (float(a) / float(b)) if float(b) else "-"
    except (TypeError, ValueError):
        return "-"


def table(path):
    recs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                recs.append(json.loads(line))

    steps = [r for r in recs if r.get("bench") == "cps"]
    if steps:
        rows = []
        for r in steps:
            rows.append([r["peer"], str(r["rate"]), _fmt(r["achieved"]),
                         "%d/%d" % (r["ok"], r["created"]), str(r["failed"]),
                         str(r["retrans"]),
                         _fmt(r["cpu_pct"], 2), _fmt(r["uac_cpu_pct"], 2),
                         "pass" if r["pass"] else "FAIL"])
        _print_table("Benchmark 1: call setup rate (SIPp uac, 2 s hold, "
                     "steps of ~10 s)",
                     ["peer", "target cps", "achieved", "ok/created",
                      "failed", "retrans", "peer CPU%",
                      "uac CPU%", "verdict"], rows)
        best = {}
        for r in steps:
            if r["pass"] and r["achieved"] >= best.get(r["peer"], {}).get(
                    "achieved", -1):
                best[r["peer"]] = r
        peers = []
        for r in steps:
            if r["peer"] not in peers:
                peers.append(r["peer"])
        rows = []
        ref = best.get("sipp-uas")
        for p in peers:
            b = best.get(p)
            if not b:
                rows.append([p, "none", "-", "-", "-", "-"])
                continue
            rows.append([p, str(b["rate"]), _fmt(b["achieved"]),
                         _fmt(b["cpu_pct"]),
                         _ratio(b["achieved"], ref["achieved"]) if ref
                         else "-",
                         _ratio(b["cpu_pct"] / max(b["achieved"], 1e-9),
                                ref["cpu_pct"] / max(ref["achieved"], 1e-9))
                         if ref and ref["cpu_pct"] else "-"])
        _print_table("Max sustained rate with zero failures",
                     ["peer", "max cps step", "achieved cps", "peer CPU%",
                      "rate / sipp-uas", "CPU per call / sipp-uas"], rows)

    conc = [r for r in recs if r.get("bench") == "conc"]
    if conc:
        rows = []
        for r in conc:
            j = r.get("jitter", {})
            rows.append([r["peer"], str(r["calls"]), str(r["up"]),
                         "%d/%d" % (r["ok"], r["created"]), str(r["failed"]),
                         _fmt(r["cpu_pct"]),
                         _fmt(r["cpu_pct"] / max(r["up"], 1), 3),
                         _fmt(r["rss_idle_kb"] / 1024.0),
                         _fmt(r["rss_kb"] / 1024.0),
                         _fmt((r["rss_kb"] - r["rss_idle_kb"]) /
                              max(r["up"], 1), 0),
                         _fmt(r["uac_cpu_pct"]),
                         str(r.get("exit", "-"))])
        _print_table("Benchmark 2: concurrent echo calls, RTP both ways "
                     "(10 s window with all calls up)",
                     ["peer", "calls", "up", "ok/created", "failed",
                      "CPU%", "CPU%/call", "RSS idle MB", "RSS MB",
                      "KB/call", "uac CPU%", "exit"], rows)
        rows = []
        for r, who, j in [x for r in conc for x in
                          ((r, r["peer"], r.get("jitter", {})),
                           (r, "  caller->" + r["peer"],
                            r.get("jitter_in")))
                          if x[2]]:
            rows.append([who, str(r["calls"]), str(j.get("streams")),
                         "%s/%s/%s" % (j.get("pkts_min"),
                                       _fmt(j.get("pkts_median"), 0),
                                       j.get("pkts_max")),
                         _fmt(j.get("expected_per_stream"), 0),
                         _fmt(j.get("dev_p50_ms"), 3),
                         _fmt(j.get("dev_p99_ms"), 3),
                         _fmt(j.get("dev_max_ms"), 2),
                         str(j.get("bursts")), str(j.get("seq_gaps")),
                         "%s..%s" % (j.get("drift_min"), j.get("drift_max")),
                         _fmt(j.get("tick_span_p50_ms"), 2),
                         str(r.get("cap_drops", "-"))])
        _print_table("RTP pacing: deviation of each inter-packet interval "
                     "from 20 ms (peer = what the responder sent; caller = "
                     "what SIPp's rtp_stream sent it)",
                     ["peer", "calls", "streams", "pkts min/med/max",
                      "expected", "p50 ms", "p99 ms", "max ms", "bursts<10ms",
                      "seq gaps", "drift", "tick span ms", "cap drops"],
                     rows)
        rows = []
        by = {(r["peer"], r["calls"]): r for r in conc}
        for (peer, n), r in sorted(by.items(), key=lambda x: x[0][1]):
            ref = by.get(("sipp-uas-echo", n))
            if peer == "sipp-uas-echo" or not ref:
                continue
            rk = (r["rss_kb"] - r["rss_idle_kb"]) / max(r["up"], 1)
            ek = (ref["rss_kb"] - ref["rss_idle_kb"]) / max(ref["up"], 1)
            rows.append([peer, str(n), _ratio(r["cpu_pct"], ref["cpu_pct"]),
                         _ratio(rk, ek),
                         _ratio(r["jitter"].get("dev_p99_ms"),
                                ref["jitter"].get("dev_p99_ms"))])
        if rows:
            _print_table("Ratios, same run (agentline / SIPp uas -rtp_echo)",
                         ["peer", "calls", "CPU", "RSS per call",
                          "pacing p99"], rows)
    targets(recs)


def targets(recs):
    """The project's targets for agentline, checked against this run."""
    out = []
    best = max([r["achieved"] for r in recs if r.get("bench") == "cps" and
                r["peer"] == "agentline" and r["pass"]] or [0.0])
    if any(r.get("bench") == "cps" and r["peer"] == "agentline"
           for r in recs):
        out.append(("calls/s >= 500 with zero failures", "%.0f" % best,
                    best >= 500))
    big = [r for r in recs if r.get("bench") == "conc" and
           r["peer"] == "agentline" and r["calls"] == 1000]
    if big:
        r = big[0]
        kb = (r["rss_kb"] - r["rss_idle_kb"]) / max(r["up"], 1)
        p99 = r.get("jitter", {}).get("dev_p99_ms", 1e9)
        out.append(("1000 concurrent echo calls, zero failed",
                    "%d up, %d failed" % (r["up"], r["failed"]),
                    r["up"] >= 1000 and r["failed"] == 0))
        out.append(("RSS per call <= 1 MB (1024 KB)", "%.0f KB" % kb,
                    kb <= 1024))
        out.append(("outbound pacing jitter p99 <= 1 ms", "%.3f ms" % p99,
                    p99 <= 1.0))
    if out:
        _print_table("Targets (agentline)", ["target", "measured", "met"],
                     [[t, m, "yes" if ok else "NO"] for t, m, ok in out])


def main(argv):
    if len(argv) >= 3 and argv[1] == "sippstat":
        print(json.dumps(sippstat(argv[2:])))
    elif len(argv) >= 3 and argv[1] == "jitter":
        sports = None
        if len(argv) > 4:
            lo, _, hi = argv[4].partition("-")
            sports = (int(lo), int(hi or lo))
        print(json.dumps(jitter(argv[2], float(argv[3]) if len(argv) > 3
                                else 20.0, sports)))
    elif len(argv) == 3 and argv[1] == "table":
        table(argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
