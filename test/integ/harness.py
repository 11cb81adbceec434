"""Integration test harness: drives agentline against real peers on loopback.

Peers: SIPp (sip-tester), baresip (baresip-core), Kamailio.  Every process
is started in its own process group, with PDEATHSIG so that it dies with the
test, and is stopped (SIGTERM, then SIGKILL) when the test ends, whichever way
it ends.  Everything is written into one temp dir per test, kept when the test
fails (its path is printed) and removed when it passes.

Standard library only (Debian's /usr/bin/python3).

Usage from a test script:

    import harness
    t = harness.Test("sipp_basic")          # parses argv: AGENTLINE SRCDIR
    al = t.agentline(app="echo")            # started, "agentline ready" seen
    r = t.sipp("uac_basic.xml", al.sip_udp, calls=3, duration_ms=2000)
    t.check(r.ok and r.successful == 3, "3 calls succeeded", r)
    t.finish()                               # exit 0 or 1
"""

import atexit
import contextlib
import ctypes
import glob
import hashlib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIOS = os.path.join(HERE, "scenarios")
SIPP_PCAPS = "/usr/share/sip-tester"
LOOPBACK = "127.0.0.1"

# ---------------------------------------------------------------- processes

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
_procs = []          # every Proc started, for cleanup


def _child_setup():
    """In the child: own process group (os.setsid via start_new_session) and
    die with the parent, so a killed test leaves no orphans."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Proc:
    """A child process in its own process group, output going to files."""

    def __init__(self, name, argv, cwd, env=None, stdin=subprocess.DEVNULL,
                 log_dir=None):
        self.name = name
        self.argv = [str(a) for a in argv]
        log_dir = log_dir or cwd
        self.out_path = os.path.join(log_dir, name + ".out")
        self.err_path = os.path.join(log_dir, name + ".err")
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        # agentline reads AGENTLINE_<KEY>: keep the caller's out of the test
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith("AGENTLINE_")}
        if env:
            full_env.update(env)
        self.p = subprocess.Popen(self.argv, cwd=cwd, env=full_env,
                                  stdin=stdin, stdout=self._out,
                                  stderr=self._err, start_new_session=True,
                                  preexec_fn=_child_setup)
        self.pid = self.p.pid
        _procs.append(self)

    def alive(self):
        return self.p.poll() is None

    def wait(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def send_signal(self, sig):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, sig)

    def kill_group(self, sig=signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def stop(self, timeout=10, sig=signal.SIGTERM):
        """SIGTERM the leader, wait, then SIGKILL the whole group.
        Returns the exit code (negative = signal) or None if it had to be
        killed."""
        rc = self.p.poll()
        if rc is None:
            self.send_signal(sig)
            rc = self.wait(timeout)
        # whatever is left in the group (Kamailio children, sipp threads)
        self.kill_group(signal.SIGKILL)
        if rc is None:
            self.wait(5)
        self._close()
        return rc

    def _close(self):
        for f in (self._out, self._err):
            with contextlib.suppress(Exception):
                f.close()

    def stdout(self):
        return _read(self.out_path)

    def stderr(self):
        return _read(self.err_path)


def _read(path, limit=None):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    if limit and len(text) > limit:
        text = "...\n" + text[-limit:]
    return text


def cleanup_all():
    for pr in reversed(_procs):
        with contextlib.suppress(Exception):
            if pr.alive():
                pr.stop(timeout=3)
            else:
                pr.kill_group(signal.SIGKILL)
                pr._close()
    _procs.clear()


atexit.register(cleanup_all)


def _on_signal(signum, frame):
    cleanup_all()
    os._exit(128 + signum)


for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_s, _on_signal)

# -------------------------------------------------------------------- ports

_taken = set()


def free_port(tcp=True, udp=True, host=LOOPBACK):
    """A port free for TCP and/or UDP on host.  Drawn at random above the
    kernel's ephemeral range (32768-60999 here): a port the kernel handed
    out for bind(0) is soon handed to some other test's outgoing
    connection, and a peer started a moment later then fails with
    "Address already in use"."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(500):
        port = random.randrange(61000, 65535)
        if port in _taken:
            continue
        socks = []
        ok = True
        kinds = ([socket.SOCK_STREAM] if tcp else []) + \
            ([socket.SOCK_DGRAM] if udp else [])
        for kind in kinds:
            x = socket.socket(fam, kind)
            socks.append(x)
            try:
                x.bind((host, port))
            except OSError:
                ok = False
                break
        for x in socks:
            x.close()
        if ok:
            _taken.add(port)
            return port
    raise RuntimeError("no free port")


