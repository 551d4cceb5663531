/*
 * Which fault owns which part of an interface, in this process: the name
 * a refusal gives ("dev eth0 already carries faultline fault "lat-1" ...").
 * The kernel objects themselves carry no name (a qdisc has none), so the
 * faults that live in this agent are remembered here when applied and
 * forgotten when reverted. A fault applied by another process (an agent that
 * crashed is reconciled, so that is a second agent or a tool) is refused all
 * the same, by its handle or filter preference, just without its id.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "faults/nl_common.h"

#define OWNERS_MAX 256
#define ID_MAX	   128

struct owner {
	unsigned long long ino;
	int ifindex;
	enum fl_nl_slot slot;
	char id[ID_MAX];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct owner owners[OWNERS_MAX];
static size_t nowners;
static __thread char found[ID_MAX];

void fl_nl_owner_set(unsigned long long ino, int ifindex, enum fl_nl_slot slot, const char *id)
{
	if (!id || !*id)
		return;
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nowners; i++)
		if (owners[i].ino == ino && owners[i].ifindex == ifindex &&
		    owners[i].slot == slot) {
			snprintf(owners[i].id, sizeof(owners[i].id), "%s", id);
			goto out;
		}
	if (nowners < OWNERS_MAX) { /* beyond: refusals just name no id */
		owners[nowners] = (struct owner){.ino = ino, .ifindex = ifindex, .slot = slot};
		snprintf(owners[nowners].id, sizeof(owners[nowners].id), "%s", id);
		nowners++;
	}
out:
	pthread_mutex_unlock(&mu);
}

const char *fl_nl_owner_get(unsigned long long ino, int ifindex, enum fl_nl_slot slot)
{
	const char *r = NULL;

	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nowners; i++)
		if (owners[i].ino == ino && owners[i].ifindex == ifindex &&
		    owners[i].slot == slot) {
			snprintf(found, sizeof(found), "%s", owners[i].id);
			r = found;
			break;
		}
	pthread_mutex_unlock(&mu);
	return r;
}

void fl_nl_owner_clear(unsigned long long ino, int ifindex, enum fl_nl_slot slot, const char *id)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nowners; i++)
		if (owners[i].ino == ino && owners[i].ifindex == ifindex &&
		    owners[i].slot == slot && (!id || !strcmp(owners[i].id, id))) {
			owners[i] = owners[--nowners];
			break;
		}
	pthread_mutex_unlock(&mu);
}
