/* Extracting an (uncompressed) tar stream into a directory, safely for untrusted input: every
 * entry is created through openat2(RESOLVE_IN_ROOT) relative to the root, so no entry — nor a
 * symlink made by an earlier entry or layer — can place a file outside it. OCI layer
 * whiteouts (".wh.NAME", ".wh..wh..opq") are applied as they come. ustar, pax ('x') and GNU
 * long names ('L', 'K'). Devices are skipped (a capsule image has no use for them). */
#pragma once
#include <stdbool.h>

struct cntr_err;

struct tar_options {
	bool whiteouts;   /* an OCI layer: apply .wh. entries instead of creating them */
};

/* Read the tar stream from fd until its end marker (or EOF) into root_fd. */
int tar_extract(int fd, int root_fd, const struct tar_options *o, struct cntr_err *err);