def free_port_range(count, step=2, lo=20000, hi=59000, host=LOOPBACK):
    """A random block of count UDP ports (even start) that are free now."""
    for _ in range(200):
        base = random.randrange(lo, hi - count) & ~1
        ports = range(base, base + count)
        if any(p in _taken for p in ports):
            continue
        socks = []
        ok = True
        for p in ports[::step] if step > 1 else ports:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                u.bind((host, p))
            except OSError:
                ok = False
            socks.append(u)
            if not ok:
                break
        for u in socks:
            u.close()
        if ok:
            _taken.update(ports)
            return base, base + count - 1
    raise RuntimeError("no free port range")


def wait_for(pred, timeout, interval=0.05):
    """Poll pred() until it returns a true value or timeout; return it."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            return v
        time.sleep(interval)


def wait_port(host, port, timeout=10):
    def ok():
        with contextlib.suppress(OSError):
            with socket.create_connection((host, port), timeout=0.5):
                return True
        return False
    return wait_for(ok, timeout, 0.1)

# ----------------------------------------------------------------- agentline


class Agentline:
    """One `agentline run` process with its own events file."""

    def __init__(self, test, name, sets, ready_timeout=20, extra_args=(),
                 expect_ready=True):
        self.test = test
        self.name = name
        self.events_path = os.path.join(test.dir, name + ".events.jsonl")
        self.sets = dict(sets)
        self.sets.setdefault("events_file", self.events_path)
        self.events_path = self.sets["events_file"]
        argv = [test.agentline_bin, "run"]
        for k, v in self.sets.items():
            argv += ["--set", "%s=%s" % (k, v)]
        argv += list(extra_args)
        self.argv = argv
        env = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=23",
               "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
        self.proc = Proc(name, argv, cwd=test.dir, env=env)
        self.ready = False
        if expect_ready:
            self.ready = bool(wait_for(
                lambda: "agentline ready" in self.log() or not self.proc.alive(),
                ready_timeout, 0.05)) and "agentline ready" in self.log()
            if not self.ready:
                raise HarnessError("%s did not log 'agentline ready' within %ss"
                                   "\n--- log ---\n%s" % (
                                       name, ready_timeout, self.log(4000)))

    def log(self, limit=None):
        return _read(self.proc.err_path, limit)

    def alive(self):
        return self.proc.alive()

    def events(self):
        """All events so far (JSON lines; a partial last line is skipped)."""
        out = []
        for line in _read(self.events_path).splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                self.test.note("bad JSON line in events file: %r" % line)
        return out

    def events_of(self, kind):
        return [e for e in self.events() if e.get("event") == kind]

    def wait_events(self, kind, count=1, timeout=10):
        return wait_for(lambda: len(self.events_of(kind)) >= count and
                        self.events_of(kind), timeout) or self.events_of(kind)

    def stop(self, timeout=None):
        drain = int(self.sets.get("drain_secs", 10))
        return self.proc.stop(timeout=timeout or drain + 10)

    def sanitizer_report(self):
        log = self.log()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                       "runtime error:", "ERROR: UndefinedBehaviorSanitizer"):
            if marker in log:
                i = log.index(marker)
                return log[max(0, i - 200):i + 3000]
        return None

# ---------------------------------------------------------------------- SIPp


class SippResult:
    def __init__(self, rc, stats, errors, out, logs, msgs, timed_out):
        self.rc = rc
        self.stats = stats
        self.errors = errors
        self.out = out
        self.logs = logs
        self.messages = msgs
        self.timed_out = timed_out

    def stat(self, key):
        v = self.stats.get(key)
        try:
            return int(v)
        except (TypeError, ValueError):
            return None

    @property
    def successful(self):
        return self.stat("SuccessfulCall(C)")

    @property
    def failed(self):
        return self.stat("FailedCall(C)")

    @property
    def ok(self):
        return self.rc == 0 and not self.timed_out

    def __str__(self):
        return ("sipp rc=%s timed_out=%s successful=%s failed=%s\n"
                "--- sipp errors ---\n%s\n--- sipp stdout/stderr (tail) ---\n%s"
                % (self.rc, self.timed_out, self.successful, self.failed,
                   self.errors[-4000:], self.out[-2500:]))


def parse_sipp_stats(path):
    """Last row of a -trace_stat CSV as {column: value}."""
    text = _read(path)
    rows = [r for r in text.splitlines() if r.strip()]
    if len(rows) < 2:
        return {}
    head = rows[0].rstrip(";").split(";")
    last = rows[-1].rstrip(";").split(";")
    return dict(zip(head, last))

# ------------------------------------------------------------------- baresip


BARESIP_MODULES = "/usr/lib/baresip/modules"


class Baresip:
    """baresip 1.0.0 headless: aufile source, sndfile recorder, null player.

    Calls with `-e /dial URI -t SECONDS` (exits by itself after SECONDS)."""

    def __init__(self, test, name, dial, seconds, source_wav, codecs,
                 extra_cfg=""):
        self.test = test
        self.name = name
        self.home = os.path.join(test.dir, name)
        self.conf = os.path.join(self.home, ".baresip")
        self.rec = os.path.join(self.home, "rec")
        os.makedirs(self.conf, exist_ok=True)
        os.makedirs(self.rec, exist_ok=True)
        self.port = free_port()
        mods = ["g711", "g722"]
        mods = [m for m in mods if m in codecs] or ["g711"]
        cfg = """# generated by test/integ/harness.py
