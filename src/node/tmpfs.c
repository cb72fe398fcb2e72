#include "tmpfs.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "syscalls.h"

int tmpfs_create_detached(const char *size, unsigned attrs, const char *what, struct cntr_err *err)
{
	_cleanup_close_ int fs = sys_fsopen("tmpfs", FSOPEN_CLOEXEC);
	int mnt;

	if (fs < 0 || sys_fsconfig(fs, CNTR_FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
	    sys_fsconfig(fs, CNTR_FSCONFIG_SET_STRING, "size", size, 0) < 0 ||
	    sys_fsconfig(fs, CNTR_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return cntr_fail_errno(err, "create %s (tmpfs, size %s)", what, size);
	mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC, attrs);
	if (mnt < 0)
		return cntr_fail_errno(err, "mount %s", what);
	return mnt;
}
