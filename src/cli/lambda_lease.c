/* Leader election on a Lease (lambda_lease.h). */
#include "cli/lambda_lease.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cli/lambda_json.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/clock.h"
#include "kube/rest.h"

#define LEASES "/apis/coordination.k8s.io/v1/namespaces/%s/leases"

static char *candidate_identity(void)
{
	char host[256] = "";
	unsigned char rnd[4] = { 0 };

	if (gethostname(host, sizeof(host) - 1) < 0 || !*host)
		snprintf(host, sizeof(host), "caplet");
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		abort(); /* never expected: getrandom only blocks before the pool is seeded */
	return xasprintf("%s_%02x%02x%02x%02x", host, rnd[0], rnd[1], rnd[2], rnd[3]);
}

void lambda_lease_init(struct lambda_lease *l, const char *ns, const char *name, unsigned duration_s)
{
	*l = (struct lambda_lease){ .ns = xstrdup(ns), .name = xstrdup(name), .identity = candidate_identity(),
				    .duration_s = duration_s };
}

void lambda_lease_clear(struct lambda_lease *l)
{
	free(l->ns);
	free(l->name);
	free(l->identity);
	free(l->observed);
	memset(l, 0, sizeof(*l));
}

/* The record as the API holds it (holder, times, transitions): what a change is detected on. */
static char *lease_record(const json_t *lease)
{
	const json_t *spec = json_object_get(lease, "spec");
	char *text = spec ? json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	return text ? text : xstrdup("");
}

/* A MicroTime: what the API server expects in acquireTime and renewTime. */
static json_t *micro_time_now(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[32];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	/* Microseconds: tv_nsec is below 1e9, so 6 digits, and "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" fits. */
	snprintf(buf + n, sizeof(buf) - n, ".%06uZ", (unsigned)(ts.tv_nsec / 1000) % 1000000u);
	return json_string(buf);
}

/* Remember the record when it changed: the expiry counts from that moment, on our clock. */
static void observe(struct lambda_lease *l, const json_t *lease)
{
	_cleanup_free_ char *record = lease_record(lease);
	json_int_t duration = json_integer_value(json_object_get(json_object_get(lease, "spec"), "leaseDurationSeconds"));

	if (l->observed && !strcmp(l->observed, record))
		return;
	free(l->observed);
	l->observed = steal_pointer(&record);
	l->observed_at_ms = kube_now_ms();
	l->observed_duration_s = duration > 0 ? (unsigned)duration : l->duration_s;
}

static json_t *holder_spec(const struct lambda_lease *l, json_int_t transitions)
{
	json_t *now = micro_time_now();
	json_t *spec = json_pack("{s:s, s:i, s:O, s:O, s:I}", "holderIdentity", l->identity, "leaseDurationSeconds",
				 (int)l->duration_s, "acquireTime", now, "renewTime", now, "leaseTransitions",
				 transitions);

	json_decref(now);
	return spec;
}

/* POST or PUT; 1 when it went through, 0 when another candidate was first (409), -1 else. */
static int write_lease(struct kube_config *cfg, struct lambda_lease *l, const char *method, const char *path,
		       json_t *lease, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	struct cntr_err write_err = { 0 };

	if (kube_request(cfg, method, path, lease, &resp, &write_err) == 0) {
		observe(l, resp.body);
		return 1;
	}
	if (resp.http_status == 409)
		return 0;
	*err = write_err;
	return cntr_err_prefix(err, "Lease %s/%s: ", l->ns, l->name);
}

static int create_lease(struct kube_config *cfg, struct lambda_lease *l, struct cntr_err *err)
{
	_cleanup_free_ char *path = xasprintf(LEASES, l->ns);
	json_t *lease = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "apiVersion", "coordination.k8s.io/v1", "kind",
				  "Lease", "metadata", "name", l->name, "namespace", l->ns, "spec", holder_spec(l, 0));
	int r = write_lease(cfg, l, "POST", path, lease, err);

	json_decref(lease);
	return r;
}

/* Renew (ours) or take over (expired): the same PUT, with the resourceVersion we read. */
static int put_holder(struct kube_config *cfg, struct lambda_lease *l, const json_t *current, bool renew,
		      struct cntr_err *err)
{
	_cleanup_free_ char *path = xasprintf(LEASES "/%s", l->ns, l->name);
	const json_t *spec = json_object_get(current, "spec");
	json_int_t transitions = json_integer_value(json_object_get(spec, "leaseTransitions"));
	json_t *lease = json_deep_copy(current);
	json_t *fresh = holder_spec(l, renew ? transitions : transitions + 1);
	int r;

	if (renew)  /* a renewal keeps the time we acquired it */
		json_object_set(fresh, "acquireTime", json_object_get(spec, "acquireTime"));
	json_object_set_new(lease, "spec", fresh);
	r = write_lease(cfg, l, "PUT", path, lease, err);
	json_decref(lease);
	return r;
}

static bool expired(const struct lambda_lease *l, const char *holder)
{
	return !*holder || kube_now_ms() >= l->observed_at_ms + (uint64_t)l->observed_duration_s * 1000;
}

static int step(struct kube_config *cfg, struct lambda_lease *l, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = xasprintf(LEASES "/%s", l->ns, l->name);
	struct cntr_err get_err = { 0 };
	const char *holder;

	if (kube_get(cfg, path, &resp, &get_err) < 0) {
		if (resp.http_status == 404)
			return create_lease(cfg, l, err);
		*err = get_err;
		return cntr_err_prefix(err, "Lease %s/%s: ", l->ns, l->name);
	}
	observe(l, resp.body);
	holder = json_str(json_object_get(resp.body, "spec"), "holderIdentity");
	if (!strcmp(holder, l->identity))
		return put_holder(cfg, l, resp.body, true, err);
	if (!expired(l, holder))
		return 0;
	return put_holder(cfg, l, resp.body, false, err);
}

int lambda_lease_step(struct kube_config *cfg, struct lambda_lease *l, struct cntr_err *err)
{
	int r = step(cfg, l, err);
	bool leading = r == 1;

	if (leading != l->leading)
		log_info("Lease %s/%s: %s (as %s)", l->ns, l->name, leading ? "leading" : "not leading", l->identity);
	l->leading = leading;
	return r;
}

void lambda_lease_release(struct kube_config *cfg, struct lambda_lease *l)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = xasprintf(LEASES "/%s", l->ns, l->name);
	struct cntr_err err = { 0 };
	json_t *lease, *spec;

	if (!l->leading || kube_get(cfg, path, &resp, &err) < 0 ||
	    strcmp(json_str(json_object_get(resp.body, "spec"), "holderIdentity"), l->identity) != 0)
		return;
	lease = json_deep_copy(resp.body);
	spec = json_object_get(lease, "spec");
	/* As client-go releases: no holder, a one-second lease; the next candidate takes it now. */
	json_object_set_new(spec, "holderIdentity", json_string(""));
	json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
	json_object_set_new(spec, "renewTime", micro_time_now());
	if (write_lease(cfg, l, "PUT", path, lease, &err) != 1)
		log_warn("releasing Lease %s/%s: %s", l->ns, l->name, *err.msg ? err.msg : "it changed meanwhile");
	json_decref(lease);
	l->leading = false;
}
