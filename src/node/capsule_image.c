#include "capsule_image.h"

#include "capsule_cache.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/strutil.h"
#include "engine_json.h"
#include "tar_extract.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define JSON_MAX (4 << 20) /* index, manifest or config: a few KiB in practice */

#if defined(__x86_64__)
#define IMAGE_ARCH "amd64"
#elif defined(__aarch64__)
#define IMAGE_ARCH "arm64"
#else
#define IMAGE_ARCH ""
#endif

/* "sha256:<64 hex>" -> the hex part; anything else (a path in disguise) is refused. */
static const char *digest_hex(const char *digest)
{
	if (!str_has_prefix(digest, "sha256:") || strlen(digest + 7) != 64 || !str_is_hex(digest + 7))
		return NULL;
	return digest + 7;
}

/* A blob is named by its content: one whose bytes hash to anything else was damaged or
 * altered, and is never used. */
static int check_digest(const char *hex, const char *actual, struct cntr_err *err)
{
	if (strcasecmp(hex, actual) == 0)
		return 0;
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "image: blob sha256:%.12s... does not match its digest (its content hashes to sha256:%.12s...): "
			 "the image is damaged or was altered",
			 hex, actual);
}

static int read_blob(const char *layout, const char *digest, char **text, struct cntr_err *err)
{
	const char *hex = digest_hex(digest);
	_cleanup_free_ char *path = NULL;
	char actual[65];
	size_t len = 0;

	if (!hex)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "image: unsupported digest '%.80s'", digest);
	path = xasprintf("%s/blobs/sha256/%s", layout, hex);
	if (read_file_at(AT_FDCWD, path, text, &len, err) < 0)
		return -1;
	if (len > JSON_MAX)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "image: %s is larger than a manifest can be", path);
	cntr_sha256_hex(*text, len, actual);
	return check_digest(hex, actual, err);
}

/* Layers are hashed before they are unpacked (a second read, but only on the cold path: an
 * image is unpacked once per manifest digest). */
static int check_layer_digest(const char *blob, const char *hex, struct cntr_err *err)
{
	_cleanup_close_ int fd = open(blob, O_RDONLY | O_CLOEXEC);
	char actual[65];

	if (fd < 0)
		return cntr_fail_errno(err, "image layer %s", blob);
	if (cntr_sha256_fd(fd, actual) < 0)
		return cntr_fail_errno(err, "read image layer %s", blob);
	return check_digest(hex, actual, err);
}

static int span_string(struct json_span obj, const char *key, char *buf, size_t size)
{
	struct json_span v;
	return json_span_member(obj, key, &v) == 0 ? json_span_string(v, buf, size) : -1;
}

/* The manifest for this machine: the index's entries, descending into a nested index and
 * picking linux/<our architecture> there (or the only one). */
static int find_manifest(const char *layout, const char *index_text, char *digest, size_t size,
			 int depth, struct cntr_err *err)
{
	struct json_span manifests, m;
	char media[128] = "", arch[32] = "";

	if (depth > 2 || json_span_member(json_span_of(index_text), "manifests", &manifests) < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "image: index.json lists no manifests");
	for (size_t i = 0; json_span_item(manifests, i, &m) == 0; i++) {
		struct json_span platform;
		if (span_string(m, "digest", digest, size) < 0)
			continue;
		span_string(m, "mediaType", media, sizeof(media));
		if (json_span_member(m, "platform", &platform) == 0 &&
		    span_string(platform, "architecture", arch, sizeof(arch)) == 0 && strcmp(arch, IMAGE_ARCH) != 0)
			continue;
		if (strstr(media, "image.index") || strstr(media, "manifest.list")) {
			_cleanup_free_ char *nested = NULL;
			if (read_blob(layout, digest, &nested, err) < 0)
				return -1;
			return find_manifest(layout, nested, digest, size, depth + 1, err);
		}
		return 0;
	}
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "image: no manifest for linux/%s", IMAGE_ARCH);
}

