/* The certificate the broker presents to the API server, replaceable while it serves: the TLS
 * layer asks for it at every handshake (MHD_OPTION_HTTPS_CERT_CALLBACK), so a renewed serving
 * certificate (broker_renewal.c) is used by the next connection without a restart. Connections
 * already open keep the one they started with. */
#pragma once
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdbool.h>

struct cntr_err;

/* Serve cert_pem (the certificate, PEM) with key_pem from the next handshake on. Earlier
 * identities stay allocated until broker_serving_identity_release_all: a handshake in another
 * thread may still hold them. */
int broker_serving_identity_set(const char *cert_pem, const char *key_pem, struct cntr_err *err);

/* Is cert_pem what is served now? */
bool broker_serving_identity_is(const char *cert_pem);

/* For MHD_OPTION_HTTPS_CERT_CALLBACK (a gnutls_certificate_retrieve_function2). */
int broker_serving_identity_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
				     const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
				     unsigned int *pcert_length, gnutls_privkey_t *pkey);

/* At exit, once the server is stopped. */
void broker_serving_identity_release_all(void);
