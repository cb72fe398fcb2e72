/* kubeconfig loading: --kubeconfig, $KUBECONFIG merging (first definition of a name wins,
 * first current-context wins), --context, relative paths, *-data fields, tokenFile, exec
 * credential plugins (spec and a real plugin run), in-cluster service account, and errors
 * that name the file and the key. Real files in a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "kube/exec_credential.h"
#include "kube/incluster.h"
#include "kube/kubeconfig.h"

static char tmpdir[64];

static void write_file(const char *name, const char *content, mode_t mode)
{
	char path[256];
	int fd;
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	chmod(path, mode);
}

static char *tmp_path(const char *name)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];
	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	return p;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	strcpy(tmpdir, "/tmp/test_kube_kubeconfig.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	mkdir(tmp_path("sub"), 0755);
	mkdir(tmp_path("home"), 0755);
	mkdir(tmp_path("sa"), 0755);
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	setenv("HOME", tmp_path("home"), 1);
	return 0;
}

static int teardown(void **state)
{
	nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	unsetenv("KUBE_SERVICEACCOUNT_DIR");
	return 0;
}

static int load(const char *kubeconfig, const char *context, bool skip_credentials,
		struct kube_config **cfg, struct cntr_err *err)
{
	struct kube_config_opts opts = { .kubeconfig = kubeconfig, .context = context,
					 .skip_credentials = skip_credentials };
	return kube_config_load(&opts, cfg, err);
}

static struct kube_config *load_ok(const char *kubeconfig, const char *context)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };
	if (load(kubeconfig, context, false, &cfg, &err) != 0)
		fail_msg("load failed: %s", err.msg);
	return cfg;
}

static void expect_error(const char *yaml, const char *fragment)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };
	write_file("bad.yaml", yaml, 0600);
	if (load(tmp_path("bad.yaml"), NULL, true, &cfg, &err) != -1)
		fail_msg("accepted: %s", yaml);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	if (!strstr(err.msg, fragment) || !strstr(err.msg, "bad.yaml"))
		fail_msg("message \"%s\" lacks \"%s\" or the file name", err.msg, fragment);
	assert_null(cfg);
}

#define CLUSTER_C1 \
	"clusters:\n" \
	"- name: c1\n" \
	"  cluster:\n" \
	"    server: https://10.0.0.1:6443/\n" \
	"    certificate-authority: sub/ca.crt\n"

static void test_relative_paths_resolve_against_the_kubeconfig_directory(void **state)
{
	struct kube_config *cfg;
	write_file("sub/config", CLUSTER_C1
		   "users:\n"
		   "- name: u1\n"
		   "  user:\n"
		   "    client-certificate: certs/me.crt\n"
		   "    client-key: /abs/me.key\n"
		   "contexts:\n"
		   "- name: ctx\n"
		   "  context: {cluster: c1, user: u1, namespace: team}\n"
		   "current-context: ctx\n", 0600);
	cfg = load_ok(tmp_path("sub/config"), NULL);
	assert_string_equal(cfg->server, "https://10.0.0.1:6443"); /* trailing slash dropped */
	assert_string_equal(cfg->ca_file, tmp_path("sub/sub/ca.crt"));
	assert_string_equal(cfg->client_cert_file, tmp_path("sub/certs/me.crt"));
	assert_string_equal(cfg->client_key_file, "/abs/me.key");
	assert_string_equal(cfg->namespace, "team");
	assert_true(cfg->namespace_from_config);
	assert_string_equal(cfg->context_name, "ctx");
	assert_null(cfg->token);
	assert_null(cfg->exec);
	kube_config_free(cfg);
}

static void test_data_fields_are_base64_decoded_and_bools_parsed(void **state)
{
	struct kube_config *cfg;
	/* "CA PEM", "CERT", "KEY" */
	write_file("data.yaml",
		   "apiVersion: v1\nkind: Config\n"
		   "clusters:\n- name: c\n  cluster:\n    server: https://h:443\n"
		   "    certificate-authority-data: Q0EgUEVN\n    tls-server-name: api.internal\n"
		   "    proxy-url: http://proxy:3128\n"
		   "users:\n- name: u\n  user:\n    client-certificate-data: Q0VSVA==\n"
		   "    client-key-data: |\n      S0VZ\n"
		   "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n"
		   "current-context: x\n", 0600);
	cfg = load_ok(tmp_path("data.yaml"), NULL);
	assert_int_equal(cfg->ca_data.len, 6);
	assert_memory_equal(cfg->ca_data.data, "CA PEM", 6);
	assert_string_equal((char *)cfg->client_cert_data.data, "CERT");
	assert_string_equal((char *)cfg->client_key_data.data, "KEY");
	assert_string_equal(cfg->tls_server_name, "api.internal");
	assert_string_equal(cfg->proxy_url, "http://proxy:3128");
	assert_false(cfg->insecure_skip_tls_verify);
	assert_string_equal(cfg->namespace, "default");
	assert_false(cfg->namespace_from_config);
	kube_config_free(cfg);
}

