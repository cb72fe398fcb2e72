/* One node's capsule run in broker mode (docs/broker.md "Capsules"): one WebSocket to the
 * installed broker's `nodes/NODE/capsule`, which checks `create pods/exec` on each target with the
 * user's identity, makes the capsule pod itself and runs the same `cntr capsule run` in the
 * DaemonSet's agent. Its stdout and stderr are this process's, as in pod mode, so lambda_capsule_run.c
 * reads them the same way; a refusal or a capsule pod that cannot run (the broker's Status, e.g.
 * the kubelet's pull failure) is the node's report. Nothing is created with the user's rights. */
#include "cli/lambda_capsule_internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/lambda_broker.h"
#include "cli/lambda_phase.h"
#include "cli/lambda_signals.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/exec_stream.h"
#include "kube/http.h"

static void append_policy(char **path, const struct capsule_request *req)
{
	char number[24];

	if (req->pull_policy)
		kube_path_append_query(path, "imagePullPolicy", req->pull_policy);
	if (req->iterative)
		kube_path_append_query(path, "iterative", "true");
	else if (req->parallel) {
		snprintf(number, sizeof(number), "%u", req->parallel);
		kube_path_append_query(path, "parallel", number);
	}
	if (req->fail_fast)
		kube_path_append_query(path, "failFast", "true");
	if (req->timeout_s) {
		snprintf(number, sizeof(number), "%llu", (unsigned long long)req->timeout_s);
		kube_path_append_query(path, "timeout", number);
	}
	if (req->profile)
		kube_path_append_query(path, "profile", req->profile);
	if (req->share)
		kube_path_append_query(path, "share", req->share);
	if (req->seccomp_profile)
		kube_path_append_query(path, "seccompProfile", req->seccomp_profile);
}

char *capsule_broker_path(const struct capsule_request *req, const struct capsule_node *node)
{
	_cleanup_free_ char *node_esc = kube_url_escape(node->name);
	char *path = xasprintf("/apis/" LAMBDA_BROKER_GROUP_VERSION "/nodes/%s/capsule", node_esc);
	struct kube_exec_opts eopts;

	kube_path_append_query(&path, "image", req->image);
	for (size_t i = 0; i < node->n; i++)
		kube_path_append_query(&path, "target", node->targets[i]->name);
	append_policy(&path, req);
	kube_exec_opts_init(&eopts);
	eopts.forward_stdin = false;
	kube_exec_query_append(&path, NULL, req->command, &eopts);
	return path;
}

int capsule_node_via_broker(struct kube_config *cfg, const struct capsule_request *req,
			    const struct capsule_node *node, int report_fd)
{
	_cleanup_free_ char *path = capsule_broker_path(req, node);
	struct kube_exec_opts eopts;
	struct cntr_err err = { 0 };
	int status = CNTR_EXIT_FAILURE, rc;

	kube_exec_opts_init(&eopts);
	eopts.forward_stdin = false;
	eopts.interrupt_fd = lambda_signals_fd();
	eopts.refusal_prefix = "";  /* the broker's Status names what was refused or why the pod cannot run */
	lambda_phase("node %s: capsule run of %zu target(s) through the lambda-cntr broker", node->name, node->n);
	log_debug("broker capsule run: %s", path);
	rc = kube_exec_at(cfg, path, &eopts, &status, &err);
	if (rc < 0 && !lambda_signals_caught()) {
		dprintf(report_fd, "node %s: %s", node->name, err.msg);
		return CNTR_EXIT_FAILURE;
	}
	if (rc == KUBE_EXEC_INTERRUPTED || lambda_signals_caught())
		return lambda_signals_exit_code(lambda_signals_caught() ? lambda_signals_caught() : SIGTERM);
	return status;
}
