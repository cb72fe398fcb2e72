/* RFC 3339 timestamps as the API and exec credential plugins write them
 * (`2024-05-01T12:00:00Z`, `2024-05-01T12:00:00.123456Z`, `2024-05-01T14:00:00+02:00`). */
#pragma once
#include <time.h>

/* Parse text into seconds since the epoch (fractions dropped). Returns 0, or -1 when text is
 * not such a timestamp. */
int kube_parse_rfc3339(const char *text, time_t *out);
