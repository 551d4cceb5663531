/*
 * The fault kinds' two registries (faults/kinds.h): the spec side the
 * controller links and the apply side the agent links list the same kinds in
 * the same order, each ops table points at its kind's spec, and each spec's
 * parser checks a fault offline, with its JSON path.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/provider_fault.h"
#include "experiments/experiment.h"
#include "faults/fault.h"
#include "faults/spec.h"

START_TEST(registries_agree)
{
	size_t n = 0;

	for (; fl_fault_spec_nth(n); n++) {
		const struct fl_fault_spec_ops *spec = fl_fault_spec_nth(n);
		const struct fl_fault_ops *ops = fl_fault_nth(n);

		ck_assert_ptr_nonnull(ops);
		ck_assert_str_eq(ops->kind, spec->kind);
		ck_assert_ptr_eq(ops->spec, spec);
		ck_assert_ptr_eq(fl_fault_lookup(spec->kind), ops);
		ck_assert_ptr_eq(fl_fault_spec_lookup(spec->kind), spec);
		ck_assert_int_lt(spec->family, FL_FAULT_FAMILY__MAX);
		/* The apply side's parse/describe/free are built on the spec's. */
		ck_assert_ptr_nonnull(spec->parse);
		ck_assert_ptr_nonnull(spec->describe);
		ck_assert_ptr_nonnull(spec->free);
	}
	ck_assert_ptr_null(fl_fault_nth(n));
	ck_assert_uint_eq(n, 11);
	ck_assert_ptr_null(fl_fault_spec_lookup("kil"));
	ck_assert_ptr_null(fl_fault_lookup("kil"));
	/* The families the agent's policy reads instead of a list of its own. */
	ck_assert_int_eq(fl_fault_spec_lookup("kill")->family, FL_FAULT_FAMILY_PROCESS);
	ck_assert_int_eq(fl_fault_spec_lookup("pause")->family, FL_FAULT_FAMILY_PROCESS);
	ck_assert_int_eq(fl_fault_spec_lookup("netem")->family, FL_FAULT_FAMILY_NETWORK);
	ck_assert_int_eq(fl_fault_spec_lookup("bandwidth")->family, FL_FAULT_FAMILY_NETWORK);
	ck_assert_int_eq(fl_fault_spec_lookup("partition")->family, FL_FAULT_FAMILY_NETWORK);
	ck_assert_int_eq(fl_fault_spec_lookup("syscall")->family, FL_FAULT_FAMILY_SYSCALL);
	ck_assert_int_eq(fl_fault_spec_lookup("stress")->family, FL_FAULT_FAMILY_PROCESS);
	ck_assert_int_eq(fl_fault_spec_lookup("disk_fill")->family, FL_FAULT_FAMILY_PROCESS);
	ck_assert_int_eq(fl_fault_spec_lookup("time")->family, FL_FAULT_FAMILY_SYSCALL);
	ck_assert_int_eq(fl_fault_spec_lookup("dns")->family, FL_FAULT_FAMILY_SYSCALL);
	ck_assert_int_eq(fl_fault_spec_lookup("stream")->family, FL_FAULT_FAMILY_SYSCALL);
	ck_assert_str_eq(fl_fault_family_name(FL_FAULT_FAMILY_NETWORK), "network");
	/* Only a kill acts once and needs no duration. */
	for (size_t i = 0; fl_fault_spec_nth(i); i++)
		ck_assert_int_eq(fl_fault_spec_nth(i)->instant,
				 !strcmp(fl_fault_spec_nth(i)->kind, "kill"));
}
END_TEST

/*
 * fl_fault_validate (what `faultline validate` and `run` add to the experiment
 * parser) on an experiment: the errors' paths and messages, joined.
 */
