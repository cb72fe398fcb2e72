#include "command.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"
#include "env_filter.h"
#include "environ.h"
#include "common/log.h"
#include "target.h"
#include "tools_tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

/* attach: the tools are the debug side's, so the target's variables pass only when they are
 * no hook (env_filter.h); PATH and HOME are the debug side's. exec: the target's own programs
 * get the target's whole environment. */
char **command_environment(const struct target *t, enum session_mode mode, bool tty)
{
	char **env = NULL;
	size_t n = strv_len(t->environ);

	env = calloc(n + 1, sizeof(char *));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		env[i] = xstrdup(t->environ[i]);
	if (mode == SESSION_ATTACH) {
		const char *path = getenv("PATH"), *home = getenv("HOME");
		_cleanup_free_ char *dropped = env_drop_unsafe(env);

		if (dropped)
			log_info("environment: the target's %s not passed to the tools (hooks)", dropped);
		env_set(&env, "PATH", path && *path ? path : DEFAULT_PATH);
		env_set(&env, "HOME", home && home[0] == '/' ? home : "/");
	} else if (!env_get(env, "PATH")) {
		env_set(&env, "PATH", DEFAULT_PATH);
	}
	if (tty && getenv("TERM"))
		env_set(&env, "TERM", getenv("TERM"));
	return env;
}

char **command_argv(char *const *user_argv, enum session_mode mode, const struct tools_opts *tools)
{
	size_t n = strv_len(user_argv);
	char **argv;

	if (n == 0) {
		/* In attach mode the session's / is made of the tools: a $SHELL that is not there
		 * (an agent image without it, a home directory) would only turn into a 127. */
		const char *shell = mode == SESSION_ATTACH ? getenv("SHELL") : NULL;
		if (shell && !tools_tree_can_exec(tools, shell))
			shell = NULL;
		argv = calloc(2, sizeof(char *));
		if (argv)
			argv[0] = xstrdup(shell && *shell ? shell : "/bin/sh");
		return argv;
	}
	argv = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; argv && i < n; i++)
		argv[i] = xstrdup(user_argv[i]);
	return argv;
}

void exec_command(char *const *argv, char **env, struct cntr_err *err)
{
	int saved;

	/* execvp searches the PATH of the current environment: install the command's first. */
	environ = env;
	execvp(argv[0], argv);
	saved = errno;
	if (saved == ENOENT)
		cntr_fail(err, CNTR_EXIT_NOTFOUND, 0, "%s: command not found in the session (PATH=%s)",
			  argv[0], getenv("PATH") ? getenv("PATH") : "");
	else
		cntr_fail(err, CNTR_EXIT_NOEXEC, saved, "cannot execute %s", argv[0]);
}
