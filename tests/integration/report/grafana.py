#!/usr/bin/env python3
"""A stand-in for Grafana's annotations API that records every request and
checks it against Grafana's documented shape (HTTP API, "Annotations"):

  POST  /api/annotations     {"dashboardUID"?, "dashboardId"?, "panelId"?, "time"?, "timeEnd"?,
                              "tags"?: [string], "text": string}
        -> 200 {"message": "Annotation added", "id": N}
  PATCH /api/annotations/N   any of {"time", "timeEnd", "tags", "text"}
        -> 200 {"message": "Annotation patched"}

with "Authorization: Bearer TOKEN" and "Content-Type: application/json";
times are epoch milliseconds. Anything else is answered 4xx and recorded
with what is wrong ("problems"). --fail N answers N to every request.

  grafana.py --port-file F --log F --token-file F [--fail N]

Each request is one JSON line in --log: {method, path, auth, content_type, body, problems}.
"""
import argparse
import http.server
import json
import os
import re
import threading

POST_KEYS = {"dashboardUID", "dashboardId", "panelId", "time", "timeEnd", "tags", "text"}
PATCH_KEYS = {"time", "timeEnd", "tags", "text"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--fail", type=int, default=0)
    a = ap.parse_args()
    token = open(a.token_file).read().strip()
    lock = threading.Lock()
    ids = {"next": 1, "known": {}}

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, obj):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            problems = []
            rec = {"method": self.command, "path": self.path,
                   "auth": self.headers.get("Authorization"),
                   "content_type": self.headers.get("Content-Type"), "body": None}
            if rec["auth"] != "Bearer " + token:
                problems.append("Authorization is not 'Bearer <the token>'")
            if (rec["content_type"] or "").split(";")[0].strip() != "application/json":
                problems.append("Content-Type is not application/json")
            try:
                body = json.loads(raw.decode("utf-8"))
                rec["body"] = body
            except Exception as e:
                body = None
                problems.append("body is not JSON: %r" % e)
            m = re.fullmatch(r"/api/annotations(?:/(\d+))?", self.path)
            if not m:
                problems.append("not an annotations endpoint")
            elif self.command == "POST" and m.group(1) is None:
                keys = POST_KEYS
            elif self.command == "PATCH" and m.group(1) is not None:
                keys = PATCH_KEYS
                if int(m.group(1)) not in ids["known"]:
                    problems.append("PATCH of an annotation that does not exist")
            else:
                problems.append("%s is not allowed on %s" % (self.command, self.path))
            if m and isinstance(body, dict):
                extra = set(body) - keys
                if extra:
                    problems.append("unknown keys %s" % sorted(extra))
                if self.command == "POST" and not (isinstance(body.get("text"), str) and body["text"]):
                    problems.append("text missing or empty")
                if self.command == "PATCH" and not body:
                    problems.append("empty PATCH")
                for k in ("time", "timeEnd"):
                    if k in body and not (isinstance(body[k], int) and body[k] > 10**12):
                        problems.append("%s is not epoch milliseconds: %r" % (k, body[k]))
                if isinstance(body.get("time"), int) and isinstance(body.get("timeEnd"), int) \
                        and body["timeEnd"] < body["time"]:
                    problems.append("timeEnd before time")
                if "tags" in body and not (isinstance(body["tags"], list) and all(isinstance(t, str) for t in body["tags"])):
                    problems.append("tags is not a list of strings")
            elif m:
                problems.append("body is not a JSON object")
            rec["problems"] = problems
            with lock:
                if not problems and not a.fail and self.command == "POST":
                    rec["id"] = ids["next"]
                    ids["known"][ids["next"]] = body
                    ids["next"] += 1
                with open(a.log, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            if a.fail:
                return self.answer(a.fail, {"message": "failing on purpose"})
            if problems:
                return self.answer(400, {"message": "; ".join(problems)})
            if self.command == "POST":
                return self.answer(200, {"message": "Annotation added", "id": rec["id"]})
            return self.answer(200, {"message": "Annotation patched"})

        do_POST = do_PATCH = do_PUT = do_GET = do_DELETE = handle_any

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
