#include "session.h"

#include "cgroup.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "creds.h"
#include "environ.h"
#include "ipc.h"
#include "lsm.h"
#include "mounts.h"
#include "pause_point.h"
#include "pty.h"
#include "seccomp.h"
#include "seccomp_choice.h"
#include "target.h"
#include "tools_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* Everything the setup child and the command need, prepared by the relay before forking. */
struct session {
	const struct session_opts *opts;
	struct target target;
	char **argv, **env;
	bool tty;
	struct seccomp_filters seccomp;
	struct tools_tree tools; /* attach: the session's "/" (cloned in cntr's mount namespace) */
	pid_t relay;
	int sock[2];            /* [0] relay end, [1] children's end */
	sigset_t old_mask;
};

/* Namespaces joined by the setup child, after the mount view is built. The user namespace
 * comes last, in the command itself: until then the setup needs init-namespace privileges
 * (mounts, cgroup moves). PID and time only take effect for children: the command. */
static const enum ns_kind joined_by_setup[] = { NS_UTS, NS_IPC, NS_NET, NS_CGROUP, NS_PID, NS_TIME };

static void close_inherited_fds(int keep)
{
	/* docs/design.md: no descriptor of cntr (or inherited by it) reaches the command. */
	if (syscall(SYS_close_range, 3, keep > 3 ? keep - 1 : 2, 0) == 0 &&
	    syscall(SYS_close_range, keep + 1, ~0U, 0) == 0)
		return;
	/* Kernels before 5.9: every descriptor number up to the limit. */
	long max = sysconf(_SC_OPEN_MAX);
	for (int fd = 3; fd < (max > 0 ? max : 65536); fd++)
		if (fd != keep)
			close(fd);
}

/* No orphan (docs/security.md): the session's processes die with cntr. The parent-death
 * signal is set only after the credential switch, which clears it; the relay may have died
 * before that, and then its end of the socket pair is closed. */
static void die_with_relay(int sock)
{
	struct pollfd relay_end = { .fd = sock, .events = POLLRDHUP };

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
	    (poll(&relay_end, 1, 0) > 0 && (relay_end.revents & (POLLHUP | POLLRDHUP | POLLERR))))
		_exit(CNTR_EXIT_FAILURE);
}

/* attach: the image's working directory (a capsule), else base_dir. exec: the target's cwd,
 * already entered with its root. */
static int enter_working_directory(const struct session *s, struct cntr_err *err)
{
	if (s->opts->mode != SESSION_ATTACH)
		return 0;
	if (s->opts->workdir) {
		if (chdir(s->opts->workdir) == 0)
			return 0;
		log_skip("working directory %s: %s; using %s", s->opts->workdir, strerror(errno), s->opts->base_dir);
	}
	if (chdir(s->opts->base_dir) < 0)
		return cntr_fail_errno(err, "chdir %s", s->opts->base_dir);
	return 0;
}

__attribute__((noreturn)) static void run_command(struct session *s, bool need_proc, int slave)
{
	struct cntr_err err = { 0 };
	const struct target *t = &s->target;
	int sock = s->sock[1];
	bool nnp = t->status.no_new_privs == 1 || s->opts->caps.no_new_privs;

	if (need_proc && mount_fresh_proc(&err) < 0)
		ipc_fail_and_exit(sock, &err);
	if (apply_target_lsm(t, &err) < 0 || join_namespace(&t->ns, NS_USER, &err) < 0)
		ipc_fail_and_exit(sock, &err);
	/* Installing a filter needs no_new_privs or CAP_SYS_ADMIN: before the capabilities are
	 * dropped unless the command runs with no_new_privs (set by apply_target_credentials). */
	if (!nnp && seccomp_install_filters(&s->seccomp, &err) < 0)
		ipc_fail_and_exit(sock, &err);
	if (apply_target_credentials(t, &s->opts->caps, &err) < 0)
		ipc_fail_and_exit(sock, &err);
	if (nnp && seccomp_install_filters(&s->seccomp, &err) < 0)
		ipc_fail_and_exit(sock, &err);
	die_with_relay(sock);
	if (enter_working_directory(s, &err) < 0)
		ipc_fail_and_exit(sock, &err);
	if (slave >= 0 && pty_become_controlling(slave, &err) < 0)
		ipc_fail_and_exit(sock, &err);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
	close_inherited_fds(sock);
	exec_command(s->argv, s->env, &err);
	ipc_fail_and_exit(sock, &err);
}