static int validate(const char *json, char *got, size_t len)
{
	struct fl_errlist *errs = calloc(1, sizeof(*errs));
	struct fl_experiment *e = NULL;
	size_t o = 0;
	int r;

	ck_assert_ptr_nonnull(errs);
	got[0] = '\0';
	r = fl_experiment_parse(json, strlen(json), NULL, &e, errs);
	ck_assert_msg(r == 0, "the experiment parser refused it: %s: %s",
		      errs->n ? errs->v[0].path : "", errs->n ? errs->v[0].msg : "");
	r = fl_fault_validate(e, errs);
	for (size_t i = 0; i < errs->n && o < len; i++)
		o += (size_t)snprintf(got + o, len - o, "%s%s: %s", i ? "\n" : "", errs->v[i].path,
				      errs->v[i].msg);
	ck_assert_int_eq(r, errs->n ? -EINVAL : 0);
	fl_experiment_free(e);
	free(errs);
	return r;
}

/* One method activity with a fault provider of `kind`, target, params and duration. */
static void one_fault(char *out, size_t len, const char *kind, const char *target,
		      const char *params, const char *duration)
{
	snprintf(out, len,
		 "{\"title\": \"t\", \"description\": \"d\", \"method\": ["
		 "{\"type\": \"action\", \"name\": \"warm up\", \"provider\": "
		 "{\"type\": \"process\", \"path\": \"true\"}},"
		 "{\"type\": \"action\", \"name\": \"f\", \"provider\": {\"type\": \"fault\", "
		 "\"kind\": \"%s\", \"target\": %s%s%s%s%s%s}}]}",
		 kind, target, params ? ", \"params\": " : "", params ? params : "",
		 duration ? ", \"duration\": \"" : "", duration ? duration : "",
		 duration ? "\"" : "");
}

/*
 * Each case: a fault that the agent's kind would refuse, and where validate
 * says so (the path inside the experiment; the fault is $.method[1]). The
 * first six are the ones issue #14 found answered "ok".
 */
