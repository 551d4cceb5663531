#!/bin/sh
# `cmake --install` installs the faultline binary and its man page, faultline(1);
# the installed page renders without warnings; and the exit codes 0-3 are
# documented in all three places a user looks: `faultline --help`, the man
# page's EXIT STATUS and docs/cli.md.
. "$(dirname "$0")/lib.sh"

B=${FL_BUILD_DIR:?FL_BUILD_DIR must point at the build directory}
command -v cmake >/dev/null 2>&1 || skip "cmake is not installed"

cmake --install "$B" --prefix "$T/prefix" >"$T/out" 2>&1 || fail "cmake --install failed"
page="$T/prefix/share/man/man1/faultline.1"
[ -x "$T/prefix/bin/faultline" ] || fail "cmake --install did not install bin/faultline"
[ -f "$page" ] || fail "cmake --install did not install share/man/man1/faultline.1"
cmp -s "$page" "$SRC/docs/faultline.1" || fail "the installed man page is not docs/faultline.1"
"$T/prefix/bin/faultline" --version >"$T/out" 2>&1 || fail "the installed binary does not run"

# The page renders, without groff warnings, and says what it must.
if command -v groff >/dev/null 2>&1; then
	# -ww: every warning; no hyphenation, no justification, no overstriking.
	groff -man -Tutf8 -ww -rHY=0 -dAD=l -rLL=200n -P-cbou "$page" >"$T/man.txt" 2>"$T/man.err" ||
		fail "groff cannot render $page"
	[ ! -s "$T/man.err" ] || fail "groff warns on $page: $(cat "$T/man.err")"
	for s in NAME SYNOPSIS "EXIT STATUS" "faultline run" "faultline validate" --rollback-strategy \
		--var-file --junit NO_COLOR; do
		grep -q -- "$s" "$T/man.txt" || fail "the rendered man page lacks '$s'"
	done
else
	echo "note: groff is not installed; the page's rendering is not checked"
fi

# Exit codes: 0 held, 1 deviated/failed, 2 invalid input/usage, 3 interrupted,
# 4 no effect (--require-effect).
run_fl --help
expect_rc 0
for c in "0  the steady state held" "1  the steady state deviated" "2  invalid input or usage" \
	"3  interrupted by SIGINT/SIGTERM" "4  --require-effect: the run held"; do
	expect_out "^  $c"
done
sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$SRC/docs/faultline.1" >"$T/exit.man"
for c in 0 1 2 3 4; do
	grep -q "^\.B $c\$" "$T/exit.man" || fail "faultline.1's EXIT STATUS lacks $c"
done
grep -q "^\.B 5" "$T/exit.man" && fail "faultline.1 documents an exit code 5"
sed -n '/^## Exit codes/,/^## /p' "$SRC/docs/cli.md" >"$T/exit.md"
grep -q "^| 0 | the steady state held" "$T/exit.md" || fail "docs/cli.md: exit code 0"
grep -q "^| 1 | the steady state deviated" "$T/exit.md" || fail "docs/cli.md: exit code 1"
grep -q "^| 2 | invalid input or usage" "$T/exit.md" || fail "docs/cli.md: exit code 2"
grep -q "^| 3 | interrupted by SIGINT, SIGTERM" "$T/exit.md" || fail "docs/cli.md: exit code 3"
grep -q "^| 4 | only with \`--require-effect\`" "$T/exit.md" || fail "docs/cli.md: exit code 4"
echo "PASS"
