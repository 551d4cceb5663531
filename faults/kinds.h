/*
 * Every fault kind, once. The spec registry (faults/spec/registry.c) and the
 * ops registry (faults/registry.c) both expand this list, so a kind exists in
 * both or the build fails. Adding a kind: docs/hacking.md.
 */
#ifndef FL_FAULTS_KINDS_H
#define FL_FAULTS_KINDS_H

#define FL_FAULT_KINDS(X)                                                                          \
	X(kill)                                                                                    \
	X(pause)                                                                                   \
	X(netem)                                                                                   \
	X(bandwidth)                                                                               \
	X(partition)                                                                               \
	X(syscall)                                                                                 \
	X(stress)                                                                                  \
	X(disk_fill)                                                                               \
	X(time)                                                                                    \
	X(dns)                                                                                     \
	X(stream)

#endif
