#include "engine_runc.h"

#include "engine_json.h"
#include "resolve_internal.h"

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/strutil.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>

#define RUNC_ROOT "/run/runc"

pid_t runc_state_init_pid(const char *state_json)
{
	struct json_span v;
	long long pid;

	if (json_span_member(json_span_of(state_json), "init_process_pid", &v) < 0 ||
	    json_span_int(v, &pid) < 0 || pid <= 0 || pid > INT32_MAX)
		return 0;
	return (pid_t)pid;
}

pid_t runc_find(const char *id)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *text = NULL;
	pid_t pid;

	if (!*id || strchr(id, '/') || id[0] == '.')
		return 0;
	path = xasprintf(RUNC_ROOT "/%s/state.json", id);
	if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return 0;
	pid = runc_state_init_pid(text);
	return pid > 0 && pid_exists(pid) ? pid : 0;
}

struct runc_walk {
	runc_container_fn fn;
	void *ctx;
};

static void visit_runc_state(const char *id, void *arg)
{
	struct runc_walk *w = arg;
	pid_t pid = runc_find(id);
	if (pid > 0)
		w->fn(id, pid, w->ctx);
}

void runc_for_each(runc_container_fn fn, void *ctx)
{
	struct runc_walk w = { fn, ctx };
	for_each_dir_entry(RUNC_ROOT, visit_runc_state, &w);
}
