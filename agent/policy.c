/* The agent's ownership policy: see agent/policy.h. */
#include "agent/policy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "agent/config.h"
#include "core/buf.h"
#include "core/path.h"
#include "faults/proc_select.h"

#define CMDLINE_MAX (64 * 1024) /* longer: unknown (a deny rule on it then refuses) */

/* ---- the one matcher ---- */

/* A field the rules look at: known, unknown because it could not be read, or absent. */
enum field_state { FIELD_KNOWN, FIELD_UNREADABLE, FIELD_ABSENT };

/* What the rules are matched against: a running process, or a command to be. */
struct subject {
	enum field_state comm_st, uid_st, cgroup_st, cmdline_st;
	char comm[FL_PROC_COMM_MAX + 1];
	uid_t uid;
	char cgroup[FL_PROC_PATH_MAX];
	char *cmdline; /* arguments joined by spaces; owned when `own_cmdline` */
	bool own_cmdline;
};

static void subject_done(struct subject *s)
{
	if (s->own_cmdline)
		free(s->cmdline);
	s->cmdline = NULL;
}

/*
 * Does any rule of the set match? Fills what matched. A field that could not
 * be read matches when `unknown_matches` (deny: refuse what cannot be told)
 * and never otherwise (allow: admit only what is known to be allowed).
 */
static bool rules_match(const struct fl_policy_rules *r, const struct subject *s,
			bool unknown_matches, char *what, size_t len)
{
	if (r->n_names && s->comm_st == FIELD_UNREADABLE && unknown_matches) {
		snprintf(what, len, "its name cannot be read");
		return true;
	}
	for (size_t i = 0; s->comm_st == FIELD_KNOWN && i < r->n_names; i++)
		if (!strcmp(s->comm, r->names[i])) {
			snprintf(what, len, "name %s", s->comm);
			return true;
		}
	if (r->n_uids && s->uid_st == FIELD_UNREADABLE && unknown_matches) {
		snprintf(what, len, "its uid cannot be read");
		return true;
	}
	for (size_t i = 0; s->uid_st == FIELD_KNOWN && i < r->n_uids; i++)
		if (s->uid == r->uids[i]) {
			snprintf(what, len, "uid %u", (unsigned)s->uid);
			return true;
		}
	if (r->n_cgroups && s->cgroup_st == FIELD_UNREADABLE && unknown_matches) {
		snprintf(what, len, "its cgroup cannot be read");
		return true;
	}
	for (size_t i = 0; s->cgroup_st == FIELD_KNOWN && i < r->n_cgroups; i++)
		if (fl_path_under(s->cgroup, r->cgroups[i])) {
			snprintf(what, len, "cgroup %s", r->cgroups[i]);
			return true;
		}
	if (r->n_cmdlines && s->cmdline_st == FIELD_UNREADABLE && unknown_matches) {
		snprintf(what, len, "its command line cannot be read (or is over %d bytes)",
			 CMDLINE_MAX);
		return true;
	}
	for (size_t i = 0; s->cmdline_st == FIELD_KNOWN && i < r->n_cmdlines; i++)
		if (regexec(&r->cmdlines[i], s->cmdline, 0, NULL, 0) == 0) {
			snprintf(what, len, "cmdline rule %zu", i);
			return true;
		}
	return false;
}

