/* The serving certificate every broker replica shares (docs/broker.md, "Several replicas"): one
 * Secret in the broker's namespace holds it, so all replicas serve a certificate the APIService's
 * caBundle vouches for. The first replica to start makes it; the others take it. */
#pragma once
#include "broker/broker.h"
#include "broker/broker_server.h"

struct cntr_err;

#define BROKER_SERVING_SECRET "lambda-cntr-broker-serving"

/* Read NS/BROKER_SERVING_SECRET and take what it holds when broker_cert_check accepts it;
 * otherwise make a new certificate and create the Secret (none yet) or replace it (unusable, with
 * the resourceVersion read as a precondition). A replica that loses either race reads the
 * winner's Secret and takes that one. tls and *ca_pem get the certificate to serve and the CA to
 * publish (the caller owns them). */
int broker_serving_secret_obtain(struct broker *b, struct broker_tls_files *tls, char **ca_pem, struct cntr_err *err);
