/* The relay of one session: the client's upgraded connection (plain bytes after MHD's TLS) and
 * the agent's exec WebSocket, messages forwarded unchanged both ways (re-framed: the client's
 * masked frames go out masked to the API server, the agent's go back unmasked), pings answered
 * on each leg, channel 3 forwarded as is and read for the audit, both sides ended when one ends,
 * and a close on both when the broker stops. */
#pragma once
#include <stddef.h>

#include "broker/broker_session.h"

/* Runs in the calling thread until the session ends; records DebugSessionEnded; takes ownership
 * of r. fd: the client's socket (never closed here: the caller's close action does it). */
void broker_relay_run(struct broker_relay *r, int fd, const char *extra_in, size_t extra_len);
