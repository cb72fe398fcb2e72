/* `lambda-cntr caplet`: runs every Capsule on its schedule (docs/capsules.md "Periodic
 * capsules"). Every --interval it lists the Capsules (of -n NS, or all namespaces); for each one
 * whose next scheduled time has come it records status.lastScheduleTime and forks a run
 * (lambda_caplet_run.c), so runs of different Capsules go on at the same time.
 *  - Overlap: while a Capsule's run goes on, a run that comes due is skipped (Event RunSkipped);
 *    runs of one Capsule never overlap.
 *  - Missed runs (the caplet was down, or a run took long): only the latest scheduled time that
 *    has passed runs, once (Event MissedSchedules says how many were left out).
 *  - The schedule counts from status.lastScheduleTime, so a restarted caplet goes on where the
 *    last one stopped; a new Capsule from its creationTimestamp.
 *  - A schedule that does not parse: Event InvalidSchedule once per schedule text, no run.
 *  - SIGTERM/SIGINT: the runs are told to stop (they clean up: capsule pods deleted) and the
 *    caplet exits once they have, handing its Lease on.
 *  - Several replicas: only the holder of the Lease (lambda_lease.h) lists and runs Capsules;
 *    one that loses it stops its runs (recorded as Interrupted) and follows again. */
#include "cli/lambda_caplet.h"
#include "cli/lambda_agent.h"
#include "cli/lambda_agent_spec.h"
#include "cli/lambda_broker.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/lambda_cron.h"
#include "cli/lambda_ids.h"
#include "cli/lambda_json.h"
#include "cli/lambda_lease.h"
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
#include "kube/rest.h"
#include "kube/timestamp.h"

#define DEFAULT_AGENT_IMAGE "lambda-cntr-agent:" CNTR_VERSION

struct tracked {
	char *uid, *ns, *name;
	char *schedule;          /* the text parsed into sched */
	struct cron_schedule sched;
	bool valid, seen;
	time_t last;             /* the last scheduled time dealt with */
	pid_t pid;               /* its run, 0 when none */
};

struct caplet {
	struct kube_config *cfg;
	struct lambda_lease lease;
	bool elect;              /* false: --no-leader-election */
	const char *lease_arg;   /* --lease [NS/]NAME, NULL: the default */
	enum lambda_api_mode api_mode; /* --mode, $LAMBDA_CNTR_MODE */
	uint64_t lease_s;
	struct caplet_defaults defaults;
	char *agent_namespace;   /* resolved when no --agent-namespace was given */
	const char *namespace;   /* NULL: all */
	uint64_t interval_s;
	struct tracked *items;
	size_t n;
};

static struct tracked *track(struct caplet *c, const json_t *capsule)
{
	const json_t *meta = json_object_get(capsule, "metadata");
	const char *uid = json_str(meta, "uid");
	const char *last = json_str(json_object_get(capsule, "status"), "lastScheduleTime");
	struct tracked *t;
	time_t when;

	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->items[i].uid, uid))
			return &c->items[i];
	c->items = realloc(c->items, (c->n + 1) * sizeof(*c->items));
	if (!c->items)
		abort();
	t = &c->items[c->n++];
	*t = (struct tracked){ .uid = xstrdup(uid), .ns = xstrdup(json_str(meta, "namespace")),
			       .name = xstrdup(json_str(meta, "name")) };
	if (kube_parse_rfc3339(last, &when) == 0 ||
	    kube_parse_rfc3339(json_str(meta, "creationTimestamp"), &when) == 0)
		t->last = when;
	else
		t->last = time(NULL);
	return t;
}

static bool schedule_ready(struct caplet *c, struct tracked *t, const json_t *capsule)
{
	const char *text = json_str(json_object_get(capsule, "spec"), "schedule");
	struct cntr_err err = { 0 };

	if (t->schedule && !strcmp(t->schedule, text))
		return t->valid;
	free(t->schedule);
	t->schedule = xstrdup(text);
	t->valid = lambda_cron_parse(text, &t->sched, &err) == 0;
	if (!t->valid)
		caplet_event(c->cfg, capsule, "Warning", "InvalidSchedule", err.msg);
	return t->valid;
}

