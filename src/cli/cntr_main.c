/* cntr: the node engine's command line. Parses arguments, resolves TARGET, runs the session
 * and turns every failure into one line on stderr and a documented exit code. */
#include "cntr_agent.h"
#include "cntr_capsule.h"
#include "cntr_list.h"
#include "cntr_seccomp_profile.h"
#include "cntr_usage.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "node/agent_audit.h"
#include "node/creds.h"
#include "node/kernel.h"
#include "node/profile.h"
#include "node/pause_point.h"
#include "node/resolve.h"
#include "node/seccomp_choice.h"
#include "node/session.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define DEFAULT_BASE_DIR "/var/lib/cntr"

enum { OPT_CAP_ADD = 256, OPT_CAP_DROP, OPT_PROFILE, OPT_NO_TRUNC, OPT_JSON, OPT_SECCOMP, OPT_NO_SECCOMP,
       OPT_TOOLS, OPT_RW_TOOLS, OPT_HOST, OPT_SECCOMP_PROFILE };

struct cli {
	const char *command;     /* attach, exec, list */
	unsigned types;
	int verbosity;
	struct cap_change caps;  /* --cap-add, --cap-drop */
	const struct session_profile *profile;
	bool no_trunc, json, no_seccomp, rw_tools, host;
	const char *tools;       /* --tools DIR or $CNTR_TOOLS */
	const char *seccomp_spec; /* --seccomp-profile (NULL: the target's filters only) */
	const char *target;
	char **argv;             /* the command to run, NULL-terminated (may be empty) */
};

__attribute__((format(printf, 2, 3))) static int usage_error(struct cntr_err *err, const char *fmt, ...)
{
	va_list ap;
	char msg[CNTR_ERR_MSG_MAX];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cntr_fail(err, CNTR_EXIT_USAGE, 0, "%s", msg);
	return cntr_err_hint(err, "see 'cntr --help'");
}

/* A comma list of capability names; "ALL" (only with all_ok) is every capability. */
static int parse_caps(const char *list, bool all_ok, uint64_t *caps, struct cntr_err *err)
{
	char *copy = xstrdup(list), *save = NULL;
	int rc = 0;

	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		int cap = cntr_cap_from_name(name);
		if (all_ok && strcasecmp(name, "all") == 0) {
			*caps = ~0ULL;
			continue;
		}
		if (cap < 0) {
			rc = usage_error(err, "unknown capability '%s'", name);
			break;
		}
		*caps |= 1ULL << cap;
	}
	free(copy);
	return rc;
}

