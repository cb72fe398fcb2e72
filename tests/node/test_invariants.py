"""Invariants (docs/design.md §1): the target and the debug filesystem never change, nothing is left
behind (mounts, processes), the session holds only fds 0-2; each checked for attach and exec."""
import os
import shutil
import subprocess
import tempfile
import unittest

from cntrtest import (CntrTestCase, cntr_binary, cntr_env, host_mount_table,
                      pid_namespace_members, processes_running, read_file, run_reaped, start)

MODES = ("attach", "exec")


def tree_snapshot(root):
    """Every path under root with its type, mode, owner, size and mtime (nanoseconds)."""
    snapshot = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            snapshot[os.path.relpath(path, root)] = (st.st_mode, st.st_uid, st.st_gid,
                                                     st.st_size, st.st_mtime_ns)
    return snapshot


class InvariantTests:
    RUNTIME = None

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, cls.RUNTIME)

    def session(self, mode, command="true"):
        self.cntr(mode, str(self.target.pid), "--", "/bin/sh", "-c", command)

    def test_target_mountinfo_is_byte_identical(self):
        path = "/proc/%d/mountinfo" % self.target.pid
        for mode in MODES:
            with self.subTest(mode=mode):
                before = read_file(path, "rb")
                self.session(mode, "ls / >/dev/null")
                self.assertEqual(read_file(path, "rb"), before)

    def test_host_mount_table_is_unchanged(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                before = host_mount_table()
                self.session(mode)
                self.assertEqual(host_mount_table(), before)

    def test_no_process_is_left_behind(self):
        cntr = cntr_binary()
        members_before = pid_namespace_members(self.target.pid)
        cntr_before = set(processes_running(cntr))
        for mode in MODES:
            with self.subTest(mode=mode):
                proc, leftovers = run_reaped([mode, str(self.target.pid), "--", "/bin/sh", "-c",
                                              "echo session"])
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertEqual(proc.stdout, b"session\n")
                self.assertEqual(leftovers, [], "processes left after cntr exited")
                self.assertEqual(pid_namespace_members(self.target.pid), members_before)
                self.assertEqual(set(processes_running(cntr)) - cntr_before, set())

    def test_session_has_only_fds_0_1_2_even_when_cntr_inherits_more(self):
        inherited_r, inherited_w = os.pipe()
        self.addCleanup(os.close, inherited_r)
        self.addCleanup(os.close, inherited_w)
        for mode in MODES:
            with self.subTest(mode=mode):
                proc = subprocess.run(
                    [cntr_binary(), mode, str(self.target.pid), "--", "/bin/ls", "-l",
                     "/proc/self/fd"], capture_output=True, env=cntr_env(), timeout=120,
                    stdin=subprocess.DEVNULL, pass_fds=(inherited_r, inherited_w))
                self.assertEqual(proc.returncode, 0, proc.stderr)
                fds = []
                for line in proc.stdout.decode().splitlines():
                    fields = line.split()
                    if "->" not in fields:
                        continue
                    fd, link = fields[fields.index("->") - 1], fields[-1]
                    if not (link.startswith("/proc/") and link.endswith("/fd")):  # ls's own
                        fds.append(fd)
                self.assertEqual(sorted(fds), ["0", "1", "2"], proc.stdout.decode())

    def test_debug_side_etc_files_are_unchanged(self):
        names = [n for n in ("hostname", "hosts", "resolv.conf", "passwd", "group")
                 if os.path.exists("/etc/" + n)]
        before = {n: read_file("/etc/" + n, "rb") for n in names}
        self.session("attach", "cat /etc/hostname /etc/passwd >/dev/null")
        self.assertEqual({n: read_file("/etc/" + n, "rb") for n in names}, before)


class RuncInvariants(InvariantTests, CntrTestCase):
    RUNTIME = "runc"

    def test_nothing_is_written_into_the_target_filesystem(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                before = tree_snapshot(self.target.rootfs)
                self.session(mode, "ls -la / /srv >/dev/null; cat /etc/passwd >/dev/null")
                self.assertEqual(tree_snapshot(self.target.rootfs), before)


class DockerInvariants(InvariantTests, CntrTestCase):
    RUNTIME = "docker"


class UnshareInvariants(InvariantTests, CntrTestCase):
    RUNTIME = "unshare"


class BaseDirectory(CntrTestCase):
    """The debug filesystem never changes: the base dir is made in the session's own root."""

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "unshare")

    def setUp(self):
        self.parent = tempfile.mkdtemp(prefix="cntr-test-base.", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, self.parent, True)

    def test_missing_base_dir_is_used_without_being_created_on_the_host(self):
        base = os.path.join(self.parent, "mnt")
        out = self.attach_sh(self.target.pid, "readlink /proc/self/cwd; ls -A %s" % base,
                             env={"CNTR_BASE_DIR": base})
        cwd, listing = out.split("\n", 1)
        self.assertEqual(cwd, base)
        self.assertEqual(sorted(listing.split()), sorted(os.listdir(self.target.root_path())))
        self.assertEqual(os.listdir(self.parent), [])

    def test_existing_base_dir_is_left_as_it_was(self):
        base = os.path.join(self.parent, "mnt")
        os.mkdir(base, 0o700)
        with open(os.path.join(base, "keep"), "w") as f:
            f.write("host file\n")
        before = tree_snapshot(self.parent)
        self.attach_sh(self.target.pid, "test -e %s/srv/marker" % base,
                       env={"CNTR_BASE_DIR": base})
        self.assertEqual(tree_snapshot(self.parent), before)

    def test_default_base_dir_is_never_created_on_the_host(self):
        existed = os.path.isdir("/var/lib/cntr")
        var_lib = sorted(os.listdir("/var/lib"))
        self.attach_sh(self.target.pid, "test -d /var/lib/cntr/srv")
        self.assertEqual(sorted(os.listdir("/var/lib")), var_lib)
        self.assertEqual(os.path.isdir("/var/lib/cntr"), existed)

    def test_unusable_base_dirs_are_usage_errors(self):
        for base in ("relative/dir", "/", "/proc/cntr", "/var/../etc", "/sys"):
            with self.subTest(base=base):
                proc = self.cntr("attach", str(self.target.pid), "--", "true",
                                 env={"CNTR_BASE_DIR": base}, expect=None)
                self.assertIn("CNTR_BASE_DIR", self.assertOneLineError(proc, 2))


if __name__ == "__main__":
    unittest.main(verbosity=2)
