/* Unit tests: the RuntimeClass handler table, cntr's refusal text, and the keep-alive
 * annotation bookkeeping (merge patches computed from an object, no I/O). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/lambda_keepalive.h"
#include "cli/lambda_runtimeclass.h"

static void test_handler_table_classifies_vm_gvisor_and_namespaced(void **state)
{
	static const struct { const char *handler; enum lambda_isolation kind; const char *runtime; } cases[] = {
		{ "kata", LAMBDA_ISOLATION_VM, "Kata Containers" },
		{ "kata-qemu", LAMBDA_ISOLATION_VM, "Kata Containers" },
		{ "kata-fc", LAMBDA_ISOLATION_VM, "Kata Containers" },
		{ "Kata-CLH", LAMBDA_ISOLATION_VM, "Kata Containers" },
		{ "firecracker", LAMBDA_ISOLATION_VM, "Firecracker" },
		{ "aws-firecracker", LAMBDA_ISOLATION_VM, "Firecracker" },
		{ "fc", LAMBDA_ISOLATION_VM, "Firecracker" },
		{ "cloud-hypervisor", LAMBDA_ISOLATION_VM, "Cloud Hypervisor" },
		{ "clh", LAMBDA_ISOLATION_VM, "Cloud Hypervisor" },
		{ "qemu", LAMBDA_ISOLATION_VM, "QEMU" },
		{ "runsc", LAMBDA_ISOLATION_GVISOR, "gVisor" },
		{ "runsc-kvm", LAMBDA_ISOLATION_GVISOR, "gVisor" },
		{ "gvisor", LAMBDA_ISOLATION_GVISOR, "gVisor" },
		{ "runc", LAMBDA_ISOLATION_NAMESPACED, NULL },
		{ "crun", LAMBDA_ISOLATION_NAMESPACED, NULL },
		{ "nvidia", LAMBDA_ISOLATION_NAMESPACED, NULL },
		{ "", LAMBDA_ISOLATION_NAMESPACED, NULL },
		{ "fcx", LAMBDA_ISOLATION_NAMESPACED, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *runtime = "unset";

		assert_int_equal(lambda_isolation_of_handler(cases[i].handler, &runtime), cases[i].kind);
		if (cases[i].runtime)
			assert_string_equal(runtime, cases[i].runtime);
		else
			assert_null(runtime);
	}
	assert_int_equal(lambda_isolation_of_handler(NULL, NULL), LAMBDA_ISOLATION_NAMESPACED);
}

static void test_cntr_refusal_becomes_the_same_classification(void **state)
{
	struct lambda_isolation_info info = { 0 };

	assert_int_equal(lambda_isolation_from_cntr("cntr: target pid 42 is a QEMU VM (Kata Containers): the "
						    "container runs inside it, with no namespaces", &info), 1);
	assert_int_equal(info.kind, LAMBDA_ISOLATION_VM);
	assert_string_equal(info.runtime, "Kata Containers");
	assert_int_equal(lambda_isolation_from_cntr("target pid 7 is a gVisor sandbox (runsc): the container runs "
						    "inside it", &info), 1);
	assert_int_equal(info.kind, LAMBDA_ISOLATION_GVISOR);
	assert_int_equal(lambda_isolation_from_cntr("cntr: container abc not found", &info), 0);
}

static void test_message_names_pod_runtimeclass_and_handler(void **state)
{
	struct lambda_isolation_info info = { .kind = LAMBDA_ISOLATION_VM, .runtime = "Kata Containers",
					      .runtime_class = "kata", .handler = "kata-qemu" };
	char *msg = lambda_isolation_message("ns", "web", &info);

	assert_string_equal(msg, "pod ns/web runs inside a Kata Containers VM (RuntimeClass kata, handler kata-qemu): "
				 "its containers have no namespaces on the node that cntr could enter");
	free(msg);
}

static json_t *object(const char *annotations_json, const char *labels_json)
{
	return json_pack("{s:{s:s, s:o, s:o}}", "metadata", "resourceVersion", "7",
			 "annotations", json_loads(annotations_json, 0, NULL), "labels", json_loads(labels_json, 0, NULL));
}

static const char *patched(const json_t *patch, const char *field, const char *key)
{
	const json_t *v = json_object_get(json_object_get(json_object_get(patch, "metadata"), field), key);

	return json_is_null(v) ? "null" : json_string_value(v);
}

static void test_first_session_records_the_previous_value(void **state)
{
	json_t *obj = object("{\"autoscaling.knative.dev/min-scale\":\"0\"}", "{}");
	json_t *patch = lambda_keepalive_apply_patch(obj, "annotations", "autoscaling.knative.dev/min-scale", "1",
						     LAMBDA_KEEPALIVE_PREFIX "s1", "agents in default");

	assert_string_equal(json_string_value(json_object_get(json_object_get(patch, "metadata"), "resourceVersion")), "7");
	assert_string_equal(patched(patch, "annotations", "autoscaling.knative.dev/min-scale"), "1");
	assert_string_equal(patched(patch, "annotations", LAMBDA_KEEPALIVE_PREFIX "s1"),
			    "{\"holder\":\"agents in default\",\"previous\":\"0\"}");
	json_decref(patch);
	json_decref(obj);
}

static void test_second_session_copies_the_original_not_our_value(void **state)
{
	json_t *obj = object("{\"autoscaling.knative.dev/min-scale\":\"1\", \"lambda-cntr.io/keep-alive-s1\":"
			     "\"{\\\"holder\\\":\\\"agents in default\\\",\\\"previous\\\":null}\"}", "{}");
	json_t *patch = lambda_keepalive_apply_patch(obj, "annotations", "autoscaling.knative.dev/min-scale", "1",
						     LAMBDA_KEEPALIVE_PREFIX "s2", "agents in default");

	assert_string_equal(patched(patch, "annotations", LAMBDA_KEEPALIVE_PREFIX "s2"),
			    "{\"holder\":\"agents in default\",\"previous\":null}");
	assert_null(lambda_keepalive_apply_patch(obj, "annotations", "k", "1", LAMBDA_KEEPALIVE_PREFIX "s1", "h"));
	json_decref(patch);
	json_decref(obj);
}

static void test_release_restores_only_when_the_last_mark_goes(void **state)
{
	json_t *two = object("{\"lambda-cntr.io/keep-alive-s1\":\"{\\\"previous\\\":\\\"true\\\",\\\"holder\\\":\\\"h\\\"}\","
			     " \"lambda-cntr.io/keep-alive-s2\":\"{\\\"previous\\\":\\\"true\\\",\\\"holder\\\":\\\"h\\\"}\"}",
			     "{\"com.openfaas.scale.zero\":\"false\"}");
	json_t *one = object("{\"lambda-cntr.io/keep-alive-s2\":\"{\\\"previous\\\":null,\\\"holder\\\":\\\"h\\\"}\"}",
			     "{\"com.openfaas.scale.zero\":\"false\"}");
	const char *s1[] = { LAMBDA_KEEPALIVE_PREFIX "s1", NULL }, *s2[] = { LAMBDA_KEEPALIVE_PREFIX "s2", NULL };
	json_t *patch = lambda_keepalive_release_patch(two, "labels", "com.openfaas.scale.zero", s1);

	assert_string_equal(patched(patch, "annotations", LAMBDA_KEEPALIVE_PREFIX "s1"), "null");
	assert_null(json_object_get(json_object_get(patch, "metadata"), "labels"));  /* s2 still holds it */
	json_decref(patch);
	patch = lambda_keepalive_release_patch(one, "labels", "com.openfaas.scale.zero", s2);
	assert_string_equal(patched(patch, "labels", "com.openfaas.scale.zero"), "null");  /* previous: none */
	json_decref(patch);
	patch = lambda_keepalive_release_patch(two, "labels", "com.openfaas.scale.zero", (const char *[]){
		LAMBDA_KEEPALIVE_PREFIX "s1", LAMBDA_KEEPALIVE_PREFIX "s2", NULL });
	assert_string_equal(patched(patch, "labels", "com.openfaas.scale.zero"), "true");
	json_decref(patch);
	/* Undone already: nothing to send (exactly once). */
	assert_null(lambda_keepalive_release_patch(one, "labels", "com.openfaas.scale.zero", s1));
	json_decref(two);
	json_decref(one);
}

