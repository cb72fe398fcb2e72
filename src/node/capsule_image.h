/* A capsule's image (docs/capsules.md): a directory (an unpacked root), an OCI image layout
 * directory, or an OCI image archive (a tar of a layout). Layouts and archives are unpacked
 * once into a cache keyed by the manifest digest ($CNTR_CAPSULE_CACHE, default
 * /var/cache/cntr/capsules/<sha256>/rootfs) with tar_extract (every entry confined to the
 * root, whiteouts applied); gzip and zstd layers go through the node's gzip/zstd. */
#pragma once

struct cntr_err;

struct capsule_image {
	char *rootfs;        /* absolute path of the root to use as the overlay's lower layer */
	char **entrypoint;   /* from the image config, NULL-terminated, or NULL */
	char **cmd;
	char **env;          /* KEY=VALUE */
	char *workdir;       /* or NULL */
	int hold_fd;         /* a cached entry's shared lock for the run (capsule_cache_hold), or -1 */
};

int capsule_image_open(const char *image, struct capsule_image *out, struct cntr_err *err);
void capsule_image_release(struct capsule_image *img);

