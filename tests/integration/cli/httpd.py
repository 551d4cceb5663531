#!/usr/bin/env python3
"""A small HTTP server for faultline's tests, on a free loopback port.

It binds 127.0.0.1 port 0, writes the port to --port-file (atomically) and
serves until killed:

  GET  /status/NNN          answer with status NNN, body "status NNN"
  GET  /json                application/json {"ok": true, "items": [1, 2, 3], "name": "faultline"}
  GET  /delay/MS            answer 200 after MS milliseconds
  ANY  /echo                application/json {method, path, query, headers, body}
  GET  /big/N               N bytes of "x"
  GET  /redirect            302 to /json
  GET  /flag/NAME           200 if flag NAME is set, 503 otherwise
  POST /flag/NAME           set flag NAME (DELETE clears it)
  GET  /hits                application/json {"hits": <requests so far>}

A small service for the Chaos Toolkit experiments of tests/corpus/valid and
experiments/examples/ctk, under /ctk (their base URL is a --var):

  GET  /ctk/                "home"; /ctk/health "ok"; /ctk/ping 204
  GET  /ctk/info            application/json {"service": {"name": "orders"}}
  GET  /ctk/replicas        application/json {"replicas": [{"up": true}, {"up": true}]}
  ANY  /ctk/notify, /ctk/admin/latency   200 "done"
  GET  /ctk-log             every /ctk request so far: [{method, path, query, content_type, body}]
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

FLAGS = set()
CTK_LOG = []
HITS = 0
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def send(self, status, body, ctype="text/plain"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            ctype = "application/json"
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Test", "a")
        self.send_header("X-Test", "b")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        global HITS
        with LOCK:
            HITS += 1
        u = urlsplit(self.path)
        parts = [p for p in u.path.split("/") if p]
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if parts[:1] == ["status"] and len(parts) == 2:
            return self.send(int(parts[1]), "status " + parts[1])
        if parts == ["json"]:
            return self.send(200, {"ok": True, "items": [1, 2, 3], "name": "faultline"})
        if parts[:1] == ["delay"] and len(parts) == 2:
            time.sleep(int(parts[1]) / 1000.0)
            return self.send(200, "slept " + parts[1])
        if parts == ["echo"]:
            return self.send(200, {
                "method": self.command,
                "path": u.path,
                "query": parse_qs(u.query),
                "headers": {k: v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            })
        if parts[:1] == ["big"] and len(parts) == 2:
            return self.send(200, b"x" * int(parts[1]))
        if parts == ["redirect"]:
            self.send_response(302)
            self.send_header("Location", "/json")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if parts[:1] == ["flag"] and len(parts) == 2:
            with LOCK:
                if self.command == "POST":
                    FLAGS.add(parts[1])
                elif self.command == "DELETE":
                    FLAGS.discard(parts[1])
                on = parts[1] in FLAGS
            return self.send(200 if on else 503, "on" if on else "off")
        if parts[:1] == ["ctk"]:
            with LOCK:
                CTK_LOG.append({"method": self.command, "path": u.path, "query": u.query,
                                "content_type": self.headers.get("Content-Type"),
                                "body": body.decode("utf-8", "replace")})
            rest = parts[1:]
            if rest == [] or rest == ["health"]:
                return self.send(200, "home" if not rest else "ok")
            if rest == ["ping"]:
                return self.send(204, b"")
            if rest == ["info"]:
                return self.send(200, {"service": {"name": "orders"}})
            if rest == ["replicas"]:
                return self.send(200, {"replicas": [{"up": True}, {"up": True}]})
            if rest in (["notify"], ["admin", "latency"]):
                return self.send(200, "done")
        if parts == ["ctk-log"]:
            with LOCK:
                return self.send(200, list(CTK_LOG))
        if parts == ["hits"]:
            with LOCK:
                return self.send(200, {"hits": HITS})
        return self.send(404, "not found")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
