#include "cli/lambda_broker.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/lambda_cntr_argv.h"
#include "cli/lambda_opts.h"
#include "cli/lambda_phase.h"
#include "cli/lambda_signals.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/http.h"
#include "kube/kubeconfig.h"
#include "kube/rest.h"

#define DISCOVERY_PATH "/apis/" LAMBDA_BROKER_GROUP_VERSION

static const char *target_resource(enum lambda_broker_target target)
{
	static const char *const resources[] = { [LAMBDA_BROKER_POD] = "pods/attach",
						  [LAMBDA_BROKER_NODE] = "nodes/attach",
						  [LAMBDA_BROKER_CAPSULE] = "nodes/capsule" };

	return resources[target];
}

char *lambda_broker_path(const struct lambda_broker_request *req, const struct kube_exec_opts *eopts)
{
	_cleanup_free_ char *name_esc = kube_url_escape(req->name);
	_cleanup_free_ char *ns_esc = NULL;
	const char *container = req->container;
	char *path;

	if (req->target == LAMBDA_BROKER_NODE) {
		path = xasprintf(DISCOVERY_PATH "/nodes/%s/attach", name_esc);
		container = NULL;  /* a node has no containers to choose from */
	} else {
		ns_esc = kube_url_escape(req->namespace);
		path = xasprintf(DISCOVERY_PATH "/namespaces/%s/pods/%s/attach", ns_esc, name_esc);
	}
	kube_exec_query_append(&path, container, req->command, eopts);
	if (req->profile)
		kube_path_append_query(&path, "profile", req->profile);
	/* The broker puts it on the agent's command line: anything but a terminfo name stays here. */
	if (eopts->tty && lambda_term_is_plain(req->term))
		kube_path_append_query(&path, "term", req->term);
	return path;
}

/* Does the broker's resource list name what we want to attach to? */
static bool lists_resource(const json_t *list, const char *resource)
{
	const json_t *r;
	size_t i;

	json_array_foreach(json_object_get(list, "resources"), i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		if (name && strcmp(name, resource) == 0)
			return true;
	}
	return false;
}

static int discovered_mode(struct kube_config *cfg, enum lambda_broker_target target, bool *use_broker,
			   struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	struct cntr_err get_err = { 0 };
	const char *resource = target_resource(target);

	if (kube_get(cfg, DISCOVERY_PATH, &resp, &get_err) == 0) {
		if (!lists_resource(resp.body, resource))
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
					 "the API server serves %s but not %s: the installed lambda-cntr broker "
					 "is of another version; update it, or use --mode pod",
					 LAMBDA_BROKER_GROUP_VERSION, resource);
		log_info("mode: broker (the API server serves %s %s)", LAMBDA_BROKER_GROUP_VERSION, resource);
		*use_broker = true;
		return 0;
	}
	if (resp.http_status == 404) {
		log_info("mode: pod (the API server does not serve %s: lambda-cntr is not installed in the "
			 "cluster)", LAMBDA_BROKER_GROUP_VERSION);
		*use_broker = false;
		return 0;
	}
	if (resp.http_status == 503)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "the lambda-cntr broker (APIService %s) is registered but unavailable (%s); "
				 "check the broker in namespace lambda-cntr-system, or use --mode pod",
				 LAMBDA_BROKER_APISERVICE, get_err.msg);
	return cntr_fail(err, get_err.code ? get_err.code : CNTR_EXIT_FAILURE, 0,
			 "discovering the lambda-cntr broker (GET %s): %s; use --mode pod or --mode broker to "
			 "skip discovery", DISCOVERY_PATH, get_err.msg);
}

int lambda_broker_choose(struct kube_config *cfg, const struct lambda_opts *opts,
			 enum lambda_broker_target target, bool *use_broker, struct cntr_err *err)
{
	switch (opts->api_mode) {
	case LAMBDA_API_POD:
		log_info("mode: pod (--mode pod)");
		*use_broker = false;
		return 0;
	case LAMBDA_API_BROKER:
		log_info("mode: broker (--mode broker)");
		*use_broker = true;
		return 0;
	case LAMBDA_API_AUTO:
		break;
	}
	return discovered_mode(cfg, target, use_broker, err);
}

int lambda_broker_session(struct kube_config *cfg, const struct lambda_opts *opts,
			  enum lambda_broker_target target, const char *namespace, const char *name,
			  int *status, struct cntr_err *err)
{
	bool tty = opts->mode == LAMBDA_ATTACH && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	struct lambda_broker_request req;
	struct kube_exec_opts eopts;
	_cleanup_free_ char *path = NULL;

	kube_exec_opts_init(&eopts);
	eopts.tty = tty;
	eopts.forward_stdin = true;
	eopts.interrupt_fd = lambda_signals_fd();
	eopts.refusal_prefix = "";  /* the broker's Status says who may not do what */
	req = (struct lambda_broker_request){ .target = target, .namespace = namespace, .name = name,
					      .container = opts->container, .profile = opts->profile,
					      .term = getenv("TERM"), .command = opts->command };
	path = lambda_broker_path(&req, &eopts);
	if (target == LAMBDA_BROKER_NODE)
		lambda_phase("attaching to node %s through the lambda-cntr broker", name);
	else
		lambda_phase("attaching to %s/%s%s%s through the lambda-cntr broker", namespace, name,
			     opts->container ? " container " : "", opts->container ? opts->container : "");
	log_debug("broker session: %s", path);
	return kube_exec_at(cfg, path, &eopts, status, err);
}
