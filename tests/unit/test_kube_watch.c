/* The watch decoder: newline-delimited events split anywhere across reads, ERROR events
 * (410 Gone -> relist, others -> error), callback stop/abort, resourceVersion tracking. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "kube/watch.h"

struct seen {
	int count;
	enum kube_watch_type types[16];
	char names[16][32];
	int stop_after; /* 0 = never */
	bool fail;
};

static int record_event(const struct kube_watch_event *ev, void *userdata, struct cntr_err *err)
{
	struct seen *s = userdata;
	const char *name = json_string_value(json_object_get(json_object_get(ev->object, "metadata"), "name"));
	if (s->fail)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "callback refused %s", name);
	s->types[s->count] = ev->type;
	strncpy(s->names[s->count], name ? name : "", sizeof(s->names[0]) - 1);
	s->count++;
	return s->stop_after && s->count >= s->stop_after ? 1 : 0;
}

static const char stream[] =
	"{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"10\"}}}\n"
	"\n"
	"{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"b\",\"resourceVersion\":\"11\"},\"status\":{\"phase\":\"Running\"}}}\r\n"
	"{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"resourceVersion\":\"12\"}}}\n"
	"{\"type\":\"DELETED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":\"c\",\"resourceVersion\":\"13\"}}}\n";

static void check_full_stream(const struct seen *s, const struct kube_watch_decoder *d)
{
	assert_int_equal(s->count, 4);
	assert_int_equal(s->types[0], KUBE_WATCH_ADDED);
	assert_string_equal(s->names[0], "a");
	assert_int_equal(s->types[1], KUBE_WATCH_MODIFIED);
	assert_string_equal(s->names[1], "b");
	assert_int_equal(s->types[2], KUBE_WATCH_BOOKMARK);
	assert_int_equal(s->types[3], KUBE_WATCH_DELETED);
	assert_string_equal(s->names[3], "c");
	assert_string_equal(d->last_resource_version, "13");
}

static void test_events_split_at_every_possible_point_are_all_delivered(void **state)
{
	size_t len = strlen(stream);
	for (size_t cut = 0; cut <= len; cut++) {
		struct seen s = { 0 };
		struct kube_watch_decoder d;
		struct cntr_err err = { 0 };
		kube_watch_decoder_init(&d, record_event, &s);
		assert_int_equal(kube_watch_decoder_feed(&d, stream, cut, &err), 0);
		assert_int_equal(kube_watch_decoder_feed(&d, stream + cut, len - cut, &err), 0);
		check_full_stream(&s, &d);
		kube_watch_decoder_free(&d);
	}
}

static void test_events_fed_byte_by_byte_are_all_delivered(void **state)
{
	struct seen s = { 0 };
	struct kube_watch_decoder d;
	struct cntr_err err = { 0 };
	kube_watch_decoder_init(&d, record_event, &s);
	for (size_t i = 0; stream[i]; i++)
		assert_int_equal(kube_watch_decoder_feed(&d, stream + i, 1, &err), 0);
	check_full_stream(&s, &d);
	kube_watch_decoder_free(&d);
}

static void test_callback_can_stop_the_watch(void **state)
{
	struct seen s = { .stop_after = 2 };
	struct kube_watch_decoder d;
	struct cntr_err err = { 0 };
	kube_watch_decoder_init(&d, record_event, &s);
	assert_int_equal(kube_watch_decoder_feed(&d, stream, strlen(stream), &err), 1);
	assert_int_equal(d.result, KUBE_WATCH_STOPPED);
	assert_int_equal(s.count, 2);
	/* nothing more is dispatched after a result */
	assert_int_equal(kube_watch_decoder_feed(&d, stream, strlen(stream), &err), 1);
	assert_int_equal(s.count, 2);
	kube_watch_decoder_free(&d);
}

static void test_callback_error_aborts_with_its_message(void **state)
{
	struct seen s = { .fail = true };
	struct kube_watch_decoder d;
	struct cntr_err err = { 0 };
	kube_watch_decoder_init(&d, record_event, &s);
	assert_int_equal(kube_watch_decoder_feed(&d, stream, strlen(stream), &err), -1);
	assert_string_equal(err.msg, "callback refused a");
	kube_watch_decoder_free(&d);
}