static int build_view(struct session *s, struct cntr_err *err, bool *need_proc)
{
	const struct target *t = &s->target;

	*need_proc = false;
	if (join_namespace(&t->ns, NS_MNT, err) < 0)
		return -1;
	if (s->opts->mode == SESSION_EXEC)
		return enter_target_root(t, err);
	return build_attach_view(t, &s->tools, s->opts->base_dir, need_proc, err);
}

/* Join the target's namespace of this kind, or (a capsule that does not share it) make a new
 * private one: a new pid namespace also needs a procfs of its own. The time namespace is
 * only ever joined: a new one would show the same clocks. */
static int enter_namespace(const struct session *s, enum ns_kind kind, bool *need_proc, struct cntr_err *err)
{
	if (!s->opts->share || (s->opts->share & (1U << kind)) || kind == NS_TIME)
		return join_namespace(&s->target.ns, kind, err);
	if (unshare(ns_table[kind].clone_flag) < 0)
		return cntr_fail_errno(err, "create a private %s namespace for the capsule", ns_table[kind].name);
	if (kind == NS_PID)
		*need_proc = true;
	log_debug("capsule: private %s namespace", ns_table[kind].name);
	return 0;
}

/* Never more than the target (docs/security.md): its filters are copied unless --no-seccomp
 * (or --seccomp-profile unconfined) asked for a session without them. */
static int copy_seccomp_filters(struct session *s, struct cntr_err *err)
{
	int mode = s->target.status.seccomp;

	if (mode <= 0)
		return 0;
	if (!s->opts->copy_seccomp) {
		log_warn("--no-seccomp: the session runs without the target's seccomp filter");
		return 0;
	}
	if (mode == 1)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "the target uses strict seccomp mode, which no shell can run under; "
				 "--no-seccomp runs the session without it");
	if (seccomp_read_filters(s->target.pid, &s->seccomp, err) < 0)
		return cntr_err_hint(err, "--no-seccomp runs the session without the target's filter");
	return 0;
}

/* The chosen profile goes on top of the target's filters: the kernel applies the strictest
 * answer of all, so a profile can only take away. Its includes/excludes.caps are evaluated
 * against the bounding set the command will have. */
static int add_seccomp_profile(struct session *s, struct cntr_err *err)
{
	const struct target *t = &s->target;
	struct cap_sets sets = { t->status.cap_bnd, t->status.cap_prm, t->status.cap_eff, t->status.cap_inh,
				 t->status.cap_amb };
	struct cap_plan plan = plan_capabilities(&sets, t->inner_uid[ID_EFFECTIVE], &s->opts->caps);
	struct cntr_bpf fresh;
	const struct cntr_bpf *prog;
	unsigned len;
	int rc;

	if (!s->opts->seccomp_profile)
		return 0;
	if (seccomp_choice_program(s->opts->seccomp_profile, plan.caller.bnd, &fresh, &prog, err) < 0)
		return -1;
	len = prog->len;
	rc = seccomp_filters_append(&s->seccomp, prog->insns, len, err);
	cntr_bpf_release(&fresh);
	if (rc == 0)
		log_info("seccomp: profile %s (%u instructions) on top of the target's %zu filter(s)",
			 s->opts->seccomp_profile->what, len, s->seccomp.n - 1);
	return rc;
}

/* The relay moves the setup child into the target's cgroups while the child builds the view
 * (the moves are the slowest part of an attach: one RCU-synchronised write per hierarchy), then
 * says "go". The command is cloned only after that, so it starts in the target's cgroups. */
static const char cgroup_joined = 'G';

