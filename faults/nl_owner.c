/*
 * Which faults hold which part of an interface, in this process: the names a
 * refusal gives ("dev eth0 already carries faultline fault "lat-1" ..."), the
 * original root qdisc a second, composing fault must restore when it is the
 * last one out, and whether a fault is alone on its root (then its revert may
 * delete by handle without reading the tree first). The kernel objects carry
 * no name (a qdisc has none), so the faults that live in this agent are
 * remembered here when applied and forgotten when reverted. A fault applied
 * by another process (an agent that crashed is reconciled, so that is a
 * second agent or a tool) is refused all the same, by its handle or filter
 * preference, just without its id, and nothing composes with it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults/nl_common.h"

#define OWNERS_MAX 256
#define ID_MAX	   128

struct owner {
	unsigned long long ino;
	int ifindex;
	enum fl_nl_slot slot;
	char id[ID_MAX];
	char *prev; /* the "prev" record (JSON) of the root before faultline, or NULL */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct owner owners[OWNERS_MAX];
static size_t nowners;
static __thread char found[2 * ID_MAX + 16];

static bool same(const struct owner *o, unsigned long long ino, int ifindex, enum fl_nl_slot slot)
{
	return o->ino == ino && o->ifindex == ifindex && o->slot == slot;
}

void fl_nl_owner_set(unsigned long long ino, int ifindex, enum fl_nl_slot slot, const char *id,
		     const cJSON *prev)
{
	char *p = prev ? cJSON_PrintUnformatted(prev) : NULL;

	if (!id || !*id) {
		free(p);
		return;
	}
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nowners; i++)
		if (same(&owners[i], ino, ifindex, slot) && !strcmp(owners[i].id, id)) {
			free(owners[i].prev);
			owners[i].prev = p;
			p = NULL;
			goto out;
		}
	if (nowners < OWNERS_MAX) { /* beyond: refusals just name no id */
		owners[nowners] =
		    (struct owner){.ino = ino, .ifindex = ifindex, .slot = slot, .prev = p};
		snprintf(owners[nowners].id, sizeof(owners[nowners].id), "%s", id);
		nowners++;
		p = NULL;
	}
out:
	pthread_mutex_unlock(&mu);
	free(p);
}

const char *fl_nl_owner_get(unsigned long long ino, int ifindex, enum fl_nl_slot slot)
{
	size_t n = 0;

	found[0] = '\0';
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nowners && n < 2; i++)
		if (same(&owners[i], ino, ifindex, slot)) {
			size_t l = strlen(found);

			snprintf(found + l, sizeof(found) - l, "%s%s", n ? "\" and \"" : "",
				 owners[i].id);
			n++;
		}
	pthread_mutex_unlock(&mu);
	return n ? found : NULL;
}

cJSON *fl_nl_owner_prev(unsigned long long ino, int ifindex, enum fl_nl_slot slot)
{
	cJSON *r = NULL;

	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nowners && !r; i++)
		if (same(&owners[i], ino, ifindex, slot) && owners[i].prev)
			r = cJSON_Parse(owners[i].prev);
	pthread_mutex_unlock(&mu);
	return r;
}

bool fl_nl_owner_alone(unsigned long long ino, int ifindex, enum fl_nl_slot slot, const char *id)
{
	size_t n = 0;
	bool mine = false;

	if (!id)
		return false;
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nowners; i++)
		if (same(&owners[i], ino, ifindex, slot)) {
			n++;
			mine = mine || !strcmp(owners[i].id, id);
		}
	pthread_mutex_unlock(&mu);
	return n == 1 && mine;
}

void fl_nl_owner_clear(unsigned long long ino, int ifindex, enum fl_nl_slot slot, const char *id)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nowners;) {
		if (same(&owners[i], ino, ifindex, slot) && (!id || !strcmp(owners[i].id, id))) {
			free(owners[i].prev);
			owners[i] = owners[--nowners];
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&mu);
}
