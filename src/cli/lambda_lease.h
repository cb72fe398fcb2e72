/* Leader election on a coordination.k8s.io/v1 Lease, as Kubernetes controllers do it: one
 * holder at a time renews the Lease; the others watch it and take it over once it has not
 * changed for its leaseDurationSeconds. "Has not changed" is measured on our own monotonic
 * clock from when we last saw the record change (never by comparing the holder's renewTime
 * with our wall clock), so clock skew between machines cannot make two leaders. Every write
 * carries the resourceVersion read, so two candidates racing for it get one 409 between them.
 * Used by the caplet (lambda_caplet.c) so that several replicas run each Capsule once. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct cntr_err;
struct kube_config;

struct lambda_lease {
	char *ns, *name;
	char *identity;          /* holderIdentity: "<hostname>_<random>" */
	unsigned duration_s;     /* leaseDurationSeconds we write */
	char *observed;          /* the record (holder, renew time, transitions) as last seen */
	uint64_t observed_at_ms; /* kube_now_ms() when it last changed */
	unsigned observed_duration_s;
	bool leading;
};

/* A candidate for Lease ns/name. */
void lambda_lease_init(struct lambda_lease *l, const char *ns, const char *name, unsigned duration_s);

/* One round: create the Lease, renew it (we hold it), or take it over (it expired), else
 * follow. Returns 1 when we lead after this round, 0 when another does, -1 on an API error
 * (err set; we then do not lead: a leader that cannot renew must stop acting). */
int lambda_lease_step(struct kube_config *cfg, struct lambda_lease *l, struct cntr_err *err);

/* Leaving: when we lead, empty the holder so that a successor takes over at once. */
void lambda_lease_release(struct kube_config *cfg, struct lambda_lease *l);

void lambda_lease_clear(struct lambda_lease *l);
