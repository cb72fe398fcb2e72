#include "oci_seccomp_compile.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "node/seccomp_program.h"
#include "oci_seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

static void release_ctx(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

static int has_repeated_index(const struct oci_seccomp_rule *r)
{
	for (size_t i = 0; i < r->nargs; i++)
		for (size_t j = i + 1; j < r->nargs; j++)
			if (r->args[i].index == r->args[j].index)
				return 1;
	return 0;
}

static struct scmp_arg_cmp to_cmp(const struct oci_seccomp_arg *a)
{
	return (struct scmp_arg_cmp){ .arg = a->index, .op = (enum scmp_compare)a->op, .datum_a = a->value,
				      .datum_b = a->value_two };
}

/* Conditions on different arguments must all hold (one rule); several on the same argument
 * cannot be ANDed by libseccomp, so each becomes its own rule (any may match), as runc does. */
static int add_rule(scmp_filter_ctx ctx, const struct oci_seccomp_rule *r, const char *what, struct cntr_err *err)
{
	struct scmp_arg_cmp cmps[6];
	int rc = 0;

	if (r->nargs && has_repeated_index(r)) {
		for (size_t i = 0; i < r->nargs && rc == 0; i++) {
			cmps[0] = to_cmp(&r->args[i]);
			rc = seccomp_rule_add_array(ctx, r->action, r->nr, 1, cmps);
		}
	} else if (r->nargs > 6) {
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: %s: more than 6 argument conditions", what, r->name);
	} else {
		for (size_t i = 0; i < r->nargs; i++)
			cmps[i] = to_cmp(&r->args[i]);
		rc = seccomp_rule_add_array(ctx, r->action, r->nr, (unsigned)r->nargs, cmps);
	}
	if (rc < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, -rc, "%s: libseccomp refused the rule for %s "
					 "(a second rule for it with another action?)", what, r->name);
	return 0;
}

static int export_program(scmp_filter_ctx ctx, const char *what, struct cntr_bpf *out, struct cntr_err *err)
{
	_cleanup_close_ int fd = memfd_create("cntr-seccomp-bpf", MFD_CLOEXEC);
	struct stat st;
	int rc;

	if (fd < 0)
		return cntr_fail_errno(err, "memfd_create");
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, -rc, "%s: libseccomp could not export the program", what);
	if (fstat(fd, &st) < 0)
		return cntr_fail_errno(err, "fstat the exported program");
	if (st.st_size == 0 || st.st_size % (off_t)sizeof(struct sock_filter) ||
	    st.st_size / (off_t)sizeof(struct sock_filter) > CNTR_BPF_MAX_INSNS)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: the program has %lld bytes: more than the kernel's "
					 "%d instructions, or not whole ones", what, (long long)st.st_size, CNTR_BPF_MAX_INSNS);
	out->len = (uint32_t)(st.st_size / (off_t)sizeof(struct sock_filter));
	out->insns = calloc(out->len, sizeof(struct sock_filter));
	if (!out->insns)
		return cntr_fail_errno(err, "allocate the program");
	if (pread(fd, out->insns, (size_t)st.st_size, 0) != st.st_size) {
		cntr_bpf_release(out);
		return cntr_fail_errno(err, "read the exported program back");
	}
	return 0;
}

int oci_seccomp_compile(const struct oci_seccomp_profile *p, const char *what, struct cntr_bpf *out,
			struct cntr_err *err)
{
	__attribute__((cleanup(release_ctx))) scmp_filter_ctx ctx = seccomp_init(p->default_action);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!ctx)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: libseccomp refused the default action", what);
	/* A binary tree of syscall numbers instead of one long chain: an allowlist of ~370 calls
	 * costs every system call of the capsule a few comparisons instead of ~100 on average. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, -rc, "%s: libseccomp cannot build a binary tree", what);
	for (size_t i = 0; i < p->narches; i++) {
		rc = seccomp_arch_add(ctx, p->arches[i]);
		if (rc < 0 && rc != -EEXIST)
			return cntr_fail(err, CNTR_EXIT_FAILURE, -rc, "%s: libseccomp cannot add architecture %#x", what,
					 p->arches[i]);
	}
	for (size_t i = 0; i < p->nrules; i++) {
		/* libseccomp refuses a rule whose action is the default one: it would change nothing. */
		if (p->rules[i].action == p->default_action)
			continue;
		if (add_rule(ctx, &p->rules[i], what, err) < 0)
			return -1;
	}
	out->arch = seccomp_arch_native();
	return export_program(ctx, what, out, err);
}
