#include "session.h"

#include "cgroup.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "cpu_split.h"
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
#include <linux/filter.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* Everything the command needs, prepared by the relay before forking it. */
struct session {
	const struct session_opts *opts;
	struct target target;
	char **argv, **env;
	bool tty;
	bool private_pid;       /* a capsule's own pid namespace: the command is its init */
	struct seccomp_filters seccomp;
	struct tools_tree tools; /* attach: the session's "/" (cloned in cntr's mount namespace) */
	struct cpu_split cpus;  /* relay and command apart during the setup */
	int sock[2];            /* [0] relay end, [1] the command's end */
	int cgroup_dir;         /* the target's cgroup v2, the command is forked into, or -1 */
	int cgroup_mount;       /* a fresh mount holding it (hybrid hosts), or -1: closed by the
				 * relay after the "go", the unmount's RCU grace period off the
				 * command's path */
	sigset_t old_mask;
};

/* Namespaces the command joins after its mount view is built. The user namespace comes
 * after them (prepare_identity): until then the setup needs init-namespace privileges
 * (mounts). The pid namespace is not here: it only takes effect for children, so the relay
 * enters it for the fork (fork_command). */
static const enum ns_kind joined_by_command[] = { NS_UTS, NS_IPC, NS_NET, NS_CGROUP, NS_TIME };

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

/* What the command can do before the "go" once its namespaces are joined, so that it is done
 * while the relay may still be at work: nothing here depends on the cgroups, and none of it
 * takes effect before exec (the LSM label is an exec label, the bounding set only limits
 * what exec can grant). The user namespace comes last among the namespaces: until then the
 * setup needs the initial one's privileges (mounts, a fresh procfs). */
static int prepare_identity(const struct session *s, bool need_proc, struct cntr_err *err)
{
	const struct target *t = &s->target;

	if (need_proc && mount_fresh_proc(err) < 0)
		return -1;
	if (apply_target_lsm(t, err) < 0 || join_namespace(&t->ns, NS_USER, err) < 0)
		return -1;
	return apply_target_bounding_set(t, &s->opts->caps, err);
}

/* The last steps before exec, in the target's cgroups: ids, capabilities, the seccomp
 * filters. The command never execs before the "go". */
