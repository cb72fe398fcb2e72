/* `cntr capsule run`: a short function from an image, run in one or many targets' context with
 * a throw-away copy-on-write root (docs/capsules.md). Parses the command line, builds the
 * session options shared by every target, and hands the targets to the policy runner. */
#include "cntr_capsule.h"
#include "cntr_seccomp_profile.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "node/capsule_cache.h"
#include "node/capsule_image.h"
#include "node/capsule_run.h"
#include "node/creds.h"
#include "node/kernel.h"
#include "node/profile.h"
#include "node/resolve.h"
#include "node/seccomp_choice.h"
#include "node/session.h"

#include <getopt.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define DEFAULT_TMP_SIZE "64m"
#define DEFAULT_PARALLEL 32

/* Capabilities a capsule does not get from its target unless --cap-add asks: kernel, module,
 * device, clock, LSM and tracing control, and the escapes (open_by_handle_at, BPF). */
#define CAP(c) (1ULL << (c))
static const uint64_t capsule_dropped_caps =
	CAP(CAP_SYS_ADMIN) | CAP(CAP_SYS_MODULE) | CAP(CAP_SYS_RAWIO) | CAP(CAP_SYS_BOOT) | CAP(CAP_SYS_TIME) |
	CAP(CAP_SYS_PTRACE) | CAP(CAP_DAC_READ_SEARCH) | CAP(CAP_MAC_ADMIN) | CAP(CAP_MAC_OVERRIDE) |
	CAP(CAP_SYSLOG) | CAP(CAP_AUDIT_CONTROL) | CAP(CAP_LINUX_IMMUTABLE) | CAP(CAP_SYS_PACCT) |
	CAP(CAP_WAKE_ALARM) | CAP(CAP_BLOCK_SUSPEND) | 1ULL << 38 /* PERFMON */ | 1ULL << 39 /* BPF */ |
	1ULL << 40 /* CHECKPOINT_RESTORE */;

enum { OPT_SHARE = 256, OPT_CAP_ADD, OPT_CAP_DROP, OPT_PROFILE, OPT_SECCOMP_PROFILE, OPT_TIMEOUT,
       OPT_PARALLEL, OPT_ITERATIVE, OPT_FAIL_FAST, OPT_JSON, OPT_TMP_SIZE, OPT_FROM_CONTAINER, OPT_NAME };

#define MAX_NAMES 4096

struct capsule_cli {
	unsigned types;
	int verbosity;
	struct session_opts opts;
	struct capsule_policy policy;
	const struct session_profile *profile;
	const char *image;            /* a directory: the capsule's files */
	const char *from_container;   /* or another container's root */
	char **targets;
	size_t ntargets;
	bool json;
	const char *seccomp_spec;     /* --seccomp-profile: default, unconfined, target or a file */
	struct seccomp_choice seccomp;
	/* --name REF=SHOWN: how a target is shown in prefixes and the summary (lambda-cntr passes
	 * ns/pod/container for a container ID). Points into argv. */
	const char *names[MAX_NAMES];
	size_t nnames;
};

static int capsule_usage_error(struct cntr_err *err, const char *what, const char *value)
{
	cntr_fail(err, CNTR_EXIT_USAGE, 0, "%s '%s'", what, value);
	return cntr_err_hint(err, "see 'cntr capsule --help'");
}

static int parse_cap_list(const char *list, uint64_t *caps, struct cntr_err *err)
{
	_cleanup_free_ char *copy = xstrdup(list);
	char *save = NULL;

	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		int cap = strcasecmp(name, "all") == 0 ? 64 : cntr_cap_from_name(name);
		if (cap < 0)
			return capsule_usage_error(err, "unknown capability", name);
		*caps |= cap == 64 ? ~0ULL : 1ULL << cap;
	}
	return 0;
}

static int parse_share(const char *list, unsigned *share, struct cntr_err *err)
{
	_cleanup_free_ char *copy = xstrdup(list);
	char *save = NULL;

	*share = 1U << NS_MNT; /* the mount namespace is always a private copy of the target's */
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		int kind = -1;
		for (int k = 0; k < NS_COUNT; k++)
			if (strcmp(ns_table[k].name, name) == 0)
				kind = k;
		if (kind < 0 || kind == NS_USER)
			return capsule_usage_error(err, "--share: unknown namespace (use uts,ipc,net,pid,cgroup)", name);
		*share |= 1U << kind;
	}
	/* A user-namespaced target's user namespace is always joined: never more than the target. */
	*share |= 1U << NS_USER;
	return 0;
}