static void test_error_event_410_means_relist(void **state)
{
	static const char gone[] =
		"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
		"\"message\":\"too old resource version: 1 (5)\",\"reason\":\"Expired\",\"code\":410}}\n";
	struct seen s = { 0 };
	struct kube_watch_decoder d;
	struct cntr_err err = { 0 };
	kube_watch_decoder_init(&d, record_event, &s);
	assert_int_equal(kube_watch_decoder_feed(&d, gone, strlen(gone), &err), 1);
	assert_int_equal(d.result, KUBE_WATCH_GONE);
	assert_int_equal(s.count, 0); /* ERROR events never reach the callback */
	kube_watch_decoder_free(&d);
}

static void test_other_error_event_is_reported_with_status_message(void **state)
{
	static const char forbidden[] =
		"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"status\":\"Failure\","
		"\"message\":\"internal error: etcd unavailable\",\"reason\":\"InternalError\",\"code\":500}}\n";
	struct seen s = { 0 };
	struct kube_watch_decoder d;
	struct cntr_err err = { 0 };
	kube_watch_decoder_init(&d, record_event, &s);
	assert_int_equal(kube_watch_decoder_feed(&d, forbidden, strlen(forbidden), &err), -1);
	assert_string_equal(err.msg, "watch: internal error: etcd unavailable");
	kube_watch_decoder_free(&d);
}

static void test_parse_event_rejects_malformed_lines(void **state)
{
	static const struct {
		const char *line;
		const char *expect;
	} bad[] = {
		{ "{not json", "not JSON" },
		{ "{\"object\":{}}", "without a type" },
		{ "{\"type\":5,\"object\":{}}", "without a type" },
		{ "{\"type\":\"ADDED\"}", "without an object" },
		{ "{\"type\":\"ADDED\",\"object\":\"x\"}", "without an object" },
		{ "{\"type\":\"EXPLODED\",\"object\":{}}", "unknown event type" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum kube_watch_type type;
		json_t *obj = NULL;
		struct cntr_err err = { 0 };
		assert_int_equal(kube_watch_parse_event(bad[i].line, strlen(bad[i].line), &type, &obj, &err), -1);
		if (!strstr(err.msg, bad[i].expect))
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].line, err.msg, bad[i].expect);
		assert_null(obj);
	}
}

static void test_error_event_object_is_a_status_even_when_type_comes_last(void **state)
{
	/* key order must not matter: the type is unpacked on its own first */
	static const char line[] = "{\"object\":{\"kind\":\"Status\",\"code\":410},\"type\":\"ERROR\"}";
	enum kube_watch_type type;
	json_t *obj = NULL;
	struct cntr_err err = { 0 };
	assert_int_equal(kube_watch_parse_event(line, strlen(line), &type, &obj, &err), 0);
	assert_int_equal(type, KUBE_WATCH_ERROR);
	assert_int_equal(json_integer_value(json_object_get(obj, "code")), 410);
	json_decref(obj);
}

/* Feed len bytes of filler (no newline) in chunks as libcurl delivers them; the number of bytes
 * fed before the decoder gave up, or len when it never did. */
static size_t feed_without_newline(struct kube_watch_decoder *d, size_t len, struct cntr_err *err)
{
	enum { CHUNK = 64 << 10 };
	char *chunk = malloc(CHUNK);
	size_t fed = 0;

	assert_non_null(chunk);
	memset(chunk, 'x', CHUNK);
	while (fed < len) {
		int r = kube_watch_decoder_feed(d, chunk, CHUNK, err);
		fed += CHUNK;
		if (r != 0) {
			assert_int_equal(r, -1);
			break;
		}
	}
	free(chunk);
	return fed;
}

static void test_64_mib_without_newline_is_refused_at_the_cap(void **state)
{
	/* The old decoder buffered all of it and rescanned it on every read (34 s, 64 MiB held);
	 * now the line is refused as soon as it passes the cap. */
	struct seen s = { 0 };
	struct kube_watch_decoder d;
	struct cntr_err err = { 0 };
	size_t fed;

	kube_watch_decoder_init(&d, record_event, &s);
	fed = feed_without_newline(&d, 64u << 20, &err);
	assert_true(fed <= KUBE_WATCH_EVENT_MAX + (64 << 10));
	assert_string_equal(err.msg, "watch: an event is larger than 4 MiB (lambda-cntr's limit for one watch "
				     "event); the server's stream is not a Kubernetes watch");
	assert_true(d.pending.len <= KUBE_WATCH_EVENT_MAX);
	assert_int_equal(s.count, 0);
	kube_watch_decoder_free(&d);
}

