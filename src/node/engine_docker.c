#include "engine_docker.h"

#include "engine_json.h"
#include "resolve_internal.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"
#define DOCKER_IO_TIMEOUT_SEC 10

const char *docker_socket_path(void)
{
	const char *host = getenv("DOCKER_HOST");
	if (host && str_has_prefix(host, "unix://") && host[7])
		return host + 7;
	return DOCKER_DEFAULT_SOCKET;
}

int docker_http_split(const char *resp, size_t len, int *status, const char **body,
		      size_t *body_len)
{
	const char *end_of_headers;
	int code;

	if (len < 12 || !str_has_prefix(resp, "HTTP/1."))
		return -1;
	if (sscanf(resp + 8, " %3d", &code) != 1 || code < 100 || code > 599)
		return -1;
	end_of_headers = memmem(resp, len, "\r\n\r\n", 4);
	if (!end_of_headers)
		return -1;
	*status = code;
	*body = end_of_headers + 4;
	*body_len = len - (size_t)(*body - resp);
	return 0;
}

/* Docker names are [a-zA-Z0-9][a-zA-Z0-9_.-]*; anything else cannot be one and must not be
 * pasted into a request line. */
static bool docker_name_is_valid(const char *name)
{
	if (!*name || strlen(name) > 200)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			return false;
	return name[0] != '.' && name[0] != '-' && name[0] != '_';
}

int docker_parse_inspect(const char *body, size_t len, const char *what, struct container_ref *ref,
			 struct cntr_err *err)
{
	static const char *const pid_path[] = { "State", "Pid" };
	struct json_span doc = { body, len }, v;
	long long pid;
	char name[sizeof(ref->name)];

	if (json_span_member_path(doc, pid_path, 2, &v) < 0 || json_span_int(v, &pid) < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "docker: no State.Pid in the answer for '%s'", what);
	if (pid <= 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "docker container '%s' is not running; start it first", what);
	memset(ref, 0, sizeof(*ref));
	ref->pid = (pid_t)pid;
	snprintf(ref->runtime, sizeof(ref->runtime), "docker");
	if (json_span_member(doc, "Id", &v) < 0 || json_span_string(v, ref->id, sizeof(ref->id)) < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "docker: no Id in the answer for '%s'", what);
	/* Docker reports names with a leading '/'. */
	if (json_span_member(doc, "Name", &v) == 0 && json_span_string(v, name, sizeof(name)) == 0)
		memcpy(ref->name, name[0] == '/' ? name + 1 : name,
		       strlen(name[0] == '/' ? name + 1 : name) + 1);
	return 0;
}

static int docker_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = DOCKER_IO_TIMEOUT_SEC };
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A daemon that accepts and then hangs must not hang cntr. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -1;
	return steal_fd(&fd);
}

/* send() with MSG_NOSIGNAL: a daemon that hangs up early must not kill cntr with SIGPIPE. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* GET request_path over the socket; HTTP/1.0 so the daemon answers without chunking and closes
 * the connection at the end of the body. Returns 0, or -1 with errno when the daemon is not
 * reachable (ENOENT, ECONNREFUSED...). */
static int docker_get(const char *socket_path, const char *request_path, char **resp, size_t *len)
{
	_cleanup_close_ int fd = docker_connect(socket_path);
	_cleanup_free_ char *request = NULL;

	if (fd < 0)
		return -1;
	request = xasprintf("GET %s HTTP/1.0\r\nHost: docker\r\nUser-Agent: cntr\r\n\r\n",
			    request_path);
	if (send_all(fd, request, strlen(request)) < 0)
		return -1;
	return read_fd_all(fd, resp, len);
}

int docker_inspect(const char *name, struct container_ref *ref, struct cntr_err *err)
{
	const char *socket_path = docker_socket_path();
	_cleanup_free_ char *request_path = NULL;
	_cleanup_free_ char *resp = NULL;
	const char *body;
	size_t len, body_len;
	int status;

	if (!docker_name_is_valid(name))
		return 0;
	request_path = xasprintf("/containers/%s/json", name);
	if (docker_get(socket_path, request_path, &resp, &len) < 0) {
		log_skip("docker: %s: %s", socket_path, strerror(errno));
		return 0;
	}
	if (docker_http_split(resp, len, &status, &body, &body_len) < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "docker: %s did not answer with HTTP", socket_path);
	if (status == 404) {
		log_info("docker: no container '%s'", name);
		return 0;
	}
	if (status != 200)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "docker: GET %s answered HTTP %d", request_path, status);
	if (docker_parse_inspect(body, body_len, name, ref, err) < 0)
		return -1;
	return 1;
}

int resolve_by_docker(const char *target, struct container_ref *out, struct cntr_err *err)
{
	int r = docker_inspect(target, out, err);
	if (r == 1 && !pid_exists(out->pid))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "docker container '%s' has PID %d, which is not visible here; run cntr "
				 "in the host PID namespace", target, (int)out->pid);
	return r;
}
