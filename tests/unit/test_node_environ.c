/* environ_parse / env_get / env_set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "node/environ.h"

static void test_environ_splits_nul_separated_entries(void **state)
{
	static const char buf[] = "PATH=/usr/bin\0HOME=/root\0EMPTY=\0";
	_cleanup_strv_ char **env = environ_parse(buf, sizeof(buf) - 1);

	assert_non_null(env);
	assert_int_equal(strv_len(env), 3);
	assert_string_equal(env_get(env, "PATH"), "/usr/bin");
	assert_string_equal(env_get(env, "HOME"), "/root");
	assert_string_equal(env_get(env, "EMPTY"), "");
	assert_null(env_get(env, "PAT"));
	assert_null(env_get(env, "MISSING"));
}

static void test_environ_tolerates_missing_trailing_nul_and_junk(void **state)
{
	static const char buf[] = "junk\0A=1\0=nokey\0\0B=x=y";
	_cleanup_strv_ char **env = environ_parse(buf, sizeof(buf) - 1);

	assert_int_equal(strv_len(env), 2);
	assert_string_equal(env[0], "A=1");
	assert_string_equal(env_get(env, "B"), "x=y");
}

static void test_environ_empty_buffer_gives_empty_vector(void **state)
{
	_cleanup_strv_ char **env = environ_parse("", 0);
	assert_non_null(env);
	assert_null(env[0]);
}

static void test_env_set_replaces_appends_and_removes(void **state)
{
	static const char buf[] = "PATH=/bin\0TERM=dumb\0LANG=C\0";
	_cleanup_strv_ char **env = environ_parse(buf, sizeof(buf) - 1);

	assert_int_equal(env_set(&env, "PATH", "/usr/local/bin:/usr/bin"), 0);
	assert_string_equal(env_get(env, "PATH"), "/usr/local/bin:/usr/bin");
	assert_int_equal(strv_len(env), 3);
	assert_int_equal(env_set(&env, "NEW", "v"), 0);
	assert_int_equal(strv_len(env), 4);
	assert_string_equal(env[3], "NEW=v");
	assert_int_equal(env_set(&env, "TERM", NULL), 0);
	assert_int_equal(strv_len(env), 3);
	assert_null(env_get(env, "TERM"));
	assert_string_equal(env[1], "LANG=C"); /* order of the rest kept */
	assert_int_equal(env_set(&env, "ABSENT", NULL), 0);
	assert_int_equal(strv_len(env), 3);
}

static void test_env_set_on_null_vector_creates_it(void **state)
{
	_cleanup_strv_ char **env = NULL;
	assert_int_equal(env_set(&env, "K", "V"), 0);
	assert_string_equal(env[0], "K=V");
	assert_null(env[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_environ_splits_nul_separated_entries),
		cmocka_unit_test(test_environ_tolerates_missing_trailing_nul_and_junk),
		cmocka_unit_test(test_environ_empty_buffer_gives_empty_vector),
		cmocka_unit_test(test_env_set_replaces_appends_and_removes),
		cmocka_unit_test(test_env_set_on_null_vector_creates_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