static void test_yaml_1_1_booleans(void **state)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "on", "ON", "y", "Y" };
	static const char *const no[] = { "false", "False", "no", "NO", "off", "Off", "n", "N" };
	bool b;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(kube_parse_yaml_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		assert_int_equal(kube_parse_yaml_bool(no[i], &b), 0);
		assert_false(b);
	}
	assert_int_equal(kube_parse_yaml_bool("1", &b), -1);
	assert_int_equal(kube_parse_yaml_bool("yess", &b), -1);
	assert_int_equal(kube_parse_yaml_bool("", &b), -1);
}

static void test_insecure_skip_tls_verify_accepts_yes(void **state)
{
	struct kube_config *cfg;
	write_file("insecure.yaml",
		   "clusters:\n- name: c\n  cluster: {server: 'https://h', insecure-skip-tls-verify: yes}\n"
		   "users:\n- name: u\n  user: {token: abc}\n"
		   "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
		   "current-context: x\n", 0600);
	cfg = load_ok(tmp_path("insecure.yaml"), NULL);
	assert_true(cfg->insecure_skip_tls_verify);
	assert_string_equal(cfg->token, "abc");
	kube_config_free(cfg);
}

static const char merge_a[] =
	"clusters:\n- name: c1\n  cluster: {server: 'https://a.example'}\n"
	"users:\n- name: u1\n  user: {token: token-from-a}\n"
	"contexts:\n- name: ctx1\n  context: {cluster: c1, user: u1}\n";
static const char merge_b[] =
	"current-context: ctx2\n"
	"clusters:\n- name: c1\n  cluster: {server: 'https://b.example'}\n"
	"- name: c2\n  cluster: {server: 'https://c2.example'}\n"
	"users:\n- name: u1\n  user: {token: token-from-b}\n"
	"contexts:\n- name: ctx2\n  context: {cluster: c1, user: u1, namespace: team}\n"
	"- name: ctx1\n  context: {cluster: c2, user: u1}\n";
static const char merge_c[] = "current-context: ctx1\n";

static void test_kubeconfig_list_merges_first_definition_wins(void **state)
{
	struct kube_config *cfg;
	char list[1024];
	write_file("a.yaml", merge_a, 0600);
	write_file("b.yaml", merge_b, 0600);
	write_file("c.yaml", merge_c, 0600);
	/* a has no current-context: b's is used; a missing entry in the list is skipped */
	snprintf(list, sizeof(list), "%s:%s:%s:%s", tmp_path("a.yaml"), tmp_path("missing.yaml"),
		 tmp_path("b.yaml"), tmp_path("c.yaml"));
	setenv("KUBECONFIG", list, 1);
	cfg = load_ok(NULL, NULL);
	assert_string_equal(cfg->context_name, "ctx2");
	assert_string_equal(cfg->server, "https://a.example"); /* c1 from a, not b */
	assert_string_equal(cfg->token, "token-from-a");
	assert_string_equal(cfg->namespace, "team");
	assert_non_null(strstr(cfg->source, "$KUBECONFIG"));
	kube_config_free(cfg);

	/* --context picks ctx1, defined in a (first) although b defines it too */
	cfg = load_ok(NULL, "ctx1");
	assert_string_equal(cfg->server, "https://a.example");
	assert_string_equal(cfg->namespace, "default");
	kube_config_free(cfg);

	/* order matters: with b first, its definitions win */
	snprintf(list, sizeof(list), "%s:%s", tmp_path("b.yaml"), tmp_path("a.yaml"));
	setenv("KUBECONFIG", list, 1);
	cfg = load_ok(NULL, "ctx1");
	assert_string_equal(cfg->server, "https://c2.example");
	assert_string_equal(cfg->token, "token-from-b");
	kube_config_free(cfg);
}

