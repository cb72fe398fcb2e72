"""Flags that change the session on purpose (docs/design.md §1 "Details"): --cap-add gives more
capabilities only when asked (and says so), the target's seccomp filter is copied unless
--no-seccomp (which says so), -v reports steps on stderr and leaves stdout alone."""
import json
import os
import shutil
import tempfile
import unittest

from cntrtest import DEBUG_PATH, CntrTestCase, parse_status, proc_status, start

CAP_SYS_PTRACE = 19
CAP_KILL = 5


def has_cap(mask_hex, cap):
    return bool(int(mask_hex, 16) >> cap & 1)


class CapAdd(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "runc")  # runc spec default: kill, net_bind_service, audit_write

    def status(self, *flags):
        out = self.cntr("attach", *flags, str(self.target.pid), "--", "/bin/cat",
                        "/proc/self/status").stdout.decode()
        return parse_status(out)

    def test_no_extra_capability_without_the_flag(self):
        self.assertFalse(has_cap(proc_status(self.target.pid)["CapBnd"], CAP_SYS_PTRACE))
        self.assertFalse(has_cap(self.status()["CapEff"], CAP_SYS_PTRACE))

    def test_cap_add_gives_exactly_that_capability_more_and_says_so(self):
        target = proc_status(self.target.pid)
        proc = self.cntr("attach", "--cap-add", "SYS_PTRACE", str(self.target.pid), "--",
                         "/bin/cat", "/proc/self/status")
        self.assertIn(b"--cap-add", proc.stderr)
        inside = parse_status(proc.stdout.decode())
        for field in ("CapEff", "CapPrm", "CapBnd"):
            with self.subTest(field=field):
                self.assertEqual(int(inside[field], 16),
                                 int(target[field], 16) | 1 << CAP_SYS_PTRACE)

    def test_unknown_capability_is_a_usage_error(self):
        proc = self.cntr("attach", "--cap-add", "NO_SUCH_CAP", str(self.target.pid), "--",
                         "true", expect=2)
        self.assertIn(b"NO_SUCH_CAP", proc.stderr)


class CapDropAndProfiles(CntrTestCase):
    """--cap-drop and --profile: deliberate changes, each exactly what its name says."""

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "runc")  # no seccomp filter, no no_new_privs

    def status(self, *flags):
        proc = self.cntr("attach", *flags, str(self.target.pid), "--", "/bin/cat", "/proc/self/status")
        return parse_status(proc.stdout.decode()), proc.stderr.decode()

    def test_cap_drop_all(self):
        inside, _ = self.status("--cap-drop", "ALL")
        for field in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"):
            self.assertEqual(int(inside[field], 16), 0, field)

    def test_cap_drop_one(self):
        inside, _ = self.status("--cap-drop", "KILL")
        target = proc_status(self.target.pid)
        self.assertEqual(int(inside["CapEff"], 16), int(target["CapEff"], 16) & ~(1 << CAP_KILL))

    def test_restricted_profile(self):
        self.assertEqual(proc_status(self.target.pid)["Seccomp"], "0", "precondition: no filter")
        inside, _ = self.status("--profile", "restricted")
        self.assertEqual(int(inside["CapEff"], 16), 0)
        self.assertEqual(int(inside["CapBnd"], 16), 0)
        self.assertEqual(inside["NoNewPrivs"], "1")
        self.assertEqual(inside["Seccomp"], "2", "cntr's built-in profile")
        out = self.cntr("attach", "--profile", "restricted", str(self.target.pid), "--", "/bin/sh",
                        "-c", "unshare -U true 2>/dev/null && echo unshared; echo done").stdout
        self.assertEqual(out, b"done\n")
        out = self.cntr("attach", str(self.target.pid), "--", "/bin/sh", "-c",
                        "unshare -U true 2>/dev/null && echo unshared; echo done").stdout
        self.assertEqual(out, b"unshared\ndone\n", "precondition: the general profile allows it")

    def test_netadmin_and_sysadmin_profiles_add_exactly_their_capabilities_and_say_so(self):
        target = int(proc_status(self.target.pid)["CapEff"], 16)
        for profile, added in (("netadmin", {12, 13}), ("sysadmin", {21, 19, 12, 13, 1, 2, 5})):
            with self.subTest(profile=profile):
                inside, err = self.status("--profile", profile)
                want = target
                for cap in added:
                    want |= 1 << cap
                self.assertEqual(int(inside["CapEff"], 16), want)
                self.assertEqual(int(inside["CapBnd"], 16) & want, want)
                self.assertIn("--profile", err)

    def test_unknown_profile_is_a_usage_error(self):
        proc = self.cntr("attach", "--profile", "root", str(self.target.pid), "--", "true", expect=2)
        self.assertIn(b"root", proc.stderr)
        self.assertIn(b"restricted", proc.stderr)