static void patch_last_schedule(struct caplet *c, const struct tracked *t)
{
	_cleanup_free_ char *path = caplet_capsule_path(t->ns, t->name, "status");
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	struct cntr_err err = { 0 };
	char when[32];
	json_t *patch = json_pack("{s:{s:s}}", "status", "lastScheduleTime", caplet_time_text(t->last, when));

	if (kube_patch(c->cfg, path, patch, "application/merge-patch+json", &resp, &err) < 0)
		log_warn("capsule %s/%s: %s", t->ns, t->name, err.msg);
	json_decref(patch);
}

/* The latest scheduled time that has passed, and how many passed since t->last; 0 if none. */
static time_t latest_due(const struct tracked *t, time_t now, unsigned *count)
{
	time_t next = lambda_cron_next(&t->sched, t->last), latest = 0;

	*count = 0;
	if (t->sched.every_s && next != (time_t)-1 && next <= now) {
		uint64_t steps = (uint64_t)(now - t->last) / t->sched.every_s;
		*count = steps > 1000000 ? 1000000 : (unsigned)steps;
		return t->last + (time_t)(steps * t->sched.every_s);
	}
	while (next != (time_t)-1 && next <= now && *count < 1000000) {
		latest = next;
		++*count;
		next = lambda_cron_next(&t->sched, next);
	}
	return latest;
}

static void consider(struct caplet *c, const json_t *capsule)
{
	struct tracked *t = track(c, capsule);
	time_t now = time(NULL), due;
	unsigned count;
	char when[32], *msg;

	t->seen = true;
	if (!schedule_ready(c, t, capsule))
		return;
	due = latest_due(t, now, &count);
	if (!due)
		return;
	caplet_time_text(due, when);
	t->last = due;
	patch_last_schedule(c, t);
	if (t->pid) {
		msg = xasprintf("the run due at %s is skipped: the previous run is still going (runs never overlap)", when);
		caplet_event(c->cfg, capsule, "Normal", "RunSkipped", msg);
		free(msg);
		return;
	}
	if (count > 1) {
		msg = xasprintf("%u scheduled run(s) were missed; only the latest (%s) runs", count - 1, when);
		caplet_event(c->cfg, capsule, "Normal", "MissedSchedules", msg);
		free(msg);
	}
	lambda_phase("capsule %s/%s: run scheduled at %s", t->ns, t->name, when);
	fflush(stdout);
	fflush(stderr);
	t->pid = fork();
	if (t->pid == 0)
		_exit(caplet_run_one(c->cfg, capsule, due, &c->defaults));
	if (t->pid < 0) {
		log_error("capsule %s/%s: cannot start its run: %m", t->ns, t->name);
		t->pid = 0;
	}
}

static void reap(struct caplet *c)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (size_t i = 0; i < c->n; i++)
			if (c->items[i].pid == pid)
				c->items[i].pid = 0;
}

/* Capsules gone from the list and not running are forgotten. */
static void forget_deleted(struct caplet *c)
{
	size_t k = 0;

	for (size_t i = 0; i < c->n; i++) {
		struct tracked *t = &c->items[i];
		if (t->seen || t->pid) {
			t->seen = false;
			c->items[k++] = *t;
			continue;
		}
		free(t->uid), free(t->ns), free(t->name), free(t->schedule);
	}
	c->n = k;
}

static int tick(struct caplet *c, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = caplet_capsule_path(c->namespace, NULL, NULL);
	size_t i;
	json_t *capsule;

	if (kube_get(c->cfg, path, &resp, err) < 0)
		return cntr_err_prefix(err, "listing Capsules (is deploy/capsule-crd.yaml applied?): ");
	json_array_foreach(json_object_get(resp.body, "items"), i, capsule) {
		const json_t *meta = json_object_get(capsule, "metadata");
		if (!lambda_object_name_is_valid(json_str(meta, "name")) ||
		    !lambda_object_name_is_valid(json_str(meta, "namespace")) || !*json_str(meta, "uid") ||
		    json_object_get(meta, "deletionTimestamp"))
			continue;
		consider(c, capsule);
	}
	forget_deleted(c);
	return 0;
}