static void test_explicit_kubeconfig_ignores_the_list(void **state)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };
	char list[512];
	write_file("a.yaml", merge_a, 0600);
	write_file("b.yaml", merge_b, 0600);
	snprintf(list, sizeof(list), "%s", tmp_path("b.yaml"));
	setenv("KUBECONFIG", list, 1);
	/* a alone has no current-context */
	assert_int_equal(load(tmp_path("a.yaml"), NULL, true, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "no current-context"));
	assert_non_null(strstr(err.msg, "a.yaml"));
	cfg = load_ok(tmp_path("a.yaml"), "ctx1");
	assert_string_equal(cfg->server, "https://a.example");
	kube_config_free(cfg);
}

static void test_default_file_in_home_is_used(void **state)
{
	struct kube_config *cfg;
	mkdir(tmp_path("home/.kube"), 0700);
	write_file("home/.kube/config", merge_b, 0600);
	cfg = load_ok(NULL, NULL);
	assert_string_equal(cfg->context_name, "ctx2");
	assert_string_equal(cfg->server, "https://b.example");
	kube_config_free(cfg);
}

static void test_no_configuration_at_all_is_a_clear_error(void **state)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };
	assert_int_equal(load(NULL, NULL, true, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "no kubeconfig"));
	setenv("KUBECONFIG", tmp_path("nope1:/nope2"), 1);
	assert_int_equal(load(NULL, NULL, true, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "none of the files in $KUBECONFIG"));
	assert_int_equal(load(tmp_path("nope.yaml"), NULL, true, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "nope.yaml"));
}

static void test_token_file_is_read_and_trimmed(void **state)
{
	struct kube_config *cfg;
	struct kube_config *unresolved = NULL;
	struct cntr_err err = { 0 };
	write_file("sub/token", "s3cr3t\n", 0600);
	write_file("sub/tf.yaml",
		   "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		   "users:\n- name: u\n  user: {tokenFile: token}\n"
		   "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n", 0600);
	cfg = load_ok(tmp_path("sub/tf.yaml"), NULL);
	assert_string_equal(cfg->token, "s3cr3t");
	assert_string_equal(cfg->token_file, tmp_path("sub/token"));
	kube_config_free(cfg);
	/* skip_credentials leaves the file unread */
	assert_int_equal(load(tmp_path("sub/tf.yaml"), NULL, true, &unresolved, &err), 0);
	assert_null(unresolved->token);
	kube_config_free(unresolved);
	/* a missing token file is an error naming it */
	unlink(tmp_path("sub/token"));
	assert_int_equal(load(tmp_path("sub/tf.yaml"), NULL, false, &unresolved, &err), -1);
	assert_non_null(strstr(err.msg, "token"));
	assert_non_null(strstr(err.msg, "tf.yaml"));
}

static const char exec_yaml[] =
	"clusters:\n- name: c\n  cluster:\n    server: https://h:6443\n    certificate-authority-data: Q0EgUEVN\n"
	"users:\n- name: u\n  user:\n    exec:\n"
	"      apiVersion: client.authentication.k8s.io/v1\n"
	"      command: ./plugin.sh\n"
	"      args: [--cluster, prod]\n"
	"      env:\n      - name: PLUGIN_MODE\n        value: token\n      - name: EMPTY\n"
	"      installHint: install the plugin with apt-get install plugin\n"
	"      interactiveMode: Never\n"
	"      provideClusterInfo: true\n"
	"contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";

static void test_exec_plugin_spec_is_parsed(void **state)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };
	write_file("exec.yaml", exec_yaml, 0600);
	assert_int_equal(load(tmp_path("exec.yaml"), NULL, true, &cfg, &err), 0);
	assert_non_null(cfg->exec);
	assert_string_equal(cfg->exec->api_version, "client.authentication.k8s.io/v1");
	assert_string_equal(cfg->exec->command, tmp_path("plugin.sh"));
	assert_string_equal(cfg->exec->args[0], "--cluster");
	assert_string_equal(cfg->exec->args[1], "prod");
	assert_null(cfg->exec->args[2]);
	assert_string_equal(cfg->exec->env[0], "PLUGIN_MODE=token");
	assert_string_equal(cfg->exec->env[1], "EMPTY=");
	assert_null(cfg->exec->env[2]);
	assert_string_equal(cfg->exec->install_hint, "install the plugin with apt-get install plugin");
	assert_int_equal(cfg->exec->interactive, KUBE_EXEC_INTERACTIVE_NEVER);
	assert_true(cfg->exec->provide_cluster_info);
	kube_config_free(cfg);
}

