#include "broker/broker_serving_secret.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_cert.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/base64.h"
#include "kube/rest.h"

/* Each lost race costs one more read. Two replicas settle in two rounds; more rounds than this
 * mean something keeps rewriting the Secret, and starting would only join the fight. */
#define SECRET_ROUNDS 5

/* The keys of a kubernetes.io/tls Secret, plus the CA that goes into the APIService. */
#define KEY_CERT "tls.crt"
#define KEY_KEY "tls.key"
#define KEY_CA "ca.crt"

enum write_outcome { WRITE_FAILED = -1, WRITE_LOST_RACE = 0, WRITE_DONE = 1 };

struct serving {
	struct broker_tls_files tls;
	char *ca_pem;
};

static void serving_clear(struct serving *s)
{
	free(s->tls.cert_pem);
	free(s->tls.key_pem);
	free(s->ca_pem);
	*s = (struct serving){ 0 };
}

static void cleanup_servingp(struct serving *s)
{
	serving_clear(s);
}
#define _cleanup_serving_ __attribute__((cleanup(cleanup_servingp)))

static void serving_hand_over(struct serving *s, struct broker_tls_files *tls, char **ca_pem)
{
	*tls = s->tls;
	*ca_pem = s->ca_pem;
	*s = (struct serving){ 0 };
}

/* What an admin does about a refusal: the rule that grants it, or the way around it. */
static int rbac_hint(const struct kube_response *resp, struct cntr_err *err)
{
	if (resp->http_status != 403)
		return -1;
	return cntr_err_hint(err, "apply deploy/20-rbac-broker.yaml: its Role lambda-cntr-broker grants the broker "
				  "get and update on the Secret " BROKER_SERVING_SECRET " and create on secrets, in its "
				  "namespace only (or pass --tls-cert/--tls-key)");
}

static bool status_reason_is(const struct kube_response *resp, long code, const char *reason)
{
	const char *got = json_string_value(json_object_get(resp->body, "reason"));

	return resp->http_status == code && got && strcmp(got, reason) == 0;
}

/* 1 and *secret when it exists, 0 when it does not, -1 on any other answer. */
static int read_secret(struct broker *b, json_t **secret, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_api_path(b->ns, "secrets", BROKER_SERVING_SECRET, NULL);

	if (broker_api(b, "GET", path, NULL, &resp, err) == 0) {
		*secret = json_incref(resp.body);
		return 1;
	}
	if (status_reason_is(&resp, 404, "NotFound"))
		return 0;
	cntr_err_prefix(err, "reading the serving Secret %s/" BROKER_SERVING_SECRET ": ", b->ns);
	return rbac_hint(&resp, err);
}

static int decode_key(const json_t *data, const char *key, char **pem, struct cntr_err *err)
{
	const char *text = json_string_value(json_object_get(data, key));
	unsigned char *raw = NULL;
	size_t len = 0;

	if (!text || !*text)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "it has no data[%s]", key);
	if (kube_base64_decode(text, strlen(text), &raw, &len) < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "data[%s] is not base64", key);
	if (strlen((char *)raw) != len) {
		free(raw);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "data[%s] is not PEM text", key);
	}
	*pem = (char *)raw;
	return 0;
}

/* The certificate the Secret holds, when broker_cert_check accepts it; err says why not. */
static int usable_contents(struct broker *b, const json_t *secret, struct serving *out, struct cntr_err *err)
{
	_cleanup_serving_ struct serving s = { 0 };
	const json_t *data = json_object_get(secret, "data");

	if (decode_key(data, KEY_CERT, &s.tls.cert_pem, err) < 0 || decode_key(data, KEY_KEY, &s.tls.key_pem, err) < 0 ||
	    decode_key(data, KEY_CA, &s.ca_pem, err) < 0 || broker_cert_check(b->ns, &s.tls, s.ca_pem, err) < 0)
		return -1;
	*out = s;
	s = (struct serving){ 0 };
	return 0;
}

static json_t *secret_object(struct broker *b, const struct serving *s, const char *type, const char *resource_version)
{
	_cleanup_free_ char *crt = kube_base64_encode(s->tls.cert_pem, strlen(s->tls.cert_pem));
	_cleanup_free_ char *key = kube_base64_encode(s->tls.key_pem, strlen(s->tls.key_pem));
	_cleanup_free_ char *ca = kube_base64_encode(s->ca_pem, strlen(s->ca_pem));
	json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:s, s:{s:s, s:s, s:s}}", "apiVersion", "v1",
				"kind", "Secret", "metadata", "name", BROKER_SERVING_SECRET, "namespace", b->ns, "labels",
				"app.kubernetes.io/name", "lambda-cntr-broker", "app.kubernetes.io/part-of", "lambda-cntr",
				"type", type, "data", KEY_CERT, crt, KEY_KEY, key, KEY_CA, ca);

	if (obj && resource_version)
		json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string(resource_version));
	return obj;
}

