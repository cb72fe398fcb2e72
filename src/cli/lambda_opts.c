#include "cli/lambda_opts.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "kube/duration.h"

#define DEFAULT_TIMEOUT_S 120
#define DEFAULT_IDLE_TIMEOUT_S 600
#define DEFAULT_IMAGE "lambda-cntr-agent:" CNTR_VERSION

enum { OPT_KUBECONFIG = 256, OPT_CONTEXT, OPT_TIMEOUT, OPT_KEEP, OPT_RM, OPT_AGENT_NS,
       OPT_IDLE_TIMEOUT, OPT_PULL_POLICY, OPT_VERSION, OPT_FALLBACK, OPT_NO_KEEP_ALIVE, OPT_PROFILE,
       OPT_MODE };

static const struct option long_options[] = {
	{ "namespace", required_argument, NULL, 'n' },
	{ "container", required_argument, NULL, 'c' },
	{ "image", required_argument, NULL, 'i' },
	{ "socket-path", required_argument, NULL, 's' },
	{ "image-pull-policy", required_argument, NULL, OPT_PULL_POLICY },
	{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
	{ "context", required_argument, NULL, OPT_CONTEXT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "rm", no_argument, NULL, OPT_RM },
	{ "agent-namespace", required_argument, NULL, OPT_AGENT_NS },
	{ "fallback", required_argument, NULL, OPT_FALLBACK },
	{ "no-keep-alive", no_argument, NULL, OPT_NO_KEEP_ALIVE },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

const char *lambda_program_name(const char *argv0)
{
	const char *base = argv0 ? strrchr(argv0, '/') : NULL;

	base = base ? base + 1 : (argv0 ? argv0 : "lambda-cntr");
	return strcmp(base, "kubectl-cntr") == 0 ? "kubectl cntr" : "lambda-cntr";
}

void lambda_print_help(const char *program)
{
	printf("Usage:\n"
	       "  %1$s attach  [flags] POD [CONTAINER] [-- CMD [ARG...]]\n"
	       "  %1$s execute [flags] POD [CONTAINER] -- CMD [ARG...]\n"
	       "  %1$s node    [flags] NODE [-- CMD [ARG...]]\n"
	       "  %1$s capsule run|get|logs ...  (capsules: see `%1$s capsule run --help`)\n"
	       "  %1$s caplet [flags]             (runs Capsule resources on schedule; --help)\n"
	       "\n"
	       "Open a debug session inside a container of a running pod: a privileged agent on the\n"
	       "pod's node runs `cntr attach <container-id>`, so the session has the agent image's\n"
	       "tools, the container's namespaces, cgroup and credentials, and its root filesystem at\n"
	       "/var/lib/cntr. `attach` is interactive (a TTY when the local terminal is one);\n"
	       "`execute` runs one command and exits with its status. `node` debugs NODE itself,\n"
	       "like `kubectl debug node/NODE`: the session is in the node's namespaces with the\n"
	       "node's root at /var/lib/cntr and the agent image's tools at / (cntr attach --host).\n"
	       "\n"
	       "Modes: where lambda-cntr is installed in the cluster (deploy/), the API server serves\n"
	       "debug.lambda-cntr.io/v1alpha1 and the session goes through its broker to the agent\n"
	       "DaemonSet (broker mode); otherwise an agent pod is created on the node (pod mode).\n"
	       "\n"
	       "Flags:\n"
	       "  -n, --namespace NS        namespace of POD (default: the context's, else \"default\")\n"
	       "  -c, --container NAME      container of POD (required when it has several)\n"
	       "  -i, --image IMG           agent image (env CNTR_IMAGE; default " DEFAULT_IMAGE ")\n"
	       "      --image-pull-policy P Always, IfNotPresent (default: an image loaded on the node\n"
	       "                            is used) or Never\n"
	       "  -s, --socket-path PATH    mount the node's runtime socket into the agent at\n"
	       "                            /run/lambda-cntr/runtime.sock (env SOCKET_PATH), for tools\n"
	       "                            in the agent; sessions never see it, cntr needs no socket\n"
	       "      --kubeconfig FILE     kubeconfig to use (default $KUBECONFIG, ~/.kube/config,\n"
	       "                            in-cluster service account)\n"
	       "      --context NAME        kubeconfig context to use\n"
	       "      --timeout DURATION    how long to wait for the agent pod (default 2m)\n"
	       "      --idle-timeout DUR    an agent exits after this long without sessions (default 10m)\n"
	       "      --keep                leave the agent this command creates running (warm start)\n"
	       "      --rm                  also delete a reused agent when no other session uses it\n"
	       "      --agent-namespace NS  namespace for the agent pod (default: lambda-cntr-system\n"
	       "                            when it exists, else an error: never the pod's unasked)\n"
	       "      --fallback MODE       a pod in a VM (Kata, Firecracker...) or gVisor sandbox has\n"
	       "                            nothing cntr can enter: `ephemeral` debugs it from an\n"
	       "                            ephemeral container instead, `none` refuses (default: ask\n"
	       "                            on a terminal, else refuse)\n"
	       "      --profile NAME        the session's identity: general (the container's, the\n"
	       "                            default), restricted (no capability, no_new_privs, a\n"
	       "                            seccomp filter), netadmin (+NET_ADMIN,NET_RAW), sysadmin\n"
	       "                            (+SYS_ADMIN,SYS_PTRACE,...); see cntr --help\n"
	       "      --no-keep-alive       do not keep a Knative/OpenFaaS function from scaling to\n"
	       "                            zero while the session is open\n"
	       "      --mode MODE           auto (default: broker mode when the API server serves\n"
	       "                            debug.lambda-cntr.io/v1alpha1, else pod mode), pod or\n"
	       "                            broker (env LAMBDA_CNTR_MODE)\n"
	       "  -v, --verbose             print each step (twice: also cntr's steps)\n"
	       "  -h, --help                this text\n"
	       "      --version             print the version\n"
	       "DURATION: 90s, 2m, 1h, 1h30m or plain seconds.\n"
	       "\n"
	       "Permissions (RBAC). Broker mode: get pods and create pods/exec on the pod (what\n"
	       "`kubectl exec` needs). Pod mode: get pods in the pod's namespace; list, watch, create,\n"
	       "delete pods and get, create pods/exec (a WebSocket exec needs both) in the agent\n"
	       "namespace; patch pods (warm reuse), get namespaces and list events there are optional;\n"
	       "node: get nodes (optional). The agent is privileged with hostPID: its namespace must\n"
	       "allow that (Pod Security \"privileged\"). A warm agent is reused only when its owner,\n"
	       "creator (you), spec and image digest are what this version creates; -v names the\n"
	       "ones ignored.\n"
	       "\n"
	       "Exit status:\n"
	       "  the command's own status (128+N when it was killed by signal N)\n"
	       "  2    usage error\n"
	       "  125  lambda-cntr failed: configuration, API error, pod, container or node not found,\n"
	       "       not running, no agent namespace, agent pod could not start, the broker refused\n"
	       "       or is unavailable (reason printed)\n"
	       "  126  the command could not be executed;  127  the command was not found\n"
	       "  130  interrupted (SIGINT);  143  terminated (SIGTERM)\n",
	       program);
}

static int parse_duration_flag(const char *flag, const char *text, uint64_t *out, struct cntr_err *err)
{
	if (kube_parse_duration(text, out, err) < 0)
		return cntr_err_prefix(err, "%s: ", flag);
	return 0;
}

static const char *const pull_policies[] = { "Always", "IfNotPresent", "Never" };

static int parse_pull_policy(const char *text, struct lambda_opts *opts, struct cntr_err *err)
{
	for (size_t i = 0; i < sizeof(pull_policies) / sizeof(pull_policies[0]); i++) {
		if (strcmp(text, pull_policies[i]) == 0) {
			opts->pull_policy = pull_policies[i];
			return 0;
		}
	}
	return cntr_fail(err, CNTR_EXIT_USAGE, 0,
			 "--image-pull-policy: \"%s\" is not Always, IfNotPresent or Never", text);
}

/* The session profiles cntr knows (cntr --profile, src/node/profile.c). */
static int parse_profile(const char *text, struct lambda_opts *opts, struct cntr_err *err)
{
	static const char *const known[] = { "general", "restricted", "netadmin", "sysadmin" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(text, known[i]) == 0) {
			opts->profile = known[i];
			return 0;
		}
	return cntr_fail(err, CNTR_EXIT_USAGE, 0,
			 "--profile: \"%s\" is not general, restricted, netadmin or sysadmin", text);
}

int lambda_api_mode_parse(const char *flag, const char *text, enum lambda_api_mode *mode, struct cntr_err *err)
{
	static const char *const names[] = { [LAMBDA_API_AUTO] = "auto", [LAMBDA_API_POD] = "pod",
					      [LAMBDA_API_BROKER] = "broker" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(text, names[i]) == 0) {
			*mode = (enum lambda_api_mode)i;
			return 0;
		}
	return cntr_fail(err, CNTR_EXIT_USAGE, 0, "%s: \"%s\" is not auto, pod or broker", flag, text);
}

static int parse_api_mode(const char *flag, const char *text, struct lambda_opts *opts, struct cntr_err *err)
{
	return lambda_api_mode_parse(flag, text, &opts->api_mode, err);
}

static int parse_fallback(const char *text, struct lambda_opts *opts, struct cntr_err *err)
{
	if (strcmp(text, "ephemeral") == 0)
		opts->fallback = LAMBDA_FALLBACK_EPHEMERAL;
	else if (strcmp(text, "none") == 0)
		opts->fallback = LAMBDA_FALLBACK_NONE;
	else
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "--fallback: \"%s\" is not ephemeral or none", text);
	return 0;
}

static int parse_flag(int opt, struct lambda_opts *opts, struct cntr_err *err)
{
	switch (opt) {
	case 'n': opts->namespace = optarg; return 0;
	case 'c': opts->container = optarg; return 0;
	case 'i': opts->image = optarg; return 0;
	case 's': opts->socket_path = optarg; return 0;
	case 'v': opts->verbose++; return 0;
	case OPT_KUBECONFIG: opts->kubeconfig = optarg; return 0;
	case OPT_CONTEXT: opts->context = optarg; return 0;
	case OPT_AGENT_NS: opts->agent_namespace = optarg; return 0;
	case OPT_KEEP: opts->keep = true; return 0;
	case OPT_RM: opts->rm = true; return 0;
	case OPT_NO_KEEP_ALIVE: opts->no_keep_alive = true; return 0;
	case OPT_PROFILE: return parse_profile(optarg, opts, err);
	case OPT_MODE: return parse_api_mode("--mode", optarg, opts, err);
	case OPT_FALLBACK: return parse_fallback(optarg, opts, err);
	case OPT_PULL_POLICY: return parse_pull_policy(optarg, opts, err);
	case OPT_TIMEOUT: return parse_duration_flag("--timeout", optarg, &opts->timeout_s, err);
	case OPT_IDLE_TIMEOUT:
		return parse_duration_flag("--idle-timeout", optarg, &opts->idle_timeout_s, err);
	default:
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "unknown or incomplete option; see --help");
	}
}

