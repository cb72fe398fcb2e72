/* The terminal side of a session: a PTY allocated in the session's own /dev/pts (so `tty`
 * inside names a device the session can see), and the relay between it and cntr's terminal. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

struct cntr_err;

/* In the session's mount namespace: open a PTY pair; *master goes to the relay. */
int pty_open_in_session(int *master, int *slave, struct cntr_err *err);

/* In the command: new session, the slave as controlling terminal and as 0, 1, 2. */
int pty_become_controlling(int slave, struct cntr_err *err);

/* Relay loop run by cntr's own process until `child` exits; returns its wait status.
 * master < 0: no TTY (stdio passed straight through; only signals are handled here).
 * sigfd: signalfd for SIGINT/SIGTERM/SIGHUP/SIGQUIT (forwarded), SIGWINCH (resize), SIGCHLD. */
int relay_until_exit(pid_t child, int master, int sigfd, int *wait_status, struct cntr_err *err);

/* Copy cntr's terminal size to the PTY. */
void pty_sync_size(int master);
