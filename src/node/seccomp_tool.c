/* Running cntr-seccomp, the dynamically linked compiler of JSON profiles (src/cli/
 * seccomp_tool.c), from the static cntr: the profile goes in and the BPF file and any error
 * come out through memory files, so neither side can block on a full pipe. */
#include "seccomp_choice.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOOL_NAME "cntr-seccomp"
#define MAX_TOOL_MESSAGE 4096

/* Next to cntr's own binary (how it is installed), else the first on PATH. */
static char *find_tool(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *path = getenv("PATH");

	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			_cleanup_free_ char *beside = xasprintf("%s/" TOOL_NAME, self);
			if (access(beside, X_OK) == 0)
				return steal_pointer(&beside);
		}
	}
	for (const char *p = path; p && *p;) {
		size_t len = strcspn(p, ":");
		_cleanup_free_ char *cand = xasprintf("%.*s/" TOOL_NAME, (int)len, p);
		if (len && access(cand, X_OK) == 0)
			return steal_pointer(&cand);
		p += len + (p[len] == ':');
	}
	return NULL;
}

static int memfd_with(const char *name, const void *bytes, size_t len, struct cntr_err *err)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		return cntr_fail_errno(err, "memfd_create");
	if (len && (write_all(fd, bytes, len) < 0 || lseek(fd, 0, SEEK_SET) < 0)) {
		close(fd);
		return cntr_fail_errno(err, "write the seccomp profile for " TOOL_NAME);
	}
	return fd;
}

static int read_back(int fd, size_t max, char **buf, size_t *len)
{
	return lseek(fd, 0, SEEK_SET) < 0 ? -1 : read_fd_upto(fd, max, buf, len);
}

/* The tool's message without its "cntr-seccomp: " and newline. */
static int tool_failed(int errfd, int status, const char *what, const char *tool, struct cntr_err *err)
{
	_cleanup_free_ char *msg = NULL;
	size_t len = 0;

	if (read_back(errfd, MAX_TOOL_MESSAGE, &msg, &len) < 0 || len == 0) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "seccomp profile %s: could not run %s", what, tool);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "seccomp profile %s: %s failed (status %#x)", what, tool,
				 status);
	}
	msg[strcspn(msg, "\n")] = '\0';
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "seccomp profile %s",
			 str_has_prefix(msg, TOOL_NAME ": ") ? msg + strlen(TOOL_NAME ": ") : msg);
}

/* What the tool warned about (names it left out) reaches the user as cntr's warnings. */
static void pass_on_warnings(int errfd)
{
	static const char prefix[] = TOOL_NAME ": warning: ";
	_cleanup_free_ char *text = NULL;
	size_t len;
	char *save = NULL;

	if (read_back(errfd, MAX_TOOL_MESSAGE, &text, &len) < 0)
		return;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		log_warn("seccomp profile %s", str_has_prefix(line, prefix) ? line + strlen(prefix) : line);
}

int seccomp_tool_compile(const char *json, size_t len, const char *what, uint64_t caps, struct cntr_bpf *out,
			 struct cntr_err *err)
{
	_cleanup_free_ char *tool = find_tool();
	_cleanup_free_ char *caps_arg = xasprintf("0x%llx", (unsigned long long)caps);
	_cleanup_free_ char *bytes = NULL;
	_cleanup_close_ int in = -1, outfd = -1, errfd = -1;
	size_t size;
	int status;
	pid_t pid;

	if (!tool)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "seccomp profile %s: compiling it (for capabilities %#llx) needs " TOOL_NAME
				 " next to cntr or on PATH; or precompile it where " TOOL_NAME " is: " TOOL_NAME
				 " compile --caps %#llx -o FILE.bpf %s, then --seccomp-profile FILE.bpf",
				 what, (unsigned long long)caps, (unsigned long long)caps,
				 strcmp(what, "default") ? what : "profiles/default.json");
	if ((in = memfd_with("cntr-seccomp-in", json, len, err)) < 0 ||
	    (outfd = memfd_with("cntr-seccomp-out", NULL, 0, err)) < 0 ||
	    (errfd = memfd_with("cntr-seccomp-err", NULL, 0, err)) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return cntr_fail_errno(err, "fork for " TOOL_NAME);
	if (pid == 0) {
		char *argv[] = { TOOL_NAME, "compile", "--caps", caps_arg, "--name", (char *)what, "-", NULL };
		if (dup2(in, 0) < 0 || dup2(outfd, 1) < 0 || dup2(errfd, 2) < 0)
			_exit(127);
		execv(tool, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return cntr_fail_errno(err, "wait for " TOOL_NAME);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return tool_failed(errfd, status, what, tool, err);
	pass_on_warnings(errfd);
	if (read_back(outfd, CNTR_BPF_MAX_FILE, &bytes, &size) < 0)
		return cntr_fail_errno(err, "read what %s wrote", tool);
	return cntr_bpf_parse(bytes, size, what, out, err);
}