static int set_defaults(struct lambda_opts *opts, const char *program, struct cntr_err *err)
{
	const char *env;

	memset(opts, 0, sizeof(*opts));
	opts->program = program;
	opts->timeout_s = DEFAULT_TIMEOUT_S;
	opts->idle_timeout_s = DEFAULT_IDLE_TIMEOUT_S;
	opts->pull_policy = "IfNotPresent";
	env = getenv("CNTR_IMAGE");
	opts->image = env && *env ? env : DEFAULT_IMAGE;
	env = getenv("SOCKET_PATH");
	opts->socket_path = env && *env ? env : NULL;
	env = getenv("LAMBDA_CNTR_MODE");
	return env && *env ? parse_api_mode("LAMBDA_CNTR_MODE", env, opts, err) : 0;
}

static int parse_mode(const char *word, struct lambda_opts *opts, struct cntr_err *err)
{
	if (strcmp(word, "attach") == 0)
		opts->mode = LAMBDA_ATTACH;
	else if (strcmp(word, "execute") == 0 || strcmp(word, "exec") == 0)
		opts->mode = LAMBDA_EXECUTE;
	else if (strcmp(word, "node") == 0)
		opts->mode = LAMBDA_NODE;
	else
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "unknown command \"%s\": use attach, execute or node",
				 word);
	return 0;
}

