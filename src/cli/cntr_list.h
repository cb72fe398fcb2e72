#pragma once
#include <stdbool.h>
struct cntr_err;
/* `cntr list`: a table (or JSON) of the containers the resolvers see. */
int cntr_list(unsigned types, bool no_trunc, bool json, struct cntr_err *err);
