/* Whole-file reads and small writes, relative to a directory fd (AT_FDCWD for paths). */
#pragma once
#include <stddef.h>
#include <sys/types.h>

struct cntr_err;

/* Read all of dirfd/path into a malloc'd, NUL-terminated buffer (*len excludes the NUL).
 * Works for /proc files whose st_size is 0. */
int read_file_at(int dirfd, const char *path, char **buf, size_t *len, struct cntr_err *err);

/* The same for a /proc file that the kernel produces in one piece (a single-record seq_file:
 * status, stat, cgroup; or a copy from memory: environ, cmdline, attr/current): a read that
 * leaves the buffer unfilled was the end, one syscall less per file. Never for multi-record
 * seq_files (mountinfo, uid_map, maps, smaps): they stop short of a record that does not fit
 * (tests/unit/test_common_fileio.c), nor for regular files, pipes or sockets. */
int read_proc_file_at(int dirfd, const char *path, char **buf, size_t *len, struct cntr_err *err);

/* Same for an already open fd (read from its current offset). */
int read_fd_all(int fd, char **buf, size_t *len);

/* Same, failing with errno EFBIG once more than max bytes came (it stops reading there). */
int read_fd_upto(int fd, size_t max, char **buf, size_t *len);

/* Create every missing parent directory of path (mode 0755), relative to the cwd unless it
 * starts with '/'; the last component itself is left alone. */
int mkdir_parents(const char *path, struct cntr_err *err);

/* Write the whole string to dirfd/path (O_WRONLY, no create): procfs/cgroupfs knobs. */
int write_file_at(int dirfd, const char *path, const char *text, struct cntr_err *err);

/* read() until len bytes or EOF, retrying on EINTR. Returns the bytes read, or -1 (errno). */
ssize_t read_full(int fd, void *buf, size_t len);

/* write() until done, retrying on EINTR. Returns 0 or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);

/* Call fn(name, arg) for every entry of the directory at path but the dot files (runtime state
 * directories: one entry per container or namespace). -1 with errno when it cannot be opened. */
typedef void (*dir_entry_fn)(const char *name, void *arg);
int for_each_dir_entry(const char *path, dir_entry_fn fn, void *arg);
