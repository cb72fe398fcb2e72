/* The Capsule custom resource (deploy/capsule-crd.yaml) and its controller, `lambda-cntr
 * caplet` (docs/capsules.md "Periodic capsules"): lambda_caplet.c schedules, lambda_caplet_run.c
 * runs one Capsule once through the engine (lambda_capsule.h) and records the run in its status
 * and as an Event; lambda_capsule_show.c reads them back (`lambda-cntr capsule get/logs`). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct kube_config;
struct cntr_err;

#define CAPSULE_GROUP_VERSION "lambda-cntr.io/v1alpha1"
#define CAPSULE_KIND "Capsule"
#define CAPLET_COMPONENT "lambda-cntr-caplet"
#define CAPLET_TAIL_LINES 20
#define CAPLET_TAIL_BYTES 2048
#define CAPLET_DEFAULT_HISTORY 3

/* What the caplet gives every run (its flags). */
struct caplet_defaults {
	bool via_broker;              /* each run through the installed broker (--mode) */
	/* Where the caplet itself runs (its Lease): only a Capsule there may name other namespaces
	 * in spec.namespaces. Anyone who may create a Capsule elsewhere reaches its own only. */
	const char *home_namespace;
	const char *agent_image;
	const char *agent_namespace;  /* NULL: the Capsule's namespace */
	uint64_t agent_timeout_s;
	uint64_t idle_timeout_s;
};

/* /apis/lambda-cntr.io/v1alpha1/namespaces/NS/capsules[/NAME[/SUB]] (ns NULL: all). malloc'd. */
char *caplet_capsule_path(const char *ns, const char *name, const char *sub);

/* Now (or t) as RFC 3339 UTC. buf of at least 32. */
const char *caplet_time_text(time_t t, char *buf);

/* Run capsule (a Capsule object) once for scheduled, record it; in a child process. Returns
 * the exit status for the child. */
int caplet_run_one(struct kube_config *cfg, const json_t *capsule, time_t scheduled, const struct caplet_defaults *d);

/* POST a core/v1 Event about capsule (type Normal or Warning). Errors are logged only. */
void caplet_event(struct kube_config *cfg, const json_t *capsule, const char *type, const char *reason,
		  const char *message);

/* The label selector text of a metav1.LabelSelector (matchLabels, matchExpressions), or NULL
 * (with err) when it is not one. malloc'd. */
char *caplet_selector_text(const json_t *selector, struct cntr_err *err);

/* `lambda-cntr caplet ...` and `lambda-cntr capsule get|logs ...`: argv[0] is the word. */
int lambda_caplet_main(const char *program, int argc, char **argv);
int lambda_capsule_show_main(const char *program, int argc, char **argv);