/* "90s", "2m", "1h" or seconds. */
static int parse_timeout(const char *text, long *ms, struct cntr_err *err)
{
	char *end = NULL;
	double v = strtod(text, &end);
	double unit = !*end || !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : 0;

	if (end == text || v <= 0 || unit == 0)
		return capsule_usage_error(err, "--timeout: not a duration (90s, 2m, 1h)", text);
	*ms = (long)(v * unit * 1000);
	return 0;
}

static int add_name(struct capsule_cli *cli, const char *arg, struct cntr_err *err)
{
	const char *eq = strchr(arg, '=');

	if (!eq || eq == arg || !eq[1])
		return capsule_usage_error(err, "--name: use TARGET=NAME, not", arg);
	for (const char *c = eq + 1; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == ']')
			return capsule_usage_error(err, "--name: a NAME without control characters or ']', not", arg);
	if (cli->nnames == MAX_NAMES)
		return capsule_usage_error(err, "--name: too many, at", arg);
	cli->names[cli->nnames++] = arg;
	return 0;
}

/* The name target ref is shown under: its --name, else itself. */
static const char *shown_name(const struct capsule_cli *cli, const char *ref)
{
	size_t len = strlen(ref);

	for (size_t i = 0; i < cli->nnames; i++)
		if (!strncmp(cli->names[i], ref, len) && cli->names[i][len] == '=')
			return cli->names[i] + len + 1;
	return ref;
}

/* The target ref that is shown as shown (the very pointer shown_name returned). */
static const char *target_ref(const struct capsule_cli *cli, const char *shown)
{
	for (size_t i = 0; i < cli->ntargets; i++)
		if (shown_name(cli, cli->targets[i]) == shown)
			return cli->targets[i];
	return shown;
}

static int parse_option(int c, struct capsule_cli *cli, struct cntr_err *err)
{
	switch (c) {
	case 't':
		return resolver_types_parse(optarg, &cli->types, err);
	case 'v':
		cli->verbosity++;
		return 0;
	case OPT_SHARE:
		return parse_share(optarg, &cli->opts.share, err);
	case OPT_CAP_ADD:
		return parse_cap_list(optarg, &cli->opts.caps.add, err);
	case OPT_CAP_DROP:
		return parse_cap_list(optarg, &cli->opts.caps.drop, err);
	case OPT_PROFILE:
		cli->profile = session_profile_find(optarg);
		return cli->profile ? 0 : capsule_usage_error(err, "unknown profile", optarg);
	case OPT_SECCOMP_PROFILE:
		cli->seccomp_spec = optarg;
		return 0;
	case OPT_TIMEOUT:
		return parse_timeout(optarg, &cli->policy.timeout_ms, err);
	case OPT_PARALLEL:
		cli->policy.parallel = (unsigned)atoi(optarg);
		return cli->policy.parallel ? 0 : capsule_usage_error(err, "--parallel: not a positive number", optarg);
	case OPT_ITERATIVE:
		cli->policy.parallel = 1;
		return 0;
	case OPT_FAIL_FAST:
		cli->policy.fail_fast = true;
		return 0;
	case OPT_JSON:
		cli->json = true;
		return 0;
	case OPT_TMP_SIZE:
		cli->opts.tools.capsule_tmp_size = optarg;
		return 0;
	case OPT_FROM_CONTAINER:
		cli->from_container = optarg;
		return 0;
	case OPT_NAME:
		return add_name(cli, optarg, err);
	case 'h':
		cntr_capsule_usage(stdout);
		exit(0);
	default:
		return 0; /* '?': reported by the caller, which knows the word */
	}
}

