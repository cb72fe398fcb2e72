/* Engines' JSON without a JSON library (src/node/engine_json.c): docker's HTTP answer and
 * inspect body (engine_docker.c), runc's state.json (engine_runc.c), and the span helpers on
 * whatever value a path or an array index leads to. */
#include "fuzz.h"

#include "common/err.h"
#include "node/engine_docker.h"
#include "node/engine_json.h"
#include "node/engine_runc.h"
#include "node/resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[][3] = {
		{ "State", "Pid", NULL },
		{ "Config", "Labels", "io.kubernetes.pod.name" },
	};
	char *text = fuzz_cstring(data, size);
	struct json_span doc = json_span_of(text), v;
	struct container_ref ref;
	struct cntr_err err;
	const char *body;
	size_t body_len;
	int status;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		size_t n = paths[i][2] ? 3 : 2;
		if (json_span_member_path(doc, paths[i], n, &v) == 0) {
			char small[8], big[256];
			long long x;
			if (v.start < text || v.start + v.len > text + size)
				abort(); /* a span never leaves the text */
			json_span_int(v, &x);
			json_span_string(v, small, sizeof(small));
			json_span_string(v, big, sizeof(big));
		}
	}
	/* Arrays: docker's Args and Mounts, element by element until the end. */
	for (size_t i = 0; i < 2; i++) {
		struct json_span arr, item;
		if (json_span_member(doc, i ? "Mounts" : "Args", &arr) < 0)
			continue;
		for (size_t k = 0; k < 16 && json_span_item(arr, k, &item) == 0; k++) {
			char s[64];
			if (item.start < text || item.start + item.len > text + size)
				abort();
			json_span_string(item, s, sizeof(s));
			json_span_member(item, "Destination", &v);
		}
	}
	runc_state_init_pid(text);
	docker_parse_inspect(text, size, "fuzz", &ref, &err);
	if (docker_http_split(text, size, &status, &body, &body_len) == 0) {
		if (body < text || body + body_len != text + size)
			abort();
		docker_parse_inspect(body, body_len, "fuzz", &ref, &err);
	}
	return 0;
}
