#!/bin/sh
# The build matches docs/architecture.md: faultline-agent links neither
# libcurl (the Kubernetes API is loaded with dlopen() at the first pod list,
# core/kube_http.c) nor libpcre2 (Python regular expressions are the
# controller's tolerances, core/pyregex.c), so that an idle agent maps only
# what its configured features need. Reads the binary the build made.
set -u
bin=${FL_BIN:?FL_BIN: the faultline-agent binary}
for tool in readelf strings; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIPPED: $tool (binutils) is not installed"
		exit 77
	fi
done
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || { echo "FAIL: no NEEDED entries read from $bin"; exit 1; }
echo "faultline-agent NEEDED: $(echo $needed)"
fail=0
for lib in $needed; do
	case $lib in
	libcurl*)
		echo "FAIL: faultline-agent links $lib (load it on first use: core/kube_http.c)"
		fail=1
		;;
	libpcre2*)
		echo "FAIL: faultline-agent links $lib (PCRE2 is the controller's: core/pyregex.c)"
		fail=1
		;;
	esac
done
# The loader's view too: nothing the agent needs pulls them in indirectly.
if command -v ldd >/dev/null 2>&1; then
	all=$(ldd "$bin" 2>/dev/null | awk '{print $1}')
	echo "faultline-agent loads $(echo "$all" | grep -c .) libraries at start"
	for lib in $all; do
		case $lib in
		libcurl* | libpcre2*)
			echo "FAIL: starting faultline-agent loads $lib (ldd)"
			fail=1
			;;
		esac
	done
fi
# dlopen() is what replaces the link: the soname it asks for must be there.
if ! strings "$bin" 2>/dev/null | grep -qx 'libcurl.so.4'; then
	echo "FAIL: faultline-agent does not name libcurl.so.4 for its dlopen()"
	fail=1
fi
[ "$fail" = 0 ] && echo "PASS: faultline-agent links no libcurl and no libpcre2"
exit $fail
