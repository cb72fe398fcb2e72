/* Which of the broker's paths a request names. Pure. */
#pragma once

enum broker_route_kind {
	BROKER_ROUTE_NOT_FOUND,
	BROKER_ROUTE_HEALTH,        /* /healthz, /readyz, /livez: no authentication (kubelet probes) */
	BROKER_ROUTE_GROUP,         /* /apis/debug.lambda-cntr.io: APIGroup */
	BROKER_ROUTE_VERSION,       /* /apis/debug.lambda-cntr.io/v1alpha1: APIResourceList */
	BROKER_ROUTE_POD_ATTACH,    /* .../namespaces/NS/pods/POD/attach */
	BROKER_ROUTE_NODE_ATTACH,   /* .../nodes/NODE/attach */
	BROKER_ROUTE_NODE_CAPSULE,  /* .../nodes/NODE/capsule (broker_capsule.h) */
};

struct broker_route {
	enum broker_route_kind kind;
	char *ns;   /* POD_ATTACH */
	char *name; /* the pod or the node */
};

/* NOT_FOUND also for names that are not valid object names (never looked up). */
void broker_route_parse(const char *path, struct broker_route *r);
void broker_route_free(struct broker_route *r);

/* The discovery documents (JSON text, static). */
extern const char broker_api_group_json[];
extern const char broker_api_resources_json[];