static const struct {
	const char *kind, *target, *params, *duration;
	const char *path, *msg;
} refused[] = {
    {"stress", "{\"pid\": 5}", "{\"cpu\": {\"workers\": 1, \"load\": 101}}", "1s",
     "$.method[1].provider.params.cpu.load", "[1, 100]"},
    {"stress", "{\"pid\": 5}", "{\"cpu\": {\"workers\": -1}}", "1s",
     "$.method[1].provider.params.cpu.workers", "[1, 64]"},
    {"stress", "{\"pid\": 5}", "{\"memory\": {\"mib\": 8, \"size\": 1}}", "1s",
     "$.method[1].provider.params.memory.size", "unknown field"},
    {"stress", "{\"pid\": 5}", "{}", "1s", "$.method[1].provider.params", "name a stressor"},
    {"disk_fill", "{}", "{\"path\": \"/tmp\", \"percent\": 101}", "1s",
     "$.method[1].provider.params.percent", "(0, 100]"},
    {"disk_fill", "{}", "{\"path\": \"/tmp\", \"bytes\": -1}", "1s",
     "$.method[1].provider.params.bytes", ">= 1"},
    {"disk_fill", "{}", "{\"path\": \"tmp\", \"bytes\": 1}", "1s",
     "$.method[1].provider.params.path", "absolute"},
    {"disk_fill", "{}", "{\"path\": \"/tmp\", \"bytes\": 1, \"leave_free\": 1}", "1s",
     "$.method[1].provider.params.leave_free", "exactly one of"},
    {"kil", "{\"pid\": 5}", NULL, "1s", "$.method[1].provider.kind", "unknown fault kind \"kil\""},
    {"kill", "{\"pidfile\": \"run/x.pid\"}", NULL, NULL, "$.method[1].provider.target.pidfile",
     "absolute path"},
    {"kill", "{\"pid\": 5}", "{\"signal\": \"STOP\"}", NULL, "$.method[1].provider.params.signal",
     "the pause fault's job"},
    {"kill", "{\"pid\": 5, \"name\": \"x\"}", NULL, NULL, "$.method[1].provider.target.name",
     "only one of pid, name"},
    {"kill", "{\"pid\": \"5\"}", NULL, NULL, "$.method[1].provider.target.pid",
     "expected a process id"},
    {"kill", "{\"name\": \"a-name-longer-than-15\"}", NULL, NULL,
     "$.method[1].provider.target.name", "at most 15 characters"},
    {"kill", "{\"name\": \"x\", \"count\": 0}", NULL, NULL, "$.method[1].provider.target.count",
     "[1, 65536]"},
    {"kill", "{\"name\": \"x\", \"monkey\": {\"percent\": 0}}", NULL, NULL,
     "$.method[1].provider.target.monkey.percent", "(0, 100]"},
    {"kill", "{\"name\": \"x\", \"monkey\": {}}", NULL, NULL, "$.method[1].provider.target.monkey",
     "count or percent"},
    {"pause", "{\"pid\": 5}", NULL, NULL, "$.method[1].provider.duration", "missing"},
    {"pause", "{\"pid\": 5}", "{\"method\": \"nap\"}", "1s", "$.method[1].provider.params.method",
     "\"freezer\""},
    {"pause", "{\"name\": \"x\"}", "{\"method\": \"freezer\"}", "1s",
     "$.method[1].provider.params.method", "cgroup"},
    {"netem", "{\"interface\": \"eth0\"}", "{\"delay\": \"fast\"}", "1s",
     "$.method[1].provider.params.delay", "duration"},
    {"netem", "{\"interface\": \"eth0\"}", "{\"jitter\": \"5ms\"}", "1s",
     "$.method[1].provider.params.jitter", "needs a delay"},
    {"netem", "{}", "{\"delay\": \"5ms\"}", "1s", "$.method[1].provider.target", "say where"},
    {"netem",
     "{\"interface\": \"eth0\", \"pod\": {\"namespace\": \"shop\", \"name\": \"a\", "
     "\"container\": \"web\"}}",
     "{\"delay\": \"5ms\"}", "1s", "$.method[1].provider.target.pod", "container"},
    {"netem",
     "{\"interface\": \"eth0\", \"pod\": {\"namespace\": \"shop\", \"labels\": "
     "{\"app\": \"a\"}}, \"count\": 1.5}",
     "{\"delay\": \"5ms\"}", "1s", "$.method[1].provider.target.count", "[1, 65536]"},
    {"netem", "{\"interface\": \"eth0\"}", "{\"delay\": \"5ms\"}", NULL,
     "$.method[1].provider.duration", "missing"},
    {"bandwidth", "{\"interface\": \"eth0\"}", "{\"burst\": \"32kb\"}", "1s",
     "$.method[1].provider.params.rate", "required"},
    {"bandwidth", "{\"interface\": \"eth0\"}", "{\"rate\": \"1mbit\", \"peakrate\": \"1kbit\"}",
     "1s", "$.method[1].provider.params.peakrate", "above rate"},
    {"partition", "{}", "{\"peers\": [\"10.0.0.0/24\", \"10.0.0.1/24\"]}", "1s",
     "$.method[1].provider.params.peers[1]", "host bits"},
    {"partition", "{}", "{}", "1s", "$.method[1].provider.params.peers", "required"},
    {"syscall", "{\"pid\": 5}", "{}", "1s", "$.method[1].provider.params.rules", "rules"},
    {"syscall", "{\"pid\": 5}", "{\"rules\": [\"write:EBOGUS\"]}", "1s",
     "$.method[1].provider.params.rules[0]", ""},
    {"syscall", "{\"pid\": 5}", "{\"rules\": [\"write:EIO\"], \"mode\": \"seccomp\"}", "1s",
     "$.method[1].provider.params.mode", "command"},
    {"syscall", "{\"command\": [\"../bin/x\"]}", "{\"rules\": [\"write:EIO\"]}", "1s",
     "$.method[1].provider.target.command[0]", "absolute path"},
    {"time", "{\"pid\": 5}", "{}", "1s", "$.method[1].provider.params.offset", "duration"},
    {"time", "{\"pid\": 5}", "{\"offset\": \"5 minutes\"}", "1s",
     "$.method[1].provider.params.offset", "an offset like"},
    {"time", "{\"pid\": 5}", "{\"offset\": \"-5m\", \"clock_ids\": [\"CLOCK_PROCESS_CPUTIME_ID\"]}",
     "1s", "$.method[1].provider.params.clock_ids[0]", "CPU-time"},
    {"time", "{\"pid\": 5}", "{\"offset\": \"1s\", \"timeOffset\": \"1s\"}", "1s",
     "$.method[1].provider.params.timeOffset", "unknown field"},
    {"dns", "{\"pid\": 5}", "{\"action\": \"error\", \"patterns\": [\"a\"]}", "1s",
     "$.method[1].provider.params.action", "nxdomain"},
    {"dns", "{\"pid\": 5}", "{\"action\": \"nxdomain\"}", "1s",
     "$.method[1].provider.params.patterns", "host name patterns"},
    {"dns", "{\"pid\": 5}", "{\"action\": \"nxdomain\", \"patterns\": [\"a\", \"git?ub.com\"]}",
     "1s", "$.method[1].provider.params.patterns[1]", "'?'"},
    {"dns", "{\"pid\": 5}", "{\"action\": \"answer\", \"patterns\": [\"a\"]}", "1s",
     "$.method[1].provider.params.address", "address"},
    {"dns", "{\"pid\": 5}",
     "{\"action\": \"answer\", \"address\": \"10.0.0.300\", \"patterns\": [\"a\"]}", "1s",
     "$.method[1].provider.params.address", "IPv4 or IPv6"},
    {"dns", "{\"pid\": 5}",
     "{\"action\": \"nxdomain\", \"address\": \"10.0.0.1\", \"patterns\": [\"a\"]}", "1s",
     "$.method[1].provider.params.address", "only the \"answer\""},
    {"dns", "{\"pid\": 5}",
     "{\"action\": \"timeout\", \"timeout\": \"forever\", \"patterns\": [\"a\"]}", "1s",
     "$.method[1].provider.params.timeout", "duration"},
    {"dns", "{\"pid\": 5}",
     "{\"action\": \"answer\", \"address\": \"10.0.0.1\", \"patterns\": [\"a\", \"b:c\"]}", "1s",
     "$.method[1].provider.params.patterns[1]", "host name pattern"},
    {"stream", "{\"pid\": 5}", "{\"type\": \"latency\"}", "1s", "$.method[1].provider.params.type",
     "netem"},
    {"stream", "{\"pid\": 5}", "{\"type\": \"bandwidth\"}", "1s",
     "$.method[1].provider.params.attributes.rate", "required"},
    {"stream", "{\"pid\": 5}", "{\"type\": \"reset_peer\", \"attributes\": {\"rate\": 1}}", "1s",
     "$.method[1].provider.params.attributes.rate", "unknown attribute"},
    {"stream", "{\"pid\": 5}",
     "{\"type\": \"slicer\", \"attributes\": {\"average_size\": 10, \"size_variation\": 10}}", "1s",
     "$.method[1].provider.params.attributes.size_variation", "smaller"},
    {"stream", "{\"pid\": 5}", "{\"type\": \"timeout\", \"stream\": \"sideways\"}", "1s",
     "$.method[1].provider.params.stream", "downstream"},
    {"stream", "{\"pid\": 5}", "{\"type\": \"timeout\", \"peer\": {\"port\": 70000}}", "1s",
     "$.method[1].provider.params.peer.port", "65535"},
    {"stream", "{\"pid\": 5}", "{\"type\": \"timeout\", \"peer\": {\"address\": \"10.0.0.1/40\"}}",
     "1s", "$.method[1].provider.params.peer.address", ""},
    {"stream", "{\"pids\": []}", "{\"type\": \"timeout\"}", "1s",
     "$.method[1].provider.target.pids", "non-empty"},
};