static void test_exec_info_carries_cluster_when_asked(void **state)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };
	char *info;
	json_t *j;
	write_file("exec.yaml", exec_yaml, 0600);
	assert_int_equal(load(tmp_path("exec.yaml"), NULL, true, &cfg, &err), 0);
	info = kube_exec_info_json(cfg->exec, cfg, 0);
	j = json_loads(info, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "ExecCredential");
	assert_string_equal(json_string_value(json_object_get(j, "apiVersion")), "client.authentication.k8s.io/v1");
	assert_true(json_is_false(json_object_get(json_object_get(j, "spec"), "interactive")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j, "spec"), "cluster"), "server")),
			    "https://h:6443");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j, "spec"), "cluster"),
								"certificate-authority-data")),
			    "Q0EgUEVN");
	json_decref(j);
	free(info);
	cfg->exec->provide_cluster_info = false;
	info = kube_exec_info_json(cfg->exec, cfg, 1);
	j = json_loads(info, 0, NULL);
	assert_null(json_object_get(json_object_get(j, "spec"), "cluster"));
	assert_true(json_is_true(json_object_get(json_object_get(j, "spec"), "interactive")));
	json_decref(j);
	free(info);
	kube_config_free(cfg);
}

static void test_exec_info_reads_a_ca_file_into_data(void **state)
{
	struct kube_exec_plugin plugin = { .api_version = "client.authentication.k8s.io/v1beta1",
					   .provide_cluster_info = true };
	struct kube_config cfg = { .server = "https://h" };
	char *info;
	json_t *j;
	write_file("ca.pem", "CA PEM", 0600);
	cfg.ca_file = tmp_path("ca.pem");
	info = kube_exec_info_json(&plugin, &cfg, 0);
	j = json_loads(info, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(j, "spec"), "cluster"),
								"certificate-authority-data")),
			    "Q0EgUEVN");
	assert_string_equal(json_string_value(json_object_get(j, "apiVersion")), "client.authentication.k8s.io/v1beta1");
	json_decref(j);
	free(info);
}