/* gzip/zstd through the node's own tool: its stdout is the tar stream. */
static int open_layer_stream(const char *blob, const char *media, pid_t *child, struct cntr_err *err)
{
	const char *tool = strstr(media, "zstd") ? "zstd" : strstr(media, "gzip") ? "gzip" : NULL;
	int in = open(blob, O_RDONLY | O_CLOEXEC), pipefd[2];

	*child = -1;
	if (in < 0)
		return cntr_fail_errno(err, "image layer %s", blob);
	if (!tool)
		return in;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		close(in);
		return cntr_fail_errno(err, "pipe");
	}
	*child = fork();
	if (*child == 0) {
		dup2(in, STDIN_FILENO);
		dup2(pipefd[1], STDOUT_FILENO);
		execlp(tool, tool, "-dc", (char *)NULL);
		_exit(127);
	}
	close(in);
	close(pipefd[1]);
	if (*child < 0) {
		close(pipefd[0]);
		return cntr_fail_errno(err, "fork %s", tool);
	}
	return pipefd[0];
}

static int unpack_layer(const char *layout, struct json_span layer, int root_fd, struct cntr_err *err)
{
	char digest[128], media[160] = "";
	_cleanup_free_ char *blob = NULL;
	const char *hex;
	struct tar_options opts = { .whiteouts = true };
	pid_t child;
	int fd, rc, status = 0;

	if (span_string(layer, "digest", digest, sizeof(digest)) < 0 || !(hex = digest_hex(digest)))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "image: a layer without a sha256 digest");
	span_string(layer, "mediaType", media, sizeof(media));
	blob = xasprintf("%s/blobs/sha256/%s", layout, hex);
	if (check_layer_digest(blob, hex, err) < 0)
		return -1;
	fd = open_layer_stream(blob, media, &child, err);
	if (fd < 0)
		return -1;
	rc = tar_extract(fd, root_fd, &opts, err);
	close(fd);
	if (child > 0 && (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) && rc == 0)
		rc = cntr_fail(err, CNTR_EXIT_FAILURE, 0, "image layer %s: %s failed (exit %d; is it installed?)",
			       hex, strstr(media, "zstd") ? "zstd -dc" : "gzip -dc",
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (rc < 0)
		cntr_err_prefix(err, "image layer %.12s: ", hex);
	return rc;
}

static int unpack_rootfs(const char *layout, const char *manifest_text, const char *dir, struct cntr_err *err)
{
	_cleanup_close_ int root_fd = -1;
	struct json_span layers, layer;

	if (mkdir(dir, 0755) < 0)
		return cntr_fail_errno(err, "create %s", dir);
	root_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return cntr_fail_errno(err, "open %s", dir);
	if (json_span_member(json_span_of(manifest_text), "layers", &layers) < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "image: the manifest has no layers");
	for (size_t i = 0; json_span_item(layers, i, &layer) == 0; i++)
		if (unpack_layer(layout, layer, root_fd, err) < 0)
			return -1;
	return 0;
}

static int write_text(const char *path, const char *text, struct cntr_err *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text);

	if (fd < 0 || write_all(fd, text, len) < 0)
		return cntr_fail_errno(err, "write %s", path);
	return 0;
}

/* The cache directory and its parents; only the cache itself is private to root. */
static int mkdir_p(const char *path, struct cntr_err *err)
{
	if (mkdir_parents(path, err) < 0)
		return -1;
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return cntr_fail_errno(err, "create %s", path);
	return 0;
}


static int read_manifest_config(const char *layout, const char *manifest, char **config, struct cntr_err *err)
{
	struct json_span cfg;
	char digest[128];

	if (json_span_member(json_span_of(manifest), "config", &cfg) < 0 ||
	    span_string(cfg, "digest", digest, sizeof(digest)) < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "image: the manifest has no config");
	return read_blob(layout, digest, config, err);
}

/* Unpacked once per manifest digest: <cache>/<hex>/{rootfs,config.json}, made under a
 * temporary name and renamed into place, so a half-unpacked image is never used. */
