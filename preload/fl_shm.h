/*
 * The one header shared by the preload shim and everything that arms it: the
 * layout of the shared-memory rule table.
 *
 * One table is a fixed-size object of FL_SHM_SIZE bytes (a POSIX shm object,
 * /dev/shm/<name>). Writers (faultline exec, the agent) map it read-write and
 * serialise among themselves with flock(2) on the object; shimmed processes map
 * it read-only and never take a lock.
 *
 * Consistency is a sequence lock: a writer makes `seq` odd, changes the rules,
 * then makes `seq` even again (release). A reader loads `seq` (acquire), reads
 * what it needs, issues an acquire fence and loads `seq` again; an odd or
 * changed value means "retry". `armed` is a hint outside the lock: a set bit
 * sends a hooked call to the slow path, where the seqlock decides. All fields
 * are accessed with __atomic builtins (plain integers here so that writers can
 * memset and memcpy whole rules).
 *
 * The layout is ABI between processes of possibly different builds: only ever
 * append, and bump FL_SHM_VERSION when a field changes meaning.
 */
#ifndef FL_PRELOAD_FL_SHM_H
#define FL_PRELOAD_FL_SHM_H

#include <stdint.h>

#define FL_SHM_MAGIC   0x31304d48534c4655ULL /* "UFLSHM01" little-endian */
#define FL_SHM_VERSION 1u
/*
 * Size and alignment of a table. The shim maps the object with MAP_FIXED over
 * a region of its own .bss aligned to FL_SHM_SIZE, so the disarmed test is a
 * single RIP-relative load; 64 KiB covers every page size Linux uses.
 */
#define FL_SHM_SIZE	 65536u
#define FL_SHM_RULES_MAX 32u  /* rules per table */
#define FL_SHM_PATH_MAX	 128u /* path prefix, NUL included */
#define FL_SHM_HOST_MAX	 128u /* host name for getaddrinfo, NUL included */
#define FL_SHM_NAME_MAX	 64u  /* shm object name, NUL included: "/faultline-<pid>" */
/* Name prefix of per-process tables: /dev/shm/faultline-<pid>. */
#define FL_SHM_PREFIX "/faultline-"
/* Environment: name of the table to map (set by faultline exec / the agent). */
#define FL_SHM_ENV "FAULTLINE_SHM"

/* Hooked function families; a rule matches a mask of them. */
enum fl_shm_fn {
	FL_FN_READ,	   /* read, __read_chk */
	FL_FN_WRITE,	   /* write */
	FL_FN_PREAD,	   /* pread, pread64, __pread_chk, __pread64_chk */
	FL_FN_PWRITE,	   /* pwrite, pwrite64 */
	FL_FN_READV,	   /* readv */
	FL_FN_WRITEV,	   /* writev */
	FL_FN_OPEN,	   /* open, open64, __open_2, __open64_2 */
	FL_FN_OPENAT,	   /* openat, openat64, __openat_2, __openat64_2 */
	FL_FN_CLOSE,	   /* close */
	FL_FN_FSYNC,	   /* fsync */
	FL_FN_FDATASYNC,   /* fdatasync */
	FL_FN_CONNECT,	   /* connect */
	FL_FN_ACCEPT,	   /* accept, accept4 */
	FL_FN_SEND,	   /* send */
	FL_FN_SENDTO,	   /* sendto */
	FL_FN_SENDMSG,	   /* sendmsg */
	FL_FN_RECV,	   /* recv, __recv_chk */
	FL_FN_RECVFROM,	   /* recvfrom, __recvfrom_chk */
	FL_FN_RECVMSG,	   /* recvmsg */
	FL_FN_GETADDRINFO, /* getaddrinfo */
	FL_FN__MAX
};

/* Rule flags: which actions and filters are set. */
enum {
	FL_RULE_ERRNO = 1u << 0, /* fail with `err` (getaddrinfo: `gai` or EAI_SYSTEM+err) */
	FL_RULE_DELAY = 1u << 1, /* sleep `delay_ns` first */
	FL_RULE_SHORT = 1u << 2, /* transfer at most `short_len` bytes */
	FL_RULE_PROB = 1u << 3,	 /* fire with probability prob/2^32 */
	FL_RULE_WHEN = 1u << 4,	 /* fire on calls first..last, every step-th */
	FL_RULE_FD = 1u << 5,	 /* only this fd */
	FL_RULE_PATH = 1u << 6,	 /* only paths starting with `path` */
	FL_RULE_PORT = 1u << 7,	 /* only this peer port (accept: the listening port) */
	FL_RULE_ADDR = 1u << 8,	 /* only this peer address */
	FL_RULE_HOST = 1u << 9,	 /* getaddrinfo: only this host name (case-insensitive) */
};

struct fl_shm_rule {
	uint32_t fn_mask;  /* 1 << enum fl_shm_fn */
	uint32_t flags;	   /* FL_RULE_* */
	uint64_t id;	   /* unique per written rule; the shim resets its call counter on change */
	int32_t err;	   /* errno value (positive) */
	int32_t gai;	   /* getaddrinfo return code (EAI_*, negative), 0 = EAI_SYSTEM with err */
	int32_t fd;	   /* FL_RULE_FD */
	uint32_t prob;	   /* FL_RULE_PROB: fires when the next 32 random bits are < prob */
	uint64_t delay_ns; /* FL_RULE_DELAY */
	uint64_t short_len;	    /* FL_RULE_SHORT */
	uint64_t when_first;	    /* FL_RULE_WHEN: 1-based */
	uint64_t when_last;	    /* UINT64_MAX: no end */
	uint64_t when_step;	    /* >= 1 */
	uint16_t port;		    /* FL_RULE_PORT, host byte order */
	uint8_t addr_family;	    /* FL_RULE_ADDR: AF_INET or AF_INET6 */
	uint8_t path_len;	    /* strlen(path) */
	uint8_t addr[16];	    /* network byte order */
	char path[FL_SHM_PATH_MAX]; /* FL_RULE_PATH, NUL-terminated */
	char host[FL_SHM_HOST_MAX]; /* FL_RULE_HOST, NUL-terminated */
	uint8_t reserved[160];	    /* up to 512 bytes, so a rule's offset is a shift */
};

struct fl_shm_table {
	/* Hot: the shim's disarmed test reads this word and nothing else. */
	uint32_t armed; /* OR of the live rules' fn masks; 0 = disarmed */
	uint32_t seq;	/* sequence lock: odd while a writer is inside */
	uint64_t magic; /* FL_SHM_MAGIC */
	uint32_t version;
	uint32_t nrules; /* rules[0..nrules) are live */
	uint64_t seed;	 /* PRNG seed for probabilities (replay) */
	uint64_t
	    expires_mono_ns; /* CLOCK_MONOTONIC deadline; 0 = none (the lease, as a backstop) */
	int32_t owner_pid;   /* the process that registered this table, 0 if none */
	uint32_t reserved0;
	uint64_t fn_rules[FL_FN__MAX]; /* per function: bitmask of rule slots that name it */
	struct fl_shm_rule rules[FL_SHM_RULES_MAX];
};

_Static_assert(sizeof(struct fl_shm_rule) == 512, "rules are 512 bytes");
_Static_assert(sizeof(struct fl_shm_table) <= FL_SHM_SIZE, "table must fit its mapping");
_Static_assert(FL_FN__MAX <= 32, "fn_mask is 32 bits");
_Static_assert(FL_SHM_RULES_MAX <= 64, "fn_rules is 64 bits");

#endif
