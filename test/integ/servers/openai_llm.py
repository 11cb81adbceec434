#!/usr/bin/python3
"""OpenAI-compatible chat completions server for tests (the LLM brain).

Real HTTP/1.1 on 127.0.0.1 (random port, printed as "PORT n" on stdout):

  POST /v1/chat/completions   {"stream": true, ...} -> text/event-stream,
                              chunked, one `data: {chat.completion.chunk}`
                              per delta, then `data: [DONE]`
  POST /control               JSON script (replaces the current one)
  GET  /requests              the requests received so far (JSON array)

Every completion request is recorded (also as one JSON line in --record):
{"n", "t" (wall clock), "path", "auth", "body" (the parsed JSON), "kind"
("turn" or "compact": a summarising request), "first_sent" (wall clock
when the first content byte was written), "sentence_sent" (when the first
sentence was complete on the wire)}.

A script (--script FILE or POST /control) is JSON:
  {"replies": [REPLY, ...],        used in order, the last one repeats
   "summary": REPLY}               answer to summarising requests
                                   (default: "Summary: " + every caller,
                                   assistant and earlier-summary line it
                                   was given)
REPLY:
  {"text": "Hello there. How can I help?",   streamed in pieces
   "pieces": 3,                 split each sentence into this many deltas
   "first_token_ms": 300,       delay before the first delta
   "delta_ms": 20,              delay between deltas
   "tool_calls": [{"name": "hang_up", "arguments": {...}}, ...],
                                streamed after the text, arguments in
                                fragments; several calls are interleaved
                                by index (parallel tool calls)
   "status": 500, "error": "msg"  an HTTP error answer instead
   "stream_error": "msg"        200, then an error object in the stream
   "malformed": true            garbage lines and a broken chunk first
   "reject_tools": true         HTTP 400 "tools not supported" when the
                                request has tools, else the text
   "hang_ms": 5000              headers, then nothing for this long
   "split_bytes": 7}            write the SSE stream in writes of this
                                many bytes (events split across reads)
"""
import argparse
import json
import re
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
STATE = {"script": {"replies": [{"text": "Hello. How can I help?"}]},
         "requests": [], "index": 0}


def sentences(text, pieces):
    """Deltas: each sentence cut into `pieces` parts (word boundaries)."""
    out = []
    for s in re.findall(r"[^.!?]+[.!?]*\s*", text):
        words = s.split(" ")
        n = max(1, min(pieces, len(words)))
        step = (len(words) + n - 1) // n
        for i in range(0, len(words), step):
            part = " ".join(words[i:i + step])
            if i + step < len(words):
                part += " "
            if part:
                out.append(part)
    return out


