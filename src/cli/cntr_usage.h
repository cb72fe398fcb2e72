#pragma once
#include <stdio.h>
void cntr_print_usage(FILE *out);