static int unpack_layout(const char *layout, char **cached, struct cntr_err *err)
{
	_cleanup_free_ char *index_path = xasprintf("%s/index.json", layout), *index = NULL;
	_cleanup_free_ char *manifest = NULL, *config = NULL, *dir = NULL, *tmp = NULL;
	_cleanup_free_ char *rootfs = NULL, *config_path = NULL;
	char digest[128];
	struct stat st;
	int rc;

	*cached = NULL;
	if (read_file_at(AT_FDCWD, index_path, &index, NULL, err) < 0)
		return cntr_err_prefix(err, "image %s: ", layout);
	if (find_manifest(layout, index, digest, sizeof(digest), 0, err) < 0 ||
	    read_blob(layout, digest, &manifest, err) < 0)
		return -1;
	dir = xasprintf("%s/%s", capsule_cache_root(), digest_hex(digest));
	if (stat(dir, &st) == 0) {
		log_info("capsule image %s: cached at %s", layout, dir);
		*cached = steal_pointer(&dir);
		return 0;
	}
	if (read_manifest_config(layout, manifest, &config, err) < 0 || mkdir_p(capsule_cache_root(), err) < 0)
		return -1;
	tmp = xasprintf("%s/.unpacking-%s-%d", capsule_cache_root(), digest_hex(digest), (int)getpid());
	if (mkdir(tmp, 0700) < 0)
		return cntr_fail_errno(err, "create %s", tmp);
	rootfs = xasprintf("%s/rootfs", tmp);
	config_path = xasprintf("%s/config.json", tmp);
	log_info("capsule image %s: unpacking into %s", layout, dir);
	rc = unpack_rootfs(layout, manifest, rootfs, err);
	if (rc == 0)
		rc = write_text(config_path, config, err);
	if (rc == 0 && (chmod(tmp, 0755) < 0 || (rename(tmp, dir) < 0 && errno != EEXIST && errno != ENOTEMPTY)))
		rc = cntr_fail_errno(err, "move the unpacked image to %s", dir);
	capsule_cache_remove_tree(tmp); /* left only on failure, or when another cntr renamed its copy first */
	if (rc == 0)
		*cached = steal_pointer(&dir);
	return rc;
}

/* Which unpacked image an archive file is, without reading it again: its identity (device,
 * inode, size, mtime) -> the cache directory, remembered in <cache>/.archive-<hash>. A local
 * lookup key, FNV-1a is enough: a miss only costs one more unpack. */
static char *archive_key_path(const struct stat *st)
{
	char id[128];
	uint64_t h = 14695981039346656037ULL;
	int n = snprintf(id, sizeof(id), "%llu:%llu:%lld:%lld.%ld", (unsigned long long)st->st_dev,
			 (unsigned long long)st->st_ino, (long long)st->st_size, (long long)st->st_mtim.tv_sec,
			 st->st_mtim.tv_nsec);

	for (int i = 0; i < n; i++)
		h = (h ^ (unsigned char)id[i]) * 1099511628211ULL;
	return xasprintf("%s/.archive-%016llx", capsule_cache_root(), (unsigned long long)h);
}

static char *archive_lookup(const struct stat *st)
{
	_cleanup_free_ char *key = archive_key_path(st), *dir = NULL;
	struct stat d;

	if (read_file_at(AT_FDCWD, key, &dir, NULL, NULL) < 0 || dir[0] != '/' || stat(dir, &d) < 0)
		return NULL;
	return steal_pointer(&dir);
}