poll_method		epoll
sip_listen		127.0.0.1:%(port)d
sip_trans_def		udp
net_interface		127.0.0.1
audio_player		null,null
audio_source		aufile,%(src)s
audio_alert		null,null
audio_srate		%(srate)d
ausrc_srate		%(srate)d
auplay_srate		%(srate)d
ausrc_channels		1
auplay_channels		1
audio_buffer		20-160
rtp_ports		%(rtp_lo)d-%(rtp_hi)d
rtcp_mux		no
jitter_buffer_type	fixed
jitter_buffer_delay	1-10
module_path		%(modpath)s
%(mods)s
module			aufile.so
module			sndfile.so
module			menu.so
module_app		account.so
module_app		contact.so
snd_path		%(rec)s
call_local_timeout	30
call_max_calls		4
sip_verify_server	no
%(extra)s
""" % {"port": self.port, "src": source_wav, "srate": 16000 if codecs == ["g722"] else 8000,
       "rtp_lo": 0, "rtp_hi": 0, "modpath": BARESIP_MODULES,
       "mods": "\n".join("module\t\t\t%s.so" % m for m in mods),
       "rec": self.rec, "extra": extra_cfg}
        lo, hi = free_port_range(20)
        cfg = cfg.replace("rtp_ports\t\t0-0", "rtp_ports\t\t%d-%d" % (lo, hi))
        with open(os.path.join(self.conf, "config"), "w") as f:
            f.write(cfg)
        with open(os.path.join(self.conf, "accounts"), "w") as f:
            f.write("<sip:baresip@127.0.0.1:%d>;regint=0;audio_codecs=%s\n"
                    % (self.port, ",".join(
                        {"g722": "G722", "pcmu": "PCMU", "pcma": "PCMA"}[c]
                        for c in codecs)))
        with open(os.path.join(self.conf, "contacts"), "w") as f:
            f.write("")
        argv = ["baresip", "-f", self.conf, "-e", "/dial " + dial,
                "-t", str(int(seconds))]
        self.proc = Proc(name, argv, cwd=self.home, env={"HOME": self.home})

    def wait(self, timeout):
        return self.proc.wait(timeout)

    def stop(self):
        return self.proc.stop(timeout=5)

    def log(self):
        return self.proc.stdout() + self.proc.stderr()

    def recordings(self, kind="dec"):
        return sorted(glob.glob(os.path.join(self.rec, "*-%s.wav" % kind)))

# ------------------------------------------------------------------ Kamailio


def md5hex(s):
    return hashlib.md5(s.encode()).hexdigest()


class Kamailio:
    """Kamailio 5.6 registrar + proxy, digest auth from a db_text
    subscriber table, UDP and (optionally) TLS listeners on 127.0.0.1."""

    def __init__(self, test, name, users, realm="127.0.0.1", tls_cert=None,
                 tls_key=None):
        self.test = test
        self.name = name
        self.dir = os.path.join(test.dir, name)
        self.db = os.path.join(self.dir, "db")
        os.makedirs(self.db, exist_ok=True)
        self.udp_port = free_port()
        self.tls_port = free_port() if tls_cert else None
        self.realm = realm
        with open(os.path.join(self.db, "version"), "w") as f:
            f.write("table_name(str) table_version(int)\nsubscriber:7\n"
                    "location:9\nlocation_attrs:1\n")
        rows = ["id(int,auto) username(str) domain(str) password(str) "
                "ha1(str) ha1b(str) email_address(str,null) rpid(str,null)"]
        for i, (u, p) in enumerate(sorted(users.items()), 1):
            rows.append("%d:%s:%s:%s:%s:%s::" % (
                i, u, realm, p, md5hex("%s:%s:%s" % (u, realm, p)),
                md5hex("%s@%s:%s:%s" % (u, realm, realm, p))))
        with open(os.path.join(self.db, "subscriber"), "w") as f:
            f.write("\n".join(rows) + "\n")
        listen = "listen=udp:127.0.0.1:%d\n" % self.udp_port
        tls = ""
        if tls_cert:
            listen += "listen=tls:127.0.0.1:%d\n" % self.tls_port
            tlscfg = os.path.join(self.dir, "tls.cfg")
            with open(tlscfg, "w") as f:
                f.write("[server:default]\nmethod = TLSv1.2+\n"
                        "verify_certificate = no\nrequire_certificate = no\n"
                        "certificate = %s\nprivate_key = %s\n\n"
                        "[client:default]\nmethod = TLSv1.2+\n"
                        "verify_certificate = no\nrequire_certificate = no\n"
                        % (tls_cert, tls_key))
            tls = ('enable_tls=yes\nloadmodule "tls.so"\n'
                   'modparam("tls", "config", "%s")\n' % tlscfg)
        cfg = KAMAILIO_CFG % {"listen": listen, "tls": tls, "db": self.db,
                              "realm": realm}
        self.cfg = os.path.join(self.dir, "kamailio.cfg")
        with open(self.cfg, "w") as f:
            f.write(cfg)
        chk = subprocess.run(["kamailio", "-c", "-f", self.cfg],
                             capture_output=True, text=True, timeout=30)
        if chk.returncode != 0:
            raise HarnessError("kamailio -c failed:\n" + chk.stdout + chk.stderr)
        run = os.path.join(self.dir, "run")
        os.makedirs(run, exist_ok=True)
        self.proc = Proc(name, ["kamailio", "-f", self.cfg, "-DD", "-E",
                                "-m", "64", "-M", "8", "-Y", run,
                                "-P", os.path.join(run, "kamailio.pid")],
                         cwd=self.dir)
        ok = wait_for(lambda: "INFO: <core> [core/tcp_main.c" in self.log()
                      or self._udp_ready() or not self.proc.alive(), 10, 0.1)
        time.sleep(1.0)  # children still forking
        if not self.proc.alive():
            raise HarnessError("kamailio died:\n" + self.log()[-4000:])

    def _udp_ready(self):
        return bool(re.search(r"ready|started", self.log()))

    def log(self):
        return self.proc.stderr() + self.proc.stdout()

    def stop(self):
        return self.proc.stop(timeout=5)


KAMAILIO_CFG = r"""#!KAMAILIO
# generated by test/integ/harness.py: registrar + proxy, digest auth
debug=2
log_stderror=yes
fork=yes
children=2
auto_aliases=no
%(listen)s
tcp_connection_lifetime=3605
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
%(tls)s
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "db_text.so"
loadmodule "auth.so"
loadmodule "auth_db.so"

