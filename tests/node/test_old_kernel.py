"""Older kernels (real nodes run 5.4 to 6.8): cntr detects features at run time. Each test runs
the real cntr with the system calls a given kernel lacks failing with ENOSYS (tests/node/
without_syscalls.c, a seccomp filter) and checks what the user sees."""
import os
import shutil
import tempfile
import unittest

from cntrtest import (CntrTestCase, cntr_binary, cntr_env, describe, images, ns_inodes, start)
import subprocess

SYSCALLS = {"open_tree": 428, "move_mount": 429, "fsopen": 430, "pidfd_open": 434,
            "close_range": 436, "openat2": 437, "mount_setattr": 442}


def without(*names):
    helper = os.environ.get("WITHOUT_SYSCALLS_BIN")
    if not helper:
        raise unittest.SkipTest("WITHOUT_SYSCALLS_BIN is not set (ctest sets it)")
    return [helper, ",".join(str(SYSCALLS[n]) for n in names)]


class OlderKernelTests(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "runc")

    def run_without(self, names, *args, expect=0):
        proc = subprocess.run(without(*names) + [cntr_binary()] + list(args), capture_output=True,
                              env=cntr_env(), stdin=subprocess.DEVNULL, timeout=120)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, describe(proc))
        return proc

    def test_kernel_without_the_mount_api_is_a_one_line_125(self):
        proc = self.run_without(["open_tree", "move_mount", "fsopen"], "attach",
                                str(self.target.pid), "--", "/bin/true", expect=None)
        err = self.assertOneLineError(proc, 125)
        self.assertIn("mount API", err)
        self.assertIn("5.2", err)

    def test_without_pidfd_close_range_and_openat2_the_session_still_works(self):
        # Linux 5.2: mount API, but no pidfd_open (5.3), openat2 (5.6), close_range (5.9).
        proc = self.run_without(["pidfd_open", "openat2", "close_range"], "attach",
                                str(self.target.pid), "--", "/bin/sh", "-c",
                                "readlink /proc/self/ns/net; cat /etc/hostname; ls /proc/self/fd")
        out = proc.stdout.decode().split("\n")
        self.assertEqual(out[0], ns_inodes(self.target.pid)["net"])
        self.assertEqual(out[1], open(self.target.root_path("etc/hostname")).read().strip())
        fds = sorted(int(fd) for fd in out[2:] if fd)
        self.assertEqual(fds[:3], [0, 1, 2])
        self.assertLessEqual(len(fds), 4, "only 0-2 (and ls's own directory fd): %s" % fds)

    def test_a_capsule_archive_without_openat2_is_a_one_line_125_and_nothing_is_cached(self):
        # Linux 5.2 to 5.5: images cannot be unpacked safely; a directory IMAGE still works.
        cache = tempfile.mkdtemp(prefix="cntr-cache.", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, cache, True)
        spec = images()["busybox"]
        proc = subprocess.run(without("openat2") + [cntr_binary(), "capsule", "run", spec["oci"],
                                                   str(self.target.pid), "--", "true"],
                              capture_output=True, env=cntr_env({"CNTR_CAPSULE_CACHE": cache}),
                              stdin=subprocess.DEVNULL, timeout=120)
        err = self.assertOneLineError(proc, 125)
        self.assertIn("openat2 (Linux 5.6)", err)
        self.assertEqual([e for e in os.listdir(cache) if not e.startswith(".archive")], [])
        ok = self.run_without(["openat2"], "capsule", "run", spec["rootfs"], str(self.target.pid), "--",
                              "/bin/sh", "-c", "echo ran")
        self.assertIn(b"] ran", ok.stdout)

    def test_without_mount_setattr_the_tools_are_still_read_only(self):
        # Linux 5.2 to 5.11: the tools are remounted read-only one by one once attached.
        self.addCleanup(lambda: os.path.exists("/usr/cntr-old-kernel-proof") and
                        os.unlink("/usr/cntr-old-kernel-proof"))
        proc = self.run_without(["mount_setattr"], "attach", str(self.target.pid), "--", "/bin/sh",
                                "-c", "(echo x > /usr/cntr-old-kernel-proof) 2>/dev/null && echo wrote; "
                                "awk '$5 == \"/\" || $5 == \"/usr\" || $5 == \"/etc/shadow\" "
                                "{ print $5, $6 }' /proc/self/mountinfo")
        lines = proc.stdout.decode().splitlines()
        self.assertNotIn("wrote", lines)
        self.assertFalse(os.path.exists("/usr/cntr-old-kernel-proof"))
        mounts = dict(line.split() for line in lines)
        self.assertEqual(sorted(mounts), ["/", "/etc/shadow", "/usr"])
        for mount_point, options in mounts.items():
            with self.subTest(mount_point=mount_point):
                self.assertLessEqual({"ro", "nosuid", "nodev"}, set(options.split(",")))

    def test_exec_view_without_pidfd(self):
        proc = self.run_without(["pidfd_open"], "exec", str(self.target.pid), "--", "/bin/sh", "-c",
                                "cat /etc/hostname")
        self.assertEqual(proc.stdout.decode().strip(),
                         open(self.target.root_path("etc/hostname")).read().strip())


if __name__ == "__main__":
    unittest.main()
