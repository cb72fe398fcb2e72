#include "fileio.h"

#include "cleanup.h"
#include "err.h"
#include "strutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads on to EOF into *data (malloc'd, *used bytes in it, room for *cap), growing it. */
static int read_rest(int fd, size_t max, char **data, size_t *used, size_t cap)
{
	for (;;) {
		ssize_t n;
		if (*used + 1 >= cap) {
			char *bigger = realloc(*data, cap * 2);
			if (!bigger)
				return -1;
			*data = bigger;
			cap *= 2;
		}
		n = read(fd, *data + *used, cap - *used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		*used += (size_t)n;
		if (*used > max) {
			errno = EFBIG;
			return -1;
		}
	}
}

/* One read(2): files the kernel produces whole for each read (procfs) end where a read
 * leaves the buffer unfilled, so the read that would return 0 can be spared. */
static ssize_t read_once(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

/* Most files read here (/proc) are small: they are read into the stack and copied into an
 * allocation of their size. A 4 KiB malloc is an mmap and a munmap with musl, per file. */
static int read_fd_into(int fd, size_t max, bool short_is_end, char **buf, size_t *len)
{
	char first[4096];
	ssize_t got = short_is_end ? read_once(fd, first, sizeof(first)) : read_full(fd, first, sizeof(first));
	bool whole = got >= 0 && (size_t)got < sizeof(first); /* at EOF */
	size_t used = got < 0 ? 0 : (size_t)got;
	_cleanup_free_ char *data = NULL;

	if (got < 0)
		return -1;
	if (used > max) {
		errno = EFBIG;
		return -1;
	}
	data = malloc(whole ? used + 1 : 2 * sizeof(first));
	if (!data)
		return -1;
	memcpy(data, first, used);
	if (!whole && read_rest(fd, max, &data, &used, 2 * sizeof(first)) < 0)
		return -1;
	data[used] = '\0';
	*buf = steal_pointer(&data);
	if (len)
		*len = used;
	return 0;
}

int read_fd_upto(int fd, size_t max, char **buf, size_t *len)
{
	return read_fd_into(fd, max, false, buf, len);
}

int read_fd_all(int fd, char **buf, size_t *len)
{
	return read_fd_upto(fd, SIZE_MAX / 2, buf, len);
}

static int read_path_at(int dirfd, const char *path, bool short_is_end, char **buf, size_t *len,
			struct cntr_err *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return cntr_fail_errno(err, "open %s", path);
	if (read_fd_into(fd, SIZE_MAX / 2, short_is_end, buf, len) < 0)
		return cntr_fail_errno(err, "read %s", path);
	return 0;
}

int read_file_at(int dirfd, const char *path, char **buf, size_t *len, struct cntr_err *err)
{
	return read_path_at(dirfd, path, false, buf, len, err);
}

int read_proc_file_at(int dirfd, const char *path, char **buf, size_t *len, struct cntr_err *err)
{
	return read_path_at(dirfd, path, true, buf, len, err);
}

ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int write_file_at(int dirfd, const char *path, const char *text, struct cntr_err *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return cntr_fail_errno(err, "open %s", path);
	if (write_all(fd, text, strlen(text)) < 0)
		return cntr_fail_errno(err, "write %s", path);
	return 0;
}

int for_each_dir_entry(const char *path, dir_entry_fn fn, void *arg)
{
	_cleanup_closedir_ DIR *dir = opendir(path);
	struct dirent *de;

	if (!dir)
		return -1;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			fn(de->d_name, arg);
	return 0;
}

int mkdir_parents(const char *path, struct cntr_err *err)
{
	_cleanup_free_ char *copy = xstrdup(path);

	for (char *p = copy + (copy[0] == '/'); (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return cntr_fail_errno(err, "create %s", copy);
		*p = '/';
	}
	return 0;
}
