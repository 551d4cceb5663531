/*
 * libFuzzer target: faultline-agent's configuration file (agent/config.c), the
 * ownership policy. Input: the file's bytes. A config that loads is queried
 * with the policy checks the agent makes on every apply.
 */
#include <unistd.h>

#include "agent/config.h"
#include "agent/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Results we do not judge here (the parsers are FL_WUR). */
static volatile int sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_agent_config c;
	struct fl_error err;

	fl_agent_config_init(&c);
	fl_error_init(&err);
	if (fl_agent_config_parse(&c, (const char *)data, size, &err) == 0) {
		(void)fl_agent_policy_kind(&c, "kill");
		(void)fl_agent_policy_kind(&c, "netem");
		sink += fl_agent_policy_check(&c, getpid(), &err);
		sink += fl_agent_policy_check(&c, 1, &err);
	}
	fl_agent_config_done(&c);
	return 0;
}
