/* The watch stream (src/kube/watch.c): newline-delimited JSON events through the public
 * decoder, fed in reads of varying size; the callback stops on an event when the input asks. */
#include "fuzz.h"

#include "common/err.h"
#include "kube/watch.h"

static int on_event(const struct kube_watch_event *ev, void *userdata, struct cntr_err *err)
{
	const int *stop_on_deleted = userdata;
	if (!json_is_object(ev->object))
		abort(); /* the decoder promises an object */
	return *stop_on_deleted && ev->type == KUBE_WATCH_DELETED ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk = fuzz_chunk_size(&data, &size);
	int stop_on_deleted = chunk % 2;
	struct kube_watch_decoder d;
	struct cntr_err err;

	kube_watch_decoder_init(&d, on_event, &stop_on_deleted);
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		if (kube_watch_decoder_feed(&d, (const char *)data + off, n, &err) != 0)
			break;
	}
	kube_watch_decoder_free(&d);
	return 0;
}
