/* Parser for /proc/PID/status: identity, capabilities, no_new_privs, seccomp. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cntr_err;

enum { ID_REAL = 0, ID_EFFECTIVE = 1, ID_SAVED = 2, ID_FS = 3 };

struct proc_status {
	char name[64];
	pid_t pid, ppid;
	pid_t nspid_inner;      /* last NSpid value: the PID inside its innermost pid ns */
	uid_t uid[4];           /* real, effective, saved, fs */
	gid_t gid[4];
	gid_t *groups;          /* supplementary groups, malloc'd */
	size_t ngroups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	int no_new_privs;       /* -1 when the kernel does not report it */
	int seccomp;            /* 0 disabled, 1 strict, 2 filter, -1 unknown */
};

int proc_status_parse(const char *text, struct proc_status *out, struct cntr_err *err);
void proc_status_release(struct proc_status *st);
