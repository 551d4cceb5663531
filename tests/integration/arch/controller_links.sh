#!/bin/sh
# The build matches docs/architecture.md: the faultline CLI links no netlink
# library and no fault kind's apply side (its ops tables, the agent's
# registry, the netlink engine); it does link every kind's spec, with which
# `faultline validate` checks faults offline. Reads the binary the build made.
set -u
bin=${FL_BIN:?FL_BIN: the faultline binary}
src=${FL_SOURCE_DIR:?FL_SOURCE_DIR: the source tree}
for tool in readelf nm; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIPPED: $tool (binutils) is not installed"
		exit 77
	fi
done
fail=0
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "faultline NEEDED: $(echo $needed)"
for lib in $needed; do
	case $lib in
	libnl-*)
		echo "FAIL: faultline links $lib (netlink belongs to the agent)"
		fail=1
		;;
	esac
done
# The kinds, from the one list both registries expand.
kinds=$(sed -n 's/^[[:space:]]*X(\([a-z_0-9]*\)).*/\1/p' "$src/faults/kinds.h")
[ -n "$kinds" ] || { echo "FAIL: no kinds read from faults/kinds.h"; exit 1; }
syms=$(nm --defined-only "$bin" | awk '{print $NF}')
for k in $kinds; do
	for s in "fl_fault_$k" "fl_nl_${k}_one"; do
		if echo "$syms" | grep -qx "$s"; then
			echo "FAIL: faultline contains $s, the $k kind's apply ops"
			fail=1
		fi
	done
done
for k in $kinds; do
	if ! echo "$syms" | grep -qx "fl_fault_spec_$k"; then
		echo "FAIL: faultline lacks fl_fault_spec_$k: validate cannot check $k faults offline"
		fail=1
	fi
done
for s in fl_fault_lookup fl_fault_nth fl_nl_sock_open fl_nl_root_apply fl_nl_multi_apply; do
	if echo "$syms" | grep -qx "$s"; then
		echo "FAIL: faultline contains $s (the agent's fault engine)"
		fail=1
	fi
done
[ "$fail" = 0 ] && echo "PASS: faultline links no libnl and no fault kind's apply side ($(echo $kinds))"
exit $fail