/* A process as the rules of c see it: only the fields some rule looks at are read. */
static void subject_of_pid(const struct fl_agent_config *c, int pid, struct subject *s)
{
	char path[64], *buf = NULL;
	size_t n = 0;
	uid_t ids[4];
	int r;

	memset(s, 0, sizeof(*s));
	s->comm_st = s->uid_st = s->cgroup_st = s->cmdline_st = FIELD_ABSENT;
	if (c->allow.n_names || c->deny.n_names) {
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		r = fl_buf_read_file(path, 64, &buf, &n);
		s->comm_st = r < 0 ? FIELD_UNREADABLE : FIELD_KNOWN;
		if (r == 0) {
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(s->comm, sizeof(s->comm), "%s", buf);
		}
		free(buf);
		buf = NULL;
	}
	if (c->allow.n_uids || c->deny.n_uids) {
		r = fl_proc_uids(pid, ids);
		s->uid_st = r < 0 ? FIELD_UNREADABLE : FIELD_KNOWN;
		s->uid = ids[1]; /* effective: what it runs as */
	}
	if (c->allow.n_cgroups || c->deny.n_cgroups)
		s->cgroup_st = fl_proc_cgroup(pid, s->cgroup, sizeof(s->cgroup)) < 0
				   ? FIELD_UNREADABLE
				   : FIELD_KNOWN;
	if (c->allow.n_cmdlines || c->deny.n_cmdlines) {
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		r = fl_buf_read_file(path, CMDLINE_MAX, &buf, &n);
		if (r < 0) {
			s->cmdline_st = FIELD_UNREADABLE;
		} else {
			while (n && buf[n - 1] == '\0')
				n--;
			for (size_t i = 0; i < n; i++)
				if (buf[i] == '\0')
					buf[i] = ' ';
			buf[n] = '\0';
			s->cmdline = buf;
			s->own_cmdline = true;
			s->cmdline_st = FIELD_KNOWN;
		}
	}
}

/* deny, then allow: -EPERM with the reason, or 0. `who` names the subject in messages. */
static int judge(const struct fl_agent_config *c, const struct subject *s, const char *who,
		 const char *path, struct fl_error *err)
{
	char what[256];

	if (rules_match(&c->deny, s, true, what, sizeof(what)))
		return fl_error_set(err, -EPERM, path, "%s is denied by the agent's config (%s)",
				    who, what);
	if (c->has_allow && !rules_match(&c->allow, s, false, what, sizeof(what)))
		return fl_error_set(err, -EPERM, path, "%s is outside the agent's allow-list", who);
	return 0;
}

/* ---- processes ---- */

int fl_agent_policy_check(const struct fl_agent_config *c, int pid, struct fl_error *err)
{
	struct subject s;
	char who[96];
	int tgid, r;

	/* A thread is judged as its process: its own name or cgroup is the thread's choice. */
	tgid = fl_proc_tgid(pid);
	if (tgid <= 0)
		tgid = pid; /* gone (the kind will say so) or unreadable: judged as given */
	if (tgid != pid)
		snprintf(who, sizeof(who), "thread %d of process %d", pid, tgid);
	else
		snprintf(who, sizeof(who), "process %d", pid);
	if (tgid == 1)
		return fl_error_set(err, -EPERM, "$.target", "refusing to act on PID 1 (init)%s%s",
				    tgid != pid ? ": " : "", tgid != pid ? who : "");
	if (tgid == getpid())
		return fl_error_set(err, -EPERM, "$.target",
				    "refusing to act on faultline-agent itself (PID %d%s%s)", tgid,
				    tgid != pid ? ", " : "", tgid != pid ? who : "");
	if (tgid == getppid())
		return fl_error_set(err, -EPERM, "$.target",
				    "refusing to act on the agent's parent (PID %d%s%s)", tgid,
				    tgid != pid ? ", " : "", tgid != pid ? who : "");
	if (!c)
		return 0;
	subject_of_pid(c, tgid, &s);
	r = judge(c, &s, who, "$.target", err);
	subject_done(&s);
	return r;
}

bool fl_agent_policy_kind(const struct fl_agent_config *c, const char *kind)
{
	if (!c || !c->kinds)
		return true;
	for (size_t i = 0; i < c->n_kinds; i++)
		if (!strcmp(c->kinds[i], kind))
			return true;
	return false;
}

/* ---- network targets ---- */

/* The file a network.netns entry names. */
static void netns_file(const char *entry, char *out, size_t len)
{
	if (!strcmp(entry, "host"))
		snprintf(out, len, "/proc/self/ns/net");
	else if (entry[0] == '/')
		snprintf(out, len, "%s", entry);
	else
		snprintf(out, len, "/var/run/netns/%s", entry);
}