static int parse_capsule_args(int argc, char **argv, struct capsule_cli *cli, struct cntr_err *err)
{
	static const struct option options[] = {
		{ "type", required_argument, NULL, 't' }, { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' }, { "share", required_argument, NULL, OPT_SHARE },
		{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
		{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "seccomp-profile", required_argument, NULL, OPT_SECCOMP_PROFILE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "parallel", required_argument, NULL, OPT_PARALLEL },
		{ "iterative", no_argument, NULL, OPT_ITERATIVE },
		{ "fail-fast", no_argument, NULL, OPT_FAIL_FAST }, { "json", no_argument, NULL, OPT_JSON },
		{ "tmp-size", required_argument, NULL, OPT_TMP_SIZE },
		{ "from-container", required_argument, NULL, OPT_FROM_CONTAINER },
		{ "name", required_argument, NULL, OPT_NAME },
		{ NULL, 0, NULL, 0 },
	};
	int c, first;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+t:vh", options, NULL)) != -1) {
		if (c == '?')
			return capsule_usage_error(err, "unknown or incomplete option", argv[optind - 1]);
		if (parse_option(c, cli, err) < 0)
			return -1;
	}
	first = optind;
	if (!cli->from_container) {
		if (first >= argc || !strcmp(argv[first], "--"))
			return capsule_usage_error(err, "missing IMAGE (a directory) before the targets, got", "");
		cli->image = argv[first++];
	}
	cli->targets = argv + first;
	while (first < argc && strcmp(argv[first], "--") != 0)
		first++;
	cli->ntargets = (size_t)(argv + first - cli->targets);
	if (cli->ntargets == 0)
		return capsule_usage_error(err, "missing TARGET (one or more PIDs, container IDs or names)", "");
	cli->opts.argv = first < argc ? argv + first + 1 : argv + argc;
	return 0;
}

/* The capsule's files: IMAGE (a directory, an OCI layout or archive, unpacked and cached),
 * or another container's root; the image's Entrypoint/Cmd/Env/WorkingDir as defaults. */
static int capsule_lower(struct capsule_cli *cli, struct capsule_image *img, char **lower, char ***argv,
			 struct cntr_err *err)
{
	struct container_ref ref;
	size_t n = 0;

	*argv = NULL;
	if (cli->from_container) {
		if (resolve_target(cli->from_container, cli->types, &ref, err) < 0)
			return cntr_err_prefix(err, "--from-container: ");
		*lower = xasprintf("/proc/%d/root", (int)ref.pid);
		cli->opts.tools.capsule_from = ref.pid;
	} else {
		if (capsule_image_open(cli->image, img, err) < 0)
			return -1;
		*lower = xstrdup(img->rootfs);
		cli->opts.extra_env = img->env;
		cli->opts.workdir = img->workdir;
	}
	if (cli->opts.argv[0])
		return 0;
	/* No command given: the image's Entrypoint followed by its Cmd. */
	*argv = calloc(strv_len(img->entrypoint) + strv_len(img->cmd) + 1, sizeof(char *));
	if (!*argv)
		abort();
	for (char **p = img->entrypoint; p && *p; p++)
		(*argv)[n++] = xstrdup(*p);
	for (char **p = img->cmd; p && *p; p++)
		(*argv)[n++] = xstrdup(*p);
	if (n == 0)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0,
				 "the capsule image has no Entrypoint or Cmd: give the command after --");
	cli->opts.argv = *argv;
	return 0;
}

struct session_ctx {
	const struct capsule_cli *cli;
};

/* In the child of one target: resolve it and run the session, errors as one line each. */
static int run_one(const char *shown, void *ctx)
{
	const struct capsule_cli *cli = ((struct session_ctx *)ctx)->cli;
	const char *target = target_ref(cli, shown);
	struct cntr_err err = { 0 };
	struct container_ref ref;
	int status;

	if (resolve_target(target, cli->types, &ref, &err) < 0) {
		log_error("%s", err.msg);
		return err.code ? err.code : CNTR_EXIT_FAILURE;
	}
	status = run_session(ref.pid, ref.start_time, &cli->opts, &err);
	if (status < 0) {
		log_error("%s", err.msg);
		return err.code ? err.code : CNTR_EXIT_FAILURE;
	}
	return status;
}

