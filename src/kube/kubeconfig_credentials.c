/* Credentials that need I/O, resolved after parsing and renewed during a run: `tokenFile` and
 * exec plugins. */
#include "kube/kubeconfig_internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "common/log.h"
#include "kube/exec_credential.h"
#include "kube/timestamp.h"

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
	cfg->token_from_file = true;
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
	cfg->credential_expiry = 0;
	if (cred.expiration_timestamp && kube_parse_rfc3339(cred.expiration_timestamp, &cfg->credential_expiry) < 0) {
		log_warn("exec plugin %s: expirationTimestamp \"%s\" is not an RFC 3339 time; the credential is "
			 "renewed only when the API server refuses it", cfg->exec->command, cred.expiration_timestamp);
		cfg->credential_expiry = 0;
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

/* Renew a little before the expiry so that a request does not arrive with a credential that
 * expired on the way. */
#define EXPIRY_MARGIN_S 10

int kube_config_renew_expired(struct kube_config *cfg, struct cntr_err *err)
{
	if (!cfg->credentials_resolved || !cfg->exec || !cfg->credential_expiry ||
	    time(NULL) + EXPIRY_MARGIN_S < cfg->credential_expiry)
		return 0;
	log_info("the credential of exec plugin %s has expired: running it again", cfg->exec->command);
	return run_exec_plugin(cfg, err) < 0 ? -1 : 1;
}

int kube_config_renew_after_unauthorized(struct kube_config *cfg, struct cntr_err *err)
{
	if (!cfg->credentials_resolved)
		return 0;
	if (cfg->exec) {
		log_info("the API server refused the credential of exec plugin %s: running it again",
			 cfg->exec->command);
		return run_exec_plugin(cfg, err) < 0 ? -1 : 1;
	}
	if (cfg->token_from_file) {
		log_info("the API server refused the token of %s: reading it again", cfg->token_file);
		return read_token_file(cfg, err) < 0 ? -1 : 1;
	}
	return 0;
}
