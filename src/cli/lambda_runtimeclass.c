/* Which pods cntr cannot enter (lambda_runtimeclass.h): the handler table and its lookups. */
#include "cli/lambda_runtimeclass.h"
#include "cli/lambda_ids.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/lambda_agent.h"
#include "cli/lambda_opts.h"

#include "cli/lambda_json.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/exec_stream.h"
#include "kube/rest.h"
#include "kube/safe_text.h"

/* RuntimeClass handlers as clusters name them (the containerd/CRI-O runtime names): Kata's
 * "kata", "kata-qemu", "kata-fc", "kata-clh"...; Firecracker-based "firecracker", "fc",
 * "aws-firecracker"; "cloud-hypervisor"/"clh"; plain QEMU micro-VMs; gVisor "runsc", "gvisor"
 * (GKE Sandbox). First match wins; patterns are fnmatch globs on the lower-cased handler. */
static const struct {
	const char *pattern;
	enum lambda_isolation kind;
	const char *runtime;
} handler_table[] = {
	{ "kata*", LAMBDA_ISOLATION_VM, "Kata Containers" },
	{ "*-kata", LAMBDA_ISOLATION_VM, "Kata Containers" },
	{ "*firecracker*", LAMBDA_ISOLATION_VM, "Firecracker" },
	{ "fc", LAMBDA_ISOLATION_VM, "Firecracker" },
	{ "fc-*", LAMBDA_ISOLATION_VM, "Firecracker" },
	{ "*-fc", LAMBDA_ISOLATION_VM, "Firecracker" },
	{ "*cloud-hypervisor*", LAMBDA_ISOLATION_VM, "Cloud Hypervisor" },
	{ "clh", LAMBDA_ISOLATION_VM, "Cloud Hypervisor" },
	{ "*-clh", LAMBDA_ISOLATION_VM, "Cloud Hypervisor" },
	{ "*qemu*", LAMBDA_ISOLATION_VM, "QEMU" },
	{ "*crosvm*", LAMBDA_ISOLATION_VM, "crosvm" },
	{ "*stratovirt*", LAMBDA_ISOLATION_VM, "StratoVirt" },
	{ "runsc*", LAMBDA_ISOLATION_GVISOR, "gVisor" },
	{ "*gvisor*", LAMBDA_ISOLATION_GVISOR, "gVisor" },
};

enum lambda_isolation lambda_isolation_of_handler(const char *handler, const char **runtime)
{
	_cleanup_free_ char *lower = xstrdup(handler ? handler : "");

	for (char *c = lower; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (size_t i = 0; *lower && i < sizeof(handler_table) / sizeof(handler_table[0]); i++) {
		if (fnmatch(handler_table[i].pattern, lower, 0) == 0) {
			if (runtime)
				*runtime = handler_table[i].runtime;
			return handler_table[i].kind;
		}
	}
	if (runtime)
		*runtime = NULL;
	return LAMBDA_ISOLATION_NAMESPACED;
}

int lambda_isolation_classify(struct kube_config *cfg, const json_t *pod, struct lambda_isolation_info *info,
			      struct cntr_err *err)
{
	const char *rc = json_str(json_object_get(pod, "spec"), "runtimeClassName");
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = NULL;

	memset(info, 0, sizeof(*info));
	if (!*rc)
		return 0;
	info->runtime_class = xstrdup(rc);
	if (!lambda_object_name_is_valid(rc))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "the pod's runtimeClassName is not a valid name");
	path = xasprintf("/apis/node.k8s.io/v1/runtimeclasses/%s", rc);
	if (kube_get(cfg, path, &resp, err) < 0) {
		if (resp.http_status != 403 && resp.http_status != 404)
			return cntr_err_prefix(err, "reading RuntimeClass %s: ", rc);
		log_info("cannot read RuntimeClass %s (%s); the node will tell whether cntr can enter the pod",
			 rc, err->msg);
		cntr_err_clear(err);
		info->unknown = 1;
		return 0;
	}
	info->handler = xstrdup(json_str(resp.body, "handler"));
	info->kind = lambda_isolation_of_handler(info->handler, &info->runtime);
	log_debug("RuntimeClass %s: handler %s (%s)", rc, info->handler,
		  info->kind == LAMBDA_ISOLATION_NAMESPACED ? "namespaced" : info->runtime);
	return 0;
}

