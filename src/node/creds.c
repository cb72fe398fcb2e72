#include "creds.h"

#include "common/err.h"
#include "common/log.h"
#include "target.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef PR_SET_NO_NEW_PRIVS
#define PR_SET_NO_NEW_PRIVS 38
#endif

/* Names in the kernel's numbering (capability.h), for --cap-add and messages. */
static const char *const cap_names[] = {
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
	"setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
	"ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
	"sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
	"lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
	"wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
};
#define CAP_COUNT ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

int cntr_cap_from_name(const char *name)
{
	if (strncasecmp(name, "cap_", 4) == 0)
		name += 4;
	for (int i = 0; i < CAP_COUNT; i++)
		if (strcasecmp(name, cap_names[i]) == 0)
			return i;
	return -1;
}

struct cap_sets caps_after_exec(const struct cap_sets *c, uint32_t uid, bool noroot)
{
	struct cap_sets out = { .bnd = c->bnd, .inh = c->inh, .amb = c->amb };
	bool root_rules = uid == 0 && !noroot;

	/* capabilities(7), no file capabilities: root gets inheritable|bounding and all
	 * effective; everyone else gets the ambient set. */
	if (root_rules) {
		out.prm = (c->inh | c->bnd);
		out.eff = out.prm;
		out.amb = 0;
	} else {
		out.prm = c->amb;
		out.eff = c->amb;
	}
	return out;
}

struct cap_plan plan_capabilities(const struct cap_sets *target, uint32_t uid, const struct cap_change *change)
{
	struct cap_plan plan = { .exact = true };
	struct cap_sets want = *target, got;
	uint64_t keep = ~change->drop;

	want.bnd = (want.bnd & keep) | change->add;
	want.prm = (want.prm & keep) | change->add;
	want.eff = (want.eff & keep) | change->add;
	want.inh &= keep;
	want.amb &= keep;
	plan.caller = want;
	plan.caller.amb = want.amb & want.prm & want.inh;
	got = caps_after_exec(&plan.caller, uid, false);
	if (got.prm == want.prm && got.eff == want.eff && got.amb == want.amb)
		return plan;
	/* uid 0 would regain the whole bounding set: SECBIT_NOROOT and the ambient set carry
	 * exactly the permitted set instead (ambient needs the caps inheritable too). */
	if (uid == 0) {
		plan.noroot = true;
		plan.caller.inh = want.inh | want.prm;
		plan.caller.amb = want.prm;
		got = caps_after_exec(&plan.caller, uid, true);
		plan.exact = got.prm == want.prm && got.eff == want.eff && plan.caller.inh == want.inh;
		return plan;
	}
	/* Non-root: after exec permitted = ambient; a target whose permitted set exceeds its
	 * ambient set got it from file capabilities we cannot reproduce: give the ambient only. */
	plan.exact = false;
	return plan;
}

static int sys_capset(const struct cap_sets *s)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = {
		{ (uint32_t)s->eff, (uint32_t)s->prm, (uint32_t)s->inh },
		{ (uint32_t)(s->eff >> 32), (uint32_t)(s->prm >> 32), (uint32_t)(s->inh >> 32) },
	};
	return (int)syscall(SYS_capset, &hdr, data);
}

static int sys_capget(struct cap_sets *s)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	s->eff = data[0].effective | ((uint64_t)data[1].effective << 32);
	s->prm = data[0].permitted | ((uint64_t)data[1].permitted << 32);
	s->inh = data[0].inheritable | ((uint64_t)data[1].inheritable << 32);
	return 0;
}

/* A plain read, not stdio: this runs in the command right before its exec (a FILE costs a
 * buffer allocation and more syscalls). */
static int last_cap(void)
{
	char text[16];
	int last = CAP_COUNT - 1;
	ssize_t n = -1;
	int fd = openat(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		close(fd);
	}
	if (n > 0) {
		text[n] = '\0';
		if (sscanf(text, "%d", &last) != 1)
			last = CAP_COUNT - 1;
	}
	return last;
}

