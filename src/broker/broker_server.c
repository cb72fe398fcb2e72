#include "broker/broker_server.h"
#include "broker/broker_serving_identity.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/broker_capsule.h"
#include "broker/broker_relay.h"
#include "broker/broker_route.h"
#include "broker/broker_session.h"
#include "broker/broker_status.h"
#include "broker/broker_tls.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/websocket.h"

/* ---------------------------------------------------------------- answers */

static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned code, const char *type, const char *text)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result r;

	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
	r = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return r;
}

/* A Status object: its code is the HTTP status. Steals status. */
static enum MHD_Result answer_status(struct MHD_Connection *conn, json_t *status)
{
	_cleanup_free_ char *text = json_dumps(status, JSON_COMPACT);
	unsigned code = (unsigned)json_integer_value(json_object_get(status, "code"));

	json_decref(status);
	return answer_text(conn, code ? code : 500, "application/json", text);
}

/* ---------------------------------------------------------------- request values */

struct header_list {
	struct broker_header *items;
	size_t n, cap;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_list *l = cls;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->items = realloc(l->items, l->cap * sizeof(*l->items));
		if (!l->items)
			abort();
	}
	l->items[l->n++] = (struct broker_header){ .name = key, .value = value ? value : "" };
	return MHD_YES;
}

/* Sec-WebSocket-Protocol may come as several headers: one comma list, in the order sent. */
static char *offered_protocols(const struct header_list *h)
{
	char *all = NULL;

	for (size_t i = 0; i < h->n; i++) {
		char *next;
		if (strcasecmp(h->items[i].name, "Sec-WebSocket-Protocol") != 0)
			continue;
		next = all ? xasprintf("%s, %s", all, h->items[i].value) : xstrdup(h->items[i].value);
		free(all);
		all = next;
	}
	return all;
}

struct query {
	const char *container, *profile, *term;
	char **command, **targets;
	size_t ncommand, ntargets;
	bool in, out, err, tty;
	struct broker_capsule_query capsule; /* nodes/NODE/capsule: its own parameters */
};

static void append_value(char ***list, size_t *n, const char *value)
{
	*list = realloc(*list, (*n + 2) * sizeof(char *));
	if (!*list)
		abort();
	(*list)[(*n)++] = xstrdup(value ? value : "");
	(*list)[*n] = NULL;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query *q = cls;

	if (!strcmp(key, "command"))
		append_value(&q->command, &q->ncommand, value);
	else if (!strcmp(key, "target"))
		append_value(&q->targets, &q->ntargets, value);
	else if (!strcmp(key, "container"))
		q->container = value;
	else if (!strcmp(key, "term"))
		q->term = value;
	else if (!strcmp(key, "stdin"))
		q->in = broker_query_is_true(value);
	else if (!strcmp(key, "stdout"))
		q->out = broker_query_is_true(value);
	else if (!strcmp(key, "stderr"))
		q->err = broker_query_is_true(value);
	else if (!strcmp(key, "tty"))
		q->tty = broker_query_is_true(value);
	else if (broker_capsule_query_set(&q->capsule, key, value) && !strcmp(key, "profile"))
		q->profile = value; /* attach takes a profile too */
	return MHD_YES;
}

/* ---------------------------------------------------------------- the upgrade */

/* What a request hands to its upgrade: freed by request_completed unless the upgrade took it. */
struct pending {
	struct broker_relay *relay;
};

static void *relay_thread(void *arg);

