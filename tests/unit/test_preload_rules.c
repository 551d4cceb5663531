/* The syscall fault rule syntax, its canonical form, the docs' examples, and the table writer. */
#include <check.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "faults/fault.h"
#include "preload/rules.h"

extern const struct fl_fault_ops fl_fault_syscall;

static struct fl_preload_rule parse_ok(const char *text, unsigned flags)
{
	struct fl_preload_rule r;
	struct fl_error err;
	int rc;

	fl_error_init(&err);
	rc = fl_preload_rule_parse(text, flags, &r, &err);
	ck_assert_msg(rc == 0, "\"%s\" should parse: %s", text, err.msg);
	return r;
}

START_TEST(test_examples)
{
	struct fl_preload_rule r;

	r = parse_ok("write:EIO:p=0.1", 0);
	ck_assert_uint_eq(r.shm.fn_mask, 1u << FL_FN_WRITE);
	ck_assert_uint_eq(r.shm.flags, FL_RULE_ERRNO | FL_RULE_PROB);
	ck_assert_int_eq(r.shm.err, EIO);
	ck_assert_uint_eq(r.shm.prob, 429496730u);

	r = parse_ok("connect:delay=200ms:port=5432", 0);
	ck_assert_uint_eq(r.shm.flags, FL_RULE_DELAY | FL_RULE_PORT);
	ck_assert_uint_eq(r.shm.delay_ns, 200000000ULL);
	ck_assert_uint_eq(r.shm.port, 5432);

	r = parse_ok("openat:ENOENT:path=/etc/app/", 0);
	ck_assert_str_eq(r.shm.path, "/etc/app/");
	ck_assert_uint_eq(r.shm.path_len, 9);

	r = parse_ok("read:short=10:when=3..10+2", 0);
	ck_assert_uint_eq(r.shm.short_len, 10);
	ck_assert_uint_eq(r.shm.when_first, 3);
	ck_assert_uint_eq(r.shm.when_last, 10);
	ck_assert_uint_eq(r.shm.when_step, 2);
}
END_TEST

START_TEST(test_when_forms)
{
	static const struct {
		const char *when;
		uint64_t first, last, step;
	} t[] = {
	    {"3", 3, 3, 1},	 {"3+", 3, UINT64_MAX, 1}, {"3+2", 3, UINT64_MAX, 2},
	    {"3..10", 3, 10, 1}, {"1..1", 1, 1, 1},	   {"2..9+3", 2, 9, 3},
	};

	for (size_t i = 0; i < FL_ARRAY_SIZE(t); i++) {
		char text[64];
		struct fl_preload_rule r;

		snprintf(text, sizeof(text), "write:EIO:when=%s", t[i].when);
		r = parse_ok(text, 0);
		ck_assert_uint_eq(r.shm.when_first, t[i].first);
		ck_assert_uint_eq(r.shm.when_last, t[i].last);
		ck_assert_uint_eq(r.shm.when_step, t[i].step);
	}
}
END_TEST

START_TEST(test_aliases_filters)
{
	struct fl_preload_rule r;

	r = parse_ok("pread64,accept4,=open64:EIO", 0);
	ck_assert_uint_eq(r.shm.fn_mask,
			  (1u << FL_FN_PREAD) | (1u << FL_FN_ACCEPT) | (1u << FL_FN_OPEN));
	ck_assert_uint_eq(r.nfuncs, 3);
	r = parse_ok("connect:ECONNREFUSED:addr=[::1]:port=80", 0);
	ck_assert_uint_eq(r.shm.addr_family, AF_INET6);
	ck_assert_uint_eq(r.shm.addr[15], 1);
	r = parse_ok("sendto:EPIPE:addr=10.1.2.3", 0);
	ck_assert_uint_eq(r.shm.addr_family, AF_INET);
	ck_assert_uint_eq(r.shm.addr[3], 3);
	r = parse_ok("getaddrinfo:EAI_AGAIN:host=db.internal", 0);
	ck_assert_int_eq(r.shm.gai, EAI_AGAIN);
	ck_assert_str_eq(r.shm.host, "db.internal");
	r = parse_ok("getaddrinfo:EIO", 0);
	ck_assert_int_eq(r.shm.gai, 0);
	ck_assert_int_eq(r.shm.err, EIO);
	r = parse_ok("open:errno=13:path=/a\\:b/", 0);
	ck_assert_int_eq(r.shm.err, 13);
	ck_assert_str_eq(r.shm.path, "/a:b/");
	r = parse_ok("write:EIO:p=25%", 0);
	ck_assert_uint_eq(r.shm.prob, 1073741824u);
	r = parse_ok("write:EIO:p=1", 0);
	ck_assert(!(r.shm.flags & FL_RULE_PROB));
	r = parse_ok("write:EIO:fd=2", 0);
	ck_assert_int_eq(r.shm.fd, 2);
	r = parse_ok("openat:EACCES:when=2+", FL_RULE_PARSE_SYSCALL);
	ck_assert_uint_eq(r.shm.fn_mask, 0);
	ck_assert_str_eq(r.funcs[0], "openat");
	r = parse_ok("clock_nanosleep:EINTR", FL_RULE_PARSE_SYSCALL);
	ck_assert_str_eq(r.funcs[0], "clock_nanosleep");
}
END_TEST

