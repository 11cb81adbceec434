#!/usr/bin/python3
"""agentline calling agentline: the quickest way to see the main job work.

Starts the default agent (brain = playbook: the offline receptionist) on
loopback with free ports and a temporary data_dir, places a call to it from
a second agentline whose brain reads a bundled caller script (a caller
leaving a message), prints the conversation as it happens (who said what,
and when), then the message the receptionist stored.

    make demo                       (or: agentline demo)
    scripts/demo.py [AGENTLINE] [--script FILE] [--keep] [--set k=v]...

--set applies to the receptionist (e.g. --set greeting_owner=Kim).
Standard library only."""
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LOOPBACK = "127.0.0.1"


def free_port():
    """A port free for both UDP and TCP on loopback."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK, 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind((LOOPBACK, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def free_rtp_range(count=40):
    """An even-aligned range of free UDP ports for RTP."""
    import random
    for _ in range(200):
        lo = random.randrange(20000, 59000 - count) & ~1
        socks = []
        try:
            for p in range(lo, lo + count):
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(u)
                u.bind((LOOPBACK, p))
            return lo, lo + count - 1
        except OSError:
            continue
        finally:
            for u in socks:
                u.close()
    raise RuntimeError("no free RTP range")


def has_key(binary, key):
    out = subprocess.run([binary, "--help"], capture_output=True,
                         text=True).stdout
    return any(line.split()[:1] == [key] for line in out.splitlines())


class Tail:
    """New complete JSON lines of a growing file."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.buf = ""

    def read(self):
        try:
            with open(self.path) as f:
                f.seek(self.pos)
                data = f.read()
                self.pos = f.tell()
        except OSError:
            return []
        self.buf += data
        out = []
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out


def greeting_of(extra):
    """What the receptionist says first: greeting_incoming if set, else
    the playbook's greeting, then the receptionist's first question (the
    caller's transcript of it would be the recogniser's first, weakest
    utterance)."""
    sets = dict(kv.split("=", 1) for kv in extra if "=" in kv)
    owner = sets.get("greeting_owner", "Sam")
    g = sets.get("greeting_incoming")
    if g is None:
        name = sets.get("playbook", "reception")
        for d in (sets.get("playbooks_dir"), os.path.join(ROOT, "playbooks")):
            path = os.path.join(d, name + ".txt") if d else None
            if path and os.path.exists(path):
                with open(path) as f:
                    for line in f:
                        if not line.strip():
                            break
                        if line.startswith("greeting:"):
                            g = line.split(":", 1)[1].strip()
                break
    g = (g or "").replace("{owner}", owner)
    return (g + " " if g else "") + "May I have your name, please?"


PROCS = []


