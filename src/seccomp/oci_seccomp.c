#include "oci_seccomp.h"

#include "common/err.h"
#include "common/strutil.h"
#include "node/creds.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* Actions by their profile names; with_data: the rule's errnoRet (EPERM when absent). */
static const struct {
	const char *name;
	uint32_t action;
	int with_data;
} action_table[] = {
	{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, 0 },
	{ "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), 1 },
	{ "SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, 0 },
	{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, 0 },
	{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, 0 },
	{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP, 0 },
	{ "SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), 1 },
	{ "SCMP_ACT_LOG", SCMP_ACT_LOG, 0 },
};

static const struct {
	const char *name;
	int op;
} op_table[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
	{ "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

/* libseccomp's native arch token -> the Go name Docker profiles use in includes.arches. */
static const struct {
	uint32_t arch;
	const char *goarch;
} goarch_table[] = {
	{ SCMP_ARCH_X86_64, "amd64" }, { SCMP_ARCH_X86, "386" },        { SCMP_ARCH_AARCH64, "arm64" },
	{ SCMP_ARCH_ARM, "arm" },      { SCMP_ARCH_PPC64LE, "ppc64le" }, { SCMP_ARCH_S390X, "s390x" },
	{ SCMP_ARCH_RISCV64, "riscv64" },
};

struct parse_ctx {
	const char *what;
	const struct oci_seccomp_env *env;
	struct oci_seccomp_profile *out;
	struct cntr_err *err;
};

/* "FILE: syscalls[3]: unknown action SCMP_ACT_X": the file, the place, the problem, the value. */
static int profile_error(struct parse_ctx *c, const char *problem, const char *where, const char *value)
{
	return cntr_fail(c->err, CNTR_EXIT_FAILURE, 0, "%s: %s%s%s", c->what, where, problem, value ? value : "");
}

static int parse_action(struct parse_ctx *c, const char *name, json_t *errno_ret, const char *where,
			uint32_t *action)
{
	for (size_t i = 0; i < sizeof(action_table) / sizeof(action_table[0]); i++) {
		if (strcmp(action_table[i].name, name) != 0)
			continue;
		*action = action_table[i].action;
		if (!action_table[i].with_data)
			return 0;
		if (errno_ret && (!json_is_integer(errno_ret) || json_integer_value(errno_ret) < 0 ||
				  json_integer_value(errno_ret) > 0xffff))
			return profile_error(c, "errnoRet is not a number from 0 to 65535", where, NULL);
		*action |= errno_ret ? (uint32_t)json_integer_value(errno_ret) : EPERM;
		return 0;
	}
	if (!strcmp(name, "SCMP_ACT_NOTIFY"))
		return profile_error(c, "SCMP_ACT_NOTIFY needs a listener, which cntr does not provide", where, NULL);
	return profile_error(c, "unknown action ", where, name);
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token. */
static int parse_arch(struct parse_ctx *c, json_t *name, const char *where, uint32_t *arch)
{
	const char *s = json_string_value(name);
	char lower[32];
	size_t i;

	if (!s || strncmp(s, "SCMP_ARCH_", 10) != 0 || strlen(s + 10) >= sizeof(lower))
		return profile_error(c, "unknown architecture ", where, s ? s : "(not a string)");
	for (i = 0; s[10 + i]; i++)
		lower[i] = (char)tolower((unsigned char)s[10 + i]);
	lower[i] = '\0';
	*arch = seccomp_arch_resolve_name(lower);
	return *arch ? 0 : profile_error(c, "unknown architecture ", where, s);
}

static int add_arch(struct parse_ctx *c, json_t *name, const char *where)
{
	uint32_t arch;

	if (parse_arch(c, name, where, &arch) < 0)
		return -1;
	if (arch == c->env->native_arch)
		return 0;
	for (size_t i = 0; i < c->out->narches; i++)
		if (c->out->arches[i] == arch)
			return 0;
	if (c->out->narches == OCI_SECCOMP_MAX_ARCHES)
		return profile_error(c, "too many architectures", where, NULL);
	c->out->arches[c->out->narches++] = arch;
	return 0;
}

/* architectures: every one listed; archMap: the entry of this machine and its sub-architectures. */
static int parse_arches(struct parse_ctx *c, json_t *root)
{
	json_t *list = json_object_get(root, "architectures"), *map = json_object_get(root, "archMap");
	json_t *item;
	size_t i;

	if (list && map && json_array_size(list) && json_array_size(map))
		return profile_error(c, "give architectures or archMap, not both", "", NULL);
	if (list && !json_is_array(list))
		return profile_error(c, "architectures is not a list", "", NULL);
	json_array_foreach(list, i, item)
		if (add_arch(c, item, "architectures: ") < 0)
			return -1;
	if (map && !json_is_array(map))
		return profile_error(c, "archMap is not a list", "", NULL);
	json_array_foreach(map, i, item) {
		uint32_t arch;
		json_t *sub;
		size_t j;

		if (parse_arch(c, json_object_get(item, "architecture"), "archMap: ", &arch) < 0)
			return -1;
		if (arch != c->env->native_arch)
			continue;
		json_array_foreach(json_object_get(item, "subArchitectures"), j, sub)
			if (add_arch(c, sub, "archMap: ") < 0)
				return -1;
	}
	return 0;
}

static int parse_caps(struct parse_ctx *c, json_t *list, const char *where, uint64_t *caps)
{
	json_t *item;
	size_t i;

	*caps = 0;
	if (list && !json_is_array(list))
		return profile_error(c, "caps is not a list", where, NULL);
	json_array_foreach(list, i, item) {
		const char *name = json_string_value(item);
		int cap = name ? cntr_cap_from_name(name) : -1;
		if (cap < 0)
			return profile_error(c, "unknown capability ", where, name ? name : "(not a string)");
		*caps |= 1ULL << cap;
	}
	c->out->caps_considered |= *caps;
	return 0;
}

static int parse_kernel(const char *s, unsigned *major, unsigned *minor)
{
	return s && sscanf(s, "%u.%u", major, minor) == 2 ? 0 : -1;
}

static int arch_listed(json_t *list, const char *goarch)
{
	json_t *item;
	size_t i;

	json_array_foreach(list, i, item)
		if (json_is_string(item) && !strcmp(json_string_value(item), goarch))
			return 1;
	return 0;
}

/* Docker's rules: includes.caps all held, no excludes.caps held, this arch in includes.arches
 * (when given) and not in excludes.arches, the kernel at least includes.minKernel. */
static int rule_applies(struct parse_ctx *c, json_t *rule, const char *where, int *applies)
{
	json_t *inc = json_object_get(rule, "includes"), *exc = json_object_get(rule, "excludes");
	json_t *inc_arches = json_object_get(inc, "arches"), *exc_arches = json_object_get(exc, "arches");
	const char *min = json_string_value(json_object_get(inc, "minKernel"));
	uint64_t need, refuse;
	unsigned major, minor;

	if (parse_caps(c, json_object_get(inc, "caps"), where, &need) < 0 ||
	    parse_caps(c, json_object_get(exc, "caps"), where, &refuse) < 0)
		return -1;
	if (json_object_get(inc, "minKernel") && parse_kernel(min, &major, &minor) < 0)
		return profile_error(c, "includes.minKernel is not a version like \"5.4\"", where, NULL);
	*applies = (c->env->caps & need) == need && !(c->env->caps & refuse);
	if (json_array_size(inc_arches) && !arch_listed(inc_arches, c->env->goarch))
		*applies = 0;
	if (arch_listed(exc_arches, c->env->goarch))
		*applies = 0;
	if (min && (c->env->kernel_major < major || (c->env->kernel_major == major && c->env->kernel_minor < minor)))
		*applies = 0;
	return 0;
}

static int parse_op(struct parse_ctx *c, const char *name, const char *where, int *op)
{
	for (size_t i = 0; name && i < sizeof(op_table) / sizeof(op_table[0]); i++)
		if (!strcmp(op_table[i].name, name)) {
			*op = op_table[i].op;
			return 0;
		}
	return profile_error(c, "unknown operator ", where, name ? name : "(missing)");
}

static int parse_u64_field(struct parse_ctx *c, json_t *v, const char *field, const char *where, uint64_t *out)
{
	if (!v) {
		*out = 0;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return cntr_fail(c->err, CNTR_EXIT_FAILURE, 0, "%s: %sargs: %s is not a non-negative integer", c->what,
				 where, field);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int parse_args(struct parse_ctx *c, json_t *list, const char *where, struct oci_seccomp_rule *r)
{
	json_t *item;
	size_t i;

	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return profile_error(c, "args is not a list", where, NULL);
	r->args = calloc(json_array_size(list) + 1, sizeof(*r->args));
	if (!r->args)
		return cntr_fail_errno(c->err, "allocate a rule's arguments");
	json_array_foreach(list, i, item) {
		struct oci_seccomp_arg *a = &r->args[r->nargs];
		json_t *index = json_object_get(item, "index");

		if (!json_is_integer(index) || json_integer_value(index) < 0 || json_integer_value(index) > 5)
			return profile_error(c, "args: index is not 0 to 5", where, NULL);
		a->index = (unsigned)json_integer_value(index);
		if (parse_u64_field(c, json_object_get(item, "value"), "value", where, &a->value) < 0 ||
		    parse_u64_field(c, json_object_get(item, "valueTwo"), "valueTwo", where, &a->value_two) < 0 ||
		    parse_op(c, json_string_value(json_object_get(item, "op")), where, &a->op) < 0)
			return -1;
		r->nargs++;
	}
	return 0;
}

static int add_rule(struct parse_ctx *c, const char *name, int nr, uint32_t action, json_t *args, const char *where)
{
	struct oci_seccomp_profile *p = c->out;
	struct oci_seccomp_rule *r;
	void *grown = realloc(p->rules, (p->nrules + 1) * sizeof(*p->rules));

	if (!grown)
		return cntr_fail_errno(c->err, "allocate the rules");
	p->rules = grown;
	r = &p->rules[p->nrules++];
	memset(r, 0, sizeof(*r));
	r->name = xstrdup(name);
	r->nr = nr;
	r->action = action;
	return parse_args(c, args, where, r);
}

static int note_skipped(struct parse_ctx *c, const char *name)
{
	struct oci_seccomp_profile *p = c->out;
	void *grown = realloc(p->skipped, (p->nskipped + 2) * sizeof(*p->skipped));

	if (!grown)
		return cntr_fail_errno(c->err, "allocate the skipped names");
	p->skipped = grown;
	p->skipped[p->nskipped++] = xstrdup(name);
	p->skipped[p->nskipped] = NULL;
	return 0;
}

/* A name libseccomp does not know is a typo or a call newer than this libseccomp. Where
 * leaving it out can only make the profile stricter (an allow rule of an allowlist: the call
 * keeps the default action), it is left out and reported, as runc does, so Docker's current
 * profiles work; anywhere else the profile cannot be enforced as written: an error. Checked
 * for every name, also of a rule that does not apply here. */
static int add_name(struct parse_ctx *c, const char *name, uint32_t action, int applies, json_t *args,
		    const char *where)
{
	int nr = seccomp_syscall_resolve_name(name);
	int harmless = action == SCMP_ACT_ALLOW && c->out->default_action != SCMP_ACT_ALLOW &&
		       c->out->default_action != SCMP_ACT_LOG;

	if (nr == __NR_SCMP_ERROR && !harmless)
		return profile_error(c, "unknown system call ", where, name);
	if (nr == __NR_SCMP_ERROR)
		return applies ? note_skipped(c, name) : 0;
	return applies ? add_rule(c, name, nr, action, args, where) : 0;
}

static int parse_rule(struct parse_ctx *c, json_t *rule, size_t index)
{
	char where[48];
	json_t *names = json_object_get(rule, "names"), *name = json_object_get(rule, "name"), *item;
	json_t *args = json_object_get(rule, "args");
	const char *action_name = json_string_value(json_object_get(rule, "action"));
	uint32_t action;
	int applies;
	size_t i;

	snprintf(where, sizeof(where), "syscalls[%zu]: ", index);
	if (!json_is_object(rule))
		return profile_error(c, "not an object", where, NULL);
	if (!action_name)
		return profile_error(c, "no action", where, NULL);
	if (parse_action(c, action_name, json_object_get(rule, "errnoRet"), where, &action) < 0 ||
	    rule_applies(c, rule, where, &applies) < 0)
		return -1;
	if ((names && !json_is_array(names)) || (name && !json_is_string(name)) || (!json_array_size(names) && !name))
		return profile_error(c, "names is not a list of system call names", where, NULL);
	json_array_foreach(names, i, item) {
		if (!json_is_string(item))
			return profile_error(c, "names is not a list of system call names", where, NULL);
		if (add_name(c, json_string_value(item), action, applies, args, where) < 0)
			return -1;
	}
	return name ? add_name(c, json_string_value(name), action, applies, args, where) : 0;
}

int oci_seccomp_parse(const char *text, size_t len, const char *what, const struct oci_seccomp_env *env,
		      struct oci_seccomp_profile *out, struct cntr_err *err)
{
	struct parse_ctx c = { .what = what, .env = env, .out = out, .err = err };
	json_error_t jerr;
	json_auto_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *rules, *rule;
	const char *default_action;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!root)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: not JSON: %s (line %d, column %d)", what, jerr.text,
				 jerr.line, jerr.column);
	if (!json_is_object(root))
		return profile_error(&c, "not a seccomp profile (a JSON object with defaultAction)", "", NULL);
	default_action = json_string_value(json_object_get(root, "defaultAction"));
	if (!default_action)
		return profile_error(&c, "no defaultAction", "", NULL);
	if (parse_action(&c, default_action, json_object_get(root, "defaultErrnoRet"), "defaultAction: ",
			 &out->default_action) < 0 ||
	    parse_arches(&c, root) < 0)
		goto fail;
	rules = json_object_get(root, "syscalls");
	if (rules && !json_is_array(rules) && !json_is_null(rules)) {
		profile_error(&c, "syscalls is not a list", "", NULL);
		goto fail;
	}
	json_array_foreach(rules, i, rule)
		if (parse_rule(&c, rule, i) < 0)
			goto fail;
	return 0;
fail:
	oci_seccomp_release(out);
	return -1;
}

void oci_seccomp_release(struct oci_seccomp_profile *p)
{
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->rules[i].name);
		free(p->rules[i].args);
	}
	free(p->rules);
	for (size_t i = 0; i < p->nskipped; i++)
		free(p->skipped[i]);
	free(p->skipped);
	memset(p, 0, sizeof(*p));
}

int oci_seccomp_env_native(struct oci_seccomp_env *env, struct cntr_err *err)
{
	struct utsname u;

	memset(env, 0, sizeof(*env));
	env->native_arch = seccomp_arch_native();
	env->goarch = "unknown";
	for (size_t i = 0; i < sizeof(goarch_table) / sizeof(goarch_table[0]); i++)
		if (goarch_table[i].arch == env->native_arch)
			env->goarch = goarch_table[i].goarch;
	if (uname(&u) < 0)
		return cntr_fail_errno(err, "uname");
	if (parse_kernel(u.release, &env->kernel_major, &env->kernel_minor) < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "cannot read the kernel version from '%s'", u.release);
	return 0;
}
