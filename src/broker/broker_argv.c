#include "broker/broker_argv.h"

#include "cli/lambda_cntr_argv.h"

char **broker_node_argv(const char *profile, char *const command[])
{
	/* The same command line as lambda-cntr's own node sessions, without -v. */
	return lambda_cntr_host_argv(false, profile, command);
}
