/* The broker's serving certificate when none is given: a CA and a serving certificate for
 * lambda-cntr-broker.lambda-cntr-system.svc, made once and shared by every replica through a
 * Secret (broker_serving_secret.c); the CA is written into the APIService's spec.caBundle so the
 * API server trusts it. */
#pragma once
#include "broker/broker_server.h"

struct cntr_err;

#define BROKER_APISERVICE "v1alpha1.debug.lambda-cntr.io"
#define BROKER_SERVICE_NAME "lambda-cntr-broker"

/* tls gets the serving cert + key (PEM); *ca_pem the CA certificate. */
int broker_cert_generate(const char *ns, struct broker_tls_files *tls, char **ca_pem, struct cntr_err *err);

/* A certificate that expires sooner than this is replaced at start rather than served: a broker
 * that runs for weeks must not be left holding one the API server stops trusting. */
#define BROKER_CERT_MIN_DAYS 30

/* Whether tls (serving cert + key, PEM) and ca_pem can serve the broker of namespace ns: every
 * part parses, the key is the certificate's, the CA signed it, it is valid now and for
 * BROKER_CERT_MIN_DAYS more, and it names lambda-cntr-broker.NS.svc (what the API server checks).
 * -1 with the reason in err when not. */
int broker_cert_check(const char *ns, const struct broker_tls_files *tls, const char *ca_pem, struct cntr_err *err);

/* The ca.crt of a replacement: new_ca, then the first certificate of previous_ca when it is a
 * certificate that has not expired, so that the replicas still serving the previous certificate
 * stay trusted until they restart. previous_ca may be NULL. malloc'd. */
char *broker_cert_ca_bundle(const char *new_ca, const char *previous_ca);

/* PATCH the APIService's spec.caBundle (merge patch). */
int broker_cert_publish(struct broker *b, const char *ca_pem, struct cntr_err *err);