static void stop_runs(struct caplet *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->items[i].pid)
			kill(c->items[i].pid, SIGTERM);
	for (size_t i = 0; i < c->n; i++)
		if (c->items[i].pid) {
			waitpid(c->items[i].pid, NULL, 0);
			c->items[i].pid = 0;
		}
}

/* What this replica remembers of the schedules may be older than what another leader
 * recorded since: a replica that starts leading reads every Capsule's status afresh. */
static void forget_schedules(struct caplet *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->items[i].uid), free(c->items[i].ns), free(c->items[i].name), free(c->items[i].schedule);
	free(c->items);
	c->items = NULL;
	c->n = 0;
}

/* Whether this replica runs Capsules this round (always, without leader election). One that
 * stops leading stops its runs first: they record themselves as Interrupted. */
static bool lead(struct caplet *c)
{
	struct cntr_err err = { 0 };
	bool was = c->lease.leading;
	int r;

	if (!c->elect)
		return true;
	r = lambda_lease_step(c->cfg, &c->lease, &err);
	if (r < 0)
		log_warn("%s; this replica runs no Capsule until it holds the Lease again", err.msg);
	if (r != 1 && was) {
		log_warn("caplet: Lease %s/%s lost: stopping this replica's runs", c->lease.ns, c->lease.name);
		stop_runs(c);
	}
	if (r == 1 && !was) {
		lambda_phase("caplet: leading (Lease %s/%s, as %s)", c->lease.ns, c->lease.name, c->lease.identity);
		stop_runs(c);
		forget_schedules(c);
	}
	return r == 1;
}

/* The Lease: --lease NS/NAME, --lease NAME in the default namespace ($POD_NAMESPACE: where the
 * caplet's Deployment runs, else the agent namespace), default lambda-cntr-caplet[-NS]. */
static int set_up_lease(struct caplet *c, struct cntr_err *err)
{
	const char *pod_ns = getenv("POD_NAMESPACE");
	const char *slash = c->lease_arg ? strchr(c->lease_arg, '/') : NULL;
	_cleanup_free_ char *ns = NULL, *name = NULL;

	if (!c->elect)
		return 0;
	if (slash) {
		ns = xstrndup(c->lease_arg, (size_t)(slash - c->lease_arg));
		name = xstrdup(slash + 1);
	} else {
		ns = xstrdup(pod_ns && *pod_ns ? pod_ns
			     : c->defaults.agent_namespace ? c->defaults.agent_namespace : LAMBDA_AGENT_DEFAULT_NAMESPACE);
		name = c->lease_arg ? xstrdup(c->lease_arg)
		       : c->namespace ? xasprintf("lambda-cntr-caplet-%s", c->namespace) : xstrdup("lambda-cntr-caplet");
	}
	if (!lambda_object_name_is_valid(ns) || !lambda_object_name_is_valid(name))
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "--lease: \"%s/%s\" is not NAMESPACE/NAME of a Lease", ns, name);
	lambda_lease_init(&c->lease, ns, name, (unsigned)c->lease_s);
	return 0;
}

