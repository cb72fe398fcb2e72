#include "tar_extract.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define CNTR_RESOLVE_NO_MAGICLINKS 0x02
#define CNTR_RESOLVE_IN_ROOT 0x10

#define BLOCK 512
#define PAX_MAX (1 << 20)      /* one pax header's records */
#define LONG_NAME_MAX 65536    /* a GNU long name or link */

struct open_how_compat {
	uint64_t flags, mode, resolve;
};

/* One entry, as the headers (and any pax/GNU records before it) describe it. */
struct entry {
	char type;
	char *path, *link;
	uint64_t size;
	uint32_t mode, uid, gid;
	int64_t mtime;
};

/* Records that apply to the next entry only. */
struct pending {
	char *path, *link;
	bool has_size, has_uid, has_gid;
	uint64_t size, uid, gid;
};

static void pending_clear(struct pending *p)
{
	free(p->path);
	free(p->link);
	memset(p, 0, sizeof(*p));
}

static int skip_bytes(int fd, uint64_t len, struct cntr_err *err)
{
	char buf[16384];

	while (len > 0) {
		size_t chunk = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		if (read_full(fd, buf, chunk) != (ssize_t)chunk)
			return cntr_fail(err, CNTR_EXIT_FAILURE, errno, "the tar stream ends inside an entry");
		len -= chunk;
	}
	return 0;
}

static uint64_t padded(uint64_t size)
{
	return (size + BLOCK - 1) / BLOCK * BLOCK;
}

/* Octal ASCII (NUL/space terminated), or base-256 when the first byte's high bit is set. */
static int parse_number(const unsigned char *field, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (field[0] & 0x80) {
		v = field[0] & 0x3f;
		for (i = 1; i < len; i++) {
			if (v >> 56)
				return -1;
			v = v << 8 | field[i];
		}
		*out = v;
		return 0;
	}
	while (i < len && field[i] == ' ')
		i++;
	for (; i < len && field[i] >= '0' && field[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (uint64_t)(field[i] - '0');
	}
	if (i < len && field[i] != '\0' && field[i] != ' ')
		return -1;
	*out = v;
	return 0;
}

static bool checksum_ok(const unsigned char *h)
{
	uint64_t want, sum = 0;

	if (parse_number(h + 148, 8, &want) < 0)
		return false;
	for (size_t i = 0; i < BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == want;
}

static bool all_zero(const unsigned char *h)
{
	for (size_t i = 0; i < BLOCK; i++)
		if (h[i])
			return false;
	return true;
}

static char *field_string(const unsigned char *f, size_t len)
{
	return xstrndup((const char *)f, strnlen((const char *)f, len));
}

/* "LEN key=value\n" records; path, linkpath, size, uid, gid are the ones that matter here. */
static int parse_pax(const char *data, size_t len, struct pending *p, struct cntr_err *err)
{
	size_t pos = 0;

	while (pos < len) {
		char *end;
		unsigned long rec = strtoul(data + pos, &end, 10);
		const char *kv = end + 1, *eq, *rec_end = data + pos + rec;
		if (end == data + pos || *end != ' ' || rec == 0 || pos + rec > len || rec_end[-1] != '\n')
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "malformed pax header in the tar stream");
		eq = memchr(kv, '=', (size_t)(rec_end - kv));
		if (eq) {
			size_t klen = (size_t)(eq - kv), vlen = (size_t)(rec_end - 1 - (eq + 1));
			char *value = xstrndup(eq + 1, vlen);
			if (klen == 4 && !memcmp(kv, "path", 4)) {
				free(p->path);
				p->path = steal_pointer(&value);
			} else if (klen == 8 && !memcmp(kv, "linkpath", 8)) {
				free(p->link);
				p->link = steal_pointer(&value);
			} else if (klen == 4 && !memcmp(kv, "size", 4)) {
				p->has_size = parse_u64(value, &p->size) == 0;
			} else if (klen == 3 && !memcmp(kv, "uid", 3)) {
				p->has_uid = parse_u64(value, &p->uid) == 0;
			} else if (klen == 3 && !memcmp(kv, "gid", 3)) {
				p->has_gid = parse_u64(value, &p->gid) == 0;
			}
			free(value);
		}
		pos += rec;
	}
	return 0;
}

static char *read_record(int fd, uint64_t size, uint64_t max, struct cntr_err *err)
{
	char *buf;

	if (size > max) {
		cntr_fail(err, CNTR_EXIT_FAILURE, 0, "a tar header record of %llu bytes is over the %llu limit",
			  (unsigned long long)size, (unsigned long long)max);
		return NULL;
	}
	buf = calloc(1, (size_t)size + 1);
	if (!buf)
		abort();
	if (read_full(fd, buf, (size_t)size) != (ssize_t)size || skip_bytes(fd, padded(size) - size, err) < 0) {
		cntr_fail(err, CNTR_EXIT_FAILURE, errno, "the tar stream ends inside a header record");
		free(buf);
		return NULL;
	}
	return buf;
}

/* --- creating entries inside the root ------------------------------------------------------ */

static int open_in_root(int root_fd, const char *path, int flags)
{
	struct open_how_compat how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				       .resolve = CNTR_RESOLVE_IN_ROOT | CNTR_RESOLVE_NO_MAGICLINKS };
	return (int)syscall(SYS_openat2, root_fd, *path ? path : ".", &how, sizeof(how));
}

