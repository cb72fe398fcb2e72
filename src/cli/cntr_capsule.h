/* `cntr capsule ...` (docs/capsules.md). */
#pragma once
#include <stdio.h>

/* argv[0] is "capsule". Returns the exit status. */
int cntr_capsule_main(int argc, char **argv);
void cntr_capsule_usage(FILE *out);
