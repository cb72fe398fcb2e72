#include "cli/lambda_agent_spec.h"
#include "cli/lambda_cntr_argv.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/cleanup.h"
#include "common/strutil.h"

/* The agent's programs are cntr's own (`cntr agent ...`, src/cli/cntr_agent.c): no shell in
 * the agent, no shell code here. A session is a process named cntr whose environ holds
 * LAMBDA_CNTR_AGENT=<this agent>; LAMBDA_CNTR_SESSION=<id> tells whose it is. */
static char **agent_program_argv(const char *program, const char *session_id)
{
	char **argv = calloc(5, sizeof(char *));

	if (!argv)
		abort();
	argv[0] = xstrdup("cntr");
	argv[1] = xstrdup("agent");
	argv[2] = xstrdup(program);
	argv[3] = session_id ? xstrdup(session_id) : NULL;
	return argv;
}

char **lambda_agent_find_cntr_argv(void)
{
	char **argv = calloc(3, sizeof(char *));

	if (!argv)
		abort();
	argv[0] = xstrdup("cntr");
	argv[1] = xstrdup("--version");
	return argv;
}

char **lambda_agent_count_others_argv(const char *session_id)
{
	return agent_program_argv("count-others", session_id);
}

char **lambda_agent_count_mine_argv(const char *session_id)
{
	return agent_program_argv("count-mine", session_id);
}

char **lambda_agent_end_session_argv(const char *session_id)
{
	return agent_program_argv("end-session", session_id);
}

char *lambda_agent_session_id(void)
{
	unsigned char rnd[8] = { 0 };

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		abort(); /* never expected: getrandom only blocks before the pool is seeded */
	return xasprintf("%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
			 rnd[5], rnd[6], rnd[7]);
}

char **lambda_agent_session_argv(const char *session_id, const char *term, char *const cntr_argv[])
{
	size_t n = strv_len(cntr_argv), k = 0;
	char **argv = calloc(n + 4, sizeof(char *));

	if (!argv)
		abort();
	argv[k++] = xstrdup("env");
	argv[k++] = xasprintf("LAMBDA_CNTR_SESSION=%s", session_id);
	if (lambda_term_is_plain(term))
		argv[k++] = xasprintf("TERM=%s", term);
	for (size_t i = 0; i < n; i++)
		argv[k++] = xstrdup(cntr_argv[i]);
	return argv;
}

/* "lambda-cntr-" + node + "-" + 5 characters fits in a DNS label (63). */
#define AGENT_NAME_NODE_MAX (63 - sizeof("lambda-cntr-") + 1 - 6)

char *lambda_agent_name(const char *node)
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	unsigned char rnd[5] = { 0 };
	char suffix[6];
	/* A DNS label, not just a subdomain: the kubelet makes the pod name the hostname (cut at
	 * 63), and a cut subdomain could end in '.' before our "-suffix", which the API rejects. */
	_cleanup_free_ char *clean = xstrndup(node, AGENT_NAME_NODE_MAX);
	size_t len;

	for (char *c = clean; *c; c++) {
		*c = (char)tolower((unsigned char)*c);
		if (!isalnum((unsigned char)*c))
			*c = '-';
	}
	len = strlen(clean);
	while (len && clean[len - 1] == '-')
		clean[--len] = '\0';
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0, sizeof(rnd)); /* never expected; the server then answers 409 */
	for (size_t i = 0; i < sizeof(rnd); i++)
		suffix[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	suffix[5] = '\0';
	return xasprintf("lambda-cntr-%s%s%s", clean, *clean ? "-" : "", suffix);
}

/* Service meshes inject a proxy sidecar into new pods: into the agent it would only delay it
 * (Ready waits for the proxy) and keep it alive after its command exits (restartPolicy Never
 * ends a pod only when all its containers have). Both the label and the annotation forms. */
static const char *const no_injection[][2] = {
	{ "sidecar.istio.io/inject", "false" },
	{ "linkerd.io/inject", "disabled" },
};

