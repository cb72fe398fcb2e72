/* The served certificate, swappable (broker_serving_identity.h). */
#include "broker/broker_serving_identity.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/strutil.h"

/* One certificate and key as GnuTLS serves them. A list, newest first; never shortened while
 * serving (a handshake may be using any of them). */
#define MAX_CHAIN 8

struct identity {
	gnutls_pcert_st pcerts[MAX_CHAIN]; /* the certificate, then its chain when the PEM has one */
	unsigned n;
	gnutls_privkey_t key;
	char *cert_pem;
	struct identity *older;
};

static pthread_mutex_t identity_lock = PTHREAD_MUTEX_INITIALIZER;
static struct identity *current;

static void identity_free(struct identity *id)
{
	for (unsigned i = 0; i < id->n; i++)
		gnutls_pcert_deinit(&id->pcerts[i]);
	gnutls_privkey_deinit(id->key);
	free(id->cert_pem);
	free(id);
}

static int load(struct identity *id, const char *cert_pem, const char *key_pem, struct cntr_err *err)
{
	gnutls_datum_t cert = { (unsigned char *)cert_pem, (unsigned)strlen(cert_pem) };
	gnutls_datum_t key = { (unsigned char *)key_pem, (unsigned)strlen(key_pem) };
	int r;

	id->n = MAX_CHAIN;
	r = gnutls_pcert_list_import_x509_raw(id->pcerts, &id->n, &cert, GNUTLS_X509_FMT_PEM,
					      GNUTLS_X509_CRT_LIST_IMPORT_FAIL_IF_EXCEED);
	if (r < 0) {
		id->n = 0;
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "serving certificate: %s", gnutls_strerror(r));
	}
	if ((r = gnutls_privkey_init(&id->key)) < 0 ||
	    (r = gnutls_privkey_import_x509_raw(id->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		for (unsigned i = 0; i < id->n; i++)
			gnutls_pcert_deinit(&id->pcerts[i]);
		if (id->key)
			gnutls_privkey_deinit(id->key);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "serving key: %s", gnutls_strerror(r));
	}
	return 0;
}

int broker_serving_identity_set(const char *cert_pem, const char *key_pem, struct cntr_err *err)
{
	struct identity *id = calloc(1, sizeof(*id));

	if (!id)
		abort();
	if (load(id, cert_pem, key_pem, err) < 0) {
		free(id);
		return -1;
	}
	id->cert_pem = xstrdup(cert_pem);
	pthread_mutex_lock(&identity_lock);
	id->older = current;
	current = id;
	pthread_mutex_unlock(&identity_lock);
	return 0;
}

bool broker_serving_identity_is(const char *cert_pem)
{
	bool same;

	pthread_mutex_lock(&identity_lock);
	same = current && cert_pem && strcmp(current->cert_pem, cert_pem) == 0;
	pthread_mutex_unlock(&identity_lock);
	return same;
}

int broker_serving_identity_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
				     const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
				     unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
	(void)session, (void)req_ca_dn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;
	pthread_mutex_lock(&identity_lock);
	if (!current) {
		pthread_mutex_unlock(&identity_lock);
		return -1;
	}
	*pcert = current->pcerts;
	*pcert_length = current->n;
	*pkey = current->key;
	pthread_mutex_unlock(&identity_lock);
	return 0;
}

void broker_serving_identity_release_all(void)
{
	pthread_mutex_lock(&identity_lock);
	while (current) {
		struct identity *older = current->older;
		identity_free(current);
		current = older;
	}
	pthread_mutex_unlock(&identity_lock);
}