/* A real plugin: checks its args, env and KUBERNETES_EXEC_INFO, then answers per PLUGIN_MODE. */
static const char plugin_script[] =
	"#!/bin/sh\n"
	"[ \"$1 $2\" = \"--cluster prod\" ] || { echo bad args >&2; exit 3; }\n"
	"case \"$KUBERNETES_EXEC_INFO\" in *'\"kind\":\"ExecCredential\"'*'https://h:6443'*) ;; *) echo bad info >&2; exit 4;; esac\n"
	"case \"$PLUGIN_MODE\" in\n"
	"token) echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"plugin-token\",\"expirationTimestamp\":\"2030-01-01T00:00:00Z\"}}';;\n"
	"cert) printf '%s\\n' '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"clientCertificateData\":\"-----BEGIN CERTIFICATE-----\\nX\\n\",\"clientKeyData\":\"-----BEGIN PRIVATE KEY-----\\nY\\n\"}}';;\n"
	"wrongapi) echo '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\"}}';;\n"
	"empty) echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{}}';;\n"
	"fail) echo 'login required' >&2; exit 1;;\n"
	"flood) yes '{\"apiVersion\":\"client.authentication.k8s.io/v1\"}';;\n"
	"escapes) printf '%s\\n' '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"\\u001b]0;pwned\\u0007\"}';;\n"
	"expired) n=$(cat \"${0%/*}/runs\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"${0%/*}/runs\"\n"
	"  echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"tok-'$n'\",\"expirationTimestamp\":\"2000-01-01T00:00:00.5Z\"}}';;\n"
	"esac\n";

static int load_with_plugin_mode(const char *mode, struct kube_config **cfg, struct cntr_err *err)
{
	char yaml[sizeof(exec_yaml) + 64];
	char *p;
	snprintf(yaml, sizeof(yaml), "%s", exec_yaml);
	p = strstr(yaml, "value: token");
	assert_non_null(p);
	snprintf(yaml, sizeof(yaml), "%.*svalue: %s%s", (int)(p - yaml), exec_yaml, mode,
		 exec_yaml + (p - yaml) + strlen("value: token"));
	write_file("exec.yaml", yaml, 0600);
	write_file("plugin.sh", plugin_script, 0755);
	return load(tmp_path("exec.yaml"), NULL, false, cfg, err);
}

static void test_exec_plugin_token_is_used(void **state)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };
	if (load_with_plugin_mode("token", &cfg, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg->token, "plugin-token");
	assert_true(cfg->credentials_resolved);
	kube_config_free(cfg);
}

static void test_exec_plugin_client_certificate_is_used(void **state)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };
	if (load_with_plugin_mode("cert", &cfg, &err) != 0)
		fail_msg("%s", err.msg);
	assert_null(cfg->token);
	assert_string_equal((char *)cfg->client_cert_data.data, "-----BEGIN CERTIFICATE-----\nX\n");
	assert_string_equal((char *)cfg->client_key_data.data, "-----BEGIN PRIVATE KEY-----\nY\n");
	kube_config_free(cfg);
}

static void test_exec_plugin_failures_are_reported(void **state)
{
	static const struct {
		const char *mode;
		const char *expect;
	} cases[] = {
		{ "wrongapi", "differs from the requested" },
		{ "empty", "neither a token nor client certificate" },
		{ "fail", "failed with exit status 1" },
		{ "silent", "not a JSON object" },
		{ "flood", "its output is larger than 1 MiB, more than any credential" },
		{ "escapes", "output kind is \"\\x1b]0;pwned\\x07\"" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kube_config *cfg = NULL;
		struct cntr_err err = { 0 };
		assert_int_equal(load_with_plugin_mode(cases[i].mode, &cfg, &err), -1);
		if (!strstr(err.msg, cases[i].expect) || !strstr(err.msg, "plugin.sh"))
			fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].mode, err.msg, cases[i].expect);
		assert_null(cfg);
	}
}

static void test_exec_plugin_credential_is_renewed_when_expired_or_refused(void **state)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };

	if (load_with_plugin_mode("expired", &cfg, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(cfg->token, "tok-1");
	assert_int_equal(cfg->credential_expiry, 946684800);
	assert_int_equal(kube_config_renew_expired(cfg, &err), 1);
	assert_string_equal(cfg->token, "tok-2");
	assert_int_equal(kube_config_renew_after_unauthorized(cfg, &err), 1);
	assert_string_equal(cfg->token, "tok-3");
	kube_config_free(cfg);

	/* Valid until 2030: nothing to renew before a request; a 401 still renews it. */
	assert_int_equal(load_with_plugin_mode("token", &cfg, &err), 0);
	assert_int_equal(kube_config_renew_expired(cfg, &err), 0);
	assert_int_equal(kube_config_renew_after_unauthorized(cfg, &err), 1);
	assert_string_equal(cfg->token, "plugin-token");
	/* A plugin failing on renewal is an error naming it. */
	write_file("plugin.sh", "#!/bin/sh\necho 'session expired, log in' >&2\nexit 1\n", 0755);
	assert_int_equal(kube_config_renew_after_unauthorized(cfg, &err), -1);
	assert_non_null(strstr(err.msg, "plugin.sh failed with exit status 1"));
	kube_config_free(cfg);
}

static void test_token_file_is_read_again_after_a_401_but_not_a_static_token(void **state)
{
	struct kube_config *cfg;
	struct cntr_err err = { 0 };

	write_file("token", "old\n", 0600);
	write_file("tf.yaml",
		   "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		   "users:\n- name: u\n  user: {tokenFile: token}\n- name: s\n  user: {token: static}\n"
		   "contexts:\n- name: x\n  context: {cluster: c, user: u}\n- name: y\n  context: {cluster: c, user: s}\n"
		   "current-context: x\n", 0600);
	cfg = load_ok(tmp_path("tf.yaml"), NULL);
	write_file("token", "rotated\n", 0600);
	assert_int_equal(kube_config_renew_expired(cfg, &err), 0);
	assert_string_equal(cfg->token, "old");
	assert_int_equal(kube_config_renew_after_unauthorized(cfg, &err), 1);
	assert_string_equal(cfg->token, "rotated");
	kube_config_free(cfg);
	cfg = load_ok(tmp_path("tf.yaml"), "y");
	assert_int_equal(kube_config_renew_after_unauthorized(cfg, &err), 0);
	assert_string_equal(cfg->token, "static");
	kube_config_free(cfg);
}