/* Device and inode of what a path resolves to, without opening it for real (O_PATH). */
static int path_id(const char *path, struct stat *st)
{
	int fd = open(path, O_PATH | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * A netns_path spelled "/proc/PID/...": whose process is it (0 when it is not
 * spelled so)? Only for the message: the namespace itself is judged by what
 * the path resolves to (fl_agent_policy_netns), whatever its spelling.
 */
static int proc_path_pid(const char *path, struct fl_error *err)
{
	const char *p = path + 6;
	char *end;
	long pid;

	if (strncmp(path, "/proc/", 6))
		return 0;
	if (!strncmp(p, "self/", 5) || !strncmp(p, "thread-self/", 12) || !strcmp(p, "self") ||
	    !strcmp(p, "thread-self"))
		return fl_error_set(err, -EPERM, "$.target.netns_path",
				    "refusing to act on faultline-agent itself (%s)", path);
	if (*p < '1' || *p > '9')
		return 0;
	pid = strtol(p, &end, 10);
	if ((*end != '/' && *end) || pid > 4194304)
		return 0;
	return (int)pid;
}

int fl_agent_policy_target(const struct fl_agent_config *c, const char *kind, const cJSON *target,
			   struct fl_error *err)
{
	const struct fl_fault_ops *ops = fl_fault_lookup(kind);
	const cJSON *nsp = cJSON_GetObjectItemCaseSensitive(target, "netns_path");
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(target, "pid");
	const cJSON *pod = cJSON_GetObjectItemCaseSensitive(target, "pod");
	const cJSON *ifc = cJSON_GetObjectItemCaseSensitive(target, "interface");
	int r;

	if (!ops || ops->spec->family != FL_FAULT_FAMILY_NETWORK || !cJSON_IsObject(target))
		return 0;
	/* A namespace reached through a process is that process's: the process policy applies. */
	if (cJSON_IsNumber(pid)) {
		r = fl_agent_policy_check(c, (int)pid->valuedouble, err);
		if (r < 0) {
			snprintf(err->path, sizeof(err->path), "$.target.pid");
			return r;
		}
	}
	if (cJSON_IsString(nsp)) {
		r = proc_path_pid(nsp->valuestring, err);
		if (r > 0 && (r = fl_agent_policy_check(c, r, err)) < 0)
			snprintf(err->path, sizeof(err->path), "$.target.netns_path");
		if (r < 0)
			return r;
	}
	if (!c)
		return 0;
	if (c->interfaces) {
		bool ok = false;

		if (!cJSON_IsString(ifc))
			return fl_error_set(err, -EPERM, "$.target.interface",
					    "the agent's config allows only the interfaces in "
					    "network.interfaces: name one with \"interface\"");
		for (size_t i = 0; i < c->n_interfaces; i++)
			ok |= !strcmp(ifc->valuestring, c->interfaces[i]);
		if (!ok)
			return fl_error_set(err, -EPERM, "$.target.interface",
					    "interface %s is not in the agent's network.interfaces",
					    ifc->valuestring);
	}
	if (c->netns && pod)
		return fl_error_set(err, -EPERM, "$.target.pod",
				    "the agent's config lists the network namespaces it may touch "
				    "(network.netns): pod targets are refused");
	return 0;
}

/*
 * Every process whose network namespace is (dev, ino) must be one the policy
 * allows: a fault on a namespace acts on all of them. The first refusal, or 0.
 */
static int netns_members_allowed(const struct fl_agent_config *c, const struct fl_fault_netns *ns,
				 struct fl_error *err)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int r = 0;

	if (!d)
		return fl_error_set(err, -errno, ns->field, "cannot read /proc: %s",
				    strerror(errno));
	while (r == 0 && (de = readdir(d))) {
		char path[64], *end = NULL;
		long pid = strtol(de->d_name, &end, 10);
		struct fl_error e;
		struct stat st;

		if (!end || *end || pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		if (stat(path, &st) < 0 || (unsigned long long)st.st_dev != ns->dev ||
		    (unsigned long long)st.st_ino != ns->ino)
			continue; /* elsewhere, or gone, or a kernel thread (no namespace link) */
		fl_error_init(&e);
		if (fl_agent_policy_check(c, (int)pid, &e) < 0)
			r = fl_error_set(
			    err, -EPERM, ns->field,
			    "network namespace %s is the one of process %ld, which the "
			    "agent may not touch: %s",
			    ns->label, pid, e.msg);
	}
	closedir(d);
	return r;
}

int fl_agent_policy_netns(void *opaque, const struct fl_fault_netns *ns, struct fl_error *err)
{
	const struct fl_agent_config *c = opaque;
	char label[300];

	if (c && c->netns) {
		bool ok = false;

		for (size_t i = 0; !ok && i < c->n_netns; i++) {
			struct stat st;
			char f[300];

			netns_file(c->netns[i], f, sizeof(f));
			ok = path_id(f, &st) == 0 && (unsigned long long)st.st_dev == ns->dev &&
			     (unsigned long long)st.st_ino == ns->ino;
		}
		if (!ok) {
			int pid = 0;

			if (ns->own)
				snprintf(label, sizeof(label), "host (the agent's own)");
			else if (!ns->named && sscanf(ns->label, "/proc/%d/", &pid) == 1)
				snprintf(label, sizeof(label), "of process %d", pid);
			else
				snprintf(label, sizeof(label), "%s", ns->label);
			return fl_error_set(
			    err, -EPERM, ns->field,
			    "network namespace %s is not in the agent's network.netns allow-list",
			    label);
		}
	}
	if (ns->named)
		return netns_members_allowed(c, ns, err);
	return 0;
}

/* ---- commands the agent launches ---- */

static int openat2_path(int dir, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {.flags = (unsigned long long)flags | O_PATH | O_CLOEXEC,
			       .resolve = resolve};

	return (int)syscall(SYS_openat2, dir, path, &how, sizeof(how));
}

/*
 * With an allow list, a launched command's output file must lie in one of
 * allow.output_dirs: a prefix match on the (dot-free) path picks the
 * directory, then the file, or the directory it would be created in, is
 * looked up beneath it as the launch will open it (RESOLVE_BENEATH), so a
 * symbolic link leading out is refused here already, with a 403 at plan
 * time. The launch opens it beneath the same directory descriptor.
 */
static int policy_output(const struct fl_agent_config *c, const char *output, int *beneath,
			 const char **rel, struct fl_error *err)
{
	const unsigned long long res = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	const char *r = NULL, *dir = NULL;
	char parent[PATH_MAX];
	struct stat st;
	int dfd = -1, fd, e;

	for (size_t i = 0; !r && i < c->n_output_dirs; i++) {
		size_t n = strlen(c->output_dirs[i]);

		if (n == 1)
			r = output + 1;
		else if (!strncmp(output, c->output_dirs[i], n) && output[n] == '/')
			r = output + n + 1;
		dir = c->output_dirs[i];
	}
	if (!r || !*r)
		return fl_error_set(err, -EPERM, "$.target.output",
				    c->n_output_dirs
					? "%s is outside the agent's allowed output "
					  "directories (allow.output_dirs in its config)"
					: "%s: the agent's config allows no output file "
					  "(allow.output_dirs is empty); leave output out",
				    output);
	/* The configured directory itself: by its canonical path, no link on the way. */
	dfd = openat2_path(AT_FDCWD, dir, O_DIRECTORY, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (dfd < 0)
		return fl_error_set(err, -EPERM, "$.target.output",
				    "the allowed output directory %s: %s", dir, strerror(errno));
	fd = openat2_path(dfd, r, 0, res);
	if (fd < 0 && errno == ENOENT) {
		/* To be created: its directory, beneath. */
		const char *slash = strrchr(r, '/');

		snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - r) : 1,
			 slash ? r : ".");
		fd = openat2_path(dfd, parent, O_DIRECTORY, res);
	} else if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1)) {
		close(fd);
		close(dfd);
		return fl_error_set(err, -EPERM, "$.target.output",
				    "%s is not a regular file with a single link", output);
	}
	e = errno;
	if (fd >= 0)
		close(fd);
	if (fd < 0 && (e == EXDEV || e == ELOOP)) {
		close(dfd);
		return fl_error_set(err, -EPERM, "$.target.output",
				    "%s leads out of the agent's allowed output directory %s "
				    "(a symbolic link)",
				    output, dir);
	}
	if (fd < 0) {
		close(dfd);
		return fl_error_set(err, -e, "$.target.output", "%s: %s", output, strerror(e));
	}
	*beneath = dfd;
	*rel = r;
	return 0;
}

