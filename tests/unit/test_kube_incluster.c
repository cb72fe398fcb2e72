/* In-cluster configuration: the service account's namespace file. Missing or empty means
 * "default" (as client-go); present but unreadable is an error, never a silent "default". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "kube/incluster.h"
#include "kube/kubeconfig.h"

static char dir[] = "/tmp/test-kube-incluster-XXXXXX";

static char *in_dir(const char *name)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void write_text(const char *name, const char *text)
{
	FILE *f = fopen(in_dir(name), "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	write_text("ca.crt", "CA\n");
	write_text("token", "sa-token\n");
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	setenv("KUBE_SERVICEACCOUNT_DIR", dir, 1);
	return 0;
}

static int teardown(void **state)
{
	unlink(in_dir("ca.crt"));
	unlink(in_dir("token"));
	unlink(in_dir("namespace"));
	rmdir(in_dir("namespace"));
	rmdir(dir);
	return 0;
}

static void clear_namespace(void)
{
	unlink(in_dir("namespace"));
	rmdir(in_dir("namespace"));
}

/* kube_incluster_fill on a fresh config; on failure the config is freed and *cfg is NULL. */
static int load(struct kube_config **cfg, struct cntr_err *err)
{
	*cfg = calloc(1, sizeof(**cfg));
	assert_non_null(*cfg);
	if (kube_incluster_fill(*cfg, err) == 0)
		return 0;
	kube_config_free(*cfg);
	*cfg = NULL;
	return -1;
}

static void test_namespace_file_names_the_namespace(void **state)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };

	clear_namespace();
	write_text("namespace", "team-a\n");
	assert_int_equal(load(&cfg, &err), 0);
	assert_string_equal(cfg->namespace, "team-a");
	assert_true(cfg->namespace_from_config);
	kube_config_free(cfg);
}

static void test_missing_or_empty_namespace_file_means_default(void **state)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };

	clear_namespace();
	assert_int_equal(load(&cfg, &err), 0);
	assert_string_equal(cfg->namespace, "default");
	assert_false(cfg->namespace_from_config);
	kube_config_free(cfg);

	write_text("namespace", " \n");
	assert_int_equal(load(&cfg, &err), 0);
	assert_string_equal(cfg->namespace, "default");
	kube_config_free(cfg);
}

static void test_unreadable_namespace_file_is_an_error_not_default(void **state)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };

	clear_namespace();
	/* There but not readable as a file (root reads any mode, so a directory stands in). */
	assert_int_equal(mkdir(in_dir("namespace"), 0700), 0);
	assert_int_equal(load(&cfg, &err), -1);
	assert_null(cfg);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_non_null(strstr(err.msg, "in-cluster config: namespace file: read "));
	assert_non_null(strstr(err.msg, in_dir("namespace")));
	assert_non_null(strstr(err.msg, "Is a directory"));
	assert_null(strchr(err.msg, '\n'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_namespace_file_names_the_namespace),
		cmocka_unit_test(test_missing_or_empty_namespace_file_means_default),
		cmocka_unit_test(test_unreadable_namespace_file_is_an_error_not_default),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
