/* Keeping the shared serving certificate fresh while the broker runs (docs/broker.md, "Several
 * replicas"): every interval the Secret is read again as at start (broker_serving_secret.h: a
 * certificate within 30 days of its end is replaced there, by whichever replica comes first), and
 * what it holds is served from the next handshake on if it changed, its CA published first. */
#pragma once
#include <pthread.h>
#include <stdint.h>

#include "broker/broker.h"

struct broker_renewal {
	struct broker *b;
	uint64_t interval_s;
	pthread_t thread;
	int started;
};

/* Starts the loop; it ends when b->stop_fd becomes readable (the broker stopping). */
int broker_renewal_start(struct broker_renewal *r, struct broker *b, uint64_t interval_s);
void broker_renewal_join(struct broker_renewal *r);
