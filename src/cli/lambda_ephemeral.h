/* The fallback for pods cntr cannot enter (VM-isolated, gVisor: lambda_runtimeclass.h): an
 * ephemeral container with the agent image that targets the container (`kubectl debug --target`
 * semantics), added with a strategic merge patch of pods/NAME/ephemeralcontainers, waited for
 * with a WATCH (failing fast with ErrImagePull and the like), attached over pods/NAME/attach with
 * the exec channel protocol (kube/exec_stream.h), and its exit code read from its status
 * afterwards: the kubelet's attach stream reports only Success. Like kubectl debug, a container
 * that ended before the attach (or whose attach failed) has its log printed instead. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

struct kube_config;
struct lambda_opts;
struct lambda_target;
struct cntr_err;

/* The one line saying what this mode cannot provide compared with a cntr session. Static. */
extern const char lambda_ephemeral_notice[];

struct lambda_ephemeral_spec {
	const char *name;             /* lambda-cntr-<5 random> */
	const char *target_container; /* targetContainerName */
	const char *image;
	const char *pull_policy;      /* NULL: the API's default */
	char *const *command;         /* NULL: the shell */
	bool tty;
};

/* "lambda-cntr-" and 5 characters of Kubernetes' generateName alphabet. malloc'd. */
char *lambda_ephemeral_name(void);

/* The EphemeralContainer object: stdin and stdinOnce (the command's stdin ends with our session),
 * tty when asked, targetContainerName. New reference. */
json_t *lambda_ephemeral_container(const struct lambda_ephemeral_spec *spec);

/* The body kubectl debug sends (application/strategic-merge-patch+json): {"spec":
 * {"ephemeralContainers": [the pod's existing ones..., container]}}. New reference. */
json_t *lambda_ephemeral_patch(const json_t *pod, const json_t *container);

/* status.ephemeralContainerStatuses[name].state of pod, or NULL. Borrowed. */
const json_t *lambda_ephemeral_state(const json_t *pod, const char *name);

/* Why the ephemeral container cannot start (ErrImagePull + message...), or NULL while it still
 * may. malloc'd. */
char *lambda_ephemeral_failure(const json_t *pod, const char *name);

/* Its exit code once terminated: 1 with *code set (a StartError whose command was not found is
 * 127, not executable 126), 0 while it has not ended. */
int lambda_ephemeral_exit_code(const json_t *pod, const char *name, int *code);

/* The whole fallback session against target (pod: the object as read). Returns 0 with *status
 * the command's exit code, 1 when interrupted (SIGINT/SIGTERM), -1 with err (125). */
int lambda_ephemeral_run(struct kube_config *cfg, const struct lambda_opts *opts, const struct lambda_target *target,
			 const json_t *pod, int *status, struct cntr_err *err);
