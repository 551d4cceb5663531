#!/bin/sh
# `faultline validate` runs each fault kind's own parser offline (no agent)
# and names the field inside the experiment; `faultline run` (and --dry) refuse
# the same experiment before anything runs, with exit 2. Issue #14's cases:
# a kind "kil", a relative pidfile, signal STOP on a kill, two selectors, a
# pid as a string, a process name over 15 characters; a kill needs no duration.
. "$(dirname "$0")/lib.sh"

fault() { # NAME KIND TARGET [PARAMS] [DURATION]
	printf '{"type": "action", "name": "%s", "provider": {"type": "fault", "kind": "%s", "target": %s%s%s}}' \
		"$1" "$2" "$3" "${4:+, \"params\": $4}" "${5:+, \"duration\": \"$5\"}"
}

cat >"$T/bad.json" <<JSON
{
  "title": "six faults no agent would take",
  "method": [
    {"type": "action", "name": "touch", "provider": {"type": "process", "path": "touch", "arguments": ["$T/ran"]}},
    $(fault kind kil '{"pid": 5}' '' 1s),
    $(fault pidfile kill '{"pidfile": "run/x.pid"}'),
    $(fault stop kill '{"pid": 5}' '{"signal": "STOP"}'),
    $(fault two kill '{"pid": 5, "name": "x"}'),
    $(fault string kill '{"pid": "5"}'),
    $(fault long kill '{"name": "a-name-longer-than-15"}')
  ]
}
JSON

run_fl validate bad.json
expect_rc 2
for want in \
	'bad.json: $.method\[1\].provider.kind: unknown fault kind "kil"' \
	'bad.json: $.method\[2\].provider.target.pidfile: expected an absolute path' \
	'bad.json: $.method\[3\].provider.params.signal: stop/continue signals are the pause fault' \
	'bad.json: $.method\[4\].provider.target.name: only one of pid, name' \
	'bad.json: $.method\[5\].provider.target.pid: expected a process id' \
	'bad.json: $.method\[6\].provider.target.name: a process name is the kernel.s comm: at most 15'; do
	grep -q -- "$want" "$T/out" || fail "validate did not say: $want"
done
[ "$(grep -c 'bad.json: \$' "$T/out")" = 6 ] || fail "expected 6 problems, one per fault"
grep -q ': ok' "$T/out" && fail "validate said ok"

# run and run --dry refuse before anything runs: the first action never touches its file.
for mode in run dry; do
	if [ $mode = dry ]; then run_fl run --dry bad.json; else run_fl run bad.json; fi
	expect_rc 2
	expect_out '$.method\[3\].provider.params.signal'
	[ ! -e "$T/ran" ] || fail "run $mode ran the method of an invalid experiment"
done

# Valid faults of each family pass; a kill needs no duration.
cat >"$T/good.json" <<JSON
{
  "title": "faults the kinds accept",
  "method": [
    $(fault kill kill '{"name": "fl-nothing", "count": 1}' '{"signal": "SIGTERM"}'),
    $(fault pause pause '{"cgroup": "/fl-nothing"}' '{"method": "freezer"}' 5s),
    $(fault netem netem '{"interface": "lo"}' '{"delay": "10ms", "jitter": "1ms", "distribution": "normal"}' 5s),
    $(fault partition partition '{}' '{"peers": ["10.9.0.0/24", "fd99::/64"]}' 5s),
    $(fault syscall syscall '{"command": ["/bin/true"]}' '{"rules": ["write:EIO:p=0.5"]}' 5s)
  ]
}
JSON
run_fl validate good.json
expect_rc 0
expect_out 'good.json: ok'
echo "PASS: validate and run check every fault with its kind's parser, at its JSON path"
