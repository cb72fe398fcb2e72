/* agent_audit_format: the line a session writes to its agent's log — escaped, cut to fit one
 * pipe write, the outcome kept when what the broker said is too long. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "node/agent_audit.h"

static void test_a_plain_line_is_prefix_event_what_and_outcome(void **state)
{
	char line[PIPE_BUF];

	agent_audit_format(line, sizeof(line), "session ended: ", "user \"erin\" on node \"n1\"",
			   ": exit status 3 after 0.5s");
	assert_string_equal(line, "lambda-cntr agent: audit: session ended: user \"erin\" on node \"n1\": exit status 3 "
				  "after 0.5s");
	agent_audit_format(line, sizeof(line), "session started: ", "u", NULL);
	assert_string_equal(line, "lambda-cntr agent: audit: session started: u");
}

static void test_backslashes_and_control_characters_are_escaped(void **state)
{
	char line[PIPE_BUF];

	agent_audit_format(line, sizeof(line), "session started: ", "a\nb\r\x1b[2J\\c\x7f\t\xc3\xa9", NULL);
	assert_string_equal(line, "lambda-cntr agent: audit: session started: a\\x0ab\\x0d\\x1b[2J\\\\c\\x7f\\x09\xc3\xa9");
}

static void test_a_long_what_is_cut_and_the_outcome_kept(void **state)
{
	char line[PIPE_BUF], *what = malloc(10000);

	memset(what, 'x', 9999);
	what[9999] = '\0';
	agent_audit_format(line, sizeof(line), "session ended: ", what, ": exit status 4 after 1.0s");
	assert_true(strlen(line) < sizeof(line));
	assert_non_null(strstr(line, "xxx...: exit status 4 after 1.0s"));
	assert_int_equal(strspn(line + strlen("lambda-cntr agent: audit: session ended: "), "x"), AGENT_AUDIT_WHAT_MAX);
	/* escapes are never split: cut before one that does not fit */
	memset(what, '\n', 9999);
	agent_audit_format(line, sizeof(line), "session started: ", what, NULL);
	assert_true(strlen(line) < sizeof(line));
	assert_non_null(strstr(line, "\\x0a..."));
	free(what);
}

static void test_everything_is_cut_to_the_buffer(void **state)
{
	char line[AGENT_AUDIT_LINE_MIN];
	char outcome[1200];

	memset(outcome, 'y', sizeof(outcome) - 1);
	outcome[sizeof(outcome) - 1] = '\0';
	agent_audit_format(line, sizeof(line), "session ended: ", "user", outcome);
	assert_int_equal(strlen(line), sizeof(line) - 1);
	assert_memory_equal(line + sizeof(line) - 4, "...", 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_plain_line_is_prefix_event_what_and_outcome),
		cmocka_unit_test(test_backslashes_and_control_characters_are_escaped),
		cmocka_unit_test(test_a_long_what_is_cut_and_the_outcome_kept),
		cmocka_unit_test(test_everything_is_cut_to_the_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
