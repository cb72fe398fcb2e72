/* Text from the network (API server, agent output, exec plugin) made safe to print: the one
 * place that decides what server-provided text may put on a user's terminal (DESIGN.md §5,
 * "values from the API are data"). A container's termination message or a waiting reason is
 * written by whoever controls that container; printed raw, an ESC or CSI sequence in it could
 * retitle the window, rewrite what the user sees, or (on some terminals) answer back. */
#pragma once
#include <stddef.h>

/* A malloc'd copy of len bytes of text for a one-line message:
 *  - newline, carriage return and tab become a space (termination logs have several lines);
 *  - every other C0 control (0x00-0x1f) and DEL (0x7f) becomes "\xNN";
 *  - the C1 controls U+0080-U+009F, encoded in UTF-8 (0xC2 0x80-0x9F), become "\u00NN";
 *  - any byte that is not part of valid UTF-8 (a raw 0x80-0x9f is a C1 control to a terminal in
 *    an 8-bit mode) becomes "\xNN";
 *  - trailing spaces are dropped.
 * Everything else, printable ASCII and valid UTF-8 ("é", "日本"), is kept as it is. Backslashes
 * are kept too: the result is for people, it is not meant to be unescaped. */
char *kube_safe_textn(const char *text, size_t len);

/* Same for a NUL-terminated string; NULL gives "". */
char *kube_safe_text(const char *text);