START_TEST(validate_refuses_with_path)
{
	char json[4096], got[4096];

	for (size_t i = 0; i < FL_ARRAY_SIZE(refused); i++) {
		one_fault(json, sizeof(json), refused[i].kind, refused[i].target, refused[i].params,
			  refused[i].duration);
		ck_assert_msg(validate(json, got, sizeof(got)) == -EINVAL, "case %zu accepted: %s",
			      i, json);
		ck_assert_msg(!strncmp(got, refused[i].path, strlen(refused[i].path)) &&
				  got[strlen(refused[i].path)] == ':' &&
				  strstr(got, refused[i].msg) && !strchr(got, '\n'),
			      "case %zu: want %s: ...%s...; got %s", i, refused[i].path,
			      refused[i].msg, got);
	}
}
END_TEST

/* What each kind accepts passes, with or without a duration where the kind allows it. */
START_TEST(validate_accepts)
{
	static const struct {
		const char *kind, *target, *params, *duration;
	} ok[] = {
	    {"kill", "{\"pid\": 5}", "{\"signal\": \"TERM\"}", NULL}, /* a kill needs no duration */
	    {"kill", "{\"name\": \"x\", \"monkey\": {\"count\": 1, \"seed\": \"\"}}", NULL, "2s"},
	    {"kill", "{\"pod\": {\"namespace\": \"shop\", \"name\": \"a\"}, \"count\": 1}", NULL,
	     NULL},
	    {"pause", "{\"cgroup\": \"/system.slice/x.service\"}", NULL, "1s"},
	    {"netem", "{\"interface\": \"eth0\"}",
	     "{\"delay\": \"5ms\", \"distribution\": \"normal\", "
	     "\"jitter\": \"1ms\"}",
	     "1s"},
	    /* count/percent/seed next to a pod pick pods across the cluster: the controller's. */
	    {"netem",
	     "{\"interface\": \"eth0\", \"pod\": {\"namespace\": \"shop\", \"labels\": "
	     "{\"app\": \"a\"}}, \"percent\": 50, \"seed\": 7}",
	     "{\"loss\": \"1%\", \"direction\": \"ingress\"}", "1s"},
	    {"bandwidth", "{\"route_to\": \"10.0.0.2\"}", "{\"rate\": \"1mbit\"}", "1s"},
	    {"partition", "{}", "{\"peers\": \"10.0.0.0/24\", \"direction\": \"to\"}", "1s"},
	    {"syscall", "{\"pids\": [5, 6]}", "{\"rules\": [\"write:EIO:p=0.1\"]}", "1s"},
	    {"stress", "{\"cgroup\": \"/x\"}",
	     "{\"cpu\": {\"workers\": 2, \"load\": 50}, \"memory\": {\"mib\": 64}}", "1s"},
	    {"stress", "{\"pid\": 5}", "{\"io\": {\"path\": \"/var/tmp\", \"workers\": 2}}", "1s"},
	    {"disk_fill", "{}", "{\"path\": \"/var/tmp\", \"leave_free\": 0}", "1s"},
	    {"disk_fill", "{}", "{\"path\": \"/var/tmp\", \"percent\": 50}", "1s"},
	    {"syscall", "{\"command\": [\"/bin/true\"]}",
	     "{\"rules\": [\"write:EIO\"], \"mode\": "
	     "\"seccomp\"}",
	     "1s"},
	    {"time", "{\"pid\": 5}", "{\"offset\": \"-5m\"}", "1s"},
	    {"time", "{\"command\": [\"/bin/date\"]}",
	     "{\"offset\": \"+1h30m\", \"clock_ids\": [\"CLOCK_REALTIME\", \"CLOCK_MONOTONIC\"]}",
	     "1s"},
	    {"dns", "{\"pid\": 5}", "{\"action\": \"nxdomain\", \"patterns\": [\"*.internal\"]}",
	     "1s"},
	    {"dns", "{\"pid\": 5}",
	     "{\"action\": \"answer\", \"address\": \"fd00::1\", \"patterns\": [\"db\"]}", "1s"},
	    {"dns", "{\"pid\": 5}",
	     "{\"action\": \"timeout\", \"timeout\": \"2s\", \"patterns\": [\"db\", \"*.x\"]}",
	     "1s"},
	    {"stream", "{\"pid\": 5}",
	     "{\"type\": \"reset_peer\", \"peer\": {\"address\": \"fd00::/64\", \"port\": 5432}}",
	     "1s"},
	    {"stream", "{\"pid\": 5}",
	     "{\"type\": \"slicer\", \"stream\": \"upstream\", \"attributes\": "
	     "{\"average_size\": 100, \"size_variation\": 50, \"delay\": 10000}, \"local_port\": "
	     "8080}",
	     "1s"},
	    {"stream", "{\"pid\": 5}", "{\"type\": \"bandwidth\", \"attributes\": {\"rate\": 100}}",
	     "1s"},
	    {"stream", "{\"pid\": 5}",
	     "{\"type\": \"slow_close\", \"attributes\": {\"delay\": 2000}}", "1s"},
	    {"stream", "{\"pid\": 5}",
	     "{\"type\": \"limit_data\", \"attributes\": {\"bytes\": 65536}, \"stream\": \"both\"}",
	     "1s"},
	    {"stream", "{\"pid\": 5}",
	     "{\"type\": \"timeout\", \"attributes\": {\"timeout\": 5000}}", "1s"},
	};
	char json[4096], got[4096];

	for (size_t i = 0; i < FL_ARRAY_SIZE(ok); i++) {
		one_fault(json, sizeof(json), ok[i].kind, ok[i].target, ok[i].params,
			  ok[i].duration);
		ck_assert_msg(validate(json, got, sizeof(got)) == 0, "case %zu refused: %s", i,
			      got);
	}
}
END_TEST