char *lambda_isolation_message(const char *ns, const char *pod, const struct lambda_isolation_info *info)
{
	_cleanup_free_ char *rc = kube_safe_text(info->runtime_class ? info->runtime_class : "");
	_cleanup_free_ char *handler = kube_safe_text(info->handler ? info->handler : "");
	_cleanup_free_ char *how = NULL;

	if (info->handler)
		how = xasprintf(" (RuntimeClass %s, handler %s)", rc, handler);
	else if (info->runtime_class)
		how = xasprintf(" (RuntimeClass %s, as its node reports)", rc);
	else
		how = xstrdup(" (as its node reports)");
	if (info->kind == LAMBDA_ISOLATION_GVISOR)
		return xasprintf("pod %s/%s runs under gVisor's user-space kernel%s: its containers have no "
				 "namespaces on the node that cntr could enter", ns, pod, how);
	return xasprintf("pod %s/%s runs inside a %s VM%s: its containers have no namespaces on the node that "
			 "cntr could enter", ns, pod, info->runtime ? info->runtime : "", how);
}

int lambda_isolation_from_cntr(const char *text, struct lambda_isolation_info *info)
{
	static const char end[] = ": the container runs inside it";
	const char *start = text ? strstr(text, "target pid ") : NULL;
	const char *is = start ? strstr(start, " is ") : NULL;
	const char *stop = is ? strstr(is, end) : NULL;
	_cleanup_free_ char *what = NULL;

	if (!stop)
		return 0;
	what = xstrndup(is + 4, (size_t)(stop - is - 4));
	if (strstr(what, "gVisor")) {
		info->kind = LAMBDA_ISOLATION_GVISOR;
		info->runtime = "gVisor";
		return 1;
	}
	info->kind = LAMBDA_ISOLATION_VM;
	info->runtime = strstr(what, "Kata") ? "Kata Containers" : strstr(what, "Firecracker") ? "Firecracker"
		      : strstr(what, "Cloud Hypervisor") ? "Cloud Hypervisor" : strstr(what, "QEMU") ? "QEMU"
		      : strstr(what, "crosvm") ? "crosvm" : "";
	return 1;
}

void lambda_isolation_clear(struct lambda_isolation_info *info)
{
	free(info->runtime_class);
	free(info->handler);
	memset(info, 0, sizeof(*info));
}

static bool ask_for_fallback(void)
{
	char answer[16] = { 0 };

	fprintf(stderr, "Debug it from an ephemeral container instead (no cntr features, see --help)? [y/N] ");
	fflush(stderr);
	if (!fgets(answer, sizeof(answer), stdin))
		return false;
	return answer[0] == 'y' || answer[0] == 'Y';
}

int lambda_isolation_gate(const struct lambda_opts *opts, const char *ns, const char *pod,
			  const struct lambda_isolation_info *info, struct cntr_err *err)
{
	_cleanup_free_ char *line = NULL;

	if (info->kind == LAMBDA_ISOLATION_NAMESPACED)
		return 0;
	line = lambda_isolation_message(ns, pod, info);
	fprintf(stderr, "%s: %s\n", opts->program, line);
	if (opts->fallback == LAMBDA_FALLBACK_EPHEMERAL)
		return 1;
	if (opts->fallback == LAMBDA_FALLBACK_ASK && isatty(STDIN_FILENO) && isatty(STDERR_FILENO) &&
	    ask_for_fallback())
		return 1;
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "not attaching to pod %s/%s; `--fallback ephemeral` debugs it from an ephemeral container "
			 "(kubectl debug --target semantics)", ns, pod);
}

/* cntr's refusal is one line; more than this is not it. */
#define PROBE_OUTPUT_MAX (64u << 10)

int lambda_isolation_probe(struct kube_config *cfg, const struct lambda_agent *agent, char *const argv[],
			   struct lambda_isolation_info *info)
{
	_cleanup_close_ int out = memfd_create("lambda-cntr-probe-out", MFD_CLOEXEC);
	_cleanup_close_ int errout = memfd_create("lambda-cntr-probe-err", MFD_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	struct kube_exec_opts eopts;
	struct cntr_err err = { 0 };
	size_t len = 0;
	int status = 0;

	if (out < 0 || errout < 0)
		return 0;
	kube_exec_opts_init(&eopts);
	eopts.forward_stdin = false;
	eopts.out_fd = out;
	eopts.err_fd = errout;
	eopts.output_max = PROBE_OUTPUT_MAX;
	if (kube_exec(cfg, agent->namespace, agent->name, LAMBDA_AGENT_CONTAINER, argv, &eopts, &status, &err) !=
	    KUBE_EXEC_DONE) {
		log_info("probing the target through agent %s: %s", agent->name, err.msg);
		return 0;
	}
	if (status != CNTR_EXIT_FAILURE || lseek(errout, 0, SEEK_SET) < 0 || read_fd_all(errout, &text, &len) < 0)
		return 0;
	return lambda_isolation_from_cntr(text, info);
}