/* Every bad rule is refused, and the message names the offending token. */
START_TEST(test_errors_name_the_token)
{
	static const struct {
		const char *text;
		unsigned flags;
		const char *token; /* must appear in the message */
	} t[] = {
	    {"", 0, "empty"},
	    {"wrte:EIO", 0, "\"wrte\""},
	    {"write:EIOO", 0, "\"EIOO\""},
	    {"write", 0, "no action"},
	    {"write:EIO:p=1.5", 0, "\"1.5\""},
	    {"write:EIO:p=abc", 0, "\"abc\""},
	    {"write:EIO:when=0", 0, "\"0\""},
	    {"write:EIO:when=5..3", 0, "\"5..3\""},
	    {"write:EIO:when=3+0", 0, "\"3+0\""},
	    {"write:delay=fast", 0, "\"fast\""},
	    {"write:delay=8d", 0, "\"8d\""},
	    {"write:EIO:short=3", 0, "exclude"},
	    {"open:short=3", 0, "short="},
	    {"open:EIO:fd=3", 0, "fd="},
	    {"read:EIO:port=80", 0, "port="},
	    {"connect:EIO:port=0", 0, "\"0\""},
	    {"connect:EIO:port=65536", 0, "\"65536\""},
	    {"connect:EIO:addr=1.2.3", 0, "\"1.2.3\""},
	    {"read:EIO:host=x", 0, "host="},
	    {"write:EAI_AGAIN", 0, "\"EAI_AGAIN\""},
	    {"write:EIO:color=red", 0, "\"color\""},
	    {"write:EIO:p=0.1:p=0.2", 0, "given twice"},
	    {"write:EIO:EPIPE", 0, "\"EPIPE\""},
	    {"write:EIO:", 0, "ends with"},
	    {"write::EIO", 0, "empty field"},
	    {"write:EIO:delay=1s", FL_RULE_PARSE_SYSCALL, "seccomp"},
	    {"Bad-Name:EIO", FL_RULE_PARSE_SYSCALL, "\"Bad-Name\""},
	};

	for (size_t i = 0; i < FL_ARRAY_SIZE(t); i++) {
		struct fl_preload_rule r;
		struct fl_error err;
		int rc;

		fl_error_init(&err);
		rc = fl_preload_rule_parse(t[i].text, t[i].flags, &r, &err);
		ck_assert_msg(rc < 0, "\"%s\" should be refused", t[i].text);
		ck_assert_msg(strstr(err.msg, t[i].token), "\"%s\": message \"%s\" lacks %s",
			      t[i].text, err.msg, t[i].token);
	}
}
END_TEST

START_TEST(test_caps)
{
	char big[FL_RULE_TEXT_MAX + 10];
	char path[FL_SHM_PATH_MAX + 20];
	struct fl_preload_rule r;
	struct fl_error err;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(fl_preload_rule_parse(big, 0, &r, &err), -E2BIG);
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	snprintf(big, sizeof(big), "open:EIO:path=/%s", path);
	ck_assert_int_lt(fl_preload_rule_parse(big, 0, &r, &err), 0);
	ck_assert_int_lt(fl_preload_rule_parse("read,write,pread,pwrite,readv,writev,close,fsync,"
					       "fdatasync:EIO",
					       0, &r, &err),
			 0);
}
END_TEST

/* format(parse(x)) parses back to the same rule. */
START_TEST(test_format_roundtrip)
{
	static const char *const t[] = {
	    "write:EIO:p=0.1",
	    "connect:delay=200ms:port=5432",
	    "openat:ENOENT:path=/etc/app/",
	    "read:short=10:when=3..10+2",
	    "write:EIO:when=3+",
	    "write:EIO:when=4",
	    "sendto,sendmsg:ECONNRESET:addr=[fe80::1]:port=53",
	    "getaddrinfo:EAI_NONAME:host=db.internal:delay=1.5s",
	    "open:EACCES:path=/a\\:b\\\\c/",
	    "recv:errno=4000:fd=7",
	    "=openat:EIO",
	    "openat:EIO:path=/etc/",
	    "time:offset=-90s",
	    "time:offset=+1h30m:clock=monotonic,boottime",
	    "time:offset=1500ms:clock=realtime,boottime",
	    "dns:NXDOMAIN:host=*.example.com",
	    "dns:timeout=5s:host=db:p=0.5:when=2+",
	    "dns:answer=10.9.9.9",
	    "dns:answer=[fd00::1]:delay=10ms",
	    "reset_peer:bytes=1kb:dir=recv:port=8080",
	    "reset_peer:after=500ms:addr=10.0.0.0/8",
	    "slow_close:delay=1s:lport=80:addr=[fd00::]/64",
	    "timeout:after=2s:dir=send",
	    "timeout",
	    "limit_data:bytes=100",
	    "slicer:size=10:var=5:delay=10ms",
	    "bandwidth:rate=100kbit:dir=recv",
	    "connect:ECONNREFUSED:addr=192.168.0.0/16",
	};

	for (size_t i = 0; i < FL_ARRAY_SIZE(t); i++) {
		struct fl_preload_rule a = parse_ok(t[i], 0), b;
		struct fl_buf out;

		fl_buf_init(&out, 4096);
		ck_assert_int_eq(fl_preload_rule_format(&a, &out), 0);
		b = parse_ok(out.data, 0);
		ck_assert_msg(!memcmp(&a.shm, &b.shm, sizeof(a.shm)) && a.exact == b.exact &&
				  a.nfuncs == b.nfuncs,
			      "%s -> %s differs", t[i], out.data);
		fl_buf_done(&out);
	}
}
END_TEST

/* The rules in docs/faults/syscall.md (lines "    faultline exec --fault RULE") all parse. */
START_TEST(test_docs_examples)
{
	FILE *f = fopen(FL_SOURCE_DIR "/docs/faults/syscall.md", "r");
	char line[1024];
	int n = 0;

	ck_assert_msg(f != NULL, "docs/faults/syscall.md is missing");
	while (fgets(line, sizeof(line), f)) {
		char *p = line, rule[FL_RULE_TEXT_MAX];
		bool sc = strstr(line, "--seccomp") != NULL;

		if (strncmp(line, "    faultline exec ", 19))
			continue;
		while ((p = strstr(p, "--fault "))) {
			struct fl_preload_rule r;
			struct fl_error err;
			size_t k = 0;

			p += 8;
			if (*p == '\'')
				p++;
			while (*p && *p != ' ' && *p != '\'' && *p != '\n' && k + 1 < sizeof(rule))
				rule[k++] = *p++;
			rule[k] = '\0';
			fl_error_init(&err);
			ck_assert_msg(fl_preload_rule_parse(rule, sc ? FL_RULE_PARSE_SYSCALL : 0,
							    &r, &err) == 0,
				      "docs example \"%s\": %s", rule, err.msg);
			n++;
		}
	}
	fclose(f);
	ck_assert_int_ge(n, 8);
}
END_TEST

