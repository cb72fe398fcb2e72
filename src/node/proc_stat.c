#include "proc_stat.h"

#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Everything after "pid (comm)": comm may contain spaces and ')', the fields start after the
 * LAST ')'. */
static const char *fields_after_comm(const char *text)
{
	const char *paren = strrchr(text, ')');
	return paren ? paren + 1 : NULL;
}

#define CNTR_PF_EXITING 0x00000004U /* include/linux/sched.h */

/* 52 numbers of at most 20 digits and a comm of at most 64 bytes: the line always fits. */
#define STAT_LINE_MAX 2048

/* /proc/PID/stat into text (NUL-terminated), on the stack: it is read on every attach. */
static int read_stat_line(pid_t pid, char text[STAT_LINE_MAX])
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	n = read_full(fd, text, STAT_LINE_MAX - 1);
	close(fd);
	if (n < 0)
		return -1;
	text[n] = '\0';
	return 0;
}

char proc_stat_state(pid_t pid, bool *exiting)
{
	char text[STAT_LINE_MAX], state = 0;
	const char *fields;
	unsigned flags = 0;

	if (exiting)
		*exiting = false;
	if (read_stat_line(pid, text) < 0 || !(fields = fields_after_comm(text)) ||
	    sscanf(fields, " %c %*d %*d %*d %*d %*d %u", &state, &flags) < 1)
		return 0;
	if (exiting)
		*exiting = flags & CNTR_PF_EXITING;
	return state;
}

int proc_stat_read(pid_t pid, pid_t *ppid, unsigned long long *start_time)
{
	char text[STAT_LINE_MAX];
	const char *after_comm;
	int parent;
	unsigned long long start;

	if (read_stat_line(pid, text) < 0)
		return -1;
	after_comm = fields_after_comm(text);
	if (!after_comm ||
	    sscanf(after_comm, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
				   "%*d %*d %*d %*d %llu", &parent, &start) != 2) {
		errno = EINVAL;
		return -1;
	}
	*ppid = parent;
	*start_time = start;
	return 0;
}
