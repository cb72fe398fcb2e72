/* The Status bodies the broker answers with before any upgrade, worded as kube-apiserver words
 * them so kubectl and lambda-cntr print them as they print the API server's own. */
#pragma once
#include <jansson.h>

/* {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":M,
 *  "reason":R,"code":C[,"details":D]}; details may be NULL (the reference is stolen). */
json_t *broker_status(int code, const char *reason, const char *message, json_t *details);

/* broker_status with the code's reason (broker_status_reason) and a printf-style message. */
json_t *broker_status_fmt(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 401 Unauthorized, message "Unauthorized" (what the API server says; the why goes to the log). */
json_t *broker_status_unauthorized(void);

/* 403 for a refused SubjectAccessReview, in the API server's words:
 * `pods "P" is forbidden: User "U" cannot create resource "pods/exec" in API group "" in the
 * namespace "NS"` (details {name, kind:"pods"}), or for nodes
 * `nodes "N" is forbidden: User "U" cannot create resource "nodes/attach" in API group
 * "debug.lambda-cntr.io" at the cluster scope` (details {name, group, kind:"nodes"}). A reason
 * from the authorizer, when given, is appended after ": " as the API server does. */
json_t *broker_status_forbidden_pod(const char *user, const char *ns, const char *pod, const char *why);
json_t *broker_status_forbidden_node(const char *user, const char *node, const char *why);

/* The HTTP reason phrase's Status reason for a code: 400 BadRequest, 401 Unauthorized,
 * 403 Forbidden, 404 NotFound, 405 MethodNotAllowed, 500 InternalError, 503 ServiceUnavailable. */
const char *broker_status_reason(int code);
