#include "proc_stat.h"

#include "common/cleanup.h"
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

/* Everything after "pid (comm)": comm may contain spaces and ')', the fields start after the
 * LAST ')'. */
static const char *fields_after_comm(const char *text)
{
	const char *paren = strrchr(text, ')');
	return paren ? paren + 1 : NULL;
}

#define CNTR_PF_EXITING 0x00000004U /* include/linux/sched.h */

char proc_stat_state(pid_t pid, bool *exiting)
{
	char path[64], state = 0;
	_cleanup_free_ char *text = NULL;
	const char *fields;
	unsigned flags = 0;

	if (exiting)
		*exiting = false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0 || !(fields = fields_after_comm(text)) ||
	    sscanf(fields, " %c %*d %*d %*d %*d %*d %u", &state, &flags) < 1)
		return 0;
	if (exiting)
		*exiting = flags & CNTR_PF_EXITING;
	return state;
}

int proc_stat_read(pid_t pid, pid_t *ppid, unsigned long long *start_time)
{
	char path[64];
	_cleanup_free_ char *text = NULL;
	const char *after_comm;
	int parent;
	unsigned long long start;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
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