static int parse_options(int argc, char **argv, struct cli *cli, struct cntr_err *err)
{
	static const struct option options[] = {
		{ "type", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
		{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "no-trunc", no_argument, NULL, OPT_NO_TRUNC },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "seccomp", no_argument, NULL, OPT_SECCOMP },  /* the default; kept for old scripts */
		{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
		{ "seccomp-profile", required_argument, NULL, OPT_SECCOMP_PROFILE },
		{ "tools", required_argument, NULL, OPT_TOOLS },
		{ "rw-tools", no_argument, NULL, OPT_RW_TOOLS },
		{ "host", no_argument, NULL, OPT_HOST },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	optind = 0; /* 0: full reset in glibc and musl (parsed twice: before and after the subcommand) */
	/* '+': stop at TARGET, everything after it belongs to the command. */
	while ((c = getopt_long(argc, argv, "+t:vh", options, NULL)) != -1) {
		switch (c) {
		case 't':
			if (resolver_types_parse(optarg, &cli->types, err) < 0)
				return -1;
			break;
		case 'v':
			cli->verbosity++;
			break;
		case 'h':
			cntr_print_usage(stdout);
			exit(0);
		case OPT_CAP_ADD:
			if (parse_caps(optarg, false, &cli->caps.add, err) < 0)
				return -1;
			break;
		case OPT_CAP_DROP:
			if (parse_caps(optarg, true, &cli->caps.drop, err) < 0)
				return -1;
			break;
		case OPT_PROFILE:
			cli->profile = session_profile_find(optarg);
			if (!cli->profile)
				return usage_error(err, "unknown profile '%s' (use %s)", optarg, session_profile_names());
			break;
		case OPT_NO_TRUNC:
			cli->no_trunc = true;
			break;
		case OPT_JSON:
			cli->json = true;
			break;
		case OPT_SECCOMP:
			cli->no_seccomp = false;
			break;
		case OPT_NO_SECCOMP:
			cli->no_seccomp = true;
			break;
		case OPT_SECCOMP_PROFILE:
			cli->seccomp_spec = optarg;
			break;
		case OPT_TOOLS:
			cli->tools = optarg;
			break;
		case OPT_RW_TOOLS:
			cli->rw_tools = true;
			break;
		case OPT_HOST:
			cli->host = true;
			break;
		default:
			return usage_error(err, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	return optind;
}

static bool is_subcommand(const char *word)
{
	return !strcmp(word, "attach") || !strcmp(word, "exec") || !strcmp(word, "list");
}

static int parse_command_line(int argc, char **argv, struct cli *cli, struct cntr_err *err)
{
	int sub = 1, first;

	if (argc < 2)
		return usage_error(err, "%s", "missing command (attach, exec or list)");
	if (strcmp(argv[1], "--version") == 0) {
		printf("cntr %s\n", CNTR_VERSION);
		exit(0);
	}
	/* Options may also stand before the subcommand: `cntr -v attach T`. */
	if (argv[1][0] == '-') {
		sub = parse_options(argc, argv, cli, err);
		if (sub < 0)
			return -1;
		if (sub >= argc)
			return usage_error(err, "%s", "missing command (attach, exec or list)");
	}
	cli->command = argv[sub];
	if (!is_subcommand(cli->command))
		return usage_error(err, "unknown command '%s' (use attach, exec, list or capsule run)", cli->command);
	first = parse_options(argc - sub, argv + sub, cli, err);
	if (first < 0)
		return -1;
	first += sub;
	if (strcmp(cli->command, "list") == 0) {
		if (first < argc)
			return usage_error(err, "list takes no argument, got '%s'", argv[first]);
		return 0;
	}
	if (cli->host) {
		/* getopt consumed a "--" right after the options: the command follows it. */
		if (first < argc && strcmp(argv[first - 1], "--") != 0 && strcmp(argv[first], "--") != 0)
			return usage_error(err, "--host takes no TARGET, got '%s'", argv[first]);
	} else if (first >= argc) {
		return usage_error(err, "%s", "missing TARGET (a PID, container ID or name), or --host");
	} else {
		cli->target = argv[first++];
	}
	if (first < argc && strcmp(argv[first], "--") == 0)
		first++;
	cli->argv = argv + first;
	return 0;
}

/* --tools DIR: an absolute, canonical directory (the session's entries are cloned from it). */
static int resolve_tools_dir(const char *dir, char **out, struct cntr_err *err)
{
	struct stat st;

	*out = NULL;
	if (!dir || !*dir)
		return 0;
	*out = realpath(dir, NULL);
	if (!*out || stat(*out, &st) < 0 || !S_ISDIR(st.st_mode))
		return usage_error(err, "--tools %s: not a directory (give an unpacked image or a tools root)", dir);
	return 0;
}

static int run(struct cli *cli, struct cntr_err *err)
{
	struct container_ref ref;
	const char *base_dir = getenv("CNTR_BASE_DIR");
	struct session_opts opts = {
		.mode = strcmp(cli->command, "exec") == 0 ? SESSION_EXEC : SESSION_ATTACH,
		.base_dir = base_dir && *base_dir ? base_dir : DEFAULT_BASE_DIR,
		.argv = cli->argv,
		.caps = cli->caps,
		.copy_seccomp = !cli->no_seccomp,
		.tools = { .writable = cli->rw_tools },
	};
	_cleanup_free_ char *tools_dir = NULL;
	__attribute__((cleanup(seccomp_choice_release))) struct seccomp_choice seccomp = { 0 };
	const char *seccomp_spec = cli->seccomp_spec;

	if (strcmp(cli->command, "list") == 0)
		return cntr_list(cli->types, cli->no_trunc, cli->json, err) < 0 ? -1 : 0;
	if (cli->no_seccomp && seccomp_spec && strcmp(seccomp_spec, "unconfined") != 0)
		return usage_error(err, "--no-seccomp and --seccomp-profile %s contradict each other", seccomp_spec);
	/* Before resolving: an unprivileged caller sees too little of /proc to get a useful
	 * "not found", so say what is really missing. */
	if (check_privileges(err) < 0 || check_mount_api(err) < 0)
		return -1;
	if (cli->host ? resolve_host(&ref, err) < 0 : resolve_target(cli->target, cli->types, &ref, err) < 0)
		return -1;
	pause_point("resolved");
	log_info("target '%s' is %s%s%s pid %d", cli->host ? "--host" : cli->target, ref.runtime,
		 ref.id[0] ? " container " : "", ref.id, (int)ref.pid);
	if (resolve_tools_dir(cli->tools ? cli->tools : getenv("CNTR_TOOLS"), &tools_dir, err) < 0)
		return -1;
	/* --profile restricted: the built-in profile on top of the target's filters. */
	if (!seccomp_spec && !cli->no_seccomp && cli->profile && cli->profile->default_seccomp)
		seccomp_spec = "default";
	if (seccomp_spec && cntr_seccomp_profile_apply(seccomp_spec, &opts, &seccomp, err) < 0)
		return -1;
	opts.tools.dir = tools_dir;
	if (tools_dir && strcmp(tools_dir, "/") == 0 && opts.mode == SESSION_ATTACH)
		log_warn("--tools /: all of cntr's root (sockets, secrets, other containers) is reachable "
			 "from the target's processes, read-only");
	if (cli->profile) {
		session_profile_apply(cli->profile, &opts.caps);
		log_info("profile %s: %s", cli->profile->name, cli->profile->summary);
	}
	if (opts.caps.add)
		log_warn("%s: the session gets capabilities the target may not have (%#llx)",
			 cli->profile && cli->profile->add ? "--profile" : "--cap-add",
			 (unsigned long long)opts.caps.add);
	if (cli->rw_tools && opts.mode == SESSION_ATTACH)
		log_warn("--rw-tools: the tools are writable, also for the target's processes");
	return run_session(ref.pid, ref.start_time, &opts, err);
}

int main(int argc, char **argv)
{
	struct cli cli = { .types = RESOLVE_DEFAULT };
	struct agent_audit audit = { 0 };
	struct cntr_err err = { 0 };
	int status;

	log_init("cntr", CNTR_LOG_WARN);
	if (argc > 1 && strcmp(argv[1], "capsule") == 0)
		return cntr_capsule_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "agent") == 0)
		return cntr_agent_main(argc - 1, argv + 1);
	if (parse_command_line(argc, argv, &cli, &err) < 0) {
		log_error("%s", err.msg);
		return err.code ? err.code : CNTR_EXIT_USAGE;
	}
	log_init("cntr", cli.verbosity >= 2 ? CNTR_LOG_DEBUG : cli.verbosity ? CNTR_LOG_INFO : CNTR_LOG_WARN);
	/* A session the broker started in a DaemonSet agent is recorded in the agent's log, its
	 * end on every way out of run(), cntr's own failures included (agent_audit.h). */
	if (strcmp(cli.command, "list") != 0)
		agent_audit_session_started(&audit);
	status = run(&cli, &err);
	if (status < 0) {
		status = err.code ? err.code : CNTR_EXIT_FAILURE;
		log_error("%s", err.msg);
		agent_audit_session_ended(&audit, status, err.msg);
		return status;
	}
	agent_audit_session_ended(&audit, status, NULL);
	return status;
}