/* Every problem, each at its own path; a ref is not checked twice; `running` probes too. */
START_TEST(validate_reports_all)
{
	static const char json[] =
	    "{\"title\": \"t\", \"description\": \"d\","
	    " \"steady-state-hypothesis\": {\"title\": \"h\", \"probes\": ["
	    "  {\"type\": \"probe\", \"name\": \"up\", \"tolerance\": 1,"
	    "   \"provider\": {\"type\": \"running\", \"target\": {\"cmdline\": \"(x\"}}}]},"
	    " \"method\": ["
	    "  {\"type\": \"action\", \"name\": \"k\", \"provider\": {\"type\": \"fault\", "
	    "   \"kind\": \"kill\", \"target\": {\"pid\": 0}}},"
	    "  {\"ref\": \"k\"}],"
	    " \"rollbacks\": ["
	    "  {\"type\": \"action\", \"name\": \"r\", \"provider\": {\"type\": \"fault\", "
	    "   \"kind\": \"partition\", \"target\": {\"netns\": \"a/b\"}, \"params\": "
	    "   {\"peers\": \"10.0.0.1\"}, \"duration\": \"1s\"}}]}";
	char got[4096];

	ck_assert_int_eq(validate(json, got, sizeof(got)), -EINVAL);
	ck_assert_msg(strstr(got, "$.steady-state-hypothesis.probes[0].provider.target.cmdline: "
				  "invalid regular expression") == got &&
			  strstr(got,
				 "\n$.method[0].provider.target.pid: expected a process id "
				 "(integer >= 1)\n$.rollbacks[0].provider.target.netns: expected a "
				 "netns name as `ip netns` lists it") &&
			  !strstr(got, "$.method[1]"),
		      "%s", got);
}
END_TEST

