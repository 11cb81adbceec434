"""Minimal WebSocket client (RFC 6455) and HTTP helper for the control API
tests.  Standard library only.

    ws = WsClient("127.0.0.1", 8996, "/api/events", token="...")
    msg = ws.recv_json(timeout=5)     # None on timeout
    ws.send_json({"type": "ping"})
    ws.close()
"""

import base64
import hashlib
import http.client
import json
import os
import select
import socket
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WsError(Exception):
    pass


class WsClient:
    def __init__(self, host, port, path, token=None, headers=None,
                 timeout=5):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port),
                 "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        if token:
            lines.append("Authorization: Bearer " + token)
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise WsError("closed during handshake: %r" % buf)
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        self.status_line = head.split(b"\r\n")[0].decode()
        self.status = int(self.status_line.split()[1])
        if self.status != 101:
            body = self.buf
            raise WsError("handshake answered %d: %s" % (
                self.status, body.decode(errors="replace")))
        want = base64.b64encode(hashlib.sha1(
            (key + GUID).encode()).digest()).decode()
        if ("sec-websocket-accept: " + want).lower().encode() not in \
                head.lower():
            raise WsError("bad Sec-WebSocket-Accept")
        self.closed = False
        self.pings = 0

    def _send(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        hdr = bytes([0x80 | opcode])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(hdr + mask + data)

    def send_text(self, text):
        self._send(0x1, text.encode())

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def ping(self, data=b"hi"):
        self._send(0x9, data)

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return False
            chunk = self.sock.recv(65536)
            if not chunk:
                self.closed = True
                raise WsError("connection closed")
            self.buf += chunk
        return True

    def recv_frame(self, timeout=5):
        """(opcode, payload) or None on timeout."""
        deadline = time.monotonic() + timeout
        if not self._fill(2, deadline):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7f
        off = 2
        if n == 126:
            if not self._fill(4, deadline):
                return None
            n = struct.unpack("!H", self.buf[2:4])[0]
            off = 4
        elif n == 127:
            if not self._fill(10, deadline):
                return None
            n = struct.unpack("!Q", self.buf[2:10])[0]
            off = 10
        if b1 & 0x80:
            raise WsError("server frames must not be masked")
        if not self._fill(off + n, deadline):
            return None
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return b0 & 0x0f, payload

    def recv(self, timeout=5):
        """Next text message (str), answering pings; None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            f = self.recv_frame(left)
            if f is None:
                return None
            op, payload = f
            if op == 0x9:
                self.pings += 1
                self._send(0xA, payload)
                continue
            if op == 0xA:
                self.pongs = getattr(self, "pongs", 0) + 1
                continue
            if op == 0x8:
                self.closed = True
                self.close_code = struct.unpack(
                    "!H", payload[:2])[0] if len(payload) >= 2 else None
                raise WsError("closed by server (%s)" % self.close_code)
            return payload.decode()

    def recv_json(self, timeout=5):
        m = self.recv(timeout)
        return None if m is None else json.loads(m)

    def recv_until(self, pred, timeout=10):
        """Messages until pred(msg) is true; returns (match, seen)."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, seen
            m = self.recv_json(left)
            if m is None:
                return None, seen
            seen.append(m)
            if pred(m):
                return m, seen

    def close(self):
        try:
            if not self.closed:
                self._send(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()
        self.closed = True


class Api:
    """HTTP client for the control API: api.req("GET", "/api/calls")
    -> (status, parsed JSON or text, headers)."""

    def __init__(self, host, port, token=None):
        self.host, self.port, self.token = host, port, token

    def req(self, method, path, body=None, token="default", headers=None,
            raw=None, timeout=10):
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        h = dict(headers or {})
        tok = self.token if token == "default" else token
        if tok:
            h["Authorization"] = "Bearer " + tok
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read().decode(errors="replace")
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        try:
            val = json.loads(text)
        except ValueError:
            val = text
        return r.status, val, hdrs