static void caplet_usage(const char *program)
{
	printf("Usage:\n"
	       "  %1$s caplet [-n NS] [--interval D] [--lease [NS/]NAME] [--lease-duration D]\n"
	       "      [--no-leader-election] [--mode auto|pod|broker] [--agent-image IMG] [--agent-namespace NS]\n"
	       "\n"
	       "Runs every Capsule (deploy/capsule-crd.yaml) of namespace NS (default: all namespaces)\n"
	       "on its schedule, against the pods that match at that moment; records each run in the\n"
	       "Capsule's status (lastRun, history) and as an Event. Runs of one Capsule never overlap\n"
	       "(a run due while the previous one goes on is skipped); after missed schedules only the\n"
	       "latest runs, once. Stops (cleaning up) on SIGTERM or SIGINT.\n"
	       "Replicas elect a leader on a coordination.k8s.io Lease: only its holder runs Capsules.\n"
	       "\n"
	       "Flags:\n"
	       "  -n, --namespace NS        only the Capsules of NS\n"
	       "      --interval D          how often the Capsules are listed (default 2s)\n"
	       "      --lease [NS/]NAME     the Lease of the replicas (default lambda-cntr-caplet[-NS] in\n"
	       "                            $POD_NAMESPACE, else the agent namespace)\n"
	       "      --lease-duration D    how long a silent holder keeps it (default 15s)\n"
	       "      --no-leader-election  run Capsules without holding a Lease (one replica only!)\n"
	       "      --mode MODE           auto (default: the broker when installed), pod or broker (env\n"
	       "                            LAMBDA_CNTR_MODE); the --agent-* flags are pod mode's\n"
	       "      --agent-image IMG     (env CNTR_IMAGE; default " DEFAULT_AGENT_IMAGE ")\n"
	       "      --agent-namespace NS  where agents and capsule pods run (default: the Capsule's)\n"
	       "      --agent-timeout D, --idle-timeout D, --kubeconfig FILE, --context NAME, -v\n"
	       "\n"
	       "Permissions (RBAC): get, list capsules.lambda-cntr.io; patch capsules/status; create\n"
	       "events; get, create, update leases.coordination.k8s.io (the Lease's namespace); and what\n"
	       "`%1$s capsule run` needs for the Capsules' pods (through the broker: get, list pods and\n"
	       "create pods/exec; deploy/70-caplet.yaml).\n",
	       program);
}

enum { OPT_INTERVAL = 256, OPT_AGENT_IMAGE, OPT_AGENT_NS, OPT_AGENT_TIMEOUT, OPT_IDLE_TIMEOUT, OPT_KUBECONFIG,
       OPT_CONTEXT, OPT_LEASE, OPT_LEASE_DURATION, OPT_NO_ELECTION, OPT_MODE };