/* Every example of experiments/examples passes, with its defaults (no environment). */
START_TEST(examples_validate)
{
	DIR *d = opendir(FL_SOURCE_DIR "/experiments/examples");
	struct dirent *de;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		struct fl_errlist *errs = calloc(1, sizeof(*errs));
		struct fl_experiment *e = NULL;
		size_t l = strlen(de->d_name);
		char path[512];

		ck_assert_ptr_nonnull(errs);
		if (l > 5 && !strcmp(de->d_name + l - 5, ".json")) {
			snprintf(path, sizeof(path), "%s/experiments/examples/%s", FL_SOURCE_DIR,
				 de->d_name);
			ck_assert_msg(fl_experiment_load(path, NULL, &e, errs) == 0 &&
					  fl_fault_validate(e, errs) == 0,
				      "%s: %s: %s", path, errs->n ? errs->v[0].path : "",
				      errs->n ? errs->v[0].msg : "");
			n++;
		}
		fl_experiment_free(e);
		free(errs);
	}
	closedir(d);
	ck_assert_uint_ge(n, 7);
}
END_TEST

Suite *fl_suite_fault_spec(void)
{
	Suite *s = suite_create("fault_spec");
	TCase *tc = tcase_create("fault_spec");

	tcase_add_test(tc, registries_agree);
	tcase_add_test(tc, validate_refuses_with_path);
	tcase_add_test(tc, validate_accepts);
	tcase_add_test(tc, validate_reports_all);
	tcase_add_test(tc, examples_validate);
	suite_add_tcase(s, tc);
	return s;
}
