"""`cntr attach`: what the session sees (docs/design.md §1 table), checked from outside against the
target's /proc, on every runtime and on the image variants (scratch, merged /usr, read-only root
with volumes, uid 1000 with few capabilities)."""
import os
import secrets
import shutil
import tempfile
import unittest

from cntrtest import (CAP_FIELDS, DEBUG_PATH, NS_NAMES, CntrTestCase, cntr_env, environ_of, ns_inodes,
                      ns_pid, parse_environ, parse_status, pid_namespace_members, proc_status,
                      read_file, start)

ETC_FILES = ("hostname", "hosts", "resolv.conf", "passwd", "group", "localtime")


class CapabilityTargets:
    """Targets whose identity is the point of the test: uid, groups and few capabilities."""

    def assertCredentialsMatch(self):
        out = self.cntr("attach", str(self.target.pid), "--", "/bin/cat",
                        "/proc/self/status").stdout.decode()
        inside, target = parse_status(out), proc_status(self.target.pid)
        for field in ("Uid", "Gid", "Groups", "NoNewPrivs") + CAP_FIELDS:
            with self.subTest(field=field):
                self.assertEqual(inside[field], target[field])


class AttachViewTests(CapabilityTargets):
    """Mixed into one TestCase per runtime; RUNTIME names it."""
    RUNTIME = None
    START = {}

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, cls.RUNTIME, **cls.START)

    def test_root_is_the_debug_filesystem(self):
        out = self.attach_sh(self.target.pid, "cat /etc/debian_version; "
                             "test -x /usr/bin/python3 && echo host-python-visible")
        self.assertFalse(os.path.exists(self.target.root_path("usr/bin/python3")),
                         "precondition: the target image has no python3")
        self.assertEqual(out, read_file("/etc/debian_version") + "host-python-visible\n")

    def test_var_lib_cntr_has_every_top_level_entry_of_the_target_root(self):
        out = self.attach_sh(self.target.pid, "ls -A /var/lib/cntr")
        self.assertEqual(sorted(out.split()), sorted(os.listdir(self.target.root_path())))

    def test_var_lib_cntr_shows_target_files(self):
        out = self.attach_sh(self.target.pid, "cat /var/lib/cntr/srv/marker")
        self.assertEqual(out, read_file(self.target.root_path("srv/marker")))

    def test_writes_under_var_lib_cntr_land_in_the_target(self):
        name = "written-" + secrets.token_hex(4)
        self.addCleanup(lambda: os.path.exists(self.target.root_path("srv/" + name)) and
                        os.unlink(self.target.root_path("srv/" + name)))
        self.attach_sh(self.target.pid, "echo from-session > /var/lib/cntr/srv/" + name)
        self.assertEqual(read_file(self.target.root_path("srv/" + name)), "from-session\n")

    def test_proc_shows_only_the_target_pid_namespace(self):
        members = {ns_pid(pid): proc_status(pid)["Name"]
                   for pid in pid_namespace_members(self.target.pid)}
        out = self.attach_sh(self.target.pid, "ps -e -o pid=,comm=")
        seen = dict(line.split(None, 1) for line in out.strip().splitlines())
        seen = {int(pid): comm.strip() for pid, comm in seen.items()}
        for pid, comm in members.items():
            self.assertEqual(seen.get(pid), comm, "target process %d missing from ps:\n%s"
                             % (pid, out))
        extra = {comm for pid, comm in seen.items() if pid not in members}
        self.assertLessEqual(extra, {"sh", "ps"}, "processes from outside the target:\n" + out)
        self.assertIn(ns_pid(self.target.pid), seen)

    def test_dev_and_sys_are_the_targets(self):
        out = self.attach_sh(self.target.pid, "ls -A /dev; echo ---; ls -A /sys/class/net")
        dev, net = out.split("---\n")
        self.assertEqual(sorted(dev.split()), sorted(os.listdir(self.target.root_path("dev"))))
        self.assertEqual(sorted(net.split()),
                         sorted(os.listdir(self.target.root_path("sys/class/net"))))

    def test_etc_files_are_the_targets_or_else_the_debug_sides(self):
        for name in ETC_FILES:
            with self.subTest(file=name):
                target_file = self.target.root_path("etc/" + name)
                expected_path = target_file if os.path.exists(target_file) else "/etc/" + name
                if not os.path.exists(expected_path):
                    continue
                out = self.cntr("attach", str(self.target.pid), "--", "/bin/cat",
                                "/etc/" + name).stdout
                self.assertEqual(out, read_file(expected_path, "rb"))

    def test_every_namespace_is_the_targets(self):
        script = "; ".join("echo %s $(readlink /proc/self/ns/%s)" % (ns, ns) for ns in
                           NS_NAMES + ("mnt",))
        out = self.attach_sh(self.target.pid, script)
        inside = dict(line.split() for line in out.strip().splitlines())
        target = ns_inodes(self.target.pid)
        for ns in NS_NAMES:
            with self.subTest(ns=ns):
                self.assertEqual(inside[ns], target[ns])
        # mnt is a private copy: neither the target's nor the host's.
        self.assertNotEqual(inside["mnt"], target["mnt"])
        self.assertNotEqual(inside["mnt"], os.readlink("/proc/self/ns/mnt"))

    def test_cgroup_is_the_targets(self):
        # Both read inside the session, so both are rendered relative to the same cgroup ns.
        out = self.attach_sh(self.target.pid, "cat /proc/self/cgroup; echo ---; cat /proc/%d/cgroup"
                             % ns_pid(self.target.pid))
        own, target = out.split("---\n")
        self.assertEqual(own, target)
        if self.RUNTIME != "unshare":  # precondition: the target has a cgroup of its own
            self.assertNotEqual(read_file("/proc/%d/cgroup" % self.target.pid),
                                read_file("/proc/self/cgroup"))

    def test_credentials_and_capabilities_are_the_targets(self):
        self.assertCredentialsMatch()

    def test_environment_is_the_targets_with_the_debug_path_and_home(self):
        out = self.cntr("attach", str(self.target.pid), "--", "/bin/cat",
                        "/proc/self/environ").stdout
        inside, expected = parse_environ(out), environ_of(self.target.pid)
        expected["PATH"] = DEBUG_PATH
        expected["HOME"] = cntr_env()["HOME"]
        # Without a TTY, whether TERM comes from the target or the caller is not specified.
        inside.pop("TERM", None)
        expected.pop("TERM", None)
        self.assertEqual(inside, expected)

    def test_cpus_allowed_are_the_targets(self):
        # During the setup the command leaves the relay's CPU (src/node/cpu_split.c); it must
        # exec with the mask it would have had without that: cntr's, within the target's cpuset.
        out = self.attach_sh(self.target.pid, "grep Cpus_allowed_list /proc/self/status")
        self.assertEqual(out.split()[1], proc_status(self.target.pid)["Cpus_allowed_list"])
        self.assertEqual(proc_status(self.target.pid)["Cpus_allowed_list"],
                         proc_status(os.getpid())["Cpus_allowed_list"],
                         "precondition: the target may use the CPUs cntr may use")

    def test_cwd_is_var_lib_cntr(self):
        self.assertEqual(self.attach_sh(self.target.pid, "readlink /proc/self/cwd"),
                         "/var/lib/cntr\n")


