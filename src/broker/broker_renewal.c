/* The serving certificate's renewal loop (broker_renewal.h). */
#include "broker/broker_renewal.h"

#include <poll.h>
#include <stdlib.h>

#include "broker/broker_cert.h"
#include "broker/broker_serving_identity.h"
#include "broker/broker_serving_secret.h"
#include "common/err.h"
#include "common/log.h"

/* One round. Failures keep the current certificate: it stays valid for weeks when a round fails. */
static void renew_once(struct broker *b)
{
	struct broker_tls_files tls = { 0 };
	struct cntr_err err = { 0 };
	char *ca = NULL;

	if (broker_serving_secret_obtain(b, &tls, &ca, &err) < 0)
		log_warn("renewing the serving certificate: %s; serving the current one", err.msg);
	else if (!broker_serving_identity_is(tls.cert_pem)) {
		/* The CA first: the API server must trust the new certificate before it is shown. */
		if (broker_cert_publish(b, ca, &err) < 0 || broker_serving_identity_set(tls.cert_pem, tls.key_pem, &err) < 0)
			log_warn("renewing the serving certificate: %s; serving the current one", err.msg);
		else
			log_info("serving the certificate of Secret %s/%s from the next connection on", b->ns,
				 BROKER_SERVING_SECRET);
	}
	free(tls.cert_pem);
	free(tls.key_pem);
	free(ca);
}

static void *renewal_loop(void *arg)
{
	struct broker_renewal *r = arg;
	struct pollfd stop = { .fd = r->b->stop_fd, .events = POLLIN };

	while (poll(&stop, 1, (int)(r->interval_s * 1000)) == 0)
		renew_once(r->b);
	return NULL;
}

int broker_renewal_start(struct broker_renewal *r, struct broker *b, uint64_t interval_s)
{
	*r = (struct broker_renewal){ .b = b, .interval_s = interval_s };
	if (pthread_create(&r->thread, NULL, renewal_loop, r) != 0)
		return -1;
	r->started = 1;
	return 0;
}

void broker_renewal_join(struct broker_renewal *r)
{
	if (r->started)
		pthread_join(r->thread, NULL);
	r->started = 0;
}
