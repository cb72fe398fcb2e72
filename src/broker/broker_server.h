/* The HTTPS side: libmicrohttpd with GnuTLS, one thread per connection, requests routed to
 * discovery, health and the attach subresources; attach upgrades to WebSocket and hands the
 * socket to a relay thread. */
#pragma once
#include <microhttpd.h>
#include <stdint.h>

#include "broker/broker.h"

struct cntr_err;

struct broker_tls_files {
	char *cert_pem; /* serving certificate (chain) */
	char *key_pem;
};

/* Start listening on host:port (port 0: any free one). *bound_port is the port in use. */
struct MHD_Daemon *broker_server_start(struct broker *b, const char *host, uint16_t port,
				       const struct broker_tls_files *tls, uint16_t *bound_port,
				       struct cntr_err *err);
