/* cntr's built-in seccomp filter, for sessions whose target has none but whose profile asks for
 * one (--profile restricted: "the target's filter, else RuntimeDefault"). The calls it denies
 * (EPERM) are those a container runtime's default profile keeps from containers: kernel and
 * module control, namespaces and mounts, keyrings, BPF and perf, clock and swap control, other
 * processes' memory. Everything else is allowed: a denylist, smaller than a runtime's
 * allowlist, because it only has to take away what a debugging session never needs.
 * Written as classic BPF by hand: the static cntr links no libseccomp. The numbers are the
 * build architecture's (<sys/syscall.h>); any other architecture's calls are killed. */
#include "seccomp.h"

#include "common/err.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define CNTR_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define CNTR_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

static const long denied_calls[] = {
#ifdef SYS_acct
	SYS_acct,
#endif
#ifdef SYS_add_key
	SYS_add_key,
#endif
#ifdef SYS_bpf
	SYS_bpf,
#endif
#ifdef SYS_clock_adjtime
	SYS_clock_adjtime,
#endif
#ifdef SYS_clock_settime
	SYS_clock_settime,
#endif
#ifdef SYS_delete_module
	SYS_delete_module,
#endif
#ifdef SYS_finit_module
	SYS_finit_module,
#endif
#ifdef SYS_fsconfig
	SYS_fsconfig,
#endif
#ifdef SYS_fsmount
	SYS_fsmount,
#endif
#ifdef SYS_fsopen
	SYS_fsopen,
#endif
#ifdef SYS_fspick
	SYS_fspick,
#endif
#ifdef SYS_init_module
	SYS_init_module,
#endif
#ifdef SYS_ioperm
	SYS_ioperm,
#endif
#ifdef SYS_iopl
	SYS_iopl,
#endif
#ifdef SYS_kexec_file_load
	SYS_kexec_file_load,
#endif
#ifdef SYS_kexec_load
	SYS_kexec_load,
#endif
#ifdef SYS_keyctl
	SYS_keyctl,
#endif
#ifdef SYS_lookup_dcookie
	SYS_lookup_dcookie,
#endif
#ifdef SYS_mount
	SYS_mount,
#endif
#ifdef SYS_mount_setattr
	SYS_mount_setattr,
#endif
#ifdef SYS_move_mount
	SYS_move_mount,
#endif
#ifdef SYS_move_pages
	SYS_move_pages,
#endif
#ifdef SYS_name_to_handle_at
	SYS_name_to_handle_at,
#endif
#ifdef SYS_open_by_handle_at
	SYS_open_by_handle_at,
#endif
#ifdef SYS_open_tree
	SYS_open_tree,
#endif
#ifdef SYS_perf_event_open
	SYS_perf_event_open,
#endif
#ifdef SYS_pivot_root
	SYS_pivot_root,
#endif
#ifdef SYS_process_vm_readv
	SYS_process_vm_readv,
#endif
#ifdef SYS_process_vm_writev
	SYS_process_vm_writev,
#endif
#ifdef SYS_quotactl
	SYS_quotactl,
#endif
#ifdef SYS_reboot
	SYS_reboot,
#endif
#ifdef SYS_request_key
	SYS_request_key,
#endif
#ifdef SYS_setns
	SYS_setns,
#endif
#ifdef SYS_settimeofday
	SYS_settimeofday,
#endif
#ifdef SYS_swapoff
	SYS_swapoff,
#endif
#ifdef SYS_swapon
	SYS_swapon,
#endif
#ifdef SYS_umount2
	SYS_umount2,
#endif
#ifdef SYS_unshare
	SYS_unshare,
#endif
#ifdef SYS_uselib
	SYS_uselib,
#endif
#ifdef SYS_userfaultfd
	SYS_userfaultfd,
#endif
};

#define N_DENIED (sizeof(denied_calls) / sizeof(denied_calls[0]))

int seccomp_add_default(struct seccomp_filters *f, struct cntr_err *err)
{
#ifndef CNTR_AUDIT_ARCH
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "no built-in seccomp filter for this architecture");
#else
	/* arch check (3) + load nr (1) + x32 check (1) + one jump per denied call + allow + deny */
	size_t len = 5 + N_DENIED + 2, k = 0;
	struct sock_filter *p = calloc(len, sizeof(*p));
	void *grown = realloc(f->progs, (f->n + 1) * sizeof(*f->progs));

	if (!p || !grown) {
		free(p);
		if (grown)
			f->progs = grown;
		return cntr_fail_errno(err, "allocate the built-in seccomp filter");
	}
	f->progs = grown;
	p[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	p[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, CNTR_AUDIT_ARCH, 1, 0);
	p[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	p[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	/* x32 calls (x86_64's second numbering, bit 30) would name the same calls by other numbers. */
	p[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000U, (unsigned char)(N_DENIED + 1), 0);
	/* Denied call i jumps to the deny at the end: N_DENIED - i instructions ahead. */
	for (size_t i = 0; i < N_DENIED; i++)
		p[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)denied_calls[i],
						      (unsigned char)(N_DENIED - i), 0);
	p[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	p[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
	f->progs[f->n].insns = p;
	f->progs[f->n].len = (unsigned short)len;
	f->n++;
	return 0;
#endif
}
