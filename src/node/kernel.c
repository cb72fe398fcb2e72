#include "kernel.h"

#include "common/err.h"
#include "syscalls.h"

#include <errno.h>

int check_mount_api(struct cntr_err *err)
{
	/* open_tree with an invalid fd distinguishes "missing syscall" (ENOSYS) from "present"
	 * (EBADF) without touching any mount. */
	if (sys_open_tree(-1, "", 0) < 0 && errno == ENOSYS)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "this kernel has no mount API (open_tree/move_mount, Linux >= 5.2 needed)");
	return 0;
}
