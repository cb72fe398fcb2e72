#include "agent_sessions.h"

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

bool agent_environ_has(const char *env, size_t len, const char *key, const char *value)
{
	size_t klen = strlen(key), vlen = strlen(value);

	for (size_t pos = 0; pos < len;) {
		const char *entry = env + pos;
		const char *nul = memchr(entry, '\0', len - pos);
		size_t elen = nul ? (size_t)(nul - entry) : len - pos;
		if (elen == klen + 1 + vlen && !memcmp(entry, key, klen) && entry[klen] == '=' &&
		    !memcmp(entry + klen + 1, value, vlen))
			return true;
		pos += elen + 1;
	}
	return false;
}

static bool is_session_process(const char *pid)
{
	char path[300];
	_cleanup_free_ char *comm = NULL, *cmdline = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	if (read_file_at(AT_FDCWD, path, &comm, NULL, NULL) < 0 || strcmp(comm, "cntr\n") != 0)
		return false;
	/* `cntr agent ...` (the agent's main and its helper programs) is no session. */
	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	if (read_file_at(AT_FDCWD, path, &cmdline, &len, NULL) < 0)
		return false;
	return !(strlen(cmdline) + 1 < len && strcmp(cmdline + strlen(cmdline) + 1, "agent") == 0);
}

size_t agent_sessions_find(const char *agent, enum agent_session_filter filter, const char *id, pid_t *pids,
			   size_t max)
{
	_cleanup_closedir_ DIR *proc = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	while (proc && n < max && (de = readdir(proc))) {
		char path[300];
		_cleanup_free_ char *env = NULL;
		size_t len = 0;
		bool mine;

		if (de->d_name[strspn(de->d_name, "0123456789")] != '\0' || !is_session_process(de->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/environ", de->d_name);
		if (read_file_at(AT_FDCWD, path, &env, &len, NULL) < 0 ||
		    !agent_environ_has(env, len, "LAMBDA_CNTR_AGENT", agent))
			continue;
		mine = *id && agent_environ_has(env, len, "LAMBDA_CNTR_SESSION", id);
		if (mine == (filter == AGENT_SESSIONS_OF))
			pids[n++] = (pid_t)atoi(de->d_name);
	}
	return n;
}