static void test_line_over_the_cap_fails_even_after_good_events(void **state)
{
	static const char good[] = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n";
	size_t big = KUBE_WATCH_EVENT_MAX + 1;
	char *line = malloc(big + 1);
	struct seen s = { 0 };
	struct kube_watch_decoder d;
	struct cntr_err err = { 0 };

	assert_non_null(line);
	memset(line, ' ', big);
	line[big] = '\n';
	kube_watch_decoder_init(&d, record_event, &s);
	assert_int_equal(kube_watch_decoder_feed(&d, good, strlen(good), &err), 0);
	/* split: the first part alone is under the cap, the whole line is not */
	assert_int_equal(kube_watch_decoder_feed(&d, line, 1000, &err), 0);
	assert_int_equal(kube_watch_decoder_feed(&d, line + 1000, big + 1 - 1000, &err), -1);
	assert_non_null(strstr(err.msg, "larger than 4 MiB"));
	assert_int_equal(s.count, 1);
	kube_watch_decoder_free(&d);
	free(line);
}

static void test_big_event_under_the_cap_split_in_many_reads_is_delivered(void **state)
{
	/* A 3 MiB pod (large annotations), delivered in 16 KiB reads, then a small event. */
	const size_t filler = 3u << 20;
	static const char head[] = "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"big\",\"annotations\":{\"a\":\"";
	static const char tail[] = "\"}}}}\n{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"z\"}}}\n";
	size_t len = strlen(head) + filler + strlen(tail);
	char *stream_text = malloc(len);
	struct seen s = { 0 };
	struct kube_watch_decoder d;
	struct cntr_err err = { 0 };

	assert_non_null(stream_text);
	memcpy(stream_text, head, strlen(head));
	memset(stream_text + strlen(head), 'v', filler);
	memcpy(stream_text + strlen(head) + filler, tail, strlen(tail));
	kube_watch_decoder_init(&d, record_event, &s);
	for (size_t off = 0; off < len; off += 16384) {
		size_t n = len - off < 16384 ? len - off : 16384;
		if (kube_watch_decoder_feed(&d, stream_text + off, n, &err) != 0)
			fail_msg("%s", err.msg);
	}
	assert_int_equal(s.count, 2);
	assert_string_equal(s.names[0], "big");
	assert_string_equal(s.names[1], "z");
	assert_int_equal(d.pending.len, 0);
	kube_watch_decoder_free(&d);
	free(stream_text);
}

static void test_bad_event_text_is_escaped_in_the_error(void **state)
{
	static const char line[] = "{\"type\":\"\\u001b]0;pwned\\u0007\",\"object\":{}}";
	static const char junk[] = "\x1b[2J not json";
	enum kube_watch_type type;
	json_t *obj = NULL;
	struct cntr_err err = { 0 };

	assert_int_equal(kube_watch_parse_event(line, strlen(line), &type, &obj, &err), -1);
	assert_string_equal(err.msg, "watch: unknown event type \"\\x1b]0;pwned\\x07\"");
	assert_int_equal(kube_watch_parse_event(junk, strlen(junk), &type, &obj, &err), -1);
	assert_null(strchr(err.msg, '\x1b'));
	assert_non_null(strstr(err.msg, "\\x1b[2J not json"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events_split_at_every_possible_point_are_all_delivered),
		cmocka_unit_test(test_events_fed_byte_by_byte_are_all_delivered),
		cmocka_unit_test(test_callback_can_stop_the_watch),
		cmocka_unit_test(test_callback_error_aborts_with_its_message),
		cmocka_unit_test(test_error_event_410_means_relist),
		cmocka_unit_test(test_other_error_event_is_reported_with_status_message),
		cmocka_unit_test(test_parse_event_rejects_malformed_lines),
		cmocka_unit_test(test_error_event_object_is_a_status_even_when_type_comes_last),
		cmocka_unit_test(test_64_mib_without_newline_is_refused_at_the_cap),
		cmocka_unit_test(test_line_over_the_cap_fails_even_after_good_events),
		cmocka_unit_test(test_big_event_under_the_cap_split_in_many_reads_is_delivered),
		cmocka_unit_test(test_bad_event_text_is_escaped_in_the_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