static void test_auth_provider_oidc_token_or_a_clear_error(void **state)
{
	static const char base[] = "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
				   "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
				   "users:\n- name: u\n  user:\n    auth-provider:\n";
	char yaml[1024];
	struct kube_config *cfg;

	snprintf(yaml, sizeof(yaml), "%s      name: oidc\n      config: {client-id: k, id-token: eyJ.id.tok}\n", base);
	write_file("oidc.yaml", yaml, 0600);
	cfg = load_ok(tmp_path("oidc.yaml"), NULL);
	assert_string_equal(cfg->token, "eyJ.id.tok");
	kube_config_free(cfg);

	snprintf(yaml, sizeof(yaml), "%s      name: gcp\n      config: {cmd-path: /usr/bin/gcloud}\n", base);
	expect_error(yaml, "gke-gcloud-auth-plugin");
	snprintf(yaml, sizeof(yaml), "%s      name: azure\n", base);
	expect_error(yaml, "kubelogin");
	snprintf(yaml, sizeof(yaml), "%s      name: oidc\n      config: {client-id: k}\n", base);
	expect_error(yaml, "auth-provider.config.id-token");
	snprintf(yaml, sizeof(yaml), "%s      name: openstack\n", base);
	expect_error(yaml, "unsupported auth-provider");
}

static void test_missing_exec_plugin_shows_install_hint(void **state)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };
	write_file("exec.yaml", exec_yaml, 0600);
	unlink(tmp_path("plugin.sh"));
	assert_int_equal(load(tmp_path("exec.yaml"), NULL, false, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "plugin.sh"));
	assert_non_null(strstr(err.msg, "install the plugin with apt-get install plugin"));
}

static void test_in_cluster_service_account(void **state)
{
	struct kube_config *cfg;
	write_file("sa/token", "sa-token\n", 0600);
	write_file("sa/ca.crt", "CA\n", 0600);
	write_file("sa/namespace", "kube-system", 0600);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	setenv("KUBE_SERVICEACCOUNT_DIR", tmp_path("sa"), 1);
	cfg = load_ok(NULL, NULL);
	assert_string_equal(cfg->server, "https://10.96.0.1:443");
	assert_string_equal(cfg->token, "sa-token");
	assert_string_equal(cfg->ca_file, tmp_path("sa/ca.crt"));
	assert_string_equal(cfg->namespace, "kube-system");
	assert_true(cfg->namespace_from_config);
	kube_config_free(cfg);

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	unlink(tmp_path("sa/namespace"));
	cfg = load_ok(NULL, NULL);
	assert_string_equal(cfg->server, "https://[fd00::1]:443");
	assert_string_equal(cfg->namespace, "default");
	kube_config_free(cfg);
}

static void test_kubeconfig_takes_precedence_over_in_cluster(void **state)
{
	struct kube_config *cfg;
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	write_file("b.yaml", merge_b, 0600);
	setenv("KUBECONFIG", tmp_path("b.yaml"), 1);
	cfg = load_ok(NULL, NULL);
	assert_string_equal(cfg->server, "https://b.example");
	kube_config_free(cfg);
}

static void test_in_cluster_without_ca_is_an_error(void **state)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	setenv("KUBE_SERVICEACCOUNT_DIR", tmp_path("sa"), 1);
	assert_int_equal(load(NULL, NULL, false, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "ca.crt"));
}

#define CTX "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
#define USER_OK "users:\n- name: u\n  user: {token: t}\n"

