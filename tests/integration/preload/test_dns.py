"""dns rules against real resolver calls: getent (gethostbyname2 for `hosts`,
getaddrinfo for `ahosts`), and fl-dnstest's getaddrinfo, gethostbyname*,
res_query family. Names that reach DNS go to a resolver of the test's own on
127.0.0.1 (fl-dnstest points the resolver there; getent is only asked for
localhost, which /etc/hosts answers): no query leaves loopback, and the test
checks which names reached DNS at all -- a faulted name must not."""
import os
import re
import shutil

from fltest import Checks, LocalDNS, env, exec_cmd, run

DT = env("FL_DNSTEST")
KV = re.compile(r"(\w+)=(\S*)")


def call(rules, args, dns):
    r = run(exec_cmd(rules, [DT] + args), extra_env={"FL_DNS_PORT": str(dns.port)})
    line = r.stdout.strip()
    return dict(KV.findall(line)), line


def main():
    c = Checks()
    dns = LocalDNS({"www.fl.test": "192.0.2.7", "db.fl.test": "192.0.2.8"})
    try:
        # Without rules: the names are real, answered by the local resolver.
        got, line = call([], ["gai", "www.fl.test"], dns)
        c.check(got.get("ret") == "0" and got.get("addrs") == "192.0.2.7",
                f"no rule: getaddrinfo www.fl.test from the local resolver: {line}")
        c.check("www.fl.test" in dns.asked, f"and it asked DNS: {dns.asked}")

        # NXDOMAIN for one name, every entry point; the other name untouched.
        nx = ["dns:NXDOMAIN:host=www.fl.test"]
        dns.asked.clear()
        for args, key, want in ((["gai", "www.fl.test"], "ret", str(-2)),  # EAI_NONAME
                                (["ghbn", "www.fl.test"], "herr", "1"),  # HOST_NOT_FOUND
                                (["ghbn2", "www.fl.test", "4"], "herr", "1"),
                                (["ghbn_r", "www.fl.test"], "herr", "1"),
                                (["ghbn2_r", "www.fl.test", "6"], "herr", "1"),
                                (["resq", "www.fl.test"], "rcode", "3"),
                                (["ress", "www.fl.test"], "herr", "1"),
                                (["resqd", "www", "fl.test"], "rcode", "3"),
                                (["resnq", "www.fl.test"], "herr", "1")):
            got, line = call(nx, args, dns)
            c.check(got.get(key) == want and got.get("addrs", "") == "",
                    f"NXDOMAIN {args[0]}: {key}={want}: {line}")
        c.check("www.fl.test" not in dns.asked, f"no faulted name reached DNS: {dns.asked}")
        got, line = call(nx, ["gai", "db.fl.test"], dns)
        c.check(got.get("ret") == "0" and got.get("addrs") == "192.0.2.8",
                f"NXDOMAIN www: db.fl.test still resolves: {line}")
        got, line = call(nx, ["resq", "db.fl.test"], dns)
        c.check(got.get("addrs") == "192.0.2.8" and "db.fl.test" in dns.asked,
                f"NXDOMAIN www: res_query db.fl.test goes to DNS: {line}")

        # A wrong answer, by pattern, through every entry point; no DNS asked.
        wrong = ["dns:answer=10.9.9.9:host=*.fl.test"]
        dns.asked.clear()
        for args in (["gai", "www.fl.test"], ["gai", "DB.FL.TEST."], ["gai", "www.fl.test", "4"],
                     ["ghbn", "www.fl.test"], ["ghbn2", "www.fl.test", "4"],
                     ["ghbn_r", "www.fl.test"], ["resq", "www.fl.test"],
                     ["ress", "db.fl.test"], ["resqd", "www", "fl.test"],
                     ["resnq", "www.fl.test"]):
            got, line = call(wrong, args, dns)
            c.check(got.get("addrs") == "10.9.9.9", f"answer=10.9.9.9 {args}: {line}")
        got, line = call(wrong, ["ghbn", "www.fl.test"], dns)
        c.check(got.get("hname") == "www.fl.test", f"the answer carries the name: {line}")
        c.check(not dns.asked, f"no DNS question for answered names: {dns.asked}")
        # An A-only answer has no IPv6 address (and no AAAA record).
        got, line = call(wrong, ["gai", "www.fl.test", "6"], dns)
        c.check(got.get("ret") == str(-2), f"answer v4, getaddrinfo AF_INET6: EAI_NONAME: {line}")
        got, line = call(wrong, ["ghbn2", "www.fl.test", "6"], dns)
        c.check(got.get("herr") == "4", f"answer v4, gethostbyname2 AF_INET6: NO_DATA: {line}")
        got, line = call(wrong, ["resq", "www.fl.test", "28"], dns)
        c.check(got.get("ret") == "-1" and got.get("herr") == "4" and got.get("an") == "0",
                f"answer v4, res_query AAAA: NOERROR, no record: {line}")
        got, line = call(["dns:answer=[fd00::9]:host=www.fl.test"], ["gai", "www.fl.test", "6"],
                         dns)
        c.check(got.get("addrs") == "fd00::9", f"an IPv6 answer: {line}")
        got, line = call(wrong, ["ghbn_r", "www.fl.test", "16"], dns)
        c.check(got.get("ret") == "34", f"gethostbyname_r, small buffer: ERANGE: {line}")
        # A name outside the pattern, and an address written out, are not names to fault.
        got, line = call(wrong, ["gai", "fl.test.example"], dns)
        c.check(got.get("ret") != "0" or got.get("addrs") != "10.9.9.9",
                f"*.fl.test does not match fl.test.example: {line}")
        got, line = call(["dns:answer=10.9.9.9"], ["gai", "127.0.0.1"], dns)
        c.check(got.get("addrs") == "127.0.0.1", f"a literal address passes: {line}")

        # SERVFAIL: a temporary failure everywhere.
        sf = ["dns:SERVFAIL:host=www.fl.test"]
        for args, key, want in ((["gai", "www.fl.test"], "ret", str(-3)),  # EAI_AGAIN
                                (["ghbn", "www.fl.test"], "herr", "2"),  # TRY_AGAIN
                                (["ghbn_r", "www.fl.test"], "ret", "11"),  # EAGAIN
                                (["resq", "www.fl.test"], "rcode", "2")):
            got, line = call(sf, args, dns)
            c.check(got.get(key) == want, f"SERVFAIL {args[0]}: {key}={want}: {line}")

        # timeout: the call takes the set time, then fails as a timeout would.
        got, line = call(["dns:timeout=700ms:host=www.fl.test"], ["gai", "www.fl.test"], dns)
        c.check(got.get("ret") == str(-3) and int(got.get("ms", 0)) >= 690,
                f"timeout=700ms: EAI_AGAIN after >= 700 ms: {line}")
        got, line = call(["dns:timeout=300ms"], ["resq", "www.fl.test"], dns)
        c.check(got.get("herr") == "2" and int(got.get("ms", 0)) >= 290,
                f"timeout=300ms res_query: TRY_AGAIN after >= 300 ms: {line}")

        # p= and when= as on any rule: the 2nd call only.
        got, _ = call(["dns:NXDOMAIN:host=www.fl.test:when=2"], ["gai", "www.fl.test"], dns)
        c.check(got.get("ret") == "0", "when=2: the first lookup passes")

        # The user's view: getent. `hosts` asks gethostbyname2, `ahosts` getaddrinfo.
        getent = shutil.which("getent")
        if not getent:
            c.check(False, "getent is missing (libc-bin)")
        else:
            r = run(exec_cmd([], [getent, "hosts", "localhost"]))
            c.check(r.returncode == 0 and "127.0.0.1" in r.stdout, f"getent hosts: {r.stdout}")
            r = run(exec_cmd(["dns:NXDOMAIN:host=localhost"], [getent, "hosts", "localhost"]))
            c.check(r.returncode == 2 and not r.stdout,
                    f"dns:NXDOMAIN: getent hosts localhost fails (2): {r.returncode} {r.stdout}")
            r = run(exec_cmd(["dns:NXDOMAIN:host=other.test"], [getent, "hosts", "localhost"]))
            c.check(r.returncode == 0 and "127.0.0.1" in r.stdout,
                    f"a rule for another name leaves localhost alone: {r.returncode}")
            r = run(exec_cmd(["dns:answer=10.9.9.9:host=localhost"],
                             [getent, "hosts", "localhost"]))
            c.check(r.returncode == 0 and r.stdout.split()[:2] == ["10.9.9.9", "localhost"],
                    f"answer=: getent hosts shows the wrong address: {r.stdout.strip()}")
            r = run(exec_cmd(["dns:SERVFAIL:host=localhost"], [getent, "ahosts", "localhost"]))
            c.check(r.returncode == 2, f"SERVFAIL: getent ahosts (getaddrinfo) fails: "
                    f"{r.returncode}")
            # Which entry point getent hosts uses: a call rule on getaddrinfo alone misses it.
            r = run(exec_cmd(["getaddrinfo:EAI_NONAME:host=localhost"],
                             [getent, "hosts", "localhost"]))
            c.check(r.returncode == 0, "getent hosts does not use getaddrinfo")
            cli = os.environ.get("FL_FAULTLINE")
            if cli:
                r = run([cli, "exec", "-v", "--fault", "dns:NXDOMAIN:host=localhost", "--",
                         getent, "hosts", "localhost"])
                c.check(r.returncode == 2 and
                        'rule 1 "dns:NXDOMAIN:host=localhost": 2 hit(s)' in r.stderr,
                        f"faultline exec -v counts both lookups (v6, then v4): "
                        f"{r.stderr.strip().splitlines()[-1:]}")
    finally:
        dns.close()
    c.done()


main()