/* node NODE: one positional, and nothing that names a container. */
static int take_node(char **words, int n, struct lambda_opts *opts, struct cntr_err *err)
{
	if (n < 1)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "missing NODE; see --help");
	if (n > 1)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0,
				 "unexpected argument \"%s\"; put the command after \"--\"", words[1]);
	if (opts->container)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "node takes no container (-c)");
	opts->node = words[0];
	return 0;
}

/* Positionals: POD [CONTAINER] (node: NODE). */
static int take_positionals(char **words, int n, struct lambda_opts *opts, struct cntr_err *err)
{
	if (opts->mode == LAMBDA_NODE)
		return take_node(words, n, opts, err);
	if (n < 1)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "missing POD; see --help");
	if (n > 2)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0,
				 "unexpected argument \"%s\"; put the command after \"--\"", words[2]);
	opts->pod = words[0];
	if (n == 2) {
		if (opts->container && strcmp(opts->container, words[1]) != 0)
			return cntr_fail(err, CNTR_EXIT_USAGE, 0,
					 "container given twice: -c %s and \"%s\"", opts->container, words[1]);
		opts->container = words[1];
	}
	return 0;
}

static int check_consistency(const struct lambda_opts *opts, struct cntr_err *err)
{
	if (opts->keep && opts->rm)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "--keep and --rm contradict each other");
	if (opts->mode == LAMBDA_EXECUTE && !opts->command)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "execute needs a command after \"--\"");
	if (opts->timeout_s == 0)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "--timeout must be more than 0s");
	if (opts->idle_timeout_s == 0)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "--idle-timeout must be more than 0s");
	return 0;
}

