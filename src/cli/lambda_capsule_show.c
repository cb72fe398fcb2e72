/* `lambda-cntr capsule get NAME` and `lambda-cntr capsule logs NAME`: a Capsule's runs as its
 * status records them (lambda_caplet_run.c). Every string from the API is escaped before it
 * reaches the terminal. */
#include "cli/lambda_caplet.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/lambda_ids.h"
#include "cli/lambda_json.h"
#include "cli/lambda_text.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/http.h"
#include "kube/kubeconfig.h"
#include "kube/rest.h"

enum { OPT_KUBECONFIG = 256, OPT_CONTEXT };

static void print_run(const json_t *run, bool targets)
{
	_cleanup_texts_ struct lambda_texts tx = { 0 };
	size_t i;
	json_t *t;

	printf("%-22s %-10s %s\n", lambda_json_text(&tx, run, "scheduledTime"), lambda_json_text(&tx, run, "result"),
	       lambda_json_text(&tx, run, "message"));
	if (!targets)
		return;
	printf("  %-40s %-12s %7s %8s\n", "TARGET", "NODE", "EXIT", "SECONDS");
	json_array_foreach(json_object_get(run, "targets"), i, t) {
		const json_t *exit_code = json_object_get(t, "exit");
		char exit_text[16];
		if (json_is_integer(exit_code))
			snprintf(exit_text, sizeof(exit_text), "%lld", (long long)json_integer_value(exit_code));
		else
			snprintf(exit_text, sizeof(exit_text), "not run");
		printf("  %-40s %-12s %7s %8.2f\n", lambda_json_text(&tx, t, "target"), lambda_json_text(&tx, t, "node"),
		       exit_text, json_number_value(json_object_get(t, "seconds")));
	}
	json_array_foreach(json_object_get(run, "skipped"), i, t)
		printf("  skipped %s: %s\n", lambda_json_text(&tx, t, "pod"), lambda_json_text(&tx, t, "reason"));
}

static void show_get(const json_t *capsule)
{
	_cleanup_texts_ struct lambda_texts tx = { 0 };
	const json_t *status = json_object_get(capsule, "status"), *last = json_object_get(status, "lastRun");
	size_t i;
	json_t *run;

	printf("Name:           %s/%s\n", lambda_json_text(&tx, json_object_get(capsule, "metadata"), "namespace"),
	       lambda_json_text(&tx, json_object_get(capsule, "metadata"), "name"));
	printf("Schedule:       %s\n", lambda_json_text(&tx, json_object_get(capsule, "spec"), "schedule"));
	printf("Image:          %s\n", lambda_json_text(&tx, json_object_get(capsule, "spec"), "image"));
	printf("Last schedule:  %s\n", *json_str(status, "lastScheduleTime") ? lambda_json_text(&tx, status, "lastScheduleTime")
									      : "never");
	if (!last) {
		printf("No run yet.\n");
		return;
	}
	printf("Last run:\n");
	print_run(last, true);
	printf("History (newest first):\n");
	json_array_foreach(json_object_get(status, "history"), i, run)
		print_run(run, false);
}

/* The last run's output tails, each line prefixed "[target] " as the run showed it. */
static void show_logs(const json_t *capsule)
{
	const json_t *last = json_object_get(json_object_get(capsule, "status"), "lastRun");
	size_t i;
	json_t *t;

	json_array_foreach(json_object_get(last, "targets"), i, t) {
		_cleanup_texts_ struct lambda_texts tx = { 0 };
		_cleanup_free_ char *tail = xstrdup(json_str(t, "outputTail"));
		const char *name = lambda_json_text(&tx, t, "target");
		char *save = NULL;
		for (char *line = strtok_r(tail, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			printf("[%s] %s\n", name, lambda_text(&tx, line));
	}
}

int lambda_capsule_show_main(const char *program, int argc, char **argv)
{
	static const struct option options[] = {
		{ "namespace", required_argument, NULL, 'n' }, { "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
		{ "context", required_argument, NULL, OPT_CONTEXT }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct kube_config_opts copts = { 0 };
	struct kube_config *cfg = NULL;
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	struct cntr_err err = { 0 };
	const char *ns = NULL, *word = argv[0];
	_cleanup_free_ char *path = NULL;
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":n:h", options, NULL)) != -1) {
		switch (opt) {
		case 'n': ns = optarg; break;
		case OPT_KUBECONFIG: copts.kubeconfig = optarg; break;
		case OPT_CONTEXT: copts.context = optarg; break;
		case 'h':
			printf("Usage:\n  %s capsule %s NAME [-n NS] [--kubeconfig FILE] [--context NAME]\n\n%s\n", program, word,
			       !strcmp(word, "get") ? "A Capsule's schedule, its last run (per target: node, exit status, "
						      "seconds) and its history."
						    : "The output tail of each target of a Capsule's last run, as "
						      "\"[namespace/pod/container] line\".");
			return 0;
		default:
			log_error("capsule %s: unknown or incomplete option \"%s\"; see --help", word, argv[optind - 1]);
			return CNTR_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !lambda_object_name_is_valid(argv[optind])) {
		log_error("capsule %s: give one Capsule NAME; see --help", word);
		return CNTR_EXIT_USAGE;
	}
	if (kube_http_global_init(&err) < 0 || kube_config_load(&copts, &cfg, &err) < 0) {
		log_error("%s", err.msg);
		return CNTR_EXIT_FAILURE;
	}
	if (!ns)
		ns = cfg->namespace;
	path = caplet_capsule_path(ns, argv[optind], NULL);
	if (kube_get(cfg, path, &resp, &err) < 0) {
		log_error("capsule %s in namespace %s: %s", argv[optind], ns, err.msg);
		kube_config_free(cfg);
		return CNTR_EXIT_FAILURE;
	}
	if (!strcmp(word, "get"))
		show_get(resp.body);
	else
		show_logs(resp.body);
	kube_config_free(cfg);
	return 0;
}
