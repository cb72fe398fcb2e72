/* Request paths of the core API: one builder, every component percent-encoded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "kube/api_path.h"

static void check(char *got, const char *want)
{
	assert_string_equal(got, want);
	free(got);
}

static void test_collection_object_and_subresource_paths(void **state)
{
	check(kube_pods_path("team-a"), "/api/v1/namespaces/team-a/pods");
	check(kube_pod_path("team-a", "web-0", NULL), "/api/v1/namespaces/team-a/pods/web-0");
	check(kube_pod_path("team-a", "web-0", "exec"), "/api/v1/namespaces/team-a/pods/web-0/exec");
	check(kube_api_path("ns", "events", NULL, NULL), "/api/v1/namespaces/ns/events");
}

static void test_components_are_percent_encoded(void **state)
{
	check(kube_pod_path("a/b", "x?y#z", NULL), "/api/v1/namespaces/a%2Fb/pods/x%3Fy%23z");
}

static void test_query_parameters_are_appended_and_encoded(void **state)
{
	char *path = kube_pods_path("ns");

	kube_path_append_query(&path, "labelSelector", "app.kubernetes.io/managed-by=lambda-cntr");
	kube_path_append_query(&path, "watch", "true");
	check(path, "/api/v1/namespaces/ns/pods?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dlambda-cntr&watch=true");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collection_object_and_subresource_paths),
		cmocka_unit_test(test_components_are_percent_encoded),
		cmocka_unit_test(test_query_parameters_are_appended_and_encoded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
