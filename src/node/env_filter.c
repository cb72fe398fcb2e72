#include "env_filter.h"

#include "common/strutil.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Exact names. Sources: glibc's list of variables ignored for set-user-ID programs (the
 * loader and libc read them), the shells' startup hooks, and tools that run a command or load
 * a file named in a variable. HOME is replaced by the session (a shell reads $HOME/.bashrc). */
static const char *const hook_names[] = {
	/* libc and the loader */
	"GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH",
	"MUSL_LOCPATH", "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "TMPDIR", "TZDIR",
	/* shells: startup files, prompts (command substitution runs in PS0-PS4), imported options */
	"BASH_ENV", "ENV", "ZDOTDIR", "PROMPT_COMMAND", "PS0", "PS1", "PS2", "PS3", "PS4", "IFS",
	"SHELLOPTS", "BASHOPTS", "CDPATH", "GLOBIGNORE", "EXECIGNORE", "HISTFILE", "INPUTRC",
	"BASH_XTRACEFD", "BASH_LOADABLES_PATH", "BASH_COMPAT", "HOME", "MAIL", "MAILPATH",
	/* programs that run a command or read a configuration named here */
	"PAGER", "MANPAGER", "SYSTEMD_PAGER", "EDITOR", "VISUAL", "BROWSER", "SSH_ASKPASS",
	"SUDO_ASKPASS", "SSH_AUTH_SOCK", "GNUPGHOME", "CURL_HOME", "WGETRC", "NETRC", "TERMINFO",
	"TERMINFO_DIRS", "TERMCAP", "KRB5_CONFIG", "KRB5CCNAME",
	/* interpreters and runtimes */
	"PERLLIB", "RUBYOPT", "RUBYLIB", "NODE_OPTIONS", "NODE_PATH", "JAVA_TOOL_OPTIONS",
	"_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "TCLLIBPATH", "PHPRC", "PHP_INI_SCAN_DIR",
	"GUILE_LOAD_PATH", "DOTNET_STARTUP_HOOKS", "GCC_EXEC_PREFIX", "COMPILER_PATH",
	/* TLS: a trust store or engine of the target's choosing, key logs it can read */
	"OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES", "SSLKEYLOGFILE", "SSL_CERT_FILE",
	"SSL_CERT_DIR", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE",
	NULL,
};

/* Name prefixes: whole families of hooks. */
static const char *const hook_prefixes[] = {
	"LD_", "MALLOC_", "BASH_FUNC_", "PYTHON", "PERL5", "PERL_", "LUA_", "GIT_", "LESS",
	"XDG_", "CORECLR_", "GEM_", "RUBY", "GCONV_", "SYSTEMD_",
	NULL,
};

static bool is_identifier(const char *name, size_t len)
{
	if (len == 0 || !(isalpha((unsigned char)name[0]) || name[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)name[i]) || name[i] == '_'))
			return false;
	return true;
}

bool env_name_is_safe(const char *name, size_t len)
{
	if (!is_identifier(name, len))
		return false;
	for (const char *const *h = hook_names; *h; h++)
		if (strlen(*h) == len && strncmp(*h, name, len) == 0)
			return false;
	for (const char *const *p = hook_prefixes; *p; p++)
		if (strlen(*p) <= len && strncmp(*p, name, strlen(*p)) == 0)
			return false;
	return true;
}

static void append_name(char **list, const char *name, size_t len)
{
	char *grown = *list ? xasprintf("%s, %.*s", *list, (int)len, name) : xstrndup(name, len);

	free(*list);
	*list = grown;
}

char *env_drop_unsafe(char **env)
{
	char *dropped = NULL;
	size_t kept = 0;

	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		size_t len = eq ? (size_t)(eq - env[i]) : strlen(env[i]);

		if (eq && env_name_is_safe(env[i], len)) {
			env[kept++] = env[i];
			continue;
		}
		append_name(&dropped, env[i], len);
		free(env[i]);
	}
	if (env)
		env[kept] = NULL;
	return dropped;
}
