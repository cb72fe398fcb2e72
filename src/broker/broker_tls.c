#include "broker/broker_tls.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#include "common/err.h"

static int peer_common_name(gnutls_session_t session, char *cn, size_t cn_size, struct cntr_err *err)
{
	unsigned int n = 0;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(session, &n);
	gnutls_x509_crt_t crt;
	int r;

	if (!certs || n == 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "no client certificate");
	if (gnutls_x509_crt_init(&crt) < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "gnutls: out of memory");
	r = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
	if (r >= 0)
		r = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cn_size);
	gnutls_x509_crt_deinit(crt);
	if (r < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "client certificate without a usable CN: %s",
				 gnutls_strerror(r));
	return 0;
}

int broker_tls_check_front_proxy(struct MHD_Connection *conn, const struct broker_frontproxy *fp,
				 struct cntr_err *err)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t session;
	/* The chain must be good for client authentication, as Kubernetes' x509 authenticator
	 * requires (ExtKeyUsageClientAuth). */
	gnutls_typed_vdata_st purpose = { .type = GNUTLS_DT_KEY_PURPOSE_OID,
					  .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT };
	unsigned int status = 0;
	char cn[256] = "";
	int r;

	if (!info || !info->tls_session)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "not a TLS connection");
	session = (gnutls_session_t)info->tls_session;
	if (gnutls_certificate_type_get(session) != GNUTLS_CRT_X509 || !gnutls_certificate_get_peers(session, &(unsigned int){ 0 }))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "no client certificate");
	r = gnutls_certificate_verify_peers(session, &purpose, 1, &status);
	if (r < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "client certificate not verifiable: %s", gnutls_strerror(r));
	if (status) {
		gnutls_datum_t why = { 0 };
		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
		cntr_fail(err, CNTR_EXIT_FAILURE, 0, "client certificate rejected: %s",
			  why.data ? (const char *)why.data : "verification failed");
		gnutls_free(why.data);
		return -1;
	}
	if (peer_common_name(session, cn, sizeof(cn), err) < 0)
		return -1;
	if (!broker_frontproxy_name_allowed(fp, cn))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "client certificate CN \"%s\" is not in "
				 "requestheader-allowed-names", cn);
	return 0;
}