#define SYMLINK_DEPTH_MAX 40

static int open_dir_creating_depth(int root_fd, const char *dir, int depth);

/* dir's last component is a symlink whose target does not exist yet: create the target,
 * resolved as the kernel would inside the root (absolute from the root, else from the
 * symlink's directory). */
static int open_through_symlink(int root_fd, int parent_fd, const char *parent, const char *name, int depth)
{
	char link[PATH_MAX];
	ssize_t n = readlinkat(parent_fd, name, link, sizeof(link) - 1);
	_cleanup_free_ char *resolved = NULL;

	if (n < 0)
		return -1;
	link[n] = '\0';
	resolved = link[0] == '/' ? xstrdup(link + 1) : *parent ? xasprintf("%s/%s", parent, link) : xstrdup(link);
	return open_dir_creating_depth(root_fd, resolved, depth + 1);
}

static int open_dir_creating_depth(int root_fd, const char *dir, int depth)
{
	int fd = open_in_root(root_fd, dir, O_PATH | O_DIRECTORY);
	_cleanup_free_ char *parent = NULL;
	_cleanup_close_ int parent_fd = -1;
	const char *slash, *name;
	struct stat st;

	if (fd >= 0 || errno != ENOENT || !*dir)
		return fd;
	if (depth > SYMLINK_DEPTH_MAX) {
		errno = ELOOP;
		return -1;
	}
	slash = strrchr(dir, '/');
	parent = slash ? xstrndup(dir, (size_t)(slash - dir)) : xstrdup("");
	name = slash ? slash + 1 : dir;
	parent_fd = open_dir_creating_depth(root_fd, parent, depth);
	if (parent_fd < 0)
		return -1;
	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return open_through_symlink(root_fd, parent_fd, parent, name, depth);
	if (mkdirat(parent_fd, name, 0755) < 0 && errno != EEXIST)
		return -1;
	return open_in_root(root_fd, dir, O_PATH | O_DIRECTORY);
}

/* The directory `dir` (relative to the root) as an O_PATH fd, created with its parents; a
 * symlink on the way is followed inside the root, never out of it. */
static int open_dir_creating(int root_fd, const char *dir)
{
	return open_dir_creating_depth(root_fd, dir, 0);
}

static int remove_tree(int dir_fd, const char *name);

/* Remove everything inside the directory dir_fd (an fd that can be read), never following a
 * symlink. */
static int clear_dir(int dir_fd)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && remove_tree(dirfd(d), de->d_name) < 0)
			return -1;
	return 0;
}

/* Remove name (a file, a symlink, or a directory and everything below) under dir_fd. */
static int remove_tree(int dir_fd, const char *name)
{
	_cleanup_close_ int fd = -1;

	if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || clear_dir(fd) < 0)
		return -1;
	return unlinkat(dir_fd, name, AT_REMOVEDIR);
}

static int copy_data(int in, int out, uint64_t size, struct cntr_err *err)
{
	char buf[65536];

	while (size > 0) {
		size_t chunk = size < sizeof(buf) ? (size_t)size : sizeof(buf);
		ssize_t n = read_full(in, buf, chunk);
		if (n != (ssize_t)chunk)
			return cntr_fail(err, CNTR_EXIT_FAILURE, errno, "the tar stream ends inside a file");
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(out, buf + done, (size_t)(n - done));
			if (w < 0)
				return cntr_fail_errno(err, "write an extracted file");
			done += w;
		}
		size -= chunk;
	}
	return 0;
}

