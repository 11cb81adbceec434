"""Webhook receiver double: an HTTP server (stdlib) that records every POST
(headers + body) and can answer the first N requests with 500 or stall
each for a while.  Runs in a thread of the test.

    hook = FakeWebhook(fail_first=1)
    hook.url                     # http://127.0.0.1:PORT/hook
    hook.requests                # [(headers dict, body bytes, time)]
    hook.stop()
"""

import http.server
import threading
import time


class FakeWebhook:
    def __init__(self, fail_first=0, delay=0.0, path="/hook"):
        self.requests = []
        self.answers = []
        self.fail_first = fail_first
        self.delay = delay
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append((hdrs, body, time.monotonic(),
                                       self.path))
                if outer.delay:
                    time.sleep(outer.delay)
                code = 500 if len(outer.requests) <= outer.fail_first \
                    else 200
                outer.answers.append(code)
                out = b'{"ok":true}' if code == 200 else b'{"ok":false}'
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d%s" % (self.port, path)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def events(self):
        return [b for _, b, _, _ in self.requests]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