def _die_with_parent():
    """In the child: get SIGTERM when the demo dies, however it dies."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PDEATHSIG
    except Exception:
        pass


def start(argv, log):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                         stderr=open(log, "wb"), start_new_session=True,
                         preexec_fn=_die_with_parent)
    PROCS.append(p)
    return p


def stop(p, timeout=10):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def main(argv):
    binary = os.path.join(ROOT, "build", "agentline")
    script = os.path.join(ROOT, "playbooks", "scripts", "caller-message.txt")
    keep = False
    extra = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--script":
            i += 1
            script = os.path.abspath(argv[i])
        elif a == "--keep":
            keep = True
        elif a == "--set":
            i += 1
            extra.append(argv[i])
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            binary = os.path.abspath(a)
        i += 1
    if not os.access(binary, os.X_OK):
        print("demo: %s not found (run make build)" % binary,
              file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="agentline-demo-")
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    store = has_key(binary, "data_dir")

    port = free_port()
    lo, hi = free_rtp_range()
    rx_events = os.path.join(tmp, "receptionist.jsonl")
    rx = [binary, "run"]
    sets = {"sip_listen": "udp:%s:%d" % (LOOPBACK, port),
            "rtp_port_min": lo, "rtp_port_max": hi,
            "events_file": rx_events, "greeting_owner": "Sam",
            "drain_secs": 1}
    if store:
        sets["data_dir"] = data
    for k, v in sets.items():
        rx += ["--set", "%s=%s" % (k, v)]
    for kv in extra:
        rx += ["--set", kv]

    cport = free_port()
    clo, chi = free_rtp_range()
    tx_events = os.path.join(tmp, "caller.jsonl")
    tx = [binary, "call", "sip:reception@%s:%d" % (LOOPBACK, port),
          "--duration", "150"]
    for k, v in {"sip_listen": "udp:%s:%d" % (LOOPBACK, cport),
                 "rtp_port_min": clo, "rtp_port_max": chi,
                 "events_file": tx_events, "brain": "script:" + script,
                 "barge_in_mode": "off", "filler_delay_ms": 0,
                 "tts_voice": "slt",
                 "silence_reprompt_secs": 0, "drain_secs": 1}.items():
        tx += ["--set", "%s=%s" % (k, v)]

    print("agentline demo: a receptionist (brain = playbook) and a caller "
          "(brain = script:%s)\non loopback; files in %s\n"
          % (os.path.basename(script), tmp))
    rxlog = os.path.join(tmp, "receptionist.log")
    rxp = start(rx, rxlog)
    t_end = time.monotonic() + 30
    while time.monotonic() < t_end:
        with open(rxlog, errors="replace") as f:
            if "agentline ready" in f.read():
                break
        if rxp.poll() is not None:
            break
        time.sleep(0.05)
    else:
        pass
    if rxp.poll() is not None:
        print("demo: the receptionist did not start:\n" +
              open(rxlog, errors="replace").read(), file=sys.stderr)
        return 1

    txp = start(tx, os.path.join(tmp, "caller.log"))
    rtail, ttail = Tail(rx_events), Tail(tx_events)
    t0 = None
    greeted = False

    def stamp(e):
        return "%6.1fs" % (e["ts"] - t0) if t0 else "   -  "

    deadline = time.monotonic() + 200
    while time.monotonic() < deadline:
        evs = [("R", e) for e in rtail.read()] + \
              [("C", e) for e in ttail.read()]
        evs.sort(key=lambda x: x[1].get("ts", 0))
        for who, e in evs:
            kind = e.get("event")
            if kind == "call_answered" and who == "R":
                t0 = e["ts"]
                print("%s  call answered (%s%s)" % (
                    stamp(e), e.get("codec"),
                    ", SRTP" if e.get("srtp") else ""))
            elif kind == "turn" and who == "C":
                if not greeted:
                    greeted = True
                    print("%s  Receptionist: %s" % ("%6.1fs" % 0.0,
                                                    greeting_of(extra)))
                if e.get("reply"):
                    print("%s  Caller:       %s" % (stamp(e),
                                                    e.get("reply")))
            elif kind == "turn" and who == "R":
                print("%s                (the receptionist heard: \"%s\")"
                      % (stamp(e), e.get("transcript")))
                if e.get("reply"):
                    print("%s  Receptionist: %s   [answered in %s ms]" % (
                        stamp(e), e.get("reply"),
                        e.get("voice_to_voice_ms")))
            elif kind == "dtmf" and who == "R":
                print("%s  (keypad digit received)" % stamp(e))
            elif kind == "message_taken" and who == "R":
                print("%s  (message stored)" % stamp(e))
            elif kind == "call_ended" and who == "R":
                print("%s  call ended (%s)" % (stamp(e), e.get("reason")))
        sys.stdout.flush()
        if txp.poll() is not None and not evs:
            break
        time.sleep(0.2)
    stop(txp)

    time.sleep(0.5)
    print("\nThe stored message:")
    msgs = []
    db = os.path.join(data, "agentline.db")
    if store and os.path.exists(db):
        c = sqlite3.connect(db, timeout=5)
        c.row_factory = sqlite3.Row
        msgs = [dict(r) for r in c.execute(
            "SELECT name, callback, text, audio_path FROM messages "
            "ORDER BY id")]
        c.close()
    else:
        for e in Tail(rx_events).read():
            if e.get("event") == "message_taken" and "name" in e:
                msgs.append(e)
    for m in msgs:
        print("  name:     %s\n  callback: %s\n  message:  %s\n  audio:    %s"
              % (m.get("name"), m.get("callback"), m.get("text"),
                 m.get("audio_path") or "-"))
    if not msgs:
        print("  (none: see %s)" % rxlog)
    stop(rxp)
    if keep or not msgs:
        print("\nfiles kept in %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if msgs else 1


if __name__ == "__main__":
    rc = 1
    try:
        rc = main(sys.argv[1:])
    except KeyboardInterrupt:
        print("\ndemo: interrupted", file=sys.stderr)
    except BrokenPipeError:
        pass
    finally:
        for proc in PROCS:
            try:
                stop(proc, 5)
            except Exception:
                pass
    sys.exit(rc)