static json_t *labels(const struct lambda_agent_params *p)
{
	json_t *l = json_pack("{s:s, s:s, s:s, s:s}", LAMBDA_AGENT_MANAGED_BY_LABEL, LAMBDA_AGENT_MANAGED_BY,
			      "app.kubernetes.io/name", "lambda-cntr-agent", LAMBDA_AGENT_SCHEME_LABEL,
			      LAMBDA_AGENT_SCHEME, no_injection[0][0], no_injection[0][1]);

	/* Label values are limited to 63 characters; lookups use the spec.nodeName field
	 * selector anyway, the label is for people (kubectl get pods -l ...). */
	if (strlen(p->node) <= 63)
		json_object_set_new(l, LAMBDA_AGENT_NODE_LABEL, json_string(p->node));
	return l;
}

static json_t *annotations(const struct lambda_agent_params *p)
{
	json_t *a = json_object();

	for (size_t i = 0; i < sizeof(no_injection) / sizeof(no_injection[0]); i++)
		json_object_set_new(a, no_injection[i][0], json_string(no_injection[i][1]));
	if (p->creator)
		json_object_set_new(a, LAMBDA_AGENT_CREATOR_ANNOTATION, json_string(p->creator));
	return a;
}

/* The agent writes nothing: its program only reads /proc, and cntr builds each session's tree
 * in memory. A read-only root keeps a session (or anything that got into the agent) from
 * planting files in it for the next user of a warm agent. The kubelet still mounts what it
 * owns (/dev/termination-log, /etc/hosts) and the runtime socket on their own mounts. */
static json_t *security_context(void)
{
	return json_pack("{s:b, s:i, s:b}", "privileged", 1, "runAsUser", 0, "readOnlyRootFilesystem", 1);
}

/* The runtime socket (-s) is mounted at a fixed path under /run: a session's tree is built only
 * from the debug filesystem's /bin, /sbin, /lib*, /usr, /etc and /nix, so nothing under /run is
 * reachable from it, wherever the socket is on the node. Tools in the agent find it through
 * the variables their clients read (cntr's docker lookup and crictl). */
static json_t *environment(const struct lambda_agent_params *p)
{
	_cleanup_free_ char *idle = xasprintf("%llu", (unsigned long long)p->idle_timeout_s);
	json_t *env = json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "LAMBDA_CNTR_AGENT", "value", p->name,
				"name", "LAMBDA_CNTR_IDLE_SECONDS", "value", idle);

	if (p->socket_path) {
		json_array_append_new(env, json_pack("{s:s, s:s}", "name", "DOCKER_HOST", "value",
						     "unix://" LAMBDA_AGENT_SOCKET_MOUNT));
		json_array_append_new(env, json_pack("{s:s, s:s}", "name", "CONTAINER_RUNTIME_ENDPOINT", "value",
						     "unix://" LAMBDA_AGENT_SOCKET_MOUNT));
	}
	return env;
}

static json_t *container(const struct lambda_agent_params *p)
{
	json_t *c = json_pack(
		"{s:s, s:s, s:s, s:[s, s, s], s:o, s:o, s:{s:{s:s, s:s}, s:{s:s}}}",
		"name", LAMBDA_AGENT_CONTAINER, "image", p->image,
		"imagePullPolicy", p->pull_policy ? p->pull_policy : "IfNotPresent",
		"command", "cntr", "agent", "idle",
		"env", environment(p), "securityContext", security_context(),
		"resources", "requests", "cpu", "1m", "memory", "8Mi", "limits", "memory", "256Mi");

	if (p->socket_path)
		json_object_set_new(c, "volumeMounts", json_pack("[{s:s, s:s, s:b}]", "name", LAMBDA_AGENT_SOCKET_VOLUME,
								 "mountPath", LAMBDA_AGENT_SOCKET_MOUNT,
								 "readOnly", 1));
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
		json_object_set_new(spec, "volumes", json_pack("[{s:s, s:{s:s, s:s}}]", "name", LAMBDA_AGENT_SOCKET_VOLUME,
							       "hostPath", "path", p->socket_path, "type", "Socket"));
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:o}, s:o}", "apiVersion", "v1", "kind", "Pod",
			 "metadata", "name", p->name, "namespace", p->namespace, "labels", labels(p),
			 "annotations", annotations(p), "spec", spec);
}
