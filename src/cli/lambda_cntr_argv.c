#include "cli/lambda_cntr_argv.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli/lambda_ids.h"
#include "common/cleanup.h"
#include "common/strutil.h"

char **lambda_cntr_attach_argv(const char *container_id, bool verbose, const char *profile,
			       char *const command[])
{
	size_t n = command ? strv_len(command) : 0, i = 0;
	_cleanup_strv_ char **argv = NULL;

	/* Checked again here: this is the line that must never carry anything else. */
	if (!lambda_container_id_is_valid(container_id))
		return NULL;
	/* cntr attach -t id -v --profile P -- ID -- CMD... NULL */
	argv = calloc(10 + n + 1, sizeof(char *));
	if (!argv)
		abort();
	argv[i++] = xstrdup("cntr");
	argv[i++] = xstrdup("attach");
	argv[i++] = xstrdup("-t");
	argv[i++] = xstrdup("id");
	if (verbose)
		argv[i++] = xstrdup("-v");
	if (profile) {
		argv[i++] = xstrdup("--profile");
		argv[i++] = xstrdup(profile);
	}
	argv[i++] = xstrdup("--");
	argv[i++] = xstrdup(container_id);
	if (n) {
		argv[i++] = xstrdup("--");
		for (size_t k = 0; k < n; k++)
			argv[i++] = xstrdup(command[k]);
	}
	return steal_pointer(&argv);
}

char **lambda_cntr_host_argv(bool verbose, const char *profile, char *const command[])
{
	size_t n = command ? strv_len(command) : 0, i = 0;
	char **argv = calloc(7 + n + 1, sizeof(char *));

	/* cntr attach --host -v --profile P -- CMD... NULL */
	if (!argv)
		abort();
	argv[i++] = xstrdup("cntr");
	argv[i++] = xstrdup("attach");
	argv[i++] = xstrdup("--host");
	if (verbose)
		argv[i++] = xstrdup("-v");
	if (profile) {
		argv[i++] = xstrdup("--profile");
		argv[i++] = xstrdup(profile);
	}
	if (n) {
		argv[i++] = xstrdup("--");
		for (size_t k = 0; k < n; k++)
			argv[i++] = xstrdup(command[k]);
	}
	return argv;
}

bool lambda_term_is_plain(const char *term)
{
	size_t n = term ? strlen(term) : 0;

	if (n == 0 || n > 64)
		return false;
	for (const char *c = term; *c; c++) {
		if (!isalnum((unsigned char)*c) && !strchr("._+-", *c))
			return false;
	}
	return true;
}

char **lambda_argv_with_env(char **argv, const char *name, const char *value)
{
	size_t n = strv_len(argv), k = 0, at = 0;
	char **out;

	/* After `env` and the assignments already there: one `env`, variables in the order given. */
	if (n && strcmp(argv[0], "env") == 0)
		for (at = 1; at < n && strchr(argv[at], '=') && argv[at][0] != '-'; at++)
			;
	out = calloc(n + 3, sizeof(char *));
	if (!out)
		abort();
	if (at == 0)
		out[k++] = xstrdup("env");
	for (size_t i = 0; i < at; i++)
		out[k++] = argv[i];
	out[k++] = xasprintf("%s=%s", name, value);
	for (size_t i = at; i < n; i++)
		out[k++] = argv[i];
	free(argv);  /* its strings moved to out */
	return out;
}

char **lambda_argv_with_term(const char *term, char **argv)
{
	return term ? lambda_argv_with_env(argv, "TERM", term) : argv;
}