int lambda_opts_parse(int argc, char **argv, struct lambda_opts *opts, struct cntr_err *err)
{
	int dashdash = argc, opt;

	if (set_defaults(opts, lambda_program_name(argv[0]), err) < 0)
		return -1;
	/* "--" separates our arguments from the command: split there before getopt, whose
	 * argument permutation would otherwise mix the command into our positionals. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			dashdash = i;
			break;
		}
	}
	if (dashdash + 1 < argc)
		opts->command = &argv[dashdash + 1];

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(dashdash, argv, ":n:c:i:s:vh", long_options, NULL)) != -1) {
		if (opt == 'h')
			return LAMBDA_PARSE_HELP;
		if (opt == OPT_VERSION)
			return LAMBDA_PARSE_VERSION;
		if (opt == '?' || opt == ':')
			return cntr_fail(err, CNTR_EXIT_USAGE, 0, "%s option \"%s\"; see --help",
					 opt == ':' ? "missing value for" : "unknown", argv[optind - 1]);
		if (parse_flag(opt, opts, err) < 0)
			return -1;
	}
	if (optind >= dashdash)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "missing command: attach, execute or node; see --help");
	if (parse_mode(argv[optind], opts, err) < 0)
		return -1;
	if (take_positionals(&argv[optind + 1], dashdash - optind - 1, opts, err) < 0)
		return -1;
	if (check_consistency(opts, err) < 0)
		return -1;
	return LAMBDA_PARSE_RUN;
}