struct relay_start {
	struct broker_relay *relay;
	int fd;
	struct MHD_UpgradeResponseHandle *urh;
	char *extra;
	size_t extra_len;
};

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
		       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct pending *p = cls;
	struct relay_start *st = calloc(1, sizeof(*st));
	pthread_t t;

	if (!st)
		abort();
	st->relay = steal_pointer(&p->relay);
	st->fd = sock;
	st->urh = urh;
	if (extra_in_size) {
		st->extra = malloc(extra_in_size);
		if (!st->extra)
			abort();
		memcpy(st->extra, extra_in, extra_in_size);
		st->extra_len = extra_in_size;
	}
	atomic_fetch_add(&st->relay->b->sessions, 1);
	/* MHD forwards TLS for this socket in this connection's thread once we return: the relay
	 * gets a thread of its own. */
	if (pthread_create(&t, NULL, relay_thread, st) != 0) {
		log_error("cannot start a relay thread");
		atomic_fetch_sub(&st->relay->b->sessions, 1);
		broker_relay_free(st->relay);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		free(st->extra);
		free(st);
		return;
	}
	pthread_detach(t);
}

static void *relay_thread(void *arg)
{
	struct relay_start *st = arg;
	struct broker *b = st->relay->b;

	broker_relay_run(st->relay, st->fd, st->extra, st->extra_len);
	MHD_upgrade_action(st->urh, MHD_UPGRADE_ACTION_CLOSE);
	free(st->extra);
	free(st);
	atomic_fetch_sub(&b->sessions, 1);
	return NULL;
}

static enum MHD_Result answer_upgrade(struct MHD_Connection *conn, struct broker_relay *relay, const char *key,
				      void **con_cls)
{
	struct pending *p = calloc(1, sizeof(*p));
	struct MHD_Response *resp;
	char accept[29];
	enum MHD_Result r;

	if (!p)
		abort();
	p->relay = relay;
	*con_cls = p;
	resp = MHD_create_response_for_upgrade(on_upgrade, p);
	ws_accept_for_key(key, accept);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
	if (relay->agent.protocol)
		MHD_add_response_header(resp, "Sec-WebSocket-Protocol", relay->agent.protocol);
	r = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	return r;
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct pending *p = *con_cls;

	if (!p)
		return;
	broker_relay_free(p->relay); /* NULL when the upgrade took it */
	free(p);
	*con_cls = NULL;
}

/* ---------------------------------------------------------------- attach */

static const char *header_value(const struct header_list *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(h->items[i].name, name) == 0)
			return h->items[i].value;
	return NULL;
}

static enum MHD_Result serve_attach(struct broker *b, struct MHD_Connection *conn, const struct broker_route *rt,
				    const struct broker_identity *id, const struct header_list *headers,
				    void **con_cls)
{
	struct query q = { 0 };
	_cleanup_free_ char *protocols = offered_protocols(headers);
	const char *upgrade = header_value(headers, "Upgrade");
	const char *key = header_value(headers, "Sec-WebSocket-Key");
	struct broker_session_request req;
	struct broker_relay *relay;
	json_t *status = NULL;
	enum MHD_Result r;

	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, &q);
	if (!q.command)
		q.command = calloc(1, sizeof(char *));
	if (!q.targets)
		q.targets = calloc(1, sizeof(char *));
	if (!q.command || !q.targets)
		abort();
	if (!upgrade || strcasecmp(upgrade, "websocket") != 0 || !key || !*key) {
		r = answer_status(conn, broker_status(400, "BadRequest", "Upgrade request required", NULL));
	} else if (!protocols || !*protocols) {
		r = answer_status(conn, broker_status(400, "BadRequest",
						      "unable to upgrade connection: no subprotocol was requested "
						      "(Sec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io)",
						      NULL));
	} else if (rt->kind == BROKER_ROUTE_NODE_CAPSULE) {
		q.capsule.targets = q.targets;
		q.capsule.command = q.command;
		relay = broker_capsule_prepare(b, rt, id, &q.capsule, protocols, &status);
		r = relay ? answer_upgrade(conn, relay, key, con_cls) : answer_status(conn, status);
	} else {
		req = (struct broker_session_request){ .route = rt, .id = id, .container = q.container,
						       .profile = q.profile, .term = q.term, .command = q.command, .stdin_ = q.in,
						       .stdout_ = q.out, .stderr_ = q.err, .tty = q.tty,
						       .protocols = protocols };
		relay = broker_session_prepare(b, &req, &status);
		r = relay ? answer_upgrade(conn, relay, key, con_cls) : answer_status(conn, status);
	}
	strv_free(q.command);
	strv_free(q.targets);
	return r;
}