static int parse(int argc, char **argv, struct caplet *c, struct kube_config_opts *copts, int *verbose,
		 struct cntr_err *err)
{
	static const struct option options[] = {
		{ "namespace", required_argument, NULL, 'n' }, { "interval", required_argument, NULL, OPT_INTERVAL },
		{ "agent-image", required_argument, NULL, OPT_AGENT_IMAGE },
		{ "agent-namespace", required_argument, NULL, OPT_AGENT_NS },
		{ "agent-timeout", required_argument, NULL, OPT_AGENT_TIMEOUT },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
		{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG }, { "context", required_argument, NULL, OPT_CONTEXT },
		{ "lease", required_argument, NULL, OPT_LEASE },
		{ "lease-duration", required_argument, NULL, OPT_LEASE_DURATION },
		{ "no-leader-election", no_argument, NULL, OPT_NO_ELECTION },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *mode = getenv("LAMBDA_CNTR_MODE");
	int opt;

	if (mode && *mode && lambda_api_mode_parse("LAMBDA_CNTR_MODE", mode, &c->api_mode, err) < 0)
		return -1;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":n:vh", options, NULL)) != -1) {
		switch (opt) {
		case 'n': c->namespace = optarg; break;
		case 'v': ++*verbose; break;
		case 'h': return 1;
		case OPT_AGENT_IMAGE: c->defaults.agent_image = optarg; break;
		case OPT_AGENT_NS: c->defaults.agent_namespace = optarg; break;
		case OPT_KUBECONFIG: copts->kubeconfig = optarg; break;
		case OPT_CONTEXT: copts->context = optarg; break;
		case OPT_LEASE: c->lease_arg = optarg; break;
		case OPT_NO_ELECTION: c->elect = false; break;
		case OPT_MODE:
			if (lambda_api_mode_parse("--mode", optarg, &c->api_mode, err) < 0)
				return -1;
			break;
		case OPT_LEASE_DURATION:
			if (kube_parse_duration(optarg, &c->lease_s, err) < 0 || c->lease_s == 0 || c->lease_s > 3600)
				return cntr_fail(err, CNTR_EXIT_USAGE, 0, "--lease-duration: \"%s\" is not a duration of 1s to 1h",
						 optarg);
			break;
		case OPT_INTERVAL:
			if (kube_parse_duration(optarg, &c->interval_s, err) < 0 || c->interval_s == 0)
				return cntr_fail(err, CNTR_EXIT_USAGE, 0, "--interval: \"%s\" is not a duration of 1s or more", optarg);
			break;
		case OPT_AGENT_TIMEOUT:
			if (kube_parse_duration(optarg, &c->defaults.agent_timeout_s, err) < 0)
				return cntr_err_prefix(err, "--agent-timeout: ");
			break;
		case OPT_IDLE_TIMEOUT:
			if (kube_parse_duration(optarg, &c->defaults.idle_timeout_s, err) < 0)
				return cntr_err_prefix(err, "--idle-timeout: ");
			break;
		default:
			return cntr_fail(err, CNTR_EXIT_USAGE, 0, "caplet: unknown or incomplete option \"%s\"; see --help",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "caplet: unexpected argument \"%s\"", argv[optind]);
	return 0;
}

/* At start: the mode (as `capsule run` chooses it), pod mode's agent namespace, the Lease. */
static int start(struct caplet *c, struct cntr_err *err)
{
	struct lambda_opts opts = { .api_mode = c->api_mode };

	const char *pod_ns = getenv("POD_NAMESPACE");

	if (lambda_broker_choose(c->cfg, &opts, LAMBDA_BROKER_CAPSULE, &c->defaults.via_broker, err) < 0)
		return -1;
	/* Pod mode: where attach puts its agents (lambda_agent_namespace), resolved once. */
	if (!c->defaults.via_broker && !c->defaults.agent_namespace) {
		if (lambda_agent_namespace(c->cfg, NULL, &c->agent_namespace, err) < 0)
			return -1;
		c->defaults.agent_namespace = c->agent_namespace;
	}
	/* Where the caplet runs (its Deployment's namespace), else where its agents go. */
	c->defaults.home_namespace = pod_ns && *pod_ns ? pod_ns
				     : c->defaults.agent_namespace ? c->defaults.agent_namespace
								   : LAMBDA_AGENT_DEFAULT_NAMESPACE;
	return set_up_lease(c, err);
}

int lambda_caplet_main(const char *program, int argc, char **argv)
{
	const char *env = getenv("CNTR_IMAGE");
	struct caplet c = { .interval_s = 2, .elect = true, .lease_s = 15, .defaults = { .agent_image = env && *env ? env : DEFAULT_AGENT_IMAGE,
							   .agent_timeout_s = 120, .idle_timeout_s = 600 } };
	struct kube_config_opts copts = { 0 };
	struct cntr_err err = { 0 };
	int verbose = 0, r = parse(argc, argv, &c, &copts, &verbose, &err);

	if (r == 1) {
		caplet_usage(program);
		return 0;
	}
	if (r < 0) {
		log_error("%s", err.msg);
		return err.code;
	}
	log_init(program, verbose ? CNTR_LOG_INFO : CNTR_LOG_WARN);
	lambda_phase_init(program, verbose > 0);
	if (kube_http_global_init(&err) < 0 || lambda_signals_install(&err) < 0 ||
	    kube_config_load(&copts, &c.cfg, &err) < 0) {
		log_error("%s", err.msg);
		return CNTR_EXIT_FAILURE;
	}
	if (start(&c, &err) < 0) {
		log_error("%s", err.msg);
		free(c.agent_namespace);
		kube_config_free(c.cfg);
		return err.code ? err.code : CNTR_EXIT_FAILURE;
	}
	lambda_phase("caplet: watching Capsules %s%s every %llus", c.namespace ? "in namespace " : "in all namespaces",
		     c.namespace ? c.namespace : "", (unsigned long long)c.interval_s);
	while (!lambda_signals_caught()) {
		if (lead(&c) && tick(&c, &err) < 0 && !lambda_signals_caught())
			log_warn("%s", err.msg);
		reap(&c);
		for (uint64_t waited = 0; waited < c.interval_s * 10 && !lambda_signals_caught(); waited++) {
			kube_http_sleep(100);
			reap(&c);
		}
	}
	lambda_signals_allow_cleanup();
	stop_runs(&c);
	forget_schedules(&c);
	if (c.elect) {
		lambda_lease_release(c.cfg, &c.lease);
		lambda_lease_clear(&c.lease);
	}
	free(c.agent_namespace);
	kube_config_free(c.cfg);
	return 0;
}