static int move_into_cgroup(struct session *s, pid_t setup, struct cntr_err *err)
{
	if (join_target_cgroup(&s->target, setup, err) < 0)
		return -1;
	/* A child that already failed has closed its end: its error comes from collect_setup. */
	if (send(s->sock[0], &cgroup_joined, 1, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
		return cntr_fail_errno(err, "tell the session's setup that it joined the target's cgroups");
	return 0;
}

/* Anything but the relay's "go" (its end closed: it failed, and reports why) ends the setup. */
static void wait_for_cgroup(int sock)
{
	char msg = 0;
	ssize_t n;

	do
		n = recv(sock, &msg, 1, 0);
	while (n < 0 && errno == EINTR);
	if (n != 1 || msg != cgroup_joined)
		_exit(CNTR_EXIT_FAILURE);
}

__attribute__((noreturn)) static void run_setup_child(struct session *s)
{
	struct cntr_err err = { 0 };
	struct ipc_msg msg = { .type = IPC_COMMAND_PID };
	int sock = s->sock[1], master = -1, slave = -1, spare_master = -1, spare_slave = -1;
	bool need_proc;
	pid_t pid;

	close(s->sock[0]);
	/* Dies with the relay; a relay already gone is no longer our parent. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != s->relay)
		_exit(CNTR_EXIT_FAILURE);
	/* A terminal from cntr's own /dev/pts, used only when the target's has none (a
	 * container without devpts): the session then works, but `tty` cannot name it. */
	if (s->tty && pty_open_in_session(&spare_master, &spare_slave, &err) < 0)
		log_skip("terminal from cntr's /dev/pts: %s", err.msg);
	if (copy_seccomp_filters(s, &err) < 0 || add_seccomp_profile(s, &err) < 0)
		ipc_fail_and_exit(sock, &err);
	/* Cloned here, still in cntr's own mount namespace: the session's has no way back to it. */
	if (s->opts->mode == SESSION_ATTACH &&
	    tools_tree_prepare(&s->opts->tools, s->opts->base_dir, s->target.ns.fd[NS_USER], &s->tools, &err) < 0)
		ipc_fail_and_exit(sock, &err);
	if (build_view(s, &err, &need_proc) < 0)
		ipc_fail_and_exit(sock, &err);
	pause_point("view");
	if (s->tty) {
		struct ipc_msg pty = { .type = IPC_PTY_MASTER };
		if (pty_open_in_session(&master, &slave, &err) < 0) {
			if (spare_master < 0)
				ipc_fail_and_exit(sock, &err);
			log_skip("%s; using a terminal from cntr's /dev/pts", err.msg);
			master = steal_fd(&spare_master);
			slave = steal_fd(&spare_slave);
		}
		/* The caller's size before the command can ask for it (the relay gets the master
		 * only after the command started: setting it there alone races `stty size`). */
		pty_sync_size(master);
		ipc_send(sock, &pty, master);
		close(master);
		cleanup_closep(&spare_master);
		cleanup_closep(&spare_slave);
	}
	for (size_t i = 0; i < sizeof(joined_by_setup) / sizeof(joined_by_setup[0]); i++)
		if (enter_namespace(s, joined_by_setup[i], &need_proc, &err) < 0)
			ipc_fail_and_exit(sock, &err);
	pause_point("joined");
	wait_for_cgroup(sock);
	if (target_check_alive(&s->target, &err) < 0)
		ipc_fail_and_exit(sock, &err);
	pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	if (pid < 0) {
		cntr_fail(&err, CNTR_EXIT_FAILURE, errno == ENOMEM ? 0 : errno, "%s",
			  errno == ENOMEM ? "target's pid namespace is gone: the target exited during attach"
					  : "start the command in the target's pid namespace (clone)");
		ipc_fail_and_exit(sock, &err);
	}
	if (pid == 0)
		run_command(s, need_proc, slave);
	msg.pid = pid;
	ipc_send(sock, &msg, -1);
	_exit(0);
}

/* Read the setup messages until every child end is closed: the command exec'd or failed. */
static int collect_setup(struct session *s, pid_t *command, int *master, struct cntr_err *err)
{
	struct ipc_msg msg;
	bool failed = false;
	int fd, rc;

	*command = -1;
	while ((rc = ipc_recv(s->sock[0], &msg, &fd)) > 0) {
		if (msg.type == IPC_PTY_MASTER)
			*master = fd;
		else if (msg.type == IPC_COMMAND_PID)
			*command = msg.pid;
		else if (msg.type == IPC_ERROR && !failed) {
			*err = msg.err;
			failed = true;
		}
		if (fd >= 0 && msg.type != IPC_PTY_MASTER)
			close(fd);
	}
	if (rc < 0)
		return cntr_fail_errno(err, "read the session's setup messages");
	if (failed)
		return -1;
	if (*command < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "the session's setup ended without starting the command");
	return 0;
}

static int exit_status_of(int status)
{
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int prepare(struct session *s, pid_t pid, unsigned long long start_time, struct cntr_err *err)
{
	bool attach = s->opts->mode == SESSION_ATTACH;

	if (attach && check_base_dir(s->opts->base_dir, err) < 0)
		return -1;
	if (target_open(pid, start_time, &s->target, err) < 0)
		return -1;
	pause_point("opened");
	s->tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	s->argv = command_argv(s->opts->argv, s->opts->mode, &s->opts->tools);
	s->env = command_environment(&s->target, s->opts->mode, s->tty);
	if (!s->argv || !s->env)
		return cntr_fail_errno(err, "prepare the command");
	for (char *const *kv = s->opts->extra_env; kv && *kv; kv++) {
		_cleanup_free_ char *key = xstrndup(*kv, strcspn(*kv, "="));
		if (strchr(*kv, '=') && env_set(&s->env, key, strchr(*kv, '=') + 1) < 0)
			return cntr_fail_errno(err, "prepare the command's environment");
	}
	s->relay = getpid();
	return ipc_socketpair(s->sock, err);
}

static void release(struct session *s)
{
	target_release(&s->target);
	seccomp_filters_release(&s->seccomp);
	tools_tree_release(&s->tools);
	strv_free(s->argv);
	strv_free(s->env);
	cleanup_closep(&s->sock[0]);
	cleanup_closep(&s->sock[1]);
}

static int block_relay_signals(struct session *s, struct cntr_err *err)
{
	static const int relayed[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGCHLD };
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(relayed) / sizeof(relayed[0]); i++)
		sigaddset(&mask, relayed[i]);
	if (sigprocmask(SIG_BLOCK, &mask, &s->old_mask) < 0)
		return cntr_fail_errno(err, "block signals");
	fd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (fd < 0)
		return cntr_fail_errno(err, "signalfd");
	return fd;
}

static int relay(struct session *s, pid_t setup, int sigfd, struct cntr_err *err)
{
	_cleanup_close_ int master = -1;
	struct termios saved;
	bool raw = false;
	pid_t command;
	int status = 0, rc;

	close(s->sock[1]);
	s->sock[1] = -1;
	if (move_into_cgroup(s, setup, err) < 0) {
		kill(setup, SIGKILL);
		waitpid(setup, NULL, 0);
		sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
		return -1;
	}
	rc = collect_setup(s, &command, &master, err);
	waitpid(setup, NULL, 0);
	if (rc < 0) {
		if (command > 0)
			waitpid(command, NULL, 0);
		sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
		return -1;
	}
	if (master >= 0) {
		pty_sync_size(master);
		if (tcgetattr(STDIN_FILENO, &saved) == 0) {
			struct termios r = saved;
			cfmakeraw(&r);
			raw = tcsetattr(STDIN_FILENO, TCSANOW, &r) == 0;
		}
	}
	rc = relay_until_exit(command, master, sigfd, &status, err);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigprocmask(SIG_SETMASK, &s->old_mask, NULL);
	if (rc < 0) {
		kill(command, SIGKILL);
		waitpid(command, NULL, 0);
		return -1;
	}
	/* When the target is its pid namespace's init, its exit makes the kernel SIGKILL the
	 * command: that is the target's exit, not the command's, and 137 would say otherwise. */
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && target_has_exited(&s->target))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "the target (pid %d) exited during the session; its pid namespace ended and "
				 "the command with it", (int)s->target.pid);
	return exit_status_of(status);
}