def chunk(delta, finish=None):
    return {"id": "chatcmpl-test", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": "test",
            "choices": [{"index": 0, "delta": delta,
                         "finish_reason": finish}]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if ARGS.verbose:
            sys.stderr.write(fmt % args + "\n")

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def do_GET(self):
        if self.path == "/requests":
            with LOCK:
                self.send_json(200, STATE["requests"])
            return
        self.send_json(404, {"error": {"message": "not found"}})

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_POST(self):
        raw = self.read_body()
        if self.path == "/control":
            with LOCK:
                STATE["script"] = json.loads(raw)
                STATE["index"] = 0
                STATE["requests"] = []
            self.send_json(200, {"ok": True})
            return
        if not self.path.endswith("/chat/completions"):
            self.send_json(404, {"error": {"message": "no such path"}})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self.send_json(400, {"error": {"message": "bad JSON"}})
            return
        msgs = body.get("messages") or []
        sys_text = msgs[0].get("content", "") if msgs else ""
        kind = "compact" if "You keep notes" in (sys_text or "") else "turn"
        entry = {"t": time.time(), "path": self.path,
                 "auth": self.headers.get("Authorization"),
                 "body": body, "kind": kind}
        with LOCK:
            entry["n"] = len(STATE["requests"])
            STATE["requests"].append(entry)
            script = STATE["script"]
            if kind == "compact":
                reply = script.get("summary")
                if reply is None:
                    user = msgs[-1].get("content", "") if msgs else ""
                    lines = [ln.split(":", 1)[1].strip()
                             for ln in user.splitlines()
                             if ln.split(":", 1)[0] in
                             ("caller", "assistant", "Earlier summary")]
                    reply = {"text": "Summary: " + " ".join(lines)}
            else:
                replies = script.get("replies") or [{"text": "Okay."}]
                reply = replies[min(STATE["index"], len(replies) - 1)]
                STATE["index"] += 1
        try:
            self.answer(reply, body, entry)
        except (BrokenPipeError, ConnectionResetError):
            entry["aborted"] = True
        self.record(entry)

    def record(self, entry):
        if not ARGS.record:
            return
        with LOCK, open(ARGS.record, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def write_chunked(self, data, split):
        if not data:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        step = split or len(data)
        for i in range(0, len(data), step):
            part = data[i:i + step]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.flush()
            if split:
                time.sleep(0.002)

    def answer(self, reply, body, entry):
        if "status" in reply:
            self.send_json(reply["status"], {"error": {
                "message": reply.get("error", "error"),
                "type": "server_error"}})
            return
        if reply.get("reject_tools") and body.get("tools"):
            self.send_json(400, {"error": {
                "message": "this model does not support tools",
                "type": "invalid_request_error"}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        split = reply.get("split_bytes", 0)

        def event(obj):
            data = obj if isinstance(obj, str) else json.dumps(obj)
            self.write_chunked(("data: %s\n\n" % data).encode(), split)

        if reply.get("hang_ms"):
            time.sleep(reply["hang_ms"] / 1000.0)
        time.sleep(reply.get("first_token_ms", 0) / 1000.0)
        if reply.get("malformed"):
            self.write_chunked(b": keep-alive comment\n\n", split)
            self.write_chunked(b"event: ping\ndata: {not json\n\n", split)
            self.write_chunked(b"data: {\"choices\": [\n\n", split)
            self.write_chunked(b"garbage without a field\n\n", split)
        if reply.get("stream_error"):
            event({"error": {"message": reply["stream_error"],
                             "type": "server_error"}})
            self.write_chunked(b"", 0)
            return
        event(chunk({"role": "assistant", "content": ""}))
        delta_ms = reply.get("delta_ms", 20) / 1000.0
        text = reply.get("text", "")
        first = True
        for part in sentences(text, reply.get("pieces", 3)):
            event(chunk({"content": part}))
            now = time.time()
            if first:
                entry["first_sent"] = now
                first = False
            if "sentence_sent" not in entry and re.search(r"[.!?]\s*$",
                                                         part):
                entry["sentence_sent"] = now
            time.sleep(delta_ms)
        calls = reply.get("tool_calls") or []
        if calls:
            # first delta of each call: id + name; then the arguments in
            # fragments, interleaved across calls (parallel tool calls)
            frags = []
            for i, c in enumerate(calls):
                args = c.get("arguments", {})
                args = args if isinstance(args, str) else json.dumps(args)
                event(chunk({"tool_calls": [{
                    "index": i, "id": "call_%d_%d" % (entry["n"], i),
                    "type": "function",
                    "function": {"name": c["name"], "arguments": ""}}]}))
                frags.append([args[k:k + 5] for k in range(0, len(args),
                                                            5)])
            while any(frags):
                for i, f in enumerate(frags):
                    if f:
                        event(chunk({"tool_calls": [{
                            "index": i,
                            "function": {"arguments": f.pop(0)}}]}))
            event(chunk({}, "tool_calls"))
        else:
            event(chunk({}, "stop"))
        event("[DONE]")
        self.write_chunked(b"", 0)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--script")
    ap.add_argument("--record")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--verbose", action="store_true")
    ARGS = ap.parse_args()
    if ARGS.script:
        with open(ARGS.script) as f:
            STATE["script"] = json.load(f)
    srv = Server(("127.0.0.1", ARGS.port), Handler)
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    socketserver.TCPServer.allow_reuse_address = True
    main()
