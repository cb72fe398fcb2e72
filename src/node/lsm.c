#include "lsm.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"
#include "target.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *apparmor_profile_from_label(char *buf)
{
	size_t len;
	char *mode;

	if (!buf)
		return NULL;
	len = strlen(buf);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	/* The kernel prints "profile (mode)"; attr/exec takes the bare profile name. */
	mode = strrchr(buf, '(');
	if (mode && mode > buf && mode[-1] == ' ' && buf[len - 1] == ')')
		mode[-1] = '\0';
	if (!*buf || strcmp(buf, "unconfined") == 0)
		return NULL;
	return buf;
}

static bool file_says_yes(const char *path)
{
	char c = 0;
	_cleanup_close_ int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	return fd >= 0 && read(fd, &c, 1) == 1 && (c == 'Y' || c == 'y' || c == '1');
}

enum lsm_kind detect_lsm(void)
{
	struct stat st;
	if (file_says_yes("/sys/module/apparmor/parameters/enabled") &&
	    stat("/sys/kernel/security/apparmor", &st) == 0)
		return LSM_APPARMOR;
	if (stat("/sys/fs/selinux/enforce", &st) == 0)
		return LSM_SELINUX;
	return LSM_NONE;
}

int lsm_exec_request(enum lsm_kind lsm, const struct target *t, char **request, struct cntr_err *err)
{
	const char *label = t->apparmor_label ? t->apparmor_label : t->lsm_label;
	_cleanup_free_ char *copy = NULL;
	const char *profile;

	*request = NULL;
	if (lsm == LSM_NONE) {
		log_skip("LSM label: neither AppArmor nor SELinux is active on this host");
		return 0;
	}
	if (!label && t->lsm_errnum)
		return cntr_fail(err, CNTR_EXIT_FAILURE, t->lsm_errnum,
				 "read the target's LSM label (/proc/%d/attr); refusing to run the session "
				 "without the target's profile", (int)t->pid);
	if (!label) {
		log_skip("LSM label: the target has none");
		return 0;
	}
	if (lsm == LSM_SELINUX) {
		*request = xstrdup(label);
		return 0;
	}
	copy = xstrdup(label);
	profile = apparmor_profile_from_label(copy);
	if (!profile) {
		log_skip("AppArmor: the target is unconfined");
		return 0;
	}
	*request = xasprintf("exec %s", profile);
	return 0;
}

int apply_target_lsm(const struct target *t, struct cntr_err *err)
{
	_cleanup_free_ char *request = NULL;
	enum lsm_kind lsm = (enum lsm_kind)t->lsm;

	if (lsm_exec_request(lsm, t, &request, err) < 0)
		return -1;
	if (!request)
		return 0;
	if (lsm == LSM_APPARMOR) {
		if (write_file_at(AT_FDCWD, "/proc/self/attr/apparmor/exec", request, err) == 0 ||
		    write_file_at(AT_FDCWD, "/proc/self/attr/exec", request, err) == 0)
			return 0;
		return cntr_err_prefix(err, "AppArmor '%s': ", request);
	}
	if (write_file_at(AT_FDCWD, "/proc/self/attr/exec", request, err) < 0)
		return cntr_err_prefix(err, "SELinux label '%s': ", request);
	return 0;
}
