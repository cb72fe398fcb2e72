/* The command line of lambda-cntr (also run as kubectl-cntr):
 *   lambda-cntr attach  [flags] POD [CONTAINER] [-- CMD [ARG...]]
 *   lambda-cntr execute [flags] POD [CONTAINER] -- CMD [ARG...]
 *   lambda-cntr node    [flags] NODE [-- CMD [ARG...]] */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct cntr_err;

enum lambda_mode { LAMBDA_ATTACH, LAMBDA_EXECUTE, LAMBDA_NODE };

/* A VM-isolated or gVisor pod (lambda_runtimeclass.h): ask on a TTY (default), refuse, or use an
 * ephemeral container (lambda_ephemeral.h). */
enum lambda_fallback { LAMBDA_FALLBACK_ASK = 0, LAMBDA_FALLBACK_NONE, LAMBDA_FALLBACK_EPHEMERAL };

/* How the session reaches the node (--mode, $LAMBDA_CNTR_MODE): through the installed broker
 * (an aggregated API, lambda_broker.h), through an agent pod this command creates or reuses, or
 * whichever the cluster offers (discovery of the broker's API group). */
enum lambda_api_mode { LAMBDA_API_AUTO = 0, LAMBDA_API_POD, LAMBDA_API_BROKER };

/* "auto", "pod" or "broker" (flag names the option or variable in the usage error). */
int lambda_api_mode_parse(const char *flag, const char *text, enum lambda_api_mode *mode, struct cntr_err *err);

struct lambda_opts {
	enum lambda_mode mode;
	const char *program;         /* "lambda-cntr" or "kubectl cntr", for messages and help */
	const char *pod;
	const char *node;            /* node: the node to debug (lambda_node.h) */
	const char *container;       /* -c or the second positional; NULL = the only one */
	char **command;              /* after "--"; NULL-terminated, NULL when none */
	const char *namespace;       /* -n; NULL = the kubeconfig context's */
	const char *agent_namespace; /* --agent-namespace; NULL = lambda-cntr-system if it exists */
	const char *image;           /* -i, $CNTR_IMAGE, else the default agent image */
	const char *pull_policy;     /* --image-pull-policy: Always, IfNotPresent (default), Never */
	const char *socket_path;     /* -s, $SOCKET_PATH; NULL = no runtime socket in the agent */
	const char *kubeconfig;
	const char *context;
	uint64_t timeout_s;          /* --timeout: how long to wait for the agent (default 2m) */
	uint64_t idle_timeout_s;     /* --idle-timeout: the agent exits after this long unused */
	bool keep;                   /* --keep: leave an agent we created running (warm) */
	bool rm;                     /* --rm: also delete a reused agent when nobody uses it */
	enum lambda_fallback fallback; /* --fallback: what to do with a pod cntr cannot enter */
	bool no_keep_alive;          /* --no-keep-alive: never touch a serverless platform's objects */
	const char *profile;         /* --profile: cntr's session profile, NULL = its default */
	int verbose;                 /* -v count */
	enum lambda_api_mode api_mode; /* --mode auto|pod|broker */
};

/* What the caller should do after parsing. */
enum lambda_parse_result { LAMBDA_PARSE_RUN = 0, LAMBDA_PARSE_HELP, LAMBDA_PARSE_VERSION };

/* Parse argv (argv[0] included). Returns a LAMBDA_PARSE_* value, or -1 with err->code
 * CNTR_EXIT_USAGE. Strings point into argv or the environment. */
int lambda_opts_parse(int argc, char **argv, struct lambda_opts *opts, struct cntr_err *err);

/* The name to show: "kubectl cntr" when invoked as kubectl-cntr (a kubectl plugin). */
const char *lambda_program_name(const char *argv0);

void lambda_print_help(const char *program);