class Seccomp(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "docker")  # docker's default profile: a seccomp filter

    def session_status(self, *flags):
        proc = self.cntr("attach", *flags, str(self.target.pid), "--", "/bin/cat",
                         "/proc/self/status")
        return parse_status(proc.stdout.decode()), proc.stderr.decode()

    def test_precondition_target_has_a_filter(self):
        self.assertEqual(proc_status(self.target.pid)["Seccomp"], "2")

    def test_no_seccomp_gives_no_filter_and_says_so(self):
        inside, err = self.session_status("--no-seccomp")
        self.assertEqual(inside["Seccomp"], "0")
        self.assertIn("--no-seccomp", err)

    def test_filters_are_copied_by_default_and_with_the_old_flag(self):
        target = proc_status(self.target.pid)
        for flags in ((), ("--seccomp",)):
            with self.subTest(flags=flags):
                inside, err = self.session_status(*flags)
                self.assertEqual(inside["Seccomp"], "2")
                self.assertEqual(inside["Seccomp_filters"], target["Seccomp_filters"])
                self.assertEqual(err, "")

    def test_seccomp_profile_default_goes_on_top_of_the_targets_filters(self):
        target = proc_status(self.target.pid)
        inside, err = self.session_status("--seccomp-profile", "default")
        self.assertEqual(int(inside["Seccomp_filters"]), int(target["Seccomp_filters"]) + 1)
        self.assertEqual(err, "")

    def test_seccomp_profile_file_for_attach_and_exec(self):
        tool = os.environ.get("CNTR_SECCOMP_BIN")
        if not tool:
            self.skipTest("CNTR_SECCOMP_BIN is not set (no cntr-seccomp in this build)")
        work = tempfile.mkdtemp(prefix="cntr-seccomp.", dir="/var/tmp")
        self.addCleanup(shutil.rmtree, work, True)
        profile = os.path.join(work, "deny-mkdir.json")
        with open(profile, "w") as f:
            json.dump({"defaultAction": "SCMP_ACT_ALLOW",
                       "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}, f)
        env = {"PATH": os.path.dirname(tool) + ":" + DEBUG_PATH}
        for mode, made in (("attach", "/var/lib/cntr/cntr-made"), ("exec", "/cntr-made")):
            with self.subTest(mode=mode):
                denied = self.cntr(mode, "--seccomp-profile", profile, str(self.target.pid), "--", "/bin/sh",
                                   "-c", "mkdir %s 2>&1; rmdir %s 2>/dev/null; true" % (made, made),
                                   env=env).stdout.decode()
                self.assertIn("Permission denied", denied)
                allowed = self.cntr(mode, str(self.target.pid), "--", "/bin/sh", "-c",
                                    "mkdir %s && rmdir %s && echo made" % (made, made)).stdout
                self.assertEqual(allowed, b"made\n", "precondition: without the profile mkdir works")
        proc = self.cntr("attach", "--no-seccomp", "--seccomp-profile", profile, str(self.target.pid), "--",
                         "true", expect=2)
        self.assertIn(b"contradict", proc.stderr)

    def test_target_keeps_running_after_the_copy(self):
        self.session_status()
        self.assertIn(proc_status(self.target.pid)["State"][0], "SR")


class Verbose(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "unshare")

    def test_verbose_reports_on_stderr_only(self):
        quiet = self.cntr("attach", str(self.target.pid), "--", "/bin/echo", "out")
        loud = self.cntr("-v", "attach", str(self.target.pid), "--", "/bin/echo", "out")
        self.assertEqual(quiet.stdout, b"out\n")
        self.assertEqual(loud.stdout, b"out\n")
        self.assertEqual(quiet.stderr, b"")
        self.assertGreater(len(loud.stderr.splitlines()), 1, loud.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
