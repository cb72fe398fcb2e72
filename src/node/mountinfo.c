/* /proc/PID/mountinfo, one mount per line (proc(5)):
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 * The kernel escapes space, tab, newline and backslash in paths as \ooo octal, so splitting on
 * single spaces is exact; empty fields (a source of "") show up as two adjacent spaces. */
#include "mountinfo.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOUNTINFO_MAX_FIELDS 64

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/* A malloc'd copy of s with "\040"-style escapes decoded. */
static char *unescape_octal(const char *s)
{
	char *out = xstrdup(s);
	char *w = out;

	for (const char *r = s; *r;) {
		if (r[0] == '\\' && is_octal(r[1]) && is_octal(r[2]) && is_octal(r[3])) {
			*w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return out;
}

/* Split line (modified in place) on single spaces; returns the field count or -1 if too many. */
static int split_fields(char *line, char *fields[MOUNTINFO_MAX_FIELDS])
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *space = strchr(p, ' ');
		if (n == MOUNTINFO_MAX_FIELDS)
			return -1;
		fields[n++] = p;
		if (!space)
			return n;
		*space = '\0';
		p = space + 1;
	}
}

static int parse_int_field(const char *s, int *out)
{
	uint64_t v;
	if (parse_u64(s, &v) < 0 || v > INT32_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_dev(const char *s, unsigned *major, unsigned *minor)
{
	char tail;
	return sscanf(s, "%u:%u%c", major, minor, &tail) == 2 ? 0 : -1;
}

/* "shared:1", "master:2" ... between the mount options and the "-" separator. */
static char *join_optional(char **fields, int from, int to)
{
	size_t len = 1;
	char *out, *w;

	for (int i = from; i < to; i++)
		len += strlen(fields[i]) + 1;
	out = w = malloc(len);
	if (!out)
		abort();
	*w = '\0';
	for (int i = from; i < to; i++)
		w += sprintf(w, "%s%s", i > from ? " " : "", fields[i]);
	return out;
}

static void mount_entry_release(struct mount_entry *e)
{
	free(e->root);
	free(e->mount_point);
	free(e->mount_options);
	free(e->optional);
	free(e->fstype);
	free(e->source);
	free(e->super_options);
	memset(e, 0, sizeof(*e));
}

static int parse_mount_line(char *line, unsigned lineno, struct mount_entry *e, struct cntr_err *err)
{
	char *f[MOUNTINFO_MAX_FIELDS];
	int n = split_fields(line, f);
	int sep = -1;

	for (int i = 6; i < n; i++) {
		if (strcmp(f[i], "-") == 0) {
			sep = i;
			break;
		}
	}
	if (n < 0 || sep < 0 || n != sep + 4)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "mountinfo line %u: expected 'ID PARENT MAJ:MIN ROOT MOUNTPOINT "
				 "OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS'", lineno);
	if (parse_int_field(f[0], &e->mount_id) < 0 || parse_int_field(f[1], &e->parent_id) < 0 ||
	    parse_dev(f[2], &e->major, &e->minor) < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "mountinfo line %u: bad mount id, parent id or device '%s %s %s'",
				 lineno, f[0], f[1], f[2]);
	e->root = unescape_octal(f[3]);
	e->mount_point = unescape_octal(f[4]);
	e->mount_options = xstrdup(f[5]);
	e->optional = join_optional(f, 6, sep);
	e->fstype = unescape_octal(f[sep + 1]);
	e->source = unescape_octal(f[sep + 2]);
	e->super_options = xstrdup(f[sep + 3]);
	return 0;
}

int mountinfo_parse(const char *text, struct mount_table *out, struct cntr_err *err)
{
	_cleanup_free_ char *copy = xstrdup(text);
	size_t cap = 0;
	unsigned lineno = 0;
	char *save = NULL;

	out->entries = NULL;
	out->n = 0;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		if (out->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct mount_entry *bigger = realloc(out->entries, ncap * sizeof(*bigger));
			if (!bigger) {
				mount_table_release(out);
				return cntr_fail(err, CNTR_EXIT_FAILURE, ENOMEM, "mountinfo");
			}
			out->entries = bigger;
			cap = ncap;
		}
		memset(&out->entries[out->n], 0, sizeof(out->entries[out->n]));
		if (parse_mount_line(line, lineno, &out->entries[out->n], err) < 0) {
			mount_entry_release(&out->entries[out->n]);
			mount_table_release(out);
			return -1;
		}
		out->n++;
	}
	return 0;
}

void mount_table_release(struct mount_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		mount_entry_release(&t->entries[i]);
	free(t->entries);
	t->entries = NULL;
	t->n = 0;
}

const struct mount_entry *mount_table_find(const struct mount_table *t, const char *path)
{
	const struct mount_entry *found = NULL;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->entries[i].mount_point, path) == 0)
			found = &t->entries[i];
	return found;
}
