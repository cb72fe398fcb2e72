/* `cntr agent ...`: the lambda-cntr agent pod's own programs, in the static binary instead of
 * shell loops (docs/design.md §3). The agent pod's command is `cntr agent idle`: it idles at a
 * few hundred KiB until it has had no session for LAMBDA_CNTR_IDLE_SECONDS, and exits at once
 * on SIGTERM; an agent (LAMBDA_CNTR_AGENT set) with LAMBDA_CNTR_RUN_DIR (the DaemonSet's, an
 * emptyDir) publishes its pid there so that the broker's sessions write their audit lines to its
 * log (node/agent_audit.h). lambda-cntr execs the others in the agent:
 *   cntr agent count-others ID   how many sessions of the agent are not session ID
 *   cntr agent count-mine ID     how many processes session ID still has (0: it ended)
 *   cntr agent end-session ID    what is left of session ID: SIGHUP (cntr passes it to the
 *                                command), then SIGTERM, then SIGKILL, two seconds apart
 * and a capsule pod (docs/capsules.md, cluster level) runs:
 *   cntr agent install DIR       (its init container, from the agent image) copies this static
 *                                binary to DIR/cntr, mode 0555: no shell, no cp in the image
 *   cntr agent idle              (its main container, any image) with no LAMBDA_CNTR_AGENT:
 *                                sleeps until SIGTERM, so an image without a shell stays up */
#include "cntr_agent.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"
#include "node/agent_audit.h"
#include "node/agent_sessions.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <poll.h>
#include <unistd.h>

#define POLL_SECONDS 2
#define MAX_SESSIONS 1024

static const char *agent_name(void)
{
	const char *name = getenv("LAMBDA_CNTR_AGENT");
	return name && *name ? name : NULL;
}

/* The DaemonSet's agent (LAMBDA_CNTR_RUN_DIR set) tells its sessions where its log is
 * (agent_audit.h); the idle loop does not depend on it. */
static void publish_pid(void)
{
	struct cntr_err err = { 0 };

	if (agent_audit_publish_pid(&err) < 0)
		log_warn("agent: sessions cannot record themselves in this agent's log: %s", err.msg);
}

static int idle_main(void)
{
	const char *name = agent_name(), *limit_text = getenv("LAMBDA_CNTR_IDLE_SECONDS");
	uint64_t limit = 600, idle = 0;
	bool forever = limit_text && strcmp(limit_text, "never") == 0;
	pid_t pids[MAX_SESSIONS];
	sigset_t stop;
	int sigfd;

	if (limit_text && !forever && parse_u64(limit_text, &limit) < 0) {
		log_error("agent: LAMBDA_CNTR_IDLE_SECONDS='%s' is neither a number of seconds nor \"never\"",
			  limit_text);
		return CNTR_EXIT_USAGE;
	}
	/* Its stdout is the container's log: the rare line of its own goes out at once, never held
	 * in a buffer past the sessions' audit lines written to the same pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (name)
		publish_pid();
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	sigfd = signalfd(-1, &stop, SFD_CLOEXEC);
	/* Not an agent (a capsule pod's container), or one that stays (a DaemonSet's): nothing
	 * to count, stay up until stopped. */
	while (!name || forever) {
		struct pollfd p = { .fd = sigfd, .events = POLLIN };
		if (poll(&p, 1, -1) > 0)
			return 0;
	}
	while (idle < limit) {
		struct pollfd p = { .fd = sigfd, .events = POLLIN };
		/* SIGTERM (pod deletion) ends the agent at once: a short grace period suffices. */
		if (poll(&p, 1, POLL_SECONDS * 1000) > 0)
			return 0;
		if (agent_sessions_find(name, AGENT_SESSIONS_NOT_OF, "", pids, MAX_SESSIONS) > 0)
			idle = 0;
		else
			idle += POLL_SECONDS;
	}
	printf("lambda-cntr agent: idle for %llus, exiting\n", (unsigned long long)idle);
	return 0;
}

static int count_main(enum agent_session_filter filter, const char *id)
{
	pid_t pids[MAX_SESSIONS];

	if (!agent_name())
		return CNTR_EXIT_USAGE;
	printf("%zu\n", agent_sessions_find(agent_name(), filter, id, pids, MAX_SESSIONS));
	return 0;
}

static int end_session_main(const char *id)
{
	static const int signals[] = { SIGHUP, SIGTERM, SIGKILL };
	pid_t pids[MAX_SESSIONS];

	if (!agent_name() || !*id)
		return CNTR_EXIT_USAGE;
	for (size_t s = 0; s < sizeof(signals) / sizeof(signals[0]); s++) {
		size_t n = agent_sessions_find(agent_name(), AGENT_SESSIONS_OF, id, pids, MAX_SESSIONS);
		if (n == 0)
			return 0;
		for (size_t i = 0; i < n; i++)
			kill(pids[i], signals[s]);
		for (int waited = 0; waited < 20; waited++) {
			usleep(100 * 1000);
			if (agent_sessions_find(agent_name(), AGENT_SESSIONS_OF, id, pids, MAX_SESSIONS) == 0)
				return 0;
		}
	}
	return 0;
}

/* Copy /proc/self/exe to DIR/cntr (mode 0555) through a temporary name, so a reader never
 * sees half a binary. */
static int install_main(const char *dir)
{
	_cleanup_free_ char *tmp = xasprintf("%s/.cntr.%d", dir, (int)getpid());
	_cleanup_free_ char *dest = xasprintf("%s/cntr", dir);
	_cleanup_close_ int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int out = -1;
	char buf[65536];
	ssize_t n;

	if (in < 0) {
		log_error("agent install: cannot open /proc/self/exe: %s", strerror(errno));
		return CNTR_EXIT_FAILURE;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0555);
	if (out < 0) {
		log_error("agent install: cannot create %s: %s", tmp, strerror(errno));
		return CNTR_EXIT_FAILURE;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write_all(out, buf, (size_t)n) < 0)
			break;
	if (n != 0 || fchmod(out, 0555) < 0 || fsync(out) < 0 || rename(tmp, dest) < 0) {
		log_error("agent install: copying cntr to %s failed: %s", dest, strerror(errno));
		unlink(tmp);
		return CNTR_EXIT_FAILURE;
	}
	return 0;
}

int cntr_agent_main(int argc, char **argv)
{
	log_init("cntr", CNTR_LOG_WARN);
	if (argc >= 2 && strcmp(argv[1], "idle") == 0)
		return idle_main();
	if (argc >= 3 && strcmp(argv[1], "count-others") == 0)
		return count_main(AGENT_SESSIONS_NOT_OF, argv[2]);
	if (argc >= 3 && strcmp(argv[1], "count-mine") == 0)
		return *argv[2] ? count_main(AGENT_SESSIONS_OF, argv[2]) : CNTR_EXIT_USAGE;
	if (argc >= 3 && strcmp(argv[1], "end-session") == 0)
		return end_session_main(argv[2]);
	if (argc == 3 && strcmp(argv[1], "install") == 0 && *argv[2])
		return install_main(argv[2]);
	log_error("usage: cntr agent idle | count-others SESSION | count-mine SESSION | end-session SESSION "
		  "| install DIR (the agent pod's and the capsule pod's programs)");
	return CNTR_EXIT_USAGE;
}
