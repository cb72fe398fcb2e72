"""Target resolution (docs/design.md §2) and `cntr list`, per runtime: by PID, full ID, ID prefix and
name; -t restrictions; ambiguous prefixes, unknown targets and bad -t values."""
import json
import os
import secrets
import unittest

from cntrtest import CntrTestCase, run_cntr, start, start_runc


def pid_ns(pid):
    return os.readlink("/proc/%d/ns/pid" % pid)


class ResolveTests:
    RUNTIME = None
    HAS_NAMES = True
    TYPE = None  # the -t value of this runtime's name resolver
    LISTS_NAME = False  # docker and podman names appear in `cntr list` (containerd's are IDs)

    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, cls.RUNTIME)

    def assertAttachesToTarget(self, *args):
        proc = self.cntr("attach", *args, "--", "/bin/readlink", "/proc/self/ns/pid")
        self.assertEqual(proc.stdout.decode().strip(), pid_ns(self.target.pid))

    def test_by_pid(self):
        self.assertAttachesToTarget(str(self.target.pid))

    def test_by_full_id(self):
        self.assertAttachesToTarget(self.target.id)

    def test_by_id_prefix(self):
        self.assertAttachesToTarget(self.target.id[:12])

    def test_by_six_digit_id_prefix(self):
        self.assertAttachesToTarget(self.target.id[:6])

    def test_by_name(self):
        if not self.HAS_NAMES:
            self.skipTest("%s has no container names" % self.RUNTIME)
        self.assertAttachesToTarget(self.target.name)

    def test_by_name_restricted_to_its_runtime_type(self):
        if not self.HAS_NAMES:
            self.skipTest("%s has no container names" % self.RUNTIME)
        self.assertAttachesToTarget("-t", self.TYPE, self.target.name)

    def test_by_id_restricted_to_id_type(self):
        self.assertAttachesToTarget("-t", "id", self.target.id)

    def test_id_is_not_found_when_only_pids_are_allowed(self):
        proc = self.cntr("attach", "-t", "pid", self.target.id, "--", "true", expect=None)
        self.assertOneLineError(proc, 125)

    def test_list_shows_the_container_with_a_12_char_id(self):
        out = self.cntr("list").stdout.decode()
        lines = out.splitlines()
        header = lines[0].split()
        for column in ("RUNTIME", "ID", "NAME", "PID"):
            self.assertIn(column, header, out)
        rows = [line.split() for line in lines[1:] if self.target.id[:12] in line.split()]
        self.assertEqual(len(rows), 1, "expected one row with ID %s:\n%s"
                         % (self.target.id[:12], out))
        self.assertIn(str(self.target.pid), rows[0])
        self.assertEqual(rows[0][0], self.RUNTIME, out)
        if self.LISTS_NAME:
            self.assertIn(self.target.name, rows[0])
        self.assertNotIn(self.target.id, out)

    def test_list_no_trunc_shows_the_full_id(self):
        out = self.cntr("list", "--no-trunc").stdout.decode()
        rows = [line.split() for line in out.splitlines() if self.target.id in line.split()]
        self.assertEqual(len(rows), 1, out)
        self.assertIn(str(self.target.pid), rows[0])

    def test_list_json_is_valid_and_has_the_container(self):
        out = self.cntr("list", "--json").stdout.decode()
        data = json.loads(out)
        if isinstance(data, dict):  # {"containers": [...]} is fine too
            data = next(v for v in data.values() if isinstance(v, list))
        entries = [e for e in data if self.target.id in [str(v) for v in e.values()]]
        self.assertEqual(len(entries), 1, out)
        entry = entries[0]
        self.assertIn(str(self.target.pid), [str(v) for v in entry.values()])
        self.assertEqual(entry.get("runtime"), self.RUNTIME, out)
        if self.LISTS_NAME:
            self.assertEqual(entry.get("name"), self.target.name, out)


class RuncResolve(ResolveTests, CntrTestCase):
    RUNTIME = "runc"
    HAS_NAMES = False


class ContainerdResolve(ResolveTests, CntrTestCase):
    RUNTIME = "containerd"  # containerd's "names" are its container IDs
    TYPE = "containerd"


class PodmanResolve(ResolveTests, CntrTestCase):
    RUNTIME = "podman"
    TYPE = "podman"
    LISTS_NAME = True


class DockerResolve(ResolveTests, CntrTestCase):
    RUNTIME = "docker"
    TYPE = "docker"
    LISTS_NAME = True


class ResolveFailures(CntrTestCase):
    def test_ambiguous_id_prefix_is_an_error_listing_the_candidates(self):
        prefix = secrets.token_hex(4)
        first = start_runc(cid=prefix + secrets.token_hex(28))
        self.addCleanup(first.stop)
        second = start_runc(cid=prefix + secrets.token_hex(28))
        self.addCleanup(second.stop)
        proc = self.cntr("attach", prefix, "--", "true", expect=None)
        err = self.assertOneLineError(proc, 125)
        for candidate in (first, second):
            self.assertTrue(str(candidate.pid) in err or candidate.id[:12] in err,
                            "candidate %r not listed in: %s" % (candidate, err))

    def test_unknown_pid(self):
        self.assertOneLineError(run_cntr(["attach", "4194303", "--", "true"]), 125)

    def test_unknown_id(self):
        self.assertOneLineError(run_cntr(["attach", "0123456789abcdef" * 4, "--", "true"]), 125)

    def test_unknown_name(self):
        self.assertOneLineError(run_cntr(["attach", "no-such-container-" + secrets.token_hex(4),
                                          "--", "true"]), 125)

    def test_unknown_type_is_a_usage_error(self):
        proc = run_cntr(["attach", "-t", "bogus", str(os.getpid()), "--", "true"])
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(b"bogus", proc.stderr)

    def test_list_with_unknown_type_is_a_usage_error(self):
        self.assertEqual(run_cntr(["list", "-t", "bogus"]).returncode, 2)


class CommandResolve(CntrTestCase):
    """-t command matches a substring of a command line; cntr itself never matches."""

    @classmethod
    def setUpClass(cls):
        cls.marker = str(1000000 + secrets.randbelow(8000000))
        cls.target = start(cls, "unshare", cmd=["/bin/sleep", cls.marker])

    def test_command_substring_finds_the_target_not_cntr(self):
        # cntr's own command line holds the marker too: it must not match itself.
        proc = self.cntr("attach", "-t", "command", self.marker, "--",
                         "/bin/readlink", "/proc/self/ns/pid")
        self.assertEqual(proc.stdout.decode().strip(), pid_ns(self.target.pid))

    def test_several_command_matches_are_an_error_listing_the_pids(self):
        second = start(self.__class__, "unshare", cmd=["/bin/sleep", self.marker])
        self.addCleanup(second.stop)  # before the other tests of the class run
        proc = self.cntr("attach", "-t", "command", self.marker, "--", "true", expect=None)
        err = self.assertOneLineError(proc, 125)
        for pid in (self.target.pid, second.pid):
            self.assertIn(str(pid), err)

    def test_command_is_not_used_unless_asked_for(self):
        proc = run_cntr(["attach", self.marker, "--", "true"])
        self.assertOneLineError(proc, 125)


if __name__ == "__main__":
    unittest.main(verbosity=2)