/* The writer publishes a consistent table: index, armed mask, ids, seqlock even. */
START_TEST(test_table_write)
{
	struct fl_preload_rule rules[2] = {parse_ok("write,pwrite:EIO", 0),
					   parse_ok("read:short=3:when=2", 0)};
	struct fl_preload_table *t = NULL, *t2 = NULL;
	struct fl_shm_table *view;
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "/faultline-unit-%d", (int)getpid());
	ck_assert_int_eq(fl_preload_table_create(name, &t), 0);
	ck_assert_int_eq(fl_preload_table_create(name, &t2), -EEXIST);
	ck_assert_int_eq(fl_preload_table_arm(t, rules, 2, 7, 0), 0);
	ck_assert_uint_eq(fl_preload_table_nrules(t), 2);
	ck_assert_int_eq(fl_preload_table_open(name, &t2), 0);

	fd = shm_open(name, O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	view = mmap(NULL, FL_SHM_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(view, MAP_FAILED);
	ck_assert_uint_eq(view->magic, FL_SHM_MAGIC);
	ck_assert_uint_eq(view->seq % 2, 0);
	ck_assert_uint_eq(view->armed,
			  (1u << FL_FN_WRITE) | (1u << FL_FN_PWRITE) | (1u << FL_FN_READ));
	ck_assert_uint_eq(view->fn_rules[FL_FN_WRITE], 1);
	ck_assert_uint_eq(view->fn_rules[FL_FN_PWRITE], 1);
	ck_assert_uint_eq(view->fn_rules[FL_FN_READ], 2);
	ck_assert_uint_eq(view->seed, 7);
	ck_assert_uint_ne(view->rules[0].id, view->rules[1].id);
	uint64_t old_id = view->rules[0].id;
	uint32_t old_seq = view->seq;

	/* A second writer (the agent after exec, say) sees the same table. */
	ck_assert_int_eq(fl_preload_table_arm(t2, rules, 1, 7, 0), 0);
	ck_assert_uint_eq(view->seq, old_seq + 2);
	ck_assert_uint_ne(view->rules[0].id, old_id);
	ck_assert_uint_eq(view->fn_rules[FL_FN_READ], 0);
	ck_assert_int_eq(fl_preload_table_disarm(t), 0);
	ck_assert_uint_eq(view->armed, 0);
	ck_assert_uint_eq(view->nrules, 0);
	ck_assert_int_eq(fl_preload_table_arm(t, rules, FL_SHM_RULES_MAX + 1, 0, 0), -E2BIG);

	munmap(view, FL_SHM_SIZE);
	close(fd);
	fl_preload_table_close(t2);
	fl_preload_table_close(t);
	fl_preload_table_close(NULL);
	ck_assert_int_eq(fl_preload_table_unlink(name), 0);
	ck_assert_int_eq(fl_preload_table_unlink(name), 0);
	ck_assert_int_eq(fl_preload_table_open(name, &t), -ENOENT);
}
END_TEST

/*
 * The table is its owner's file: truncated while we hold it mapped, every
 * operation fails with -EPROTO instead of a SIGBUS that would kill the
 * agent (issue 12, item 1: before, this test's process died of SIGBUS).
 */
START_TEST(test_table_truncated_under_us)
{
	struct fl_preload_rule rules[1] = {parse_ok("write:EIO", 0)};
	struct fl_preload_table *t = NULL, *t2 = NULL, *t3 = NULL;
	uint64_t hits[2] = {9, 9};
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "/faultline-unit-bus-%d", (int)getpid());
	ck_assert_int_eq(fl_preload_table_create(name, &t), 0);
	ck_assert_int_eq(fl_preload_table_open(name, &t2), 0);
	ck_assert_int_eq(fl_preload_table_open(name, &t3), 0);
	ck_assert_int_eq(fl_preload_table_owner(t2), 0);
	fd = shm_open(name, O_RDWR, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	ck_assert_int_eq(fl_preload_table_arm(t2, rules, 1, 7, 0), -EPROTO);
	ck_assert_int_eq(fl_preload_table_disarm(t2), -EPROTO);
	ck_assert_int_eq(fl_preload_table_set_expiry(t2, 5), -EPROTO);
	ck_assert_uint_eq(fl_preload_table_nrules(t2), 0);
	ck_assert(!fl_preload_table_armed(t2));
	/* Reading the hit counters of a truncated table: an answer, not a SIGBUS. */
	ck_assert_int_eq(fl_preload_table_hits(t3, hits, 2), -EPROTO);
	fl_preload_table_close(t3);
	/* The first handle too, and opening it anew says what it is. */
	ck_assert_int_eq(fl_preload_table_arm(t, rules, 1, 7, 0), -EPROTO);
	fl_preload_table_close(t2);
	ck_assert_int_eq(fl_preload_table_open(name, &t2), -EPROTO);
	/* Regrown to full size: zeroes, no magic: not a table either. */
	ck_assert_int_eq(ftruncate(fd, FL_SHM_SIZE), 0);
	ck_assert_int_eq(fl_preload_table_open(name, &t2), -EPROTO);
	fl_preload_table_close(t);
	close(fd);
	ck_assert_int_eq(fl_preload_table_unlink(name), 0);
}
END_TEST

/* A SIGBUS that is not in a table's mapping still does what it did before: kill. */
START_TEST(test_table_other_sigbus_kept)
{
	struct fl_preload_table *t = NULL;
	char name[64], path[96];
	int st;
	pid_t pid;

	snprintf(name, sizeof(name), "/faultline-unit-bus2-%d", (int)getpid());
	ck_assert_int_eq(fl_preload_table_create(name, &t), 0); /* installs the handler */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd;
		char *m;

		snprintf(path, sizeof(path), "/faultline-unit-bus3-%d", (int)getpid());
		fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		shm_unlink(path);
		if (fd < 0 || ftruncate(fd, 4096) < 0)
			_exit(2);
		m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED || ftruncate(fd, 0) < 0)
			_exit(3);
		m[10] = 1; /* SIGBUS, not ours */
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
#if defined(__SANITIZE_ADDRESS__)
	/* The handler before the shim's is ASan's: it reports the fault and aborts. */
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status %x", st);
#else
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "status %x", st);
#endif
	fl_preload_table_close(t);
	ck_assert_int_eq(fl_preload_table_unlink(name), 0);
}
END_TEST

/*
 * The lock of a table is its owner's to hold: an arm gives up after
 * FL_PRELOAD_LOCK_WAIT_MS (-EBUSY), a disarm does not wait and still ends
 * every rule (before, both blocked for as long as the lock was held).
 */
