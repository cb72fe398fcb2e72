/* `lambda-cntr capsule ...` (lambda_capsule_cli.c). */
#pragma once

/* argv[0] is "capsule". Returns the exit status. */
int lambda_capsule_main(const char *program, int argc, char **argv);

void lambda_capsule_usage(const char *program);
