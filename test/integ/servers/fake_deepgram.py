#!/usr/bin/python3
"""Fake Deepgram streaming server: a minimal RFC 6455 WebSocket server on
127.0.0.1 (random port, printed as "PORT n").

Checks and records (JSON line per connection in --record): the upgrade
request (GET /v1/listen, Sec-WebSocket-Key/Version, Authorization: Token
KEY, query encoding/sample_rate/channels/model/language), that every
client frame is masked, how many audio bytes came as binary frames, and
whether our ping got its pong.

Protocol: a ping is sent after the handshake; for every 0.5 s of audio an
interim result (is_final false) "hello"; on {"type":"CloseStream"} the
final results "hello" + "world" (is_final true), then Metadata, then close
1000.

--mode: normal | 401 (refuse the upgrade) | closemid (close 1011 after
some audio, no results) | silent (never answer CloseStream) | badjson
(garbage text messages before the finals) | badaccept (wrong
Sec-WebSocket-Accept)
"""
import argparse
import base64
import hashlib
import json
import socket
import socketserver
import struct
import threading
import urllib.parse

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
ARGS = None
LOCK = threading.Lock()


def record(entry):
    if ARGS.record:
        with LOCK, open(ARGS.record, "a") as f:
            f.write(json.dumps(entry) + "\n")


def frame(op, payload):
    n = len(payload)
    if n < 126:
        h = struct.pack("!BB", 0x80 | op, n)
    elif n < 65536:
        h = struct.pack("!BBH", 0x80 | op, 126, n)
    else:
        h = struct.pack("!BBQ", 0x80 | op, 127, n)
    return h + payload


def result(text, final):
    return json.dumps({"type": "Results", "is_final": final,
                       "speech_final": final,
                       "channel": {"alternatives": [
                           {"transcript": text, "confidence": 0.9}]}})


class Handler(socketserver.StreamRequestHandler):
    def read_exact(self, n):
        b = self.rfile.read(n)
        if len(b) != n:
            raise EOFError
        return b

    def read_frame(self):
        b0, b1 = self.read_exact(2)
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack("!H", self.read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.read_exact(8))[0]
        masked = bool(b1 & 0x80)
        mask = self.read_exact(4) if masked else b"\0\0\0\0"
        data = bytes(c ^ mask[i & 3] for i, c in enumerate(
            self.read_exact(n)))
        return b0 & 0x80, b0 & 0x0f, masked, data

    def send(self, b):
        self.wfile.write(b)
        self.wfile.flush()

    def handle(self):
        try:
            self.serve()
        except (ValueError, OSError, EOFError):
            pass                 # not HTTP, or gone

    def serve(self):
        line = self.rfile.readline(65537).decode("latin-1")
        method, target, _ = line.split(" ", 2)
        headers = {}
        while True:
            h = self.rfile.readline(65537).decode("latin-1")
            if h in ("\r\n", "\n", ""):
                break
            k, v = h.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        url = urllib.parse.urlsplit(target)
        q = urllib.parse.parse_qs(url.query)
        e = {"method": method, "path": url.path,
             "query": {k: v[0] for k, v in q.items()}, "problems": [],
             "masked_all": True, "audio_bytes": 0, "pong": False,
             "closestream": False}
        p = e["problems"]
        if method != "GET" or url.path != "/v1/listen":
            p.append("request line")
        if headers.get("upgrade", "").lower() != "websocket":
            p.append("upgrade")
        if "upgrade" not in headers.get("connection", "").lower():
            p.append("connection")
        if headers.get("sec-websocket-version") != "13":
            p.append("version")
        key = headers.get("sec-websocket-key", "")
        try:
            if len(base64.b64decode(key, validate=True)) != 16:
                p.append("key length")
        except ValueError:
            p.append("key")
        if ARGS.key and headers.get("authorization") != "Token " + ARGS.key:
            p.append("authorization")
        for k, v in (("encoding", "linear16"), ("sample_rate", "16000"),
                     ("channels", "1"), ("interim_results", "true")):
            if e["query"].get(k) != v:
                p.append("query %s" % k)
        if "model" not in e["query"] or "language" not in e["query"]:
            p.append("query model/language")

        if ARGS.mode == "401":
            self.send(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0"
                      b"\r\n\r\n")
            e["ok"] = not p
            record(e)
            return
        acc = base64.b64encode(hashlib.sha1((key + GUID).encode())
                               .digest()).decode()
        if ARGS.mode == "badaccept":
            acc = base64.b64encode(b"x" * 20).decode()
        self.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket"
                   "\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s"
                   "\r\n\r\n" % acc).encode())
        self.send(frame(0x9, b"hb"))
        since = 0
        try:
            while True:
                fin, op, masked, data = self.read_frame()
                if not masked:
                    e["masked_all"] = False
                if op == 0x2:
                    e["audio_bytes"] += len(data)
                    since += len(data)
                    if ARGS.mode == "closemid" and e["audio_bytes"] >= 16000:
                        self.send(frame(0x8, struct.pack("!H", 1011) +
                                        b"internal"))
                        # as RFC 6455 asks: wait for the close reply
                        self.connection.settimeout(3)
                        while self.read_frame()[1] != 0x8:
                            pass
                        break
                    if since >= 16000:
                        since = 0
                        self.send(frame(0x1, result("hello", False)
                                        .encode()))
                elif op == 0xa:
                    e["pong"] = data == b"hb"
                elif op == 0x8:
                    break
                elif op == 0x1:
                    msg = json.loads(data)
                    if msg.get("type") == "CloseStream":
                        e["closestream"] = True
                        if ARGS.mode == "silent":
                            continue
                        if ARGS.mode == "badjson":
                            self.send(frame(0x1, b'{"type": "Resu'))
                            self.send(frame(0x1, b'not json at all'))
                        # a fragmented final: text + continuation
                        m = result("hello", True).encode()
                        self.send(struct.pack("!BB", 0x01, 10) + m[:10])
                        self.send(frame(0x0, m[10:]))
                        self.send(frame(0x1, result("world", True)
                                        .encode()))
                        self.send(frame(0x1, json.dumps(
                            {"type": "Metadata", "duration": 1.0})
                            .encode()))
                        self.send(frame(0x8, struct.pack("!H", 1000)))
                        try:       # until the client's close reply
                            while True:
                                _, op2, m2, d2 = self.read_frame()
                                e["masked_all"] &= m2
                                if op2 == 0xa:
                                    e["pong"] = d2 == b"hb"
                                if op2 == 0x8:
                                    e["close_reply"] = True
                                    break
                        except (EOFError, OSError):
                            pass
                        break
        except (EOFError, OSError, ValueError):
            pass
        e["ok"] = not p
        record(e)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="normal")
    ap.add_argument("--record")
    ap.add_argument("--key")
    ARGS = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
