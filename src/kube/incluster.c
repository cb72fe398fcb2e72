#include "kube/incluster.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/strutil.h"

bool kube_incluster_available(void)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	return host && *host && port && *port;
}

static const char *serviceaccount_dir(void)
{
	const char *dir = getenv("KUBE_SERVICEACCOUNT_DIR");
	return dir && *dir ? dir : KUBE_SERVICEACCOUNT_DIR;
}

/* The namespace file is optional: a pod always has one, but a stripped mount may not. As
 * client-go: a missing or empty file means "default"; a file that is there but cannot be read
 * is an error (guessing "default" would silently act on another namespace). *ns is NULL when
 * the file says nothing. */
static int read_namespace(const char *dir, char **ns, struct cntr_err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/namespace", dir);
	char *text = NULL;
	size_t len;

	*ns = NULL;
	if (read_file_at(AT_FDCWD, path, &text, &len, err) < 0) {
		if (err->errnum == ENOENT) {
			cntr_err_clear(err);
			return 0;
		}
		return cntr_err_prefix(err, "in-cluster config: namespace file: ");
	}
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\r'))
		text[--len] = '\0';
	if (!len) {
		free(text);
		return 0;
	}
	*ns = text;
	return 0;
}

int kube_incluster_fill(struct kube_config *cfg, struct cntr_err *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *dir = serviceaccount_dir();

	if (!kube_incluster_available())
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
	cfg->source = xasprintf("in-cluster service account (%s)", dir);
	cfg->server = strchr(host, ':') ? xasprintf("https://[%s]:%s", host, port)
					: xasprintf("https://%s:%s", host, port);
	cfg->ca_file = xasprintf("%s/ca.crt", dir);
	cfg->token_file = xasprintf("%s/token", dir);
	if (read_namespace(dir, &cfg->namespace, err) < 0)
		return -1;
	cfg->namespace_from_config = cfg->namespace != NULL;
	if (!cfg->namespace)
		cfg->namespace = xstrdup("default");
	if (access(cfg->ca_file, R_OK) < 0)
		return cntr_fail_errno(err, "in-cluster config: CA certificate %s", cfg->ca_file);
	return 0;
}
