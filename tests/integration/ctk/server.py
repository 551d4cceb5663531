#!/usr/bin/env python3
"""The services the Chaos Toolkit corpus probes, on 127.0.0.1:<free port>.

  /ok                text "ok", 200
  /status/N          status N
  /json-charset      {"status": "up"} as "application/json; charset=utf-8"
  /api/v1/query      a Prometheus instant-vector answer (application/json): three
                     series, two of which have a non-zero value
  /exists?path=P     200 while the file P exists, 503 otherwise: a service that
                     an experiment's process stops and starts (setup.sh's pm2)
Writes the port to --port-file once listening.
"""
import argparse
import http.server
import json
import os
import urllib.parse

PROM = {"status": "success", "data": {"resultType": "vector", "result": [
    {"metric": {"pod": "web-1"}, "value": [1700000000.123, "5"]},
    {"metric": {"pod": "web-2"}, "value": [1700000000.123, "0"]},
    {"metric": {"pod": "web-3"}, "value": [1700000000.123, "2"]},
]}}


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, status, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/ok":
            self.send(200, "ok")
        elif path.startswith("/status/"):
            self.send(int(path[len("/status/"):]), "status")
        elif path == "/json-charset":
            self.send(200, '{"status": "up"}', "application/json; charset=utf-8")
        elif path == "/exists":
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            up = os.path.exists(q.get("path", [""])[0])
            self.send(200 if up else 503, "up" if up else "down")
        elif path == "/api/v1/query":
            self.send(200, json.dumps(PROM), "application/json")
        else:
            self.send(404, "not found")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
