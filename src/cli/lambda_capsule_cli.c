/* `lambda-cntr capsule run`: the command line of the capsule engine (lambda_capsule.h), its
 * output (target lines as they come, a progress line on a terminal, the summary or --json) and
 * its exit status. */
#include "cli/lambda_capsule_cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/lambda_agent.h"
#include "cli/lambda_broker.h"
#include "cli/lambda_capsule.h"
#include "cli/lambda_capsule_argv.h"
#include "cli/lambda_caplet.h"
#include "cli/lambda_opts.h"
#include "cli/lambda_phase.h"
#include "cli/lambda_signals.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/duration.h"
#include "kube/http.h"
#include "kube/kubeconfig.h"

#define DEFAULT_AGENT_IMAGE "lambda-cntr-agent:" CNTR_VERSION
#define DEFAULT_AGENT_TIMEOUT_S 120
#define DEFAULT_IDLE_TIMEOUT_S 600

enum { OPT_PULL_POLICY = 256, OPT_PARALLEL, OPT_ITERATIVE, OPT_FAIL_FAST, OPT_TIMEOUT, OPT_PROFILE, OPT_JSON,
       OPT_AGENT_IMAGE, OPT_AGENT_NS, OPT_AGENT_TIMEOUT, OPT_IDLE_TIMEOUT, OPT_KUBECONFIG, OPT_CONTEXT, OPT_SHARE,
       OPT_SECCOMP, OPT_MODE };

struct capsule_cli {
	struct capsule_request req;
	const char *kubeconfig, *context;
	enum lambda_api_mode api_mode;  /* --mode, $LAMBDA_CNTR_MODE */
	bool json;
	int verbose;
	/* the progress line on a terminal */
	bool progress;
	size_t done, total;
};