__attribute__((noreturn)) static void finish_and_exec(struct session *s, int slave)
{
	struct cntr_err err = { 0 };
	const struct target *t = &s->target;
	int sock = s->sock[1];
	bool nnp = t->status.no_new_privs == 1 || s->opts->caps.no_new_privs;
	struct ipc_msg starting = { .type = IPC_STARTING };

	/* From here on a death is the command's own (its exit status tells), not the setup's. */
	if (ipc_send(sock, &starting, -1) < 0)
		_exit(CNTR_EXIT_FAILURE);
	/* In the target's cgroups now: its cpuset narrows the mask. */
	cpu_split_restore(&s->cpus);
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

/* Whether the session gets the target's namespace of this kind: always, but for a capsule
 * that does not share it (it gets a private one). The time namespace is only ever joined: a
 * new one would show the same clocks. */
static bool joins_target_namespace(const struct session *s, enum ns_kind kind)
{
	return !s->opts->share || (s->opts->share & (1U << kind)) || kind == NS_TIME;
}

/* Join the target's namespace of this kind, or make a new private one. */
static int enter_namespace(const struct session *s, enum ns_kind kind, struct cntr_err *err)
{
	if (joins_target_namespace(s, kind))
		return join_namespace(&s->target.ns, kind, err);
	if (unshare(ns_table[kind].clone_flag) < 0)
		return cntr_fail_errno(err, "create a private %s namespace for the capsule", ns_table[kind].name);
	log_debug("capsule: private %s namespace", ns_table[kind].name);
	return 0;
}

/* Never more than the target (docs/security.md): its filters are copied unless --no-seccomp
 * (or --seccomp-profile unconfined) asked for a session without them. */
static int copy_seccomp_filters(struct session *s, pid_t pid, struct cntr_err *err)
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
	if (seccomp_read_filters(pid, &s->seccomp, err) < 0)
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

/* While the command builds its view, the relay hands it its cgroups (cgroup.h: the v1
 * hierarchies it joins itself; the v2 one it was forked into), reads the target's seccomp
 * filters and sends them, rewritten for a fast install, then says "go". The command never
 * execs before it, so it runs in the target's cgroups from its first step that matters on. */
static const char relay_go = 'G';

/* One filter for the command, followed by its instructions, in one message. */
struct filter_message {
	uint32_t index, len;
};

/* Every filter, in install order, rewritten for a fast install where that works
 * (filter_rewrite.h: ~0.7 ms less in the command's install). */
static int send_filters(struct session *s, struct cntr_err *err)
{
	for (size_t i = 0; i < s->seccomp.n; i++) {
		struct filter_message head = { (uint32_t)i, 0 };
		struct iovec parts[2];
		struct msghdr msg = { .msg_iov = parts, .msg_iovlen = 2 };

		seccomp_filter_compact(&s->seccomp, i);
		head.len = s->seccomp.progs[i].len;
		parts[0] = (struct iovec){ &head, sizeof(head) };
		parts[1] = (struct iovec){ s->seccomp.progs[i].insns, head.len * sizeof(struct sock_filter) };
		/* A command that already failed has closed its end: its error comes from collect_setup. */
		if (sendmsg(s->sock[0], &msg, MSG_NOSIGNAL) < 0) {
			if (errno == EPIPE || errno == ECONNRESET)
				return 0;
			return cntr_fail_errno(err, "send the seccomp filter to the session's command");
		}
	}
	return 0;
}

/* The target's filters and the chosen profile. Read after the fork, by the relay (it sees the
 * target by its host PID): the ptrace stop and its wake-ups overlap the command's setup
 * instead of delaying the fork. */
static int read_seccomp(struct session *s, struct cntr_err *err)
{
	return copy_seccomp_filters(s, s->target.pid, err) < 0 || add_seccomp_profile(s, err) < 0 ? -1 : 0;
}

/* The v1 cgroup files the command writes "0" to itself (cgroup.h), in one message. */
static const char relay_cgroups = 'C';

static int send_cgroup_self_moves(struct session *s, const struct cgroup_self_moves *moves, struct cntr_err *err)
{
	_Static_assert((int)CGROUP_SELF_MOVES_MAX <= (int)IPC_FDS_MAX, "one message");
	if (moves->n && ipc_send_with_fds(s->sock[0], &relay_cgroups, 1, moves->fds, moves->n) < 0 &&
	    errno != EPIPE && errno != ECONNRESET)
		return cntr_fail_errno(err, "send the target's cgroups to the session's command");
	return 0;
}

/* The cgroups first: the command joins them as soon as its view is built, while the relay
 * reads and rewrites the seccomp filters. */
static int hand_over_cgroups(struct session *s, pid_t command, struct cntr_err *err)
{
	struct cgroup_self_moves moves = { .n = 0 };
	int rc = join_target_cgroup(&s->target, command, &moves, err) < 0 ? -1 : send_cgroup_self_moves(s, &moves, err);

	cgroup_self_moves_release(&moves);
	return rc;
}

static int start_command(struct session *s, pid_t command, struct cntr_err *err)
{
	if (hand_over_cgroups(s, command, err) < 0 || read_seccomp(s, err) < 0 || send_filters(s, err) < 0)
		return -1;
	if (send(s->sock[0], &relay_go, 1, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
		return cntr_fail_errno(err, "tell the session's command that it joined the target's cgroups");
	cleanup_closep(&s->cgroup_dir);
	cleanup_closep(&s->cgroup_mount);
	return 0;
}

/* The command's half: its cgroups (it joins them itself, cgroup.h) and the filters, in
 * order, until the "go". Anything else (the relay's end closed: it failed, and reports why)
 * ends the setup. The buffer is static: only the pages a message fills are ever touched (a
 * 32 KiB malloc here cost the attach an mmap, faults and a munmap). */
static void wait_for_relay(struct session *s, int sock)
{
	static unsigned char message[sizeof(struct filter_message) + BPF_MAXINSNS * sizeof(struct sock_filter)];
	struct filter_message head;
	struct cntr_err err = { 0 };
	ssize_t n;

	for (;;) {
		struct cgroup_self_moves moves = { .n = 0 };

		n = ipc_recv_with_fds(sock, message, sizeof(message), moves.fds, CGROUP_SELF_MOVES_MAX, &moves.n);
		if (n == 1 && message[0] == relay_go)
			return;
		if (n == 1 && message[0] == relay_cgroups) {
			if (cgroup_self_moves_apply(&moves, &err) < 0)
				ipc_fail_and_exit(sock, &err);
			continue;
		}
		cgroup_self_moves_release(&moves);
		if (n < (ssize_t)sizeof(head))
			_exit(CNTR_EXIT_FAILURE);
		memcpy(&head, message, sizeof(head));
		if (head.index != s->seccomp.n || head.len == 0 || head.len > BPF_MAXINSNS ||
		    (size_t)n != sizeof(head) + head.len * sizeof(struct sock_filter) ||
		    seccomp_filters_append(&s->seccomp, (const struct sock_filter *)(message + sizeof(head)), head.len,
					   &err) < 0)
			_exit(CNTR_EXIT_FAILURE);
	}
}

/* The command's process from the fork to exec: it builds the view, joins the namespaces,
 * waits to be in the target's cgroups and becomes the command. */
__attribute__((noreturn)) static void run_command(struct session *s)
{
	struct cntr_err err = { 0 };
	int sock = s->sock[1], master = -1, slave = -1, spare_master = -1, spare_slave = -1;
	bool need_proc;

	/* Not dumpable until exec (which makes the tools' image dumpable again, as any program):
	 * the command is born in the target's pid namespace with cntr's privileges and, once in
	 * the target's user namespace, a target process with CAP_SYS_PTRACE there could attach
	 * to it; without a dumpable mm that takes CAP_SYS_PTRACE in the initial user namespace
	 * (tests/node/test_containment.py, TracingTarget). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		_exit(CNTR_EXIT_FAILURE);
	cpu_split_leave_relay(&s->cpus);
	cleanup_closep(&s->sock[0]);
	cleanup_closep(&s->cgroup_dir);
	cleanup_closep(&s->cgroup_mount);
	/* Dies with the relay (the credential switch clears this: set again in finish_and_exec).
	 * Born in the target's pid namespace, getppid() says 0: the socket tells whether the
	 * relay is still there. */
	die_with_relay(sock);
	/* A terminal from cntr's own /dev/pts, used only when the target's has none (a
	 * container without devpts): the session then works, but `tty` cannot name it. */
	if (s->tty && pty_open_in_session(&spare_master, &spare_slave, &err) < 0)
		log_skip("terminal from cntr's /dev/pts: %s", err.msg);
	/* Cloned here, still in cntr's own mount namespace: the session's has no way back to it. */
	if (s->opts->mode == SESSION_ATTACH &&
	    tools_tree_prepare(&s->opts->tools, s->opts->base_dir, s->target.ns.fd[NS_USER], &s->tools, &err) < 0)
		ipc_fail_and_exit(sock, &err);
	if (build_view(s, &err, &need_proc) < 0)
		ipc_fail_and_exit(sock, &err);
	/* A new pid namespace needs a procfs of its own. */
	need_proc = need_proc || s->private_pid;
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
	for (size_t i = 0; i < sizeof(joined_by_command) / sizeof(joined_by_command[0]); i++)
		if (enter_namespace(s, joined_by_command[i], &err) < 0)
			ipc_fail_and_exit(sock, &err);
	if (prepare_identity(s, need_proc, &err) < 0)
		ipc_fail_and_exit(sock, &err);
	pause_point("joined");
	wait_for_relay(s, sock);
	finish_and_exec(s, slave);
}

/* setns(CLONE_NEWPID) and unshare(CLONE_NEWPID) change only the pid namespace of the caller's
 * children: the relay enters the command's for the fork and returns to its own right after,
 * so that nothing else it forks (a capsule's next session) lands there. */
static int enter_pid_namespace_for_fork(const struct session *s, int *own, struct cntr_err *err)
{
	int target = s->target.ns.fd[NS_PID];

	*own = -1;
	if (!s->private_pid && target < 0)
		return 0;
	*own = openat(AT_FDCWD, "/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (*own < 0)
		return cntr_fail_errno(err, "open /proc/self/ns/pid");
	if (s->private_pid) {
		if (unshare(CLONE_NEWPID) < 0)
			return cntr_fail_errno(err, "create a private pid namespace for the capsule");
		log_debug("capsule: private pid namespace");
		return 0;
	}
	return join_namespace(&s->target.ns, NS_PID, err);
}

/* The command's process: forked in the target's pid namespace (or a capsule's own). */
static pid_t fork_command(struct session *s, struct cntr_err *err)
{
	_cleanup_close_ int own = -1;
	pid_t pid;
	int saved;

	s->private_pid = !joins_target_namespace(s, NS_PID);
	s->cgroup_dir = open_target_unified_cgroup(&s->target, &s->cgroup_mount);
	if (enter_pid_namespace_for_fork(s, &own, err) < 0) {
		if (own >= 0)
			setns(own, CLONE_NEWPID);
		return -1;
	}
	cpu_split_prepare(&s->cpus);
	pid = fork_into_cgroup(s->cgroup_dir);
	if (pid == 0)
		run_command(s);
	saved = errno;
	if (pid > 0)
		cpu_split_move_command(&s->cpus, pid);
	if (own >= 0 && setns(own, CLONE_NEWPID) < 0) {
		cntr_fail_errno(err, "return to cntr's own pid namespace");
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return -1;
	}
	if (pid < 0) {
		/* A pid namespace whose init has exited takes no new process. */
		if (saved == ENOMEM && s->target.ns.fd[NS_PID] >= 0 && !s->private_pid)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
					 "target's pid namespace is gone: the target exited during attach");
		errno = saved;
		return cntr_fail_errno(err, "start the command (fork)");
	}
	return pid;
}

/* Read the setup messages until the command's end is closed: it exec'd or failed. */
static int collect_setup(struct session *s, int *master, struct cntr_err *err)
{
	struct ipc_msg msg;
	bool failed = false, starting = false;
	int fd, rc;

	while ((rc = ipc_recv(s->sock[0], &msg, &fd)) > 0) {
		if (msg.type == IPC_PTY_MASTER)
			*master = fd;
		else if (msg.type == IPC_STARTING)
			starting = true;
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
	/* Closed after "starting" without an error: the command exec'd (or died starting: its
	 * exit status tells). Closed before: the setup died, taken by the target's exit (a pid
	 * namespace ends with its init) or killed. */
	if (starting)
		return 0;
	if (target_has_exited(&s->target))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "target process %d exited during attach",
				 (int)s->target.pid);
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "the session's setup ended without starting the command");
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
	cleanup_closep(&s->cgroup_dir);
	cleanup_closep(&s->cgroup_mount);
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

static int relay(struct session *s, pid_t command, int sigfd, struct cntr_err *err)
{
	_cleanup_close_ int master = -1;
	struct termios saved;
	bool raw = false;
	int status = 0, rc;

	cleanup_closep(&s->sock[1]);
	if (start_command(s, command, err) < 0 || collect_setup(s, &master, err) < 0) {
		kill(command, SIGKILL);
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
	struct session s = { .opts = opts, .sock = { -1, -1 }, .cgroup_dir = -1, .cgroup_mount = -1,
			     .tools = { .proc_fd = -1, .capsule_fd = -1 } };
	_cleanup_close_ int sigfd = -1;
	pid_t command;
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
	command = fork_command(&s, err);
	if (command < 0) {
		sigprocmask(SIG_SETMASK, &s.old_mask, NULL);
		goto out;
	}
	rc = relay(&s, command, sigfd, err);
out:
	release(&s);
	return rc;
}