int run_session(pid_t pid, unsigned long long start_time, const struct session_opts *opts,
		struct cntr_err *err)
{
	struct session s = { .opts = opts, .sock = { -1, -1 }, .tools = { .proc_fd = -1, .capsule_fd = -1 } };
	_cleanup_close_ int sigfd = -1;
	pid_t setup;
	int rc = -1;

	if (prepare(&s, pid, start_time, err) < 0)
		goto out;
	log_info("attaching to pid %d (%s view)", (int)pid, opts->mode == SESSION_ATTACH ? "attach" : "exec");
	/* Blocked before the fork: a signal arriving during setup is queued for the relay,
	 * which forwards it to the command once it runs. The command restores the old mask. */
	sigfd = block_relay_signals(&s, err);
	if (sigfd < 0)
		goto out;
	/* A closed stdout must end the relay with an error, not kill it with the terminal raw;
	 * the command gets the default disposition back before exec. */
	signal(SIGPIPE, SIG_IGN);
	setup = fork();
	if (setup < 0) {
		cntr_fail_errno(err, "fork");
		sigprocmask(SIG_SETMASK, &s.old_mask, NULL);
		goto out;
	}
	if (setup == 0)
		run_setup_child(&s);
	rc = relay(&s, setup, sigfd, err);
out:
	release(&s);
	return rc;
}
