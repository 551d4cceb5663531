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
 * The shim writes one thing: the per-rule hit counters at the end of the
 * table (`hits`), with atomic compare-and-swap, only when a rule fires. It
 * maps the table read-write for that; where it may only read it (a table
 * another user made readable to it), it maps it read-only and counts nothing.
 *
 * The layout is ABI between processes of possibly different builds: only ever
 * append, and bump FL_SHM_VERSION when a field changes meaning.
 * Version 2: rule kinds (time, dns, stream) in what were version 1's reserved
 * bytes of a rule, fn_rules sized for every bit of fn_mask, hit counters.
 */
#ifndef FL_PRELOAD_FL_SHM_H
#define FL_PRELOAD_FL_SHM_H

#include <stdint.h>

#define FL_SHM_MAGIC   0x31304d48534c4655ULL /* "UFLSHM01" little-endian */
#define FL_SHM_VERSION 2u
/*
 * Size and alignment of a table. The shim maps the object with MAP_FIXED over
 * a region of its own .bss aligned to FL_SHM_SIZE, so the disarmed test is a
 * single RIP-relative load; 64 KiB covers every page size Linux uses.
 */
#define FL_SHM_SIZE	 65536u
#define FL_SHM_RULES_MAX 32u  /* rules per table */
#define FL_SHM_PATH_MAX	 128u /* path prefix, NUL included */
#define FL_SHM_HOST_MAX	 128u /* host name pattern for the resolver, NUL included */
#define FL_SHM_FN_SLOTS	 32u  /* fn_rules entries: one per bit of fn_mask */
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
	/* Version 2: armed by the rule kinds, not named in call rules. */
	FL_FN_CLOCK,	     /* clock_gettime, gettimeofday, time, timespec_get, clock_nanosleep */
	FL_FN_GETHOSTBYNAME, /* gethostbyname, gethostbyname2, gethostbyname_r, gethostbyname2_r */
	FL_FN_RES_QUERY,     /* res_query, res_search, res_querydomain, res_n*, __res_* */
	FL_FN_WAIT,	     /* poll, ppoll, select, pselect, epoll_wait, epoll_pwait (after=) */
	FL_FN_SHUTDOWN,	     /* shutdown (reset_peer, slow_close) */
	FL_FN__MAX
};

/* What a rule does (version 2; version 1 knew FL_KIND_CALL only). */
enum fl_shm_kind {
	FL_KIND_CALL,	/* fail, delay or shorten the named calls (errno, delay_ns, short_len) */
	FL_KIND_TIME,	/* clock skew: offset_ns on the clocks in clock_mask */
	FL_KIND_DNS,	/* resolver answers: op is an enum fl_shm_dns */
	FL_KIND_STREAM, /* a fault on TCP connections: op is an enum fl_shm_stream */
	FL_KIND__MAX
};

/* FL_KIND_DNS: what the resolver answers for a matching name. */
enum fl_shm_dns {
	FL_DNS_NXDOMAIN = 1, /* the name does not exist */
	FL_DNS_SERVFAIL,     /* the server failed (a temporary error) */
	FL_DNS_TIMEOUT,	     /* no answer: fail as a timeout after after_ns */
	FL_DNS_ANSWER,	     /* the address in answer[] */
	FL_DNS__MAX
};

/* FL_KIND_STREAM: Toxiproxy's toxics, on the connection itself. */
enum fl_shm_stream {
	FL_STREAM_RESET_PEER = 1, /* RST: on close, or after `bytes` / after_ns */
	FL_STREAM_SLOW_CLOSE,	  /* a close takes delay_ns */
	FL_STREAM_TIMEOUT,	  /* data stops, the connection is held (closed after after_ns) */
	FL_STREAM_LIMIT_DATA,	  /* the connection closes after `bytes` */
	FL_STREAM_SLICER,	  /* transfers in chunks of bytes +- bytes_var, delay_ns apart */
	FL_STREAM_BANDWIDTH,	  /* at most `rate` bytes per second per direction */
	FL_STREAM__MAX
};

/* FL_KIND_STREAM: directions a rule acts on (`dir`). */
enum {
	FL_DIR_RECV = 1u << 0, /* data the program receives */
	FL_DIR_SEND = 1u << 1, /* data the program sends */
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
	FL_RULE_HOST = 1u << 9,	 /* resolver: only names matching `host` (case-insensitive, '*') */
	/* Version 2. */
	FL_RULE_LPORT = 1u << 10, /* stream: only this local port */
	FL_RULE_BYTES = 1u << 11, /* stream: `bytes` is set (reset_peer, limit_data, slicer) */
	FL_RULE_AFTER = 1u << 12, /* stream: after_ns is set (reset_peer, timeout) */
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
	char host[FL_SHM_HOST_MAX]; /* FL_RULE_HOST, NUL-terminated pattern */
	/* Version 2: the rule kinds (version 1's reserved bytes, zero there = a call rule). */
	uint8_t kind;	       /* enum fl_shm_kind */
	uint8_t op;	       /* enum fl_shm_dns or enum fl_shm_stream */
	uint8_t dir;	       /* stream: FL_DIR_* */
	uint8_t addr_prefix;   /* FL_RULE_ADDR: prefix length (32 or 128 = the address alone) */
	uint16_t lport;	       /* FL_RULE_LPORT, host byte order */
	uint8_t answer_family; /* dns answer: AF_INET or AF_INET6 */
	uint8_t reserved1;
	uint32_t clock_mask; /* time: 1 << clockid of each skewed clock */
	uint32_t reserved2;
	int64_t offset_ns;    /* time: added to the clocks' readings */
	uint64_t bytes;	      /* stream: threshold (reset_peer, limit_data) or chunk (slicer) */
	uint64_t bytes_var;   /* stream slicer: chunk size varies by up to this much */
	uint64_t after_ns;    /* stream: since the connection was first seen; dns: timeout */
	uint64_t rate;	      /* stream bandwidth: bytes per second */
	uint8_t answer[16];   /* dns answer, network byte order */
	uint8_t reserved[88]; /* up to 512 bytes, so a rule's offset is a shift */
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
	uint64_t fn_rules[FL_SHM_FN_SLOTS]; /* per function: bitmask of rule slots that name it */
	struct fl_shm_rule rules[FL_SHM_RULES_MAX];
	/*
	 * Version 2, written by the shim: how often each rule fired, summed over
	 * every process that maps the table. A word is the rule's tag
	 * (FL_SHM_HIT_TAG of its id) in the top bits and the count below; the
	 * writer stores the tag with a zero count when it writes the rule, and
	 * the shim adds one only while the tag is that of the rule it decided
	 * with, so a hit of a replaced rule never lands on its successor.
	 */
	uint64_t hits[FL_SHM_RULES_MAX];
};

#define FL_SHM_HIT_BITS	   40u
#define FL_SHM_HIT_MAX	   ((1ULL << FL_SHM_HIT_BITS) - 1)
#define FL_SHM_HIT_TAG(id) (((id) >> 8) & ((1ULL << (64 - FL_SHM_HIT_BITS)) - 1))

_Static_assert(sizeof(struct fl_shm_rule) == 512, "rules are 512 bytes");
_Static_assert(sizeof(struct fl_shm_table) <= FL_SHM_SIZE, "table must fit its mapping");
_Static_assert(FL_FN__MAX <= FL_SHM_FN_SLOTS, "fn_mask is 32 bits");
_Static_assert(FL_SHM_RULES_MAX <= 64, "fn_rules is 64 bits");

#endif
