/* What a user can put in a request the API server proxies to the broker (src/broker/): the path
 * (broker_route.c), the front-proxy headers the API server sets from the user's identity
 * (broker_frontproxy.c: user names, groups and extras come from the identity provider) and a
 * capsule run's query (broker_capsule.c). Input: the path on the first line, then one
 * "Name: value" header or "key=value" query parameter per line. */
#include "fuzz.h"

#include "broker/broker_capsule.h"
#include "broker/broker_frontproxy.h"
#include "broker/broker_route.h"
#include "cli/lambda_ids.h"
#include "common/err.h"

#define MAX_ITEMS 64

struct request {
	struct broker_header headers[MAX_ITEMS];
	size_t nheaders;
	struct broker_capsule_query q;
	char *targets[MAX_ITEMS + 1], *command[MAX_ITEMS + 1];
	size_t ntargets, ncommand;
};

static void check_route(const char *path)
{
	struct broker_route r;

	broker_route_parse(path, &r);
	/* Only valid object names ever reach a lookup or a path of ours. */
	if ((r.kind == BROKER_ROUTE_POD_ATTACH && !lambda_object_name_is_valid(r.ns)) ||
	    ((r.kind == BROKER_ROUTE_POD_ATTACH || r.kind == BROKER_ROUTE_NODE_ATTACH ||
	      r.kind == BROKER_ROUTE_NODE_CAPSULE) && !lambda_object_name_is_valid(r.name)))
		abort();
	broker_route_free(&r);
}

/* The lists the server collects itself; every other parameter as the server stores it. */
static void add_query(struct request *rq, char *key, char *value)
{
	if (!strcmp(key, "target") && rq->ntargets < MAX_ITEMS)
		rq->targets[rq->ntargets++] = value;
	else if (!strcmp(key, "command") && rq->ncommand < MAX_ITEMS)
		rq->command[rq->ncommand++] = value;
	else
		broker_capsule_query_set(&rq->q, key, value);
}

static void split_line(struct request *rq, char *line)
{
	char *colon = strstr(line, ": "), *eq = strchr(line, '=');

	if (colon && (!eq || colon < eq) && rq->nheaders < MAX_ITEMS) {
		*colon = '\0';
		rq->headers[rq->nheaders++] = (struct broker_header){ line, colon + 2 };
	} else if (eq) {
		*eq = '\0';
		add_query(rq, line, eq + 1);
	}
}

static void check_identity(const struct request *rq)
{
	static char *user_headers[] = { "X-Remote-User", NULL }, *group_headers[] = { "X-Remote-Group", NULL };
	static char *extra_prefixes[] = { "X-Remote-Extra-", NULL }, *allowed[] = { NULL };
	const struct broker_frontproxy fp = { .client_ca_pem = "", .allowed_names = allowed,
					      .username_headers = user_headers, .group_headers = group_headers,
					      .extra_prefixes = extra_prefixes };
	struct broker_identity id = { 0 };

	if (broker_identity_from_headers(&fp, rq->headers, rq->nheaders, &id) == 0) {
		/* Authenticated means a user with a name, and groups that are a list. */
		if (!id.user || !*id.user || !id.groups || !id.extra)
			abort();
		broker_identity_free(&id);
	}
}

static void check_capsule(struct request *rq)
{
	struct broker_capsule_run run = { 0 };
	struct cntr_err err = { 0 };

	rq->q.targets = rq->targets;
	rq->q.command = rq->command;
	/* A refusal is a 400 whose message goes back to the user: one line. */
	if (broker_capsule_parse(&rq->q, &run, &err) < 0 && (!*err.msg || strchr(err.msg, '\n')))
		abort();
	broker_capsule_run_free(&run);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstring(data, size), *line, *save = NULL;
	struct request rq = { 0 };

	line = strtok_r(text, "\n", &save);
	if (!line)
		return 0;
	check_route(line);
	while ((line = strtok_r(NULL, "\n", &save)))
		split_line(&rq, line);
	check_identity(&rq);
	check_capsule(&rq);
	return 0;
}
