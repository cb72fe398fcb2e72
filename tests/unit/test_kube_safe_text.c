/* Server text on the user's terminal: every C0 and C1 control escaped (C1 both as raw bytes and
 * as UTF-8), line breaks folded, and ordinary text, UTF-8 included, left alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kube/safe_text.h"
#include "kube/status.h"

static void check(const char *in, size_t len, const char *expected)
{
	char *out = kube_safe_textn(in, len);
	assert_string_equal(out, expected);
	free(out);
}

#define CHECK(in, expected) check((in), sizeof(in) - 1, (expected))

static void test_esc_sequences_are_escaped(void **state)
{
	/* A window-title change (OSC ... BEL) and a colour (CSI ... m) in 7-bit form. */
	CHECK("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07");
	CHECK("back-off \x1b[31mred\x1b[0m", "back-off \\x1b[31mred\\x1b[0m");
	CHECK("\x1bP+q\x1b\\", "\\x1bP+q\\x1b\\"); /* DCS answer-back request */
}

static void test_csi_as_raw_byte_and_as_utf8_is_escaped(void **state)
{
	CHECK("\x9b" "31m", "\\x9b31m");         /* 8-bit CSI, not valid UTF-8 */
	CHECK("\xc2\x9b" "31m", "\\u009b31m");   /* U+009B encoded in UTF-8 */
	CHECK("\xc2\x80\xc2\x9f", "\\u0080\\u009f"); /* both ends of the C1 range */
	CHECK("\x9d" "0;t\x9c", "\\x9d0;t\\x9c");   /* 8-bit OSC ... ST */
}

static void test_every_c0_control_and_del_is_escaped(void **state)
{
	for (unsigned c = 0; c < 0x20; c++) {
		char in[3] = { 'a', (char)c, 'b' }, expected[8];
		if (c == '\n' || c == '\r' || c == '\t')
			snprintf(expected, sizeof(expected), "a b");
		else
			snprintf(expected, sizeof(expected), "a\\x%02xb", c);
		check(in, sizeof(in), expected);
	}
	CHECK("a\x7f" "b", "a\\x7fb");
}

static void test_line_breaks_fold_and_trailing_blanks_go(void **state)
{
	CHECK("panic: boom\n\tat main.go:3\n", "panic: boom  at main.go:3");
	CHECK("one\r\ntwo   ", "one  two");
}

static void test_ordinary_utf8_passes_unchanged(void **state)
{
	/* é, 日本 (with continuation bytes in 0x80-0x9f), U+00A0, an emoji, U+FFFD. */
	CHECK("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xc2\xa0 \xf0\x9f\x90\xb3 \xef\xbf\xbd",
	      "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xc2\xa0 \xf0\x9f\x90\xb3 \xef\xbf\xbd");
	CHECK("pods \"web\" is forbidden: User \"x\\y\"", "pods \"web\" is forbidden: User \"x\\y\"");
}

static void test_invalid_utf8_bytes_are_escaped_one_by_one(void **state)
{
	CHECK("\xc0\x9b", "\\xc0\\x9b");         /* overlong form of ESC */
	CHECK("\xe6\x97", "\\xe6\\x97");         /* cut sequence */
	CHECK("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* surrogate */
	CHECK("\xff" "ok", "\\xffok");
}

static void test_nul_and_null_input(void **state)
{
	char *out = kube_safe_text(NULL);
	assert_string_equal(out, "");
	free(out);
	CHECK("a\0b", "a\\x00b");
}

static void test_status_messages_from_the_server_are_escaped(void **state)
{
	static const char status[] = "{\"kind\":\"Status\",\"message\":\"pods \\\"x\\u001b]0;pwned\\u0007\\\" \\u009b31m\"}";
	static const char page[] = "<html>\x1b[2J\x9b" "1m</html>";
	char *msg = kube_status_message(403, status, strlen(status));
	assert_string_equal(msg, "pods \"x\\x1b]0;pwned\\x07\" \\u009b31m");
	free(msg);
	msg = kube_status_message(502, page, strlen(page));
	assert_string_equal(msg, "HTTP 502: <html>\\x1b[2J\\x9b1m</html>");
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_esc_sequences_are_escaped),
		cmocka_unit_test(test_csi_as_raw_byte_and_as_utf8_is_escaped),
		cmocka_unit_test(test_every_c0_control_and_del_is_escaped),
		cmocka_unit_test(test_line_breaks_fold_and_trailing_blanks_go),
		cmocka_unit_test(test_ordinary_utf8_passes_unchanged),
		cmocka_unit_test(test_invalid_utf8_bytes_are_escaped_one_by_one),
		cmocka_unit_test(test_nul_and_null_input),
		cmocka_unit_test(test_status_messages_from_the_server_are_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
