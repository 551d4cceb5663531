"""The shim in real tools: cat, python3 and curl, through faultline exec, with
what a user would see (exit codes, messages, timings)."""
import os
import shutil
import socket
import subprocess
import sys
import time

from fltest import Checks, TempDir, env, exec_cmd, free_port, run

PY = "/usr/bin/python3"


def wait_port(port, proc, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def main():
    env("FL_EXEC")
    c = Checks()
    with TempDir() as d:
        f = d + "/hello.txt"
        with open(f, "w") as fh:
            fh.write("hello faultline\n")

        # cat
        r = run(exec_cmd([], ["cat", f]))
        c.check(r.returncode == 0 and r.stdout == "hello faultline\n", "cat, no rules: unchanged")
        r = run(exec_cmd([f"read:EIO:path={d}/"], ["cat", f]))
        c.check(r.returncode == 1 and "Input/output error" in r.stderr,
                f"cat, read:EIO on its file: {r.returncode} {r.stderr.strip()}")
        r = run(exec_cmd([f"open:ENOENT:path={d}/"], ["cat", f]))
        c.check(r.returncode == 1 and "No such file or directory" in r.stderr,
                f"cat, open:ENOENT: {r.stderr.strip()}")
        # The open/openat trap: cat opens with open(); a rule on openat covers it.
        r = run(exec_cmd([f"openat:EACCES:path={d}/"], ["cat", f]))
        c.check(r.returncode == 1 and "Permission denied" in r.stderr,
                f"cat, openat:EACCES (cat calls open): {r.stderr.strip()}")
        r = run(exec_cmd([f"=openat:EACCES:path={d}/", f"=open64:ENOSPC:path=/nowhere/"],
                         ["cat", f]))
        c.check(r.returncode == 0 and r.stdout == "hello faultline\n",
                "cat, =openat (that name only): cat's open() passes")
        r = run(exec_cmd(["write:ENOSPC:fd=1"], ["cat", f]))
        c.check(r.returncode == 1 and "No space left on device" in r.stderr,
                f"cat, write:ENOSPC on stdout: {r.stderr.strip()}")
        r = run(exec_cmd(["read:short=5:path=" + d + "/"], ["cat", f]))
        c.check(r.returncode == 0 and r.stdout == "hello faultline\n",
                "cat, short reads: still the whole file (cat loops)")

        # the same through the faultline CLI itself
        cli = os.environ.get("FL_FAULTLINE")
        if cli:
            r = run([cli, "exec", "--fault", f"read:EIO:path={d}/", "--", "cat", f])
            c.check(r.returncode == 1 and "Input/output error" in r.stderr,
                    f"faultline exec (the CLI): {r.returncode} {r.stderr.strip()}")
            r = run([cli, "exec", "--fault", "write:EIO:p=2", "--", "true"])
            c.check(r.returncode == 2 and '"2"' in r.stderr,
                    f"faultline exec, bad rule: {r.returncode} {r.stderr.strip()}")
        else:
            print("note: the faultline CLI is not built; checked through fl-exec only")

        # python3
        prog = f"open({f!r}).read()"
        r = run(exec_cmd([f"open,openat:EACCES:path={d}/"], [PY, "-c", prog]))
        c.check(r.returncode == 1 and "PermissionError" in r.stderr,
                f"python3, open:EACCES: {r.stderr.strip().splitlines()[-1:]}")
        r = run(exec_cmd(["getaddrinfo:EAI_NONAME:host=localhost"],
                         [PY, "-c", "import socket; socket.getaddrinfo('localhost', 80)"]))
        c.check(r.returncode == 1 and "gaierror" in r.stderr,
                f"python3, getaddrinfo:EAI_NONAME: {r.stderr.strip().splitlines()[-1:]}")

        # curl against a real HTTP server
        if not shutil.which("curl"):
            c.check(False, "curl is not installed (scripts/deps.sh installs it)")
            c.done()
        port = free_port()
        srv = subprocess.Popen([PY, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                "--directory", d], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        try:
            if not wait_port(port, srv):
                c.check(False, "http.server did not come up")
                c.done()
            url = f"http://127.0.0.1:{port}/hello.txt"
            curl = ["curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}"]
            r = run(exec_cmd([], curl + [url]))
            c.check(r.returncode == 0 and r.stdout == "200", f"curl, no rules: {r.stdout}")
            r = run(exec_cmd([f"connect:ECONNREFUSED:port={port}"], curl + [url]))
            c.check(r.returncode == 7, f"curl, connect:ECONNREFUSED: exit {r.returncode}")
            r = run(exec_cmd([f"connect:ECONNREFUSED:port={port + 1}"], curl + [url]))
            c.check(r.returncode == 0 and r.stdout == "200",
                    f"curl, rule for another port: {r.returncode} {r.stdout}")
            # curl resolves "localhost" itself; the host name goes through getaddrinfo
            host = socket.gethostname()
            try:
                loop = socket.gethostbyname(host) == "127.0.0.1"
            except OSError:
                loop = False
            if loop:
                hurl = f"http://{host}:{port}/hello.txt"
                r = run(exec_cmd([], curl + [hurl]))
                c.check(r.returncode == 0 and r.stdout == "200", f"curl, {host}, no rules")
                r = run(exec_cmd([f"getaddrinfo:EAI_NONAME:host={host}"], curl + [hurl]))
                c.check(r.returncode == 6, f"curl, getaddrinfo:EAI_NONAME: exit {r.returncode}")
            else:
                print(f"note: host name {host} is not 127.0.0.1; curl getaddrinfo case not run")
            r = run(exec_cmd(["recv,recvfrom,read:ECONNRESET"], curl + [url]))
            c.check(r.returncode == 56, f"curl, recv:ECONNRESET: exit {r.returncode}")
            t0 = time.monotonic()
            r = run(exec_cmd([f"connect:delay=300ms:port={port}"], curl + [url]))
            dt = time.monotonic() - t0
            c.check(r.returncode == 0 and r.stdout == "200" and dt >= 0.3,
                    f"curl, connect:delay=300ms: {r.stdout} in {dt:.3f}s")
        finally:
            srv.terminate()
            srv.wait(timeout=10)
    c.done()


main()
