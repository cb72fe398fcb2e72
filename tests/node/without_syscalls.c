/* Run a program as if on an older kernel: the given system calls fail with ENOSYS (a seccomp
 * filter, inherited across exec). Lets the node tests check cntr's run-time feature detection
 * for real on a new kernel.   usage: without_syscalls NR[,NR...] PROGRAM [ARG...] */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_SYSCALLS 16

int main(int argc, char **argv)
{
	struct sock_filter insns[4 + 2 * MAX_SYSCALLS + 1];
	unsigned n = 0, count = 0;
	char *list, *save = NULL;

	if (argc < 3) {
		fprintf(stderr, "usage: %s NR[,NR...] PROGRAM [ARG...]\n", argv[0]);
		return 2;
	}
	/* Other architectures' syscalls pass unfiltered: only the native numbering is given. */
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	list = strdup(argv[1]);
	for (char *nr = strtok_r(list, ",", &save); nr && count < MAX_SYSCALLS; nr = strtok_r(NULL, ",", &save), count++) {
		insns[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)atoi(nr), 0, 1);
		insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
	}
	free(list);
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = insns };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		perror("seccomp");
		return 125;
	}
	execvp(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
