/* Engines reached through their command-line tool: podman, systemd-nspawn (machinectl), LXC
 * (lxc-info), CRI-O (crictl). Each prints "PID [ID [NAME]]" for a name; one table says how. */
#include "engine_cli.h"

#include "engine_exec.h"
#include "resolve_internal.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Stands for the target in an argv template. */
#define NAME_ARG ((const char *)1)
#define MAX_ARGS 8

struct cli_engine {
	const char *runtime;
	const char *argv[MAX_ARGS]; /* NULL-terminated; NAME_ARG is replaced by the target */
};

static const struct cli_engine cli_podman = {
	"podman",
	{ "podman", "container", "inspect", "--format", "{{.State.Pid}} {{.Id}} {{.Name}}", NAME_ARG },
};
static const struct cli_engine cli_nspawn = {
	"nspawn", { "machinectl", "show", "--property=Leader", "--value", NAME_ARG },
};
static const struct cli_engine cli_lxc = {
	"lxc", { "lxc-info", "-n", NAME_ARG, "-p", "-H" },
};

int engine_cli_parse_answer(const char *output, const char *target, const char *runtime,
			    struct container_ref *out, struct cntr_err *err)
{
	char pid_text[32] = "", id[sizeof(out->id)] = "", name[sizeof(out->name)] = "";
	uint64_t pid;

	/* Field widths track the buffer sizes above. */
	if (sscanf(output, "%31s %127s %255s", pid_text, id, name) < 1 ||
	    parse_u64(pid_text, &pid) < 0 || pid > INT32_MAX)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "%s: unexpected answer for '%s': '%.80s'", runtime, target, output);
	if (pid == 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "%s container '%s' is not running; start it first", runtime, target);
	memset(out, 0, sizeof(*out));
	out->pid = (pid_t)pid;
	snprintf(out->runtime, sizeof(out->runtime), "%s", runtime);
	snprintf(out->id, sizeof(out->id), "%s", id);
	snprintf(out->name, sizeof(out->name), "%s", name[0] ? name : target);
	return 0;
}

static int resolve_with_cli(const struct cli_engine *engine, const char *target,
			    struct container_ref *out, struct cntr_err *err)
{
	char *argv[MAX_ARGS + 1] = { NULL };
	_cleanup_free_ char *output = NULL;
	int status;

	/* A target starting with '-' would be read as an option by the tool. */
	if (target[0] == '-' || !*target)
		return RESOLVE_NO_MATCH;
	if (!engine_program_exists(engine->argv[0])) {
		log_skip("%s: %s not found in PATH", engine->runtime, engine->argv[0]);
		return RESOLVE_NO_MATCH;
	}
	for (size_t i = 0; i < MAX_ARGS && engine->argv[i]; i++)
		argv[i] = (char *)(engine->argv[i] == NAME_ARG ? target : engine->argv[i]);
	if (engine_run(argv, ENGINE_EXEC_TIMEOUT_MS, &output, &status, err) < 0)
		return cntr_err_prefix(err, "%s: ", engine->runtime);
	if (status != 0) {
		log_info("%s: %s does not know '%s' (exit status %d)", engine->runtime,
			 engine->argv[0], target, status);
		return RESOLVE_NO_MATCH;
	}
	if (engine_cli_parse_answer(output, target, engine->runtime, out, err) < 0)
		return -1;
	if (!pid_exists(out->pid))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "%s container '%s' has PID %d, which is not visible here; run cntr "
				 "in the host PID namespace", engine->runtime, target, (int)out->pid);
	return RESOLVE_FOUND;
}

int resolve_by_podman(const char *target, struct container_ref *out, struct cntr_err *err)
{
	return resolve_with_cli(&cli_podman, target, out, err);
}

int resolve_by_nspawn(const char *target, struct container_ref *out, struct cntr_err *err)
{
	return resolve_with_cli(&cli_nspawn, target, out, err);
}

int resolve_by_lxc(const char *target, struct container_ref *out, struct cntr_err *err)
{
	return resolve_with_cli(&cli_lxc, target, out, err);
}

static size_t count_words(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p; p++)
		if (*p != ' ' && *p != '\n' && (p == s || p[-1] == ' ' || p[-1] == '\n'))
			n++;
	return n;
}

/* Kubernetes container names ([a-z0-9-], a DNS label) are what crictl filters by. */
static bool is_dns_label(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

/* crictl knows containers by ID; names go through `crictl ps --name` (a regular expression,
 * hence the anchors), then the ID through the cgroup scan. The same container name in several
 * pods is common: that is an error listing the IDs. */
int resolve_by_crio(const char *target, struct container_ref *out, struct cntr_err *err)
{
	_cleanup_free_ char *pattern = NULL;
	_cleanup_free_ char *output = NULL;
	char id[sizeof(out->id)], second[sizeof(out->id)];
	int status, fields;
	int r;

	if (!is_dns_label(target))
		return RESOLVE_NO_MATCH;
	if (!engine_program_exists("crictl")) {
		log_skip("crio: crictl not found in PATH");
		return RESOLVE_NO_MATCH;
	}
	pattern = xasprintf("^%s$", target);
	{
		char *argv[] = { "crictl", "ps", "--quiet", "--name", pattern, NULL };
		if (engine_run(argv, ENGINE_EXEC_TIMEOUT_MS, &output, &status, err) < 0)
			return cntr_err_prefix(err, "crio: ");
	}
	if (status != 0) {
		log_skip("crio: `crictl ps` failed with status %d", status);
		return RESOLVE_NO_MATCH;
	}
	fields = sscanf(output, "%127s %127s", id, second);
	if (fields < 1) {
		log_info("crio: no container named '%s'", target);
		return RESOLVE_NO_MATCH;
	}
	if (fields == 2)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "CRI-O container name '%s' is ambiguous: %zu containers (%.12s, %.12s%s); "
				 "give a container ID instead", target, count_words(output), id, second,
				 count_words(output) > 2 ? ", ..." : "");
	r = resolve_by_id(id, out, err);
	if (r < 0)
		return -1;
	if (r != RESOLVE_FOUND)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "CRI-O container '%s' (%.12s) has no running process visible here",
				 target, id);
	snprintf(out->runtime, sizeof(out->runtime), "crio");
	snprintf(out->name, sizeof(out->name), "%s", target);
	return RESOLVE_FOUND;
}

int engine_podman_names(char **output, struct cntr_err *err)
{
	char *argv[] = { "podman", "ps", "--no-trunc", "--format", "{{.ID}} {{.Names}}", NULL };
	int status;

	if (!engine_program_exists("podman")) {
		log_skip("podman: podman not found in PATH; names of podman containers not shown");
		return 0;
	}
	if (engine_run(argv, ENGINE_EXEC_TIMEOUT_MS, output, &status, err) < 0)
		return cntr_err_prefix(err, "podman: ");
	if (status != 0) {
		log_skip("podman: `podman ps` failed with status %d; names not shown", status);
		free(*output);
		*output = NULL;
		return 0;
	}
	return 1;
}
