#!/usr/bin/env python3
"""No circles among faultline's modules (docs/architecture.md).

A module is a source file and its header (faults/nl_ingress.c + .h). Two
graphs are checked:
  include  module A includes the header of module B ("#include "x/y.h""); a
           header without a .c (faults/nl_common.h, a private header) is not a
           module: what includes it includes what it includes
  link     an object of A uses a symbol that an object of B defines
           (nm on the build's object files: the call graph as the linker sees it)
Any strongly connected set of more than one module is printed and fails.

usage: cycles.py SOURCE_DIR BUILD_DIR
"""
import os
import re
import subprocess
import sys

PARTS = ("core", "experiments", "faults", "agent", "controller", "preload")


def module_of(rel):
    return os.path.splitext(rel)[0]


def include_graph(src):
    raw, has_c = {}, set()
    inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
    for part in PARTS:
        for root, _, files in os.walk(os.path.join(src, part)):
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, f)
                rel = os.path.relpath(path, src)
                mod = module_of(rel)
                if f.endswith(".c"):
                    has_c.add(mod)
                raw.setdefault(mod, set())
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for name in inc.findall(fh.read()):
                        if os.path.exists(os.path.join(src, name)):
                            raw[mod].add(module_of(name))

    def reach(mod, seen):
        """The modules `mod` depends on, seeing through header-only ones."""
        out = set()
        for dep in raw.get(mod, ()):
            if dep in has_c:
                out.add(dep)
            elif dep not in seen:
                seen.add(dep)
                out |= reach(dep, seen)
        return out

    return {m: reach(m, {m}) - {m} for m in raw if m in has_c}


def objects(build):
    """(module, object path) for every object the project's libraries and programs hold now.

    A static library's members are read from the archive itself (ar t), so an
    object left in the build tree by a file that no longer exists is ignored.
    """
    out, seen, everywhere = [], set(), {}
    for part in PARTS:
        for root, _, files in os.walk(os.path.join(build, part, "CMakeFiles")):
            for f in files:
                if f.endswith(".c.o"):
                    everywhere.setdefault(f, []).append(os.path.join(root, f))
    for part in PARTS:
        base = os.path.join(build, part, "CMakeFiles")
        if not os.path.isdir(base):
            continue
        for tdir in sorted(os.listdir(base)):
            if not tdir.endswith(".dir"):
                continue
            target = tdir[:-4]
            found = {}
            for root, _, files in os.walk(os.path.join(base, tdir)):
                for f in files:
                    if f.endswith(".c.o"):
                        found.setdefault(f, []).append(os.path.join(root, f))
            archive = os.path.join(build, part, "lib" + target + ".a")
            if os.path.exists(archive):
                members = subprocess.run(["ar", "t", archive], capture_output=True,
                                         text=True, check=True).stdout.split()
            else:
                members = list(found)
            for m in members:
                # An OBJECT library's objects sit in the archives of its users.
                paths = found.get(m) or everywhere.get(m, [])
                if len(paths) != 1:
                    raise SystemExit(f"FAIL: {archive}: member {m} matches {paths}")
                if paths[0] in seen:
                    continue
                seen.add(paths[0])
                rel = os.path.relpath(paths[0], build).split(os.sep)
                # PART/CMakeFiles/TARGET.dir/[sub/]file.c.o -> PART/[sub/]file
                out.append((module_of(os.path.join(rel[0], *rel[3:])[:-2]), paths[0]))
    return out


def nm_batch(paths, *flags):
    """{path: [symbol...]} for many object files at once (nm -A names each line's file)."""
    out = {p: [] for p in paths}
    for i in range(0, len(paths), 200):
        chunk = paths[i:i + 200]
        r = subprocess.run(["nm", "-A", *flags, *chunk], capture_output=True, text=True,
                           check=True)
        for line in r.stdout.splitlines():
            where, _, rest = line.rpartition(":")
            if where in out and rest.split():
                out[where].append(rest.split()[-1])
    return out


def link_graph(build):
    objs = objects(build)
    paths = [p for _, p in objs]
    defs = nm_batch(paths, "--defined-only", "--extern-only")
    undefs = nm_batch(paths, "--undefined-only")
    defined, used = {}, {}
    for mod, path in objs:
        for sym in defs[path]:
            if sym != "main":
                defined.setdefault(sym, set()).add(mod)
        used.setdefault(mod, set()).update(undefs[path])
    graph = {}
    for mod, syms in used.items():
        graph.setdefault(mod, set())
        for sym in syms:
            for dep in defined.get(sym, ()):
                if dep != mod:
                    graph[mod].add(dep)
    return graph


def cycles(graph):
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def path_in(graph, comp):
    """One circle through the component, for the message: a -> b -> ... -> a."""
    members, start = set(comp), comp[0]
    prev, todo = {start: None}, [start]
    while todo:
        n = todo.pop(0)
        for m in sorted(graph[n]):
            if m == start:
                walk = [n]
                while prev[walk[-1]] is not None:
                    walk.append(prev[walk[-1]])
                return " -> ".join(reversed(walk)) + " -> " + start
            if m in members and m not in prev:
                prev[m] = n
                todo.append(m)
    return ", ".join(comp)


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    src, build = sys.argv[1:]
    if subprocess.run(["sh", "-c", "command -v nm && command -v ar"],
                      capture_output=True).returncode:
        print("SKIPPED: nm and ar (binutils) are not installed")
        return 77
    bad = 0
    for name, graph in (("include", include_graph(src)), ("link", link_graph(build))):
        found = cycles(graph)
        edges = sum(len(v) for v in graph.values())
        print(f"{name} graph: {len(graph)} modules, {edges} edges, {len(found)} circle(s)")
        if name == "link" and not edges:
            print("FAIL: no object files found under", build)
            bad = 1
        for comp in found:
            print(f"FAIL: {name} circle: {path_in(graph, comp)}")
            bad = 1
    if not bad:
        print("PASS: no circles among the modules")
    return bad


if __name__ == "__main__":
    sys.exit(main())