/* An archive (a tar of a layout) is unpacked to a scratch layout first, once. */
static int unpack_archive(const char *archive, char **cached, struct cntr_err *err)
{
	_cleanup_free_ char *tmp = NULL, *key = NULL;
	_cleanup_close_ int fd = open(archive, O_RDONLY | O_CLOEXEC), tmp_fd = -1;
	struct tar_options opts = { .whiteouts = false };
	struct stat st;
	int rc;

	if (fd < 0 || fstat(fd, &st) < 0)
		return cntr_fail_errno(err, "capsule image %s", archive);
	if ((*cached = archive_lookup(&st))) {
		log_info("capsule image %s: cached at %s", archive, *cached);
		return 0;
	}
	if (mkdir_p(capsule_cache_root(), err) < 0)
		return -1;
	tmp = xasprintf("%s/.archive-%d", capsule_cache_root(), (int)getpid());
	if (mkdir(tmp, 0700) < 0)
		return cntr_fail_errno(err, "create %s", tmp);
	tmp_fd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	rc = tmp_fd < 0 ? cntr_fail_errno(err, "open %s", tmp) : tar_extract(fd, tmp_fd, &opts, err);
	if (rc < 0)
		cntr_err_prefix(err, "capsule image %s: ", archive);
	else
		rc = unpack_layout(tmp, cached, err);
	capsule_cache_remove_tree(tmp);
	key = archive_key_path(&st);
	if (rc == 0 && write_text(key, *cached, err) < 0)
		log_skip("remembering %s for %s: %s", *cached, archive, err->msg);
	return rc;
}

static char **string_array(struct json_span obj, const char *key)
{
	struct json_span arr, item;
	char **out = NULL, buf[4096];
	size_t n = 0;

	if (json_span_member(obj, key, &arr) < 0 || *arr.start != '[')
		return NULL;
	for (size_t i = 0; json_span_item(arr, i, &item) == 0; i++) {
		char **grown = realloc(out, (n + 2) * sizeof(*out));
		if (!grown)
			abort();
		out = grown;
		if (json_span_string(item, buf, sizeof(buf)) == 0)
			out[n++] = xstrdup(buf);
		out[n] = NULL;
	}
	return out;
}

static int read_config(const char *dir, struct capsule_image *img, struct cntr_err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/config.json", dir), *text = NULL;
	struct json_span cfg;
	char workdir[PATH_MAX];

	if (read_file_at(AT_FDCWD, path, &text, NULL, err) < 0)
		return -1;
	if (json_span_member(json_span_of(text), "config", &cfg) < 0)
		return 0; /* an image without a runtime config: the command line gives everything */
	img->entrypoint = string_array(cfg, "Entrypoint");
	img->cmd = string_array(cfg, "Cmd");
	img->env = string_array(cfg, "Env");
	if (span_string(cfg, "WorkingDir", workdir, sizeof(workdir)) == 0 && workdir[0] == '/')
		img->workdir = xstrdup(workdir);
	return 0;
}

int capsule_image_open(const char *image, struct capsule_image *out, struct cntr_err *err)
{
	_cleanup_free_ char *real = realpath(image, NULL), *marker = NULL, *dir = NULL;
	struct stat st;

	memset(out, 0, sizeof(*out));
	out->hold_fd = -1;
	if (!real || stat(real, &st) < 0)
		return cntr_fail(err, CNTR_EXIT_USAGE, errno, "capsule image %s", image);
	if (S_ISREG(st.st_mode)) {
		if (unpack_archive(real, &dir, err) < 0)
			return -1;
	} else if (S_ISDIR(st.st_mode)) {
		marker = xasprintf("%s/oci-layout", real);
		if (access(marker, F_OK) != 0) {
			out->rootfs = steal_pointer(&real); /* a plain root directory */
			return 0;
		}
		if (unpack_layout(real, &dir, err) < 0)
			return -1;
	} else {
		return cntr_fail(err, CNTR_EXIT_USAGE, 0,
				 "capsule image %s: give a directory, an OCI image layout or an OCI archive", image);
	}
	if (capsule_cache_hold(dir, &out->hold_fd, err) < 0)
		return -1;
	out->rootfs = xasprintf("%s/rootfs", dir);
	return read_config(dir, out, err);
}

void capsule_image_release(struct capsule_image *img)
{
	if (img->hold_fd >= 0)
		close(img->hold_fd);
	free(img->rootfs);
	strv_free(img->entrypoint);
	strv_free(img->cmd);
	strv_free(img->env);
	free(img->workdir);
	memset(img, 0, sizeof(*img));
	img->hold_fd = -1;
}
