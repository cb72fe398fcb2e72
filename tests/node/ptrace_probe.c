/* The attacker's tool in TracingTarget (test_containment.py): try to attach to a process
 * (PTRACE_SEIZE) and detach again. Static, so it runs in any target image.
 *   usage: ptrace_probe PID   prints "attached" (exit 0) or "denied: ERROR" (exit 1) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>

int main(int argc, char **argv)
{
	pid_t pid;

	if (argc != 2)
		return 2;
	pid = (pid_t)atoi(argv[1]);
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0) {
		printf("denied: %s\n", strerror(errno));
		return 1;
	}
	ptrace(PTRACE_DETACH, pid, 0, 0);
	printf("attached\n");
	return 0;
}
