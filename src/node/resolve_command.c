/* TARGET as a substring of a process's command line (`-t command` only). cntr itself, its
 * ancestors (the shell that typed the command line contains the target too) and its children
 * never match. A launcher whose own descendant also matches (`unshare ... sleep 42`,
 * `sh -c "sleep 42"`) only carries the command as arguments: the descendant is the target.
 * Several unrelated matches are an error listing them. */
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

/* True when pid is ancestor itself or one of its descendants. */
static bool descends_from(pid_t pid, pid_t ancestor)
{
	for (int depth = 0; pid > 1 && depth < 4096; depth++) {
		pid_t ppid;
		unsigned long long start;
		if (pid == ancestor)
			return true;
		if (proc_stat_read(pid, &ppid, &start) < 0)
			return false;
		pid = ppid;
	}
	return false;
}

static bool is_ancestor_of_self(pid_t pid, pid_t self)
{
	return descends_from(self, pid) && pid != self;
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

struct command_match {
	pid_t pid;
	char *cmdline;
};

struct command_matches {
	struct command_match *items;
	size_t n;
};

static void command_matches_release(struct command_matches *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->items[i].cmdline);
	free(m->items);
}

static void record_match(struct command_matches *m, pid_t pid, char *cmdline)
{
	struct command_match *bigger = realloc(m->items, (m->n + 1) * sizeof(*bigger));
	if (!bigger)
		abort();
	m->items = bigger;
	m->items[m->n++] = (struct command_match){ pid, cmdline };
}

/* Drop every match that has another match among its descendants. */
static void drop_launchers(struct command_matches *m)
{
	size_t w = 0;
	for (size_t i = 0; i < m->n; i++) {
		bool launcher = false;
		for (size_t j = 0; j < m->n && !launcher; j++)
			launcher = j != i && m->items[j].pid != m->items[i].pid &&
				   descends_from(m->items[j].pid, m->items[i].pid);
		if (launcher) {
			log_info("command: skipping %d (%.40s): it launched another match",
				 (int)m->items[i].pid, m->items[i].cmdline);
			free(m->items[i].cmdline);
		} else {
			m->items[w++] = m->items[i];
		}
	}
	m->n = w;
}

static int fail_several(const char *target, const struct command_matches *m,
			struct cntr_err *err)
{
	char list[CNTR_ERR_MSG_MAX / 2];
	size_t used = 0;

	list[0] = '\0';
	for (size_t i = 0; i < m->n && i < MAX_REPORTED && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%d (%.40s)",
					 i ? ", " : "", (int)m->items[i].pid, m->items[i].cmdline);
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "command '%s' matches %zu processes: %s%s; give a PID instead", target,
			 m->n, list, m->n > MAX_REPORTED ? ", ..." : "");
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
		if (descends_from(pid, self) || is_ancestor_of_self(pid, self))
			continue;
		record_match(m, pid, steal_pointer(&cmdline));
	}
	return 0;
}

int resolve_by_command(const char *target, struct container_ref *out, struct cntr_err *err)
{
	__attribute__((cleanup(command_matches_release))) struct command_matches m = { NULL, 0 };

	if (!*target)
		return RESOLVE_NO_MATCH;
	if (find_command_matches(target, &m, err) < 0)
		return -1;
	drop_launchers(&m);
	if (m.n == 0)
		return RESOLVE_NO_MATCH;
	if (m.n > 1)
		return fail_several(target, &m, err);
	memset(out, 0, sizeof(*out));
	out->pid = m.items[0].pid;
	snprintf(out->runtime, sizeof(out->runtime), "command");
	return RESOLVE_FOUND;
}
