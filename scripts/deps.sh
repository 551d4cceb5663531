#!/bin/sh
# Install the Debian packages faultline builds, tests and runs with. Idempotent:
# apt runs only when something is missing. Needs root (or sudo) on Debian 12.
set -eu

# Build and runtime libraries, and the tools the test suite drives for real:
# every real service of tests/integration/services (docs/guide.md) too, so that
# no lane is skipped for a package this script could have installed (the
# services' harness installs a missing one as well, when run on its own).
PACKAGES="
build-essential cmake pkgconf clang-format
libcjson-dev libcurl4-openssl-dev check libsubunit-dev clang-14 libclang-rt-14-dev wrk
libmicrohttpd-dev libgnutls28-dev gnutls-bin
libnl-3-dev libnl-route-3-dev libseccomp-dev libcap-ng-dev
iproute2 procps python3 curl valgrind libxml2-utils groff-base systemd strace
user-mode-linux busybox-static kmod
libyaml-dev python3-yaml openssl
libpcre2-dev
nginx-light redis-server redis-tools
hey rt-tests
postgresql etcd-server etcd-client prometheus
chromium
"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
# shellcheck disable=SC2086
"$(dirname "$0")/apt-install.sh" --update $missing >/dev/null
