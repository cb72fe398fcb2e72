/* Kubernetes `Status` objects (the body of API errors, watch ERROR events, exec channel 3)
 * turned into one-line messages. */
#pragma once
#include <jansson.h>
#include <stddef.h>

/* A one-line message for a failed response: the Status `message` when the body is a Status
 * (`pods "web" is forbidden: User "x" cannot create resource "pods" ...`), else the first
 * line of the body, else "HTTP <code>"; server text goes through kube_safe_text (one line, no
 * control characters). malloc'd. */
char *kube_status_message(long http_status, const char *body, size_t len);

/* Same from an already parsed object (NULL allowed). */
char *kube_status_message_json(long http_status, const json_t *status);

/* `reason` of a Status ("NotFound", "Forbidden", "AlreadyExists", "Expired"...), or NULL.
 * Borrowed from the object. */
const char *kube_status_reason(const json_t *status);

/* `code` of a Status, 0 when absent. */
long kube_status_code(const json_t *status);