static int drop_bounding(uint64_t keep, struct cntr_err *err)
{
	int last = last_cap();
	for (int c = 0; c <= last && c < 64; c++) {
		if (keep & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return cntr_fail_errno(err, "drop capability %d from the bounding set", c);
	}
	return 0;
}

static int switch_ids(const struct target *t, struct cntr_err *err)
{
	if (t->setgroups_allowed) {
		if (setgroups(t->inner_ngroups, t->inner_groups) < 0)
			return cntr_fail_errno(err, "set supplementary groups");
	} else {
		log_skip("supplementary groups: setgroups is denied in the target's user namespace");
	}
	if (setresgid(t->inner_gid[ID_REAL], t->inner_gid[ID_EFFECTIVE], t->inner_gid[ID_SAVED]) < 0)
		return cntr_fail_errno(err, "set gid %u", (unsigned)t->inner_gid[ID_EFFECTIVE]);
	if (setresuid(t->inner_uid[ID_REAL], t->inner_uid[ID_EFFECTIVE], t->inner_uid[ID_SAVED]) < 0)
		return cntr_fail_errno(err, "set uid %u", (unsigned)t->inner_uid[ID_EFFECTIVE]);
	return 0;
}

static int raise_ambient(uint64_t amb, struct cntr_err *err)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		if (amb)
			return cntr_fail_errno(err, "ambient capabilities (kernel < 4.3?)");
		return 0;
	}
	for (int c = 0; c < 64; c++)
		if ((amb & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			return cntr_fail_errno(err, "raise ambient capability %s",
					       c < CAP_COUNT ? cap_names[c] : "?");
	return 0;
}

int apply_target_bounding_set(const struct target *t, const struct cap_change *change, struct cntr_err *err)
{
	const struct proc_status *st = &t->status;
	struct cap_sets target = { st->cap_bnd, st->cap_prm, st->cap_eff, st->cap_inh, st->cap_amb };

	return drop_bounding(plan_capabilities(&target, t->inner_uid[ID_EFFECTIVE], change).caller.bnd, err);
}

int apply_target_credentials(const struct target *t, const struct cap_change *change, struct cntr_err *err)
{
	const struct proc_status *st = &t->status;
	struct cap_sets target = { st->cap_bnd, st->cap_prm, st->cap_eff, st->cap_inh, st->cap_amb };
	struct cap_plan plan = plan_capabilities(&target, t->inner_uid[ID_EFFECTIVE], change);
	struct cap_sets now;
	int secbits = SECBIT_KEEP_CAPS | SECBIT_NO_SETUID_FIXUP;

	if (!plan.exact)
		log_info("capabilities: the command gets fewer than the target (target permitted %#llx, "
			 "ambient %#llx; file capabilities are not reproduced)",
			 (unsigned long long)target.prm, (unsigned long long)target.amb);
	/* Keep the permitted set across the uid change; lock nothing so the command behaves as
	 * the target (only NOROOT when needed, see plan_capabilities). */
	if (plan.noroot)
		secbits |= SECBIT_NOROOT;
	if (prctl(PR_SET_SECUREBITS, secbits, 0, 0, 0) < 0)
		return cntr_fail_errno(err, "set securebits");
	if (switch_ids(t, err) < 0)
		return -1;
	if (sys_capget(&now) < 0)
		return cntr_fail_errno(err, "capget");
	/* Inheritable first (needs CAP_SETPCAP, still effective), then ambient (needs the caps
	 * permitted and inheritable), then narrow permitted/effective to the plan. */
	now.inh = plan.caller.inh;
	if (sys_capset(&now) < 0)
		return cntr_fail_errno(err, "set inheritable capabilities");
	if (raise_ambient(plan.caller.amb, err) < 0)
		return -1;
	/* KEEP_CAPS and NO_SETUID_FIXUP served the uid change only; reset them while
	 * CAP_SETPCAP is still effective so the command's securebits are the target's. */
	if (prctl(PR_SET_SECUREBITS, plan.noroot ? SECBIT_NOROOT : 0, 0, 0, 0) < 0)
		return cntr_fail_errno(err, "reset securebits");
	if (sys_capset(&plan.caller) < 0)
		return cntr_fail_errno(err, "set capabilities");
	if ((st->no_new_privs == 1 || change->no_new_privs) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return cntr_fail_errno(err, "set no_new_privs");
	return 0;
}

int check_privileges(struct cntr_err *err)
{
	static const int needed[] = { CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_SYS_CHROOT };
	struct cap_sets own;

	if (sys_capget(&own) < 0)
		return cntr_fail_errno(err, "capget");
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!(own.eff & (1ULL << needed[i])))
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
					 "not permitted: cntr needs capability %s (run it as root, e.g. with sudo)",
					 cap_names[needed[i]]);
	return 0;
}