/* POST (resource_version NULL) or PUT with the resourceVersion read as the precondition. Losing
 * the race: another replica created it first (409 AlreadyExists), or replaced or deleted it
 * since we read it (409 Conflict, 404 NotFound). */
static enum write_outcome write_secret(struct broker *b, const struct serving *s, const char *type,
				       const char *resource_version, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_api_path(b->ns, "secrets", resource_version ? BROKER_SERVING_SECRET : NULL, NULL);
	json_t *body = secret_object(b, s, type, resource_version);
	int r;

	if (!body)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "building the serving Secret: out of memory");
	r = broker_api(b, resource_version ? "PUT" : "POST", path, body, &resp, err);
	json_decref(body);
	if (r == 0)
		return WRITE_DONE;
	if (status_reason_is(&resp, 409, resource_version ? "Conflict" : "AlreadyExists") ||
	    (resource_version && status_reason_is(&resp, 404, "NotFound")))
		return WRITE_LOST_RACE;
	cntr_err_prefix(err, "%s the serving Secret %s/" BROKER_SERVING_SECRET ": ",
			resource_version ? "replacing" : "creating", b->ns);
	rbac_hint(&resp, err);
	return WRITE_FAILED;
}

/* A new certificate, written as the Secret (created, or replacing the one at resource_version
 * whose CA was previous_ca). */
static enum write_outcome write_new_certificate(struct broker *b, const char *type, const char *resource_version,
						const char *previous_ca, struct serving *out, struct cntr_err *err)
{
	_cleanup_serving_ struct serving s = { 0 };
	_cleanup_free_ char *new_ca = NULL;
	enum write_outcome w;

	if (broker_cert_generate(b->ns, &s.tls, &new_ca, err) < 0)
		return WRITE_FAILED;
	s.ca_pem = broker_cert_ca_bundle(new_ca, previous_ca);
	w = write_secret(b, &s, type, resource_version, err);
	if (w == WRITE_DONE) {
		*out = s;
		s = (struct serving){ 0 };
	}
	return w;
}

/* One round: read; take a usable Secret, else write a new one. */
static enum write_outcome settle_once(struct broker *b, struct serving *out, struct cntr_err *err)
{
	json_auto_t *secret = NULL; /* released on every way out (jansson's cleanup type) */
	_cleanup_free_ char *previous_ca = NULL;
	struct cntr_err why = { 0 }, no_previous_ca = { 0 };
	const char *type, *rv;
	int found = read_secret(b, &secret, err);

	if (found < 0)
		return WRITE_FAILED;
	if (!found) {
		log_info("no serving Secret %s/" BROKER_SERVING_SECRET " yet: making a certificate and creating it", b->ns);
		return write_new_certificate(b, "kubernetes.io/tls", NULL, NULL, out, err);
	}
	if (usable_contents(b, secret, out, &why) == 0) {
		log_info("serving with the certificate of Secret %s/" BROKER_SERVING_SECRET, b->ns);
		return WRITE_DONE;
	}
	log_warn("the serving Secret %s/" BROKER_SERVING_SECRET " is unusable (%s): replacing it", b->ns, why.msg);
	/* Replicas started before still serve the old certificate: its CA stays in the bundle. */
	if (decode_key(json_object_get(secret, "data"), KEY_CA, &previous_ca, &no_previous_ca) < 0)
		log_info("the replaced Secret's CA is not kept: %s", no_previous_ca.msg);
	/* The type of a Secret cannot change: a replacement keeps whatever the existing one has. */
	type = json_string_value(json_object_get(secret, "type"));
	rv = json_string_value(json_object_get(json_object_get(secret, "metadata"), "resourceVersion"));
	return write_new_certificate(b, type ? type : "Opaque", rv ? rv : "", previous_ca, out, err);
}

int broker_serving_secret_obtain(struct broker *b, struct broker_tls_files *tls, char **ca_pem, struct cntr_err *err)
{
	_cleanup_serving_ struct serving s = { 0 };

	for (int round = 0; round < SECRET_ROUNDS; round++) {
		enum write_outcome w = settle_once(b, &s, err);

		if (w == WRITE_FAILED)
			return -1;
		if (w == WRITE_DONE) {
			serving_hand_over(&s, tls, ca_pem);
			return 0;
		}
		log_info("another replica wrote the serving Secret %s/" BROKER_SERVING_SECRET " first: reading theirs",
			 b->ns);
	}
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "the serving Secret %s/" BROKER_SERVING_SECRET " changed under this broker %d times in a row: "
			 "something else keeps rewriting it (kubectl get secret -n %s " BROKER_SERVING_SECRET
			 " --show-managed-fields -o yaml names its writers); stop that and restart the broker",
			 b->ns, SECRET_ROUNDS, b->ns);
}
