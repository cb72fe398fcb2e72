#include "broker/broker_cert.h"

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"
#include "kube/base64.h"

#define CERT_DAYS 365

static int gfail(struct cntr_err *err, const char *what, int r)
{
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "serving certificate: %s: %s", what, gnutls_strerror(r));
}

static int new_key(gnutls_x509_privkey_t *key, struct cntr_err *err)
{
	int r = gnutls_x509_privkey_init(key);

	if (r >= 0)
		r = gnutls_x509_privkey_generate(*key, GNUTLS_PK_ECDSA,
						 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	return r < 0 ? gfail(err, "key generation", r) : 0;
}

/* Common fields: version 3, random serial, valid from a minute ago for CERT_DAYS, CN. */
static int base_cert(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *cn, struct cntr_err *err)
{
	unsigned char serial[16];
	time_t now = time(NULL);
	int r;

	if ((r = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
		return gfail(err, "random serial", r);
	serial[0] &= 0x7f; /* positive */
	if ((r = gnutls_x509_crt_set_version(crt, 3)) < 0 || (r = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (r = gnutls_x509_crt_set_activation_time(crt, now - 60)) < 0 ||
	    (r = gnutls_x509_crt_set_expiration_time(crt, now + CERT_DAYS * 86400)) < 0 ||
	    (r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, (unsigned)strlen(cn))) < 0 ||
	    (r = gnutls_x509_crt_set_key(crt, key)) < 0)
		return gfail(err, "certificate fields", r);
	return 0;
}

static char *export_crt(gnutls_x509_crt_t crt)
{
	gnutls_datum_t d = { 0 };
	char *s;

	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d) < 0)
		return NULL;
	s = xstrndup((const char *)d.data, d.size);
	gnutls_free(d.data);
	return s;
}

static char *export_key(gnutls_x509_privkey_t key)
{
	gnutls_datum_t d = { 0 };
	char *s;

	if (gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d) < 0)
		return NULL;
	s = xstrndup((const char *)d.data, d.size);
	gnutls_free(d.data);
	return s;
}