static int run_capsule(struct capsule_cli *cli, struct cntr_err *err)
{
	_cleanup_free_ char *lower = NULL;
	_cleanup_free_ struct capsule_target *targets = NULL;
	_cleanup_strv_ char **default_argv = NULL;
	__attribute__((cleanup(capsule_image_release))) struct capsule_image img = { .hold_fd = -1 };
	struct session_ctx ctx = { .cli = cli };
	size_t failed;

	/* The profile first: a wrong one stops everything before any image or target is touched. */
	if (check_privileges(err) < 0 || check_mount_api(err) < 0 ||
	    cntr_seccomp_profile_apply(cli->seccomp_spec, &cli->opts, &cli->seccomp, err) < 0 ||
	    capsule_lower(cli, &img, &lower, &default_argv, err) < 0)
		return -1;
	cli->opts.tools.capsule = lower;
	cli->opts.caps.drop |= capsule_dropped_caps & ~cli->opts.caps.add;
	if (cli->profile)
		session_profile_apply(cli->profile, &cli->opts.caps);
	if (!cli->opts.copy_seccomp)
		log_warn("--seccomp-profile unconfined: the capsule runs without any seccomp filter");
	else if (!cli->opts.seccomp_profile)
		log_warn("--seccomp-profile target: the capsule runs only under its target's own filters");
	if (cli->opts.caps.add)
		log_warn("%s: the capsule gets capabilities beyond its default set (%#llx)",
			 cli->profile && cli->profile->add ? "--profile" : "--cap-add",
			 (unsigned long long)cli->opts.caps.add);
	targets = calloc(cli->ntargets, sizeof(*targets));
	if (!targets)
		return cntr_fail_errno(err, "allocate the targets");
	for (size_t i = 0; i < cli->ntargets; i++)
		targets[i].ref = shown_name(cli, cli->targets[i]);
	if (!cli->policy.parallel)
		cli->policy.parallel = cli->ntargets < DEFAULT_PARALLEL ? (unsigned)cli->ntargets : DEFAULT_PARALLEL;
	failed = capsule_run_targets(targets, cli->ntargets, &cli->policy, run_one, &ctx);
	if (cli->json)
		capsule_print_json(stdout, targets, cli->ntargets);
	else
		capsule_print_summary(stderr, targets, cli->ntargets);
	/* One target: its own status, as cntr attach. Several: 0 only when every one succeeded. */
	if (cli->ntargets == 1)
		return targets[0].status < 0 ? CNTR_EXIT_FAILURE : targets[0].status;
	return failed ? 1 : 0;
}

/* `cntr capsule prune [--older-than D]`: the cache's entries no run holds. */
static int capsule_prune_main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "older-than", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct capsule_prune_opts opts = { 0 };
	struct cntr_err err = { 0 };
	long ms = 0;
	int c;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		if (c == 'h') {
			cntr_capsule_usage(stdout);
			return 0;
		}
		if (c == '?' || (c == 'o' && parse_timeout(optarg, &ms, &err) < 0)) {
			if (c == '?')
				capsule_usage_error(&err, "unknown or incomplete option", argv[optind - 1]);
			log_error("%s", err.msg);
			return CNTR_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		capsule_usage_error(&err, "prune takes no arguments, got", argv[optind]);
		log_error("%s", err.msg);
		return CNTR_EXIT_USAGE;
	}
	opts.older_than_s = ms / 1000;
	if (capsule_cache_prune(&opts, stdout, &err) < 0) {
		log_error("%s", err.msg);
		return err.code ? err.code : CNTR_EXIT_FAILURE;
	}
	return 0;
}

int cntr_capsule_main(int argc, char **argv)
{
	struct capsule_cli cli = {
		.types = RESOLVE_DEFAULT,
		.opts = { .mode = SESSION_ATTACH, .base_dir = "/var/lib/cntr", .copy_seccomp = true,
			  .tools = { .capsule_tmp_size = DEFAULT_TMP_SIZE } },
		.seccomp_spec = "default",
	};
	struct cntr_err err = { 0 };
	const char *base_dir = getenv("CNTR_BASE_DIR");
	int status;

	if (base_dir && *base_dir)
		cli.opts.base_dir = base_dir;
	log_init("cntr", CNTR_LOG_WARN);
	if (argc >= 2 && strcmp(argv[1], "prune") == 0)
		return capsule_prune_main(argc - 1, argv + 1);
	if (argc < 2 || strcmp(argv[1], "run") != 0) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			cntr_capsule_usage(stdout);
			return 0;
		}
		log_error("usage: cntr capsule run [OPTIONS] IMAGE TARGET... -- CMD [ARG...]; see 'cntr capsule --help'");
		return CNTR_EXIT_USAGE;
	}
	if (parse_capsule_args(argc - 1, argv + 1, &cli, &err) < 0) {
		log_error("%s", err.msg);
		return err.code ? err.code : CNTR_EXIT_USAGE;
	}
	log_init("cntr", cli.verbosity >= 2 ? CNTR_LOG_DEBUG : cli.verbosity ? CNTR_LOG_INFO : CNTR_LOG_WARN);
	status = run_capsule(&cli, &err);
	seccomp_choice_release(&cli.seccomp);
	if (status < 0) {
		log_error("%s", err.msg);
		return err.code ? err.code : CNTR_EXIT_FAILURE;
	}
	return status;
}

