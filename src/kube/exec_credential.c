#include "kube/exec_credential.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "kube/base64.h"
#include "kube/safe_text.h"

extern char **environ;

/* 1 MiB for a plugin's answer: an ExecCredential is a token or a certificate and key, a few
 * KiB. A plugin that writes more is broken; we stop reading and kill it. */
#define EXEC_CREDENTIAL_OUTPUT_MAX (1u << 20)

/* The plugin gets the CA as data even when the kubeconfig names a file, as kubectl does. */
static void add_ca_data(json_t *cluster, const struct kube_config *cfg)
{
	_cleanup_free_ char *file_data = NULL, *b64 = NULL;
	struct cntr_err ignored;
	size_t len = 0;

	if (cfg->ca_data.data)
		b64 = kube_base64_encode(cfg->ca_data.data, cfg->ca_data.len);
	else if (cfg->ca_file && read_file_at(AT_FDCWD, cfg->ca_file, &file_data, &len, &ignored) == 0)
		b64 = kube_base64_encode(file_data, len);
	if (b64)
		json_object_set_new(cluster, "certificate-authority-data", json_string(b64));
}

char *kube_exec_info_json(const struct kube_exec_plugin *plugin, const struct kube_config *cfg,
			  int interactive)
{
	json_auto_t *spec = json_pack("{s:b}", "interactive", interactive);
	json_auto_t *info = NULL;

	if (plugin->provide_cluster_info) {
		json_t *cluster = json_pack("{s:s, s:b}", "server", cfg->server,
					    "insecure-skip-tls-verify", cfg->insecure_skip_tls_verify);
		if (cfg->tls_server_name)
			json_object_set_new(cluster, "tls-server-name", json_string(cfg->tls_server_name));
		if (cfg->proxy_url)
			json_object_set_new(cluster, "proxy-url", json_string(cfg->proxy_url));
		add_ca_data(cluster, cfg);
		json_object_set_new(spec, "cluster", cluster);
	}
	info = json_pack("{s:s, s:s, s:O}", "apiVersion", plugin->api_version, "kind", "ExecCredential",
			 "spec", spec);
	return json_dumps(info, JSON_COMPACT);
}

void kube_exec_credential_clear(struct kube_exec_credential *cred)
{
	free(cred->token);
	free(cred->client_certificate_data);
	free(cred->client_key_data);
	free(cred->expiration_timestamp);
	memset(cred, 0, sizeof(*cred));
}

static char *dup_string_member(const json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	return v && *v ? xstrdup(v) : NULL;
}

int kube_exec_credential_parse(const char *json, size_t len, const char *api_version,
			       const char *who, struct kube_exec_credential *out, struct cntr_err *err)
{
	json_error_t jerr;
	json_auto_t *root = json_loadb(json, len, 0, &jerr);
	const char *kind, *api;
	json_t *status;

	_cleanup_free_ char *text = NULL;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(root)) {
		text = kube_safe_text(root ? "wrong type" : jerr.text);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec plugin %s: output is not a JSON object (%s)", who,
				 text);
	}
	kind = json_string_value(json_object_get(root, "kind"));
	api = json_string_value(json_object_get(root, "apiVersion"));
	if (!kind || strcmp(kind, "ExecCredential") != 0) {
		text = kube_safe_text(kind);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec plugin %s: output kind is \"%s\", expected ExecCredential",
				 who, text);
	}
	if (!api || strcmp(api, api_version) != 0) {
		text = kube_safe_text(api);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "exec plugin %s: output apiVersion \"%s\" differs from the requested %s",
				 who, text, api_version);
	}
	status = json_object_get(root, "status");
	if (!json_is_object(status))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec plugin %s: output has no status", who);
	out->token = dup_string_member(status, "token");
	out->client_certificate_data = dup_string_member(status, "clientCertificateData");
	out->client_key_data = dup_string_member(status, "clientKeyData");
	out->expiration_timestamp = dup_string_member(status, "expirationTimestamp");
	if (!!out->client_certificate_data != !!out->client_key_data) {
		kube_exec_credential_clear(out);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "exec plugin %s: status has only one of clientCertificateData and clientKeyData",
				 who);
	}
	if (!out->token && !out->client_certificate_data) {
		kube_exec_credential_clear(out);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "exec plugin %s: status has neither a token nor client certificate data", who);
	}
	return 0;
}

