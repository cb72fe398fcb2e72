/* The broker's serving certificate when none is given: a CA and a serving certificate for
 * lambda-cntr-broker.lambda-cntr-system.svc made at start (in memory only; a restart makes new
 * ones), the CA then written into the APIService's spec.caBundle so the API server trusts it. */
#pragma once
#include "broker/broker_server.h"

struct cntr_err;

#define BROKER_APISERVICE "v1alpha1.debug.lambda-cntr.io"
#define BROKER_SERVICE_NAME "lambda-cntr-broker"

/* tls gets the serving cert + key (PEM); *ca_pem the CA certificate. */
int broker_cert_generate(const char *ns, struct broker_tls_files *tls, char **ca_pem, struct cntr_err *err);

/* PATCH the APIService's spec.caBundle (merge patch). */
int broker_cert_publish(struct broker *b, const char *ca_pem, struct cntr_err *err);
