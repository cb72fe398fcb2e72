"""`cntr exec`: the target's own root as `/`, its PATH and environment, its cwd, and the same
namespaces, cgroup and credentials as `attach` (docs/design.md §1, last paragraph)."""
import os
import unittest

from cntrtest import (CAP_FIELDS, NS_NAMES, CntrTestCase, environ_of, ns_inodes, ns_pid,
                      parse_environ, parse_status, pid_namespace_members, proc_status, read_file,
                      run_cntr, start)


class ExecViewTests:
    RUNTIME = None
    START = {}
    CWD = "/srv"

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, cls.RUNTIME, **cls.START)

    def test_root_is_the_target_root(self):
        out = self.attach_sh(self.target.pid, "cat /srv/marker; test -e /usr/bin/python3 || "
                             "echo no-host-python; ls -A /", mode="exec")
        marker, rest = out.split("\n", 1)
        self.assertEqual(marker + "\n", read_file(self.target.root_path("srv/marker")))
        self.assertTrue(rest.startswith("no-host-python\n"), out)
        self.assertEqual(sorted(rest.split()[1:]), sorted(os.listdir(self.target.root_path())))

    def test_environment_and_path_are_the_targets(self):
        out = self.cntr("exec", str(self.target.pid), "--", "/bin/cat", "/proc/self/environ").stdout
        inside, expected = parse_environ(out), environ_of(self.target.pid)
        inside.pop("TERM", None)
        expected.pop("TERM", None)
        self.assertEqual(inside, expected)
        self.assertTrue(inside["PATH"].endswith("/cntr-test-target-path"))

    def test_cwd_is_the_targets(self):
        self.assertEqual(self.attach_sh(self.target.pid, "readlink /proc/self/cwd", mode="exec"),
                         self.CWD + "\n")

    def test_every_namespace_is_the_targets(self):
        script = "; ".join("echo %s $(readlink /proc/self/ns/%s)" % (ns, ns) for ns in NS_NAMES)
        inside = dict(line.split() for line in
                      self.attach_sh(self.target.pid, script, mode="exec").strip().splitlines())
        target = ns_inodes(self.target.pid)
        for ns in NS_NAMES:
            with self.subTest(ns=ns):
                self.assertEqual(inside[ns], target[ns])

    def test_proc_shows_only_the_target_pid_namespace(self):
        members = {ns_pid(pid) for pid in pid_namespace_members(self.target.pid)}
        out = self.attach_sh(self.target.pid, "ls /proc", mode="exec")
        pids = {int(entry) for entry in out.split() if entry.isdigit()}
        self.assertLessEqual(members, pids)
        self.assertLessEqual(len(pids - members), 2, out)  # sh and ls

    def test_cgroup_is_the_targets(self):
        out = self.attach_sh(self.target.pid, "cat /proc/self/cgroup; echo ---; cat /proc/%d/cgroup"
                             % ns_pid(self.target.pid), mode="exec")
        own, target = out.split("---\n")
        self.assertEqual(own, target)

    def test_credentials_and_capabilities_are_the_targets(self):
        out = self.cntr("exec", str(self.target.pid), "--", "/bin/cat",
                        "/proc/self/status").stdout.decode()
        inside, target = parse_status(out), proc_status(self.target.pid)
        for field in ("Uid", "Gid", "Groups", "NoNewPrivs") + CAP_FIELDS:
            with self.subTest(field=field):
                self.assertEqual(inside[field], target[field])


class RuncExecView(ExecViewTests, CntrTestCase):
    RUNTIME = "runc"


class RuncUid1000ExecView(ExecViewTests, CntrTestCase):
    RUNTIME = "runc"
    START = dict(user=(1000, 1000, [1000]), caps=["CAP_NET_BIND_SERVICE", "CAP_KILL"])


class DockerExecView(ExecViewTests, CntrTestCase):
    RUNTIME = "docker"


class PodmanExecView(ExecViewTests, CntrTestCase):
    RUNTIME = "podman"


class ScratchExec(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "runc", image="scratch")

    def test_no_shell_in_the_target_is_command_not_found(self):
        proc = run_cntr(["exec", str(self.target.pid), "--", "/bin/sh", "-c", "true"])
        self.assertEqual(proc.returncode, 127, proc.stderr)

    def test_the_targets_binary_is_at_the_root(self):
        # A second /server on the same port fails at once (EADDRINUSE): proves / is the target
        # root and the network namespace is the one the first server listens in.
        proc = run_cntr(["exec", str(self.target.pid), "--", "/server", "8080"])
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(b"cannot listen", proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
