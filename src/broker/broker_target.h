/* The target of a pod session, from the pod object: its node, the container (the one asked for,
 * else the pod's only one or its kubectl.kubernetes.io/default-container annotation) and that
 * container's ID for `cntr attach -t id`. Pure. */
#pragma once
#include <jansson.h>

struct cntr_err;

struct broker_target {
	char *node;
	char *container;
	char *container_id; /* 64 hex digits, runtime prefix stripped, validated */
};

/* 0, or -1 with *http_code (400: no such container, ambiguous, not running, no node; 500: an
 * ID that is not a container ID) and err->msg the message for the Status. */
int broker_target_from_pod(const json_t *pod, const char *container, struct broker_target *t, int *http_code,
			   struct cntr_err *err);
void broker_target_free(struct broker_target *t);
