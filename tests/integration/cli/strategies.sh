#!/bin/sh
# When the steady-state hypothesis and the rollbacks run, as chaoslib's
# run.py decides: should_run_before_method() is true for before-method-only,
# default and continuously; should_run_after_method() for after-method-only,
# default and continuously; should_run_during_method() for during-method-only
# and continuously. The file's runtime sets the strategies and the command
# line (--hypothesis-strategy, --rollback-strategy) wins over it. Every probe
# and activity appends a line to $T/log, so the order is what really ran.
# Last, an experiment with no method key: valid, and run, it completes.
. "$(dirname "$0")/lib.sh"

# exp HYPOTHESIS_STRATEGY ROLLBACK_STRATEGY: $T/exp.json. The probe is met only
# once the method has created $T/ready (so a gate before the method fails);
# the method takes 2.5 s, long enough for passes of a during hypothesis.
exp() {
	cat >"$T/exp.json" <<JSON
{
  "title": "strategies",
  "runtime": {"hypothesis": {"strategy": "$1"}, "rollbacks": {"strategy": "$2"}},
  "steady-state-hypothesis": {
    "title": "ready",
    "probes": [
      {"type": "probe", "name": "ready", "tolerance": 0,
       "provider": {"type": "process", "path": "sh",
                    "arguments": ["-c", "echo probe >>'$T/log'; test -f '$T/ready'"]}}
    ]
  },
  "method": [
    {"type": "action", "name": "get ready",
     "provider": {"type": "process", "path": "sh",
                  "arguments": ["-c", "echo method-start >>'$T/log'; touch '$T/ready'; sleep 2.5; echo method-end >>'$T/log'"]}}
  ],
  "rollbacks": [
    {"type": "action", "name": "undo",
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "echo rollback >>'$T/log'"]}}
  ]
}
JSON
	rm -f "$T/log" "$T/ready"
}

# log: the lines of $T/log on one line, e.g. "probe method-start method-end".
log() {
	tr '\n' ' ' <"$T/log" | sed 's/ $//'
}

# after-method-only: no gate (the probe would fail before the method), one
# check after it; "before" and "during" are empty.
exp after-method-only always
run_fl run exp.json
expect_rc 0
[ "$(log)" = "method-start method-end probe rollback" ] || fail "after-method-only ran: $(log)"
jassert "$T/journal.json" \
	'j["status"] == "completed" and j["deviated"] is False' \
	'j["hypothesis_strategy"] == "after-method-only"' \
	'j["steady_states"]["before"] is None' \
	'j["steady_states"]["after"]["steady_state_met"] is True' \
	'j["steady_states"]["during"] == []' \
	'len(j["run"]) == 1 and j["run"][0]["status"] == "succeeded"'

# during-method-only: no gate, no check after; the whole hypothesis every
# second while the method runs, each pass a state in steady_states.during.
exp during-method-only always
run_fl run exp.json
expect_rc 0
case " $(log) " in
*" method-start "*probe*" method-end "*) ;;
*) fail "during-method-only: no pass while the method ran: $(log)" ;;
esac
n=$(grep -c '^probe$' "$T/log")
jassert "$T/journal.json" \
	'j["status"] == "completed" and j["deviated"] is False' \
	'j["hypothesis_strategy"] == "during-method-only"' \
	'j["steady_states"]["before"] is None and j["steady_states"]["after"] is None' \
	"len(j['steady_states']['during']) == $n and $n >= 2" \
	'all(len(s["probes"]) == 1 and "steady_state_met" in s for s in j["steady_states"]["during"])' \
	'j["steady_states"]["during"][-1]["steady_state_met"] is True'

# The command line wins over the file's runtime: --hypothesis-strategy
# default brings the gate back, which fails, so the method is skipped; the
# file's rollback strategy "never" still holds.
exp after-method-only never
run_fl run --hypothesis-strategy default exp.json
expect_rc 1
[ "$(log)" = "probe" ] || fail "--hypothesis-strategy default ran: $(log)"
jassert "$T/journal.json" \
	'j["hypothesis_strategy"] == "default" and j["rollback_strategy"] == "never"' \
	'j["steady_states"]["before"]["steady_state_met"] is False' \
	'j["run"] == [] and j["rollbacks"] == []'

# --rollback-strategy always wins over the file's never; the file's
# hypothesis strategy still holds.
exp after-method-only never
run_fl run --rollback-strategy always exp.json
expect_rc 0
[ "$(log)" = "method-start method-end probe rollback" ] || fail "--rollback-strategy always ran: $(log)"
jassert "$T/journal.json" \
	'j["hypothesis_strategy"] == "after-method-only" and j["rollback_strategy"] == "always"' \
	'len(j["rollbacks"]) == 1 and j["rollbacks"][0]["status"] == "succeeded"'

# ... and --rollback-strategy never over the file's always.
exp after-method-only always
run_fl run --rollback-strategy never exp.json
expect_rc 0
[ "$(log)" = "method-start method-end probe" ] || fail "--rollback-strategy never ran: $(log)"
jassert "$T/journal.json" 'j["rollback_strategy"] == "never" and j["rollbacks"] == []'

# No method key at all (chaoslib's runner takes experiment.get("method", [])):
# valid; the hypothesis runs before and after, the rollbacks run.
cat >"$T/nomethod.json" <<JSON
{
  "title": "no method",
  "steady-state-hypothesis": {
    "title": "true holds",
    "probes": [
      {"type": "probe", "name": "true", "tolerance": 0,
       "provider": {"type": "process", "path": "sh", "arguments": ["-c", "echo probe >>'$T/log'"]}}
    ]
  },
  "rollbacks": [
    {"type": "action", "name": "undo",
     "provider": {"type": "process", "path": "sh", "arguments": ["-c", "echo rollback >>'$T/log'"]}}
  ]
}
JSON
rm -f "$T/log"
run_fl validate nomethod.json
expect_rc 0
run_fl run nomethod.json
expect_rc 0
[ "$(log)" = "probe probe rollback" ] || fail "no method ran: $(log)"
jassert "$T/journal.json" \
	'j["status"] == "completed" and j["deviated"] is False' \
	'j["steady_states"]["before"]["steady_state_met"] is True' \
	'j["steady_states"]["after"]["steady_state_met"] is True' \
	'j["run"] == [] and len(j["rollbacks"]) == 1'
echo "PASS"
