#include "seccomp.h"

#include "common/err.h"
#include "common/log.h"
#include "filter_rewrite.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif
#ifndef PTRACE_SEIZE
#define PTRACE_SEIZE 0x4206
#define PTRACE_INTERRUPT 0x4207
#endif

static long trace(int req, pid_t pid, unsigned long addr, void *data)
{
	return syscall(SYS_ptrace, req, pid, addr, data);
}

static int append_filter(struct seccomp_filters *out, pid_t pid, unsigned long index, long len,
			 struct cntr_err *err)
{
	void *grown = realloc(out->progs, (out->n + 1) * sizeof(*out->progs));
	struct sock_filter *insns = calloc((size_t)len, sizeof(struct sock_filter));

	if (!grown || !insns) {
		free(insns);
		if (grown)
			out->progs = grown;
		return cntr_fail_errno(err, "allocate seccomp filter");
	}
	out->progs = grown;
	if (trace(PTRACE_SECCOMP_GET_FILTER, pid, index, insns) != len) {
		free(insns);
		return cntr_fail_errno(err, "read seccomp filter %lu of the target", index);
	}
	out->progs[out->n].insns = insns;
	out->progs[out->n].len = (unsigned short)len;
	out->n++;
	return 0;
}

static int read_all(pid_t pid, struct seccomp_filters *out, struct cntr_err *err)
{
	for (unsigned long i = 0;; i++) {
		long len = trace(PTRACE_SECCOMP_GET_FILTER, pid, i, NULL);
		if (len < 0 && errno == ENOENT)
			break;
		if (len < 0)
			return cntr_fail_errno(err, "read the target's seccomp filters (PTRACE_SECCOMP_GET_FILTER; "
						    "needs CONFIG_CHECKPOINT_RESTORE)");
		if (append_filter(out, pid, i, len, err) < 0)
			return -1;
	}
	/* Index 0 is the most recent filter: install in reverse to rebuild the same stack. */
	for (size_t a = 0, b = out->n ? out->n - 1 : 0; a < b; a++, b--) {
		__typeof__(*out->progs) tmp = out->progs[a];
		out->progs[a] = out->progs[b];
		out->progs[b] = tmp;
	}
	return 0;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int seccomp_read_filters(pid_t pid, struct seccomp_filters *out, struct cntr_err *err)
{
	int status, rc;
	double stopped;

	memset(out, 0, sizeof(*out));
	if (trace(PTRACE_SEIZE, pid, 0, NULL) < 0)
		return cntr_fail_errno(err, "ptrace the target %d to read its seccomp filters", (int)pid);
	/* The target is stopped from here to the detach: keep this window small. */
	stopped = now_us();
	if (trace(PTRACE_INTERRUPT, pid, 0, NULL) < 0 || waitpid(pid, &status, __WALL) < 0) {
		cntr_fail_errno(err, "stop the target %d", (int)pid);
		trace(PTRACE_DETACH, pid, 0, NULL);
		return -1;
	}
	rc = read_all(pid, out, err);
	trace(PTRACE_DETACH, pid, 0, NULL);
	/* bench/attach-latency reads this line (-v) to report what the copy costs the target. */
	if (rc == 0)
		log_info("seccomp: copied %zu filter(s) from the target, which was stopped for %.0f us", out->n,
			 now_us() - stopped);
	return rc;
}

int seccomp_install_filters(const struct seccomp_filters *f, struct cntr_err *err)
{
	for (size_t i = 0; i < f->n; i++) {
		struct sock_fprog prog = { .len = f->progs[i].len, .filter = f->progs[i].insns };
		if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
			return cntr_fail_errno(err, "install seccomp filter %zu", i);
	}
	return 0;
}

int seccomp_filters_append(struct seccomp_filters *f, const struct sock_filter *insns, unsigned len,
			   struct cntr_err *err)
{
	void *grown = realloc(f->progs, (f->n + 1) * sizeof(*f->progs));
	struct sock_filter *copy = calloc(len, sizeof(*copy));

	if (grown)
		f->progs = grown;
	if (!grown || !copy || len > 0xffff) {
		free(copy);
		return cntr_fail(err, CNTR_EXIT_FAILURE, ENOMEM, "allocate a seccomp program");
	}
	memcpy(copy, insns, len * sizeof(*copy));
	f->progs[f->n].insns = copy;
	f->progs[f->n].len = (unsigned short)len;
	f->n++;
	return 0;
}

void seccomp_filter_compact(struct seccomp_filters *f, size_t i)
{
	struct sock_filter *faster;
	uint32_t arches[2];
	unsigned len;
	double started = now_us();

	/* Not rewritten (small, unusual, out of memory): installed as it is. */
	if (!filter_rewrite_arches(arches) ||
	    filter_rewrite(f->progs[i].insns, f->progs[i].len, arches, &faster, &len) != 1)
		return;
	log_debug("seccomp: filter %zu rewritten for a fast install (%u -> %u instructions, %.0f us)", i,
		  (unsigned)f->progs[i].len, len, now_us() - started);
	free(f->progs[i].insns);
	f->progs[i].insns = faster;
	f->progs[i].len = (unsigned short)len;
}

void seccomp_filters_release(struct seccomp_filters *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->progs[i].insns);
	free(f->progs);
	memset(f, 0, sizeof(*f));
}