static int __attribute__((format(printf, 2, 3))) usage_error(struct cntr_err *err, const char *fmt, ...)
{
	char text[CNTR_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	cntr_fail(err, CNTR_EXIT_USAGE, 0, "%s", text);
	return cntr_err_hint(err, "see 'lambda-cntr capsule run --help'");
}

static int parse_choice(const char *flag, const char *text, const char *const *choices, const char **out,
			struct cntr_err *err)
{
	for (; *choices; choices++)
		if (strcmp(text, *choices) == 0) {
			*out = *choices;
			return 0;
		}
	cntr_fail(err, CNTR_EXIT_USAGE, 0, "%s: \"%s\" is not one of the accepted values", flag, text);
	return cntr_err_hint(err, "see 'lambda-cntr capsule run --help'");
}

static int parse_flag(int opt, struct capsule_cli *cli, struct cntr_err *err)
{
	static const char *const policies[] = { "Always", "IfNotPresent", "Never", NULL };
	static const char *const profiles[] = { "general", "restricted", "netadmin", "sysadmin", NULL };
	static const char *const seccomp[] = { "default", "unconfined", NULL };
	struct capsule_request *r = &cli->req;
	uint64_t n;

	switch (opt) {
	case 'l': r->selector = optarg; return 0;
	case 'n': r->namespace = optarg; return 0;
	case 'A': r->all_namespaces = true; return 0;
	case 'c': r->container = optarg; return 0;
	case 'v': cli->verbose++; return 0;
	case OPT_ITERATIVE: r->iterative = true; return 0;
	case OPT_FAIL_FAST: r->fail_fast = true; return 0;
	case OPT_JSON: cli->json = true; return 0;
	case OPT_AGENT_IMAGE: r->agent_image = optarg; return 0;
	case OPT_AGENT_NS: r->agent_namespace = optarg; return 0;
	case OPT_KUBECONFIG: cli->kubeconfig = optarg; return 0;
	case OPT_CONTEXT: cli->context = optarg; return 0;
	case OPT_MODE: return lambda_api_mode_parse("--mode", optarg, &cli->api_mode, err);
	case OPT_PULL_POLICY: return parse_choice("--image-pull-policy", optarg, policies, &r->pull_policy, err);
	case OPT_PROFILE: return parse_choice("--profile", optarg, profiles, &r->profile, err);
	case OPT_SECCOMP: return parse_choice("--seccomp-profile", optarg, seccomp, &r->seccomp_profile, err);
	case OPT_SHARE:
		if (!lambda_capsule_share_is_valid(optarg))
			return usage_error(err, "--share: \"%s\" is not a list of uts, ipc, net, pid, cgroup", optarg);
		r->share = optarg;
		return 0;
	case OPT_PARALLEL:
		if (parse_u64(optarg, &n) < 0 || n == 0 || n > 1024)
			return usage_error(err, "--parallel: \"%s\" is not a number from 1 to 1024", optarg);
		r->parallel = (unsigned)n;
		return 0;
	case OPT_TIMEOUT:
		return kube_parse_duration(optarg, &r->timeout_s, err) < 0 ? cntr_err_prefix(err, "--timeout: ") : 0;
	case OPT_AGENT_TIMEOUT:
		return kube_parse_duration(optarg, &r->agent_timeout_s, err) < 0 ? cntr_err_prefix(err, "--agent-timeout: ")
										 : 0;
	case OPT_IDLE_TIMEOUT:
		return kube_parse_duration(optarg, &r->idle_timeout_s, err) < 0 ? cntr_err_prefix(err, "--idle-timeout: ")
										: 0;
	default:
		return usage_error(err, "unknown option");
	}
}

static int set_defaults(struct capsule_cli *cli, struct cntr_err *err)
{
	const char *env = getenv("CNTR_IMAGE"), *mode = getenv("LAMBDA_CNTR_MODE");

	memset(cli, 0, sizeof(*cli));
	cli->req.agent_image = env && *env ? env : DEFAULT_AGENT_IMAGE;
	cli->req.agent_pull_policy = "IfNotPresent";
	cli->req.agent_timeout_s = DEFAULT_AGENT_TIMEOUT_S;
	cli->req.idle_timeout_s = DEFAULT_IDLE_TIMEOUT_S;
	return mode && *mode ? lambda_api_mode_parse("LAMBDA_CNTR_MODE", mode, &cli->api_mode, err) : 0;
}

static int check_request(struct capsule_cli *cli, char **words, int nwords, struct cntr_err *err)
{
	struct capsule_request *r = &cli->req;

	if (nwords < 1)
		return usage_error(err, "missing IMAGE (the capsule image)");
	r->image = words[0];
	if (nwords > 1)
		r->pods = words + 1;
	if (!!r->selector == !!r->pods)
		return usage_error(err, "give either -l SELECTOR or POD names");
	if (r->pods && r->all_namespaces)
		return usage_error(err, "-A goes with -l SELECTOR, not with POD names");
	if (r->iterative && r->parallel)
		return usage_error(err, "--parallel and --iterative contradict each other");
	if (!r->command || !r->command[0])
		return usage_error(err, "missing the command after \"--\"");
	if (r->agent_timeout_s == 0 || r->idle_timeout_s == 0)
		return usage_error(err, "--agent-timeout and --idle-timeout must be more than 0s");
	return 0;
}

/* argv: "capsule" "run" [flags] IMAGE [POD...] -- CMD... Returns 1 for --help. */
static int parse_args(int argc, char **argv, struct capsule_cli *cli, struct cntr_err *err)
{
	static const struct option options[] = {
		{ "selector", required_argument, NULL, 'l' }, { "namespace", required_argument, NULL, 'n' },
		{ "all-namespaces", no_argument, NULL, 'A' }, { "container", required_argument, NULL, 'c' },
		{ "image-pull-policy", required_argument, NULL, OPT_PULL_POLICY },
		{ "parallel", required_argument, NULL, OPT_PARALLEL }, { "iterative", no_argument, NULL, OPT_ITERATIVE },
		{ "fail-fast", no_argument, NULL, OPT_FAIL_FAST }, { "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "profile", required_argument, NULL, OPT_PROFILE }, { "json", no_argument, NULL, OPT_JSON },
		{ "share", required_argument, NULL, OPT_SHARE },
		{ "seccomp-profile", required_argument, NULL, OPT_SECCOMP },
		{ "agent-image", required_argument, NULL, OPT_AGENT_IMAGE },
		{ "agent-namespace", required_argument, NULL, OPT_AGENT_NS },
		{ "agent-timeout", required_argument, NULL, OPT_AGENT_TIMEOUT },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
		{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG }, { "context", required_argument, NULL, OPT_CONTEXT },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int dashdash = argc, opt;

	if (set_defaults(cli, err) < 0)
		return -1;
	if (argc < 2 || strcmp(argv[1], "run") != 0) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
			return 1;
		return usage_error(err, "usage: lambda-cntr capsule run [flags] IMAGE (-l SELECTOR | POD...) -- CMD, "
				   "or capsule get|logs NAME");
	}
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dashdash = i;
			break;
		}
	if (dashdash + 1 < argc)
		cli->req.command = &argv[dashdash + 1];
	optind = 2;
	opterr = 0;
	while ((opt = getopt_long(dashdash, argv, ":l:n:Ac:vh", options, NULL)) != -1) {
		if (opt == 'h')
			return 1;
		if (opt == '?' || opt == ':')
			return usage_error(err, "%s option \"%s\"", opt == ':' ? "missing value for" : "unknown",
					   argv[optind - 1]);
		if (parse_flag(opt, cli, err) < 0)
			return -1;
	}
	/* The words left before "--": IMAGE and the pods; cut there so the pods end at "--". */
	argv[dashdash] = NULL;
	return check_request(cli, &argv[optind], dashdash - optind, err);
}

static void clear_progress(const struct capsule_cli *cli)
{
	if (cli->progress && cli->total)
		fputs("\r\033[K", stderr);
}

static void draw_progress(const struct capsule_cli *cli)
{
	if (cli->progress && cli->total)
		fprintf(stderr, "capsule: %zu/%zu targets done", cli->done, cli->total);
	fflush(stderr);
}

static void on_line(void *ctx, enum capsule_stream stream, const char *line)
{
	struct capsule_cli *cli = ctx;
	FILE *out = stream == CAPSULE_STDOUT ? stdout : stderr;

	clear_progress(cli);
	fprintf(out, "%s\n", line);
	fflush(out);
	draw_progress(cli);
}

static void on_progress(void *ctx, size_t done, size_t total)
{
	struct capsule_cli *cli = ctx;

	clear_progress(cli);
	cli->done = done, cli->total = total;
	draw_progress(cli);
}

static void print_summary(const struct capsule_report *rep)
{
	size_t width = 6, nwidth = 4;

	for (size_t i = 0; i < rep->targets; i++) {
		size_t w = strlen(rep->results[i].name), nw = strlen(rep->results[i].node);
		width = w > width ? w : width;
		nwidth = nw > nwidth ? nw : nwidth;
	}
	fprintf(stderr, "%-*s  %-*s  %7s  %7s\n", (int)width, "TARGET", (int)nwidth, "NODE", "EXIT", "SECONDS");
	for (size_t i = 0; i < rep->targets; i++) {
		const struct capsule_result *r = &rep->results[i];
		char exit_text[16];
		if (r->exit >= 0)
			snprintf(exit_text, sizeof(exit_text), "%d", r->exit);
		else
			snprintf(exit_text, sizeof(exit_text), "not run");
		fprintf(stderr, "%-*s  %-*s  %7s  %7.2f\n", (int)width, r->name, (int)nwidth, r->node, exit_text, r->seconds);
	}
	for (size_t i = rep->targets; i < rep->n; i++)
		fprintf(stderr, "skipped %s: %s\n", rep->results[i].name, rep->results[i].skipped);
	fprintf(stderr, "%zu of %zu target(s) failed\n", rep->failed, rep->targets);
}

static void print_json(const struct capsule_report *rep)
{
	json_t *targets = json_array(), *skipped = json_array();
	json_t *doc;
	char *text;

	for (size_t i = 0; i < rep->targets; i++) {
		const struct capsule_result *r = &rep->results[i];
		json_t *t = json_pack("{s:s, s:s, s:b, s:b, s:f}", "target", r->name, "node", r->node, "started", r->exit >= 0,
				      "timedOut", r->timed_out, "seconds", r->seconds);
		json_object_set_new(t, "exit", r->exit >= 0 ? json_integer(r->exit) : json_null());
		if (r->error)
			json_object_set_new(t, "error", json_string(r->error));
		json_array_append_new(targets, t);
	}
	for (size_t i = rep->targets; i < rep->n; i++)
		json_array_append_new(skipped, json_pack("{s:s, s:s}", "pod", rep->results[i].name, "reason",
							 rep->results[i].skipped));
	doc = json_pack("{s:o, s:o, s:I}", "targets", targets, "skipped", skipped, "failed", (json_int_t)rep->failed);
	text = json_dumps(doc, JSON_INDENT(2));
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(doc);
}

/* As attach chooses (lambda_broker_choose): with the broker installed, each node's run goes
 * through its nodes/NODE/capsule and the user needs attach's rights only. */
static int choose_mode(struct capsule_cli *cli, struct kube_config *cfg, struct cntr_err *err)
{
	struct lambda_opts opts = { .api_mode = cli->api_mode };

	return lambda_broker_choose(cfg, &opts, LAMBDA_BROKER_CAPSULE, &cli->req.via_broker, err);
}

static int run(struct capsule_cli *cli, struct cntr_err *err)
{
	struct kube_config_opts copts = { .kubeconfig = cli->kubeconfig, .context = cli->context };
	struct kube_config *cfg = NULL;
	struct capsule_report rep = { 0 };
	_cleanup_free_ char *agent_ns = NULL;
	int status;

	if (kube_http_global_init(err) < 0 || lambda_signals_install(err) < 0 ||
	    kube_config_load(&copts, &cfg, err) < 0)
		return -1;
	if (!cli->req.namespace)
		cli->req.namespace = cfg->namespace;
	if (choose_mode(cli, cfg, err) < 0) {
		kube_config_free(cfg);
		return -1;
	}
	/* The same agent namespace as attach (lambda_agent_namespace): its agents are shared. */
	if (!cli->req.via_broker && !cli->req.agent_namespace) {
		if (lambda_agent_namespace(cfg, NULL, &agent_ns, err) < 0) {
			kube_config_free(cfg);
			return -1;
		}
		cli->req.agent_namespace = agent_ns;
	}
	cli->req.on_line = on_line;
	cli->req.on_progress = on_progress;
	cli->req.ctx = cli;
	cli->req.verbose_cntr = cli->verbose >= 2;
	cli->progress = isatty(STDERR_FILENO);
	if (lambda_capsule_run(cfg, &cli->req, &rep, err) < 0) {
		kube_config_free(cfg);
		return -1;
	}
	clear_progress(cli);
	if (cli->json)
		print_json(&rep);
	else
		print_summary(&rep);
	status = rep.interrupted ? lambda_signals_exit_code(rep.interrupted) : rep.failed ? 1 : 0;
	capsule_report_clear(&rep);
	kube_config_free(cfg);
	return status;
}

int lambda_capsule_main(const char *program, int argc, char **argv)
{
	struct capsule_cli cli;
	struct cntr_err err = { 0 };
	int r;

	if (argc >= 2 && (!strcmp(argv[1], "get") || !strcmp(argv[1], "logs")))
		return lambda_capsule_show_main(program, argc - 1, argv + 1);
	r = parse_args(argc, argv, &cli, &err);

	if (r < 0) {
		log_error("%s", err.msg);
		return err.code ? err.code : CNTR_EXIT_USAGE;
	}
	if (r == 1) {
		lambda_capsule_usage(program);
		return 0;
	}
	log_init(program, cli.verbose >= 2 ? CNTR_LOG_DEBUG : cli.verbose ? CNTR_LOG_INFO : CNTR_LOG_WARN);
	lambda_phase_init(program, cli.verbose > 0);
	r = run(&cli, &err);
	if (r < 0) {
		int signo = lambda_signals_caught();
		if (signo)
			return lambda_signals_exit_code(signo);
		log_error("%s", err.msg);
		return err.code ? err.code : CNTR_EXIT_FAILURE;
	}
	return r;
}

void lambda_capsule_usage(const char *program)
{
	printf("Usage:\n"
	       "  %1$s capsule run [flags] IMAGE (-l SELECTOR | POD...) -- CMD [ARG...]\n"
	       "\n"
	       "Runs CMD from the capsule image IMAGE in the chosen container of every running pod that\n"
	       "matches, with the container's namespaces and its root at /var/lib/cntr; the capsule's own\n"
	       "files are a copy-on-write layer thrown away at the end (docs/capsules.md). On every node\n"
	       "with targets, at the same time: the node's agent, and a short-lived capsule pod whose\n"
	       "container is IMAGE, pulled by the kubelet (registries, pull secrets, imagePullPolicy);\n"
	       "the agent runs `cntr capsule run --from-container` over the node's targets. The capsule\n"
	       "pods are deleted at the end, also after an error or Ctrl-C.\n"
	       "\n"
	       "Flags:\n"
	       "  -l, --selector SEL        the pods matching this label selector\n"
	       "  -n, --namespace NS        namespace of the pods (default: the context's)\n"
	       "  -A, --all-namespaces      with -l: the pods of every namespace\n"
	       "  -c, --container NAME      the container (default: the default-container annotation,\n"
	       "                            else the only one; a pod with several is skipped, named)\n"
	       "      --image-pull-policy P Always, IfNotPresent or Never for IMAGE\n"
	       "      --parallel N          at most N targets at once per node (default: all, at most 32)\n"
	       "      --iterative           one target after the other, node after node\n"
	       "      --fail-fast           start nothing more once a target failed\n"
	       "      --timeout D           per target: SIGTERM, SIGKILL 2 s later; exit status 124\n"
	       "      --profile NAME        cntr's capsule profile: general, restricted, netadmin, sysadmin\n"
	       "      --share NS,...        join only these of the target's namespaces (uts,ipc,net,pid,\n"
	       "                            cgroup; default all); --seccomp-profile default|unconfined\n"
	       "      --json                the results as JSON on stdout instead of the summary\n"
	       "      --agent-image IMG     the agent image (env CNTR_IMAGE; default " DEFAULT_AGENT_IMAGE ")\n"
	       "      --agent-namespace NS  where agents and capsule pods run (default: -n's namespace)\n"
	       "      --agent-timeout D     how long to wait for an agent or a capsule pod (default 2m)\n"
	       "      --idle-timeout D      an agent this run creates exits after this long unused\n"
	       "      --mode MODE           auto (default: the broker when installed), pod or broker\n"
	       "                            (env LAMBDA_CNTR_MODE); the --agent-* flags are pod mode's\n"
	       "      --kubeconfig FILE, --context NAME\n"
	       "  -v, --verbose             each step (twice: also cntr's)\n"
	       "\n"
	       "Output: each line of a target as \"[namespace/pod/container] line\" (stdout to stdout,\n"
	       "stderr to stderr), a progress line on a terminal, then a summary (TARGET NODE EXIT\n"
	       "SECONDS) on stderr, or --json on stdout. A node whose capsule pod cannot run (an image\n"
	       "pull failure...) reports each of its targets as not run, naming the node, the image\n"
	       "and the kubelet's reason; the other nodes go on.\n"
	       "\n"
	       "Permissions (RBAC): with the broker installed (docs/broker.md), what attaching to the\n"
	       "pods needs (get pods, create pods/exec) plus list pods for -l: the broker makes the\n"
	       "capsule pods. In pod mode: get/list pods of the targets' namespaces, and in the agent\n"
	       "namespace what `%1$s attach` needs there (list, watch, create, delete pods; get, create\n"
	       "pods/exec).\n"
	       "\n"
	       "Exit status: 0 every target succeeded; 1 a target failed or did not run; 2 usage;\n"
	       "125 %1$s failed (configuration, API, no running target); 130/143 interrupted.\n",
	       program);
}