class UnshareAttachView(AttachViewTests, CntrTestCase):
    RUNTIME = "unshare"


class UnshareEveryNamespace(AttachViewTests, CntrTestCase):
    """Also a cgroup, a time and a user namespace (root mapped to root), which no runtime
    here creates by default."""
    RUNTIME = "unshare"
    START = dict(extra_namespaces=("cgroup", "time", "user"))

    def test_precondition_target_has_its_own_cgroup_time_and_user_namespaces(self):
        target = ns_inodes(self.target.pid)
        for ns in ("cgroup", "time", "user"):
            with self.subTest(ns=ns):
                self.assertNotEqual(target[ns], os.readlink("/proc/self/ns/" + ns))


class RuncAttachView(AttachViewTests, CntrTestCase):
    RUNTIME = "runc"


class ContainerdAttachView(AttachViewTests, CntrTestCase):
    RUNTIME = "containerd"


class PodmanAttachView(AttachViewTests, CntrTestCase):
    RUNTIME = "podman"


class DockerAttachView(AttachViewTests, CntrTestCase):
    RUNTIME = "docker"


class ScratchTarget(CntrTestCase):
    """One static binary and nothing else: no /etc in the target."""

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "runc", image="scratch")

    def test_etc_files_missing_in_the_target_stay_the_debug_sides(self):
        self.assertFalse(os.path.exists(self.target.root_path("etc/passwd")))
        for name in ("hostname", "passwd", "group"):
            with self.subTest(file=name):
                out = self.cntr("attach", str(self.target.pid), "--", "/bin/cat",
                                "/etc/" + name).stdout
                self.assertEqual(out, read_file("/etc/" + name, "rb"))

    def test_the_only_binary_is_visible_and_tools_come_from_the_debug_side(self):
        out = self.attach_sh(self.target.pid, "ls -A /var/lib/cntr; echo ---; "
                             "ps -e -o comm=")
        files, procs = out.split("---\n")
        self.assertIn("server", files.split())
        self.assertNotIn("bin", files.split())
        self.assertIn("server", procs.split())


