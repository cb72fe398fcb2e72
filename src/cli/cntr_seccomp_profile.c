#include "cntr_seccomp_profile.h"

#include "common/err.h"
#include "node/seccomp_builtin.h"
#include "node/seccomp_choice.h"
#include "node/session.h"

#include <string.h>

int cntr_seccomp_profile_apply(const char *spec, struct session_opts *opts, struct seccomp_choice *choice,
			       struct cntr_err *err)
{
	if (!strcmp(spec, "unconfined")) {
		opts->copy_seccomp = false;
		return 0;
	}
	if (!strcmp(spec, "target"))
		return 0;
	if (!strcmp(spec, "default")) {
		if (seccomp_choice_load_builtin(cntr_builtin_profile_bpf, cntr_builtin_profile_bpf_size,
						(const char *)cntr_builtin_profile_json, cntr_builtin_profile_json_size,
						choice, err) < 0)
			return -1;
	} else if (seccomp_choice_load_file(spec, choice, err) < 0) {
		return -1;
	}
	opts->seccomp_profile = choice;
	return 0;
}