modparam("usrloc", "db_mode", 0)
modparam("auth_db", "db_url", "text://%(db)s")
modparam("auth_db", "calculate_ha1", 0)
modparam("auth_db", "password_column", "ha1")
modparam("auth_db", "load_credentials", "")
modparam("auth_db", "use_domain", 0)
modparam("rr", "append_fromtag", 1)
modparam("registrar", "max_expires", 3600)
modparam("registrar", "min_expires", 10)
modparam("db_text", "db_mode", 0)

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	xlog("L_INFO", "KAM: $rm from $si:$sp ($pr) ru=$ru\n");
	if (has_totag()) {
		if (loose_route()) {
			t_relay();
			exit;
		}
		if (is_method("ACK")) {
			if (t_check_trans()) {
				t_relay();
			}
			exit;
		}
		sl_send_reply("404", "Not here");
		exit;
	}
	if (is_method("CANCEL")) {
		if (t_check_trans()) {
			t_relay();
		}
		exit;
	}
	if (is_method("REGISTER")) {
		if (!www_authorize("$td", "subscriber")) {
			xlog("L_INFO", "KAM: challenge REGISTER $tu\n");
			www_challenge("$td", "0");
			exit;
		}
		if (!save("location")) {
			sl_reply_error();
		}
		xlog("L_INFO", "KAM: registered $tu\n");
		exit;
	}
	if (is_method("INVITE")) {
		record_route();
	}
	if (!lookup("location")) {
		sl_send_reply("404", "Not Found");
		exit;
	}
	xlog("L_INFO", "KAM: relay $rm to $ru\n");
	t_relay();
	exit;
}
"""


def make_cert(dirpath, name, cn="127.0.0.1", san="IP:127.0.0.1"):
    """Self-signed certificate + key (PEM) made with openssl."""
    crt = os.path.join(dirpath, name + ".crt")
    key = os.path.join(dirpath, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=" + san,
                    "-keyout", key, "-out", crt],
                   check=True, capture_output=True, timeout=60)
    return crt, key

# ---------------------------------------------------------------- WAV tools


def make_tone_wav(path, freq, seconds, rate=8000, amplitude=0.5,
                  encoding="signed", bits=16):
    """A sine tone with sox (u-law when encoding='u-law')."""
    argv = ["sox", "-n", "-r", str(rate), "-c", "1"]
    if encoding == "u-law":
        argv += ["-e", "u-law"]
    else:
        argv += ["-e", "signed-integer", "-b", str(bits)]
    argv += [path, "synth", str(seconds), "sine", str(freq),
             "vol", str(amplitude)]
    subprocess.run(argv, check=True, capture_output=True, timeout=30)
    return path


def read_wav_mono(path):
    """(rate, [float samples in -1..1]) for 8/16-bit PCM WAV files."""
    with wave.open(path, "rb") as w:
        rate = w.getframerate()
        ch = w.getnchannels()
        width = w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width == 2:
        n = len(raw) // 2
        vals = struct.unpack("<%dh" % n, raw[:n * 2])
        scale = 32768.0
    elif width == 1:
        vals = [b - 128 for b in raw]
        scale = 128.0
    else:
        raise HarnessError("unsupported WAV width %d in %s" % (width, path))
    vals = vals[::ch]
    return rate, [v / scale for v in vals]


def goertzel_power(samples, rate, freq):
    """Normalized power of freq in samples (amplitude^2/4 for a sine)."""
    n = len(samples)
    if n == 0:
        return 0.0
    k = round(n * freq / rate)
    w = 2 * math.pi * k / n
    coeff = 2 * math.cos(w)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x + coeff * s1 - s2
        s2, s1 = s1, s0
    p = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return p / (n * n)


def rms(samples):
    if not samples:
        return 0.0
    return math.sqrt(sum(x * x for x in samples) / len(samples))


def analyse_tone(path, freq, others=(300, 700, 1500, 2500, 3100),
                 window_s=0.5):
    """Find the loudest 0.5 s window and report its RMS and the share of
    its power at freq versus other probe frequencies.

    Returns dict(rate, seconds, rms, tone_amp, best_other, ratio)."""
    rate, s = read_wav_mono(path)
    win = int(rate * window_s)
    best = None
    for start in range(0, max(1, len(s) - win), win // 2):
        seg = s[start:start + win]
        r = rms(seg)
        if best is None or r > best[0]:
            best = (r, seg)
    if best is None:
        return {"rate": rate, "seconds": 0, "rms": 0, "tone_amp": 0,
                "best_other": 0, "ratio": 0}
    r, seg = best
    p = goertzel_power(seg, rate, freq)
    po = max(goertzel_power(seg, rate, f) for f in others if f != freq)
    return {"rate": rate, "seconds": len(s) / rate, "rms": r,
            "tone_amp": 2 * math.sqrt(p), "best_other": 2 * math.sqrt(po),
            "ratio": (p / po) if po > 0 else float("inf")}

# ------------------------------------------------- speech calls (app=agent)

def speech_wav(t, text, name):
    """flite (slt voice) speaking text, 16 kHz mono, with flite's own
    leading/trailing silence trimmed so pauses built around it are exact."""
    raw = os.path.join(t.dir, name + "_raw.wav")
    out = os.path.join(t.dir, name + ".wav")
    subprocess.run(["flite", "-voice", "slt", "-t", text, "-o", raw],
                   check=True, capture_output=True, timeout=30)
    subprocess.run(["sox", raw, "-r", "16000", "-c", "1", "-b", "16", out,
                    "silence", "1", "0.01", "0.5%", "reverse",
                    "silence", "1", "0.01", "0.5%", "reverse"],
                   check=True, capture_output=True, timeout=30)
    return out


def silence_wav(t, secs, name):
    out = os.path.join(t.dir, name + ".wav")
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", out,
                    "trim", "0", str(secs)], check=True, capture_output=True)
    return out


def once_scenario(t, base="uac_basic.xml"):
    """A SIPp scenario that streams its WAV once instead of looping it."""
    src = os.path.join(SCENARIOS, base)
    dst = os.path.join(t.dir, "once_" + base)
    with open(src) as f:
        x = f.read().replace("tone_ulaw.wav,-1,0", "tone_ulaw.wav,1,0")
    with open(dst, "w") as f:
        f.write(x)
    return dst


def read_stereo_rec(path):
    """(left, right) int samples of agentline's stereo call recording."""
    with wave.open(path, "rb") as w:
        data = w.readframes(w.getnframes())
    s = struct.unpack("<%dh" % (len(data) // 2), data)
    return list(s[0::2]), list(s[1::2])


def envelope(x, ms=10, rate=16000):
    """RMS per ms-window."""
    n = rate * ms // 1000
    return [(sum(v * v for v in x[i:i + n]) / n) ** 0.5
            for i in range(0, len(x) - n + 1, n)]

# --------------------------------------------------------------------- tests


class HarnessError(Exception):
    pass


class Test:
    """One integration test: argv, temp dir, checks, peers, exit code."""

    def __init__(self, name, argv=None):
        argv = list(sys.argv[1:] if argv is None else argv)
        self.name = name
        self.agentline_bin = os.path.abspath(
            argv[0] if argv else os.environ.get(
                "INTEG_AGENTLINE_BIN", os.path.join(HERE, "..", "..", "build",
                                              "agentline")))
        self.source_dir = os.path.abspath(
            argv[1] if len(argv) > 1 else os.path.join(HERE, "..", ".."))
        self.dir = tempfile.mkdtemp(prefix="agentline-integ-%s-" % name)
        self.failures = []
        self.passes = 0
        self.agents = []
        self.started = time.monotonic()
        if not os.access(self.agentline_bin, os.X_OK):
            self.fail_now("agentline binary not found: %s" % self.agentline_bin)
        print("[%s] temp dir %s" % (name, self.dir), flush=True)

    # --- reporting
    def note(self, msg):
        print("[%s %5.1fs] %s" % (self.name, time.monotonic() - self.started,
                                  msg), flush=True)

    def check(self, cond, what, detail=None):
        if cond:
            self.passes += 1
            self.note("ok   " + what)
        else:
            self.failures.append(what)
            self.note("FAIL " + what)
            if detail is not None:
                print(str(detail), flush=True)
        return bool(cond)

    def fail_now(self, what, detail=None):
        self.failures.append(what)
        print("[%s] FATAL %s" % (self.name, what), flush=True)
        if detail:
            print(detail, flush=True)
        self.finish()

    def keep_logs(self):
        """Copy every agentline's log and events into the suite's log dir
        (INTEG_LOG_DIR, default integ-logs/ next to the binary) so that
        test_secret_scan.py can check the whole suite's logs."""
        root = os.environ.get("INTEG_LOG_DIR") or os.path.join(
            os.path.dirname(self.agentline_bin), "integ-logs")
        dst = os.path.join(root, self.name)
        with contextlib.suppress(Exception):
            shutil.rmtree(dst, ignore_errors=True)
            os.makedirs(dst, exist_ok=True)
            for al in self.agents:
                for src in (al.proc.err_path, al.proc.out_path,
                            al.events_path):
                    if os.path.exists(src):
                        shutil.copy(src, os.path.join(
                            dst, al.name + "." + os.path.basename(src)))

    def finish(self):
        for al in self.agents:
            rep = None
            with contextlib.suppress(Exception):
                if al.alive():
                    al.stop()
                rep = al.sanitizer_report()
            if rep:
                self.failures.append("sanitizer report in %s log" % al.name)
                print("--- sanitizer report (%s) ---\n%s" % (al.name, rep))
        self.keep_logs()
        cleanup_all()
        if self.failures:
            for al in self.agents:
                print("--- %s log (tail) ---\n%s" % (al.name, al.log(6000)))
            print("[%s] FAILED (%d failed, %d passed checks): %s\n"
                  "[%s] kept %s" % (self.name, len(self.failures), self.passes,
                                    "; ".join(self.failures), self.name,
                                    self.dir), flush=True)
            sys.stdout.flush()
            os._exit(1)
        print("[%s] PASSED (%d checks, %.1fs)" % (
            self.name, self.passes, time.monotonic() - self.started),
            flush=True)
        if not os.environ.get("INTEG_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        sys.stdout.flush()
        os._exit(0)

    def run(self, body):
        """Run body(self), turning exceptions into failures."""
        try:
            body(self)
        except HarnessError as e:
            self.failures.append("harness: %s" % str(e).splitlines()[0])
            print(str(e), flush=True)
        except Exception:
            self.failures.append("exception")
            traceback.print_exc()
            sys.stdout.flush()
        self.finish()

    # --- peers
    def agentline(self, name="agentline", udp=True, tcp=True, tls=False,
                  **sets):
        """Start agentline with a fresh SIP port (UDP+TCP, same number) and
        its own RTP range; keyword args become --set key=value."""
        port = free_port()
        listen = []
        if udp:
            listen.append("udp:127.0.0.1:%d" % port)
        if tcp:
            listen.append("tcp:127.0.0.1:%d" % port)
        tls_port = None
        if tls:
            tls_port = free_port()
            listen.append("tls:127.0.0.1:%d" % tls_port)
        lo, hi = free_port_range(400)
        base = {"sip_listen": ",".join(listen), "rtp_port_min": lo,
                "rtp_port_max": hi, "log_level": "info", "drain_secs": 2,
                # own state dir per instance: two agentlines never share
                # (and lock) one database
                "data_dir": os.path.join(self.dir, name + ".data"),
                # own control API port: parallel tests never collide
                "control_listen": "127.0.0.1:%d" % free_port(udp=False)}
        ready_timeout = sets.pop("ready_timeout", 20)
        expect_ready = sets.pop("expect_ready", True)
        base.update({k: v for k, v in sets.items() if v is not None})
        al = Agentline(self, name, base, ready_timeout=ready_timeout,
                       expect_ready=expect_ready)
        al.port = port
        al.tls_port = tls_port
        al.sip_udp = "127.0.0.1:%d" % port
        cl = base.get("control_listen") or ""
        al.api_port = int(cl.rsplit(":", 1)[1]) if ":" in cl else None
        self.agents.append(al)
        return al

    def sipp(self, scenario, target, calls=1, rate=10, limit=None,
             duration_ms=None, transport="u1", timeout=60, extra=(),
             service="agent", name=None, background=False):
        """Run SIPp (UAC unless extra has -sn/-sf uas) and parse its
        statistics.  scenario is a file under scenarios/ or a built-in name
        given as 'sn:uac'.  Runs in the test dir (WAVs live there)."""
        name = name or "sipp_" + os.path.splitext(os.path.basename(
            scenario))[0].replace(":", "_")
        run_dir = os.path.join(self.dir, name)
        os.makedirs(run_dir, exist_ok=True)
        for w in glob.glob(os.path.join(self.dir, "*.wav")):
            dst = os.path.join(run_dir, os.path.basename(w))
            if not os.path.exists(dst):
                os.symlink(w, dst)
        port = free_port()
        mport = free_port_range(4)[0]
        cport = free_port(tcp=False)
        argv = ["sipp"]
        if scenario.startswith("sn:"):
            argv += ["-sn", scenario[3:]]
        else:
            path = scenario if os.path.isabs(scenario) else os.path.join(
                SCENARIOS, scenario)
            argv += ["-sf", path]
        if target:
            argv.append(target)
        argv += ["-s", service, "-i", LOOPBACK, "-p", str(port),
                 "-mi", LOOPBACK, "-mp", str(mport),
                 "-ci", LOOPBACK, "-cp", str(cport),
                 "-t", transport, "-m", str(calls), "-r", str(rate),
                 "-l", str(limit or calls), "-nostdin",
                 "-trace_stat", "-stf", os.path.join(run_dir, "stat.csv"),
                 "-fd", "1", "-trace_err",
                 "-error_file", os.path.join(run_dir, "errors.log"),
                 "-trace_logs", "-log_file", os.path.join(run_dir, "logs.log"),
                 "-trace_msg", "-message_file",
                 os.path.join(run_dir, "messages.log"),
                 "-timeout", "%ds" % timeout, "-timeout_error",
                 "-max_recv_loops", "10000"]
        if duration_ms is not None:
            argv += ["-d", str(duration_ms)]
        argv += list(extra)
        proc = Proc(name, argv, cwd=run_dir, log_dir=run_dir)
        proc.sipp_port = port
        proc.run_dir = run_dir
        if background:
            return proc
        return self.sipp_result(proc, timeout + 15)

    def sipp_result(self, proc, timeout=75):
        rc = proc.wait(timeout)
        timed_out = rc is None
        if timed_out:
            proc.stop(timeout=3)
            rc = proc.p.returncode
        else:
            proc._close()
        d = proc.run_dir
        return SippResult(rc, parse_sipp_stats(os.path.join(d, "stat.csv")),
                          _read(os.path.join(d, "errors.log")),
                          proc.stdout() + proc.stderr(),
                          _read(os.path.join(d, "logs.log")),
                          _read(os.path.join(d, "messages.log")), timed_out)

    def tone_ulaw(self, freq=1000, seconds=10, name="tone_ulaw.wav"):
        return make_tone_wav(os.path.join(self.dir, name), freq, seconds,
                             encoding="u-law")


def call_ended_by_call(events):
    return {e.get("call"): e for e in events if e.get("event") == "call_ended"}
