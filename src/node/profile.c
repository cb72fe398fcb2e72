#include "profile.h"

#include "creds.h"

#include <linux/capability.h>
#include <string.h>

#define CAP(c) (1ULL << (c))

static const struct session_profile profiles[] = {
	{ .name = "general", .summary = "the target's capabilities, no_new_privs and seccomp filter" },
	{ .name = "restricted", .drop_all = true, .no_new_privs = true, .default_seccomp = true,
	  .summary = "no capability, no_new_privs, cntr's default seccomp profile on top of the target's filter" },
	{ .name = "netadmin", .add = CAP(CAP_NET_ADMIN) | CAP(CAP_NET_RAW),
	  .summary = "the target's identity plus NET_ADMIN and NET_RAW (tcpdump, ip, iptables)" },
	{ .name = "sysadmin",
	  .add = CAP(CAP_SYS_ADMIN) | CAP(CAP_SYS_PTRACE) | CAP(CAP_NET_ADMIN) | CAP(CAP_NET_RAW) |
		 CAP(CAP_DAC_OVERRIDE) | CAP(CAP_DAC_READ_SEARCH) | CAP(CAP_KILL),
	  .summary = "the target's identity plus SYS_ADMIN, SYS_PTRACE, NET_ADMIN, NET_RAW, DAC_OVERRIDE, "
		     "DAC_READ_SEARCH, KILL (strace, gdb, perf, mount)" },
};

const struct session_profile *session_profile_find(const char *name)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

const char *session_profile_names(void)
{
	return "general, restricted, netadmin, sysadmin";
}

void session_profile_apply(const struct session_profile *p, struct cap_change *change)
{
	if (p->drop_all)
		change->drop = ~0ULL;
	change->add |= p->add;
	change->no_new_privs |= p->no_new_privs;
}