class MergedUsrTarget(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "runc", image="usrmerge")

    def test_top_level_symlinks_stay_symlinks(self):
        out = self.attach_sh(self.target.pid, "for l in bin sbin lib; do "
                             "test -L /var/lib/cntr/$l && readlink /var/lib/cntr/$l; done")
        self.assertEqual(out, "usr/bin\nusr/sbin\nusr/lib\n")

    def test_binaries_reachable_through_the_symlink(self):
        out = self.attach_sh(self.target.pid, "ls /var/lib/cntr/bin/busybox")
        self.assertEqual(out, "/var/lib/cntr/bin/busybox\n")


class ReadOnlyTargetWithVolumes:
    """Read-only root, a bind volume at /data and a tmpfs at /scratch."""

    @classmethod
    def setUpClass(cls):
        cls.volume = tempfile.mkdtemp(prefix="cntr-test-volume.", dir="/var/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.volume, True)
        with open(os.path.join(cls.volume, "from-host"), "w") as f:
            f.write("volume content\n")
        cls.target = cls.start_target(cls.volume)

    def test_write_to_read_only_root_fails_with_erofs(self):
        proc = self.cntr("attach", str(self.target.pid), "--", "/bin/sh", "-c",
                         "echo x > /var/lib/cntr/srv/new-file", expect=None)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"Read-only file system", proc.stderr)
        self.assertFalse(os.path.exists(self.target.root_path("srv/new-file")))

    def test_bind_volume_is_visible_and_writable(self):
        out = self.attach_sh(self.target.pid, "cat /var/lib/cntr/data/from-host; "
                             "echo from-session > /var/lib/cntr/data/from-session")
        self.assertEqual(out, "volume content\n")
        self.assertEqual(read_file(os.path.join(self.volume, "from-session")), "from-session\n")

    def test_tmpfs_submount_is_the_targets(self):
        out = self.attach_sh(self.target.pid, "stat -f -c %T /var/lib/cntr/scratch; "
                             "echo in-tmpfs > /var/lib/cntr/scratch/file")
        self.assertEqual(out, "tmpfs\n")
        self.assertEqual(read_file(self.target.root_path("scratch/file")), "in-tmpfs\n")


class RuncReadOnlyWithVolumes(ReadOnlyTargetWithVolumes, CntrTestCase):
    @classmethod
    def start_target(cls, volume):
        return start(cls, "runc", read_only=True, volume_dir=volume)


class DockerReadOnlyWithVolumes(ReadOnlyTargetWithVolumes, CntrTestCase):
    @classmethod
    def start_target(cls, volume):
        return start(cls, "docker", options=["--read-only", "-v", volume + ":/data",
                                             "--tmpfs", "/scratch"])


class PodmanReadOnlyWithVolumes(ReadOnlyTargetWithVolumes, CntrTestCase):
    @classmethod
    def start_target(cls, volume):
        return start(cls, "podman", options=["--read-only", "--read-only-tmpfs=false",
                                             "-v", volume + ":/data", "--tmpfs", "/scratch"])


class Uid1000FewCapsTarget(CapabilityTargets, CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "runc", user=(1000, 1000, [1000, 27]),
                           caps=["CAP_NET_BIND_SERVICE"])

    def test_uid_groups_and_few_caps_are_the_targets(self):
        self.assertEqual(proc_status(self.target.pid)["Uid"].split()[0], "1000")
        self.assertCredentialsMatch()


class DockerNonRootTarget(CapabilityTargets, CntrTestCase):
    """docker defaults minus NET_RAW, as uid 1000 (the root-with-defaults case is in
    DockerAttachView)."""

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "docker", options=["--cap-drop", "NET_RAW", "--user", "1000:1000"])

    def test_docker_non_root_user_caps_are_the_targets(self):
        self.assertCredentialsMatch()


class DockerCpusetTarget(CntrTestCase):
    """A container on one CPU of several: the command runs on that CPU only, although its
    setup ran on another (src/node/cpu_split.c)."""

    @classmethod
    def setUpClass(cls):
        if os.cpu_count() < 2:
            raise unittest.SkipTest("needs two CPUs")
        cls.target = start(cls, "docker", options=["--cpuset-cpus", "0"])

    def test_the_command_runs_in_the_targets_cpuset(self):
        self.assertEqual(proc_status(self.target.pid)["Cpus_allowed_list"], "0",
                         "precondition: docker pinned the target")
        for mode in ("attach", "exec"):
            with self.subTest(mode=mode):
                out = self.attach_sh(self.target.pid, "grep Cpus_allowed_list /proc/self/status", mode=mode)
                self.assertEqual(out.split()[1], "0")


if __name__ == "__main__":
    unittest.main(verbosity=2)
