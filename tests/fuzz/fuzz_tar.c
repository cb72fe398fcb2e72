/* Image layers for capsules (src/node/tar_extract.c): a layer is untrusted input that creates
 * files. Each input is extracted into a fresh directory inside a jail directory; afterwards the
 * jail must hold nothing but that directory: no entry, symlink or whiteout got out. */
#include "fuzz.h"

#include "common/err.h"
#include "node/tar_extract.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>

static char jail[] = "/tmp/cntr-fuzz-tar.XXXXXX";

static void remove_under(int dir_fd)
{
	DIR *d = fdopendir(dup(dir_fd));
	struct dirent *de;

	if (!d)
		return;
	rewinddir(d); /* the dup shares dir_fd's offset, left at the end by the last walk */
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0) {
			fchmod(sub, 0700);
			remove_under(sub);
			close(sub);
		}
		unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int jail_fd = -1;
	struct tar_options opts = { .whiteouts = size % 2 == 0 };
	struct cntr_err err;
	int in, root;

	if (jail_fd < 0) {
		if (!mkdtemp(jail))
			abort();
		jail_fd = open(jail, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (mkdirat(jail_fd, "root", 0755) < 0) {
		fprintf(stderr, "fuzz_tar: the previous input's root could not be removed\n");
		abort();
	}
	root = openat(jail_fd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	in = memfd_create("layer", MFD_CLOEXEC);
	if (root < 0 || in < 0 || write(in, data, size) != (ssize_t)size || lseek(in, 0, SEEK_SET) != 0)
		abort();
	tar_extract(in, root, &opts, &err);
	close(in);
	close(root);
	{
		DIR *d = fdopendir(dup(jail_fd));
		struct dirent *de;
		if (d)
			rewinddir(d);
		while (d && (de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "root")) {
				fprintf(stderr, "fuzz_tar: %s was created outside the root\n", de->d_name);
				abort();
			}
		if (d)
			closedir(d);
	}
	remove_under(jail_fd);
	if (faccessat(jail_fd, "root", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		fprintf(stderr, "fuzz_tar: what the input extracted could not be removed\n");
		abort();
	}
	return 0;
}
