"""A small asyncio WebSocket client (RFC 6455), standard library only.

Enough for agentline's agent socket: a client handshake with extra headers
(the bearer token), masked text frames out, text/ping/pong/close frames in,
fragmented messages reassembled, ws:// and wss://.
"""

import asyncio
import base64
import hashlib
import os
import ssl
import struct
from urllib.parse import urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE = 4 * 1024 * 1024

OP_CONT, OP_TEXT, OP_BIN, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class WsClosed(ConnectionError):
    """The socket closed (close frame, EOF or a protocol error)."""


class WsHandshakeError(ConnectionError):
    def __init__(self, status, body):
        super().__init__("WebSocket handshake answered %s: %s"
                         % (status, body[:200]))
        self.status = status


class WebSocket:
    def __init__(self, reader, writer):
        self._r = reader
        self._w = writer
        self._wlock = asyncio.Lock()
        self.closed = False

    @classmethod
    async def connect(cls, url, headers=None, timeout=10.0,
                      ssl_context=None):
        u = urlsplit(url)
        if u.scheme not in ("ws", "wss"):
            raise ValueError("not a ws:// or wss:// URL: %s" % u.scheme)
        host = u.hostname or "127.0.0.1"
        port = u.port or (443 if u.scheme == "wss" else 80)
        ctx = None
        if u.scheme == "wss":
            ctx = ssl_context or ssl.create_default_context()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=ctx), timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        path = (u.path or "/") + ("?" + u.query if u.query else "")
        hostport = host if u.port is None else "%s:%d" % (host, port)
        lines = ["GET %s HTTP/1.1" % path, "Host: " + hostport,
                 "Upgrade: websocket", "Connection: Upgrade",
                 "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13"]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            await writer.drain()
            head = await asyncio.wait_for(
                reader.readuntil(b"\r\n\r\n"), timeout)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                asyncio.TimeoutError, OSError) as e:
            writer.close()
            raise WsClosed("handshake failed: %r" % (e,)) from None
        status_line, _, rest = head.decode("latin-1").partition("\r\n")
        parts = status_line.split()
        status = int(parts[1]) if len(parts) > 1 and \
            parts[1].isdigit() else 0
        hdrs = {}
        for line in rest.split("\r\n"):
            k, sep, v = line.partition(":")
            if sep:
                hdrs[k.strip().lower()] = v.strip()
        if status != 101:
            body = b""
            try:
                n = int(hdrs.get("content-length", "0"))
                if 0 < n < 65536:
                    body = await asyncio.wait_for(
                        reader.readexactly(n), timeout)
            except Exception:
                pass
            writer.close()
            raise WsHandshakeError(status, body.decode(errors="replace"))
        want = base64.b64encode(hashlib.sha1(
            (key + GUID).encode()).digest()).decode()
        if hdrs.get("sec-websocket-accept") != want:
            writer.close()
            raise WsClosed("bad Sec-WebSocket-Accept")
        return cls(reader, writer)

    async def _send_frame(self, op, payload):
        if self.closed and op != OP_CLOSE:
            raise WsClosed("socket closed")
        n = len(payload)
        head = bytes([0x80 | op])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        async with self._wlock:
            try:
                self._w.write(head + mask + masked)
                await self._w.drain()
            except (OSError, RuntimeError) as e:
                self.closed = True
                raise WsClosed("send failed: %r" % (e,)) from None

    async def send_text(self, text):
        await self._send_frame(OP_TEXT, text.encode("utf-8"))

    async def ping(self, data=b""):
        await self._send_frame(OP_PING, data)

    async def _read_frame(self):
        try:
            b0, b1 = await self._r.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", await self._r.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await self._r.readexactly(8))[0]
            if n > MAX_MESSAGE:
                raise WsClosed("frame too large")
            mask = await self._r.readexactly(4) if b1 & 0x80 else None
            data = await self._r.readexactly(n) if n else b""
        except (asyncio.IncompleteReadError, OSError) as e:
            self.closed = True
            raise WsClosed("connection lost: %r" % (e,)) from None
        if mask:
            data = bytes(b ^ mask[i & 3] for i, b in enumerate(data))
        return bool(b0 & 0x80), b0 & 0x0F, data

    async def recv(self):
        """The next text message (str).  Raises WsClosed at the end."""
        parts, total = [], 0
        while True:
            fin, op, data = await self._read_frame()
            if op == OP_PING:
                await self._send_frame(OP_PONG, data)
                continue
            if op == OP_PONG:
                continue
            if op == OP_CLOSE:
                if not self.closed:
                    self.closed = True
                    try:
                        await self._send_frame(OP_CLOSE, data[:2])
                    except WsClosed:
                        pass
                raise WsClosed("closed by the server")
            if op in (OP_TEXT, OP_BIN, OP_CONT):
                parts.append(data)
                total += len(data)
                if total > MAX_MESSAGE:
                    raise WsClosed("message too large")
                if fin:
                    return b"".join(parts).decode("utf-8", "replace")

    async def close(self, wait=1.0):
        """Close frame, then (no reader running) wait up to `wait` s for
        the server's close before dropping the connection."""
        if not self.closed:
            try:
                await self._send_frame(OP_CLOSE, struct.pack("!H", 1000))
                self.closed = True
                end = asyncio.get_running_loop().time() + wait
                while True:
                    left = end - asyncio.get_running_loop().time()
                    if left <= 0:
                        break
                    _, op, _ = await asyncio.wait_for(self._read_frame(),
                                                      left)
                    if op == OP_CLOSE:
                        break
            except (WsClosed, asyncio.TimeoutError, OSError):
                pass
        self.closed = True
        try:
            self._w.close()
        except Exception:
            pass

    def abort(self):
        """Drop the TCP connection at once (no close frame)."""
        self.closed = True
        try:
            self._w.transport.abort()
        except Exception:
            pass