static void test_invalid_configs_name_file_and_key(void **state)
{
	expect_error("clusters: [\n", "invalid YAML at line");
	expect_error("- just\n- a list\n", "not a kubeconfig");
	expect_error("clusters:\n- name: c\n  cluster: {server: 'https://h'}\n" USER_OK
		     "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: y\n",
		     "context \"y\" not found");
	expect_error("clusters:\n- name: other\n  cluster: {server: 'https://h'}\n" USER_OK CTX,
		     "cluster \"c\", which is not defined");
	expect_error("clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		     "users:\n- name: someone\n  user: {}\n" CTX,
		     "user \"u\", which is not defined");
	expect_error("clusters:\n- name: c\n  cluster: {certificate-authority: ca}\n" USER_OK CTX,
		     "clusters[\"c\"].cluster.server: missing");
	expect_error("clusters:\n- name: c\n  cluster: {server: 'h:6443'}\n" USER_OK CTX,
		     "must start with https://");
	expect_error("clusters:\n- name: c\n  cluster: {server: 'https://h', certificate-authority-data: '!!notbase64'}\n" USER_OK CTX,
		     "clusters[\"c\"].cluster.certificate-authority-data: invalid base64");
	expect_error("clusters:\n- name: c\n  cluster: {server: 'https://h', insecure-skip-tls-verify: maybe}\n" USER_OK CTX,
		     "cluster.insecure-skip-tls-verify: expected true or false");
	expect_error("clusters:\n- name: c\n  cluster: {server: 'https://h', insecure-skip-tls-verify: true, certificate-authority: ca}\n" USER_OK CTX,
		     "cannot be combined");
	expect_error("clusters:\n- name: c\n  cluster: {server: [a, b]}\n" USER_OK CTX,
		     "clusters[\"c\"].cluster.server: expected a string");
	expect_error("clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		     "users:\n- name: u\n  user: {client-certificate: me.crt}\n" CTX,
		     "client-certificate and client-key must be given together");
	expect_error("clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		     "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: x}\n" CTX,
		     "users[\"u\"].user.exec.interactiveMode: required");
	expect_error("clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		     "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}\n" CTX,
		     "user.exec.apiVersion: unsupported");
	expect_error("clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		     "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1beta1}\n" CTX,
		     "user.exec.command: missing");
	expect_error("clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		     "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: x, interactiveMode: Sometimes}\n" CTX,
		     "user.exec.interactiveMode: unknown mode");
	expect_error("clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		     "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: x, args: notalist}\n" CTX,
		     "user.exec.args: expected a list");
}

static void test_v1beta1_plugin_defaults_to_if_available(void **state)
{
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };
	write_file("beta.yaml",
		   "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
		   "users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: gke-auth}\n" CTX,
		   0600);
	assert_int_equal(load(tmp_path("beta.yaml"), NULL, true, &cfg, &err), 0);
	assert_int_equal(cfg->exec->interactive, KUBE_EXEC_INTERACTIVE_IF_AVAILABLE);
	assert_string_equal(cfg->exec->command, "gke-auth"); /* bare names are looked up in $PATH */
	assert_null(cfg->exec->args[0]);
	assert_null(cfg->exec->env[0]);
	assert_false(cfg->exec->provide_cluster_info);
	kube_config_free(cfg);
}

static void test_load_buffer_parses_in_memory_text(void **state)
{
	static const char yaml[] = "clusters:\n- name: c\n  cluster: {server: 'https://h', certificate-authority: ca.pem}\n" USER_OK CTX;
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };
	struct kube_config_opts opts = { 0 };
	assert_int_equal(kube_config_load_buffer("/etc/kube/config", yaml, strlen(yaml), &opts, &cfg, &err), 0);
	assert_string_equal(cfg->server, "https://h");
	assert_string_equal(cfg->token, "t");
	assert_string_equal(cfg->ca_file, "/etc/kube/ca.pem");
	kube_config_free(cfg);
}

/* The caps of kubeconfig.h. A 1M-level nesting used to keep libyaml busy for over an hour;
 * the depth is now counted from the parser's events and the load refused at the 65th level. */
static char *nested_kubeconfig(size_t levels)
{
	static const char head[] = "clusters: ";
	size_t len = strlen(head) + 2 * levels + 1;
	char *yaml = malloc(len + 1);
	assert_non_null(yaml);
	memcpy(yaml, head, strlen(head));
	memset(yaml + strlen(head), '[', levels);
	memset(yaml + strlen(head) + levels, ']', levels);
	yaml[len - 1] = '\n';
	yaml[len] = '\0';
	return yaml;
}

