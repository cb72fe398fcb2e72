/* TARGET as a substring of a process's command line (`-t command` only). cntr itself, its
 * ancestors (the shell that typed the command line contains the target too) and its children
 * never match. Several matches are an error listing them. */
#include "resolve_internal.h"

#include "resolve_scan.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_REPORTED 8

/* True when pid is self, or self is among pid's ancestors (pid is cntr's descendant). */
static bool descends_from_self(pid_t pid, pid_t self)
{
	for (int depth = 0; pid > 1 && depth < 4096; depth++) {
		pid_t ppid;
		unsigned long long start;
		if (pid == self)
			return true;
		if (proc_stat_read(pid, &ppid, &start) < 0)
			return false;
		pid = ppid;
	}
	return false;
}

static bool is_ancestor_of_self(pid_t pid, pid_t self)
{
	return descends_from_self(self, pid) && pid != self;
}

/* Command line with NULs turned into spaces; NULL for kernel threads and unreadable ones. */
static char *read_cmdline(pid_t pid)
{
	char path[64];
	char *text = NULL;
	size_t len;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (read_file_at(AT_FDCWD, path, &text, &len, NULL) < 0)
		return NULL;
	if (len == 0) {
		free(text);
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
		if (text[i] == '\0')
			text[i] = ' ';
	while (len > 0 && text[len - 1] == ' ')
		text[--len] = '\0';
	return text;
}

struct command_matches {
	pid_t pids[MAX_REPORTED];
	size_t n;
	char list[CNTR_ERR_MSG_MAX / 2];
	size_t used;
};

static void record_match(struct command_matches *m, pid_t pid, const char *cmdline)
{
	if (m->n < MAX_REPORTED) {
		m->pids[m->n] = pid;
		if (m->used < sizeof(m->list))
			m->used += (size_t)snprintf(m->list + m->used, sizeof(m->list) - m->used,
						    "%s%d (%.40s)", m->n ? ", " : "", (int)pid,
						    cmdline);
	}
	m->n++;
}

static int find_command_matches(const char *needle, struct command_matches *m,
				struct cntr_err *err)
{
	_cleanup_closedir_ DIR *proc = opendir("/proc");
	pid_t self = getpid();
	struct dirent *de;

	if (!proc)
		return cntr_fail_errno(err, "open /proc");
	while ((de = readdir(proc))) {
		uint64_t v;
		_cleanup_free_ char *cmdline = NULL;
		pid_t pid;

		if (parse_u64(de->d_name, &v) < 0 || v == 0 || v > INT32_MAX)
			continue;
		pid = (pid_t)v;
		cmdline = read_cmdline(pid);
		if (!cmdline || !strstr(cmdline, needle))
			continue;
		if (descends_from_self(pid, self) || is_ancestor_of_self(pid, self))
			continue;
		record_match(m, pid, cmdline);
	}
	return 0;
}

int resolve_by_command(const char *target, struct container_ref *out, struct cntr_err *err)
{
	struct command_matches m = { .n = 0 };

	if (!*target)
		return RESOLVE_NO_MATCH;
	if (find_command_matches(target, &m, err) < 0)
		return -1;
	if (m.n == 0)
		return RESOLVE_NO_MATCH;
	if (m.n > 1)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "command '%s' matches %zu processes: %s%s; give a PID instead",
				 target, m.n, m.list, m.n > MAX_REPORTED ? ", ..." : "");
	memset(out, 0, sizeof(*out));
	out->pid = m.pids[0];
	snprintf(out->runtime, sizeof(out->runtime), "command");
	return RESOLVE_FOUND;
}