static int make_certs(const char *ns, gnutls_x509_crt_t ca, gnutls_x509_privkey_t ca_key, gnutls_x509_crt_t crt,
		      gnutls_x509_privkey_t key, struct cntr_err *err)
{
	_cleanup_free_ char *svc = xasprintf(BROKER_SERVICE_NAME ".%s.svc", ns);
	_cleanup_free_ char *short_name = xasprintf(BROKER_SERVICE_NAME ".%s", ns);
	int r;

	if (base_cert(ca, ca_key, "lambda-cntr-broker-ca", err) < 0)
		return -1;
	if ((r = gnutls_x509_crt_set_basic_constraints(ca, 1, 0)) < 0 ||
	    (r = gnutls_x509_crt_set_key_usage(ca, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (r = gnutls_x509_crt_sign2(ca, ca, ca_key, GNUTLS_DIG_SHA256, 0)) < 0)
		return gfail(err, "CA", r);
	if (base_cert(crt, key, svc, err) < 0)
		return -1;
	if ((r = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0 ||
	    (r = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (r = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0 ||
	    (r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, svc, (unsigned)strlen(svc), GNUTLS_FSAN_SET)) < 0 ||
	    (r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, short_name, (unsigned)strlen(short_name),
						      GNUTLS_FSAN_APPEND)) < 0 ||
	    (r = gnutls_x509_crt_sign2(crt, ca, ca_key, GNUTLS_DIG_SHA256, 0)) < 0)
		return gfail(err, "serving certificate", r);
	return 0;
}

int broker_cert_generate(const char *ns, struct broker_tls_files *tls, char **ca_pem, struct cntr_err *err)
{
	gnutls_x509_privkey_t ca_key = NULL, key = NULL;
	gnutls_x509_crt_t ca = NULL, crt = NULL;
	int r = -1;

	if (new_key(&ca_key, err) < 0 || new_key(&key, err) < 0)
		goto out;
	if (gnutls_x509_crt_init(&ca) < 0 || gnutls_x509_crt_init(&crt) < 0) {
		cntr_fail(err, CNTR_EXIT_FAILURE, 0, "serving certificate: out of memory");
		goto out;
	}
	if (make_certs(ns, ca, ca_key, crt, key, err) < 0)
		goto out;
	tls->cert_pem = export_crt(crt);
	tls->key_pem = export_key(key);
	*ca_pem = export_crt(ca);
	r = tls->cert_pem && tls->key_pem && *ca_pem ? 0 : cntr_fail(err, CNTR_EXIT_FAILURE, 0, "serving certificate: export failed");
out:
	if (ca)
		gnutls_x509_crt_deinit(ca);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (ca_key)
		gnutls_x509_privkey_deinit(ca_key);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return r;
}

int broker_cert_publish(struct broker *b, const char *ca_pem, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *bundle = kube_base64_encode(ca_pem, strlen(ca_pem));
	json_t *patch = json_pack("{s:{s:s}}", "spec", "caBundle", bundle);
	int r = broker_api(b, "PATCH", "/apis/apiregistration.k8s.io/v1/apiservices/" BROKER_APISERVICE, patch, &resp, err);

	json_decref(patch);
	if (r < 0)
		return cntr_err_prefix(err, "writing the serving CA into APIService %s: ", BROKER_APISERVICE);
	return 0;
}

/* -- judging a certificate someone else made (another replica, an older broker, an admin) ---- */

static int import_crt(gnutls_x509_crt_t *crt, const char *pem, const char *what, struct cntr_err *err)
{
	gnutls_datum_t d = { .data = (unsigned char *)pem, .size = (unsigned)strlen(pem) };
	int r = gnutls_x509_crt_init(crt);

	if (r >= 0)
		r = gnutls_x509_crt_import(*crt, &d, GNUTLS_X509_FMT_PEM); /* the first of a chain */
	return r < 0 ? cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s is not a PEM certificate (%s)", what, gnutls_strerror(r)) : 0;
}

static int import_key(gnutls_x509_privkey_t *key, const char *pem, struct cntr_err *err)
{
	gnutls_datum_t d = { .data = (unsigned char *)pem, .size = (unsigned)strlen(pem) };
	int r = gnutls_x509_privkey_init(key);

	if (r >= 0)
		r = gnutls_x509_privkey_import2(*key, &d, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN);
	return r < 0 ? cntr_fail(err, CNTR_EXIT_FAILURE, 0, "the key is not a PEM private key (%s)", gnutls_strerror(r)) : 0;
}

static int key_is_the_certificates(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, struct cntr_err *err)
{
	unsigned char crt_id[64], key_id[64];
	size_t crt_len = sizeof(crt_id), key_len = sizeof(key_id);

	if (gnutls_x509_crt_get_key_id(crt, 0, crt_id, &crt_len) < 0 ||
	    gnutls_x509_privkey_get_key_id(key, 0, key_id, &key_len) < 0 || crt_len != key_len ||
	    memcmp(crt_id, key_id, crt_len) != 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "the key does not belong to the certificate");
	return 0;
}

static int valid_long_enough(gnutls_x509_crt_t crt, const char *what, struct cntr_err *err)
{
	time_t now = time(NULL), from = gnutls_x509_crt_get_activation_time(crt);
	time_t until = gnutls_x509_crt_get_expiration_time(crt);
	char when[32] = "?";
	struct tm tm;

	if (until != (time_t)-1 && gmtime_r(&until, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (from == (time_t)-1 || until == (time_t)-1)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s has no readable validity period", what);
	if (from > now)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s is not valid yet", what);
	if (until <= now)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s expired at %s", what, when);
	if (until - now < (time_t)BROKER_CERT_MIN_DAYS * 86400)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s expires at %s, within %d days", what, when,
				 BROKER_CERT_MIN_DAYS);
	return 0;
}

static int signed_by(gnutls_x509_crt_t crt, gnutls_x509_crt_t ca, struct cntr_err *err)
{
	unsigned status = 0;

	if (gnutls_x509_crt_verify(crt, &ca, 1, 0, &status) < 0 || status != 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "the certificate does not verify against ca.crt");
	return 0;
}

static int names_the_service(gnutls_x509_crt_t crt, const char *ns, struct cntr_err *err)
{
	_cleanup_free_ char *svc = xasprintf(BROKER_SERVICE_NAME ".%s.svc", ns);

	if (!gnutls_x509_crt_check_hostname(crt, svc))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "the certificate is not for %s", svc);
	return 0;
}

int broker_cert_check(const char *ns, const struct broker_tls_files *tls, const char *ca_pem, struct cntr_err *err)
{
	gnutls_x509_crt_t crt = NULL, ca = NULL;
	gnutls_x509_privkey_t key = NULL;
	int r = -1;

	if (import_crt(&crt, tls->cert_pem, "the certificate", err) < 0 || import_key(&key, tls->key_pem, err) < 0 ||
	    import_crt(&ca, ca_pem, "ca.crt", err) < 0)
		goto out;
	if (key_is_the_certificates(crt, key, err) < 0 || valid_long_enough(crt, "the certificate", err) < 0 ||
	    valid_long_enough(ca, "ca.crt", err) < 0 || signed_by(crt, ca, err) < 0 || names_the_service(crt, ns, err) < 0)
		goto out;
	r = 0;
out:
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (ca)
		gnutls_x509_crt_deinit(ca);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return r;
}

char *broker_cert_ca_bundle(const char *new_ca, const char *previous_ca)
{
	gnutls_x509_crt_t prev = NULL;
	struct cntr_err ignored = { 0 };
	_cleanup_free_ char *prev_pem = NULL;

	if (previous_ca && import_crt(&prev, previous_ca, "ca.crt", &ignored) == 0 &&
	    gnutls_x509_crt_get_expiration_time(prev) > time(NULL))
		prev_pem = export_crt(prev);
	if (prev)
		gnutls_x509_crt_deinit(prev);
	return prev_pem ? xasprintf("%s%s", new_ca, prev_pem) : xstrdup(new_ca);
}
