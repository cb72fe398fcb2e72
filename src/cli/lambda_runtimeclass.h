/* Pods cntr cannot enter: a RuntimeClass whose handler runs the pod in a VM (Kata Containers,
 * Firecracker, Cloud Hypervisor, QEMU...) or under a user-space kernel (gVisor) leaves no
 * namespaces of the container on the node. Found before anything is created, from the pod's
 * spec.runtimeClassName and the RuntimeClass's handler (node.k8s.io/v1); when RuntimeClasses
 * cannot be read (403/404), cntr on the node refuses such a target with 125 naming the runtime
 * and lambda_isolation_from_cntr turns that into the same message. */
#pragma once
#include <jansson.h>

struct kube_config;
struct cntr_err;

enum lambda_isolation { LAMBDA_ISOLATION_NAMESPACED = 0, LAMBDA_ISOLATION_VM, LAMBDA_ISOLATION_GVISOR };

struct lambda_isolation_info {
	enum lambda_isolation kind;
	const char *runtime;   /* "Kata Containers", "gVisor"... (static); NULL when namespaced */
	char *runtime_class;   /* spec.runtimeClassName, NULL when none */
	char *handler;         /* the RuntimeClass's handler, NULL when unknown */
	int unknown;           /* a RuntimeClass is named but could not be read (403/404) */
};

/* The handler table: kind and runtime of a RuntimeClass handler ("kata-qemu", "runsc"...),
 * case-insensitive glob patterns; anything else (runc, crun, nvidia, "") is namespaced. */
enum lambda_isolation lambda_isolation_of_handler(const char *handler, const char **runtime);

/* Classify pod (a fetched Pod object): GET its RuntimeClass when it names one. A 403 or 404 is
 * no error: info->unknown is set and the node's view decides later. Other API errors fail. */
int lambda_isolation_classify(struct kube_config *cfg, const json_t *pod, struct lambda_isolation_info *info,
			      struct cntr_err *err);

/* The one line saying why cntr cannot enter the pod. malloc'd. */
char *lambda_isolation_message(const char *ns, const char *pod, const struct lambda_isolation_info *info);

/* cntr's own refusal (exit 125, "... is <runtime>: ...") as seen in its stderr: fills info and
 * returns 1 when text is one, else 0. */
int lambda_isolation_from_cntr(const char *text, struct lambda_isolation_info *info);

void lambda_isolation_clear(struct lambda_isolation_info *info);

struct lambda_opts;
struct lambda_agent;

/* After classification: 0 = cntr can enter (or the node will tell), 1 = use the ephemeral
 * container fallback (--fallback ephemeral, or "y" at the prompt on a terminal). A VM/gVisor
 * pod prints its one line first; refused, it fails with 125 and a hint. */
int lambda_isolation_gate(const struct lambda_opts *opts, const char *ns, const char *pod,
			  const struct lambda_isolation_info *info, struct cntr_err *err);

/* When the RuntimeClass could not be read: run `cntr attach ... -- true` (argv) in the agent
 * with its stderr captured. 1 when cntr refused the target as a VM/sandbox (info filled), 0
 * otherwise (the probe's own failures are logged, the session goes on). */
int lambda_isolation_probe(struct kube_config *cfg, const struct lambda_agent *agent, char *const argv[],
			   struct lambda_isolation_info *info);
