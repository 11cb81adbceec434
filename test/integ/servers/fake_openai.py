#!/usr/bin/python3
"""Fake OpenAI-compatible (and ElevenLabs) speech server for tests.

Speaks real HTTP/1.1 on 127.0.0.1 (random port, printed as "PORT n" on
stdout). Each request is checked (method, path, auth header, body fields,
multipart parts, WAV header) and recorded as one JSON line in --record:
{"path":..., "ok": true|false, "problems": [...], ...}.

Endpoints:
  POST /v1/audio/transcriptions   multipart file(WAV 16k mono)+model(+language)
  POST /v1/audio/speech           JSON {model,input,voice,response_format}
  POST /v1/text-to-speech/<voice>/stream?output_format=pcm_16000 (ElevenLabs)

--mode selects the behaviour:
  normal     answers correctly (speech: 1 kHz sine, chunked, streamed)
  wav        speech answered as a WAV file (24 kHz header) instead of PCM
  slow       first byte after --delay-ms
  500        HTTP 500 (every request)
  500once    HTTP 500 for the first request, then normal (retry)
  401        HTTP 401 whose body echoes the key it got
  badjson    transcription answered with malformed JSON
  truncated  chunked body that ends mid-chunk (connection closed)
  reset      some audio, then a TCP reset mid-stream
  long       --secs of audio paced in real time (for cancellation)
  failafter  the first --n speech requests normal, later ones HTTP 500
"""
import argparse
import email.parser
import email.policy
import json
import math
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse

ARGS = None
LOCK = threading.Lock()
COUNT = {"speech": 0, "all": 0}


def record(entry):
    if not ARGS.record:
        return
    with LOCK, open(ARGS.record, "a") as f:
        f.write(json.dumps(entry) + "\n")


def sine(rate, secs, freq=1000.0, amp=8000):
    n = int(rate * secs)
    return struct.pack("<%dh" % n, *[int(amp * math.sin(2 * math.pi * freq
                                                           * i / rate))
                                     for i in range(n)])


def wav_header(rate, nbytes):
    return (b"RIFF" + struct.pack("<I", 36 + nbytes) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) +
            b"data" + struct.pack("<I", nbytes))