/* The string a dotted key ("io.path") names in params, or NULL. */
static const char *param_string(const cJSON *params, const char *key)
{
	const cJSON *o = params;
	char part[64];

	while (o && *key) {
		size_t n = strcspn(key, ".");

		if (n >= sizeof(part))
			return NULL;
		memcpy(part, key, n);
		part[n] = '\0';
		o = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, part) : NULL;
		key += n + (key[n] == '.');
	}
	return cJSON_IsString(o) ? o->valuestring : NULL;
}

/*
 * With an allow list, a directory a fault creates files in (disk_fill's
 * path, stress's io.path) lies in one of allow.fill_dirs: a prefix match on
 * the (absolute, dot-free: the parsers refuse others) path picks the
 * directory, then the path is looked up beneath it with no symbolic link on
 * the way, so a link leading out is refused here with a 403. A path that is
 * not there is left to the fault's own plan to refuse.
 */
static int policy_fill(const struct fl_agent_config *c, const char *path, const char *field,
		       struct fl_error *err)
{
	const unsigned long long res =
	    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	const char *r = NULL, *dir = NULL;
	int dfd, fd, e;

	for (size_t i = 0; !r && i < c->n_fill_dirs; i++) {
		size_t n = strlen(c->fill_dirs[i]);

		if (n == 1)
			r = path + 1;
		else if (!strncmp(path, c->fill_dirs[i], n) && (path[n] == '/' || !path[n]))
			r = path + n + (path[n] == '/');
		dir = c->fill_dirs[i];
	}
	if (!r)
		return fl_error_set(err, -EPERM, field,
				    c->n_fill_dirs ? "%s is outside the directories the agent may "
						     "fill (allow.fill_dirs in its config)"
						   : "%s: the agent's config lets no fault fill a "
						     "directory (allow.fill_dirs is empty)",
				    path);
	dfd = openat2_path(AT_FDCWD, dir, O_DIRECTORY, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (dfd < 0)
		return fl_error_set(err, -EPERM, field, "the allowed fill directory %s: %s", dir,
				    strerror(errno));
	fd = *r ? openat2_path(dfd, r, O_DIRECTORY, res) : -1;
	e = errno;
	if (fd >= 0)
		close(fd);
	close(dfd);
	if (*r && fd < 0 && (e == EXDEV || e == ELOOP))
		return fl_error_set(
		    err, -EPERM, field,
		    "%s leads out of the agent's fill directory %s (a symbolic link)", path, dir);
	return 0;
}

int fl_agent_policy_writes(const struct fl_agent_config *c, const char *kind, const cJSON *params,
			   struct fl_error *err)
{
	const struct fl_fault_ops *ops = fl_fault_lookup(kind);
	char field[96];