void cntr_capsule_usage(FILE *out)
{
	fputs("Usage:\n"
	      "  cntr capsule run [OPTIONS] IMAGE TARGET... -- CMD [ARG...]\n"
	      "  cntr capsule run [OPTIONS] --from-container TARGET TARGET... -- CMD [ARG...]\n"
	      "  cntr capsule prune [--older-than D]\n"
	      "\n"
	      "Runs CMD from IMAGE (a directory: an unpacked image root) in each TARGET's context: its\n"
	      "namespaces (see --share), cgroup, uid/gid, the target's root at /var/lib/cntr. The\n"
	      "capsule's / is IMAGE under a fresh copy-on-write tmpfs, discarded when CMD ends:\n"
	      "nothing of one run is visible to the next.\n"
	      "\n"
	      "Options:\n"
	      "      --from-container T  the tools are the root of another container T (no IMAGE)\n"
	      "      --share NS,...      join only these of the target's namespaces (uts,ipc,net,pid,\n"
	      "                          cgroup); the others are new and private. Default: all.\n"
	      "                          The mount namespace is always a private copy; a\n"
	      "                          user-namespaced target's user namespace is always joined.\n"
	      "      --cap-add/--cap-drop CAPS\n"
	      "                          capabilities: by default the target's minus SYS_ADMIN,\n"
	      "                          SYS_MODULE, SYS_RAWIO, SYS_BOOT, SYS_TIME, SYS_PTRACE,\n"
	      "                          DAC_READ_SEARCH, MAC_*, BPF, PERFMON, SYSLOG and the like\n"
	      "      --profile NAME      general, restricted, netadmin, sysadmin (as cntr attach)\n"
	      "      --seccomp-profile default|FILE|target|unconfined\n"
	      "                          a seccomp profile on top of the target's own filters:\n"
	      "                          default: cntr's built-in one (Docker's default in effect);\n"
	      "                          FILE: a Docker/OCI JSON profile (compiled by cntr-seccomp)\n"
	      "                          or a BPF file from 'cntr-seccomp compile'; target: only\n"
	      "                          the target's filters; unconfined: none at all (announced)\n"
	      "      --timeout D         per target (90s, 2m, 1h): SIGTERM, then SIGKILL 2 s later;\n"
	      "                          the target's exit status is then 124\n"
	      "      --parallel N        at most N targets at once (default: all, at most 32)\n"
	      "      --iterative         one target after the other, in the order given\n"
	      "      --fail-fast         start no further target once one failed\n"
	      "      --json              the summary as JSON on stdout\n"
	      "      --tmp-size SIZE     the copy-on-write tmpfs's size (default 64m)\n"
	      "      --name TARGET=NAME  show TARGET as NAME in the output prefixes and the summary\n"
	      "  -t, --type TYPES        resolvers for the targets (as cntr attach)\n"
	      "  -v, --verbose\n"
	      "\n"
	      "Output: each line of a target's stdout/stderr as \"[TARGET] line\" on ours; then a\n"
	      "summary (TARGET, EXIT, SECONDS) on stderr. Exit status: one target: its own; several:\n"
	      "0 when every target succeeded, else 1; 2 usage; 125 cntr failed.\n"
	      "\n"
	      "prune: removes the unpacked images of $CNTR_CAPSULE_CACHE (default\n"
	      "/var/cache/cntr/capsules) that no running capsule uses (--older-than D: and that\n"
	      "were not used within D), and what interrupted unpacks left.\n",
	      out);
}
