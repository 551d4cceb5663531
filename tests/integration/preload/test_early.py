"""Hooks work before the shim's constructor: a library the program links
against calls write(2) and getaddrinfo(3) from its own constructor, which
ld.so runs before the shim's (checked with LD_DEBUG=files); those calls must
succeed (the table is not mapped yet: disarmed), and the program's own
write is then faulted as the rule says."""
import re

from fltest import Checks, env, exec_cmd, run

APP = env("FL_EARLY")
SHIM = env("FL_SHIM")


def main():
    c = Checks()
    r = run(exec_cmd(["write:EIO"], [APP]), extra_env={"LD_DEBUG": "files"})
    inits = re.findall(r"calling init: (\S+)", r.stderr)
    early = [i for i, p in enumerate(inits) if "libfl-early" in p]
    shim = [i for i, p in enumerate(inits) if "libfaultline-preload" in p]
    c.check(bool(early) and bool(shim) and early[0] < shim[0],
            f"the early library initialises before the shim: {inits}")
    c.check("early write" in r.stdout and "early ret=" in r.stdout and "gai=0" in r.stdout,
            f"hooked calls before the shim's constructor work: {r.stdout.strip()!r}")
    c.check("main ret=-1 errno=EIO" in r.stderr,
            f"after it, the rule applies: {r.stderr.strip().splitlines()[-1:]}")
    c.done()


main()
