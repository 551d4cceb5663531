#!/usr/bin/env python3
"""A local HTTPS stand-in for the Kubernetes API server's pod list, for tests.

Serves GET /api/v1/pods and /api/v1/namespaces/NS/pods from a world file
(a JSON list of pods in the real API's shape), with the real server's
semantics for what faultline uses: labelSelector (equality terms),
fieldSelector (spec.nodeName, metadata.name, metadata.namespace), limit and an
opaque `continue` token, Status objects for 401 (wrong bearer token), 403
(namespaces listed in "forbidden"), 410 (an expired continue token) and 404.
Every request is appended to LOG as one JSON line {path, query, auth}.

The expected token is the world file's "token" (re-read on every request, so a
test can rotate it). With CLIENT_CA, a client certificate signed by it whose
common name is the world's "client_cn" authenticates too, as the API server's
x509 client-certificate authentication does (the CN is the user name).
usage: apiserver.py CERT KEY WORLD PORTFILE LOG [CLIENT_CA]
"""
import base64, json, ssl, sys, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

cert, key, world_file, portfile, logfile = sys.argv[1:6]
client_ca = sys.argv[6] if len(sys.argv) > 6 else None


def status(code, reason, message):
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                  "status": "Failure", "message": message, "reason": reason,
                  "details": {"kind": "pods"}, "code": code}


def selector_terms(s):
    terms = []
    for t in filter(None, s.split(",")):
        if "!=" in t:
            k, v = t.split("!=", 1); terms.append((k, v, False))
        else:
            k, v = t.split("=", 1); terms.append((k.rstrip("="), v, True))
    return terms


def field(pod, k):
    a, b = k.split(".", 1)
    return (pod.get(a) or {}).get(b, "")


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def client_cn(self):
        peer = self.connection.getpeercert() if client_ca else None
        for rdn in (peer or {}).get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return None

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        cn = self.client_cn()
        with open(logfile, "a") as f:
            f.write(json.dumps({"path": u.path, "query": {k: v[0] for k, v in q.items()},
                                "auth": self.headers.get("Authorization", ""),
                                "x509": cn or ""}) + "\n")
        with open(world_file) as f:
            world = json.load(f)
        by_cert = cn is not None and cn == world.get("client_cn")
        if not by_cert and self.headers.get("Authorization") != "Bearer " + world["token"]:
            return self.reply(*status(401, "Unauthorized", "Unauthorized"))
        parts = u.path.strip("/").split("/")
        if parts[:2] != ["api", "v1"] or parts[-1] != "pods":
            return self.reply(*status(404, "NotFound", "the server could not find the requested resource"))
        ns = parts[3] if len(parts) == 5 and parts[2] == "namespaces" else None
        if ns in world.get("forbidden", []):
            return self.reply(*status(403, "Forbidden",
                'pods is forbidden: User "system:serviceaccount:faultline:faultline-agent" '
                'cannot list resource "pods" in API group "" in the namespace "%s"' % ns))
        pods = [p for p in world["pods"] if ns is None or p["metadata"]["namespace"] == ns]
        for k, v, eq in selector_terms(q.get("labelSelector", [""])[0]):
            pods = [p for p in pods if (p["metadata"].get("labels", {}).get(k) == v) == eq]
        for k, v, eq in selector_terms(q.get("fieldSelector", [""])[0]):
            pods = [p for p in pods if (field(p, k) == v) == eq]
        limit = int(q.get("limit", ["0"])[0] or 0) or len(pods) or 1
        limit = min(limit, world.get("page_size", limit))
        start = 0
        if "continue" in q:
            tok = q["continue"][0]
            if tok == "expired":
                return self.reply(*status(410, "Expired",
                    "The provided continue parameter is too old to display a consistent list result."))
            start = json.loads(base64.b64decode(tok))["start"]
        page = pods[start:start + limit]
        meta = {"resourceVersion": "184470"}
        if start + limit < len(pods):
            meta["continue"] = base64.b64encode(json.dumps({"v": "meta.k8s.io/v1", "rv": 184470, "start": start + limit}).encode()).decode()
            if world.get("expire_continue"):
                meta["continue"] = "expired"
            meta["remainingItemCount"] = len(pods) - start - limit
        self.reply(200, {"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": page})


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
if client_ca:
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(client_ca)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