START_TEST(test_table_lock_held)
{
	struct fl_preload_rule rules[1] = {parse_ok("write:EIO", 0)};
	struct fl_preload_table *t = NULL;
	struct timespec a, b;
	int p[2], st;
	char name[64], c;
	pid_t pid;
	double ms;

	snprintf(name, sizeof(name), "/faultline-unit-lock-%d", (int)getpid());
	ck_assert_int_eq(fl_preload_table_create(name, &t), 0);
	ck_assert_int_eq(fl_preload_table_arm(t, rules, 1, 7, 0), 0);
	ck_assert(fl_preload_table_armed(t));
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = shm_open(name, O_RDWR, 0);

		if (fd < 0 || flock(fd, LOCK_EX) < 0)
			_exit(1);
		(void)!write(p[1], "l", 1);
		sleep(30);
		_exit(0);
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	ck_assert_int_eq(fl_preload_table_arm(t, rules, 1, 7, 0), -EBUSY);
	ck_assert_int_eq(fl_preload_table_disarm(t), 0);
	ck_assert_int_eq(fl_preload_table_set_expiry(t, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	ck_assert_msg(ms < 3 * FL_PRELOAD_LOCK_WAIT_MS + 200, "took %.0f ms", ms);
	ck_assert(!fl_preload_table_armed(t));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(p[0]);
	close(p[1]);
	fl_preload_table_close(t);
	ck_assert_int_eq(fl_preload_table_unlink(name), 0);
}
END_TEST

/*
 * From a PID namespace below another, the collector cannot tell a dead
 * table owner from one out of sight: it removes nothing. (Before, an agent
 * started in its own PID namespace removed every live process's table in a
 * /dev/shm it shared.)
 */
START_TEST(test_table_gc_blind_in_child_pidns)
{
	struct fl_preload_table *t = NULL;
	char name[64];
	pid_t outer;
	int st;

	if (geteuid() != 0) {
		printf("not root: no PID namespace; gc case not run\n");
		return;
	}
	/* Our own (live) pid's table, as a shimmed process registers it. */
	snprintf(name, sizeof(name), "%s%d", FL_SHM_PREFIX, (int)getpid());
	(void)fl_preload_table_unlink(name);
	ck_assert_int_eq(fl_preload_table_create(name, &t), 0);
	outer = fork();
	ck_assert_int_ge(outer, 0);
	if (outer == 0) {
		pid_t in;

		if (unshare(CLONE_NEWPID) < 0)
			_exit(77);
		in = fork();
		if (in == 0)
			_exit(fl_preload_table_gc() == 0 ? 0 : 1);
		if (in < 0 || waitpid(in, &st, 0) != in || !WIFEXITED(st))
			_exit(9);
		_exit(WEXITSTATUS(st));
	}
	ck_assert_int_eq(waitpid(outer, &st, 0), outer);
	ck_assert(WIFEXITED(st));
	if (WEXITSTATUS(st) != 77) {
		ck_assert_msg(WEXITSTATUS(st) == 0, "the collector removed tables it cannot judge");
	}
	{
		char path[96];

		snprintf(path, sizeof(path), "/dev/shm%s", name);
		ck_assert_msg(access(path, F_OK) == 0, "our live table was removed");
	}
	fl_preload_table_close(t);
	ck_assert_int_eq(fl_preload_table_unlink(name), 0);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_int_eq(fl_preload_fn_lookup("openat64"), FL_FN_OPENAT);
	ck_assert_int_eq(fl_preload_fn_lookup("nope"), -ENOENT);
	ck_assert_str_eq(fl_preload_fn_name(FL_FN_GETADDRINFO), "getaddrinfo");
	ck_assert_ptr_null(fl_preload_fn_name(FL_FN__MAX));
	ck_assert_int_eq(fl_preload_errno_lookup("ECONNRESET"), ECONNRESET);
	ck_assert_str_eq(fl_preload_errno_name(EIO), "EIO");
	/* Call rules name every family up to the ones the rule kinds arm. */
	for (unsigned f = 0; f < FL_FN_CLOCK; f++)
		ck_assert_int_eq(fl_preload_fn_lookup(fl_preload_fn_name(f)), (int)f);
	for (unsigned f = FL_FN_CLOCK; f < FL_FN__MAX; f++) {
		ck_assert_ptr_nonnull(fl_preload_fn_name(f));
		ck_assert_int_eq(fl_preload_fn_lookup(fl_preload_fn_name(f)), -ENOENT);
	}
}
END_TEST

/* The open/openat trap: a rule on either covers both, unless written "=name". */
START_TEST(test_open_covers_openat)
{
	const uint32_t both = (1u << FL_FN_OPEN) | (1u << FL_FN_OPENAT);
	struct fl_preload_rule r;
	struct fl_buf out;

	ck_assert_uint_eq(parse_ok("open:EIO", 0).shm.fn_mask, both);
	ck_assert_uint_eq(parse_ok("openat:EIO", 0).shm.fn_mask, both);
	ck_assert_uint_eq(parse_ok("open64:EIO", 0).shm.fn_mask, both);
	ck_assert_uint_eq(parse_ok("=open:EIO", 0).shm.fn_mask, 1u << FL_FN_OPEN);
	ck_assert_uint_eq(parse_ok("=openat64:EIO", 0).shm.fn_mask, 1u << FL_FN_OPENAT);
	ck_assert_uint_eq(parse_ok("=open,=openat:EIO", 0).shm.fn_mask, both);
	r = parse_ok("=openat:ENOENT:path=/etc/", 0);
	ck_assert_str_eq(r.funcs[0], "openat");
	ck_assert_uint_eq(r.exact, 1);
	fl_buf_init(&out, 256);
	ck_assert_int_eq(fl_preload_rule_format(&r, &out), 0);
	ck_assert_str_eq(out.data, "=openat:ENOENT:path=/etc/");
	fl_buf_done(&out);
	/* The seccomp path names syscalls: the sibling is added by name where it exists. */
	r = parse_ok("openat:EACCES", FL_RULE_PARSE_SYSCALL);
	ck_assert_str_eq(r.funcs[0], "openat");
#ifdef __x86_64__
	ck_assert_uint_eq(r.nfuncs, 2);
	ck_assert_str_eq(r.funcs[1], "open");
#endif
	r = parse_ok("=openat:EACCES", FL_RULE_PARSE_SYSCALL);
	ck_assert_uint_eq(r.nfuncs, 1);
	r = parse_ok("open,openat:EACCES", FL_RULE_PARSE_SYSCALL);
	ck_assert_uint_eq(r.nfuncs, 2);
}
END_TEST

START_TEST(test_time_rules)
{
	struct fl_preload_rule r;

	r = parse_ok("time:offset=-90s", 0);
	ck_assert_uint_eq(r.shm.kind, FL_KIND_TIME);
	ck_assert_uint_eq(r.shm.fn_mask, 1u << FL_FN_CLOCK);
	ck_assert(r.shm.offset_ns == -90000000000LL);
	ck_assert_uint_eq(r.shm.clock_mask, (1u << CLOCK_REALTIME) | (1u << CLOCK_REALTIME_COARSE) |
						(1u << CLOCK_REALTIME_ALARM) | (1u << CLOCK_TAI));
	ck_assert_str_eq(fl_preload_rule_kind_name(&r), "time");
	r = parse_ok("time:offset=+1h30m:clock=monotonic,boottime", 0);
	ck_assert(r.shm.offset_ns == 5400000000000LL);
	ck_assert(r.shm.clock_mask & (1u << CLOCK_MONOTONIC));
	ck_assert(r.shm.clock_mask & (1u << CLOCK_BOOTTIME));
	ck_assert(!(r.shm.clock_mask & (1u << CLOCK_REALTIME)));
	r = parse_ok("time:offset=1.5d", 0);
	ck_assert(r.shm.offset_ns == 129600000000000LL);
	r = parse_ok("time:offset=250ms", 0);
	ck_assert(r.shm.offset_ns == 250000000LL);
	r = parse_ok("time:offset=-36500d", 0);
	ck_assert(r.shm.offset_ns == -36500LL * 86400 * 1000000000LL);
}
END_TEST

START_TEST(test_dns_rules)
{
	const uint32_t fns =
	    (1u << FL_FN_GETADDRINFO) | (1u << FL_FN_GETHOSTBYNAME) | (1u << FL_FN_RES_QUERY);
	struct fl_preload_rule r;

	r = parse_ok("dns:NXDOMAIN:host=*.example.com", 0);
	ck_assert_uint_eq(r.shm.kind, FL_KIND_DNS);
	ck_assert_uint_eq(r.shm.op, FL_DNS_NXDOMAIN);
	ck_assert_uint_eq(r.shm.fn_mask, fns);
	ck_assert_str_eq(r.shm.host, "*.example.com");
	r = parse_ok("dns:SERVFAIL", 0);
	ck_assert_uint_eq(r.shm.op, FL_DNS_SERVFAIL);
	ck_assert(!(r.shm.flags & FL_RULE_HOST));
	r = parse_ok("dns:timeout=5s:host=db", 0);
	ck_assert_uint_eq(r.shm.op, FL_DNS_TIMEOUT);
	ck_assert_uint_eq(r.shm.after_ns, 5000000000ULL);
	r = parse_ok("dns:answer=10.9.9.9:host=api.test", 0);
	ck_assert_uint_eq(r.shm.op, FL_DNS_ANSWER);
	ck_assert_uint_eq(r.shm.answer_family, AF_INET);
	ck_assert_uint_eq(r.shm.answer[0], 10);
	ck_assert_uint_eq(r.shm.answer[3], 9);
	r = parse_ok("dns:answer=[fd00::1]:host=api.test", 0);
	ck_assert_uint_eq(r.shm.answer_family, AF_INET6);
	ck_assert_uint_eq(r.shm.answer[15], 1);
	r = parse_ok("dns:NXDOMAIN:p=50%:when=2+:delay=100ms", 0);
	ck_assert(r.shm.flags & FL_RULE_PROB);
	ck_assert(r.shm.flags & FL_RULE_WHEN);
	ck_assert(r.shm.flags & FL_RULE_DELAY);
	/* A call rule's host= takes a pattern too. */
	r = parse_ok("getaddrinfo:EAI_AGAIN:host=*.internal", 0);
	ck_assert_str_eq(r.shm.host, "*.internal");
}
END_TEST

START_TEST(test_stream_rules)
{
	const uint32_t rx = (1u << FL_FN_READ) | (1u << FL_FN_READV) | (1u << FL_FN_RECV) |
			    (1u << FL_FN_RECVFROM) | (1u << FL_FN_RECVMSG);
	const uint32_t tx = (1u << FL_FN_WRITE) | (1u << FL_FN_WRITEV) | (1u << FL_FN_SEND) |
			    (1u << FL_FN_SENDTO) | (1u << FL_FN_SENDMSG);
	const uint32_t end = (1u << FL_FN_CLOSE) | (1u << FL_FN_SHUTDOWN);
	struct fl_preload_rule r;

	r = parse_ok("reset_peer:port=8080", 0);
	ck_assert_uint_eq(r.shm.kind, FL_KIND_STREAM);
	ck_assert_uint_eq(r.shm.op, FL_STREAM_RESET_PEER);
	ck_assert_uint_eq(r.shm.dir, FL_DIR_RECV | FL_DIR_SEND);
	ck_assert_uint_eq(r.shm.fn_mask, rx | tx | end);
	ck_assert_str_eq(fl_preload_rule_kind_name(&r), "reset_peer");
	r = parse_ok("reset_peer:bytes=1kb:dir=recv", 0);
	ck_assert_uint_eq(r.shm.bytes, 1024);
	ck_assert_uint_eq(r.shm.dir, FL_DIR_RECV);
	ck_assert_uint_eq(r.shm.fn_mask, rx | end);
	r = parse_ok("reset_peer:after=500ms:addr=[::1]", 0);
	ck_assert_uint_eq(r.shm.after_ns, 500000000ULL);
	/* after=: the waits too, so that a program asleep in poll meets the deadline. */
	ck_assert_uint_eq(r.shm.fn_mask, rx | tx | end | (1u << FL_FN_WAIT));
	ck_assert_uint_eq(r.shm.addr_prefix, 128);
	r = parse_ok("reset_peer:addr=10.1.2.3/8", 0);
	ck_assert_uint_eq(r.shm.addr_prefix, 8);
	ck_assert_uint_eq(r.shm.addr[0], 10);
	ck_assert_uint_eq(r.shm.addr[1], 0); /* the host bits are cleared */
	r = parse_ok("reset_peer:addr=[fd00:1::5]/32", 0);
	ck_assert_uint_eq(r.shm.addr_prefix, 32);
	ck_assert_uint_eq(r.shm.addr[15], 0);
	r = parse_ok("slow_close:delay=1s:lport=8080", 0);
	ck_assert_uint_eq(r.shm.lport, 8080);
	ck_assert(r.shm.flags & FL_RULE_LPORT);
	ck_assert_uint_eq(r.shm.fn_mask, rx | tx | end);
	r = parse_ok("timeout:after=2s:dir=send", 0);
	ck_assert_uint_eq(r.shm.fn_mask, tx | (1u << FL_FN_WAIT));
	r = parse_ok("limit_data:bytes=100", 0);
	ck_assert_uint_eq(r.shm.bytes, 100);
	r = parse_ok("slicer:size=10:var=5:delay=10ms", 0);
	ck_assert_uint_eq(r.shm.bytes, 10);
	ck_assert_uint_eq(r.shm.bytes_var, 5);
	ck_assert_uint_eq(r.shm.delay_ns, 10000000ULL);
	r = parse_ok("bandwidth:rate=100kbit", 0);
	ck_assert_uint_eq(r.shm.rate, 12500);
	r = parse_ok("bandwidth:rate=2.5kbps", 0);
	ck_assert_uint_eq(r.shm.rate, 2500);
	/* A call rule's addr= takes a prefix as well. */
	r = parse_ok("connect:ECONNREFUSED:addr=192.168.0.0/16", 0);
	ck_assert_uint_eq(r.shm.addr_prefix, 16);
}
END_TEST

/* Bad rules of the kinds: refused, naming the token or the missing item. */
START_TEST(test_kind_errors)
{
	static const struct {
		const char *text, *token;
	} t[] = {
	    {"time", "needs offset="},
	    {"time:offset=abc", "\"abc\""},
	    {"time:offset=101000d", "\"101000d\""},
	    {"time:offset=1s5", "\"1s5\""},
	    {"time:EIO", "\"EIO\""},
	    {"time:offset=1s:clock=cpu", "\"cpu\""},
	    {"time:offset=1s:clock=realtime,realtime", "realtime,realtime"},
	    {"time:offset=1s:p=0.5", "\"p\""},
	    {"time:offset=1s:offset=2s", "given twice"},
	    {"dns", "needs an answer"},
	    {"dns:NXDOMAIN:SERVFAIL", "second answer"},
	    {"dns:NXDOMAIN:answer=1.2.3.4", "second answer"},
	    {"dns:EIO", "\"EIO\""},
	    {"dns:answer=foo", "\"foo\""},
	    {"dns:timeout=soon", "\"soon\""},
	    {"dns:NXDOMAIN:host=a b", "\"a b\""},
	    {"dns:NXDOMAIN:port=80", "\"port\""},
	    {"getaddrinfo:EIO:host=x/y", "\"x/y\""},
	    {"limit_data", "needs bytes="},
	    {"limit_data:bytes=10zb", "\"10zb\""},
	    {"limit_data:bytes=2048gb", "\"2048gb\""},
	    {"slicer", "needs size="},
	    {"slicer:size=0", "\"0\""},
	    {"slicer:size=10:var=10", "var="},
	    {"bandwidth", "needs rate="},
	    {"bandwidth:rate=10", "\"10\""},
	    {"bandwidth:rate=0bps", "\"0bps\""},
	    {"slow_close", "needs delay="},
	    {"slow_close:delay=1s:dir=recv", "\"dir\""},
	    {"reset_peer:EIO", "\"EIO\""},
	    {"reset_peer:path=/x", "\"path\""},
	    {"reset_peer:addr=10.0.0.0/33", "\"10.0.0.0/33\""},
	    {"reset_peer:dir=up", "\"up\""},
	    {"reset_peer:lport=0", "\"0\""},
	    {"timeout:after=forever", "\"forever\""},
	    {"write,write:EIO", "named twice"},
	    {"=bogus:EIO", "\"bogus\""},
	};

	for (size_t i = 0; i < FL_ARRAY_SIZE(t); i++) {
		struct fl_preload_rule r;
		struct fl_error err;

		fl_error_init(&err);
		ck_assert_msg(fl_preload_rule_parse(t[i].text, 0, &r, &err) < 0,
			      "\"%s\" should be refused", t[i].text);
		ck_assert_msg(strstr(err.msg, t[i].token), "\"%s\": message \"%s\" lacks %s",
			      t[i].text, err.msg, t[i].token);
	}
}
END_TEST

/* The hit counters: tagged per rule, zero after arming, read without a lock. */
START_TEST(test_table_hits)
{
	struct fl_preload_rule rules[2] = {parse_ok("write:EIO", 0), parse_ok("dns:NXDOMAIN", 0)};
	struct fl_preload_table *t = NULL;
	struct fl_shm_table *view;
	uint64_t hits[4] = {9, 9, 9, 9};
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "/faultline-unit-hits-%d", (int)getpid());
	(void)fl_preload_table_unlink(name);
	ck_assert_int_eq(fl_preload_table_create(name, &t), 0);
	ck_assert_int_eq(fl_preload_table_arm(t, rules, 2, 1, 0), 0);
	ck_assert_int_eq(fl_preload_table_hits(t, hits, 4), 2);
	ck_assert_uint_eq(hits[0], 0);
	ck_assert_uint_eq(hits[1], 0);
	ck_assert_uint_eq(hits[2], 0);
	fd = shm_open(name, O_RDWR, 0);
	ck_assert_int_ge(fd, 0);
	view = mmap(NULL, FL_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(view, MAP_FAILED);
	/* What the shim does on a hit: +1 on a word whose tag is the rule's. */
	ck_assert_uint_eq(view->hits[0] >> FL_SHM_HIT_BITS, FL_SHM_HIT_TAG(view->rules[0].id));
	view->hits[0] += 3;
	view->hits[1] += 1;
	ck_assert_int_eq(fl_preload_table_hits(t, hits, 2), 2);
	ck_assert_uint_eq(hits[0], 3);
	ck_assert_uint_eq(hits[1], 1);
	/* A word tagged for another rule (a late hit of a replaced one, or garbage) counts 0. */
	view->hits[1] = (FL_SHM_HIT_TAG(view->rules[1].id) + 1) << FL_SHM_HIT_BITS | 7;
	ck_assert_int_eq(fl_preload_table_hits(t, hits, 2), 2);
	ck_assert_uint_eq(hits[1], 0);
	/* Re-arming starts every counter from zero. */
	ck_assert_int_eq(fl_preload_table_arm(t, rules, 1, 1, 0), 0);
	ck_assert_int_eq(fl_preload_table_hits(t, hits, 2), 1);
	ck_assert_uint_eq(hits[0], 0);
	ck_assert_uint_eq(view->hits[1], 0);
	ck_assert_int_eq(fl_preload_table_hits(NULL, hits, 2), -EINVAL);
	munmap(view, FL_SHM_SIZE);
	close(fd);
	fl_preload_table_close(t);
	ck_assert_int_eq(fl_preload_table_unlink(name), 0);
}
END_TEST

static int try_parse(const char *target, const char *params, void **spec, struct fl_error *err)
{
	cJSON *t = cJSON_Parse(target), *p = cJSON_Parse(params);
	int rc;

	fl_error_init(err);
	rc = fl_fault_syscall.parse(t, p, spec, err);
	cJSON_Delete(t);
	cJSON_Delete(p);
	return rc;
}

START_TEST(test_fault_parse_errors)
{
	static const struct {
		const char *target, *params, *path;
	} t[] = {
	    {"{}", "{\"rules\":[\"write:EIO\"]}", "$.target"},
	    {"{\"pid\":0}", "{\"rules\":[\"write:EIO\"]}", "$.target.pid"},
	    {"{\"pid\":1.5}", "{\"rules\":[\"write:EIO\"]}", "$.target.pid"},
	    {"{\"pids\":[3,\"x\"]}", "{\"rules\":[\"write:EIO\"]}", "$.target.pids[1]"},
	    {"{\"pid\":3,\"host\":1}", "{\"rules\":[\"write:EIO\"]}", "$.target.host"},
	    {"{\"pid\":3}", "{}", "$.params.rules"},
	    {"{\"pid\":3}", "{\"rules\":[\"write:EIO\",\"read:EBOGUS\"]}", "$.params.rules[1]"},
	    {"{\"pid\":3}", "{\"rules\":[\"write:EIO\"],\"color\":1}", "$.params.color"},
	    {"{\"pid\":3}", "{\"rules\":[\"write:EIO\"],\"seed\":-1}", "$.params.seed"},
	    /* The command form. */
	    {"{\"command\":[]}", "{\"rules\":[\"write:EIO\"]}", "$.target.command"},
	    {"{\"command\":\"ls\"}", "{\"rules\":[\"write:EIO\"]}", "$.target.command"},
	    {"{\"command\":[\"ls\",3]}", "{\"rules\":[\"write:EIO\"]}", "$.target.command[1]"},
	    {"{\"command\":[\"bin/ls\"]}", "{\"rules\":[\"write:EIO\"]}", "$.target.command[0]"},
	    {"{\"command\":[\"ls\"],\"pid\":3}", "{\"rules\":[\"write:EIO\"]}", "$.target"},
	    {"{\"command\":[\"ls\"],\"cwd\":\"tmp\"}", "{\"rules\":[\"write:EIO\"]}",
	     "$.target.cwd"},
	    {"{\"command\":[\"ls\"],\"output\":1}", "{\"rules\":[\"write:EIO\"]}",
	     "$.target.output"},
	    {"{\"command\":[\"ls\"],\"on_revert\":\"pause\"}", "{\"rules\":[\"write:EIO\"]}",
	     "$.target.on_revert"},
	    {"{\"command\":[\"ls\"],\"env\":{\"A-B\":\"1\"}}", "{\"rules\":[\"write:EIO\"]}",
	     "$.target.env.A-B"},
	    {"{\"command\":[\"ls\"],\"env\":{\"FAULTLINE_SHM\":\"/x\"}}",
	     "{\"rules\":[\"write:EIO\"]}", "$.target.env.FAULTLINE_SHM"},
	    {"{\"command\":[\"ls\"],\"env\":{\"A\":1}}", "{\"rules\":[\"write:EIO\"]}",
	     "$.target.env.A"},
	    {"{\"command\":[\"ls\"],\"user\":\"x\"}", "{\"rules\":[\"write:EIO\"]}",
	     "$.target.user"},
	    {"{\"command\":[\"ls\"]}", "{\"rules\":[\"write:EBOGUS\"]}", "$.params.rules[0]"},
	    /* The seccomp mode. */
	    {"{\"command\":[\"ls\"]}", "{\"rules\":[\"write:EIO\"],\"mode\":\"bpf\"}",
	     "$.params.mode"},
	    {"{\"pid\":3}", "{\"rules\":[\"write:EIO\"],\"mode\":\"seccomp\"}", "$.params.mode"},
	    {"{\"command\":[\"ls\"],\"on_revert\":\"keep\"}",
	     "{\"rules\":[\"write:EIO\"],\"mode\":\"seccomp\"}", "$.target.on_revert"},
	    {"{\"command\":[\"ls\"]}", "{\"rules\":[\"nosuchcall:EIO\"],\"mode\":\"seccomp\"}",
	     "$.params.rules"},
	};

	for (size_t i = 0; i < FL_ARRAY_SIZE(t); i++) {
		struct fl_error err;
		void *spec = NULL;

		ck_assert_msg(try_parse(t[i].target, t[i].params, &spec, &err) < 0,
			      "%s %s accepted", t[i].target, t[i].params);
		ck_assert_msg(!strcmp(err.path, t[i].path), "%s %s: path %s, want %s (%s)",
			      t[i].target, t[i].params, err.path, t[i].path, err.msg);
	}
}
END_TEST

/* The ```json fault blocks of docs/faults/syscall.md parse as `syscall` faults. */
START_TEST(test_docs_fault_blocks)
{
	FILE *f = fopen(FL_SOURCE_DIR "/docs/faults/syscall.md", "r");
	static char buf[1 << 16];
	const char *fence = "```json fault\n";
	size_t n;
	int count = 0;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (char *p = strstr(buf, fence); p; p = strstr(p, fence)) {
		char *start = p + strlen(fence), *end = strstr(start, "```");
		cJSON *j;
		struct fl_error err;
		void *spec = NULL;

		ck_assert_ptr_nonnull(end);
		j = cJSON_ParseWithLength(start, (size_t)(end - start));
		ck_assert_msg(j != NULL, "block %d is not JSON", count);
		fl_error_init(&err);
		ck_assert_msg(fl_fault_syscall.parse(cJSON_GetObjectItem(j, "target"),
						     cJSON_GetObjectItem(j, "params"), &spec,
						     &err) == 0,
			      "block %d: %s: %s", count, err.path, err.msg);
		fl_fault_syscall.free(spec);
		cJSON_Delete(j);
		count++;
		p = end;
	}
	ck_assert_int_ge(count, 1);
}
END_TEST

/* A real process started with the shim: plan, apply, revert through the ops table. */
START_TEST(test_fault_live_process)
{
	char target[64], name[FL_SHM_NAME_MAX], shm[128];
	struct fl_preload_table *t = NULL;
	struct fl_fault_ctx ctx = {.seed = 5};
	struct fl_error err;
	struct fl_buf desc;
	cJSON *undo = NULL, *undo2 = NULL;
	void *spec = NULL, *spec2 = NULL;
	pid_t pid;
	int st;

	if (access("/bin/sleep", X_OK)) {
		printf("SKIPPED: no /bin/sleep\n");
		return;
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setenv("LD_PRELOAD", FL_BINARY_DIR "/preload/libfaultline-preload.so", 1);
		unsetenv("FAULTLINE_SHM");
		unsetenv("ASAN_OPTIONS");
		execl("/bin/sleep", "sleep", "20", (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(fl_preload_table_name_for_pid(pid, name, sizeof(name)), 0);
	snprintf(shm, sizeof(shm), "/dev/shm%s", name);
	for (int i = 0; i < 500 && access(shm, F_OK); i++) {
		struct timespec ts = {0, 10000000};

		nanosleep(&ts, NULL);
	}
	ck_assert_msg(access(shm, F_OK) == 0, "%s did not appear", shm);

	snprintf(target, sizeof(target), "{\"pid\":%d}", (int)pid);
	ck_assert_int_eq(try_parse(target, "{\"rules\":[\"write:EIO:p=0.5\",\"connect:delay=1s\"]}",
				   &spec, &err),
			 0);
	fl_buf_init(&desc, 1024);
	ck_assert_int_eq(fl_fault_syscall.describe(spec, &desc), 0);
	ck_assert_msg(strstr(desc.data, "write:EIO:p=0.5"), "%s", desc.data);
	fl_buf_done(&desc);
	ck_assert_int_eq(fl_fault_syscall.plan(spec, &ctx, &undo, &err), 0);
	ck_assert_int_eq(fl_fault_syscall.apply(spec, &ctx, undo, &err), 0);
	ck_assert_int_eq(fl_preload_table_open(name, &t), 0);
	ck_assert_uint_eq(fl_preload_table_nrules(t), 2);
	/* A second fault on the same process is refused at plan time. */
	ck_assert_int_eq(try_parse(target, "{\"rules\":[\"read:EIO\"]}", &spec2, &err), 0);
	ck_assert_int_eq(fl_fault_syscall.plan(spec2, &ctx, &undo2, &err), -EBUSY);
	ck_assert_int_eq(fl_fault_syscall.revert(undo, &err), 0);
	ck_assert_uint_eq(fl_preload_table_nrules(t), 0);
	ck_assert_int_eq(fl_fault_syscall.revert(undo, &err), 0);

	/* SIGKILL leaves the table behind: revert still succeeds, plan refuses it as stale. */
	ck_assert_int_ge(fl_preload_table_gc(), 0);
	ck_assert_msg(access(shm, F_OK) == 0, "gc removed a live process's table");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	ck_assert_int_eq(fl_fault_syscall.revert(undo, &err), 0);
	ck_assert_int_eq(fl_fault_syscall.plan(spec2, &ctx, &undo2, &err), -ESRCH);
	fl_preload_table_close(t);
	/* The dead process's table is collected; a live process's is not. */
	ck_assert_int_ge(fl_preload_table_gc(), 1);
	ck_assert_int_eq(access(shm, F_OK), -1);
	ck_assert_int_eq(fl_preload_table_unlink(name), 0);
	ck_assert_int_eq(fl_fault_syscall.revert(undo, &err), 0);
	ck_assert_int_lt(fl_fault_syscall.plan(spec2, &ctx, &undo2, &err), 0);
	cJSON_Delete(undo);
	fl_fault_syscall.free(spec);
	fl_fault_syscall.free(spec2);
}
END_TEST

Suite *fl_suite_preload_rules(void)
{
	Suite *s = suite_create("preload_rules");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_examples);
	tcase_add_test(tc, test_when_forms);
	tcase_add_test(tc, test_aliases_filters);
	tcase_add_test(tc, test_errors_name_the_token);
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_format_roundtrip);
	tcase_add_test(tc, test_docs_examples);
	tcase_add_test(tc, test_table_write);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_table_truncated_under_us);
	tcase_add_test(tc, test_table_other_sigbus_kept);
	tcase_add_test(tc, test_table_lock_held);
	tcase_add_test(tc, test_table_gc_blind_in_child_pidns);
	tcase_add_test(tc, test_open_covers_openat);
	tcase_add_test(tc, test_time_rules);
	tcase_add_test(tc, test_dns_rules);
	tcase_add_test(tc, test_stream_rules);
	tcase_add_test(tc, test_kind_errors);
	tcase_add_test(tc, test_table_hits);
	suite_add_tcase(s, tc);
	tc = tcase_create("fault_syscall");
	tcase_add_test(tc, test_fault_parse_errors);
	tcase_add_test(tc, test_docs_fault_blocks);
	tcase_add_test(tc, test_fault_live_process);
	suite_add_tcase(s, tc);
	return s;
}