static void test_a_million_levels_of_nesting_fail_with_the_depth_cap(void **state)
{
	char *yaml = nested_kubeconfig(1000000);
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };

	write_file("deep.yaml", yaml, 0600);
	assert_int_equal(load(tmp_path("deep.yaml"), NULL, true, &cfg, &err), -1);
	assert_null(cfg);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_non_null(strstr(err.msg, "deep.yaml: nested deeper than 64 levels at line 1 (the cap for a kubeconfig)"));
	assert_null(strchr(err.msg, '\n'));

	memset(&err, 0, sizeof(err));
	assert_int_equal(kube_config_load_buffer("/etc/kube/deep", yaml, strlen(yaml), NULL, &cfg, &err), -1);
	assert_string_equal(err.msg, "/etc/kube/deep: nested deeper than 64 levels at line 1 (the cap for a kubeconfig)");
	free(yaml);
}

static void test_nesting_up_to_the_cap_is_only_a_wrong_kubeconfig(void **state)
{
	/* 64 levels pass the cap (the mapping at the top is the first): the file is then judged as a
	 * kubeconfig, whose clusters entries must be mappings. */
	char *yaml = nested_kubeconfig(KUBE_CONFIG_DEPTH_MAX - 1);
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };

	assert_int_equal(kube_config_load_buffer("/k", yaml, strlen(yaml), NULL, &cfg, &err), -1);
	assert_null(strstr(err.msg, "nested deeper"));
	free(yaml);
	yaml = nested_kubeconfig(KUBE_CONFIG_DEPTH_MAX);
	assert_int_equal(kube_config_load_buffer("/k", yaml, strlen(yaml), NULL, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "nested deeper than 64 levels"));
	free(yaml);
}

static void test_a_kubeconfig_over_the_size_cap_is_refused_by_name(void **state)
{
	/* Valid YAML, one long comment: only the size is wrong. */
	size_t len = KUBE_CONFIG_SIZE_MAX + 1;
	char *yaml = malloc(len + 1);
	struct kube_config *cfg = NULL;
	struct cntr_err err = { 0 };

	assert_non_null(yaml);
	memset(yaml, 'x', len);
	yaml[0] = '#';
	yaml[len] = '\0';
	write_file("huge.yaml", yaml, 0600);
	assert_int_equal(load(tmp_path("huge.yaml"), NULL, true, &cfg, &err), -1);
	assert_null(cfg);
	assert_non_null(strstr(err.msg, "huge.yaml: larger than 4 MiB (the cap for a kubeconfig)"));

	/* A file that never ends is read only up to the cap. */
	memset(&err, 0, sizeof(err));
	assert_int_equal(load("/dev/zero", NULL, true, &cfg, &err), -1);
	assert_string_equal(err.msg, "/dev/zero: larger than 4 MiB (the cap for a kubeconfig)");
	free(yaml);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_relative_paths_resolve_against_the_kubeconfig_directory),
		T(test_data_fields_are_base64_decoded_and_bools_parsed),
		T(test_yaml_1_1_booleans),
		T(test_insecure_skip_tls_verify_accepts_yes),
		T(test_kubeconfig_list_merges_first_definition_wins),
		T(test_explicit_kubeconfig_ignores_the_list),
		T(test_default_file_in_home_is_used),
		T(test_no_configuration_at_all_is_a_clear_error),
		T(test_token_file_is_read_and_trimmed),
		T(test_exec_plugin_spec_is_parsed),
		T(test_exec_info_carries_cluster_when_asked),
		T(test_exec_info_reads_a_ca_file_into_data),
		T(test_exec_plugin_token_is_used),
		T(test_exec_plugin_client_certificate_is_used),
		T(test_exec_plugin_failures_are_reported),
		T(test_exec_plugin_credential_is_renewed_when_expired_or_refused),
		T(test_token_file_is_read_again_after_a_401_but_not_a_static_token),
		T(test_auth_provider_oidc_token_or_a_clear_error),
		T(test_missing_exec_plugin_shows_install_hint),
		T(test_in_cluster_service_account),
		T(test_kubeconfig_takes_precedence_over_in_cluster),
		T(test_in_cluster_without_ca_is_an_error),
		T(test_invalid_configs_name_file_and_key),
		T(test_v1beta1_plugin_defaults_to_if_available),
		T(test_load_buffer_parses_in_memory_text),
		T(test_a_million_levels_of_nesting_fail_with_the_depth_cap),
		T(test_nesting_up_to_the_cap_is_only_a_wrong_kubeconfig),
		T(test_a_kubeconfig_over_the_size_cap_is_refused_by_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