static void test_platform_found_from_labels_and_owners(void **state)
{
	json_t *kn = json_loads("{\"metadata\":{\"namespace\":\"fn\",\"labels\":{\"serving.knative.dev/revision\":\"hello-1\"}}}", 0, NULL);
	json_t *of = json_loads("{\"metadata\":{\"namespace\":\"openfaas-fn\",\"labels\":{\"faas_function\":\"figlet\"}}}", 0, NULL);
	json_t *rs = json_loads("{\"metadata\":{\"namespace\":\"d\",\"ownerReferences\":[{\"kind\":\"ReplicaSet\",\"name\":\"web-1\",\"controller\":true}]}}", 0, NULL);
	json_t *bare = json_loads("{\"metadata\":{\"namespace\":\"d\"}}", 0, NULL);
	struct lambda_keepalive k = { 0 };

	assert_int_equal(lambda_keepalive_identify(kn, &k), LAMBDA_PLATFORM_KNATIVE);
	assert_string_equal(k.path, "/apis/serving.knative.dev/v1/namespaces/fn/revisions/hello-1");
	lambda_keepalive_clear(&k);
	assert_int_equal(lambda_keepalive_identify(of, &k), LAMBDA_PLATFORM_OPENFAAS);
	assert_string_equal(k.path, "/apis/apps/v1/namespaces/openfaas-fn/deployments/figlet");
	assert_string_equal(k.field, "labels");
	lambda_keepalive_clear(&k);
	assert_int_equal(lambda_keepalive_identify(rs, &k), LAMBDA_PLATFORM_WORKLOAD);
	assert_string_equal(k.owner_rs, "web-1");
	lambda_keepalive_clear(&k);
	assert_int_equal(lambda_keepalive_identify(bare, &k), LAMBDA_PLATFORM_NONE);
	lambda_keepalive_clear(&k);
	json_decref(kn);
	json_decref(of);
	json_decref(rs);
	json_decref(bare);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handler_table_classifies_vm_gvisor_and_namespaced),
		cmocka_unit_test(test_cntr_refusal_becomes_the_same_classification),
		cmocka_unit_test(test_message_names_pod_runtimeclass_and_handler),
		cmocka_unit_test(test_first_session_records_the_previous_value),
		cmocka_unit_test(test_second_session_copies_the_original_not_our_value),
		cmocka_unit_test(test_release_restores_only_when_the_last_mark_goes),
		cmocka_unit_test(test_platform_found_from_labels_and_owners),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