class Handler(socketserver.StreamRequestHandler):
    def read_request(self):
        line = self.rfile.readline(65537)
        if not line:
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers = {}
        while True:
            h = self.rfile.readline(65537).decode("latin-1")
            if h in ("\r\n", "\n", ""):
                break
            k, v = h.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        body = self.rfile.read(n) if n else b""
        return method, target, headers, body

    def send(self, data):
        self.wfile.write(data)
        self.wfile.flush()

    def respond(self, status, body, ctype="application/json"):
        reason = {200: "OK", 401: "Unauthorized", 500: "Internal Server Error",
                  404: "Not Found"}.get(status, "X")
        self.send(("HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                   "Content-Length: %d\r\nConnection: close\r\n\r\n"
                   % (status, reason, ctype, len(body))).encode() + body)

    def chunk(self, data):
        self.send(b"%x\r\n" % len(data) + data + b"\r\n")

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()

    def handle(self):
        try:
            self.serve()
        except (ValueError, OSError, EOFError):
            pass                 # not HTTP (e.g. a TLS hello), or gone

    def serve(self):
        req = self.read_request()
        if not req:
            return
        method, target, headers, body = req
        url = urllib.parse.urlsplit(target)
        entry = {"method": method, "path": url.path, "query": url.query,
                 "headers": headers, "problems": []}
        probs = entry["problems"]
        with LOCK:
            COUNT["all"] += 1
            nth = COUNT["all"]
        entry["n"] = nth
        if method != "POST":
            probs.append("method %s" % method)

        el = url.path.startswith("/v1/text-to-speech/")
        if ARGS.key:
            if el:
                got = headers.get("xi-api-key")
            else:
                got = headers.get("authorization", "")
                got = got[7:] if got.startswith("Bearer ") else None
            if got != ARGS.key:
                probs.append("auth header")
        if "host" not in headers:
            probs.append("no Host header")

        if url.path == "/v1/audio/transcriptions":
            kind = "stt"
            self.check_multipart(headers, body, entry)
        elif url.path == "/v1/audio/speech" or el:
            kind = "speech"
            self.check_speech(headers, body, entry, el, url)
        else:
            probs.append("unknown path")
            entry["ok"] = False
            record(entry)
            self.respond(404, b'{"error":"not found"}')
            return
        entry["ok"] = not probs
        record(entry)

        mode = ARGS.mode
        if kind == "speech":
            with LOCK:
                COUNT["speech"] += 1
                sn = COUNT["speech"]
            if mode == "failafter":
                mode = "normal" if sn <= ARGS.n else "500"
        if mode == "500once":
            mode = "500" if nth == 1 else "normal"
        if mode == "slow":
            time.sleep(ARGS.delay_ms / 1000.0)
        if mode == "500":
            self.respond(500, b'{"error":{"message":"server exploded"}}')
            return
        if mode == "401":
            got = headers.get("authorization", headers.get("xi-api-key", ""))
            self.respond(401, json.dumps({"error": {
                "message": "Incorrect API key provided: %s" % got}})
                .encode())
            return
        if kind == "stt":
            if mode == "badjson":
                self.respond(200, b'{"text": "hello wor')
                return
            if mode == "truncated":
                self.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json"
                          b"\r\nContent-Length: 100\r\n\r\n{\"text\": \"he")
                return
            self.respond(200, json.dumps({"text": " hello world "}).encode())
            return
        self.speech(mode, el)

    def check_multipart(self, headers, body, entry):
        probs = entry["problems"]
        ctype = headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data; boundary="):
            probs.append("content-type %s" % ctype)
            return
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        fields = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[name] = (part.get_filename(), part.get_content_type(),
                            part.get_payload(decode=True))
        entry["fields"] = sorted(fields)
        for k in ("model", "language"):
            if k in fields:
                entry[k] = fields[k][2].decode()
        if "file" not in fields:
            probs.append("no file part")
            return
        fn, ft, wav = fields["file"]
        entry["filename"] = fn
        if not fn or not fn.endswith(".wav"):
            probs.append("file name")
        if len(wav) < 44 or wav[:4] != b"RIFF" or wav[8:16] != b"WAVEfmt ":
            probs.append("not a WAV")
            return
        fmt, ch, rate, brate, align, bits = struct.unpack("<HHIIHH",
                                                          wav[20:36])
        dlen = struct.unpack("<I", wav[40:44])[0]
        entry["wav"] = {"rate": rate, "channels": ch, "bits": bits,
                        "data": dlen, "size": len(wav)}
        if (fmt, ch, rate, bits, align, brate) != (1, 1, 16000, 16, 2,
                                                   32000):
            probs.append("WAV format")
        if wav[36:40] != b"data" or dlen != len(wav) - 44:
            probs.append("WAV data size")
        if struct.unpack("<I", wav[4:8])[0] != len(wav) - 8:
            probs.append("RIFF size")
        if "model" not in fields:
            probs.append("no model")

    def check_speech(self, headers, body, entry, el, url):
        probs = entry["problems"]
        if headers.get("content-type") != "application/json":
            probs.append("content-type")
        try:
            j = json.loads(body)
        except ValueError:
            probs.append("body not JSON")
            return
        entry["json"] = j
        if el:
            if set(j) < {"text", "model_id"}:
                probs.append("fields")
            if urllib.parse.parse_qs(url.query).get("output_format") != [
                    "pcm_16000"]:
                probs.append("output_format")
            if not url.path.endswith("/stream"):
                probs.append("not /stream")
        else:
            for k in ("model", "input", "voice"):
                if not isinstance(j.get(k), str) or not j[k]:
                    probs.append("field %s" % k)
            if j.get("response_format") != "pcm":
                probs.append("response_format")

    def speech(self, mode, el):
        rate = 16000 if el else 24000
        secs = ARGS.secs if mode == "long" else 1.0
        pcm = sine(rate, secs)
        ctype = "audio/pcm"
        if mode == "wav":
            pcm = wav_header(rate, len(pcm)) + pcm
            ctype = "audio/wav"
        self.send(("HTTP/1.1 200 OK\r\nContent-Type: %s\r\n"
                   "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                   % ctype).encode())
        step = rate * 2 // 10                   # 100 ms per chunk
        for i in range(0, len(pcm), step):
            part = pcm[i:i + step]
            if mode == "truncated" and i >= step * 3:
                self.send(b"%x\r\n" % len(part) + part[:len(part) // 2])
                return
            if mode == "reset" and i >= step * 3:
                self.reset()
                return
            try:
                self.chunk(part)
            except OSError:
                record({"event": "client closed", "at_ms": i * 500 // rate})
                return
            if mode == "long":
                time.sleep(0.1)
            else:
                time.sleep(0.005)
        self.send(b"0\r\n\r\n")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="normal")
    ap.add_argument("--record")
    ap.add_argument("--key")
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--secs", type=float, default=10.0)
    ap.add_argument("--n", type=int, default=1)
    ARGS = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
