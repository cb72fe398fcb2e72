/* `-t TYPES` parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "node/resolve.h"

#include <string.h>

static void test_types_every_word(void **state)
{
	unsigned mask = 0;
	struct cntr_err err = { 0 };

	assert_int_equal(resolver_types_parse("pid,id,docker,podman,containerd,crio,nspawn,lxc,command",
					      &mask, &err), 0);
	assert_int_equal(mask, RESOLVE_DEFAULT | RESOLVE_COMMAND);
	assert_int_equal(resolver_types_parse("containerd", &mask, &err), 0);
	assert_int_equal(mask, RESOLVE_CONTAINERD);
	assert_int_equal(resolver_types_parse("id,pid,id", &mask, &err), 0);
	assert_int_equal(mask, RESOLVE_ID | RESOLVE_PID);
}

static void test_default_set_excludes_command(void **state)
{
	assert_int_equal(RESOLVE_DEFAULT & RESOLVE_COMMAND, 0);
	assert_int_not_equal(RESOLVE_DEFAULT & RESOLVE_LXC, 0);
}

static void test_unknown_type_is_a_usage_error(void **state)
{
	unsigned mask = 12345;
	struct cntr_err err = { 0 };

	assert_int_equal(resolver_types_parse("pid,foo", &mask, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_USAGE);
	assert_string_equal(err.msg, "unknown container type 'foo' (valid: pid,id,docker,podman,"
				     "containerd,crio,nspawn,lxc,command)");
	assert_int_equal(mask, 12345); /* untouched on error */
	assert_int_equal(resolver_types_parse("Docker", &mask, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_USAGE);
	assert_int_equal(resolver_types_parse("", &mask, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_USAGE);
	assert_int_equal(resolver_types_parse(",", &mask, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_every_word),
		cmocka_unit_test(test_default_set_excludes_command),
		cmocka_unit_test(test_unknown_type_is_a_usage_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