/* ---------------------------------------------------------------- dispatch */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct broker *b = cls;
	struct broker_route rt;
	struct header_list headers = { 0 };
	struct broker_identity id = { 0 };
	struct cntr_err err = { 0 };
	enum MHD_Result r;

	if (*upload_data_size) {
		*upload_data_size = 0; /* no request of ours has a body worth reading */
		return MHD_YES;
	}
	if (*con_cls)
		return MHD_YES; /* answered already (an upgrade in flight) */
	broker_route_parse(url, &rt);
	if (rt.kind == BROKER_ROUTE_HEALTH) {
		broker_route_free(&rt);
		return answer_text(conn, 200, "text/plain; charset=utf-8", "ok");
	}
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &headers);
	if (broker_tls_check_front_proxy(conn, &b->fp, &err) < 0 ||
	    broker_identity_from_headers(&b->fp, headers.items, headers.n, &id) < 0) {
		log_info("401 for %s %s: %s", method, url, err.msg[0] ? err.msg : "no user in the front-proxy headers");
		r = answer_status(conn, broker_status_unauthorized());
	} else if (rt.kind == BROKER_ROUTE_NOT_FOUND) {
		r = answer_status(conn, broker_status(404, "NotFound", "the server could not find the requested resource",
						      NULL));
	} else if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) {
		r = answer_status(conn, broker_status(405, "MethodNotAllowed",
						      "the server does not allow this method on the requested resource", NULL));
	} else if (rt.kind == BROKER_ROUTE_GROUP) {
		r = answer_text(conn, 200, "application/json", broker_api_group_json);
	} else if (rt.kind == BROKER_ROUTE_VERSION) {
		r = answer_text(conn, 200, "application/json", broker_api_resources_json);
	} else {
		r = serve_attach(b, conn, &rt, &id, &headers, con_cls);
	}
	broker_identity_free(&id);
	free(headers.items);
	broker_route_free(&rt);
	return r;
}

/* MHD's messages: its format strings, with its arguments (the attribute tells the compiler). */
static void log_mhd(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_info("libmicrohttpd: %s", line);
}

struct MHD_Daemon *broker_server_start(struct broker *b, const char *host, uint16_t port,
				       const struct broker_tls_files *tls, uint16_t *bound_port,
				       struct cntr_err *err)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;

	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		cntr_fail(err, CNTR_EXIT_USAGE, 0, "--listen: \"%s\" is not an IPv4 address", host);
		return NULL;
	}
	if (broker_serving_identity_set(tls->cert_pem, tls->key_pem, err) < 0) {
		cntr_err_prefix(err, "the TLS certificate or key is not valid PEM: ");
		return NULL;
	}
	d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS |
				     MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG,
			     port, NULL, NULL, on_request, b,
			     /* First, or MHD logs the options before it with its own logger. */
			     MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, MHD_OPTION_SOCK_ADDR, &addr,
			     /* Asked at every handshake: a renewed certificate needs no restart. */
			     MHD_OPTION_HTTPS_CERT_CALLBACK, broker_serving_identity_retrieve,
			     /* Client certificates are requested and checked against the front-proxy CA. */
			     MHD_OPTION_HTTPS_MEM_TRUST, b->fp.client_ca_pem,
			     MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
			     /* Idle HTTP connections only: an upgraded session is not timed out by MHD
			      * (checked with a 2 s timeout and a 5 s silent session). */
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
	if (!d) {
		cntr_fail(err, CNTR_EXIT_FAILURE, 0, "cannot listen on %s:%u (address in use, or the TLS certificate "
			  "or key is not valid PEM)", host, port);
		return NULL;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	*bound_port = info ? info->port : port;
	return d;
}
