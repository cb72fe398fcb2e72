#include "cli/lambda_agent_spec.h"

#include <ctype.h>
#include <string.h>
#include <sys/random.h>

#include "common/cleanup.h"
#include "common/strutil.h"

/* Prints the number of live sessions (see the header). POSIX sh: dash, busybox. The comm
 * check uses the shell's own `read` so that scanning a busy node forks nothing per process. */
#define COUNT_SESSIONS_SH \
	"n=0; for d in /proc/[0-9]*; do " \
	"c=; read -r c 2>/dev/null < $d/comm; [ \"$c\" = cntr ] || continue; " \
	"tr '\\0' '\\n' 2>/dev/null < $d/environ | grep -qxF \"LAMBDA_CNTR_AGENT=$LAMBDA_CNTR_AGENT\" " \
	"&& n=$((n+1)); done; echo $n"

/* The agent's own command: idle until unused for LAMBDA_CNTR_IDLE_SECONDS, exit on SIGTERM
 * at once (the sleep runs in the background so the trap is not delayed). */
#define AGENT_MAIN_SH \
	"sessions() { " COUNT_SESSIONS_SH "; }; " \
	"trap 'exit 0' TERM INT HUP; idle=0; " \
	"while [ \"$idle\" -lt \"$LAMBDA_CNTR_IDLE_SECONDS\" ]; do " \
	"sleep 2 & wait $!; " \
	"if [ \"$(sessions)\" -gt 0 ]; then idle=0; else idle=$((idle+2)); fi; " \
	"done; echo \"lambda-cntr agent: idle for ${idle}s, exiting\""

static char *const count_sessions_argv[] = { "/bin/sh", "-c", COUNT_SESSIONS_SH, NULL };

char *const *lambda_agent_count_sessions_argv(void)
{
	return count_sessions_argv;
}

char *lambda_agent_name(const char *node)
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	unsigned char rnd[5] = { 0 };
	char suffix[6];
	/* Pod names are DNS subdomains of at most 253 characters; keep room for the rest. */
	_cleanup_free_ char *clean = xstrndup(node, 200);

	for (char *c = clean; *c; c++) {
		*c = (char)tolower((unsigned char)*c);
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.')
			*c = '-';
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0, sizeof(rnd)); /* never expected; the server then answers 409 */
	for (size_t i = 0; i < sizeof(rnd); i++)
		suffix[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	suffix[5] = '\0';
	return xasprintf("lambda-cntr-%s-%s", clean, suffix);
}

static json_t *labels(const struct lambda_agent_params *p)
{
	json_t *l = json_pack("{s:s, s:s}", LAMBDA_AGENT_MANAGED_BY_LABEL, LAMBDA_AGENT_MANAGED_BY,
			      "app.kubernetes.io/name", "lambda-cntr-agent");

	/* Label values are limited to 63 characters; lookups use the spec.nodeName field
	 * selector anyway, the label is for people (kubectl get pods -l ...). */
	if (strlen(p->node) <= 63)
		json_object_set_new(l, LAMBDA_AGENT_NODE_LABEL, json_string(p->node));
	return l;
}

static json_t *container(const struct lambda_agent_params *p)
{
	_cleanup_free_ char *idle = xasprintf("%llu", (unsigned long long)p->idle_timeout_s);
	json_t *c = json_pack(
		"{s:s, s:s, s:s, s:[s, s, s], s:[{s:s, s:s}, {s:s, s:s}],"
		" s:{s:b, s:i}, s:{s:{s:s, s:s}, s:{s:s}}}",
		"name", LAMBDA_AGENT_CONTAINER, "image", p->image, "imagePullPolicy", "IfNotPresent",
		"command", "/bin/sh", "-c", AGENT_MAIN_SH,
		"env", "name", "LAMBDA_CNTR_AGENT", "value", p->name,
		"name", "LAMBDA_CNTR_IDLE_SECONDS", "value", idle,
		"securityContext", "privileged", 1, "runAsUser", 0,
		"resources", "requests", "cpu", "1m", "memory", "8Mi", "limits", "memory", "256Mi");

	if (p->socket_path)
		json_object_set_new(c, "volumeMounts", json_pack("[{s:s, s:s}]", "name", "runtime-socket",
								 "mountPath", p->socket_path));
	return c;
}

json_t *lambda_agent_manifest(const struct lambda_agent_params *p)
{
	json_t *spec = json_pack("{s:s, s:b, s:s, s:i, s:b, s:b, s:[{s:s}], s:[o]}",
				 "nodeName", p->node, "hostPID", 1, "restartPolicy", "Never",
				 "terminationGracePeriodSeconds", LAMBDA_AGENT_GRACE_SECONDS,
				 "automountServiceAccountToken", 0, "enableServiceLinks", 0,
				 "tolerations", "operator", "Exists", "containers", container(p));

	if (p->socket_path)
		json_object_set_new(spec, "volumes", json_pack("[{s:s, s:{s:s, s:s}}]", "name", "runtime-socket",
							       "hostPath", "path", p->socket_path, "type", "Socket"));
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:o}", "apiVersion", "v1", "kind", "Pod",
			 "metadata", "name", p->name, "namespace", p->namespace, "labels", labels(p),
			 "spec", spec);
}
