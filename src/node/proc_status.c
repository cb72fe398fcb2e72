/* /proc/PID/status: the identity and privilege fields the attach needs, nothing else.
 * Lines are "Key:\tvalue"; one table maps each key we care about to its field parser. */
#include "proc_status.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*status_field_fn)(const char *value, struct proc_status *st);

static int parse_pid_value(const char *value, pid_t *out)
{
	uint64_t v;
	if (parse_u64(value, &v) < 0 || v > INT32_MAX)
		return -1;
	*out = (pid_t)v;
	return 0;
}

static int field_name(const char *value, struct proc_status *st)
{
	snprintf(st->name, sizeof(st->name), "%s", value);
	return 0;
}

static int field_pid(const char *value, struct proc_status *st)
{
	return parse_pid_value(value, &st->pid);
}

static int field_ppid(const char *value, struct proc_status *st)
{
	return parse_pid_value(value, &st->ppid);
}

/* "NSpid:\t4711\t12\t1": the last number is the PID in the innermost namespace. */
static int field_nspid(const char *value, struct proc_status *st)
{
	const char *last = strrchr(value, '\t');
	const char *space = strrchr(value, ' ');
	if (space && (!last || space > last))
		last = space;
	return parse_pid_value(last ? last + 1 : value, &st->nspid_inner);
}

/* Exactly four whitespace-separated decimal ids (real, effective, saved, fs). */
static int parse_four_ids(const char *value, uint32_t out[4])
{
	const char *p = value;
	for (int i = 0; i < 4; i++) {
		char *end;
		unsigned long v;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p < '0' || *p > '9')
			return -1;
		v = strtoul(p, &end, 10);
		if (v > UINT32_MAX)
			return -1;
		out[i] = (uint32_t)v;
		p = end;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	return *p ? -1 : 0;
}

static int field_uid(const char *value, struct proc_status *st)
{
	uint32_t ids[4];
	if (parse_four_ids(value, ids) < 0)
		return -1;
	for (int i = 0; i < 4; i++)
		st->uid[i] = ids[i];
	return 0;
}

static int field_gid(const char *value, struct proc_status *st)
{
	uint32_t ids[4];
	if (parse_four_ids(value, ids) < 0)
		return -1;
	for (int i = 0; i < 4; i++)
		st->gid[i] = ids[i];
	return 0;
}

/* "Groups:\t4 24 27 \n" or "Groups:\t" when there are none. */
static int field_groups(const char *value, struct proc_status *st)
{
	size_t cap = 0, n = 0;
	_cleanup_free_ gid_t *groups = NULL;
	const char *p = value;

	for (;;) {
		char *end;
		unsigned long v;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (*p < '0' || *p > '9')
			return -1;
		v = strtoul(p, &end, 10);
		if (v > UINT32_MAX)
			return -1;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			gid_t *bigger = realloc(groups, ncap * sizeof(*groups));
			if (!bigger)
				return -1;
			groups = bigger;
			cap = ncap;
		}
		groups[n++] = (gid_t)v;
		p = end;
	}
	free(st->groups);
	st->groups = steal_pointer(&groups);
	st->ngroups = n;
	return 0;
}

#define CAP_FIELD(fn, member)                                              \
	static int fn(const char *value, struct proc_status *st)           \
	{                                                                  \
		return parse_hex_u64(value, &st->member);                  \
	}
CAP_FIELD(field_cap_inh, cap_inh)
CAP_FIELD(field_cap_prm, cap_prm)
CAP_FIELD(field_cap_eff, cap_eff)
CAP_FIELD(field_cap_bnd, cap_bnd)
CAP_FIELD(field_cap_amb, cap_amb)

static int parse_small_int(const char *value, int max, int *out)
{
	uint64_t v;
	if (parse_u64(value, &v) < 0 || v > (uint64_t)max)
		return -1;
	*out = (int)v;
	return 0;
}

static int field_no_new_privs(const char *value, struct proc_status *st)
{
	return parse_small_int(value, 1, &st->no_new_privs);
}

static int field_seccomp(const char *value, struct proc_status *st)
{
	return parse_small_int(value, 2, &st->seccomp);
}

static const struct {
	const char *key;
	status_field_fn parse;
	bool required;
} status_fields[] = {
	{ "Name", field_name, false },
	{ "Pid", field_pid, true },
	{ "PPid", field_ppid, false },
	{ "NSpid", field_nspid, false },
	{ "Uid", field_uid, true },
	{ "Gid", field_gid, true },
	{ "Groups", field_groups, false },
	{ "CapInh", field_cap_inh, false },
	{ "CapPrm", field_cap_prm, false },
	{ "CapEff", field_cap_eff, false },
	{ "CapBnd", field_cap_bnd, false },
	{ "CapAmb", field_cap_amb, false },
	{ "NoNewPrivs", field_no_new_privs, false },
	{ "Seccomp", field_seccomp, false },
};
#define N_STATUS_FIELDS (sizeof(status_fields) / sizeof(status_fields[0]))

static size_t status_field_index(const char *key)
{
	size_t i = 0;
	while (i < N_STATUS_FIELDS - 1 && strcmp(status_fields[i].key, key) != 0)
		i++;
	return i;
}

/* Handle one "Key:\tvalue" line (value trimmed of surrounding blanks); unknown keys are fine. */
static int parse_status_line(char *line, struct proc_status *st, bool *seen, struct cntr_err *err)
{
	char *colon = strchr(line, ':');
	char *value, *end;

	if (!colon)
		return 0; /* not a key line: the kernel never prints one, ignore rather than fail */
	*colon = '\0';
	value = colon + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	end = value + strlen(value);
	while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	for (size_t i = 0; i < N_STATUS_FIELDS; i++) {
		if (strcmp(line, status_fields[i].key) != 0)
			continue;
		if (status_fields[i].parse(value, st) < 0)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
					 "proc status: malformed %s value '%s'", line, value);
		seen[i] = true;
	}
	return 0;
}

int proc_status_parse(const char *text, struct proc_status *out, struct cntr_err *err)
{
	_cleanup_free_ char *copy = xstrdup(text);
	bool seen[N_STATUS_FIELDS] = { false };
	char *save = NULL;

	memset(out, 0, sizeof(*out));
	out->no_new_privs = -1;
	out->seccomp = -1;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (parse_status_line(line, out, seen, err) < 0) {
			proc_status_release(out);
			return -1;
		}
	}
	for (size_t i = 0; i < N_STATUS_FIELDS; i++) {
		if (status_fields[i].required && !seen[i]) {
			proc_status_release(out);
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
					 "proc status: field %s is missing", status_fields[i].key);
		}
	}
	if (!seen[status_field_index("NSpid")])
		out->nspid_inner = out->pid; /* kernel < 4.1 has no NSpid line */
	return 0;
}

void proc_status_release(struct proc_status *st)
{
	free(st->groups);
	st->groups = NULL;
	st->ngroups = 0;
}