/* Our environment with the plugin's variables overriding same-named ones, plus the info. */
static char **plugin_environment(const struct kube_exec_plugin *p, const char *info)
{
	size_t n = strv_len(environ) + strv_len(p->env) + 2, k = 0;
	char **envp = calloc(n, sizeof(char *));

	if (!envp)
		abort();
	for (char **e = environ; *e; e++) {
		size_t name_len = strcspn(*e, "=");
		bool overridden = str_has_prefix(*e, "KUBERNETES_EXEC_INFO=");
		for (char **pe = p->env; *pe && !overridden; pe++)
			overridden = strncmp(*pe, *e, name_len + 1) == 0;
		if (!overridden)
			envp[k++] = xstrdup(*e);
	}
	for (char **pe = p->env; *pe; pe++)
		envp[k++] = xstrdup(*pe);
	envp[k++] = xasprintf("KUBERNETES_EXEC_INFO=%s", info);
	envp[k] = NULL;
	return envp;
}

static char **plugin_argv(const struct kube_exec_plugin *p)
{
	size_t n = strv_len(p->args);
	char **argv = calloc(n + 2, sizeof(char *));
	if (!argv)
		abort();
	argv[0] = xstrdup(p->command);
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = xstrdup(p->args[i]);
	return argv;
}

static int fail_with_hint(const struct kube_exec_plugin *p, int errnum, const char *what,
			  struct cntr_err *err)
{
	cntr_fail(err, CNTR_EXIT_FAILURE, errnum, "exec plugin %s: %s", p->command, what);
	if (p->install_hint)
		cntr_err_hint(err, "%s", p->install_hint);
	return -1;
}

/* Spawn with stdout into a pipe; stdin is ours or /dev/null. Returns the child's output. */
static int spawn_and_read(const struct kube_exec_plugin *p, char **argv, char **envp, bool give_stdin,
			  char **output, size_t *output_len, struct cntr_err *err)
{
	posix_spawn_file_actions_t actions;
	_cleanup_close_ int rd = -1;
	int pipefd[2], status = 0, rc, read_errno;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return cntr_fail_errno(err, "exec plugin %s: pipe", p->command);
	rd = pipefd[0];
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
	if (!give_stdin)
		posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	rc = posix_spawnp(&pid, p->command, &actions, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&actions);
	close(pipefd[1]);
	if (rc != 0)
		return fail_with_hint(p, rc, "cannot run it", err);
	rc = read_fd_upto(rd, EXEC_CREDENTIAL_OUTPUT_MAX, output, output_len);
	read_errno = rc < 0 ? errno : 0;
	if (rc < 0)
		kill(pid, SIGKILL); /* it would block on a pipe nobody reads */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (read_errno == EFBIG)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec plugin %s: its output is larger than %u MiB, "
				 "more than any credential", p->command, EXEC_CREDENTIAL_OUTPUT_MAX >> 20);
	if (rc < 0) {
		errno = read_errno;
		return cntr_fail_errno(err, "exec plugin %s: reading its output", p->command);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	free(*output);
	*output = NULL;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return fail_with_hint(p, 0, "command not found (exit status 127)", err);
	if (WIFEXITED(status))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec plugin %s failed with exit status %d",
				 p->command, WEXITSTATUS(status));
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec plugin %s was killed by signal %d", p->command,
			 WTERMSIG(status));
}

int kube_exec_credential_run(const struct kube_config *cfg, struct kube_exec_credential *out,
			     struct cntr_err *err)
{
	const struct kube_exec_plugin *p = cfg->exec;
	bool tty = isatty(STDIN_FILENO);
	bool interactive = tty && p->interactive != KUBE_EXEC_INTERACTIVE_NEVER;
	_cleanup_free_ char *info = NULL;
	_cleanup_free_ char *output = NULL;
	_cleanup_strv_ char **envp = NULL;
	_cleanup_strv_ char **argv = NULL;
	size_t len = 0;

	if (p->interactive == KUBE_EXEC_INTERACTIVE_ALWAYS && !tty)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "exec plugin %s needs an interactive terminal (interactiveMode: Always) but stdin is not one",
				 p->command);
	info = kube_exec_info_json(p, cfg, interactive);
	envp = plugin_environment(p, info);
	argv = plugin_argv(p);
	if (spawn_and_read(p, argv, envp, interactive, &output, &len, err) < 0)
		return -1;
	return kube_exec_credential_parse(output, len, p->api_version, p->command, out, err);
}
