/* Why a pod is stuck: its latest Warning event. A pod waiting in ContainerCreating says nothing
 * in its status about a failing volume mount or sandbox; the kubelet reports those only as
 * events (FailedMount, FailedCreatePodSandBox...). */
#pragma once
#include <jansson.h>

struct kube_config;

/* "FailedMount: MountVolume.SetUp failed ..." from the newest Warning event about pod ns/name,
 * or NULL when there is none or events cannot be read (a missing permission is not an error
 * here: this only adds detail to another error). malloc'd. */
char *lambda_pod_last_warning(struct kube_config *cfg, const char *ns, const char *name);

/* The same choice among the items of an EventList (unit tests, no I/O). */
char *lambda_last_warning_of(const json_t *event_list);
