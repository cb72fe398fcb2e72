#include "capsule_cache.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/strutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *capsule_cache_root(void)
{
	const char *dir = getenv("CNTR_CAPSULE_CACHE");
	return dir && *dir == '/' ? dir : CAPSULE_CACHE_DEFAULT;
}

int capsule_cache_hold(const char *dir, int *fd, struct cntr_err *err)
{
	struct stat held, now;

	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return cntr_fail_errno(err, "open the cached image %s", dir);
	if (flock(*fd, LOCK_SH) < 0)
		return cntr_fail_errno(err, "lock the cached image %s", dir);
	/* A prune renames an entry before removing it: the path must still be this directory. */
	if (fstat(*fd, &held) < 0 || stat(dir, &now) < 0 || held.st_ino != now.st_ino || held.st_dev != now.st_dev)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "the cached image %s was pruned meanwhile: run again", dir);
	futimens(*fd, NULL); /* last used: best effort, prune --older-than reads it */
	return 0;
}

static int is_hex64(const char *name)
{
	return strlen(name) == 64 && str_is_hex(name);
}

/* rm -rf of a directory the cache made (no symlink followed, one filesystem). */
void capsule_cache_remove_tree(const char *path)
{
	pid_t child = fork();

	if (child == 0) {
		execlp("rm", "rm", "-rf", "--one-file-system", path, (char *)NULL);
		_exit(127);
	}
	if (child > 0)
		waitpid(child, NULL, 0);
}

struct prune_counts {
	unsigned removed, held, recent, leftovers;
};

static void prune_entry(const char *root, const char *name, const struct capsule_prune_opts *o, FILE *report,
			struct prune_counts *n)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", root, name);
	_cleanup_free_ char *doomed = xasprintf("%s/.removing-%s-%d", root, name, (int)getpid());
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(report, "kept    %.12s  in use by a running capsule\n", name);
		n->held++;
		return;
	}
	if (o->older_than_s > 0 && time(NULL) - st.st_mtim.tv_sec < o->older_than_s) {
		fprintf(report, "kept    %.12s  used %llds ago\n", name, (long long)(time(NULL) - st.st_mtim.tv_sec));
		n->recent++;
		return;
	}
	/* Renamed while locked, so a run that opens the path afterwards finds nothing (and
	 * unpacks again) instead of a half-removed tree. */
	if (rename(path, doomed) < 0)
		return;
	capsule_cache_remove_tree(doomed);
	fprintf(report, "removed %.12s\n", name);
	n->removed++;
}

/* ".unpacking-<hex>-<pid>", ".archive-<pid>", ".removing-<hex>-<pid>": scratch directories of
 * a process; stale once that process is gone. */
static void prune_scratch(const char *root, const char *name, FILE *report, struct prune_counts *n)
{
	const char *dash = strrchr(name, '-');
	_cleanup_free_ char *path = xasprintf("%s/%s", root, name);
	long pid = dash ? strtol(dash + 1, NULL, 10) : 0;

	if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
		return;
	capsule_cache_remove_tree(path);
	fprintf(report, "removed %s  (left by process %ld)\n", name, pid);
	n->leftovers++;
}

/* ".archive-<16 hex>": which entry an archive file was unpacked to; useless once it is gone. */
static void prune_archive_key(const char *root, const char *name, struct prune_counts *n)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", root, name), *target = NULL;
	struct stat st;

	if (read_file_at(AT_FDCWD, path, &target, NULL, NULL) < 0 || stat(target, &st) == 0)
		return;
	if (unlink(path) == 0)
		n->leftovers++;
}

int capsule_cache_prune(const struct capsule_prune_opts *o, FILE *report, struct cntr_err *err)
{
	const char *root = capsule_cache_root();
	_cleanup_closedir_ DIR *d = opendir(root);
	struct prune_counts n = { 0 };
	struct dirent *de;

	if (!d) {
		if (errno == ENOENT) {
			fprintf(report, "prune: %s does not exist: nothing cached\n", root);
			return 0;
		}
		return cntr_fail_errno(err, "open the capsule cache %s", root);
	}
	while ((de = readdir(d))) {
		if (is_hex64(de->d_name) && de->d_type == DT_DIR)
			prune_entry(root, de->d_name, o, report, &n);
		else if (de->d_type == DT_DIR && (str_has_prefix(de->d_name, ".unpacking-") ||
						 str_has_prefix(de->d_name, ".archive-") ||
						 str_has_prefix(de->d_name, ".removing-")))
			prune_scratch(root, de->d_name, report, &n);
	}
	/* The keys after the entries: a key whose entry was removed above goes in the same run. */
	rewinddir(d);
	while ((de = readdir(d)))
		if (de->d_type == DT_REG && str_has_prefix(de->d_name, ".archive-"))
			prune_archive_key(root, de->d_name, &n);
	fprintf(report, "prune: %u removed, %u in use, %u used recently, %u leftovers cleaned in %s\n", n.removed,
		n.held, n.recent, n.leftovers, root);
	return 0;
}
