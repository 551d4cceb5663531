"""Stream rules (Toxiproxy's toxics, no proxy) on real TCP connections over
loopback, IPv4 and IPv6: curl against python3's http.server, a server run
under the shim with a plain client, and servers of the test's own that hold
a connection or count what arrives. What is checked is what a user sees:
curl's exit code and message, bytes received, elapsed time, what the peer
got (a reset, an end of stream), and the rules' hit counts."""
import hashlib
import os
import shutil
import socket
import subprocess
import threading
import time

from fltest import Checks, TempDir, env, exec_cmd, free_port, run

PY = "/usr/bin/python3"
EXEC = env("FL_EXEC")
SHIM = env("FL_SHIM")
ARM = env("FL_ARM")


def wait_port(host, port, proc=None, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def http_server(directory, host, port, rules=None):
    cmd = [PY, "-m", "http.server", str(port), "--bind", host, "--directory", directory]
    if rules:
        cmd = exec_cmd(rules, cmd)
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if not wait_port(host, port, p):
        p.kill()
        p.wait()
        return None
    return p


def stop(p):
    if p and p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class HoldServer:
    """Accepts, reads the request, answers nothing; records how each connection ended."""

    def __init__(self, host="127.0.0.1"):
        self.s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.s.bind((host, 0))
        self.s.listen(8)
        self.port = self.s.getsockname()[1]
        self.ends = []
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        self.s.settimeout(20)
        try:
            while True:
                c, _ = self.s.accept()
                threading.Thread(target=self._conn, args=(c,), daemon=True).start()
        except OSError:
            pass

    def _conn(self, c):
        c.settimeout(10)
        try:
            while c.recv(65536):
                pass
            self.ends.append("eof")
        except ConnectionResetError:
            self.ends.append("reset")
        except OSError as e:
            self.ends.append(type(e).__name__)
        c.close()

    def close(self):
        self.s.close()


class CountServer(HoldServer):
    """Counts each recv's size until the peer closes."""

    def _conn(self, c):
        sizes = []
        c.settimeout(10)
        t0 = time.monotonic()
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                sizes.append(len(d))
        except OSError:
            pass
        self.ends.append((sizes, time.monotonic() - t0))
        c.close()


class TickServer(HoldServer):
    """Sends "tick" every 50 ms on each connection until it breaks."""

    def _conn(self, c):
        try:
            while True:
                c.sendall(b"tick\n")
                time.sleep(0.05)
        except OSError:
            pass
        c.close()


class BurstServer(HoldServer):
    """Sends 50000 bytes, pauses 300 ms, sends 50000 more."""

    def _conn(self, c):
        try:
            c.sendall(b"x" * 50000)
            time.sleep(0.3)
            c.sendall(b"y" * 50000)
        except OSError:
            pass
        time.sleep(1)
        c.close()


# A shimmed client that reads slowly: what it got, and how the stream ended.
SLOW_READER = """
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(0.1)
n = 0
try:
    while True:
        d = s.recv(65536)
        time.sleep(0.2)
        if not d:
            print(n, "eof")
            break
        n += len(d)
except OSError as e:
    print(n, type(e).__name__)
"""


# A shimmed client of TickServer: prints a line, with its time, per line read.
TICK_CLIENT = """
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
while True:
    line = f.readline()
    if not line:
        break
    print(round(time.monotonic(), 3), flush=True)
"""


def client(host, port, path="/small.txt"):
    """A plain (unshimmed) HTTP/1.0 client: (bytes, how it ended, seconds)."""
    t0 = time.monotonic()
    c = socket.create_connection((host, port), timeout=10)
    c.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
    n = 0
    try:
        while True:
            d = c.recv(65536)
            if not d:
                return n, "eof", time.monotonic() - t0
            n += len(d)
    except ConnectionResetError:
        return n, "reset", time.monotonic() - t0
    finally:
        c.close()


def main():
    c = Checks()
    curl = shutil.which("curl")
    if not curl:
        c.check(False, "curl is not installed (scripts/deps.sh installs it)")
        c.done()
    with TempDir() as d:
        with open(d + "/small.txt", "w") as f:
            f.write("hello faultline\n")
        big = os.urandom(150000)
        with open(d + "/big.bin", "wb") as f:
            f.write(big)
        p4, p6 = free_port(), free_port()
        s4 = http_server(d, "127.0.0.1", p4)
        s6 = http_server(d, "::1", p6)
        hold = HoldServer()
        try:
            if not s4:
                c.check(False, "http.server did not come up on 127.0.0.1")
                c.done()
            u4 = f"http://127.0.0.1:{p4}"
            u6 = f"http://[::1]:{p6}" if s6 else None
            fmt = ["-w", "%{http_code} %{size_header} %{size_download}"]

            def curl_run(rules, url, *extra, timeout=30):
                t0 = time.monotonic()
                r = run(exec_cmd(rules, [curl, "-sS", "-o", d + "/out"] + fmt + list(extra) +
                                 [url]) if rules is not None else
                        [curl, "-sS", "-o", d + "/out"] + fmt + list(extra) + [url],
                        timeout=timeout)
                return r, time.monotonic() - t0

            r, _ = curl_run([], u4 + "/small.txt")
            c.check(r.returncode == 0 and r.stdout.startswith("200"), f"no rules: {r.stdout}")

            # reset_peer: curl sees "Connection reset by peer"; -v counts the resets.
            r = run([EXEC, "-v", "--fault", f"reset_peer:port={p4}:bytes=0", "--", curl, "-sS",
                     "-o", "/dev/null", u4 + "/small.txt"])
            c.check(r.returncode in (55, 56) and "Connection reset by peer" in r.stderr,
                    f"reset_peer bytes=0: curl {r.returncode}: "
                    f"{[x for x in r.stderr.splitlines() if x.startswith('curl:')]}")
            c.check(f'"reset_peer:bytes=0:port={p4}": 1 hit(s)' in r.stderr,
                    f"-v reports the reset: {r.stderr.strip().splitlines()[-1:]}")
            r, _ = curl_run([f"reset_peer:port={p4 + 1}:bytes=0"], u4 + "/small.txt")
            c.check(r.returncode == 0, "reset_peer on another port: untouched")
            r, _ = curl_run([f"reset_peer:port={p4}:bytes=1000:dir=recv"], u4 + "/big.bin")
            got = sum(int(x) for x in r.stdout.split()[1:3]) if r.stdout else -1
            c.check(r.returncode == 56 and got == 1000 and "reset by peer" in r.stderr,
                    f"reset_peer bytes=1000 dir=recv: reset after exactly 1000 bytes: "
                    f"{r.returncode} {got}")
            # IPv6 and address scopes.
            if u6:
                r, _ = curl_run(["reset_peer:addr=[::1]:bytes=0"], u6 + "/small.txt")
                c.check(r.returncode in (55, 56), f"reset_peer addr=[::1] on [::1]: {r.returncode}")
                r, _ = curl_run(["reset_peer:addr=[::1]:bytes=0"], u4 + "/small.txt")
                c.check(r.returncode == 0, "reset_peer addr=[::1] leaves 127.0.0.1 alone")
                r, _ = curl_run(["reset_peer:addr=127.0.0.0/8:bytes=0"], u6 + "/small.txt")
                c.check(r.returncode == 0, "reset_peer addr=127.0.0.0/8 leaves [::1] alone")
                r, _ = curl_run(["reset_peer:addr=[::]/0:bytes=0"], u6 + "/small.txt")
                c.check(r.returncode in (55, 56), "reset_peer addr=[::]/0: any IPv6 peer")
            else:
                print("note: no IPv6 loopback here; the IPv6 cases did not run")
            r, _ = curl_run(["reset_peer:addr=127.0.0.0/8:bytes=0"], u4 + "/small.txt")
            c.check(r.returncode in (55, 56), "reset_peer addr=127.0.0.0/8 on 127.0.0.1")

            # after=: a program asleep in poll meets the deadline (the server sends nothing).
            r, dt = curl_run([f"reset_peer:port={hold.port}:after=500ms"],
                             f"http://127.0.0.1:{hold.port}/x")
            time.sleep(0.2)
            c.check(r.returncode == 56 and "reset by peer" in r.stderr and 0.5 <= dt < 10,
                    f"reset_peer after=500ms, curl waiting in poll: {r.returncode} in {dt:.2f}s")
            c.check("reset" in hold.ends, f"and the server got the RST: {hold.ends}")

            # The server side: reset_peer on its own port (lport=) makes its close abortive.
            ps = free_port()
            srv = http_server(d, "127.0.0.1", ps, [f"reset_peer:lport={ps}"])
            try:
                n, how, _ = client("127.0.0.1", ps)
                c.check(how == "reset" and n > 100,
                        f"server under reset_peer lport=: the client reads {n} bytes, then RST")
            finally:
                stop(srv)
            n, how, _ = client("127.0.0.1", p4)
            c.check(how == "eof", f"the same without the rule ends in EOF: {how}")

            # limit_data: the connection closes after exactly N bytes.
            r, _ = curl_run([f"limit_data:port={p4}:bytes=5000:dir=recv"], u4 + "/big.bin")
            got = sum(int(x) for x in r.stdout.split()[1:3]) if r.stdout else -1
            c.check(r.returncode == 18 and got == 5000,
                    f"limit_data bytes=5000: curl 18 (transfer closed) after {got} bytes")

            # Once limit_data has closed it, the connection stays closed for the program,
            # even after the kernel forgot its peer: more data the server sent after our
            # FIN drew a reset, and the socket has no peer address any more (the rule
            # recognises it by the ends it recorded). Failed before: 50000 bytes, then
            # ECONNRESET.
            burst = BurstServer()
            try:
                r = run(exec_cmd([f"limit_data:port={burst.port}:bytes=5000"],
                                 [PY, "-c", SLOW_READER, str(burst.port)]))
                c.check(r.stdout.split() == ["5000", "eof"],
                        f"limit_data, a slow reader, the server still sending: exactly 5000 "
                        f"bytes, then the end: {r.stdout.strip()}")
            finally:
                burst.close()

            # slicer: small chunks with pauses; the data arrives intact.
            r, dt = curl_run([f"slicer:port={p4}:size=3000:delay=10ms:dir=recv"], u4 + "/big.bin")
            ok = r.returncode == 0 and open(d + "/out", "rb").read() == big
            c.check(ok and dt >= 0.45, f"slicer size=3000 delay=10ms: intact, {dt:.2f}s (>= 0.5)")
            cnt = CountServer()
            try:
                code = ("import socket,sys; s=socket.create_connection(('127.0.0.1',%d)); "
                        "s.sendall(b'x'*20000); s.close()" % cnt.port)
                r = run(exec_cmd([f"slicer:port={cnt.port}:size=1000:var=200:delay=20ms"],
                                 [PY, "-c", code]))
                for _ in range(100):
                    if cnt.ends:
                        break
                    time.sleep(0.05)
                sizes, dt = cnt.ends[0] if cnt.ends else ([], 0)
                # 20 pieces 20 ms apart take >= 0.36 s; a loaded receiver may read two at once.
                c.check(r.returncode == 0 and sum(sizes) == 20000 and len(sizes) >= 5 and
                        dt >= 0.3,
                        f"slicer on send: 20000 bytes arrive over {dt:.2f}s in {len(sizes)} reads")
            finally:
                cnt.close()

            # bandwidth: 150000 bytes at 100 kB/s.
            r, dt = curl_run([f"bandwidth:port={p4}:rate=100kbps:dir=recv"], u4 + "/big.bin")
            ok = r.returncode == 0 and open(d + "/out", "rb").read() == big
            c.check(ok and dt >= 1.3, f"bandwidth 100kbps: 150 kB intact in {dt:.2f}s (>= 1.4)")

            # timeout: data stops; with after= the connection then closes.
            r, dt = curl_run([f"timeout:port={p4}:after=1s"], u4 + "/small.txt")
            c.check(r.returncode == 52 and dt >= 1.0,
                    f"timeout after=1s: nothing got through, closed at 1s: curl "
                    f"{r.returncode} in {dt:.2f}s")
            r, dt = curl_run([f"timeout:port={p4}"], u4 + "/small.txt", "--max-time", "1.5")
            c.check(r.returncode == 28 and dt >= 1.4,
                    f"timeout (held): curl gives up after its own 1.5s: {r.returncode}")

            # slow_close: the close reaches the other side late.
            r, dt = curl_run([f"slow_close:port={p4}:delay=700ms"], u4 + "/small.txt")
            c.check(r.returncode == 0 and dt >= 0.7, f"slow_close on curl: 200, {dt:.2f}s")
            ps = free_port()
            srv = http_server(d, "127.0.0.1", ps, [f"slow_close:lport={ps}:delay=700ms"])
            try:
                n, how, dt = client("127.0.0.1", ps)
                c.check(how == "eof" and n > 100 and dt >= 0.7,
                        f"server under slow_close: the client's EOF after {dt:.2f}s")
            finally:
                stop(srv)

            # A blocking recv is cut short at the after= deadline too (the server is silent).
            code = ("import socket,sys,time; s=socket.create_connection(('127.0.0.1',%d)); "
                    "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); t=time.monotonic()\n"
                    "try:\n s.recv(100); print('data')\n"
                    "except ConnectionResetError: print('reset %%.2f' %% (time.monotonic()-t))"
                    % hold.port)
            r = run(exec_cmd([f"reset_peer:port={hold.port}:after=400ms:dir=recv"],
                             [PY, "-c", code]))
            got = r.stdout.split()
            c.check(got[:1] == ["reset"] and float(got[1]) >= 0.35,
                    f"a blocking recv past after=400ms: ConnectionResetError: {r.stdout.strip()}")

            # Live, as the agent arms it: a running shimmed client, timeout armed and disarmed.
            tick = TickServer()
            e = dict(os.environ, LD_PRELOAD=SHIM)
            e.pop("FAULTLINE_SHM", None)
            p = subprocess.Popen([PY, "-c", TICK_CLIENT, str(tick.port)], stdout=subprocess.PIPE,
                                 text=True, env=e)
            try:
                first = p.stdout.readline()
                c.check(bool(first), "live: the client reads ticks")
                a = subprocess.run([ARM, "--pid", str(p.pid), f"timeout:port={tick.port}"],
                                   capture_output=True, text=True, timeout=10)
                c.check(a.returncode == 0, f"fl-arm timeout: {a.stderr.strip()}")
                t_arm = time.monotonic()
                time.sleep(0.8)
                hits = subprocess.run([ARM, "--pid", str(p.pid), "--hits"], capture_output=True,
                                      text=True, timeout=10).stdout.split()
                # Ticks stamped before the disarm began were held; fl-arm's own exit
                # can take 70 ms (an ASan build's leak check), so t_dis comes later.
                t_dis0 = time.monotonic()
                subprocess.run([ARM, "--pid", str(p.pid), "--disarm"], timeout=10)
                t_dis = time.monotonic()
                stamps = []
                while True:
                    line = p.stdout.readline()
                    if not line:
                        break
                    stamps.append(float(line))
                    if stamps[-1] > t_dis + 0.3:
                        break
                held = [x for x in stamps if t_arm + 0.2 < x < t_dis0]
                after = [x for x in stamps if x > t_dis]
                c.check(not held and after,
                        f"live: armed, no tick got through ({len(held)}); disarmed, ticks again "
                        f"({len(after)})")
                c.check(hits and int(hits[0]) >= 1, f"live: the held receive counted: {hits}")
            finally:
                p.kill()
                p.wait()
                tick.close()

            # Stream rules act on TCP connections only: files pass untouched and fast.
            t0 = time.monotonic()
            r = run(exec_cmd(["slicer:size=1:delay=100ms", "reset_peer:bytes=0"],
                             ["cat", d + "/small.txt"]))
            c.check(r.returncode == 0 and r.stdout == "hello faultline\n" and
                    time.monotonic() - t0 < 5, "cat of a file under stream rules: untouched")
        finally:
            stop(s4)
            stop(s6)
            hold.close()
    c.done()


main()
