/* `lambda-cntr capsule run` as an engine a command line or a controller can call
 * (docs/capsules.md, cluster level): the pods that match, grouped by node; per node, at the same
 * time, the node's agent and a short-lived capsule pod whose container is IMAGE pulled by the
 * kubelet; then `cntr capsule run --from-container <capsule container>` in the agent over the
 * node's targets; the capsule pod is deleted on every path out. Output lines and results come
 * back through callbacks and a report; the engine prints nothing itself. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kube_config;
struct cntr_err;

enum capsule_stream { CAPSULE_STDOUT = 1, CAPSULE_STDERR = 2 };

struct capsule_request {
	const char *image;            /* the capsule image, pulled by the kubelet */
	const char *pull_policy;      /* its imagePullPolicy; NULL: the kubelet's default */
	const char *selector;         /* a label selector, or NULL with pods */
	char *const *pods;            /* pod names (NULL-terminated), or NULL with selector */
	const char *namespace;        /* of the pods; ignored with all_namespaces or namespaces */
	char *const *namespaces;      /* with selector: these namespaces (NULL-terminated), or NULL */
	bool all_namespaces;
	const char *container;        /* NULL: the default-container annotation, else the only one */
	char *const *command;         /* NULL-terminated, not empty */
	unsigned parallel;            /* per node, 0: cntr's default (all, at most 32) */
	bool iterative;               /* one target after the other; nodes one after the other too */
	bool fail_fast;               /* start nothing more once a target failed */
	uint64_t timeout_s;           /* per target, 0: none */
	const char *profile;          /* cntr's --profile, NULL: its default */
	const char *share;            /* cntr's --share (uts,ipc,net,pid,cgroup), NULL: all */
	const char *seccomp_profile;  /* cntr's --seccomp-profile (default, unconfined), NULL: default */
	const char *agent_image;
	const char *agent_pull_policy;
	const char *agent_namespace;  /* where the agents and capsule pods run */
	uint64_t agent_timeout_s;     /* how long to wait for an agent or a capsule pod */
	uint64_t idle_timeout_s;      /* an agent this run creates exits after this long unused */
	bool verbose_cntr;            /* cntr -v */
	/* Broker mode: each node's run goes through the installed broker (nodes/NODE/capsule),
	 * which makes the capsule pod and runs cntr in its agent; the agent_* fields are unused. */
	bool via_broker;
	/* Each output line of a target, already prefixed "[ns/pod/container] ", and lambda-cntr's
	 * own per-node messages, as they come. */
	void (*on_line)(void *ctx, enum capsule_stream stream, const char *line);
	/* After each target that finished (done of total). May be NULL. */
	void (*on_progress)(void *ctx, size_t done, size_t total);
	void *ctx;
};

struct capsule_result {
	char *name;        /* ns/pod/container */
	char *node;
	char *skipped;     /* why the pod is not a target (not running...); NULL for a target */
	char *error;       /* why the capsule never ran on it (image pull, agent...); NULL when it ran */
	int exit;          /* its exit status (124 timed out); -1 when it never started */
	bool timed_out;
	double seconds;
};

struct capsule_report {
	struct capsule_result *results;  /* targets in order, then the skipped pods */
	size_t n;
	size_t targets;                  /* how many are targets (not skipped) */
	size_t failed;                   /* targets that did not exit 0 */
	int interrupted;                 /* the signal that stopped the run, 0 when none */
};

/* 0 with rep filled (rep->failed may be > 0), or -1 with err (125) when no run took place:
 * the pods could not be listed, no running pod matched, an interrupt before any start. */
int lambda_capsule_run(struct kube_config *cfg, const struct capsule_request *req,
		       struct capsule_report *rep, struct cntr_err *err);

void capsule_report_clear(struct capsule_report *rep);

/* lambda_capsule_share_is_valid: cli/lambda_capsule_argv.h. */