	if (!c || !c->has_allow || !ops || !ops->spec->writes)
		return 0;
	for (const char *const *k = ops->spec->writes; *k; k++) {
		const char *path = param_string(params, *k);
		int r;

		if (!path)
			continue;
		snprintf(field, sizeof(field), "$.params.%s", *k);
		r = policy_fill(c, path, field, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int fl_agent_policy_command(void *opaque, const char *path, char *const argv[], const char *output,
			    int *beneath, const char **rel, struct fl_error *err)
{
	const struct fl_agent_config *c = opaque;
	const char *base = strrchr(path, '/');
	struct subject s = {0};
	struct fl_buf cmd;
	int r;

	if (!c)
		return 0;
	/* The process it would become: the kernel names it after the file, cut to 15 bytes. */
	snprintf(s.comm, sizeof(s.comm), "%s", base ? base + 1 : path);
	s.comm_st = FIELD_KNOWN;
	s.uid = geteuid();
	s.uid_st = FIELD_KNOWN;
	s.cgroup_st = fl_proc_cgroup(getpid(), s.cgroup, sizeof(s.cgroup)) < 0 ? FIELD_UNREADABLE
									       : FIELD_KNOWN;
	fl_buf_init(&cmd, CMDLINE_MAX);
	r = 0;
	for (size_t i = 0; argv[i] && r == 0; i++)
		r = fl_buf_printf(&cmd, "%s%s", i ? " " : "", argv[i]);
	s.cmdline = cmd.data ? cmd.data : "";
	s.cmdline_st = r < 0 ? FIELD_UNREADABLE : FIELD_KNOWN;
	r = judge(c, &s, "the command", "$.target.command", err);
	fl_buf_done(&cmd);
	if (r < 0)
		return r;
	if (c->has_allow && output)
		return policy_output(c, output, beneath, rel, err);
	return 0;
}
