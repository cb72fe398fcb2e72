#include "cntr_list.h"

#include "common/err.h"
#include "node/resolve.h"

#include <stdio.h>
#include <string.h>

static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json(const struct container_list *l)
{
	printf("[");
	for (size_t i = 0; i < l->n; i++) {
		const struct container_ref *c = &l->items[i];
		printf("%s\n  {\"runtime\": ", i ? "," : "");
		print_json_string(c->runtime);
		printf(", \"id\": ");
		print_json_string(c->id);
		printf(", \"name\": ");
		print_json_string(c->name);
		printf(", \"pid\": %d}", (int)c->pid);
	}
	printf("%s]\n", l->n ? "\n" : "");
}

static void print_table(const struct container_list *l, bool no_trunc)
{
	int id_width = no_trunc ? 64 : 12;
	printf("%-11s %-*s %-24s %s\n", "RUNTIME", id_width, "ID", "NAME", "PID");
	for (size_t i = 0; i < l->n; i++) {
		const struct container_ref *c = &l->items[i];
		printf("%-11s %-*.*s %-24s %d\n", c->runtime, id_width, no_trunc ? (int)sizeof(c->id) : 12,
		       c->id[0] ? c->id : "-", c->name[0] ? c->name : "-", (int)c->pid);
	}
}

int cntr_list(unsigned types, bool no_trunc, bool json, struct cntr_err *err)
{
	struct container_list l = { 0 };

	if (list_containers(types, &l, err) < 0)
		return -1;
	if (json)
		print_json(&l);
	else
		print_table(&l, no_trunc);
	container_list_release(&l);
	return 0;
}
