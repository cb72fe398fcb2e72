/* lambda-cntr (and kubectl-cntr): debug a pod's container, or a node, with cntr through the
 * Kubernetes API. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/lambda_node.h"
#include "cli/lambda_caplet.h"
#include "cli/lambda_capsule_cli.h"
#include "cli/lambda_opts.h"
#include "cli/lambda_phase.h"
#include "cli/lambda_session.h"
#include "common/err.h"
#include "common/log.h"

int main(int argc, char **argv)
{
	struct lambda_opts opts;
	struct cntr_err err = { 0 };
	const char *program = lambda_program_name(argv[0]);
	int r;

	log_init(program, CNTR_LOG_WARN);
	if (argc >= 2 && strcmp(argv[1], "capsule") == 0)
		return lambda_capsule_main(program, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "caplet") == 0)
		return lambda_caplet_main(program, argc - 1, argv + 1);
	r = lambda_opts_parse(argc, argv, &opts, &err);
	if (r < 0) {
		log_error("%s", err.msg);
		return err.code;
	}
	if (r == LAMBDA_PARSE_HELP) {
		lambda_print_help(program);
		return CNTR_EXIT_OK;
	}
	if (r == LAMBDA_PARSE_VERSION) {
		printf("%s %s\n", program, CNTR_VERSION);
		return CNTR_EXIT_OK;
	}
	log_init(program, opts.verbose >= 2 ? CNTR_LOG_DEBUG : opts.verbose ? CNTR_LOG_INFO : CNTR_LOG_WARN);
	lambda_phase_init(program, opts.verbose > 0 || isatty(STDERR_FILENO));
	if (opts.mode == LAMBDA_NODE)
		return lambda_node_run(&opts);
	return lambda_session_run(&opts);
}
