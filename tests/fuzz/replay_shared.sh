#!/bin/sh
# tests/fuzz/replay_shared.sh FUZZ_TARGET CORPUS_DIR...
# Replays the corpora through a fuzz target (replay.c's main) that reads its
# inputs as another user: fuzz-journal shuts itself in namespaces as an unused
# uid before it opens a file (fuzz_journal.c). The checkout may sit in a folder
# only its owner can traverse (a 0700 home or mktemp -d), so the corpora are
# copied into a new 0755 folder under /tmp first, readable by everyone, and
# removed at the end. Exit status: the target's.
set -eu
bin=${1:?usage: replay_shared.sh FUZZ_TARGET CORPUS_DIR...}
shift
[ $# -gt 0 ] || { echo "replay_shared.sh: no corpus given" >&2; exit 2; }
d=$(mktemp -d /tmp/fl-fuzz-corpus.XXXXXX)
trap 'rm -rf "$d"' EXIT
trap 'exit 130' INT TERM
chmod 755 "$d"
i=0
for c in "$@"; do
	i=$((i + 1))
	mkdir "$d/$i"
	cp -R "$c/." "$d/$i/"
	set -- "$@" "$d/$i"
done
shift "$i"
chmod -R a+rX "$d"
rc=0
"$bin" "$@" || rc=$?
exit $rc
