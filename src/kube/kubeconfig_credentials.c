/* Credentials that need I/O, resolved after parsing: `tokenFile` and exec plugins. */
#include "kube/kubeconfig_internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "kube/exec_credential.h"

void kc_blob_clear(struct kube_blob *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

static void blob_set_string(struct kube_blob *b, const char *text)
{
	kc_blob_clear(b);
	b->data = (unsigned char *)xstrdup(text);
	b->len = strlen(text);
}

static int read_token_file(struct kube_config *cfg, struct cntr_err *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (read_file_at(AT_FDCWD, cfg->token_file, &text, &len, err) < 0)
		return cntr_err_prefix(err, "%s: token file of user \"%s\": ", cfg->source,
				       cfg->user_name ? cfg->user_name : "(service account)");
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (!len)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "token file %s is empty", cfg->token_file);
	free(cfg->token);
	cfg->token = steal_pointer(&text);
	return 0;
}

static int run_exec_plugin(struct kube_config *cfg, struct cntr_err *err)
{
	struct kube_exec_credential cred = { 0 };

	if (kube_exec_credential_run(cfg, &cred, err) < 0)
		return -1;
	if (cred.token) {
		free(cfg->token);
		cfg->token = steal_pointer(&cred.token);
	}
	if (cred.client_certificate_data && cred.client_key_data) {
		blob_set_string(&cfg->client_cert_data, cred.client_certificate_data);
		blob_set_string(&cfg->client_key_data, cred.client_key_data);
		free(cfg->client_cert_file);
		free(cfg->client_key_file);
		cfg->client_cert_file = cfg->client_key_file = NULL;
	}
	kube_exec_credential_clear(&cred);
	return 0;
}

int kube_config_resolve_credentials(struct kube_config *cfg, struct cntr_err *err)
{
	if (cfg->credentials_resolved)
		return 0;
	/* A static token wins over tokenFile, as in client-go. */
	if (cfg->token_file && !cfg->token && read_token_file(cfg, err) < 0)
		return -1;
	if (cfg->exec && run_exec_plugin(cfg, err) < 0)
		return -1;
	cfg->credentials_resolved = true;
	return 0;
}
