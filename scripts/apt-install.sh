#!/bin/sh
# apt-get install PACKAGE... for faultline's scripts and test harnesses, without
# starting the packages' own services: Debian starts a stock nginx on :80, redis
# on 6379, a PostgreSQL cluster, etcd, Prometheus on install, which the tests do
# not use (they start their own instances on their own ports). A policy-rc.d
# that answers 101 ("action forbidden") is in place for the install (honoured by
# invoke-rc.d and deb-systemd-invoke), then removed; one that already exists
# (container images often have one) is left as it is.
#   scripts/apt-install.sh [--update] PACKAGE...
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
update=""
if [ "${1:-}" = "--update" ]; then
	update=1
	shift
fi
prc=/usr/sbin/policy-rc.d
if [ ! -e "$prc" ]; then
	trap '$SUDO rm -f "$prc"' EXIT
	trap 'exit 130' INT TERM
	printf '#!/bin/sh\n# scripts/apt-install.sh: no service starts during this install\nexit 101\n' |
		$SUDO tee "$prc" >/dev/null
	$SUDO chmod 755 "$prc"
fi
export DEBIAN_FRONTEND=noninteractive
[ -z "$update" ] || $SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "$@"
