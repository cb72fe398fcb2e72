/* env_name_is_safe / env_drop_unsafe: the target's variables that may reach the tools. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "node/env_filter.h"

static bool safe(const char *name)
{
	return env_name_is_safe(name, strlen(name));
}

static void test_loader_libc_and_shell_hooks_are_unsafe(void **state)
{
	static const char *const hooks[] = {
		"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "GCONV_PATH", "GLIBC_TUNABLES", "LOCPATH",
		"MALLOC_CHECK_", "BASH_ENV", "ENV", "PROMPT_COMMAND", "PS1", "PS4", "IFS", "SHELLOPTS",
		"HOME", "ZDOTDIR", "INPUTRC",
	};
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		if (safe(hooks[i]))
			fail_msg("%s passed the filter", hooks[i]);
	}
}

static void test_interpreter_and_tool_hooks_are_unsafe(void **state)
{
	static const char *const hooks[] = {
		"PYTHONPATH", "PYTHONSTARTUP", "PERL5OPT", "PERL5LIB", "PERLLIB", "RUBYOPT", "NODE_OPTIONS",
		"JAVA_TOOL_OPTIONS", "LESSOPEN", "PAGER", "EDITOR", "GIT_SSH_COMMAND", "XDG_CONFIG_HOME",
		"OPENSSL_CONF", "SSL_CERT_FILE", "TERMINFO", "LUA_INIT",
	};
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		if (safe(hooks[i]))
			fail_msg("%s passed the filter", hooks[i]);
	}
}

static void test_names_that_are_not_identifiers_are_unsafe(void **state)
{
	assert_false(safe("BASH_FUNC_id%%"));
	assert_false(safe("1ABC"));
	assert_false(safe("A-B"));
	assert_false(safe(""));
	/* The name is the first len bytes: "LD" is not "LD_PRELOAD", "LD_" is a hook prefix. */
	assert_true(env_name_is_safe("LD_PRELOAD", 2));
	assert_false(env_name_is_safe("LD_PRELOAD", 3));
}

static void test_application_settings_pass(void **state)
{
	static const char *const kept[] = {
		"DATABASE_URL", "APP_ENV", "LANG", "LC_ALL", "TZ", "HOSTNAME", "KUBERNETES_SERVICE_HOST",
		"http_proxy", "JAVA_HOME", "_", "ENVIRONMENT", "HOMEPAGE", "PS", "LD",
	};
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		if (!safe(kept[i]))
			fail_msg("%s was dropped", kept[i]);
	}
}

static char **vector(const char *const *items, size_t n)
{
	char **v = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(items[i]);
	return v;
}

static void test_drop_keeps_order_and_names_what_it_dropped(void **state)
{
	static const char *const items[] = {
		"A=1", "LD_PRELOAD=/x.so", "B=2", "BASH_FUNC_f%%=() { :; }", "noequals", "C=3=4",
	};
	_cleanup_strv_ char **env = vector(items, 6);
	_cleanup_free_ char *dropped = env_drop_unsafe(env);

	assert_int_equal(strv_len(env), 3);
	assert_string_equal(env[0], "A=1");
	assert_string_equal(env[1], "B=2");
	assert_string_equal(env[2], "C=3=4");
	assert_string_equal(dropped, "LD_PRELOAD, BASH_FUNC_f%%, noequals");
}

static void test_drop_of_a_clean_environment_returns_null(void **state)
{
	static const char *const items[] = { "A=1", "PATH=/bin" };
	_cleanup_strv_ char **env = vector(items, 2);

	assert_null(env_drop_unsafe(env));
	assert_int_equal(strv_len(env), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loader_libc_and_shell_hooks_are_unsafe),
		cmocka_unit_test(test_interpreter_and_tool_hooks_are_unsafe),
		cmocka_unit_test(test_names_that_are_not_identifiers_are_unsafe),
		cmocka_unit_test(test_application_settings_pass),
		cmocka_unit_test(test_drop_keeps_order_and_names_what_it_dropped),
		cmocka_unit_test(test_drop_of_a_clean_environment_returns_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
