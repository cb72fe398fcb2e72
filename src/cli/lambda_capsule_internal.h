/* The pieces of lambda_capsule_run (lambda_capsule.h), one file each:
 * lambda_capsule_targets.c (which pods, grouped by node), lambda_capsule_pod.c (the capsule
 * pod), lambda_capsule_node.c (one node's run, in its own process), lambda_capsule_run.c (all
 * nodes, their output and results). */
#pragma once
#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "cli/lambda_capsule.h"

struct kube_config;
struct cntr_err;

#define CAPSULE_POD_PREFIX "lambda-cntr-capsule-"
#define CAPSULE_CONTAINER "capsule"
#define CAPSULE_INSTALL_CONTAINER "install-cntr"
#define CAPSULE_CNTR_DIR "/.lambda-cntr"
#define CAPSULE_APP_NAME "lambda-cntr-capsule"

/* One target container. */
struct capsule_container {
	char *name;          /* ns/pod/container */
	char *container_id;  /* 64 hex digits */
	char *node;
};

/* The targets of one node, in the order they run. */
struct capsule_node {
	char *name;
	struct capsule_container **targets;
	size_t n;
	size_t first;        /* index of its first target in the report */
	/* while it runs (lambda_capsule_run.c) */
	pid_t pid;
	int out_fd, err_fd, report_fd;
	char *out_buf, *err_buf, *report_buf;
	size_t out_len, err_len, report_len;
	json_t *results;     /* cntr's --json summary */
	int wait_status;
	bool exited;
};

struct capsule_plan {
	struct capsule_container *targets;  /* sorted by namespace, pod */
	size_t ntargets;
	struct capsule_result *skipped;
	size_t nskipped;
	struct capsule_node *nodes;      /* in the order of their first target */
	size_t nnodes;
};

/* List or get the pods, pick each one's container, group the running ones by node. */
int capsule_plan_make(struct kube_config *cfg, const struct capsule_request *req, struct capsule_plan *plan,
		      struct cntr_err *err);
void capsule_plan_clear(struct capsule_plan *plan);

/* The capsule pod for node in ns (nodeName pinned), created; *name set as soon as it exists. */
int capsule_pod_create(struct kube_config *cfg, const struct capsule_request *req, const char *ns,
		       const char *node, char **name, struct cntr_err *err);
/* Wait until its capsule container runs: *container_id (64 hex). A pull failure or any other
 * reason it will not start is an error naming the node, the image and the kubelet's words. */
int capsule_pod_wait(struct kube_config *cfg, const struct capsule_request *req, const char *ns,
		     const char *name, const char *node, char **container_id, struct cntr_err *err);
int capsule_pod_delete(struct kube_config *cfg, const char *ns, const char *name, struct cntr_err *err);
/* The manifest (exposed for unit tests). New reference. */
json_t *capsule_pod_manifest(const struct capsule_request *req, const char *ns, const char *name,
			     const char *node);
/* Why the capsule pod will not run (malloc'd), or NULL while it still may. */
char *capsule_pod_failure(const json_t *pod);
/* A fresh capsule pod name: CAPSULE_POD_PREFIX and 8 random letters/digits. malloc'd. */
char *capsule_pod_name(void);
/* Its capsule container's ID (runtime prefix stripped, borrowed from pod) once that container
 * runs, else NULL. Not yet validated. */
const char *capsule_pod_running_id(const json_t *pod);

/* Broker mode: the node's run as one request to the broker's nodes/NODE/capsule (exposed for
 * unit tests: .../nodes/NODE/capsule?image=I&target=NS/POD/C...[&policy and sandbox flags]
 * &command=...&stdin=false&stdout=true&stderr=true&tty=false). malloc'd. */
char *capsule_broker_path(const struct capsule_request *req, const struct capsule_node *node);
/* capsule_node_main's broker mode: the same output, exit status and report. */
int capsule_node_via_broker(struct kube_config *cfg, const struct capsule_request *req,
			    const struct capsule_node *node, int report_fd);

/* In a child process: one node's run. stdout/stderr carry cntr's; a failure that kept the
 * capsule from running is written to report_fd. Returns the child's exit status. */
int capsule_node_main(struct kube_config *cfg, const struct capsule_request *req, const struct capsule_node *node,
		      int report_fd);
