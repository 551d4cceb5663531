#!/usr/bin/env python3
"""Open an HTML file in headless Chromium (Debian's `chromium`) and report what
a reader would check, over the DevTools protocol on --remote-debugging-pipe:

  chromium.py PAGE.html... [--screenshot OUT.png [--height PX]] [--no-js] [--eval JS] [--out OUT.json]

With several pages (one browser for all), "{}" in OUT.json and OUT.png stands
for each page's file name without its extension.

Prints (and writes to OUT.json) a JSON object:
  {"errors": [...console errors, uncaught exceptions, CSP and network errors...],
   "value": <what JS, evaluated in the loaded page, returned>,
   "screenshot": {"width": W, "height": H, "bytes": N} (when asked)}
Exit 0 when the page loaded (errors are for the caller to judge), 77 when
chromium is not installed, 1 when something else went wrong.

Chromium runs with a fresh profile, no sandbox (we are root), no GPU, no
network of its own (no QUIC, no background networking, component updates or
sync) and is stopped (by its PID) when done.
"""
import argparse
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


class Pipe:
    def __init__(self, wfd, rfd):
        self.w, self.r, self.buf, self.next_id, self.events = wfd, rfd, b"", 0, []

    def send(self, method, params=None, session=None, timeout=60):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        end = time.time() + timeout
        while True:
            m = self.read(end)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def read(self, end):
        while b"\0" not in self.buf:
            if time.time() > end:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def wait_event(self, method, timeout=60):
        end = time.time() + timeout
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                return m
        while True:
            m = self.read(end)
            self.events.append(m)
            if m.get("method") == method:
                return m


def errors_of(events):
    out = []
    for m in events:
        meth, p = m.get("method"), m.get("params", {})
        if meth == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append("exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
        elif meth == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append("console.%s: %s" % (p["type"], " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))))
        elif meth == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            out.append("%s: %s %s" % (e.get("source"), e.get("text"), e.get("url", "")))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pages", nargs="+")
    ap.add_argument("--screenshot")
    ap.add_argument("--no-js", action="store_true")
    ap.add_argument("--eval", default="document.title")
    ap.add_argument("--out")
    ap.add_argument("--height", type=int, default=8000, help="cut the screenshot at this height")
    a = ap.parse_args()
    exe = shutil.which("chromium")
    if not exe:
        print("SKIPPED: chromium is not installed (Debian package chromium)")
        return 77
    profile = tempfile.mkdtemp(prefix="fl-chromium.")
    to_chr_r, to_chr_w = os.pipe()
    from_chr_r, from_chr_w = os.pipe()
    # Out of the way of 3 and 4 first, so that moving them there clobbers nothing.
    hi_r, hi_w = fcntl.fcntl(to_chr_r, fcntl.F_DUPFD_CLOEXEC, 10), fcntl.fcntl(from_chr_w, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(to_chr_r)
    os.close(from_chr_w)
    to_chr_r, from_chr_w = hi_r, hi_w

    def child_fds():  # the pipe Chromium reads at fd 3 and writes at fd 4
        os.dup2(to_chr_r, 3, inheritable=True)
        os.dup2(from_chr_w, 4, inheritable=True)

    proc = subprocess.Popen(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
         "--user-data-dir=" + profile, "--remote-debugging-pipe", "about:blank"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(os.path.join(profile, "stderr"), "wb"),
        close_fds=False, preexec_fn=child_fds)
    os.close(to_chr_r)
    os.close(from_chr_w)
    pipe = Pipe(to_chr_w, from_chr_r)
    results = []
    try:
        targets = pipe.send("Target.getTargets")["targetInfos"]
        page = [t for t in targets if t["type"] == "page"]
        tid = page[0]["targetId"] if page else pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = pipe.send("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        for m in ("Page.enable", "Runtime.enable", "Log.enable"):
            pipe.send(m, session=sid)
        pipe.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=sid)
        if a.no_js:
            pipe.send("Emulation.setScriptExecutionDisabled", {"value": True}, session=sid)
        results = []
        for page in a.pages:
            name = os.path.splitext(os.path.basename(page))[0]
            result = {"page": page}
            pipe.events.clear()
            url = "file://" + os.path.abspath(page)
            nav = pipe.send("Page.navigate", {"url": url}, session=sid)
            if nav.get("errorText"):
                raise RuntimeError("navigation failed: " + nav["errorText"])
            pipe.wait_event("Page.loadEventFired")
            time.sleep(0.3)  # late console messages
            ev = pipe.send("Runtime.evaluate", {"expression": a.eval, "returnByValue": True}, session=sid)
            if "exceptionDetails" in ev:
                raise RuntimeError("the checks' JS failed: %s" % ev["exceptionDetails"])
            result["value"] = ev["result"].get("value")
            if a.screenshot:
                lm = pipe.send("Page.getLayoutMetrics", session=sid)
                size = lm.get("cssContentSize") or lm["contentSize"]
                w, h = int(size["width"]), min(int(size["height"]), a.height)
                shot = pipe.send("Page.captureScreenshot",
                                 {"format": "png", "captureBeyondViewport": True,
                                  "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1}}, session=sid)
                data = base64.b64decode(shot["data"])
                with open(a.screenshot.replace("{}", name), "wb") as f:
                    f.write(data)
                result["screenshot"] = {"width": w, "height": h, "bytes": len(data)}
            result["errors"] = errors_of(pipe.events)
            results.append(result)
            if a.out:
                with open(a.out.replace("{}", name), "w") as f:
                    f.write(json.dumps(result, indent=1))
        try:
            pipe.send("Browser.close", timeout=5)
        except Exception:
            pass
    finally:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(results[0] if len(results) == 1 else results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