static void set_owner_and_times(int parent_fd, const char *base, const struct entry *e, bool symlink)
{
	struct timespec times[2] = { { e->mtime, 0 }, { e->mtime, 0 } };

	if (fchownat(parent_fd, base, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
		log_debug("chown %s: %s", e->path, strerror(errno));
	/* chown clears set-id bits: the mode goes after it. Symlinks have no mode of their own. */
	if (!symlink && fchmodat(parent_fd, base, e->mode & 07777, 0) < 0)
		log_debug("chmod %s: %s", e->path, strerror(errno));
	utimensat(parent_fd, base, times, AT_SYMLINK_NOFOLLOW);
}

static int make_entry(int in, int root_fd, int parent_fd, const char *base, const struct entry *e,
		      struct cntr_err *err)
{
	struct stat st;
	bool exists = fstatat(parent_fd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;

	/* A new entry replaces whatever an earlier one left, except a directory by a directory. */
	if (exists && !(e->type == '5' && S_ISDIR(st.st_mode)) && remove_tree(parent_fd, base) < 0)
		return cntr_fail_errno(err, "replace %s", e->path);
	switch (e->type) {
	case '5':
		if (!exists || !S_ISDIR(st.st_mode)) {
			if (mkdirat(parent_fd, base, 0700) < 0)
				return cntr_fail_errno(err, "create directory %s", e->path);
		}
		break;
	case '2':
		if (symlinkat(e->link, parent_fd, base) < 0)
			return cntr_fail_errno(err, "create symlink %s", e->path);
		set_owner_and_times(parent_fd, base, e, true);
		return 0;
	case '1': {
		/* Hard link to an earlier entry (itself, never what a symlink there points to). */
		_cleanup_close_ int target = open_in_root(root_fd, e->link, O_PATH | O_NOFOLLOW);
		if (target < 0 || linkat(target, "", parent_fd, base, AT_EMPTY_PATH) < 0)
			return cntr_fail_errno(err, "hard link %s to %s", e->path, e->link);
		return 0;
	}
	case '6':
		if (mknodat(parent_fd, base, S_IFIFO | 0600, 0) < 0)
			return cntr_fail_errno(err, "create fifo %s", e->path);
		break;
	default: { /* regular file: '0', '\0', '7' */
		_cleanup_close_ int out = openat(parent_fd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (out < 0)
			return cntr_fail_errno(err, "create %s", e->path);
		if (copy_data(in, out, e->size, err) < 0)
			return -1;
		set_owner_and_times(parent_fd, base, e, false);
		return skip_bytes(in, padded(e->size) - e->size, err);
	}
	}
	set_owner_and_times(parent_fd, base, e, false);
	return 0;
}

/* "./usr//bin/" -> "usr/bin"; NULL for the root itself and for any name with a ".."
 * component: the parent is resolved inside the root, but the last component is used as is
 * (mkdirat, fchmodat, unlinkat), and ".." there would be the directory above. */
static char *clean_path(const char *raw)
{
	_cleanup_free_ char *copy = xstrdup(raw);
	char *out = calloc(1, strlen(raw) + 1), *save = NULL;
	size_t n = 0;

	if (!out)
		abort();
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			free(out);
			return NULL;
		}
		n += (size_t)sprintf(out + n, "%s%s", n ? "/" : "", c);
	}
	if (n == 0) {
		free(out);
		return NULL;
	}
	return out;
}

static int apply_entry(int in, int root_fd, struct entry *e, const struct tar_options *o, struct cntr_err *err)
{
	_cleanup_free_ char *path = clean_path(e->path), *dir = NULL;
	_cleanup_close_ int parent_fd = -1;
	const char *slash, *base;
	bool regular = e->type == '0' || e->type == '\0' || e->type == '7';

	if (!path || e->type == '3' || e->type == '4') { /* the root itself, ".." names, devices */
		log_debug("skipping tar entry %s", e->path);
		return skip_bytes(in, padded(regular ? e->size : 0), err);
	}
	slash = strrchr(path, '/');
	dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
	base = slash ? slash + 1 : path;
	parent_fd = open_dir_creating(root_fd, dir);
	if (parent_fd < 0)
		return cntr_fail_errno(err, "directory of %s", path);
	if (o->whiteouts && !strncmp(base, ".wh.", 4)) {
		int rc = !strcmp(base, ".wh..wh..opq") ? clear_dir(parent_fd) : remove_tree(parent_fd, base + 4);
		if (rc < 0)
			return cntr_fail_errno(err, "apply whiteout %s", path);
		return skip_bytes(in, padded(regular ? e->size : 0), err);
	}
	free(e->path);
	e->path = steal_pointer(&path);
	if (make_entry(in, root_fd, parent_fd, base, e, err) < 0)
		return -1;
	return regular ? 0 : skip_bytes(in, padded(e->size), err);
}

static void entry_from_header(const unsigned char *h, struct pending *p, struct entry *e)
{
	uint64_t v;

	e->type = (char)h[156];
	e->size = parse_number(h + 124, 12, &v) == 0 ? v : 0;
	e->mode = parse_number(h + 100, 8, &v) == 0 ? (uint32_t)v : 0644;
	e->uid = parse_number(h + 108, 8, &v) == 0 ? (uint32_t)v : 0;
	e->gid = parse_number(h + 116, 8, &v) == 0 ? (uint32_t)v : 0;
	e->mtime = parse_number(h + 136, 12, &v) == 0 ? (int64_t)v : 0;
	if (p->path) {
		e->path = steal_pointer(&p->path);
	} else if (h[345] && !memcmp(h + 257, "ustar", 5)) {
		_cleanup_free_ char *prefix = field_string(h + 345, 155), *name = field_string(h, 100);
		e->path = xasprintf("%s/%s", prefix, name);
	} else {
		e->path = field_string(h, 100);
	}
	e->link = p->link ? steal_pointer(&p->link) : field_string(h + 157, 100);
	if (p->has_size)
		e->size = p->size;
	if (p->has_uid)
		e->uid = (uint32_t)p->uid;
	if (p->has_gid)
		e->gid = (uint32_t)p->gid;
}

/* Every entry is created through openat2(RESOLVE_IN_ROOT): without it (Linux < 5.6) there is
 * no safe way to place a layer's entries, so say so before touching anything. */
static int check_openat2(int root_fd, struct cntr_err *err)
{
	int probe = open_in_root(root_fd, "", O_PATH | O_DIRECTORY);

	if (probe >= 0) {
		close(probe);
		return 0;
	}
	if (errno == ENOSYS)
		return cntr_fail(err, CNTR_EXIT_FAILURE, ENOSYS,
				 "unpacking an image needs openat2 (Linux 5.6); on this kernel give an unpacked "
				 "directory as IMAGE or use --from-container");
	return cntr_fail_errno(err, "open the directory to unpack into");
}

int tar_extract(int fd, int root_fd, const struct tar_options *o, struct cntr_err *err)
{
	unsigned char h[BLOCK];
	struct pending p = { 0 };
	int rc = -1;

	if (check_openat2(root_fd, err) < 0)
		return -1;
	for (;;) {
		struct entry e = { 0 };
		ssize_t n = read_full(fd, h, BLOCK);
		if (n == 0 || (n == BLOCK && all_zero(h))) {
			rc = 0;
			break;
		}
		if (n != BLOCK || !checksum_ok(h)) {
			cntr_fail(err, CNTR_EXIT_FAILURE, 0, "not a tar stream (bad header)");
			break;
		}
		if (h[156] == 'x' || h[156] == 'g' || h[156] == 'L' || h[156] == 'K') {
			uint64_t size;
			_cleanup_free_ char *data = NULL;
			if (parse_number(h + 124, 12, &size) < 0 ||
			    !(data = read_record(fd, size, h[156] == 'x' || h[156] == 'g' ? PAX_MAX : LONG_NAME_MAX, err)))
				break;
			if (h[156] == 'x' && parse_pax(data, (size_t)size, &p, err) < 0)
				break;
			if (h[156] == 'L') {
				free(p.path);
				p.path = steal_pointer(&data);
			} else if (h[156] == 'K') {
				free(p.link);
				p.link = steal_pointer(&data);
			}
			continue;
		}
		entry_from_header(h, &p, &e);
		pending_clear(&p);
		rc = apply_entry(fd, root_fd, &e, o, err);
		free(e.path);
		free(e.link);
		if (rc < 0)
			break;
		rc = -1;
	}
	pending_clear(&p);
	return rc;
}
