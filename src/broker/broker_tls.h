/* The front proxy's client certificate, checked with GnuTLS on the connection MHD accepted:
 * present, chaining to the requestheader CA (MHD_OPTION_HTTPS_MEM_TRUST), valid now, usable for
 * client authentication, and its CN among the allowed names. */
#pragma once
#include <microhttpd.h>

#include "broker/broker_frontproxy.h"

struct cntr_err;

/* 0 when the peer is an allowed front proxy; -1 with err saying why not (for the log). */
int broker_tls_check_front_proxy(struct MHD_Connection *conn, const struct broker_frontproxy *fp,
				 struct cntr_err *err);
