"""python_server: http.server's ThreadingHTTPServer for reqprof's end-to-end
tests, run by Debian's python3 under reqprof.

Python code shows in a native profile as the interpreter's frames: a
request that burns CPU in the Python function burn_python_cpu must show
_PyEval_EvalFrameDefault. Requests are read with recv and answered with
send, one thread per connection.

Routes (parameters show their defaults):

  GET  /               ok, no work
  GET  /burn?ms=100    burn_python_cpu burns ms of the thread's CPU time
  POST /echo           reads the whole body; answers "received N bytes"
  anything else        404 (GET) or 405, keeping the connection open

HTTP/1.1 with Content-Length on every answer, so keep-alive and pipelined
requests are served in order on one connection. Listens on 127.0.0.1 only,
prints "listening on PORT", and exits with status 0 on SIGTERM or SIGINT.

Usage: python3 python_server.py [--port N]
"""

import http.server
import signal
import sys
import time
import urllib.parse


def burn_python_cpu(ms):
    """Burns ms of this thread's CPU time in Python bytecode."""
    deadline = time.thread_time() + ms / 1000
    x = 1
    while time.thread_time() < deadline:
        for i in range(2000):
            x = (x * 31 + i) % 1000003
    return x


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body):
        body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/":
            self.answer(200, "ok\n")
        elif url.path == "/burn":
            ms = int(query.get("ms", ["100"])[0])
            burn_python_cpu(ms)
            self.answer(200, "burned %d ms in burn_python_cpu\n" % ms)
        else:
            self.answer(404, "Not Found\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        received = 0
        while received < length:
            chunk = self.rfile.read(min(65536, length - received))
            if not chunk:
                break
            received += len(chunk)
        if urllib.parse.urlsplit(self.path).path == "/echo":
            self.answer(200, "received %d bytes\n" % received)
        else:
            self.answer(405, "Method Not Allowed\n")

    def log_message(self, format, *arguments):
        pass


def main():
    port = 0
    if len(sys.argv) == 3 and sys.argv[1] == "--port":
        port = int(sys.argv[2])
    elif len(sys.argv) != 1:
        sys.exit("usage: python_server.py [--port N]")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    # SystemExit out of serve_forever: a normal exit, where atexit handlers
    # (reqprof's among them) run.
    signal.signal(signal.SIGTERM, lambda signo, frame: sys.exit(0))
    signal.signal(signal.SIGINT, lambda signo, frame: sys.exit(0))
    print("listening on %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
