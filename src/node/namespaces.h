/* The target's namespaces, as one table walked by every step that needs them. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

struct cntr_err;

enum ns_kind { NS_MNT, NS_UTS, NS_IPC, NS_NET, NS_PID, NS_CGROUP, NS_USER, NS_TIME, NS_COUNT };

struct ns_info {
	const char *name;   /* entry in /proc/PID/ns */
	int clone_flag;
};

extern const struct ns_info ns_table[NS_COUNT];

struct target_namespaces {
	int fd[NS_COUNT];   /* -1 when the kernel lacks that ns or it equals ours */
	bool shared[NS_COUNT]; /* the target shares this namespace with cntr */
};

/* Open /proc/PID/ns/<each> and compare with cntr's own (inode+dev). A namespace the kernel
 * does not have (time before 5.6) is skipped with a -v note. */
int target_namespaces_open(pid_t pid, struct target_namespaces *ns, struct cntr_err *err);
void target_namespaces_close(struct target_namespaces *ns);

/* setns() into one namespace if it differs from ours. */
int join_namespace(const struct target_namespaces *ns, enum ns_kind kind, struct cntr_err *err);
